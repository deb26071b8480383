#!/usr/bin/env bash
# test_ops_status - GET /status is one JSON object (checked by Python's
# json, strictly): version, uptime, draining, contacts, the state backend
# (memory: healthy, no replica), and the active calls with their channels,
# caller, extension, state and durations, idle and during a bridged call.
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

kv_http GET /status
kv_assert_eq 200 "$KV_HTTP_CODE" "GET /status"
kv_assert_match '^application/json' "$KV_HTTP_TYPE" "/status Content-Type"
python3 -m json.tool "$KV_TMP/http.body" > /dev/null || kv_fail "/status is not JSON: $KV_HTTP_BODY"
python3 "$KV_SIP_DIR/kvops.py" json "$KV_TMP/http.body" || kv_fail "/status is not strict JSON"
version=$("$KV_BIN/kubevoxd" -V 2>&1 | grep -Eo '[0-9]+\.[0-9]+\.[0-9]+' | head -n 1)
PYTHONPATH=$KV_SIP_DIR python3 - "$KV_TMP/http.body" "$version" <<'PY' || kv_fail "idle /status"
import sys, kvops
st = kvops.parse_json(open(sys.argv[1]).read())
want = {"version", "uptime_seconds", "draining", "contacts", "calls_active", "state",
        "cross_replica_deliveries", "replicas", "registrations", "calls"}
assert set(st) == want, "keys %r" % sorted(st)
state = st["state"]
assert state["backend"] == "memory" and state["healthy"] is True, state
rt = state["round_trips"]
assert rt["count"] == 0 and rt["le_ms"]["+Inf"] == 0 and len(rt["le_ms"]) == 9, rt
assert state["written_back"] == 0 and state["errors"] == 0, state
assert st["replicas"] == [] and st["cross_replica_deliveries"] == 0, st
assert st["registrations"] == [], st
assert st["version"] == sys.argv[2], st
assert isinstance(st["uptime_seconds"], int) and 0 <= st["uptime_seconds"] < 600, st
assert st["draining"] is False, st
assert st["contacts"] == 0 and st["calls_active"] == 0 and st["calls"] == [], st
print("idle:", st)
PY
kv_ok "/status while idle"

kv_python_call <<'PY' || kv_fail "/status during a call"
import time, kvops, kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media = [a]
callee.media = [b]
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()

code, ctype, body = kvops.http(kvops.http_port(), "/status")
assert code == 200, (code, body)
st = kvops.parse_json(body)
assert st["contacts"] == 1 and st["calls_active"] == 1, st
c = st["calls"][0]
assert c["state"] == "dialing" and c["billsec"] == 0, c

inc.answer(kvsip.sdp_offer(b.port))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()
kvsip.send_stream(a, call.answer.media, "a", 10)
kvsip.expect_stream(b, "a", 10, 0, inc.offer.media)
time.sleep(1.2)

code, ctype, body = kvops.http(kvops.http_port(), "/status")
assert code == 200, (code, body)
st = kvops.parse_json(body)
assert st["calls_active"] == 1 and len(st["calls"]) == 1, st
c = st["calls"][0]
keys = {"uniqueid", "channel", "dstchannel", "caller", "exten", "state", "seconds", "billsec"}
assert set(c) == keys, "keys %r" % sorted(c)
assert isinstance(c["uniqueid"], str) and c["uniqueid"], c
assert c["channel"].startswith("PJSIP/1001-"), c
assert c["dstchannel"].startswith("PJSIP/1002-"), c
assert c["caller"] == "1001" and c["exten"] == "1002", c
assert c["state"] == "bridged", c
assert c["seconds"] >= c["billsec"] >= 1.0, c
print("bridged:", c)

r = call.bye()
assert r.status == 200, r.start
inc.answer_bye()
PY
kv_wait_log 'event=call_end'
kv_http GET /status
python3 "$KV_SIP_DIR/kvops.py" json "$KV_TMP/http.body" || kv_fail "/status is not strict JSON"
kv_assert_match '"calls_active":0,.*"calls":\[\]}$' "$KV_HTTP_BODY" "/status after the call"
kv_ok "/status lists the call while it lasts, and no more"

kvd_stop
kv_pass
