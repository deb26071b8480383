#!/usr/bin/env bash
# test_mwi_reach - how message waiting reaches phones, and when it looks:
# an unsolicited NOTIFY goes where an INVITE would (through the Path a
# front proxy registered the phone with, Route included; over the TCP
# connection the phone registered on); without pollmailboxes a change of
# the spool is not seen until a reload (SIGHUP) looks again; on SIGTERM
# every subscription ends with reason=deactivated (the phone subscribes
# again elsewhere).
. "$(dirname "$0")/lib.sh"

SPOOL=$KV_TMP/spool
kv_conf_transports
kv_conf_user 1001 endpoint.mailboxes=1001 aor.mailboxes=1001 \
	endpoint.mwi_subscribe_replaces_unsolicited=yes
kv_conf_user 1002 endpoint.mailboxes=1002
kv_conf_user 1003 endpoint.mailboxes=1003
cat > "$KV_CONF/asterisk.conf" <<CONF
[directories]
astspooldir => $SPOOL
CONF
for b in 1001 1002 1003; do
	mkdir -p "$SPOOL/voicemail/default/$b/INBOX"
	touch "$SPOOL/voicemail/default/$b/INBOX/msg0000.txt"
done
kvd_start

kv_python_ops "$SPOOL" <<'PY' || kv_fail "reaching phones"
import sys
import kvsip

spool = sys.argv[1] + "/voicemail/default/"
port = kvsip.kv_port()


def unsolicited(m):
    return isinstance(m, kvsip.Request) and m.method == "NOTIFY" and m.to_tag is None


def answer(client, req):
    """200 to a request a plain Client received."""
    h = ["Via: %s" % v for v in req.get_all("via")]
    h += ["From: " + req.get("from"), "To: %s;tag=%s" % (req.get("to"), kvsip.new_tag()),
          "Call-ID: " + req.call_id, "CSeq: " + req.get("cseq"), "Content-Length: 0"]
    client.send(("SIP/2.0 200 OK\r\n" + "\r\n".join(h) + "\r\n\r\n").encode())


def next_request(client, what):
    raw = client.recv(5.0)
    assert raw is not None, "%s: nothing within 5 s" % what
    req = kvsip.parse_message(raw)
    assert isinstance(req, kvsip.Request) and req.method == "NOTIFY", "%s: %s" % (what, req.start)
    answer(client, req)
    return req


# A front proxy (RFC 3327) registers 1002's phone, which it alone reaches.
front = kvsip.Client(port)
path = "<sip:127.0.0.1:%d;lr>" % front.lport
_, r = front.register("1002", "secret1002", contact="<sip:1002@192.0.2.10:5062>",
                      expires=60, headers=[("Path", path)])
assert r.status == 200, r.start
req = next_request(front, "NOTIFY through the Path")
assert req.start == "NOTIFY sip:1002@192.0.2.10:5062 SIP/2.0", req.start
assert req.get("route") == path, req.get("route")
assert "Voice-Message: 1/0 (0/0)" in req.body.decode(), req.body
print("through the Path: %s, Route %s" % (req.start, req.get("route")))

# A phone on TCP hears it on its connection.
tcp = kvsip.Client(port, tcp=True)
contact = "<sip:1003@127.0.0.1:%d;transport=tcp>" % tcp.lport
_, r = tcp.register("1003", "secret1003", contact=contact, expires=60)
assert r.status == 200, r.start
req = next_request(tcp, "NOTIFY over TCP")
assert "SIP/2.0/TCP" in req.values("via")[0], req.values("via")
print("over TCP: %s" % req.start)

# No pollmailboxes: a change is not looked for ...
alice = kvsip.Phone(port, "1001")
alice.sign_in()
req = alice.expect(unsolicited, "NOTIFY on registration")
alice.respond(req, 200, to_tag=kvsip.new_tag())
open(spool + "1001/INBOX/msg0001.txt", "w").close()
alice.expect_nothing(unsolicited, "a change seen without polling", 2.5)
# ... until a reload looks again.
kvsip.kvd_signal("HUP")
req = alice.expect(unsolicited, "NOTIFY after SIGHUP")
alice.respond(req, 200, to_tag=kvsip.new_tag())
assert "Voice-Message: 2/0 (0/0)" in req.body.decode(), req.body
print("after SIGHUP: %s" % req.body.decode().replace("\r\n", " | "))

# A subscription, then SIGTERM: it ends, deactivated.
ruri = "sip:1001@127.0.0.1:%d" % port
local = "<sip:1001@127.0.0.1>;tag=%s" % kvsip.new_tag()
cid = "mwi-drain-%s" % kvsip.new_tag()
hdrs = [("Event", "message-summary"), ("Expires", "600")]
alice.send(alice.build_request("SUBSCRIBE", ruri, local, "<%s>" % ruri, cid, 1,
                               headers=hdrs, contact=True))
r = alice.expect(lambda m: isinstance(m, kvsip.Response) and m.call_id == cid, "401")
auth = kvsip.authorization(kvsip.pick_challenge(r, "MD5"), "1001", alice.password,
                           "SUBSCRIBE", ruri)
alice.send(alice.build_request("SUBSCRIBE", ruri, local, "<%s>" % ruri, cid, 2,
                               headers=hdrs + [("Authorization", auth)], contact=True))
r = alice.expect(lambda m: isinstance(m, kvsip.Response) and m.call_id == cid and
                 m.cseq[0] == 2, "200")
assert r.status == 200, r.start
req = alice.expect(lambda m: isinstance(m, kvsip.Request) and m.call_id == cid, "NOTIFY")
alice.respond(req, 200)
assert req.get("subscription-state").startswith("active"), req.get("subscription-state")
kvsip.kvd_signal("TERM")
req = alice.expect(lambda m: isinstance(m, kvsip.Request) and m.call_id == cid, "last NOTIFY")
alice.respond(req, 200)
assert req.get("subscription-state") == "terminated;reason=deactivated", \
    req.get("subscription-state")
print("SIGTERM: %s" % req.get("subscription-state"))
PY
kv_ok "Path, TCP, reload without polling, drain"
kvd_wait_exit 10 "drained"
kv_pass
