#!/usr/bin/env bash
# test_call_hold - re-INVITEs for hold and unhold are relayed between the
# legs, each side getting KubeVox's SDP: the caller holds (a=sendonly, the
# callee sees sendonly and answers recvonly, which the caller gets back),
# holds with a=inactive, resumes (sendrecv) and the media flows again;
# then the callee holds and resumes the same way.  Every new SDP KubeVox
# sends on a leg carries a higher o= version (RFC 3264 section 8), and the
# relayed re-INVITEs belong to the callee's dialog.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "hold and unhold"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port, session=1111))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU, session=2222))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
ver = {"caller": call.answer.version, "callee": inc.offer.version}
first_cseq = inc.invite.cseq[0]


def newer(side, sdp, what):
    assert sdp.version > ver[side], "%s: o= version %d after %d" % (
        what, sdp.version, ver[side])
    ver[side] = sdp.version


def caller_reoffer(version, direction, callee_answers):
    call.invite(kvsip.sdp_offer(a.port, direction=direction, version=version,
                                session=1111))
    req = inc.answer_reinvite(kvsip.sdp_offer(b.port, codecs=PCMU,
                              direction=callee_answers, version=version,
                              session=2222))
    assert req.to_tag == inc.tag and req.from_tag == inc.remote_tag, \
        "re-INVITE outside the callee's dialog: %s / %s" % (req.get("from"), req.get("to"))
    assert req.cseq[0] > first_cseq, "re-INVITE CSeq %r after %d" % (req.cseq, first_cseq)
    sdp = req.sdp()
    kvsip.assert_kubevox_media(sdp, "re-offer to the callee")
    assert sdp.direction == direction, "callee got a=%s, caller sent a=%s" % (
        sdp.direction, direction)
    newer("callee", sdp, "re-offer to the callee")
    _, r = call.expect_final(200, "caller's re-INVITE a=%s" % direction)
    call.ack()
    inc.expect_ack()
    ans = r.sdp()
    kvsip.assert_kubevox_media(ans, "answer to the caller's re-INVITE")
    assert ans.direction == callee_answers, "caller got a=%s, callee answered a=%s" % (
        ans.direction, callee_answers)
    newer("caller", ans, "answer to the caller's re-INVITE")
    print("caller a=%s -> callee a=%s, callee a=%s -> caller a=%s" % (
        direction, sdp.direction, callee_answers, ans.direction))


caller_reoffer(2, "sendonly", "recvonly")
caller_reoffer(3, "inactive", "inactive")
caller_reoffer(4, "sendrecv", "sendrecv")

kvsip.send_stream(a, call.answer.media, "resumed", 10)
kvsip.expect_stream(b, "resumed", 10, 0, inc.offer.media)
kvsip.send_stream(b, inc.offer.media, "resumed-back", 10)
kvsip.expect_stream(a, "resumed-back", 10, 0, call.answer.media)
print("media flows both ways after unhold")

# Both phones have used o= versions 1 to 4 so far.
for version, direction, answer in ((5, "sendonly", "recvonly"), (6, "sendrecv", "sendrecv")):
    cseq = inc.in_dialog("INVITE", kvsip.sdp_offer(b.port, codecs=PCMU, direction=direction,
                                                  version=version, session=2222))
    req = call.answer_reinvite(kvsip.sdp_offer(a.port, direction=answer,
                                               version=version, session=1111))
    sdp = req.sdp()
    kvsip.assert_kubevox_media(sdp, "re-offer to the caller")
    assert sdp.direction == direction, "caller got a=%s, callee sent a=%s" % (
        sdp.direction, direction)
    newer("caller", sdp, "re-offer to the caller")
    r = inc.expect_response(cseq, "INVITE", "callee's re-INVITE a=%s" % direction)
    assert r.status == 200, r.start
    inc.send_ack(cseq)
    call.expect_ack()
    ans = r.sdp()
    kvsip.assert_kubevox_media(ans, "answer to the callee's re-INVITE")
    assert ans.direction == answer, "callee got a=%s, caller answered a=%s" % (
        ans.direction, answer)
    newer("callee", ans, "answer to the callee's re-INVITE")
    print("callee a=%s -> caller a=%s, answered a=%s" % (direction, sdp.direction, ans.direction))

cseq = call.in_dialog("BYE")
inc.answer_bye()
r = call.expect_response(cseq, "BYE", "BYE")
assert r.status == 200, r.start
PY
kv_ok "hold (sendonly, inactive) and unhold relayed both ways, SDP versions increase"

kvd_stop
kv_pass
