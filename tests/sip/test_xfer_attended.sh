#!/usr/bin/env bash
# test_xfer_attended - attended transfer (RFC 3891 Replaces), all dialogs
# through KubeVox:
#  1. 1001 calls 1002 (call X) and 1003 (call Y), then REFERs on X with
#     Refer-To <sip:1003@...?Replaces=Y's dialog>: 202, NOTIFY 100 then
#     200 (terminated), a BYE on each of 1001's dialogs, and 1002 <-> 1003
#     talk (tagged RTP both ways, none to 1001) until 1002 hangs up;
#  2. 1001 calls 1002, and 1003 sends an INVITE with Replaces naming
#     1001's dialog (a phone completing a transfer itself): 1003 gets 200,
#     1001 a BYE, 1002 <-> 1003 talk;
#  3. an INVITE whose Replaces names no dialog of ours: 481;
#  4. a REFER whose Replaces names no dialog of ours: 202, NOTIFY 100 then
#     503, and the call goes on;
#  5. 1002 calls 1001 (1001 the callee), 1001 calls 1003 and REFERs on
#     that call naming the first: 1003 <-> 1002 talk.
#
# CDRs (newcdrcolumns), in the order the calls end:
#  1 X   1001 -> 1002, lastapp AttendedTransfer, lastdata PJSIP/1003-*
#        (who 1002 was joined to), ANSWERED;
#  2 Y   1001 -> 1003, lastapp AttendedTransfer, lastdata PJSIP/1002-*;
#  3 new 1002 -> 1003, channel X's PJSIP/1002-*, dstchannel Y's
#        PJSIP/1003-*, lastapp AttendedTransfer, lastdata "PJSIP/1001-x&
#        PJSIP/1001-y" (the transferor's two channels), linkedid X's
#        uniqueid;
#  4 1001 -> 1002, lastapp AttendedTransfer, lastdata PJSIP/1003-* (the
#        replacing channel);
#  5 new 1003 -> 1002, channel PJSIP/1003-*, dstchannel record 4's
#        PJSIP/1002-*, lastapp AttendedTransfer, lastdata record 4's
#        PJSIP/1001-*, linkedid record 4's uniqueid;
#  6 1001 -> 1002, lastapp Dial (the failed REFER changed nothing);
#  7 1001 -> 1003 (the REFER's call), 8 1002 -> 1001, both
#        AttendedTransfer; 9 new 1003 -> 1002, linkedid record 7's.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
echo "newcdrcolumns=yes" >> "$KV_CONF/cdr.conf"
kvd_start

kv_python_call <<'PY' || kv_fail "attended transfers"
import urllib.parse

import kvsip

host = "127.0.0.1"
p1 = kvsip.Phone(kvsip.kv_port(), "1001")
p2 = kvsip.Phone(kvsip.kv_port(), "1002")
p3 = kvsip.Phone(kvsip.kv_port(), "1003")
for p in (p1, p2, p3):
    p.sign_in()
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))
rtp = {}
for name, p in (("1001", p1), ("1002", p2), ("1003", p3)):
    rtp[name] = [kvsip.Rtp(), kvsip.Rtp()]
    p.media.extend(rtp[name])


def call(caller, callee, slot):
    """caller's phone calls callee's: (OutCall, InCall), on RTP slot."""
    phones = {"1001": p1, "1002": p2, "1003": p3}
    return kvsip.place_call(phones[caller], rtp[caller][slot], phones[callee],
                            rtp[callee][slot], PCMU)


talk = kvsip.talk_joined


def refer_replaces(d, target, other, want):
    kvsip.refer_replaces(d, target, host, other.replaces(), want)


# 1. REFER with Replaces, both calls placed by 1001
x, xi = call("1001", "1002", 0)
y, yi = call("1001", "1003", 1)
refer_replaces(x, "1003", y, 200)
x.answer_bye()
y.answer_bye()
talk(rtp["1002"][0], xi.offer.media, rtp["1003"][1], yi.offer.media, "att1", rtp["1001"])
print("1: NOTIFY 100/200, BYE on both of 1001's calls, 1002 <-> 1003")
xi.bye()
yi.answer_bye()

# 2. INVITE with Replaces from 1003, replacing 1001 in its call with 1002
x, xi = call("1001", "1002", 0)
r3 = rtp["1003"][0]
rep = kvsip.OutCall(p3, "1002", kvsip.sdp_offer(r3.port, codecs=PCMU),
                    headers=[("Replaces", x.replaces())])
