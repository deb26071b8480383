# lib.sh - harness shared by the SIP protocol tests (tests/sip/test_*.sh).
#
# Sourced, never run.  On load it makes a private temp dir (removed on
# exit) and picks a free port for the daemon.  It then offers: config
# writers (kv_conf_*), daemon control (kvd_start, kvd_stop), SIPp and Python
# client wrappers, and assertions.  Call tests add an RTP range and a
# dialplan of their own (kv_conf_calls), SIPp callees on registered ports
# (kv_register_port, kv_sipp_uas, kv_sipp_uas_wait), SIPp callers
# (kv_sipp_call_ok) and Python phones (kv_python_call, with kvsip's Phone,
# OutCall, InCall and Rtp).  Every wait is bounded, and the EXIT trap kills
# whatever the test started, so a broken daemon makes a test fail, never
# hang.
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
# Ports come from 6000-8999: below the kernel's ephemeral range, so that no
# client socket of a test running in parallel can be handed the port between
# this check and the moment its user binds it, and below every test's RTP
# range (9000-32999), which a kubevoxd may take at any time.
kv_free_port()
{
	python3 - "$KV_TMP/ports" <<'EOF'
import random, socket, sys
used = set(open(sys.argv[1]).read().split())
for _ in range(200):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        port = random.randrange(6000, 9000)
        t.bind(("127.0.0.1", port))
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


# --- calls ---------------------------------------------------------------

# kv_conf_call_users USER...: kv_conf_user for phones that make and take
# calls: context from-internal, G.711 only (disallow=all, allow=ulaw,alaw).
kv_conf_call_users()
{
	local u

	for u in "$@"; do
		kv_conf_user "$u" endpoint.disallow=all endpoint.allow=ulaw,alaw
	done
}

# kv_conf_rtp [SIZE]: rtp.conf with a port range this test has to itself,
# so tests run in parallel never share media ports.  A family of tests
# (names matching a glob, sorted) has slots of WIDTH ports from BASE:
#   test_call_*.sh   400 each from 15000, and every test of no family the
#                    slot after them (they skip ports another one holds);
#   test_trunk_call* 100 each from 32000;
#   test_moh_*.sh    500 each from 2000, below kv_free_port's 6000-9000;
# all below the kernel's ephemeral ports, where kv_free_port and SIPp take
# theirs.  41 test_call_*.sh fit below the trunks' slots.  SIZE (ports, at
# most the slot's width) defaults to 100.  Sets KV_RTP_START and
# KV_RTP_END.
kv_conf_rtp()
{
	case $KV_TEST in
	test_moh_*) kv__rtp_slot "${1:-100}" 'test_moh_*.sh' 2000 500 6000 ;;
	test_trunk_call*) kv__rtp_slot "${1:-100}" 'test_trunk_call*.sh' 32000 100 32768 ;;
	*) kv__rtp_slot "${1:-100}" 'test_call_*.sh' 15000 400 32000 ;;
	esac
}

# kv__rtp_slot SIZE GLOB BASE WIDTH LIMIT: kv_conf_rtp's slot for this
# test among GLOB's files (the one after them for a test that is not one).
kv__rtp_slot()
{
	local size=$1 glob=$2 base=$3 width=$4 limit=$5 k=0 f

	for f in "$KV_SRC"/tests/sip/$glob; do
		[ "$(basename "$f" .sh)" = "$KV_TEST" ] && break
		k=$((k + 1))
	done
	[ "$size" -le "$width" ] || kv_fail "kv_conf_rtp: $size ports is more than a slot of $glob"
	KV_RTP_START=$((base + width * k))
	KV_RTP_END=$((KV_RTP_START + size - 1))
	[ "$KV_RTP_END" -lt "$limit" ] || kv_fail "kv_conf_rtp: no slot left for $KV_TEST"
	printf '; written by %s\n[general]\nrtpstart=%d\nrtpend=%d\n' \
		"$KV_TEST" "$KV_RTP_START" "$KV_RTP_END" > "$KV_CONF/rtp.conf"
}

# kv_conf_dialplan [DIAL_TIMEOUT]: extensions.conf of the call tests:
# 100X dials the phones of endpoint 100X (DIAL_TIMEOUT seconds, default
# 10), 600 echoes, 700 plays hello-world after answering, 701 plays it as
# early media, and anything else in from-internal goes to i (Congestion).
# Tests append contexts of their own.
kv_conf_dialplan()
{
	cat > "$KV_CONF/extensions.conf" <<CONF
; written by $KV_TEST
[from-internal]
exten => _100X,1,Dial(PJSIP/\${EXTEN},${1:-10})
 same => n,Hangup()
exten => 600,1,Answer()
 same => n,Echo()
exten => 700,1,Answer()
 same => n,Playback(hello-world)
 same => n,Hangup()
exten => 701,1,Progress()
 same => n,Playback(hello-world,noanswer)
 same => n,Hangup()
exten => i,1,Congestion()
CONF
}

# kv_conf_dirs: asterisk.conf putting astlogdir (KV_LOGDIR, where
# cdr-csv/Master.csv goes) and astspooldir in the temp dir, and a cdr.conf
# that enables CSV records as Asterisk's default does.
kv_conf_dirs()
{
	KV_LOGDIR=$KV_TMP/log
	mkdir -p "$KV_LOGDIR" "$KV_TMP/spool"
	cat > "$KV_CONF/asterisk.conf" <<CONF
; written by $KV_TEST
[directories]
astlogdir => $KV_LOGDIR
astspooldir => $KV_TMP/spool
CONF
	cat > "$KV_CONF/cdr.conf" <<CONF
; written by $KV_TEST
[general]
enable=yes

[csv]
usegmtime=no
loguniqueid=yes
loguserfield=no
accountlogs=no
CONF
}

