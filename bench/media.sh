#!/usr/bin/env bash
# media.sh - media benchmark: kubevox's RTP relay engine against a bare
# UDP forwarder, under the same G.711 load, in the same run.
#
# usage: bench/media.sh BUILD_DIR     (a build without sanitizers: make build)
#
# CALLS (1000) relayed calls, each two G.711 streams of 50 packets/s (one
# per direction) into the relay and two out of it: 200 packets/s per call
# through the relay.  Three binaries, which `make build` builds optimised
# into BUILD_DIR/bench (bench/CMakeLists.txt):
#   media_bench  kubevox's engine (linked with kvcore) with WORKERS (1)
#                worker thread and CALLS pairs of connected legs;
#   media_fwd    the reference: one thread, epoll, recvmmsg/sendmmsg,
#                nothing else (no checks, no counters, no timers);
#   media_load   the phones: sends the streams for DURATION (20) s, counts
#                what comes back per stream, and reads the relay's CPU time
#                (all threads, schedstat) over the run.
# The reference and the engine run one after the other, ROUNDS (2) times,
# alternating; the best CPU per packet of each is kept, the worst loss.
#
# Targets (exit 0 when both are met, 1 when one is missed, 2 when the
# benchmark could not run):
#   * engine CPU per relayed packet / reference CPU per packet <= 1.5;
#   * loss under 0.1 % for the engine at CALLS (1000) calls on one worker.
# A warning is printed when the load generator fell more than 5 % short of
# the nominal rate (a busy machine): the CPU figures are per packet and
# still comparable, the loss figure is then for a lighter load.
#
# Knobs: CALLS, DURATION, WORKERS, ROUNDS, RTP_RANGE (10000-29999: below
# the kernel's ephemeral ports), GEN_SOCKETS (8), KEEP=1 (keep the work
# directory; always kept when a target is missed).
#
# The exit trap's helpers are only called by trap.
# shellcheck disable=SC2317

set -eu -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

BUILD_DIR=${1:-}
CALLS=${CALLS:-1000}
DURATION=${DURATION:-20}
WORKERS=${WORKERS:-1}
ROUNDS=${ROUNDS:-2}
RTP_RANGE=${RTP_RANGE:-10000-29999}
GEN_SOCKETS=${GEN_SOCKETS:-8}

PIDS=""
WORK=""
BIN=""
RESULT=2

die() {
	echo "media.sh: $*" >&2
	exit 2
}

bench_pids() {
	echo "$PIDS"
}

bench_exit_init media.sh

# Value of KEY in a logfmt line.
field() {
	echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# The programs CMake built; only a plain build has them (bench/CMakeLists.txt
# is left out of the sanitizer and fuzzing builds).
find_bins() {
	local b
	[ -n "$BUILD_DIR" ] || die "usage: bench/media.sh BUILD_DIR"
	BIN="$BUILD_DIR/bench"
	for b in media_bench media_fwd media_load; do
		[ -x "$BIN/$b" ] || die "$BIN/$b not found (make build first; not in a sanitizer build)"
	done
}

# run LABEL CMD...: starts the relay, waits for its port map, runs the
# load against it, stops it; the load's report line goes to R_LINE.
run() {
	local label=$1 pid i map="$WORK/$1.map"
	shift
	rm -f "$map"
	"$@" -m "$map" >"$WORK/$label.out" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	for i in $(seq 300); do
		[ -f "$map" ] && break
		[ -d "/proc/$pid" ] || die "$label exited: $(cat "$WORK/$label.out")"
		sleep 0.1
	done
	[ -f "$map" ] || die "$label did not start"
	R_LINE=$("$BIN/media_load" -m "$map" -d "$DURATION" -p "$pid" -g "$GEN_SOCKETS") ||
		die "media_load failed against $label"
	echo "$R_LINE" >"$WORK/$label.load"
	stop_proc "$pid"
	# One relay runs at a time.
	PIDS=""
}

find_bins
WORK=$(mktemp -d /tmp/kv-media.XXXXXX)

FWD_NS=""
KV_NS=""
KV_LOSS=0
SHORT=""
NOMINAL=$((CALLS * 100))
for r in $(seq "$ROUNDS"); do
	run "fwd.$r" "$BIN/media_fwd" -n "$CALLS"
	ns=$(field "$R_LINE" ns_per_pkt)
	echo "round $r reference:  $R_LINE"
	if [ -z "$FWD_NS" ] || [ "$(calc "x = ($ns < $FWD_NS)" %d)" = 1 ]; then FWD_NS=$ns; fi
	[ "$(calc "x = ($(field "$R_LINE" rate_pps) < 0.95 * $NOMINAL)" %d)" = 1 ] && SHORT=1

	run "kv.$r" "$BIN/media_bench" -n "$CALLS" -w "$WORKERS" -r "$RTP_RANGE"
	ns=$(field "$R_LINE" ns_per_pkt)
	loss=$(field "$R_LINE" loss_pct)
	echo "round $r kubevox:    $R_LINE"
	echo "round $r engine:     $(cat "$WORK/kv.$r.out")"
	if [ -z "$KV_NS" ] || [ "$(calc "x = ($ns < $KV_NS)" %d)" = 1 ]; then KV_NS=$ns; fi
	if [ "$(calc "x = ($loss > $KV_LOSS)" %d)" = 1 ]; then KV_LOSS=$loss; fi
	[ "$(calc "x = ($(field "$R_LINE" rate_pps) < 0.95 * $NOMINAL)" %d)" = 1 ] && SHORT=1
done

RATIO=$(calc "if ($FWD_NS > 0) x = $KV_NS / $FWD_NS; else ok = 0")
RATIO_OK=0
if [ "$RATIO" != n/a ]; then
	RATIO_OK=$(calc "x = ($RATIO <= 1.5)" %d)
fi
LOSS_OK=$(calc "x = ($KV_LOSS < 0.1)" %d)

echo
echo "== media benchmark: $CALLS calls, 200 packets/s each through the relay, ${DURATION} s x $ROUNDS rounds =="
printf '%-36s %s\n' "reference (media_fwd) CPU/packet" "$FWD_NS ns"
printf '%-36s %s\n' "kubevox ($WORKERS worker) CPU/packet" "$KV_NS ns"
printf '%-36s %s   (target <= 1.5)\n' "ratio kubevox / reference" "$RATIO"
printf '%-36s %s %%   (target < 0.1 %%)\n' "kubevox loss, worst round" "$KV_LOSS"
if [ -n "$SHORT" ]; then
	echo "warning: the load generator fell more than 5% short of $NOMINAL packets/s" \
		"(busy machine); see rate_pps above"
fi

if [ "$RATIO_OK" = 1 ] && [ "$LOSS_OK" = 1 ]; then
	RESULT=0
else
	RESULT=1
fi
exit "$RESULT"
