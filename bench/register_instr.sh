#!/usr/bin/env bash
# register_instr.sh - CPU instructions per authenticated registration,
# kubevoxd against an earlier build of itself, counted by callgrind.
#
# usage: bench/register_instr.sh BUILD_DIR BASE_BUILD_DIR
#
# register.sh measures CPU time against Kamailio; on a shared machine one
# window differs from the next by 15 %, so a change of a few percent needs
# many rounds.  Instructions executed are the same from run to run whatever
# else the machine does: this script runs each build under
# `valgrind --tool=callgrind` with the same SIPp load (REGISTER, 401,
# REGISTER, 200, USERS users at RATE/s, slow enough for valgrind) and prints
# instructions per registration and their ratio.  Start-up and shutdown are
# left out (the counters are zeroed after a warm-up pass and dumped when
# the measured pass ends).  Exit status 0 when the ratio is below MAX_RATIO (default 1.02).
#
# The exit trap's helpers are only ever called by the trap.
# shellcheck disable=SC2317

set -eu -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

BUILD_DIR=${1:-}
BASE_DIR=${2:-}
USERS=${USERS:-1000}
RATE=${RATE:-100}
REGS=${REGS:-3000}
MAX_RATIO=${MAX_RATIO:-1.02}
PIDS=""
WORK=""
RESULT=2

die() {
	echo "register_instr.sh: $*" >&2
	exit 2
}

bench_pids() {
	echo "${BENCH_CHILD:-}" "$PIDS"
}

bench_exit_init register_instr.sh

[ -n "$BUILD_DIR" ] && [ -n "$BASE_DIR" ] || die "usage: $0 BUILD_DIR BASE_BUILD_DIR"
for d in "$BUILD_DIR" "$BASE_DIR"; do
	[ -x "$d/kubevoxd" ] || die "$d/kubevoxd not found: build first"
done
command -v valgrind >/dev/null || die "valgrind not found"
command -v callgrind_control >/dev/null || die "callgrind_control not found"
command -v sipp >/dev/null || die "sipp not found (Debian package sip-tester)"

WORK=$(mktemp -d /tmp/kv-instr.XXXXXX)
BENCH_OUT=$WORK
BENCH_SCENARIO=$HERE/scenarios/register.xml
gen_users_csv "$WORK/users.csv"

# measure NAME BUILD: instructions per registration of BUILD/kubevoxd.
measure() {
	local name=$1 build=$2 port pid out ir
	port=$(free_udp_port 26060)
	gen_kubevox_conf "$WORK/$name" "$port" 100000 "$USERS" 1 yes
	out="$WORK/$name.callgrind"
	valgrind --tool=callgrind --callgrind-out-file="$out" --dump-instr=no \
		"$build/kubevoxd" -C "$WORK/$name" \
		>"$WORK/$name.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	kubevoxd_ready "$pid" "$WORK/$name.log" 60 >/dev/null ||
		die "$name did not start under valgrind, see $WORK/$name.log"
	# An unmeasured pass (first touch of every user), then the count.
	sipp_run "warm_$name" "127.0.0.1:$port" "$WORK/users.csv" "$RATE" "$USERS" "$pid"
	callgrind_control -z "$pid" >/dev/null 2>&1
	sipp_run "run_$name" "127.0.0.1:$port" "$WORK/users.csv" "$RATE" "$REGS" "$pid"
	[ "$R_FAIL" = 0 ] || die "$name: $R_FAIL registrations failed"
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill -TERM "$pid"
	wait "$pid" || true
	ir=$(callgrind_annotate "$out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
	[ -n "$ir" ] || die "$name: no callgrind totals in $out.1"
	echo $(( ir / REGS ))
}

echo "register_instr.sh: $REGS registrations at $RATE/s over $USERS users, each build under callgrind"
new=$(measure kubevoxd "$BUILD_DIR")
echo "kubevoxd  $BUILD_DIR: $new instructions per registration"
base=$(measure base "$BASE_DIR")
echo "base      $BASE_DIR: $base instructions per registration"
ratio=$(calc "x = $new / $base" '%.4f')
ok=$(calc "x = ($ratio < $MAX_RATIO)" '%d')
echo "instruction ratio kubevoxd / base = $ratio (target < $MAX_RATIO): $([ "$ok" = 1 ] && echo PASS || echo FAIL)"
if [ "$ok" = 1 ]; then RESULT=0; else RESULT=1; fi
exit "$RESULT"
