# lib.sh - harness shared by the SIP protocol tests (tests/sip/test_*.sh).
#
# Sourced, never run.  On load it makes a private temp dir (removed on exit),
# picks a free port for the daemon and writes the Python SIP helper kvsip.py
# into the temp dir.  It then offers: config writers (kv_conf_*), daemon
# control (kvd_start, kvd_stop), SIPp and Python client wrappers, and
# assertions.  Every wait is bounded, and the EXIT trap kills whatever the
# test started, so a broken daemon makes a test fail, never hang.
#
# Environment: KV_BIN (build dir holding kubevoxd and kv_regclient),
# KV_SRC (repository root; defaults to this file's ../..), KV_KEEP=1 keeps
# the temp dir for post-mortem.
# shellcheck shell=bash

set -u
set -o pipefail

KV_SRC=${KV_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KV_BIN=${KV_BIN:-$KV_SRC/build-asan}
KV_SCEN=$KV_SRC/tests/sip/scenarios
# shellcheck disable=SC2034 # used by the tests that source this file
KV_DATA=$KV_SRC/tests/sip/data
KV_TEST=$(basename "$0" .sh)

# Sanitizer reports must end up in the daemon log, and any report must make
# the process exit non-zero so kvd_stop sees it even if the grep missed it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=66}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=67}

KVD_PID=
KVD_LOG=
KV_SIPP_SEQ=0
KV_BG_PIDS=
KV_BG_OUT=

kv_log()
{
	printf '%s: %s\n' "$KV_TEST" "$*"
}

kv_cleanup()
{
	local rc=$? pid

	for pid in $KV_BG_PIDS; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$KVD_PID" ] && kill -0 "$KVD_PID" 2>/dev/null; then
		kill -KILL "$KVD_PID" 2>/dev/null
		wait "$KVD_PID" 2>/dev/null
	fi
	if [ -n "${KV_TMP:-}" ] && [ -d "$KV_TMP" ]; then
		if [ "${KV_KEEP:-0}" = 1 ]; then
			kv_log "kept $KV_TMP"
		else
			rm -rf "$KV_TMP"
		fi
	fi
	exit "$rc"
}

# Failure: say why, show the end of the daemon log, stop.  The EXIT trap
# kills the daemon.
kv_fail()
{
	local rc

	printf '%s: FAIL: %s\n' "$KV_TEST" "$*" >&2
	if [ -n "$KVD_PID" ] && ! kill -0 "$KVD_PID" 2>/dev/null; then
		wait "$KVD_PID"
		rc=$?
		KVD_PID=
		printf '%s: kubevoxd is not running any more (exit status %s)\n' \
			"$KV_TEST" "$rc" >&2
	fi
	if [ -n "$KVD_LOG" ] && [ -s "$KVD_LOG" ]; then
		printf -- '--- last lines of the kubevoxd log (%s) ---\n' "$KVD_LOG" >&2
		tail -n 40 "$KVD_LOG" >&2
		printf -- '--- end of log ---\n' >&2
	fi
	exit 1
}

kv_ok()
{
	kv_log "ok - $*"
}

kv_pass()
{
	kv_log "PASS"
	exit 0
}

kv_assert_eq()
{
	local want=$1 got=$2 what=$3

	[ "$want" = "$got" ] || kv_fail "$what: expected '$want', got '$got'"
}

# kv_assert_range MIN MAX VALUE WHAT: integer VALUE within [MIN, MAX].
kv_assert_range()
{
	local min=$1 max=$2 val=$3 what=$4

	case $val in
	'' | *[!0-9]*) kv_fail "$what: expected a number in $min..$max, got '$val'" ;;
	esac
	[ "$val" -ge "$min" ] && [ "$val" -le "$max" ] && return 0
	kv_fail "$what: expected $min..$max, got $val"
}

# Extended regex match on a (possibly multi-line) string.
kv_assert_match()
{
	local re=$1 text=$2 what=$3

	grep -Eq -- "$re" <<< "$text" ||
		kv_fail "$what: no line matches /$re/ in:
$text"
}

kv_assert_nomatch()
{
	local re=$1 text=$2 what=$3

	if grep -Eq -- "$re" <<< "$text"; then
		kv_fail "$what: unexpected match of /$re/ in:
$text"
	fi
}

# Number of non-empty lines.
kv_count_lines()
{
	grep -c . <<< "$1" || true
}

command -v python3 >/dev/null || { echo "$KV_TEST: python3 is required" >&2; exit 1; }
command -v sipp >/dev/null || { echo "$KV_TEST: sipp (sip-tester) is required" >&2; exit 1; }
[ -x "$KV_BIN/kubevoxd" ] || { echo "$KV_TEST: no daemon at $KV_BIN/kubevoxd" >&2; exit 1; }

KV_TMP=$(mktemp -d "${TMPDIR:-/tmp}/kvsip.$KV_TEST.XXXXXX") || exit 1
trap kv_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
KV_CONF=$KV_TMP/conf
mkdir -p "$KV_CONF"
: > "$KV_TMP/ports"

