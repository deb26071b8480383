#!/usr/bin/env python3
"""sipcheck.py - a small SIP user agent over UDP for the deployment test,
which reaches kubevoxd at a pod's address rather than on 127.0.0.1.

  sipcheck.py options HOST [--timeout S]
      one OPTIONS; exit 0 on 200 within S seconds (no retransmission, so
      that a loop of them measures when the server answers again)
  sipcheck.py register HOST USER PASSWORD [--timeout S]
      REGISTER answering the digest challenge; exit 0 on 200
  sipcheck.py echo HOST USER PASSWORD [--exten 600] [--packets N]
      call EXTEN (PCMU), send N RTP packets to the address of the answer
      and require every one back with its payload, then BYE; exit 0
  sipcheck.py phone HOST USER PASSWORD --contact-file F --media-host M
                    [--calls N] [--packets N] [--expires S] [--wait S]
      a phone for calls across replicas: registers through HOST, writes
      its Contact URI to F, then answers N calls within S seconds, one
      after the other, on that one registration.  Each INVITE must come
      from HOST port 5060 (the replica that holds its flow) and offer
      media at M (the caller's replica); after the ACK it sends N RTP
      packets there and must get N of the caller's; then 200 to the BYE
  sipcheck.py call HOST USER PASSWORD EXTEN [--packets N]
      calls EXTEN through HOST, which must answer with media at HOST; sends
      N RTP packets there and must get N of the callee's (phone above),
      then BYE
  sipcheck.py bindings HOST USER PASSWORD --contact URI [--timeout S]
      a REGISTER without Contact through HOST until the 200 lists URI,
      for at most S seconds

Exit status 1 with a reason on stderr otherwise; 2 for bad usage.
"""
import argparse
import hashlib
import os
import random
import re
import socket
import struct
import sys
import time

SIP_PORT = 5060


class Fail(Exception):
    pass


