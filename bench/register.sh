#!/usr/bin/env bash
# register.sh - registration benchmark: kubevoxd against Kamailio, on this
# machine, under the same SIPp load, in the same run.
#
# usage: bench/register.sh BUILD_DIR             (make bench: BUILD_DIR=build)
#        MODE=redis bench/register.sh BUILD_DIR  (both keep their state in Redis)
#
# Parts, each server measured alone while the others idle:
#   1. steady load: at each of RATES digest-authenticated registrations per
#      second (REGISTER, 401, REGISTER, 200) for DURATION seconds over USERS
#      users, in ROUNDS rounds that alternate between the servers so that
#      drift of the machine hits all alike; server CPU per registration,
#      failures, and whether SIPp kept up.  When any server fails a call
#      the rate is halved and all run again (and the report says so).
#   2. a quick ramp of short steps at rising rates, up to the first step
#      that fails, to show the maximum rate one SIPp can drive through.
#   3. memory per binding: MEM_AORS x MEM_CONTACTS distinct contacts
#      registered into a fresh server: kubevoxd's VmRSS, Kamailio's shared
#      memory (kamcmd), and for the Redis servers Redis's used_memory.
#   4. (CLUSTER=1) CLUSTER_REPLICAS kubevoxd replicas on 127.0.0.2, .3, ...
#      sharing one Redis against the first of them alone: the ramp with one
#      SIPp per replica, and Redis's round-trip time at each step.
#   5. one final block with every number and the targets.
#
# Servers (SERVERS):
#   kamailio        kamailio-register.cfg, usrloc in shared memory
#   kubevoxd        BUILD_DIR/kubevoxd, [state] backend=memory
#   kvbase          BASE_BUILD/kubevoxd, an earlier commit's build (set
#                   BASE_BUILD=DIR; the report compares kubevoxd with it)
#   kamailio_redis  kamailio-register-redis.cfg: usrloc db_mode=3 in Redis
#   kubevoxd_redis  BUILD_DIR/kubevoxd, [state] backend=redis
# A *_redis server gets a redis-server of its own on a loopback port, and
# its CPU is counted with the server's.  MODE chooses the defaults:
#   memory (default)  SERVERS="kamailio kubevoxd", RATES="1000 2000", CLUSTER=0
#   redis             SERVERS="kamailio_redis kubevoxd_redis", RATES=1000, CLUSTER=1
#   all               the four, RATES="1000 2000", CLUSTER=1
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
MODE=${MODE:-memory}
BASE_BUILD=${BASE_BUILD:-}
case $MODE in
memory)
	def_servers="kamailio kubevoxd${BASE_BUILD:+ kvbase}" def_rates="1000 2000" def_cluster=0 ;;
redis)
	def_servers="kamailio_redis kubevoxd_redis" def_rates=1000 def_cluster=1 ;;
all)
	def_servers="kamailio kubevoxd${BASE_BUILD:+ kvbase} kamailio_redis kubevoxd_redis"
	def_rates="1000 2000" def_cluster=1 ;;
*)
	echo "register.sh: MODE must be memory, redis or all" >&2
	exit 2 ;;
esac
# RATE (one rate) is what this script took before RATES.
RATES=${RATES:-${RATE:-$def_rates}}
SERVERS=${SERVERS-$def_servers}
CLUSTER=${CLUSTER:-$def_cluster}
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
MEM_ORDER=${MEM_ORDER:-aor}
MEM_SERVERS=${MEM_SERVERS-$SERVERS}
CLUSTER_REPLICAS=${CLUSTER_REPLICAS:-3}
CLUSTER_RATES=${CLUSTER_RATES:-"1500 3000 4500 6000 7500 9000 10500 12000"}
PIN=${PIN:-0}
KAM_STATEFUL=${KAM_STATEFUL:-0}

PIDS=""
WORK=""
RESULT=2
SERVER_PREFIX=""
LAT_PID=""

# Results.  Steady load: S["server,step,what"], step 1.. in the order of
# RATES (STEP_RATE[step] is the rate it ran at); the others "server,what".
declare -A S=()         # steady load
declare -A STEP_RATE=() # steady: the rate of each step
declare -A M=()         # memory
declare -A MAX=()       # ramp: highest rate that passed
declare -A PID=()       # running servers
declare -A RPID=()      # the redis-server of each *_redis server
declare -A ADDR=()      # their host:port
declare -A PORT=()      # their SIP (UDP) port
declare -A RPORT=()     # their Redis (TCP) port
declare -A CL=()        # cluster: "replicas,rate,what"

die() {
	echo "register.sh: $*" >&2
	exit 2
}

bench_pids() {
	echo "${BENCH_CHILD:-}" "$LAT_PID" "$PIDS"
}

bench_exit_init register.sh

# The configuration generators (users.csv, pjsip.conf) are in lib.sh.

# --- servers -----------------------------------------------------------------

is_kamailio() { case $1 in kamailio|kamailio_redis) return 0 ;; esac; return 1; }
uses_redis() { case $1 in *_redis) return 0 ;; esac; return 1; }

# The binary of a kubevoxd server: this build, or BASE_BUILD's.
kv_bin() { if [ "$1" = kvbase ]; then echo "$BASE_BUILD/kubevoxd"; else echo "$KUBEVOXD"; fi; }

# The processes whose CPU is the server's: its own tree, and its Redis.
cpu_pids() { echo "${PID[$1]} ${RPID[$1]:-}"; }

kam_ctl() { echo "unix:$WORK/$1/ctl"; }

# start_redis NAME: the redis-server of NAME, empty, on RPORT[NAME].
start_redis() {
	redis_start "$WORK/$1-redis" "${RPORT[$1]}" || {
		PIDS="$PIDS $REDIS_PID"
		die "$REDIS_ERR"
	}
	RPID[$1]=$REDIS_PID
	PIDS="$PIDS $REDIS_PID"
}

