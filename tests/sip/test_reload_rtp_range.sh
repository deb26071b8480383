#!/usr/bin/env bash
# test_reload_rtp_range - rtp.conf's port range changed while a call is
# up: the reload is applied (result=ok); a new call gets its media ports
# (in KubeVox's SDP to both phones) from the new range, while the call in
# progress keeps its ports and relays RTP both ways until it ends normally.
# A call after that one ended is still given ports of the new range.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002 1003 1004
# The new range: 100 ports 200 above the first, in this test's slot.
stage=$KV_TMP/stage
mkdir -p "$stage"
KV_CONF=$stage kv_conf_rtp_ops 100 200
new_start=$KV_RTP_START new_end=$KV_RTP_END
kv_conf_rtp_ops 100 0
kvd_start

NEW_RTP=$stage/rtp.conf NEW_START=$new_start NEW_END=$new_end \
	kv_python_ops <<'PY' || kv_fail "RTP range changed during a call"
import os
import kvsip

old_lo, old_hi = int(os.environ["KV_RTP_START"]), int(os.environ["KV_RTP_END"])
new_lo, new_hi = int(os.environ["NEW_START"]), int(os.environ["NEW_END"])

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
live = (call.answer.port, inc.offer.port)
for p in live:
    assert old_lo <= p <= old_hi, "first call: port %d outside %d-%d" % (p, old_lo, old_hi)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before")
phones = (caller, callee)

kvsip.conf_replace("rtp.conf", open(os.environ["NEW_RTP"]).read())
line = kvsip.kvd_wait_log(r"event=config_reload result=ok", "config_reload", phones=phones)
print("rtp.conf %d-%d -> %d-%d: %s" % (old_lo, old_hi, new_lo, new_hi, line))

caller2 = kvsip.Phone(kvsip.kv_port(), "1003")
callee2 = kvsip.Phone(kvsip.kv_port(), "1004")
callee2.sign_in()
c, d = kvsip.Rtp(), kvsip.Rtp()
caller2.media.append(c)
callee2.media.append(d)
call2, inc2 = kvsip.call_up(caller2, callee2, c, d)
for what, p in (("answer to the caller", call2.answer.port),
                ("offer to the callee", inc2.offer.port)):
    assert new_lo <= p <= new_hi, "new call, %s: port %d outside the new range %d-%d" % (
        what, p, new_lo, new_hi)
kvsip.check_media(c, d, call2.answer.media, inc2.offer.media, "new")
print("new call: KubeVox's ports %d and %d, in the new range" % (
    call2.answer.port, inc2.offer.port))

# The first call: same ports (its phones still send where they did), RTP
# both ways, then a normal end.
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after", n=25)
print("first call: still on %d and %d, RTP both ways" % live)
for out, incoming in ((call, inc), (call2, inc2)):
    cseq = out.in_dialog("BYE")
    incoming.answer_bye()
    r = out.expect_response(cseq, "BYE", "answer to BYE")
    assert r.status == 200, r.start
print("both calls ended with BYE 200")

# The first call's ports went back to the pool; they are not handed out
# again, being outside the range.
call3, inc3 = kvsip.call_up(caller, callee, a, b)
for p in (call3.answer.port, inc3.offer.port):
    assert new_lo <= p <= new_hi, "third call: port %d outside the new range %d-%d" % (
        p, new_lo, new_hi)
kvsip.check_media(a, b, call3.answer.media, inc3.offer.media, "third")
cseq = call3.in_dialog("BYE")
inc3.answer_bye()
assert call3.expect_response(cseq, "BYE", "answer to BYE").status == 200
print("third call, after the first ended: ports %d and %d" % (call3.answer.port, inc3.offer.port))
PY
kv_ok "new range for new calls, the live call kept its ports"

log=$(cat "$KVD_LOG")
kv_assert_nomatch 'rtp_range_not_applied|result=failed' "$log" "range applied"
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 3
kvd_stop
kv_pass
