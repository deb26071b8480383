#!/usr/bin/env bash
# test_call_late_offer_apps - late offers to calls whose media ends at
# KubeVox.  600 (Answer, Echo): the 200 offers one codec (PCMU, the first
# 1001 allows) and telephone-event, the caller answers in the ACK and every
# packet comes back untouched.  700 (Answer, Playback): after the ACK the
# whole prompt arrives, from the offer's address.  701 (Progress, Playback
# noanswer): the 183 carries the offer as a preview (RFC 6337 section
# 3.1); with no PRACK the caller cannot answer before a 2xx, so the relay
# learns its address from the RTP it sends (symmetric RTP), and the prompt
# plays to it before the final answer.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
kvd_start

kv_python_call <<'PY' || kv_fail "late offer to Echo and Playback"
import os
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
prompt = os.environ["KV_PROMPT"]
want = len(kvsip.wav_samples(prompt)) / 160.0

# 600: Echo
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "600")
call.invite()
_, r = call.expect_final(200, "late offer to 600")
pt, enc = kvsip.assert_late_offer(call.answer, "200 of 600")
assert (pt, enc) == (0, "PCMU/8000"), "200 of 600: %r" % call.answer.lines
kvsip.late_ack(call, call.invite_cseq, kvsip.late_answer(call.answer, a.port))
kvsip.send_stream(a, call.answer.media, "echo", 50, pt=0)
kvsip.expect_stream(a, "echo", 50, 0, call.answer.media)
r = call.bye()
assert r.status == 200, r.start
print("600: offer %r, 50 packets echoed" % kvsip.sdp_codecs(call.answer))

# 700: Answer, Playback
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "700")
call.invite()
_, r = call.expect_final(200, "late offer to 700")
kvsip.assert_late_offer(call.answer, "200 of 700")
kvsip.late_ack(call, call.invite_cseq, kvsip.late_answer(call.answer, a.port))
bye = call.expect_request("BYE", "BYE after the prompt", timeout=15)
caller.respond(bye, 200)
a.quiet()
packets = [p for p, src in a.got if src == call.answer.media]
assert len(packets) == len(a.got), "RTP from elsewhere than the 200's SDP"
print("700: %s" % kvsip.check_prompt(packets, 0, prompt, "hello-world after a late offer"))

# 701: Progress, Playback(noanswer)
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "701")
call.invite()
sdp = None
while True:
    r = call.next_response(timeout=15)
    assert r is not None, "no final answer from 701"
    if r.status == 183 and sdp is None:
        sdp = r.sdp()
        pt, enc = kvsip.assert_late_offer(sdp, "183 of 701")
        assert pt == 0, "183 of 701: %r" % sdp.lines
        # A phone previewing the offer sends from its media port.
        kvsip.send_stream(a, sdp.media, "preview", 3, pt=0)
    if r.status >= 200:
        break
assert sdp is not None, "no 183 with the offer before the final answer"
assert r.status >= 400, "701 ended with %s" % r.start
a.quiet()
got = [(p, src) for p, src in a.got]
assert got and all(src == sdp.media for _, src in got), "RTP from elsewhere than the 183's SDP"
packets = [p for p, _ in got]
assert len(packets) >= want - 5, "701: %d packets, the prompt is %.1f" % (len(packets), want)
assert {p.pt for p in packets} == {0} and {len(p.payload) for p in packets} == {160}, \
    "701: payload types %r" % {p.pt for p in packets}
for x, y in zip(packets, packets[1:]):
    assert (y.seq - x.seq) & 0xffff == 1, "701: sequence %d after %d" % (y.seq, x.seq)
table = kvsip.G711[0]
audio = [table[s] for p in packets for s in p.payload]
samples = kvsip.wav_samples(prompt)
best = max(kvsip.correlation(audio, samples[k * 160:]) for k in range(0, 8))
assert best >= 0.95, "701: audio is not the prompt (correlation %.3f)" % best
print("701: 183 offers %r, %d prompt packets (of %.1f) before %s, correlation %.3f" % (
    kvsip.sdp_codecs(sdp), len(packets), want, r.start, best))
PY
kv_ok "late offer to Echo, Answer+Playback and early-media Playback: media flows"

kv_wait_log 'event=call_late_answer ' 2
kv_wait_log 'event=call_end' 3
kvd_stop
kv_pass
