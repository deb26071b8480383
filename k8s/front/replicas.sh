#!/usr/bin/env bash
# replicas.sh - keep front.sh's REPLICAS_FILE equal to what the DNS of a
# headless Service says, for the front door on Kubernetes.
#
#   k8s/front/replicas.sh NAME PORT FILE [INTERVAL]
#
# Every INTERVAL seconds (default 2) NAME is resolved (IPv4, through the
# pod's resolver: a headless Service's name lists the addresses of its
# ready pods) and FILE is rewritten with one sip:ADDR:PORT a line, sorted,
# only when that list changed, by a rename (front.sh never reads half a
# file).  A name that does not resolve leaves FILE as it is: a DNS outage
# must not empty the front's list (the front's OPTIONS probes take dead
# replicas out by themselves).  REPLICAS_ONCE=1 resolves once and exits
# (0 when FILE holds the list, 1 when NAME did not resolve).
set -u

prog=replicas.sh
say()
{
	printf '%s: %s\n' "$prog" "$*" >&2
}

if [ $# -lt 3 ] || [ $# -gt 4 ]; then
	say "usage: replicas.sh NAME PORT FILE [INTERVAL]"
	exit 2
fi
name=$1
port=$2
file=$3
interval=${4:-2}
case $port in
'' | *[!0-9]*) say "invalid port '$port'"; exit 2 ;;
esac
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	say "port out of range: $port"
	exit 2
fi
case $interval in
'' | *[!0-9]*) say "invalid interval '$interval'"; exit 2 ;;
esac
[ "$interval" -ge 1 ] || { say "the interval must be 1 s or more"; exit 2; }
command -v getent > /dev/null || { say "getent is missing (package libc-bin)"; exit 2; }

last=
trap 'exit 0' TERM INT
while :; do
	if addrs=$(getent ahostsv4 "$name" 2> /dev/null | awk '{ print $1 }' | sort -u) &&
		[ -n "$addrs" ]; then
		list=$(printf '%s\n' "$addrs" | sed "s/.*/sip:&:$port/")
		if [ "$list" != "$last" ] || [ ! -e "$file" ]; then
			if printf '%s\n' "$list" > "$file.tmp" && mv -f "$file.tmp" "$file"; then
				say "$name: $(printf '%s\n' "$list" | wc -l) replicas: $(printf '%s\n' "$list" | tr '\n' ' ')"
				last=$list
			else
				say "cannot write $file"
			fi
		fi
		[ "${REPLICAS_ONCE:-0}" = 1 ] && exit 0
	else
		say "$name does not resolve: $file left as it is"
		[ "${REPLICAS_ONCE:-0}" = 1 ] && exit 1
	fi
	sleep "$interval" &
	wait $!
done
