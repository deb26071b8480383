#!/usr/bin/env bash
# test_mwi_subscribe - SUBSCRIBE to message-summary (RFC 3842, RFC 6665)
# as res_pjsip_mwi takes it: to an aor with mailboxes= (or to the endpoint,
# a Request-URI without a user), digest-authenticated like any request
# (401 first), 489 for another event package (OPTIONS lists it in
# Allow-Events, SUBSCRIBE in Allow), 423 under sub_min_expiry,
# 406 for an Accept without our body type, 404 without mailboxes; 200 with
# Expires, then a NOTIFY in the new dialog at once (Subscription-State:
# active;expires=N), on each change of the spool (pollmailboxes), after a
# refresh, and "terminated" after an unsubscribe or at expiry.  With
# mwi_subscribe_replaces_unsolicited=yes the endpoint's unsolicited
# NOTIFYs stop while it is subscribed; without it, a SUBSCRIBE for a
# mailbox it gets unsolicited is refused (500), as Asterisk does.
. "$(dirname "$0")/lib.sh"

SPOOL=$KV_TMP/spool
kv_conf_transports
kv_conf_user 1001 aor.mailboxes=1001
kv_conf_user 1002
kv_conf_user 1003 endpoint.mailboxes=1003 aor.mailboxes=1003 \
	endpoint.mwi_subscribe_replaces_unsolicited=yes endpoint.sub_min_expiry=2
kv_conf_user 1004 endpoint.mailboxes=1004 aor.mailboxes=1004
cat > "$KV_CONF/asterisk.conf" <<CONF
[directories]
astspooldir => $SPOOL
CONF
printf '[general]\npollmailboxes=yes\npollfreq=1\n' > "$KV_CONF/voicemail.conf"
mkdir -p "$SPOOL/voicemail/default/1001/INBOX" "$SPOOL/voicemail/default/1003/INBOX"
touch "$SPOOL/voicemail/default/1001/INBOX/msg0000.txt"
kvd_start

kv_python "$SPOOL" <<'PY' || kv_fail "SUBSCRIBE"
import random
import re
import sys
import kvsip

spool = sys.argv[1] + "/voicemail/default/"


class Sub:
    """One subscription, from the subscriber's side."""

    def __init__(self, phone, user=None):
        self.phone = phone
        self.ruri = "sip:%s127.0.0.1:%d" % (user + "@" if user else "", kvsip.kv_port())
        self.to_hdr = "<%s>" % self.ruri
        self.local_hdr = "<sip:%s@127.0.0.1>;tag=%s" % (phone.user, kvsip.new_tag())
        self.call_id = "mwi-%016x" % random.getrandbits(64)
        self.cseq = 0
        self.target = self.ruri
        self.route = ()

    def send(self, expires=None, event="message-summary", headers=()):
        self.cseq += 1
        h = [("Event", event)] + list(headers)
        if expires is not None:
            h.append(("Expires", str(expires)))
        self.phone.send(self.phone.build_request(
            "SUBSCRIBE", self.target, self.local_hdr, self.to_hdr, self.call_id,
            self.cseq, route=self.route, headers=h, contact=True))
        return self.phone.expect(
            lambda m: isinstance(m, kvsip.Response) and m.call_id == self.call_id and
            m.cseq == (self.cseq, "SUBSCRIBE") and m.status >= 200,
            "answer to SUBSCRIBE %d" % self.cseq)

    def subscribe(self, expires=None, event="message-summary", headers=()):
        """With digest credentials after the challenge: the final answer."""
        r = self.send(expires, event, headers)
        if r.status != 401:
            return r
        chal = kvsip.pick_challenge(r, "MD5")
        auth = kvsip.authorization(chal, self.phone.user, self.phone.password,
                                   "SUBSCRIBE", self.ruri)
        r = self.send(expires, event, list(headers) + [("Authorization", auth)])
        if r.status == 200:
            self.to_hdr = r.get("to")
            self.target = r.contacts()[0][0]
            self.route = tuple(reversed(r.get_all("record-route")))
        return r

    def notify(self, what, timeout=5.0):
        req = self.phone.expect(
            lambda m: isinstance(m, kvsip.Request) and m.method == "NOTIFY" and
            m.call_id == self.call_id, what, timeout)
        self.phone.respond(req, 200)
        assert req.get("event") == "message-summary", req.get("event")
        assert req.get("content-type") == "application/simple-message-summary"
        assert kvsip.header_tag(req.get("to")) == kvsip.header_tag(self.local_hdr)
        assert req.from_tag == kvsip.header_tag(self.to_hdr), (req.get("from"), self.to_hdr)
        body = req.body.decode()
        state = req.get("subscription-state")
        print("%s: %s; %s" % (what, state, body.replace("\r\n", " | ")))
        return state, body


def is_unsolicited(m):
    return isinstance(m, kvsip.Request) and m.method == "NOTIFY" and m.to_tag is None


alice = kvsip.Phone(kvsip.kv_port(), "1001")

