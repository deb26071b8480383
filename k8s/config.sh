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
# It prints YAML (kubectl create --dry-run=client, no cluster needed):
#   k8s/config.sh asterisk_config | kubectl apply -f -
# Run the same command again after editing DIR: kubectl updates both
# objects in place, the kubelet refreshes the pods' files within about a
# minute and kubevoxd reloads them without a restart.
#
# Usage: k8s/config.sh [DIR]   (default: asterisk_config/ of this repository)
set -euo pipefail

dir=${1:-$(dirname "$0")/../asterisk_config}
cm_args=()
secret_args=()

die()
{
	printf 'config.sh: %s\n' "$*" >&2
	exit 1
}

[ -d "$dir" ] || die "$dir: not a directory"
command -v kubectl >/dev/null || die "kubectl is needed"

for f in "$dir"/*.conf; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	case $name in
	*_auth.conf)
		secret_args+=("--from-file=$name=$f")
		continue
		;;
	esac
	# Asterisk comments start with ';'.  Options that hold a credential:
	# pjsip auth (password, md5_cred, password_digest) and kubevox.conf's
	# nonce_secret.
	if bad=$(grep -nE '^[[:space:]]*(password|md5_cred|password_digest|nonce_secret)[[:space:]]*=' "$f"); then
		while IFS= read -r line; do
			printf '%s:%s: a credential in a file of the ConfigMap: move it to a *_auth.conf file (the Secret)\n' \
				"$f" "${line%%:*}" >&2
		done <<< "$bad"
		exit 1
	fi
	cm_args+=("--from-file=$name=$f")
done
[ "${#cm_args[@]}" -gt 0 ] || die "$dir: no .conf file"

kubectl create configmap kubevox-config "${cm_args[@]}" --dry-run=client -o yaml
echo ---
# An empty Secret is still made: the pods wait for it to exist.
kubectl create secret generic kubevox-auth ${secret_args[@]+"${secret_args[@]}"} \
	--dry-run=client -o yaml
