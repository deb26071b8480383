#!/usr/bin/env bash
# test_ops_auth - on a host network port 8088 is open on every address of
# the node, so /status (who calls whom) and POST /reload need the bearer
# token of kubevox.conf's [http] token, which comes from a file the Secret
# provides (#include inside [http]); without a token configured they
# answer loopback clients only.  /livez, /readyz and /metrics stay open.
#
# The HTTP server binds 0.0.0.0 and is asked from 127.0.0.1 and from a
# non-loopback address of this machine: its first global IPv4 address,
# or, on a machine without one (or with KV_AUTH_NETNS=1), 192.0.2.200 on
# the loopback device of a private network namespace (unshare -n) that
# the whole test then runs in.  Checked: no token (loopback 200, remote
# 403); a token added by a reload (401 with WWW-Authenticate: Bearer
# without it or with a wrong one, from the loopback too; 200 with it, from
# anywhere); a reload that changes the token applies at once; refusals
# are logged and counted in /metrics.

# Before lib.sh (its temp dir and traps belong to the process that runs
# the test): move into a namespace of our own if this machine has no
# non-loopback address.
if [ -z "${KV_AUTH_IN_NETNS:-}" ]; then
	KV_REMOTE_IP=
	[ "${KV_AUTH_NETNS:-0}" = 1 ] ||
		KV_REMOTE_IP=$(ip -4 -o addr show scope global up 2>/dev/null |
			awk '{ sub(/\/.*/, "", $4); print $4; exit }')
	if [ -z "$KV_REMOTE_IP" ]; then
		command -v unshare >/dev/null ||
			{ echo "$0: no non-loopback address and no unshare" >&2; exit 1; }
		exec unshare -n env KV_AUTH_IN_NETNS=1 bash -c \
			'ip link set lo up && ip addr add 192.0.2.200/32 dev lo && exec bash "$0"' "$0"
	fi
	export KV_REMOTE_IP
else
	KV_REMOTE_IP=192.0.2.200
fi

. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { echo "$KV_TEST: curl is required" >&2; exit 77; }

TOKEN1=tok1-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
TOKEN2=tok2-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')

