#!/usr/bin/env bash
# test_call_concurrent_100 - 100 calls at once: one SIPp caller starts 100
# calls from 1001 to 1002 at up to 100 per second, each held 3 s so that
# all of them are up together; one SIPp callee registered as 1002 answers
# them all.  Every call must succeed at both ends, and the CDR file must
# then hold 100 answered calls.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_call_users 1001 1002
# 100 calls, two legs each, a port pair per leg: the whole slot.
kv_conf_rtp 400
kv_conf_dialplan 10
kv_conf_dirs
kvd_start

port=$(kv_free_port)
kv_register_port 1002 "$port"
SIPP_M=100 SIPP_TIMEOUT=60s kv_sipp_uas uas_answer.xml "$port"
uas=$KV_UAS
SIPP_M=100 SIPP_L=100 SIPP_R=100 SIPP_TIMEOUT=60s \
	kv_sipp_call_ok "SIPp caller: 100 concurrent calls answered and hung up, 0 failed" \
	call_answer.xml 1001 1002 -d 3000
grep -E 'Successful call|Failed call' "$KV_TMP"/sipp-*.out | tail -n 4
kv_sipp_uas_wait "$uas" "SIPp callee: 100 calls taken, 0 failed" 60

cdr=$KV_LOGDIR/cdr-csv/Master.csv
answered()
{
	python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(sum(1 for r in rows if len(r) > 14 and r[14] == "ANSWERED"), len(rows))
' "$cdr" 2>/dev/null
}
for _ in $(seq 1 100); do
	[ "$(answered)" = "100 100" ] && break
	sleep 0.1
done
kv_assert_eq "100 100" "$(answered)" "answered calls and records in $cdr"
kv_ok "Master.csv: 100 answered calls"

kvd_stop
kv_pass
