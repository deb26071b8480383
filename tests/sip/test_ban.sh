#!/usr/bin/env bash
# test_ban - with ban_failures=5 in a 60 s window, five wrong passwords from
# 127.0.0.1 get that address banned: every request from it, even OPTIONS or
# a REGISTER with the right password, gets 403; 127.0.0.2 is not affected.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kv_conf_security ban_failures=5 ban_window=60 ban_time=300
kvd_start

bad=$(kv_csv 1001 wrongpass)
good=$(kv_csv 1001)

SIPP_M=4 SIPP_L=1 kv_sipp_ok "SIPp: 4 wrong passwords from 127.0.0.1 (401 each)" reg_wrongpw.xml "$bad"
kv_sipp_ok "4 failures are below the limit: OPTIONS still 200" options_200.xml "$good"
kv_sipp_ok "SIPp: the 5th wrong password is still answered 401" reg_wrongpw.xml "$bad"

kv_sipp_ok "banned: OPTIONS from 127.0.0.1 gets 403" options_403.xml "$good"
kv_python <<'PY' || kv_fail "banned source"
import os
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))
first, _ = c.register("1001", "secret1001")
assert first is not None and first.status == 403, \
    "REGISTER from a banned address: %s" % (first and first.start)
r = c.transact(c.build("FOO", call_id="banned-foo"))
assert r is not None and r.status == 403, "FOO from a banned address: %s" % (r and r.start)
PY
kv_ok "banned: REGISTER and an unknown method from 127.0.0.1 get 403"

SIPP_IP=127.0.0.2 kv_sipp_ok "127.0.0.2 is not banned: OPTIONS 200" options_200.xml "$good"
SIPP_IP=127.0.0.2 kv_sipp_ok "127.0.0.2 is not banned: REGISTER 200" reg_200.xml "$good"
out=$(kv_py --local 127.0.0.2 query 1001 2>&1) || kv_fail "query from 127.0.0.2: $out"
kv_assert_match "^sip:1001@127\.0\.0\.2:[0-9]+;transport=UDP [1-9][0-9]*\$" "$out" "binding made from 127.0.0.2"

kvd_stop
kv_pass