# req FROM METHOD PATH [TOKEN]: one request from address FROM to the
# server at FROM (a local address reaches itself from itself).  Sets CODE,
# BODY and AUTHN (the WWW-Authenticate header, "" when absent).
req()
{
	local from=$1 method=(-X "$2") path=$3 hdr=()

	[ -n "${4:-}" ] && hdr=(-H "Authorization: Bearer $4")
	# curl waits for the body a HEAD announces unless told it is a HEAD.
	[ "$2" = HEAD ] && method=(--head)
	CODE=$(curl -sS -m 10 "${method[@]}" --interface "$from" ${hdr[@]+"${hdr[@]}"} \
		-D "$KV_TMP/req.head" -o "$KV_TMP/req.body" -w '%{http_code}' \
		"http://$from:$KV_HTTP_PORT$path" 2> "$KV_TMP/req.err")
	BODY=$(cat "$KV_TMP/req.body" 2>/dev/null)
	AUTHN=$(sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: *//p' "$KV_TMP/req.head" | tr -d '\r')
}

# expect CODE FROM METHOD PATH [TOKEN]
expect()
{
	local want=$1
	shift
	req "$@"
	[ "$CODE" = "$want" ] ||
		kv_fail "$2 $3 from $1${4:+ with a token}: expected $want, got $CODE: $BODY $(cat "$KV_TMP/req.err")"
}

kv_conf_transports
kv_conf_user 1001
kv_conf_rtp_http 20
kv_conf_dirs
kv_conf_http
# Every address: what hostNetwork amounts to.
sed -i 's/^bindaddr=127\.0\.0\.1$/bindaddr=0.0.0.0/' "$KV_CONF/http.conf"
grep -q '^bindaddr=0\.0\.0\.0$' "$KV_CONF/http.conf" || kv_fail "http.conf: no bindaddr to change"
# The token's file, as the Secret would provide it; empty for now.
printf '; written by %s\n[http]\n#include http_auth.conf\n' "$KV_TEST" > "$KV_CONF/kubevox.conf"
printf '; the Secret\n' > "$KV_CONF/http_auth.conf"
kvd_start
kv_http_until /readyz 200
kv_log "remote address: $KV_REMOTE_IP${KV_AUTH_IN_NETNS:+ (network namespace)}"

# --- no token: the loopback only ------------------------------------------

expect 200 127.0.0.1 GET /status
python3 "$KV_SIP_DIR/kvops.py" json "$KV_TMP/req.body" || kv_fail "/status is not JSON: $BODY"
expect 200 127.0.0.1 POST /reload
expect 403 "$KV_REMOTE_IP" GET /status
kv_assert_match 'loopback clients only' "$BODY" "403 body"
kv_assert_nomatch 'calls' "$BODY" "403 body"
expect 403 "$KV_REMOTE_IP" HEAD /status
expect 403 "$KV_REMOTE_IP" POST /reload
expect 403 "$KV_REMOTE_IP" POST /reload "$TOKEN1"
for path in /livez /readyz /metrics; do
	expect 200 "$KV_REMOTE_IP" GET "$path"
done
kv_wait_log "event=http_refused path=/status src=$KV_REMOTE_IP:[0-9]+ reason=not_loopback"
kv_ok "no token: /status and /reload from 127.0.0.1 only (403 from $KV_REMOTE_IP); probes and /metrics open"

# --- a token, from the Secret's file, by a reload -------------------------

printf '; the Secret\ntoken = %s\n' "$TOKEN1" > "$KV_CONF/http_auth.conf"
expect 200 127.0.0.1 POST /reload
expect 401 127.0.0.1 GET /status
kv_assert_eq 'Bearer realm="kubevox"' "$AUTHN" "WWW-Authenticate without a token"
kv_assert_nomatch 'calls' "$BODY" "401 body"
expect 401 127.0.0.1 GET /status "$TOKEN2"
kv_assert_eq 'Bearer realm="kubevox", error="invalid_token"' "$AUTHN" \
	"WWW-Authenticate with a wrong token"
expect 401 127.0.0.1 GET /status "${TOKEN1%?}"
expect 401 127.0.0.1 GET /status "${TOKEN1}x"
expect 401 "$KV_REMOTE_IP" GET /status
expect 401 "$KV_REMOTE_IP" POST /reload
expect 401 "$KV_REMOTE_IP" POST /reload "$TOKEN2"
expect 200 127.0.0.1 GET /status "$TOKEN1"
python3 "$KV_SIP_DIR/kvops.py" json "$KV_TMP/req.body" || kv_fail "/status is not JSON: $BODY"
expect 200 "$KV_REMOTE_IP" GET /status "$TOKEN1"
expect 200 "$KV_REMOTE_IP" POST /reload "$TOKEN1"
for path in /livez /readyz /metrics; do
	expect 200 "$KV_REMOTE_IP" GET "$path"
done
kv_ok "token: 401 with WWW-Authenticate: Bearer without it or with a wrong one, from anywhere; 200 with it"

# --- a reload that changes the token applies at once ----------------------

printf '; the Secret\ntoken = %s\n' "$TOKEN2" > "$KV_CONF/http_auth.conf"
expect 200 "$KV_REMOTE_IP" POST /reload "$TOKEN1"
expect 401 "$KV_REMOTE_IP" GET /status "$TOKEN1"
expect 200 "$KV_REMOTE_IP" GET /status "$TOKEN2"
kv_ok "a new token applies with the reload that reads it"

# The token never reaches the log; refusals do (at a limited rate: five,
# then one a second), and /metrics counts every one.
grep -q -- "$TOKEN1\|$TOKEN2" "$KVD_LOG" && kv_fail "a token is in the log"
kv_wait_log 'event=http_refused path=/status src=127\.0\.0\.1:[0-9]+ reason=no_token'
kv_metrics "$KV_TMP/metrics"
kv_assert_eq 3 "$(kv_metric "$KV_TMP/metrics" 'kubevox_http_refused_total{reason="no_token"}')" \
	"refusals without a token"
kv_assert_eq 5 "$(kv_metric "$KV_TMP/metrics" 'kubevox_http_refused_total{reason="wrong_token"}')" \
	"refusals with a wrong token"
kv_assert_eq 4 "$(kv_metric "$KV_TMP/metrics" 'kubevox_http_refused_total{reason="not_loopback"}')" \
	"refusals of remote clients without a token configured"
kv_ok "refusals logged (not the token) and counted in /metrics"

kvd_stop
kv_pass
