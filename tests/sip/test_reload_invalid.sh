#!/usr/bin/env bash
# test_reload_invalid - invalid changes are rejected and the running
# configuration keeps serving.  An endpoint whose auth= names no auth
# section, then a section header without its closing ']': each gives one
# event=config_reload result=failed (not one per poll) and an
# event=config_problem with the same pjsip.conf:LINE message as --check,
# while 1001 still registers and the bad endpoint does not exist.  Putting
# the file back gives result=ok.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002
orig=$KV_TMP/pjsip.conf.orig
cp "$KV_CONF/pjsip.conf" "$orig"
kvd_start

# 1. A dangling reference.
line=$(($(wc -l < "$orig") + 4))
printf '\n[1005]\ntype=endpoint\nauth=nosuch\naors=1001\ncontext=from-internal\n' \
	>> "$KV_CONF/pjsip.conf"
kv_wait_log 'event=config_reload result=failed trigger=(file_change|poll)'
kv_wait_log "event=config_problem msg=\"pjsip.conf:$line: endpoint '1005': auth 'nosuch' is not defined\""
kv_ok "auth=nosuch: result=failed, pjsip.conf:$line named"
kv_register_ok 1001
kv_register_fails 1005
kv_ok "1001 still registers, 1005 does not exist"
# Nothing changes any more: the rejection is not repeated on every poll.
sleep 5
kv_assert_eq 1 "$(kv_log_count 'event=config_reload result=failed')" "failed reloads for one change"
kv_assert_eq 0 "$(kv_log_count 'event=config_reload result=ok')" "reloads applied"

# 2. A syntax error, saved the way editors do (new file renamed over).
line=$(($(wc -l < "$orig") + 2))
{ cat "$orig"; printf '\n[1006\ntype=aor\n'; } > "$KV_CONF/.pjsip.conf.new"
mv "$KV_CONF/.pjsip.conf.new" "$KV_CONF/pjsip.conf"
kv_wait_log "event=config_problem msg=\"pjsip.conf:$line: no closing ']'\""
kv_wait_log 'event=config_reload result=failed' 2
kv_ok "syntax error: result=failed, pjsip.conf:$line named"
kv_register_ok 1001

# 3. Fixed: the configuration the daemon runs, as a reload confirms.
cp "$orig" "$KV_CONF/.pjsip.conf.new"
mv "$KV_CONF/.pjsip.conf.new" "$KV_CONF/pjsip.conf"
kv_wait_log 'event=config_reload result=ok trigger=(file_change|poll)'
kv_register_ok 1001
kv_assert_eq 2 "$(kv_log_count 'event=config_reload result=failed')" "failed reloads in all"
kv_ok "file put back: result=ok"

kvd_stop
kv_pass
