#!/usr/bin/env bash
# test_moh_app - music on hold from the dialplan, checked by what the
# caller hears (each play starts with a marked packet; the music is
# compared with the start of musiconhold.conf's first file, the prompt
# with its WAV):
#   MusicOnHold(jazz,2) answers, plays class jazz for 2 s, then the next
#     priority (Playback(hello-world)) runs;
#   StartMusicOnHold() / Wait(2) / StopMusicOnHold(): the music goes on
#     under Wait() and stops at StopMusicOnHold();
#   WaitExten(5,m(jazz)): music while waiting, key 1 stops it and goes to
#     extension 1;
#   MusicOnHold() with no class and no duration plays the default class
#     until the caller hangs up; the caller holds meanwhile (no bridge:
#     KubeVox answers a=recvonly) and resumes (a=sendrecv), and the call
#     goes on;
#   a class that does not exist falls back to default, as Asterisk's;
#   a file added to a class's directory is played at the next start, and a
#     reload that moves a class to default's directory plays that without
#     decoding it again;
#   --check: a musiconhold.conf class without directory=, or with one that
#     does not exist, is an error with file:line; unsupported modes and
#     options are warnings.
. "$(dirname "$0")/lib.sh"

MOH_DIR=/usr/share/asterisk/moh
[ -s "$MOH_DIR/macroform-cold_day.wav" ] ||
	kv_fail "$MOH_DIR missing (scripts/install-deps.sh installs asterisk-moh-opsound-wav)"
# Class jazz: a directory of its own with one file of another song, so
# that hearing jazz is told apart from hearing default.
mkdir -p "$KV_TMP/jazz"
cp "$MOH_DIR/manolo_camp-morning_coffee.wav" "$KV_TMP/jazz/"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat > "$KV_CONF/musiconhold.conf" <<CONF
; written by $KV_TEST
[general]
cachertclasses=yes

[default]
mode=files
directory=$MOH_DIR
sort=alpha

[jazz]
mode=files
directory=$KV_TMP/jazz
digit=1
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 610,1,MusicOnHold(jazz,2)
 same => n,Playback(hello-world)
 same => n,Hangup()
exten => 611,1,Answer()
 same => n,StartMusicOnHold()
 same => n,Wait(2)
 same => n,StopMusicOnHold()
 same => n,Playback(hello-world)
 same => n,Hangup()
exten => 612,1,Goto(moh-menu,s,1)
exten => 613,1,MusicOnHold()
exten => 614,1,MusicOnHold(nosuchclass,1)
 same => n,Hangup()

[moh-menu]
exten => s,1,Answer()
 same => n,WaitExten(5,m(jazz))
exten => 1,1,Playback(hello-world)
 same => n,Hangup()
CONF

