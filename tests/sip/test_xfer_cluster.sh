#!/usr/bin/env bash
# test_xfer_cluster - a blind transfer to a phone on another replica: 1001
# and 1002 are registered on r2 and talk through it; 1003 is registered on
# r1.  1002 REFERs 1001 to 1003: r2 dials 1003 as any Dial() does, through
# r1 which holds 1003's flow (Via and Record-Route of r1), NOTIFY 100 then
# 200 reach 1002, which gets its BYE, and 1001 <-> 1003 talk, media
# anchored on r2; 1003's BYE comes back through r1 and ends the call.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
kv_cluster_start 2

kv_cluster_python <<'PY' || kv_fail "blind transfer across replicas"
import kvsip
r1, r2 = kvsip.replica_addrs()
port = kvsip.kv_port()

p3 = kvsip.Phone(port, "1003", host=r1)
p3.sign_in()
p1 = kvsip.Phone(port, "1001", host=r2)
p2 = kvsip.Phone(port, "1002", host=r2)
p2.sign_in()
a, b, c = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
p1.media.append(a)
p2.media.append(b)
p3.media.append(c)

call = kvsip.OutCall(p1, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = p2.expect_invite()
inc.answer(kvsip.sdp_offer(b.port))
call.expect_final(200, "1001 -> 1002 on r2")
call.ack()
inc.expect_ack()

cseq = inc.refer("<sip:1003@%s>" % r2)
assert inc.expect_response(cseq, "REFER", "REFER").status == 202
code, _, _ = inc.expect_refer_notify("first NOTIFY")
assert code == 100, code
inc3 = p3.expect_invite(timeout=10)
vias = inc3.invite.values("via")
rr = inc3.invite.values("record-route")
assert len(vias) >= 2 and r1 in vias[0] and r2 in vias[1], "Vias: %r" % vias
assert rr and r1 in rr[0], "Record-Route: %r" % rr
assert inc3.offer.addr == r2, "media offered to 1003 at %s, not r2" % inc3.offer.addr
inc3.answer(kvsip.sdp_offer(c.port))
inc3.expect_ack()
code, state, _ = inc.expect_refer_notify("final NOTIFY")
assert code == 200 and state.startswith("terminated"), (code, state)
inc.answer_bye()
print("REFER on r2: 1003 rung through r1, NOTIFY 100 then 200, BYE to 1002")

b.take()
kvsip.check_media(a, c, call.answer.media, inc3.offer.media, "xcl", 10)
assert not [p for p, _ in b.take() if p.payload.startswith(b"xcl")], "media to 1002"
print("1001 <-> 1003 through r2, nothing to 1002")

r = inc3.bye()
assert r.status == 200, "1003's BYE: %s" % r.start
call.answer_bye()
print("1003's BYE through r1, and 1001 got its BYE")
PY
kv_ok "blind transfer to a phone on another replica"

kv_cluster_stop
kv_pass
