#!/usr/bin/env bash
# test_call_late_offer_bad - what KubeVox does when a late offer goes
# wrong.  An INVITE whose body is not SDP gets 488 with a Warning.  After
# the 200 that carries KubeVox's offer, an ACK without SDP, an answer that
# names a codec that was not offered (PCMA to a PCMU offer), an SDP that
# does not parse and an answer that rejects the audio stream each end the
# call with BYE, on every leg, and the log says why (RFC 3261 section
# 13.3.1.4).  So does the ACK without SDP of a callee's re-INVITE without
# SDP.  The daemon stays up.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "bad late offers"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

# A body that is not SDP: no offer KubeVox could read, no late offer either.
call = kvsip.OutCall(caller, "1002", b"hello", headers=[("Content-Type", "text/plain")])
call.invite()
_, r = call.expect_final(488, "INVITE with a text/plain body")
assert r.get("warning"), "488 without Warning: %r" % r.headers
print("text/plain body: %s (%s)" % (r.start, r.get("warning")))

# The caller's ACK has no answer: BYE to both.
call = kvsip.OutCall(caller, "1002")
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
call.expect_final(200, "late offer to 1002")
kvsip.assert_late_offer(call.answer, "200 to the caller")
kvsip.late_ack(call, call.invite_cseq, b"")
inc.expect_ack()
kvsip.expect_bye_from_kubevox(call, "BYE to the caller after an ACK without SDP")
kvsip.expect_bye_from_kubevox(inc, "BYE to the callee after the caller's ACK without SDP")
print("ACK without SDP: BYE to the caller and to the callee")

# Answers that do not fit the offer, or do not parse, to 600.
rejected = (b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            b"t=0 0\r\nm=audio 0 RTP/AVP 0 101\r\n")
for what, body in (("PCMA answer to a PCMU offer", None),
                   ("unparsable SDP", b"v=0\r\nm=audio\r\n"),
                   ("the audio stream rejected", rejected)):
    call = kvsip.OutCall(caller, "600")
    call.invite()
    call.expect_final(200, "late offer to 600")
    pt, _ = kvsip.assert_late_offer(call.answer, "200 of 600")
    assert pt == 0, call.answer.lines
    if body is None:
        body = kvsip.late_answer(call.answer, a.port, codecs=((8, "PCMA/8000"),))
    kvsip.late_ack(call, call.invite_cseq, body)
    kvsip.expect_bye_from_kubevox(call, "BYE after an ACK with %s" % what)
    print("ACK with %s: BYE" % what)

# A callee's re-INVITE without SDP whose ACK has no answer.
call, inc = kvsip.call_up(caller, callee, a, b)
cseq, r = kvsip.late_reinvite(inc, "callee's re-INVITE without SDP")
kvsip.late_ack(inc, cseq, b"")
kvsip.expect_bye_from_kubevox(inc, "BYE to the callee after its ACK without SDP")
kvsip.expect_bye_from_kubevox(call, "BYE to the caller after the callee's ACK without SDP")
print("re-INVITE without SDP, ACK without SDP: BYE to both")

# Still up.
call, inc = kvsip.call_up(caller, callee, a, b)
kvsip.hang_up(call, inc)
PY
kv_ok "late offers without a fitting answer end with BYE, a non-SDP body gets 488"

kv_wait_log 'event=call_late_answer_bad .*reason="?ACK without SDP answer' 2
kv_wait_log 'event=call_late_answer_bad .*reason="?answer does not fit the offer'
kv_wait_log 'event=call_late_answer_bad .*reason="?invalid SDP in ACK'
kv_wait_log 'event=call_late_answer_bad .*reason="?answer rejects the audio stream'
kvd_stop
kv_pass
