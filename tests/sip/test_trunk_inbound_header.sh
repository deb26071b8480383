#!/usr/bin/env bash
# test_trunk_inbound_header - ${PJSIP_HEADER(read,NAME[,N])} for providers
# that put the DID in To: the provider (identify match=127.0.0.5) sends its
# INVITE to sip:trunk@ with To <sip:+15550001002@itsp.test>, and the
# dialplan dials the phone named by the To user.  What the dialplan read
# comes back to the test as the caller name the phone sees: the second
# X-Carrier-Ref header, the first header whose name starts with x-carrier-
# (names in any case), the second Via (PJSIP counts each Via value), a
# header the INVITE lacks and a second To (both empty).  The same read
# after the call is answered (its INVITE transaction over) still works.
# --check refuses ${PJSIP_HEADER()} with an action other than read or
# without a name, with file:line.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1002
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[carrier]
type=endpoint
context=from-carrier
disallow=all
allow=ulaw

[carrier-identify]
type=identify
endpoint=carrier
match=127.0.0.5
CONF
cat >> "$KV_CONF/extensions.conf" <<'CONF'

[from-carrier]
exten => trunk,1,Set(did=$["${PJSIP_HEADER(read,To)}" : ".*<sip:[+]1555000([0-9]+)@"])
 same => n,Set(CALLERID(name)=${PJSIP_HEADER(read,X-Carrier-Ref,2)}/${PJSIP_HEADER(read,x-carrier-*)}/${PJSIP_HEADER(read,Via,2)}/${PJSIP_HEADER(read,X-None)}/${PJSIP_HEADER(read,To,2)})
 same => n,Dial(PJSIP/${did},10)
 same => n,Hangup()
exten => answered,1,Answer()
 same => n,Wait(0.5)
 same => n,Set(CALLERID(name)=${PJSIP_HEADER(READ, X-Carrier-Ref )})
 same => n,Dial(PJSIP/1002,10)
 same => n,Hangup()
CONF
kvd_start

kv_python_call <<'PY' || kv_fail "PJSIP_HEADER(read,...) in a provider's DID context"
import re

import kvsip

callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()


def call(ruri_user, to, headers, what):
    """The provider's call; the caller name the phone sees."""
    provider = kvsip.Phone(kvsip.kv_port(), "provider", password="")
    kvsip.rebind_phone(provider, "127.0.0.5")
    a, b = kvsip.Rtp(local="127.0.0.5"), kvsip.Rtp()
    provider.media.append(a)
    callee.media.append(b)
    c = kvsip.OutCall(provider, ruri_user, sdp=kvsip.sdp_offer(a.port), headers=headers)
    c.to = c.remote_hdr = to
    c.invite()
    if ruri_user == "answered":
        _, r = c.expect_final(200, what)
        c.ack()
    inc = callee.expect_invite()
    m = re.match(r'\s*"([^"]*)"', inc.invite.get("from"))
    assert m, "%s: From %r" % (what, inc.invite.get("from"))
    inc.ring()
    inc.answer(kvsip.sdp_offer(b.port))
    if ruri_user != "answered":
        c.expect_final(200, what)
        c.ack()
    inc.expect_ack()
    kvsip.hang_up(c, inc)
    provider.close()
    return m.group(1)


hdrs = [("X-Carrier-Ref", "A1"), ("x-carrier-ref", "B2"),
        ("Via", "SIP/2.0/UDP proxy.itsp.test;branch=z9hG4bKprox1")]
name = call("trunk", "<sip:+15550001002@itsp.test>", hdrs, "DID in To")
want = "B2/A1/SIP/2.0/UDP proxy.itsp.test;branch=z9hG4bKprox1//"
assert name == want, "read: %r, expected %r" % (name, want)
print("DID in To reached 1002; the dialplan read %r" % name)

name = call("answered", "<sip:+15550001002@itsp.test>", hdrs, "read after the answer")
assert name == "A1", "read after the answer: %r" % name
print("after the answer the dialplan read %r" % name)
PY
kv_ok "the dialplan reads the INVITE's headers, Dial by the To user"
kv_wait_log 'event=call_start .*channel=PJSIP/carrier-.*exten=trunk context=from-carrier'
kvd_stop

# --check: the read action and a name, with file:line.
bad=$KV_TMP/bad
mkdir -p "$bad"
cp "$KV_CONF"/*.conf "$bad/"
cat >> "$bad/extensions.conf" <<'CONF'

[checks]
exten => 1,1,Set(x=${PJSIP_HEADER(add,X-Foo)})
exten => 2,1,Set(x=${PJSIP_HEADER(read)})
exten => 3,1,Set(x=${PJSIP_HEADER(read,X-Foo,2)}${PJSIP_HEADER(${A},X-Foo)})
CONF
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$bad" --check 2>&1)
rc=$?
kv_assert_eq 1 "$rc" "--check exit status (output: $out)"
l1=$(grep -n 'X-Foo)})$' "$bad/extensions.conf" | head -1 | cut -d: -f1)
kv_assert_match "extensions.conf:$l1: .*PJSIP_HEADER: action 'add' is not read" "$out" "--check on add"
kv_assert_match "extensions.conf:$((l1 + 1)): .*PJSIP_HEADER: no header name" "$out" "--check without a name"
kv_assert_nomatch "extensions.conf:$((l1 + 2)):" "$out" "--check on good reads"
kv_ok "--check: PJSIP_HEADER needs read and a name"
kv_pass
