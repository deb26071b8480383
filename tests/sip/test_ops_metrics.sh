#!/usr/bin/env bash
# test_ops_metrics - GET /metrics is strict Prometheus text (kvops.py:
# HELP and TYPE before every family, escaped labels, numeric values,
# counters *_total, complete histograms) with every family KubeVox
# promises, and its counters move: one registration and one answered call
# with RTP both ways between two phones.  The state families read as the
# memory backend's: up, no round trip, no replica.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "$KV_TEST: curl is required" >&2; exit 77; }

kv_conf_transports
kv_conf_call_users 1001 1002
kv_conf_rtp_http 20
kv_conf_dialplan 10
kv_conf_dirs
kv_conf_http
kvd_start
kv_http_until /readyz 200

before=$KV_TMP/metrics.0
after=$KV_TMP/metrics.1
kv_metrics "$before"
kv_assert_match '^text/plain; version=0\.0\.4' "$KV_HTTP_TYPE" "/metrics Content-Type"
for family in kubevox_registrations kubevox_registration_attempts_total \
	kubevox_calls_active kubevox_calls_total kubevox_calls_started_total \
	kubevox_calls_rejected_total kubevox_rtp_packets_relayed_total \
	kubevox_rtp_bytes_relayed_total kubevox_rtp_packets_dropped_total \
	kubevox_rtp_ports_in_use kubevox_rtp_ports_total \
	kubevox_sip_requests_received_total kubevox_sip_responses_sent_total \
	kubevox_sip_parse_errors_total kubevox_sip_retransmissions_absorbed_total \
	kubevox_tcp_connections kubevox_auth_failures_total kubevox_bans_total \
	kubevox_banned_requests_total kubevox_config_reloads_total \
	kubevox_draining kubevox_process_start_time_seconds kubevox_build_info \
	kubevox_http_refused_total kubevox_state_up kubevox_state_round_trip_seconds \
	kubevox_state_errors_total kubevox_state_reconnects_total \
	kubevox_state_conflicts_total kubevox_state_bindings_written_back_total \
	kubevox_cross_replica_deliveries_total kubevox_replicas; do
	grep -q "^# TYPE $family " "$before" || kv_fail "/metrics has no family $family"
done
kv_assert_eq 0 "$(kv_metric "$before" kubevox_registrations)" "registrations at start"
kv_assert_eq 0 "$(kv_metric "$before" kubevox_calls_active)" "active calls at start"
kv_assert_eq 0 "$(kv_metric "$before" kubevox_draining)" "draining at start"
kv_assert_eq $((KV_RTP_END - KV_RTP_START + 1)) \
	"$(kv_metric "$before" kubevox_rtp_ports_total)" "RTP ports in the range"
