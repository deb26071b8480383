#!/usr/bin/env bash
# test_cluster_ban - failed authentications are counted by the cluster
# (issue #9 item 3): ban_failures=3 failures spread over three replicas
# ban the source on every replica within a second.  A guesser on
# 127.0.0.9 (no registrations there) tries an unknown user once on each
# replica: the address is banned everywhere.  A phone on 127.0.0.8 with a
# wrong password for 1001, once on each replica: "127.0.0.8 1001" is
# banned everywhere, and 1002 on the same address keeps registering.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_security ban_failures=3 ban_window=60 ban_time=300
kv_cluster_start 3

kv_cluster_python <<'PY' || kv_fail "bans across replicas"
import kvsip, time
r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()

def options(addr, local, user="1002"):
    c = kvsip.Client(port, host=addr, local=local)
    r = c.transact(c.build("OPTIONS", user=user))
    c.close()
    return r.status

def until(what, pred, secs=5.0):
    end = time.monotonic() + secs
    while not pred():
        assert time.monotonic() < end, what
        time.sleep(0.05)

# The guesser: one unknown user per replica.
for addr in (r1, r2, r3):
    c = kvsip.Client(port, host=addr, local="127.0.0.9")
    _, final = c.register("nobody", "guess")
    assert final.status == 401, final.start
    c.close()
t0 = time.monotonic()
for addr in (r1, r2, r3):
    until("127.0.0.9 banned at %s" % addr, lambda: options(addr, "127.0.0.9") == 403)
print("3 guesses over 3 replicas: 127.0.0.9 banned on every replica after %.2fs"
      % (time.monotonic() - t0))
assert options(r1, "127.0.0.1") == 200, "another address is not banned"

# A phone with a stale password, behind an address with another phone.
ok = kvsip.Client(port, host=r1, local="127.0.0.8")
_, final = ok.register("1002", "secret1002", contact="<sip:1002@127.0.0.8:5999>")
assert final.status == 200, final.start
for addr in (r1, r2, r3):
    c = kvsip.Client(port, host=addr, local="127.0.0.8")
    _, final = c.register("1001", "stale-password")
    assert final.status == 401, final.start
    c.close()
for addr in (r1, r2, r3):
    until("127.0.0.8 1001 banned at %s" % addr,
          lambda: options(addr, "127.0.0.8", user="1001") == 403)
    assert options(addr, "127.0.0.8", user="1002") == 200, "1002 cut off at %s" % addr
    c = kvsip.Client(port, host=addr, local="127.0.0.8")
    _, final = c.register("1002", "secret1002", contact="<sip:1002@127.0.0.8:5999>")
    assert final.status == 200, "1002 registering at %s: %s" % (addr, final.start)
    c.close()
print("1001's stale password banned 127.0.0.8 for 1001 on every replica; 1002 there still registers")
PY
kv_ok "ban_failures failures spread over the replicas ban everywhere, per user for known users"
kv_cluster_stop
kv_pass