# start_kamailio NAME [MEMTEST]
start_kamailio() {
	local name=$1 cfg=$HERE/kamailio-register.cfg extra=() i
	[ "${2:-}" = MEMTEST ] && extra=(-A MEMTEST)
	[ "$KAM_STATEFUL" = 1 ] && extra+=(-A STATEFUL)
	if [ "$name" = kamailio_redis ]; then
		start_redis "$name"
		cfg=$HERE/kamailio-register-redis.cfg
		extra+=(-A "USRLOC_DB_URL=\"redis://127.0.0.1:${RPORT[$name]}/0\"")
	fi
	mkdir -p "$WORK/$name"
	# shellcheck disable=SC2086
	$SERVER_PREFIX kamailio -f "$cfg" -DD -E \
		-w "$WORK/$name" -Y "$WORK/$name" -l "udp:127.0.0.1:${PORT[$name]}" \
		-n "$KAM_CHILDREN" -m 512 -M 32 -x tlsf -X tlsf \
		-A "CTL_SOCK=\"$(kam_ctl "$name")\"" "${extra[@]}" \
		>>"$WORK/$name.log" 2>&1 &
	PID[$name]=$!
	PIDS="$PIDS ${PID[$name]}"
	wait_udp_port "${PORT[$name]}" 15 || die "$name did not start, see $WORK/$name.log"
	# The control socket comes up with the children, a moment later.
	for i in $(seq 50); do
		kamcmd -s "$(kam_ctl "$name")" core.version >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	die "$name control socket missing, see $WORK/$name.log"
}

# kv_conf NAME DIR FIRST COUNT MAX_CONTACTS REMOVE_EXISTING: kubevox.conf
# and pjsip.conf of a kubevoxd server (gen_kubevox_conf's arguments), on
# its own Redis for a *_redis server.
kv_conf() {
	gen_kubevox_conf "$2" "${PORT[$1]}" "$3" "$4" "$5" "$6"
	if uses_redis "$1"; then
		kubevox_conf_redis "$2" "redis://127.0.0.1:${RPORT[$1]}/0" bench "${ADDR[$1]}"
	fi
}

# start_kubevoxd NAME CONFDIR LOG
start_kubevoxd() {
	local name=$1 why
	uses_redis "$name" && start_redis "$name"
	# shellcheck disable=SC2086
	$SERVER_PREFIX "$(kv_bin "$name")" -C "$2" >"$3" 2>&1 &
	PID[$name]=$!
	PIDS="$PIDS ${PID[$name]}"
	why=$(kubevoxd_ready "${PID[$name]}" "$3") || die "$why"
}

start_server() {
	if is_kamailio "$1"; then
		start_kamailio "$1"
	else
		kv_conf "$1" "$WORK/$1-steady" 100000 "$USERS" 1 yes
		start_kubevoxd "$1" "$WORK/$1-steady" "$WORK/$1.log"
	fi
}

# Stops a started process (and what it forked) and forgets its pid.
stop_pid() {
	local rest="" q
	stop_proc "$1"
	for q in $PIDS; do
		[ "$q" = "$1" ] || rest="$rest $q"
	done
	PIDS=$rest
}

stop_server() {
	stop_pid "${PID[$1]}"
	unset "PID[$1]"
	if [ -n "${RPID[$1]:-}" ]; then
		stop_pid "${RPID[$1]}"
		unset "RPID[$1]"
	fi
}

kam_shm_used() {
	local v
	v=$(kamcmd -s "$(kam_ctl "$1")" core.shmmem 2>/dev/null |
		awk '$1 == "real_used:" { print $2 }')
	echo "${v:-0}"
}