rep.invite()
rep.expect_final(200, "INVITE with Replaces")
rep.ack()
x.answer_bye()
talk(r3, rep.answer.media, rtp["1002"][0], xi.offer.media, "att2", rtp["1001"])
print("2: INVITE with Replaces answered 200, BYE to 1001, 1003 <-> 1002")
rep.bye()
xi.answer_bye()

# 3. INVITE with Replaces naming no dialog of ours
bad = kvsip.OutCall(p3, "1002", kvsip.sdp_offer(r3.port, codecs=PCMU),
                    headers=[("Replaces", "nosuchcall@x;to-tag=1;from-tag=2")])
bad.invite()
bad.expect_final(481, "INVITE with an unknown Replaces")
print("3: INVITE with an unknown Replaces: 481")

# 4. REFER with Replaces naming no dialog of ours
x, xi = call("1001", "1002", 0)
cseq = x.refer("<sip:1003@%s?Replaces=%s>" % (
    host, urllib.parse.quote("nosuchcall@x;to-tag=1;from-tag=2", safe="")))
assert x.expect_response(cseq, "REFER", "REFER, unknown Replaces").status == 202
code, _, _ = x.expect_refer_notify("first NOTIFY")
assert code == 100, code
code, state, _ = x.expect_refer_notify("final NOTIFY")
assert code == 503 and state.startswith("terminated"), (code, state)
talk(rtp["1001"][0], x.answer.media, rtp["1002"][0], xi.offer.media, "att4", [])
print("4: REFER with an unknown Replaces: NOTIFY 503, the call goes on")
x.bye()
xi.answer_bye()

# 5. 1001 is the callee of the first call and REFERs on the second
x, xi = call("1002", "1001", 0)
y, yi = call("1001", "1003", 1)
refer_replaces(y, "1002", xi, 200)
y.answer_bye()
xi.answer_bye()
talk(rtp["1002"][0], x.answer.media, rtp["1003"][1], yi.offer.media, "att5", rtp["1001"])
print("5: 1001 callee then caller: 1002 <-> 1003")
yi.bye()
x.answer_bye()
PY
kv_ok "attended transfer by REFER and by INVITE with Replaces; unknown dialogs 481 / NOTIFY 503"

kv_python_call "$KV_LOGDIR/cdr-csv/Master.csv" <<'PY' || kv_fail "CDRs of the transfers"
import sys
import kvsip

r = kvsip.read_cdrs(sys.argv[1], 9)


def check(i, **want):
    kvsip.check_cdr(r[i], "record %d" % (i + 1), **want)
    assert r[i]["disposition"] == "ANSWERED", r[i]


AT = "AttendedTransfer"
check(0, src="1001", dst="1002", channel="PJSIP/1001-*", dstchannel="PJSIP/1002-*",
      lastapp=AT, lastdata="PJSIP/1003-*")
check(1, src="1001", dst="1003", channel="PJSIP/1001-*", dstchannel="PJSIP/1003-*",
      lastapp=AT, lastdata="PJSIP/1002-*")
check(2, src="1002", dst="1003", channel=r[0]["dstchannel"], dstchannel=r[1]["dstchannel"],
      lastapp=AT, lastdata="%s&%s" % (r[0]["channel"], r[1]["channel"]),
      linkedid=r[0]["uniqueid"])
check(3, src="1001", dst="1002", lastapp=AT, lastdata="PJSIP/1003-*")
check(4, src="1003", dst="1002", channel=r[3]["lastdata"], dstchannel=r[3]["dstchannel"],
      lastapp=AT, lastdata=r[3]["channel"], linkedid=r[3]["uniqueid"])
check(5, src="1001", dst="1002", lastapp="Dial", lastdata="PJSIP/1002,10")
check(6, src="1001", dst="1003", lastapp=AT)
check(7, src="1002", dst="1001", lastapp=AT)
check(8, src="1003", dst="1002", channel=r[6]["dstchannel"], dstchannel=r[7]["channel"],
      lastapp=AT, linkedid=r[6]["uniqueid"])
for i in (0, 1, 3, 6, 7):
    assert r[i]["linkedid"] == r[i]["uniqueid"], r[i]
for i, rec in enumerate(r):
    print("%d %s -> %s %s %s %s %s" % (i + 1, rec["src"], rec["dst"], rec["channel"],
                                       rec["dstchannel"], rec["lastapp"], rec["lastdata"]))
PY
kv_ok "CDRs: each call ends at the transfer, the new bridge has its own record, linked"

kvd_stop
kv_pass
