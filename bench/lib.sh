# shellcheck shell=bash disable=SC2034
# lib.sh - helpers for the bench scripts: process trees, CPU and memory
# accounting, SIPp runs and their statistics.  Sourced, not executed.
#
# CPU is read from /proc/PID/task/TID/schedstat (nanoseconds on CPU) rather
# than from the utime/stime clock ticks of /proc/PID/stat: a 20 s run costs
# a registrar well under a second, and 10 ms ticks summed over Kamailio's
# processes would be a visible part of that.  Thread and process trees are
# summed because Kamailio does its work in forked children.

# PID and every descendant of it, one per line.
proc_tree() {
	local p
	for p in "$@"; do
		[ -d "/proc/$p" ] || continue
		echo "$p"
		# shellcheck disable=SC2046
		proc_tree $(pgrep -P "$p" 2>/dev/null)
	done
}

# CPU nanoseconds used so far by the processes given and all their threads.
# Falls back to clock ticks when the kernel has no schedstat.
proc_cpu_ns() {
	local p total=0 v tck
	tck=$(getconf CLK_TCK)
	for p in "$@"; do
		if ls "/proc/$p/task/"*/schedstat >/dev/null 2>&1; then
			v=$(cat "/proc/$p/task/"*/schedstat 2>/dev/null |
				awk '{ s += $1 } END { printf "%.0f", s }')
		elif [ -r "/proc/$p/stat" ]; then
			# Fields after the ")" of comm: utime is the 12th, stime the 13th.
			v=$(sed 's/.*) //' "/proc/$p/stat" |
				awk -v t="$tck" '{ printf "%.0f", ($12 + $13) * 1e9 / t }')
		else
			v=0
		fi
		total=$(awk -v a="$total" -v b="${v:-0}" 'BEGIN { printf "%.0f", a + b }')
	done
	echo "$total"
}

# CPU nanoseconds of whole process trees: of each PID given and all its
# descendants (a server and the redis-server it keeps its state in).
tree_cpu_ns() {
	# shellcheck disable=SC2046
	proc_cpu_ns $(proc_tree "$@")
}

# Resident set size in kB (VmRSS) of one process.
proc_rss_kb() {
	awk '/^VmRSS:/ { print $2; found = 1 } END { if (!found) print 0 }' \
		"/proc/$1/status" 2>/dev/null || echo 0
}

# Resident set size in kB of a whole process tree.  Shared memory is
# counted once per process that touched it, so for Kamailio this is an
# upper bound; kamailio_shm_used is the better figure there.
tree_rss_kb() {
	local p total=0
	for p in $(proc_tree "$1"); do
		total=$((total + $(proc_rss_kb "$p")))
	done
	echo "$total"
}

# CPU seconds the whole machine has spent busy (everything but idle and
# iowait) since boot, from the first line of /proc/stat.
machine_busy_s() {
	awk -v t="$(getconf CLK_TCK)" '$1 == "cpu" {
		busy = 0
		for (i = 2; i <= NF; i++)
			if (i != 5 && i != 6)
				busy += $i
		printf "%.2f", busy / t
		exit
	}' /proc/stat
}

# Seconds since the epoch, with nanoseconds.
now_s() {
	date +%s.%N
}

# Floating point arithmetic: calc EXPR, printed with the given printf format
# (default %.2f).  Division by zero prints "n/a".
calc() {
	awk -v fmt="${2:-%.2f}" "BEGIN { x = 0; ok = 1; $1; if (ok) printf fmt, x; else printf \"n/a\" }"
}

# Succeeds when a UDP port has no listener on any address.
udp_port_free() {
	! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .
}