# Contacts stored: usrloc's statistics, or the entries in Redis (db_mode=3
# keeps none in memory).
kam_contacts() {
	if [ "$1" = kamailio_redis ]; then
		redis-cli -p "${RPORT[$1]}" eval "return #redis.call('keys', 'location:entry::*')" 0
	else
		kamcmd -s "$(kam_ctl "$1")" stats.get_statistics usrloc: 2>/dev/null |
			awk '$1 == "usrloc:location_contacts" { print $3 }'
	fi
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

# redis_in_use NAME PORT: stops the run unless NAME has written to the
# Redis on PORT (a kubevoxd built without the Redis backend would measure
# its memory store).
redis_in_use() {
	local n
	n=$(redis-cli -p "$2" dbsize 2>/dev/null || echo 0)
	[ "${n:-0}" -gt 0 ] || die "$1 stored nothing in its Redis (port $2): is the Redis backend in this build?"
}

# --- measurements --------------------------------------------------------------

# steady_reset NAME STEP
steady_reset() {
	local k
	for k in ok fail retrans wall cpu_ns redis_ns cmds scripts sipp_s span other; do
		S[$1,$2,$k]=0
	done
}

# steady_round NAME STEP ROUND: one round at STEP_RATE[STEP], added to
# S[NAME,STEP,*].  A *_redis server's Redis is also read on its own: its
# share of the CPU, the commands and the scripts it ran.
steady_round() {
	local name=$1 step=$2 round=$3 rate=${STEP_RATE[$2]} k="$1,$2" r0=0 r1=0 more=""
	local q0="0 0" q1="0 0" cmds scripts
	if uses_redis "$name"; then
		r0=$(tree_cpu_ns "${RPID[$name]}")
		q0=$(redis_commands "${RPORT[$name]}")
	fi
	sipp_run "steady_${name}_${rate}_$round" "${ADDR[$name]}" "$WORK/users.csv" \
		"$rate" $((rate * DURATION / ROUNDS)) "$(cpu_pids "$name")"
	if uses_redis "$name"; then
		r1=$(tree_cpu_ns "${RPID[$name]}")
		q1=$(redis_commands "${RPORT[$name]}")
	fi
	cmds=$(( ${q1% *} - ${q0% *} )) scripts=$(( ${q1#* } - ${q0#* } ))
	if uses_redis "$name"; then
		more=" redis=$(calc "if ($R_OK > 0) x = ($r1 - $r0) / 1000 / $R_OK; else ok = 0" '%.1f')us/reg"
		more="$more,$(calc "if ($R_OK > 0) x = $cmds / $R_OK; else ok = 0" '%.1f')cmds"
		more="$more,$(calc "if ($R_OK > 0) x = $scripts / $R_OK; else ok = 0" '%.1f')scripts/reg"
	fi
	S[$k,ok]=$((S[$k,ok] + R_OK))
	S[$k,fail]=$((S[$k,fail] + R_FAIL))
	S[$k,retrans]=$((S[$k,retrans] + R_RETRANS))
	S[$k,cpu_ns]=$((S[$k,cpu_ns] + R_CPU_NS))
	S[$k,redis_ns]=$((S[$k,redis_ns] + r1 - r0))
	S[$k,cmds]=$((S[$k,cmds] + cmds))
	S[$k,scripts]=$((S[$k,scripts] + scripts))
	S[$k,wall]=$(calc "x = ${S[$k,wall]} + $R_WALL" '%.3f')
	S[$k,sipp_s]=$(calc "x = ${S[$k,sipp_s]} + $R_SIPP_S" '%.3f')
	S[$k,span]=$(calc "x = ${S[$k,span]} + $R_SPAN" '%.3f')
	S[$k,other]=$(calc "x = ${S[$k,other]} + $R_OTHER_PCT * $R_SPAN / 100" '%.3f')
	printf '  round %s %-14s ok=%s failed=%s retrans=%s achieved=%s/s cpu=%sus/reg%s sipp=%s%% others=%s%%\n' \
		"$round" "$name" "$R_OK" "$R_FAIL" "$R_RETRANS" "$R_RATE" "$R_CPU_US" "$more" \
		"$R_SIPP_PCT" "$R_OTHER_PCT"
}

steady_totals() {
	local k="$1,$2"
	S[$k,rate]=$(calc "if (${S[$k,wall]} > 0) x = ${S[$k,ok]} / ${S[$k,wall]}" '%.0f')
	S[$k,cpu_s]=$(calc "x = ${S[$k,cpu_ns]} / 1e9" '%.3f')
	S[$k,cpu_us]=$(calc "if (${S[$k,ok]} > 0) x = ${S[$k,cpu_ns]} / 1000 / ${S[$k,ok]}; else ok = 0" '%.1f')
	S[$k,redis_us]=$(calc "if (${S[$k,ok]} > 0) x = ${S[$k,redis_ns]} / 1000 / ${S[$k,ok]}; else ok = 0" '%.1f')
	S[$k,cmds_reg]=$(calc "if (${S[$k,ok]} > 0) x = ${S[$k,cmds]} / ${S[$k,ok]}; else ok = 0" '%.1f')
	S[$k,scripts_reg]=$(calc "if (${S[$k,ok]} > 0) x = ${S[$k,scripts]} / ${S[$k,ok]}; else ok = 0" '%.1f')
	S[$k,sipp_pct]=$(calc "if (${S[$k,span]} > 0) x = ${S[$k,sipp_s]} * 100 / ${S[$k,span]}" '%.0f')
	S[$k,other_pct]=$(calc "if (${S[$k,span]} > 0) x = ${S[$k,other]} * 100 / ${S[$k,span]}" '%.0f')
}

# run_steady STEP: every server at STEP_RATE[STEP], warm-up first, then
# ROUNDS alternating rounds.  Sets FAILS to the failed calls of them all.
run_steady() {
	local step=$1 rate=${STEP_RATE[$1]} s round
	echo "steady: $rate registrations/s, $ROUNDS rounds of $((DURATION / ROUNDS))s per server, $USERS users"
	for s in $SERVERS; do
		steady_reset "$s" "$step"
	done
	# Unmeasured passes over every user first: the first touch of memory
	# (Kamailio's shared memory segment, kubevoxd's heap, Redis's keys)
	# is a start-up cost, not a per-registration one.
	if [ "$WARMUP" -gt 0 ]; then
		for s in $SERVERS; do
			sipp_run "warmup_${s}_$rate" "${ADDR[$s]}" "$WORK/users.csv" \
				"$rate" $((USERS * WARMUP)) "$(cpu_pids "$s")"
			echo "  warm-up  $s ok=$R_OK failed=$R_FAIL (not counted)"
			uses_redis "$s" && redis_in_use "$s" "${RPORT[$s]}"
		done
	fi
	for round in $(seq "$ROUNDS"); do
		for s in $SERVERS; do
			steady_round "$s" "$step" "$round"
		done
	done
	FAILS=0
	for s in $SERVERS; do
		steady_totals "$s" "$step"
		FAILS=$((FAILS + S[$s,$step,fail]))
	done
}

# run_ramp NAME: rising rates until one step fails.  A step fails on any
# failed call, on retransmissions above 1% of the calls (the server
# dropped requests) or when SIPp fell 5% short of the target rate.
run_ramp() {
	local name=$1 r line
	MAX[$name]=0
	for r in $RAMP_RATES; do
		sipp_run "ramp_${name}_$r" "${ADDR[$name]}" "$WORK/users.csv" "$r" \
			$((r * RAMP_SECS)) "$(cpu_pids "$name")"
		line=$(printf '%-14s %7s %9s %7s %8s %11s %10s %8s' "$name" "$r" "$R_RATE" \
			"$R_FAIL" "$R_RETRANS" "$R_CPU_US" "$R_SIPP_PCT" "$R_OTHER_PCT")
		RAMP_LINES="$RAMP_LINES$line"$'\n'
		echo "  $line"
		step_passed "$r" || break
		MAX[$name]=$r
	done
}

# step_passed TARGET: whether the last SIPp run (R_*) at TARGET calls/s
# passed a ramp step.
step_passed() {
	[ "$R_FAIL" -eq 0 ] && [ "$R_RETRANS" -le $(($1 * RAMP_SECS / 100)) ] &&
		[ "$R_RATE" -ge $(($1 * 95 / 100)) ]
}

# Memory readings in bytes: a Redis server's used_memory, kubevoxd's
# VmRSS, Kamailio's used shared memory.
mem_used() {
	if uses_redis "$1"; then
		redis_used_memory "${RPORT[$1]}"
	elif is_kamailio "$1"; then
		kam_shm_used "$1"
	else
		echo $(( $(tree_rss_kb "${PID[$1]}") * 1024 ))
	fi
}

# run_memory NAME: a fresh server, MEM_AORS x MEM_CONTACTS new bindings,
# then the same REGISTERs again.  The second pass creates no binding, so
# its growth is what the server keeps per REGISTER (transactions, nonces)
# rather than per binding: it tells how much of the first growth is not
# bindings.
run_memory() {
	local name=$1 m0 m1 m2 v0=0 v1=0
	if is_kamailio "$name"; then
		start_kamailio "$name" MEMTEST
	else
		kv_conf "$name" "$WORK/$name-mem" 200000 "$MEM_AORS" "$MEM_CONTACTS" no
		start_kubevoxd "$name" "$WORK/$name-mem" "$WORK/$name-mem.log"
	fi
	# Let start-up allocations settle before the first reading.
	sleep 1
	m0=$(mem_used "$name")
	[ "$name" = kubevoxd_redis ] && v0=$(tree_rss_kb "${PID[$name]}")
	sipp_run "mem_${name}_new" "${ADDR[$name]}" "$WORK/mem.csv" "$MEM_RATE" \
		"$MEM_CALLS" "$(cpu_pids "$name")"
	M[$name,ok]=$R_OK M[$name,fail]=$R_FAIL
	m1=$(mem_used "$name")
	[ "$name" = kubevoxd_redis ] && v1=$(tree_rss_kb "${PID[$name]}")
	sipp_run "mem_${name}_refresh" "${ADDR[$name]}" "$WORK/mem.csv" "$MEM_RATE" \
		"$MEM_CALLS" "$(cpu_pids "$name")"
	M[$name,ok]=$((M[$name,ok] + R_OK)) M[$name,fail]=$((M[$name,fail] + R_FAIL))
	m2=$(mem_used "$name")
	M[$name,before]=$m0 M[$name,after]=$m1 M[$name,refresh]=$m2
	M[$name,bpc]=$(calc "x = ($m1 - $m0) / $MEM_TOTAL" '%.0f')
	M[$name,per_reg]=$(calc "x = ($m2 - $m1) / $MEM_CALLS" '%.0f')
	M[$name,rss_bpc]=$(calc "x = ($v1 - $v0) * 1024 / $MEM_TOTAL" '%.0f')

	# Re-register the last line (existing contacts) and count the
	# bindings the server lists for that AOR.
	{ echo SEQUENTIAL; tail -n 1 "$WORK/mem.csv"; } >"$WORK/verify.csv"
	BENCH_SIPP_EXTRA="-trace_msg -message_file $WORK/verify_$name.msg"
	sipp_run "verify_$name" "${ADDR[$name]}" "$WORK/verify.csv" 1 1 "${PID[$name]}"
	BENCH_SIPP_EXTRA=""
	M[$name,seen]=$(bindings_in_last_200 "$WORK/verify_$name.msg")
	M[$name,stored]=""
	case $name in
	kamailio) M[$name,stored]=", $(kam_contacts "$name") in usrloc" ;;
	kamailio_redis) M[$name,stored]=", $(kam_contacts "$name") in Redis" ;;
	kubevoxd_redis)
		M[$name,stored]=", $(redis-cli -p "${RPORT[$name]}" get kv:cnt) in Redis (kv:cnt)" ;;
	esac
	stop_server "$name"
}

# --- cluster: replicas c1..cN on 127.0.0.2.. sharing one Redis ----------------

# The Prometheus series of Redis round trips, from every replica up
# (kubevox_state_round_trip_seconds_{bucket,sum,count}), into FILE.
cluster_metrics() {
	local i
	: >"$1"
	for i in $(seq "$2"); do
		curl -s -m 2 "http://127.0.0.$((i + 1)):$HPORT/metrics" 2>/dev/null |
			grep '^kubevox_state_round_trip_seconds' >>"$1" || true
	done
}

# rtt_summary BEFORE AFTER: "MEAN_MS P99_MS COUNT" of the round trips
# between two cluster_metrics snapshots, summed over the replicas; the
# 99th percentile is the upper bound of its histogram bucket.  "n/a n/a 0"
# when the replicas export no such histogram.
rtt_summary() {
	awk '
		{
			sign = (FILENAME == ARGV[1]) ? -1 : 1
			if ($1 ~ /_sum$/) {
				sum += sign * $2
			} else if ($1 ~ /_count$/) {
				cnt += sign * $2
			} else if (match($1, /le="[^"]*"/)) {
				b = substr($1, RSTART + 4, RLENGTH - 5)
				if (b == "+Inf")
					next
				v = b + 0
				if (!(v in bk))
					bounds[++n] = v
				bk[v] += sign * $2
			}
		}
		END {
			if (cnt <= 0) { print "n/a n/a 0"; exit }
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && bounds[j] < bounds[j - 1]; j--) {
					t = bounds[j]; bounds[j] = bounds[j - 1]; bounds[j - 1] = t
				}
			p99 = ">" bounds[n] * 1000
			for (i = n; i >= 1; i--)
				if (bk[bounds[i]] >= 0.99 * cnt)
					p99 = bounds[i] * 1000
			printf "%.3f %s %d\n", sum * 1000 / cnt, p99, cnt
		}' "$1" "$2"
}

