#!/usr/bin/env bash
# test_front_failover - a replica killed behind the front door (issue #10):
# the front, 3 replicas and Redis; phones only talk to the front.  Calls
# to the echo extension are set up until each replica holds at least one.
# Then a steady load for a few seconds (3 pairs of phones, each on its own
# address: REGISTER both, a call from one to the other, BYE, again), and
# r1 is killed with SIGKILL in the middle of it.  Once the front has seen
# r1 fail its OPTIONS probe (event=replica_down in its log), no
# registration and no new call may fail; the long calls on r2 and r3 go
# on (BYE answered 200), those on r1 are lost.  The counts and the delay
# before replica_down are printed, not asserted (no timing assertion).
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003 1004 1005 1006 1007
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 3
kv_front_start

KV_TMP=$KV_TMP R1_PID=$KV_RPID_1 KV_FRONT_LOG=$KV_FRONT_LOG KV_PORT_R=$KV_PORT \
	kv_cluster_python <<'PY' || kv_fail "load through the front while r1 is killed"
import kvsip, os, re, signal, threading, time

r1, r2, r3 = kvsip.replica_addrs()
r1_uri = "sip:%s:%s" % (r1, os.environ["KV_PORT_R"])
log = os.environ["KV_FRONT_LOG"]

# Long calls to the echo extension, until every replica holds one (each
# call is placed on a replica by the hash of its Call-ID).
holder = kvsip.FrontPhone("1007", local="127.0.1.7")
holder.sign_in(300)
long_calls = []
for _ in range(40):
    call = kvsip.OutCall(holder, "600", kvsip.sdp_offer(kvsip.Rtp().port))
    call.connect("echo call")
    long_calls.append((call, kvsip.replica_of(call)))
    if {r for _, r in long_calls} == {r1, r2, r3}:
        break
held = {r: sum(1 for _, x in long_calls if x == r) for r in (r1, r2, r3)}
assert all(held.values()), "40 echo calls did not cover every replica: %r" % held
print("long calls: %s" % ", ".join("%s x%d" % kv for kv in sorted(held.items())))

results = []          # (kind, start, ok, detail)
lock = threading.Lock()
stop = threading.Event()


def record(kind, start, ok, detail=""):
    with lock:
        results.append((kind, start, ok, detail))


def worker(n):
    caller = kvsip.FrontPhone("100%d" % n, local="127.0.1.%d" % n)
    callee = kvsip.FrontPhone("100%d" % (n + 3), local="127.0.1.%d" % (n + 3))
    while not stop.is_set():
        for p in (caller, callee):
            t = time.monotonic()
            try:
                _, final = p.register(p.user, p.password,
                                      contact="<%s>" % p.uri, expires=60)
                ok = final is not None and final.status == 200
                record("register", t, ok, final.start if final else "no answer")
            except Exception as e:   # a broken socket, a parse error
                record("register", t, False, repr(e))
        t = time.monotonic()
        a, b = kvsip.Rtp(), kvsip.Rtp()
        try:
            call, inc = kvsip.call_up(caller, callee, a, b)
            kvsip.hang_up(call, inc)
            record("call", t, True)
        except AssertionError as e:
            record("call", t, False, str(e).splitlines()[0])
            # What is left of a failed call must not be read as the next.
            caller.inbox.clear()
            callee.inbox.clear()
        finally:
            a.close()
            b.close()
        time.sleep(0.3)


threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 2, 3)]
for t in threads:
    t.start()
time.sleep(2.0)
t_kill = time.monotonic()
os.kill(int(os.environ["R1_PID"]), signal.SIGKILL)
# The front's verdict on r1 (bounded wait).
t_down = None
while time.monotonic() - t_kill < 15:
    if re.search(r"event=replica_down uri=%s\b" % re.escape(r1_uri), open(log).read()):
        t_down = time.monotonic()
        break
    time.sleep(0.05)
# Load goes on after it, then stops.
if t_down is not None:
    time.sleep(4.0)
stop.set()
for t in threads:
    t.join(60)
assert t_down is not None, "the front never logged replica_down for %s" % r1_uri

def count(kind, since=None, until=None, ok=None):
    return sum(1 for k, t, o, _ in results if k == kind and
               (since is None or t >= since) and (until is None or t < until) and
               (ok is None or o == ok))

for kind in ("register", "call"):
    print("%ss: %d before the kill (%d failed), %d between the kill and replica_down "
          "(%d failed), %d after (%d failed)" % (
              kind, count(kind, until=t_kill), count(kind, until=t_kill, ok=False),
              count(kind, t_kill, t_down), count(kind, t_kill, t_down, ok=False),
              count(kind, t_down), count(kind, t_down, ok=False)))
print("replica_down logged %.1f s after the kill" % (t_down - t_kill))
failed_after = [(k, d) for k, t, o, d in results if t >= t_down and not o]
assert not failed_after, "failed after replica_down: %r" % failed_after[:5]
assert count("register", t_down) > 0 and count("call", t_down) > 0, \
    "no load after replica_down"
assert count("register", until=t_kill, ok=False) == 0 and \
    count("call", until=t_kill, ok=False) == 0, "failures before the kill"

# The long calls: those on r2 and r3 go on, those on r1 are gone.
lost = kept = 0
for call, r in long_calls:
    cseq = call.in_dialog("BYE")
    resp = holder.wait(lambda m: isinstance(m, kvsip.Response) and call.is_mine(m)
                       and m.cseq == (cseq, "BYE") and m.status >= 200, 10.0)
    if r == r1:
        assert resp is None or resp.status != 200, "BYE of a call on the dead r1: %s" % resp.start
        lost += 1
    else:
        assert resp is not None and resp.status == 200, \
            "BYE of a call on %s: %s" % (r, resp and resp.start)
        kept += 1
print("long calls: %d on r1 lost, %d on r2/r3 ended normally" % (lost, kept))
PY
kv_ok "r1 killed under load: 0 failures after the front's probe, only r1's calls lost"

kv_replica_stop 1 KILL
kv_front_stop
kv_cluster_stop
kv_pass
