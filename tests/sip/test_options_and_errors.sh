#!/usr/bin/env bash
# test_options_and_errors - the request-level answers that do not depend on
# registration: OPTIONS 200 with Allow, 501 for an unknown method, 420 with
# Unsupported for an unknown Require option-tag, 400 for a malformed request
# whose transaction headers (Via, From, To, Call-ID, CSeq) can be read, and
# silence for one whose cannot.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

csv=$(kv_csv 1001)
kv_sipp_ok "SIPp: OPTIONS gets 200 with Allow" options_200.xml "$csv"

kv_python <<'PY' || kv_fail "request-level errors"
import os
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))


def ask(data, what, timeout=5.0):
    r = c.transact(data, timeout)
    assert r is not None, "%s: no answer" % what
    return r


def alive():
    r = ask(c.build("OPTIONS", call_id="alive-%d" % id(c)), "liveness OPTIONS")
    assert r.status == 200, r.start


r = ask(c.build("OPTIONS", call_id="opt-1"), "OPTIONS")
assert r.status == 200, r.start
allow = [v.strip().upper() for v in r.values("allow")]
assert "REGISTER" in allow and "OPTIONS" in allow, "Allow: %r" % allow
assert r.get("cseq") == "1 OPTIONS" and r.get("call-id") == "opt-1", r.headers
print("OPTIONS: 200, Allow:", ", ".join(allow))

r = ask(c.build("FOO", call_id="foo-1"), "FOO")
assert r.status == 501, "FOO: %s" % r.start
assert r.get("cseq") == "1 FOO", r.get("cseq")
print("FOO: 501")

for method in ("OPTIONS", "REGISTER"):
    r = ask(c.build(method, call_id="req-" + method,
                    headers=[("Require", "foo")]), "Require: foo on " + method)
    assert r.status == 420, "Require: foo on %s: %s" % (method, r.start)
    unsup = [v.strip() for v in r.values("unsupported")]
    assert unsup == ["foo"], "Unsupported: %r" % unsup
print("Require: foo: 420 with Unsupported: foo")


def silent(data, what):
    c.send(data)
    raw = c.recv(1.5)
    assert raw is None, "%s was answered: %r" % (what, raw)
    print("%s: dropped" % what)


silent(c.build("OPTIONS", omit=("Call-ID",)), "request without Call-ID")
silent(c.build("REGISTER", omit=("Via",)), "request without Via")
silent(c.build("REGISTER").replace(b"CSeq: 1 REGISTER", b"CSeq: abc REGISTER"),
       "unreadable CSeq number")
silent(b"hello kubevox\r\n\r\n", "garbage datagram")
silent(b"\x00" * 64, "NUL bytes")
alive()


def bad(data, what):
    r = ask(data, what)
    assert r.status == 400, "%s: %s" % (what, r.start)
    req = data.decode("latin-1")
    for h in ("Call-ID", "CSeq"):
        line = [l for l in req.split("\r\n") if l.startswith(h + ":")][0]
        assert r.get(h) == line.split(":", 1)[1].strip(), \
            "%s: 400 with %s %r" % (what, h, r.get(h))
    branch = req.split("branch=")[1].split(";")[0]
    assert "branch=" + branch in r.get("via"), "%s: Via %r" % (what, r.get("via"))
    print("%s: 400 %s" % (what, r.reason))


# RFC 3261 §8.1.1.5: the CSeq method must match the request method.
bad(c.build("REGISTER", call_id="bad-cseq", cseq_method="INVITE"),
    "CSeq method INVITE on a REGISTER")
bad(c.build("OPTIONS", call_id="bad-mf",
            headers=[("Max-Forwards", "abc")], omit=("Max-Forwards",)),
    "Max-Forwards: abc")
# RFC 3261 §18.3: a datagram shorter than its Content-Length is an error.
bad(c.build("REGISTER", call_id="bad-clen").replace(
        b"Content-Length: 0\r\n", b"Content-Length: 500\r\n"),
    "Content-Length beyond the datagram")
alive()
PY
kv_ok "OPTIONS 200, FOO 501, Require 420, malformed 400 or dropped"

kvd_stop
kv_pass
