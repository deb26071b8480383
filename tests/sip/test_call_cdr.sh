#!/usr/bin/env bash
# test_call_cdr - one CDR per call in <astlogdir>/cdr-csv/Master.csv, in
# Asterisk's column order (accountcode, src, dst, dcontext, clid, channel,
# dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
# disposition, amaflags, uniqueid): an answered call (ANSWERED), a busy
# callee (BUSY) and an unanswered one (NO ANSWER, Dial timeout 2 s), in
# that order; and a call_end log line with each disposition.  asterisk.conf
# names the system (systemname): every uniqueid starts with it.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_dialplan 2
printf '[options]\nsystemname=pbx-test\n' >> "$KV_CONF/asterisk.conf"
kvd_start

kv_python_call <<'PY' || kv_fail "calls for the CDRs"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.ring()
inc.answer(kvsip.sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "answered call")
call.ack()
inc.expect_ack()
callee.idle(1.2)
cseq = call.in_dialog("BYE")
inc.answer_bye()
call.expect_response(cseq, "BYE", "BYE")

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.respond(486)
call.expect_final(486, "busy call")

call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.ring()
inc.expect_cancel(timeout=15)
call.expect_final(480, "unanswered call")
print("calls: answered, busy, no answer")
PY
kv_ok "three calls: answered, busy, unanswered"

cdr=$KV_LOGDIR/cdr-csv/Master.csv
for _ in $(seq 1 50); do
	[ "$(grep -c . "$cdr" 2>/dev/null)" -ge 3 ] && break
	sleep 0.1
done
[ -s "$cdr" ] || kv_fail "no $cdr"
cat "$cdr"
python3 - "$cdr" <<'PY' || kv_fail "Master.csv records"
import csv, re, sys

rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) == 3, "%d records, expected 3" % len(rows)
date = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
uids = set()
for row, disp in zip(rows, ("ANSWERED", "BUSY", "NO ANSWER")):
    assert len(row) >= 17, "%d columns: %r" % (len(row), row)
    (acct, src, dst, dcontext, clid, channel, dstchannel, lastapp, lastdata,
     start, answer, end, duration, billsec, disposition, amaflags, uid) = row[:17]
    what = "%s record %r" % (disp, row)
    assert src == "1001" and dst == "1002", what
    assert dcontext == "from-internal", what
    assert "1001" in clid, what
    assert channel.startswith("PJSIP/1001-"), what
    assert lastapp == "Dial" and lastdata.startswith("PJSIP/1002"), what
    assert disposition == disp, what
    assert amaflags in ("DOCUMENTATION", "BILLING", "OMIT"), what
    assert date.match(start) and date.match(end) and start <= end, what
    assert duration.isdigit() and billsec.isdigit(), what
    assert int(billsec) <= int(duration), what
    # Asterisk logs every call offered to an outgoing channel, answered
    # or not, with that channel as dstchannel (cdr.conf, unanswered).
    assert dstchannel.startswith("PJSIP/1002-"), what
    if disp == "ANSWERED":
        assert date.match(answer) and start <= answer <= end, what
    else:
        assert answer == "" and billsec == "0", what
    assert re.match(r"^pbx-test-\d+\.\d+$", uid), "uniqueid %r: not systemname-epoch.seq" % uid
    assert uid not in uids, what
    uids.add(uid)
    print("%-9s src=%s dst=%s channel=%s dstchannel=%s duration=%s billsec=%s" % (
        disp, src, dst, channel, dstchannel, duration, billsec))
PY
kv_ok "Master.csv: ANSWERED, BUSY, NO ANSWER in Asterisk's column order"

kv_wait_log 'event=call_end.*disposition="?ANSWERED'
kv_wait_log 'event=call_end.*disposition="?BUSY'
kv_wait_log 'event=call_end.*disposition="NO ANSWER"'
kv_ok "log: call_end with each disposition"

kvd_stop
kv_pass
