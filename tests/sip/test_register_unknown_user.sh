#!/usr/bin/env bash
# test_register_unknown_user - an unknown user is challenged exactly like a
# known one (same realm, algorithms, parameters, header set), and after
# answering gets 401 again, shaped like a known user's wrong-password 401:
# the registrar must not reveal which users exist.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

kv_sipp_ok "SIPp: unknown user 9999 gets 401 after answering" reg_wrongpw.xml "$(kv_csv 9999 whatever)"

kv_python <<'PY' || kv_fail "unknown and known users are told apart"
import os
import kvsip

port = int(os.environ["KV_PORT"])
# Values that legitimately differ between the two exchanges.
VARYING = {"via", "from", "to", "call-id", "cseq", "date", "www-authenticate"}


def shape(r):
    """What an attacker can compare: status, header names in order, the
    values of the headers that do not echo the request, and each
    challenge's parameters in order with nonce/opaque values masked."""
    assert r is not None, "no response"
    out = [r.start, r.names()]
    out.append([(kvsip.hdr_key(n), v) for n, v in r.headers
                if kvsip.hdr_key(n) not in VARYING])
    for _, params in r.challenges():
        out.append([(n, "*" if n in ("nonce", "opaque") else v, q)
                    for n, v, q in params])
    return out


def exchange(user, password):
    c = kvsip.Client(port)
    first, final = c.register(user, password, call_id="shape-%s" % user)
    c.close()
    return first, final


k1, k2 = exchange("1001", "wrongpass")
u1, u2 = exchange("9999", "wrongpass")
for r in (k1, k2, u1, u2):
    assert r is not None and r.status == 401, r and r.start
    assert len(r.challenges()) == 1, r.get_all("www-authenticate")
    p = r.challenges()[0][0]
    assert p.get("realm") == "asterisk" and p.get("algorithm") == "MD5", p
    assert p.get("nonce"), p

assert shape(k1) == shape(u1), "first challenges differ:\n%r\n%r" % (shape(k1), shape(u1))
assert shape(k2) == shape(u2), "second 401s differ:\n%r\n%r" % (shape(k2), shape(u2))
assert shape(k1) == shape(k2), "challenge changed after a failure:\n%r\n%r" % (shape(k1), shape(k2))
print("challenge shape:", shape(u2)[2:])
PY
kv_ok "unknown user 9999 and known user 1001 get identically shaped 401s"

kvd_stop
kv_pass
