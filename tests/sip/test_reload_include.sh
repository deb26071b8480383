#!/usr/bin/env bash
# test_reload_include - changes to files that pjsip.conf pulls in by
# #include are noticed like changes to pjsip.conf itself: users.conf in
# the config directory (1004 appended in place), a wildcard include of
# users.d/*.conf (a new file 1007.conf), and auth.conf in a second
# directory named by an absolute path, as a Kubernetes Secret would be
# mounted (1002's password changed): each change is applied within 6 s.
. "$(dirname "$0")/lib.sh"

secret=$KV_TMP/secret
mkdir -p "$secret" "$KV_CONF/users.d"
kv_conf_transports
cat >> "$KV_CONF/pjsip.conf" <<EOF

#include users.conf
#include users.d/*.conf
#include $secret/auth.conf
EOF
KV_CONF=$KV_CONF/users.d kv_conf_call_users 1006
mv "$KV_CONF/users.d/pjsip.conf" "$KV_CONF/users.d/1006.conf"
cat > "$KV_CONF/users.conf" <<'EOF'
; 1002's auth section is in the secret directory
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
KV_CONF=$KV_CONF/users.d kv_conf_call_users 1001
cat "$KV_CONF/users.d/pjsip.conf" >> "$KV_CONF/users.conf"
rm "$KV_CONF/users.d/pjsip.conf"
auth_conf()
{
	printf '[1002]\ntype=auth\nauth_type=userpass\nusername=1002\npassword=%s\n' "$1"
}
auth_conf first1002 > "$secret/auth.conf"
kv_conf_rtp_ops 100
kv_conf_dialplan 10
kv_conf_dirs

kvd_start
kv_register_ok 1001
kv_register_ok 1002 first1002
kv_register_ok 1006
kv_register_fails 1004
kv_register_fails 1007
kv_ok "started with users.conf, users.d/1006.conf and $secret/auth.conf"

# An included file edited in place.
stage=$KV_TMP/stage
mkdir -p "$stage"
KV_CONF=$stage kv_conf_call_users 1004
cat "$stage/pjsip.conf" >> "$KV_CONF/users.conf"
kv_wait_register 6 1004
kv_wait_log 'event=config_reload result=ok trigger=(file_change|poll)' 1
kv_register_ok 1001
kv_ok "users.conf: 1004 appended, registers"

# A new file matched by a wildcard include.
KV_CONF=$KV_CONF/users.d kv_conf_call_users 1007
mv "$KV_CONF/users.d/pjsip.conf" "$KV_CONF/users.d/1007.conf"
kv_wait_register 6 1007
kv_wait_log 'event=config_reload result=ok' 2
kv_ok "users.d/1007.conf: new file, 1007 registers"

# The secret in the other directory, replaced as a whole.
auth_conf second1002 > "$secret/.auth.conf.new"
mv "$secret/.auth.conf.new" "$secret/auth.conf"
kv_wait_register 6 1002 second1002
kv_register_fails 1002 first1002
kv_wait_log 'event=config_reload result=ok' 3
kv_ok "$secret/auth.conf: 1002's new password works, the old one does not"

kv_assert_nomatch 'result=failed|config_problem' "$(cat "$KVD_LOG")" "no failed reload"
kvd_stop
kv_pass
