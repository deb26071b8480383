#!/usr/bin/env bash
# test_reload_sighup - SIGHUP forces a reload: with nothing changed (which
# the watcher never reloads) it logs event=config_reload result=ok
# trigger=SIGHUP and the daemon goes on serving; sent right after a change,
# the change is in force once that reload is logged; sent with an invalid
# configuration, it is rejected (result=failed trigger=SIGHUP) and the
# running one keeps serving.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002
orig=$KV_TMP/pjsip.conf.orig
cp "$KV_CONF/pjsip.conf" "$orig"
kvd_start

# 1. Nothing changed.
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload result=ok trigger=SIGHUP'
kill -0 "$KVD_PID" 2>/dev/null || kv_fail "kubevoxd gone after SIGHUP"
kv_register_ok 1001
kv_ok "SIGHUP, nothing changed: reloaded, still serving"

# 2. A change, then SIGHUP at once (the watcher may also see it; either
# way it is applied no later than the SIGHUP reload).
stage=$KV_TMP/stage
mkdir -p "$stage"
cp "$orig" "$stage/pjsip.conf"
KV_CONF=$stage kv_conf_call_users 1004
mv "$stage/pjsip.conf" "$KV_CONF/pjsip.conf"
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload result=ok trigger=SIGHUP' 2
kv_register_ok 1004
kv_ok "change + SIGHUP: 1004 registers once the SIGHUP reload is logged"

# 3. An invalid configuration, then SIGHUP.
{ cat "$orig"; printf '\n[1009]\ntype=aor\nmax_contacts=many\n'; } > "$stage/pjsip.conf"
mv "$stage/pjsip.conf" "$KV_CONF/pjsip.conf"
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload result=failed trigger=SIGHUP'
kv_wait_log 'event=config_problem msg="pjsip.conf:[0-9]+: .*max_contacts'
kv_register_ok 1004
kv_register_ok 1001
kv_ok "invalid + SIGHUP: rejected, the running configuration (with 1004) serves"

kvd_stop
kv_pass
