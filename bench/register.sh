#!/usr/bin/env bash
# register.sh - registration benchmark: kubevoxd against Kamailio, on this
# machine, under the same SIPp load, in the same run.
#
# usage: bench/register.sh BUILD_DIR      (make bench: BUILD_DIR=build)
#
# Four parts, each server measured alone while the other one idles:
#   1. steady load: RATE digest-authenticated registrations per second
#      (REGISTER, 401, REGISTER, 200) for DURATION seconds over USERS
#      users, in ROUNDS rounds that alternate between the servers so that
#      drift of the machine hits both alike; server CPU per registration,
#      failures, and whether SIPp kept up.  When either server fails any
#      call the rate is halved and both run again.
#   2. a quick ramp of short steps at rising rates, up to the first step
#      that fails, to show the maximum rate one SIPp can drive through.
#   3. memory per binding: MEM_AORS x MEM_CONTACTS distinct contacts
#      registered into a fresh kubevoxd, VmRSS before and after (and
#      Kamailio's shared memory, read with kamcmd, for comparison).
#   4. one final block with every number and the targets.
#
# BASE_BUILD=DIR adds a third server, "kvbase": DIR/kubevoxd (an earlier
# commit's build) measured the same way, in the same rounds, and the
# report gives kubevoxd's CPU per registration against it (a refactor must
# not make registrations dearer).
#
# Exit status: 0 when every target is met, 1 when a target is missed,
# 2 when the benchmark could not run.  See bench/README.md.
#
# The exit trap's helpers are only ever called by the trap.
# shellcheck disable=SC2317

set -eu -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

BUILD_DIR=${1:-}
RATE=${RATE:-1000}
DURATION=${DURATION:-60}
ROUNDS=${ROUNDS:-6}
WARMUP=${WARMUP:-1}
USERS=${USERS:-5000}
KAM_CHILDREN=${KAM_CHILDREN:-2}
RAMP_RATES=${RAMP_RATES:-"2000 4000 6000 8000 10000 12000"}
RAMP_SECS=${RAMP_SECS:-4}
MEM_AORS=${MEM_AORS:-1000}
MEM_CONTACTS=${MEM_CONTACTS:-100}
MEM_PER_REG=${MEM_PER_REG:-10}
MEM_RATE=${MEM_RATE:-1000}
BASE_BUILD=${BASE_BUILD:-}
SERVERS=${SERVERS:-"kamailio kubevoxd${BASE_BUILD:+ kvbase}"}
PIN=${PIN:-0}
KAM_STATEFUL=${KAM_STATEFUL:-0}

PIDS=""
WORK=""
RESULT=2
SERVER_PREFIX=""

# Results, keyed "server,what".
declare -A S=()     # steady load
declare -A M=()     # memory
declare -A MAX=()   # ramp: highest rate that passed
declare -A PID=()   # running servers
declare -A ADDR=()  # their host:port

die() {
	echo "register.sh: $*" >&2
	exit 2
}

bench_pids() {
	echo "${BENCH_CHILD:-}" "$PIDS"
}

bench_exit_init register.sh

# The configuration generators (users.csv, pjsip.conf) are in lib.sh.

# --- servers -----------------------------------------------------------------

# start_kamailio [MEMTEST]
start_kamailio() {
	local extra=() i
	[ "${1:-}" = MEMTEST ] && extra=(-A MEMTEST)
	[ "$KAM_STATEFUL" = 1 ] && extra+=(-A STATEFUL)
	mkdir -p "$WORK/kam"
	# shellcheck disable=SC2086
	$SERVER_PREFIX kamailio -f "$HERE/kamailio-register.cfg" -DD -E \
		-w "$WORK/kam" -Y "$WORK/kam" -l "udp:127.0.0.1:$PORT_K" \
		-n "$KAM_CHILDREN" -m 512 -M 32 -x tlsf -X tlsf \
		-A "CTL_SOCK=\"unix:$WORK/kam/ctl\"" "${extra[@]}" \
		>>"$WORK/kamailio.log" 2>&1 &
	PID[kamailio]=$!
	ADDR[kamailio]=127.0.0.1:$PORT_K
	PIDS="$PIDS ${PID[kamailio]}"
	wait_udp_port "$PORT_K" 15 || die "kamailio did not start, see $WORK/kamailio.log"
	# The control socket comes up with the children, a moment later.
	for i in $(seq 50); do
		kamcmd -s "unix:$WORK/kam/ctl" core.version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "kamailio control socket missing, see $WORK/kamailio.log"
}

