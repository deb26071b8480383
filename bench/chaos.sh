#!/usr/bin/env bash
# chaos.sh BUILD_DIR - faults under a steady load of registrations and
# calls with media, and what a user would ask of each (issue #10 part 3).
#
# Every fault gets a fresh cluster on loopback: 3 replicas (r1 127.0.0.2,
# r2 127.0.0.3, r3 127.0.0.4) with one Redis, or with a Redis master, its
# replica and 3 Sentinels, and the Kamailio front door (k8s/front/front.sh)
# on 127.0.0.10 where the fault asks for it (tests/sip/lib.sh's harness).  bench/chaos_load.py puts
# USERS phones on it (half of them call the other half, CPS new calls per
# second, HOLD seconds each, RTP both ways every 100 ms) and logs every
# failure with its time.  WARM seconds after the load starts (registrations
# done, calls at their steady count), the fault is injected; AFTER seconds
# later the load stops and the row is printed.  Replica r2 is always the
# victim, and is started again RESTART_AFTER seconds after a kill (a
# kubelet restarts a crashed container at once; a longer delay shows what
# happens while it is away).
#
# Faults (FAULTS, in this order by default):
#   replica_kill_front  kill -9 of r2, phones on the front
#   replica_kill        kill -9 of r2, phones registered on each replica
#   replica_term        SIGTERM of r2 (a rolling update), phones on the front
#   redis_master_kill   kill -9 of the Redis master (Sentinel), phones on the front
#   redis_empty         Redis killed and started empty, phones on each replica
#   front_restart       kill -9 of the front, started again 1 s later
#
# Numbers: failed registrations and failed new calls from the fault to the
# end of the run, calls lost (up at the fault, ended by anything but their
# own BYE, or with 2 s without media): on the victim (a leg of theirs on
# r2) and elsewhere; then per fault: the time until the front stops
# sending to r2 (from the fault to the last failure routed to it), until
# r2's phones are reachable again (first call answered by one of them),
# seconds without a Redis master (as the Sentinels report it), bindings
# missing 5 s after Redis came back empty.
#
# Knobs: USERS (2000), CPS (20), HOLD (30), WARM (45), AFTER (40),
# RESTART_AFTER (5), FAULTS, KEEP=1 (keep the work directory).
# Needs: kubevoxd (a plain build: `make build`), redis-server,
# redis-sentinel, kamailio (the front), python3.  `make chaos` installs
# them and runs this on build/.
# shellcheck disable=SC2034 # lib.sh reads several of these
set -u

BUILD=$(cd "${1:-build}" && pwd) || exit 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
export KV_BIN=$BUILD KV_SRC=$SRC KV_KEEP=${KEEP:-0}
# shellcheck source=../tests/sip/lib.sh
. "$SRC/tests/sip/lib.sh"

USERS=${USERS:-2000}
CPS=${CPS:-20}
HOLD=${HOLD:-30}
WARM=${WARM:-45}
AFTER=${AFTER:-40}
RESTART_AFTER=${RESTART_AFTER:-5}
FAULTS=${FAULTS:-replica_kill_front replica_kill replica_term redis_master_kill redis_empty front_restart}
FIRST=20000
VICTIM=2
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null

[ -x "$BUILD/kubevoxd" ] || { echo "chaos.sh: no kubevoxd in $BUILD" >&2; exit 2; }
OUT=$KV_TMP/chaos
mkdir -p "$OUT"

# --- configuration ---------------------------------------------------------

# The users (password secretUSER), a dialplan that rings them, a large RTP
# range (each replica binds its own address), bans out of reach (every
# phone is on 127.0.0.1) and the ops port for /readyz.
chaos_conf()
{
	kv_conf_transports
	awk -v first="$FIRST" -v n="$USERS" 'BEGIN {
		for (u = first; u < first + n; u++)
			printf "\n[%d]\ntype=endpoint\ncontext=from-internal\nauth=%d\naors=%d\n" \
			       "disallow=all\nallow=ulaw\n\n[%d]\ntype=auth\nauth_type=userpass\n" \
			       "username=%d\npassword=secret%d\n\n[%d]\ntype=aor\nmax_contacts=1\n" \
			       "remove_existing=yes\nmaximum_expiration=3600\n",
			       u, u, u, u, u, u, u
	}' >> "$KV_CONF/pjsip.conf"
	cat > "$KV_CONF/extensions.conf" <<EOF