# cluster_step N RATE: replicas c1..cN, each under its own SIPp at RATE/N
# for RAMP_SECS, while redis-cli samples Redis's latency.  Results in
# CL[N,RATE,*]; returns 1 when the step failed (see step_passed).
cluster_step() {
	local n=$1 rate=$2 per=$(($2 / $1)) k="$1,$2" pids="$CL_RPID" i c0 c1 b0 b1 t0 t1
	local ok=0 fail=0 retrans=0 achieved=0 sipp_s=0 passed=1 span lat rtt
	for i in $(seq "$n"); do
		pids="$pids ${PID[c$i]}"
	done
	cluster_metrics "$WORK/cl_${n}_$rate.m0" "$n"
	# shellcheck disable=SC2086
	c0=$(tree_cpu_ns $pids)
	b0=$(machine_busy_s)
	t0=$(now_s)
	for i in $(seq "$n"); do
		sipp_start "cl_${n}_${rate}_$i" "${ADDR[c$i]}" "$WORK/users_$i.csv" "$per" $((per * RAMP_SECS))
	done
	# PING round trips of one more client, every 10 ms, over the middle
	# of the step (output ms: min max avg samples).
	redis-cli -p "$CL_RPORT" --latency -i $((RAMP_SECS > 2 ? RAMP_SECS - 1 : 1)) \
		>"$WORK/cl_${n}_$rate.latency" 2>&1 &
	LAT_PID=$!
	sipp_wait
	wait "$LAT_PID" || true
	LAT_PID=""
	t1=$(now_s)
	b1=$(machine_busy_s)
	# shellcheck disable=SC2086
	c1=$(tree_cpu_ns $pids)
	cluster_metrics "$WORK/cl_${n}_$rate.m1" "$n"
	for i in $(seq "$n"); do
		sipp_result "cl_${n}_${rate}_$i" $((per * RAMP_SECS))
		ok=$((ok + R_OK)) fail=$((fail + R_FAIL)) retrans=$((retrans + R_RETRANS))
		achieved=$((achieved + R_RATE))
		sipp_s=$(calc "x = $sipp_s + $R_SIPP_S" '%.3f')
		step_passed "$per" || passed=0
	done
	span=$(calc "x = $t1 - $t0" '%.3f')
	lat=$(awk 'NF == 4 { print $1, $3, $2; found = 1 } END { if (!found) print "n/a n/a n/a" }' \
		"$WORK/cl_${n}_$rate.latency")
	rtt=$(rtt_summary "$WORK/cl_${n}_$rate.m0" "$WORK/cl_${n}_$rate.m1")
	CL[$k,line]=$(printf '%8s %7s %9s %7s %8s %11s %9s %7s %15s %14s' "$n" "$rate" "$achieved" \
		"$fail" "$retrans" \
		"$(calc "if ($ok > 0) x = ($c1 - $c0) / 1000 / $ok; else ok = 0" '%.1f')" \
		"$(calc "if ($span > 0) x = $sipp_s * 100 / $span" '%.0f')" \
		"$(calc "if ($span > 0) x = ($b1 - $b0 - $sipp_s - ($c1 - $c0) / 1e9) * 100 / $span; if (x < 0) x = 0" '%.0f')" \
		"$(echo "$rtt" | awk '{ print $1 "/" $2 }')" \
		"$(echo "$lat" | awk '{ print $2 "/" $3 }')")
	CL[$k,rtt]=$rtt CL[$k,lat]=$lat
	echo "  ${CL[$k,line]}"
	[ "$passed" = 1 ]
}

