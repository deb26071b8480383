#!/usr/bin/env bash
# test_call_ivr - an IVR written as for Asterisk, checked by what the caller
# hears: the prompts' RTP (each play starts with a marked packet) is cut
# into plays and each is correlated with its WAV file.
#   menu: Background(hello-world&beep) then WaitExten(3): key 1 goes to
#     extension 1 (Background's one-digit jump; ${EXTEN} names the prompt),
#     3 then 3 dials 33 (more digits are collected while a longer extension
#     could match; SayNumber(33) is digits/30 digits/3), 9 goes to 'i'
#     (SayDigits(${INVALID_EXTEN}) is digits/9), silence to 't';
#   Background(vm-instructions,,,menu): the first key stops the 7 s prompt
#     and jumps into Background's context;
#   Read(NUM,beep,3): "42#" is READSTATUS OK with NUM 42, "123" stops at
#     maxdigits, nothing is TIMEOUT after the timeout given, a hang-up is
#     HANGUP in the 'h' extension;
#   SayNumber(71) on an endpoint with language=fr: digits/60 digits/et
#     digits/11 of the French prompts;
#   TIMEOUT(response)=1 and TIMEOUT(digit)=0.5 read back, then used by
#     WaitExten() and the collection of an extension (a bad value warns);
#   SIP INFO: with dtmf_mode=info an application/dtmf-relay INFO drives the
#     menu (200) and RFC 4733 keys are ignored; with rfc4733 an INFO is
#     answered 200 and ignored.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw,alaw
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw,alaw endpoint.dtmf_mode=info
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw,alaw endpoint.language=fr
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 800,1,Goto(menu,s,1)
exten => 801,1,Goto(read,s,1)
exten => 802,1,Answer()
 same => n,Background(vm-instructions,,,menu)
 same => n,Hangup()
exten => 803,1,Set(TO=1)
 same => n,Goto(read,s,1)
exten => 804,1,Answer()
 same => n,SayNumber(71)
 same => n,Hangup()
exten => 805,1,Answer()
 same => n,Set(TIMEOUT(digit)=soon)
 same => n,Set(TIMEOUT(digit)=0.5)
 same => n,Set(TIMEOUT(response)=1)
 same => n,GotoIf($["${TIMEOUT(digit)}/${TIMEOUT(response)}" = "0.500/1.000"]?quick,s,1)
 same => n,Hangup()

[menu]
exten => s,1,Answer()
 same => n,Background(hello-world&beep)
 same => n,WaitExten(3)
exten => _[12],1,Playback(digits/${EXTEN})
 same => n,Hangup()
exten => 33,1,SayNumber(${EXTEN})
 same => n,Hangup()
exten => i,1,Playback(beep)
 same => n,SayDigits(${INVALID_EXTEN})
 same => n,Hangup()
exten => t,1,Playback(goodbye)
 same => n,Hangup()

[quick]
exten => s,1,WaitExten()
exten => 3,1,SayNumber(${EXTEN})
 same => n,Hangup()
exten => 33,1,Hangup()
exten => t,1,Playback(goodbye)
 same => n,Hangup()

[read]
exten => s,1,Answer()
 same => n,Read(NUM,beep,3,,1,${TO})
 same => n,GotoIf($["${READSTATUS}" = "OK"]?ok)
 same => n,Playback(goodbye)
 same => n,Hangup()
 same => n(ok),SayDigits(${NUM})
 same => n,Hangup()
