#!/usr/bin/env bash
# test_cluster_failover - losing a replica loses nothing (issue #9 item 5):
# 1002 registers on r1; r1 is killed with SIGKILL and started again (same
# name, same address): a call from r2 reaches 1002 through r1 without any
# re-registration.  Then r1 is killed for good: once its heartbeat is older
# than 3 s, a call to 1002 goes straight to the phone's registered address
# from r2; a phone that does not answer there makes the caller get 480
# after 5 s without any answer (the leg's no-response timer), not after
# timer B's 32 s, never a hang.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_cluster_start 3

KV_TMP=$KV_TMP kv_cluster_python <<'PY' || kv_fail "registration on r1"
import kvsip, json, os
r1, r2, r3 = kvsip.replica_addrs()
callee = kvsip.Phone(kvsip.kv_port(), "1002", host=r1, lport=0)
callee.sign_in(expires=300)
open(os.environ["KV_TMP"] + "/callee.port", "w").write(str(callee.lport))
PY
callee_port=$(cat "$KV_TMP/callee.port")

kv_replica_stop 1 KILL
kv_replica_start 1
kv_ok "r1 killed with SIGKILL and started again"

KV_TMP=$KV_TMP CALLEE_PORT=$callee_port kv_cluster_python <<'PY' || kv_fail "call to a phone of a restarted replica"
import kvsip, os, time
r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()
# The same phone (same address and port), which never registered again.
callee = kvsip.Phone(port, "1002", host=r1, lport=int(os.environ["CALLEE_PORT"]))
caller = kvsip.Phone(port, "1001", host=r2)
a, b = kvsip.Rtp(), kvsip.Rtp()
call, inc = kvsip.call_up(caller, callee, a, b)
assert r1 in inc.invite.values("via")[0], inc.invite.values("via")
kvsip.hang_up(call, inc)
print("after r1's restart, 1002 was reached through r1, no re-registration")
PY
kv_ok "a restarted replica serves its phones without re-registration"

kv_replica_stop 1 KILL
sleep 3.5
KV_TMP=$KV_TMP CALLEE_PORT=$callee_port kv_cluster_python <<'PY' || kv_fail "call to a phone of a dead replica"
import kvsip, os, time
r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()
# The phone answers where the INVITE came from (its Via), as phones do:
# this test phone sends to its "server", so that is r2 here.
callee = kvsip.Phone(port, "1002", host=r2, lport=int(os.environ["CALLEE_PORT"]))
caller = kvsip.Phone(port, "1001", host=r2)
a = kvsip.Rtp()
# First: the phone is there and answers the INVITE sent straight to it.
call, inc = kvsip.call_up(caller, callee, a, kvsip.Rtp())
assert r2 in inc.invite.values("via")[0], "straight from r2: %r" % inc.invite.values("via")
kvsip.hang_up(call, inc)
print("r1 dead: the INVITE went straight from r2 to the phone's address")
# Then: the phone is gone too.
callee.close()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
t0 = time.monotonic()
call.invite()
# Well before timer B (32 s) would have ended it.
_, final = call.final(timeout=20.0)
assert final is not None and final.status == 480, final and final.start
print("nothing at the phone's address: 480 after %.1fs" % (time.monotonic() - t0))
PY
# r2 ended the leg on its 5 s no-response timer, not on timer B
KVD_LOG=$KV_RLOG_2 kv_wait_log 'event=dial_no_response.*after_ms=5000' 1
kv_ok "a phone of a dead replica is tried directly, and ends 480 in time"
kv_cluster_stop
kv_pass
