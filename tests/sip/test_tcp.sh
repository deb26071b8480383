#!/usr/bin/env bash
# test_tcp - registration over TCP (SIPp -t t1): challenge and 200 come back
# on the client's connection, and the binding is visible over both
# transports.  Also several requests pipelined on one connection.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
port=$(kv_free_port)
SIPP_T=t1 SIPP_PORT=$port kv_sipp_ok "SIPp over TCP: 401 then 200" reg_200.xml "$csv"
SIPP_T=t1 kv_sipp_ok "SIPp over TCP: OPTIONS" options_200.xml "$csv"

out=$(kv_py --tcp query 1001 2>&1) || kv_fail "query over TCP: $out"
kv_assert_eq 200 "$(printf '%s\n' "$out" | head -n 1)" "query over TCP"
kv_assert_match "^sip:1001@127\.0\.0\.1:$port;transport=TCP [1-9][0-9]*\$" "$out" "TCP binding seen over TCP"
kv_contacts 1001
kv_assert_match "^sip:1001@127\.0\.0\.1:$port;transport=TCP [1-9][0-9]*\$" "$KV_CONTACTS" "TCP binding seen over UDP"
kv_ok "the TCP binding is listed over TCP and UDP"

kv_python <<'PY' || kv_fail "pipelined requests on one TCP connection"
import os, time
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]), tcp=True)
reqs = [c.build("OPTIONS", cseq=n, call_id="pipe-%d" % n) for n in (1, 2, 3)]
# One write holding three requests, then one request split in two writes.
c.send(b"".join(reqs))
got = []
for _ in range(3):
    raw = c.recv(5)
    assert raw is not None, "only %d of 3 pipelined answers" % len(got)
    got.append(kvsip.Response(raw))
assert [r.status for r in got] == [200, 200, 200], [r.start for r in got]
assert [r.get("cseq") for r in got] == ["1 OPTIONS", "2 OPTIONS", "3 OPTIONS"], \
    [r.get("cseq") for r in got]
last = c.build("OPTIONS", cseq=4, call_id="pipe-4")
c.send(last[:40])
time.sleep(0.2)
c.send(last[40:])
r = c.recv(5)
assert r is not None and kvsip.Response(r).status == 200, r
PY
kv_ok "three pipelined requests and a split one answered in order"

kvd_stop
kv_pass