# cluster_ramp N: rising rates over N replicas; CL[N,max] is the last
# rate that passed.
cluster_ramp() {
	local n=$1 r
	CL[$n,max]=0
	for r in $CLUSTER_RATES; do
		CL_RATES_RUN[$n]="${CL_RATES_RUN[$n]:-} $r"
		cluster_step "$n" "$r" || break
		CL[$n,max]=$r
	done
}

# start_replica I: replica cI on 127.0.0.(I+1), warmed up by one pass
# over its users (unmeasured).
start_replica() {
	local name=c$1
	start_kubevoxd "$name" "$WORK/$name" "$WORK/$name.log"
	sipp_run "warmup_$name" "${ADDR[$name]}" "$WORK/users_$1.csv" 1000 "$USERS" "${PID[$name]}"
	echo "  warm-up  $name ok=$R_OK failed=$R_FAIL (not counted)"
	redis_in_use "$name" "$CL_RPORT"
}

run_cluster() {
	local i n=$CLUSTER_REPLICAS
	declare -gA CL_RATES_RUN=()
	redis_start "$WORK/cluster-redis" "$CL_RPORT" || {
		PIDS="$PIDS $REDIS_PID"
		die "$REDIS_ERR"
	}
	CL_RPID=$REDIS_PID
	PIDS="$PIDS $CL_RPID"
	for i in $(seq "$n"); do
		ADDR[c$i]=127.0.0.$((i + 1)):$PORT_C
		gen_users_csv "$WORK/users_$i.csv" $((100000 + (i - 1) * USERS))
		# Every replica knows every user, as in a cluster.
		gen_kubevox_conf "$WORK/c$i" "$PORT_C" 100000 $((USERS * n)) 1 yes \
			"127.0.0.$((i + 1))"
		kubevox_conf_redis "$WORK/c$i" "redis://127.0.0.1:$CL_RPORT/0" "c$i" "${ADDR[c$i]}"
		printf '[general]\nenabled=yes\nbindaddr=127.0.0.%d\nbindport=%d\n' $((i + 1)) "$HPORT" \
			>"$WORK/c$i/http.conf"
	done
	echo "cluster: 1 replica, then $n sharing one Redis, ${RAMP_SECS}s steps at $CLUSTER_RATES /s in all"
	start_replica 1
	cluster_ramp 1
	for i in $(seq 2 "$n"); do
		start_replica "$i"
	done
	cluster_ramp "$n"
	for i in $(seq "$n"); do
		stop_server "c$i"
	done
	stop_pid "$CL_RPID"
}

