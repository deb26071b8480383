#!/usr/bin/env bash
# test_udp_local_addr - a UDP transport bound to the wildcard address
# answers from the address it was asked on (RFC 3261 §18.2.2, RFC 3581):
# one kubevoxd bound to 0.0.0.0 is asked on 127.0.0.1, 127.0.0.2 and
# 127.0.0.3 (all loopback on Linux) by phones on 127.0.0.1 and 127.0.0.2.
# Every 401 and 200 of a REGISTER, the 200 of an OPTIONS, a retransmitted
# response and a stateless 400 must come from the address and port the
# request went to; the kernel alone would answer a phone on 127.0.0.1 from
# 127.0.0.1 whatever it asked, which is what kube-proxy's NodePort and
# multi-homed hosts do not let through.  A REGISTER over TCP to the
# wildcard TCP transport still works.
. "$(dirname "$0")/lib.sh"

# The usual transports, bound to the wildcard address instead.
kv_conf_transports
sed -i "s/^bind=127\.0\.0\.1:/bind=0.0.0.0:/" "$KV_CONF/pjsip.conf"
grep -q "^bind=0\.0\.0\.0:$KV_PORT\$" "$KV_CONF/pjsip.conf" ||
	kv_fail "no wildcard bind in pjsip.conf"
kv_conf_user 1001
kv_conf_user 1002
kvd_start

kv_python <<'PY' || kv_fail "answers from the address asked"
import os

import kvsip

port = int(os.environ["KV_PORT"])


class Sources:
    """The socket of a kvsip.Client, keeping where every datagram came
    from."""

    def __init__(self, sock):
        self.sock = sock
        self.seen = []

    def recvfrom(self, size):
        data, src = self.sock.recvfrom(size)
        self.seen.append(src)
        return data, src

    def __getattr__(self, name):
        return getattr(self.sock, name)


class Phone(kvsip.Client):
    def __init__(self, local, server):
        super().__init__(port, host=server, local=local)
        self.sock = Sources(self.sock)

    def check_sources(self, what):
        want = self.server
        seen, self.sock.seen = self.sock.seen, []
        assert seen, "%s: no answer at all" % what
        bad = [s for s in seen if s != want]
        assert not bad, "%s: asked %s:%d, answered from %r" % (
            what, want[0], want[1], bad)
        return len(seen)


def register(local, server, user):
    p = Phone(local, server)
    contact = "<sip:%s@%s:%d>" % (user, local, p.lport)
    first, final = p.register(user, "secret" + user, contact=contact,
                              expires=60)
    assert first is not None and first.status == 401, \
        "%s via %s: first answer %r" % (user, server, first and first.start)
    assert final is not None and final.status == 200, \
        "%s via %s: final %r" % (user, server, final and final.start)
    assert any(uri == contact[1:-1] for uri, _ in final.contacts()), \
        "%s: 200 lists %r" % (user, final.contacts())
    n = p.check_sources("REGISTER of %s from %s to %s" % (user, local, server))
    print("REGISTER %s from %s to %s:%d: 401 and 200 from %s:%d (%d answers)"
          % (user, local, server, port, server, port, n))
    return p


def options(local, server):
    p = Phone(local, server)
    req = p.build("OPTIONS", call_id="opt-%s-%s" % (local, server))
    r = p.transact(req)
    assert r is not None and r.status == 200, "OPTIONS to %s: %r" % (
        server, r and r.start)
    p.check_sources("OPTIONS from %s to %s" % (local, server))
    # The same request again is a retransmission: the server
    # transaction sends its stored 200 again, from the same address.
    r = p.transact(req)
    assert r is not None and r.status == 200, "retransmitted OPTIONS: %r" % (
        r and r.start)
    p.check_sources("retransmitted OPTIONS from %s to %s" % (local, server))
    # A request the parser refuses but can answer: a stateless 400.
    bad = p.build("OPTIONS", call_id="bad-%s-%s" % (local, server),
                  omit=("content-length",),
                  headers=[("Content-Length", "9999")])
    r = p.transact(bad)
    assert r is not None and r.status == 400, "malformed OPTIONS: %r" % (
        r and r.start)
    p.check_sources("400 to %s from %s" % (local, server))
    print("OPTIONS from %s to %s:%d: 200, its retransmission and a 400 "
          "all from %s:%d" % (local, server, port, server, port))
    p.close()


# 1001 on 127.0.0.1 asks 127.0.0.2: the kernel would answer from .1.
a = register("127.0.0.1", "127.0.0.2", "1001")
# 1002 on 127.0.0.2 asks 127.0.0.3: the kernel would answer from .1.
b = register("127.0.0.2", "127.0.0.3", "1002")
# And each again on 127.0.0.1, where both ways agree.
register("127.0.0.2", "127.0.0.1", "1002").close()
register("127.0.0.1", "127.0.0.1", "1001").close()
a.close()
b.close()

for local in ("127.0.0.1", "127.0.0.2"):
    for server in ("127.0.0.1", "127.0.0.2", "127.0.0.3"):
        options(local, server)

t = kvsip.Client(port, host="127.0.0.3", local="127.0.0.1", tcp=True)
first, final = t.register("1001", "secret1001",
                          contact="<sip:1001@127.0.0.1:%d;transport=tcp>"
                          % t.lport, expires=60)
assert final is not None and final.status == 200, "TCP REGISTER: %r" % (
    final and final.start)
t.close()
print("REGISTER over TCP to the wildcard transport on 127.0.0.3: 200")
PY
kv_ok "every answer left from the address and port it was asked on"

kvd_stop
kv_pass