# Succeeds when a TCP port has no listener on any address.
tcp_port_free() {
	! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# First free UDP port at or above $1 (free_port tcp N: a TCP port).
free_udp_port() {
	free_port udp "$1"
}

free_port() {
	local p=$2
	while ! "$1_port_free" "$p"; do
		p=$((p + 1))
	done
	echo "$p"
}

# Waits up to $2 seconds for something to listen on UDP port $1.
wait_udp_port() {
	local i=0
	while udp_port_free "$1"; do
		i=$((i + 1))
		[ "$i" -gt $(($2 * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

# Column NAME of the last line of a SIPp statistics file (-trace_stat).
sipp_stat() {
	awk -F';' -v name="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i; next }
		{ last = $col }
		END { print (col && last != "") ? last : 0 }' "$1"
}

# Seconds from SIPp's start to its last statistics dump.  The time stamps
# are "date<TAB>time<TAB>epoch.usec"; ElapsedTime(C) has whole seconds
# only, too coarse for a 4 s step.
sipp_elapsed_s() {
	local t0 t1
	t0=$(sipp_stat "$1" StartTime | awk -F'\t' '{ print $NF }')
	t1=$(sipp_stat "$1" CurrentTime | awk -F'\t' '{ print $NF }')
	calc "x = ${t1:-0} - ${t0:-0}" '%.3f'
}

# sipp_run LABEL TARGET CSV RATE TOTAL SERVER_PIDS
#
# Runs the registration scenario against TARGET (host:port) at RATE calls/s
# until TOTAL calls have been made, with the server's CPU (whole process
# trees of SERVER_PIDS, one pid or several separated by blanks: a server
# and its redis-server) read before and after.  Leaves its files in
# $BENCH_OUT/LABEL.* and sets:
#   R_OK R_FAIL R_RETRANS   successful and failed calls, retransmissions
#                           (calls never finished count as failed)
#   R_WALL                  seconds from the first call to the last
#   R_RATE                  achieved successful calls per second (0: none)
#   R_CPU_US                server CPU microseconds per successful call,
#                           "n/a" when no call succeeded
#   R_CPU_NS                server CPU nanoseconds over the run
#   R_SIPP_PCT              SIPp's own CPU as % of one core over the run
#   R_SIPP_S R_SPAN         SIPp's CPU seconds, and its lifetime in seconds
#   R_OTHER_PCT             CPU used by everything else on the machine
#                           during the run, as % of one core: other work
#                           competing with the servers makes the run noisy
# BENCH_CHILD holds the pids of the running SIPp subshells, for cleanups.
# BENCH_SIPP_TIMEOUT, when set, is SIPp's global timeout in seconds.
# BENCH_SIPP_EXTRA, when set, adds options to the SIPp command line;
# BENCH_SIPP_PREFIX is put in front of it (taskset -c 1, say).
sipp_run() {
	local spid=$6 c0 c1 t0 t1 b0 b1

	# shellcheck disable=SC2086
	c0=$(tree_cpu_ns $spid)
	b0=$(machine_busy_s)
	t0=$(now_s)
	sipp_start "$@"
	# Waited for, so that a trapped SIGINT or SIGTERM interrupts the
	# wait at once; the caller's cleanup stops BENCH_CHILD.
	sipp_wait
	t1=$(now_s)
	b1=$(machine_busy_s)
	# shellcheck disable=SC2086
	c1=$(tree_cpu_ns $spid)

	sipp_result "$1" "$5"
	R_CPU_NS=$((c1 - c0))
	R_CPU_US=$(calc "if ($R_OK > 0) x = $R_CPU_NS / 1000 / $R_OK; else ok = 0" '%.1f')
	R_SPAN=$(calc "x = $t1 - $t0" '%.3f')
	R_SIPP_PCT=$(calc "if ($R_SPAN > 0) x = $R_SIPP_S * 100 / $R_SPAN" '%.0f')
	R_OTHER_PCT=$(calc "if ($R_SPAN > 0) x = ($b1 - $b0 - $R_SIPP_S - $R_CPU_NS / 1e9) * 100 / $R_SPAN; if (x < 0) x = 0" '%.0f')
}

# sipp_start LABEL TARGET CSV RATE TOTAL: the registration scenario in the
# background (several may run at once, to several servers); the pid of
# its subshell is added to BENCH_CHILD.  sipp_wait waits for all of them,
# sipp_result LABEL TOTAL reads one's statistics.
sipp_start() {
	local label=$1 target=$2 csv=$3 rate=$4 total=$5
	local limit calls

	rm -f "$BENCH_OUT/$label.stat.csv" "$BENCH_OUT/$label.times" "$BENCH_OUT/$label.err"
	# Generous: a run that needs longer than twice its nominal time has
	# already failed as a measurement.  BENCH_SIPP_TIMEOUT (seconds)
	# overrides it for runs whose calls last longer than a round trip.
	limit=${BENCH_SIPP_TIMEOUT:-$(( total * 2 / rate + 20 ))}
	# A second's worth of calls in flight is plenty when each takes a
	# millisecond; SIPp wants fewer than its open file limit.
	calls=$(( rate * 2 < 10000 ? rate * 2 : 10000 ))
	# In a subshell, so that SIPp does not swallow a SIGINT meant for
	# the script (which would carry on).
	(
		cd "$BENCH_OUT" || exit 1
		# shellcheck disable=SC2086
		${BENCH_SIPP_PREFIX:-} sipp "$target" -sf "$BENCH_SCENARIO" -inf "$csv" \
			-i 127.0.0.1 -r "$rate" -m "$total" -l "$calls" \
			-nostdin -timeout "${limit}s" \
			-trace_stat -stf "$BENCH_OUT/$label.stat.csv" -fd 1 \
			-trace_err -error_file "$BENCH_OUT/$label.err" \
			${BENCH_SIPP_EXTRA:-} \
			>"$BENCH_OUT/$label.out" 2>&1 || true
		# SIPp exits 1 when a call failed; the statistics say which.
		times >"$BENCH_OUT/$label.times"
	) &
	BENCH_CHILD="${BENCH_CHILD:-} $!"
}

sipp_wait() {
	local p
	for p in ${BENCH_CHILD:-}; do
		wait "$p" || true
	done
	BENCH_CHILD=""
}

# sipp_result LABEL TOTAL: R_OK R_FAIL R_RETRANS R_WALL R_RATE R_SIPP_S of
# a finished SIPp run (see sipp_run).
sipp_result() {
	local stat="$BENCH_OUT/$1.stat.csv" total=$2

	[ -f "$stat" ] || : >"$stat"
	R_OK=$(sipp_stat "$stat" 'SuccessfulCall(C)')
	R_FAIL=$(sipp_stat "$stat" 'FailedCall(C)')
	R_RETRANS=$(sipp_stat "$stat" 'Retransmissions(C)')
	R_WALL=$(sipp_elapsed_s "$stat")
	# Calls SIPp never got to finish count as failures too.
	[ $((total - R_OK)) -gt "$R_FAIL" ] && R_FAIL=$((total - R_OK))
	R_RATE=$(calc "if ($R_WALL > 0) x = $R_OK / $R_WALL" '%.0f')
	R_SIPP_S=$(sipp_times_s "$BENCH_OUT/$1.times")
}

# CPU seconds of the children of a subshell, from the output of `times`
# (its second line), 0 when there is none.
sipp_times_s() {
	awk '
		function sec(v) { split(v, a, "m"); sub("s", "", a[2]); return a[1] * 60 + a[2] }
		NR == 2 { printf "%.3f", sec($1) + sec($2); found = 1 }
		END { if (!found) print 0 }' "$1" 2>/dev/null || echo 0
}

# A SIPp duration ("HH:MM:SS:uuuuuu", as ResponseTime1(C) or CallLength(C)
# in a statistics file) in milliseconds; 0 when empty.
sipp_ms() {
	echo "$1" | awk -F: 'NF == 4 { printf "%.1f", ($1 * 3600 + $2 * 60 + $3) * 1000 + $4 / 1000; next }
		{ print 0 }'
}

# A UDP port p with p..p+3 free, at or above $1: SIPp binds -mp p for
# audio and p+2 for video, and RTCP may follow each.
free_media_port() {
	local p=$1 i ok
	p=$((p + (p & 1)))
	while :; do
		ok=1
		for i in 0 1 2 3; do
			udp_port_free $((p + i)) || ok=0
		done
		[ "$ok" = 1 ] && break
		p=$((p + 4))
	done
	echo "$p"
}

# sipp_uas_start LABEL PORT TOTAL MEDIA_PORT
#
# Starts SIPp in server mode ($BENCH_UAS_SCENARIO) on 127.0.0.1:PORT, to
# take TOTAL calls, in the background, and waits until it listens (non-zero
# when it does not within 5 s).  Its files go to $BENCH_OUT/LABEL.*.
# BENCH_UAS is the pid of SIPp, BENCH_UAS_SHELL the subshell that waits
# for it and then records its CPU time: both for cleanups.
sipp_uas_start() {
	local label=$1 port=$2 total=$3 mp=$4 i
	local stat="$BENCH_OUT/$label.stat.csv" times="$BENCH_OUT/$label.times"
	local pidf="$BENCH_OUT/$label.pid"

	rm -f "$stat" "$times" "$pidf" "$BENCH_OUT/$label.err"
	BENCH_UAS_TOTAL=$total
	(
		cd "$BENCH_OUT" || exit 1
		# shellcheck disable=SC2086
		${BENCH_SIPP_PREFIX:-} sipp -sf "$BENCH_UAS_SCENARIO" \
			-i 127.0.0.1 -p "$port" -mp "$mp" -m "$total" \
			-nostdin -aa -trace_stat -stf "$stat" -fd 1 \
			-trace_err -error_file "$BENCH_OUT/$label.err" \
			>"$BENCH_OUT/$label.out" 2>&1 &
		echo $! >"$pidf"
		wait $! || true
		times >"$times"
	) &
	BENCH_UAS_SHELL=$!
	BENCH_UAS=""
	for i in $(seq 50); do
		[ -z "$BENCH_UAS" ] && [ -s "$pidf" ] && BENCH_UAS=$(cat "$pidf")
		[ -n "$BENCH_UAS" ] && ! udp_port_free "$port" && return 0
		[ -d "/proc/$BENCH_UAS_SHELL" ] || return 1
		sleep 0.1
	done
	return 1
}

# sipp_uas_wait LABEL GRACE
#
# Waits for the SIPp server of sipp_uas_start to finish its calls, at most
# GRACE seconds, then stops it (its unfinished calls count as failed).
# Sets:
#   U_OK U_FAIL U_RETRANS   successful and failed calls, retransmissions
#   U_UNEXP                 unexpected messages: calls failed by one, and
#                           messages that matched no call at all
#   U_SIPP_S                SIPp's CPU seconds
sipp_uas_wait() {
	local label=$1 grace=$2 i
	local stat="$BENCH_OUT/$label.stat.csv" times="$BENCH_OUT/$label.times"

	for i in $(seq $((grace * 10))); do
		if [ -z "$BENCH_UAS" ] || [ ! -d "/proc/$BENCH_UAS" ]; then
			break
		fi
		sleep 0.1
	done
	if [ -n "$BENCH_UAS" ] && [ -d "/proc/$BENCH_UAS" ]; then
		kill -TERM "$BENCH_UAS" 2>/dev/null || true
		for i in $(seq 30); do
			[ -d "/proc/$BENCH_UAS" ] || break
			sleep 0.1
		done
		kill -KILL "$BENCH_UAS" 2>/dev/null || true
	fi
	wait "$BENCH_UAS_SHELL" 2>/dev/null || true
	BENCH_UAS="" BENCH_UAS_SHELL=""
	# A SIPp that never started leaves no statistics: all its calls failed.
	[ -f "$stat" ] || : >"$stat"

	U_OK=$(sipp_stat "$stat" 'SuccessfulCall(C)')
	U_FAIL=$(sipp_stat "$stat" 'FailedCall(C)')
	U_RETRANS=$(sipp_stat "$stat" 'Retransmissions(C)')
	U_UNEXP=$(( $(sipp_stat "$stat" 'FailedUnexpectedMessage(C)') +
		$(sipp_stat "$stat" 'OutOfCallMsgs(C)') ))
	[ $((BENCH_UAS_TOTAL - U_OK)) -gt "$U_FAIL" ] && U_FAIL=$((BENCH_UAS_TOTAL - U_OK))
	U_SIPP_S=$(sipp_times_s "$times")
}

# kubevoxd_ready PID LOG [SECONDS]: 0 once LOG has event=ready (default
# within 15 s), else a reason on stdout and 1.
kubevoxd_ready() {
	local _
	for _ in $(seq $(( ${3:-15} * 10 ))); do
		grep -q 'event=ready' "$2" 2>/dev/null && return 0
		if [ ! -d "/proc/$1" ]; then
			echo "kubevoxd exited at start, see $2"
			return 1
		fi
		sleep 0.1
	done
	echo "kubevoxd never printed event=ready, see $2"
	return 1
}

# redis_start DIR PORT: a redis-server of our own on 127.0.0.1:PORT, no
# persistence (nothing on disk to slow it or to find at the next start),
# its log in DIR/redis.log.  0 once it answers PING (within 10 s), with
# its pid in REDIS_PID (also when it fails: stop it); else 1 and the
# reason in REDIS_ERR.
redis_start() {
	local dir=$1 port=$2 _
	mkdir -p "$dir"
	# shellcheck disable=SC2086
	${SERVER_PREFIX:-} redis-server --bind 127.0.0.1 --port "$port" --save '' \
		--appendonly no --dir "$dir" --logfile "$dir/redis.log" \
		--daemonize no >/dev/null 2>&1 &
	REDIS_PID=$!
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
		if [ ! -d "/proc/$REDIS_PID" ]; then
			REDIS_ERR="redis-server exited at start, see $dir/redis.log"
			return 1
		fi
		sleep 0.1
	done
	REDIS_ERR="redis-server on port $port never answered, see $dir/redis.log"
	return 1
}

# INFO memory's used_memory (bytes) of the Redis on 127.0.0.1:PORT, 0
# when it does not answer.
redis_used_memory() {
	local v
	v=$(redis-cli -p "$1" info memory 2>/dev/null |
		awk -F: '$1 == "used_memory" { sub("\r", "", $2); print $2 }')
	echo "${v:-0}"
}

# "COMMANDS SCRIPTS" the Redis on 127.0.0.1:PORT has executed since it
# started: every command (INFO stats total_commands_processed, which
# counts those a Lua script calls too) and the scripts among them (EVAL,
# EVALSHA, FCALL and their _RO forms, from INFO commandstats); "0 0" when
# it does not answer.
redis_commands() {
	redis-cli -p "$1" info all 2>/dev/null | awk -F'[:,=]' '
		{ sub("\r", "") }
		$1 == "total_commands_processed" { cmds = $2 }
		$1 ~ /^cmdstat_(eval|evalsha|eval_ro|evalsha_ro|fcall|fcall_ro)$/ { scripts += $3 }
		END { print cmds + 0, scripts + 0 }'
}

# Stops one started process and everything it forked, by pid only.
stop_proc() {
	local pid=$1 tree i
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
	tree=$(proc_tree "$pid")
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 50); do
		[ -d "/proc/$pid" ] || break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	kill -KILL $tree 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# --- exit: every bench script stops what it started and tidies up ---------

# The script defines bench_pids (prints the pids it started) and sets WORK
# and RESULT; bench_exit_init NAME installs the traps.  WORK is removed
# when the run passed, kept (and named) when it failed or KEEP is set.
bench_cleanup() {
	local p
	for p in $(bench_pids); do
		stop_proc "$p"
	done
	if [ -n "${WORK:-}" ] && [ -d "$WORK" ]; then
		if [ "${RESULT:-2}" != 0 ] || [ -n "${KEEP:-}" ]; then
			echo "$BENCH_NAME: logs kept in $WORK" >&2
		else
			rm -rf "$WORK"
		fi
	fi
}

# The EXIT trap: tidy up, keep the exit status.
bench_on_exit() {
	local rc=$?
	bench_cleanup
	exit "$rc"
}

bench_exit_init() {
	BENCH_NAME=$1
	trap bench_on_exit EXIT
	trap 'exit 2' INT TERM
}

# --- registration workloads (register.sh, register_instr.sh) ---------------

# users.csv for the steady and ramp runs: one binding per user, refreshed
# each time SIPp wraps around the file.
# gen_users_csv FILE [FIRST]: USERS users from FIRST (default 100000) on.
gen_users_csv() {
	awk -v n="$USERS" -v first="${2:-100000}" 'BEGIN {
		print "SEQUENTIAL"
		for (i = 0; i < n; i++) {
			u = first + i
			printf "%d;[authentication username=%d password=pw%d];<sip:%d@127.0.0.1:5999>\n", u, u, u, u
		}
	}' >"$1"
}

# mem.csv: MEM_CONTACTS distinct contacts for each of MEM_AORS AORs,
# MEM_PER_REG of them per REGISTER.  Every contact has its own address,
# like phones behind different NATs; the URI length is a typical one.
# MEM_ORDER "aor" (default): an AOR's REGISTERs back to back, so that at
# 1000/s several of them are in flight at once; "spread": the first
# REGISTER of every AOR, then the second of every AOR, and so on, as
# phones of one AOR that register at different times.  The same contacts
# either way.
gen_mem_csv() {
	awk -v aors="$MEM_AORS" -v per_aor="$MEM_CONTACTS" -v per_reg="$MEM_PER_REG" \
	    -v order="${MEM_ORDER:-aor}" '
	function reg(a, c,   u, line, j, k) {
		u = 200000 + a
		line = u ";[authentication username=" u " password=pw" u "];"
		for (j = c; j < c + per_reg && j < per_aor; j++) {
			if (j > c)
				line = line ","
			k = a * per_aor + j
			line = line sprintf("<sip:%d@10.%d.%d.%d:5060>", u,
				int(k / 65536) % 256, int(k / 256) % 256, k % 256)
		}
		print line
	}
	BEGIN {
		print "SEQUENTIAL"
		if (order == "spread") {
			for (c = 0; c < per_aor; c += per_reg)
				for (a = 0; a < aors; a++)
					reg(a, c)
		} else {
			for (a = 0; a < aors; a++)
				for (c = 0; c < per_aor; c += per_reg)
					reg(a, c)
		}
	}' >"$1"
}

# One pjsip.conf user: endpoint, auth and aor of the same name, as Asterisk
# configurations usually write them.
pjsip_user() {
	printf '[%s](ep)\nauth=%s\naors=%s\n\n[%s](au)\nusername=%s\npassword=pw%s\n\n[%s](ao)\n\n' \
		"$1" "$1" "$1" "$1" "$1" "$1" "$1"
}

# gen_kubevox_conf DIR PORT FIRST COUNT MAX_CONTACTS REMOVE_EXISTING [ADDR]
# (ADDR: the address to bind, default 127.0.0.1)
gen_kubevox_conf() {
	local dir=$1 port=$2 first=$3 count=$4 maxc=$5 remove=$6 addr=${7:-127.0.0.1} u
	mkdir -p "$dir"
	{
		cat <<-EOF
		; Generated by bench/register.sh.
		[transport-udp]
		type=transport
		protocol=udp
		bind=$addr:$port

		[ep](!)
		type=endpoint
		context=from-internal

		[au](!)
		type=auth
		auth_type=userpass

		[ao](!)
		type=aor
		max_contacts=$maxc
		remove_existing=$remove
		minimum_expiration=60
		default_expiration=3600
		maximum_expiration=3600

		EOF
		for u in $(seq "$first" $((first + count - 1))); do
			pjsip_user "$u"
		done
	} >"$dir/pjsip.conf"
	# Every request of the benchmark comes from 127.0.0.1: keep the
	# brute force ban from ever locking SIPp out if one run goes wrong.
	cat >"$dir/kubevox.conf" <<-EOF
	; Generated by bench/register.sh.
	[security]
	ban_failures=1000000
	ban_window=1
	ban_time=1
	EOF
}

# kubevox_conf_redis DIR URL REPLICA ADVERTISE: the configuration of
# gen_kubevox_conf keeps its state in the Redis at URL, as replica REPLICA
# reached at ADVERTISE (ADDR:PORT); every replica of a benchmark shares
# one cluster secret.
kubevox_conf_redis() {
	cat >>"$1/kubevox.conf" <<-EOF

	[state]
	backend=redis
	url=$2

	[cluster]
	replica=$3
	advertise=$4
	secret=bench-cluster-secret
	EOF
}
