#!/usr/bin/env bash
# test_concurrent_300 - 300 users (2000-2299, generated from templates)
# register at once: one SIPp run at up to 1000 new registrations per second
# with all 300 in flight; every one must succeed, and each user's query
# shows its own contact afterwards.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[endpoint-tpl](!)
type=endpoint
context=from-internal
disallow=all
allow=ulaw

[auth-tpl](!)
type=auth
auth_type=userpass

[aor-tpl](!)
type=aor
max_contacts=1
remove_existing=yes
minimum_expiration=2
default_expiration=60
maximum_expiration=3600
CONF
for u in $(seq 2000 2299); do
	printf '\n[%s](endpoint-tpl)\nauth=%s\naors=%s\n' "$u" "$u" "$u"
	printf '[%s](auth-tpl)\nusername=%s\npassword=secret%s\n' "$u" "$u" "$u"
	printf '[%s](aor-tpl)\n' "$u"
done >> "$KV_CONF/pjsip.conf"
kvd_start

port=$(kv_free_port)
SIPP_PORT=$port SIPP_M=300 SIPP_L=300 SIPP_R=1000 SIPP_TIMEOUT=60s \
	kv_sipp_ok "SIPp: 300 concurrent registrations, 0 failures" \
	reg_200.xml "$KV_DATA/users_300.csv"
grep -E 'Successful call|Failed call' "$KV_TMP"/sipp-*.out | tail -n 4

for u in 2000 2001 2150 2298 2299; do
	kv_contacts "$u"
	kv_assert_eq 1 "$KV_NCONTACTS" "bindings of $u"
	kv_assert_match "^sip:$u@127\.0\.0\.1:$port;transport=UDP [1-9][0-9]*\$" \
		"$KV_CONTACTS" "contact of $u"
done
kv_ok "users 2000, 2001, 2150, 2298, 2299 each show their contact"

kvd_stop
kv_pass
