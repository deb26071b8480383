#!/usr/bin/env bash
# test_trunk_call_proxy - outbound_proxy (issue #11 item 2): the endpoint's
# INVITEs go to the proxy (a Python stand-in on its own port) with the
# proxy in a Route header, loose routing (RFC 3261 §16.12: ;lr added when
# the URI lacks it, as every provider's proxy is a loose router); the
# Request-URI stays the aor's contact with the dialled number, whose host
# (a name no server knows) is never looked up.  The endpoint has a
# transport of its own (a second UDP listener): the INVITE, the ACK and
# the BYE leave from that socket.  The proxy's side checks the INVITE,
# answers 200 and gets the ACK and the BYE.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
proxy=$(kv_free_port)
trunk_port=$(kv_free_port)
cat >> "$KV_CONF/pjsip.conf" <<CONF

[transport-trunk]
type=transport
protocol=udp
bind=127.0.0.1:$trunk_port

[itsp]
type=aor
contact=sip:sbc.itsp.invalid:5080

[itsp]
type=endpoint
context=from-itsp
aors=itsp
outbound_proxy=sip:127.0.0.1:$proxy
transport=transport-trunk
disallow=all
allow=ulaw
CONF
cat > "$KV_CONF/extensions.conf" <<'CONF'
[from-internal]
exten => _9.,1,Dial(PJSIP/${EXTEN:1}@itsp,20)
 same => n,Hangup()
CONF
kvd_start

PROXY=$proxy TRUNK_PORT=$trunk_port kv_python_call <<'PY' || kv_fail "a call through the outbound proxy"
import os
import kvsip



class SourceLog:
    """The proxy's socket, remembering where each datagram came from."""

    def __init__(self, sock):
        self.sock = sock
        self.sources = []

    def recvfrom(self, n):
        data, src = self.sock.recvfrom(n)
        self.sources.append(src)
        return data, src

    def __getattr__(self, name):
        return getattr(self.sock, name)


kv = kvsip.kv_port()
port = int(os.environ["PROXY"])
trunk = ("127.0.0.1", int(os.environ["TRUNK_PORT"]))
caller = kvsip.Phone(kv, "1001")
proxy = kvsip.Phone(kv, "proxy", password="", lport=port)
proxy.sock = SourceLog(proxy.sock)
a, p = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
proxy.media.append(p)

call = kvsip.OutCall(caller, "9333", kvsip.sdp_offer(a.port))
call.invite()
inc = proxy.expect_invite(timeout=10)
inv = inc.invite
assert inv.uri == "sip:333@sbc.itsp.invalid:5080", "Request-URI %s" % inv.uri
assert proxy.sock.sources[-1] == trunk, \
    "INVITE from %r, not the endpoint's transport %r" % (proxy.sock.sources[-1], trunk)
assert ("127.0.0.1:%d;" % trunk[1]) in inv.get_all("via")[0], inv.get_all("via")[0]
assert (":%d" % trunk[1]) in inv.get("contact"), "Contact %s" % inv.get("contact")
routes = inv.values("route")
assert routes == ["<sip:127.0.0.1:%d;lr>" % port], "Route %r" % routes
print("INVITE %s through the proxy, Route %s" % (inv.uri, routes[0]))
inc.answer(kvsip.sdp_offer(p.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "answered behind the proxy")
call.ack()
inc.expect_ack()
kvsip.check_media(a, p, call.answer.media, inc.offer.media, "proxy")
kvsip.hang_up(call, inc)
assert set(proxy.sock.sources) == {trunk}, "from %r" % set(proxy.sock.sources)
print("200, ACK, RTP both ways, BYE, all from the endpoint's transport %s:%d" % trunk)
PY
kv_ok "outbound_proxy: the INVITE to the proxy with a loose Route"

kv_wait_log 'event=call_end'
if grep -q 'event=dial_dns_failed' "$KVD_LOG"; then
	kv_fail "the Request-URI's host was looked up"
fi
kvd_stop
kv_pass
