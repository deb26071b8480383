#!/usr/bin/env bash
# test_xfer_hold - an attended transfer as desk phones do it: 1001 calls
# 1002, puts it on hold (1002 hears music on hold), calls 1003, and REFERs
# the first call with Replaces naming the second.  1002 <-> 1003 then
# talk: the music of 1001's hold is over.  In their new call, 1003 holds:
# 1002 hears music again (the hold of the old call left nothing behind),
# and after 1003 resumes the two talk again.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
cat > "$KV_CONF/musiconhold.conf" <<'CONF'
[default]
mode=files
directory=/usr/share/asterisk/moh
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "attended transfer after a hold"
import kvsip

MUSIC = "/usr/share/asterisk/moh/macroform-cold_day.wav"
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))
p1, p2, p3 = (kvsip.Phone(kvsip.kv_port(), u) for u in ("1001", "1002", "1003"))
for p in (p1, p2, p3):
    p.sign_in()
r1x, r1y, r2, r3 = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
p1.media.extend([r1x, r1y])
p2.media.append(r2)
p3.media.append(r3)


def call(pc, ra, pe, rb, user):
    return kvsip.place_call(pc, ra, pe, rb, PCMU, user)


def talk(x, x_dest, y, y_dest, tag):
    kvsip.talk_joined(x, x_dest, y, y_dest, tag)


x, xi = call(p1, r1x, p2, r2, "1002")
x.reinvite(kvsip.sdp_offer(r1x.port, codecs=PCMU, direction="sendonly", version=2),
           "1001 holds 1002")
got = kvsip.music_from(r2, xi.offer.media, 25, r1x)
print("1002 on hold: " + kvsip.check_music(got, 0, MUSIC, "hold"))

y, yi = call(p1, r1y, p3, r3, "1003")
kvsip.refer_replaces(x, "1003", "127.0.0.1", y.replaces(), 200)
x.answer_bye()
y.answer_bye()
talk(r2, xi.offer.media, r3, yi.offer.media, "joined")
print("transferred: 1002 <-> 1003, no music left")

yi.reinvite(kvsip.sdp_offer(r3.port, codecs=PCMU, direction="sendonly", version=2),
            "1003 holds 1002")
r2.take()
got = kvsip.music_from(r2, xi.offer.media, 25, r3)
print("1003 holds: " + kvsip.check_music(got, 0, MUSIC, "hold in the new call"))
yi.reinvite(kvsip.sdp_offer(r3.port, codecs=PCMU, version=3), "1003 resumes")
talk(r2, xi.offer.media, r3, yi.offer.media, "resumed")
print("resumed: 1002 <-> 1003")
xi.bye()
yi.answer_bye()
PY
kv_ok "attended transfer of a held call: the old hold's music ends, a hold in the new call plays music, resume talks"
kv_wait_log 'event=moh_stop' 1

kvd_stop
kv_pass
