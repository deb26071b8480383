#!/usr/bin/env bash
# test_call_dial_spaces - issue #8: `Dial(PJSIP/1002 & PJSIP/1002,20)`, with
# blanks around '&', passes --check and rings 1002, as in Asterisk, which
# strips each destination and dials an interface once: the phone gets one
# INVITE, answers, and the call is bridged; no destination is refused.
# Then arguments that --check cannot see, refused at run time by the same
# parser as Asterisk refuses them: a Dial() whose expanded argument is not
# TECHNOLOGY/resource (DIALSTATUS INVALIDARGS) and a Playback() of nothing
# both hang the call up.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_exten \
	'exten => 5,1,Dial(PJSIP/1002 & PJSIP/1002,20)' \
	' same => n,Hangup()' \
	'exten => 6,1,Set(D=1002)' \
	' same => n,Dial(${D},20)' \
	' same => n,Playback(hello-world)' \
	'exten => 7,1,Set(F=)' \
	' same => n,Playback(${F})' \
	' same => n,Playback(hello-world)'

out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1)
rc=$?
kv_assert_eq 0 "$rc" "--check on the dialplan (output: $out)"
kv_assert_eq "" "$(grep -E '^[a-z]+\.conf:[0-9]+: ' <<< "$out")" "--check messages"
kv_ok "--check accepts Dial(PJSIP/1002 & PJSIP/1002,20)"

kvd_start

kv_python_call <<'PY' || kv_fail "call to 5: Dial(PJSIP/1002 & PJSIP/1002,20)"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)

call = kvsip.OutCall(caller, "5", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.ring()
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "a second INVITE for the destination written twice")
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "caller of 5")
call.ack()
inc.expect_ack()
print("1002 rang once and answered")

kvsip.send_stream(a, call.answer.media, "fwd", 10)
kvsip.expect_stream(b, "fwd", 10, 0, inc.offer.media)
cseq = call.in_dialog("BYE")
inc.answer_bye()
r = call.expect_response(cseq, "BYE", "answer to the caller's BYE")
assert r.status == 200, r.start
print("media relayed, BYE both legs")
PY
kv_ok "call to 5 rings 1002 once, is answered and bridged"

kv_wait_log 'event=call_bridged' 1
kv_assert_eq 1 "$(kv_log_count 'event=dial_leg ')" "B legs of the call to 5"
kv_assert_eq 0 "$(kv_log_count 'event=dial_(bad_target|no_endpoint|bad_args)')" \
	"destinations refused"
kv_ok "log: one B leg, no destination refused"

kv_python_call <<'PY' || kv_fail "calls to 6 and 7: arguments refused at run time"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
for exten in ("6", "7"):
    call = kvsip.OutCall(caller, exten, kvsip.sdp_offer(kvsip.Rtp().port))
    call.invite()
    _, r = call.expect_final(603, "caller of %s" % exten)
    print("call to %s: %s" % (exten, r.start))
PY
kv_wait_log 'event=dial_bad_args.*TECHNOLOGY/resource' 1
kv_wait_log 'event=call_end.*disposition="?FAILED"? dialstatus=INVALIDARGS' 1
kv_ok "Dial(1002) once expanded: refused as INVALIDARGS, the call hangs up"
kv_wait_log 'event=playback_bad_args.*no file to play' 1
kv_assert_eq 0 "$(kv_log_count 'event=playback_failed')" "playbacks tried"
kv_ok "Playback() of nothing: refused, the call hangs up"

kvd_stop
kv_pass
