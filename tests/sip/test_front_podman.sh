#!/usr/bin/env bash
# test_front_podman - the front door's image (k8s/front/Containerfile),
# built with podman from the Debian base (scripts/podman-setup.sh) and run
# as the DaemonSet runs it: host network, read-only root filesystem, every
# capability dropped but NET_BIND_SERVICE, no privilege escalation, the
# replicas' list and the control socket in a shared directory.  In front
# of 2 replicas on loopback: phones (UDP and TCP) register and call through
# it; the liveness probe's command answers; the list rewritten from the
# host is reloaded inside the container; replicas.sh of the image, as user
# 10001, writes a list from DNS; `podman stop` ends it with status 0.
# Skipped (exit 77) where root podman cannot run.
. "$(dirname "$0")/lib.sh"

kv_skip()
{
	printf '%s: SKIP: %s\n' "$KV_TEST" "$*"
	exit 77
}

[ "$(id -u)" = 0 ] || kv_skip "root podman is needed and this is uid $(id -u)"
command -v flock > /dev/null || kv_fail "flock is required"
CACHE=${KV_CACHE_DIR:-/var/cache/kubevox}
mkdir -p "$CACHE" || kv_fail "cannot create $CACHE"
IMAGE=localhost/kubevox-front:test-r$$
CT=kubevox-front-r$$
trap 'rc=$?; podman rm -f "$CT" > /dev/null 2>&1; podman rmi "$IMAGE" > /dev/null 2>&1; (exit $rc); kv_cleanup' EXIT

# One run at a time sets podman up and builds (as test_k8s_podman).
exec 8> "$CACHE/podman-build.lock"
flock -w 600 8 || kv_fail "another run held $CACHE/podman-build.lock for 10 minutes"
setup_out=$("$KV_SRC/scripts/podman-setup.sh" 2>&1)
case $? in
0) ;;
77) kv_skip "$(grep 'cannot run here' <<< "$setup_out" | tail -n 1)" ;;
*) kv_fail "scripts/podman-setup.sh failed: $setup_out" ;;
esac
t0=$SECONDS
# Also tagged :test, which this run leaves behind: it keeps the layers
# (Kamailio's apt-get) cached for the next run, whose own tag goes at exit.
podman build --pull=never --build-arg BASE=localhost/debian:bookworm-slim -t "$IMAGE" \
	-t localhost/kubevox-front:test "$KV_SRC/k8s/front" > "$KV_TMP/build.log" 2>&1 ||
	kv_fail "podman build k8s/front failed: $(tail -n 30 "$KV_TMP/build.log")"
podman image prune -f --filter label=io.kubevox.image > /dev/null 2>&1
flock -u 8
kv_ok "image $IMAGE built in $((SECONDS - t0)) s ($(podman run --rm --entrypoint kamailio "$IMAGE" -v | head -n 1))"

kv_conf_calls 1001 1002
kv_conf_security "ban_exempt = $KV_FRONT_ADDR"
kv_cluster_start 2
run=$KV_TMP/run
mkdir -p "$run"
chmod 0777 "$run"      # an emptyDir: the resolver runs as user 10001
kv_front_replicas 1 2
cp "$KV_TMP/replicas" "$run/replicas"
KV_FRONT_PORT=$(kv_free_port) || kv_fail "no free port for the front"
export KV_FRONT_ADDR KV_FRONT_PORT
podman run -d --name "$CT" --network host --read-only --cap-drop ALL \
	--cap-add NET_BIND_SERVICE --security-opt no-new-privileges \
	-e FRONT_RUNDIR=/run/kubevox-front/kamailio -v "$run:/run/kubevox-front" \
	"$IMAGE" "$KV_FRONT_ADDR:$KV_FRONT_PORT" /run/kubevox-front/replicas \
	> "$KV_TMP/run.out" 2>&1 || kv_fail "podman run: $(cat "$KV_TMP/run.out")"
for _ in $(seq 1 50); do
	out=$(PYTHONPATH=$KV_SIP_DIR timeout -k 2 5 python3 -c \
		'import kvsip; print(kvsip.front_options(0.2))' 2>&1)
	[ "$out" = 200 ] && break
	sleep 0.2
done
[ "$out" = 200 ] || kv_fail "the front's container did not answer OPTIONS: $(podman logs "$CT" 2>&1 | tail -n 20)"
kv_assert_nomatch 'ERROR' "$(podman logs "$CT" 2>&1)" "the container's log"
kv_ok "the container answers OPTIONS, no ERROR in its log"

kv_cluster_python <<'PY' || kv_fail "calls through the front's container"
import kvsip
host, port = kvsip.front_addr()
r1, r2 = kvsip.replica_addrs()
caller = kvsip.FrontPhone("1001", local="127.0.1.1")
callee = kvsip.TcpPhone(port, "1002", host=host)
caller.sign_in(300)
_, final = callee.register("1002", "secret1002", contact="<%s>" % callee.uri, expires=300)
assert final is not None and final.status == 200, final and final.start
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
assert kvsip.replica_of(call) in (r1, r2), call.target
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "podman")
kvsip.hang_up(call, inc)
print("UDP caller, TCP callee: call through the container, taken by %s" % kvsip.replica_of(call))
PY
kv_ok "register and call through the front's container"

ctl=unix:/run/kubevox-front/kamailio/ctl.sock
podman exec "$CT" kamcmd -s "$ctl" core.uptime > "$KV_TMP/probe.out" 2>&1 ||
	kv_fail "the liveness probe's command failed: $(cat "$KV_TMP/probe.out")"
kv_front_replicas 2
cp "$KV_TMP/replicas" "$run/replicas.new" && mv "$run/replicas.new" "$run/replicas"
for _ in $(seq 1 100); do
	uris=$(podman exec "$CT" kamcmd -s "$ctl" dispatcher.list 2>&1 | sed -n 's/^[[:space:]]*URI: //p')
	[ "$uris" = "sip:$(kv_replica_addr 2):$KV_PORT" ] && break
	sleep 0.1
done
[ "$uris" = "sip:$(kv_replica_addr 2):$KV_PORT" ] || kv_fail "the list inside is '$uris'"
kv_ok "the liveness command answers; the list rewritten from the host is loaded inside"

podman run --rm --network host --read-only --cap-drop ALL --user 10001:10001 \
	-e REPLICAS_ONCE=1 -v "$run:/run/kubevox-front" --entrypoint /opt/kubevox-front/replicas.sh \
	"$IMAGE" localhost 5060 /run/kubevox-front/resolved > "$KV_TMP/resolve.out" 2>&1 ||
	kv_fail "replicas.sh in the image: $(cat "$KV_TMP/resolve.out")"
kv_assert_eq "sip:127.0.0.1:5060" "$(cat "$run/resolved")" "replicas.sh's list"
kv_ok "replicas.sh of the image, as user 10001, writes the list"

podman stop -t 10 "$CT" > /dev/null 2>&1 || kv_fail "podman stop"
rc=$(podman inspect "$CT" --format '{{.State.ExitCode}}')
kv_assert_eq 0 "$rc" "the front's exit status after podman stop"
kv_ok "podman stop: the front exits 0"
kv_cluster_stop
kv_pass
