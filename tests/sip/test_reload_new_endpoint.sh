#!/usr/bin/env bash
# test_reload_new_endpoint - a live reload with a valid change: while
# 1001 and 1002 are in an answered call, endpoint 1004 (endpoint, auth,
# aor) is appended to pjsip.conf in place.  The daemon notices by itself
# (no signal): within 6 s 1004 can REGISTER, and call the echo test (600)
# with its new credentials (challenged, then answered); the live call keeps relaying RTP both ways and
# ends normally; the log says event=config_reload result=ok, and nothing
# failed.
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002
# The sections of 1004, written apart and appended by the test in one go.
stage=$KV_TMP/stage
mkdir -p "$stage"
: > "$stage/pjsip.conf"
KV_CONF=$stage kv_conf_call_users 1004
kvd_start

ADD=$stage/pjsip.conf kv_python_ops <<'PY' || kv_fail "new endpoint during a live call"
import os
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
phones = (caller, callee)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before")

c = kvsip.Client(kvsip.kv_port())
_, final = c.register("1004", "secret1004", expires=60)
assert final is not None and final.status != 200, "1004 registered before it exists: %s" % (
    final and final.start)
print("before the change: REGISTER 1004 -> %s" % final.start)

kvsip.conf_append("pjsip.conf", open(os.environ["ADD"]).read())
took = kvsip.register_until("1004", 200, 6.0, phones=phones)
line = kvsip.kvd_wait_log(r"event=config_reload result=ok", "config_reload", phones=phones)
print("1004 registered %.1fs after the change; %s" % (took, line))

# The new endpoint places calls with its credentials: the INVITE is
# challenged, then the echo test answers.  (Its RTP is not checked here:
# test_call_echo does that.)
new = kvsip.Phone(kvsip.kv_port(), "1004")
e = kvsip.Rtp()
echo = kvsip.OutCall(new, "600", kvsip.sdp_offer(e.port))
echo.connect("1004 calls 600")
assert [c.status for c in echo.challenges] == [401], \
    "challenges: %r" % [c.start for c in echo.challenges]
kvsip.assert_kubevox_media(echo.answer, "answer of 600 to 1004")
r = echo.bye()
assert r.status == 200, r.start
print("1004 -> 600: 401, then answered; BYE 200")

# The call that was up across the reload is untouched.
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after", n=25)
cseq = call.in_dialog("BYE")
inc.answer_bye()
r = call.expect_response(cseq, "BYE", "answer to the caller's BYE")
assert r.status == 200, r.start
print("live call: RTP both ways after the reload, BYE 200")
PY
kv_ok "1004 added live: registers and calls; the call in progress went on and ended normally"

log=$(cat "$KVD_LOG")
kv_assert_match 'event=config_reload result=ok trigger=(file_change|poll)' "$log" "reload logged"
kv_assert_nomatch 'result=failed|config_problem' "$log" "no failed reload"
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 2
kvd_stop
kv_pass
