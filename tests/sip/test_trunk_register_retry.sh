#!/usr/bin/env bash
# test_trunk_register_retry - what an outbound registration does after a
# failure (issue #11 item 1), with Asterisk's options and meaning, each
# registration against its own provider (tests/sip/kvprov.py), and what
# /status and /metrics say meanwhile:
#   flaky   403 with forbidden_retry_interval=1: tried again; then no answer
#           at all (timer F): a failure (408), tried again after
#           retry_interval; then 200.
#   banned  403 with forbidden_retry_interval=0 (the default): rejected,
#           nothing more is sent.
#   badpw   401 to our credentials: rejected (auth_rejection_permanent=yes).
#   limited 503, 503 with max_retries=1: rejected after one retry.
. "$(dirname "$0")/lib.sh"

port_flaky=$(kv_free_port) || kv_fail "no port for flaky"
port_banned=$(kv_free_port) || kv_fail "no port for banned"
port_badpw=$(kv_free_port) || kv_fail "no port for badpw"
port_limited=$(kv_free_port) || kv_fail "no port for limited"
kv_conf_transports
kv_conf_http
{
	printf '\n[pw]\ntype=auth\nauth_type=userpass\nusername=u\npassword=p\n'
	printf '\n[flaky]\ntype=registration\nserver_uri=sip:127.0.0.1:%s\n' "$port_flaky"
	printf 'client_uri=sip:flaky@itsp.test\nforbidden_retry_interval=1\nretry_interval=1\n'
	printf 'max_retries=3\nmax_random_initial_delay=0\n'
	printf '\n[banned]\ntype=registration\nserver_uri=sip:127.0.0.1:%s\n' "$port_banned"
	printf 'client_uri=sip:banned@itsp.test\nretry_interval=1\nmax_random_initial_delay=0\n'
	printf '\n[badpw]\ntype=registration\nserver_uri=sip:127.0.0.1:%s\n' "$port_badpw"
	printf 'client_uri=sip:badpw@itsp.test\noutbound_auth=pw\nretry_interval=1\n'
	printf 'max_random_initial_delay=0\n'
	printf '\n[limited]\ntype=registration\nserver_uri=sip:127.0.0.1:%s\n' "$port_limited"
	printf 'client_uri=sip:limited@itsp.test\nretry_interval=1\nmax_retries=1\n'
	printf 'max_random_initial_delay=0\n'
} >> "$KV_CONF/pjsip.conf"
kvd_start

KV_HTTP_PORT=$KV_HTTP_PORT PORTS="$port_flaky $port_banned $port_badpw $port_limited" \
	kv_python <<'PY' || kv_fail "retries after failures"
import json, os, time, urllib.request
import kvprov

flaky, banned, badpw, limited = (kvprov.Provider(port=int(p)) for p in os.environ["PORTS"].split())

def status(name):
    url = "http://127.0.0.1:%s/status" % os.environ["KV_HTTP_PORT"]
    doc = json.load(urllib.request.urlopen(url, timeout=5))
    return next(r for r in doc["registrations"] if r["name"] == name)

def status_until(name, pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        r = status(name)
        if pred(r):
            return r
        assert time.monotonic() < deadline, "%s: %r" % (what, r)
        time.sleep(0.1)

# banned: 403, and nothing more.
r, src = banned.expect("banned: REGISTER")
banned.reply(r, src, 403, "Forbidden")
st = status_until("banned", lambda r: r["status"] == "rejected", "banned is rejected")
assert st["last_code"] == 403 and st["failures"] == 1 and not st["registered"], st
assert st["next_attempt"] == 0, st

# badpw: our credentials refused.
r, src = badpw.expect("badpw: REGISTER")
nonce = badpw.challenge(r, src, 401)
r, src = badpw.expect("badpw: REGISTER with credentials")
badpw.check_auth(r, "u", "p", nonce)
badpw.challenge(r, src, 401)
st = status_until("badpw", lambda r: r["status"] == "rejected", "badpw is rejected")
assert st["last_code"] == 401 and st["failures"] == 1, st

# limited: 503, one retry, 503: rejected.
r, src = limited.expect("limited: REGISTER")
limited.reply(r, src, 503, "Service Unavailable")
st = status_until("limited", lambda r: r["failures"] == 1, "limited failed once")
assert st["status"] == "unregistered" and st["last_code"] == 503 and st["next_attempt"] > 0, st
r, src = limited.expect("limited: the one retry")
limited.reply(r, src, 503, "Service Unavailable")
st = status_until("limited", lambda r: r["status"] == "rejected", "limited is rejected")
assert st["failures"] == 2, st

# flaky: 403 (retried), no answer (retried), 200.
r, src = flaky.expect("flaky: REGISTER")
callid = r.call_id
flaky.reply(r, src, 403, "Forbidden")
st = status_until("flaky", lambda r: r["failures"] == 1, "flaky failed once")
assert st["last_code"] == 403 and st["status"] == "unregistered", st
r, src = flaky.expect("flaky: REGISTER after forbidden_retry_interval")
assert r.call_id == callid, "a retry is the same registration (Call-ID)"
print("flaky: 403, retried; now saying nothing (timer F is 32 s)")
r, src = flaky.expect("flaky: REGISTER after the timeout", timeout=45)
assert r.call_id == callid
st = status("flaky")
assert st["last_code"] == 408 and st["failures"] == 2, st
flaky.ok(r, src, 600)
st = status_until("flaky", lambda r: r["registered"], "flaky registered")
assert st["status"] == "registered" and st["failures"] == 2, st

for p in (banned, badpw, limited):
    p.nothing("a rejected registration sends nothing more", 1.5)
print("retries as configured; rejections stay rejected")
PY
kv_ok "403, timeout, 401 to our credentials and max_retries do what Asterisk does"

kv_metrics "$KV_TMP/metrics"
for n in flaky:2:1 banned:1:0 badpw:1:0 limited:2:0; do
	IFS=: read -r name fails reg <<< "$n"
	kv_assert_eq "$fails" "$(kv_metric "$KV_TMP/metrics" "kubevox_outbound_registration_failures_total{registration=\"$name\"}")" \
		"failures of $name"
	kv_assert_eq "$reg" "$(kv_metric "$KV_TMP/metrics" "kubevox_outbound_registration_registered{registration=\"$name\"}")" \
		"registered gauge of $name"
done
kv_wait_log 'event=outreg_rejected registration=banned code=403' 1
kv_wait_log 'event=outreg_failed registration=flaky code=408 reason=timeout' 1
kvd_stop TERM
kv_pass
