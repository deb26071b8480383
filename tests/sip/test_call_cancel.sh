#!/usr/bin/env bash
# test_call_cancel - the caller gives up while the callee rings: its CANCEL
# is answered 200, the INVITE 487 (ACKed), and the ringing phone gets a
# CANCEL (same branch and CSeq number as the INVITE it got), answers 200
# and 487, and gets its ACK.  Once with SIPp at both ends, once with Python
# phones.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
kv_sipp_uas uas_ring_cancel.xml "$port"
uas=$KV_UAS
kv_sipp_call_ok "SIPp caller: 180, CANCEL 200, INVITE 487" call_cancel.xml 1001 1002 -d 500
kv_sipp_uas_wait "$uas" "SIPp callee: 180, then CANCEL from KubeVox, 487 ACKed"
kv_unregister_all 1002

kv_python_call <<'PY' || kv_fail "CANCEL before answer"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a = kvsip.Rtp()

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.ring()
while True:
    r = call.next_response()
    assert r is not None and r.status < 200, "caller before 180: %s" % (r and r.start)
    if r.status == 180:
        break
cseq = call.cancel()
r = call.expect_response(cseq, "CANCEL", "answer to CANCEL")
assert r.status == 200, "CANCEL: %s" % r.start
call.expect_final(487, "INVITE after CANCEL")
inc.expect_cancel()
print("caller: CANCEL 200, INVITE 487; callee: CANCEL, 487 ACKed")
PY
kv_ok "Python phones: CANCEL 200, 487 to the caller, CANCEL to the callee"

kv_wait_log 'event=call_end' 2
kvd_stop
kv_pass