[from-internal]
exten => _2XXXX,1,Dial(PJSIP/\${EXTEN},20)
 same => n,Hangup()
EOF
	printf '[general]\nrtpstart=30000\nrtpend=60000\n' > "$KV_CONF/rtp.conf"
	kv_conf_security ban_failures=1000000 ban_time=1
	kv_conf_http
}

# --- the front door ----------------------------------------------------------

# Every phone has an address of its own (chaos_load.py), so the front's
# per-address limits see one phone each; a phone at 67 registrations per
# second in all is far below them.
export FRONT_PIKE_DENSITY=${FRONT_PIKE_DENSITY:-400}

front_up()
{
	kv_front_start 1 2 3 > /dev/null
}

# front_kill: kill -9 of the whole front (front.sh and Kamailio's processes).
front_kill()
{
	[ -n "${KV_FRONT_PID:-}" ] || return 0
	kill -KILL -- "-$KV_FRONT_PID" 2>/dev/null
	wait "$KV_FRONT_PID" 2>/dev/null
	KV_FRONT_PID=
}

# front_again: the front started again on the same address and port.
front_again()
{
	FRONT_RUNDIR=$KV_TMP/front setsid "$SRC/k8s/front/front.sh" \
		"$KV_FRONT_ADDR:$KV_FRONT_PORT" "$KV_TMP/replicas" \
		>> "$KV_FRONT_LOG" 2>&1 < /dev/null &
	KV_FRONT_PID=$!
	KV_BG_PIDS="$KV_BG_PIDS -$KV_FRONT_PID"
	for _ in $(seq 1 100); do
		[ "$(PYTHONPATH=$KV_SIP_DIR timeout -k 2 5 python3 -c \
			'import kvsip; print(kvsip.front_options(0.2))' 2>/dev/null)" = 200 ] &&
			return 0
		sleep 0.1
	done
	kv_fail "the front did not answer OPTIONS within 10 s of its restart"
}

# Seconds from now until the front's log has one more replica_down line
# (at most 20 s): how long the front kept sending to a replica that died.
front_down_after()
{
	local before t0 n
	before=$(grep -c 'event=replica_down' "$KV_FRONT_LOG")
	t0=$(date +%s.%N)
	for _ in $(seq 1 200); do
		n=$(grep -c 'event=replica_down' "$KV_FRONT_LOG")
		if [ "$n" -gt "$before" ]; then
			awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
			return 0
		fi
		sleep 0.1
	done
	printf 'more than 20'
}

# --- one run ----------------------------------------------------------------

LOAD_PID=
LOAD_T0=
# load_start TARGETS NAME: the phones, on TARGETS (ADDR:PORT,...).
load_start()
{
	LOAD_T0=$(date +%s.%N)
	python3 "$SRC/bench/chaos_load.py" --targets "$1" --events "$OUT/$2.events" \
		--users "$USERS" --first "$FIRST" --cps "$CPS" --hold "$HOLD" \
		> "$OUT/$2.load" 2>&1 &
	LOAD_PID=$!
	KV_BG_PIDS="$KV_BG_PIDS $LOAD_PID"
}

load_stop()
{
	kill -TERM "$LOAD_PID" 2>/dev/null
	wait "$LOAD_PID" 2>/dev/null
	LOAD_PID=
}

# Seconds since the load started.
load_now()
{
	awk -v t0="$LOAD_T0" -v t="$(date +%s.%N)" 'BEGIN { printf "%.3f", t - t0 }'
}

replica_targets()
{
	local i out=
	for i in 1 2 3; do
		out="$out,$(kv_replica_addr "$i"):$KV_PORT"
	done
	printf '%s\n' "${out#,}"
}

registered_now()
{
	tail -n 5 "$OUT/$1.load" | awk '/^t=/ { for (i = 1; i <= NF; i++)
		if ($i ~ /^registered=/) { sub("registered=", "", $i); r = $i } }
		END { print r + 0 }'
}

cluster_up()
{
	kv_cluster_start 3 > /dev/null
}

