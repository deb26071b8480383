#!/usr/bin/env bash
# test_call_late_offer - a late offer (RFC 3261 section 13.2.1): 1001 calls
# 1002 with an INVITE without SDP.  KubeVox still offers to the callee (an
# INVITE with its own SDP: PCMU, PCMA and telephone-event, what 1001's
# endpoint allows), relays the callee's 180, and the 200 to the caller
# carries KubeVox's offer: one audio codec, the one the callee chose, and
# telephone-event (and the callee's 183 gives the caller the same offer as
# a preview).  The caller answers in the ACK; RTP then flows both ways
# through the relay, from and to the addresses in the SDPs, and DTMF is
# seen on the caller's leg with the payload type of the answer.  When the
# dialplan answers before Dial() (1003's context), the caller is offered
# PCMU at once, and the callee is offered that codec only, since the relay
# does not transcode.  A normal call (SDP in the INVITE) still works on the
# same daemon afterwards.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw,alaw endpoint.context=answer-first
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[answer-first]
exten => 1002,1,Answer()
 same => n,Dial(PJSIP/1002,10)
 same => n,Hangup()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "late offer to a phone"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "1002")
call.invite()
assert call.sent[call.invite_cseq]["body"] == b"", "the test's INVITE carries a body"
inc = callee.expect_invite()
offer_b = inc.offer
assert offer_b is not None, "KubeVox's INVITE to the callee without SDP"
kvsip.assert_kubevox_media(offer_b, "offer to the callee")
names = [n.split("/")[0].upper() for _, n in kvsip.sdp_codecs(offer_b)]
assert names == ["PCMU", "PCMA", "TELEPHONE-EVENT"], "offer to the callee: %r" % offer_b.lines
print("callee got KubeVox's offer: %r" % kvsip.sdp_codecs(offer_b))

# The callee prefers PCMA: that is the codec the caller must be offered,
# first as a preview in the 183 of the callee's early media, then in the
# 200, the same offer (RFC 6337 section 3.1).
inc.ring()
answer_b = kvsip.sdp_offer(b.port, codecs=((8, "PCMA/8000"), (101, "telephone-event/8000")))
inc.respond(183, answer_b)
inc.answer(answer_b)
prov, r = call.expect_final(200, "late-offer call")
prov = [p for p in prov if p.status > 100]
assert [p.status for p in prov] == [180, 183], "provisional answers %r" % [p.start for p in prov]
assert r.get("content-type") == "application/sdp", "200: Content-Type %r" % r.get("content-type")
offer_a = call.answer
pt, enc = kvsip.assert_late_offer(offer_a, "offer in the 200 to the caller")
assert (pt, enc) == (8, "PCMA/8000"), "offer to the caller: %r" % offer_a.lines
assert prov[1].sdp().lines == offer_a.lines, "183 preview %r, 200 %r" % (
    prov[1].sdp().lines, offer_a.lines)
kvsip.late_ack(call, call.invite_cseq, kvsip.late_answer(offer_a, a.port))
inc.expect_ack()
print("200 to the caller offers %r; answered in the ACK" % kvsip.sdp_codecs(offer_a))

kvsip.send_stream(a, offer_a.media, "ab", 20, pt=8)
kvsip.expect_stream(b, "ab", 20, 8, offer_b.media)
kvsip.send_stream(b, offer_b.media, "ba", 20, pt=8)
kvsip.expect_stream(a, "ba", 20, 8, offer_a.media)
print("RTP both ways through the relay (PCMA)")

kvsip.send_dtmf(a, offer_a.media, 5, 101)
got = b.wait(lambda got: sum(1 for p, _ in got if p.pt == 101) >= 6, 5.0)
assert got, "the caller's RFC 4733 events did not reach the callee"
kvsip.hang_up(call, inc)

# Answer() before Dial(): the caller is offered PCMU, and so is the callee.
first = kvsip.Phone(kvsip.kv_port(), "1003")
a3 = kvsip.Rtp()
first.media.append(a3)
call = kvsip.OutCall(first, "1002")
call.invite()
call.expect_final(200, "late offer answered by the dialplan")
pt, enc = kvsip.assert_late_offer(call.answer, "200 of Answer()")
assert enc == "PCMU/8000", call.answer.lines
kvsip.late_ack(call, call.invite_cseq, kvsip.late_answer(call.answer, a3.port))
inc = callee.expect_invite()
names = [n.split("/")[0].upper() for _, n in kvsip.sdp_codecs(inc.offer)]
assert names == ["PCMU", "TELEPHONE-EVENT"], "offer to the callee after Answer(): %r" % inc.offer.lines
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"), (101, "telephone-event/8000"))))
inc.expect_ack()
kvsip.await_bridge(a3, call.answer.media, b, "bridge after Answer() and Dial()")
kvsip.check_media(a3, b, call.answer.media, inc.offer.media, "answered-first", 10)
kvsip.hang_up(call, inc)
print("Answer() then Dial(): caller and callee both on PCMU, media both ways")

# An early offer still works as before.
call, inc = kvsip.call_up(caller, callee, a, b)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "early", 10)
kvsip.hang_up(call, inc)
print("a call with SDP in the INVITE still connects and relays")
PY
kv_ok "late offer: the 200 offers the callee's codec, the ACK answers, media both ways"

kv_wait_log 'event=call_late_offer .*cseq='
kv_wait_log 'event=call_late_answer .*hold=no'
kv_wait_log 'event=dtmf .*channel=PJSIP/1001-.*digit=5'
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 3
kvd_stop
kv_pass