exten => h,1,Set(CALLERID(name)=${READSTATUS}-${NUM})
CONF
# --check reads the IVR as the calls do: the dialplan above is clean, and
# options that are not supported are warnings, bad arguments errors.
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check on the IVR dialplan: $out"
kv_assert_nomatch 'extensions.conf' "$out" "--check messages on the IVR dialplan"
mkdir -p "$KV_TMP/bad"
cp "$KV_CONF"/*.conf "$KV_TMP/bad/"
cat >> "$KV_TMP/bad/extensions.conf" <<'CONF'

[badivr]
exten => s,1,WaitExten(3,d)
 same => n,Read(,beep)
 same => n,SayNumber(12,x)
 same => n,Set(TIMEOUT(absolute)=60)
 same => n,Set(TIMEOUT(dig)=1)
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_TMP/bad" --check 2>&1) &&
	kv_fail "--check accepted SayNumber(12,x)"
kv_assert_match "extensions.conf:[0-9]*: warning: WaitExten: option 'd' \\(dial tone\\) is not supported" "$out" "WaitExten(d)"
kv_assert_match "extensions.conf:[0-9]*: Read: no variable to read into" "$out" "Read()"
kv_assert_match "extensions.conf:[0-9]*: SayNumber: gender 'x' is not f, m, c or n" "$out" "SayNumber(,x)"
kv_assert_match "extensions.conf:[0-9]*: warning: .*TIMEOUT\\(absolute\\) is not supported" "$out" "TIMEOUT(absolute)"
kv_assert_match "extensions.conf:[0-9]*: .*TIMEOUT: unknown data item 'dig'" "$out" "TIMEOUT(dig)"
kv_ok "--check: the IVR dialplan is clean, unsupported options warned, bad arguments refused"

kvd_start

cat > "$KV_TMP/ivr.py" <<'PY'
import os
import kvsip

SOUNDS = os.path.dirname(os.environ["KV_PROMPT"])


def wav(name):
    """en/NAME, or fr/NAME for "fr:NAME"."""
    if name.startswith("fr:"):
        return os.path.join(os.path.dirname(SOUNDS), "fr", name[3:] + ".wav")
    return os.path.join(SOUNDS, name + ".wav")


plays = kvsip.prompt_plays


def heard(packets, names, what):
    """The plays are names, in order, each whole."""
    got = plays(packets)
    assert len(got) == len(names), "%s: %d plays (%r packets), expected %r" % (
        what, len(got), [len(g) for g in got], names)
    for g, name in zip(got, names):
        print("%s: %s: %s" % (what, name, kvsip.check_prompt(g, 0, wav(name), name)))


def heard_start(packets, name, what):
    """packets are the start of name, cut short."""
    print("%s: %s" % (what, kvsip.check_prompt_start(packets, wav(name), what)))


def call(phone, dest, what):
    a = kvsip.Rtp()
    phone.media = [a]
    c = kvsip.OutCall(phone, dest, kvsip.sdp_offer(a.port))
    c.connect(what)
    return c, a


def wait_packets(a, c, n, what):
    assert a.wait(lambda got: len(got) >= n, 5), "%s: no prompt" % what


def key(a, c, digit):
    kvsip.send_dtmf(a, c.answer.media, digit, c.answer.pt_of("telephone-event"))


def info(c, body, ctype="application/dtmf-relay"):
    cseq = c.in_dialog("INFO", body=body, headers=(("Content-Type", ctype),))
    return c.expect_response(cseq, "INFO", "answer to INFO").status


def end(c, a, what, names):
    c.answer_bye(timeout=20)
    a.quiet()
    heard([p for p, src in a.got if src == c.answer.media], names, what)
PY

kv_python_call "$KV_TMP" <<'PY' || kv_fail "menu"
import sys
sys.path.insert(0, sys.argv[1])
from ivr import *

caller = kvsip.Phone(kvsip.kv_port(), "1001")

# Key 1 during the menu's first prompt: extension 1, digits/1.
c, a = call(caller, "800", "menu, key 1")
wait_packets(a, c, 10, "menu")
key(a, c, 1)
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 2, "key 1: %d plays" % len(got)
heard_start(got[0], "hello-world", "key 1")
print("key 1: %s" % kvsip.check_prompt(got[1], 0, wav("digits/1"), "digits/1"))

# 3 then 3: extension 33 after collecting, SayNumber(33).
c, a = call(caller, "800", "menu, keys 33")
wait_packets(a, c, 10, "menu")
key(a, c, 3)
key(a, c, 3)
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 3, "keys 33: %d plays" % len(got)
heard_start(got[0], "hello-world", "keys 33")
for g, name in zip(got[1:], ("digits/30", "digits/3")):
    print("keys 33: %s" % kvsip.check_prompt(g, 0, wav(name), name))

# 9: no such extension: 'i', which says INVALID_EXTEN.
c, a = call(caller, "800", "menu, key 9")
wait_packets(a, c, 10, "menu")
key(a, c, 9)
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 3, "key 9: %d plays" % len(got)
heard_start(got[0], "hello-world", "key 9")
for g, name in zip(got[1:], ("beep", "digits/9")):
    print("key 9: %s" % kvsip.check_prompt(g, 0, wav(name), name))

# Silence: the whole menu, then WaitExten(3) times out to 't'.
c, a = call(caller, "800", "menu, silence")
end(c, a, "silence", ["hello-world", "beep", "goodbye"])
PY
kv_ok "menu: key 1 to 1, 33 collected, 9 to i, silence to t"
kv_wait_log 'event=ivr_dialled.*exten=33' 1
kv_wait_log 'event=dialplan_invalid.*to=i' 1
kv_wait_log 'event=dialplan_timeout.*to=t' 1

kv_python_call "$KV_TMP" <<'PY' || kv_fail "Background interrupted"
import sys
sys.path.insert(0, sys.argv[1])
from ivr import *

caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "802", "Background(vm-instructions,,,menu)")
wait_packets(a, c, 20, "vm-instructions")
key(a, c, 2)
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 2, "interrupted: %d plays" % len(got)
heard_start(got[0], "vm-instructions", "interrupted")
print("interrupted: %s" % kvsip.check_prompt(got[1], 0, wav("digits/2"), "digits/2"))
PY
kv_ok "Background: the first key stops the prompt, into Background's context"

kv_python_call "$KV_TMP" <<'PY' || kv_fail "Read"
import sys
sys.path.insert(0, sys.argv[1])
from ivr import *

caller = kvsip.Phone(kvsip.kv_port(), "1001")
for keys, said in (((4, 2, 11), ["4", "2"]), ((1, 2, 3), ["1", "2", "3"])):
    c, a = call(caller, "801", "Read")
    wait_packets(a, c, 15, "beep")
    a.quiet()
    for k in keys:
        key(a, c, k)
    end(c, a, "Read %r" % (keys,), ["beep"] + ["digits/" + d for d in said])

# SayNumber follows the channel's language: 71 in French is
# soixante et onze.
c, a = call(kvsip.Phone(kvsip.kv_port(), "1003"), "804", "SayNumber, French")
end(c, a, "SayNumber(71) in French", ["fr:digits/60", "fr:digits/et", "fr:digits/11"])

c, a = call(caller, "803", "Read with a timeout")
end(c, a, "Read timeout", ["beep", "goodbye"])

# A hang-up mid-Read: READSTATUS HANGUP and what was typed, in 'h' (which
# puts them in the CDR's caller name).
c, a = call(caller, "801", "Read, hang-up")
wait_packets(a, c, 15, "beep")
a.quiet()
key(a, c, 7)
assert c.bye().status == 200
PY
kv_ok "Read: # ends, maxdigits ends, READSTATUS OK, TIMEOUT, HANGUP; SayNumber in French"
kv_wait_log 'event=ivr_read.*status=OK digits=2' 1
kv_wait_log 'event=ivr_read.*status=OK digits=3' 1
kv_wait_log 'event=ivr_read.*status=TIMEOUT digits=0' 1
kv_wait_log 'event=cdr.*HANGUP-7' 1

kv_python_call "$KV_TMP" <<'PY' || kv_fail "INFO"
import sys
sys.path.insert(0, sys.argv[1])
from ivr import *

# dtmf_mode=info: KubeVox's answer offers no telephone-event (as
# res_pjsip), an RFC 4733 key 1 sent anyway (the type the phone offered)
# is ignored, INFO Signal=2 is taken.
info_phone = kvsip.Phone(kvsip.kv_port(), "1002")
c, a = call(info_phone, "800", "menu, INFO")
assert c.answer.pt_of("telephone-event") is None, "telephone-event offered to an INFO phone"
wait_packets(a, c, 10, "menu")
kvsip.send_dtmf(a, c.answer.media, 1, 101)
assert info(c, b"Signal=2\r\nDuration=160\r\n") == 200
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 2, "INFO 2: %d plays" % len(got)
heard_start(got[0], "hello-world", "INFO 2")
print("INFO 2: %s" % kvsip.check_prompt(got[1], 0, wav("digits/2"), "digits/2"))

# application/dtmf "9": 'i'.  A signal that is no key: 500, as Asterisk.
c, a = call(info_phone, "800", "menu, INFO application/dtmf")
wait_packets(a, c, 10, "menu")
assert info(c, b"x", "application/dtmf") == 500
assert info(c, b"9", "application/dtmf") == 200
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 3, "INFO 9: %d plays" % len(got)
for g, name in zip(got[1:], ("beep", "digits/9")):
    print("INFO 9: %s" % kvsip.check_prompt(g, 0, wav(name), name))

# dtmf_mode=rfc4733: the INFO is answered 200 and ignored; silence to 't'.
caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "800", "menu, INFO ignored")
wait_packets(a, c, 10, "menu")
assert info(c, b"Signal=1\r\nDuration=160\r\n") == 200
end(c, a, "INFO ignored", ["hello-world", "beep", "goodbye"])
PY
kv_ok "INFO: drives the menu with dtmf_mode=info, ignored (200) otherwise"

kv_python_call "$KV_TMP" <<'PY' || kv_fail "TIMEOUT()"
import sys
sys.path.insert(0, sys.argv[1])
from ivr import *

# TIMEOUT(response)=1: WaitExten() with no argument gives up after 1 s, not
# Asterisk's default 10 s, so 'goodbye' comes well within 5 s.
caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "805", "TIMEOUT(response)")
wait_packets(a, c, 10, "goodbye after TIMEOUT(response)=1")
end(c, a, "TIMEOUT(response)", ["goodbye"])

# TIMEOUT(digit)=0.5: after 3, which 33 could still extend, the extension
# is 3 after half a second, not the default 5 s.
c, a = call(caller, "805", "TIMEOUT(digit)")
key(a, c, 3)
assert a.wait(lambda got: len(got) >= 10, 3), "TIMEOUT(digit): digits/3 not within 3 s"
end(c, a, "TIMEOUT(digit)", ["digits/3"])
PY
kv_ok "TIMEOUT(response) and TIMEOUT(digit) set, read back and used by WaitExten and the collection"
kv_wait_log 'event=dialplan_set.*TIMEOUT\(digit\)' 1
kv_wait_log 'event=dtmf_info_ignored' 1

kvd_stop
kv_pass
