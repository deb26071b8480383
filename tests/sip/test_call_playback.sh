#!/usr/bin/env bash
# test_call_playback - 700 answers and plays hello-world: after the 200,
# KubeVox sends the prompt as RTP in the negotiated codec (PCMU, then with
# a PCMA-only offer PCMA): 160-byte payloads, the prompt's duration in
# packets (+-2), consecutive sequence numbers and timestamps 160 apart
# (50 packets per second of audio; no wall-clock timing is asserted), and
# audio that matches the WAV file.  Then it hangs up with BYE.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
kvd_start

kv_python_call <<'PY' || kv_fail "Playback"
import os
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
for codecs, pt in ((kvsip.AUDIO, 0), (((8, "PCMA/8000"),), 8)):
    a = kvsip.Rtp()
    caller.media = [a]
    call = kvsip.OutCall(caller, "700", kvsip.sdp_offer(a.port, codecs=codecs))
    call.connect("call to 700")
    kvsip.assert_kubevox_media(call.answer, "answer of 700")
    assert call.answer.pts[0] == pt, "answer of 700: %r" % call.answer.lines
    call.answer_bye(timeout=15)
    a.quiet()
    packets = [p for p, src in a.got if src == call.answer.media]
    strays = [src for p, src in a.got if src != call.answer.media]
    assert not strays, "RTP from elsewhere than KubeVox's SDP: %r" % set(strays)
    print("700 with PT %d: %s" % (pt, kvsip.check_prompt(
        packets, pt, os.environ["KV_PROMPT"], "hello-world")))
PY
kv_ok "Playback: the whole prompt at 20 ms per packet, then BYE"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 2
kvd_stop
kv_pass
