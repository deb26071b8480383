#!/usr/bin/env bash
# test_unregister - expires=0 removes one contact and keeps the others;
# Contact: * with Expires: 0 removes every binding of the AOR.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
pa=$(kv_free_port)
pb=$(kv_free_port)
SIPP_PORT=$pa kv_sipp_ok "SIPp: register contact A (port $pa)" reg_200.xml "$csv"
SIPP_PORT=$pb kv_sipp_ok "SIPp: register contact B (port $pb)" reg_200.xml "$csv"
kv_contacts 1001
kv_assert_eq 2 "$KV_NCONTACTS" "bindings after registering A and B"

SIPP_PORT=$pa EXPIRES=0 kv_sipp_ok "SIPp: remove contact A with expires=0" reg_remove.xml "$csv"
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after removing A"
kv_assert_match "^sip:1001@127\.0\.0\.1:$pb;transport=UDP [1-9][0-9]*\$" "$KV_CONTACTS" "the binding left"
kv_ok "only B is left"

SIPP_PORT=$pa kv_sipp_ok "SIPp: register contact A again" reg_200.xml "$csv"
kv_contacts 1001
kv_assert_eq 2 "$KV_NCONTACTS" "bindings after registering A again"

kv_sipp_ok "SIPp: Contact: * with Expires: 0" reg_star.xml "$csv"
kv_contacts 1001
kv_assert_eq 0 "$KV_NCONTACTS" "bindings after Contact: *"
kv_ok "Contact: * removed every binding"

# Contact: * is only legal with Expires: 0 (RFC 3261 §10.3 step 6).
out=$(kv_py register 1001 --contact '*' --expires 60 2>&1)
kv_assert_eq 400 "$(printf '%s\n' "$out" | head -n 1)" "Contact: * with Expires: 60"
kv_ok "Contact: * with a non-zero Expires is refused with 400"

kvd_stop
kv_pass