# kv_conf_calls USER...: the usual call test set-up: UDP/TCP transports,
# the users as call phones, an RTP range, the dialplan and the directories.
kv_conf_calls()
{
	kv_conf_transports
	kv_conf_call_users "$@"
	kv_conf_rtp 100
	kv_conf_dialplan 10
	kv_conf_dirs
}

# A UDP port p with p..p+3 free, for SIPp's media (-mp): SIPp binds p for
# audio and p+2 for video, each with the RTCP port above it.
kv_free_media_port()
{
	python3 - "$KV_TMP/ports" <<'PY'
import random, socket, sys
used = set(open(sys.argv[1]).read().split())
for _ in range(200):
    base = random.randrange(6000, 8996) & ~1
    if any(str(base + i) in used for i in range(4)):
        continue
    socks = []
    try:
        for i in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", base + i))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    with open(sys.argv[1], "a") as f:
        f.write("".join("%d\n" % (base + i) for i in range(4)))
    print(base)
    sys.exit(0)
sys.exit("no free media ports found")
PY
}

# kv_register_port USER PORT: register USER with the Contact
# sip:USER@127.0.0.1:PORT, sent from that port, so that KubeVox calls
# whatever listens there next (a SIPp UAS started on PORT).
kv_register_port()
{
	local out

	out=$(kv_py --lport "$2" register --contact "<sip:$1@127.0.0.1:$2>" "$1" 2>&1) ||
		kv_fail "registering $1 from port $2: $out"
}

# kv_unregister_all USER: remove every binding of USER (Contact: *), e.g.
# those of SIPp callees that have exited, which Dial would ring in vain.
kv_unregister_all()
{
	local out

	out=$(kv_py register --contact '*' --expires 0 "$1" 2>&1) ||
		kv_fail "removing the bindings of $1: $out"
}

# kv_sipp_uas SCENARIO PORT [sipp options...]: start a SIPp UAS (a callee)
# on PORT in the background and wait until it listens.  Sets KV_UAS to its
# run number, for kv_sipp_uas_wait; the EXIT trap kills it.  Tunables:
# SIPP_M calls to take (1), SIPP_TIMEOUT (30s), SIPP_MP media port.
declare -gA KV_UAS_PID KV_UAS_SCEN
kv_sipp_uas()
{
	local scen=$1 port=$2 n pid mp
	shift 2

	KV_SIPP_SEQ=$((KV_SIPP_SEQ + 1))
	n=$KV_SIPP_SEQ
	mp=${SIPP_MP:-$(kv_free_media_port)} || kv_fail "no media port for SIPp"
	(
		cd "$KV_TMP" &&
		exec sipp -sf "$KV_SCEN/$scen" \
			-i 127.0.0.1 -bind_local -p "$port" -t u1 -mp "$mp" \
			-m "${SIPP_M:-1}" -timeout "${SIPP_TIMEOUT:-30s}" -timeout_error \
			-aa -trace_err -error_file "$KV_TMP/sipp-$n.errors" \
			-trace_msg -message_file "$KV_TMP/sipp-$n.messages" \
			-nostdin "$@"
	) > "$KV_TMP/sipp-$n.out" 2>&1 < /dev/null &
	pid=$!
	KV_BG_PIDS="$KV_BG_PIDS $pid"
	KV_UAS_PID[$n]=$pid
	KV_UAS_SCEN[$n]=$scen
	# shellcheck disable=SC2034 # read by the tests
	KV_UAS=$n
	for _ in $(seq 1 100); do
		[ -n "$(ss -Hlun "sport = :$port" 2>/dev/null)" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kv__sipp_report "$n" "$scen" "$port" "did not start"
	kv_fail "SIPp UAS $scen did not listen on port $port"
}

kv__sipp_report()
{
	local n=$1 scen=$2 port=$3 status=$4

	{
		printf -- '--- sipp %s (run %d, port %s) %s ---\n' \
			"$scen" "$n" "$port" "$status"
		grep -Ev '^\s*$' "$KV_TMP/sipp-$n.out" 2>/dev/null | tail -n 25
		if [ -s "$KV_TMP/sipp-$n.errors" ]; then
			printf -- '--- sipp error log ---\n'
			tail -n 60 "$KV_TMP/sipp-$n.errors"
			echo
		fi
		if [ -s "$KV_TMP/sipp-$n.messages" ]; then
			printf -- '--- sipp messages (last 80 lines) ---\n'
			tail -n 80 "$KV_TMP/sipp-$n.messages"
		fi
	} >&2
}

# kv_sipp_uas_wait N WHAT [SECONDS]: wait (default 30 s) for the SIPp UAS
# of run N to finish its calls; it must exit 0.
kv_sipp_uas_wait()
{
	local n=$1 what=$2 secs=${3:-30} pid rc

	pid=${KV_UAS_PID[$n]}
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		kv__sipp_report "$n" "${KV_UAS_SCEN[$n]}" - "still running after $secs s"
		kv_fail "$what (SIPp UAS ${KV_UAS_SCEN[$n]} did not finish)"
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ]; then
		kv__sipp_report "$n" "${KV_UAS_SCEN[$n]}" - "exited $rc"
		kv_fail "$what (SIPp UAS ${KV_UAS_SCEN[$n]} failed)"
	fi
	kv_ok "$what"
}

