#!/usr/bin/env bash
# test_mwi_cluster - message waiting with two replicas sharing one spool
# (issue #12 item 2): a phone hears the counts from the replica that holds
# its flow, on registration and on each change of the shared spool, which
# every replica polls (pollmailboxes): one NOTIFY per change and contact,
# not one per replica.  A subscription lives on the replica that took the
# SUBSCRIBE, which notifies it.  Without pollmailboxes, the replica that
# finds a change (here a reload of r2 alone) tells every phone, a phone
# whose flow r1 holds through r1 (the flow proxy).
. "$(dirname "$0")/lib.sh"

SPOOL=$KV_TMP/spool
kv_conf_transports
kv_conf_user 1001 endpoint.mailboxes=1001
kv_conf_user 1002 aor.mailboxes=1001
cat > "$KV_CONF/asterisk.conf" <<CONF
[directories]
astspooldir => $SPOOL
CONF
printf '[general]\npollmailboxes=yes\npollfreq=1\n' > "$KV_CONF/voicemail.conf"
mkdir -p "$SPOOL/voicemail/default/1001/INBOX"
touch "$SPOOL/voicemail/default/1001/INBOX/msg0000.txt"
kv_cluster_start 2

kv_cluster_python "$SPOOL" "$KV_TMP" "$KV_RPID_1" "$KV_RPID_2" <<'PY' || kv_fail "MWI"
import os
import re
import signal
import sys
import time
import kvsip

tmp = sys.argv[2]
pids = {1: int(sys.argv[3]), 2: int(sys.argv[4])}

spool = sys.argv[1] + "/voicemail/default/1001/INBOX/"
r1, r2 = kvsip.replica_addrs()
port = kvsip.kv_port()


def unsolicited(m):
    return isinstance(m, kvsip.Request) and m.method == "NOTIFY" and m.to_tag is None


def notify(phone, replica, what):
    req = phone.expect(unsolicited, what)
    phone.respond(req, 200, to_tag=kvsip.new_tag())
    via = req.values("via")[0]
    assert replica in via.split(";")[0], "%s: sent by %s, not %s" % (what, via, replica)
    return req.body.decode()


a = kvsip.Phone(port, "1001", host=r1)
b = kvsip.Phone(port, "1001", host=r2)
a.sign_in()
assert "Voice-Message: 1/0 (0/0)" in notify(a, r1, "registration on r1")
b.sign_in()
assert "Voice-Message: 1/0 (0/0)" in notify(b, r2, "registration on r2")
a.expect_nothing(unsolicited, "r2's registration told a", 1.0)

# 1002 subscribes to the same mailbox on r2.
c = kvsip.Phone(port, "1002", host=r2)
ruri = "sip:1002@%s:%d" % (r2, port)
local = "<sip:1002@%s>;tag=%s" % (r2, kvsip.new_tag())
cid = "mwi-cluster-%s" % kvsip.new_tag()
hdrs = [("Event", "message-summary"), ("Expires", "600")]
c.send(c.build_request("SUBSCRIBE", ruri, local, "<%s>" % ruri, cid, 1,
                       headers=hdrs, contact=True))
r = c.expect(lambda m: isinstance(m, kvsip.Response) and m.call_id == cid, "401")
auth = kvsip.authorization(kvsip.pick_challenge(r, "MD5"), "1002", c.password,
                           "SUBSCRIBE", ruri)
c.send(c.build_request("SUBSCRIBE", ruri, local, "<%s>" % ruri, cid, 2,
                       headers=hdrs + [("Authorization", auth)], contact=True))
r = c.expect(lambda m: isinstance(m, kvsip.Response) and m.call_id == cid and
             m.cseq[0] == 2, "200 to SUBSCRIBE")
assert r.status == 200, r.start


def sub_notify(what):
    req = c.expect(lambda m: isinstance(m, kvsip.Request) and m.call_id == cid, what)
    c.respond(req, 200)
    assert r2 in req.values("via")[0].split(";")[0], req.values("via")[0]
    return req.body.decode()


assert "Voice-Message: 1/0 (0/0)" in sub_notify("first NOTIFY")

# A new message in the shared spool: each phone hears it once, from its
# own replica.
open(spool + "msg0001.txt", "w").close()
assert "Voice-Message: 2/0 (0/0)" in notify(a, r1, "change, phone on r1")
assert "Voice-Message: 2/0 (0/0)" in notify(b, r2, "change, phone on r2")
assert "Voice-Message: 2/0 (0/0)" in sub_notify("change, subscriber on r2")
for p in (a, b, c):
    p.expect_nothing(lambda m: isinstance(m, kvsip.Request), "a second NOTIFY", 2.5)
print("one NOTIFY per contact and change, each from the replica holding the flow")


def reloaded(i, n):
    """Wait for replica i's n-th successful reload."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with open("%s/r%d.log" % (tmp, i), errors="replace") as f:
            if len(re.findall(r"event=config_reload result=ok", f.read())) >= n:
                return
        for p in (a, b, c):
            p.idle(0.1)
    raise AssertionError("r%d did not reload" % i)


# No more polling anywhere.
for i in (1, 2):
    with open("%s/r%d/voicemail.conf" % (tmp, i), "w") as f:
        f.write("[general]\npollmailboxes=no\n")
    os.kill(pids[i], signal.SIGHUP)
for i in (1, 2):
    reloaded(i, 1)
open(spool + "msg0002.txt", "w").close()
for p in (a, b, c):
    p.expect_nothing(lambda m: isinstance(m, kvsip.Request), "a NOTIFY nobody looked for", 1.5)
# r2 alone reloads, finds the change and tells every phone.
n = 0
with open("%s/r2.log" % tmp, errors="replace") as f:
    n = len(re.findall(r"event=config_reload result=ok", f.read()))
os.kill(pids[2], signal.SIGHUP)
reloaded(2, n + 1)
req = a.expect(unsolicited, "change found by r2, phone on r1")
a.respond(req, 200, to_tag=kvsip.new_tag())
vias = req.values("via")
assert len(vias) == 2 and r1 in vias[0].split(";")[0] and r2 in vias[1].split(";")[0], \
    "NOTIFY to the phone on r1: Vias %r" % vias
assert "Voice-Message: 3/0 (0/0)" in req.body.decode(), req.body
assert "Voice-Message: 3/0 (0/0)" in notify(b, r2, "change found by r2, phone on r2")
assert "Voice-Message: 3/0 (0/0)" in sub_notify("change found by r2, subscriber on r2")
for p in (a, b, c):
    p.expect_nothing(lambda m: isinstance(m, kvsip.Request), "a second NOTIFY", 1.5)
print("r2 found the change: the phone on r1 heard it through r1 (Vias %s)" % vias)
PY
kv_ok "MWI from the replica that holds the flow, once per change"
# The phones' 200s came back, through r1 too.
for i in 1 2; do
	kv_assert_eq 0 "$(grep -c 'event=mwi_notify_failed' "$KV_TMP/r$i.log")" "r$i NOTIFYs failed"
done
kv_cluster_stop
kv_pass
