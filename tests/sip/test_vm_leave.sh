#!/usr/bin/env bash
# test_vm_leave - VoiceMail(): a caller leaves a message and the spool holds
# it as Asterisk's app_voicemail would (voicemail/CONTEXT/MAILBOX/INBOX/
# msgNNNN.wav + .txt), the audio checked against what the caller sent:
#   '#' ends the recording, so do maxsilence seconds of silence, maxsecs
#   and the caller's hang-up; a message shorter than minsecs is discarded
#   (VMSTATUS FAILED); a full mailbox (maxmsg) plays vm-mailboxfull;
#   the 'u' greeting is vm-theperson, the mailbox's digits, vm-isunavail,
#   vm-intro and the beep; an unknown mailbox is FAILED at once;
#   * during the greeting goes to the a extension (VMSTATUS USEREXIT);
#   MAILBOX_EXISTS() and VM_INFO(...,count); the CDR's lastapp VoiceMail;
#   --check: voicemail.conf's errors as file:line, unsupported options as
#   warnings.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 8001,1,VoiceMail(1002@default,s)
 same => n,Goto(vmstatus,${VMSTATUS},1)
exten => 8002,1,VoiceMail(1001@default,u)
 same => n,Goto(vmstatus,${VMSTATUS},1)
exten => 8003,1,VoiceMail(1001,s)
 same => n,Goto(vmstatus,${VMSTATUS},1)
exten => 8004,1,VoiceMail(9999@default)
 same => n,Goto(vmstatus,${VMSTATUS},1)
exten => 8006,1,VoiceMail(1001@default,u)
 same => n,Hangup()
exten => a,1,Goto(vmstatus,${VMSTATUS},1)
exten => 8005,1,Answer()
 same => n,SayDigits(${MAILBOX_EXISTS(1002@default)}${MAILBOX_EXISTS(9999)}${VM_INFO(1002@default,count)}${VM_INFO(1002,exists)})
 same => n,Hangup()

[vmstatus]
exten => SUCCESS,1,Playback(digits/1)
 same => n,Hangup()
exten => FAILED,1,Playback(digits/0)
 same => n,Hangup()
exten => USEREXIT,1,Playback(digits/5)
 same => n,Hangup()
CONF
cat > "$KV_CONF/voicemail.conf" <<'CONF'
[general]
format=wav
maxsecs=4
minsecs=1
maxsilence=2
maxmsg=3

[default]
1001 => 1234,Alice,alice@example.com
1002 => 4321,Bob
CONF

