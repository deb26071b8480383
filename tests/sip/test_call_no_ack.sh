#!/usr/bin/env bash
# test_call_no_ack - a caller that never ACKs the 200 (1001 -> 1002, the
# callee answers and is ACKed): KubeVox retransmits the 200 to the caller,
# unchanged, at growing intervals (RFC 3261 section 13.3.1.4), then after
# 64*T1 (32 s) gives up: BYE to both legs (log event=call_no_ack), and no
# more 200s.  The wait for the BYE is bounded at 45 s.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "200 never ACKed"
import time
import kvsip

caller = kvsip.TapPhone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
_, ok = call.expect_final(200, "call")
inc.expect_ack()
answered = time.monotonic()


def is_200(m):
    return isinstance(m, kvsip.Response) and m.status == 200 and \
        m.cseq == (call.invite_cseq, "INVITE")


def is_bye(dlg):
    return lambda m: isinstance(m, kvsip.Request) and m.method == "BYE" and \
        m.call_id == dlg.call_id


# No ACK: wait for the BYE, both phones answering whatever else comes.
bye = None
deadline = answered + 45
while bye is None and time.monotonic() < deadline:
    bye = caller.wait(is_bye(call), 0.2)
    callee.pump(0.01)
assert bye is not None, "no BYE to the caller within 45 s of the unACKed 200"
waited = time.monotonic() - answered
caller.respond(bye, 200)
inc.answer_bye(timeout=5)
print("BYE to both legs %.1fs after the 200" % waited)
assert waited >= 20, "BYE %.1fs after the 200: too soon for 64*T1" % waited

oks = [(t, m) for t, m in caller.tapped(is_200)]
assert oks and oks[0][1].raw == ok.raw, "the first 200 is not in the tap"
assert len(oks) >= 4, "%d transmissions of the 200 in %.0fs" % (len(oks), waited)
assert all(m.raw == ok.raw for _, m in oks), "a retransmitted 200 differs"
gaps = [round(t2 - t1, 1) for (t1, _), (t2, _) in zip(oks, oks[1:])]
assert gaps[-1] > gaps[0], "intervals between the 200s do not grow: %r" % gaps
print("the 200 sent %d times, unchanged, intervals %r s" % (len(oks), gaps))

# Given up: nothing more of that 200.
caller.idle(3)
late = [m for t, m in caller.tapped(is_200) if t > oks[-1][0]]
assert not late, "%d more 200s after the BYE" % len(late)
print("no 200 after the BYE")
PY
kv_ok "the unACKed 200 is retransmitted, then both legs get BYE"

kv_wait_log 'event=call_no_ack' 1
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 1
kvd_stop
kv_pass
