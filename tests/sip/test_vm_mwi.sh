#!/usr/bin/env bash
# test_vm_mwi - voicemail and the message waiting lamp together, as a user
# meets them (issue #12): 1002 (mailboxes=1002@default) registers and gets
# NOTIFY "Messages-Waiting: no"; 1001 leaves a message in 1002's mailbox
# (VoiceMail): 1002 gets "yes" with Voice-Message 1/0; the message is
# listened to with VoiceMailMain and deleted (7), and when the folder
# closes (#) 1002 gets "no" and 0/0 again.  No spool polling: the NOTIFYs
# come from voicemail telling MWI of its own changes.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw endpoint.mailboxes=1002@default
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 8001,1,VoiceMail(1002@default,s)
 same => n,Hangup()
exten => 8501,1,VoiceMailMain(1002@default)
CONF
cat > "$KV_CONF/voicemail.conf" <<'CONF'
[general]
format=wav
maxsecs=10

[default]
1002 => 4321,Bob
CONF
kvd_start

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "voicemail and MWI"
import sys
from vmlib import *

spool = sys.argv[1]


def notify(phone, what):
    req = phone.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "NOTIFY",
                       what, 15.0)
    phone.respond(req, 200, to_tag=kvsip.new_tag())
    assert req.get("event") == "message-summary", req.get("event")
    body = req.body.decode()
    print("%s: %s" % (what, body.replace("\r\n", " | ")))
    return body


bob = kvsip.Phone(kvsip.kv_port(), "1002")
bob.sign_in()
body = notify(bob, "on registration")
assert "Messages-Waiting: no\r\n" in body and "Voice-Message: 0/0 (0/0)\r\n" in body, body

caller = kvsip.Phone(kvsip.kv_port(), "1001")
c, a = call(caller, "8001", "1001 leaves a message")
wait_plays(c, a, 1, "beep")
send(c, a, tone(440, 75))
key(c, a, 11)
c.answer_bye(timeout=20)
wait_for(lambda: messages(spool, "1002") == ["msg0000"], "the message stored")
body = notify(bob, "after the message")
assert "Messages-Waiting: yes\r\n" in body and "Voice-Message: 1/0 (0/0)\r\n" in body, body

c, a = call(caller, "8501", "VoiceMailMain(1002@default)")
check_plays(wait_plays(c, a, 1, "password"), ["vm-password"], "asked")
a.take()
for k in (4, 3, 2, 1, 11):
    key(c, a, k)
wait_plays(c, a, 4, "counts")
a.take()
key(c, a, 1)
got = wait_plays(c, a, 4, "the message")
msg = [kvsip.G711[0][x] for p in got[3] for x in p.payload]
corr = best_correlation(msg, samples_of(tone(440, 75)))
assert corr >= 0.9, "the message heard is not the 440 Hz tone (%.3f)" % corr
a.take()
key(c, a, 7)
check_plays(wait_plays(c, a, 1, "deleted"), ["vm-deleted"], "7")
key(c, a, 11)
c.answer_bye(timeout=20)
body = notify(bob, "after the delete")
assert "Messages-Waiting: no\r\n" in body and "Voice-Message: 0/0 (0/0)\r\n" in body, body
assert messages(spool, "1002") == [] and messages(spool, "1002", "Old") == []
bob.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "NOTIFY",
                   "no NOTIFY without a change", 2.0)
PY
kv_ok "MWI follows voicemail: no, then yes 1/0 after a message, no 0/0 after it is heard and deleted"
kv_wait_log 'event=mwi_notify' 3

kvd_stop
kv_pass
