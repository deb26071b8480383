#!/usr/bin/env bash
# test_expiry - a binding registered for 6 s is gone from
# the registrar's answers once it has expired.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
# 6 s leaves room for the steps below on a loaded machine; the binding
# must still be there when the long-lived one joins it.
EXPIRES=6 kv_sipp_ok "SIPp: register with expires=6" reg_200.xml "$csv"
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings right after registering"
exp=${KV_CONTACTS##* }
kv_assert_range 1 6 "$exp" "expires of the fresh binding"

# A long-lived binding next to it must survive the purge.
out=$(kv_py register 1001 --expires 600 2>&1) || kv_fail "register a long binding: $out"
kv_contacts 1001
kv_assert_eq 2 "$KV_NCONTACTS" "bindings with the long-lived one"

# Expiry is promised within about 1 s after the deadline; 4 s leaves margin.
sleep 8
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings 4 s later"
kv_assert_match " (59[0-9]|600)\$" "$KV_CONTACTS" "the long-lived binding"
kv_ok "the 6 s binding expired, the 600 s one is kept"

kvd_stop
kv_pass