# --- main --------------------------------------------------------------------------

[ -n "$BUILD_DIR" ] || die "usage: $0 BUILD_DIR"
KUBEVOXD="$BUILD_DIR/kubevoxd"
command -v sipp >/dev/null || die "sipp not found (Debian package sip-tester)"
[ $((DURATION % ROUNDS)) = 0 ] || die "DURATION must be a multiple of ROUNDS"
need_redis=$CLUSTER
for s in $SERVERS $MEM_SERVERS; do
	case $s in
	kamailio|kamailio_redis)
		command -v kamailio >/dev/null || die "kamailio not found"
		command -v kamcmd >/dev/null || die "kamcmd not found" ;;
	kubevoxd|kvbase|kubevoxd_redis)
		[ -x "$(kv_bin "$s")" ] || die "$(kv_bin "$s") not found: build first" ;;
	*) die "unknown server '$s' in SERVERS" ;;
	esac
	uses_redis "$s" && need_redis=1
done
if [ "$need_redis" = 1 ]; then
	command -v redis-server >/dev/null || die "redis-server not found (Debian package redis-server)"
	command -v redis-cli >/dev/null || die "redis-cli not found (Debian package redis-tools)"
fi
if [ "$CLUSTER" = 1 ]; then
	command -v curl >/dev/null || die "curl not found"
	[ "$CLUSTER_REPLICAS" -ge 2 ] || die "CLUSTER_REPLICAS must be 2 or more"
	[ -x "$KUBEVOXD" ] || die "$KUBEVOXD not found: build first"
