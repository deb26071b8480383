"""kvprov - a provider's registrar on loopback, for the tests of KubeVox's
outbound registrations (test_trunk_register_*.sh).

One UDP socket that receives KubeVox's REGISTERs with the address they
came from, answers them (challenges with any algorithm and qop, 2xx with
the expiry it grants, errors, or nothing at all) and checks the
credentials with kvsip's digest code, so each test states what the
provider sees and what it answers.
"""
import os
import re
import select
import socket
import time

import kvsip


class Provider:
    """tcp=True: a listening socket; requests are read from the
    connections KubeVox opens and answered on them."""

    def __init__(self, host="127.0.0.1", port=0, tcp=False):
        self.tcp = tcp
        self.sock = socket.socket(socket.AF_INET,
                                  socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
        if tcp:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        if tcp:
            self.sock.listen(8)
        self.addr = self.sock.getsockname()
        self.seen = []            # (request, source) of every REGISTER
        self.conns = {}           # source -> [socket, buffer]

    def _read(self, timeout):
        """(bytes of one message, source) or (None, None)."""
        if not self.tcp:
            self.sock.settimeout(timeout)
            try:
                return self.sock.recvfrom(65535)
            except socket.timeout:
                return None, None
        deadline = time.monotonic() + timeout
        while True:
            for src, c in self.conns.items():
                end = c[1].find(b"\r\n\r\n")
                if end >= 0:
                    m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)", c[1][:end + 2], re.I)
                    total = end + 4 + (int(m.group(1)) if m else 0)
                    if len(c[1]) >= total:
                        data, c[1] = c[1][:total], c[1][total:]
                        return data, src
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            socks = [self.sock] + [c[0] for c in self.conns.values()]
            ready, _, _ = select.select(socks, [], [], left)
            for s in ready:
                if s is self.sock:
                    conn, src = self.sock.accept()
                    self.conns[src] = [conn, b""]
                    continue
                src = next(k for k, c in self.conns.items() if c[0] is s)
                chunk = s.recv(65535)
                if not chunk:
                    s.close()
                    del self.conns[src]
                else:
                    self.conns[src][1] += chunk

    def _send(self, data, dst):
        if self.tcp:
            self.conns[dst][0].sendall(data)
        else:
            self.sock.sendto(data, dst)

    @property
    def port(self):
        return self.addr[1]

    def close(self):
        self.sock.close()

    def recv(self, timeout=10.0, method="REGISTER"):
        """The next request (retransmissions of one already seen are
        skipped), with its source; (None, None) on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None, None
            data, src = self._read(left)
            if data is None:
                return None, None
            msg = kvsip.parse_message(data)
            if not isinstance(msg, kvsip.Request) or msg.method != method:
                continue
            if any(r.key() == msg.key() for r, _ in self.seen):
                continue
            self.seen.append((msg, src))
            return msg, src

    def expect(self, what, timeout=10.0):
        req, src = self.recv(timeout)
        assert req is not None, "%s: no REGISTER within %gs" % (what, timeout)
        return req, src

    def nothing(self, what, timeout):
        req, _ = self.recv(timeout)
        assert req is None, "%s: unexpected %s" % (what, req and req.start)

    def reply(self, req, src, status, reason="Reason", headers=()):
        h = [("Via", v) for v in req.get_all("via")]
        h += [("From", req.get("from")),
              ("To", req.get("to") + ("" if kvsip.header_tag(req.get("to")) else ";tag=prov")),
              ("Call-ID", req.call_id), ("CSeq", req.get("cseq"))]
        h += list(headers)
        h.append(("Content-Length", "0"))
        data = ("SIP/2.0 %d %s\r\n" % (status, reason) +
                "".join("%s: %s\r\n" % hv for hv in h) + "\r\n").encode()
        self._send(data, src)

    def challenge(self, req, src, status=401, alg="MD5", realm="provider.test",
                  nonce=None, qop=True, stale=False):
        nonce = nonce or "%016x" % int.from_bytes(os.urandom(8), "big")
        v = 'Digest realm="%s", nonce="%s", algorithm=%s' % (realm, nonce, alg)
        if qop:
            v += ', qop="auth"'
        if stale:
            v += ", stale=true"
        hdr = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
        self.reply(req, src, status, "Unauthorized" if status == 401 else
                   "Proxy Authentication Required", [(hdr, v)])
        return nonce

    def check_auth(self, req, user, password, nonce, alg="MD5", realm="provider.test",
                   header="authorization"):
        """The credentials of req must answer (realm, nonce, alg) for the
        Request-URI with this password."""
        v = req.get(header)
        assert v, "no %s in %s" % (header, req.start)
        scheme, params = kvsip.parse_auth_params(v)
        p = {n: val for n, val, _ in params}
        assert scheme == "Digest", v
        assert p["username"] == user and p["realm"] == realm and p["nonce"] == nonce, p
        assert p["uri"] == req.uri, (p["uri"], req.uri)
        assert p.get("algorithm", "MD5").upper() == alg.upper(), p
        qop = p.get("qop")
        want = kvsip.digest_response(alg, user, realm, password, req.method, p["uri"],
                                     nonce, p.get("nc"), p.get("cnonce"), qop)
        assert p["response"] == want, "wrong digest: %r" % v
        return p

    def ok(self, req, src, expires):
        """200 granting expires to the request's Contact."""
        contact = req.get("contact")
        self.reply(req, src, 200, "OK", [("Contact", "%s;expires=%d" % (contact, expires))])

    def invite(self, ruri, dst, from_user="+15551234567", body=b""):
        """Send an INVITE to dst (KubeVox) as a provider delivering a call;
        its final response (kvsip.Response), or None after 10 s.  1xx are
        skipped and the final response is ACKed."""
        branch = kvsip.new_branch()
        callid = "prov-%s@itsp.test" % kvsip.new_tag()
        via = "SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.addr[0], self.port, branch)
        frm = "<sip:%s@itsp.test>;tag=%s" % (from_user, kvsip.new_tag())
        to = "<%s>" % ruri.split(";")[0]
        h = [("Via", via), ("Max-Forwards", "70"), ("From", frm), ("To", to),
             ("Call-ID", callid), ("CSeq", "1 INVITE"),
             ("Contact", "<sip:%s@%s:%d>" % (from_user, self.addr[0], self.port)),
             ("Content-Type", "application/sdp"), ("Content-Length", str(len(body)))]
        data = ("INVITE %s SIP/2.0\r\n" % ruri +
                "".join("%s: %s\r\n" % hv for hv in h) + "\r\n").encode() + body
        self.sock.sendto(data, dst)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                raw, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                break
            m = kvsip.parse_message(raw)
            if not isinstance(m, kvsip.Response) or m.call_id != callid or m.status < 200:
                continue
            ack = [("Via", via), ("Max-Forwards", "70"), ("From", frm), ("To", m.get("to")),
                   ("Call-ID", callid), ("CSeq", "1 ACK"), ("Content-Length", "0")]
            self.sock.sendto(("ACK %s SIP/2.0\r\n" % ruri +
                              "".join("%s: %s\r\n" % hv for hv in ack) + "\r\n").encode(), dst)
            return m
        return None

    @staticmethod
    def expires(req):
        return int(req.get("expires"))


def contact_uri(req):
    m = re.match(r"\s*<([^>]*)>", req.get("contact") or "")
    return m.group(1) if m else None
