#!/usr/bin/env bash
# test_reload_configmap - the configuration directory is a Kubernetes
# ConfigMap volume (timestamped ..<time>/ directory, ..data symlink to it,
# KEY -> ..data/KEY links) and pjsip.conf includes auth.conf from a second
# one, as a Secret.  Updated the way the kubelet does it (new directory,
# ..data swapped by one rename, old directory removed), the daemon applies
# each change by itself, within 6 s: a new endpoint in pjsip.conf, a new
# password in the Secret, and a new key (users.conf) that pjsip.conf now
# includes.
. "$(dirname "$0")/lib.sh"

src=$KV_TMP/cm-src
secret_src=$KV_TMP/secret-src
cm=$KV_TMP/configmap
secret=$KV_TMP/secret
mkdir -p "$src" "$secret_src" "$cm" "$secret"

KV_CONF=$src kv_conf_transports
KV_CONF=$src kv_conf_call_users 1001
cat >> "$src/pjsip.conf" <<EOF

; 1002's password is in the Secret
#include $secret/auth.conf

[1002]
type=endpoint
context=from-internal
auth=1002
aors=1002
disallow=all
allow=ulaw,alaw

[1002]
type=aor
max_contacts=3
EOF
KV_CONF=$src kv_conf_rtp_ops 100
KV_CONF=$src kv_conf_dialplan 10
KV_CONF=$src kv_conf_dirs
auth_conf()
{
	printf '[1002]\ntype=auth\nauth_type=userpass\nusername=1002\npassword=%s\n' "$1" \
		> "$secret_src/auth.conf"
}
auth_conf first1002

kv_configmap_publish "$src" "$cm"
kv_configmap_publish "$secret_src" "$secret"
if ! [ -L "$cm/..data" ] || ! [ -L "$cm/pjsip.conf" ] || ! [ -f "$cm/..data/pjsip.conf" ]; then
	kv_fail "ConfigMap layout not made: $(ls -la "$cm")"
fi

kvd_start "$cm"
kv_register_ok 1001
kv_register_ok 1002 first1002
kv_register_fails 1004
kv_ok "started on a ConfigMap volume: $(cd "$cm" && echo ..?* *)"

# 1. The ConfigMap gets endpoint 1004.
KV_CONF=$src kv_conf_call_users 1004
first=$(readlink "$cm/..data")
kv_configmap_publish "$src" "$cm"
[ ! -e "$cm/$first" ] || kv_fail "old ConfigMap directory $first still there"
kv_wait_register 6 1004
kv_wait_log 'event=config_reload result=ok trigger=(file_change|poll)' 1
kv_register_ok 1001
kv_ok "ConfigMap update ($first -> $(readlink "$cm/..data")): 1004 registers"

# 2. The Secret gets a new password.
auth_conf second1002
kv_configmap_publish "$secret_src" "$secret"
kv_wait_register 6 1002 second1002
kv_register_fails 1002 first1002
kv_wait_log 'event=config_reload result=ok' 2
kv_ok "Secret update: 1002's new password works, the old one does not"

# 3. A new key, included by the updated pjsip.conf.
KV_CONF=$src kv_conf_call_users 1008
mv "$src/pjsip.conf" "$src/pjsip.tmp"
sed '/^\[1008\]/,$d' "$src/pjsip.tmp" > "$src/pjsip.conf"
sed -n '/^\[1008\]/,$p' "$src/pjsip.tmp" > "$src/users.conf"
rm "$src/pjsip.tmp"
printf '\n#include users.conf\n' >> "$src/pjsip.conf"
kv_configmap_publish "$src" "$cm"
[ -L "$cm/users.conf" ] || kv_fail "no users.conf link in the ConfigMap volume"
kv_wait_register 6 1008
kv_wait_log 'event=config_reload result=ok' 3
kv_register_ok 1004
kv_ok "new ConfigMap key users.conf, included by pjsip.conf: 1008 registers"

kv_assert_nomatch 'result=failed|config_problem' "$(cat "$KVD_LOG")" "no failed reload"
kvd_stop
kv_pass
