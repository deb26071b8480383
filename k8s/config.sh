#!/usr/bin/env bash
# config.sh - turns an Asterisk-style config directory into the ConfigMap
# and the Secret that kubevoxd's pods mount at /etc/kubevox.
#
# Every *.conf file of DIR goes into the ConfigMap kubevox-config, except
# the *_auth.conf files (the passwords, e.g. pjsip_auth.conf, which
# pjsip.conf pulls in with #include): they go into the Secret kubevox-auth.
# The Deployment merges both into one directory, so the #include works as
# it does in DIR.  A password left in a ConfigMap file is refused, with the
# file and line, since anyone who may read ConfigMaps would see it.
#
# Cluster mode: the ConfigMap's kubevox.conf is DIR's followed by
# k8s/cluster.conf ([state] backend = redis, [cluster], [http], each with an
# #include of a file of the Secret kubevox-cluster that k8s/secret.sh makes
# once; KUBEVOX_CLUSTER_CONF names another such file, e.g.
# k8s/redis-ha/cluster.conf), unless DIR's kubevox.conf has a [state]
# section of its own: then DIR is taken to be a cluster configuration
# already, as it is.  DIR may
# not hold the files of kubevox-cluster itself (state_auth.conf,
# cluster_auth.conf, http_auth.conf): the pods would get two of each.
#
# It prints YAML (kubectl create --dry-run=client, no cluster needed):
#   k8s/config.sh asterisk_config | kubectl apply -f -
# Run the same command again after editing DIR: kubectl updates both
# objects in place, the kubelet refreshes the pods' files within about a
# minute and kubevoxd reloads them without a restart.
#
# Usage: k8s/config.sh [DIR]   (default: asterisk_config/ of this repository)
set -euo pipefail

here=$(dirname "$0")
dir=${1:-$here/../asterisk_config}
cluster=${KUBEVOX_CLUSTER_CONF:-$here/cluster.conf}
cm_args=()
secret_args=()

die()
{
	printf 'config.sh: %s\n' "$*" >&2
	exit 1
}

[ -d "$dir" ] || die "$dir: not a directory"
[ -f "$cluster" ] || die "$cluster: missing"
command -v kubectl >/dev/null || die "kubectl is needed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for f in "$dir"/*.conf; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	case $name in
	state_auth.conf | cluster_auth.conf | http_auth.conf)
		die "$f: this file comes from the Secret kubevox-cluster (k8s/secret.sh); remove it from $dir"
		;;
	*_auth.conf)
		secret_args+=("--from-file=$name=$f")
		continue
		;;
	esac
	# Asterisk comments start with ';'.  Options that hold a credential:
	# pjsip auth (password, md5_cred, password_digest) and kubevox.conf's
	# nonce_secret, [state] password, [cluster] secret and [http] token.
	if bad=$(grep -nE '^[[:space:]]*(password|md5_cred|password_digest|nonce_secret|secret|token)[[:space:]]*=' "$f"); then
		while IFS= read -r line; do
			printf '%s:%s: a credential in a file of the ConfigMap: move it to a *_auth.conf file (the Secret)\n' \
				"$f" "${line%%:*}" >&2
		done <<< "$bad"
		exit 1
	fi
	if [ "$name" = kubevox.conf ] && ! grep -Eiq '^[[:space:]]*\[state\]' "$f"; then
		{ cat "$f"; printf '\n; ---- appended by k8s/config.sh: k8s/cluster.conf ----\n'
		  cat "$cluster"; } > "$tmp/kubevox.conf"
		f=$tmp/kubevox.conf
	fi
	cm_args+=("--from-file=$name=$f")
done
[ "${#cm_args[@]}" -gt 0 ] || die "$dir: no .conf file"
if [ ! -f "$dir/kubevox.conf" ]; then
	cp "$cluster" "$tmp/kubevox.conf"
	cm_args+=("--from-file=kubevox.conf=$tmp/kubevox.conf")
fi

kubectl create configmap kubevox-config "${cm_args[@]}" --dry-run=client -o yaml
echo ---
# An empty Secret is still made: the pods wait for it to exist.
kubectl create secret generic kubevox-auth ${secret_args[@]+"${secret_args[@]}"} \
	--dry-run=client -o yaml
