#!/usr/bin/env bash
# test_max_contacts - max_contacts=2: with remove_existing=no a third contact
# is refused (403) and the two bindings stay; with remove_existing=yes it is
# accepted and the binding that would expire soonest is evicted (not merely
# the oldest one).
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 aor.max_contacts=2 aor.remove_existing=no
kv_conf_user 1002 aor.max_contacts=2 aor.remove_existing=yes
kvd_start

pa=$(kv_free_port)
pb=$(kv_free_port)
pc=$(kv_free_port)

csv=$(kv_csv 1001)
SIPP_PORT=$pa kv_sipp_ok "1001: contact A" reg_200.xml "$csv"
SIPP_PORT=$pb kv_sipp_ok "1001: contact B" reg_200.xml "$csv"
SIPP_PORT=$pc kv_sipp_ok "1001: contact C is refused with 403" reg_403.xml "$csv"
kv_contacts 1001
kv_assert_eq 2 "$KV_NCONTACTS" "bindings of 1001"
kv_assert_match "^sip:1001@127\.0\.0\.1:$pa;" "$KV_CONTACTS" "1001 keeps A"
kv_assert_match "^sip:1001@127\.0\.0\.1:$pb;" "$KV_CONTACTS" "1001 keeps B"
kv_ok "remove_existing=no: A and B kept, C refused"

# Refreshing one of the two existing bindings is not a new contact.
SIPP_PORT=$pa EXPIRES=120 kv_sipp_ok "1001: refresh A at the limit" reg_200.xml "$csv"

csv=$(kv_csv 1002)
SIPP_PORT=$pa EXPIRES=600 kv_sipp_ok "1002: contact A (600 s)" reg_200.xml "$csv"
SIPP_PORT=$pb EXPIRES=30 kv_sipp_ok "1002: contact B (30 s)" reg_200.xml "$csv"
SIPP_PORT=$pc EXPIRES=300 kv_sipp_ok "1002: contact C (300 s) is accepted" reg_200.xml "$csv"
kv_contacts 1002
kv_assert_eq 2 "$KV_NCONTACTS" "bindings of 1002"
kv_assert_match "^sip:1002@127\.0\.0\.1:$pa;transport=UDP (59[0-9]|600)\$" "$KV_CONTACTS" "1002 keeps A"
kv_assert_match "^sip:1002@127\.0\.0\.1:$pc;transport=UDP (29[0-9]|300)\$" "$KV_CONTACTS" "1002 has C"
kv_assert_nomatch ":$pb;" "$KV_CONTACTS" "1002 evicted B"
kv_ok "remove_existing=yes: B, the soonest to expire, was evicted"

kvd_stop
kv_pass
