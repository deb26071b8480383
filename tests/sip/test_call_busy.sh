#!/usr/bin/env bash
# test_call_busy - the callee answers 486 Busy Here: KubeVox ACKs it and
# the caller gets 486 (DIALSTATUS BUSY, then Hangup), logged with
# disposition BUSY.  The callee is SIPp once, a Python phone once.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_busy.xml "$port"
uas=$KV_UAS
kv_python_call <<'PY' || kv_fail "486 from a SIPp callee"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(kvsip.Rtp().port))
call.invite()
call.expect_final(486, "caller, SIPp callee busy")
print("caller: 486")
PY
kv_sipp_uas_wait "$uas" "SIPp callee: 486, ACKed by KubeVox"
kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "486 from a Python callee"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(kvsip.Rtp().port))
call.invite()
inc = callee.expect_invite()
inc.respond(486)
ack = inc.expect_ack()
assert ack.branch == inc.invite.branch, "ACK of 486: branch %s, INVITE %s" % (
    ack.branch, inc.invite.branch)
assert ack.to_tag == inc.tag, "ACK of 486: To tag %s, ours %s" % (ack.to_tag, inc.tag)
_, r = call.expect_final(486, "caller, Python callee busy")
print("callee: 486 ACKed in its transaction; caller: %s" % r.start)
PY
kv_ok "Python callee: 486 ACKed (same branch), caller gets 486"

kv_wait_log 'event=call_end.*disposition="?BUSY' 2
kv_ok "log: call_end disposition=BUSY"
kvd_stop
kv_pass
