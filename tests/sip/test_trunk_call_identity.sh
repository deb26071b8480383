#!/usr/bin/env bash
# test_trunk_call_identity - the caller ID a provider sees, as
# res_pjsip_caller_id sends it, with Dial(PJSIP/ENDPOINT/sip:NUMBER@host)
# (the explicit URI form: no aor needed).  The provider checks each INVITE:
#   801  endpoint callerid overrides the channel's (Set(CALLERID(num))):
#        From and P-Asserted-Identity carry it, no Remote-Party-ID (send_rpid
#        is off); a 401 is answered with Authorization, CSeq + 1;
#   802  CALLERID(pres)=prohib to an endpoint without trust_id_outbound:
#        an anonymous From, no identity headers;
#   803  the same to an endpoint with trust_id_outbound=yes: the identity
#        is sent, marked private (Privacy: id, RPID privacy=full);
#   804  the provider refuses the credentials (401 again, not stale): no
#        third INVITE, the caller gets the dialplan's answer;
#   805  PJSIP/5555@1002 to an endpoint with registered contacts only: its
#        contact's URI with 5555 as the user.
# The other calls end with the provider's 486, relayed to the caller.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
prov_port=$(kv_free_port)
cat >> "$KV_CONF/pjsip.conf" <<CONF

[itsp-auth]
type=auth
auth_type=userpass
username=acct7
password=pw-of-acct7

[itsp-a]
type=endpoint
context=from-itsp
outbound_auth=itsp-auth
callerid="Main Line" <+33999000111>
send_pai=yes
disallow=all
allow=ulaw

[itsp-b]
type=endpoint
context=from-itsp
send_pai=yes
send_rpid=yes
trust_id_outbound=yes
disallow=all
allow=ulaw
CONF
cat > "$KV_CONF/extensions.conf" <<CONF
[from-internal]
exten => 801,1,Set(CALLERID(num)=+33100000001)
 same => n,Dial(PJSIP/itsp-a/sip:555@127.0.0.1:$prov_port,10)
 same => n,Hangup(17)
exten => 802,1,Set(CALLERID(num)=+33100000002)
 same => n,Set(CALLERID(pres)=prohib)
 same => n,Dial(PJSIP/itsp-a/sip:556@127.0.0.1:$prov_port,10)
 same => n,Hangup(17)
exten => 805,1,Dial(PJSIP/5555@1002,10)
 same => n,Hangup(17)
exten => 804,1,Dial(PJSIP/itsp-a/sip:558@127.0.0.1:$prov_port,10)
 same => n,Hangup(17)
exten => 803,1,Set(CALLERID(num)=+33100000003)
 same => n,Set(CALLERID(name)=Night Desk)
 same => n,Set(CALLERID(pres)=prohib_passed_screen)
 same => n,Dial(PJSIP/itsp-b/sip:557@127.0.0.1:$prov_port,10)
 same => n,Hangup(17)
CONF
kvd_start

PROV_PORT=$prov_port kv_python_call <<'PY' || kv_fail "caller ID toward a provider"
import os
import kvprov
import kvsip

kv = kvsip.kv_port()
pport = int(os.environ["PROV_PORT"])
caller = kvsip.Phone(kv, "1001")
prov = kvsip.Phone(kv, "itsp", password="", lport=pport)


def busy(inc, what):
    """The provider answers 486; KubeVox ACKs it and the caller gets 486."""
    inc.respond(486)
    ack = prov.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "ACK" and
                      m.call_id == inc.invite.call_id, "ACK of the 486 (%s)" % what)
    assert ack.cseq[0] == inc.invite.cseq[0], "ACK %r" % (ack.cseq,)


def place(exten):
    call = kvsip.OutCall(caller, exten, kvsip.sdp_offer(kvsip.Rtp().port))
    call.invite()
    inc = prov.expect_invite(timeout=10)
    assert inc.invite.uri == "sip:%s@127.0.0.1:%d" % (int(exten) - 246, pport), \
        "Request-URI %s" % inc.invite.uri
    return call, inc


