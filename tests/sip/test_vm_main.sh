#!/usr/bin/env bash
# test_vm_main - VoiceMailMain(): two messages left with VoiceMail() (440
# and 880 Hz), then
#   RFC 4733 keys, VoiceMailMain(1002@default): a wrong password is
#     vm-incorrect, the right one announces "you have 2 INBOX messages";
#     1 plays the first message (its audio is the 440 Hz tone), 7 deletes
#     it, # leaves: the folder is renumbered (the 880 Hz message is
#     msg0000) and vm-goodbye hangs up;
#   SIP INFO keys (dtmf_mode=info), VoiceMailMain(): the mailbox and the
#     password asked, "you have 1 INBOX message", 1 plays it, # leaves:
#     the message heard moves to Old, as app_voicemail does;
#   0 (mailbox options), 1: the unavailable greeting is recorded, and
#     VoiceMail(...,u) then plays it;
#   9 then 3 saves the message to Family, 2 then 3 changes to Family (Old
#     is closed: the move is done), 1 plays it there.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw endpoint.dtmf_mode=info
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 8001,1,VoiceMail(1002@default,s)
 same => n,Hangup()
exten => 8002,1,VoiceMail(1002@default,u)
 same => n,Hangup()
exten => 8500,1,VoiceMailMain()
exten => 8501,1,VoiceMailMain(1002@default)
CONF
cat > "$KV_CONF/voicemail.conf" <<'CONF'
[general]
format=wav
maxsecs=10

[default]
1002 => 4321,Bob
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check: $out"
kvd_start

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "leaving two messages"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
for freq in (440, 880):
    c, a = call(caller, "8001", "leave %d Hz" % freq)
    wait_plays(c, a, 1, "beep")
    send(c, a, tone(freq, 75))
    key(c, a, 11)
    c.answer_bye(timeout=20)
wait_for(lambda: len(messages(spool, "1002")) == 2, "two messages")
print("left: %r" % messages(spool, "1002"))
PY
kv_ok "two messages left"

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "VoiceMailMain with RFC 4733 keys"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "8501", "VoiceMailMain(1002@default)")
check_plays(wait_plays(c, a, 1, "password"), ["vm-password"], "asked")
a.take()
for k in (1, 2, 3, 11):
    key(c, a, k)
check_plays(wait_plays(c, a, 2, "wrong password"), ["vm-incorrect", "vm-password"], "wrong")
a.take()
for k in (4, 3, 2, 1, 11):
    key(c, a, k)
got = wait_plays(c, a, 4, "counts")
check_plays(got, ["vm-youhave", "digits/2", "vm-INBOX", "vm-messages",
                  "vm-onefor", "vm-INBOX", "vm-messages"], "counts")
a.take()
key(c, a, 1)
got = wait_plays(c, a, 4, "message 1")
check_plays(got[:3], ["vm-first", "vm-message", "digits/1"], "message 1")
msg = [kvsip.G711[0][x] for p in got[3] for x in p.payload]
corr = best_correlation(msg, samples_of(tone(440, 75)))
assert corr >= 0.9, "message 1 is not the 440 Hz tone (%.3f)" % corr
print("message 1: %d packets, correlation with the 440 Hz tone %.3f" % (len(got[3]), corr))
a.take()
key(c, a, 7)
check_plays(wait_plays(c, a, 1, "deleted"), ["vm-deleted"], "7")
a.take()
key(c, a, 11)
c.answer_bye(timeout=20)
a.quiet()
check_plays(heard(c, a), ["vm-goodbye"], "#")
wait_for(lambda: messages(spool, "1002") == ["msg0000"], "renumbered")
rec = kvsip.wav_samples(box_dir(spool, "1002") + "/msg0000.wav")
corr = best_correlation(rec, samples_of(tone(880, 75)))
assert corr >= 0.9, corr
assert messages(spool, "1002", "Old") == []
print("after delete: INBOX %r, msg0000 is the 880 Hz message (%.3f)" % (
    messages(spool, "1002"), corr))
PY
kv_ok "RFC 4733: password, counts, listen (the message's audio), delete, folder renumbered"
kv_wait_log 'event=vm_login_failed' 1
kv_wait_log 'event=vm_changed context=default mailbox=1002' 3

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "VoiceMailMain with INFO keys"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1002")
c, a = call(caller, "8500", "VoiceMailMain()")
check_plays(wait_plays(c, a, 1, "login"), ["vm-login"], "login")
a.take()
for k in "1002#":
    info(c, k)