# The binary and port of a kubevoxd server: this build, or BASE_BUILD's.
kv_bin() { if [ "$1" = kvbase ]; then echo "$BASE_BUILD/kubevoxd"; else echo "$KUBEVOXD"; fi; }
kv_port() { if [ "$1" = kvbase ]; then echo "$PORT_B"; else echo "$PORT_X"; fi; }

# start_kubevoxd NAME CONFDIR LOG
start_kubevoxd() {
	local name=$1 why
	# shellcheck disable=SC2086
	$SERVER_PREFIX "$(kv_bin "$name")" -C "$2" >"$3" 2>&1 &
	PID[$name]=$!
	ADDR[$name]=127.0.0.1:$(kv_port "$name")
	PIDS="$PIDS ${PID[$name]}"
	why=$(kubevoxd_ready "${PID[$name]}" "$3") || die "$why"
}

stop_server() {
	local p=${PID[$1]} rest="" q
	stop_proc "$p"
	for q in $PIDS; do
		[ "$q" = "$p" ] || rest="$rest $q"
	done
	PIDS=$rest
	unset "PID[$1]"
}

kam_shm_used() {
	local v
	v=$(kamcmd -s "unix:$WORK/kam/ctl" core.shmmem 2>/dev/null |
		awk '$1 == "real_used:" { print $2 }')
	echo "${v:-0}"
}

kam_contacts() {
	kamcmd -s "unix:$WORK/kam/ctl" stats.get_statistics usrloc: 2>/dev/null |
		awk '$1 == "usrloc:location_contacts" { print $3 }'
}

# Number of bindings listed in the last 200 OK of a SIPp message trace,
# whether the server writes one Contact header per binding or a list.
bindings_in_last_200() {
	awk '
		/^-+ [0-9]/ { if (is200) last = n; n = 0; is200 = 0; next }
		/^SIP\/2\.0 200/ { is200 = 1 }
		tolower($0) ~ /^(contact|m)[ \t]*:/ { n += gsub(/<sip:/, "") }
		END { if (is200) last = n; print last + 0 }' "$1"
}

# --- measurements --------------------------------------------------------------

steady_reset() {
	local k
	for k in ok fail retrans wall cpu_ns sipp_s span other; do
		S[$1,$k]=0
	done
}

# steady_round NAME RATE ROUND: one round, added to S[NAME,*].
steady_round() {
	local name=$1 rate=$2 round=$3
	sipp_run "steady_${name}_${rate}_$round" "${ADDR[$name]}" "$WORK/users.csv" \
		"$rate" $((rate * DURATION / ROUNDS)) "${PID[$name]}"
	S[$name,ok]=$((S[$name,ok] + R_OK))
	S[$name,fail]=$((S[$name,fail] + R_FAIL))
	S[$name,retrans]=$((S[$name,retrans] + R_RETRANS))
	S[$name,cpu_ns]=$((S[$name,cpu_ns] + R_CPU_NS))
	S[$name,wall]=$(calc "x = ${S[$name,wall]} + $R_WALL" '%.3f')
	S[$name,sipp_s]=$(calc "x = ${S[$name,sipp_s]} + $R_SIPP_S" '%.3f')
	S[$name,span]=$(calc "x = ${S[$name,span]} + $R_SPAN" '%.3f')
	S[$name,other]=$(calc "x = ${S[$name,other]} + $R_OTHER_PCT * $R_SPAN / 100" '%.3f')
	printf '  round %s %-9s ok=%s failed=%s retrans=%s achieved=%s/s cpu=%sus/reg sipp=%s%% others=%s%%\n' \
		"$round" "$name" "$R_OK" "$R_FAIL" "$R_RETRANS" "$R_RATE" "$R_CPU_US" \
		"$R_SIPP_PCT" "$R_OTHER_PCT"
}

