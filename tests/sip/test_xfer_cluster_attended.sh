#!/usr/bin/env bash
# test_xfer_cluster_attended - an attended transfer whose two calls are on
# different replicas (the front spreads calls by Call-ID), three replicas:
#  1. 1001 calls 1002 through r1 (X) and 1003 through r3 (Y), then REFERs
#     on X naming Y in Replaces: r1 does not have Y, so it sends an INVITE
#     with that Replaces, signed under the cluster secret, to r2 and r3;
#     r2 answers 481, which does not end the attempt, and r3 replaces 1001
#     in Y.  1001 gets 202, NOTIFY 100 then 200, a BYE on
#     each dialog; 1002 <-> 1003 talk through both relays, nothing to 1001;
#  2. an INVITE with Replaces naming a live dialog, sent to r3 by a
#     phone with a forged signature: 403; without one and without
#     credentials: 401 (the usual digest), and the dialog is untouched;
#  3. a REFER whose Replaces names a dialog on no replica (r2 and r3 answer
#     481): 202, NOTIFY 100 then 503, and X goes on (1001 <-> 1002 talk).
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
kv_cluster_start 3

kv_cluster_python <<'PY' || kv_fail "attended transfer across replicas"

import kvsip

r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

p2 = kvsip.Phone(port, "1002", host=r1)
p3 = kvsip.Phone(port, "1003", host=r3)
p2.sign_in()
p3.sign_in()
p1x = kvsip.Phone(port, "1001", host=r1)     # 1001's calls, one per replica
p1y = kvsip.Phone(port, "1001", host=r3)
a_x, a_y, b, c = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
p1x.media.append(a_x)
p1y.media.append(a_y)
p2.media.append(b)
p3.media.append(c)


def call(phone, callee_phone, callee, ra, rb):
    return kvsip.place_call(phone, ra, callee_phone, rb, PCMU, callee)


talk = kvsip.talk_joined


def refer(d, host, rep, want):
    kvsip.refer_replaces(d, "1003", host, rep, want)


# 2 first, while Y is 1001's: forged and missing signatures on r3
x, xi = call(p1x, p2, "1002", a_x, b)
y, yi = call(p1y, p3, "1003", a_y, c)
intruder = kvsip.Phone(port, "1002", password="", host=r3)
rz = kvsip.Rtp()
forged = kvsip.OutCall(intruder, "1003", kvsip.sdp_offer(rz.port, codecs=PCMU),
                       headers=[("Replaces", y.replaces()),
                                ("X-KubeVox-Replaces-Auth",
                                 "ts=%d;mac=0123456789abcdef" % int(__import__("time").time()))])
forged.invite()
forged.expect_final(403, "INVITE with Replaces, forged signature")
unsigned = kvsip.OutCall(intruder, "1003", kvsip.sdp_offer(rz.port, codecs=PCMU),
                         headers=[("Replaces", y.replaces())])
unsigned.invite()
unsigned.expect_final(401, "INVITE with Replaces, no signature, no credentials")
talk(a_y, y.answer.media, c, yi.offer.media, "kept", [])
print("2: forged signature 403, none 401; 1001 <-> 1003 untouched")

# 1. REFER on X (r1) naming Y (r3)
refer(x, r1, y.replaces(), 200)
x.answer_bye()
y.answer_bye()
talk(b, xi.offer.media, c, yi.offer.media, "xatt", [a_x, a_y])
print("1: REFER on r1 naming r3's dialog: NOTIFY 100/200, BYE on both, 1002 <-> 1003")
xi.bye()
yi.answer_bye()
print("1: 1002's BYE ends the chain to 1003")

# 3. Replaces naming a dialog on no replica
x, xi = call(p1x, p2, "1002", a_x, b)
refer(x, r1, "nosuchcall@x;to-tag=1;from-tag=2", 503)
talk(a_x, x.answer.media, b, xi.offer.media, "xnone", [])
print("3: Replaces on no replica: NOTIFY 503, 1001 <-> 1002 go on")
x.bye()
xi.answer_bye()
PY
kv_ok "attended transfer across replicas; forged or missing signatures refused; unknown dialog 503"

# Both attempts went to r2 and r3; r2 refused both (481), r3 replaced in
# the first and refused the second.
n=$(grep -c 'event=xfer_cross_start .*replicas=2' "$KV_RLOG_1")
[ "$n" = 2 ] || kv_fail "r1 forked $n attempts to both replicas, expected 2"
n=$(grep -c 'event=call_replica_replaces ' "$KV_RLOG_2")
m=$(grep -c 'event=xfer_replaces_refused ' "$KV_RLOG_2")
[ "$n" = 2 ] && [ "$m" = 2 ] || kv_fail "r2: $n signed INVITEs, $m refused, expected 2 and 2"
n=$(grep -c 'event=xfer_replaces ' "$KV_RLOG_3")
m=$(grep -c 'event=xfer_replaces_refused ' "$KV_RLOG_3")
[ "$n" = 1 ] && [ "$m" = 1 ] || kv_fail "r3: $n replaced, $m refused, expected 1 and 1"
kv_ok "r1 asked r2 and r3 each time: r2 answered 481 twice, r3 replaced once"

# Calls started on r1 and r3: their uniqueids carry the replica's name, as
# Asterisk's carry its systemname, so the records of one PBX never collide.
for i in 1 3; do
	log=KV_RLOG_$i
	ids=$(grep -o 'event=call_start uniqueid=[^ ]*' "${!log}" | sed 's/.*uniqueid=//')
	[ -n "$ids" ] || kv_fail "r$i started no call"
	bad=$(printf '%s\n' "$ids" | grep -v "^r$i-[0-9]*\.[0-9]*\$" || true)
	[ -z "$bad" ] || kv_fail "r$i's uniqueids without its name: $bad"
done
dup=$(cat "$KV_RLOG_1" "$KV_RLOG_2" "$KV_RLOG_3" | grep -o 'event=call_start uniqueid=[^ ]*' | sort | uniq -d)
[ -z "$dup" ] || kv_fail "uniqueids used twice in the cluster: $dup"
kv_ok "uniqueids are the replica's name, then Asterisk's epoch.sequence: none repeats across replicas"

kv_cluster_stop
kv_pass
