#!/usr/bin/env bash
# test_call_reinvite_glare - re-INVITE glare (RFC 3261 section 14.2) in a
# call 1001 -> 1002: while the caller's re-INVITE (a new version of its
# SDP; a hold would be answered by KubeVox itself) is relayed and the
# callee has not answered it, a re-INVITE from the callee gets 491 Request
# Pending (which the callee ACKs); then the callee answers, the caller's
# re-INVITE completes with 200 and both ACKs arrive.  The callee's retry
# goes through, and a caller's re-INVITE crossing that one gets 491 in
# turn.  Media still flows and the call hangs up cleanly.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "re-INVITE glare"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port, session=1111))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU, session=2222))
call.expect_final(200, "call")
call.ack()
inc.expect_ack()

# The caller re-INVITEs; the relayed re-INVITE reaches the callee, unanswered.
hold = call.invite(kvsip.sdp_offer(a.port, version=2, session=1111))
relayed = inc.expect_request("INVITE", "caller's re-INVITE relayed to the callee")
assert relayed.sdp().direction == "sendrecv", relayed.sdp().lines

# Glare: the callee's own re-INVITE crosses it.
cseq, branch = kvsip.dialog_invite(inc, kvsip.sdp_offer(
    b.port, codecs=PCMU, direction="sendonly", version=2, session=2222))
r = kvsip.response_to(callee, inc.call_id, cseq, "INVITE", "callee's re-INVITE in glare")
assert r.status == 491, "callee's re-INVITE during the caller's: %s" % r.start
kvsip.dialog_ack_failure(inc, r, branch)
print("callee's re-INVITE while the caller's was pending: %s" % r.start)
caller.expect_nothing(lambda m: isinstance(m, kvsip.Request) and m.method == "INVITE",
                      "the callee's refused re-INVITE relayed to the caller", 0.5)

# The first one completes.
callee.respond(relayed, 200, body=kvsip.sdp_offer(
    b.port, codecs=PCMU, version=2, session=2222))
_, r = call.expect_final(200, "caller's re-INVITE after the glare")
assert r.cseq == (hold, "INVITE"), r.get("cseq")
assert r.sdp().direction == "sendrecv", r.sdp().lines
call.ack()
inc.expect_ack()
print("caller's re-INVITE: %s, a=%s" % (r.start, r.sdp().direction))

# The callee retries (RFC 3261 section 14.1): relayed to the caller, and
# glare the other way round: the caller's re-INVITE gets 491 meanwhile.
cseq = inc.in_dialog("INVITE", kvsip.sdp_offer(b.port, codecs=PCMU, version=3,
                                               session=2222))
relayed = call.expect_request("INVITE", "callee's retry relayed to the caller")
assert relayed.sdp().direction == "sendrecv", relayed.sdp().lines
cross, branch = kvsip.dialog_invite(call, kvsip.sdp_offer(a.port, version=3,
                                                         session=1111))
r = kvsip.response_to(caller, call.call_id, cross, "INVITE", "caller's re-INVITE in glare")
assert r.status == 491, "caller's re-INVITE during the callee's: %s" % r.start
kvsip.dialog_ack_failure(call, r, branch)
print("caller's re-INVITE while the callee's was pending: %s" % r.start)
caller.respond(relayed, 200, body=kvsip.sdp_offer(a.port, version=3, session=1111))
r = inc.expect_response(cseq, "INVITE", "callee's retried re-INVITE")
assert r.status == 200, "callee's retry: %s" % r.start
inc.send_ack(cseq)
call.expect_ack()
print("callee's retried re-INVITE: %s" % r.start)

kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after")
r = call.bye()
assert r.status == 200, r.start
inc.answer_bye()
PY
kv_ok "491 to the callee's re-INVITE while the caller's is pending, then both complete"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 1
kvd_stop
kv_pass