out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check on the music on hold set-up: $out"
kv_assert_match "musiconhold.conf:3: warning: option 'cachertclasses' is not supported" "$out" "[general]"
kv_assert_match "musiconhold.conf:13: warning: option 'digit' is not supported" "$out" "digit="
kv_assert_nomatch 'extensions.conf' "$out" "--check messages on the dialplan"
mkdir -p "$KV_TMP/bad"
cp "$KV_CONF"/*.conf "$KV_TMP/bad/"
cat > "$KV_TMP/bad/musiconhold.conf" <<'CONF'
[default]
mode=files
directory=/nonexistent/moh

[nodir]
mode=files
sort=alpha

[stream]
mode=custom
application=/usr/bin/mpg123

[shuffled]
mode=files
directory=moh
sort=shuffle
CONF
cat >> "$KV_TMP/bad/extensions.conf" <<'CONF'
exten => 690,1,MusicOnHold(default,forever)
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_TMP/bad" --check 2>&1) &&
	kv_fail "--check accepted a class whose directory does not exist: $out"
echo "$out"
kv_assert_match "^musiconhold.conf:3: cannot open music on hold directory '/nonexistent/moh'" "$out" "missing directory"
kv_assert_match "^musiconhold.conf:5: music on hold class \\[nodir\\] has no directory" "$out" "no directory="
kv_assert_match "^musiconhold.conf:10: warning: mode 'custom' is not supported" "$out" "mode=custom"
kv_assert_match "^musiconhold.conf:16: invalid sort 'shuffle'" "$out" "sort="
kv_assert_match "extensions.conf:[0-9]*: MusicOnHold: invalid duration 'forever'" "$out" "MusicOnHold(,forever)"
kv_ok "--check: broken musiconhold.conf classes are errors with file:line"

kvd_start

KV_MOH_WAV=$MOH_DIR/macroform-cold_day.wav KV_JAZZ_WAV=$KV_TMP/jazz/manolo_camp-morning_coffee.wav \
kv_python_call <<'PY' || kv_fail "music on hold applications"
import os
import time
import kvsip

DEFAULT, JAZZ = os.environ["KV_MOH_WAV"], os.environ["KV_JAZZ_WAV"]
HELLO = os.environ["KV_PROMPT"]
caller = kvsip.Phone(kvsip.kv_port(), "1001")


plays = kvsip.prompt_plays


def call(dest, what):
    a = kvsip.Rtp()
    caller.media = [a]
    c = kvsip.OutCall(caller, dest, kvsip.sdp_offer(a.port))
    c.connect(what)
    return c, a


def music_then_prompt(dest, wav, what):
    c, a = call(dest, what)
    c.answer_bye(timeout=20)
    a.quiet()
    got = plays([p for p, src in a.got if src == c.answer.media])
    assert len(got) == 2, "%s: %d plays %r, expected music then hello-world" % (
        what, len(got), [len(g) for g in got])
    music, prompt = got
    print("%s: music %s" % (what, kvsip.check_music(music, 0, wav, what)))
    print("%s: then %s" % (what, kvsip.check_prompt(prompt, 0, HELLO, "hello-world")))


music_then_prompt("610", JAZZ, "MusicOnHold(jazz,2)")
music_then_prompt("611", DEFAULT, "StartMusicOnHold/Wait(2)/StopMusicOnHold")

# WaitExten(5,m(jazz)): music, key 1, extension 1's prompt.
c, a = call("612", "WaitExten(5,m(jazz))")
assert a.wait(lambda got: len(got) >= 50, 5), "WaitExten(m): no music"
kvsip.send_dtmf(a, c.answer.media, 1, c.answer.pt_of("telephone-event"))
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 2, "WaitExten(m): %d plays %r" % (len(got), [len(g) for g in got])
print("WaitExten(m): music %s" % kvsip.check_music(got[0], 0, JAZZ, "WaitExten(m)"))
print("WaitExten(m): key 1, then %s" % kvsip.check_prompt(got[1], 0, HELLO, "hello-world"))

# MusicOnHold(): until hang-up; the caller holds and resumes meanwhile.
c, a = call("613", "MusicOnHold()")
first = kvsip.music_from(a, c.answer.media, 50, kvsip.Rtp())
print("MusicOnHold(): %s" % kvsip.check_music(first, 0, DEFAULT, "MusicOnHold()"))
for version, direction, answer in ((2, "sendonly", "recvonly"), (3, "sendrecv", "sendrecv")):
    c.invite(kvsip.sdp_offer(a.port, direction=direction, version=version))
    _, r = c.expect_final(200, "a=%s during MusicOnHold()" % direction)
    c.ack()
    assert r.sdp().direction == answer, "a=%s answered a=%s" % (direction, r.sdp().direction)
    print("MusicOnHold(): a=%s answered a=%s" % (direction, answer))
n = len(a.got)
assert a.wait(lambda got: len(got) >= n + 50, 5), "MusicOnHold(): the music stopped after the resume"
ssrcs = set(p.ssrc for p, _ in a.got)
assert len(ssrcs) == 1, "MusicOnHold(): %d SSRCs: the music started again" % len(ssrcs)
r = c.bye()
assert r.status == 200, r.start
print("MusicOnHold(): plays until the caller hangs up")

# A class that does not exist: default, as Asterisk falls back to it.
c, a = call("614", "MusicOnHold(nosuchclass,1)")
c.answer_bye(timeout=20)
a.quiet()
got = plays([p for p, src in a.got if src == c.answer.media])
assert len(got) == 1, "nosuchclass: %d plays" % len(got)
print("MusicOnHold(nosuchclass,1): %s" % kvsip.check_music(got[0], 0, DEFAULT, "fallback"))
PY
kv_ok "MusicOnHold, Start/StopMusicOnHold, WaitExten(m) heard; hold during the dialplan answered"

# One decoding per class and codec, however many calls played it.
kv_assert_eq 2 "$(grep -c 'event=moh_loaded' "$KVD_LOG")" "moh_loaded events (default and jazz, ulaw)"

# A new file in a class's directory is read at the next play (it sorts
# first); a reload that points jazz at default's directory plays that,
# without decoding it again.
cat > "$KV_TMP/jazz.py" <<'PY'
import os
import sys
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
a = kvsip.Rtp()
caller.media = [a]
c = kvsip.OutCall(caller, "610", kvsip.sdp_offer(a.port))
c.connect("MusicOnHold(jazz,2)")
c.answer_bye(timeout=20)
a.quiet()
got = [p for p, src in a.got if src == c.answer.media]
music = got[:next(i for i in range(1, len(got)) if got[i].marker)]
print("jazz now: %s" % kvsip.check_music(music, 0, sys.argv[1], "jazz"))
PY
cp "$MOH_DIR/reno_project-system.wav" "$KV_TMP/jazz/a-first.wav"
kv_python_call "$KV_TMP/jazz/a-first.wav" < "$KV_TMP/jazz.py" || kv_fail "jazz with a new file"
kv_assert_eq 3 "$(grep -c 'event=moh_loaded' "$KVD_LOG")" "moh_loaded events after a new file"
sed -i "s|^directory=$KV_TMP/jazz\$|directory=$MOH_DIR|" "$KV_CONF/musiconhold.conf"
grep -q "^directory=$MOH_DIR" "$KV_CONF/musiconhold.conf" || kv_fail "musiconhold.conf not edited"
kv_wait_log 'event=config_reload result=ok'
kv_python_call "$MOH_DIR/macroform-cold_day.wav" < "$KV_TMP/jazz.py" || kv_fail "jazz after the reload"
kv_assert_eq 3 "$(grep -c 'event=moh_loaded' "$KVD_LOG")" "moh_loaded events after the reload"
kv_ok "a class's new file is played, a reload changes the class, audio is decoded once per directory"
kvd_stop
kv_pass
