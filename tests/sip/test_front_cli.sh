#!/usr/bin/env bash
# test_front_cli - k8s/front/front.sh LISTEN_ADDR:PORT REPLICAS_FILE, the
# contract other tests rely on, without replicas behind it:
#   - bad command lines are refused with a clear message and status 2;
#   - an address Kamailio cannot bind ends front.sh with Kamailio's error
#     and a non-zero status, not a hang;
#   - the list follows REPLICAS_FILE (dispatcher.list on the control
#     socket): a file with a bad line is reported with its line number and
#     the list in use is kept; a missing file is an empty list, and a new
#     request then gets 503 with Retry-After from the front.
. "$(dirname "$0")/lib.sh"

fs=$KV_SRC/k8s/front/front.sh
export KV_FRONT_ADDR
refused()
{
	local want=$1 out rc
	shift

	out=$(timeout -k 2 10 "$fs" "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] || kv_fail "front.sh $*: status $rc, expected 2: $out"
	kv_assert_match "$want" "$out" "front.sh $*"
}
refused 'usage: front.sh LISTEN_ADDR:PORT REPLICAS_FILE'
refused 'usage: front.sh' "$KV_FRONT_ADDR:5060"
refused "LISTEN_ADDR:PORT expected, got '$KV_FRONT_ADDR'" "$KV_FRONT_ADDR" "$KV_TMP/replicas"
refused 'invalid port' "$KV_FRONT_ADDR:sip" "$KV_TMP/replicas"
refused 'port out of range' "$KV_FRONT_ADDR:99999" "$KV_TMP/replicas"
refused 'no address' ":5060" "$KV_TMP/replicas"
FRONT_ADVERTISE="not an address" refused "FRONT_ADVERTISE: HOST\[:PORT\] expected" \
	"$KV_FRONT_ADDR:5060" "$KV_TMP/replicas"
FRONT_ADVERTISE=203.0.113.10 FRONT_INSIDE="$KV_FRONT_ADDR:5060" \
	refused 'FRONT_INSIDE must differ' "$KV_FRONT_ADDR:5060" "$KV_TMP/replicas"
FRONT_ADVERTISE=203.0.113.10 refused "FRONT_INSIDE: ADDR:PORT expected, got '$KV_FRONT_ADDR:65536'" \
	"$KV_FRONT_ADDR:65535" "$KV_TMP/replicas"
kv_ok "bad command lines refused with status 2"

port=$(kv_free_port)
: > "$KV_TMP/replicas"
timeout -k 2 20 "$fs" "192.0.2.1:$port" "$KV_TMP/replicas" > "$KV_TMP/nobind.log" 2>&1
rc=$?
{ [ "$rc" != 0 ] && [ "$rc" != 124 ]; } || kv_fail "front.sh on an address not ours: status $rc: $(tail -n 5 "$KV_TMP/nobind.log")"
kv_assert_match 'kamailio exited with status' "$(cat "$KV_TMP/nobind.log")" "front.sh on 192.0.2.1"
kv_ok "an address Kamailio cannot bind: front.sh exits $rc"

# The list in use, as Kamailio has it.
ds_uris()
{
	kamcmd -s "unix:$KV_TMP/front/ctl.sock" dispatcher.list 2>&1 |
		sed -n 's/^[[:space:]]*URI: //p' | sort | tr '\n' ' '
}
# wait_uris WANT: up to 10 s for the list to be WANT.
wait_uris()
{
	local got=

	for _ in $(seq 1 100); do
		got=$(ds_uris)
		[ "$got" = "$1" ] && return 0
		sleep 0.1
	done
	kv_fail "dispatcher list '$got', expected '$1'"
}

kv_front_start 1 2
wait_uris "sip:127.0.0.2:$KV_PORT sip:127.0.0.3:$KV_PORT "
printf 'sip:127.0.0.4:%d\nhttp://127.0.0.5:80\n' "$KV_PORT" > "$KV_TMP/replicas"
kv_front_wait_log "replicas:2: expected sip:HOST:PORT, got 'http://127.0.0.5:80'"
wait_uris "sip:127.0.0.2:$KV_PORT sip:127.0.0.3:$KV_PORT "
kv_ok "a bad line is reported with its number, the list in use is kept"

printf '# one replica\n\n  sip:127.0.0.4:%d  # r3\n' "$KV_PORT" > "$KV_TMP/replicas"
wait_uris "sip:127.0.0.4:$KV_PORT "
kv_ok "comments and blanks ignored, the new list loaded"

rm -f "$KV_TMP/replicas"
wait_uris ""
kv_python <<'PY' || kv_fail "a request with no replica"
import kvsip
p = kvsip.FrontPhone("1001", local="127.0.1.1")
_, final = p.register("1001", "secret1001")
assert final is not None and final.status == 503, final and final.start
assert final.get("retry-after"), "503 without Retry-After"
print("no replica: %s, Retry-After: %s" % (final.start, final.get("retry-after")))
PY
kv_ok "REPLICAS_FILE removed: an empty list, new requests get 503 with Retry-After"
kv_front_stop
kv_pass
