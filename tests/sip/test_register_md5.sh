#!/usr/bin/env bash
# test_register_md5 - a REGISTER is challenged (401, MD5) and, answered with
# the right password, accepted: the 200 OK lists the new binding with its
# expires parameter and carries no Expires header.  The AOR must be one of
# the endpoint's (404 otherwise).
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kv_conf_user 1002
kvd_start

csv=$(kv_csv 1001)
port=$(kv_free_port)
SIPP_PORT=$port kv_sipp_ok "SIPp: 401 then 200 with Contact;expires" reg_200.xml "$csv"

kv_contacts 1001
kv_assert_eq 1 "$KV_NCONTACTS" "bindings of 1001"
kv_assert_match "^sip:1001@127\.0\.0\.1:$port;transport=UDP ([1-9][0-9]*)\$" \
	"$KV_CONTACTS" "the binding SIPp registered"
exp=${KV_CONTACTS##* }
kv_assert_range 50 60 "$exp" "expires of the binding"
kv_ok "query lists sip:1001@127.0.0.1:$port with expires=$exp"

# The 200 itself, from a client that can look at every header.
kv_python <<'PY' || kv_fail "200 OK to an authenticated REGISTER"
import os, sys
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))
contact = "<sip:1001@127.0.0.1:%d>" % c.lport
first, final = c.register("1001", "secret1001", contact=contact, expires=30)
assert first is not None and first.status == 401, "first answer: %r" % first
chal = first.challenges()
assert len(chal) == 1, "one challenge expected: %r" % first.get_all("www-authenticate")
params, order = chal[0]
assert params.get("algorithm") == "MD5", params
assert params.get("realm") == "asterisk", params
assert params.get("qop") == "auth", params
assert final is not None and final.status == 200, "final: %r" % (final and final.start)
assert final.get("expires") is None, "200 OK carries Expires: %s" % final.get("expires")
mine = [e for u, e in final.contacts() if u == "sip:1001@127.0.0.1:%d" % c.lport]
assert len(mine) == 1 and mine[0] is not None and 25 <= mine[0] <= 30, final.contacts()
assert len(final.contacts()) == 2, "expected 2 bindings: %r" % final.contacts()
for h in ("via", "from", "to", "call-id", "cseq"):
    assert final.get(h), "200 OK without %s" % h
assert "tag=" in final.get("to"), "To without tag: %s" % final.get("to")
PY
kv_ok "200 OK: both bindings with expires, no Expires header"

# Credentials of 1001 do not let it register 1002's AOR.
out=$(kv_py register 1001 --aor 1002 2>&1)
kv_assert_eq 404 "$(head -n 1 <<< "$out")" "1001 registering AOR 1002"
kv_contacts 1002
kv_assert_eq 0 "$KV_NCONTACTS" "bindings of 1002"
kv_ok "an AOR not among the endpoint's aors gets 404"

kvd_stop
kv_pass
