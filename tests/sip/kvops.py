"""kvops - checks of KubeVox's HTTP side for the protocol tests.

A strict reader of the Prometheus text exposition format 0.0.4 (every
sample in the family announced just before it by # HELP and # TYPE, valid
names, escaped label values, numeric values, no series twice, counters
named *_total, histograms with rising le bounds, non-decreasing buckets up
to le="+Inf", a _sum and a _count equal to the +Inf bucket), a strict JSON
reader (Python's own, refusing NaN and
duplicate keys), and a tiny HTTP client.  Used as a module by test bodies
and as a command line tool by lib.sh:

    kvops.py prom FILE              check FILE, exit 1 with the reason
    kvops.py value FILE SERIES      print the value of one series
    kvops.py json FILE              check FILE is one JSON object
"""
import json
import math
import os
import re
import sys
import urllib.error
import urllib.request

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "untyped", "histogram", "summary")


class FormatError(Exception):
    pass


def _labels(text, pos, lineno):
    """Parse {a="x",b="y"} at text[pos]; returns (labels, position after)."""
    labels = {}
    pos += 1
    while True:
        m = LABEL.match(text, pos)
        if not m or m.group(0).startswith("__"):
            raise FormatError("line %d: bad label name" % lineno)
        name = m.group(0)
        if name in labels:
            raise FormatError("line %d: label %s given twice" % (lineno, name))
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise FormatError("line %d: expected =\" after %s" % (lineno, name))
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise FormatError("line %d: unterminated label value" % lineno)
            c = text[pos]
            if c == '"':
                break
            if c == "\\":
                nxt = text[pos + 1:pos + 2]
                if nxt not in ("\\", '"', "n"):
                    raise FormatError("line %d: bad escape in label value" % lineno)
                value.append("\n" if nxt == "n" else nxt)
                pos += 2
                continue
            value.append(c)
            pos += 1
        labels[name] = "".join(value)
        pos += 1
        if text[pos:pos + 1] == "}":
            return labels, pos + 1
        if text[pos:pos + 1] != ",":
            raise FormatError("line %d: expected , or }" % lineno)
        pos += 1


def _value(text, lineno):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        raise FormatError("line %d: value %r is not a number" % (lineno, text))
    return float(text)


def parse_prom(text):
    """Check text strictly; returns {series: value}, series written as
    name{label="value",...} with labels in the order of the text."""
    if not text or not text.endswith("\n"):
        raise FormatError("empty, or no final newline")
    families = {}
    current = None
    series = {}
    for lineno, line in enumerate(text[:-1].split("\n"), 1):
        if not line:
            raise FormatError("line %d: empty line" % lineno)
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (\S+) (.*)", line)
            if not m:
                raise FormatError("line %d: comment other than HELP or TYPE" % lineno)
            kind, name, rest = m.groups()
            if not NAME.fullmatch(name):
                raise FormatError("line %d: bad metric name %r" % (lineno, name))
            fam = families.get(name)
            if fam is None:
                fam = families[name] = {"help": None, "type": None, "samples": 0}
            elif fam is not current or fam["samples"]:
                raise FormatError("line %d: family %s announced twice" % (lineno, name))
            current = fam
            if kind == "HELP":
                if fam["help"] is not None:
                    raise FormatError("line %d: second HELP for %s" % (lineno, name))
                if re.search(r"\\[^\\n]|\\$", rest):
                    raise FormatError("line %d: bad escape in HELP" % lineno)
                fam["help"] = rest
            else:
                if fam["type"] is not None:
                    raise FormatError("line %d: second TYPE for %s" % (lineno, name))
                if rest not in TYPES:
                    raise FormatError("line %d: bad type %r" % (lineno, rest))
                fam["type"] = rest
            continue
        m = NAME.match(line)
        if not m:
            raise FormatError("line %d: bad metric name" % lineno)
        name, pos = m.group(0), m.end()
        fam = families.get(name)
        suffix = None
        if fam is None:
            for sfx in ("_bucket", "_sum", "_count"):
                base = families.get(name[:-len(sfx)]) if name.endswith(sfx) else None
                if base is not None and base["type"] == "histogram":
                    fam, suffix = base, sfx
                    break
        elif fam["type"] == "histogram":
            raise FormatError("line %d: histogram sample %s without a suffix" % (lineno, name))
        if fam is None or fam["help"] is None or fam["type"] is None:
            raise FormatError("line %d: %s has no HELP and TYPE before it" % (lineno, name))
        if fam is not current:
            raise FormatError("line %d: %s away from its family" % (lineno, name))
        if fam["type"] == "counter" and not name.endswith("_total"):
            raise FormatError("line %d: counter %s not named *_total" % (lineno, name))
        labels = {}
        if line[pos:pos + 1] == "{":
            labels, pos = _labels(line, pos, lineno)
        key = line[:pos]
        if line[pos:pos + 1] != " ":
            raise FormatError("line %d: expected a space before the value" % lineno)
        fields = line[pos + 1:].split(" ")
        if len(fields) > 2 or (len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1])):
            raise FormatError("line %d: bad value or timestamp" % lineno)
        v = _value(fields[0], lineno)
        if fam["type"] == "counter" and not v >= 0:
            raise FormatError("line %d: counter %s is %r" % (lineno, name, v))
        if key in series:
            raise FormatError("line %d: series %s given twice" % (lineno, key))
        if suffix:
            _histogram_sample(fam, suffix, labels, v, lineno)
        series[key] = v
        fam["samples"] += 1
    for name, fam in families.items():
        if not fam["samples"]:
            raise FormatError("family %s has no sample" % name)
        if fam["type"] == "histogram" and not ("sum" in fam and "count" in fam):
            raise FormatError("histogram %s has no _sum or no _count" % name)
    return series