fi
case " $SERVERS $MEM_SERVERS " in
*" kamailio_redis "*)
	found=""
	for f in /usr/lib/*/kamailio/modules/db_redis.so /usr/lib/kamailio/modules/db_redis.so; do
		[ -f "$f" ] && found=$f
	done
	[ -n "$found" ] || die "Kamailio's db_redis module not found (Debian package kamailio-redis-modules)" ;;
esac
if [ "$PIN" = 1 ]; then
	# Servers on CPU 0, SIPp on CPU 1: less noise, less realism.
	SERVER_PREFIX="taskset -c 0"
	BENCH_SIPP_PREFIX="taskset -c 1"
fi

WORK=$(mktemp -d /tmp/kv-bench.XXXXXX)
BENCH_OUT=$WORK
BENCH_SCENARIO=$HERE/scenarios/register.xml
p=25060 rp=26379
for s in kamailio kubevoxd kvbase kamailio_redis kubevoxd_redis; do
	PORT[$s]=$(free_udp_port "$p")
	ADDR[$s]=127.0.0.1:${PORT[$s]}
	RPORT[$s]=$(free_port tcp "$rp")
	p=$((PORT[$s] + 10)) rp=$((RPORT[$s] + 1))
done
PORT_C=$(free_udp_port "$p")
CL_RPORT=$(free_port tcp "$rp")
HPORT=$(free_port tcp 28088)
START=$(now_s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

gen_users_csv "$WORK/users.csv"
gen_mem_csv "$WORK/mem.csv"
MEM_TOTAL=$((MEM_AORS * MEM_CONTACTS))
MEM_CALLS=$(( $(wc -l <"$WORK/mem.csv") - 1 ))

echo "register.sh: work dir $WORK, MODE=$MODE, servers: $SERVERS"
for s in $SERVERS; do
	echo "  $s on udp:${ADDR[$s]}$(uses_redis "$s" && echo ", its Redis on 127.0.0.1:${RPORT[$s]}")"
	start_server "$s"
done

# 1. Steady load at each rate, every server at the same rate; halve it on
# failures.
step=0 LOWERED=""
for want in $RATES; do
	step=$((step + 1))
	STEP_RATE[$step]=$want
	while :; do
		run_steady "$step"
		[ "$FAILS" -eq 0 ] && break
		[ "${STEP_RATE[$step]}" -le 125 ] && break
		STEP_RATE[$step]=$((STEP_RATE[$step] / 2))
		echo "steady: failures, lowering the rate to ${STEP_RATE[$step]}/s"
	done
	[ "${STEP_RATE[$step]}" = "$want" ] || LOWERED="$LOWERED $want->${STEP_RATE[$step]}"
done
STEPS=$step

# 2. Ramp.
RAMP_LINES=""
if [ -n "$SERVERS" ]; then
	echo "ramp: ${RAMP_SECS}s steps at $RAMP_RATES /s"
	for s in $SERVERS; do
		run_ramp "$s"
	done
	for s in $SERVERS; do
		stop_server "$s"
	done
fi

# 3. Memory per binding, each server fresh.
if [ -n "$MEM_SERVERS" ]; then
	echo "memory: $MEM_AORS AORs x $MEM_CONTACTS contacts, $MEM_PER_REG contacts per REGISTER, MEM_ORDER=$MEM_ORDER"
	for s in $MEM_SERVERS; do
		run_memory "$s"
	done
fi

# 4. Cluster.
[ "$CLUSTER" = 1 ] && run_cluster

# 5. Report.
END=$(now_s)
ok_all=1
# judge COND: V is PASS when COND is 1; any FAIL fails the whole run.
judge() {
	if [ "$1" = 1 ]; then V=PASS; else V=FAIL; ok_all=0; fi
}

# ratio_line STEP A B TARGET WHAT: A's CPU per registration over B's at
# that step, judged against TARGET when one is given.
ratio_line() {
	local step=$1 a=$2 b=$3 target=$4 what=$5 ratio=n/a
	[ -n "${S[$a,$step,cpu_us]:-}" ] && [ -n "${S[$b,$step,cpu_us]:-}" ] || return 0
	if [ "${S[$a,$step,cpu_us]}" != n/a ] && [ "${S[$b,$step,cpu_us]}" != n/a ]; then
		ratio=$(calc "if (${S[$b,$step,cpu_us]} > 0) x = ${S[$a,$step,cpu_us]} / ${S[$b,$step,cpu_us]}; else ok = 0" '%.3f')
	fi
	if [ -z "$target" ]; then
		echo "cpu ratio $a / $b at ${STEP_RATE[$step]}/s = $ratio ($what)"
		return 0
	fi
	if [ "$ratio" = n/a ]; then judge 0; else judge "$(calc "x = ($ratio < $target)" '%d')"; fi
	echo "cpu ratio $a / $b at ${STEP_RATE[$step]}/s = $ratio (target < $target$what): $V"
}

kam_desc=""
for s in $SERVERS $MEM_SERVERS; do
	case $s in
	kamailio) kam_desc="${kam_desc:+$kam_desc; }kamailio: usrloc in memory" ;;
	kamailio_redis) kam_desc="${kam_desc:+$kam_desc; }kamailio_redis: usrloc db_mode=3 in Redis (db_redis)" ;;
	esac
done
kam_desc=$(echo "$kam_desc" | awk -F'; ' '{ for (i = 1; i <= NF; i++) if (!seen[$i]++) printf "%s%s", (i > 1 ? "; " : ""), $i }')

echo
echo "==================== KubeVox registration benchmark ===================="
echo "host:      $(nproc) cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)$([ "$PIN" = 1 ] && echo ', servers pinned to CPU 0, SIPp to CPU 1')"
echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC'), MODE=$MODE"
if [ -n "$kam_desc" ]; then
	echo "kamailio:  $(kamailio -v 2>/dev/null | awk '/^version:/ { print $3; exit }'), $KAM_CHILDREN UDP workers, $([ "$KAM_STATEFUL" = 1 ] && echo "tm transactions" || echo "stateless replies"); $kam_desc"
fi
[ "$need_redis" = 1 ] && echo "redis:     $(redis-server --version | awk '{ sub("v=", "", $3); print $3 }'), one redis-server per *_redis server (no persistence), its CPU counted with the server's"
echo "load avg:  $LOAD0 before the run (other work on the machine adds noise)"
echo "kubevoxd:  $KUBEVOXD"
echo "load:      SIPp $(sipp -v 2>/dev/null | awk '/SIPp v/ { sub(/^v/, "", $2); sub(/-.*/, "", $2); print $2; exit }'), REGISTER -> 401 -> REGISTER -> 200 (digest MD5, qop=auth)"
if [ -n "$SERVERS" ]; then
	echo
	echo "steady: ${DURATION}s per server and rate ($ROUNDS alternating rounds, after $WARMUP unmeasured pass(es)), $USERS users, 1 binding each"
	printf '%-14s %6s %8s %7s %8s %7s %7s %7s %11s %9s %9s %8s %9s\n' server rate regs_ok failed \
		retrans wall_s rate/s cpu_s cpu_us/reg redis_us cmds/reg scripts sipp_cpu%
	fails_total=0
	for step in $(seq "$STEPS"); do
		for s in $SERVERS; do
			k="$s,$step"
			r=- c=- sc=-
			if uses_redis "$s"; then
				r="${S[$k,redis_us]}" c="${S[$k,cmds_reg]}" sc="${S[$k,scripts_reg]}"
			fi
			printf '%-14s %6s %8s %7s %8s %7s %7s %7s %11s %9s %9s %8s %9s\n' "$s" \
				"${STEP_RATE[$step]}" "${S[$k,ok]}" "${S[$k,fail]}" "${S[$k,retrans]}" \
				"${S[$k,wall]}" "${S[$k,rate]}" "${S[$k,cpu_s]}" "${S[$k,cpu_us]}" \
				"$r" "$c" "$sc" "${S[$k,sipp_pct]}"
			fails_total=$((fails_total + S[$k,fail]))
		done
	done
	echo "(cpu_us/reg: the server's process tree plus, for *_redis, its redis-server; redis_us: the redis-server's part;"
	echo " cmds/reg: Redis commands run per registration, those of scripts included; scripts: EVAL/EVALSHA per registration)"
	judge $((fails_total == 0))
	echo "failures: $fails_total (target 0): $V"
	if [ -n "$LOWERED" ]; then
		judge 0
		echo "rates lowered after failures:$LOWERED (target: every rate of RATES=\"$RATES\" sustained): $V"
	fi
	for step in $(seq "$STEPS"); do
		ratio_line "$step" kubevoxd kamailio 1.0 ""
		ratio_line "$step" kubevoxd kvbase 1.05 ", no regression against $BASE_BUILD"
		ratio_line "$step" kubevoxd_redis kamailio_redis 0.5 ", both with their Redis"
		ratio_line "$step" kamailio_redis kamailio "" "what usrloc in Redis costs Kamailio, no target"
		ratio_line "$step" kubevoxd_redis kubevoxd "" "what Redis costs kubevoxd, no target"
	done
	for step in $(seq "$STEPS"); do
		for s in $SERVERS; do
			k="$s,$step"
			if [ "${S[$k,other_pct]}" -ge 10 ]; then
				echo "warning: other processes used ${S[$k,other_pct]}% of a core during the $s runs at ${STEP_RATE[$step]}/s; CPU figures are noisy"
			fi
		done
	done
	for step in $(seq "$STEPS"); do
		for s in $SERVERS; do
			k="$s,$step"
			if [ "${S[$k,sipp_pct]}" -ge 80 ] || [ $((S[$k,rate] * 100)) -lt $((STEP_RATE[$step] * 95)) ]; then
				echo "SIPp check ($s, ${STEP_RATE[$step]}/s): FAILED - SIPp used ${S[$k,sipp_pct]}% of a core or missed the rate; the run measured SIPp"
				ok_all=0
			else
				echo "SIPp check ($s, ${STEP_RATE[$step]}/s): not the bottleneck (${S[$k,sipp_pct]}% of a core, ${S[$k,rate]}/s)"
			fi
		done
	done
	echo
	echo "ramp: ${RAMP_SECS}s steps, one SIPp; a step fails on any failed call, >1% retransmissions or <95% of target"
	printf '%-14s %7s %9s %7s %8s %11s %10s %8s\n' server target achieved failed retrans cpu_us/reg sipp_cpu% others%
	printf '%s' "$RAMP_LINES"
	for s in $SERVERS; do
		echo "max sustained $s: ${MAX[$s]} regs/s"
	done
