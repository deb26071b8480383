#!/usr/bin/env bash
# test_ops_probe - `kubevoxd --probe live|ready --url URL`, the exec probe
# for images without curl: exit 0 against a running daemon, 1 against a
# port where nothing listens and for a what it does not know.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kv_conf_http
kvd_start

url=http://127.0.0.1:$KV_HTTP_PORT
for _ in $(seq 1 100); do
	"$KV_BIN/kubevoxd" --probe ready --url "$url" > /dev/null 2>&1 && break
	sleep 0.1
done
out=$("$KV_BIN/kubevoxd" --probe live --url "$url" 2>&1)
kv_assert_eq 0 "$?" "--probe live: $out"
out=$("$KV_BIN/kubevoxd" --probe ready --url "$url" 2>&1)
kv_assert_eq 0 "$?" "--probe ready: $out"
out=$("$KV_BIN/kubevoxd" --probe live --url "$url/livez" 2>&1)
kv_assert_eq 0 "$?" "--probe live with the path: $out"
kv_ok "--probe live and --probe ready exit 0"

closed=http://127.0.0.1:$(kv_free_port)
out=$("$KV_BIN/kubevoxd" --probe live --url "$closed" 2>&1)
kv_assert_eq 1 "$?" "--probe live on a closed port: $out"
out=$("$KV_BIN/kubevoxd" --probe ready --url "$closed" 2>&1)
kv_assert_eq 1 "$?" "--probe ready on a closed port: $out"
out=$("$KV_BIN/kubevoxd" --probe live --url "$url/nothing" 2>&1)
kv_assert_eq 1 "$?" "--probe on a 404: $out"
out=$("$KV_BIN/kubevoxd" --probe dead --url "$url" 2>&1)
kv_assert_eq 1 "$?" "--probe dead: $out"
kv_ok "--probe exits 1 when the answer is not 200"

kvd_stop
kv_pass