def _histogram_sample(fam, suffix, labels, v, lineno):
    """One _bucket, _sum or _count sample of a histogram (no other labels)."""
    if suffix == "_bucket":
        if "le" not in labels:
            raise FormatError("line %d: bucket without le" % lineno)
        le = _value(labels["le"], lineno)
        if "inf" in fam or "sum" in fam or "count" in fam:
            raise FormatError("line %d: bucket after +Inf, _sum or _count" % lineno)
        if "le" in fam and not le > fam["le"]:
            raise FormatError("line %d: le does not rise" % lineno)
        if "le" in fam and v < fam["bucket"]:
            raise FormatError("line %d: bucket count falls" % lineno)
        fam["le"], fam["bucket"] = le, v
        if math.isinf(le):
            fam["inf"] = v
        return
    if "le" in labels:
        raise FormatError("line %d: le on %s" % (lineno, suffix))
    if "inf" not in fam:
        raise FormatError("line %d: %s before the le=\"+Inf\" bucket" % (lineno, suffix))
    if suffix == "_sum":
        if not v >= 0:
            raise FormatError("line %d: negative _sum" % lineno)
        fam["sum"] = v
    elif v != fam["inf"]:
        raise FormatError("line %d: _count %r is not the +Inf bucket %r" % (lineno, v, fam["inf"]))
    else:
        fam["count"] = v


def parse_json(text):
    """One JSON object, strictly: no NaN/Infinity, no key twice."""
    def pairs(items):
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate key in %r" % keys)
        return dict(items)

    def constant(name):
        raise ValueError("%s is not JSON" % name)

    obj = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


def http(port, path, method="GET", timeout=10.0):
    """(status, content type, body text) of one request to 127.0.0.1."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode("utf-8")


def http_port():
    return int(os.environ["KV_HTTP_PORT"])


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("prom", "value", "json"):
        sys.exit(__doc__)
    with open(sys.argv[2], encoding="utf-8") as f:
        text = f.read()
    try:
        if sys.argv[1] == "json":
            parse_json(text)
            return
        series = parse_prom(text)
    except (FormatError, ValueError) as e:
        sys.exit("%s: %s" % (sys.argv[2], e))
    if sys.argv[1] == "value":
        if len(sys.argv) != 4 or sys.argv[3] not in series:
            sys.exit("%s: no series %s" % (sys.argv[2], sys.argv[3:]))
        v = series[sys.argv[3]]
        print(int(v) if v == int(v) and not math.isinf(v) else v)


if __name__ == "__main__":
    main()
