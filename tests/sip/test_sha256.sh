#!/usr/bin/env bash
# test_sha256 - RFC 8760 digest algorithms: an auth section offering
# sha-256,md5 sends one challenge per algorithm in that order, and both
# answers register; the default offers MD5 only; a replayed nonce-count is
# refused.  SIPp answers MD5 only, so kv_regclient (and kvsip) speak here.
. "$(dirname "$0")/lib.sh"

REGCLIENT=$KV_BIN/kv_regclient
[ -x "$REGCLIENT" ] || kv_fail "no test client at $REGCLIENT"

kv_conf_transports
# Every kv_regclient run registers a contact of its own: let them rotate.
kv_conf_user 1001 auth.supported_algorithms_uas=sha-256,md5 \
	aor.max_contacts=2 aor.remove_existing=yes
kv_conf_user 1002 aor.max_contacts=2 aor.remove_existing=yes
kvd_start

# regclient ARGS...: run kv_regclient against the daemon; sets RC and OUT.
regclient()
{
	OUT=$(timeout -k 5 30 "$REGCLIENT" --server "127.0.0.1:$KV_PORT" \
		--timeout-ms 5000 "$@" 2>&1)
	RC=$?
}

regclient --user 1001 --password secret1001 --print-challenges
algs=$(printf '%s\n' "$OUT" | grep -i 'WWW-Authenticate:' |
	grep -Eio 'algorithm=[A-Za-z0-9-]+' | tr '[:lower:]' '[:upper:]' | tr '\n' ' ')
kv_assert_eq "ALGORITHM=SHA-256 ALGORITHM=MD5 " "$algs" "challenges offered to 1001 (in order)"
kv_ok "1001 is offered SHA-256 then MD5"

regclient --user 1001 --password secret1001 --alg sha-256 --expires 60
kv_assert_eq "0 200" "$RC $(printf '%s\n' "$OUT" | tail -n 1)" "kv_regclient --alg sha-256 (exit status, status code)"
kv_ok "SHA-256 answer registers (200)"

regclient --tcp --user 1001 --password secret1001 --alg sha-256 --expires 60
kv_assert_eq "0 200" "$RC $(printf '%s\n' "$OUT" | tail -n 1)" "kv_regclient --tcp --alg sha-256"
kv_ok "SHA-256 over TCP registers (200)"

regclient --user 1001 --password secret1001 --alg md5 --expires 60
kv_assert_eq "0 200" "$RC $(printf '%s\n' "$OUT" | tail -n 1)" "kv_regclient --alg md5"
kv_ok "MD5 answer to the same offer registers (200)"

regclient --user 1001 --password wrongpass --alg sha-256
kv_assert_eq "1 401" "$RC $(printf '%s\n' "$OUT" | tail -n 1)" "kv_regclient --alg sha-256, wrong password"
kv_ok "a wrong SHA-256 answer gets 401"

regclient --user 1001 --password secret1001 --alg sha-256 --nc-replay
kv_assert_eq 0 "$RC" "kv_regclient --nc-replay exit status (0: replay refused); output: $OUT"
kv_assert_eq "200 401" "$(tr "\n" " " <<< "$OUT" | sed "s/ $//")" "statuses: first use, then replay of the nonce-count"
kv_ok "a replayed nonce-count is refused with 401"

regclient --user 1002 --password secret1002 --print-challenges
algs=$(printf '%s\n' "$OUT" | grep -i 'WWW-Authenticate:' |
	grep -Eio 'algorithm=[A-Za-z0-9-]+' | tr '[:lower:]' '[:upper:]' | tr '\n' ' ')
kv_assert_eq "ALGORITHM=MD5 " "$algs" "challenges offered to 1002 (default config)"
regclient --user 1002 --password secret1002 --alg sha-256
kv_assert_eq 3 "$RC" "kv_regclient --alg sha-256 exit status when SHA-256 is not offered; output: $OUT"
regclient --user 1002 --password secret1002 --alg md5
kv_assert_eq "0 200" "$RC $(printf '%s\n' "$OUT" | tail -n 1)" "kv_regclient --alg md5 for 1002"
kv_ok "default config: MD5 only, SHA-256 not offered"

# An independent SHA-256 implementation (Python hashlib) agrees.
kv_python <<'PY' || kv_fail "SHA-256 digest from kvsip"
import os
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))
first, final = c.register("1001", "secret1001", alg="SHA-256",
                          contact="<sip:1001@127.0.0.1:%d>" % c.lport)
assert first is not None and first.status == 401, first
algs = [p.get("algorithm") for p, _ in first.challenges()]
assert algs == ["SHA-256", "MD5"], algs
assert final is not None and final.status == 200, final and final.start
# A SHA-256 answer for the MD5-only user is refused.
c2 = kvsip.Client(int(os.environ["KV_PORT"]))
first = c2.transact(c2.build("REGISTER", user="1002", call_id="sha-1002"))
chal = dict(kvsip.pick_challenge(first, "MD5"), algorithm="SHA-256")
auth = kvsip.authorization(chal, "1002", "secret1002", "REGISTER", c2.ruri)
r = c2.transact(c2.build("REGISTER", user="1002", call_id="sha-1002", cseq=2,
                         headers=[("Authorization", auth)]))
assert r is not None and r.status == 401, r and r.start
PY
kv_ok "kvsip's SHA-256 registers 1001; SHA-256 is refused for MD5-only 1002"

kvd_stop
kv_pass
