#!/usr/bin/env bash
# test_dial_opts - Dial()'s options r, g and L, as app_dial does them, and
# what --check says of the others:
#   r: the caller gets 180 at once, before the callee has sent anything,
#     and the callee's 183 with early media is not passed on; without r
#     nothing comes before the callee rings; m(jazz): the caller gets
#     KubeVox's 183 and hears class jazz (musiconhold.conf) until the
#     answer, the callee's early media kept away, then the two talk;
#   g: when the callee hangs up, the caller goes on at the next priority
#     with DIALSTATUS ANSWER (it hears the beep that GotoIf leads to);
#     when the caller hangs up, the call ends as before;
#   L(2000): the callee gets a BYE from KubeVox with no one hanging up, then
#     the caller; the CDR's billsec is within the limit;
#   L(3000:2000) with g: the warning (beep) then, once the callee is hung
#     up, the next priority (digits/2) are what the caller hears;
#     LIMIT_WARNING_FILE names another warning (digits/1), and with
#     LIMIT_PLAYAUDIO_CALLER=no there is none;
#   --check: one warning per option KubeVox does not do (tTkK), one for a
#     letter that is not Dial's, an error for a '(' never closed and for
#     L whose limit is not a number; the dialplan with r, g, L, D, m is
#     clean.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_dialplan 10
cat > "$KV_CONF/musiconhold.conf" <<'CONF'
[jazz]
mode=files
directory=/usr/share/asterisk/moh
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 811,1,Dial(PJSIP/1002,10,r)
 same => n,Hangup()
exten => 812,1,Dial(PJSIP/1002,10,g)
 same => n,GotoIf($["${DIALSTATUS}" = "ANSWER"]?on)
 same => n,Hangup()
 same => n(on),Playback(beep)
 same => n,Hangup()
exten => 813,1,Dial(PJSIP/1002,10,L(2000))
 same => n,Playback(beep)
 same => n,Hangup()
exten => 814,1,Dial(PJSIP/1002,10,gL(3000:2000))
 same => n,Playback(digits/2)
 same => n,Hangup()
exten => 815,1,Set(LIMIT_WARNING_FILE=digits/1)
 same => n,Dial(PJSIP/1002,10,L(3000:2000))
 same => n,Hangup()
exten => 817,1,Set(LIMIT_PLAYAUDIO_CALLER=no)
 same => n,Dial(PJSIP/1002,10,L(3000:2000))
 same => n,Hangup()
exten => 818,1,Dial(PJSIP/1002,10,m(jazz))
 same => n,Hangup()
exten => 816,1,Dial(PJSIP/1002,10,m(default)D(1:2)r)
 same => n,Hangup()
CONF

