#!/usr/bin/env python3
"""chaos_load.py - the steady load of bench/chaos.sh: registered phones
that refresh their bindings and call each other, with RTP both ways, and
a log of everything that failed and when.

One process, one thread, one selector: USERS phones, each on an address
of its own (127.1.X.Y) with a UDP socket for SIP (its flow: a replica
that dies takes its phones' flows with it) and one for RTP.  The first half of the users call, the second
half answer.  Every phone registers through one target (ADDR:PORT: a
replica, or the front door for every phone), refreshes at half its expiry,
and counts a registration failed when no 200 comes within TX_TIMEOUT.
Calls start at CPS per second from idle callers to idle registered
callees, last HOLD seconds, then the caller sends BYE.  Each side sends an
RTP packet every MEDIA_MS to the address of the other side's SDP (the
relay); a call is lost when either side hears nothing for LOST_GAP
seconds while it is up, when the server ends it, or when its BYE fails.

Events go to --events as JSON lines with the time since start:
  reg_ok/reg_fail (user, target, why), call_ok/call_fail (caller, callee,
  their targets, why), call_lost (same, why, since: when media stopped),
  call_done (a call that lasted HOLD seconds and ended cleanly).
A status line is printed every second.  SIGUSR1 prints a JSON summary.
SIGTERM (or --duration) stops new calls and registrations, hangs up the
calls up (counted as done when their media was fine) and exits.

Usage: chaos_load.py --targets A:P[,A:P...] --events FILE [--users N]
        [--first 2000] [--cps 20] [--hold 30] [--duration 0]
The password of user U is "secret" + U (as tests/sip/lib.sh's
kv_conf_user writes it).
"""

import argparse
import heapq
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "sip"))
import kvsip  # noqa: E402

T1 = 0.5
TX_TIMEOUT = 8.0
REG_EXPIRES = 120
MEDIA_MS = 100
LOST_GAP = 2.0


class Loop:
    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.timers = []
        self.seq = 0
        self.t0 = time.monotonic()

    def now(self):
        return time.monotonic() - self.t0

    def at(self, delay, fn, *args):
        self.seq += 1
        ent = [self.now() + delay, self.seq, fn, args, True]
        heapq.heappush(self.timers, ent)
        return ent

    @staticmethod
    def cancel(ent):
        if ent:
            ent[4] = False

    def run_once(self):
        timeout = 0.05
        if self.timers:
            timeout = max(0.0, min(timeout, self.timers[0][0] - self.now()))
        for key, _ in self.sel.select(timeout):
            key.data()
        now = self.now()
        while self.timers and self.timers[0][0] <= now:
            ent = heapq.heappop(self.timers)
            if ent[4]:
                ent[2](*ent[3])


class Tx:
    """A client transaction over UDP: retransmits (T1 doubling, at most
    4 s) until a final response or TX_TIMEOUT."""

    def __init__(self, phone, dest, data, branch, on_final, on_prov=None):
        self.phone, self.dest, self.data = phone, dest, data
        self.on_final, self.on_prov = on_final, on_prov
        self.branch = branch
        self.interval = T1
        self.done = False
        phone.txs[branch] = self
        phone.send(data, dest)
        self.rtx = phone.loop.at(self.interval, self.retransmit)
        self.expire = phone.loop.at(TX_TIMEOUT, self.timeout)

    def retransmit(self):
        if self.done:
            return
        self.phone.send(self.data, self.dest)
        self.interval = min(self.interval * 2, 4.0)
        self.rtx = self.phone.loop.at(self.interval, self.retransmit)

    def finish(self):
        self.done = True
        Loop.cancel(self.rtx)
        Loop.cancel(self.expire)
        self.phone.txs.pop(self.branch, None)

    def timeout(self):
        if not self.done:
            self.finish()
            self.on_final(None)

    def response(self, resp):
        if self.done:
            return
        if resp.status < 200:
            Loop.cancel(self.rtx)   # a provisional stops retransmissions
            if self.on_prov:
                self.on_prov(resp)
            return
        self.finish()
        self.on_final(resp)


class Call:
    def __init__(self, load, caller, callee):
        self.load, self.caller, self.callee = load, caller, callee
        self.call_id = "chaos-%016x" % random.getrandbits(64)
        self.ftag = kvsip.new_tag()
        self.ttag = None             # the caller's view of the To tag
        self.callee_ttag = kvsip.new_tag()
        self.up = False
        self.ended = False
        self.t_up = None
        self.cseq = 1
        self.route = []              # caller's route set (Record-Route)
        self.remote_target = None    # caller's view of the callee Contact
        self.callee_req = None       # the INVITE as the callee got it
        self.callee_route = []
        self.callee_target = None
        self.callee_cseq = 1
        self.media = {}              # side -> (dest addr, last rx time)
        self.media_timer = None
        self.lost_since = None
        self.hangup_timer = None