steady_totals() {
	local name=$1
	S[$name,rate]=$(calc "if (${S[$name,wall]} > 0) x = ${S[$name,ok]} / ${S[$name,wall]}" '%.0f')
	S[$name,cpu_s]=$(calc "x = ${S[$name,cpu_ns]} / 1e9" '%.3f')
	S[$name,cpu_us]=$(calc "if (${S[$name,ok]} > 0) x = ${S[$name,cpu_ns]} / 1000 / ${S[$name,ok]}; else ok = 0" '%.1f')
	S[$name,sipp_pct]=$(calc "if (${S[$name,span]} > 0) x = ${S[$name,sipp_s]} * 100 / ${S[$name,span]}" '%.0f')
	S[$name,other_pct]=$(calc "if (${S[$name,span]} > 0) x = ${S[$name,other]} * 100 / ${S[$name,span]}" '%.0f')
}

# run_ramp NAME: rising rates until one step fails.  A step fails on any
# failed call, on retransmissions above 1% of the calls (the server
# dropped requests) or when SIPp fell 5% short of the target rate.
run_ramp() {
	local name=$1 r line
	MAX[$name]=0
	for r in $RAMP_RATES; do
		sipp_run "ramp_${name}_$r" "${ADDR[$name]}" "$WORK/users.csv" "$r" \
			$((r * RAMP_SECS)) "${PID[$name]}"
		line=$(printf '%-9s %7s %9s %7s %8s %11s %10s' "$name" "$r" "$R_RATE" \
			"$R_FAIL" "$R_RETRANS" "$R_CPU_US" "$R_SIPP_PCT")
		RAMP_LINES="$RAMP_LINES$line"$'\n'
		echo "  $line"
		if [ "$R_FAIL" -gt 0 ] || [ "$R_RETRANS" -gt $((r * RAMP_SECS / 100)) ] ||
		    [ "$R_RATE" -lt $((r * 95 / 100)) ]; then
			break
		fi
		MAX[$name]=$r
	done
}

# Memory readings: kubevoxd's VmRSS, Kamailio's used shared memory, in bytes.
mem_used() {
	case $1 in
	kubevoxd|kvbase) echo $(( $(tree_rss_kb "${PID[$1]}") * 1024 )) ;;
	kamailio) kam_shm_used ;;
	esac
}

# run_memory NAME: a fresh server, MEM_AORS x MEM_CONTACTS new bindings,
# then the same REGISTERs again.  The second pass creates no binding, so
# its growth is what the server keeps per REGISTER (transactions) rather
# than per binding: it tells how much of the first growth is not bindings.
run_memory() {
	local name=$1 m0 m1 m2
	case $name in
	kubevoxd|kvbase)
		gen_kubevox_conf "$WORK/$name-mem" "$(kv_port "$name")" 200000 "$MEM_AORS" \
			"$MEM_CONTACTS" no
		start_kubevoxd "$name" "$WORK/$name-mem" "$WORK/$name-mem.log" ;;
	kamailio)
		start_kamailio MEMTEST ;;
	esac
	# Let start-up allocations settle before the first reading.
	sleep 1
	m0=$(mem_used "$name")
	sipp_run "mem_${name}_new" "${ADDR[$name]}" "$WORK/mem.csv" "$MEM_RATE" \
		"$MEM_CALLS" "${PID[$name]}"
	M[$name,ok]=$R_OK M[$name,fail]=$R_FAIL
	m1=$(mem_used "$name")
	sipp_run "mem_${name}_refresh" "${ADDR[$name]}" "$WORK/mem.csv" "$MEM_RATE" \
		"$MEM_CALLS" "${PID[$name]}"
	M[$name,ok]=$((M[$name,ok] + R_OK)) M[$name,fail]=$((M[$name,fail] + R_FAIL))
	m2=$(mem_used "$name")
	M[$name,before]=$m0 M[$name,after]=$m1 M[$name,refresh]=$m2
	M[$name,bpc]=$(calc "x = ($m1 - $m0) / $MEM_TOTAL" '%.0f')
	M[$name,per_reg]=$(calc "x = ($m2 - $m1) / $MEM_CALLS" '%.0f')

	# Re-register the last line (existing contacts) and count the
	# bindings the server lists for that AOR.
	{ echo SEQUENTIAL; tail -n 1 "$WORK/mem.csv"; } >"$WORK/verify.csv"
	BENCH_SIPP_EXTRA="-trace_msg -message_file $WORK/verify_$name.msg"
	sipp_run "verify_$name" "${ADDR[$name]}" "$WORK/verify.csv" 1 1 "${PID[$name]}"
	BENCH_SIPP_EXTRA=""
	M[$name,seen]=$(bindings_in_last_200 "$WORK/verify_$name.msg")
	M[$name,stored]=""
	[ "$name" = kamailio ] && M[$name,stored]=", $(kam_contacts) in usrloc"
	stop_server "$name"
}

