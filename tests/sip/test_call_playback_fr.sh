#!/usr/bin/env bash
# test_call_playback_fr - Playback follows the caller's endpoint language:
# with language=fr, 702 (Answer, Playback(hello-world)) sends the French
# prompt (its duration in 20 ms packets +-2, audio matching the French
# file better than the English one), in PCMU and in PCMA, while a phone
# of the default language gets the English prompt from the same
# extension.  A missing prompt sets PLAYBACKSTATUS=FAILED and the
# dialplan goes on: 703 (Playback(nosuchfile,noanswer), then GotoIf to
# Hangup(21)) answers the caller 183 then 403, as chan_pjsip maps cause
# 21; 704 (Answer, Playback(nosuchfile), GotoIf to Playback(hello-world))
# plays the French prompt after all, then hangs up.
. "$(dirname "$0")/lib.sh"

KV_PROMPT_EN=/usr/share/asterisk/sounds/en/hello-world.wav
KV_PROMPT_FR=/usr/share/asterisk/sounds/fr/hello-world.wav
for f in "$KV_PROMPT_EN" "$KV_PROMPT_FR"; do
	if [ ! -f "$f" ]; then
		kv_log "SKIP: no $f (the asterisk-core-sounds-en/fr packages)"
		exit 77
	fi
done
export KV_PROMPT_EN KV_PROMPT_FR

kv_conf_calls 1002
kv_conf_call_user 1001 endpoint.language=fr
# shellcheck disable=SC2016 # ${...} and $[...] are the dialplan's
kv_conf_exten \
	'exten => 702,1,Answer()' \
	' same => n,Playback(hello-world)' \
	' same => n,Hangup()' \
	'exten => 703,1,Playback(nosuchfile,noanswer)' \
	' same => n,GotoIf($["${PLAYBACKSTATUS}" = "FAILED"]?failed)' \
	' same => n,Hangup()' \
	' same => n(failed),Hangup(21)' \
	'exten => 704,1,Answer()' \
	' same => n,Playback(nosuchfile)' \
	' same => n,GotoIf($["${PLAYBACKSTATUS}" = "FAILED"]?failed:done)' \
	' same => n(failed),Playback(hello-world)' \
	' same => n(done),Hangup()'
kvd_start

kv_python_call <<'PY' || kv_fail "Playback in the endpoint's language"
import os
import kvsip

en, fr = os.environ["KV_PROMPT_EN"], os.environ["KV_PROMPT_FR"]
en_samples, fr_samples = kvsip.wav_samples(en), kvsip.wav_samples(fr)
en_frames, fr_frames = len(en_samples) / 160.0, len(fr_samples) / 160.0
# Lengths tell the prompts apart only when they differ by more than the
# +-2 packets check_prompt allows each; the audio comparison always runs.
by_length = abs(en_frames - fr_frames) > 4
print("prompts: en %.1f packets, fr %.1f packets%s" % (
    en_frames, fr_frames, "" if by_length else " (too close: audio only)"))


def play(phone, exten, codecs, pt):
    """Call exten, take the prompt until KubeVox hangs up: its packets."""
    a = kvsip.Rtp()
    phone.media = [a]
    call = kvsip.OutCall(phone, exten, kvsip.sdp_offer(a.port, codecs=codecs))
    call.connect("call to %s" % exten)
    kvsip.assert_kubevox_media(call.answer, "answer of %s" % exten)
    assert call.answer.pts[0] == pt, "answer of %s: %r" % (exten, call.answer.lines)
    call.answer_bye(timeout=15)
    a.quiet()
    packets = [p for p, src in a.got if src == call.answer.media]
    strays = [src for p, src in a.got if src != call.answer.media]
    assert not strays, "RTP from elsewhere than KubeVox's SDP: %r" % set(strays)
    a.close()
    return packets


def check(packets, pt, want, other, what):
    """packets carry the prompt want, not other."""
    summary = kvsip.check_prompt(packets, pt, want, what)
    n = len(packets)
    other_frames = len(kvsip.wav_samples(other)) / 160.0
    if by_length:
        assert abs(n - other_frames) > 2, "%s: %d packets, as long as %s" % (
            what, n, other)
    got = [kvsip.G711[pt][x] for p in packets for x in p.payload]
    mine = max(kvsip.correlation(got[lag:], kvsip.wav_samples(want))
               for lag in range(0, 161 * 3, 160))
    theirs = max(kvsip.correlation(got[lag:], kvsip.wav_samples(other))
                 for lag in range(0, 161 * 3, 160))
    assert mine > theirs, "%s: audio closer to %s (%.3f) than to %s (%.3f)" % (
        what, other, theirs, want, mine)
    return "%s; correlation with the other prompt %.3f" % (summary, theirs)


fr_phone = kvsip.Phone(kvsip.kv_port(), "1001")
en_phone = kvsip.Phone(kvsip.kv_port(), "1002")
for codecs, pt in ((kvsip.AUDIO, 0), (((8, "PCMA/8000"),), 8)):
    print("1001 (fr), PT %d: %s" % (pt, check(play(fr_phone, "702", codecs, pt),
                                             pt, fr, en, "French hello-world")))
print("1002 (en), PT 0: %s" % check(play(en_phone, "702", kvsip.AUDIO, 0), 0, en, fr,
                                     "English hello-world"))

# A missing prompt: the dialplan goes on with PLAYBACKSTATUS=FAILED.
a = kvsip.Rtp()
fr_phone.media = [a]
call = kvsip.OutCall(fr_phone, "703", kvsip.sdp_offer(a.port))
call.invite()
prov, r = call.expect_final(403, "703: Playback(nosuchfile,noanswer) then Hangup(21)")
assert 183 in [p.status for p in prov], "703: no 183 before the 403: %r" % [
    p.start for p in prov]
print("703: %s, then %s" % ([p.start for p in prov], r.start))
a.close()

print("704, PT 0: %s" % check(play(fr_phone, "704", kvsip.AUDIO, 0), 0, fr, en,
                               "hello-world after a failed Playback"))
PY
kv_ok "prompts in the caller's language; a missing prompt fails on to the next priority"

kv_wait_log 'event=playback_failed.*file=nosuchfile' 2
kv_wait_log 'event=call_end.*cause=21' 1
kv_wait_log 'event=call_end.*disposition="?ANSWERED' 4
kvd_stop
kv_pass