# kv_sipp_call_ok WHAT SCENARIO CALLER DEST [sipp options...]: one SIPp
# caller (CALLER's credentials) calling DEST through the daemon; it must
# succeed.  The digest uri is the Request-URI (SIPp's default is not).
kv_sipp_call_ok()
{
	local what=$1 scen=$2 caller=$3 dest=$4 csv mp
	shift 4

	csv=$(kv_csv "$caller")
	mp=$(kv_free_media_port) || kv_fail "no media port for SIPp"
	kv_sipp_ok "$what" "$scen" "$csv" -s "$dest" \
		-auth_uri "$dest@127.0.0.1:$KV_PORT" -mp "$mp" "$@"
}

# kv_wait_log REGEX [COUNT]: wait up to 10 s for COUNT (default 1) lines
# of the daemon log matching REGEX.
kv_wait_log()
{
	local re=$1 want=${2:-1} got=0

	for _ in $(seq 1 100); do
		got=$(grep -Ec -- "$re" "$KVD_LOG" 2>/dev/null)
		[ "${got:-0}" -ge "$want" ] && return 0
		sleep 0.1
	done
	kv_fail "expected $want log lines matching /$re/, found ${got:-0}"
}

# Run a Python call test body from stdin: kvsip importable, KV_PORT,
# KV_RTP_START/KV_RTP_END and KV_PROMPT (the hello-world prompt) set.
kv_python_call()
{
	PYTHONPATH=$KV_SIP_DIR KV_PORT=$KV_PORT \
		KV_RTP_START=${KV_RTP_START:-0} KV_RTP_END=${KV_RTP_END:-0} \
		KV_PROMPT=${KV_PROMPT:-/usr/share/asterisk/sounds/en/hello-world.wav} \
		timeout -k 5 60 python3 - "$@"
}

# --- drain and reload (test_drain_*.sh, test_reload_*.sh) -----------------

# kv_conf_rtp_ops [SIZE] [OFFSET]: rtp.conf for the drain and reload tests,
# which kv_conf_rtp's slots do not cover: slot k of the sorted
# test_drain_*.sh then test_reload_*.sh names gets 10000+500k .. +499, below
# kv_conf_rtp's area.  The range is SIZE ports (default 100) from OFFSET
# (default 0) within the slot, so a test that moves its range stays in its
# slot.  Sets KV_RTP_START and KV_RTP_END.
kv_conf_rtp_ops()
{
	local size=${1:-100} off=${2:-0} k=0 f found=

	for f in "$KV_SRC"/tests/sip/test_drain_*.sh "$KV_SRC"/tests/sip/test_reload_*.sh; do
		if [ "$(basename "$f" .sh)" = "$KV_TEST" ]; then
			found=1
			break
		fi
		k=$((k + 1))
	done
	[ -n "$found" ] || kv_fail "kv_conf_rtp_ops: $KV_TEST is not a drain or reload test"
	[ $((off + size)) -le 500 ] || kv_fail "kv_conf_rtp_ops: $off+$size ports is more than a slot"
	KV_RTP_START=$((10000 + 500 * k + off))
	KV_RTP_END=$((KV_RTP_START + size - 1))
	[ "$KV_RTP_END" -lt 15000 ] || kv_fail "kv_conf_rtp_ops: no slot left for $KV_TEST"
	printf '; written by %s\n[general]\nrtpstart=%d\nrtpend=%d\n' \
		"$KV_TEST" "$KV_RTP_START" "$KV_RTP_END" > "$KV_CONF/rtp.conf"
}

# kv_conf_ops_calls USER...: kv_conf_calls with kv_conf_rtp_ops's range.
kv_conf_ops_calls()
{
	kv_conf_transports
	kv_conf_call_users "$@"
	kv_conf_rtp_ops 100
	kv_conf_dialplan 10
	kv_conf_dirs
}

# kv_conf_general K=V...: kubevox.conf [general] section (drain_timeout);
# replaces the file.
kv_conf_general()
{
	{
		printf '; written by %s\n[general]\n' "$KV_TEST"
		printf '%s\n' "$@"
	} > "$KV_CONF/kubevox.conf"
}

# kvd_wait_exit SECONDS WHAT: the daemon must exit by itself (after a
# signal the test sent, or a drain it started) within SECONDS, with status
# 0 and a log free of sanitizer reports.
kvd_wait_exit()
{
	local secs=$1 what=$2 rc

	[ -n "$KVD_PID" ] || kv_fail "kvd_wait_exit: daemon not running"
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "$KVD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$KVD_PID" 2>/dev/null; then
		kv_fail "$what: kubevoxd still running after $secs s"
	fi
	wait "$KVD_PID"
	rc=$?
	KVD_PID=
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$KVD_LOG"; then
		printf -- '--- sanitizer report ---\n' >&2
		grep -E -A 40 'AddressSanitizer|LeakSanitizer|runtime error:' "$KVD_LOG" >&2
		kv_fail "$what: sanitizer report in the kubevoxd log"
	fi
	[ "$rc" = 0 ] || kv_fail "$what: kubevoxd exited with status $rc"
	kv_ok "$what: kubevoxd exited 0 within $secs s, no sanitizer report"
}

# kv_python_ops: kv_python_call that may also signal the daemon and read
# its log (kvsip.kvd_signal, kvsip.kvd_wait_log): KVD_PID, KVD_LOG and
# KV_CONF are exported to the body.
kv_python_ops()
{
	KVD_PID=$KVD_PID KVD_LOG=$KVD_LOG KV_CONF=$KV_CONF kv_python_call "$@"
}

