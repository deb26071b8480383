"""kvsip - a small SIP UAC for KubeVox protocol tests.

Builds requests byte by byte (so tests can send exactly what they mean,
malformed included), reads responses over UDP or TCP, and answers digest
challenges (MD5 and SHA-256, qop=auth).  Used as a module by test bodies and
as a command line tool by lib.sh.
"""
import argparse
import hashlib
import random
import re
import socket
import sys
import time

COMPACT = {"m": "contact", "v": "via", "f": "from", "t": "to",
           "i": "call-id", "l": "content-length", "k": "supported",
           "c": "content-type", "e": "content-encoding", "s": "subject"}


def hdr_key(name):
    n = name.strip().lower()
    return COMPACT.get(n, n)


def split_commas(value):
    """Split a header value on commas outside quotes and <...>."""
    out, cur, quoted, angle, esc = [], "", False, False, False
    for ch in value:
        if esc:
            cur += ch
            esc = False
            continue
        if ch == "\\" and quoted:
            esc = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        elif ch == "," and not quoted and not angle:
            out.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def parse_auth_params(value):
    """'Digest a="x",b=y' -> (scheme, [(name, value, quoted), ...])."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    params = []
    for item in split_commas(rest):
        name, eq, val = item.partition("=")
        if not eq:
            raise ValueError("bad auth param %r" % item)
        val = val.strip()
        quoted = val.startswith('"')
        if quoted:
            if len(val) < 2 or not val.endswith('"'):
                raise ValueError("unterminated quoted value %r" % item)
            val = val[1:-1]
        params.append((name.strip().lower(), val, quoted))
    return scheme, params


class Response:
    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", self.start)
        if not m:
            raise ValueError("not a SIP response: %r" % self.start)
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, val = self.headers[-1]
                self.headers[-1] = (name, val + " " + line.strip())
                continue
            name, colon, val = line.partition(":")
            if not colon:
                raise ValueError("bad header line %r" % line)
            self.headers.append((name.strip(), val.strip()))

    def names(self):
        return [hdr_key(n) for n, _ in self.headers]

    def get(self, name):
        for n, v in self.headers:
            if hdr_key(n) == hdr_key(name):
                return v
        return None

    def get_all(self, name):
        return [v for n, v in self.headers if hdr_key(n) == hdr_key(name)]

    def values(self, name):
        out = []
        for v in self.get_all(name):
            out.extend(split_commas(v))
        return out

    def contacts(self):
        """[(uri, expires or None)] from the Contact headers."""
        out = []
        for v in self.values("contact"):
            m = re.match(r"\s*(?:\"[^\"]*\"\s*)?<([^>]*)>(.*)$", v)
            if m:
                uri, params = m.group(1), m.group(2)
            else:
                uri, _, params = v.partition(";")
                params = ";" + params
            e = re.search(r";\s*expires\s*=\s*(\d+)", params, re.I)
            out.append((uri.strip(), int(e.group(1)) if e else None))
        return out

    def challenges(self):
        """[(params dict, ordered param list)] for each WWW-Authenticate."""
        out = []
        for v in self.get_all("www-authenticate"):
            scheme, params = parse_auth_params(v)
            if scheme.lower() != "digest":
                raise ValueError("not a Digest challenge: %r" % v)
            out.append(({n: val for n, val, _ in params}, params))
        return out


def digest_response(alg, user, realm, password, method, uri, nonce, nc,
                    cnonce, qop):
    h = hashlib.sha256 if alg.upper() == "SHA-256" else hashlib.md5

    def hx(s):
        return h(s.encode()).hexdigest()

    ha1 = hx("%s:%s:%s" % (user, realm, password))
    ha2 = hx("%s:%s" % (method, uri))
    if qop:
        return hx("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))
    return hx("%s:%s:%s" % (ha1, nonce, ha2))


def authorization(chal, user, password, method, uri, nc=1, cnonce=None):
    alg = chal.get("algorithm", "MD5")
    nc_s = "%08x" % nc
    cnonce = cnonce or "%016x" % random.getrandbits(64)
    qop = "auth" if "qop" in chal else None
    resp = digest_response(alg, user, chal["realm"], password, method, uri,
                           chal["nonce"], nc_s, cnonce, qop)
    v = 'Digest username="%s",realm="%s",nonce="%s",uri="%s",response="%s",' \
        'algorithm=%s' % (user, chal["realm"], chal["nonce"], uri, resp, alg)
    if "opaque" in chal:
        v += ',opaque="%s"' % chal["opaque"]
    if qop:
        v += ',qop=auth,nc=%s,cnonce="%s"' % (nc_s, cnonce)
    return v


class Client:
    def __init__(self, port, host="127.0.0.1", local="127.0.0.1", tcp=False):
        self.server = (host, port)
        self.tcp = tcp
        self.local = local
        if tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind((local, 0))
            self.sock.settimeout(5)
            self.sock.connect(self.server)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local, 0))
        self.lport = self.sock.getsockname()[1]
        self.rbuf = b""
        self.tag = "%08x" % random.getrandbits(32)

    def close(self):
        self.sock.close()

    @property
    def ruri(self):
        return "sip:%s:%d" % self.server

    def new_branch(self):
        return "z9hG4bK-kvsip-%016x" % random.getrandbits(64)

    def build(self, method, user="1001", to_user=None, ruri=None,
              call_id=None, cseq=1, branch=None, contact=None, expires=None,
              headers=(), body=b"", omit=(), cseq_method=None):
        """A request as bytes.  omit drops default headers by name; headers
        are added after the defaults, before Content-Length."""
        to_user = to_user or user
        proto = "TCP" if self.tcp else "UDP"
        h = [
            ("Via", "SIP/2.0/%s %s:%d;branch=%s;rport" %
             (proto, self.local, self.lport, branch or self.new_branch())),
            ("Max-Forwards", "70"),
            ("From", "<sip:%s@%s>;tag=%s" % (user, self.server[0], self.tag)),
            ("To", "<sip:%s@%s>" % (to_user, self.server[0])),
            ("Call-ID", call_id or "kvsip-%016x" % random.getrandbits(64)),
            ("CSeq", "%d %s" % (cseq, cseq_method or method)),
        ]
        if contact is not None:
            h.append(("Contact", contact))
        if expires is not None:
            h.append(("Expires", str(expires)))
        h.append(("Content-Length", str(len(body))))
        drop = [o.lower() for o in omit]
        h = [(n, v) for n, v in h if n.lower() not in drop]
        h[-1:-1] = list(headers)
        start = "%s %s SIP/2.0\r\n" % (method, ruri or self.ruri)
        return (start + "".join("%s: %s\r\n" % hv for hv in h) +
                "\r\n").encode() + body

    def send(self, data):
        if self.tcp:
            self.sock.sendall(data)
        else:
            self.sock.sendto(data, self.server)

    def recv(self, timeout=5.0):
        """Next response (raw bytes), or None on timeout."""
        deadline = time.monotonic() + timeout
        if not self.tcp:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.sock.settimeout(left)
                try:
                    data, _ = self.sock.recvfrom(65535)
                except socket.timeout:
                    return None
                return data
        while True:
            end = self.rbuf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)",
                              self.rbuf[:end + 2], re.I)
                total = end + 4 + (int(m.group(1)) if m else 0)
                if len(self.rbuf) >= total:
                    data, self.rbuf = self.rbuf[:total], self.rbuf[total:]
                    return data
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65535)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.rbuf += chunk

    def transact(self, data, timeout=5.0):
        """Send a request, return its final Response or None."""
        self.send(data)
        deadline = time.monotonic() + timeout
        while True:
            raw = self.recv(max(0.0, deadline - time.monotonic()))
            if raw is None:
                return None
            r = Response(raw)
            if r.status >= 200:
                return r

    def register(self, user, password, aor=None, contact=None, expires=None,
                 call_id=None, cseq=1, headers=(), alg="MD5"):
        """REGISTER, answering one challenge: (first, final) Responses."""
        call_id = call_id or "kvsip-%016x" % random.getrandbits(64)
        args = dict(user=user, to_user=aor, call_id=call_id, contact=contact,
                    expires=expires)
        first = self.transact(self.build("REGISTER", cseq=cseq,
                                         headers=headers, **args))
        if first is None or first.status != 401:
            return first, first
        chal = pick_challenge(first, alg)
        if chal is None:
            return first, None
        auth = authorization(chal, user, password, "REGISTER", self.ruri)
        final = self.transact(self.build(
            "REGISTER", cseq=cseq + 1,
            headers=list(headers) + [("Authorization", auth)], **args))
        return first, final


def pick_challenge(resp, alg):
    for chal, _ in resp.challenges():
        if chal.get("algorithm", "MD5").upper() == alg.upper():
            return chal
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--local", default="127.0.0.1")
    ap.add_argument("--tcp", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    q = sub.add_parser("query", help="list bindings: status, then URI EXPIRES")
    q.add_argument("user")
    q.add_argument("password", nargs="?")
    r = sub.add_parser("register", help="register; prints the final status")
    r.add_argument("user")
    r.add_argument("password", nargs="?")
    r.add_argument("--aor")
    r.add_argument("--contact")
    r.add_argument("--expires", type=int, help="Expires header")
    r.add_argument("--call-id")
    r.add_argument("--cseq", type=int, default=1)
    a = ap.parse_args()

    c = Client(a.port, local=a.local, tcp=a.tcp)
    password = a.password or "secret" + a.user
    if a.cmd == "query":
        _, final = c.register(a.user, password)
        if final is None:
            sys.exit("query %s: no final response" % a.user)
        print(final.status)
        for uri, exp in final.contacts():
            print(uri, exp)
        sys.exit(0 if final.status == 200 else 1)
    contact = a.contact
    if contact is None:
        contact = "<sip:%s@%s:%d>" % (a.user, a.local, c.lport)
    _, final = c.register(a.user, password, aor=a.aor, contact=contact,
                          expires=a.expires, call_id=a.call_id, cseq=a.cseq)
    if final is None:
        sys.exit("register %s: no final response" % a.user)
    print(final.status)
    for uri, exp in final.contacts():
        print(uri, exp)
    sys.exit(0 if 200 <= final.status < 300 else 1)


if __name__ == "__main__":
    main()
