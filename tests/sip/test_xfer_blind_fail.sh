#!/usr/bin/env bash
# test_xfer_blind_fail - REFERs that do not transfer: 1002 has
# allow_transfer=no, so its REFER gets 603 Decline and the call goes on;
# REFERs with a malformed Refer-To (not an address, a tel: URI, none at
# all, a broken %-escape in Replaces) get 400; a blind transfer to an
# extension that does not exist gets 202, NOTIFY 100 then NOTIFY 404
# (terminated) and the call stays bridged (RTP both ways); a REFER
# outside any dialog gets 481.  Last, a target that answers busy: NOTIFY
# 486 to the transferor, which gets a BYE, and the transferee's new call
# goes on in the dialplan (here Hangup(), a BYE to it).  And a transferor
# that hangs up right after 202: the transfer completes without it.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw,alaw
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw,alaw endpoint.allow_transfer=no
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw,alaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
kvd_start

kv_python_call <<'PY' || kv_fail "REFERs that do not transfer"
import kvsip

host = "127.0.0.1"
p1 = kvsip.Phone(kvsip.kv_port(), "1001")
p2 = kvsip.Phone(kvsip.kv_port(), "1002")
p3 = kvsip.Phone(kvsip.kv_port(), "1003")
for p in (p1, p2, p3):
    p.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
p1.media.append(a)
p2.media.append(b)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

call = kvsip.OutCall(p1, "1002", kvsip.sdp_offer(a.port, codecs=PCMU))
call.invite()
inc = p2.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
call.expect_final(200, "1001 -> 1002")
call.ack()
inc.expect_ack()


def bridged(tag):
    kvsip.send_stream(a, call.answer.media, tag + "-there", 5)
    kvsip.expect_stream(b, tag + "-there", 5, 0, inc.offer.media)
    kvsip.send_stream(b, inc.offer.media, tag + "-back", 5)
    kvsip.expect_stream(a, tag + "-back", 5, 0, call.answer.media)


def refer(d, value, what, headers=()):
    if value is None:
        cseq = d.in_dialog("REFER", headers=headers)
    else:
        cseq = d.refer(value, headers)
    return d.expect_response(cseq, "REFER", what)


r = refer(inc, "<sip:1003@%s>" % host, "REFER of 1002 (allow_transfer=no)")
assert r.status == 603, r.start
bridged("after603")
print("allow_transfer=no: 603, still bridged")

for value, what in (("<sip:1003@%s" % host, "unterminated <"),
                    ("<tel:+15551003>", "a tel: URI"),
                    (None, "no Refer-To"),
                    ("<sip:1003@%s?Replaces=abc%%zz>" % host, "a broken escape")):
    r = refer(call, value, "REFER with " + what)
    assert r.status == 400, "%s: %s" % (what, r.start)
    print("Refer-To with %s: 400" % what)

r = refer(call, "<sip:9999@%s>" % host, "REFER to 9999")
assert r.status == 202, r.start
code, state, _ = call.expect_refer_notify("first NOTIFY")
assert code == 100 and state.startswith("active"), (code, state)
code, state, _ = call.expect_refer_notify("final NOTIFY")
assert code == 404 and state.startswith("terminated"), (code, state)
p1.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "BYE",
                  "BYE after a failed transfer")
bridged("after404")
print("transfer to 9999: 202, NOTIFY 100 then 404, still bridged")

# Outside of any dialog: no To tag.
out = p1.build_request("REFER", "sip:1002@%s:%d" % (host, kvsip.kv_port()),
                       "<sip:1001@%s>;tag=%s" % (host, kvsip.new_tag()),
                       "<sip:1002@%s>" % host, "kvsip-refer-out-%d" % a.port, 1,
                       headers=[("Refer-To", "<sip:1003@%s>" % host)])
p1.send(out)
r = p1.expect(lambda m: isinstance(m, kvsip.Response) and m.cseq == (1, "REFER"),
              "answer to a REFER outside a dialog")
assert r.status == 481, r.start
print("REFER outside a dialog: 481")

# The target is busy: 486 in the final NOTIFY, the transferor gets its
# BYE, the transferee's dialplan goes on (Hangup()).
r = refer(call, "<sip:1003@%s>" % host, "REFER to busy 1003")
assert r.status == 202, r.start
code, _, _ = call.expect_refer_notify("first NOTIFY")
assert code == 100, code
inc3 = p3.expect_invite()
inc3.respond(486)
inc3.expect_ack()
code, state, _ = call.expect_refer_notify("final NOTIFY")
assert code == 486 and state.startswith("terminated"), (code, state)
call.answer_bye()
inc.answer_bye()
print("busy target: NOTIFY 486, BYE to the transferor and, after Hangup(), to the transferee")

# The transferor hangs up right after 202, before any final NOTIFY: the
# transfer goes on without it.
c3 = kvsip.Rtp()
p3.media.append(c3)
call = kvsip.OutCall(p1, "1002", kvsip.sdp_offer(a.port, codecs=PCMU))
call.invite()
inc = p2.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
call.expect_final(200, "1001 -> 1002 again")
call.ack()
inc.expect_ack()
r = refer(call, "<sip:1003@%s>" % host, "REFER, then BYE at once")
assert r.status == 202, r.start
code, _, _ = call.expect_refer_notify("first NOTIFY")
assert code == 100, code
assert call.bye().status == 200
inc3 = p3.expect_invite()
inc3.answer(kvsip.sdp_offer(c3.port, codecs=PCMU))
inc3.expect_ack()
for i in range(100):
    b.send(inc.offer.media, b"probe")
    if c3.wait(lambda got: any(p.payload == b"probe" for p, _ in got), 0.02):
        break
c3.quiet()
c3.take()
kvsip.send_stream(b, inc.offer.media, "early-bye", 10)
kvsip.expect_stream(c3, "early-bye", 10, 0, inc3.offer.media)
kvsip.send_stream(c3, inc3.offer.media, "early-bye-back", 10)
kvsip.expect_stream(b, "early-bye-back", 10, 0, inc.offer.media)
p1.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method in ("NOTIFY", "BYE"),
                  "NOTIFY or BYE to a transferor that hung up")
print("transferor's BYE before the final NOTIFY: 1002 <-> 1003 all the same")
cseq = inc3.in_dialog("BYE")
inc.answer_bye()
assert inc3.expect_response(cseq, "BYE", "BYE of 1003").status == 200
PY
kv_ok "allow_transfer=no 603, malformed Refer-To 400, unknown target 404 sipfrag, outside a dialog 481, busy 486"

kvd_stop
kv_pass
