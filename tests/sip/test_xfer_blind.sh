#!/usr/bin/env bash
# test_xfer_blind - blind transfer (REFER, RFC 3515) from either party:
# 1001 calls 1002, 1002 transfers 1001 to 1003 (Refer-To: sip:1003@...):
# 202 Accepted, NOTIFY sipfrag "100 Trying", "180 Ringing" as 1003 rings,
# then, once 1003 answers,
# "200 OK" with Subscription-State terminated, then a BYE to 1002; media
# flows 1001 <-> 1003 (tagged RTP both ways) and none reaches 1002.  Then
# 1001 calls 1002 again and transfers 1002 (the callee) to 1003 the same
# way.  The target runs in transfer_context (here: the context "xfer",
# whose 1003 dials 1003 and which 1001's own context lacks).  Then 1002
# transfers 1001 to 600 (Echo): the final NOTIFY comes when Echo takes
# the call, and 1001 hears itself.  Last, 1003 (refer_blind_progress=no)
# calls 1001 and transfers it to 1002: NOTIFY 200 and BYE come at once,
# before 1002 has even answered; then 1001 <-> 1002 talk.
#
# CDRs, in the order the calls end, Asterisk's columns with newcdrcolumns:
#  1. 1001 -> 1002, channel PJSIP/1001-*, dstchannel PJSIP/1002-*,
#     lastapp BlindTransfer, lastdata 1003@xfer, ANSWERED (ends at the
#     transfer);
#  2. 1001 -> 1003 in dcontext xfer, channel the same PJSIP/1001-*,
#     dstchannel PJSIP/1003-*, lastapp Dial, lastdata PJSIP/1003,10,
#     ANSWERED, linkedid record 1's uniqueid;
#  3. 1001 -> 1002 again, lastapp BlindTransfer, lastdata 1003@xfer;
#  4. 1002 -> 1003 in xfer, channel record 3's PJSIP/1002-*, dstchannel
#     PJSIP/1003-*, lastapp Dial, linkedid record 3's uniqueid.
#  5. 1001 -> 1002, lastapp BlindTransfer, lastdata 600@xfer;
#  6. 1001 -> 600 in xfer, lastapp Echo, linkedid record 5's uniqueid;
#  7. 1003 -> 1001, lastapp BlindTransfer, lastdata 1002@xfer;
#  8. 1001 -> 1002 in xfer, channel record 7's PJSIP/1001-* (its
#     dstchannel), lastapp Dial, lastdata PJSIP/1002,10.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
for u in 1001 1002; do
	kv_conf_user "$u" endpoint.disallow=all endpoint.allow=ulaw,alaw \
		endpoint.transfer_context=xfer endpoint.allow_transfer=yes
done
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw,alaw \
	endpoint.transfer_context=xfer endpoint.refer_blind_progress=no
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[xfer]
exten => 1003,1,Dial(PJSIP/1003,10)
 same => n,Hangup()
exten => 1002,1,Dial(PJSIP/1002,10)
 same => n,Hangup()
exten => 600,1,Answer()
 same => n,Echo()
CONF
echo "newcdrcolumns=yes" >> "$KV_CONF/cdr.conf"
sed -i 's/^exten => _100X,1,Dial/exten => _100[12],1,Dial/' "$KV_CONF/extensions.conf"
kvd_start
kv_assert_nomatch 'transfer_context|allow_transfer|refer_blind_progress' "$(cat "$KVD_LOG")" "no warning about the transfer options"

kv_python_call <<'PY' || kv_fail "blind transfers"
import kvsip

host = "127.0.0.1"
p1 = kvsip.Phone(kvsip.kv_port(), "1001")
p2 = kvsip.Phone(kvsip.kv_port(), "1002")
p3 = kvsip.Phone(kvsip.kv_port(), "1003")
for p in (p1, p2, p3):
    p.sign_in()
a, b, c = kvsip.Rtp(), kvsip.Rtp(), kvsip.Rtp()
p1.media.append(a)
p2.media.append(b)
p3.media.append(c)
PCMU = ((0, "PCMU/8000"), (101, "telephone-event/8000"))