# kv_log_count REGEX: lines of the daemon log matching REGEX.
kv_log_count()
{
	grep -Ec -- "$1" "$KVD_LOG" 2>/dev/null || true
}

# --- call tests with endpoint options (language, rtp_timeout, timers) ----

# kv_conf_call_user USER [endpoint.K=V|aor.K=V ...]: one phone as
# kv_conf_call_users makes them, with options of its own, appended to
# pjsip.conf (after kv_conf_calls, which writes the file anew).
kv_conf_call_user()
{
	local u=$1
	shift

	kv_conf_user "$u" endpoint.disallow=all endpoint.allow=ulaw,alaw "$@"
}

# kv_conf_exten LINE...: dialplan lines appended to extensions.conf, whose
# last context is kv_conf_dialplan's from-internal.
kv_conf_exten()
{
	printf '%s\n' "$@" >> "$KV_CONF/extensions.conf"
}

# kv_wait_register SECONDS USER [PASSWORD]: REGISTER USER (password
# secretUSER by default) every 0.2 s until it is answered 200, for at most
# SECONDS; fails the test if it never is.  For changes a reload brings.
kv_wait_register()
{
	local secs=$1 user=$2 pass=${3:-secret$2} out=

	for _ in $(seq 1 $((secs * 5))); do
		out=$(kv_py register "$user" "$pass" 2>&1) && return 0
		sleep 0.2
	done
	kv_fail "REGISTER $user did not succeed within $secs s: $out"
}

# kv_register_fails USER [PASSWORD]: one REGISTER of USER must not get 200.
kv_register_fails()
{
	local user=$1 pass=${2:-secret$1} out

	out=$(kv_py register "$user" "$pass" 2>&1) &&
		kv_fail "REGISTER $user with password $pass succeeded: $out"
	return 0
}

# kv_register_ok USER [PASSWORD]: one REGISTER of USER must get 200.
kv_register_ok()
{
	local user=$1 pass=${2:-secret$1} out

	out=$(kv_py register "$user" "$pass" 2>&1) ||
		kv_fail "REGISTER $user with password $pass: $out"
}

