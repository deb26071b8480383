#!/usr/bin/env bash
# test_trunk_register_nonsense - a provider that answers nonsense gets
# retries, never a crash or a hang (issue #11 item 1): 401 without any
# challenge, 401 with a challenge that does not parse, 401 asking for an
# algorithm we do not speak (each a failure: retried, as
# auth_rejection_permanent=no says), 302 (fatal: retried after
# fatal_retry_interval), a 200 that grants no binding (expires=0), a 200
# whose Contact and Expires do not parse (what we asked for is taken),
# then a refresh that works.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
cat >> "$KV_CONF/pjsip.conf" <<CONF

[pw]
type=auth
auth_type=userpass
username=u
password=p

[odd]
type=registration
server_uri=sip:127.0.0.1:$prov
client_uri=sip:u@itsp.test
outbound_auth=pw
expiration=4
retry_interval=1
fatal_retry_interval=1
auth_rejection_permanent=no
max_retries=20
max_random_initial_delay=0
CONF

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os
import kvprov
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")
answers = [
    (401, "Unauthorized", []),
    (401, "Unauthorized", [("WWW-Authenticate", 'Digest realm="x, nonce=')]),
    (401, "Unauthorized", [("WWW-Authenticate", 'Digest realm="x", nonce="y", algorithm=SHA-512-256')]),
    (407, "Proxy Authentication Required", [("Proxy-Authenticate", "Basic realm=\"x\"")]),
    (302, "Moved Temporarily", [("Contact", "<sip:elsewhere@127.0.0.1:1>")]),
]
for status, reason, headers in answers:
    r, src = p.expect("REGISTER before %d" % status, 15)
    assert r.get("authorization") is None and r.get("proxy-authorization") is None
    p.reply(r, src, status, reason, headers)
r, src = p.expect("REGISTER before a 200 without binding", 15)
p.reply(r, src, 200, "OK", [("Contact", "%s;expires=0" % r.get("contact"))])
r, src = p.expect("REGISTER before a 200 that does not parse", 15)
p.reply(r, src, 200, "OK", [("Contact", "<<<garbage"), ("Expires", "soon")])
print("nonsense answered; now a normal refresh (4 s asked: at 2 s)")
r, src = p.expect("the refresh of what was asked for", 15)
assert p.expires(r) == 4, r.get("expires")
p.ok(r, src, 600)
r, src = p.expect("the removal at exit", 30)
assert p.expires(r) == 0
p.reply(r, src, 200, "OK")
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.ready" ready
kvd_start
kv_wait_log 'event=outreg_registered registration=odd expires=4 ' 1
kv_ok "a 200 whose Contact and Expires do not parse: registered for the 4 s asked"
for why in 'code=401 reason=no_usable_challenge' 'code=407 reason=no_usable_challenge' \
	'code=302 reason=response' 'code=200 reason=no_binding_granted'; do
	kv_wait_log "event=outreg_failed registration=odd $why" 1
done
kv_wait_log 'event=outreg_registered registration=odd expires=600 ' 1
kv_ok "refreshed"
kvd_stop TERM
wait "$prov_pid" || kv_fail "the provider's checks"
kv_pass
