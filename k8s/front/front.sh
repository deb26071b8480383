#!/usr/bin/env bash
# front.sh - run KubeVox's front door (k8s/front/kamailio.cfg) in the
# foreground.
#
#   k8s/front/front.sh LISTEN_ADDR:PORT REPLICAS_FILE
#
# Kamailio listens on LISTEN_ADDR:PORT (UDP and TCP) and sends to the
# replicas listed in REPLICAS_FILE, one sip:HOST:PORT a line ('#' starts a
# comment).  The file may change while the front runs: it is read again
# within a second (inotifywait when installed, else polling every second)
# and the new list is loaded with `dispatcher.reload`, calls up.  A file
# that does not parse is reported and the list in use is kept; a missing
# file is an empty list (every new request gets 503 until it appears).
# SIGTERM or SIGINT stops Kamailio.  This command line is a contract:
# tests outside this repository use it.  No root needed for a port above
# 1023.
#
# Environment (all optional):
#   FRONT_ADVERTISE  HOST[:PORT] the phones reach this front at, when it is
#                    not LISTEN_ADDR:PORT (1:1 NAT, a load balancer's
#                    address): the phones' socket advertises it, and the
#                    replicas get a socket of their own, FRONT_INSIDE
#   FRONT_INSIDE     ADDR:PORT of that socket (default LISTEN_ADDR and
#                    PORT+1); the replicas must reach it
#   FRONT_BAN_FAILURES, FRONT_BAN_WINDOW, FRONT_BAN_TIME  failed logins per
#                    source address within the window (s) before a ban of
#                    that long (s); default 20, 60, 300 (see kamailio.cfg)
#   FRONT_PIKE_DENSITY  requests per source address per 2 s before the
#                    source is blocked (default 100, see kamailio.cfg)
#   FRONT_RUNDIR     directory for the dispatcher list and the control
#                    socket (default: a new temporary one, removed at exit)
#   FRONT_CFG        configuration (default: kamailio.cfg next to this file)
#   FRONT_SHM_MB, FRONT_PKG_MB  Kamailio's shared and per-process memory
#                    (default 64 and 8)
set -u

prog=front.sh
die()
{
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 2
}

say()
{
	printf '%s: %s\n' "$prog" "$*" >&2
}

[ $# -eq 2 ] || die "usage: front.sh LISTEN_ADDR:PORT REPLICAS_FILE"
listen=$1
replicas=$2
addr=${listen%:*}
port=${listen##*:}
case $listen in
*:*) ;;
*) die "LISTEN_ADDR:PORT expected, got '$listen'" ;;
esac
case $port in
'' | *[!0-9]*) die "invalid port in '$listen'" ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	die "port out of range in '$listen'"
fi
[ -n "$addr" ] || die "no address in '$listen'"
port=$((10#$port))

adv=${FRONT_ADVERTISE:-}
inside=
if [ -n "$adv" ]; then
	[[ $adv =~ ^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$ ]] ||
		die "FRONT_ADVERTISE: HOST[:PORT] expected, got '$adv'"
	inside=${FRONT_INSIDE:-$addr:$((port + 1))}
	if ! [[ $inside =~ ^([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})$ ]] ||
		[ "${BASH_REMATCH[2]}" -lt 1 ] || [ "${BASH_REMATCH[2]}" -gt 65535 ]; then
		die "FRONT_INSIDE: ADDR:PORT expected, got '$inside'"
	fi
	[ "$inside" != "$addr:$port" ] || die "FRONT_INSIDE must differ from LISTEN_ADDR:PORT"
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cfg=${FRONT_CFG:-$here/kamailio.cfg}
[ -r "$cfg" ] || die "cannot read $cfg"
command -v kamailio > /dev/null || die "kamailio is not installed (apt-get install kamailio)"
command -v kamcmd > /dev/null || die "kamcmd is not installed (package kamailio)"

made_rundir=
if [ -n "${FRONT_RUNDIR:-}" ]; then
	rundir=$FRONT_RUNDIR
	mkdir -p "$rundir" || die "cannot create $rundir"
else
	rundir=$(mktemp -d "${TMPDIR:-/tmp}/kvfront.XXXXXX") || die "cannot make a temporary directory"
	made_rundir=1
fi
ds_list=$rundir/dispatcher.list
ctl=unix:$rundir/ctl.sock

# convert FILE: print the dispatcher list for the replicas in FILE (set 1,
# no flags, priority 0), or report the first bad line and fail.
convert()
{
	local file=$1 line n=0 uri

	[ -e "$file" ] || return 0
	[ -r "$file" ] || { say "cannot read $file"; return 1; }
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		line=${line%%#*}
		# trim
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		[ -n "$line" ] || continue
		uri=$line
		if ! [[ $uri =~ ^sip:([A-Za-z0-9._-]+|\[[0-9A-Fa-f:.]+\]):([0-9]{1,5})(;[A-Za-z0-9=._-]+)*$ ]] ||
			[ "${BASH_REMATCH[2]}" -lt 1 ] || [ "${BASH_REMATCH[2]}" -gt 65535 ]; then
			say "$file:$n: expected sip:HOST:PORT, got '$line'"
			return 1
		fi
		printf '1 %s 0 0\n' "$uri"
	done < "$file"
}

# refresh: rewrite the dispatcher list from REPLICAS_FILE.  0 when it
# changed, 1 when it did not or could not be read.
current=
seen=
refresh()
{
	local new sum

	# Read again only what changed: a bad file is reported once.
	sum=$({ cksum < "$replicas"; } 2> /dev/null) || sum=missing
	[ "$sum" = "$seen" ] && return 1
	seen=$sum
	new=$(convert "$replicas") || return 1
	[ "$new" = "$current" ] && [ -e "$ds_list" ] && return 1
	if ! { printf '%s\n' "$new" > "$ds_list.tmp" && mv -f "$ds_list.tmp" "$ds_list"; }; then
		say "cannot write $ds_list"
		return 1
	fi
	current=$new
	return 0
}

kpid=
wpid=
# shellcheck disable=SC2317 # called by the traps
cleanup()
{
	if [ -n "$wpid" ]; then
		kill "$wpid" 2> /dev/null
		wait "$wpid" 2> /dev/null
	fi
	if [ -n "$kpid" ] && kill -0 "$kpid" 2> /dev/null; then
		kill -TERM "$kpid" 2> /dev/null
		wait "$kpid" 2> /dev/null
	fi
	[ -n "$made_rundir" ] && rm -rf "$rundir"
}
# shellcheck disable=SC2317 # called by the traps
stop()
{
	say "stopping on SIG$1"
	cleanup
	exit 0
}
trap 'stop TERM' TERM
trap 'stop INT' INT
trap cleanup EXIT

[ -e "$replicas" ] || say "$replicas does not exist yet: no replica until it does"
refresh || [ -e "$ds_list" ] || : > "$ds_list"
say "replicas: $(grep -c . "$ds_list") from $replicas"

# Everything that varies per run is a define of kamailio.cfg or -l.
defs=(-A "DS_LIST=\"$ds_list\"" -A "CTL_SOCK=\"$ctl\"")
for v in PIKE_DENSITY BAN_FAILURES BAN_WINDOW BAN_TIME; do
	eval "val=\${FRONT_$v:-}"
	[ -n "$val" ] || continue
	case $val in
	*[!0-9]*) die "FRONT_$v: a number expected, got '$val'" ;;
	esac
	[ "$val" -ge 1 ] || die "FRONT_$v must be 1 or more"
	case $v in
	BAN_WINDOW) defs+=(-A "AUTHFAIL_TABLE=\"authfail=>size=12;autoexpire=$val;\"") ;;
	BAN_TIME) defs+=(-A "BANNED_TABLE=\"banned=>size=10;autoexpire=$val;\"") ;;
	*) defs+=(-A "$v=$val") ;;
	esac