# What OPTIONS says we take.
r = alice.transact(alice.build("OPTIONS"))
assert r.status == 200, r.start
assert "SUBSCRIBE" in r.values("allow"), r.get("allow")
assert r.get("allow-events") == "message-summary", r.get("allow-events")
# Another event package: 489 naming ours, before any challenge.
r = Sub(alice, "1001").send(3600, event="presence")
assert r.status == 489, r.start
assert r.get("allow-events") == "message-summary", r.get("allow-events")
# No credentials: challenged like any request.
r = Sub(alice, "1001").send(3600)
assert r.status == 401 and kvsip.pick_challenge(r, "MD5"), r.start
# Too brief, or a body type we cannot send.
r = Sub(alice, "1001").subscribe(10)
assert r.status == 423 and r.get("min-expires") == "60", (r.start, r.get("min-expires"))
r = Sub(alice, "1001").subscribe(600, headers=[("Accept", "application/pidf+xml")])
assert r.status == 406, r.start
# Aors without mailboxes, or of another endpoint.
assert Sub(alice, "1003").subscribe(600).status == 404
assert Sub(kvsip.Phone(kvsip.kv_port(), "1002"), "1002").subscribe(600).status == 404
# Unsolicited MWI for that mailbox, without ..._replaces_unsolicited: 500.
assert Sub(kvsip.Phone(kvsip.kv_port(), "1004"), "1004").subscribe(600).status == 500

sub = Sub(alice, "1001")
r = sub.subscribe(600, headers=[("Accept", "application/simple-message-summary")])
assert r.status == 200 and r.get("expires") == "600", (r.start, r.get("expires"))
assert r.to_tag, "200 without a To tag"
state, body = sub.notify("first NOTIFY")
assert re.fullmatch(r"active;expires=(600|599)", state), state
assert "Messages-Waiting: yes\r\nMessage-Account: sip:1001@127.0.0.1\r\n" in body, body
assert "Voice-Message: 1/0 (0/0)\r\n" in body, body
# The spool changes: the subscriber hears it.
open(spool + "1001/INBOX/msg0001.txt", "w").close()
state, body = sub.notify("change")
assert "Voice-Message: 2/0 (0/0)\r\n" in body, body
# Refresh: 200 with the new Expires, and a NOTIFY.
r = sub.send(300)
assert r.status == 200 and r.get("expires") == "300", (r.start, r.get("expires"))
state, body = sub.notify("refresh")
assert re.fullmatch(r"active;expires=(300|299)", state), state
assert "Voice-Message: 2/0 (0/0)\r\n" in body, body
r = sub.send(30)
assert r.status == 423, r.start
# Unsubscribe: 200, then the last NOTIFY.
r = sub.send(0)
assert r.status == 200 and r.get("expires") == "0", (r.start, r.get("expires"))
state, body = sub.notify("unsubscribe")
assert state.startswith("terminated"), state
assert "Voice-Message: 2/0 (0/0)\r\n" in body, body
assert sub.send(600).status == 481, "SUBSCRIBE after the end"
alice.expect_nothing(lambda m: isinstance(m, kvsip.Request), "after the end", 1.5)

# To the endpoint (no user): every aor of it with mailboxes.
sub = Sub(alice)
assert sub.subscribe(120).status == 200
state, body = sub.notify("endpoint subscription")
assert "Voice-Message: 2/0 (0/0)\r\n" in body, body
assert sub.send(0).status == 200
state, _ = sub.notify("endpoint unsubscribe")
assert state.startswith("terminated"), state

# mwi_subscribe_replaces_unsolicited: Carol gets unsolicited NOTIFYs...
carol = kvsip.Phone(kvsip.kv_port(), "1003")
carol.sign_in()
req = carol.expect(is_unsolicited, "unsolicited NOTIFY on registration")
carol.respond(req, 200, to_tag=kvsip.new_tag())
# ... until she subscribes (sub_min_expiry=2 lets the test see the end).
sub = Sub(carol, "1003")
r = sub.subscribe(5)
assert r.status == 200 and r.get("expires") == "5", (r.start, r.get("expires"))
state, body = sub.notify("Carol's first NOTIFY")
assert "Voice-Message: 0/0 (0/0)\r\n" in body, body
open(spool + "1003/INBOX/msg0000.txt", "w").close()
state, body = sub.notify("Carol's change")
assert state.startswith("active"), state
assert "Voice-Message: 1/0 (0/0)\r\n" in body, body
state, body = sub.notify("expiry", timeout=8.0)
assert state == "terminated;reason=timeout", state
carol.expect_nothing(is_unsolicited, "unsolicited NOTIFY while subscribed", 0.2)
# The subscription over, the unsolicited NOTIFYs come back.
open(spool + "1003/INBOX/msg0001.txt", "w").close()
req = carol.expect(is_unsolicited, "unsolicited NOTIFY after the subscription")
carol.respond(req, 200, to_tag=kvsip.new_tag())
assert "Voice-Message: 2/0 (0/0)\r\n" in req.body.decode(), req.body
PY
kv_ok "subscriptions: challenge, 489/423/406/404/500, NOTIFYs, refresh, end, expiry"

kv_assert_eq 0 "$(kv_log_count 'event=mwi_notify_failed')" "NOTIFYs refused"
kv_wait_log 'event=mwi_subscription_end .*reason=expired'
kvd_stop
kv_pass
