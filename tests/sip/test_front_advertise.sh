#!/usr/bin/env bash
# test_front_advertise - a front whose phones reach it at another address
# (FRONT_ADVERTISE, as behind a 1:1 NAT or a load balancer; here
# 127.0.0.11:5060, where nothing listens: the phones' sockets are connected
# to the front's real address anyway) and whose replicas reach it at an
# inside socket of its own (FRONT_INSIDE).  The replicas must only ever be
# told the inside address: Path names it, the replicas' side of
# Record-Route names it, and the OPTIONS probes are answered there (no
# replica_down while calls go on for a few seconds); the phones' side of
# Record-Route and the Via toward the phones name the outside one.  UDP and
# TCP phones register and call, hanging up from either side.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 3
inside_port=$(kv_free_port) || kv_fail "no free port for the inside socket"
FRONT_ADVERTISE=127.0.0.11:5060 FRONT_INSIDE=$KV_FRONT_ADDR:$inside_port kv_front_start
kv_front_wait_log "advertised as 127\.0\.0\.11:5060; replicas' side $KV_FRONT_ADDR:$inside_port"

INSIDE=$KV_FRONT_ADDR:$inside_port kv_cluster_python <<'PY' || kv_fail "calls through an advertised front"
import kvsip, os, time
inside = os.environ["INSIDE"]
outside = "127.0.0.11:5060"
host, port = kvsip.front_addr()
caller = kvsip.FrontPhone("1001", local="127.0.1.1")
callee = kvsip.FrontPhone("1002", local="127.0.1.2")
tcp = kvsip.TcpPhone(port, "1002", host=host)
for p in (caller, callee, tcp):
    _, final = p.register(p.user, p.password, contact="<%s>" % p.uri, expires=300)
    assert final is not None and final.status == 200, final and final.start
    assert final.get("path").startswith("<sip:%s;" % inside), final.get("path")
print("Path names the inside socket: %s" % final.get("path"))
# 1002 has two phones: UDP answers one call, TCP the next.
t0 = time.monotonic()
n = 0
while n < 4 or time.monotonic() - t0 < 3.0:
    a, b = kvsip.Rtp(), kvsip.Rtp()
    ringing = callee if n % 2 == 0 else tcp
    other = tcp if ringing is callee else callee
    call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
    call.invite()
    inc = ringing.expect_invite()
    lost = other.expect_invite()     # forked to both: the other one declines
    lost.respond(486)
    lost.expect_ack()
    inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
    call.expect_final(200, "call %d" % n)
    call.ack()
    inc.expect_ack()
    rr = inc.invite.values("record-route")
    assert outside in rr[0] and inside in rr[1], rr
    assert outside in inc.invite.values("via")[0], inc.invite.values("via")
    if n % 2:
        kvsip.hang_up(call, inc)
    else:
        cseq = inc.in_dialog("BYE")
        call.answer_bye()
        r = inc.expect_response(cseq, "BYE", "callee's BYE")
        assert r.status == 200, r.start
    a.close()
    b.close()
    n += 1
    caller.idle(0.3)    # well under pike's 100 requests per 2 s
print("%d calls: Record-Route %s (phones' side), %s (replicas')" % (n, outside, inside))
PY
kv_assert_nomatch 'replica_down' "$(cat "$KV_FRONT_LOG")" "the front's log"
kv_ok "an advertised front: the replicas only see its inside socket, probes answered"
kv_front_stop
kv_cluster_stop
kv_pass