# A port free for both UDP and TCP on 127.0.0.1 (transports share it).  The
# kernel picks it; ports already handed out by this test are skipped, since
# nothing holds them until the daemon or SIPp binds.
kv_free_port()
{
	python3 - "$KV_TMP/ports" <<'EOF'
import socket, sys
used = set(open(sys.argv[1]).read().split())
for _ in range(200):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        if str(port) in used:
            continue
        u.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        t.close()
        u.close()
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % port)
    print(port)
    sys.exit(0)
sys.exit("no free port found")
EOF
}

KV_PORT=$(kv_free_port) || kv_fail "cannot find a free port"

# --- configuration -------------------------------------------------------

# pjsip.conf with a UDP and a TCP transport on KV_PORT; replaces the file.
kv_conf_transports()
{
	cat > "$KV_CONF/pjsip.conf" <<EOF
; written by $KV_TEST
[transport-udp]
type=transport
protocol=udp
bind=127.0.0.1:$KV_PORT

[transport-tcp]
type=transport
protocol=tcp
bind=127.0.0.1:$KV_PORT
EOF
}

# Print "key=value" for every default, replaced by an override with the same
# key, then the overrides that are not defaults.  $1 is the section prefix
# (auth., aor., endpoint.), $2 the defaults, the rest "prefix.key=value".
kv__section_opts()
{
	local prefix=$1 defaults=$2 kv key found o
	shift 2

	for kv in $defaults; do
		key=${kv%%=*}
		found=
		for o in "$@"; do
			case $o in
			"$prefix$key="*) found=${o#"$prefix"} ;;
			esac
		done
		printf '%s\n' "${found:-$kv}"
	done
	for o in "$@"; do
		case $o in
		"$prefix"*)
			key=${o#"$prefix"}
			key=${key%%=*}
			case " $defaults " in
			*" $key="*) ;;
			*) printf '%s\n' "${o#"$prefix"}" ;;
			esac
			;;
		esac
	done
}

# kv_conf_user USER [auth.K=V|aor.K=V|endpoint.K=V ...]: appends the endpoint,
# auth and aor sections of USER (password secretUSER) to pjsip.conf.
kv_conf_user()
{
	local user=$1
	shift

	{
		printf '\n[%s]\ntype=endpoint\n' "$user"
		kv__section_opts endpoint. "context=from-internal auth=$user aors=$user" "$@"
		printf '\n[%s]\ntype=auth\n' "$user"
		kv__section_opts auth. "auth_type=userpass username=$user password=secret$user" "$@"
		printf '\n[%s]\ntype=aor\n' "$user"
		kv__section_opts aor. "max_contacts=3 remove_existing=no minimum_expiration=2 default_expiration=60 maximum_expiration=3600" "$@"
	} >> "$KV_CONF/pjsip.conf"
}

# kv_conf_security K=V...: kubevox.conf [security] section; replaces the file.
kv_conf_security()
{
	{
		printf '; written by %s\n[security]\n' "$KV_TEST"
		printf '%s\n' "$@"
	} > "$KV_CONF/kubevox.conf"
}

# --- daemon --------------------------------------------------------------

# kvd_start [DIR]: start kubevoxd on DIR (default KV_CONF) and wait up to 10 s
# for event=ready.
kvd_start()
{
	local dir=${1:-$KV_CONF}

	KVD_LOG=$KV_TMP/kubevoxd.log
	"$KV_BIN/kubevoxd" -C "$dir" > "$KVD_LOG" 2>&1 &
	KVD_PID=$!
	for _ in $(seq 1 100); do
		grep -q 'event=ready' "$KVD_LOG" && return 0
		kill -0 "$KVD_PID" 2>/dev/null ||
			kv_fail "kubevoxd exited before event=ready"
		sleep 0.1
	done
	kv_fail "kubevoxd did not log event=ready within 10 s"
}

# kvd_stop [SIGNAL]: signal the daemon (TERM by default), wait up to 10 s,
# require exit status 0 and a log free of sanitizer reports.
kvd_stop()
{
	local sig=${1:-TERM} rc

	[ -n "$KVD_PID" ] || kv_fail "kvd_stop: daemon not running"
	kill -s "$sig" "$KVD_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$KVD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KVD_PID" 2>/dev/null; then
		kill -KILL "$KVD_PID" 2>/dev/null
		wait "$KVD_PID" 2>/dev/null
		KVD_PID=
		kv_fail "kubevoxd still running 10 s after SIG$sig"
	fi
	wait "$KVD_PID"
	rc=$?
	KVD_PID=
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$KVD_LOG"; then
		printf -- '--- sanitizer report ---\n' >&2
		grep -E -A 40 'AddressSanitizer|LeakSanitizer|runtime error:' "$KVD_LOG" >&2
		kv_fail "sanitizer report in the kubevoxd log"
	fi
	[ "$rc" = 0 ] || kv_fail "kubevoxd exited with status $rc after SIG$sig"
	kv_ok "kubevoxd exited 0 on SIG$sig, no sanitizer report"
}