# 801: the endpoint's callerid wins; 401 answered.
call, inc = place("801")
inv = inc.invite
frm = inv.get("from")
assert frm.startswith('"Main Line" <sip:+33999000111@127.0.0.1>;tag='), "From %s" % frm
pai = inv.get("p-asserted-identity")
assert pai == '"Main Line" <sip:+33999000111@127.0.0.1>', "PAI %r" % pai
assert inv.get("remote-party-id") is None, "RPID without send_rpid"
assert inv.get("privacy") is None, "Privacy %r" % inv.get("privacy")
nonce = "n-%s" % kvsip.new_tag()
prov.respond(inv, 401, "Unauthorized", to_tag=inc.tag, headers=[
    ("WWW-Authenticate", 'Digest realm="itsp.test", nonce="%s", algorithm=MD5' % nonce)])
prov.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "ACK" and
            m.call_id == inv.call_id, "ACK of the 401")
inc2 = prov.expect_invite(timeout=10)
assert inc2.invite.call_id == inv.call_id and inc2.invite.from_tag == inv.from_tag
assert inc2.invite.cseq[0] == inv.cseq[0] + 1, "CSeq %r" % (inc2.invite.cseq,)
kvprov.Provider.check_auth(None, inc2.invite, "acct7", "pw-of-acct7", nonce,
                           realm="itsp.test", header="authorization")
busy(inc2, "801")
call.expect_final(486, "801: the provider's busy")
print("801: From/PAI %s, 401 answered, 486 relayed" % pai)

# 802: restricted, not trusted: nothing of the caller leaves.
call, inc = place("802")
inv = inc.invite
frm = inv.get("from")
assert frm.startswith('"Anonymous" <sip:anonymous@anonymous.invalid>;tag='), "From %s" % frm
for h in ("p-asserted-identity", "remote-party-id", "privacy"):
    assert inv.get(h) is None, "802: %s %r" % (h, inv.get(h))
assert b"+33100000002" not in inv.raw, "802: the number left in %r" % inv.raw
busy(inc, "802")
call.expect_final(486, "802")
print("802: anonymous From, no identity headers")

# 803: restricted, trusted: sent, marked private.
call, inc = place("803")
inv = inc.invite
frm = inv.get("from")
assert frm.startswith('"Night Desk" <sip:+33100000003@127.0.0.1>;tag='), "From %s" % frm
assert inv.get("p-asserted-identity") == '"Night Desk" <sip:+33100000003@127.0.0.1>', \
    "PAI %r" % inv.get("p-asserted-identity")
assert inv.get("privacy") == "id", "Privacy %r" % inv.get("privacy")
rpid = inv.get("remote-party-id")
assert rpid == '"Night Desk" <sip:+33100000003@127.0.0.1>;party=calling;privacy=full;screen=no', \
    "RPID %r" % rpid
busy(inc, "803")
call.expect_final(486, "803")
print("803: trusted, PAI with Privacy: id, RPID privacy=full")

# 804: our credentials refused.
call, inc = place("804")
inv = inc.invite
for n in (1, 2):
    prov.respond(inv, 401, "Unauthorized", to_tag=inc.tag, headers=[
        ("WWW-Authenticate", 'Digest realm="itsp.test", nonce="n%d", algorithm=MD5' % n)])
    prov.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "ACK" and
                m.call_id == inv.call_id and m.cseq[0] == inv.cseq[0], "ACK of 401 #%d" % n)
    if n == 1:
        inc = prov.expect_invite(timeout=10)
        inv = inc.invite
        assert inv.get("authorization"), "804: no credentials after the first 401"
call.expect_final(486, "804: Dial() failed, Hangup(17)")
prov.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                    "804: an INVITE after the credentials were refused", timeout=2)
print("804: credentials refused, no third INVITE")

# 805: NUMBER@ENDPOINT with a registered contact.
phone = kvsip.Phone(kv, "1002")
phone.sign_in()
call = kvsip.OutCall(caller, "805", kvsip.sdp_offer(kvsip.Rtp().port))
call.invite()
inc = phone.expect_invite(timeout=10)
want = "sip:5555@127.0.0.1:%d" % phone.lport
assert inc.invite.uri == want, "805: Request-URI %s, expected %s" % (inc.invite.uri, want)
inc.respond(486)
call.expect_final(486, "805")
print("805: PJSIP/5555@1002 -> %s" % inc.invite.uri)
PY
kv_ok "callerid override, CALLERID(pres), trust_id_outbound, Dial(PJSIP/ENDPOINT/URI)"

kv_wait_log 'event=dial_auth_failed .*code=401 reason=credentials_refused'
kv_wait_log 'event=call_end' 5
kvd_stop
kv_pass