def call_1001_1002(n):
    call = kvsip.OutCall(p1, "1002", kvsip.sdp_offer(a.port, codecs=PCMU))
    call.invite()
    inc = p2.expect_invite()
    inc.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
    call.expect_final(200, "call %d 1001 -> 1002" % n)
    call.ack()
    inc.expect_ack()
    kvsip.send_stream(a, call.answer.media, "before%d" % n, 5)
    kvsip.expect_stream(b, "before%d" % n, 5, 0, inc.offer.media)
    return call, inc


def transfer(transferor, what):
    """transferor REFERs to 1003; 1003 answers: its InCall."""
    cseq = transferor.refer("<sip:1003@%s>" % host)
    r = transferor.expect_response(cseq, "REFER", "REFER " + what)
    assert r.status == 202, "REFER %s: %s" % (what, r.start)
    code, state, _ = transferor.expect_refer_notify("first NOTIFY " + what)
    assert code == 100 and state.startswith("active"), (code, state)
    inc3 = p3.expect_invite(timeout=10)
    inc3.ring()
    code, state, _ = transferor.expect_refer_notify("ringing NOTIFY " + what)
    assert code == 180 and state.startswith("active"), (code, state)
    inc3.answer(kvsip.sdp_offer(c.port, codecs=PCMU))
    inc3.expect_ack()
    code, state, _ = transferor.expect_refer_notify("final NOTIFY " + what)
    assert code == 200 and state.startswith("terminated"), (code, state)
    transferor.answer_bye()
    print("%s: 202, NOTIFY 100, 180, then 200 (terminated), BYE to the transferor" % what)
    return inc3


def talk(x, x_dest, y, y_dest, tag, left_out):
    left_out.take()
    kvsip.send_stream(x, x_dest, tag + "-there", 10)
    kvsip.expect_stream(y, tag + "-there", 10, 0, y_dest)
    kvsip.send_stream(y, y_dest, tag + "-back", 10)
    kvsip.expect_stream(x, tag + "-back", 10, 0, x_dest)
    stray = [p for p, _ in left_out.take() if p.payload.startswith(tag.encode())]
    assert not stray, "%s: %d packets reached the transferor" % (tag, len(stray))


# 1. the callee (1002) transfers the caller (1001) to 1003
call, inc = call_1001_1002(1)
inc3 = transfer(inc, "by the callee")
assert "1001" in inc3.invite.get("from"), inc3.invite.get("from")
talk(a, call.answer.media, c, inc3.offer.media, "xfer1", b)
print("1001 <-> 1003 both ways, nothing to 1002")
cseq = inc3.in_dialog("BYE")
call.answer_bye()
assert inc3.expect_response(cseq, "BYE", "BYE of 1003").status == 200

# 2. the caller (1001) transfers the callee (1002) to 1003
call, inc = call_1001_1002(2)
inc3 = transfer(call, "by the caller")
assert "1002" in inc3.invite.get("from"), inc3.invite.get("from")
talk(b, inc.offer.media, c, inc3.offer.media, "xfer2", a)
print("1002 <-> 1003 both ways, nothing to 1001")
cseq = inc.in_dialog("BYE")
inc3.answer_bye()
assert inc.expect_response(cseq, "BYE", "BYE of 1002").status == 200

# 3. 1002 transfers 1001 to 600 (Echo): 200 once Echo has the call
call, inc = call_1001_1002(3)
cseq = inc.refer("<sip:600@%s>" % host)
assert inc.expect_response(cseq, "REFER", "REFER to 600").status == 202
code, _, _ = inc.expect_refer_notify("first NOTIFY to 600")
assert code == 100, code
code, state, _ = inc.expect_refer_notify("final NOTIFY to 600")
assert code == 200 and state.startswith("terminated"), (code, state)
inc.answer_bye()
b.take()
kvsip.send_stream(a, call.answer.media, "echo3", 10)
kvsip.expect_stream(a, "echo3", 10, 0, call.answer.media)
assert not [p for p, _ in b.take() if p.payload.startswith(b"echo3")], "echo reached 1002"
print("transfer to 600: NOTIFY 200 when Echo took the call, 1001 hears itself")
call.bye()

