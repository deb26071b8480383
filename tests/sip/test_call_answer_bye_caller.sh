#!/usr/bin/env bash
# test_call_answer_bye_caller - 1001 calls 1002 and hangs up.  The INVITE is
# challenged (401), then KubeVox sends 100, calls the registered phone,
# relays its 180, answers 200 with its own SDP (c=127.0.0.1, a port of
# rtp.conf's range), relays RTP both ways with the payload untouched, from
# its own ports, and answers the caller's BYE 200 and relays it to the
# callee.  Once with SIPp at both ends, once with Python phones that check
# every message and packet, once with a Python caller and SIPp's RTP echo
# as the callee.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_answer.xml "$port" -d 200
uas=$KV_UAS
kv_sipp_call_ok "SIPp caller: 401, then 200 with KubeVox's SDP, ACK, BYE 200" \
	call_answer.xml 1001 1002 -d 500
kv_sipp_uas_wait "$uas" "SIPp callee: INVITE, 180, 200, ACK, then BYE from KubeVox"
kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "answered call with RTP both ways"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
assert "1001" in inc.invite.get("from"), "From of the callee's INVITE: %s" % inc.invite.get("from")
assert inc.invite.uri.startswith("sip:1002@127.0.0.1:%d" % callee.lport), inc.invite.uri
kvsip.assert_kubevox_media(inc.offer, "offer to the callee")
assert inc.offer.pt_of("PCMU") is not None, "offer to the callee: %r" % inc.offer.lines
inc.ring()
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"), (101, "telephone-event/8000"))))

prov, final = call.final()
assert final is not None and final.status == 200, "caller: %s" % (final and final.start)
assert [c.status for c in call.challenges] == [401], \
    "challenges: %r" % [c.start for c in call.challenges]
assert 180 in [p.status for p in prov], "no 180 relayed: %r" % [p.start for p in prov]
kvsip.assert_kubevox_media(call.answer, "answer to the caller")
assert call.answer.pts[0] == 0, "answer to the caller: %r" % call.answer.lines
assert call.answer.port != inc.offer.port, "both legs on port %d" % inc.offer.port
assert final.contacts(), "200 without Contact"
call.ack()
inc.expect_ack()
print("signalling: 401, %s, 200 with c=127.0.0.1 m=audio %d; callee leg on %d" % (
    ", ".join(str(p.status) for p in prov), call.answer.port, inc.offer.port))

kvsip.send_stream(a, call.answer.media, "fwd", 25)
kvsip.expect_stream(b, "fwd", 25, 0, inc.offer.media)
kvsip.send_stream(b, inc.offer.media, "back", 25)
kvsip.expect_stream(a, "back", 25, 0, call.answer.media)
print("RTP: 25 packets each way, payload untouched, from KubeVox's ports")

cseq = call.in_dialog("BYE")
bye = inc.answer_bye()
assert bye.uri.startswith("sip:1002@127.0.0.1:%d" % callee.lport), bye.uri
assert bye.to_tag == inc.tag, "BYE to the callee with To tag %s, ours %s" % (bye.to_tag, inc.tag)
r = call.expect_response(cseq, "BYE", "answer to the caller's BYE")
assert r.status == 200, r.start
print("BYE: 200 to the caller, BYE to the callee")
PY
kv_ok "Python phones: 401, 180, 200, ACK, RTP both ways untouched, BYE both legs"

# A third-party RTP end: SIPp's echo returns what reaches it through KubeVox.
kv_unregister_all 1002
port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_answer.xml "$port" -rtp_echo
uas=$KV_UAS
kv_python_call <<'PY' || kv_fail "RTP through both legs to SIPp's echo and back"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
a = kvsip.Rtp()
caller.media.append(a)
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.connect("call to the SIPp phone")
kvsip.send_stream(a, call.answer.media, "sipp", 25)
kvsip.expect_stream(a, "sipp", 25, 0, call.answer.media)
r = call.bye()
assert r.status == 200, r.start
print("25 packets to SIPp's RTP echo and back, untouched")
PY
kv_sipp_uas_wait "$uas" "SIPp callee with RTP echo: answered, BYE from KubeVox"
kv_ok "RTP relayed to a SIPp phone and back through both legs"

kv_wait_log 'event=call_start' 3
kv_wait_log 'event=call_answer' 3
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 3
kv_ok "log: call_start, call_answer, call_end disposition=ANSWERED for every call"

kvd_stop
kv_pass
