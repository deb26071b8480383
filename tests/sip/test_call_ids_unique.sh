#!/usr/bin/env bash
# test_call_ids_unique - identifiers KubeVox makes up are unique across
# processes: kubevoxd is started twice alike (same configuration, same
# call), and the INVITE it sends to the callee carries a different
# Call-ID, From tag, Via branch and SDP session id each time, as does the
# SDP of its answer to the caller.  RFC 3261 §8.1.1.4 forbids a Call-ID
# used again; an unseeded generator repeats its sequence after every
# restart and on every replica.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002

one_call()
{
	kv_python_call "$1" <<'PY' || kv_fail "call 1001 -> 1002 ($1)"
import sys
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
call = kvsip.OutCall(caller, "1002", kvsip.sdp_offer(a.port))
call.invite()
inc = callee.expect_invite()
inc.answer(kvsip.sdp_offer(b.port))
prov, final = call.final()
assert final is not None and final.status == 200, final and final.start
call.ack()
inc.expect_ack()

def origin(sdp):
    o = [l for l in sdp.lines if l.startswith("o=")]
    assert len(o) == 1, sdp.lines
    return o[0].split()[1]

ids = {
    "callid": inc.invite.call_id,
    "fromtag": inc.invite.from_tag,
    "branch": inc.invite.branch,
    "sdp_offer_id": origin(inc.offer),
    "sdp_answer_id": origin(call.answer),
}
for k, v in ids.items():
    assert v, "%s missing" % k
with open(sys.argv[1], "w") as f:
    for k, v in sorted(ids.items()):
        f.write("%s %s\n" % (k, v))
r = call.bye()
assert r.status == 200, r.start
PY
}

kvd_start
one_call "$KV_TMP/run1"
kvd_stop
kvd_start
one_call "$KV_TMP/run2"
kvd_stop

sed 's/^/run 1: /' "$KV_TMP/run1"
sed 's/^/run 2: /' "$KV_TMP/run2"
while read -r key v1; do
	v2=$(awk -v k="$key" '$1 == k { print $2 }' "$KV_TMP/run2")
	[ -n "$v2" ] || kv_fail "$key missing in the second run"
	[ "$v1" != "$v2" ] || kv_fail "$key repeated by a second process: $v1"
done < "$KV_TMP/run1"
kv_ok "Call-ID, From tag, branch and SDP session ids differ between two processes started alike"
kv_pass
