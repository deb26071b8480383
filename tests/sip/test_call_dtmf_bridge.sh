#!/usr/bin/env bash
# test_call_dtmf_bridge - keys across a bridge between endpoints of
# different dtmf_mode, as Asterisk's bridge passes them: 1001
# (dtmf_mode=info) calls 1002 (rfc4733).  1001's INFO Signal=5 reaches
# 1002 as an RFC 4733 event 5, and the two talk again after it; 1002's
# RFC 4733 key 7 reaches 1001 as an INFO application/dtmf-relay Signal=7.
# Between two rfc4733 phones the events are only relayed (no INFO).
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw endpoint.dtmf_mode=info
kv_conf_user 1002 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
kvd_start

kv_python_call <<'PY' || kv_fail "keys across the bridge"
import kvsip

CODECS = ((0, "PCMU/8000"), (101, "telephone-event/8000"))
caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media = [a]
callee.media = [b]
call, inc = kvsip.place_call(caller, a, callee, b, CODECS)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before")

# INFO from the info phone: an RFC 4733 event to the other.
b.take()
cseq = call.in_dialog("INFO", body=b"Signal=5\r\nDuration=160\r\n",
                      headers=(("Content-Type", "application/dtmf-relay"),))
assert call.expect_response(cseq, "INFO", "INFO 5").status == 200
b_pt = inc.offer.pt_of("telephone-event")
ok = b.wait(lambda got: any(p.pt == b_pt and p.payload[1] & 0x80 for p, s in got), 5)
got = kvsip.dtmf_events([p for p, s in b.got if s == inc.offer.media], b_pt)
assert ok and [d for d, _ in got] == ["5"], "1002 got %r" % got
print("INFO Signal=5 from 1001: 1002 got the RFC 4733 event %r" % got)
a.quiet()
b.quiet()
a.take()
b.take()
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after the event")

# RFC 4733 from the other: an INFO to the info phone.
kvsip.send_dtmf(b, inc.offer.media, 7, b_pt)
info = call.expect_request("INFO", "INFO with the key", timeout=10)
assert info.get("content-type").lower() == "application/dtmf-relay", info.get("content-type")
assert b"Signal=7" in info.body, info.body
call.phone.respond(info, 200)
print("RFC 4733 7 from 1002: 1001 got INFO %r" % info.body)
kvsip.hang_up(call, inc)

# Two rfc4733 phones: the event is relayed, and no INFO is sent.
c = kvsip.Rtp()
p3 = kvsip.Phone(kvsip.kv_port(), "1003")
p3.media = [c]
b.take()
call, inc = kvsip.place_call(p3, c, callee, b, CODECS)
kvsip.send_dtmf(c, call.answer.media, 3, call.answer.pt_of("telephone-event"))
ok = b.wait(lambda got: any(p.pt == b_pt and p.payload[1] & 0x80 for p, s in got), 5)
got = kvsip.dtmf_events([p for p, s in b.got if s == inc.offer.media], b_pt)
assert ok and [d for d, _ in got] == ["3"], "1002 got %r" % got
callee.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INFO",
                      "no INFO between rfc4733 phones", 1.0)
kvsip.hang_up(call, inc)
print("rfc4733 to rfc4733: the event relayed, no INFO")
PY
kv_ok "INFO becomes RFC 4733 and RFC 4733 becomes INFO across a bridge; the talk goes on"
kv_wait_log 'event=dtmf_bridged .*digit=5 via=rfc4733' 1
kv_wait_log 'event=dtmf_bridged .*digit=7 via=info' 1

kvd_stop
kv_pass
