#!/usr/bin/env bash
# test_call_late_offer_trunk - "both directions" of issue #11's late offer.
# A provider (endpoint "provider", recognised by an identify section on
# 127.0.0.5, no authentication) sends a DID call without SDP; the dialplan
# dials phone 1002.  KubeVox never sends an INVITE without SDP itself (it
# anchors media, so it always has an offer of its own: see dial.c), so the
# callee gets an ordinary offer in the INVITE (the provider's codecs,
# A-law first, and telephone-event), answers it, and the provider gets the
# offer in the 200 (A-law, what the callee chose, and telephone-event) and
# answers in the ACK.  RTP flows both ways between 127.0.0.5 and the phone
# through the relay.  The other direction, a phone's late offer to a
# callee that answers normally, is test_call_late_offer.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1002
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[provider]
type=endpoint
context=from-provider
disallow=all
allow=alaw,ulaw

[provider-identify]
type=identify
endpoint=provider
match=127.0.0.5
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[from-provider]
exten => _5550XXX,1,Dial(PJSIP/1002,10)
 same => n,Hangup()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "late offer from a provider"
import kvsip

provider = kvsip.Phone(kvsip.kv_port(), "+33123456789", password="")
kvsip.rebind_phone(provider, "127.0.0.5")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(local="127.0.0.5"), kvsip.Rtp()
provider.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(provider, "5550123")
call.invite()
inc = callee.expect_invite()
offer_b = inc.offer
assert offer_b is not None, "KubeVox's INVITE to the phone has no SDP"
kvsip.assert_kubevox_media(offer_b, "offer to the phone")
names = [n.split("/")[0].upper() for _, n in kvsip.sdp_codecs(offer_b)]
assert names == ["PCMA", "PCMU", "TELEPHONE-EVENT"], "offer to the phone: %r" % offer_b.lines
assert "+33123456789" in inc.invite.get("from"), "From %r" % inc.invite.get("from")
inc.ring()
inc.answer(kvsip.sdp_offer(b.port, codecs=((8, "PCMA/8000"), (101, "telephone-event/8000"))))
prov, r = call.expect_final(200, "provider's late-offer call")
assert not call.challenges, "the provider was challenged: %r" % [c.start for c in call.challenges]
pt, enc = kvsip.assert_late_offer(call.answer, "offer in the 200 to the provider")
assert (pt, enc) == (8, "PCMA/8000"), call.answer.lines
kvsip.late_ack(call, call.invite_cseq, kvsip.late_answer(call.answer, a.port))
inc.expect_ack()
print("provider: INVITE without SDP -> 200 offering %r, answered in the ACK; "
      "phone: INVITE offering %r" % (kvsip.sdp_codecs(call.answer), kvsip.sdp_codecs(offer_b)))

kvsip.send_stream(a, call.answer.media, "in", 20, pt=8)
kvsip.expect_stream(b, "in", 20, 8, offer_b.media)
kvsip.send_stream(b, offer_b.media, "out", 20, pt=8)
kvsip.expect_stream(a, "out", 20, 8, call.answer.media)
assert all(src[0] == "127.0.0.1" for _, src in a.got), "RTP to the provider from %r" % a.got[0][1]
print("RTP both ways between the provider (127.0.0.5) and the phone")
kvsip.hang_up(call, inc)
PY
kv_ok "provider's late offer to a phone: the phone gets an offer, the provider the offer in the 200"

kv_wait_log 'event=call_start .*channel=PJSIP/provider-.*exten=5550123 context=from-provider'
kv_wait_log 'event=call_late_answer .*channel=PJSIP/provider-'
kvd_stop
kv_pass
