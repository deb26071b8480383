#!/usr/bin/env bash
# test_call_port_exhaustion - with rtp.conf's range holding one port pair,
# a first call to 600 takes it; a second call gets 503 Service Unavailable
# with Retry-After while the first one goes on (its echo still works); once
# the first call ends its ports serve a new call.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001
kv_conf_rtp 2
kvd_start

kv_python_call <<'PY' || kv_fail "port exhaustion"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
a = kvsip.Rtp()
caller.media = [a]
first = kvsip.OutCall(caller, "600", kvsip.sdp_offer(a.port))
first.connect("first call to 600")

b = kvsip.Rtp()
second = kvsip.OutCall(caller, "600", kvsip.sdp_offer(b.port))
second.invite()
_, r = second.expect_final(503, "second call, no port pair left")
assert r.get("retry-after") is not None, "503 without Retry-After: %r" % r.start

# The live call is untouched.
kvsip.send_stream(a, first.answer.media, "live", 20)
kvsip.expect_stream(a, "live", 20, 0, first.answer.media)
assert first.bye().status == 200

# Its ports come back once the relay worker has let them go (a moment
# after the BYE, asynchronously): a new call soon succeeds.
import time
c = kvsip.Rtp()
caller.media = [c]
deadline = time.monotonic() + 5
while True:
    third = kvsip.OutCall(caller, "600", kvsip.sdp_offer(c.port))
    third.invite()
    _, r = third.final()
    if r is not None and r.status == 200:
        third.established(r)
        third.ack()
        break
    assert r is not None and r.status == 503 and time.monotonic() < deadline, \
        "third call to 600: %s" % (r and r.start)
    time.sleep(0.2)
assert third.bye().status == 200
print("503 + Retry-After while the range was full; the live call kept its media")
PY
kv_ok "a full RTP range answers new calls 503, never breaks live ones"
kv_wait_log 'event=call_no_media_port' 1
kvd_stop
kv_pass