start=$(kv_metric "$before" kubevox_process_start_time_seconds)
kv_assert_range $(($(date +%s) - 600)) "$(date +%s)" "$start" "process start time"
version=$("$KV_BIN/kubevoxd" -V 2>&1 | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
kv_assert_eq 1 "$(kv_metric "$before" "kubevox_build_info{version=\"$version\"}")" "build info"
grep -q '^# TYPE kubevox_state_round_trip_seconds histogram$' "$before" ||
	kv_fail "kubevox_state_round_trip_seconds is not a histogram"
kv_assert_eq 1 "$(kv_metric "$before" 'kubevox_state_up{backend="memory"}')" "memory backend up"
kv_assert_eq 0 "$(kv_metric "$before" 'kubevox_state_round_trip_seconds_bucket{le="+Inf"}')" \
	"round trips of the memory backend"
kv_assert_eq 0 "$(kv_metric "$before" kubevox_state_round_trip_seconds_count)" "round trips"
kv_assert_eq 0 "$(kv_metric "$before" 'kubevox_replicas{state="alive"}')" "replicas"
kv_assert_nomatch '^kubevox_replica_' "$(cat "$before")" "per-replica series without a cluster"
kv_ok "/metrics: strict format, every family, sane values at start"

kv_python_call <<'PY' || kv_fail "registration and call"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media = [a]
callee.media = [b]
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
kvsip.send_stream(a, call.answer.media, "a", 20)
kvsip.expect_stream(b, "a", 20, 0, inc.offer.media)
kvsip.send_stream(b, inc.offer.media, "b", 20)
kvsip.expect_stream(a, "b", 20, 0, call.answer.media)
r = call.bye()
assert r.status == 200, r.start
inc.answer_bye()
print("1002 registered; 1001 called it, 20 packets each way, BYE 200")
PY
kv_wait_log 'event=call_end'

kv_metrics "$after"
delta()
{
	local a b

	a=$(kv_metric "$before" "$1") || kv_fail "no series $1 before"
	b=$(kv_metric "$after" "$1") || kv_fail "no series $1 after"
	echo $((b - a))
}
kv_assert_range 1 1 "$(kv_metric "$after" kubevox_registrations)" "registrations"
kv_assert_range 1 1 "$(delta 'kubevox_registration_attempts_total{result="ok"}')" "REGISTER ok"
kv_assert_range 1 9 "$(delta 'kubevox_registration_attempts_total{result="challenged"}')" "REGISTER challenged"
kv_assert_range 0 0 "$(delta 'kubevox_registration_attempts_total{result="auth_failed"}')" "REGISTER auth_failed"
kv_assert_range 1 1 "$(delta kubevox_calls_started_total)" "calls started"
kv_assert_range 1 1 "$(delta 'kubevox_calls_total{disposition="answered"}')" "calls answered"
kv_assert_range 0 0 "$(delta 'kubevox_calls_total{disposition="failed"}')" "calls failed"
kv_assert_eq 0 "$(kv_metric "$after" kubevox_calls_active)" "active calls after"
kv_assert_range 40 1000 "$(delta kubevox_rtp_packets_relayed_total)" "RTP packets relayed"
kv_assert_range $((40 * 172)) 1000000 "$(delta kubevox_rtp_bytes_relayed_total)" "RTP bytes relayed"
kv_assert_range 1 9 "$(delta 'kubevox_sip_requests_received_total{method="INVITE"}')" "INVITEs"
kv_assert_range 1 9 "$(delta 'kubevox_sip_requests_received_total{method="ACK"}')" "ACKs"
kv_assert_range 1 9 "$(delta 'kubevox_sip_requests_received_total{method="BYE"}')" "BYEs"
kv_assert_range 2 9 "$(delta 'kubevox_sip_requests_received_total{method="REGISTER"}')" "REGISTERs"
kv_assert_range 1 99 "$(delta 'kubevox_sip_responses_sent_total{class="1xx"}')" "1xx sent"
kv_assert_range 3 99 "$(delta 'kubevox_sip_responses_sent_total{class="2xx"}')" "2xx sent"
kv_assert_range 1 99 "$(delta 'kubevox_sip_responses_sent_total{class="4xx"}')" "4xx sent"
kv_assert_range 0 0 "$(delta kubevox_sip_parse_errors_total)" "parse errors"
kv_ok "/metrics: the registration and the call moved the counters"

# A wrong password counts as a failure, a garbage datagram as a parse error.
kv_register_fails 1001 wrong
printf 'not SIP at all\r\n\r\n' > "$KV_TMP/garbage"
python3 - "$KV_PORT" "$KV_TMP/garbage" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(open(sys.argv[2], "rb").read(), ("127.0.0.1", int(sys.argv[1])))
PY
for _ in $(seq 1 50); do
	kv_metrics "$before"
	[ "$(kv_metric "$before" kubevox_sip_parse_errors_total)" = 1 ] && break
	sleep 0.1
done
kv_assert_eq 1 "$(kv_metric "$before" kubevox_sip_parse_errors_total)" "parse errors"
kv_assert_range 1 1 "$(kv_metric "$before" 'kubevox_registration_attempts_total{result="auth_failed"}')" "REGISTER auth_failed"
kv_assert_range 1 1 "$(kv_metric "$before" kubevox_auth_failures_total)" "auth failures"
kv_ok "/metrics: auth failures and parse errors are counted"

kvd_stop
kv_pass