# kv_configmap_publish SRC DIR: publish the files of SRC in DIR the way the
# kubelet updates a ConfigMap or Secret volume: the files go to a new
# timestamped directory ..<time>, a temporary symlink to it is renamed over
# ..data (one atomic step), every key has a top-level symlink
# KEY -> ..data/KEY (links of keys gone are removed), and the previous
# timestamped directory is deleted.  The first call creates the layout.
KV_CM_SEQ=0
kv_configmap_publish()
{
	local src=$1 dir=$2 ts old f

	KV_CM_SEQ=$((KV_CM_SEQ + 1))
	ts=$(printf '..2026_11_26_00_00_%02d.%09d' "$KV_CM_SEQ" "$KV_CM_SEQ")
	mkdir -p "$dir/$ts" || kv_fail "kv_configmap_publish: cannot create $dir/$ts"
	cp "$src"/* "$dir/$ts/" || kv_fail "kv_configmap_publish: cannot copy $src"
	old=$(readlink "$dir/..data" 2>/dev/null) || old=
	if ! ln -s "$ts" "$dir/..data_tmp" || ! mv -T "$dir/..data_tmp" "$dir/..data"; then
		kv_fail "kv_configmap_publish: cannot swap $dir/..data"
	fi
	for f in "$dir/$ts"/*; do
		f=$(basename "$f")
		[ -L "$dir/$f" ] || ln -s "..data/$f" "$dir/$f"
	done
	for f in "$dir"/*; do
		if [ -L "$f" ] && [ ! -e "$f" ]; then
			rm -f "$f"
		fi
	done
	if [ -n "$old" ] && [ "$old" != "$ts" ]; then
		rm -rf "${dir:?}/$old"
	fi
}

# --- HTTP: health, metrics, status, probes (test_ops_*.sh) ----------------

# kv_conf_http [K=V...]: http.conf serving on 127.0.0.1:KV_HTTP_PORT (a free
# port, set and exported here), plus any extra [general] options; replaces
# the file.
kv_conf_http()
{
	KV_HTTP_PORT=$(kv_free_port) || kv_fail "cannot find a free port for HTTP"
	export KV_HTTP_PORT
	{
		printf '; written by %s\n[general]\nenabled=yes\n' "$KV_TEST"
		printf 'bindaddr=127.0.0.1\nbindport=%d\n' "$KV_HTTP_PORT"
		printf '%s\n' "$@"
	} > "$KV_CONF/http.conf"
}

# kv_conf_debug_freeze: kubevox.conf [debug] allow_freeze=yes (POST
# /debug/freeze), added to whatever kubevox.conf already holds.
kv_conf_debug_freeze()
{
	printf '\n[debug]\nallow_freeze=yes\n' >> "$KV_CONF/kubevox.conf"
}

# kv_conf_rtp_http [SIZE]: rtp.conf for the test_ops_*.sh tests, which no
# other slot covers: slot k of their sorted names gets 9000+100k .. +SIZE-1
# (SIZE at most 100, default 20), below kv_conf_rtp_ops's area.  Sets
# KV_RTP_START and KV_RTP_END.
kv_conf_rtp_http()
{
	local size=${1:-20} k=0 f found=

	for f in "$KV_SRC"/tests/sip/test_ops_*.sh; do
		if [ "$(basename "$f" .sh)" = "$KV_TEST" ]; then
			found=1
			break
		fi
		k=$((k + 1))
	done
	[ -n "$found" ] || kv_fail "kv_conf_rtp_http: $KV_TEST is not a test_ops_*.sh test"
	[ "$size" -le 100 ] || kv_fail "kv_conf_rtp_http: $size ports is more than a slot"
	KV_RTP_START=$((9000 + 100 * k))
	KV_RTP_END=$((KV_RTP_START + size - 1))
	[ "$KV_RTP_END" -lt 10000 ] || kv_fail "kv_conf_rtp_http: no slot left for $KV_TEST"
	printf '; written by %s\n[general]\nrtpstart=%d\nrtpend=%d\n' \
		"$KV_TEST" "$KV_RTP_START" "$KV_RTP_END" > "$KV_CONF/rtp.conf"
}

# kv_http METHOD PATH: one request to 127.0.0.1:KV_HTTP_PORT.  Sets
# KV_HTTP_CODE (000 when nothing answered), KV_HTTP_BODY and KV_HTTP_TYPE
# (Content-Type); the body is also in $KV_TMP/http.body.  Not for $(...).
kv_http()
{
	local out

	out=$(curl -sS -m 10 -X "$1" -o "$KV_TMP/http.body" \
		-w '%{http_code} %{content_type}' \
		"http://${KV_HTTP_HOST:-127.0.0.1}:$KV_HTTP_PORT$2" 2>"$KV_TMP/http.err")
	KV_HTTP_CODE=${out%% *}
	KV_HTTP_CODE=${KV_HTTP_CODE:-000}
	# shellcheck disable=SC2034 # read by the tests
	KV_HTTP_TYPE=${out#* }
	KV_HTTP_BODY=$(cat "$KV_TMP/http.body" 2>/dev/null)
}

# kv_http_until PATH CODE [SECONDS]: poll GET PATH until it answers CODE
# (default within 10 s); KV_HTTP_* then hold that answer.
kv_http_until()
{
	local path=$1 want=$2 secs=${3:-10} end

	end=$((SECONDS + secs))
	while :; do
		kv_http GET "$path"
		[ "$KV_HTTP_CODE" = "$want" ] && return 0
		[ "$SECONDS" -lt "$end" ] || break
		sleep 0.1
	done
	kv_fail "GET $path did not answer $want within $secs s (last: $KV_HTTP_CODE $KV_HTTP_BODY)"
}

# kv_metrics FILE: GET /metrics into FILE; it must be 200 and valid
# Prometheus text, checked strictly by kvops.py.
kv_metrics()
{
	kv_http GET /metrics
	[ "$KV_HTTP_CODE" = 200 ] || kv_fail "GET /metrics: $KV_HTTP_CODE $KV_HTTP_BODY"
	cp "$KV_TMP/http.body" "$1"
	python3 "$KV_SIP_DIR/kvops.py" prom "$1" || kv_fail "/metrics is not valid Prometheus text"
}

# kv_metric FILE SERIES: print the value of one series of a kv_metrics
# file, as written there (name{label="value"}); nothing when absent (check
# the result with kv_assert_*).
kv_metric()
{
	python3 "$KV_SIP_DIR/kvops.py" value "$1" "$2"
}

# --- cluster: several replicas and one Redis (issue #9) ------------------

# kv_redis_start: this test's redis-server, on a unix socket in KV_TMP, no
# persistence (KV_REDIS_SOCK, KV_REDIS_PID).  A second call after
# kv_redis_stop starts it again, empty.
kv_redis_start()
{
	KV_REDIS_SOCK=$KV_TMP/redis.sock
	rm -f "$KV_REDIS_SOCK"
	redis-server --port 0 --unixsocket "$KV_REDIS_SOCK" --unixsocketperm 700 \
		--save '' --appendonly no --dir "$KV_TMP" \
		>> "$KV_TMP/redis.log" 2>&1 &
	KV_REDIS_PID=$!
	KV_BG_PIDS="$KV_BG_PIDS $KV_REDIS_PID"
	for _ in $(seq 1 100); do
		redis-cli -s "$KV_REDIS_SOCK" ping 2>/dev/null | grep -q PONG && return 0
		sleep 0.05
	done
	kv_fail "redis-server did not answer within 5 s (see $KV_TMP/redis.log)"
}

# kv_redis_stop [SIGNAL]: stop it (KILL by default) and wait.
kv_redis_stop()
{
	kill -s "${1:-KILL}" "$KV_REDIS_PID" 2>/dev/null
	wait "$KV_REDIS_PID" 2>/dev/null
	KV_REDIS_PID=
}

kv_redis_cli()
{
	redis-cli -s "$KV_REDIS_SOCK" "$@"
}

# kv_cluster_conf N: configuration directories for replicas 1..N, r1 on
# 127.0.0.2, r2 on 127.0.0.3, ... (KV_PORT on each), made from KV_CONF
# (write KV_CONF first): pjsip.conf's binds moved to the replica's
# address, kubevox.conf gains [state] (this test's Redis) and [cluster]
# (name, advertise, a shared secret), http.conf on the replica's address
# at KV_HTTP_PORT when KV_CONF has one.
kv_cluster_conf()
{
	local n=$1 i addr dir

	[ -n "${KV_REDIS_SOCK:-}" ] || kv_fail "kv_cluster_conf: start Redis first"
	KV_REPLICAS=$n
	for i in $(seq 1 "$n"); do
		addr=127.0.0.$((i + 1))
		dir=$KV_TMP/r$i
		rm -rf "$dir"
		cp -r "$KV_CONF" "$dir"
		sed -i "s/^bind=127\.0\.0\.1:/bind=$addr:/" "$dir/pjsip.conf"
		[ -f "$dir/http.conf" ] && sed -i "s/^bindaddr=.*/bindaddr=$addr/" "$dir/http.conf"
		{
			printf '\n[state]\nbackend=redis\nurl=unix:%s\n' "$KV_REDIS_SOCK"
			printf '[cluster]\nreplica=r%d\nadvertise=%s:%d\n' "$i" "$addr" "$KV_PORT"
			printf 'secret=kubevox-test-cluster-secret-0123456789\n'
		} >> "$dir/kubevox.conf"
	done
}

