#!/usr/bin/env bash
# test_register_refresh - re-registering the same contact (same Call-ID,
# higher CSeq) refreshes the binding instead of adding one: a query shows
# exactly one contact, with the new expiry.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
port=$(kv_free_port)
cid="refresh-$$-%u"

SIPP_PORT=$port EXPIRES=60 kv_sipp_ok "SIPp: register with expires=60" \
	reg_200.xml "$csv" -cid_str "$cid"
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after the first REGISTER"
exp=${KV_CONTACTS##* }
kv_assert_range 1 60 "$exp" "first expiry"

SIPP_PORT=$port EXPIRES=300 kv_sipp_ok "SIPp: refresh with expires=300 (same Call-ID, CSeq 10)" \
	reg_200.xml "$csv" -cid_str "$cid" -base_cseq 10
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after the refresh"
kv_assert_match "^sip:1001@127\.0\.0\.1:$port;transport=UDP [0-9]+\$" "$KV_CONTACTS" "refreshed binding"
exp=${KV_CONTACTS##* }
kv_assert_range 61 300 "$exp" "refreshed expiry"
kv_ok "one binding, expiry refreshed to $exp"

# A refresh through the Expires header (no Contact param) and a new Call-ID
# (the phone rebooted) still replaces the binding of the same URI.
out=$(kv_py register 1001 --contact "<sip:1001@127.0.0.1:$port;transport=UDP>" \
	--expires 1800 2>&1) || kv_fail "refresh with Expires header: $out"
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after a refresh with a new Call-ID"
exp=${KV_CONTACTS##* }
kv_assert_range 301 1800 "$exp" "expiry from the Expires header"
kv_ok "refresh with a new Call-ID and Expires: 1800 keeps one binding ($exp s)"

kvd_stop
kv_pass