fi
if [ -n "$MEM_SERVERS" ]; then
	echo
	echo "memory: $MEM_AORS AORs x $MEM_CONTACTS = $MEM_TOTAL distinct bindings, $MEM_PER_REG contacts per REGISTER (MEM_ORDER=$MEM_ORDER), then all refreshed"
	for s in $MEM_SERVERS; do
		if uses_redis "$s"; then what="Redis used_memory"
		elif is_kamailio "$s"; then what="shm real_used"
		else what="VmRSS"; fi
		echo "$s  $what $((M[$s,before] / 1024)) kB -> $((M[$s,after] / 1024)) kB -> refresh $((M[$s,refresh] / 1024)) kB, registers ok=${M[$s,ok]} failed=${M[$s,fail]}, bindings listed: ${M[$s,seen]} of $MEM_CONTACTS${M[$s,stored]}"
		echo "$s  bytes per binding: ${M[$s,bpc]} (all growth, upper bound); refresh pass: ${M[$s,per_reg]} bytes per REGISTER with no new binding"
		[ "$s" = kubevoxd_redis ] &&
			echo "$s  kubevoxd's own VmRSS growth per binding (its copy of its bindings): ${M[$s,rss_bpc]} bytes"
	done
	if [ -n "${M[kubevoxd,bpc]:-}" ]; then
		judge $(( M[kubevoxd,bpc] < 1024 && M[kubevoxd,fail] == 0 && M[kubevoxd,seen] == MEM_CONTACTS ))
		echo "kubevoxd bytes per binding ${M[kubevoxd,bpc]} (target < 1024, every binding listed): $V"
	fi
	if [ -n "${M[kubevoxd_redis,bpc]:-}" ]; then
		judge $(( M[kubevoxd_redis,bpc] < 1024 && M[kubevoxd_redis,fail] == 0 && M[kubevoxd_redis,seen] == MEM_CONTACTS ))
		echo "kubevoxd_redis Redis bytes per binding ${M[kubevoxd_redis,bpc]} (target < 1024, every binding listed): $V"
	fi
fi
if [ "$CLUSTER" = 1 ]; then
	n=$CLUSTER_REPLICAS
	echo
	echo "cluster: kubevoxd replicas on 127.0.0.2..$((n + 1)) sharing one Redis, one SIPp per replica at rate/replicas, ${RAMP_SECS}s steps"
	echo "(kv_rtt: Redis round trips measured by the replicas, mean/p99 ms, p99 as its histogram bucket; redis-cli: PING every 10 ms, avg/max ms)"
	printf '%8s %7s %9s %7s %8s %11s %9s %7s %15s %14s\n' replicas target achieved failed \
		retrans cpu_us/reg sipp_cpu% others% kv_rtt_ms redis-cli_ms
	for m in 1 "$n"; do
		for r in ${CL_RATES_RUN[$m]:-}; do
			echo "${CL[$m,$r,line]}"
		done
	done
	echo "max sustained, 1 replica: ${CL[1,max]} regs/s; $n replicas: ${CL[$n,max]} regs/s; ratio $n/1 = $(calc "if (${CL[1,max]} > 0) x = ${CL[$n,max]} / ${CL[1,max]}; else ok = 0" '%.2f') (printed, no target)"
	for m in 1 "$n"; do
		[ "${CL[$m,max]}" -gt 0 ] || continue
		read -r mean p99 cnt <<<"${CL[$m,${CL[$m,max]},rtt]}"
		read -r lmin lavg lmax <<<"${CL[$m,${CL[$m,max]},lat]}"
		echo "Redis round trip at ${CL[$m,max]} regs/s over $m replica(s): replicas mean $mean ms, p99 <= $p99 ms ($cnt round trips); redis-cli avg $lavg ms, min $lmin, max $lmax ms"
	done
fi
echo "total time: $(calc "x = $END - $START" '%.0f') s"
echo "========================================================================"
if [ "$ok_all" = 1 ]; then RESULT=0; else RESULT=1; fi
exit "$RESULT"
