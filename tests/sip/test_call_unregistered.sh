#!/usr/bin/env bash
# test_call_unregistered - Dial to an endpoint with no registered contact
# fails at once with DIALSTATUS CHANUNAVAIL: the caller gets 480.  Both for
# a user that never registered and for one that just unregistered; a call
# to the same user while registered is answered, so the 480 is about the
# registration and nothing else.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
kvd_start

kv_python_call <<'PY' || kv_fail "calls to unregistered users"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
a = kvsip.Rtp()

call = kvsip.OutCall(caller, "1003", kvsip.sdp_offer(a.port))
call.invite()
prov, _ = call.expect_final(480, "call to 1003, never registered")
assert not [p for p in prov if p.status in (180, 183)], \
    "ringing for nobody: %r" % [p.start for p in prov]
print("1003 (never registered): 480")

callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(kvsip.Rtp().port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "call to 1002 while registered")
call.ack()
inc.expect_ack()
cseq = call.in_dialog("BYE")
inc.answer_bye()
call.expect_response(cseq, "BYE", "BYE")
print("1002 (registered): 200")

callee.sign_in(expires=0)
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
call.expect_final(480, "call to 1002 after it unregistered")
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "INVITE to an unregistered contact")
print("1002 (unregistered): 480, no INVITE to its old contact")
PY
kv_ok "unregistered callee: 480; registered: 200; unregistered again: 480"

kv_wait_log 'event=call_end' 3
kvd_stop
kv_pass
