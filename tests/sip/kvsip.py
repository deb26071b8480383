"""kvsip - a small SIP UAC for KubeVox protocol tests.

Builds requests byte by byte (so tests can send exactly what they mean,
malformed included), reads responses over UDP or TCP, and answers digest
challenges (MD5 and SHA-256, qop=auth).  For call tests it also has phones
that place and answer calls (Phone, OutCall, InCall), SDP offers and their
parsing, RTP sockets, and checks of relayed streams, prompts (G.711) and
RFC 4733 events.  Used as a module by test bodies and as a command line
tool by lib.sh.
"""
import argparse
import hashlib
import math
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import time
import wave

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


class SipMessage:
    """Start line, headers in order (folded lines joined) and body of one
    request or response."""

    def __init__(self, raw):
        self.raw = raw
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("utf-8", "replace").split("\r\n")
        self.start = lines[0]
        self.parse_start()
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

    def parse_start(self):
        raise NotImplementedError

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

    # Dialog and transaction identifiers.
    @property
    def call_id(self):
        return self.get("call-id")

    @property
    def cseq(self):
        """(number, METHOD); (None, None) when absent or unreadable."""
        parts = (self.get("cseq") or "").split()
        if len(parts) != 2 or not parts[0].isdigit():
            return None, None
        return int(parts[0]), parts[1].upper()

    @property
    def from_tag(self):
        return header_tag(self.get("from"))

    @property
    def to_tag(self):
        return header_tag(self.get("to"))

    @property
    def branch(self):
        """Branch of the topmost Via, or None."""
        via = self.values("via")
        m = re.search(r";\s*branch\s*=\s*([^;,\s]+)", via[0]) if via else None
        return m.group(1) if m else None

    def sdp(self):
        """The body as an Sdp, or None without one."""
        return Sdp(self.body) if self.body.strip() else None


class Response(SipMessage):
    def parse_start(self):
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)$", self.start)
        if not m:
            raise ValueError("not a SIP response: %r" % self.start)
        self.status = int(m.group(1))
        self.reason = m.group(2)

    def challenges(self, header="www-authenticate"):
        """[(params dict, ordered param list)] for each challenge."""
        out = []
        for v in self.get_all(header):
            scheme, params = parse_auth_params(v)
            if scheme.lower() != "digest":
                raise ValueError("not a Digest challenge: %r" % v)
            out.append(({n: val for n, val, _ in params}, params))
        return out


class Request(SipMessage):
    def parse_start(self):
        m = re.match(r"([A-Za-z]+) (\S+) SIP/2\.0$", self.start)
        if not m:
            raise ValueError("not a SIP request: %r" % self.start)
        self.method = m.group(1).upper()
        self.uri = m.group(2)

    def key(self):
        """What makes a retransmission the same request."""
        return ("req", self.call_id, self.branch, self.method, self.cseq)


def parse_message(raw):
    """A Request or a Response; ValueError when it is neither."""
    if raw.startswith(b"SIP/2.0 "):
        return Response(raw)
    return Request(raw)


def header_tag(value):
    """The tag parameter of a From/To value (outside <...>), or None."""
    if value is None:
        return None
    rest = value.rsplit(">", 1)[1] if "<" in value else value
    m = re.search(r";\s*tag\s*=\s*([^;\s]+)", rest)
    return m.group(1) if m else None


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
    def __init__(self, port, host="127.0.0.1", local="127.0.0.1", tcp=False,
                 lport=0):
        self.server = (host, port)
        self.tcp = tcp
        self.local = local
        if tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind((local, lport))
            self.sock.settimeout(5)
            self.sock.connect(self.server)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local, lport))
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


def pick_challenge(resp, alg, header="www-authenticate"):
    for chal, _ in resp.challenges(header):
        if chal.get("algorithm", "MD5").upper() == alg.upper():
            return chal
    return None


# --- calls: SDP, RTP and a phone that places and answers calls -------------
#
# A test plays every party of a call through KubeVox from one thread: each
# Phone keeps what it receives until the test asks for it, so the order in
# which the test handles the caller's and the callee's side does not matter.


def new_tag():
    return "%08x" % random.getrandbits(32)


def new_branch():
    return "z9hG4bK-kvsip-%016x" % random.getrandbits(64)


AUDIO = ((0, "PCMU/8000"), (8, "PCMA/8000"), (101, "telephone-event/8000"))


def sdp_offer(port, codecs=AUDIO, direction="sendrecv", version=1,
              session=None, addr="127.0.0.1"):
    """An audio SDP body (bytes) on addr:port."""
    session = session or random.randint(1, 2**31)
    lines = ["v=0",
             "o=- %d %d IN IP4 %s" % (session, version, addr),
             "s=kvsip",
             "c=IN IP4 %s" % addr,
             "t=0 0",
             "m=audio %d RTP/AVP %s" % (port, " ".join(str(pt) for pt, _ in codecs))]
    for pt, name in codecs:
        lines.append("a=rtpmap:%d %s" % (pt, name))
        if name.lower().startswith("telephone-event/"):
            lines.append("a=fmtp:%d 0-16" % pt)
    lines += ["a=ptime:20", "a=" + direction]
    return ("\r\n".join(lines) + "\r\n").encode()


class Sdp:
    """The parts of an SDP body a call test looks at: origin version, the
    connection address, the first audio stream (port, payload types,
    rtpmap) and its direction."""

    DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

    def __init__(self, body):
        text = body.decode("utf-8", "replace")
        self.lines = [l.strip() for l in text.splitlines() if l.strip()]
        self.version = None
        self.addr = None
        self.port = None
        self.proto = None
        self.pts = []
        self.rtpmap = {}
        self.direction = "sendrecv"
        session_dir = None
        media_dir = None
        media_addr = None
        in_audio = seen_audio = False
        for line in self.lines:
            kind, eq, val = line.partition("=")
            if not eq or len(kind) != 1:
                raise ValueError("bad SDP line %r" % line)
            if kind == "o":
                f = val.split()
                if len(f) != 6:
                    raise ValueError("bad o= line %r" % line)
                self.version = int(f[2])
            elif kind == "m":
                in_audio = val.startswith("audio ") and not seen_audio
                if in_audio:
                    seen_audio = True
                    f = val.split()
                    if len(f) < 4:
                        raise ValueError("bad m= line %r" % line)
                    self.port = int(f[1])
                    self.proto = f[2]
                    self.pts = [int(pt) for pt in f[3:]]
            elif kind == "c":
                f = val.split()
                if len(f) != 3 or f[0] != "IN":
                    raise ValueError("bad c= line %r" % line)
                if in_audio:
                    media_addr = f[2]
                elif not seen_audio:
                    self.addr = f[2]
            elif kind == "a":
                if val in self.DIRECTIONS:
                    if in_audio:
                        media_dir = val
                    elif not seen_audio:
                        session_dir = val
                elif val.startswith("rtpmap:") and in_audio:
                    pt, _, name = val[7:].partition(" ")
                    self.rtpmap[int(pt)] = name.strip()
        if self.port is None:
            raise ValueError("SDP without an audio stream: %r" % text)
        self.addr = media_addr or self.addr
        self.direction = media_dir or session_dir or "sendrecv"

    @property
    def media(self):
        """(address, port) where this side wants its RTP."""
        return (self.addr, self.port)

    def pt_of(self, name):
        """Payload type of an encoding ("PCMU", "telephone-event"), or None.
        Static types without rtpmap count (0 PCMU, 8 PCMA)."""
        name = name.lower()
        for pt in self.pts:
            enc = self.rtpmap.get(pt, {0: "PCMU/8000", 8: "PCMA/8000"}.get(pt, ""))
            if enc.lower().split("/")[0] == name:
                return pt
        return None


