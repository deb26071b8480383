#!/usr/bin/env bash
# test_call_parallel_ring - 1002 has two registered phones: both get the
# INVITE, the first to answer wins the call and the other one gets CANCEL.
# Once with two SIPp callees (one answers after ringing 1 s, one never
# answers), once with two Python phones where the one registered last
# answers.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

p1=$(kv_free_port)
p2=$(kv_free_port)
kv_register_port 1002 "$p1"
kv_register_port 1002 "$p2"
kv_contacts 1002
kv_assert_eq 2 "$KV_NCONTACTS" "bindings of 1002"
kv_sipp_uas uas_answer.xml "$p1" -d 1000
winner=$KV_UAS
kv_sipp_uas uas_ring_cancel.xml "$p2"
loser=$KV_UAS
kv_sipp_call_ok "SIPp caller: answered by one of two phones, BYE 200" \
	call_answer.xml 1001 1002 -d 500
kv_sipp_uas_wait "$winner" "SIPp phone 1: rang, answered, got the BYE"
kv_sipp_uas_wait "$loser" "SIPp phone 2: rang, got CANCEL when phone 1 answered"

kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "parallel ring with Python phones"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
desk = kvsip.Phone(kvsip.kv_port(), "1002")
soft = kvsip.Phone(kvsip.kv_port(), "1002")
desk.sign_in()
soft.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
soft.media.append(b)

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
ring_desk = desk.expect_invite()
ring_soft = soft.expect_invite()
assert ring_desk.call_id != ring_soft.call_id or ring_desk.invite.branch != ring_soft.invite.branch, \
    "the two phones got the same INVITE transaction"
ring_desk.ring()
ring_soft.ring()
ring_soft.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "caller")
call.ack()
ring_soft.expect_ack()
ring_desk.expect_cancel()
print("both phones rang; the softphone answered, the desk phone got CANCEL")

kvsip.send_stream(a, call.answer.media, "fwd", 10)
kvsip.expect_stream(b, "fwd", 10, 0, ring_soft.offer.media)
cseq = call.in_dialog("BYE")
ring_soft.answer_bye()
call.expect_response(cseq, "BYE", "BYE")
desk.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "BYE",
                    "BYE to the phone that did not answer")
print("media and BYE went to the phone that answered only")
PY
kv_ok "Python phones: both ring, first 200 wins, the other gets CANCEL"

kvd_stop
kv_pass
