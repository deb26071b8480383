#!/usr/bin/env bash
# test_drain_second_signal - SIGTERM with an answered call starts a drain
# (default drain_timeout, 3600 s: the call goes on); a second signal ends
# it at once: BYE to both legs, answered 200, exit status 0.  Once with
# SIGTERM twice, once with SIGTERM then SIGINT.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002

for second in TERM INT; do
	kvd_start
	SECOND=$second kv_python_ops <<'PY' || kv_fail "SIGTERM then SIG$second"
import os
import time
import kvsip

second = os.environ["SECOND"]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
phones = (caller, callee)

kvsip.kvd_signal("TERM")
line = kvsip.kvd_wait_log(r"event=drain_start", "drain_start", phones=phones)
assert "calls=1" in line and "timeout=3600" in line, line
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "draining")
is_bye = lambda m: isinstance(m, kvsip.Request) and m.method == "BYE"
callee.expect_nothing(is_bye, "BYE to the callee after one SIGTERM", 0.5)
caller.expect_nothing(is_bye, "BYE to the caller after one SIGTERM", 0.2)

kvsip.kvd_signal(second)
t0 = time.monotonic()
bye_b = inc.answer_bye(timeout=5.0)
bye_a = call.answer_bye(timeout=5.0)
print("SIGTERM, SIG%s: BYE to both legs after %.2fs, answered 200" % (
    second, time.monotonic() - t0))
kvsip.kvd_pass_time(0.5, phones)
PY
	kv_ok "SIGTERM then SIG$second: BYE to both legs"
	kvd_wait_exit 10 "SIGTERM then SIG$second"
	log=$(cat "$KVD_LOG")
	kv_assert_match "event=drain_force .*reason=SIG$second calls=1" "$log" "drain_force"
	kv_assert_match 'event=call_end.*disposition="?ANSWERED' "$log" "call_end"
	kv_assert_match 'event=drain_done .*reason=(calls_ended|grace_over)' "$log" "drain_done"
done
kv_pass
