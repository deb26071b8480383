"""Helpers of the voicemail tests (test_vm_*.sh): a caller that hears
prompts, sends a tone and keys, and the spool read back."""
import bisect
import math
import os
import time

import kvsip

SOUNDS = os.path.dirname(os.environ["KV_PROMPT"])
ULAW = sorted((kvsip.ulaw_sample(i), i) for i in range(256))
ULAW_VALUES = [v for v, _ in ULAW]


def wav(name):
    return os.path.join(SOUNDS, name + ".wav")


def ulaw(s):
    """The mu-law byte whose value is nearest to s."""
    i = bisect.bisect_left(ULAW_VALUES, s)
    best = min((j for j in (i - 1, i) if 0 <= j < 256),
               key=lambda j: abs(ULAW_VALUES[j] - s))
    return ULAW[best][1]


def tone(freq, packets, start=0, amp=8000):
    """packets x 160 samples of a sine, as mu-law payloads."""
    out = []
    for p in range(packets):
        out.append(bytes(ulaw(int(amp * math.sin(2 * math.pi * freq * (start + p * 160 + k) / 8000)))
                         for k in range(160)))
    return out


SILENCE = bytes([0xff] * 160)


plays = kvsip.prompt_plays


def heard(c, a):
    """The plays heard since the last a.take(); the tail of a play cut by
    a key (no marked first packet) is left out."""
    return [g for g in plays([p for p, src in a.got if src == c.answer.media])
            if g[0].marker]


def call(phone, dest, what, codecs=kvsip.AUDIO):
    a = kvsip.Rtp()
    phone.media = [a]
    c = kvsip.OutCall(phone, dest, kvsip.sdp_offer(a.port, codecs=codecs))
    c.connect(what)
    return c, a


def wait_plays(c, a, n, what, timeout=30):
    """Until n plays have been heard and nothing more comes for a while
    (prompts of one list follow each other without a gap)."""
    a.wait(lambda got: len(heard(c, a)) >= n, timeout)
    a.quiet(gap=0.3, timeout=timeout)
    got = heard(c, a)
    assert len(got) >= n, "%s: %d plays heard, expected %d" % (what, len(got), n)
    return got


def send(c, a, payloads, pace=0.02):
    for p in payloads:
        a.send(c.answer.media, p, pt=0)
        time.sleep(pace)
        a.read_ready()


def key(c, a, digit):
    kvsip.send_dtmf(a, c.answer.media, digit, c.answer.pt_of("telephone-event"))


def info(c, digit):
    body = ("Signal=%s\r\nDuration=160\r\n" % digit).encode()
    cseq = c.in_dialog("INFO", body=body,
                       headers=(("Content-Type", "application/dtmf-relay"),))
    assert c.expect_response(cseq, "INFO", "answer to INFO").status == 200


def check_plays(got, names, what):
    assert len(got) >= len(names), "%s: %d plays, expected %r" % (what, len(got), names)
    for g, name in zip(got, names):
        print("%s: %s: %s" % (what, name, kvsip.check_prompt(g, 0, wav(name), name)))


def samples_of(payloads):
    return [kvsip.G711[0][x] for p in payloads for x in p]


def best_correlation(got, want, max_lag=25):
    """The best correlation of got with want shifted by whole packets
    either way (packets sent before the relay recorded are not in it)."""
    best = 0.0
    for lag in range(0, max_lag * 160 + 1, 160):
        best = max(best, kvsip.correlation(got[lag:], want), kvsip.correlation(got, want[lag:]))
    return best


def box_dir(spool, box, folder="INBOX", context="default"):
    return os.path.join(spool, "voicemail", context, box, folder)


def messages(spool, box, folder="INBOX", context="default"):
    d = box_dir(spool, box, folder, context)
    if not os.path.isdir(d):
        return []
    return sorted(f[:-4] for f in os.listdir(d) if f.startswith("msg") and f.endswith(".txt"))


def txt(path):
    out = {}
    section = None
    for line in open(path):
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            section = line
            continue
        k, _, v = line.partition("=")
        if section == "[message]":
            out[k] = v
    return out


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("%s: not within %.0f s" % (what, timeout))


def check_start(c, a, name, what, packets=10):
    """A play of name has begun (it is long: a key will cut it)."""
    def started():
        return [g for g in heard(c, a) if g[0].marker and len(g) >= packets]

    a.wait(lambda got: started(), 10)
    got = started()
    assert got, "%s: nothing heard" % what
    pk = got[0]
    samples = kvsip.wav_samples(wav(name))
    mine = [kvsip.G711[0][x] for p in pk for x in p.payload]
    best = max(kvsip.correlation(mine[lag:], samples) for lag in range(0, 161 * 3, 160))
    assert best >= 0.95, "%s: not the start of %s (%.3f)" % (what, name, best)
    print("%s: %s begun (%d packets, %.3f)" % (what, name, len(pk), best))
