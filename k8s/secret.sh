#!/usr/bin/env bash
# secret.sh - the Secret kubevox-cluster: fresh random credentials of the
# cluster mode, made ONCE per installation.
#
#   k8s/secret.sh | kubectl create -f -
#
# `kubectl create`, not apply: run twice, it fails instead of replacing the
# credentials behind the running pods' back.  Every value is 32 random
# bytes in hex from /dev/urandom:
#
#   state_auth.conf    "password = R" (kubevox.conf [state], Redis AUTH)
#   cluster_auth.conf  "secret = S"   ([cluster]: nonces, tags and flow
#                                      tokens every replica must verify)
#   http_auth.conf     "token = T"    ([http]: /status and /reload)
#   redis.conf         "requirepass R" (Redis's configuration file)
#   redis-password     R               (REDISCLI_AUTH of Redis's probes)
#   http-token         T               (for you: curl -H "Authorization:
#                                      Bearer $T" http://NODE:8088/status)
#
# The kubevoxd pods mount the three *.conf files next to the ConfigMap in
# /etc/kubevox, where k8s/cluster.conf #includes them; Redis mounts
# redis.conf.  See docs/kubernetes.md for rotating them.
#
# Usage: k8s/secret.sh [--dir DIR]   (--dir: write the files into DIR
#                                     instead, e.g. for a test)
set -euo pipefail

die()
{
	printf 'secret.sh: %s\n' "$*" >&2
	exit 1
}

out=
case ${1:-} in
'') ;;
--dir)
	[ $# = 2 ] || die "usage: k8s/secret.sh [--dir DIR]"
	out=$2
	[ -d "$out" ] || die "$out: not a directory"
	;;
*) die "usage: k8s/secret.sh [--dir DIR]" ;;
esac
[ -n "$out" ] || command -v kubectl >/dev/null || die "kubectl is needed"

rnd()
{
	local v

	v=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
	[ "${#v}" = 64 ] || die "cannot read /dev/urandom"
	printf '%s' "$v"
}

umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
password=$(rnd)
secret=$(rnd)
token=$(rnd)
printf '; from the Secret kubevox-cluster (k8s/secret.sh), in [state]\npassword = %s\n' \
	"$password" > "$tmp/state_auth.conf"
printf '; from the Secret kubevox-cluster (k8s/secret.sh), in [cluster]\nsecret = %s\n' \
	"$secret" > "$tmp/cluster_auth.conf"
printf '; from the Secret kubevox-cluster (k8s/secret.sh), in [http]\ntoken = %s\n' \
	"$token" > "$tmp/http_auth.conf"
printf '# from the Secret kubevox-cluster (k8s/secret.sh)\nrequirepass %s\n' \
	"$password" > "$tmp/redis.conf"
printf '%s' "$password" > "$tmp/redis-password"
printf '%s' "$token" > "$tmp/http-token"

if [ -n "$out" ]; then
	cp "$tmp"/* "$out/"
	exit 0
fi
# From files, so that no value is ever on a command line.
kubectl create secret generic kubevox-cluster \
	--from-file="$tmp/state_auth.conf" --from-file="$tmp/cluster_auth.conf" \
	--from-file="$tmp/http_auth.conf" --from-file="$tmp/redis.conf" \
	--from-file="$tmp/redis-password" --from-file="$tmp/http-token" \
	--dry-run=client -o yaml
