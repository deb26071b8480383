#!/usr/bin/env bash
# test_call_hold - hold and resume with music on hold, as Asterisk does
# with direct_media=no: the phone that holds (a=sendonly, then a=inactive)
# gets KubeVox's own 200 (a=recvonly, a=inactive), the other phone gets no
# re-INVITE and hears the holder's moh_suggest class instead (the start of
# the first file of musiconhold.conf's [default], sort=alpha: Debian's
# asterisk-moh-opsound-wav, compared sample by sample), while nothing
# reaches the holder; resuming (a=sendrecv) gets 200 a=sendrecv, the music
# stops and the conversation flows both ways again.  Then the same from
# the callee's side.  Every SDP KubeVox sends on a leg has a higher o=
# version (RFC 3264 section 8).  A callee that talks PCMA hears A-law music.
. "$(dirname "$0")/lib.sh"

MOH_DIR=/usr/share/asterisk/moh
[ -s "$MOH_DIR/macroform-cold_day.wav" ] ||
	kv_fail "$MOH_DIR/macroform-cold_day.wav missing (scripts/install-deps.sh installs asterisk-moh-opsound-wav)"

kv_conf_calls 1001 1002
cat > "$KV_CONF/musiconhold.conf" <<CONF
; written by $KV_TEST
[default]
mode=files
directory=$MOH_DIR
sort=alpha
CONF
kvd_start

KV_MOH_WAV=$MOH_DIR/macroform-cold_day.wav kv_python_call <<'PY' || kv_fail "hold and resume"
import os
import kvsip

WAV = os.environ["KV_MOH_WAV"]
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
ver = {"caller": call.answer.version, "callee": inc.offer.version}
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "before-hold")


def newer(side, sdp, what):
    assert sdp.version > ver[side], "%s: o= version %d after %d" % (
        what, sdp.version, ver[side])
    ver[side] = sdp.version


def is_invite(m):
    return isinstance(m, kvsip.Request) and m.method == "INVITE"


def caller_reinvite(version, direction, answer):
    """The caller re-INVITEs; KubeVox answers it, the callee hears nothing."""
    call.invite(kvsip.sdp_offer(a.port, direction=direction, version=version,
                                session=1111))
    _, r = call.expect_final(200, "caller's re-INVITE a=%s" % direction)
    call.ack()
    sdp = r.sdp()
    kvsip.assert_kubevox_media(sdp, "answer to the caller's a=%s" % direction)
    assert sdp.direction == answer, "caller's a=%s answered a=%s, expected a=%s" % (
        direction, sdp.direction, answer)
    newer("caller", sdp, "answer to the caller's a=%s" % direction)
    callee.expect_nothing(is_invite, "caller's a=%s relayed to the callee" % direction)
    print("caller a=%s: KubeVox answers a=%s, no re-INVITE to the callee" % (
        direction, sdp.direction))


def callee_reinvite(version, direction, answer):
    cseq = inc.in_dialog("INVITE", kvsip.sdp_offer(b.port, codecs=PCMU, direction=direction,
                                                  version=version, session=2222))
    r = inc.expect_response(cseq, "INVITE", "callee's re-INVITE a=%s" % direction)
    assert r.status == 200, r.start
    inc.send_ack(cseq)
    sdp = r.sdp()
    kvsip.assert_kubevox_media(sdp, "answer to the callee's a=%s" % direction)
    assert sdp.direction == answer, "callee's a=%s answered a=%s, expected a=%s" % (
        direction, sdp.direction, answer)
    newer("callee", sdp, "answer to the callee's a=%s" % direction)
    caller.expect_nothing(is_invite, "callee's a=%s relayed to the caller" % direction)
    print("callee a=%s: KubeVox answers a=%s, no re-INVITE to the caller" % (
        direction, sdp.direction))


def hears_music(rtp, source, other, holder, n, what):
    """rtp hears the start of the music; the holder's phone gets nothing,
    not even what rtp's phone sends meanwhile."""
    holder.take()
    got = kvsip.music_from(rtp, source, n, other)
    print("%s: %s" % (what, kvsip.check_music(got, 0, WAV, what)))
    kvsip.send_stream(rtp, inc.offer.media if rtp is b else call.answer.media,
                      "while-held", 10)
    holder.quiet(0.5)
    assert not holder.got, "%s: the holding phone got %d packets" % (what, len(holder.got))
    return got


def resumed(tag):
    """Music stops: after the resume, the phones hear only each other."""
    for r in (a, b):
        r.quiet(0.3)
        r.take()
    kvsip.check_media(a, b, call.answer.media, inc.offer.media, tag)
    for r, other in ((a, b), (b, a)):
        stray = [p for p, _ in r.got if p.ssrc != other.ssrc]
        assert not stray, "%s: %d packets other than the other phone's after the resume" % (
            tag, len(stray))
    print("%s: conversation back both ways, no music" % tag)


# The caller holds: the callee hears music.
b.take()
caller_reinvite(2, "sendonly", "recvonly")
first = hears_music(b, inc.offer.media, a, a, 150, "callee hears music (caller sendonly)")
caller_reinvite(3, "inactive", "inactive")
more = kvsip.music_from(b, inc.offer.media, 200, a)
assert more[-1].ssrc == first[0].ssrc and (more[-1].seq - first[0].seq) & 0xffff == 199, \
    "the music started again at a=inactive (it plays on)"
print("caller a=inactive: the music plays on")
caller_reinvite(4, "sendrecv", "sendrecv")
resumed("caller-resumed")

# The callee holds: the caller hears music, from the start of the file.
callee_reinvite(5, "sendonly", "recvonly")
hears_music(a, call.answer.media, b, b, 150, "caller hears music (callee sendonly)")
callee_reinvite(6, "inactive", "inactive")
callee_reinvite(7, "sendrecv", "sendrecv")
resumed("callee-resumed")

# Held with a=inactive straight away.
b.take()
caller_reinvite(5, "inactive", "inactive")
hears_music(b, inc.offer.media, a, a, 50, "callee hears music (caller inactive)")
caller_reinvite(6, "sendrecv", "sendrecv")
resumed("resumed-after-inactive")

cseq = call.in_dialog("BYE")
inc.answer_bye()
r = call.expect_response(cseq, "BYE", "BYE")
assert r.status == 200, r.start

# A callee that answers PCMA hears the music in A-law (payload type 8),
# and the caller's hold is answered with the codec in use.
a.take()
b.take()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port, session=3333))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port, codecs=((8, "PCMA/8000"),), session=4444))
call.expect_final(200, "PCMA call")
call.ack()
inc.expect_ack()
call.invite(kvsip.sdp_offer(a.port, direction="sendonly", version=2, session=3333))
_, r = call.expect_final(200, "hold of the PCMA call")
call.ack()
codecs = kvsip.sdp_codecs(r.sdp())
assert codecs and codecs[0][1] == "PCMA/8000", "hold answered with %r" % (codecs,)
got = kvsip.music_from(b, inc.offer.media, 100, a)
print("PCMA callee: %s" % kvsip.check_music(got, 8, WAV, "A-law music"))
cseq = call.in_dialog("BYE")
inc.answer_bye()
r = call.expect_response(cseq, "BYE", "BYE")
assert r.status == 200, r.start
PY
kv_ok "hold (sendonly, inactive) from either side answered by KubeVox, music heard, conversation back on resume"
kv_assert_match 'event=call_hold ' "$(cat "$KVD_LOG")" "call_hold logged"
kv_assert_match 'event=moh_start .*class=default' "$(cat "$KVD_LOG")" "moh_start logged"

kvd_stop
kv_pass