# kv_replica_addr I: the address replica I listens on.
kv_replica_addr()
{
	printf '127.0.0.%d\n' $(($1 + 1))
}

# kv_replica_start I: start replica I and wait for event=ready
# (KV_RPID_I, KV_RLOG_I).  Its log is appended to across restarts.
kv_replica_start()
{
	local i=$1 log=$KV_TMP/r$1.log pid n

	"$KV_BIN/kubevoxd" -C "$KV_TMP/r$i" >> "$log" 2>&1 &
	pid=$!
	printf -v "KV_RPID_$i" '%s' "$pid"
	printf -v "KV_RLOG_$i" '%s' "$log"
	KV_BG_PIDS="$KV_BG_PIDS $pid"
	for _ in $(seq 1 100); do
		n=$(grep -c 'event=ready' "$log" 2>/dev/null)
		[ "${n:-0}" -gt "$(cat "$KV_TMP/r$i.readies" 2>/dev/null || echo 0)" ] && {
			grep -c 'event=ready' "$log" > "$KV_TMP/r$i.readies"
			return 0
		}
		kill -0 "$pid" 2>/dev/null || kv_fail "replica r$i exited before event=ready (see $log)"
		sleep 0.1
	done
	kv_fail "replica r$i did not log event=ready within 10 s"
}

# kv_replica_stop I [SIGNAL]: TERM (default) waits for a clean exit 0 and
# checks the log for sanitizer reports; KILL just kills.
kv_replica_stop()
{
	local i=$1 sig=${2:-TERM} pidvar="KV_RPID_$1" logvar="KV_RLOG_$1" rc

	[ -n "${!pidvar:-}" ] || kv_fail "kv_replica_stop: r$i not running"
	kill -s "$sig" "${!pidvar}" 2>/dev/null
	if [ "$sig" = KILL ]; then
		wait "${!pidvar}" 2>/dev/null
		printf -v "$pidvar" '%s' ""
		return 0
	fi
	for _ in $(seq 1 100); do
		kill -0 "${!pidvar}" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "${!pidvar}" 2>/dev/null && kv_fail "r$i still running 10 s after SIG$sig"
	wait "${!pidvar}"
	rc=$?
	printf -v "$pidvar" '%s' ""
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "${!logvar}"; then
		grep -E -A 40 'AddressSanitizer|LeakSanitizer|runtime error:' "${!logvar}" >&2
		kv_fail "sanitizer report in the log of r$i"
	fi
	[ "$rc" = 0 ] || kv_fail "r$i exited with status $rc after SIG$sig"
}

# kv_cluster_start N: Redis, the configurations and N replicas.
kv_cluster_start()
{
	kv_redis_start
	kv_cluster_conf "$1"
	for i in $(seq 1 "$1"); do
		kv_replica_start "$i"
	done
}

# kv_cluster_stop: every running replica with SIGTERM (exit 0, clean logs).
kv_cluster_stop()
{
	local i pidvar

	for i in $(seq 1 "${KV_REPLICAS:-0}"); do
		pidvar="KV_RPID_$i"
		[ -n "${!pidvar:-}" ] && kv_replica_stop "$i"
	done
	return 0
}

