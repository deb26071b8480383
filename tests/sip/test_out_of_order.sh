#!/usr/bin/env bash
# test_out_of_order - RFC 3261 §10.3 step 7: a REGISTER for a stored binding
# with the same Call-ID and a CSeq not higher than the stored one is out of
# order (a delayed copy) and gets 500, leaving the binding as it was.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
port=$(kv_free_port)
cid="ooo-$$-%u" # SIPp makes it ooo-PID-1 (its call 1)

# The scenario sends CSeq base (challenged) then base+1 (authenticated).
SIPP_PORT=$port EXPIRES=600 kv_sipp_ok "SIPp: register with CSeq 10/11" \
	reg_200.xml "$csv" -cid_str "$cid" -base_cseq 10
# Delayed copies are sent by kvsip: SIPp 3.6.1 takes the word "CSeq" in the
# reason phrase ("500 Server Internal Error - CSeq out of order") for the
# CSeq header and then rejects the response it expects.
for cseq in 1 10; do
	out=$(kv_py register 1001 --call-id "ooo-$$-1" --cseq "$cseq" \
		--contact "<sip:1001@127.0.0.1:$port;transport=UDP>;expires=60" 2>&1)
	kv_assert_eq 500 "$(head -n 1 <<< "$out")" \
		"same Call-ID, authenticated CSeq $((cseq + 1)) after the stored 11"
	kv_ok "same Call-ID, CSeq $((cseq + 1)) (not above the stored 11) gets 500"
done

kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after the out-of-order REGISTERs"
exp=${KV_CONTACTS##* }
kv_assert_range 61 600 "$exp" "expiry after the out-of-order REGISTERs"
kv_ok "binding kept with its expiry ($exp s)"

SIPP_PORT=$port EXPIRES=60 kv_sipp_ok "SIPp: same Call-ID, higher CSeq 21 gets 200" \
	reg_200.xml "$csv" -cid_str "$cid" -base_cseq 20
kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings after the in-order refresh"
exp=${KV_CONTACTS##* }
kv_assert_range 1 60 "$exp" "expiry after the in-order refresh"
kv_ok "an in-order refresh is accepted ($exp s)"

kvd_stop
kv_pass