done
socks=(-l "udp:$addr:$port" -l "tcp:$addr:$port")
if [ -n "$adv" ]; then
	# The inside socket first: Kamailio 5.6 applies an advertised
	# address of -l to the -l options after it as well.
	socks=(-l "udp:$inside" -l "udp:$addr:$port/$adv" -l "tcp:$addr:$port/$adv")
	defs+=(-A "INSIDE_UDP=\"udp:$inside\"" -A "PUBLIC_UDP=\"udp:$addr:$port\""
		-A "PUBLIC_TCP=\"tcp:$addr:$port\"")
fi
kamailio -f "$cfg" -DD -E -x tlsf -X tlsf -Y "$rundir" \
	-m "${FRONT_SHM_MB:-64}" -M "${FRONT_PKG_MB:-8}" "${socks[@]}" "${defs[@]}" &
kpid=$!
where="$addr:$port"
[ -n "$adv" ] && where="$where (advertised as $adv; replicas' side $inside)"
say "kamailio pid $kpid on $where, control socket $ctl"

# Watch REPLICAS_FILE's directory (the file may be replaced by a rename, or
# be a ConfigMap's symlink), at least once a second.
dir=$(dirname "$replicas")
pending=
while kill -0 "$kpid" 2> /dev/null; do
	if command -v inotifywait > /dev/null && [ -d "$dir" ]; then
		inotifywait -qq -t 1 -e close_write,moved_to,moved_from,create,delete,attrib \
			"$dir" > /dev/null 2>&1 &
	else
		sleep 1 &
	fi
	wpid=$!
	wait "$wpid" 2> /dev/null
	wpid=
	refresh && pending=1
	if [ -n "$pending" ]; then
		# Until Kamailio's control socket is up, the reload waits.
		# kamcmd exits 0 after an RPC fault too: read what it says.
		if out=$(kamcmd -s "$ctl" dispatcher.reload 2>&1) &&
			! grep -qi error <<< "$out"; then
			pending=
			say "replicas reloaded: $(grep -c . "$ds_list") from $replicas"
		elif [ -S "$rundir/ctl.sock" ]; then
			say "dispatcher.reload failed: $out"
		fi
	fi
done
wait "$kpid"
rc=$?
kpid=
say "kamailio exited with status $rc"
exit "$rc"
