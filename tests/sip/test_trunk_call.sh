#!/usr/bin/env bash
# test_trunk_call - issue #11 item 2: phone 1001 dials 0 + a national
# number; the dialplan sets the caller ID and dials
# PJSIP/${EXTEN:1}@itsp, an endpoint whose aor has a static contact (the
# provider stand-in, a Python UAS on its own port) and outbound_auth.
# The provider's side of each message is checked:
#   - the INVITE goes to sip:NUMBER@<contact host:port>, leaves from
#     KubeVox's listening socket (source port = Via port = the SIP port),
#     From is from_user@from_domain, PAI and RPID carry the caller ID set
#     by the dialplan;
#   - 407: KubeVox ACKs it and sends the INVITE again with
#     Proxy-Authorization (a correct digest for the Request-URI), CSeq + 1,
#     the same Call-ID and From tag;
#   - 183 with SDP: the provider's RTP (its "ringback") reaches the
#     caller before any 200;
#   - 200: the ACK, RTP both ways, BYE from the caller reaches the
#     provider.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
prov_port=$(kv_free_port)
cat >> "$KV_CONF/pjsip.conf" <<CONF

[itsp-auth]
type=auth
auth_type=userpass
username=acct42
password=provider-secret

[itsp]
type=aor
contact=sip:127.0.0.1:$prov_port

[itsp]
type=endpoint
context=from-itsp
aors=itsp
outbound_auth=itsp-auth
from_user=acct42
from_domain=itsp.test
send_pai=yes
send_rpid=yes
disallow=all
allow=ulaw
CONF
cat > "$KV_CONF/extensions.conf" <<'CONF'
[from-internal]
exten => _0XXXXXXXXX,1,Set(CALLERID(num)=+33100000001)
 same => n,Set(CALLERID(name)=Front Desk)
 same => n,Dial(PJSIP/${EXTEN:1}@itsp,20)
 same => n,Hangup()
CONF
kvd_start

PROV_PORT=$prov_port kv_python_call <<'PY' || kv_fail "outbound call with 407 and early media"
import os
import kvprov
import kvsip


class SourceLog:
    """The provider's socket, remembering where each datagram came from."""

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
caller = kvsip.Phone(kv, "1001")
prov = kvsip.Phone(kv, "itsp", password="", lport=int(os.environ["PROV_PORT"]))
prov.sock = SourceLog(prov.sock)
a, p = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
prov.media.append(p)

call = kvsip.OutCall(caller, "0123456789", kvsip.sdp_offer(a.port))
call.invite()

inc = prov.expect_invite(timeout=10)
inv = inc.invite
ruri = "sip:123456789@127.0.0.1:%s" % os.environ["PROV_PORT"]
assert inv.uri == ruri, "Request-URI %s, expected %s" % (inv.uri, ruri)
assert prov.sock.sources[-1] == ("127.0.0.1", kv), \
    "INVITE from %r, not KubeVox's listening socket %d" % (prov.sock.sources[-1], kv)
via = inv.get_all("via")[0]
assert ("127.0.0.1:%d;" % kv) in via, "Via %s" % via
frm = inv.get("from")
assert kvsip.first_uri(frm) == "sip:acct42@itsp.test", "From %s" % frm
pai = inv.get("p-asserted-identity")
assert pai == '"Front Desk" <sip:+33100000001@itsp.test>', "P-Asserted-Identity %r" % pai
rpid = inv.get("remote-party-id")
assert rpid == ('"Front Desk" <sip:+33100000001@itsp.test>;party=calling;privacy=off;'
                'screen=no'), "Remote-Party-ID %r" % rpid
assert inv.get("to") == "<%s>" % ruri, "To %s" % inv.get("to")
assert inv.get("proxy-authorization") is None, "credentials before any challenge"
kvsip.assert_kubevox_media(inc.offer, "offer to the provider")
print("INVITE %s from %s:%d, From %s, PAI %s" % (inv.uri, *prov.sock.sources[-1], frm, pai))

nonce = "itsp-%s" % kvsip.new_tag()
prov.respond(inv, 407, "Proxy Authentication Required", to_tag=inc.tag, headers=[
    ("Proxy-Authenticate",
     'Digest realm="itsp.test", nonce="%s", algorithm=MD5, qop="auth"' % nonce)])
ack = prov.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "ACK" and
                  m.call_id == inv.call_id, "ACK of the 407")
assert ack.cseq[0] == inv.cseq[0] and ack.branch == inv.branch, \
    "ACK %r branch %s, INVITE %r branch %s" % (ack.cseq, ack.branch, inv.cseq, inv.branch)

inc2 = prov.expect_invite(timeout=10)
inv2 = inc2.invite
assert inv2.call_id == inv.call_id, "Call-ID changed: %s" % inv2.call_id
assert inv2.from_tag == inv.from_tag, "From tag changed"
assert inv2.cseq == (inv.cseq[0] + 1, "INVITE"), "CSeq %r after %r" % (inv2.cseq, inv.cseq)
assert inv2.branch != inv.branch, "the same branch for a new INVITE"
kvprov.Provider.check_auth(None, inv2, "acct42", "provider-secret", nonce,
                           realm="itsp.test", header="proxy-authorization")
print("407 ACKed; INVITE again with CSeq %d and a correct Proxy-Authorization" % inv2.cseq[0])

# Early media: the provider's ringback reaches the caller before the 200.
inc2.respond(100)
inc2.respond(183, body=kvsip.sdp_offer(p.port, codecs=((0, "PCMU/8000"),)))
early = None
while early is None:
    r = call.next_response(timeout=10)
    assert r is not None and r.status < 200, "caller: %s before 183" % (r and r.start)
    if r.status == 183:
        assert r.body.strip(), "183 to the caller without SDP"
        early = r.sdp()
kvsip.send_stream(p, inc2.offer.media, "ring", 20, pt=0)
kvsip.expect_stream(a, "ring", 20, 0, early.media)
print("183 relayed; 20 packets of the provider's ringback reached the caller")

inc2.answer(kvsip.sdp_offer(p.port, codecs=((0, "PCMU/8000"),)))
_, r = call.expect_final(200, "the provider answered")
call.ack()
inc2.expect_ack()
kvsip.check_media(a, p, call.answer.media, inc2.offer.media, "talk")
kvsip.hang_up(call, inc2)
print("answered, RTP both ways, BYE reached the provider")
PY
kv_ok "Dial(PJSIP/NUMBER@itsp): static contact, 407 answered, PAI/RPID, early media, the call"

kv_wait_log 'event=dial_leg .*contact=sip:123456789@127.0.0.1:[0-9]* cseq=2 auth=yes'
kv_wait_log 'event=call_bridged .*dstchannel=PJSIP/itsp-'
kv_wait_log 'event=call_end'
kvd_stop
kv_pass