# --- main --------------------------------------------------------------------------

[ -n "$BUILD_DIR" ] || die "usage: $0 BUILD_DIR"
KUBEVOXD="$BUILD_DIR/kubevoxd"
command -v sipp >/dev/null || die "sipp not found (Debian package sip-tester)"
[ $((DURATION % ROUNDS)) = 0 ] || die "DURATION must be a multiple of ROUNDS"
for s in $SERVERS; do
	case $s in
	kamailio)
		command -v kamailio >/dev/null || die "kamailio not found"
		command -v kamcmd >/dev/null || die "kamcmd not found" ;;
	kubevoxd|kvbase)
		[ -x "$(kv_bin "$s")" ] || die "$(kv_bin "$s") not found: build first" ;;
	*) die "unknown server '$s' in SERVERS" ;;
	esac
done
if [ "$PIN" = 1 ]; then
	# Servers on CPU 0, SIPp on CPU 1: less noise, less realism.
	SERVER_PREFIX="taskset -c 0"
	BENCH_SIPP_PREFIX="taskset -c 1"
fi

WORK=$(mktemp -d /tmp/kv-bench.XXXXXX)
BENCH_OUT=$WORK
BENCH_SCENARIO=$HERE/scenarios/register.xml
PORT_K=$(free_udp_port 25060)
PORT_X=$(free_udp_port $((PORT_K + 10)))
PORT_B=$(free_udp_port $((PORT_X + 10)))
START=$(now_s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

gen_users_csv "$WORK/users.csv"
gen_mem_csv "$WORK/mem.csv"
gen_kubevox_conf "$WORK/kubevoxd-steady" "$PORT_X" 100000 "$USERS" 1 yes
[ -z "$BASE_BUILD" ] || gen_kubevox_conf "$WORK/kvbase-steady" "$PORT_B" 100000 "$USERS" 1 yes
MEM_TOTAL=$((MEM_AORS * MEM_CONTACTS))
MEM_CALLS=$(( $(wc -l <"$WORK/mem.csv") - 1 ))

echo "register.sh: work dir $WORK, kamailio on udp:$PORT_K, kubevoxd on udp:$PORT_X"
for s in $SERVERS; do
	case $s in
	kamailio) start_kamailio ;;
	kubevoxd|kvbase) start_kubevoxd "$s" "$WORK/$s-steady" "$WORK/$s.log" ;;
	esac
done

