#!/usr/bin/env bash
# test_call_noanswer - nobody answers within the Dial timeout (2 s here):
# KubeVox CANCELs the ringing phone and the caller, which heard the 180,
# gets 480 (DIALSTATUS NOANSWER), logged with disposition "NO ANSWER".
# The callee is SIPp once, a Python phone once.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_dialplan 2
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_ring_cancel.xml "$port"
uas=$KV_UAS
kv_python_call <<'PY' || kv_fail "no answer from a SIPp callee"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(kvsip.Rtp().port))
call.invite()
prov, _ = call.expect_final(480, "caller, SIPp callee rings", timeout=15)
assert 180 in [p.status for p in prov], "no 180 relayed: %r" % [p.start for p in prov]
print("caller: 180, then 480")
PY
kv_sipp_uas_wait "$uas" "SIPp callee: 180, CANCEL at the Dial timeout, 487 ACKed"
kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "no answer from a Python callee"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(kvsip.Rtp().port))
call.invite()
inc = callee.expect_invite()
inc.ring()
inc.expect_cancel(timeout=15)
call.expect_final(480, "caller after the Dial timeout")
print("callee: CANCEL (INVITE's branch and CSeq), 487 ACKed; caller: 480")
PY
kv_ok "Python callee: CANCEL at the Dial timeout; caller gets 480"

kv_wait_log 'event=call_end.*disposition="NO ANSWER"' 2
kv_ok "log: call_end disposition=\"NO ANSWER\""
kvd_stop
kv_pass
