#!/usr/bin/env bash
# test_cluster_call - a call between phones registered on different
# replicas (issue #9 item 4): 1001 on r2 calls 1002 registered on r1.  The
# callee's INVITE comes from r1 (the replica that holds its flow), with r1
# in its Record-Route; the call rings, is answered, has media both ways,
# anchored on r2 (the caller's replica, the B2BUA); the callee's BYE goes
# back through r1 and ends the call.  Then an endpoint with contacts on two
# replicas rings both at once, and a phone on a TCP connection to r1 is
# called from r2 on that connection.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_cluster_start 3

kv_cluster_python <<'PY' || kv_fail "call across replicas"
import kvsip
r1, r2, r3 = kvsip.replica_addrs()
port = kvsip.kv_port()

callee = kvsip.Phone(port, "1002", host=r1)
callee.sign_in()
caller = kvsip.Phone(port, "1001", host=r2)
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
rr = inc.invite.values("record-route")
assert rr and r1 in rr[0], "Record-Route of the callee's INVITE: %r" % rr
vias = inc.invite.values("via")
assert len(vias) >= 2 and r1 in vias[0] and r2 in vias[1], "Vias: %r" % vias
assert inc.offer.addr == r2, "media offered to the callee at %s, not r2" % inc.offer.addr
inc.ring()
inc.answer(kvsip.sdp_offer(b.port))
prov, final = call.final()
assert final is not None and final.status == 200, final and final.start
assert 180 in [p.status for p in prov], [p.start for p in prov]
call.ack()
inc.expect_ack()
assert call.answer.addr == r2, "media answered to the caller at %s" % call.answer.addr
print("INVITE to 1002 came through r1 (Via %s, Record-Route %s); media on r2" % (
    vias[0].split(";")[0], rr[0]))

kvsip.check_media(a, b, call.answer.media, inc.offer.media, "cross", 20)
print("RTP: 20 packets each way through r2")

# The callee hangs up: its BYE follows the Record-Route through r1 to r2.
r = inc.bye()
assert r.status == 200, "callee's BYE: %s" % r.start
bye = call.expect_request("BYE", "BYE to the caller")
caller.respond(bye, 200)
print("callee's BYE through r1: 200, and the caller got its BYE")

# Parallel ringing across replicas: 1002 registered on r1 and on r3.
other = kvsip.Phone(port, "1002", host=r3)
other.sign_in()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
in1 = callee.expect_invite()
in3 = other.expect_invite()
assert r3 in in3.invite.values("via")[0], in3.invite.values("via")
in3.ring()
in1.ring()
in3.answer(kvsip.sdp_offer(b.port))
_, final = call.final()
assert final.status == 200, final.start
call.ack()
in3.expect_ack()
in1.expect_cancel()
kvsip.hang_up(call, in3)
print("1002 on r1 and r3 rang together; r3 answered, r1 got CANCEL")
other.close()
callee.close()

# A phone on a TCP connection to r1 (behind NAT, nothing listens at its
# address): r2's call reaches it on that connection, through r1.
tcp = kvsip.TcpPhone(port, "1002", host=r1)
tcp.sign_in()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = tcp.expect_invite()
assert r1 in inc.invite.values("via")[0], inc.invite.values("via")
inc.answer(kvsip.sdp_offer(b.port))
_, final = call.final()
assert final.status == 200, "TCP phone: %s" % final.start
call.ack()
inc.expect_ack()
r = inc.bye()
assert r.status == 200, "TCP phone's BYE: %s" % r.start
bye = call.expect_request("BYE", "BYE to the caller")
caller.respond(bye, 200)
print("1002 on a TCP connection to r1: called from r2 on that connection, BYE back")
PY
kv_ok "calls reach phones through the replica that holds their flow"

KVD_LOG=$KV_RLOG_2 kv_wait_log 'event=call_start' 2
n=$(cat "$KV_RLOG_1" "$KV_RLOG_3" | grep -c 'event=call_start')
kv_assert_eq 0 "$n" "calls started on r1 and r3 (they only passed requests on)"
kv_cluster_stop
kv_pass
