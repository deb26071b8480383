#!/usr/bin/env bash
# test_call_echo - 600 answers (Answer, then Echo): 200 with KubeVox's SDP,
# and every RTP packet sent to it comes back with the same payload, from
# the address in that SDP.  With PCMU, then with a PCMA-only offer (PT 8
# comes back).  SIPp also places one call to 600.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
kvd_start

kv_sipp_call_ok "SIPp caller: 600 answers, BYE 200" call_answer.xml 1001 600 -d 500

kv_python_call <<'PY' || kv_fail "Echo"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
for codecs, pt in ((kvsip.AUDIO, 0), (((8, "PCMA/8000"),), 8)):
    a = kvsip.Rtp()
    caller.media = [a]
    call = kvsip.OutCall(caller, "600", kvsip.sdp_offer(a.port, codecs=codecs))
    call.connect("call to 600")
    kvsip.assert_kubevox_media(call.answer, "answer of 600")
    assert call.answer.pts[0] == pt, "answer of 600: %r" % call.answer.lines
    kvsip.send_stream(a, call.answer.media, "echo%d" % pt, 50, pt=pt)
    kvsip.expect_stream(a, "echo%d" % pt, 50, pt, call.answer.media)
    r = call.bye()
    assert r.status == 200, r.start
    print("600 with PT %d: 50 packets echoed untouched, BYE 200" % pt)
PY
kv_ok "Echo returns every payload (PCMU and PCMA)"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 3
kvd_stop
kv_pass
