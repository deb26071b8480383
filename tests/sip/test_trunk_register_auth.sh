#!/usr/bin/env bash
# test_trunk_register_auth - outbound registration through a provider's
# proxy and registrar (issue #11 item 1), the provider played by
# tests/sip/kvprov.py, which checks every REGISTER it gets:
#   - each leaves from the transport's listening socket (127.0.0.1:KV_PORT,
#     the address providers latch on), with that address in Via and Contact;
#   - 407 offering SHA-256 then MD5 is answered with SHA-256 in
#     Proxy-Authorization (the topmost algorithm we speak);
#   - the registrar's 401 (MD5 without qop, RFC 2069) after it is answered
#     in Authorization, the proxy's credentials still there (nc 2);
#   - 423 Interval Too Brief gets the same REGISTER asking for Min-Expires;
#   - a stale=true challenge after that is answered again, not taken as a
#     refusal;
#   - on SIGTERM the binding is removed (Expires: 0, the same Contact).
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
cat >> "$KV_CONF/pjsip.conf" <<CONF

[itsp-auth]
type=auth
auth_type=userpass
username=4420001
password=s3cret!

[itsp]
type=registration
server_uri=sip:127.0.0.1:$prov
client_uri=sip:4420001@itsp.test
outbound_auth=itsp-auth
expiration=300
max_random_initial_delay=0
CONF

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os, sys, time
import kvprov

p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
kv = ("127.0.0.1", int(os.environ["KV_PORT"]))
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")

r, src = p.expect("first REGISTER", 15)
assert src == kv, "REGISTER from %r, not from the listener %r" % (src, kv)
assert r.uri == "sip:127.0.0.1:%s" % os.environ["PROV_PORT"], r.uri
assert r.values("via")[0].startswith("SIP/2.0/UDP 127.0.0.1:%d;" % kv[1]), r.values("via")
assert kvprov.contact_uri(r) == "sip:s@127.0.0.1:%d" % kv[1], r.get("contact")
assert r.get("to") == "<sip:4420001@itsp.test>", r.get("to")
assert r.get("from").startswith("<sip:4420001@itsp.test>;tag="), r.get("from")
assert p.expires(r) == 300, r.get("expires")
assert r.get("authorization") is None and r.get("proxy-authorization") is None
callid, cseq = r.call_id, r.cseq[0]
# The proxy: SHA-256 first, MD5 after.
h = [("Proxy-Authenticate", 'Digest realm="proxy.itsp.test", nonce="pn1", algorithm=SHA-256, qop="auth"'),
     ("Proxy-Authenticate", 'Digest realm="proxy.itsp.test", nonce="pn1", algorithm=MD5, qop="auth"')]
p.reply(r, src, 407, "Proxy Authentication Required", h)

r, src = p.expect("REGISTER with proxy credentials")
assert src == kv and r.call_id == callid and r.cseq[0] > cseq, (src, r.call_id, r.cseq)
cred = p.check_auth(r, "4420001", "s3cret!", "pn1", alg="SHA-256", realm="proxy.itsp.test",
                    header="proxy-authorization")
assert cred["nc"] == "00000001" and cred["qop"] == "auth", cred
assert r.get("authorization") is None
# The registrar: MD5, no qop.
p.challenge(r, src, 401, "MD5", realm="itsp.test", nonce="rn1", qop=False)

r, src = p.expect("REGISTER with both credentials")
cred = p.check_auth(r, "4420001", "s3cret!", "pn1", alg="SHA-256", realm="proxy.itsp.test",
                    header="proxy-authorization")
assert cred["nc"] == "00000002", cred
cred = p.check_auth(r, "4420001", "s3cret!", "rn1", alg="MD5", realm="itsp.test")
assert "qop" not in cred and "nc" not in cred, cred
p.reply(r, src, 423, "Interval Too Brief", [("Min-Expires", "600")])

r, src = p.expect("REGISTER asking for Min-Expires")
assert p.expires(r) == 600, r.get("expires")
p.challenge(r, src, 401, "MD5", realm="itsp.test", nonce="rn2", stale=True)

r, src = p.expect("REGISTER answering the stale challenge")
p.check_auth(r, "4420001", "s3cret!", "rn2", alg="MD5", realm="itsp.test")
contact = kvprov.contact_uri(r)
p.ok(r, src, 600)
print("registered: 407 SHA-256, 401 MD5 without qop, 423, stale nonce")

with open(os.environ["KV_TMP"] + "/prov.registered", "w") as f:
    f.write("ok")
r, src = p.expect("REGISTER removing the binding at exit", 30)
assert src == kv and r.call_id == callid, (src, r.call_id)
assert p.expires(r) == 0 and kvprov.contact_uri(r) == contact, (r.get("expires"), r.get("contact"))
p.challenge(r, src, 401, "MD5", realm="itsp.test", nonce="rn3", qop=True)
r, src = p.expect("the removal with credentials")
assert p.expires(r) == 0
p.check_auth(r, "4420001", "s3cret!", "rn3", alg="MD5", realm="itsp.test")
p.reply(r, src, 200, "OK")
print("removed at exit, authenticated")
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.ready" .
kvd_start
for _ in $(seq 1 150); do
	[ -f "$KV_TMP/prov.registered" ] && break
	kill -0 "$prov_pid" 2>/dev/null || break
	sleep 0.1
done
[ -f "$KV_TMP/prov.registered" ] || { wait "$prov_pid"; kv_fail "the provider did not see a registration through"; }
kv_wait_log 'event=outreg_registered registration=itsp expires=600 ' 1
kv_ok "registered through the proxy's 407 (SHA-256) and the registrar's 401 (MD5), 423 and a stale nonce"
kvd_stop TERM
wait "$prov_pid" || kv_fail "the provider's checks"
kv_ok "the binding was removed before the exit"
kv_pass
