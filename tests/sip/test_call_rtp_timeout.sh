#!/usr/bin/env bash
# test_call_rtp_timeout - rtp_timeout=2 on the caller's endpoint: a call to
# 600 (Answer, Echo) whose caller stops sending RTP after 1 s is hung up
# with BYE a few seconds later (not before 1.5 s of silence, within 10 s;
# log event=rtp_timeout, then call_end), while a caller that keeps sending
# for 5 s gets no BYE.  In a call 1001 -> 1002, the caller's hold
# (a=inactive, answered by KubeVox) switches to rtp_timeout_hold (0: never), so 4 s of
# silence on hold end nothing; once resumed, silence hangs up both legs.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1002
kv_conf_call_user 1001 endpoint.rtp_timeout=2
kvd_start

kv_python_ops <<'PY' || kv_fail "rtp_timeout"
import time
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))


def is_bye(call):
    return lambda m: isinstance(m, kvsip.Request) and m.method == "BYE" and \
        m.call_id == call.call_id


def talk(rtp, dest, seconds, phones):
    """Send RTP for seconds at 20 ms a packet, the phones answering
    whatever comes meanwhile; the time of the last packet."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rtp.send(dest, b"\xff" * 160)
        kvsip.kvd_pass_time(0.02, phones)
    return time.monotonic()


# Media that stops: BYE after rtp_timeout.
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "600", kvsip.sdp_offer(a.port))
call.connect("call to 600")
stop = talk(a, call.answer.media, 1.0, [caller])
caller.expect_nothing(is_bye(call), "BYE while RTP flowed", 0)
assert a.got, "Echo sent nothing back"
bye = call.answer_bye(timeout=10)
silence = time.monotonic() - stop
assert silence >= 1.5, "BYE after %.1fs of silence, rtp_timeout is 2" % silence
print("600: RTP stopped, BYE after %.1fs of silence" % silence)
kvsip.kvd_wait_log("event=rtp_timeout", "rtp_timeout logged")
a.close()

# Media that keeps flowing: no BYE.
a = kvsip.Rtp()
caller.media = [a]
call = kvsip.OutCall(caller, "600", kvsip.sdp_offer(a.port))
call.connect("second call to 600")
talk(a, call.answer.media, 5.0, [caller])
caller.expect_nothing(is_bye(call), "BYE while RTP kept flowing", 0.2)
r = call.bye()
assert r.status == 200, "BYE of the second call: %s" % r.start
assert len(kvsip.kvd_log_lines("event=rtp_timeout")) == 1, \
    kvsip.kvd_log_lines("event=rtp_timeout")
print("600: 5 s of RTP, no BYE; the caller's BYE answered 200")
a.close()

# Bridged: on hold the silence is allowed, once resumed it is not.
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media, callee.media = [a], [b]
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port, session=1111))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU, session=2222))
call.expect_final(200, "call 1001 -> 1002")
call.ack()
inc.expect_ack()
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "up")

for version, direction in ((2, "inactive"), (3, "sendrecv")):
    call.invite(kvsip.sdp_offer(a.port, direction=direction, version=version,
                                session=1111))
    call.expect_final(200, "caller's re-INVITE a=%s" % direction)
    call.ack()
    if direction == "inactive":
        kvsip.kvd_pass_time(4.0, (caller, callee))
        caller.expect_nothing(is_bye(call), "BYE on hold (caller)", 0)
        callee.expect_nothing(is_bye(inc), "BYE on hold (callee)", 0)
        print("on hold: 4 s without RTP, no BYE")
resumed = time.monotonic()
call.answer_bye(timeout=10)
inc.answer_bye(timeout=5)
print("resumed: BYE to both legs %.1fs after the unhold" % (time.monotonic() - resumed))
kvsip.kvd_wait_log("event=rtp_timeout", "second rtp_timeout logged", count=2)
PY
kv_ok "silence ends a call after rtp_timeout, talking or holding does not"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 3
kvd_stop
kv_pass