cluster_down()
{
	local i pidvar
	for i in 1 2 3; do
		pidvar="KV_RPID_$i"
		[ -n "${!pidvar:-}" ] && kv_replica_stop "$i" KILL
	done
	front_kill
	if [ -n "${KV_SENTINEL_PIDS:-}" ]; then
		# shellcheck disable=SC2086,SC2154 # pids; KV_RNODE_*: lib.sh
		{
			kill -KILL $KV_SENTINEL_PIDS "${KV_RNODE_a_PID:-}" "${KV_RNODE_b_PID:-}"
			wait $KV_SENTINEL_PIDS "${KV_RNODE_a_PID:-}" "${KV_RNODE_b_PID:-}"
		} 2>/dev/null
		KV_SENTINEL_PIDS=
	else
		kv_redis_stop
	fi
	# The next cluster counts its replicas' event=ready in fresh logs.
	for i in 1 2 3; do
		mv "$KV_TMP/r$i.log" "$OUT/$1.r$i.log" 2>/dev/null
	done
	rm -f "$KV_TMP"/r?.readies
}

# restart_victim: start r2 again after RESTART_AFTER seconds.
restart_victim()
{
	sleep "$RESTART_AFTER"
	kv_replica_start "$VICTIM" > /dev/null
}

# The row: failures after the fault at TF (load time), from NAME's events.
report()
{
	local name=$1 tf=$2 extra=$3 victim
	victim="$(kv_replica_addr "$VICTIM"):$KV_PORT"
	python3 - "$OUT/$name.events" "$tf" "$victim" "$name" "$extra" <<'EOF' | tee -a "$OUT/table.md"
import json, sys
path, tf, victim, name, extra = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ev = [json.loads(l) for l in open(path) if l.strip()]
after = [e for e in ev if e["t"] >= tf]
regf = sum(1 for e in after if e["ev"] == "reg_fail")
callf = sum(1 for e in after if e["ev"] == "call_fail")
regok = sum(1 for e in after if e["ev"] == "reg_ok")
callok = sum(1 for e in after if e["ev"] == "call_ok")
lost = [e for e in ev if e["ev"] == "call_lost" and e.get("since", e["t"]) >= tf - 2.5
        and e["why"] != "unfinished"]
vaddr = victim.rsplit(":", 1)[0]
on_v = sum(1 for e in lost if victim in (e["ctarget"], e["etarget"])
           or e.get("relay") == vaddr)
print("| %s | %d of %d | %d of %d | %d (%d on r2, %d elsewhere) | %s |" % (
    name, regf, regf + regok, callf, callf + callok, len(lost), on_v,
    len(lost) - on_v, extra))
EOF
}

# Seconds from TF to the last failure whose leg went to r2 (TF itself when none).
last_victim_failure()
{
	python3 - "$OUT/$1.events" "$2" "$(kv_replica_addr "$VICTIM"):$KV_PORT" <<'EOF'
import json, sys
tf = float(sys.argv[2])
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
last = tf
for e in ev:
    if e["t"] >= tf and e["ev"] in ("reg_fail", "call_fail"):
        last = max(last, e["t"])
print("%.1f" % (last - tf))
EOF
}

# Seconds from TF to the first call answered by a phone registered on r2
# and placed on another replica.
victim_reachable()
{
	python3 - "$OUT/$1.events" "$2" "$(kv_replica_addr "$VICTIM"):$KV_PORT" <<'EOF'
import json, sys
tf, v = float(sys.argv[2]), sys.argv[3]
ev = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for e in ev:
    if e["t"] >= tf and e["ev"] == "call_ok" and e["etarget"] == v and e["ctarget"] != v:
        print("%.1f" % (e["t"] - tf))
        break
else:
    print("never")
EOF
}

# Seconds until the Sentinels name a master other than the one on port
# OLD (at most 60 s).
master_back_after()
{
	local t0=$(date +%s.%N) p
	for _ in $(seq 1 600); do
		p=$(kv_sentinel_master_port 2>/dev/null)
		if [ -n "$p" ] && [ "$p" != "$1" ]; then
			awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'
			return 0
		fi
		sleep 0.1
	done
	printf 'more than 60'
}

