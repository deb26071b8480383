#!/usr/bin/env bash
# test_cluster_register - three replicas, one Redis (issue #9 items 1, 2):
# a binding made on one replica is listed by the others, and is gone from
# all of them once removed; a nonce issued by replica 1 is accepted by
# replica 2, with a higher nc too; the same nonce and nc sent again to
# replica 3 is refused as a replay; an expired contact is logged once in
# the cluster, by one replica.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_cluster_start 3

kv_cluster_python <<'PY' || kv_fail "bindings and nonces across replicas"
import kvsip
r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()

phone = kvsip.Phone(port, "1002", host=r1)
phone.sign_in(expires=60)
for addr in (r2, r3):
    seen = kvsip.bindings(kvsip.Client(port, host=addr), "1002")
    assert any(phone.uri in c for c in seen), "%s lists %r, not %s" % (addr, seen, phone.uri)
print("binding made on r1 listed by r2 and r3")

# A challenge from r1, answered to r2 (the digest uri is r2's Request-URI).
c1, c2, c3 = (kvsip.Client(port, host=a) for a in (r1, r2, r3))
first = c1.transact(c1.build("REGISTER", user="1001", call_id="n-1"))
assert first.status == 401, first.start
chal = kvsip.pick_challenge(first, "MD5")
auth = kvsip.authorization(chal, "1001", "secret1001", "REGISTER", c2.ruri, nc=1,
                           cnonce="c0ffee")
r = c2.transact(c2.build("REGISTER", user="1001", call_id="n-1", cseq=2,
                         headers=[("Authorization", auth)]))
assert r.status == 200, "r1's nonce at r2: %s" % r.start
auth = kvsip.authorization(chal, "1001", "secret1001", "REGISTER", c2.ruri, nc=2,
                           cnonce="c0ffee")
r = c2.transact(c2.build("REGISTER", user="1001", call_id="n-1", cseq=3,
                         headers=[("Authorization", auth)]))
assert r.status == 200, "a higher nc at r2: %s" % r.start
print("r1's nonce accepted by r2, nc 1 then 2")
# The same nonce and nc 2 again, at r3: a replay.
auth = kvsip.authorization(chal, "1001", "secret1001", "REGISTER", c3.ruri, nc=2,
                           cnonce="c0ffee")
r = c3.transact(c3.build("REGISTER", user="1001", call_id="n-1", cseq=4,
                         headers=[("Authorization", auth)]))
assert r.status == 401, "replayed nc at r3: %s" % r.start
print("nc 2 replayed at r3: 401")

# Removed on r2, gone everywhere.
_, final = kvsip.Client(port, host=r2).register("1002", "secret1002",
                                                  contact="<%s>" % phone.uri, expires=0)
assert final.status == 200, final.start
for addr in (r1, r2, r3):
    seen = kvsip.bindings(kvsip.Client(port, host=addr), "1002")
    assert not any(phone.uri in c for c in seen), "%s still lists %r" % (addr, seen)
print("removed on r2: gone from r1, r2 and r3")

# A short binding on r3 that nobody refreshes.
short = kvsip.Phone(port, "1002", host=r3)
_, final = short.register("1002", "secret1002", contact="<%s>" % short.uri, expires=2)
assert final.status == 200, final.start
PY
kv_ok "a binding made on one replica is everybody's; nonces and replays are cluster-wide"

# The 2 s binding expires once, logged by one replica only.
for _ in $(seq 1 80); do
	n=$(cat "$KV_RLOG_1" "$KV_RLOG_2" "$KV_RLOG_3" | grep -c 'event=contact_expired')
	[ "$n" -ge 1 ] && break
	sleep 0.1
done
sleep 2
n=$(cat "$KV_RLOG_1" "$KV_RLOG_2" "$KV_RLOG_3" | grep -c 'event=contact_expired aor=1002')
kv_assert_eq 1 "$n" "contact_expired lines in the three logs"
kv_ok "an expired contact is logged once in the cluster"

kv_cluster_stop
kv_pass
