#!/usr/bin/env bash
# test_call_dtmf - RFC 4733 telephone-events pass between the legs of a
# bridged call: the caller offers telephone-event (PT 101), KubeVox offers
# it to the callee, and each digit's packets (three updates, the first
# marked, and the end packet three times) arrive on the other leg with the
# payload type that leg negotiated and the payloads untouched, in both
# directions.  Audio sent before and after still flows.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "DTMF"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
te_b = inc.offer.pt_of("telephone-event")
assert te_b is not None, "no telephone-event offered to the callee: %r" % inc.offer.lines
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"), (te_b, "telephone-event/8000"))))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
te_a = call.answer.pt_of("telephone-event")
assert te_a == 101, "answer to the caller: telephone-event %r, offered 101: %r" % (
    te_a, call.answer.lines)
print("telephone-event: PT %d on the caller's leg, %d on the callee's" % (te_a, te_b))


def events(rtp, pt, n, what):
    rtp.wait(lambda got: len([p for p, _ in got if p.pt == pt]) >= n, 5)
    got = [p for p, _ in rtp.got if p.pt == pt]
    assert len(got) == n, "%s: %d event packets of %d" % (what, len(got), n)
    assert got[0].marker, "%s: first event packet not marked" % what
    assert len(set(p.ts for p in got)) == 1, "%s: timestamps %r" % (
        what, [p.ts for p in got])
    return [p.payload for p in got]


kvsip.send_stream(a, call.answer.media, "before", 5)
kvsip.expect_stream(b, "before", 5, 0, inc.offer.media)
sent = kvsip.send_dtmf(a, call.answer.media, 5, te_a)
assert events(b, te_b, len(sent), "digit 5 to the callee") == sent, "digit 5 changed on the way"
print("digit 5: %d packets, payloads untouched, caller -> callee" % len(sent))

sent = kvsip.send_dtmf(b, inc.offer.media, 11, te_b)
assert events(a, te_a, len(sent), "digit # to the caller") == sent, "digit # changed on the way"
print("digit #: %d packets, payloads untouched, callee -> caller" % len(sent))

kvsip.send_stream(b, inc.offer.media, "after", 5)
kvsip.expect_stream(a, "after", 5, 0, call.answer.media)
r = call.bye()
assert r.status == 200, r.start
inc.answer_bye()
PY
kv_ok "RFC 4733 events relayed both ways, payloads untouched"

kvd_stop
kv_pass
