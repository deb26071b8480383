#!/usr/bin/env bash
# test_front_guard - bad input stops at the front door (issue #10), before
# any replica:
#   - malformed requests (CSeq, Content-Length, Expires, Request-URI,
#     Proxy-Require) are answered 400/420 by the front itself (its Server
#     header) and logged event=malformed;
#   - the front is no open relay: a phone's in-dialog request toward an
#     address that is no replica gets 403, and so does a new request from
#     a replica's address without the Path route to a phone;
#   - failed logins are counted per phone address at the front (the
#     replicas see the front, which their ban_exempt lists): with
#     FRONT_BAN_FAILURES=3, the third wrong password bans the address, whose
#     next REGISTER, right password or not, gets 403 from the front, while
#     another phone registers;
#   - a flood from one address (FRONT_PIKE_DENSITY=20: 20 requests per 2 s)
#     is cut by pike (PIKE - BLOCKing in the front's log, most requests
#     unanswered) while a phone on another address registers.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 2
FRONT_PIKE_DENSITY=20 FRONT_BAN_FAILURES=3 kv_front_start

kv_cluster_python <<'PY' || kv_fail "malformed requests"
import kvsip
host, port = kvsip.front_addr()
c = kvsip.Client(port, host=host, local="127.0.1.9")
ruri = "sip:1002@%s:%d" % (host, port)
cases = [
    ("CSeq", 400, dict(omit=("CSeq",), headers=[("CSeq", "abc OPTIONS")])),
    ("Content-Length", 400, dict(omit=("Content-Length",), headers=[("Content-Length", "40")])),
    ("Expires", 400, dict(headers=[("Expires", "soon")])),
    ("Request-URI", 400, dict(ruri="sip:1002@%s:99999" % host)),
    ("Proxy-Require", 420, dict(headers=[("Proxy-Require", "kubevox-no-such-thing")])),
]
for what, status, kw in cases:
    kw = dict(kw)
    c.send(c.build("OPTIONS", to_user="1002", ruri=kw.pop("ruri", ruri), **kw))
    r = c.recv(5.0)
    assert r is not None, "bad %s: no answer" % what
    r = kvsip.Response(r)
    assert r.status == status, "bad %s: %s" % (what, r.start)
    assert "KubeVox front" in (r.get("server") or ""), "bad %s answered by %r" % (what, r.get("server"))
    print("bad %s: %s, from the front" % (what, r.start))
PY
kv_front_wait_log 'event=malformed' 5
kv_ok "malformed requests answered by the front and logged"

kv_cluster_python <<'PY' || kv_fail "open relay"
import kvsip
host, port = kvsip.front_addr()
r1, r2 = kvsip.replica_addrs()
# A phone's in-dialog BYE (To tag) through the front to somewhere else.
p = kvsip.FrontPhone("1001", local="127.0.1.1")
bye = p.build_request("BYE", "sip:victim@192.0.2.1:5060", "<sip:1001@x>;tag=a",
                      "<sip:victim@192.0.2.1>;tag=b", "relay-1", 1,
                      route=["<sip:%s:%d;lr>" % (host, port)])
p.send(bye)
r = kvsip.response_to(p, "relay-1", 1, "BYE", "in-dialog BYE to elsewhere")
assert r.status == 403, r.start
print("in-dialog request from a phone to a non-replica: %s" % r.start)
# A new INVITE from a replica's address with no Path route.
c = kvsip.Client(port, host=host, local=r1)
r = c.transact(c.build("INVITE", to_user="1002", ruri="sip:1002@192.0.2.1:5060"))
assert r is not None and r.status == 403, r and r.start
print("new request from a replica without a Path route: %s" % r.start)
PY
kv_ok "the front relays only between phones and replicas"

kv_cluster_python <<'PY' || kv_fail "failed logins"
import kvsip
guesser = kvsip.FrontPhone("1002", local="127.0.1.20", password="wrong")
for i in range(3):
    _, final = guesser.register("1002", "wrong%d" % i)
    assert final is not None and final.status == 401, "guess %d: %s" % (i, final and final.start)
_, final = guesser.register("1002", "secret1002")
assert final is not None and final.status == 403, final and final.start
assert "KubeVox front" in (final.get("server") or ""), final.get("server")
print("3 wrong passwords from 127.0.1.20: then %s from the front" % final.start)
p = kvsip.FrontPhone("1002", local="127.0.1.21")
p.sign_in()
print("another address registers 1002: 200")
PY
kv_front_wait_log 'event=banned src=127\.0\.1\.20'
kv_ok "failed logins ban the phone's address at the front"

kv_cluster_python <<'PY' || kv_fail "flood"
import kvsip, time
host, port = kvsip.front_addr()
flood = kvsip.Client(port, host=host, local="127.0.0.50")
flood.sock.setblocking(False)
sent = answered = 0
for burst in range(20):
    for i in range(50):
        flood.send(flood.build("OPTIONS", ruri="sip:%s:%d" % (host, port),
                               call_id="flood-%d-%d" % (burst, i)))
        sent += 1
    # Read the answers between bursts: none is lost to a full buffer.
    end = time.monotonic() + 0.05
    while time.monotonic() < end:
        try:
            flood.sock.recvfrom(65535)
            answered += 1
            end = time.monotonic() + 0.05
        except BlockingIOError:
            time.sleep(0.005)
print("flood from 127.0.0.50: %d sent, %d answered" % (sent, answered))
assert answered < sent // 2, "pike let %d of %d through" % (answered, sent)
# Another address is served meanwhile.
p = kvsip.FrontPhone("1001", local="127.0.1.1")
p.sign_in()
print("REGISTER from 127.0.1.1: 200")
PY
kv_front_wait_log 'PIKE - BLOCKing ip 127\.0\.0\.50'
kv_ok "a flood from one address is cut by pike, other phones are served"

kv_front_stop
kv_cluster_stop
kv_pass
