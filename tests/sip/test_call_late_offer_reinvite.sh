#!/usr/bin/env bash
# test_call_late_offer_reinvite - re-INVITEs without SDP (session refresh,
# a phone asking for an offer: RFC 6337 section 5) in a call 1001 -> 1002
# set up with SDP.  The caller's re-INVITE gets 200 with KubeVox's current
# SDP for its leg as the offer (the codec in use and telephone-event, the
# same o= version since nothing changed), the other phone is not
# disturbed, and the answer in the ACK moves the caller's media to a new
# port.  An answer with a=sendonly holds the caller (nothing is relayed
# to it, what it sends still is), a later sendrecv answer resumes.  The
# re-INVITE that crosses an offer of ours still waiting for its ACK gets
# 491.  The callee's re-INVITE without SDP works the same way on its leg.
# Media flows both ways after each step.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "re-INVITE without SDP"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, a2, b = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
caller.media += [a, a2]
callee.media.append(b)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port, session=1111))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU, session=2222))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before")
first = call.answer
no_invite = lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE"

# The caller refreshes without SDP and moves its media to a2.
cseq, r = kvsip.late_reinvite(call, "caller's re-INVITE without SDP")
offer = r.sdp()
pt, enc = kvsip.assert_late_offer(offer, "offer in the 200 to the caller's re-INVITE")
assert enc == "PCMU/8000", offer.lines
assert offer.media == first.media, "the relay moved: %r, was %r" % (offer.media, first.media)
assert offer.version == first.version, "o= version %d for the same SDP, was %d" % (
    offer.version, first.version)
kvsip.late_ack(call, cseq, kvsip.late_answer(offer, a2.port, version=2, session=1111))
callee.expect_nothing(no_invite, "the callee re-INVITEd for the caller's refresh", 0.5)
kvsip.await_bridge(a2, offer.media, b, "caller's media from its new port")
kvsip.check_media(a2, b, offer.media, inc.offer.media, "moved")
print("caller's re-INVITE without SDP: 200 offers %r (o= version kept), "
      "ACK answer moved the media" % kvsip.sdp_codecs(offer))

# Hold through the same path: the caller answers a=sendonly.
cseq, r = kvsip.late_reinvite(call, "caller's hold without SDP")
held = r.sdp()
kvsip.assert_late_offer(held, "offer before the hold")
kvsip.late_ack(call, cseq, kvsip.late_answer(held, a2.port, direction="sendonly",
                                             version=3, session=1111))
kvsip.send_stream(a2, held.media, "hold-ab", 10)
kvsip.expect_stream(b, "hold-ab", 10, 0, inc.offer.media)
kvsip.send_stream(b, inc.offer.media, "hold-ba", 10)
a2.quiet()
leaked = [p for p, _ in a2.got if p.payload.startswith(b"hold-ba:")]
assert not leaked, "%d packets relayed to the caller on hold" % len(leaked)
print("caller holds (sendonly answer in the ACK): its media relayed, none sent to it")

# Resume: the offer is sendrecv again and the answer says so.
cseq, r = kvsip.late_reinvite(call, "caller's resume without SDP")
resumed = r.sdp()
kvsip.assert_late_offer(resumed, "offer for the resume")
kvsip.late_ack(call, cseq, kvsip.late_answer(resumed, a2.port, version=4, session=1111))
kvsip.check_media(a2, b, resumed.media, inc.offer.media, "resumed")
print("caller resumes: media both ways")

# While our offer in a 200 waits for its ACK, a re-INVITE from the other
# side crosses it: 491 (RFC 3261 section 14.2), and the retry goes through.
cseq, r = kvsip.late_reinvite(call, "caller's refresh without SDP")
refresh = r.sdp()
gcseq, branch = kvsip.dialog_invite(inc, kvsip.sdp_offer(b.port, codecs=PCMU, version=2,
                                                           session=2222))
g = kvsip.response_to(callee, inc.call_id, gcseq, "INVITE", "callee's re-INVITE in glare")
assert g.status == 491, "callee's re-INVITE while our offer waits for the ACK: %s" % g.start
kvsip.dialog_ack_failure(inc, g, branch)
kvsip.late_ack(call, cseq, kvsip.late_answer(refresh, a2.port, version=5, session=1111))
rcseq = inc.in_dialog("INVITE", kvsip.sdp_offer(b.port, codecs=PCMU, version=3, session=2222))
call.answer_reinvite(kvsip.sdp_offer(a2.port, version=6, session=1111))
r = inc.expect_response(rcseq, "INVITE", "callee's retry")
assert r.status == 200, "callee's retry: %s" % r.start
inc.send_ack(rcseq)
call.expect_ack()
print("a re-INVITE crossing our pending offer: %s, then its retry: %s" % (g.start, r.start))

# The callee's re-INVITE without SDP.
cseq, r = kvsip.late_reinvite(inc, "callee's re-INVITE without SDP")
offer_b = r.sdp()
pt, enc = kvsip.assert_late_offer(offer_b, "offer in the 200 to the callee's re-INVITE")
assert enc == "PCMU/8000", offer_b.lines
assert offer_b.media == inc.offer.media, "callee's relay moved: %r" % (offer_b.media,)
kvsip.late_ack(inc, cseq, kvsip.late_answer(offer_b, b.port, version=4, session=2222))
caller.expect_nothing(no_invite, "the caller re-INVITEd for the callee's refresh", 0.5)
kvsip.check_media(a2, b, resumed.media, offer_b.media, "callee-refreshed")
print("callee's re-INVITE without SDP: 200 offers %r, media both ways" % kvsip.sdp_codecs(offer_b))

# An ordinary re-INVITE with SDP (not a hold, which KubeVox answers
# itself: test_call_hold) is still relayed afterwards.
call.invite(kvsip.sdp_offer(a2.port, version=7, session=1111))
req = inc.answer_reinvite(kvsip.sdp_offer(b.port, codecs=PCMU, version=5, session=2222))
assert req.sdp().direction == "sendrecv", req.sdp().lines
_, r = call.expect_final(200, "caller's re-INVITE with SDP")
call.ack()
inc.expect_ack()
assert r.sdp().direction == "sendrecv", r.sdp().lines
print("a re-INVITE with SDP is still relayed to the other phone")
kvsip.hang_up(call, inc)
PY
kv_ok "re-INVITE without SDP from either side: 200 offers, ACK answers, hold and resume"

kv_wait_log 'event=call_late_answer .*hold=yes'
kv_wait_log 'event=call_late_answer .*hold=no' 4
kvd_stop
kv_pass
