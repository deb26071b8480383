#!/usr/bin/env bash
# test_call_session_timer - RFC 4028 session timers on the caller's leg
# (endpoint timers=yes, the default; Min-SE 90): an INVITE with Supported:
# timer and Session-Expires: 1800 gets a 200 with Session-Expires:
# 1800;refresher=uac and Require: timer, and the refreshes the caller then
# owes (a re-INVITE, an UPDATE) are answered 200.  Session-Expires: 60,
# below Min-SE, gets 422 Session Interval Too Small with Min-SE: 90, and
# the retry at 90 (with Min-SE: 90, section 7.4) is accepted at 90.  An
# endpoint with timers=no answers without Session-Expires or Require,
# and never 422.  The expiry itself (at least 60 s away) is not awaited.
. "$(dirname "$0")/lib.sh"

kv_conf_calls
kv_conf_call_user 1001
kv_conf_call_user 1003 endpoint.timers=no
kvd_start

kv_python_call <<'PY' || kv_fail "session timers"
import re
import kvsip


def session_expires(r):
    """(interval, {param: value}) of a response's Session-Expires, or None."""
    v = r.get("session-expires") or r.get("x")
    if v is None:
        return None
    parts = [p.strip() for p in v.split(";")]
    assert re.fullmatch(r"\d+", parts[0]), "Session-Expires: %s" % v
    params = dict((p.partition("=")[0].lower(), p.partition("=")[2].lower())
                  for p in parts[1:])
    return int(parts[0]), params


def options(r, name):
    return [o.lower() for o in r.values(name)]


def dial(phone, se, min_se=None):
    """INVITE 600 asking for session timers at se; the OutCall."""
    a = kvsip.Rtp()
    phone.media = [a]
    headers = [("Supported", "timer"), ("Session-Expires", str(se))]
    if min_se:
        headers.append(("Min-SE", str(min_se)))
    call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port, session=4028),
                         headers=headers)
    call.invite()
    return call


def expect_timer(call, se, what):
    """The 200 of call carries Session-Expires: se;refresher=uac and
    Require: timer; then ACK."""
    _, r = call.expect_final(200, what)
    call.ack()
    got = session_expires(r)
    assert got is not None, "%s: no Session-Expires in %s" % (what, r.raw)
    assert got == (se, {"refresher": "uac"}), "%s: Session-Expires: %s" % (
        what, r.get("session-expires"))
    assert "timer" in options(r, "require"), "%s: Require: %r" % (
        what, r.get_all("require"))
    assert "timer" in options(r, "supported"), "%s: Supported: %r" % (
        what, r.get_all("supported"))
    print("%s: 200 with Session-Expires: %s, Require: timer" % (
        what, r.get("session-expires")))


caller = kvsip.Phone(kvsip.kv_port(), "1001")
call = dial(caller, 1800)
expect_timer(call, 1800, "Session-Expires: 1800")

# The refreshes the caller owes as refresher (section 7.4).
call.headers = [("Supported", "timer"), ("Session-Expires", "1800;refresher=uac")]
r = call.reinvite(kvsip.sdp_offer(caller.media[0].port, version=2, session=4028),
                  "refresh re-INVITE")
print("refresh re-INVITE: %s (Session-Expires: %s)" % (r.start, r.get("session-expires")))
cseq = call.in_dialog("UPDATE", headers=call.headers)
r = call.expect_response(cseq, "UPDATE", "refresh UPDATE")
assert r.status == 200, "refresh UPDATE: %s" % r.start
print("refresh UPDATE without SDP: %s" % r.start)
r = call.bye()
assert r.status == 200, "BYE: %s" % r.start

# Below Min-SE: 422, then the retry at Min-SE.
call = dial(caller, 60)
_, r = call.expect_final(422, "Session-Expires: 60")
assert r.reason == "Session Interval Too Small", r.start
assert r.get("min-se") is not None and r.get("min-se").split(";")[0].strip() == "90", \
    "422 with Min-SE: %r" % r.get("min-se")
print("Session-Expires: 60: %s, Min-SE: %s" % (r.start, r.get("min-se")))
call = dial(caller, 90, min_se=90)
expect_timer(call, 90, "retry at Session-Expires: 90")
r = call.bye()
assert r.status == 200, "BYE: %s" % r.start

# timers=no: no session timer, whatever the caller asks.
other = kvsip.Phone(kvsip.kv_port(), "1003")
for se in (1800, 60):
    call = dial(other, se)
    _, r = call.expect_final(200, "timers=no, Session-Expires: %d" % se)
    call.ack()
    assert session_expires(r) is None, "timers=no: Session-Expires: %s" % (
        r.get("session-expires"))
    assert "timer" not in options(r, "require"), "timers=no: Require: %r" % (
        r.get_all("require"))
    r = call.bye()
    assert r.status == 200, "BYE: %s" % r.start
    print("timers=no, Session-Expires: %d: 200 without Session-Expires" % se)
PY
kv_ok "Session-Expires negotiated, 422 below Min-SE, refreshes answered, timers=no honoured"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 4
[ "$(kv_log_count 'event=call_session_expired')" = 0 ] ||
	kv_fail "a session expired during the test"
kvd_stop
kv_pass