# What r2's log says of its drain: calls it had, and when it exited.
drain_summary()
{
	python3 - "$1" <<'EOF'
import re, sys
from datetime import datetime
start = end = calls = None
for line in open(sys.argv[1]):
    ts = re.match(r"ts=(\S+)Z", line)
    t = datetime.strptime(ts.group(1), "%Y-%m-%dT%H:%M:%S.%f") if ts else None
    if "event=drain_start" in line:
        start, calls = t, re.search(r"calls=(\d+)", line).group(1)
    elif "event=exit" in line and start:
        end = t
if start is None:
    print("r2 logged no drain_start")
elif end is None:
    print("r2 had %s calls at SIGTERM and had not exited at the end" % calls)
else:
    print("r2 had %s calls at SIGTERM and exited %.1f s later, when the last ended"
          % (calls, (end - start).total_seconds()))
EOF
}

have_front()
{
	[ -x "$SRC/k8s/front/front.sh" ] && command -v kamailio > /dev/null
}

run_fault()
{
	local f=$1 tf extra="" targets before missing t

	kv_log "fault $f: starting the cluster"
	case $f in
	redis_master_kill)
		kv_sentinel_cluster_start 3 > /dev/null ;;
	*) cluster_up ;;
	esac
	targets=$(replica_targets)
	case $f in
	replica_kill_front | replica_term | redis_master_kill | front_restart)
		if ! have_front; then
			printf '| %s | not run: no k8s/front/front.sh or kamailio |\n' "$f" |
				tee -a "$OUT/table.md"
			cluster_down "$f"
			return 0
		fi
		front_up
		targets=$KV_FRONT_ADDR:$KV_FRONT_PORT ;;
	esac
	load_start "$targets" "$f"
	sleep "$WARM"
	tf=$(load_now)
	kv_log "fault $f at t=$tf s ($(registered_now "$f") phones registered)"
	case $f in
	replica_kill_front)
		kv_replica_stop "$VICTIM" KILL
		t=$(front_down_after)
		sleep "$(awk -v r="$RESTART_AFTER" -v t="$t" 'BEGIN { d = r - t; print (d > 0 ? d : 0) }')"
		kv_replica_start "$VICTIM" > /dev/null
		sleep "$AFTER"
		extra="the front stopped sending to r2 $t s after the kill; last failure at +$(last_victim_failure "$f" "$tf") s; r2 restarted after $RESTART_AFTER s" ;;
	replica_kill)
		kv_replica_stop "$VICTIM" KILL
		restart_victim
		sleep "$AFTER"
		extra="r2's phones reachable again after $(victim_reachable "$f" "$tf") s (r2 restarted after $RESTART_AFTER s)" ;;
	replica_term)
		kill -TERM "$(eval echo "\$KV_RPID_$VICTIM")"
		sleep "$AFTER"
		extra=$(drain_summary "$KV_TMP/r$VICTIM.log") ;;
	redis_master_kill)
		t=$(kv_sentinel_master_port)
		kill -KILL "$KV_RNODE_a_PID"
		extra="$(master_back_after "$t") s without a master (until the Sentinels named another)"
		sleep "$AFTER" ;;
	redis_empty)
		before=$(registered_now "$f")
		kv_redis_stop
		kv_redis_start
		sleep 5
		t=$(kv_redis_cli --scan --pattern 'kv:aor:*' | wc -l)
		missing=$((before - t))
		extra="$missing of $before bindings missing 5 s after Redis came back empty"
		sleep "$AFTER" ;;
	front_restart)
		front_kill
		sleep 1
		front_again
		sleep "$AFTER"
		extra="front killed, started again 1 s later" ;;
	*)
		echo "chaos.sh: unknown fault $f" >&2
		load_stop
		cluster_down "$f"
		return 1 ;;
	esac
	load_stop
	report "$f" "$tf" "$extra"
	cluster_down "$f"
}

chaos_conf
{
	printf '\nchaos.sh on %s, %s, %d cores; USERS=%d CPS=%s HOLD=%s WARM=%s AFTER=%s RESTART_AFTER=%s\n\n' \
		"$(hostname)" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(nproc)" "$USERS" "$CPS" \
		"$HOLD" "$WARM" "$AFTER" "$RESTART_AFTER"
	printf '| fault | failed registrations | failed new calls | calls lost | |\n'
	printf '|---|---|---|---|---|\n'
} | tee "$OUT/table.md"
for f in $FAULTS; do
	run_fault "$f" || kv_fail "fault $f could not run"
done
kv_log "table in $OUT/table.md${KV_KEEP:+ (kept)}"