def local_ip_for(host):
    """The address this host sends from towards host."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((host, SIP_PORT))
        return s.getsockname()[0]
    finally:
        s.close()


def rand_hex(n):
    return "%0*x" % (n, random.getrandbits(4 * n))


class Response:
    def __init__(self, raw):
        text = raw.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", lines[0])
        if not m:
            raise ValueError("not a response: %r" % lines[0])
        self.status = int(m.group(1))
        self.reason = m.group(2)
        self.start = lines[0]
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                name, value = self.headers[-1]
                self.headers[-1] = (name, value + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if sep:
                self.headers.append((name.strip().lower(), value.strip()))

    COMPACT = {"i": "call-id", "f": "from", "t": "to", "m": "contact",
               "v": "via", "l": "content-length", "c": "content-type"}

    def get(self, name):
        name = name.lower()
        for n, v in self.headers:
            if self.COMPACT.get(n, n) == name:
                return v
        return None

    @property
    def cseq(self):
        v = self.get("cseq") or ""
        m = re.match(r"(\d+)\s+(\S+)", v)
        return (int(m.group(1)), m.group(2).upper()) if m else (0, "")


class Agent:
    def __init__(self, host, timeout):
        self.host = host
        self.timeout = timeout
        self.lip = local_ip_for(host)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.lip, 0))
        self.lport = self.sock.getsockname()[1]
        self.tag = rand_hex(8)

    def request(self, method, ruri, call_id, cseq, to, extra=(), body=b"",
                branch=None, contact=None):
        branch = branch or "z9hG4bK-kvk8s-" + rand_hex(16)
        h = [
            "%s %s SIP/2.0" % (method, ruri),
            "Via: SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.lip, self.lport, branch),
            "Max-Forwards: 70",
            "From: %s;tag=%s" % (self.from_uri, self.tag),
            "To: %s" % to,
            "Call-ID: %s" % call_id,
            "CSeq: %d %s" % (cseq, method),
        ]
        if contact:
            h.append("Contact: <sip:%s@%s:%d>" % (self.user, self.lip, self.lport))
        h.extend(extra)
        h.append("User-Agent: kubevox-k8s-test")
        h.append("Content-Length: %d" % len(body))
        return ("\r\n".join(h) + "\r\n\r\n").encode() + body, branch

    def transact(self, data, call_id, cseq, method, retransmit=True, deadline=None):
        """Send a request; its final response (provisional ones skipped),
        retransmitted every 0.5 s (RFC 3261 timer A) unless told not to."""
        deadline = deadline or time.monotonic() + self.timeout
        next_send = 0.0
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise Fail("no final response to %s within %.1f s" % (method, self.timeout))
            if now >= next_send:
                self.sock.sendto(data, (self.host, SIP_PORT))
                next_send = now + 0.5 if retransmit else deadline
            self.sock.settimeout(max(0.01, min(next_send, deadline) - now))
            try:
                raw, _ = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                r = Response(raw)
            except ValueError:
                continue
            if r.get("call-id") != call_id or r.cseq != (cseq, method):
                continue
            if r.status >= 200:
                return r

    def authorization(self, resp, method, uri, password):
        chal = resp.get("www-authenticate") or ""
        if not chal.lower().startswith("digest "):
            raise Fail("%s: no Digest challenge" % resp.start)
        params = dict((k.lower(), v1 or v2) for k, v1, v2 in
                      re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', chal[7:]))
        alg = params.get("algorithm", "MD5")
        if alg.upper() != "MD5":
            raise Fail("challenge with algorithm %s, not MD5" % alg)
        realm, nonce = params.get("realm", ""), params.get("nonce", "")

        def md5(s):
            return hashlib.md5(s.encode()).hexdigest()

        ha1 = md5("%s:%s:%s" % (self.user, realm, password))
        ha2 = md5("%s:%s" % (method, uri))
        value = 'Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5' % (
            self.user, realm, nonce, uri)
        if "auth" in [q.strip() for q in params.get("qop", "").split(",")]:
            cnonce, nc = rand_hex(16), "00000001"
            resp_hash = md5("%s:%s:%s:%s:auth:%s" % (ha1, nonce, nc, cnonce, ha2))
            value += ', qop=auth, nc=%s, cnonce="%s"' % (nc, cnonce)
        else:
            resp_hash = md5("%s:%s:%s" % (ha1, nonce, ha2))
        value += ', response="%s"' % resp_hash
        if "opaque" in params:
            value += ', opaque="%s"' % params["opaque"]
        return "Authorization: " + value

    @property
    def from_uri(self):
        return "<sip:%s@%s>" % (getattr(self, "user", "k8s-test"), self.host)


def cmd_options(a):
    ag = Agent(a.host, a.timeout)
    call_id = rand_hex(16)
    ruri = "sip:%s:%d" % (a.host, SIP_PORT)
    data, _ = ag.request("OPTIONS", ruri, call_id, 1, "<%s>" % ruri)
    r = ag.transact(data, call_id, 1, "OPTIONS", retransmit=False)
    if r.status != 200:
        raise Fail("OPTIONS: %s" % r.start)


def register(ag, user, password, expires=60, contact=True):
    """REGISTER (a query when contact is False); the 200 response."""
    ag.user = user
    call_id = rand_hex(16)
    ruri = "sip:%s:%d" % (ag.host, SIP_PORT)
    to = "<sip:%s@%s>" % (user, ag.host)
    extra = ["Expires: %d" % expires] if contact else []
    data, _ = ag.request("REGISTER", ruri, call_id, 1, to, extra, contact=contact)
    r = ag.transact(data, call_id, 1, "REGISTER")
    if r.status == 401:
        auth = ag.authorization(r, "REGISTER", ruri, password)
        data, _ = ag.request("REGISTER", ruri, call_id, 2, to, extra + [auth],
                             contact=contact)
        r = ag.transact(data, call_id, 2, "REGISTER")
    if r.status != 200:
        raise Fail("REGISTER %s: %s" % (user, r.start))
    return r


def contact_uris(resp):
    """The URIs of every Contact of a response, in order."""
    uris = []
    for name, value in resp.headers:
        if Response.COMPACT.get(name, name) == "contact":
            uris.extend(re.findall(r"<([^>]+)>", value))
    return uris


def query(host, user, password, timeout):
    """The contacts that HOST lists for USER."""
    return contact_uris(register(Agent(host, timeout), user, password, contact=False))


def cmd_bindings(a):
    deadline = time.monotonic() + a.timeout
    while True:
        try:
            got = query(a.host, a.user, a.password, 2.0)
        except Fail as err:
            got = [str(err)]
        if a.contact in got:
            print("%s lists %s for %s" % (a.host, a.contact, a.user))
            return
        if time.monotonic() >= deadline:
            raise Fail("%s lists %r for %s, not %s, after %.1f s"
                       % (a.host, got, a.user, a.contact, a.timeout))
        time.sleep(0.2)


def cmd_register(a):
    register(Agent(a.host, a.timeout), a.user, a.password)


def sdp_media(body):
    c = re.search(r"^c=IN IP4 (\S+)", body, re.M)
    m = re.search(r"^m=audio (\d+) RTP/AVP", body, re.M)
    if not c or not m:
        raise Fail("answer without an IPv4 audio stream: %r" % body)
    return c.group(1), int(m.group(1))


def ack_or_bye(ag, method, target, call_id, cseq, to, branch=None):
    data, _ = ag.request(method, target, call_id, cseq, to, branch=branch)
    return data


def sdp_offer(ip, port):
    return ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=kubevox-k8s-test\r\nc=IN IP4 %s\r\nt=0 0\r\n"
            "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
            % (random.getrandbits(31), ip, ip, port)).encode()


def rtp_socket(ip):
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind((ip, 0))
    return rtp


class Call:
    """An outgoing call from ag through ag.host, answered with a 200 (any
    other final response raises Fail) and acknowledged."""

    def __init__(self, ag, exten, password, sdp):
        self.ag = ag
        self.call_id = rand_hex(16)
        ruri = "sip:%s@%s:%d" % (exten, ag.host, SIP_PORT)
        to = "<sip:%s@%s>" % (exten, ag.host)
        ctype = ["Content-Type: application/sdp"]

        data, branch = ag.request("INVITE", ruri, self.call_id, 1, to, ctype, sdp,
                                  contact=True)
        r = ag.transact(data, self.call_id, 1, "INVITE")
        self.cseq = 1
        if r.status == 401:
            ag.sock.sendto(ack_or_bye(ag, "ACK", ruri, self.call_id, 1, r.get("to"), branch),
                           (ag.host, SIP_PORT))
            auth = ag.authorization(r, "INVITE", ruri, password)
            self.cseq = 2
            data, branch = ag.request("INVITE", ruri, self.call_id, 2, to, ctype + [auth],
                                      sdp, contact=True)
            r = ag.transact(data, self.call_id, 2, "INVITE")
        if r.status != 200:
            raise Fail("INVITE %s: %s" % (exten, r.start))
        self.remote_to = r.get("to")
        m = re.search(r"<([^>]+)>", r.get("contact") or "")
        self.target = m.group(1) if m else ruri
        ag.sock.sendto(ack_or_bye(ag, "ACK", self.target, self.call_id, self.cseq,
                                  self.remote_to), (ag.host, SIP_PORT))
        self.answer = r
        self.media = sdp_media(r.body)

    def bye(self):
        """BYE; its final response."""
        self.cseq += 1
        data = ack_or_bye(self.ag, "BYE", self.target, self.call_id, self.cseq,
                          self.remote_to)
        return self.ag.transact(data, self.call_id, self.cseq, "BYE")


def rtp_exchange(sock, dest, name, peer, packets):
    """Sends packets RTP packets (PT 0, 20 ms of PCMU, name and a number in
    each payload) from sock to dest, then counts the distinct packets of
    peer that sock receives (all of them, or within 3 s)."""
    ssrc = random.getrandbits(32)
    for i in range(packets):
        payload = (b"kvk8s-%s-%04d-" % (name.encode(), i)).ljust(160, b"\xff")
        sock.sendto(struct.pack("!BBHII", 0x80, 0, i, i * 160, ssrc) + payload, dest)
        time.sleep(0.02)
    want = re.compile(rb"kvk8s-%s-(\d{4})-" % re.escape(peer.encode()))
    seen = set()
    deadline = time.monotonic() + 3.0
    while len(seen) < packets and time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            pkt = sock.recv(2048)
        except socket.timeout:
            break
        m = want.match(pkt[12:])
        if len(pkt) == 172 and m:
            seen.add(int(m.group(1)))
    return Received(len(seen), packets - 1 in seen)


class Received(int):
    """Distinct packets received, and whether the last one sent was among
    them.  The media path is up when the stream's end came through and at
    most its first two packets were lost: on a loaded machine a packet can
    be in flight before the relay has applied the SIP that sets the path up
    (a race the phones' own traffic closes), which is not a broken path."""

    def __new__(cls, n, last):
        r = super().__new__(cls, n)
        r.last = last
        return r

    def flows(self, packets):
        return self.last and self >= packets - 2


def cmd_echo(a):
    ag = Agent(a.host, a.timeout)
    ag.user = a.user
    rtp = rtp_socket(ag.lip)
    call = Call(ag, a.exten, a.password, sdp_offer(ag.lip, rtp.getsockname()[1]))
    media = call.media
    got = rtp_exchange(rtp, media, "echo", "echo", a.packets)
    r = call.bye()
    if media[0] != a.host:
        raise Fail("the answer offers media at %s, not at the address called (%s)"
                   % (media[0], a.host))
    if not got.flows(a.packets):
        raise Fail("echo: %d of %d RTP packets came back from %s:%d"
                   % (got, a.packets, media[0], media[1]))
    if r.status != 200:
        raise Fail("BYE: %s" % r.start)
    print("echo: %d of %d RTP packets came back from %s:%d, BYE 200"
          % (got, a.packets, media[0], media[1]))


class Request:
    """A SIP request as received: its start line, its header lines as they
    came (each with its name in long form) and its body."""

    def __init__(self, raw):
        text = raw.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        m = re.match(r"([A-Z]+) (\S+) SIP/2\.0$", lines[0])
        if not m:
            raise ValueError("not a request: %r" % lines[0])
        self.method, self.uri = m.group(1), m.group(2)
        self.lines = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.lines:
                name, full = self.lines[-1]
                self.lines[-1] = (name, full + " " + line.strip())
                continue
            name, sep, _ = line.partition(":")
            if sep:
                name = name.strip().lower()
                self.lines.append((Response.COMPACT.get(name, name), line))

    def get(self, name):
        for n, line in self.lines:
            if n == name:
                return line.partition(":")[2].strip()
        return None

    def branch(self):
        m = re.search(r"branch=([^;,\s]+)", self.get("via") or "")
        return m.group(1) if m else ""


class Answerer:
    """One call to a registered phone: 180 and 200 (with an SDP offering
    rtp's port) to the INVITE, retransmitted until the ACK; on the ACK,
    on_ack(self) (the media); 200 to the BYE."""

    def __init__(self, ag, rtp, deadline, on_ack):
        self.ag, self.rtp, self.deadline, self.on_ack = ag, rtp, deadline, on_ack
        self.invite = self.invite_src = None
        self.acked = self.byed = False
        self.tag = rand_hex(8)

    def reply(self, req, status, reason, dest, body=b""):
        h = ["SIP/2.0 %d %s" % (status, reason)]
        for name, line in req.lines:
            if name == "to" and "tag=" not in line:
                line += ";tag=" + self.tag
            if name in ("via", "record-route", "from", "to", "call-id", "cseq"):
                h.append(line)
        ag = self.ag
        h.append("Contact: <sip:%s@%s:%d>" % (ag.user, ag.lip, ag.lport))
        if body:
            h.append("Content-Type: application/sdp")
        h.append("Content-Length: %d" % len(body))
        data = ("\r\n".join(h) + "\r\n\r\n").encode() + body
        ag.sock.sendto(data, dest)
        return data

    def serve(self):
        ag = self.ag
        ok = None
        next_send = None
        while not self.byed:
            now = time.monotonic()
            if now >= self.deadline:
                raise Fail("no call, or it did not end (INVITE %s, ACK %s, BYE %s)" % (
                    self.invite is not None, self.acked, self.byed))
            if ok and not self.acked and now >= next_send:
                ag.sock.sendto(ok, self.invite_src)
                next_send = now + 0.5
            wait = self.deadline - now
            if ok and not self.acked:
                wait = min(wait, next_send - now)
            ag.sock.settimeout(max(0.01, wait))
            try:
                raw, src = ag.sock.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                req = Request(raw)
            except ValueError:
                continue
            if req.method == "INVITE" and self.invite is None:
                self.invite, self.invite_src = req, src
                self.reply(req, 180, "Ringing", src)
                body = sdp_offer(ag.lip, self.rtp.getsockname()[1])
                ok = self.reply(req, 200, "OK", src, body)
                next_send = time.monotonic() + 0.5
            elif req.method == "INVITE" and req.branch() == self.invite.branch():
                if ok:
                    ag.sock.sendto(ok, src)
            elif req.method == "ACK" and self.invite is not None:
                if not self.acked:
                    self.acked = True
                    self.on_ack(self)
            elif req.method == "BYE" and self.acked:
                self.reply(req, 200, "OK", src)
                self.byed = True
            elif req.method not in ("INVITE", "ACK"):
                # OPTIONS, or a BYE of an earlier call retransmitted.
                self.reply(req, 200, "OK", src)


def cmd_phone(a):
    ag = Agent(a.host, a.timeout)
    register(ag, a.user, a.password, expires=a.expires)
    contact = "sip:%s@%s:%d" % (a.user, ag.lip, ag.lport)
    with open(a.contact_file + ".tmp", "w") as f:
        f.write(contact + "\n")
    os.rename(a.contact_file + ".tmp", a.contact_file)
    print("%s registered through %s" % (contact, a.host), flush=True)
    rtp = rtp_socket(ag.lip)
    deadline = time.monotonic() + a.wait
    for n in range(1, a.calls + 1):
        got = []

        def media(call):
            rtp.setblocking(False)
            try:
                while rtp.recv(2048):
                    pass
            except BlockingIOError:
                pass
            rtp.setblocking(True)
            offer = sdp_media(call.invite.body)
            if offer[0] != a.media_host:
                raise Fail("call %d: media offered at %s, not on the caller's replica %s"
                           % (n, offer[0], a.media_host))
            got.append(rtp_exchange(rtp, offer, "callee", "caller", a.packets))

        call = Answerer(ag, rtp, deadline, media)
        call.serve()
        if call.invite_src != (a.host, SIP_PORT):
            raise Fail("call %d: the INVITE came from %s:%d, not from %s:%d, the replica "
                       "%s registered through" % ((n,) + call.invite_src + (a.host, SIP_PORT,
                                                                           a.user)))
        rx = got[0] if got else Received(0, False)
        if not rx.flows(a.packets):
            raise Fail("call %d: %d of %d RTP packets from the caller" % (n, rx, a.packets))
        print("call %d: INVITE from %s:%d (Record-Route %s), answered; %d of %d RTP "
              "packets from the caller; BYE 200" % (n, call.invite_src[0], call.invite_src[1],
                                                   call.invite.get("record-route"), rx,
                                                   a.packets), flush=True)


def cmd_call(a):
    ag = Agent(a.host, a.timeout)
    ag.user = a.user
    rtp = rtp_socket(ag.lip)
    call = Call(ag, a.exten, a.password, sdp_offer(ag.lip, rtp.getsockname()[1]))
    if call.media[0] != a.host:
        raise Fail("media answered at %s, not at the replica called (%s)"
                   % (call.media[0], a.host))
    rx = rtp_exchange(rtp, call.media, "caller", "callee", a.packets)
    r = call.bye()
    if not rx.flows(a.packets):
        raise Fail("%d of %d RTP packets from the callee came through %s:%d"
                   % (rx, a.packets, call.media[0], call.media[1]))
    if r.status != 200:
        raise Fail("BYE: %s" % r.start)
    print("%s answered; %d of %d RTP packets from the callee through %s:%d; BYE 200"
          % (a.exten, rx, a.packets, call.media[0], call.media[1]))


def main():
    p = argparse.ArgumentParser(description="SIP checks of a kubevoxd pod")
    sub = p.add_subparsers(dest="cmd", required=True)
    o = sub.add_parser("options")
    o.add_argument("host")
    o.add_argument("--timeout", type=float, default=1.0)
    r = sub.add_parser("register")
    e = sub.add_parser("echo")
    for s in (r, e):
        s.add_argument("host")
        s.add_argument("user")
        s.add_argument("password")
        s.add_argument("--timeout", type=float, default=5.0)
    e.add_argument("--exten", default="600")
    e.add_argument("--packets", type=int, default=20)
    ph = sub.add_parser("phone")
    c = sub.add_parser("call")
    for s in (ph, c):
        s.add_argument("host")
        s.add_argument("user")
        s.add_argument("password")
        s.add_argument("--packets", type=int, default=20)
        s.add_argument("--timeout", type=float, default=5.0)
    ph.add_argument("--contact-file", required=True)
    ph.add_argument("--media-host", required=True)
    ph.add_argument("--calls", type=int, default=1)
    ph.add_argument("--expires", type=int, default=300)
    ph.add_argument("--wait", type=float, default=120.0)
    c.add_argument("exten")
    b = sub.add_parser("bindings")
    b.add_argument("host")
    b.add_argument("user")
    b.add_argument("password")
    b.add_argument("--contact", required=True)
    b.add_argument("--timeout", type=float, default=5.0)
    a = p.parse_args()
    try:
        {"options": cmd_options, "register": cmd_register, "echo": cmd_echo,
         "phone": cmd_phone, "call": cmd_call, "bindings": cmd_bindings}[a.cmd](a)
    except (Fail, OSError) as err:
        print("sipcheck %s: %s" % (a.cmd, err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
