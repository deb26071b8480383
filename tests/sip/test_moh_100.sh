#!/usr/bin/env bash
# test_moh_100 - 100 calls on hold at once share one copy of the
# music: kubevoxd's resident memory (VmRSS of /proc/PID/status) is read
# with no call (once a first hold has loaded the default class), with 100
# bridged calls, then with the same 100 calls held by their callers; every
# callee hears the start of the music.  Holding must cost memory of the
# order of the legs themselves, not of the music: the growth from no call
# to 100 held calls is compared with the growth from no call to 100
# bridged calls (a ratio of two memory figures, no timing), and the hold
# alone must add less than one copy of the music (the class is 1106 s of
# G.711, 8.8 MB).
. "$(dirname "$0")/lib.sh"

MOH_DIR=/usr/share/asterisk/moh
[ -s "$MOH_DIR/macroform-cold_day.wav" ] ||
	kv_fail "$MOH_DIR missing (scripts/install-deps.sh installs asterisk-moh-opsound-wav)"

kv_conf_transports
kv_conf_call_users 1001 1002
kv_conf_rtp 500
kv_conf_dialplan 10
kv_conf_dirs
kv_conf_http
cat > "$KV_CONF/musiconhold.conf" <<CONF
; written by $KV_TEST
[default]
mode=files
directory=$MOH_DIR
CONF
# ASan parks freed memory in a quarantine, which would count every
# re-INVITE's freed SDP as resident: measure what is really held.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"
kvd_start

KV_PID=$KVD_PID KV_MOH_WAV=$MOH_DIR/macroform-cold_day.wav \
	PYTHONPATH=$KV_SIP_DIR KV_PORT=$KV_PORT timeout -k 5 240 python3 - <<'PY' ||
import os
import time
import kvsip

N = 100
WAV = os.environ["KV_MOH_WAV"]
caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()


def moh_metrics():
    """kubevox_moh_* of /metrics (a loopback client needs no token)."""
    import re
    import urllib.request
    url = "http://127.0.0.1:%s/metrics" % os.environ["KV_HTTP_PORT"]
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {k: int(v) for k, v in re.findall(r"^kubevox_moh_(\w+) (\d+)$", text, re.M)}


def rss_kb():
    with open("/proc/%s/status" % os.environ["KV_PID"]) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def settle():
    """Let the daemon finish what the last requests started."""
    caller.idle(1.0)
    callee.idle(0.5)


def hold(call, inc, version):
    call.invite(kvsip.sdp_offer(call.a.port, direction="sendonly", version=version))
    _, r = call.expect_final(200, "hold")
    call.ack()
    assert r.sdp().direction == "recvonly", r.sdp().direction


def up(n):
    calls = []
    for _ in range(n):
        a, b = kvsip.Rtp(), kvsip.Rtp()
        call, inc = kvsip.call_up(caller, callee, a, b)
        call.a, inc.b = a, b
        calls.append((call, inc))
    return calls


def down(calls):
    for call, inc in calls:
        cseq = call.in_dialog("BYE")
        inc.answer_bye()
        r = call.expect_response(cseq, "BYE", "BYE")
        assert r.status == 200, r.start
        call.a.close()
        inc.b.close()


# A first hold loads the class: what follows measures calls, not music.
down_first = up(1)
hold(*down_first[0], 2)
got = kvsip.music_from(down_first[0][1].b, down_first[0][1].offer.media, 25, down_first[0][0].a)
print("warm-up: %s" % kvsip.check_music(got, 0, WAV, "warm-up"))
one = moh_metrics()
assert one["plays"] == 1 and one["buffers"] == 1 and one["bytes"] > 0, one
down(down_first)
settle()
base = rss_kb()

calls = up(N)
settle()
bridged = rss_kb()

for call, inc in calls:
    hold(call, inc, 2)
settle()
held = rss_kb()

for i, (call, inc) in enumerate(calls):
    got = kvsip.music_from(inc.b, inc.offer.media, 25, call.a)
    summary = kvsip.check_music(got, 0, WAV, "held call %d" % i)
print("%d callees hear the music (last: %s)" % (N, summary))
# The music is one buffer whatever the number of held calls.
many = moh_metrics()
assert many["plays"] == N and many["buffers"] == 1 and many["bytes"] == one["bytes"], (one, many)
print("/metrics: %d plays of %d buffer of %d bytes, as with one held call" % (
    many["plays"], many["buffers"], many["bytes"]))

per_bridged = (bridged - base) / N
per_held = (held - base) / N
print("VmRSS: %d kB without calls, %d kB with %d bridged calls (%.1f kB each), "
      "%d kB once held (%.1f kB each, the hold alone %.1f kB)" % (
          base, bridged, N, per_bridged, held, per_held, (held - bridged) / N))
assert held - bridged < 8800, "holding %d calls added %d kB: more than one copy of the music" % (
    N, held - bridged)
assert per_held <= 2 * max(per_bridged, 8.0), \
    "a held call costs %.1f kB, a bridged one %.1f kB: the music grows with the calls" % (
        per_held, per_bridged)
down(calls)
PY
	kv_fail "100 calls on hold"
kv_ok "100 calls on hold: memory per held call of the order of a bridged call, music heard by all"
kv_assert_eq 1 "$(grep -c 'event=moh_loaded' "$KVD_LOG")" "moh_loaded events (one class, one codec)"

kvd_stop
kv_pass