# 1. Steady load, both servers at the same rate; halve it on failures.
rate=$RATE
while :; do
	echo "steady: $rate registrations/s, $ROUNDS rounds of $((DURATION / ROUNDS))s per server, $USERS users"
	for s in $SERVERS; do
		steady_reset "$s"
	done
	# Unmeasured passes over every user first: the first touch of memory
	# (Kamailio's shared memory segment, kubevoxd's heap) is a start-up
	# cost, not a per-registration one.
	if [ "$WARMUP" -gt 0 ]; then
		for s in $SERVERS; do
			sipp_run "warmup_${s}_$rate" "${ADDR[$s]}" "$WORK/users.csv" \
				"$rate" $((USERS * WARMUP)) "${PID[$s]}"
			echo "  warm-up  $s ok=$R_OK failed=$R_FAIL (not counted)"
		done
	fi
	for round in $(seq "$ROUNDS"); do
		for s in $SERVERS; do
			steady_round "$s" "$rate" "$round"
		done
	done
	fails=0
	for s in $SERVERS; do
		steady_totals "$s"
		fails=$((fails + S[$s,fail]))
	done
	[ "$fails" -eq 0 ] && break
	[ "$rate" -le 125 ] && break
	rate=$((rate / 2))
	echo "steady: failures, lowering the rate to $rate/s"
done
STEADY_RATE=$rate

# 2. Ramp.
RAMP_LINES=""
echo "ramp: ${RAMP_SECS}s steps at $RAMP_RATES /s"
for s in $SERVERS; do
	run_ramp "$s"
done
for s in $SERVERS; do
	stop_server "$s"
done

# 3. Memory per binding, each server fresh.
echo "memory: $MEM_AORS AORs x $MEM_CONTACTS contacts, $MEM_PER_REG contacts per REGISTER"
for s in $SERVERS; do
	run_memory "$s"
done

# 4. Report.
END=$(now_s)
ok_all=1
# judge COND: V is PASS when COND is 1; any FAIL fails the whole run.
judge() {
	if [ "$1" = 1 ]; then V=PASS; else V=FAIL; ok_all=0; fi
}

echo
echo "==================== KubeVox registration benchmark ===================="
echo "host:      $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)$([ "$PIN" = 1 ] && echo ', servers pinned to CPU 0, SIPp to CPU 1')"
echo "kamailio:  $(kamailio -v 2>/dev/null | awk '/^version:/ { print $3; exit }'), $KAM_CHILDREN UDP workers, usrloc in memory, $([ "$KAM_STATEFUL" = 1 ] && echo "tm transactions" || echo "stateless replies")"
echo "load avg:  $LOAD0 before the run (other work on the machine adds noise)"
echo "kubevoxd:  $KUBEVOXD"
echo "load:      SIPp $(sipp -v 2>/dev/null | awk '/SIPp v/ { sub(/^v/, "", $2); sub(/-.*/, "", $2); print $2; exit }'), REGISTER -> 401 -> REGISTER -> 200 (digest MD5, qop=auth)"
echo
echo "steady: $STEADY_RATE regs/s for ${DURATION}s per server ($ROUNDS alternating rounds, after $WARMUP unmeasured pass(es)), $USERS users, 1 binding each"
printf '%-9s %8s %7s %8s %7s %7s %7s %11s %9s\n' server regs_ok failed retrans wall_s rate/s cpu_s cpu_us/reg sipp_cpu%
fails_total=0
for s in $SERVERS; do
	printf '%-9s %8s %7s %8s %7s %7s %7s %11s %9s\n' "$s" "${S[$s,ok]}" \
		"${S[$s,fail]}" "${S[$s,retrans]}" "${S[$s,wall]}" "${S[$s,rate]}" \
		"${S[$s,cpu_s]}" "${S[$s,cpu_us]}" "${S[$s,sipp_pct]}"
	fails_total=$((fails_total + S[$s,fail]))
done
judge $((fails_total == 0))
echo "failures: $fails_total (target 0): $V"
if [ -n "${S[kamailio,cpu_us]:-}" ] && [ -n "${S[kubevoxd,cpu_us]:-}" ]; then
	ratio=n/a
	if [ "${S[kamailio,cpu_us]}" != n/a ] && [ "${S[kubevoxd,cpu_us]}" != n/a ]; then
		ratio=$(calc "if (${S[kamailio,cpu_us]} > 0) x = ${S[kubevoxd,cpu_us]} / ${S[kamailio,cpu_us]}; else ok = 0" '%.3f')
	fi
	if [ "$ratio" = n/a ]; then judge 0; else judge "$(calc "x = ($ratio < 1.0)" '%d')"; fi
	echo "cpu ratio kubevoxd_cpu_us_per_reg / kamailio_cpu_us_per_reg = $ratio (target < 1.0): $V"
