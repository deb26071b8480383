#!/usr/bin/env bash
# test_trunk_register_reload - outbound registrations follow a reload
# (issue #11 item 1): a section that does not change keeps its
# registration (no REGISTER); a changed one is removed (Expires: 0) and
# registered again as now written, the removal first; a section deleted is
# removed.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
cp "$KV_CONF/pjsip.conf" "$KV_TMP/pjsip.base"
trunk()
{
	cat "$KV_TMP/pjsip.base"
	printf '\n[itsp]\ntype=registration\nserver_uri=sip:127.0.0.1:%s\n' "$prov"
	printf 'client_uri=sip:4420001@itsp.test\nmax_random_initial_delay=0\n%s\n' "$1"
}
trunk "expiration=300" > "$KV_CONF/pjsip.conf"

KV_TMP=$KV_TMP PROV_PORT=$prov kv_python <<'PY' &
import os, time
import kvprov
p = kvprov.Provider(port=int(os.environ["PROV_PORT"]))
step = lambda s: open(os.environ["KV_TMP"] + "/prov.step", "w").write(s + "\n")
step("ready")
r, src = p.expect("REGISTER", 15)
assert p.expires(r) == 300
first = r.call_id
p.ok(r, src, 300)
step("registered")
# A reload that changes nothing here (the test touches another file).
p.nothing("an unchanged section sends nothing", 3)
step("quiet")
r, src = p.expect("the removal of the changed registration", 15)
assert p.expires(r) == 0 and r.call_id == first, (r.get("expires"), r.call_id)
p.reply(r, src, 200, "OK")
r, src = p.expect("the registration as now written", 15)
assert p.expires(r) == 120 and r.call_id != first, (r.get("expires"), r.call_id)
second = r.call_id
p.ok(r, src, 120)
step("changed")
r, src = p.expect("the removal of the deleted section", 15)
assert p.expires(r) == 0 and r.call_id == second
p.reply(r, src, 200, "OK")
step("deleted")
p.nothing("nothing after the section is gone", 2)
PY
prov_pid=$!
KV_BG_PIDS="$KV_BG_PIDS $prov_pid"
kv_wait_file "$KV_TMP/prov.step" ready
kvd_start
kv_wait_file "$KV_TMP/prov.step" registered
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload' 1
kv_wait_file "$KV_TMP/prov.step" quiet
trunk "expiration=120" > "$KV_CONF/pjsip.conf"
kill -HUP "$KVD_PID"
kv_wait_file "$KV_TMP/prov.step" changed
kv_ok "a changed registration: removed, then registered as written"
cp "$KV_TMP/pjsip.base" "$KV_CONF/pjsip.conf"
kill -HUP "$KVD_PID"
kv_wait_file "$KV_TMP/prov.step" deleted
kv_ok "a deleted registration: removed"
wait "$prov_pid" || kv_fail "the provider's checks"
kvd_stop TERM
kv_pass