class RtpPacket:
    def __init__(self, data):
        if len(data) < 12:
            raise ValueError("RTP packet of %d bytes" % len(data))
        b0, b1, self.seq, self.ts, self.ssrc = struct.unpack("!BBHII", data[:12])
        if b0 >> 6 != 2:
            raise ValueError("RTP version %d" % (b0 >> 6))
        self.marker = bool(b1 & 0x80)
        self.pt = b1 & 0x7f
        off = 12 + 4 * (b0 & 0x0f)
        if b0 & 0x10:
            if len(data) < off + 4:
                raise ValueError("truncated RTP extension")
            off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
        end = len(data)
        if b0 & 0x20:
            end -= data[-1]
        if off > end:
            raise ValueError("RTP header beyond the packet")
        self.payload = data[off:end]


def rtp_build(pt, seq, ts, ssrc, payload, marker=False):
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt,
                       seq & 0xffff, ts & 0xffffffff, ssrc) + payload


class Rtp:
    """One RTP socket on an even port: sends with its own sequence number,
    timestamp and SSRC, and keeps every packet it receives with its
    source address in got (RTCP in rtcp, undecodable ones in bad)."""

    def __init__(self, local="127.0.0.1"):
        for _ in range(100):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((local, 0))
            if s.getsockname()[1] % 2 == 0:
                break
            s.close()
        else:
            raise OSError("no even UDP port")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock = s
        self.addr = s.getsockname()
        self.port = self.addr[1]
        self.got = []
        self.bad = []
        self.rtcp = []
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.ssrc = random.getrandbits(32)

    def close(self):
        self.sock.close()

    def send(self, dest, payload, pt=0, marker=False, ts_step=160):
        self.sock.sendto(rtp_build(pt, self.seq, self.ts, self.ssrc, payload,
                                   marker), dest)
        self.seq = (self.seq + 1) & 0xffff
        self.ts = (self.ts + ts_step) & 0xffffffff

    def read_ready(self):
        """File every datagram already queued on the socket."""
        while True:
            try:
                data, src = self.sock.recvfrom(65535, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            # RTCP (payload types 200-206) may share the port (RFC 5761).
            if len(data) >= 2 and 200 <= data[1] <= 206:
                self.rtcp.append((data, src))
                continue
            try:
                self.got.append((RtpPacket(data), src))
            except ValueError:
                self.bad.append((data, src))

    def wait(self, pred, timeout):
        """Read until pred(self.got) is true or timeout; pred's result."""
        deadline = time.monotonic() + timeout
        while True:
            self.read_ready()
            if pred(self.got):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self.sock], [], [], min(left, 0.05))

    def quiet(self, gap=0.3, timeout=10.0):
        """Read until nothing has arrived for gap seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = len(self.got)
            r, _, _ = select.select([self.sock], [], [], gap)
            if not r:
                return
            self.read_ready()
            if len(self.got) == n:
                return

    def take(self):
        got, self.got = self.got, []
        return got


def tagged(tag, i, size=160):
    """A recognisable payload: tag and index, padded to size bytes."""
    head = ("%s:%04d:" % (tag, i)).encode()
    return head + bytes((i * 7 + k) & 0xff for k in range(size - len(head)))


def send_stream(rtp, dest, tag, n, pt=0, pace=0.02):
    """n tagged packets, paced as a phone would send them."""
    for i in range(n):
        rtp.send(dest, tagged(tag, i), pt=pt)
        time.sleep(pace)


def expect_stream(rtp, tag, n, pt, source, timeout=5.0):
    """The n packets of send_stream(tag) arrive at rtp, in order, with
    payload type pt, from source (KubeVox's side of the leg)."""
    prefix = ("%s:" % tag).encode()

    def mine(got):
        return [(p, a) for p, a in got if p.payload.startswith(prefix)]

    rtp.wait(lambda got: len(mine(got)) >= n, timeout)
    got = mine(rtp.got)
    want = [tagged(tag, i) for i in range(n)]
    have = [p.payload for p, _ in got]
    assert have == want, "%s: %d of %d packets, first ones %r" % (
        tag, len(have), n, [h[:12] for h in have[:5]])
    pts = set(p.pt for p, _ in got)
    assert pts == {pt}, "%s: payload types %r, expected %d" % (tag, pts, pt)
    srcs = set(a for _, a in got)
    assert srcs == {tuple(source)}, "%s: sent from %r, KubeVox's SDP says %r" % (
        tag, srcs, source)
    return [p for p, _ in got]


class Phone(Client):
    """A UDP phone for call tests: it registers, places (OutCall) and
    answers (InCall) calls.  Retransmissions are absorbed here, as a
    transaction layer would: a repeated request gets the response it had, a
    repeated 2xx to an INVITE gets its ACK again, duplicates are dropped.
    RTP sockets in media are read whenever the phone waits for SIP."""

    def __init__(self, port, user, password=None, lport=0, host="127.0.0.1"):
        super().__init__(port, host=host, lport=lport)
        self.user = user
        self.password = "secret" + user if password is None else password
        self.inbox = []
        self.seen = set()
        self.answers = {}
        self.acks = {}
        self.media = []

    @property
    def uri(self):
        return "sip:%s@%s:%d" % (self.user, self.local, self.lport)

    def sign_in(self, expires=60):
        """REGISTER this phone's address for its user; asserts 200."""
        _, final = self.register(self.user, self.password,
                                 contact="<%s>" % self.uri, expires=expires)
        assert final is not None and final.status == 200, \
            "REGISTER %s: %s" % (self.user, final and final.start)

    def file(self, data):
        try:
            msg = parse_message(data)
        except ValueError:
            return
        if isinstance(msg, Request):
            key = msg.key()
            if key in self.answers:
                self.send(self.answers[key])
                return
        else:
            num, method = msg.cseq
            ack = self.acks.get((msg.call_id, num))
            if method == "INVITE" and 200 <= msg.status < 300 and ack:
                self.send(ack)
                return
            key = ("resp", msg.call_id, msg.branch, msg.cseq, msg.status,
                   msg.to_tag)
        if key in self.seen:
            return
        self.seen.add(key)
        self.inbox.append(msg)

    def pump(self, timeout):
        """Wait up to timeout for one SIP datagram, reading RTP meanwhile.
        False when none came."""
        deadline = time.monotonic() + timeout
        while True:
            socks = [self.sock] + [m.sock for m in self.media]
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select(socks, [], [], left)
            for m in self.media:
                if m.sock in ready:
                    m.read_ready()
            if self.sock in ready:
                data, _ = self.sock.recvfrom(65535)
                self.file(data)
                return True
            if time.monotonic() >= deadline:
                return False

    def wait(self, match, timeout=5.0):
        """The first message (received or still to come) for which
        match(msg) is true, or None after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.inbox):
                if match(m):
                    return self.inbox.pop(i)
            left = deadline - time.monotonic()
            if left <= 0 or not self.pump(left):
                for i, m in enumerate(self.inbox):
                    if match(m):
                        return self.inbox.pop(i)
                return None

    def expect(self, match, what, timeout=5.0):
        m = self.wait(match, timeout)
        assert m is not None, "%s (phone %s): nothing within %gs; unread: %r" % (
            what, self.user, timeout, [x.start for x in self.inbox])
        return m

    def idle(self, seconds):
        """Let seconds pass while answering retransmissions."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.pump(deadline - time.monotonic())

    def expect_invite(self, timeout=5.0):
        req = self.expect(lambda m: isinstance(m, Request) and
                          m.method == "INVITE" and m.to_tag is None,
                          "INVITE for %s" % self.user, timeout)
        return InCall(self, req)

    def expect_nothing(self, match, what, timeout=1.0):
        m = self.wait(match, timeout)
        assert m is None, "%s (phone %s): got %s" % (what, self.user, m.start)

    def build_request(self, method, ruri, from_hdr, to_hdr, call_id, cseq,
                      branch=None, route=(), headers=(), body=b"",
                      contact=False, cseq_method=None):
        h = [("Via", "SIP/2.0/UDP %s:%d;branch=%s;rport" %
              (self.local, self.lport, branch or new_branch())),
             ("Max-Forwards", "70")]
        h += [("Route", r) for r in route]
        h += [("From", from_hdr), ("To", to_hdr), ("Call-ID", call_id),
              ("CSeq", "%d %s" % (cseq, cseq_method or method))]
        if contact:
            h.append(("Contact", "<%s>" % self.uri))
        h += list(headers)
        if body:
            h.append(("Content-Type", "application/sdp"))
        h.append(("Content-Length", str(len(body))))
        return ("%s %s SIP/2.0\r\n" % (method, ruri) +
                "".join("%s: %s\r\n" % hv for hv in h) + "\r\n").encode() + body

    def respond(self, req, status, reason=None, to_tag=None, body=b"",
                headers=()):
        """Answer req; a retransmission of req gets the same answer."""
        to = req.get("to")
        if to_tag and status > 100 and header_tag(to) is None:
            to += ";tag=" + to_tag
        h = [("Via", v) for v in req.get_all("via")]
        if req.method == "INVITE" and status < 300:
            h += [("Record-Route", v) for v in req.get_all("record-route")]
        h += [("From", req.get("from")), ("To", to),
              ("Call-ID", req.call_id), ("CSeq", req.get("cseq"))]
        if req.method == "INVITE" and 100 < status < 300:
            h.append(("Contact", "<%s>" % self.uri))
        h += list(headers)
        if body:
            h.append(("Content-Type", "application/sdp"))
        h.append(("Content-Length", str(len(body))))
        data = ("SIP/2.0 %d %s\r\n" % (status, reason or REASONS.get(status, "Status")) +
                "".join("%s: %s\r\n" % hv for hv in h) + "\r\n").encode() + body
        self.answers[req.key()] = data
        self.send(data)
        return data


REASONS = {100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK",
           400: "Bad Request", 404: "Not Found", 480: "Temporarily Unavailable",
           481: "Call/Transaction Does Not Exist", 486: "Busy Here",
           487: "Request Terminated", 488: "Not Acceptable Here",
           500: "Server Internal Error", 503: "Service Unavailable",
           603: "Decline"}


def first_uri(value):
    """The URI of a name-addr or addr-spec header value."""
    m = re.search(r"<([^>]*)>", value)
    return m.group(1) if m else value.split(";")[0].strip()


class Dialog:
    """What both ends share: the in-dialog request builder and the wait for
    a response to one of this call's requests."""

    def in_dialog(self, method, body=b"", headers=(), cseq=None):
        """Send a request in the dialog; its CSeq number."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        data = self.phone.build_request(
            method, self.target, self.local_hdr, self.remote_hdr, self.call_id,
            cseq, route=self.route, headers=headers, body=body,
            contact=(method == "INVITE"))
        self.phone.send(data)
        return cseq

    def is_mine(self, m):
        return m.call_id == self.call_id

    def expect_response(self, cseq, method, what, final=True, timeout=5.0):
        return self.phone.expect(
            lambda m: isinstance(m, Response) and self.is_mine(m) and
            m.cseq == (cseq, method) and (m.status >= 200 or not final),
            what, timeout)

    def expect_request(self, method, what=None, timeout=5.0):
        return self.phone.expect(
            lambda m: isinstance(m, Request) and self.is_mine(m) and
            m.method == method,
            what or "%s on %s" % (method, self.call_id), timeout)

    def send_ack(self, cseq):
        """ACK of the 2xx to INVITE cseq; kept for its retransmissions."""
        data = self.phone.build_request(
            "ACK", self.target, self.local_hdr, self.remote_hdr, self.call_id,
            cseq, route=self.route)
        self.phone.acks[(self.call_id, cseq)] = data
        self.phone.send(data)

    def answer_reinvite(self, body, what="re-INVITE from KubeVox", timeout=5.0):
        """Take a re-INVITE and answer 200 with body; the re-INVITE.  Its
        ACK is left to expect_ack(), since KubeVox may wait for the other
        leg's ACK before sending it."""
        req = self.expect_request("INVITE", what, timeout)
        self.phone.respond(req, 200, body=body)
        return req

    def expect_ack(self, timeout=5.0):
        return self.expect_request("ACK", "ACK from KubeVox", timeout)

    def bye(self, timeout=5.0):
        """Send BYE and return its final response."""
        cseq = self.in_dialog("BYE")
        return self.expect_response(cseq, "BYE", "answer to BYE", timeout=timeout)

    def answer_bye(self, timeout=5.0):
        """Wait for the BYE KubeVox sends and answer 200; the BYE."""
        req = self.expect_request("BYE", "BYE from KubeVox", timeout)
        self.phone.respond(req, 200)
        return req

    def refer(self, refer_to, headers=()):
        """Send a REFER (RFC 3515) with Refer-To refer_to; its CSeq."""
        return self.in_dialog("REFER", headers=[("Refer-To", refer_to)] + list(headers))

    def replaces(self):
        """This dialog as a Replaces value (RFC 3891), seen from KubeVox:
        to-tag is KubeVox's tag, from-tag this phone's."""
        return "%s;to-tag=%s;from-tag=%s" % (self.call_id, self.remote_tag, self.tag)

    def expect_refer_notify(self, what="NOTIFY of the transfer", timeout=10.0):
        """KubeVox's next NOTIFY of the refer subscription, answered 200:
        (the status of its message/sipfrag body, Subscription-State, the
        request)."""
        req = self.expect_request("NOTIFY", what, timeout)
        self.phone.respond(req, 200)
        event = (req.get("event") or "").split(";")[0].strip().lower()
        assert event == "refer", "%s: Event %r" % (what, req.get("event"))
        ctype = (req.get("content-type") or "").replace(" ", "").lower()
        assert ctype.startswith("message/sipfrag"), "%s: Content-Type %r" % (what, ctype)
        frag = req.body.decode("utf-8", "replace").split("\r\n")[0]
        m = re.match(r"SIP/2\.0 (\d{3}) ", frag)
        assert m, "%s: sipfrag %r" % (what, frag)
        return int(m.group(1)), req.get("subscription-state") or "", req


class OutCall(Dialog):
    """A call placed by a phone through KubeVox: the INVITE, its answers
    (a challenge is answered once with the phone's credentials, a non-2xx
    final answer is ACKed), then the dialog."""

    def __init__(self, phone, dest, sdp=None, from_user=None, headers=()):
        self.phone = phone
        self.call_id = "kvsip-call-%016x" % random.getrandbits(64)
        self.tag = new_tag()
        host = phone.server[0]
        self.local_hdr = "<sip:%s@%s>;tag=%s" % (from_user or phone.user, host, self.tag)
        self.to = "<sip:%s@%s>" % (dest, host)
        self.remote_hdr = self.to
        self.ruri = "sip:%s@%s:%d" % (dest, host, phone.server[1])
        self.target = self.ruri
        self.route = []
        self.headers = list(headers)
        self.offer = sdp or b""
        self.cseq = 0
        self.invite_cseq = None
        self.sent = {}
        self.with_credentials = set()
        self.challenges = []
        self.remote_tag = None
        self.answer = None

    def invite(self, body=None, auth=None):
        """Send an INVITE (the first or a re-INVITE); its CSeq number.  A
        challenge to the first one is answered before this returns."""
        self.cseq += 1
        cseq = self.cseq
        branch = new_branch()
        body = self.offer if body is None else body
        headers = list(self.headers)
        if auth:
            headers.append(auth)
            self.with_credentials.add(cseq)
        ruri = self.target if self.remote_tag else self.ruri
        data = self.phone.build_request(
            "INVITE", ruri, self.local_hdr, self.remote_hdr, self.call_id, cseq,
            branch=branch, route=self.route, headers=headers, body=body,
            contact=True)
        self.sent[cseq] = dict(branch=branch, ruri=ruri, body=body,
                               to=self.remote_hdr)
        self.invite_cseq = cseq
        self.phone.send(data)
        if auth or self.remote_tag or not self.phone.password:
            return cseq
        # The challenge is answered now: the test may wait on the callee's
        # side next, and the authenticated INVITE must be on its way by then.
        r = self.phone.wait(
            lambda m: isinstance(m, Response) and self.is_mine(m) and
            m.cseq == (cseq, "INVITE"), 5.0)
        if r is None:
            return cseq
        if r.status not in (401, 407):
            self.phone.inbox.insert(0, r)
            return cseq
        self.challenges.append(r)
        self.ack_failure(r)
        self.authenticate(r)
        return self.invite_cseq

    def ack_failure(self, resp):
        """ACK of a non-2xx final answer: same branch as the INVITE."""
        num = resp.cseq[0]
        inv = self.sent[num]
        data = self.phone.build_request(
            "ACK", inv["ruri"], self.local_hdr, resp.get("to"), self.call_id,
            num, branch=inv["branch"], route=self.route)
        self.phone.send(data)

    def authenticate(self, resp):
        header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
        chal = pick_challenge(resp, "MD5", header)
        assert chal is not None, "%d without an MD5 challenge" % resp.status
        inv = self.sent[resp.cseq[0]]
        name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
        value = authorization(chal, self.phone.user, self.phone.password,
                              "INVITE", inv["ruri"])
        self.invite(inv["body"], auth=(name, value))

    def next_response(self, timeout=5.0):
        """The next answer to the current INVITE, or None.  A first
        challenge is answered (and not returned); a challenge to an INVITE
        that carried credentials is returned."""
        while True:
            cseq = self.invite_cseq
            r = self.phone.wait(
                lambda m: isinstance(m, Response) and self.is_mine(m) and
                m.cseq == (cseq, "INVITE"), timeout)
            if r is None:
                return None
            if r.status >= 300:
                self.ack_failure(r)
            if r.status in (401, 407):
                self.challenges.append(r)
                if cseq not in self.with_credentials and self.phone.password:
                    self.authenticate(r)
                    continue
            if 200 <= r.status < 300:
                self.established(r)
            return r

    def established(self, r):
        self.remote_tag = r.to_tag
        self.remote_hdr = r.get("to")
        contacts = r.contacts()
        if contacts:
            self.target = contacts[0][0]
        self.route = list(reversed(r.values("record-route")))
        if r.body.strip():
            self.answer = r.sdp()

    def final(self, timeout=10.0):
        """(provisional answers, final answer) of the current INVITE; the
        final one is None on timeout."""
        prov = []
        deadline = time.monotonic() + timeout
        while True:
            r = self.next_response(max(0.0, deadline - time.monotonic()))
            if r is None or r.status >= 200:
                return prov, r
            prov.append(r)

    def expect_final(self, status, what, timeout=10.0):
        prov, r = self.final(timeout)
        assert r is not None, "%s: no final answer within %gs (got %r)" % (
            what, timeout, [p.start for p in prov])
        assert r.status == status, "%s: %s, expected %d" % (what, r.start, status)
        return prov, r

    def ack(self):
        self.send_ack(self.invite_cseq)

    def connect(self, what="call", timeout=10.0):
        """INVITE, answer 200, ACK; the provisional answers."""
        self.invite()
        prov, _ = self.expect_final(200, what, timeout)
        self.ack()
        return prov

    def cancel(self):
        """CANCEL the pending INVITE; its CSeq number."""
        inv = self.sent[self.invite_cseq]
        data = self.phone.build_request(
            "CANCEL", inv["ruri"], self.local_hdr, inv["to"], self.call_id,
            self.invite_cseq, branch=inv["branch"], route=self.route)
        self.phone.send(data)
        return self.invite_cseq

    def reinvite(self, body, what="re-INVITE", timeout=10.0):
        """A re-INVITE answered 200 and ACKed; the 200."""
        self.invite(body)
        _, r = self.expect_final(200, what, timeout)
        self.ack()
        return r


class InCall(Dialog):
    """A call KubeVox places to a phone, from the INVITE it sent."""

    def __init__(self, phone, invite):
        self.phone = phone
        self.invite = invite
        self.call_id = invite.call_id
        self.tag = new_tag()
        self.remote_tag = invite.from_tag
        self.remote_hdr = invite.get("from")
        self.local_hdr = invite.get("to") + ";tag=" + self.tag
        contacts = invite.contacts()
        self.target = contacts[0][0] if contacts else first_uri(invite.get("from"))
        self.route = invite.values("record-route")
        self.cseq = random.randint(1, 1000)
        self.offer = invite.sdp()

    def respond(self, status, body=b"", req=None, reason=None):
        return self.phone.respond(req or self.invite, status, reason,
                                  to_tag=self.tag, body=body)

    def ring(self):
        self.respond(180)

    def answer(self, body):
        self.respond(200, body)

    def expect_cancel(self, timeout=15.0, ack=True):
        """CANCEL of the INVITE: answered 200, then 487 to the INVITE, whose
        ACK is awaited unless ack is false.  The CANCEL."""
        req = self.expect_request("CANCEL", "CANCEL from KubeVox", timeout)
        assert req.cseq[0] == self.invite.cseq[0], \
            "CANCEL CSeq %r, INVITE %r" % (req.cseq, self.invite.cseq)
        assert req.branch == self.invite.branch, \
            "CANCEL branch %s, INVITE %s" % (req.branch, self.invite.branch)
        self.phone.respond(req, 200, to_tag=self.tag)
        self.respond(487)
        if ack:
            self.expect_ack()
        return req

    def reinvite(self, body, what="re-INVITE", timeout=10.0):
        """A re-INVITE from this side, answered 200 and ACKed; the 200."""
        cseq = self.in_dialog("INVITE", body)
        r = self.expect_response(cseq, "INVITE", what, timeout=timeout)
        assert r.status == 200, "%s: %s" % (what, r.start)
        self.send_ack(cseq)
        return r


def kv_port():
    """The daemon's SIP port (lib.sh exports it)."""
    return int(os.environ["KV_PORT"])


def assert_kubevox_media(sdp, what):
    """KubeVox's SDP: media on 127.0.0.1 (the transport's address in the
    tests) at a port of rtp.conf's range."""
    assert sdp is not None, "%s: no SDP" % what
    lo = int(os.environ.get("KV_RTP_START", "0"))
    hi = int(os.environ.get("KV_RTP_END", "65535"))
    assert sdp.addr == "127.0.0.1", "%s: c= %s, expected 127.0.0.1" % (what, sdp.addr)
    assert lo <= sdp.port <= hi, "%s: m=audio %d, outside rtp.conf's %d-%d" % (
        what, sdp.port, lo, hi)
    assert sdp.proto == "RTP/AVP", "%s: %s" % (what, sdp.proto)


# --- G.711 and prompts ---------------------------------------------------

def ulaw_sample(u):
    u = ~u & 0xff
    t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def alaw_sample(a):
    a ^= 0x55
    t = (a & 0x0f) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


G711 = {0: [ulaw_sample(i) for i in range(256)],
        8: [alaw_sample(i) for i in range(256)]}


def wav_samples(path):
    """Samples of an 8 kHz mono 16-bit WAV file."""
    with wave.open(path) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2), \
            "%s is not 8 kHz mono 16-bit" % path
        data = w.readframes(w.getnframes())
    return list(struct.unpack("<%dh" % (len(data) // 2), data))


def correlation(a, b):
    n = min(len(a), len(b))
    if n == 0:
        return 0.0
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum((x - ma) * (y - mb) for x, y in zip(a, b))
    saa = sum((x - ma) ** 2 for x in a)
    sbb = sum((y - mb) ** 2 for y in b)
    return sab / math.sqrt(saa * sbb) if saa and sbb else 0.0


def check_prompt(packets, pt, wav_path, what):
    """packets (RtpPacket, in arrival order) carry wav_path encoded with
    G.711 payload type pt, 20 ms per packet: the prompt's duration in
    packets (+-2), one SSRC, sequence numbers +1 and timestamps +160 from
    packet to packet, and audio that matches the file.  Returns a summary."""
    samples = wav_samples(wav_path)
    want = len(samples) / 160.0
    n = len(packets)
    assert want - 2 <= n <= want + 2, "%s: %d packets, the prompt is %.1f" % (
        what, n, want)
    bad_pt = [p.pt for p in packets if p.pt != pt]
    assert not bad_pt, "%s: payload types %r, expected %d" % (what, set(bad_pt), pt)
    sizes = set(len(p.payload) for p in packets)
    assert sizes == {160}, "%s: payload sizes %r, expected 160" % (what, sizes)
    ssrcs = set(p.ssrc for p in packets)
    assert len(ssrcs) == 1, "%s: %d SSRCs" % (what, len(ssrcs))
    for a, b in zip(packets, packets[1:]):
        assert (b.seq - a.seq) & 0xffff == 1, "%s: sequence %d after %d" % (
            what, b.seq, a.seq)
        assert (b.ts - a.ts) & 0xffffffff == 160, "%s: timestamp %d after %d" % (
            what, b.ts, a.ts)
    table = G711[pt]
    got = [table[x] for p in packets for x in p.payload]
    # Whole packets of silence before the prompt would shift it; allow a few.
    best = max(correlation(got[lag:], samples) for lag in range(0, 161 * 3, 160))
    assert best >= 0.95, "%s: audio does not match %s (correlation %.3f)" % (
        what, wav_path, best)
    return "%d packets (prompt %.1f), PT %d, seq +1, ts +160, correlation %.3f" % (
        n, want, pt, best)


def prompt_plays(packets):
    """packets cut into plays: KubeVox marks the first packet of each."""
    out = []
    for p in packets:
        if p.marker or not out:
            out.append([])
        out[-1].append(p)
    return out


def check_prompt_start(packets, wav_path, what, pt=0):
    """packets are the start of wav_path, cut short by a key."""
    samples = wav_samples(wav_path)
    got = [G711[pt][x] for p in packets for x in p.payload]
    assert len(got) < len(samples) - 8000, "%s: %d samples of %s's %d: not cut short" % (
        what, len(got), wav_path, len(samples))
    best = max(correlation(got[lag:], samples) for lag in range(0, 161 * 3, 160))
    assert best >= 0.95, "%s: not the start of %s (%.3f)" % (what, wav_path, best)
    return "%s cut after %d of %d packets" % (os.path.basename(wav_path), len(packets),
                                              len(samples) // 160)


def check_music(packets, pt, wav_path, what):
    """packets (RtpPacket, in arrival order) are the start of music on
    hold whose first file is wav_path, in G.711 payload type pt: 160-byte
    payloads, one SSRC, sequence numbers +1 and timestamps +160, the first
    packet with the marker bit, and audio that matches the file's first
    len(packets) * 20 ms.  Returns a summary."""
    assert packets, "%s: no packet" % what
    bad_pt = [p.pt for p in packets if p.pt != pt]
    assert not bad_pt, "%s: payload types %r, expected %d" % (what, set(bad_pt), pt)
    sizes = set(len(p.payload) for p in packets)
    assert sizes == {160}, "%s: payload sizes %r, expected 160" % (what, sizes)
    ssrcs = set(p.ssrc for p in packets)
    assert len(ssrcs) == 1, "%s: %d SSRCs" % (what, len(ssrcs))
    assert packets[0].marker, "%s: the first packet has no marker bit" % what
    for a, b in zip(packets, packets[1:]):
        assert (b.seq - a.seq) & 0xffff == 1, "%s: sequence %d after %d" % (
            what, b.seq, a.seq)
        assert (b.ts - a.ts) & 0xffffffff == 160, "%s: timestamp %d after %d" % (
            what, b.ts, a.ts)
    samples = wav_samples(wav_path)[:len(packets) * 160]
    table = G711[pt]
    got = [table[x] for p in packets for x in p.payload]
    c = correlation(got, samples)
    assert c >= 0.95, "%s: audio does not match the start of %s (correlation %.3f)" % (
        what, wav_path, c)
    return "%d packets, PT %d, seq +1, ts +160, marker first, correlation %.3f with %s" % (
        len(packets), pt, c, os.path.basename(wav_path))


def music_from(rtp, source, n, other, timeout=5.0):
    """The first n packets rtp receives from source (KubeVox's side of the
    leg) that the relay did not bring from the Rtp other (the relay keeps
    a phone's SSRC, KubeVox's music has its own), waiting for them."""
    def mine(got):
        return [p for p, a in got if tuple(a) == tuple(source) and
                p.ssrc != other.ssrc]
    rtp.wait(lambda got: len(mine(got)) >= n, timeout)
    got = mine(rtp.got)
    assert len(got) >= n, "music: %d of %d packets from %r within %.0f s" % (
        len(got), n, source, timeout)
    return got[:n]


# --- transfers -------------------------------------------------------------

def place_call(pc, ra, pe, rb, codecs=AUDIO, user=None):
    """pc's phone calls pe's (as user, default pe's own) with RTP sockets
    ra and rb, answered and ACKed: (OutCall, InCall)."""
    user = user or pe.user
    out = OutCall(pc, user, sdp_offer(ra.port, codecs=codecs))
    out.invite()
    inc = pe.expect_invite(timeout=10)
    inc.answer(sdp_offer(rb.port, codecs=codecs))
    out.expect_final(200, "%s -> %s" % (pc.user, user))
    out.ack()
    inc.expect_ack()
    return out, inc


def talk_joined(x, x_dest, y, y_dest, tag, others=()):
    """x and y, joined by a transfer, talk: tagged RTP both ways, and none
    of it reaches the Rtp sockets in others (the transferor's).  Nothing
    tells the parties that stay when the relay has joined them (they were
    not signalled): probe until a packet passes first."""
    for _ in range(100):
        x.send(x_dest, b"probe")
        if y.wait(lambda got: any(p.payload == b"probe" for p, _ in got), 0.02):
            break
    for r in (x, y):
        r.quiet()
        r.take()
    for o in others:
        o.take()
    send_stream(x, x_dest, tag + "-there", 10)
    expect_stream(y, tag + "-there", 10, 0, y_dest)
    send_stream(y, y_dest, tag + "-back", 10)
    expect_stream(x, tag + "-back", 10, 0, x_dest)
    for o in others:
        stray = [p for p, _ in o.take() if p.payload.startswith(tag.encode())]
        assert not stray, "%s: %d packets reached the transferor" % (tag, len(stray))


def refer_replaces(d, target, host, replaces, want):
    """A REFER on dialog d to target@host with Replaces (the dialog's
    value, escaped here): 202, NOTIFY 100 (active), then the final NOTIFY
    with status want (terminated)."""
    import urllib.parse
    rep = urllib.parse.quote(replaces, safe="")
    cseq = d.refer("<sip:%s@%s?Replaces=%s>" % (target, host, rep))
    r = d.expect_response(cseq, "REFER", "REFER with Replaces")
    assert r.status == 202, r.start
    code, state, _ = d.expect_refer_notify("first NOTIFY")
    assert code == 100 and state.startswith("active"), (code, state)
    code, state, _ = d.expect_refer_notify("final NOTIFY")
    assert code == want and state.startswith("terminated"), (code, state)

# --- CDRs ----------------------------------------------------------------

CDR_COLUMNS = ("accountcode src dst dcontext clid channel dstchannel lastapp lastdata "
               "start answer end duration billsec disposition amaflags uniqueid "
               "peeraccount linkedid sequence").split()


def read_cdrs(path, n, timeout=5.0):
    """The records of Master.csv (cdr.conf newcdrcolumns=yes) as dicts once
    there are n of them; exactly n."""
    import csv
    deadline = time.monotonic() + timeout
    rows = []
    while time.monotonic() < deadline:
        try:
            rows = list(csv.reader(open(path, newline="")))
        except FileNotFoundError:
            rows = []
        if len(rows) >= n:
            break
        time.sleep(0.1)
    for row in rows:
        print(",".join(row))
    assert len(rows) == n, "%d records, expected %d" % (len(rows), n)
    return [dict(zip(CDR_COLUMNS, row)) for row in rows]


def check_cdr(rec, what, **want):
    """rec's fields are want's; a value ending in * is a prefix."""
    for k, v in want.items():
        got = rec[k]
        ok = got.startswith(v[:-1]) if v.endswith("*") else got == v
        assert ok, "%s %s: %r, expected %r in %r" % (what, k, got, v, rec)

# --- RFC 4733 telephone events ------------------------------------------

def dtmf_event(event, end, volume, duration):
    return struct.pack("!BBH", event, (0x80 if end else 0) | (volume & 0x3f),
                       duration)


def send_dtmf(rtp, dest, event, pt, pace=0.02):
    """One digit as a phone sends it: three updates of growing duration
    (the first one marked), then the end packet three times, all with the
    timestamp of the event's start.  The payloads sent."""
    sent = []
    ts = rtp.ts
    for i, (end, dur) in enumerate([(False, 160), (False, 320), (False, 480),
                                    (True, 640), (True, 640), (True, 640)]):
        payload = dtmf_event(event, end, 10, dur)
        rtp.ts = ts
        rtp.send(dest, payload, pt=pt, marker=(i == 0), ts_step=0)
        sent.append(payload)
        time.sleep(pace)
    rtp.ts = (ts + 640) & 0xffffffff
    return sent


def dtmf_events(packets, pt):
    """The digits that RFC 4733 packets (RtpPacket, payload type pt, in
    arrival order) carry, as a receiver reads them: one digit per event
    (its packets share a timestamp), reported at its first end packet.
    Each event's packets must grow in duration and its first be marked.
    A list of (digit, number of packets of the event)."""
    digits = "0123456789*#ABCD!"
    out, seen = [], {}
    for p in packets:
        if p.pt != pt:
            continue
        assert len(p.payload) >= 4, "telephone-event of %d bytes" % len(p.payload)
        code, flags, dur = struct.unpack("!BBH", p.payload[:4])
        key = (p.ssrc, p.ts)
        ev = seen.get(key)
        if ev is None:
            assert p.marker, "event %d at ts %d: first packet not marked" % (code, p.ts)
            ev = seen[key] = {"code": code, "dur": 0, "n": 0, "done": False}
            out.append(ev)
        assert ev["code"] == code, "event %d then %d at one timestamp" % (ev["code"], code)
        assert dur >= ev["dur"], "event %d: duration %d after %d" % (code, dur, ev["dur"])
        ev["dur"] = dur
        ev["n"] += 1
        if flags & 0x80:
            ev["done"] = True
    assert all(ev["done"] for ev in out), "an event without its end packet"
    return [(digits[ev["code"]], ev["n"]) for ev in out]


# --- the daemon itself: signals, log, configuration (drain, reload) ------
#
# lib.sh's kv_python_ops exports KVD_PID, KVD_LOG and KV_CONF.  Waits pump
# the phones given, so that retransmissions keep being answered and RTP
# read while the test waits on the daemon.


def kvd_signal(name):
    """Send SIG<name> ("TERM", "INT", "HUP") to the daemon."""
    os.kill(int(os.environ["KVD_PID"]), getattr(signal, "SIG" + name))


def kvd_log_lines(regex):
    """Lines of the daemon log matching regex."""
    with open(os.environ["KVD_LOG"], errors="replace") as f:
        return [l.rstrip("\n") for l in f if re.search(regex, l)]


def kvd_pass_time(seconds, phones=()):
    """Let seconds pass while the phones answer retransmissions."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if phones:
            for p in phones:
                p.idle(min(left, 0.05) / len(phones))
        else:
            time.sleep(min(left, 0.05))


def kvd_wait_log(regex, what, count=1, timeout=10.0, phones=()):
    """Wait until count lines of the daemon log match regex; the last one."""
    deadline = time.monotonic() + timeout
    while True:
        lines = kvd_log_lines(regex)
        if len(lines) >= count:
            return lines[count - 1]
        if time.monotonic() >= deadline:
            raise AssertionError("%s: %d of %d log lines matching /%s/ within %gs" % (
                what, len(lines), count, regex, timeout))
        kvd_pass_time(0.1, phones)


def conf_append(name, text):
    """Append text to a file of the config directory in one write, as an
    editor saving in place would."""
    data = text.encode()
    fd = os.open(os.path.join(os.environ["KV_CONF"], name), os.O_WRONLY | os.O_APPEND)
    try:
        assert os.write(fd, data) == len(data), "short write to %s" % name
    finally:
        os.close(fd)


def conf_replace(name, text):
    """Replace a file of the config directory as a whole: written beside
    it, then renamed over it, as editors save."""
    path = os.path.join(os.environ["KV_CONF"], name)
    tmp = os.path.join(os.environ["KV_CONF"], "." + name + ".new")
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def register_until(user, status, timeout, password=None, phones=()):
    """REGISTER user (a fresh client each time) until the final answer is
    status; the seconds it took.  Fails after timeout."""
    start = time.monotonic()
    password = "secret" + user if password is None else password
    last = None
    while True:
        c = Client(kv_port())
        try:
            _, final = c.register(user, password, expires=60)
        finally:
            c.close()
        last = final and final.start
        if final is not None and final.status == status:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError("REGISTER %s: %s after %gs, expected %d" % (
                user, last, timeout, status))
        kvd_pass_time(0.2, phones)


def options_status():
    """Status of an out-of-dialog OPTIONS to the daemon, or None."""
    c = Client(kv_port())
    try:
        r = c.transact(c.build("OPTIONS", to_user="kubevox"))
    finally:
        c.close()
    return r and r.status


def check_media(a, b, a_dest, b_dest, tag, n=10):
    """n packets each way between a and b through KubeVox: a sends to
    a_dest (KubeVox's address in a's SDP), b to b_dest."""
    send_stream(a, a_dest, tag + "-ab", n)
    expect_stream(b, tag + "-ab", n, 0, b_dest)
    send_stream(b, b_dest, tag + "-ba", n)
    expect_stream(a, tag + "-ba", n, 0, a_dest)


def hang_up(call, inc):
    """The caller's BYE, answered 200, and the callee's BYE from KubeVox."""
    r = call.bye()
    assert r.status == 200, "BYE: %s" % r.start
    inc.answer_bye()


def call_up(caller, callee, a, b):
    """caller calls callee's user through KubeVox, callee answers (PCMU),
    both ACKs seen: (OutCall, InCall)."""
    call = OutCall(caller, callee.user, sdp_offer(a.port))
    call.invite()
    inc = callee.expect_invite()
    inc.answer(sdp_offer(b.port, codecs=((0, "PCMU/8000"),)))
    call.expect_final(200, "call %s -> %s" % (caller.user, callee.user))
    call.ack()
    inc.expect_ack()
    return call, inc


# --- taps, TCP phones and in-dialog requests of a test's own making ------
#
# For the tests of late call features (test_call_tcp, test_call_no_ack,
# test_call_reinvite_glare, test_call_in_dialog_options): phones that keep
# every message as it came, duplicates included, a phone on a TCP
# connection, and requests whose branch the test needs to know.


class TapPhone(Phone):
    """A Phone that also keeps every SIP message it receives, duplicates
    included, in tap as (monotonic time, message): a test can count
    retransmissions the phone itself absorbs."""

    def __init__(self, port, user, password=None, lport=0, host="127.0.0.1"):
        super().__init__(port, user, password, lport, host=host)
        self.tap = []

    def file(self, data):
        try:
            self.tap.append((time.monotonic(), parse_message(data)))
        except ValueError:
            pass
        super().file(data)

    def tapped(self, match):
        """The (time, message) pairs of tap for which match(message)."""
        return [(t, m) for t, m in self.tap if match(m)]


class TcpClient(Client):
    """Client's constructor on a TCP connection: Phone's constructor gets
    here through super() when a class puts this after Phone."""

    def __init__(self, port, lport=0, host="127.0.0.1"):
        super().__init__(port, host=host, tcp=True, lport=lport)


class TcpPhone(TapPhone, TcpClient):
    """A phone on one TCP connection to KubeVox, as a phone behind NAT
    keeps it (RFC 3261 section 18, RFC 5626): it registers on it and
    expects calls and in-dialog requests to come back on it, since nothing
    listens at its address.  Messages are framed by Content-Length;
    CRLF keep-alives are skipped.  closed is set when KubeVox closes the
    connection."""

    def __init__(self, port, user, password=None, host="127.0.0.1"):
        super().__init__(port, user, password, host=host)
        self.closed = False

    @property
    def uri(self):
        return "sip:%s@%s:%d;transport=tcp" % (self.user, self.local, self.lport)

    def build_request(self, *args, **kwargs):
        data = super().build_request(*args, **kwargs)
        head = b"SIP/2.0\r\nVia: SIP/2.0/UDP "
        assert head in data, "no UDP Via to turn into TCP: %r" % data[:200]
        return data.replace(head, b"SIP/2.0\r\nVia: SIP/2.0/TCP ", 1)

    def next_frame(self):
        """One whole message out of rbuf, or None."""
        self.rbuf = self.rbuf.lstrip(b"\r\n")
        end = self.rbuf.find(b"\r\n\r\n")
        if end < 0:
            return None
        m = re.search(rb"\r\n(?:content-length|l)\s*:\s*(\d+)",
                      self.rbuf[:end + 2], re.I)
        total = end + 4 + (int(m.group(1)) if m else 0)
        if len(self.rbuf) < total:
            return None
        data, self.rbuf = self.rbuf[:total], self.rbuf[total:]
        return data

    def pump(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            data = self.next_frame()
            if data is not None:
                self.file(data)
                return True
            socks = [m.sock for m in self.media]
            if not self.closed:
                socks.append(self.sock)
            left = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select(socks, [], [], left)
            for m in self.media:
                if m.sock in ready:
                    m.read_ready()
            if self.sock in ready:
                chunk = self.sock.recv(65535)
                if not chunk:
                    self.closed = True
                self.rbuf += chunk
                continue
            if time.monotonic() >= deadline:
                return False


def dialog_invite(dlg, body):
    """A re-INVITE on dlg (an OutCall or an InCall) whose branch the test
    keeps, to ACK a non-2xx answer (RFC 3261 section 17.1.1.3): (CSeq
    number, branch)."""
    dlg.cseq += 1
    branch = new_branch()
    data = dlg.phone.build_request(
        "INVITE", dlg.target, dlg.local_hdr, dlg.remote_hdr, dlg.call_id,
        dlg.cseq, branch=branch, route=dlg.route, body=body, contact=True)
    dlg.phone.send(data)
    return dlg.cseq, branch


def dialog_ack_failure(dlg, resp, branch):
    """ACK of the non-2xx answer resp to dialog_invite's re-INVITE."""
    data = dlg.phone.build_request(
        "ACK", dlg.target, dlg.local_hdr, resp.get("to"), dlg.call_id,
        resp.cseq[0], branch=branch, route=dlg.route)
    dlg.phone.send(data)


def dialog_request(dlg, method, cseq, to_hdr=None, headers=(), body=b"",
                   ctype=None):
    """A request in dlg's dialog with the CSeq number and To the test
    chooses (a stale CSeq, a To tag of no dialog), and a body of any
    type; dlg's own CSeq is not moved.  The branch sent."""
    branch = new_branch()
    data = dlg.phone.build_request(
        method, dlg.target, dlg.local_hdr, to_hdr or dlg.remote_hdr,
        dlg.call_id, cseq, branch=branch, route=dlg.route, headers=headers)
    if body:
        head, _, _ = data.partition(b"Content-Length: 0\r\n\r\n")
        data = head + ("Content-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
            ctype, len(body))).encode() + body
    dlg.phone.send(data)
    return branch


def response_to(phone, call_id, cseq, method, what, timeout=5.0):
    """The final answer to (cseq, method) of call_id on phone."""
    return phone.expect(
        lambda m: isinstance(m, Response) and m.call_id == call_id and
        m.cseq == (cseq, method) and m.status >= 200, what, timeout)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--local", default="127.0.0.1")
    ap.add_argument("--tcp", action="store_true")
    ap.add_argument("--lport", type=int, default=0,
                    help="local port (a phone that SIPp will then take over)")
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

    c = Client(a.port, local=a.local, tcp=a.tcp, lport=a.lport)
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


# --- cluster (issue #9): replicas on 127.0.0.2, 127.0.0.3, ... -------------

def replica_addrs():
    """Every replica's address, r1 first (tests/sip/lib.sh kv_cluster_python)."""
    return os.environ["KV_REPLICA_ADDRS"].split()


def bindings(client, user, password=None, cseq=1):
    """The contacts a replica lists for user's AOR: an authenticated
    REGISTER without Contact (a query, RFC 3261 §10.2.3)."""
    password = "secret" + user if password is None else password
    _, final = client.register(user, password, cseq=cseq)
    assert final is not None and final.status == 200, \
        "query of %s at %s: %s" % (user, client.server, final and final.start)
    return final.contacts()


# --- front door (issue #10): phones that only talk to k8s/front -----------

def front_addr():
    """(host, port) of the front (tests/sip/lib.sh kv_front_start)."""
    return os.environ["KV_FRONT_ADDR"], int(os.environ["KV_FRONT_PORT"])


def front_options(timeout=1.0):
    """Status of an OPTIONS to the front itself, or None."""
    host, port = front_addr()
    c = Client(port, host=host)
    try:
        r = c.transact(c.build("OPTIONS", ruri="sip:%s:%d" % (host, port)),
                       timeout=timeout)
    finally:
        c.close()
    return r and r.status


class FrontPhone(Phone):
    """A UDP phone of the front: its socket is connected to the front, so
    the kernel drops whatever comes from anywhere else and every message
    it reads came from the front.  local: the address it sends from (pike
    counts per source address); nat: "HOST:PORT" it claims in its Via and
    Contact instead of its real address, as a phone behind NAT does."""

    def __init__(self, user, local="127.0.0.1", nat=None, password=None):
        host, port = front_addr()
        super().__init__(port, user, password, host=host)
        if local != self.local:
            self.sock.close()
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((local, 0))
            self.local = local
            self.lport = self.sock.getsockname()[1]
        self.real = (self.local, self.lport)
        self.sock.connect((host, port))
        if nat:
            h, p = nat.rsplit(":", 1)
            self.local, self.lport = h, int(p)

    def file(self, data):
        # The front's own 100 Trying (hop by hop, RFC 3261 §16.2) would pass
        # for the answer OutCall.invite() waits for (a challenge).
        if data.startswith(b"SIP/2.0 100 "):
            return
        super().file(data)


def path_received(resp):
    """(front URI host:port, received host:port) of the Path in a REGISTER
    answer, or None."""
    path = resp.get("path")
    if not path:
        return None
    m = re.search(r"<sip:([^;>]+);[^>]*received=\"?sip:([^;\">]+)", path)
    return m and (m.group(1), m.group(2))


def replica_of(call):
    """The host of an answered OutCall's remote target: the replica (the
    B2BUA) that took the call."""
    return re.match(r"sips?:(?:[^@]*@)?([^:;>]+)", call.target).group(1)


# --- late offer (issue #11): INVITEs without SDP, answers in the ACK -------

STATIC_ENC = {0: "PCMU/8000", 3: "GSM/8000", 8: "PCMA/8000", 9: "G722/8000"}


def sdp_codecs(sdp):
    """[(pt, "NAME/clock")] of sdp's first audio stream, in order."""
    return [(pt, sdp.rtpmap.get(pt, STATIC_ENC.get(pt, "?"))) for pt in sdp.pts]


def assert_late_offer(sdp, what):
    """KubeVox's offer to a phone that made none: KubeVox's media, one
    audio codec and one telephone-event at its clock, sendrecv.  Returns
    (codec pt, "NAME/clock")."""
    assert_kubevox_media(sdp, what)
    codecs = sdp_codecs(sdp)
    audio = [c for c in codecs if not c[1].lower().startswith("telephone-event/")]
    events = [c for c in codecs if c[1].lower().startswith("telephone-event/")]
    assert len(audio) == 1, "%s: %d audio codecs %r, expected one" % (what, len(audio), codecs)
    assert len(events) == 1, "%s: telephone-event %r, expected one" % (what, events)
    assert events[0][1].split("/")[1] == audio[0][1].split("/")[1], \
        "%s: telephone-event at another clock: %r" % (what, codecs)
    assert sdp.direction == "sendrecv", "%s: a=%s" % (what, sdp.direction)
    return audio[0]


def late_answer(offer, port, direction="sendrecv", codecs=None, version=1, session=None):
    """A phone's answer (bytes) to offer on 127.0.0.1:port: offer's codecs
    with their payload types, or codecs."""
    return sdp_offer(port, codecs=codecs or sdp_codecs(offer), direction=direction,
                     version=version, session=session)


def late_ack(dlg, cseq, body, ctype="application/sdp"):
    """ACK of the 2xx to INVITE cseq on dlg carrying body (the answer to
    the offer in that 2xx; b"" for none), kept for the 2xx's
    retransmissions."""
    data = dlg.phone.build_request(
        "ACK", dlg.target, dlg.local_hdr, dlg.remote_hdr, dlg.call_id, cseq,
        route=dlg.route, body=body)
    if body and ctype != "application/sdp":
        data = data.replace(b"Content-Type: application/sdp", ("Content-Type: " + ctype).encode())
    dlg.phone.acks[(dlg.call_id, cseq)] = data
    dlg.phone.send(data)


def late_reinvite(dlg, what, timeout=10.0):
    """A re-INVITE without SDP on dlg (an OutCall or an InCall): the 200
    from KubeVox, whose body is the offer.  Not ACKed."""
    if isinstance(dlg, OutCall):
        cseq = dlg.invite(b"")
        _, r = dlg.expect_final(200, what, timeout)
    else:
        cseq = dlg.in_dialog("INVITE", b"")
        r = dlg.expect_response(cseq, "INVITE", what, timeout=timeout)
        assert r.status == 200, "%s: %s" % (what, r.start)
    assert r.body.strip(), "%s: 200 without SDP" % what
    return cseq, r


def rebind_phone(phone, local):
    """Move phone (not yet used) to a socket on address local, as a
    provider on its own address that an identify section matches."""
    phone.sock.close()
    phone.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.sock.bind((local, 0))
    phone.local = local
    phone.lport = phone.sock.getsockname()[1]


def expect_bye_from_kubevox(dlg, what, timeout=5.0):
    """KubeVox's BYE on dlg, answered 200."""
    req = dlg.expect_request("BYE", what, timeout)
    dlg.phone.respond(req, 200)
    return req


def await_bridge(src, dest, dst, what, timeout=5.0):
    """Send from src to dest until a packet reaches dst: the relay's workers
    apply a new bridge shortly after the SIP that set it up, so a phone
    whose only cue is an ACK may speak a packet too early."""
    deadline = time.monotonic() + timeout
    i = 0
    while time.monotonic() < deadline:
        src.send(dest, tagged("bridge", i))
        i += 1
        if dst.wait(lambda got: any(p.payload.startswith(b"bridge:") for p, _ in got), 0.05):
            return
    raise AssertionError("%s: no packet relayed within %gs" % (what, timeout))
