#!/usr/bin/env bash
# test_front_drain - a replica drained behind the front door (issue #10),
# as in a rolling update: a call to the echo extension is set up on r1
# through the front, then r1 gets SIGTERM.  New calls placed at once are
# all answered (r1 answers 503 with Retry-After and the front tries the
# next replica); once r1's OPTIONS answer is 503 the front logs
# replica_down for it, and no new call reaches it.  The call on r1 goes on
# (its echo comes back), ends with a BYE answered 200, and r1 then exits
# 0 by itself.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 3
kv_front_start

run()
{
	KV_TMP=$KV_TMP R1_PID=$KV_RPID_1 KV_FRONT_LOG=$KV_FRONT_LOG KV_PORT_R=$KV_PORT \
		kv_cluster_python
}

run <<'PY' || kv_fail "drain of r1 behind the front"
import kvsip, os, re, signal, time
r1, r2, r3 = kvsip.replica_addrs()
r1_uri = "sip:%s:%s" % (r1, os.environ["KV_PORT_R"])
log = os.environ["KV_FRONT_LOG"]
phone = kvsip.FrontPhone("1001", local="127.0.1.1")
phone.sign_in(300)

# An echo call on r1 (the Call-ID hash decides; others are hung up).
live = None
for _ in range(40):
    a = kvsip.Rtp()
    phone.media.append(a)
    call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port))
    call.connect("echo call")
    if kvsip.replica_of(call) == r1:
        live = (call, a)
        break
    r = call.bye()
    assert r.status == 200, r.start
assert live, "40 echo calls and none on r1"
call, a = live
kvsip.send_stream(a, call.answer.media, "before", 10)
kvsip.expect_stream(a, "before", 10, 0, call.answer.media)
print("echo call on r1 through the front")

os.kill(int(os.environ["R1_PID"]), signal.SIGTERM)


def new_call(what):
    """One echo call through the front, hung up: its replica."""
    b = kvsip.Rtp()
    phone.media.append(b)
    c = kvsip.OutCall(phone, "600", kvsip.sdp_offer(b.port))
    c.connect(what)
    where = kvsip.replica_of(c)
    r = c.bye()
    assert r.status == 200, "%s: BYE %s" % (what, r.start)
    return where

# Right away: r1 may still get some, and answers 503; the front retries.
early = [new_call("new call right after SIGTERM") for _ in range(6)]
assert r1 not in early, "a new call was taken by the draining r1: %r" % early
t0 = time.monotonic()
while not re.search(r"event=replica_down uri=%s\b.*code=503" % re.escape(r1_uri),
                    open(log).read()):
    assert time.monotonic() - t0 < 15, "no replica_down for %s with code 503" % r1_uri
    phone.idle(0.1)
print("the front took r1 out on its OPTIONS answer 503 (%d calls right after SIGTERM, on %s)"
      % (len(early), ", ".join(sorted(set(early)))))
late = [new_call("new call after replica_down") for _ in range(6)]
assert r1 not in late, late
print("6 new calls after replica_down, on %s" % ", ".join(sorted(set(late))))

# The call on r1 goes on, and ends normally.
kvsip.send_stream(a, call.answer.media, "draining", 10)
kvsip.expect_stream(a, "draining", 10, 0, call.answer.media)
r = call.bye()
assert r.status == 200, "BYE of the call on the draining r1: %s" % r.start
print("the call on r1 went on while it drained, BYE 200")
PY
kv_ok "draining r1: no new call refused, its live call went on"

# r1 ends by itself after its last call.
KVD_LOG=$KV_RLOG_1 kv_wait_log 'event=drain_done .*reason=last_call_ended'
kv_replica_wait_exit 1 10
kv_ok "r1 exited 0 after its last call"
kv_front_stop
kv_cluster_stop
kv_pass
