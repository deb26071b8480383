#!/usr/bin/env bash
# test_drain_live_call - SIGTERM with an answered call between two Python
# phones: the daemon logs drain_start, answers a new INVITE 503 with
# Retry-After and does not ring anyone, keeps answering REGISTER (401,
# then 200), answers OPTIONS 503 (a load balancer's probe), keeps relaying the live call's RTP both
# ways, answers the callee's BYE 200 and relays it, then exits 0 on its
# own (drain_done reason=last_call_ended).  Without a call, SIGTERM ends
# the process at once.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002 1003
kvd_start

kv_python_ops <<'PY' || kv_fail "drain with a live call"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before")
phones = (caller, callee)

kvsip.kvd_signal("TERM")
line = kvsip.kvd_wait_log(r"event=drain_start", "drain_start", phones=phones)
assert "signal=SIGTERM" in line and "calls=1" in line, line
print("SIGTERM: %s" % line)

# A new call: 503 with Retry-After, and the callee is not rung.
other = kvsip.Phone(kvsip.kv_port(), "1003")
c = kvsip.Rtp()
new = kvsip.OutCall(other, "1002", kvsip.sdp_offer(c.port))
new.invite()
_, r = new.final()
assert r is not None and r.status == 503, "new INVITE while draining: %s" % (r and r.start)
ra = r.get("retry-after")
assert ra is not None and ra.split(";")[0].strip().isdigit() and int(ra.split(";")[0]) > 0, \
    "503 without a usable Retry-After: %r" % ra
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "INVITE to the callee while draining")
print("new INVITE: %s, Retry-After: %s; callee not rung" % (r.start, ra))

# Registrations and OPTIONS are still served.
reg = kvsip.Client(kvsip.kv_port())
first, final = reg.register("1003", "secret1003", expires=60)
assert first is not None and first.status == 401, "REGISTER: %s" % (first and first.start)
assert final is not None and final.status == 200, "REGISTER: %s" % (final and final.start)
# OPTIONS says 503, so that a load balancer probing with it (k8s/front)
# stops sending here.
st = kvsip.options_status()
assert st == 503, "OPTIONS while draining: %r" % st
print("REGISTER: 401 then 200; OPTIONS: 503")

# The live call goes on.
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "draining", n=25)
caller.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "BYE",
                      "BYE to the caller while the call should go on", timeout=0.5)
print("RTP: 25 packets each way while draining")

cseq = inc.in_dialog("BYE")
call.answer_bye()
r = inc.expect_response(cseq, "BYE", "answer to the callee's BYE")
assert r.status == 200, r.start
print("callee's BYE: 200, relayed to the caller")
PY
kv_ok "draining: 503 + Retry-After to a new INVITE and to OPTIONS, REGISTER served, live call relayed to its end"

kvd_wait_exit 6 "drain after the last call"
kv_assert_match 'event=drain_done .*reason=last_call_ended' "$(cat "$KVD_LOG")" "drain_done"
kv_assert_match 'event=call_rejected_draining' "$(cat "$KVD_LOG")" "rejected call logged"
kv_assert_match 'event=call_end.*disposition="?ANSWERED' "$(cat "$KVD_LOG")" "call_end"
kv_assert_match 'event=exit status=0' "$(cat "$KVD_LOG")" "exit event"

# No call: the drain is over as soon as it starts.
kvd_start
kill -TERM "$KVD_PID"
kvd_wait_exit 5 "SIGTERM without calls"
kv_assert_match 'event=drain_start .*calls=0' "$(cat "$KVD_LOG")" "drain_start"
kv_assert_match 'event=drain_done ' "$(cat "$KVD_LOG")" "drain_done"
kv_pass
