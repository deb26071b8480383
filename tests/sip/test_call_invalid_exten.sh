#!/usr/bin/env bash
# test_call_invalid_exten - a number the caller's context does not have:
# with an i extension (Congestion) the caller gets 503; in a context
# without one (1003's no-i context) it gets 404.  No phone is rung.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_call_users 1001 1002
kv_conf_user 1003 endpoint.context=no-i endpoint.disallow=all endpoint.allow=ulaw,alaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[no-i]
exten => 600,1,Answer()
 same => n,Echo()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "unknown extensions"
import kvsip

port = kvsip.kv_port()
a = kvsip.Rtp()
callee = kvsip.Phone(port, "1002")
callee.sign_in()

for user, dest, status in (("1001", "555", 503), ("1001", "10021", 503),
                           ("1003", "555", 404), ("1003", "1002", 404)):
    phone = kvsip.Phone(port, user)
    call = kvsip.OutCall(phone, dest, kvsip.sdp_offer(a.port))
    call.invite()
    call.expect_final(status, "%s calling %s" % (user, dest))
    print("%s (context %s) calling %s: %d" % (
        user, "no-i" if user == "1003" else "from-internal", dest, status))
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "a phone rung for an unknown number")

# 1003's context does have 600.
phone = kvsip.Phone(port, "1003")
call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port))
call.connect("1003 calling 600 in its context")
assert call.bye().status == 200
print("1003 calling 600: answered")
PY
kv_ok "unknown number: 503 with i (Congestion), 404 without"

kvd_stop
kv_pass