class Phone:
    def __init__(self, load, user, target, addr):
        self.load, self.loop = load, load.loop
        self.addr = addr
        self.user = str(user)
        self.password = "secret" + self.user
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((addr, 0))
        self.rtp.setblocking(False)
        self.rtp_port = self.rtp.getsockname()[1]
        self.loop.sel.register(self.sock, selectors.EVENT_READ, self.readable)
        self.loop.sel.register(self.rtp, selectors.EVENT_READ, self.rtp_readable)
        self.txs = {}
        self.call = None
        self.registered = False
        self.reg_cseq = 0
        self.reg_callid = "chaos-reg-%s-%016x" % (self.user, random.getrandbits(64))
        self.ftag = kvsip.new_tag()
        self.rtp_seq = random.randrange(65536)
        self.ssrc = random.getrandbits(32)

    # --- transport ---

    def send(self, data, dest):
        try:
            self.sock.sendto(data, dest)
        except OSError:
            pass

    def via(self, branch):
        return "SIP/2.0/UDP %s:%d;branch=%s;rport" % (self.addr, self.port, branch)

    def contact(self):
        return "<sip:%s@%s:%d>" % (self.user, self.addr, self.port)

    def readable(self):
        while True:
            try:
                data, src = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                msg = kvsip.parse_message(data)
            except (ValueError, IndexError, UnicodeDecodeError):
                continue
            if isinstance(msg, kvsip.Response):
                tx = self.txs.get(msg.branch)
                if tx:
                    tx.response(msg)
            else:
                self.request(msg, src)

    def rtp_readable(self):
        while True:
            try:
                data, _ = self.rtp.recvfrom(2048)
            except (BlockingIOError, InterruptedError, OSError):
                return
            c = self.call
            if c and len(data) >= 12:
                side = "caller" if c.caller is self else "callee"
                if side in c.media:
                    c.media[side][1] = self.loop.now()

    # --- registration ---

    def register(self, auth=None):
        self.reg_cseq += 1
        branch = kvsip.new_branch()
        ruri = "sip:%s:%d" % self.target
        hdrs = [
            ("Via", self.via(branch)),
            ("Max-Forwards", "70"),
            ("From", "<sip:%s@%s>;tag=%s" % (self.user, self.target[0], self.ftag)),
            ("To", "<sip:%s@%s>" % (self.user, self.target[0])),
            ("Call-ID", self.reg_callid),
            ("CSeq", "%d REGISTER" % self.reg_cseq),
            ("Contact", self.contact()),
            ("Expires", str(REG_EXPIRES)),
        ]
        if auth:
            hdrs.append(("Authorization", auth))
        data = build("REGISTER", ruri, hdrs)
        Tx(self, self.target, data, branch,
           lambda r: self.reg_done(r, auth is not None))

    def reg_done(self, resp, authed):
        if resp is not None and resp.status == 401 and not authed:
            chal = kvsip.pick_challenge(resp, "MD5")
            if chal:
                self.register(kvsip.authorization(
                    chal, self.user, self.password, "REGISTER",
                    "sip:%s:%d" % self.target))
                return
        if resp is not None and resp.status == 200:
            self.registered = True
            self.load.event("reg_ok", user=self.user, target=self.load.tname(self.target))
            delay = REG_EXPIRES * random.uniform(0.4, 0.6)
        else:
            why = "timeout" if resp is None else str(resp.status)
            self.load.event("reg_fail", user=self.user,
                            target=self.load.tname(self.target), why=why)
            delay = random.uniform(1.0, 2.0)   # a phone retries soon
        if not self.load.stopping:
            self.loop.at(delay, self.register)

    # --- requests to this phone ---

    def respond(self, req, status, reason, to_tag=None, extra=(), body=b""):
        to = req.get("to")
        if to_tag and not kvsip.header_tag(to):
            to += ";tag=" + to_tag
        hdrs = [("Via", v) for v in req.values("via")]
        hdrs += [("From", req.get("from")), ("To", to),
                 ("Call-ID", req.get("call-id")), ("CSeq", req.get("cseq"))]
        hdrs += list(extra)
        if body:
            hdrs.append(("Content-Type", "application/sdp"))
        data = ("SIP/2.0 %d %s\r\n" % (status, reason) +
                "".join("%s: %s\r\n" % hv for hv in hdrs) +
                "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
        return data

    def request(self, req, src):
        method = req.method
        c = self.call
        if method == "INVITE" and not kvsip.header_tag(req.get("to")):
            # The B2BUA's leg has a Call-ID of its own: the call is the one
            # this phone was picked for.
            if c and c.callee is self and not self.load.stopping:
                if c.callee_req is None:
                    self.answer(c, req, src)
                    return
                if c.callee_req.call_id == req.call_id:
                    self.send(c.callee_200, src)     # retransmission
                    return
            self.load.event("callee_busy", user=self.user, cid=req.call_id,
                            busy_with=c.call_id if c else None,
                            answered=c.callee_req.call_id if c and c.callee_req else None)
            self.send(self.respond(req, 486, "Busy Here"), src)
            return
        if method == "ACK":
            return
        if method == "OPTIONS":
            self.send(self.respond(req, 200, "OK"), src)
            return
        if method == "BYE":
            # The caller's dialog has the call's Call-ID, the callee's the
            # one of the B2BUA's leg.
            ok = c is not None and req.call_id in (
                c.call_id, c.callee_req.call_id if c.callee_req else None)
            self.send(self.respond(req, 200 if ok else 481,
                                   "OK" if ok else "Unknown"), src)
            if ok:
                c.load.end_call(c, lost=not c.ended, why="bye_from_server",
                                by=self)
            return
        if method in ("INVITE", "UPDATE"):
            # A re-INVITE or UPDATE: keep the media as it is.
            body = self.sdp() if method == "INVITE" else b""
            self.send(self.respond(req, 200, "OK", extra=[("Contact", self.contact())],
                                   body=body), src)
            return
        self.send(self.respond(req, 405, "Method Not Allowed"), src)

    def sdp(self):
        return kvsip.sdp_offer(self.rtp_port, codecs=((0, "PCMU/8000"),
                                                      (101, "telephone-event/8000")),
                               addr=self.addr)

    def answer(self, call, req, src):
        call.callee_req = req
        call.callee_route = list(req.values("record-route"))
        call.callee_target = src
        media_dest(call, "callee", req)
        call.callee_200 = self.respond(req, 200, "OK", to_tag=call.callee_ttag,
                                       extra=[("Contact", self.contact())] +
                                       [("Record-Route", r) for r in call.callee_route],
                                       body=self.sdp())
        self.send(self.respond(req, 180, "Ringing", to_tag=call.callee_ttag), src)
        self.send(call.callee_200, src)


def media_dest(call, side, msg):
    """Where side sends its RTP: the address of the SDP in msg (the other
    side's, as the relay rewrote it); None when msg has none we can read."""
    try:
        sdp = msg.sdp()
        call.media[side] = [sdp.media if sdp else None, None]
    except ValueError:
        call.media[side] = [None, None]


def build(method, ruri, hdrs, body=b""):
    if body:
        hdrs = hdrs + [("Content-Type", "application/sdp")]
    return ("%s %s SIP/2.0\r\n" % (method, ruri) +
            "".join("%s: %s\r\n" % hv for hv in hdrs) +
            "Content-Length: %d\r\n\r\n" % len(body)).encode() + body


class Load:
    def __init__(self, args):
        self.args = args
        self.loop = Loop()
        self.targets = [parse_target(t) for t in args.targets.split(",")]
        self.names = {t: "%s:%d" % t for t in self.targets}
        self.events = open(args.events, "a", buffering=1)
        self.stopping = False
        self.phones = []
        self.count = {}
        for i in range(args.users):
            t = self.targets[i % len(self.targets)]
            # An address of its own, as phones have (a front counts
            # requests and failures per source address): 127.1.X.Y.
            addr = "127.1.%d.%d" % (i // 250, i % 250 + 1)
            self.phones.append(Phone(self, args.first + i, t, addr))
        half = args.users // 2
        self.callers = self.phones[:half]
        self.callees = self.phones[half:]
        self.active = set()

    def tname(self, t):
        return self.names.get(t, "%s:%d" % t)

    def event(self, ev, **kw):
        self.count[ev] = self.count.get(ev, 0) + 1
        kw["t"] = round(self.loop.now(), 3)
        kw["ev"] = ev
        self.events.write(json.dumps(kw) + "\n")

    # --- calls ---

    def new_call(self):
        if self.stopping:
            return
        self.loop.at(1.0 / self.args.cps, self.new_call)
        for _ in range(20):
            a = random.choice(self.callers)
            b = random.choice(self.callees)
            if a.call is None and b.call is None and a.registered and b.registered:
                break
        else:
            self.event("call_skip", why="no idle registered pair")
            return
        c = Call(self, a, b)
        a.call = c
        b.call = c
        self.active.add(c)
        self.invite(c, None)

    def invite(self, c, auth):
        a = c.caller
        branch = kvsip.new_branch()
        ruri = "sip:%s@%s:%d" % (c.callee.user, a.target[0], a.target[1])
        c.inv_ruri = ruri
        hdrs = [
            ("Via", a.via(branch)),
            ("Max-Forwards", "70"),
            ("From", "<sip:%s@%s>;tag=%s" % (a.user, a.target[0], c.ftag)),
            ("To", "<sip:%s@%s>" % (c.callee.user, a.target[0])),
            ("Call-ID", c.call_id),
            ("CSeq", "%d INVITE" % c.cseq),
            ("Contact", a.contact()),
        ]
        if auth:
            hdrs.append(auth)
        data = build("INVITE", ruri, hdrs, a.sdp())
        c.inv_branch = branch
        Tx(a, a.target, data, branch, lambda r: self.invite_final(c, r, auth),
           lambda r: None)

    def ack(self, c, resp, branch, in_dialog):
        a = c.caller
        if in_dialog:
            ruri, dest, route = self.dialog_dest(c)
            branch = kvsip.new_branch()
        else:
            ruri, dest, route = c.inv_ruri, a.target, []
        hdrs = [("Via", a.via(branch)), ("Max-Forwards", "70")]
        hdrs += [("Route", r) for r in route]
        hdrs += [("From", resp.get("from")), ("To", resp.get("to")),
                 ("Call-ID", c.call_id), ("CSeq", "%d ACK" % c.cseq)]
        a.send(build("ACK", ruri, hdrs), dest)

    def dialog_dest(self, c):
        """Request-URI, next hop and Route headers of the caller's in-dialog
        requests (loose routing only: every hop here record-routes ;lr)."""
        route = c.route
        ruri = c.remote_target or c.inv_ruri
        hop = kvsip.first_uri(route[0]) if route else ruri
        return ruri, uri_hostport(hop) or c.caller.target, route

    def invite_final(self, c, resp, auth):
        a = c.caller
        if resp is not None and resp.status in (401, 407) and auth is None:
            self.ack(c, resp, c.inv_branch, False)
            hdr = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
            chal = kvsip.pick_challenge(resp, "MD5", header=hdr)
            if chal:
                c.cseq += 1
                name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
                self.invite(c, (name, kvsip.authorization(
                    chal, a.user, a.password, "INVITE", c.inv_ruri)))
                return
        if resp is None or resp.status >= 300:
            if resp is not None:
                self.ack(c, resp, c.inv_branch, False)
            why = "timeout" if resp is None else str(resp.status)
            self.finish(c)
            self.event("call_fail", **self.who(c), why=why)
            return
        c.route = list(reversed(resp.values("record-route")))
        cts = resp.contacts()
        c.remote_target = cts[0][0] if cts else None
        c.ttag = kvsip.header_tag(resp.get("to"))
        self.ack(c, resp, None, True)
        if c.ended:
            return
        c.up = True
        c.t_up = self.loop.now()
        media_dest(c, "caller", resp)
        self.event("call_ok", **self.who(c))
        c.media_timer = self.loop.at(MEDIA_MS / 1000.0, self.media_tick, c)
        c.hangup_timer = self.loop.at(self.args.hold, self.hangup, c)

    def who(self, c):
        relay = c.media.get("caller")
        return {"caller": c.caller.user, "callee": c.callee.user,
                "ctarget": self.tname(c.caller.target),
                "etarget": self.tname(c.callee.target), "cid": c.call_id,
                # where the media is anchored: the replica of the call
                "relay": relay[0][0] if relay and relay[0] else None}

    def media_tick(self, c):
        if c.ended:
            return
        now = self.loop.now()
        for side, phone in (("caller", c.caller), ("callee", c.callee)):
            ent = c.media.get(side)
            if not ent or not ent[0] or not ent[0][1]:
                continue
            phone.rtp_seq = (phone.rtp_seq + 1) & 0xffff
            pkt = struct.pack("!BBHII", 0x80, 0, phone.rtp_seq,
                              (phone.rtp_seq * 160) & 0xffffffff, phone.ssrc) + b"\xff" * 160
            try:
                phone.rtp.sendto(pkt, ent[0])
            except OSError:
                pass
        # Heard nothing for LOST_GAP on a side once the call has been up
        # that long: the call is lost, from when its media stopped.
        for side in ("caller", "callee"):
            ent = c.media.get(side)
            last = ent[1] if ent else None
            ref = last if last is not None else c.t_up
            if now - ref > LOST_GAP and now - c.t_up > LOST_GAP:
                self.end_call(c, lost=True, why="no_media_" + side, since=ref)
                return
        c.media_timer = self.loop.at(MEDIA_MS / 1000.0, self.media_tick, c)

    def hangup(self, c):
        if c.ended:
            return
        a = c.caller
        ruri, dest, route = self.dialog_dest(c)
        branch = kvsip.new_branch()
        c.cseq += 1
        hdrs = [("Via", a.via(branch)), ("Max-Forwards", "70")]
        hdrs += [("Route", r) for r in route]
        hdrs += [("From", "<sip:%s@%s>;tag=%s" % (a.user, a.target[0], c.ftag)),
                 ("To", "<sip:%s@%s>;tag=%s" % (c.callee.user, a.target[0], c.ttag)),
                 ("Call-ID", c.call_id), ("CSeq", "%d BYE" % c.cseq)]
        Tx(a, dest, build("BYE", ruri, hdrs), branch,
           lambda r: self.bye_done(c, r))
        c.ended = True
        Loop.cancel(c.media_timer)

    def bye_done(self, c, resp):
        if resp is not None and resp.status == 200:
            self.end_call(c, lost=False, why="done")
        else:
            self.end_call(c, lost=True, why="bye_" + ("timeout" if resp is None
                                                       else str(resp.status)))

    def finish(self, c):
        c.ended = True
        Loop.cancel(c.media_timer)
        Loop.cancel(c.hangup_timer)
        self.active.discard(c)
        if c.caller.call is c:
            c.caller.call = None
        if c.callee.call is c:
            c.callee.call = None

    def end_call(self, c, lost, why, since=None, by=None):
        if c not in self.active:
            return
        if by is c.callee and not lost and c.up:
            # The server hung up the callee: our BYE has not answered yet.
            return
        self.finish(c)
        if lost:
            self.event("call_lost", **self.who(c), why=why,
                       since=round(since if since is not None else self.loop.now(), 3))
        else:
            self.event("call_done", **self.who(c))

    # --- run ---

    def status(self):
        up = sum(1 for c in self.active if c.up)
        regd = sum(1 for p in self.phones if p.registered)
        print("t=%.0f registered=%d calls_up=%d %s" % (
            self.loop.now(), regd, up,
            " ".join("%s=%d" % kv for kv in sorted(self.count.items()))), flush=True)
        if not self.stopping:
            self.loop.at(1.0, self.status)

    def start(self):
        # Spread the first registrations over REG_RAMP seconds.
        ramp = max(1.0, len(self.phones) / self.args.reg_rate)
        for p in self.phones:
            self.loop.at(random.uniform(0, ramp), p.register)
        self.loop.at(ramp + 1.0, self.new_call)
        self.loop.at(1.0, self.status)

    def stop(self):
        if self.stopping:
            return
        self.stopping = True
        for c in list(self.active):
            if c.up and not c.ended:
                self.hangup(c)
            elif not c.up:
                self.finish(c)
        self.loop.at(TX_TIMEOUT + 0.5, self.exit)

    def exit(self):
        for c in list(self.active):
            self.end_call(c, lost=True, why="unfinished")
        print(json.dumps({"summary": self.count}), flush=True)
        self.events.close()
        sys.exit(0)


def parse_target(s):
    host, port = s.rsplit(":", 1)
    return (host, int(port))


def uri_hostport(uri):
    if not uri:
        return None
    u = uri.split(":", 1)[1] if ":" in uri else uri
    u = u.split(";", 1)[0].split(">", 1)[0]
    if "@" in u:
        u = u.split("@", 1)[1]
    if ":" in u:
        h, p = u.rsplit(":", 1)
        try:
            return (h, int(p))
        except ValueError:
            return None
    return (u, 5060)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--targets", required=True)
    ap.add_argument("--events", required=True)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--first", type=int, default=20000)
    ap.add_argument("--cps", type=float, default=20.0)
    ap.add_argument("--hold", type=float, default=30.0)
    ap.add_argument("--reg-rate", type=float, default=200.0)
    ap.add_argument("--reg-expires", type=int, default=60)
    ap.add_argument("--duration", type=float, default=0.0)
    args = ap.parse_args()
    global REG_EXPIRES
    REG_EXPIRES = args.reg_expires
    load = Load(args)
    signal.signal(signal.SIGTERM, lambda *_: load.loop.at(0, load.stop))
    signal.signal(signal.SIGUSR1, lambda *_: print(json.dumps(
        {"summary": load.count}), flush=True))
    load.start()
    if args.duration:
        load.loop.at(args.duration, load.stop)
    while True:
        load.loop.run_once()


if __name__ == "__main__":
    main()