out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check on the Dial options: $out"
kv_assert_nomatch 'extensions.conf' "$out" "--check messages on r, g, L, D, m"
mkdir -p "$KV_TMP/bad"
cp "$KV_CONF"/*.conf "$KV_TMP/bad/"
cat >> "$KV_TMP/bad/extensions.conf" <<'CONF'

[baddial]
exten => s,1,Dial(PJSIP/1002,20,tTkK)
 same => n,Dial(PJSIP/1002,20,j)
 same => n,Dial(PJSIP/1002,20,L(2000)
 same => n,Dial(PJSIP/1002,20,L(soon))
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_TMP/bad" --check 2>&1) &&
	kv_fail "--check accepted Dial(...,L(2000)"
printf '%s\n' "$out"
for o in "t' (callee transfers" "T' (caller transfers" "k' (callee parks" "K' (caller parks"; do
	kv_assert_eq 1 "$(grep -c "extensions.conf:[0-9]*: warning: Dial: Dial option '$o)" <<<"$out")" \
		"one warning for option '$o)"
done
kv_assert_match "extensions.conf:[0-9]*: warning: Dial: 'j' is not an option of Dial" "$out" "Dial(j)"
kv_assert_match "extensions.conf:[0-9]*: Dial: option 'L': missing '\\)'" "$out" "L(2000"
kv_assert_match "extensions.conf:[0-9]*: Dial: L\\(soon\\): the limit is not a positive number" "$out" "L(soon)"
kv_ok "--check: r g L D m clean; tTkK one warning each, j warned, L( and L(soon) refused"

kvd_start

kv_python_call <<'PY' || kv_fail "r"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()

# r: 180 to the caller while the callee has answered nothing.
call = kvsip.OutCall(caller, "811", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
r = call.next_response()
while r is not None and r.status == 100:
    r = call.next_response()
assert r is not None and r.status == 180, "r: %s before the callee rang" % (r and r.start)
assert not r.body.strip(), "r: 180 with a body"
# The callee's early media is not passed on: the caller hears its ringing.
inc.respond(183, kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
prov, _ = call.expect_final(200, "r: answered")
assert [p.status for p in prov if p.status > 100] == [], \
    "r: after the 180, %r" % [p.start for p in prov]
call.ack()
inc.expect_ack()
kvsip.hang_up(call, inc)
print("r: 180 before the callee sent anything; its 183 not passed on")

# Without r the caller hears of ringing only when the callee rings.
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
caller.expect_nothing(lambda m: isinstance(m, kvsip.Response) and call.is_mine(m)
                      and m.status > 100, "no r: nothing before the callee rings")
inc.ring()
prov, _ = call.final(2)
assert [p.status for p in prov if p.status > 100] == [180], \
    "no r: %r after the callee rang" % [p.start for p in prov]
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "no r: answered")
call.ack()
inc.expect_ack()
kvsip.hang_up(call, inc)
print("without r: 180 only once the callee rang")

# m(jazz): KubeVox's 183 and the class's music until the answer; the
# callee's early media is not passed on; then the two talk.
a.take()
call = kvsip.OutCall(caller, "818", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.respond(183, kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
r = call.next_response()
while r.status != 183:
    r = call.next_response()
kv_media = r.sdp().media
got = kvsip.music_from(a, kv_media, 50, b)
print("m: " + kvsip.check_music(got, 0, "/usr/share/asterisk/moh/macroform-cold_day.wav", "m"))
kvsip.send_stream(b, inc.offer.media, "early", 5)
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
prov, _ = call.expect_final(200, "m: answered")
assert [p.status for p in prov].count(183) <= 1, "m: %r" % [p.start for p in prov]
call.ack()
inc.expect_ack()
a.quiet(0.3)
early = [p for p, src in a.take() if p.payload.startswith(b"early")]
assert not early, "m: %d packets of the callee's early media reached the caller" % len(early)
b.take()
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "m: after the answer")
kvsip.hang_up(call, inc)
print("m: music until the answer, the callee's early media not passed on, then the bridge")
PY
kv_wait_log 'event=dial_music .*class=jazz playing=yes' 1
kv_ok "r: ringing at once, the callee's early media not relayed"
# The next phone of 1002 is another contact: no fork to this one's port.
kv_unregister_all 1002

cat > "$KV_TMP/opts.py" <<'PY'
import os
import kvsip

SOUNDS = os.path.dirname(os.environ["KV_PROMPT"])


plays = kvsip.prompt_plays


def heard(a, call, names, what):
    got = plays([p for p, src in a.got if src == call.answer.media and p.pt == 0])
    assert len(got) == len(names), "%s: %d plays (%r packets), expected %r" % (
        what, len(got), [len(g) for g in got], names)
    for g, name in zip(got, names):
        print("%s: %s: %s" % (what, name, kvsip.check_prompt(
            g, 0, os.path.join(SOUNDS, name + ".wav"), name)))


def bridged(caller, callee, dest, a, b, what):
    """caller calls dest, callee answers: (OutCall, InCall)."""
    caller.media = [a]
    callee.media = [b]
    call = kvsip.OutCall(caller, dest, kvsip.sdp_offer(a.port))
    call.invite()
    inc = callee.expect_invite()
    inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
    call.expect_final(200, what)
    call.ack()
    inc.expect_ack()
    return call, inc
PY

kv_python_call "$KV_TMP" <<'PY' || kv_fail "g"
import sys
sys.path.insert(0, sys.argv[1])
from opts import *

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()

# The callee hangs up: the caller goes on, DIALSTATUS ANSWER, the beep.
call, inc = bridged(caller, callee, "812", a, b, "g")
cseq = inc.in_dialog("BYE")
r = inc.expect_response(cseq, "BYE", "g: the callee's BYE")
assert r.status == 200, r.start
call.answer_bye(timeout=20)
a.quiet()
heard(a, call, ["beep"], "g, callee hung up")

# The caller hangs up: the call ends, the callee gets BYE, nothing more.
call, inc = bridged(caller, callee, "812", a, b, "g, caller hangs up")
kvsip.hang_up(call, inc)
print("g, caller hung up: the callee got BYE")
PY
kv_ok "g: the caller goes on with DIALSTATUS ANSWER after the callee's BYE"
# The next phone of 1002 is another contact: no fork to this one's port.
kv_unregister_all 1002

kv_python_call "$KV_TMP" <<'PY' || kv_fail "L"
import sys
sys.path.insert(0, sys.argv[1])
from opts import *

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()

# L(2000): nobody hangs up; KubeVox ends the callee's leg, then the caller's
# (no g: the dialplan does not go on to its Playback).
call, inc = bridged(caller, callee, "813", a, b, "L(2000)")
inc.answer_bye(timeout=20)
call.answer_bye(timeout=20)
a.quiet()
heard(a, call, [], "L(2000)")
print("L(2000): the dialplan did not go on (no g)")
print("L(2000): BYE to the callee, then to the caller")

# L(3000:2000) with g: the beep 2 s before the end, then digits/2 after it.
call, inc = bridged(caller, callee, "814", a, b, "gL(3000:2000)")
inc.answer_bye(timeout=20)
call.answer_bye(timeout=20)
a.quiet()
heard(a, call, ["beep", "digits/2"], "gL(3000:2000)")

# LIMIT_WARNING_FILE: the warning is that file.
call, inc = bridged(caller, callee, "815", a, b, "LIMIT_WARNING_FILE")
inc.answer_bye(timeout=20)
call.answer_bye(timeout=20)
a.quiet()
heard(a, call, ["digits/1"], "L with LIMIT_WARNING_FILE=digits/1")

# LIMIT_PLAYAUDIO_CALLER=no: the limit, and no warning.
call, inc = bridged(caller, callee, "817", a, b, "LIMIT_PLAYAUDIO_CALLER=no")
inc.answer_bye(timeout=20)
call.answer_bye(timeout=20)
a.quiet()
heard(a, call, [], "L with LIMIT_PLAYAUDIO_CALLER=no")
print("L with LIMIT_PLAYAUDIO_CALLER=no: the limit, no warning heard")
PY
kv_ok "L: the callee hung up at the limit, the warning heard, g goes on"

kv_wait_log 'event=dial_limit_reached.*limit_ms=2000' 1
kv_wait_log 'event=dial_limit_warning.*file=beep' 1
kv_wait_log 'event=dial_go_on' 2
cdr=$KV_LOGDIR/cdr-csv/Master.csv
for _ in $(seq 1 50); do
	grep -q ',"813",' "$cdr" 2>/dev/null && break
	sleep 0.1
done
python3 - "$cdr" <<'PY' || kv_fail "CDR of L(2000)"
import csv, sys

rows = [r for r in csv.reader(open(sys.argv[1], newline="")) if r[2] == "813"]
assert len(rows) == 1, "%d records of 813" % len(rows)
billsec, disposition = int(rows[0][13]), rows[0][14]
assert disposition == "ANSWERED", rows[0]
assert billsec <= 2, "L(2000): billsec %d" % billsec
print("L(2000): ANSWERED, billsec %d" % billsec)
PY
kv_ok "CDR: the limited call's billsec is within the limit"

kvd_stop
kv_pass