out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check on the voicemail configuration: $out"
kv_assert_nomatch 'voicemail.conf|extensions.conf' "$out" "--check messages"
mkdir -p "$KV_TMP/bad"
cp "$KV_CONF"/*.conf "$KV_TMP/bad/"
cat > "$KV_TMP/bad/voicemail.conf" <<'CONF'
[general]
format=wav49|gsm
maxmsg=lots
serveremail=pbx@example.com

[zonemessages]
eastern=America/New_York|'vm-received' Q 'digits/at' IMp

[default]
1001 => 1234,Alice,,,attach=yes
../x => 1,Mallory
1001 => 99,Again
CONF
cat >> "$KV_TMP/bad/extensions.conf" <<'CONF'

[badvm]
exten => s,1,VoiceMail(1001@default,uq)
 same => n,VoiceMail(,u)
 same => n,VoiceMailMain(1001,sp)
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_TMP/bad" --check 2>&1) &&
	kv_fail "--check accepted a broken voicemail.conf: $out"
echo "$out"
kv_assert_match "voicemail.conf:3: invalid maxmsg 'lots'" "$out" "maxmsg"
kv_assert_match "voicemail.conf:2: warning: format 'wav49\\|gsm' is not supported yet" "$out" "format"
kv_assert_match "voicemail.conf:4: warning: option 'serveremail' is not supported yet" "$out" "serveremail"
kv_assert_match "voicemail.conf:6: warning: \\[zonemessages\\] is not supported yet" "$out" "zonemessages"
kv_assert_match "voicemail.conf:10: warning: mailbox '1001': option 'attach' is not supported yet" "$out" "attach"
kv_assert_match "voicemail.conf:11: invalid mailbox '../x'" "$out" "../x"
kv_assert_match "voicemail.conf:12: warning: mailbox '1001' appears again" "$out" "duplicate"
kv_assert_match "extensions.conf:[0-9]*: warning: VoiceMail: option 'q' is not supported" "$out" "VoiceMail(,q)"
kv_assert_match "extensions.conf:[0-9]*: VoiceMail: no mailbox" "$out" "VoiceMail()"
kv_assert_match "extensions.conf:[0-9]*: warning: VoiceMailMain: option 'p' is not supported" "$out" "VoiceMailMain(,p)"
kv_ok "--check: voicemail.conf errors as file:line, unsupported options warned"

kvd_start

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "messages"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")


def leave(dest, payloads, end, what, prompts=("beep",)):
    """Call dest, hear prompts, send payloads after the beep, then end
    ("#", "bye" or None: KubeVox ends it); the plays heard after."""
    c, a = call(caller, dest, what)
    got = wait_plays(c, a, len(prompts), what)
    check_plays(got, prompts, what)
    a.take()
    send(c, a, payloads)
    if end == "#":
        key(c, a, 11)
    if end == "bye":
        assert c.bye().status == 200
        return c, []
    c.answer_bye(timeout=20)
    a.quiet()
    return c, heard(c, a)


# '#': 2 s of 440 Hz, the message holds it.
sent = tone(440, 100)
c, after = leave("8001", sent, "#", "leave, #")
check_plays(after, ["digits/1"], "leave, # (VMSTATUS SUCCESS)")
assert messages(spool, "1002") == ["msg0000"], messages(spool, "1002")
m = txt(box_dir(spool, "1002") + "/msg0000.txt")
print("msg0000.txt: %r" % m)
assert m["origmailbox"] == "1002" and m["context"] == "from-internal" and m["exten"] == "8001", m
assert "1001" in m["callerid"] and m["callerchan"].startswith("PJSIP/1001-"), m
assert m["duration"] == "2", m
assert int(m["origtime"]) > 1600000000 and m["msg_id"], m
rec = kvsip.wav_samples(box_dir(spool, "1002") + "/msg0000.wav")
corr = best_correlation(rec, samples_of(sent))
assert corr >= 0.9 and 1.8 * 8000 <= len(rec) <= 2.1 * 8000, (corr, len(rec))
print("msg0000.wav: %d samples, correlation with the tone %.3f" % (len(rec), corr))

# Silence: 1.5 s of 600 Hz, then silence until KubeVox stops after 2 s
# of it; the silence is cut from the message.
sent = tone(600, 75)
c, a = call(caller, "8001", "leave, silence")
wait_plays(c, a, 1, "beep")
a.take()
send(c, a, sent)
for _ in range(200):
    send(c, a, [SILENCE])
    if heard(c, a):
        break
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["digits/1"], "leave, silence")
assert messages(spool, "1002") == ["msg0000", "msg0001"], messages(spool, "1002")
m = txt(box_dir(spool, "1002") + "/msg0001.txt")
rec = kvsip.wav_samples(box_dir(spool, "1002") + "/msg0001.wav")
corr = best_correlation(rec[:len(sent) * 160], samples_of(sent))
assert corr >= 0.9 and len(rec) <= (1.5 + 0.5) * 8000, (corr, len(rec))
assert m["duration"] == "1", m
print("msg0001: silence ended it, %d samples, correlation %.3f" % (len(rec), corr))

# maxsecs (4): 6 s of tone, the recording stops at 4 s.
sent = tone(500, 300)
c, a = call(caller, "8001", "leave, maxsecs")
wait_plays(c, a, 1, "beep")
a.take()
for p in sent:
    send(c, a, [p])
    if heard(c, a):
        break
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["digits/1"], "leave, maxsecs")
m = txt(box_dir(spool, "1002") + "/msg0002.txt")
rec = kvsip.wav_samples(box_dir(spool, "1002") + "/msg0002.wav")
assert m["duration"] == "4" and len(rec) == 4 * 8000, (m, len(rec))
print("msg0002: maxsecs ended it at %d samples" % len(rec))

# The mailbox now holds maxmsg (3): vm-mailboxfull, FAILED.
c, a = call(caller, "8001", "leave, full")
c.answer_bye(timeout=30)
a.quiet()
check_plays(heard(c, a), ["vm-mailboxfull", "digits/0"], "mailbox full")
assert len(messages(spool, "1002")) == 3

PY
kv_ok "VoiceMail: #, silence and maxsecs end the message; maxmsg"

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "more messages"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")


def leave(dest, payloads, end, what, prompts=("beep",)):
    c, a = call(caller, dest, what)
    got = wait_plays(c, a, len(prompts), what)
    check_plays(got, prompts, what)
    a.take()
    send(c, a, payloads)
    if end == "#":
        key(c, a, 11)
    if end == "bye":
        assert c.bye().status == 200
        return c, []
    c.answer_bye(timeout=20)
    a.quiet()
    return c, heard(c, a)


# minsecs (1): half a second is discarded.
c, after = leave("8003", tone(440, 25), "#", "leave, too short")
check_plays(after, ["digits/0"], "too short (VMSTATUS FAILED)")
assert messages(spool, "1001") == [], messages(spool, "1001")

# The 'u' greeting, then a hang-up ends the message, which is kept.
sent = tone(700, 100)
c, after = leave("8002", sent, "bye", "leave, u, hang-up",
                 prompts=("vm-theperson", "digits/1", "digits/0", "digits/0", "digits/1",
                          "vm-isunavail", "vm-intro", "beep"))
wait_for(lambda: messages(spool, "1001") == ["msg0000"], "message after hang-up")
rec = kvsip.wav_samples(box_dir(spool, "1001") + "/msg0000.wav")
corr = best_correlation(rec, samples_of(sent))
assert corr >= 0.9, corr
print("1001/msg0000: kept after the hang-up, correlation %.3f" % corr)

# '*' during the greeting: the 'a' extension, VMSTATUS USEREXIT.
c, a = call(caller, "8006", "leave, *")
check_start(c, a, "vm-theperson", "greeting")
a.take()
key(c, a, 10)
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["digits/5"], "* (VMSTATUS USEREXIT)")
assert messages(spool, "1001") == ["msg0000"], messages(spool, "1001")

# No such mailbox: FAILED at once.
c, a = call(caller, "8004", "no mailbox")
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["digits/0"], "no mailbox")

# MAILBOX_EXISTS: 1, 0; VM_INFO count: 3; exists: 1.
c, a = call(caller, "8005", "functions")
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["digits/1", "digits/0", "digits/3", "digits/1"], "functions")
PY
kv_ok "VoiceMail: hang-up keeps the message, minsecs discards, greeting, functions"
kv_wait_log 'event=vm_record_end.*reason=silence' 1
kv_wait_log 'event=vm_record_end.*reason=maxsecs' 1
kv_wait_log 'event=vm_stored.*mailbox=1001 msg=0' 1

cdr=$KV_LOGDIR/cdr-csv/Master.csv
wait_lines() { for _ in $(seq 1 50); do [ "$(grep -c . "$1" 2>/dev/null)" -ge "$2" ] && return; sleep 0.1; done; }
wait_lines "$cdr" 7
python3 - "$cdr" <<'PY' || kv_fail "CDR"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
# The caller hung up while VoiceMail() recorded: it is the last application.
vm = [r for r in rows if r[2] == "8002"]
assert len(vm) == 1, rows
assert vm[0][7] == "VoiceMail" and vm[0][8] == "1001@default,u", vm
assert vm[0][14] == "ANSWERED", vm
print("CDR: %r" % vm[0])
PY
kv_ok "CDR: lastapp VoiceMail, ANSWERED"
kvd_stop
kv_pass
