# lib.sh - harness shared by the SIP protocol tests (tests/sip/test_*.sh).
#
# Sourced, never run.  On load it makes a private temp dir (removed on exit)
# and picks a free port for the daemon.  It then offers: config writers (kv_conf_*), daemon
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
KV_SIP_DIR=$KV_SRC/tests/sip          # kvsip.py: the Python SIP helper
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
	timeout -k 5 60 python3 "$KV_SIP_DIR/kvsip.py" --port "$KV_PORT" "$@"
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
	PYTHONPATH=$KV_SIP_DIR KV_PORT=$KV_PORT timeout -k 5 60 python3 - "$@"
}

