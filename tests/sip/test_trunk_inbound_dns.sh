#!/usr/bin/env bash
# test_trunk_inbound_dns - identify match= by host name, with kubevox.conf's
# name server (a dnsmasq on loopback, TTL 1 s):
#   edge.itsp.test   A 127.0.0.5                       -> endpoint edge (486)
#   sbc.itsp.test    SRV _sip._udp -> gw.itsp.test (A 127.0.0.7), and an A
#                    record 127.0.0.10 of its own      -> endpoint sbc (403)
#   alias.itsp.test  A 127.0.0.9, SRV -> gw2.itsp.test (127.0.0.8),
#                    srv_lookups=no                    -> endpoint alias (404)
# As Asterisk: a name with SRV records is its SRV targets' addresses (not
# its own A record), srv_lookups=no takes the A/AAAA records only, and
# requests from any other address are challenged (401).  The provider's
# side reads each final answer, which tells the endpoint's context.
# Then edge.itsp.test moves to 127.0.0.6 (dnsmasq re-reads its hosts file):
# once the TTL is over KubeVox follows it, and 127.0.0.5 is challenged.
# A reload that adds an identify for late.itsp.test resolves it.
. "$(dirname "$0")/lib.sh"

command -v dnsmasq > /dev/null || [ -x /usr/sbin/dnsmasq ] || kv_fail "dnsmasq is not installed"
dns=$(kv_free_port) || kv_fail "no port for the name server"
dm=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
dmuser=()
[ "$(id -u)" = 0 ] && dmuser=(--user=root)
hosts=$KV_TMP/hosts
printf '127.0.0.5 edge.itsp.test\n127.0.0.7 gw.itsp.test\n127.0.0.10 sbc.itsp.test\n' > "$hosts"
printf '127.0.0.9 alias.itsp.test\n127.0.0.8 gw2.itsp.test\n' >> "$hosts"
printf '127.0.0.11 late.itsp.test\n' >> "$hosts"
"$dm" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
	--port="$dns" --listen-address=127.0.0.1 --bind-interfaces --local=/#/ \
	--local-ttl=1 --addn-hosts="$hosts" "${dmuser[@]}" \
	--srv-host="_sip._udp.sbc.itsp.test,gw.itsp.test,5060,0,10" \
	--srv-host="_sip._udp.alias.itsp.test,gw2.itsp.test,5060,0,10" \
	> "$KV_TMP/dnsmasq.log" 2>&1 &
dm_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $dm_pid"
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] && break
	sleep 0.05
done
[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] || kv_fail "dnsmasq did not start: $(cat "$KV_TMP/dnsmasq.log")"

kv_conf_calls 1002
printf '; written by %s\n[dns]\nnameservers=127.0.0.1:%s\n' "$KV_TEST" "$dns" > "$KV_CONF/kubevox.conf"
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[edge]
type=endpoint
context=from-edge
allow=ulaw

[edge-identify]
type=identify
endpoint=edge
match=edge.itsp.test

[sbc]
type=endpoint
context=from-sbc
allow=ulaw

[sbc-identify]
type=identify
endpoint=sbc
match=sbc.itsp.test

[alias]
type=endpoint
context=from-alias
allow=ulaw

[alias-identify]
type=identify
endpoint=alias
match=alias.itsp.test
srv_lookups=no
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[from-edge]
exten => _X.,1,Busy()

[from-sbc]
exten => _X.,1,Hangup(21)

[from-alias]
exten => _X.,1,Hangup(1)
CONF
kvd_start
kv_wait_log 'event=identify_host_resolved identify=edge-identify host=edge.itsp.test addrs=127.0.0.5$'
kv_wait_log 'event=identify_host_resolved identify=sbc-identify host=sbc.itsp.test addrs=127.0.0.7$'
kv_wait_log 'event=identify_host_resolved identify=alias-identify host=alias.itsp.test addrs=127.0.0.9$'

# calls ADDR:STATUS...: a provider's INVITE from each address, the final
# answer each must get.
calls()
{
	kv_python_call "$@" <<'PY' || kv_fail "calls $*"
import sys

import kvsip

for arg in sys.argv[1:]:
    local, want = arg.split(":")
    p = kvsip.Phone(kvsip.kv_port(), "+15550001", password="")
    kvsip.rebind_phone(p, local)
    call = kvsip.OutCall(p, "5550100", sdp=kvsip.sdp_offer(40000))
    call.invite()
    _, r = call.expect_final(int(want), "INVITE from %s" % local)
    if want == "401":
        assert r.challenges(), "%s: 401 without a challenge" % local
    p.close()
    print("from %s: %s" % (local, r.start))
PY
}

calls 127.0.0.5:486 127.0.0.7:403 127.0.0.10:401 127.0.0.9:404 127.0.0.8:401 127.0.0.6:401
kv_ok "host names: A records, SRV targets (not the name's own A), srv_lookups=no"

sed -i 's/^127.0.0.5 edge.itsp.test$/127.0.0.6 edge.itsp.test/' "$hosts"
kill -HUP "$dm_pid"
# A name is asked again every few seconds (the cache answers until the
# TTL is over): give a loaded machine time before kv_wait_log's verdict.
moved='event=identify_host_resolved identify=edge-identify host=edge.itsp.test addrs=127.0.0.6$'
for _ in $(seq 1 300); do
	grep -Eq -- "$moved" "$KVD_LOG" && break
	sleep 0.1
done
kv_wait_log "$moved"
calls 127.0.0.6:486 127.0.0.5:401
kv_ok "edge.itsp.test moved: followed once its TTL was over"

cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[late-identify]
type=identify
endpoint=edge
match=late.itsp.test
CONF
kill -HUP "$KVD_PID"
kv_wait_log 'event=identify_host_resolved identify=late-identify host=late.itsp.test addrs=127.0.0.11$'
calls 127.0.0.11:486 127.0.0.6:486
kv_ok "a reload resolves the names it adds, and keeps the others"
kvd_stop
kv_pass
