#!/usr/bin/env bash
# test_interval_too_brief - an expiry below minimum_expiration (2) is refused
# with 423 Interval Too Brief and Min-Expires: 2 (RFC 3261 §10.3 step 7),
# whether it comes from the Contact parameter or the Expires header; the
# minimum itself is accepted.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
EXPIRES=1 kv_sipp_ok "SIPp: expires=1 gets 423 with Min-Expires: 2" reg_423.xml "$csv"
kv_contacts 1001
kv_assert_eq 0 "$KV_NCONTACTS" "bindings after the 423"

out=$(kv_py register 1001 --expires 1 2>&1)
kv_assert_eq 423 "$(printf '%s\n' "$out" | head -n 1)" "Expires: 1 header"
kv_ok "Expires: 1 in the header is refused with 423 too"

EXPIRES=2 kv_sipp_ok "SIPp: expires=2 (the minimum) is accepted" reg_200.xml "$csv"

kvd_stop
kv_pass
