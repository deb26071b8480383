#!/usr/bin/env bash
# test_call_rtp_latch - symmetric RTP for phones behind NAT: each phone's
# SDP names one port but it sends from another (as a NAT would rewrite
# it).  Once a phone's packets have reached KubeVox, the other leg's
# packets go to where they came from, not to the SDP's address.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "RTP latching"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
sdp_a, real_a, sdp_b, real_b = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
caller.media = [sdp_a, real_a]
callee.media = [sdp_b, real_b]

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(sdp_a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(sdp_b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
to_a, to_b = call.answer.media, inc.offer.media

# The caller speaks first (KubeVox may send it to the callee's SDP port:
# the callee has not been heard yet), then the callee answers from its
# real port: that must reach the caller's real port.
kvsip.send_stream(real_a, to_a, "a1", 10)
real_b.wait(lambda g: False, 0.3)
sdp_b.wait(lambda g: False, 0.1)
kvsip.send_stream(real_b, to_b, "b1", 10)
kvsip.expect_stream(real_a, "b1", 10, 0, to_a)
assert not [p for p, _ in sdp_a.got if p.payload.startswith(b"b1:")], \
    "the callee's packets went to the caller's SDP port after it was heard"
kvsip.send_stream(real_a, to_a, "a2", 10)
kvsip.expect_stream(real_b, "a2", 10, 0, to_b)
assert not [p for p, _ in sdp_b.got if p.payload.startswith(b"a2:")], \
    "the caller's packets went to the callee's SDP port after it was heard"
print("both legs latched onto the real source ports")
r = call.bye()
assert r.status == 200, r.start
inc.answer_bye()
PY
kv_ok "RTP goes back to where each phone really sends from"

kvd_stop
kv_pass
