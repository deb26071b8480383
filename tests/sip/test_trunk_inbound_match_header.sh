#!/usr/bin/env bash
# test_trunk_inbound_match_header - identify by match_header, as Asterisk
# 16+: "Name: value" matches a request with a header of that name (any
# case) whose value is exactly value; a value between slashes is a POSIX
# extended regex, and every header of that name is tried.  Requests come
# from 127.0.0.6, which no identify lists by address: each identified one
# runs its endpoint's context without a challenge (acme's answers 486,
# beta's 403, so the provider's side tells which endpoint it was), and a
# request whose header does not match is challenged (401).  --check
# reports a match_header without ':' and a regex that does not compile
# with file:line.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1002
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[acme]
type=endpoint
context=from-acme
allow=ulaw

[acme-identify]
type=identify
endpoint=acme
match_header=X-Trunk-Id: acme-7

[beta]
type=endpoint
context=from-beta
allow=ulaw

[beta-identify]
type=identify
endpoint=beta
match_header = X-Carrier : /^voip[0-9]+\.example$/
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[from-acme]
exten => _X.,1,Busy()

[from-beta]
exten => _X.,1,Hangup(21)
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "identify by match_header"
import kvsip

cases = [
    ([("x-trunk-id", "acme-7")], 486, "exact value, header name in another case"),
    ([("X-Trunk-Id", "ACME-7")], 401, "the value in another case"),
    ([("X-Trunk-Id", "acme-77")], 401, "a longer value"),
    ([("X-Carrier", "other"), ("X-Carrier", "voip42.example")], 403,
     "regex, matched by the second header of that name"),
    ([("X-Carrier", "xvoip42.example")], 401, "regex not matched"),
    ([], 401, "no such header"),
]
for headers, want, what in cases:
    p = kvsip.Phone(kvsip.kv_port(), "+15550001", password="")
    kvsip.rebind_phone(p, "127.0.0.6")
    call = kvsip.OutCall(p, "5550100", sdp=kvsip.sdp_offer(40000), headers=headers)
    call.invite()
    _, r = call.expect_final(want, what)
    if want == 401:
        assert r.challenges(), "%s: 401 without a challenge" % what
    p.close()
    print("%s: %s" % (what, r.start))
PY
kv_ok "match_header: exact value and regex pick the endpoint; others are challenged"
kv_wait_log 'event=call_start .*channel=PJSIP/acme-.*context=from-acme'
kv_wait_log 'event=call_start .*channel=PJSIP/beta-.*context=from-beta'
kvd_stop

bad=$KV_TMP/bad
mkdir -p "$bad"
cp "$KV_CONF"/*.conf "$bad/"
cat >> "$bad/pjsip.conf" <<'CONF'

[gamma]
type=endpoint
context=from-acme

[gamma-identify]
type=identify
endpoint=gamma
match_header=X-Gamma
CONF
cat >> "$bad/pjsip.conf" <<'CONF'

[delta-identify]
type=identify
endpoint=gamma
match_header=X-Delta: /voip(/
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$bad" --check 2>&1)
rc=$?
kv_assert_eq 1 "$rc" "--check exit status (output: $out)"
l1=$(grep -n '^match_header=X-Gamma$' "$bad/pjsip.conf" | cut -d: -f1)
l2=$(grep -n '^match_header=X-Delta' "$bad/pjsip.conf" | cut -d: -f1)
kv_assert_match "pjsip.conf:$l1: .*invalid match_header 'X-Gamma'" "$out" "--check without ':'"
kv_assert_match "pjsip.conf:$l2: .*invalid match_header regex 'voip\('" "$out" "--check on a bad regex"
kv_ok "--check: match_header without ':' and a bad regex, with file:line"
kv_pass
