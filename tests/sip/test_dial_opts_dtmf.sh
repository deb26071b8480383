#!/usr/bin/env bash
# test_dial_opts_dtmf - Dial()'s D(called[:calling[:progress]]): once the
# callee has answered it gets the called digits, then the caller gets the
# calling ones, and the two hear each other after:
#   RFC 4733: D(1w23:45) gives the callee events 1, 2, 3 (each event's
#     packets on one timestamp, the first marked, the end packet sent) on
#     the telephone-event type of KubeVox's offer to it, and the caller 4,
#     5 on the one of KubeVox's answer; then media flows both ways;
#   INFO: a callee with dtmf_mode=info gets application/dtmf-relay INFOs,
#     Signal=1 then Signal=2, and no events;
#   progress: D(::9) gives 9 to a callee at its 183, before it answers.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_call_users 1001 1002
kv_conf_call_user 1003 endpoint.dtmf_mode=info
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 821,1,Dial(PJSIP/1002,10,D(1w23:45))
 same => n,Hangup()
exten => 822,1,Dial(PJSIP/1003,10,D(12))
 same => n,Hangup()
exten => 823,1,Dial(PJSIP/1002,10,D(::9))
 same => n,Hangup()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "D over RFC 4733"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media = [a]
callee.media = [b]
CODECS = ((0, "PCMU/8000"), (101, "telephone-event/8000"))


def events(rtp, src, pt, n, what):
    ok = rtp.wait(lambda got: len([p for p, s in got if s == src and p.pt == pt and
                                   p.payload[1] & 0x80]) >= 3 * n, 10)
    got = kvsip.dtmf_events([p for p, s in rtp.got if s == src], pt)
    assert ok, "%s: %r" % (what, got)
    return got


call = kvsip.OutCall(caller, "821", kvsip.sdp_offer(a.port, codecs=CODECS))
call.invite()
inc = callee.expect_invite()
b_pt = inc.offer.pt_of("telephone-event")
assert b_pt is not None, "no telephone-event offered to the callee"
inc.answer(kvsip.sdp_offer(b.port, codecs=CODECS))
call.expect_final(200, "D(1w23:45)")
call.ack()
inc.expect_ack()
a_pt = call.answer.pt_of("telephone-event")
got = events(b, inc.offer.media, b_pt, 3, "callee")
assert [d for d, _ in got] == ["1", "2", "3"], "callee: %r" % got
print("callee: events %r on PT %d" % (got, b_pt))
got = events(a, call.answer.media, a_pt, 2, "caller")
assert [d for d, _ in got] == ["4", "5"], "caller: %r" % got
print("caller: events %r on PT %d" % (got, a_pt))
# The bridge is back once the digits are out.
a.quiet()
b.quiet()
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after-D")
kvsip.hang_up(call, inc)
print("media both ways after the digits")

# D(::9): to the callee at its 183, before the answer.
call = kvsip.OutCall(caller, "823", kvsip.sdp_offer(a.port, codecs=CODECS))
call.invite()
inc = callee.expect_invite()
b.take()
inc.respond(183, kvsip.sdp_offer(b.port, codecs=CODECS))
got = events(b, inc.offer.media, inc.offer.pt_of("telephone-event"), 1, "progress")
assert [d for d, _ in got] == ["9"], "progress: %r" % got
inc.answer(kvsip.sdp_offer(b.port, codecs=CODECS))
call.expect_final(200, "D(::9)")
call.ack()
inc.expect_ack()
kvsip.hang_up(call, inc)
print("progress: event 9 at the callee's 183")
PY
kv_ok "D: RFC 4733 events to the callee, then the caller, then media; progress at 183"

kv_python_call <<'PY' || kv_fail "D over INFO"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1003")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
callee.media = [b]
CODECS = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

call = kvsip.OutCall(caller, "822", kvsip.sdp_offer(a.port, codecs=CODECS))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=CODECS))
call.expect_final(200, "D(12) to dtmf_mode=info")
call.ack()
inc.expect_ack()
signals = []
for _ in range(2):
    info = inc.expect_request("INFO", "INFO with a digit", timeout=10)
    assert info.get("content-type").lower() == "application/dtmf-relay", info.get("content-type")
    body = info.body.decode()
    sig = [l.split("=", 1)[1].strip() for l in body.splitlines() if l.lower().startswith("signal=")]
    assert len(sig) == 1, "INFO body %r" % body
    signals.append(sig[0])
    callee.respond(info, 200)
assert signals == ["1", "2"], "INFO digits %r" % signals
b.quiet()
ev = [p for p, s in b.got if p.pt == inc.offer.pt_of("telephone-event")]
assert not ev, "dtmf_mode=info callee got %d RFC 4733 packets" % len(ev)
kvsip.hang_up(call, inc)
print("INFO: Signal=1, Signal=2, no RFC 4733 events")
PY
kv_ok "D: a dtmf_mode=info callee gets INFO application/dtmf-relay"

kvd_stop
kv_pass