# 4. 1003 (refer_blind_progress=no) transfers 1001 to 1002
out = kvsip.OutCall(p3, "1001", kvsip.sdp_offer(c.port, codecs=PCMU))
out.invite()
inc1 = p1.expect_invite()
inc1.answer(kvsip.sdp_offer(a.port, codecs=PCMU))
out.expect_final(200, "1003 -> 1001")
out.ack()
inc1.expect_ack()
cseq = out.refer("<sip:1002@%s>" % host)
assert out.expect_response(cseq, "REFER", "REFER to 1002").status == 202
code, _, _ = out.expect_refer_notify("first NOTIFY, no progress")
assert code == 100, code
code, state, _ = out.expect_refer_notify("final NOTIFY, no progress")
assert code == 200 and state.startswith("terminated"), (code, state)
out.answer_bye()
inc2 = p2.expect_invite()
inc2.answer(kvsip.sdp_offer(b.port, codecs=PCMU))
inc2.expect_ack()
# Nothing tells 1001 or 1002 when the relay has the bridge (the ACK to
# 1002 leaves before it): probe until a packet passes, then count.
for i in range(100):
    a.send(inc1.offer.media, b"probe4")
    if b.wait(lambda got: any(p.payload == b"probe4" for p, _ in got), 0.02):
        break
assert any(p.payload == b"probe4" for p, _ in b.got), "no media 1001 -> 1002"
a.quiet()
b.quiet()
a.take()
talk(a, inc1.offer.media, b, inc2.offer.media, "xfer4", c)
print("refer_blind_progress=no: NOTIFY 200 and BYE before 1002 answered; 1001 <-> 1002")
inc2.bye()
inc1.answer_bye()
PY
kv_ok "blind transfer by the callee and by the caller: NOTIFY 100/200, media to the target"

kv_python_call "$KV_LOGDIR/cdr-csv/Master.csv" <<'PY' || kv_fail "CDRs of the transfers"
import sys
import kvsip

r = kvsip.read_cdrs(sys.argv[1], 8)


def check(rec, **want):
    kvsip.check_cdr(rec, "record", **want)


for i, (src, dst) in ((0, ("1001", "1003")), (2, ("1002", "1003"))):
    check(r[i], src="1001", dst="1002", dcontext="from-internal",
          channel="PJSIP/1001-*", dstchannel="PJSIP/1002-*", lastapp="BlindTransfer",
          lastdata="1003@xfer", disposition="ANSWERED")
    chan = r[i]["channel"] if src == "1001" else r[i]["dstchannel"]
    check(r[i + 1], src=src, dst=dst, dcontext="xfer", channel=chan,
          dstchannel="PJSIP/1003-*", lastapp="Dial", lastdata="PJSIP/1003,10",
          disposition="ANSWERED", linkedid=r[i]["uniqueid"])
    assert r[i + 1]["uniqueid"] != r[i]["uniqueid"], r[i + 1]
    assert r[i]["linkedid"] == r[i]["uniqueid"], r[i]
    assert r[i]["end"] <= r[i + 1]["end"], (r[i], r[i + 1])
    print("original %s -> %s %s; new %s -> %s %s %s" % (
        r[i]["src"], r[i]["dst"], r[i]["lastapp"], r[i + 1]["src"], r[i + 1]["dst"],
        r[i + 1]["channel"], r[i + 1]["dstchannel"]))
check(r[4], src="1001", dst="1002", lastapp="BlindTransfer", lastdata="600@xfer",
      disposition="ANSWERED")
check(r[5], src="1001", dst="600", dcontext="xfer", channel=r[4]["channel"], dstchannel="",
      lastapp="Echo", disposition="ANSWERED", linkedid=r[4]["uniqueid"])
check(r[6], src="1003", dst="1001", channel="PJSIP/1003-*", dstchannel="PJSIP/1001-*",
      lastapp="BlindTransfer", lastdata="1002@xfer", disposition="ANSWERED")
check(r[7], src="1001", dst="1002", dcontext="xfer", channel=r[6]["dstchannel"],
      dstchannel="PJSIP/1002-*", lastapp="Dial", lastdata="PJSIP/1002,10",
      disposition="ANSWERED", linkedid=r[6]["uniqueid"])
print("to 600: %s %s; refer_blind_progress=no: %s -> %s" % (
    r[5]["lastapp"], r[5]["dst"], r[7]["src"], r[7]["dst"]))
PY
kv_ok "CDRs: the original calls end at the transfer (BlindTransfer), the new bridges linked"

kvd_stop
kv_pass