fi
if [ -n "${S[kvbase,cpu_us]:-}" ] && [ -n "${S[kubevoxd,cpu_us]:-}" ]; then
	ratio=n/a
	if [ "${S[kvbase,cpu_us]}" != n/a ] && [ "${S[kubevoxd,cpu_us]}" != n/a ]; then
		ratio=$(calc "if (${S[kvbase,cpu_us]} > 0) x = ${S[kubevoxd,cpu_us]} / ${S[kvbase,cpu_us]}; else ok = 0" '%.3f')
	fi
	# The same code measures within about 5% of itself on this machine.
	if [ "$ratio" = n/a ]; then judge 0; else judge "$(calc "x = ($ratio < 1.05)" '%d')"; fi
	echo "cpu ratio kubevoxd / kvbase ($BASE_BUILD) = $ratio (target < 1.05, no regression): $V"
fi
for s in $SERVERS; do
	if [ "${S[$s,other_pct]}" -ge 10 ]; then
		echo "warning: other processes used ${S[$s,other_pct]}% of a core during the $s runs; CPU figures are noisy"
	fi
done
for s in $SERVERS; do
	if [ "${S[$s,sipp_pct]}" -ge 80 ] || [ $((S[$s,rate] * 100)) -lt $((STEADY_RATE * 95)) ]; then
		echo "SIPp check ($s): FAILED - SIPp used ${S[$s,sipp_pct]}% of a core or missed the rate; the run measured SIPp"
		ok_all=0
	else
		echo "SIPp check ($s): not the bottleneck (${S[$s,sipp_pct]}% of a core, ${S[$s,rate]}/s of $STEADY_RATE/s)"
	fi
done
echo
echo "ramp: ${RAMP_SECS}s steps, one SIPp; a step fails on any failed call, >1% retransmissions or <95% of target"
printf '%-9s %7s %9s %7s %8s %11s %10s\n' server target achieved failed retrans cpu_us/reg sipp_cpu%
printf '%s' "$RAMP_LINES"
for s in $SERVERS; do
	echo "max sustained $s: ${MAX[$s]} regs/s"
done
echo
echo "memory: $MEM_AORS AORs x $MEM_CONTACTS = $MEM_TOTAL distinct bindings, $MEM_PER_REG contacts per REGISTER, then all refreshed"
for s in $SERVERS; do
	case $s in
	kubevoxd|kvbase) what="VmRSS" ;;
	kamailio) what="shm real_used" ;;
	esac
	echo "$s  $what $((M[$s,before] / 1024)) kB -> $((M[$s,after] / 1024)) kB -> refresh $((M[$s,refresh] / 1024)) kB, registers ok=${M[$s,ok]} failed=${M[$s,fail]}, bindings listed: ${M[$s,seen]} of $MEM_CONTACTS${M[$s,stored]}"
	echo "$s  bytes per binding: ${M[$s,bpc]} (all growth, upper bound); refresh pass: ${M[$s,per_reg]} bytes per REGISTER with no new binding"
done
if [ -n "${M[kubevoxd,bpc]:-}" ]; then
	judge $(( M[kubevoxd,bpc] < 1024 && M[kubevoxd,fail] == 0 && M[kubevoxd,seen] == MEM_CONTACTS ))
	echo "kubevoxd bytes per binding ${M[kubevoxd,bpc]} (target < 1024, every binding listed): $V"
fi
echo "total time: $(calc "x = $END - $START" '%.0f') s"
echo "========================================================================"
if [ "$ok_all" = 1 ]; then RESULT=0; else RESULT=1; fi
exit "$RESULT"
