#!/usr/bin/env bash
# test_trunk_register_tcp - outbound registration over TCP (issue #11 item
# 1): server_uri with transport=tcp (written \; as ; starts a comment in
# Asterisk's grammar) and the TCP transport; the REGISTER
# comes over a connection KubeVox opens, Via says TCP, the Contact names
# the TCP listener's address and port with transport=tcp, the challenge is
# answered on the same connection, and the removal at exit goes over TCP.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
cat >> "$KV_CONF/pjsip.conf" <<CONF

[pw]
type=auth
auth_type=userpass
username=u
password=p

[itsp]
type=registration
transport=transport-tcp
server_uri=sip:127.0.0.1:$prov\\;transport=tcp
client_uri=sip:u@itsp.test
outbound_auth=pw
max_random_initial_delay=0
CONF

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os
import kvprov
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]), tcp=True)
kvport = int(os.environ["KV_PORT"])
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")
r, src = p.expect("REGISTER over TCP", 15)
assert r.uri == "sip:127.0.0.1:%s;transport=tcp" % os.environ["PROV_PORT"], r.uri
assert r.values("via")[0].startswith("SIP/2.0/TCP 127.0.0.1:%d;" % kvport), r.values("via")
assert kvprov.contact_uri(r) == "sip:s@127.0.0.1:%d;transport=tcp" % kvport, r.get("contact")
nonce = p.challenge(r, src, 401, "SHA-256")
r, src2 = p.expect("REGISTER with credentials")
assert src2 == src, "another connection: %r, %r" % (src, src2)
p.check_auth(r, "u", "p", nonce, alg="SHA-256")
p.ok(r, src, 600)
r, src = p.expect("the removal at exit over TCP", 30)
assert p.expires(r) == 0
p.reply(r, src, 200, "OK")
print("registered and removed over TCP")
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.ready" ready
kvd_start
kv_wait_log 'event=outreg_registered registration=itsp expires=600 ' 1
kvd_stop TERM
wait "$prov_pid" || kv_fail "the provider's checks"
kv_ok "registered and removed over TCP"
kv_pass
