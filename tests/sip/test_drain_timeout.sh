#!/usr/bin/env bash
# test_drain_timeout - kubevox.conf [general] drain_timeout=2: SIGTERM with
# an answered call; the call goes on (RTP both ways, no BYE) until the
# timeout, then KubeVox sends BYE to both legs, the phones answer 200, the
# call ends with a call_end log line and an ANSWERED CDR, and the process
# exits 0 (drain_force reason=drain_timeout, then drain_done).
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002
kv_conf_general drain_timeout=2
kvd_start

kv_python_ops <<'PY' || kv_fail "drain timeout with a live call"
import time
import kvsip

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
assert "calls=1" in line and "timeout=2" in line, line
t0 = time.monotonic()

# The timer runs 2 s from drain_start, so for a second or so the call is
# certainly still up.
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "draining")
is_bye = lambda m: isinstance(m, kvsip.Request) and m.method == "BYE"
left = 1.0 - (time.monotonic() - t0)
if left > 0:
    callee.expect_nothing(is_bye, "BYE to the callee before the drain timeout", left)
caller.expect_nothing(is_bye, "BYE to the caller before the drain timeout", 0.2)

bye_b = inc.answer_bye(timeout=10.0)
bye_a = call.answer_bye(timeout=5.0)
assert bye_b.call_id == inc.call_id and bye_a.call_id == call.call_id
print("drain timeout: BYE to the callee after %.1fs and to the caller, both answered 200" % (
    time.monotonic() - t0))
# KubeVox may retransmit its BYEs until our 200s arrive; keep answering.
kvsip.kvd_pass_time(0.5, phones)
PY
kv_ok "the live call is hung up with BYE on both legs when drain_timeout passes"

kvd_wait_exit 10 "drain timeout"
log=$(cat "$KVD_LOG")
kv_assert_match 'event=drain_force .*reason=drain_timeout calls=1' "$log" "drain_force"
kv_assert_match 'event=call_end.*disposition="?ANSWERED' "$log" "call_end"
kv_assert_match 'event=drain_done .*reason=(calls_ended|grace_over)' "$log" "drain_done"

cdr=$KV_LOGDIR/cdr-csv/Master.csv
[ -s "$cdr" ] || kv_fail "no CDR in $cdr"
kv_assert_eq 1 "$(kv_count_lines "$(cat "$cdr")")" "CDR records"
kv_assert_match '"1001","1002","from-internal",.*"ANSWERED"' "$(cat "$cdr")" "CDR of the call"
kv_ok "CDR: $(cat "$cdr")"
kv_pass