# kv_cluster_python: kv_python_call with the replicas' addresses in
# KV_REPLICA_ADDRS (space-separated, r1 first).
kv_cluster_python()
{
	local addrs="" i

	for i in $(seq 1 "${KV_REPLICAS:-0}"); do
		addrs="$addrs $(kv_replica_addr "$i")"
	done
	KV_REPLICA_ADDRS=${addrs# } KV_REDIS_SOCK=${KV_REDIS_SOCK:-} kv_python_call "$@"
}

# --- cluster on Redis Sentinel (issue #10) ------------------------------

KV_SENTINEL_MASTER=kvmaster
KV_SENTINEL_PASSWORD=kubevox-test-redis-password-0123

# kv__redis_node NAME [ARGS...]: one password-protected redis-server on
# 127.0.0.1 at a free port, with a unix socket for the test's own
# commands (KV_RNODE_<NAME>_PORT, _PID, _SOCK).
kv__redis_node()
{
	local name=$1 port pid sock
	shift
	port=$(kv_free_port) || kv_fail "no free port for redis $name"
	sock=$KV_TMP/redis-$name.sock
	rm -f "$sock"
	redis-server --port "$port" --bind 127.0.0.1 --unixsocket "$sock" --unixsocketperm 700 \
		--save '' --appendonly no --dir "$KV_TMP" --dbfilename "dump-$name.rdb" \
		--requirepass "$KV_SENTINEL_PASSWORD" --masterauth "$KV_SENTINEL_PASSWORD" \
		"$@" >> "$KV_TMP/redis-$name.log" 2>&1 &
	pid=$!
	KV_BG_PIDS="$KV_BG_PIDS $pid"
	printf -v "KV_RNODE_${name}_PORT" '%s' "$port"
	printf -v "KV_RNODE_${name}_PID" '%s' "$pid"
	printf -v "KV_RNODE_${name}_SOCK" '%s' "$sock"
	for _ in $(seq 1 100); do
		redis-cli -s "$sock" -a "$KV_SENTINEL_PASSWORD" --no-auth-warning ping 2>/dev/null |
			grep -q PONG && return 0
		sleep 0.05
	done
	kv_fail "redis $name did not answer within 5 s (see $KV_TMP/redis-$name.log)"
}

# kv_rnode_cli NAME ARGS...: a command to node NAME (a or b).
kv_rnode_cli()
{
	local sockvar="KV_RNODE_${1}_SOCK"
	shift
	redis-cli -s "${!sockvar}" -a "$KV_SENTINEL_PASSWORD" --no-auth-warning "$@"
}

# kv_sentinel_start: Redis a (the master), Redis b (its replica) and 3
# sentinels (quorum 2, down-after 1 s, failover-timeout 5 s) watching
# KV_SENTINEL_MASTER, every one with the password KV_SENTINEL_PASSWORD;
# waits until the replica is in sync and every sentinel knows the other
# two and the replica.  KV_SENTINEL_URL is the url for kubevox.conf,
# KV_SENTINEL_PIDS the sentinels' pids.
kv_sentinel_start()
{
	local i port conf urls="" pid ok

	kv__redis_node a
	# shellcheck disable=SC2154 # KV_RNODE_*: set by kv__redis_node (printf -v)
	kv__redis_node b --replicaof 127.0.0.1 "$KV_RNODE_a_PORT"
	for _ in $(seq 1 100); do
		kv_rnode_cli b info replication | grep -q '^master_link_status:up' && break
		sleep 0.05
	done
	kv_rnode_cli b info replication | grep -q '^master_link_status:up' ||
		kv_fail "redis b did not sync with a within 5 s"
	KV_SENTINEL_PIDS=
	KV_SENTINEL_PORTS=
	for i in 1 2 3; do
		port=$(kv_free_port) || kv_fail "no free port for sentinel $i"
		conf=$KV_TMP/sentinel$i.conf
		# Sentinel rewrites its file: it must be its own, and writable.
		cat > "$conf" <<EOC
port $port
bind 127.0.0.1
dir $KV_TMP
requirepass "$KV_SENTINEL_PASSWORD"
sentinel monitor $KV_SENTINEL_MASTER 127.0.0.1 $KV_RNODE_a_PORT 2
sentinel auth-pass $KV_SENTINEL_MASTER $KV_SENTINEL_PASSWORD
sentinel down-after-milliseconds $KV_SENTINEL_MASTER 1000
sentinel failover-timeout $KV_SENTINEL_MASTER 5000
sentinel parallel-syncs $KV_SENTINEL_MASTER 1
EOC
		redis-sentinel "$conf" >> "$KV_TMP/sentinel$i.log" 2>&1 &
		pid=$!
		KV_BG_PIDS="$KV_BG_PIDS $pid"
		KV_SENTINEL_PIDS="$KV_SENTINEL_PIDS $pid"
		KV_SENTINEL_PORTS="$KV_SENTINEL_PORTS $port"
		urls="$urls,127.0.0.1:$port"
	done
	KV_SENTINEL_PORTS=${KV_SENTINEL_PORTS# }
	KV_SENTINEL_URL="redis-sentinel://${urls#,}/$KV_SENTINEL_MASTER"
	for _ in $(seq 1 200); do
		ok=0
		for port in $KV_SENTINEL_PORTS; do
			kv_sentinel_cli "$port" sentinel master "$KV_SENTINEL_MASTER" 2>/dev/null |
				tr '\n' ' ' | grep -Eq 'num-slaves 1 .*num-other-sentinels 2 ' && ok=$((ok + 1))
		done
		[ "$ok" = 3 ] && return 0
		sleep 0.1
	done
	kv_fail "the sentinels did not find each other and the replica within 20 s"
}

# kv_sentinel_cli PORT ARGS...: a command to the sentinel on PORT.
kv_sentinel_cli()
{
	local port=$1
	shift
	redis-cli -h 127.0.0.1 -p "$port" -a "$KV_SENTINEL_PASSWORD" --no-auth-warning "$@"
}

# kv_sentinel_master_port: the master's port as the first sentinel that
# answers says.
kv_sentinel_master_port()
{
	local port
	for port in $KV_SENTINEL_PORTS; do
		kv_sentinel_cli "$port" sentinel get-master-addr-by-name "$KV_SENTINEL_MASTER" \
			2>/dev/null | sed -n 2p | grep . && return 0
	done
	return 1
}

# kv_sentinel_cluster_start N: Redis on Sentinel (kv_sentinel_start), the
# configurations of kv_cluster_conf with [state] url = KV_SENTINEL_URL
# and the password, and N replicas.  KV_REDIS_SOCK is Redis a's socket.
kv_sentinel_cluster_start()
{
	local i

	kv_sentinel_start
	# shellcheck disable=SC2154 # set by kv__redis_node (printf -v)
	KV_REDIS_SOCK=$KV_RNODE_a_SOCK
	kv_cluster_conf "$1"
	for i in $(seq 1 "$1"); do
		sed -i "s|^url=unix:.*|url=$KV_SENTINEL_URL\npassword=$KV_SENTINEL_PASSWORD|" \
			"$KV_TMP/r$i/kubevox.conf"
		kv_replica_start "$i"
	done
}

# --- front door (issue #10): k8s/front/front.sh before the replicas -----

KV_FRONT_ADDR=127.0.0.10
KV_FRONT_PID=
KV_FRONT_LOG=

# kv_front_replicas I...: write the front's REPLICAS_FILE
# ($KV_TMP/replicas): sip:ADDR:KV_PORT of each replica I, one a line.
kv_front_replicas()
{
	local i

	for i in "$@"; do
		printf 'sip:%s:%d\n' "$(kv_replica_addr "$i")" "$KV_PORT"
	done > "$KV_TMP/replicas.new" && mv -f "$KV_TMP/replicas.new" "$KV_TMP/replicas"
}

# kv_front_start I...: the front on KV_FRONT_ADDR:KV_FRONT_PORT (a free
# port, exported with KV_FRONT_ADDR for kvsip) sending to replicas I...
# (default: all of kv_cluster_start's), with its run directory in
# $KV_TMP/front (control socket ctl.sock); waits up to 10 s until it
# answers OPTIONS.  It runs in a process group of its own, which the EXIT
# trap kills whole (Kamailio forks).  Log in KV_FRONT_LOG.
kv_front_start()
{
	local out try

	[ $# -gt 0 ] || set -- $(seq 1 "${KV_REPLICAS:-0}")
	kv_front_replicas "$@"
	KV_FRONT_LOG=$KV_TMP/front.log
	# kv_free_port checks 127.0.0.1: the front of a test running in
	# parallel may hold the port on KV_FRONT_ADDR, so a bind failure
	# means another port.
	for try in 1 2 3; do
		KV_FRONT_PORT=$(kv_free_port) || kv_fail "no free port for the front"
		export KV_FRONT_ADDR KV_FRONT_PORT
		FRONT_RUNDIR=$KV_TMP/front setsid "$KV_SRC/k8s/front/front.sh" \
			"$KV_FRONT_ADDR:$KV_FRONT_PORT" "$KV_TMP/replicas" \
			> "$KV_FRONT_LOG" 2>&1 < /dev/null &
		KV_FRONT_PID=$!
		KV_BG_PIDS="$KV_BG_PIDS -$KV_FRONT_PID"
		for _ in $(seq 1 50); do
			kill -0 "$KV_FRONT_PID" 2>/dev/null || break
			out=$(PYTHONPATH=$KV_SIP_DIR timeout -k 2 5 python3 -c \
				'import kvsip; print(kvsip.front_options(0.2))' 2>&1)
			[ "$out" = 200 ] && return 0
			sleep 0.2
		done
		kill -0 "$KV_FRONT_PID" 2>/dev/null &&
			kv_fail "the front did not answer OPTIONS within 10 s: $out
$(tail -n 20 "$KV_FRONT_LOG")"
		wait "$KV_FRONT_PID" 2>/dev/null
		grep -q 'Address already in use' "$KV_FRONT_LOG" ||
			kv_fail "front.sh exited at start: $(tail -n 20 "$KV_FRONT_LOG")"
		kv_log "front port $KV_FRONT_PORT taken on $KV_FRONT_ADDR (try $try), another one"
	done
	kv_fail "no free port for the front on $KV_FRONT_ADDR in 3 tries"
}

# kv_front_stop: SIGTERM to front.sh; it must exit 0 within 10 s, and
# leave no Kamailio process behind.
kv_front_stop()
{
	local rc

	[ -n "$KV_FRONT_PID" ] || kv_fail "kv_front_stop: the front is not running"
	kill -TERM "$KV_FRONT_PID" 2>/dev/null
	for _ in $(seq 1 100); do
		kill -0 "$KV_FRONT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$KV_FRONT_PID" 2>/dev/null && kv_fail "front.sh still running 10 s after SIGTERM"
	wait "$KV_FRONT_PID"
	rc=$?
	[ "$rc" = 0 ] || kv_fail "front.sh exited with status $rc after SIGTERM"
	pgrep -g "$KV_FRONT_PID" > /dev/null && kv_fail "processes of the front left after SIGTERM: $(pgrep -a -g "$KV_FRONT_PID")"
	KV_FRONT_PID=
	kv_ok "the front stopped on SIGTERM"
}

# kv_front_wait_log REGEX [COUNT] [SECONDS]: wait (default 10 s) for COUNT
# (default 1) lines of the front's log matching REGEX.
kv_front_wait_log()
{
	local re=$1 want=${2:-1} secs=${3:-10} got=0

	for _ in $(seq 1 $((secs * 10))); do
		got=$(grep -Ec -- "$re" "$KV_FRONT_LOG" 2>/dev/null)
		[ "${got:-0}" -ge "$want" ] && return 0
		sleep 0.1
	done
	kv_fail "expected $want lines of the front's log matching /$re/ within $secs s, found ${got:-0}"
}

# kv_replica_wait_exit I SECONDS: replica I must exit by itself (after a
# drain) within SECONDS, with status 0 and a log free of sanitizer reports.
# No signal is sent: one during its exit would kill it.
kv_replica_wait_exit()
{
	local i=$1 secs=$2 pidvar="KV_RPID_$1" logvar="KV_RLOG_$1" rc

	[ -n "${!pidvar:-}" ] || kv_fail "kv_replica_wait_exit: r$i not running"
	for _ in $(seq 1 $((secs * 10))); do
		kill -0 "${!pidvar}" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "${!pidvar}" 2>/dev/null && kv_fail "r$i still running after $secs s"
	wait "${!pidvar}"
	rc=$?
	printf -v "$pidvar" '%s' ""
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "${!logvar}"; then
		grep -E -A 40 'AddressSanitizer|LeakSanitizer|runtime error:' "${!logvar}" >&2
		kv_fail "sanitizer report in the log of r$i"
	fi
	[ "$rc" = 0 ] || kv_fail "r$i exited with status $rc"
}
