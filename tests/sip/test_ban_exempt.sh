#!/usr/bin/env bash
# test_ban_exempt - [security] ban_exempt lists networks never banned:
# with ban_failures=2, unknown names and wrong passwords from 127.0.0.5
# (listed) are answered 401 each time, never 403, and its right password
# still registers, while the same from 127.0.0.6 (not listed) bans it.  A
# reload that lists 127.0.0.6 lets it in at once (an exempt source is not
# even checked) and its failures are not counted; one that takes it off
# the list again finds the ban it earned before still running to its end.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kv_conf_security ban_failures=2 ban_window=60 ban_time=300 \
	"ban_exempt = 10.0.0.0/8, 127.0.0.5" "ban_exempt = fd00::/8"
kvd_start

# fails LOCAL USER PASSWORD N: N REGISTERs with those credentials from
# LOCAL, each answered 401 after the credentials (never 403).
fails()
{
	kv_python "$@" <<'PY'
import os, sys
import kvsip

local, user, password, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    c = kvsip.Client(int(os.environ["KV_PORT"]), local=local)
    first, final = c.register(user, password)
    assert first is not None and first.status == 401, "%s try %d from %s: %s" % (
        user, i + 1, local, first and first.start)
    assert final is not None and final.status == 401, "%s try %d from %s: %s" % (
        user, i + 1, local, final and final.start)
    c.close()
PY
}

fails 127.0.0.5 9001 x 6 || kv_fail "unknown names from the exempt 127.0.0.5"
fails 127.0.0.5 1001 wrong 6 || kv_fail "wrong passwords from the exempt 127.0.0.5"
out=$(kv_py --local 127.0.0.5 register 1001 2>&1) || kv_fail "1001 from 127.0.0.5: $out"
SIPP_IP=127.0.0.5 kv_sipp_ok "exempt 127.0.0.5: OPTIONS 200" options_200.xml "$(kv_csv 9001)"
[ "$(kv_log_count 'event=ban ')" = 0 ] || kv_fail "a ban: $(grep 'event=ban ' "$KVD_LOG")"
kv_ok "12 failures from the exempt 127.0.0.5: never banned, 1001 registers from there"

fails 127.0.0.6 9001 x 2 || kv_fail "unknown names from 127.0.0.6"
kv_wait_log 'event=ban .*key=127\.0\.0\.6 scope=address failures=2'
out=$(kv_py --local 127.0.0.6 register 1001 2>&1) && kv_fail "1001 from the banned 127.0.0.6: $out"
kv_assert_match '^403$' "$out" "1001 from the banned 127.0.0.6"
kv_ok "the same from 127.0.0.6 (not exempt) bans it"

kv_conf_security ban_failures=2 ban_window=60 ban_time=300 \
	"ban_exempt = 127.0.0.5, 127.0.0.6"
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload result=ok trigger=SIGHUP'
out=$(kv_py --local 127.0.0.6 register 1001 2>&1) || kv_fail "1001 from 127.0.0.6, now exempt: $out"
fails 127.0.0.6 9001 x 3 || kv_fail "unknown names from 127.0.0.6, now exempt"
kv_ok "127.0.0.6 listed by a reload: its ban no longer applies, its failures are not counted"

kv_conf_security ban_failures=2 ban_window=60 ban_time=300 "ban_exempt = 127.0.0.5"
kill -HUP "$KVD_PID"
kv_wait_log 'event=config_reload result=ok trigger=SIGHUP' 2
out=$(kv_py --local 127.0.0.6 register 1001 2>&1) && kv_fail "1001 from 127.0.0.6, off the list: $out"
kv_assert_match '^403$' "$out" "127.0.0.6 off the list again: the ban it earned runs on"
kv_ok "127.0.0.6 off the list again: the ban it earned before runs to its end"

kvd_stop
kv_pass
