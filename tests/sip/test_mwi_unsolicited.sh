#!/usr/bin/env bash
# test_mwi_unsolicited - res_pjsip_mwi's unsolicited message waiting: an
# endpoint with mailboxes= gets an out-of-dialog NOTIFY (Event:
# message-summary, Subscription-State: active) with the counts of its
# mailbox when it registers, read from app_voicemail's spool (INBOX new,
# Old old, Urgent urgent new, one msgNNNN.txt per message); with
# voicemail.conf pollmailboxes=yes the spool is looked at every pollfreq
# seconds and every change (messages listened to, deleted, a new one) is
# told to every registered contact.  An endpoint without mailboxes= gets
# nothing; two mailboxes of one endpoint are summed (aggregate_mwi), and
# mwi_from_user is From's user.
. "$(dirname "$0")/lib.sh"

SPOOL=$KV_TMP/spool
kv_conf_transports
kv_conf_user 1001 endpoint.mailboxes=1001 endpoint.mwi_from_user=vmail
kv_conf_user 1002
kv_conf_user 1003 'endpoint.mailboxes=1003@default,3000@sales'
cat > "$KV_CONF/asterisk.conf" <<CONF
[directories]
astspooldir => $SPOOL
CONF
cat > "$KV_CONF/voicemail.conf" <<CONF
[general]
format=wav
pollmailboxes=yes
pollfreq=1

[default]
1001 => 1234,Alice
1003 => 1234,Carol

[sales]
3000 => 1234,Sales
CONF

# msg SPOOLPATH...: a message as app_voicemail leaves it (.txt and .wav).
msg()
{
	local p

	for p in "$@"; do
		mkdir -p "$(dirname "$SPOOL/voicemail/$p")"
		printf '[message]\ncallerid="Bob" <1002>\nduration=3\n' > "$SPOOL/voicemail/$p.txt"
		head -c 1000 /dev/zero > "$SPOOL/voicemail/$p.wav"
	done
}
msg default/1001/INBOX/msg0000 default/1001/INBOX/msg0001 \
	default/1001/Old/msg0000 default/1001/Urgent/msg0000 \
	default/1003/Old/msg0000 sales/3000/INBOX/msg0000
mkdir -p "$SPOOL/voicemail/default/1002/INBOX"
kv_conf_http
kvd_start

kv_python "$SPOOL" <<'PY' || kv_fail "unsolicited MWI"
import os
import sys
import kvsip

spool = sys.argv[1] + "/voicemail/"


def notify(phone, what, timeout=5.0):
    req = phone.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "NOTIFY",
                       what, timeout)
    phone.respond(req, 200, to_tag=kvsip.new_tag())
    assert req.get("event") == "message-summary", "Event: %r" % req.get("event")
    assert req.get("subscription-state") == "active", req.get("subscription-state")
    assert req.get("content-type") == "application/simple-message-summary", \
        req.get("content-type")
    assert req.to_tag is None, "unsolicited NOTIFY inside a dialog: %s" % req.get("to")
    assert req.start.split()[1] == phone.uri, "Request-URI %s, contact %s" % (
        req.start, phone.uri)
    body = req.body.decode()
    print("%s: %s" % (what, body.replace("\r\n", " | ")))
    return req, body


def move(src, dst):
    """As app_voicemail saves a message to Old: the .txt last, so that the
    counts change in one step."""
    os.makedirs(os.path.dirname(spool + dst), exist_ok=True)
    for ext in (".wav", ".txt"):
        os.rename(spool + src + ext, spool + dst + ext)


def remove(path):
    for ext in (".txt", ".wav"):
        os.remove(spool + path + ext)


alice = kvsip.Phone(kvsip.kv_port(), "1001")
bob = kvsip.Phone(kvsip.kv_port(), "1002")
carol = kvsip.Phone(kvsip.kv_port(), "1003")
alice.sign_in()
req, body = notify(alice, "NOTIFY on registration")
assert "Messages-Waiting: yes\r\n" in body, body
assert "Voice-Message: 3/1 (1/0)\r\n" in body, body
assert "Message-Account: sip:1001@" in body, body
assert req.get("from").startswith("<sip:vmail@"), req.get("from")
bob.sign_in()
bob.expect_nothing(lambda m: isinstance(m, kvsip.Request), "no mailboxes, no NOTIFY", 2.0)
carol.sign_in()
_, body = notify(carol, "two mailboxes summed")
assert "Voice-Message: 1/1 (0/0)\r\n" in body, body
assert "Messages-Waiting: yes\r\n" in body, body

# Alice listens to a new message: it goes to Old.
move("default/1001/INBOX/msg0000", "default/1001/Old/msg0001")
_, body = notify(alice, "after listening")
assert "Voice-Message: 2/2 (1/0)\r\n" in body, body
assert "Messages-Waiting: yes\r\n" in body, body
# ... and to the urgent one.
move("default/1001/Urgent/msg0000", "default/1001/Old/msg0002")
_, body = notify(alice, "urgent listened to")
assert "Voice-Message: 1/3 (0/0)\r\n" in body, body
# A second contact of Alice's gets every change as well.
alice2 = kvsip.Phone(kvsip.kv_port(), "1001")
alice2.sign_in()
_, body = notify(alice2, "second contact registers")
assert "Voice-Message: 1/3 (0/0)\r\n" in body, body
remove("default/1001/Old/msg0000")
for p in (alice, alice2):
    _, body = notify(p, "deleted")
    assert "Voice-Message: 1/2 (0/0)\r\n" in body, body
move("default/1001/INBOX/msg0001", "default/1001/Old/msg0003")
for p in (alice, alice2):
    _, body = notify(p, "nothing new")
    assert "Messages-Waiting: no\r\nMessage-Account: sip:1001@" in body, body
    assert "Voice-Message: 0/3 (0/0)\r\n" in body, body
# A message being recorded (.wav without its .txt yet) is no message.
with open(spool + "default/1001/INBOX/msg0000.wav", "wb") as f:
    f.write(b"\0" * 100)
alice.expect_nothing(lambda m: isinstance(m, kvsip.Request), "audio alone", 2.5)
with open(spool + "default/1001/INBOX/msg0000.txt", "w") as f:
    f.write("[message]\n")
for p in (alice, alice2):
    _, body = notify(p, "new message")
    assert "Voice-Message: 1/3 (0/0)\r\n" in body, body
    assert "Messages-Waiting: yes\r\n" in body, body
# Carol's second mailbox (another context) changes: her sum changes.
remove("sales/3000/INBOX/msg0000")
_, body = notify(carol, "other context")
assert "Voice-Message: 0/1 (0/0)\r\n" in body, body
bob.expect_nothing(lambda m: isinstance(m, kvsip.Request), "still nothing for 1002", 0.5)
PY
kv_ok "NOTIFY on registration and on every change of the spool"

kv_assert_eq 0 "$(kv_log_count 'event=mwi_notify_failed')" "NOTIFYs refused"
kv_metrics "$KV_TMP/metrics"
# 1 + 1 on registration, 2 changes to 1001 (one contact), 1 on the second
# registration, 3 changes to both contacts, 1 change to 1003.
kv_assert_eq 12 "$(kv_metric "$KV_TMP/metrics" kubevox_mwi_notify_total)" "NOTIFYs counted"
kvd_stop
kv_pass
