#!/usr/bin/env bash
# test_register_wrongpw - answering the challenge with a wrong password gets
# a second 401 with a fresh challenge, and creates no binding.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

kv_sipp_ok "SIPp: 401, wrong password, 401 again" reg_wrongpw.xml "$(kv_csv 1001 wrongpass)"

kv_python <<'PY' || kv_fail "wrong password answered by a usable challenge"
import os
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))
first, final = c.register("1001", "secret1002")
assert first is not None and first.status == 401, first
assert final is not None and final.status == 401, final and final.start
chal = final.challenges()
assert len(chal) == 1 and chal[0][0].get("algorithm") == "MD5", chal
assert chal[0][0].get("nonce"), "second 401 without nonce"
# The fresh challenge must be answerable: the right password now works.
auth = kvsip.authorization(chal[0][0], "1001", "secret1001", "REGISTER", c.ruri)
r = c.transact(c.build("REGISTER", user="1001", cseq=5,
                       call_id="wrongpw-then-right",
                       headers=[("Authorization", auth)]))
assert r is not None and r.status == 200, r and r.start
PY
kv_ok "the second challenge is fresh and usable"

kv_contacts 1001
kv_assert_eq 0 "$KV_NCONTACTS" "bindings of 1001 after failed registrations"
kv_ok "no binding was created"

kvd_stop
kv_pass
