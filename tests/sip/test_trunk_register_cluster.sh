#!/usr/bin/env bash
# test_trunk_register_cluster - in cluster mode one replica at a time
# registers a trunk (issue #11 item 6): three replicas, one Redis, one
# provider (tests/sip/kvprov.py, which logs where each REGISTER came from).
#   - exactly one replica registers; Redis's kv:lease:reg:trunk names it;
#     the others' /status says standby and names the holder;
#   - the holder is killed (SIGKILL): another replica takes the lease once
#     it lapses and registers from its own address;
#   - that one drains (SIGTERM): it gives the lease up at the start of its
#     drain, and the last replica registers.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
kv_conf_http
cat >> "$KV_CONF/pjsip.conf" <<CONF

[trunk]
type=registration
server_uri=sip:127.0.0.1:$prov
client_uri=sip:trunk@itsp.test
contact_user=pbx
expiration=600
max_random_initial_delay=0
CONF

# The provider: 200 to every REGISTER; one line per REGISTER in seen.log.
KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os, time
import kvprov
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
log = open(os.environ["KV_TMP"] + "/seen.log", "a", buffering=1)
open(os.environ["KV_TMP"] + "/prov.ready", "w").write("ready\n")
end = time.monotonic() + 55
while time.monotonic() < end:
    r, src = p.recv(timeout=1)
    if r is None:
        continue
    exp = p.expires(r)
    log.write("%s %d %s %s\n" % (src[0], exp, kvprov.contact_uri(r), r.call_id))
    if exp:
        p.ok(r, src, exp)
    else:
        p.reply(r, src, 200, "OK")
PY
KV_BG_PIDS="$KV_BG_PIDS $!"
kv_wait_file "$KV_TMP/prov.ready" ready

kv_cluster_start 3

# registering_replica: the replica (1..3) of the last REGISTER that asked
# for a binding, waiting up to 15 s for one from a replica not in $1.
registering_replica()
{
	local not=$1 ip i

	for _ in $(seq 1 150); do
		ip=$(awk '$2 != 0 { ip = $1 } END { print ip }' "$KV_TMP/seen.log" 2>/dev/null)
		if [ -n "$ip" ]; then
			i=$(( ${ip##*.} - 1 ))
			case " $not " in
			*" $i "*) ;;
			*) printf '%s\n' "$i"; return 0 ;;
			esac
		fi
		sleep 0.1
	done
	return 1
}

first=$(registering_replica "") || kv_fail "no replica registered within 15 s"
kv_assert_eq "r$first" "$(kv_redis_cli get kv:lease:reg:trunk)" "the lease's holder"
# Two renewal periods later still only that replica has registered.
sleep 4.5
kv_assert_eq "127.0.0.$((first + 1))" "$(awk '{ print $1 }' "$KV_TMP/seen.log" | sort -u)" \
	"the only replica that sent REGISTER"
kv_assert_match "^sip:pbx@127\.0\.0\.$((first + 1)):$KV_PORT " "$(head -n 1 "$KV_TMP/seen.log" | cut -d' ' -f3-)" \
	"the Contact is the holder's own address"
kv_ok "r$first alone registers the trunk"

for i in 1 2 3; do
	[ "$i" = "$first" ] && continue
	KV_HTTP_HOST=$(kv_replica_addr "$i") kv_http GET /status
	kv_assert_eq 200 "$KV_HTTP_CODE" "GET /status on r$i"
	python3 - "$KV_TMP/http.body" "r$first" <<'PY' || kv_fail "/status on r$i"
import json, sys
r = json.load(open(sys.argv[1]))["registrations"][0]
assert r["name"] == "trunk" and r["status"] == "standby" and not r["registered"], r
assert r["holder"] == sys.argv[2], r
PY
done
kv_ok "the other replicas stand by and name r$first as the holder"

kv_replica_stop "$first" KILL
second=$(registering_replica "$first") || kv_fail "nobody took over after r$first was killed"
kv_assert_eq "r$second" "$(kv_redis_cli get kv:lease:reg:trunk)" "the lease's holder after the kill"
kv_ok "r$first killed: r$second took the lease over and registered"

kv_replica_stop "$second" TERM
third=$(registering_replica "$first $second") || kv_fail "nobody took over after r$second drained"
kv_assert_eq "r$third" "$(kv_redis_cli get kv:lease:reg:trunk)" "the lease's holder after the drain"
KVD_LOG=$(eval echo "\$KV_RLOG_$second") kv_wait_log 'event=outreg_lease_released registration=trunk reason=drain' 1
kv_ok "r$second drained: it gave the lease up and r$third registered"

KV_HTTP_HOST=$(kv_replica_addr "$third") kv_http_until /status 200
python3 - "$KV_TMP/http.body" "r$third" <<'PY' || kv_fail "/status on the last holder"
import json, sys, time
r = json.load(open(sys.argv[1]))["registrations"][0]
assert r["holder"] == sys.argv[2], r
PY
kv_cluster_stop
kv_pass
