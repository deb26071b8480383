#!/usr/bin/env bash
# test_front_call - the front door (k8s/front, issue #10) before 3 replicas
# and Redis; the phones only talk to the front (their sockets are connected
# to it: anything from elsewhere is dropped by the kernel), each from an
# address of its own, as pike counts requests per source address.
#   - With only r1 in REPLICAS_FILE: a REGISTER gets Path (the front, with
#     the phone's real source as received); a call 1001 -> 1002 is taken by
#     r1, the callee's INVITE comes from the front (its Via on top, its
#     Record-Route), media flows, BYE.
#   - REPLICAS_FILE rewritten with r1..r3 while the front runs: it reloads
#     without a restart, and new calls spread over more than one replica
#     (Call-ID hash), each callee reached through the front whichever
#     replica calls it, hung up from either side.
#   - Phones behind NAT (Via and Contact claim 10.x addresses): registered
#     and called at their real address (Path received), reached by the
#     replica's in-dialog requests (ACK, BYE) through Contact aliases.
#   - A TCP phone: its Path names its connection, calls reach it on it
#     (the front record-routes twice: TCP side, UDP side).
#   - SIGTERM stops the front and its Kamailio processes.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003 1004
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 3
kv_front_start 1

kv_cluster_python <<'PY' || kv_fail "register and call through the front, r1 only"
import kvsip
r1, r2, r3 = kvsip.replica_addrs()
front = "%s:%d" % kvsip.front_addr()
caller, callee = kvsip.FrontPhone("1001"), kvsip.FrontPhone("1002")
for p in (caller, callee):
    _, final = p.register(p.user, p.password, contact="<%s>" % p.uri, expires=300)
    assert final is not None and final.status == 200, final and final.start
    pr = kvsip.path_received(final)
    assert pr == (front, "%s:%d" % p.real), "Path in the 200: %r" % final.get("path")
print("REGISTER through the front: 200 with Path %s" % final.get("path"))
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
via = inc.invite.values("via")[0]
assert front in via, "top Via of the callee's INVITE: %r" % via
assert any(front in rr for rr in inc.invite.values("record-route")), \
    inc.invite.values("record-route")
assert kvsip.replica_of(call) == r1, call.target
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "front")
kvsip.hang_up(call, inc)
print("call 1001 -> 1002 through the front, taken by r1; callee's INVITE from the front")
PY
kv_ok "register and call through the front (r1 only)"

kv_front_replicas 1 2 3
kv_front_wait_log 'replicas reloaded: 3 '
kv_ok "REPLICAS_FILE rewritten: the front reloaded its list without a restart"

kv_cluster_python <<'PY' || kv_fail "calls spread over the replicas"
import kvsip
r1, r2, r3 = kvsip.replica_addrs()
front = "%s:%d" % kvsip.front_addr()
caller = kvsip.FrontPhone("1001", local="127.0.1.1")
callee = kvsip.FrontPhone("1002", local="127.0.1.2")
caller.sign_in(300)
callee.sign_in(300)
seen = []
for i in range(9):
    a, b = kvsip.Rtp(), kvsip.Rtp()
    call, inc = kvsip.call_up(caller, callee, a, b)
    assert front in inc.invite.values("via")[0], inc.invite.values("via")
    seen.append(kvsip.replica_of(call))
    if i % 2:
        kvsip.hang_up(call, inc)
    else:
        # The callee hangs up: its BYE goes through the front to the replica.
        cseq = inc.in_dialog("BYE")
        call.answer_bye()
        r = inc.expect_response(cseq, "BYE", "answer to the callee's BYE")
        assert r.status == 200, r.start
    a.close()
    b.close()
assert set(seen) <= {r1, r2, r3}, seen
assert len(set(seen)) >= 2, "9 calls, all on %s" % seen[0]
print("9 calls taken by %s" % ", ".join("%s x%d" % (r, seen.count(r)) for r in sorted(set(seen))))
PY
kv_ok "new calls spread over the replicas; BYE from either side"

kv_cluster_python <<'PY' || kv_fail "phones behind NAT"
import kvsip
front = "%s:%d" % kvsip.front_addr()
caller = kvsip.FrontPhone("1003", local="127.0.1.3", nat="10.0.0.99:5060")
callee = kvsip.FrontPhone("1004", local="127.0.1.4", nat="10.0.0.98:5062")
for p in (caller, callee):
    _, final = p.register(p.user, p.password, contact="<%s>" % p.uri, expires=300)
    assert final is not None and final.status == 200, final and final.start
    assert kvsip.path_received(final) == (front, "%s:%d" % p.real), final.get("path")
a, b = kvsip.Rtp(), kvsip.Rtp()
call, inc = kvsip.call_up(caller, callee, a, b)
assert inc.invite.start.split()[1] == callee.uri, inc.invite.start
# The callee hangs up: the replica's BYE to the caller (its Contact says
# 10.0.0.99) reaches it at its real address.
cseq = inc.in_dialog("BYE")
call.answer_bye()
r = inc.expect_response(cseq, "BYE", "answer to the callee's BYE")
assert r.status == 200, r.start
print("NAT: INVITE to %s delivered to %s:%d, ACK and BYE too" % ((callee.uri,) + callee.real))
PY
kv_ok "phones behind NAT: reached at their real address"

kv_cluster_python <<'PY' || kv_fail "a TCP phone"
import kvsip
host, port = kvsip.front_addr()
callee = kvsip.TcpPhone(port, "1004", host=host)
_, final = callee.register("1004", "secret1004", contact="<%s>" % callee.uri, expires=300)
assert final is not None and final.status == 200, final and final.start
assert "transport" in final.get("path"), final.get("path")
caller = kvsip.FrontPhone("1001", local="127.0.1.1")
caller.sign_in(300)
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
for hang_up_from_callee in (True, False):
    call, inc = kvsip.call_up(caller, callee, a, b)
    # Two Record-Route entries: TCP on the phone's side, UDP on the replicas'.
    assert len(inc.invite.values("record-route")) == 2, inc.invite.values("record-route")
    if hang_up_from_callee:
        cseq = inc.in_dialog("BYE")
        call.answer_bye()
        r = inc.expect_response(cseq, "BYE", "answer to the TCP callee's BYE")
        assert r.status == 200, r.start
    else:
        kvsip.hang_up(call, inc)
assert not callee.closed
print("TCP phone: Path %s; called on its connection twice" % final.get("path"))
PY
kv_ok "a TCP phone: registered, called and hung up on its connection to the front"

kv_front_stop
kv_cluster_stop
kv_pass