check_plays(wait_plays(c, a, 1, "password"), ["vm-password"], "password")
a.take()
for k in "4321#":
    info(c, k)
got = wait_plays(c, a, 4, "counts")
check_plays(got, ["vm-youhave", "digits/1", "vm-INBOX", "vm-message"], "counts")
a.take()
info(c, "1")
got = wait_plays(c, a, 4, "message 1")
check_plays(got[:3], ["vm-first", "vm-message", "digits/1"], "message 1")
msg = [kvsip.G711[0][x] for p in got[3] for x in p.payload]
corr = best_correlation(msg, samples_of(tone(880, 75)))
assert corr >= 0.9, corr
print("message 1 over INFO: correlation with the 880 Hz tone %.3f" % corr)
a.take()
info(c, "#")
c.answer_bye(timeout=20)
wait_for(lambda: messages(spool, "1002", "Old") == ["msg0000"], "moved to Old")
assert messages(spool, "1002") == []
print("heard: moved to Old")
PY
kv_ok "INFO: mailbox, password, count, listen; the message heard goes to Old"

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "greeting"
import os, sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "8501", "VoiceMailMain, options")
wait_plays(c, a, 1, "password")
for k in (4, 3, 2, 1, 11):
    key(c, a, k)
a.wait(lambda got: len(heard(c, a)) >= 2, 10)
a.take()
key(c, a, 0)
check_start(c, a, "vm-options", "0")
a.take()
key(c, a, 1)
check_plays(wait_plays(c, a, 2, "record unavail"), ["vm-rec-unv", "beep"], "1")
a.take()
sent = tone(300, 100)
send(c, a, sent)
key(c, a, 11)
wait_for(lambda: os.path.exists(os.path.join(spool, "voicemail/default/1002/unavail.wav")),
         "unavail.wav")
a.quiet()
assert c.bye().status == 200
greeting = kvsip.wav_samples(os.path.join(spool, "voicemail/default/1002/unavail.wav"))
assert best_correlation(greeting, samples_of(sent)) >= 0.9

c, a = call(caller, "8002", "VoiceMail(,u) with a greeting")
got = wait_plays(c, a, 2, "greeting")
g = [kvsip.G711[0][x] for p in got[0] for x in p.payload]
corr = best_correlation(g, samples_of(sent))
assert corr >= 0.9, corr
check_plays(got[1:], ["vm-intro", "beep"], "after the greeting")
print("the recorded unavailable greeting is played (%.3f)" % corr)
assert c.bye().status == 200
PY
kv_ok "mailbox options: the unavailable greeting recorded and played by VoiceMail(u)"

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "save to a folder, change folder"
import sys
from vmlib import *

spool = sys.argv[1]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "8501", "VoiceMailMain, folders")
wait_plays(c, a, 1, "password")
a.take()
for k in (4, 3, 2, 1, 11):
    key(c, a, k)
# INBOX is empty: the menu starts in Old.
check_plays(wait_plays(c, a, 4, "counts"), ["vm-youhave", "digits/1", "vm-Old", "vm-message",
                                             "vm-onefor", "vm-Old", "vm-messages"], "counts")
a.take()
key(c, a, 1)
wait_plays(c, a, 4, "message 1 of Old")
a.take()
key(c, a, 9)                      # save it...
check_start(c, a, "vm-savefolder", "9")
a.take()
key(c, a, 3)                      # ... to Family
check_plays(wait_plays(c, a, 3, "saved"), ["vm-message", "vm-savedto", "vm-Family"], "saved")
a.take()
key(c, a, 2)                      # change folder...
check_start(c, a, "vm-changeto", "2")
a.take()
key(c, a, 3)                      # ... to Family: Old is closed, the move done
check_plays(wait_plays(c, a, 2, "Family"), ["vm-Family", "vm-messages"], "in Family")
assert messages(spool, "1002", "Old") == [] and messages(spool, "1002", "Family") == ["msg0000"]
a.take()
key(c, a, 1)
got = wait_plays(c, a, 4, "message 1 of Family")
msg = [kvsip.G711[0][x] for p in got[3] for x in p.payload]
corr = best_correlation(msg, samples_of(tone(880, 75)))
assert corr >= 0.9, corr
print("Family's message 1 is the 880 Hz message (%.3f)" % corr)
a.take()
key(c, a, 11)
c.answer_bye(timeout=20)
PY
kv_ok "9 saves to a folder (moved when Old is closed), 2 changes folder, 1 listens there"

kvd_stop
kv_pass
