#!/usr/bin/env bash
# test_call_tcp - calls between two phones on TCP (1001 -> 1002): each
# phone keeps one connection to KubeVox and nothing listens at its own
# address, so the callee's INVITE can only arrive on the connection it
# registered on.  That INVITE has a TCP Via and a Contact with
# transport=tcp, and is sent once (no Timer A on a reliable transport,
# RFC 3261 section 17.1.1.2) even though the callee answers only after
# 1.2 s.  Media flows both ways, the callee's BYE reaches the caller on
# its connection, and in a second call the caller's BYE reaches the
# callee on its one.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "calls over TCP"
import kvsip

caller = kvsip.TcpPhone(kvsip.kv_port(), "1001")
callee = kvsip.TcpPhone(kvsip.kv_port(), "1002")
callee.sign_in()
PCMU = ((0, "PCMU/8000"),)


def check_tcp(msg, what):
    via = msg.values("via")[0]
    assert via.upper().startswith("SIP/2.0/TCP "), "%s: Via %s" % (what, via)
    contacts = msg.contacts()
    if contacts:
        assert "transport=tcp" in contacts[0][0].lower(), "%s: Contact %s" % (
            what, contacts[0][0])


def place(n):
    """Call 1002 over TCP, the callee answering after 1.2 s."""
    a, b = kvsip.Rtp(), kvsip.Rtp()
    caller.media, callee.media = [a], [b]
    call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
    call.invite()
    inc = callee.expect_invite()
    check_tcp(inc.invite, "INVITE to the callee")
    assert inc.invite.uri == callee.uri, "INVITE for %s, the binding is %s" % (
        inc.invite.uri, callee.uri)
    callee.idle(1.2)
    invites = callee.tapped(lambda m: isinstance(m, kvsip.Request) and
                            m.method == "INVITE" and m.call_id == inc.call_id)
    assert len(invites) == 1, "call %d: the INVITE came %d times over TCP" % (
        n, len(invites))
    inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
    _, r = call.expect_final(200, "call %d over TCP" % n)
    check_tcp(r, "200 to the caller")
    call.ack()
    check_tcp(inc.expect_ack(), "ACK to the callee")
    kvsip.check_media(a, b, call.answer.media, inc.offer.media, "tcp%d" % n)
    print("call %d: INVITE once on the callee's connection (%s), 200, ACK, media" % (
        n, inc.invite.values("via")[0].split(";")[0]))
    return call, inc


call, inc = place(1)
r = inc.bye()
assert r.status == 200, "callee's BYE: %s" % r.start
check_tcp(call.answer_bye(), "BYE to the caller")
print("call 1: the callee's BYE reached the caller over its connection")

call, inc = place(2)
r = call.bye()
assert r.status == 200, "caller's BYE: %s" % r.start
check_tcp(inc.answer_bye(), "BYE to the callee")
print("call 2: the caller's BYE reached the callee over its connection")
assert not caller.closed and not callee.closed, "KubeVox closed a phone's connection"
PY
kv_ok "calls between TCP phones, every request on the phones' own connections"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 2
kvd_stop
kv_pass
