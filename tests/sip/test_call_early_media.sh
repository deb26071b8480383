#!/usr/bin/env bash
# test_call_early_media - 701 plays hello-world before answering
# (Progress, then Playback with noanswer): 183 Session Progress with
# KubeVox's SDP, then the whole prompt as RTP before any final answer, and
# never a 200.  The call then ends with Hangup() while unanswered; which
# failure status that maps to is left open by the calls contract, so any
# final answer >= 400 is accepted.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
kvd_start

kv_python_call <<'PY' || kv_fail "early media"
import os
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "701", kvsip.sdp_offer(a.port))
call.invite()
sdp = None
while True:
    r = call.next_response(timeout=15)
    assert r is not None, "no final answer from 701"
    if r.status == 183 and sdp is None:
        assert r.body.strip(), "183 without SDP"
        sdp = r.sdp()
        kvsip.assert_kubevox_media(sdp, "183 of 701")
        assert sdp.pts[0] == 0, "183 of 701: %r" % sdp.lines
    if r.status >= 200:
        break
assert sdp is not None, "no 183 with SDP before the final answer"
before_final = len(a.got)
assert r.status >= 400, "701 ended with %s, expected a failure answer" % r.start
a.quiet()
packets = [p for p, src in a.got if src == sdp.media]
assert len(packets) == len(a.got), "RTP from elsewhere than the 183's SDP"
summary = kvsip.check_prompt(packets, 0, os.environ["KV_PROMPT"], "hello-world early")
want = len(kvsip.wav_samples(os.environ["KV_PROMPT"])) / 160.0
assert before_final >= want - 2, "only %d packets before the final answer" % before_final
print("183 with SDP, %s, %d before the final %s" % (summary, before_final, r.start))
PY
kv_ok "early media: 183 with SDP, the whole prompt, then a final failure answer"

kv_wait_log 'event=call_end'
kvd_stop
kv_pass
