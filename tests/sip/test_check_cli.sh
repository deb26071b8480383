#!/usr/bin/env bash
# test_check_cli - `kubevoxd -C DIR --check` validates a config without
# serving: exit 0 on a good one; on a broken one (undefined auth reference,
# bad port, rtpstart > rtpend) exactly the expected `file:line: message`
# lines and exit 1.  The daemon refuses to start on a broken config with
# the same messages.
. "$(dirname "$0")/lib.sh"

# check DIR: run --check (bounded); sets RC, OUT (stdout and stderr) and
# MSGS (the sorted file:line lines).
check()
{
	OUT=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$1" --check 2>&1)
	RC=$?
	MSGS=$(grep -E '^[a-z]+\.conf:[0-9]+: ' <<< "$OUT" | LC_ALL=C sort)
}

# line_of FILE TEXT: number of the line of FILE that is exactly TEXT.
line_of()
{
	grep -nxF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

kv_conf_transports
kv_conf_user 1001
printf '[general]\nrtpstart=10000\nrtpend=20000\n' > "$KV_CONF/rtp.conf"
check "$KV_CONF"
kv_assert_eq 0 "$RC" "--check on a good config (output: $OUT)"
kv_assert_eq "" "$MSGS" "--check messages on a good config"
kv_ok "--check: good config, exit 0, no message"

# All three problems at once; the line numbers are part of the expectation.
bad=$KV_TMP/bad
mkdir -p "$bad"
cat > "$bad/pjsip.conf" <<'CONF'
[transport-udp]
type=transport
protocol=udp
bind=127.0.0.1:70000

[1001]
type=endpoint
context=from-internal
auth=nosuch
aors=1001

[1001]
type=aor
max_contacts=1
CONF
printf '[general]\nrtpstart=20000\nrtpend=10000\n' > "$bad/rtp.conf"
expected="pjsip.conf:4: transport 'transport-udp': invalid port in bind '127.0.0.1:70000' (expected 1 to 65535)
pjsip.conf:9: endpoint '1001': auth 'nosuch' is not defined
rtp.conf:3: rtpstart (20000) must be lower than rtpend (10000)"

check "$bad"
kv_assert_eq 1 "$RC" "--check on a broken config (output: $OUT)"
kv_assert_eq "$expected" "$MSGS" "--check messages on a broken config"
kv_ok "--check: broken config, the exact three messages, exit 1"

# Each problem alone is enough, in a config that is otherwise the good one.
for what in port auth rtp; do
	one=$KV_TMP/one-$what
	mkdir -p "$one"
	cp "$KV_CONF/pjsip.conf" "$KV_CONF/rtp.conf" "$one/"
	case $what in
	port)
		sed -i "0,/^bind=127.0.0.1:$KV_PORT\$/s//bind=127.0.0.1:0/" "$one/pjsip.conf"
		want="pjsip.conf:$(line_of "$one/pjsip.conf" bind=127.0.0.1:0): transport 'transport-udp': invalid port in bind '127.0.0.1:0' (expected 1 to 65535)"
		;;
	auth)
		sed -i 's/^auth=1001$/auth=1002/' "$one/pjsip.conf"
		want="pjsip.conf:$(line_of "$one/pjsip.conf" auth=1002): endpoint '1001': auth '1002' is not defined"
		;;
	rtp)
		printf '[general]\nrtpstart=30000\nrtpend=29999\n' > "$one/rtp.conf"
		want="rtp.conf:3: rtpstart (30000) must be lower than rtpend (29999)"
		;;
	esac
	check "$one"
	kv_assert_eq 1 "$RC" "--check with only a bad $what (output: $OUT)"
	kv_assert_eq "$want" "$MSGS" "--check messages with only a bad $what"
done
kv_ok "--check: each problem alone fails with its one message"

# The daemon itself refuses the broken config, with the same messages and
# without ever saying it is ready.
log=$KV_TMP/refused.log
timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$bad" > "$log" 2>&1
rc=$?
kv_assert_eq 1 "$rc" "exit status of kubevoxd on a broken config (log: $(cat "$log"))"
kv_assert_eq "$expected" "$(grep -E '^[a-z]+\.conf:[0-9]+: ' "$log" | LC_ALL=C sort)" \
	"messages of kubevoxd on a broken config"
kv_assert_nomatch 'event=ready' "$(cat "$log")" "kubevoxd log on a broken config"
kv_assert_nomatch 'AddressSanitizer|LeakSanitizer|runtime error:' "$(cat "$log")" \
	"kubevoxd log on a broken config"
kv_ok "kubevoxd refuses the broken config: exit 1, the same messages"

# And the good config still serves.
kvd_start
kvd_stop
kv_pass
