#!/usr/bin/env bash
# test_call_bye_callee - the callee hangs up: its BYE is answered 200 and
# KubeVox sends BYE to the caller, in the caller's dialog (the caller's
# Contact as Request-URI, the tags of the caller's dialog swapped).  Once
# with SIPp at both ends, once with Python phones.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_answer_bye.xml "$port" -d 500
uas=$KV_UAS
kv_sipp_call_ok "SIPp caller: answered, then BYE from KubeVox answered 200" \
	call_wait_bye.xml 1001 1002
kv_sipp_uas_wait "$uas" "SIPp callee: answered, its BYE answered 200"
kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "BYE from the callee"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "caller")
call.ack()
inc.expect_ack()

cseq = inc.in_dialog("BYE")
bye = call.answer_bye()
assert bye.uri == "sip:1001@127.0.0.1:%d" % caller.lport, \
    "BYE to the caller: Request-URI %s, Contact was sip:1001@127.0.0.1:%d" % (bye.uri, caller.lport)
assert bye.to_tag == call.tag, "BYE To tag %s, the caller's tag %s" % (bye.to_tag, call.tag)
assert bye.from_tag == call.remote_tag, "BYE From tag %s, the 200's To tag %s" % (
    bye.from_tag, call.remote_tag)
r = inc.expect_response(cseq, "BYE", "answer to the callee's BYE")
assert r.status == 200, r.start
print("callee's BYE: 200; caller got BYE %s in its dialog" % bye.uri)
PY
kv_ok "Python phones: callee's BYE answered 200 and relayed in the caller's dialog"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 2
kvd_stop
kv_pass
