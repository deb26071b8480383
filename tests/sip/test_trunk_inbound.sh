#!/usr/bin/env bash
# test_trunk_inbound - issue #11 item 3: a provider's DID calls reach an
# extension.  Two trunk endpoints are recognised by identify sections, one
# by its address (127.0.0.5), one by a network in CIDR form (127.0.1.0/24,
# the call comes from 127.0.1.7); neither is challenged, and each one's
# context routes the Request-URI user (${EXTEN}, as Asterisk) to phone
# 1002.  The provider's side checks each answer: 200 with KubeVox's media,
# RTP both ways between the provider's address and the phone.
#
# Caller ID, as res_pjsip_caller_id: the trusted trunk (trust_id_inbound=yes)
# gives the callee the P-Asserted-Identity's name and number (else its
# Remote-Party-ID's), a user parameter (";npdi") cut off; the other one's
# identity headers are ignored and From gives the caller ID.  A request from
# an address no identify section lists (127.0.0.9) is challenged and
# reaches nobody.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1002
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[carrier]
type=endpoint
context=from-carrier
disallow=all
allow=ulaw
trust_id_inbound=yes

[carrier-identify]
type=identify
endpoint=carrier
match=127.0.0.5

[office-trunk]
type=endpoint
context=from-office
disallow=all
allow=ulaw

[office-identify]
type=identify
endpoint=office-trunk
match=192.0.2.1, 127.0.1.0/24
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[from-carrier]
exten => 5550123,1,Dial(PJSIP/1002,10)
 same => n,Hangup()

[from-office]
exten => _5550XXX,1,Dial(PJSIP/1002,10)
 same => n,Hangup()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "inbound DID calls from two trunks"
import re

import kvsip


def caller_id(frm):
    """(display name, user) of a From value."""
    m = re.match(r'\s*(?:"([^"]*)"\s*)?<sip:([^@>]*)@', frm)
    assert m, "From %r" % frm
    return m.group(1) or "", m.group(2)


callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()


def did_call(local, did, from_hdr, headers, want_name, want_num, what):
    """A call from a provider on address local to did; the callee answers,
    RTP both ways is checked, the provider hangs up."""
    provider = kvsip.Phone(kvsip.kv_port(), "provider", password="")
    kvsip.rebind_phone(provider, local)
    a, b = kvsip.Rtp(local=local), kvsip.Rtp()
    provider.media.append(a)
    callee.media.append(b)
    call = kvsip.OutCall(provider, did, sdp=kvsip.sdp_offer(a.port), headers=headers)
    call.local_hdr = "%s;tag=%s" % (from_hdr, call.tag)
    call.invite()
    inc = callee.expect_invite()
    frm = inc.invite.get("from")
    name, num = caller_id(frm)
    assert (name, num) == (want_name, want_num), \
        "%s: the callee's From is %r, expected %r <%s>" % (what, frm, want_name, want_num)
    assert inc.invite.uri.startswith("sip:1002@"), inc.invite.start
    inc.ring()
    inc.answer(kvsip.sdp_offer(b.port))
    _, r = call.expect_final(200, what)
    assert not call.challenges, "%s: the provider was challenged" % what
    call.ack()
    inc.expect_ack()
    kvsip.assert_kubevox_media(call.answer, "%s: answer to the provider" % what)
    kvsip.send_stream(a, call.answer.media, "in", 20)
    kvsip.expect_stream(b, "in", 20, 0, inc.offer.media)
    kvsip.send_stream(b, inc.offer.media, "out", 20)
    kvsip.expect_stream(a, "out", 20, 0, call.answer.media)
    kvsip.hang_up(call, inc)
    provider.close()
    print("%s: callee saw From %s; RTP both ways with %s" % (what, frm, local))


pai = ("P-Asserted-Identity",
       '"Alice Martin" <sip:+33122334455;npdi@carrier.test>, <tel:+33122334455>')
rpid = ("Remote-Party-ID", '"Bob" <sip:+33199887766@carrier.test>;party=calling;screen=yes')
frm = '"Carrier Gateway" <sip:+33100000000@carrier.test>'

did_call("127.0.0.5", "5550123", frm, [pai, rpid], "Alice Martin", "+33122334455",
         "trusted trunk, P-Asserted-Identity")
did_call("127.0.0.5", "5550123", frm, [rpid], "Bob", "+33199887766",
         "trusted trunk, Remote-Party-ID only")
did_call("127.0.0.5", "5550123", frm, [("P-Asserted-Identity", "<sip:carrier.test>")],
         "Carrier Gateway", "+33100000000",
         "trusted trunk, P-Asserted-Identity without a number")
did_call("127.0.1.7", "5550456", frm, [pai, rpid], "Carrier Gateway", "+33100000000",
         "untrusted trunk by network, identity headers ignored")

# An address no identify section lists: challenged, the callee hears nothing.
stranger = kvsip.Phone(kvsip.kv_port(), "+33100000000", password="")
kvsip.rebind_phone(stranger, "127.0.0.9")
call = kvsip.OutCall(stranger, "5550123", sdp=kvsip.sdp_offer(40000))
call.invite()
_, r = call.expect_final(401, "INVITE from an unlisted address")
assert r.challenges(), "401 without a challenge: %r" % r.raw
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "INVITE from an unlisted address", timeout=1.0)
print("127.0.0.9 (no identify): 401 with a challenge, nobody called")
PY
kv_ok "DIDs from an address and a network reach the phone, media both ways, caller ID rules"

kv_wait_log 'event=call_start .*channel=PJSIP/carrier-.*from=\+33122334455 exten=5550123 context=from-carrier'
kv_wait_log 'event=call_start .*channel=PJSIP/office-trunk-.*from=\+33100000000 exten=5550456 context=from-office'
kvd_stop
kv_pass
