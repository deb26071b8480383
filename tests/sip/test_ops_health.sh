#!/usr/bin/env bash
# test_ops_health - /livez and /readyz of a running daemon: both 200 once
# it is up; POST /debug/freeze?ms=4000 (kubevox.conf [debug]
# allow_freeze=yes) blocks the main loop, /livez turns 503 within the
# freeze (its SIP OPTIONS goes unanswered, or the loop heartbeat stops) and
# 200 again after it.  Without allow_freeze the debug route does not exist.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "$KV_TEST: curl is required" >&2; exit 77; }

kv_conf_transports
kv_conf_user 1001
kv_conf_debug_freeze
kv_conf_http
kvd_start

kv_http_until /livez 200
kv_assert_match '^live: ' "$KV_HTTP_BODY" "/livez body"
kv_assert_match 'OPTIONS to 127\.0\.0\.1:'"$KV_PORT"' answered 200' "$KV_HTTP_BODY" "/livez body"
kv_http_until /readyz 200
kv_assert_eq "ready" "$KV_HTTP_BODY" "/readyz body"
kv_ok "/livez and /readyz answer 200"

kv_http POST '/debug/freeze?ms=4000'
kv_assert_eq 202 "$KV_HTTP_CODE" "POST /debug/freeze"
kv_http_until /livez 503 10
kv_assert_match '^not live: (main loop stalled|sip: OPTIONS to 127\.0\.0\.1:'"$KV_PORT"' not answered)' \
	"$KV_HTTP_BODY" "/livez body while frozen"
kv_ok "/livez is 503 while the main loop is frozen: $KV_HTTP_BODY"
kv_http_until /livez 200 15
kv_http_until /readyz 200
kv_ok "/livez and /readyz are 200 again after the freeze"
kv_wait_log 'event=debug_freeze'

# SIP still works after the freeze.
kv_py register 1001 > /dev/null || kv_fail "REGISTER after the freeze"
kvd_stop

# Without [debug] allow_freeze the route is not there.
kv_conf_security ban_failures=20
kv_conf_http
kvd_start
kv_http_until /livez 200
kv_http POST '/debug/freeze?ms=4000'
kv_assert_eq 404 "$KV_HTTP_CODE" "POST /debug/freeze without allow_freeze"
kv_http GET /livez
kv_assert_eq 200 "$KV_HTTP_CODE" "/livez"
kv_ok "no /debug/freeze without allow_freeze"
kvd_stop
kv_pass
