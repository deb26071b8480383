#!/usr/bin/env bash
# test_trunk_register_line - Asterisk's line=yes (issue #11 item 1): the
# registration's Contact carries a line parameter, and a call the provider
# sends to that Contact belongs to the registration's endpoint= (its
# context routes it), though it comes from an address no identify matches
# and a caller no endpoint is called.  Without the parameter the same
# INVITE is not the trunk's.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
mp=$(kv_free_media_port) || kv_fail "no media ports"
kv_conf_transports
printf '; written by %s\n[general]\nrtpstart=%d\nrtpend=%d\n' "$KV_TEST" "$mp" $((mp + 3)) \
	> "$KV_CONF/rtp.conf"
cat >> "$KV_CONF/pjsip.conf" <<CONF

[itsp-in]
type=endpoint
context=from-itsp
disallow=all
allow=ulaw

[itsp]
type=registration
server_uri=sip:127.0.0.1:$prov
client_uri=sip:4420001@itsp.test
contact_user=4420001
line=yes
endpoint=itsp-in
max_random_initial_delay=0
CONF
cat > "$KV_CONF/extensions.conf" <<CONF
[from-itsp]
exten => _X.,1,Busy()
CONF

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os, re
import kvprov, kvsip
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
kv = ("127.0.0.1", int(os.environ["KV_PORT"]))
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")
r, src = p.expect("REGISTER", 15)
contact = kvprov.contact_uri(r)
m = re.match(r"sip:4420001@127\.0\.0\.1:%d;line=([0-9a-f]{16})$" % kv[1], contact)
assert m, "Contact with a line parameter: %r" % contact
p.ok(r, src, 600)
resp = p.invite(contact, kv, body=kvsip.sdp_offer(40000))
assert resp is not None and resp.status == 486, "INVITE to the Contact: %r" % (resp and resp.start)
print("INVITE to %s: routed by from-itsp (486)" % contact)
resp = p.invite(contact.split(";")[0], kv, body=kvsip.sdp_offer(40000))
assert resp is not None and resp.status != 486, "without line: %r" % (resp and resp.start)
print("without the line parameter: %s" % resp.start)
r, src = p.expect("the removal at exit", 30)
assert p.expires(r) == 0
p.reply(r, src, 200, "OK")
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.ready" ready
kvd_start
kv_wait_log 'event=call_start .*context=from-itsp' 1
kv_wait_log 'event=outreg_registered registration=itsp ' 1
kvd_stop TERM
wait "$prov_pid" || kv_fail "the provider's checks"
kv_assert_eq 1 "$(kv_log_count 'event=call_start ')" "calls that started (only the one with line)"
kv_ok "a call to the registration's Contact belongs to its endpoint"
kv_pass
