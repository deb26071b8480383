#!/usr/bin/env bash
# test_call_ban_office - an office of phones behind one address (all on
# 127.0.0.1, as behind one NAT), ban_failures=3 (issue #9 item 3): 1004
# keeps a stale password and a test phone polls 1099, a user not created
# yet.  Only those two users are banned at that address (403 for their
# REGISTER, INVITE and OPTIONS, even 1004's right password); 1001, 1002
# and 1003 keep registering and calling each other with media both ways,
# and the address itself is never banned.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003 1004
kv_conf_security ban_failures=3 ban_window=60 ban_time=300
kvd_start

kv_python_call <<'PY' || kv_fail "office behind one address"
import kvsip

port = kvsip.kv_port()
office = {u: kvsip.Phone(port, u) for u in ("1001", "1002", "1003")}
for p in office.values():
    p.sign_in()
print("1001, 1002, 1003 registered from 127.0.0.1")


def fails(user, password, n):
    """n REGISTERs answered 401 after the credentials."""
    for i in range(n):
        c = kvsip.Client(port)
        first, final = c.register(user, password)
        assert first is not None and first.status == 401, "%s %d: %s" % (
            user, i, first and first.start)
        assert final is not None and final.status == 401, "%s %d: %s" % (
            user, i, final and final.start)
        c.close()


def refused(user, password):
    """REGISTER, OPTIONS and INVITE From user: 403 at once."""
    c = kvsip.Client(port)
    first, _ = c.register(user, password)
    assert first is not None and first.status == 403, "REGISTER %s: %s" % (
        user, first and first.start)
    r = c.transact(c.build("OPTIONS", user=user))
    assert r is not None and r.status == 403, "OPTIONS from %s: %s" % (user, r and r.start)
    c.close()
    p = kvsip.Phone(port, user, password=password)
    call = kvsip.OutCall(p, "1001", kvsip.sdp_offer(40000))
    call.invite()
    call.expect_final(403, "INVITE from %s" % user)
    p.close()


# One phone with a stale password, one polling a user not created yet.
fails("1004", "stale", 3)
fails("1099", "whatever", 3)
refused("1004", "secret1004")
refused("1099", "whatever")
print("1004 (stale password) and 1099 (unknown) banned at 127.0.0.1")


def call(src, dst):
    a, b = kvsip.Rtp(), kvsip.Rtp()
    src.media, dst.media = [a], [b]
    out = kvsip.OutCall(src, dst.user, kvsip.sdp_offer(a.port))
    out.invite()
    inc = dst.expect_invite()
    inc.ring()
    inc.answer(kvsip.sdp_offer(b.port))
    out.expect_final(200, "%s calls %s" % (src.user, dst.user))
    out.ack()
    inc.expect_ack()
    # Media both ways: each end sends to its leg, the other end hears it.
    for tx, rx, to, heard_from, tag in ((a, b, out.answer.media, inc.offer.media, "fwd"),
                                        (b, a, inc.offer.media, out.answer.media, "back")):
        kvsip.send_stream(tx, to, tag, 10)
        kvsip.expect_stream(rx, tag, 10, 0, heard_from)
    cseq = out.in_dialog("BYE")
    inc.answer_bye()
    r = out.expect_response(cseq, "BYE", "BYE of %s" % src.user)
    assert r.status == 200, r.start
    a.close()
    b.close()
    src.media, dst.media = [], []


for p in office.values():
    p.sign_in()
call(office["1001"], office["1002"])
call(office["1003"], office["1001"])
print("the office keeps registering and calling: 1001->1002, 1003->1001 with media")
PY
kv_ok "stale password (1004) and polling (1099) banned; 1001-1003 on the same address served"

kv_wait_log 'event=ban .*key="127\.0\.0\.1 1004" scope=user failures=3'
kv_wait_log 'event=ban .*key="127\.0\.0\.1 1099" scope=user failures=3'
[ "$(kv_log_count 'event=ban ')" = 2 ] || kv_fail "ban lines: $(grep 'event=ban ' "$KVD_LOG")"
kv_ok "two bans logged, both for one user at 127.0.0.1, none for the address"

kvd_stop
kv_pass
