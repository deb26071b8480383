#!/usr/bin/env bash
# test_trunk_register_dns - a server_uri with a host name (issue #11 items
# 1 and 4): KubeVox locates the provider by RFC 3263 with the name servers
# of kubevox.conf [dns] (a dnsmasq on loopback: SRV _sip._udp.itsp.test ->
# sip1.itsp.test:PORT -> 127.0.0.1), and the REGISTER goes there with the
# name kept in its Request-URI.
. "$(dirname "$0")/lib.sh"

command -v dnsmasq > /dev/null || [ -x /usr/sbin/dnsmasq ] || kv_fail "dnsmasq is not installed"
prov=$(kv_free_port) || kv_fail "no port for the provider"
dns=$(kv_free_port) || kv_fail "no port for the name server"
dm=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
dmuser=()
[ "$(id -u)" = 0 ] && dmuser=(--user=root)
"$dm" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
	--port="$dns" --listen-address=127.0.0.1 --bind-interfaces --local=/#/ \
	--local-ttl=60 "${dmuser[@]}" \
	--srv-host="_sip._udp.itsp.test,sip1.itsp.test,$prov,0,10" \
	--host-record=sip1.itsp.test,127.0.0.1 > "$KV_TMP/dnsmasq.log" 2>&1 &
KV_BG_PIDS="$KV_BG_PIDS $!"
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] && break
	sleep 0.05
done
[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] || kv_fail "dnsmasq did not start: $(cat "$KV_TMP/dnsmasq.log")"

kv_conf_transports
printf '; written by %s\n[dns]\nnameservers=127.0.0.1:%s\n' "$KV_TEST" "$dns" > "$KV_CONF/kubevox.conf"
cat >> "$KV_CONF/pjsip.conf" <<CONF

[itsp]
type=registration
server_uri=sip:itsp.test
client_uri=sip:4420001@itsp.test
max_random_initial_delay=0
CONF

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os
import kvprov
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
kv = ("127.0.0.1", int(os.environ["KV_PORT"]))
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")
r, src = p.expect("REGISTER found through SRV", 20)
assert src == kv, src
assert r.uri == "sip:itsp.test", r.uri
assert r.get("to") == "<sip:4420001@itsp.test>", r.get("to")
p.ok(r, src, 600)
print("REGISTER sip:itsp.test reached sip1.itsp.test:%s" % os.environ["PROV_PORT"])
r, src = p.expect("the removal at exit", 30)
assert p.expires(r) == 0
p.reply(r, src, 200, "OK")
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.ready" ready
kvd_start
kv_wait_log 'event=outreg_registered registration=itsp expires=600 ' 1
kvd_stop TERM
wait "$prov_pid" || kv_fail "the provider's checks"
kv_ok "sip:itsp.test located by SRV through kubevox.conf's name server"
kv_pass
