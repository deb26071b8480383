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

Exit status 1 with a reason on stderr otherwise; 2 for bad usage.
"""
import argparse
import hashlib
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


def register(ag, user, password, expires=60):
    ag.user = user
    call_id = rand_hex(16)
    ruri = "sip:%s:%d" % (ag.host, SIP_PORT)
    to = "<sip:%s@%s>" % (user, ag.host)
    extra = ["Expires: %d" % expires]
    data, _ = ag.request("REGISTER", ruri, call_id, 1, to, extra, contact=True)
    r = ag.transact(data, call_id, 1, "REGISTER")
    if r.status == 401:
        auth = ag.authorization(r, "REGISTER", ruri, password)
        data, _ = ag.request("REGISTER", ruri, call_id, 2, to, extra + [auth], contact=True)
        r = ag.transact(data, call_id, 2, "REGISTER")
    if r.status != 200:
        raise Fail("REGISTER %s: %s" % (user, r.start))


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


def cmd_echo(a):
    ag = Agent(a.host, a.timeout)
    ag.user = a.user
    rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rtp.bind((ag.lip, 0))
    rport = rtp.getsockname()[1]
    call_id = rand_hex(16)
    ruri = "sip:%s@%s:%d" % (a.exten, a.host, SIP_PORT)
    to = "<sip:%s@%s>" % (a.exten, a.host)
    sdp = ("v=0\r\no=- %d 1 IN IP4 %s\r\ns=kubevox-k8s-test\r\nc=IN IP4 %s\r\nt=0 0\r\n"
           "m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=sendrecv\r\n"
           % (random.getrandbits(31), ag.lip, ag.lip, rport)).encode()
    ctype = ["Content-Type: application/sdp"]

    data, branch = ag.request("INVITE", ruri, call_id, 1, to, ctype, sdp, contact=True)
    r = ag.transact(data, call_id, 1, "INVITE")
    cseq = 1
    if r.status == 401:
        ag.sock.sendto(ack_or_bye(ag, "ACK", ruri, call_id, 1, r.get("to"), branch),
                       (a.host, SIP_PORT))
        auth = ag.authorization(r, "INVITE", ruri, a.password)
        cseq = 2
        data, branch = ag.request("INVITE", ruri, call_id, 2, to, ctype + [auth], sdp,
                                  contact=True)
        r = ag.transact(data, call_id, 2, "INVITE")
    if r.status != 200:
        raise Fail("INVITE %s: %s" % (a.exten, r.start))
    remote_to = r.get("to")
    m = re.search(r"<([^>]+)>", r.get("contact") or "")
    target = m.group(1) if m else ruri
    ag.sock.sendto(ack_or_bye(ag, "ACK", target, call_id, cseq, remote_to),
                   (a.host, SIP_PORT))
    media = sdp_media(r.body)

    # RTP: PT 0, 20 ms of PCMU per packet, a tag in each payload.
    ssrc = random.getrandbits(32)
    sent = {}
    for i in range(a.packets):
        payload = (b"kvk8s-%04d-" % i).ljust(160, b"\xff")
        sent[payload] = i
        pkt = struct.pack("!BBHII", 0x80, 0, i, i * 160, ssrc) + payload
        rtp.sendto(pkt, media)
        time.sleep(0.02)
    got = set()
    deadline = time.monotonic() + 3.0
    while len(got) < a.packets and time.monotonic() < deadline:
        rtp.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            pkt, src = rtp.recvfrom(2048)
        except socket.timeout:
            break
        if len(pkt) >= 12 and pkt[12:] in sent:
            got.add(sent[pkt[12:]])

    cseq += 1
    data = ack_or_bye(ag, "BYE", target, call_id, cseq, remote_to)
    r = ag.transact(data, call_id, cseq, "BYE")
    if media[0] != a.host:
        raise Fail("the answer offers media at %s, not at the address called (%s)"
                   % (media[0], a.host))
    if len(got) != a.packets:
        raise Fail("echo: %d of %d RTP packets came back from %s:%d"
                   % (len(got), a.packets, media[0], media[1]))
    if r.status != 200:
        raise Fail("BYE: %s" % r.start)
    print("echo: %d of %d RTP packets came back from %s:%d, BYE 200"
          % (len(got), a.packets, media[0], media[1]))


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
    a = p.parse_args()
    try:
        {"options": cmd_options, "register": cmd_register, "echo": cmd_echo}[a.cmd](a)
    except (Fail, OSError) as err:
        print("sipcheck %s: %s" % (a.cmd, err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