# kv_bg CMD...: run one helper process in the background (stdin as given,
# output in KV_BG_OUT); the EXIT trap kills it.  CMD must not fork helpers
# of its own: only the process itself is killed.
kv_bg()
{
	KV_BG_OUT=$KV_TMP/bg-$RANDOM.out
	"$@" <&0 > "$KV_BG_OUT" 2>&1 &
	KV_BG_PIDS="$KV_BG_PIDS $!"
}

# kv_wait_file FILE REGEX: wait up to 10 s for a line matching REGEX.
kv_wait_file()
{
	local file=$1 re=$2

	for _ in $(seq 1 100); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	kv_fail "no /$re/ in $file within 10 s: $(cat "$file" 2>/dev/null)"
}

# --- SIPp ----------------------------------------------------------------

# One injection file per user: field0 is the user, field1 SIPp's whole
# [authentication] keyword (SIPp does not expand [fieldN] inside it).
# kv_csv USER [PASSWORD] prints the file's path.
kv_csv()
{
	local user=$1 pass=${2:-secret$1} f

	f=$KV_TMP/user-$user-$(printf '%s' "$pass" | md5sum | cut -c1-8).csv
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' \
		"$user" "$user" "$pass" > "$f"
	printf '%s\n' "$f"
}

# kv_sipp SCENARIO CSV [sipp options...]: run one SIPp client against the
# daemon and return SIPp's exit status; on failure print its error log and
# message trace.  Tunables (environment, usually set per call):
#   SIPP_M calls (1), SIPP_R rate per second (10), SIPP_L concurrent calls
#   (SIPP_M), SIPP_PORT local port (a free one), SIPP_IP local address
#   (127.0.0.1), SIPP_T transport (u1), SIPP_TIMEOUT global timeout (20s),
#   EXPIRES the [expires] keyword (60).
kv_sipp()
{
	local scen=$1 csv=$2 n rc port out err msgs
	shift 2

	KV_SIPP_SEQ=$((KV_SIPP_SEQ + 1))
	n=$KV_SIPP_SEQ
	port=${SIPP_PORT:-$(kv_free_port)}
	out=$KV_TMP/sipp-$n.out
	err=$KV_TMP/sipp-$n.errors
	msgs=$KV_TMP/sipp-$n.messages
	(
		cd "$KV_TMP" &&
		exec timeout -k 5 90 sipp "127.0.0.1:$KV_PORT" \
			-sf "$KV_SCEN/$scen" -inf "$csv" \
			-i "${SIPP_IP:-127.0.0.1}" -bind_local -p "$port" \
			-t "${SIPP_T:-u1}" \
			-m "${SIPP_M:-1}" -l "${SIPP_L:-${SIPP_M:-1}}" \
			-r "${SIPP_R:-10}" -rp 1000 \
			-timeout "${SIPP_TIMEOUT:-20s}" -timeout_error \
			-key expires "${EXPIRES:-60}" \
			-trace_err -error_file "$err" \
			-trace_msg -message_file "$msgs" \
			-nostdin "$@"
	) > "$out" 2>&1 < /dev/null
	rc=$?
	if [ "$rc" != 0 ]; then
		{
			printf -- '--- sipp %s (run %d, port %s) exited %d ---\n' \
				"$scen" "$n" "$port" "$rc"
			grep -Ev '^\s*$' "$out" | tail -n 25
			if [ -s "$err" ]; then
				printf -- '--- sipp error log ---\n'
				tail -n 60 "$err"
				echo
			fi
			if [ -s "$msgs" ]; then
				printf -- '--- sipp messages (last 80 lines) ---\n'
				tail -n 80 "$msgs"
			fi
		} >&2
	fi
	return "$rc"
}

# kv_sipp_ok WHAT SCENARIO CSV [options...]: kv_sipp that must succeed.
kv_sipp_ok()
{
	local what=$1
	shift

	kv_sipp "$@" || kv_fail "$what (SIPp scenario $1 failed)"
	kv_ok "$what"
}

# --- Python client -------------------------------------------------------

# kv_py ARGS...: run kvsip.py (see below) with the daemon port preset.
kv_py()
{
	timeout -k 5 60 python3 "$KV_TMP/kvsip.py" --port "$KV_PORT" "$@"
}

# kv_contacts USER [PASSWORD]: authenticated query REGISTER (no Contact).
# Sets KV_CONTACTS to one "URI EXPIRES" line per binding and KV_NCONTACTS
# to their number; fails the test unless the answer is 200.  Not meant for
# $(...), where kv_fail could not stop the test.
kv_contacts()
{
	local out

	out=$(kv_py query "$@" 2>&1) || kv_fail "query of $1 failed: $out"
	KV_CONTACTS=$(printf '%s\n' "$out" | sed -n '2,$p')
	# shellcheck disable=SC2034 # read by the tests
	KV_NCONTACTS=$(kv_count_lines "$KV_CONTACTS")
}

# Run a Python test body from stdin with kvsip importable and PORT set.
kv_python()
{
	PYTHONPATH=$KV_TMP KV_PORT=$KV_PORT timeout -k 5 60 python3 - "$@"
}

cat > "$KV_TMP/kvsip.py" <<'PYEOF'
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
PYEOF
