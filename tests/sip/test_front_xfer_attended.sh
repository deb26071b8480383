#!/usr/bin/env bash
# test_front_xfer_attended - issue #12's case behind the front door
# (k8s/front): the front spreads calls over 2 replicas by Call-ID, so
# 1001's call to 1002 (X) and its call to 1003 (Y) are placed until they
# are taken by different replicas.  1001 REFERs on X with Replaces naming
# Y: the replica with X asks the other (a signed INVITE with Replaces),
# which has Y.  Every message of the phones goes through the front:
# 202, NOTIFY 100 then 200, a BYE on each of 1001's dialogs, and
# 1002 <-> 1003 talk, nothing to 1001; 1002's BYE reaches 1003.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 2
kv_front_start

kv_cluster_python <<'PY' || kv_fail "attended transfer behind the front, calls on two replicas"

import kvsip

PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))
p1 = kvsip.FrontPhone("1001", local="127.0.1.1")
p2 = kvsip.FrontPhone("1002", local="127.0.1.2")
p3 = kvsip.FrontPhone("1003", local="127.0.1.3")
for p in (p1, p2, p3):
    p.sign_in(300)
a_x, a_y, b, c = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
p1.media.extend((a_x, a_y))
p2.media.append(b)
p3.media.append(c)


def call(callee_phone, ra, rb):
    return kvsip.place_call(p1, ra, callee_phone, rb, PCMU)


talk = kvsip.talk_joined


x, xi = call(p2, a_x, b)
for i in range(30):
    y, yi = call(p3, a_y, c)
    if kvsip.replica_of(y) != kvsip.replica_of(x):
        break
    kvsip.hang_up(y, yi)
else:
    raise AssertionError("30 calls to 1003 all on X's replica %s" % kvsip.replica_of(x))
print("X on %s, Y on %s (after %d tries)" % (kvsip.replica_of(x), kvsip.replica_of(y), i + 1))

kvsip.refer_replaces(x, "1003", p1.server[0], y.replaces(), 200)
x.answer_bye()
y.answer_bye()
talk(b, xi.offer.media, c, yi.offer.media, "fxatt", [a_x, a_y])
print("REFER on X naming Y: NOTIFY 100/200, BYE on both, 1002 <-> 1003")
r = xi.bye()
assert r.status == 200, "1002's BYE: %s" % r.start
yi.answer_bye()
print("1002's BYE ends the chain to 1003")
PY
kv_ok "attended transfer behind the front, the two calls on different replicas"
n=$(cat "$KV_RLOG_1" "$KV_RLOG_2" | grep -c 'event=xfer_cross ')
m=$(cat "$KV_RLOG_1" "$KV_RLOG_2" | grep -c 'event=call_replica_replaces ')
[ "$n" = 1 ] && [ "$m" = 1 ] || kv_fail "$n transfers across replicas, $m signed INVITEs, expected 1 and 1"
kv_ok "one replica asked the other with a signed INVITE with Replaces"

kv_front_stop
kv_cluster_stop
kv_pass
