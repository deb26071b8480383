#!/usr/bin/env bash
# test_ban_guess - what guessing bans (issue #9 item 3), ban_failures=3:
#  - unknown usernames tried from an address without registrations
#    (127.0.0.3) ban the address: every request from it gets 403, even an
#    existing user with the right password, while 127.0.0.1 is served;
#  - the same from an address whose phones are registered (127.0.0.1, an
#    office behind NAT) bans only the username tried at the threshold and
#    after: the office's phones keep registering, other names are served;
#  - wrong passwords of an existing user count per (address, user) even
#    from an address without registrations (127.0.0.4): that user is
#    banned there, another user from the same address is not.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kv_conf_user 1002
kv_conf_security ban_failures=3 ban_window=60 ban_time=300
kvd_start

# guess LOCAL EXPECT USER/PASSWORD...: one REGISTER with credentials from
# LOCAL per USER/PASSWORD, in order; EXPECT is the status of each final
# answer (401 after the credentials, or 403 when refused at once).
guess()
{
	kv_python "$@" <<'PY'
import os, sys
import kvsip

local, want = sys.argv[1], int(sys.argv[2])
for cred in sys.argv[3:]:
    user, password = cred.split("/")
    c = kvsip.Client(int(os.environ["KV_PORT"]), local=local)
    first, final = c.register(user, password)
    got = final if first is not None and first.status == 401 else first
    assert got is not None and got.status == want, "REGISTER %s from %s: %s, expected %d" % (
        user, local, got and got.start, want)
    c.close()
PY
}

# 1. Guessing from an address with no registrations bans the address.
guess 127.0.0.3 401 9001/x 9002/x 9003/x || kv_fail "3 guesses from 127.0.0.3"
kv_wait_log 'event=ban .*key=127\.0\.0\.3 scope=address failures=3 window=60 ban_time=300'
guess 127.0.0.3 403 9004/x 1001/secret1001 ||
	kv_fail "a fourth name, and 1001's right password, from the banned address"
SIPP_IP=127.0.0.3 kv_sipp_ok "banned address: OPTIONS 403" options_403.xml "$(kv_csv 1002)"
kv_register_ok 1001
kv_ok "3 unknown names from 127.0.0.3 (no registrations): the address is banned, 127.0.0.1 is not"

# 2. The same from an office with registered phones (1001 just registered
# from 127.0.0.1) bans only the names tried at the threshold and after.
guess 127.0.0.1 401 9001/x 9002/x 9003/x || kv_fail "office: 3 guesses"
kv_wait_log 'event=ban .*key="127\.0\.0\.1 9003" scope=user failures=3'
guess 127.0.0.1 403 9003/x || kv_fail "office: the banned name"
guess 127.0.0.1 401 9004/x || kv_fail "office: a fourth name (counted, then banned)"
kv_wait_log 'event=ban .*key="127\.0\.0\.1 9004" scope=user failures=4'
guess 127.0.0.1 403 9004/x || kv_fail "office: the fourth name is banned"
kv_register_ok 1001
kv_register_ok 1002
out=$(kv_py query 1001 2>&1) || kv_fail "query of 1001 from the office: $out"
SIPP_IP=127.0.0.1 kv_sipp_ok "office: OPTIONS from 1002 200" options_200.xml "$(kv_csv 1002)"
[ "$(kv_log_count 'event=ban .*key=127\.0\.0\.1 ')" = 0 ] ||
	kv_fail "the office's address was banned: $(grep 'event=ban ' "$KVD_LOG")"
kv_ok "guesses from the office (127.0.0.1, registered phones): only 9003 and 9004 banned"

# 3. An existing user's wrong passwords ban that user only, wherever.
guess 127.0.0.4 401 1002/wrong 1002/wrong 1002/wrong || kv_fail "1002's wrong passwords"
kv_wait_log 'event=ban .*key="127\.0\.0\.4 1002" scope=user failures=3'
guess 127.0.0.4 403 1002/secret1002 || kv_fail "1002 from 127.0.0.4 after the ban"
out=$(kv_py --local 127.0.0.4 register 1001 2>&1) || kv_fail "1001 from 127.0.0.4: $out"
out=$(kv_py --local 127.0.0.5 register 1002 2>&1) || kv_fail "1002 from 127.0.0.5: $out"
kv_ok "1002's wrong passwords from 127.0.0.4: 1002 banned there, 1001 there and 1002 elsewhere served"

[ "$(kv_log_count 'event=ban ')" = 4 ] || kv_fail "ban lines: $(grep 'event=ban ' "$KVD_LOG")"
kv_wait_log 'event=banned_request src=127\.0\.0\.3 key=127\.0\.0\.3 '
kvd_stop
kv_pass
