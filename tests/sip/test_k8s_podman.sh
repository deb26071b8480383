#!/usr/bin/env bash
# test_k8s_podman - the image and the manifests, run with podman as a
# kubelet would run them, on this machine: the 3 replicas of k8s/ in
# cluster mode, sharing one Redis.
#
# Builds the image (Dockerfile, base from scripts/podman-setup.sh), renders
# the podman overlay of k8s/ (tests/k8s/podman: the manifest's 3 replicas,
# one ConfigMap volume) and plays it with `podman kube play`.  The
# configuration is what k8s/config.sh makes of asterisk_config/ (so
# kubevox.conf has k8s/cluster.conf: [state] backend = redis, url =
# redis://redis:6379) plus the credential files of k8s/secret.sh, all in
# the ConfigMap since podman has no Secret volumes.
#
# Redis: podman 4.3 cannot play k8s/'s StatefulSet, so its pod template is
# played as a Deployment of one (tests/k8s/manifest.js split): the
# manifest's container, args, user, read-only root and volumes, with the
# Secret's redis.conf (requirepass) from a ConfigMap.  No registry is
# reachable for redis:7.2, so the image is Debian's redis-server on the
# same base (tests/k8s/podman/redis.Containerfile; apt works in `podman
# build` here, as the kubevoxd build stage needs anyway).  podman ignores
# Services, so the kubevoxd pods get the Redis pod's address as the host
# name "redis" (hostAliases), and the URL stays the manifests'.
#
# The ConfigMap volume is laid out as the kubelet does it (a timestamped
# directory, a "..data" link to it, one link per file through "..data")
# and changed as the kubelet does (a new directory, then an atomic rename
# of "..data").  Then:
#   - the 3 pods answer /readyz from the host, at their own addresses;
#   - through pod 0: SIPp registers 1001 and calls 600; through each pod a
#     call to 600 gets 20 RTP packets echoed back (tests/k8s/sipcheck.py);
#   - a call across replicas: 1002 registers through pod 1, pod 2 lists
#     its binding, 1001 calls 1002 through pod 0: the callee's INVITE
#     comes from pod 1's address (the replica that holds its flow), the
#     call is answered and has RTP both ways, anchored on pod 0
#     (tests/k8s/sipcheck.py phone and call);
#   - Redis hung (SIGSTOP): /readyz 503 on every pod, /livez 200; Redis
#     killed and restarted by podman (empty: it saves nothing): /readyz
#     200, and pod 2 lists 1002's binding again, written back by pod 1
#     with no re-registration;
#   - kill -9 of kubevoxd in pod 1: podman restarts the container and SIP
#     is answered again (the time from the kill is printed); 1001 calls
#     1002 through pod 0 again and reaches it through pod 1, with no new
#     REGISTER from 1002;
#   - SIGSTOP of kubevoxd: the liveness probe, run every period as the
#     kubelet does (podman never runs probes), fails failureThreshold times
#     in a row; the container is then stopped as the kubelet does (SIGTERM,
#     the probe's grace period, SIGKILL) and restarted, and serves again;
#   - a new user is added to the ConfigMap: every running pod accepts its
#     REGISTER within 30 s, with no restart (same process, same start).
# Everything it starts (pods, containers, volumes, the per-run image) is
# removed on exit, pass or fail; the build stage and Redis images stay as
# build caches, like the base image.  If podman cannot run here the test
# is skipped (exit 77) with the reason.
. "$(dirname "$0")/../k8s/lib.sh"

BUILD_IMAGE=localhost/kubevox-build:test
# The overlay's name for Redis's image (tests/k8s/podman/kustomization.yaml).
REDIS_IMAGE=localhost/kubevox-redis:test
BASE=localhost/debian:bookworm-slim
# Every name this run creates ends with RUN (pods, their containers, the
# ConfigMap's volume, the emptyDir volumes, the image tag), so that two
# runs on one machine (two ctest builds, or two trees) keep apart: with a
# shared tag a container restarted by one run could come back with the
# other run's binary.
RUN=-r$$
IMAGE=localhost/kubevox:test$RUN
CM=kubevox-podman-config$RUN
RCM=kubevox-podman-redis$RUN
P0=kubevox$RUN-pod-0
P1=kubevox$RUN-pod-1
P2=kubevox$RUN-pod-2
PODS="$P0 $P1 $P2"
C0=$P0-kubevox
# The StatefulSet redis played as a Deployment: podman's names.
REDIS_POD=redis$RUN-pod-0
REDIS_C=$REDIS_POD-redis
SIPCHECK=$K8S_DIR/sipcheck.py
MANIFEST=$K8S_DIR/manifest.js
# Setting up podman and building the image (which prunes older builds)
# are done by one run at a time.
BUILD_LOCK=$KV_CACHE_DIR/podman-build.lock
T_START=$(date +%s.%N)

now()
{
	date +%s.%N
}

# since T: seconds from T to now, two decimals.
since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

fail()
{
	local p

	for p in $PODS; do
		if podman container exists "$p-kubevox" 2>/dev/null; then
			printf -- '--- podman logs %s-kubevox (last 30 lines) ---\n' "$p" >&2
			podman logs --tail 30 "$p-kubevox" >&2 2>&1
		fi
	done
	if podman container exists "$REDIS_C" 2>/dev/null; then
		printf -- '--- podman logs %s (last 10 lines) ---\n' "$REDIS_C" >&2
		podman logs --tail 10 "$REDIS_C" >&2 2>&1
	fi
	k8s_fail "$@"
}

# --- helpers -------------------------------------------------------------

# cm_publish DIR: DIR's files become the volume's contents the way the
# kubelet's atomic writer does it, so readers never see half a change.
# podman kube play mounts the volume as it is (a claim, not a ConfigMap).
cm_publish()
{
	local src=$1 ts old f

	ts=..$(date -u +%Y_%m_%d_%H_%M_%S.%N)
	old=$(readlink "$vol/..data" 2>/dev/null)
	mkdir "$vol/$ts" || fail "mkdir $vol/$ts"
	cp "$src"/*.conf "$vol/$ts/" && chmod 0644 "$vol/$ts"/* || fail "copy to $vol/$ts"
	for f in "$vol/$ts"/*; do
		f=$(basename "$f")
		[ -L "$vol/$f" ] || ln -s "..data/$f" "$vol/$f" || fail "link $f"
	done
	ln -s "$ts" "$vol/..data_tmp" && mv -T "$vol/..data_tmp" "$vol/..data" ||
		fail "swap ..data"
	[ -n "$old" ] && rm -rf "${vol:?}/$old"
	return 0
}

# state CONTAINER FIELD: one field of podman inspect.
state()
{
	podman inspect "$1" --format "{{$2}}"
}

# http_code POD PATH: the status of GET PATH on POD's ops port.
http_code()
{
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://${IP[$1]}:8088$2"
}

# wait_code POD PATH CODE SECONDS: GET PATH from the host until CODE.
wait_code()
{
	local pod=$1 path=$2 want=$3 secs=$4 end code

	end=$(($(date +%s) + secs))
	while :; do
		code=$(http_code "$pod" "$path")
		[ "$code" = "$want" ] && return 0
		[ "$(date +%s)" -lt "$end" ] ||
			fail "$pod: $path answered '$code', not $want, for $secs s"
		sleep 0.2
	done
}

# metric POD NAME: the value of the unlabelled metric NAME in POD's
# /metrics (empty if absent).
metric()
{
	curl -s --max-time 2 "http://${IP[$1]}:8088/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

# wait_metric POD NAME VALUE SECONDS: until POD's metric NAME is VALUE.
wait_metric()
{
	local pod=$1 name=$2 want=$3 secs=$4 end v

	end=$(($(date +%s) + secs))
	until v=$(metric "$pod" "$name") && [ "$v" = "$want" ]; do
		[ "$(date +%s)" -lt "$end" ] || fail "$pod: $name is '$v', not $want, for $secs s"
		sleep 0.2
	done
}

# wait_ready POD [SECONDS]: GET /readyz from the host until 200.
wait_ready()
{
	wait_code "$1" /readyz 200 "${2:-60}"
}

# wait_sip POD SECONDS: until an OPTIONS to POD is answered 200.
wait_sip()
{
	local pod=$1 secs=$2 end

	end=$(($(date +%s) + secs))
	until python3 "$SIPCHECK" options "${IP[$pod]}" --timeout 0.2 2>/dev/null; do
		[ "$(date +%s)" -lt "$end" ] ||
			fail "$pod: no answer to OPTIONS for $secs s (container $(state "$pod-kubevox" .State.Status))"
		sleep 0.05
	done
}

# A UDP port free on the host for SIPp: p..p+3 for its media ports too.
free_port()
{
	python3 - <<'PY'
import socket, sys
for _ in range(200):
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("0.0.0.0", 0))
    base = probe.getsockname()[1] & ~1
    probe.close()
    socks = []
    try:
        for i in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("0.0.0.0", base + i))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    sys.exit(0)
sys.exit("no free port")
PY
}

# sipp_ok WHAT POD SCENARIO USER PASSWORD [sipp options]: one SIPp run of
# the SCENARIO file against POD that must succeed.
sipp_ok()
{
	local what=$1 pod=$2 scen=$3 user=$4 pass=$5 ip lip port csv n
	shift 5

	ip=${IP[$pod]}
	lip=$(ip -o route get "$ip" | sed -n 's/.* src \([0-9.]*\).*/\1/p')
	port=$(free_port) || fail "no free port for SIPp"
	n=$RANDOM
	csv=$K8S_TMP/sipp-$n.csv
	printf 'SEQUENTIAL\n%s;[authentication username=%s password=%s]\n' \
		"$user" "$user" "$pass" > "$csv"
	if ! (cd "$K8S_TMP" && timeout -k 5 60 sipp "$ip:5060" -sf "$scen" \
		-inf "$csv" -i "$lip" -bind_local -p "$port" -t u1 -m 1 \
		-timeout 20s -timeout_error -key expires 60 \
		-trace_err -error_file "$K8S_TMP/sipp-$n.errors" -nostdin "$@") \
		> "$K8S_TMP/sipp-$n.out" 2>&1 < /dev/null; then
		cat "$K8S_TMP/sipp-$n.errors" >&2 2>/dev/null
		fail "$what (SIPp $(basename "$scen") against $pod failed: $(tail -n 5 "$K8S_TMP/sipp-$n.out"))"
	fi
	k8s_ok "$what"
}

# sipcheck ARGS: tests/k8s/sipcheck.py, bounded.
sipcheck()
{
	timeout -k 2 30 python3 "$SIPCHECK" "$@"
}

# serves POD: REGISTER of 1001 and an echo call through POD.
serves()
{
	local pod=$1 out

	out=$(sipcheck register "${IP[$pod]}" 1001 kubevox1001 2>&1) ||
		fail "$pod: $out"
	out=$(sipcheck echo "${IP[$pod]}" 1001 kubevox1001 2>&1) || fail "$pod: $out"
	k8s_ok "$pod: REGISTER 200, call to 600: $out"
}

# probe_live C: the exec probe, with the kubelet's timeout (read from the
# manifest below).
probe_live()
{
	timeout -k 1 "$timeout" podman exec "$1" /usr/bin/kubevoxd --probe live \
		> "$K8S_TMP/probe.out" 2>&1
}

# --- podman --------------------------------------------------------------

# podman-setup.sh says the same, but the lock and the npm cache below need
# root first.
[ "$(id -u)" = 0 ] || k8s_skip "podman cannot run here: root podman is needed and this is uid $(id -u)"
k8s_need_kubectl
for tool in python3 sipp curl flock; do
	command -v "$tool" >/dev/null || k8s_fail "$tool is required"
done
# Manifests are edited and read with node (tests/k8s/manifest.js).
k8s_npm

mkdir -p "$KV_CACHE_DIR" || k8s_fail "cannot create $KV_CACHE_DIR"
exec 8> "$BUILD_LOCK"
flock -w 600 8 || k8s_fail "another run held $BUILD_LOCK for 10 minutes"
setup_out=$("$KV_SRC/scripts/podman-setup.sh" 2>&1)
case $? in
0) ;;
77) k8s_skip "$(grep 'cannot run here' <<< "$setup_out" | tail -n 1)" ;;
*) k8s_fail "scripts/podman-setup.sh failed:
$setup_out" ;;
esac

# The build stage is tagged too, so that pruning the images of earlier
# builds (labelled io.kubevox.image) keeps its cached layers: a rebuild
# after a source change then only compiles.
t=$(now)
for target in build runtime; do
	if [ "$target" = build ]; then
		args=(--target build -t "$BUILD_IMAGE")
	else
		args=(-t "$IMAGE")
		k8s_on_exit 'podman rmi "$IMAGE" > /dev/null 2>&1'
	fi
	podman build --pull=never --build-arg "BASE=$BASE" "${args[@]}" \
		-f "$KV_SRC/Dockerfile" "$KV_SRC" >> "$K8S_TMP/build.log" 2>&1 ||
		k8s_fail "podman build ($target) failed:
$(tail -n 40 "$K8S_TMP/build.log")"
done
podman image prune -f --filter label=io.kubevox.image > /dev/null 2>&1
# Redis's image changes only with its Containerfile: after the first run
# its one layer comes from podman's cache.
t=$(now)
podman build --pull=never --build-arg "BASE=$BASE" -t "$REDIS_IMAGE" \
	-f "$K8S_DIR/podman/redis.Containerfile" "$K8S_DIR/podman" >> "$K8S_TMP/build.log" 2>&1 ||
	k8s_fail "podman build of $REDIS_IMAGE failed:
$(tail -n 40 "$K8S_TMP/build.log")"
k8s_ok "Redis image $REDIS_IMAGE built in $(since "$t") s"
flock -u 8
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
k8s_ok "image $IMAGE built in $(since "$t") s: $(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB"
[ "$size" -lt 40000000 ] || k8s_fail "the image is $size bytes, not under 40 MB"

# --- the ConfigMap volume, as the kubelet lays it out ---------------------

# The shipped configuration as k8s/config.sh makes it (the ConfigMap
# kubevox-config and the Secret kubevox-auth) and the files of the Secret
# kubevox-cluster made by k8s/secret.sh, in one directory as the pods'
# projected volume has them (podman has no Secret volumes: see
# tests/k8s/podman/kustomization.yaml).
conf=$K8S_TMP/conf
secrets=$K8S_TMP/secrets
mkdir -p "$conf" "$secrets"
"$KV_SRC/k8s/config.sh" "$KV_SRC/asterisk_config" > "$K8S_TMP/config.yaml" 2> "$K8S_TMP/config.err" ||
	k8s_fail "k8s/config.sh: $(cat "$K8S_TMP/config.err")"
node "$MANIFEST" "$K8S_NPM_DIR/node_modules" unpack "$K8S_TMP/config.yaml" "$conf" ||
	k8s_fail "manifest.js unpack"
"$KV_SRC/k8s/secret.sh" --dir "$secrets" || k8s_fail "k8s/secret.sh --dir"
cp "$secrets"/state_auth.conf "$secrets"/cluster_auth.conf "$secrets"/http_auth.conf "$conf/"
grep -q '^backend = redis' "$conf/kubevox.conf" ||
	k8s_fail "kubevox.conf of k8s/config.sh is not in cluster mode"

# This run's overlay of the podman overlay: Redis's ConfigMap and the RUN
# suffix.  Kustomize wants a relative path to the base.
play=$K8S_TMP/play
mkdir -p "$play"
kubectl create configmap kubevox-podman-redis --from-file="$secrets/redis.conf" \
	--dry-run=client -o yaml > "$play/redis-configmap.yaml" || k8s_fail "kubectl create configmap (Redis)"
cat > "$play/kustomization.yaml" <<EOF
resources:
- $(realpath --relative-to="$play" "$K8S_DIR/podman")
- redis-configmap.yaml
nameSuffix: $RUN
images:
- name: localhost/kubevox
  newTag: test$RUN
EOF
kubectl kustomize "$play" > "$K8S_TMP/rendered.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize of the podman overlay: $(cat "$K8S_TMP/kustomize.err")"
cms=$K8S_TMP/configmaps
mkdir -p "$cms"
node "$MANIFEST" "$K8S_NPM_DIR/node_modules" split "$K8S_TMP/rendered.yaml" "$RUN" \
	"$K8S_TMP/kube.yaml" "$cms" "$K8S_TMP/redis.yaml" || k8s_fail "manifest.js split"
[ -s "$cms/$RCM.yaml" ] || k8s_fail "manifest.js split: no $RCM"
grep -q "claimName: $CM\$" "$K8S_TMP/kube.yaml" || k8s_fail "the Deployment does not mount $CM"
grep -q "name: $RCM\$" "$K8S_TMP/redis.yaml" || k8s_fail "Redis does not mount $RCM"

# Removed last registered first: the kubevoxd pods, then Redis.
k8s_on_exit 'podman kube down "$K8S_TMP/redis.yaml" > /dev/null 2>&1; podman volume rm -f "$RCM" > /dev/null 2>&1'
k8s_on_exit 'podman kube down "$K8S_TMP/kube.yaml" > /dev/null 2>&1; podman volume rm -f "$CM" > /dev/null 2>&1'
podman volume create "$CM" > /dev/null || k8s_fail "podman volume create $CM"
vol=$(podman volume inspect "$CM" --format '{{.Mountpoint}}')
[ -d "$vol" ] || k8s_fail "no mount point for volume $CM"

cm_publish "$conf"

# --- play ----------------------------------------------------------------

podman kube play --configmap "$cms/$RCM.yaml" "$K8S_TMP/redis.yaml" \
	> "$K8S_TMP/play-redis.log" 2>&1 || fail "podman kube play (Redis): $(cat "$K8S_TMP/play-redis.log")"

declare -A IP
# pod_ip POD: the address of POD's infra container on podman's bridge.
pod_ip()
{
	local infra

	infra=$(podman pod inspect "$1" --format '{{.InfraContainerID}}') ||
		fail "no pod $1: $(podman pod ps 2>&1)"
	IP[$1]=$(podman inspect "$infra" \
		--format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
	[ -n "${IP[$1]}" ] || fail "pod $1 has no address"
}
pod_ip "$REDIS_POD"
# What the Service redis is on a cluster: its name for the Redis pod's
# address (podman's kube network has no DNS).
node "$MANIFEST" "$K8S_NPM_DIR/node_modules" alias "$K8S_TMP/kube.yaml" redis "${IP[$REDIS_POD]}" ||
	fail "manifest.js alias"

# The configuration is a claim on the volume $CM (see
# tests/k8s/podman/deployment.yaml for why): podman mounts it as
# cm_publish left it.
podman kube play "$K8S_TMP/kube.yaml" \
	> "$K8S_TMP/play.log" 2>&1 || fail "podman kube play: $(cat "$K8S_TMP/play.log")"
[ -L "$vol/..data" ] && [ -L "$vol/pjsip.conf" ] ||
	fail "podman kube play replaced the kubelet layout of the ConfigMap volume"

for p in $PODS; do
	pod_ip "$p"
done
t=$(now)
for p in $PODS; do
	wait_ready "$p"
done
k8s_ok "3 replicas ready (Redis answering) in $(since "$t") s: $P0 at ${IP[$P0]}, $P1 at ${IP[$P1]}, $P2 at ${IP[$P2]}; Redis at ${IP[$REDIS_POD]}"
for p in $PODS; do
	wait_metric "$p" 'kubevox_replicas{state="alive"}' 3 10
done
k8s_ok "each replica counts 3 alive in Redis (kubevox_replicas)"

# --- SIP through a pod ---------------------------------------------------

sipp_ok "SIPp: 1001 registers through $P0" "$P0" \
	"$KV_SRC/tests/sip/scenarios/reg_200.xml" 1001 kubevox1001
mp=$(free_port) || fail "no free media port"
sipp_ok "SIPp: 1001 calls 600 (echo) through $P0, BYE 200" "$P0" \
	"$K8S_DIR/scenarios/call_echo.xml" \
	1001 kubevox1001 -s 600 -auth_uri "600@${IP[$P0]}:5060" -mp "$mp" -d 1000
for p in $PODS; do
	serves "$p"
done

# --- a call across replicas ----------------------------------------------

# 1002, a phone registered once through pod 1, answers two calls from
# 1001 through pod 0: this one, and one after pod 1's kill -9 below.
contact_file=$K8S_TMP/1002.contact
timeout -k 2 150 python3 "$SIPCHECK" phone "${IP[$P1]}" 1002 kubevox1002 \
	--contact-file "$contact_file" --media-host "${IP[$P0]}" --calls 2 --wait 120 \
	> "$K8S_TMP/phone.out" 2>&1 &
phone=$!
k8s_on_exit 'kill "$phone" 2> /dev/null'
end=$(($(date +%s) + 15))
until [ -s "$contact_file" ]; do
	kill -0 "$phone" 2> /dev/null || fail "1002 did not register through $P1: $(cat "$K8S_TMP/phone.out")"
	[ "$(date +%s)" -lt "$end" ] || fail "1002 did not register through $P1 in 15 s"
	sleep 0.1
done
contact=$(cat "$contact_file")
out=$(sipcheck bindings "${IP[$P2]}" 1002 kubevox1002 --contact "$contact" --timeout 2 2>&1) ||
	fail "1002 registered through $P1, then: $out"
k8s_ok "$contact registered through $P1; $out"

# phone_calls N: until the phone has reported N calls, or has failed.
phone_calls()
{
	local n=$1 end

	end=$(($(date +%s) + 15))
	until [ "$(grep -c '^call ' "$K8S_TMP/phone.out")" -ge "$n" ]; do
		kill -0 "$phone" 2> /dev/null || fail "1002's phone: $(cat "$K8S_TMP/phone.out")"
		[ "$(date +%s)" -lt "$end" ] || fail "1002's phone reported no call $n in 15 s"
		sleep 0.1
	done
	grep '^call ' "$K8S_TMP/phone.out" | sed -n "${n}p"
}

# xcall N: 1001 calls 1002 through pod 0, the phone's call N, once pod 0
# counts pod 1 alive (otherwise it would call the phone straight).
xcall()
{
	local out

	wait_metric "$P0" "kubevox_replica_up{replica=\"$P1\"}" 1 10
	out=$(sipcheck call "${IP[$P0]}" 1001 kubevox1001 1002 2>&1) ||
		fail "1001 through $P0 calling 1002 (through $P1): $out
1002's phone: $(cat "$K8S_TMP/phone.out")"
	k8s_ok "1001 through $P0 calls 1002: $out
  1002's $(phone_calls "$1")"
}

xcall 1
n=$(metric "$P0" kubevox_cross_replica_deliveries_total)
[ "${n:-0}" -ge 1 ] 2>/dev/null ||
	fail "$P0: kubevox_cross_replica_deliveries_total is '$n' after the call"
k8s_ok "$P0: kubevox_cross_replica_deliveries_total $n"

# --- Redis hung, then killed and restarted empty --------------------------

# Redis is hung with SIGSTOP, then killed: the pod's restartPolicy starts
# it again, at the same address (what the Service's ClusterIP gives on a
# cluster), and empty since it saves nothing.  (podman stop and start
# would also stop the pod's infra container and change its address.)
rpid=$(state "$REDIS_C" .State.Pid)
[ "$rpid" -gt 1 ] 2>/dev/null || fail "$REDIS_C: no process id ($rpid)"
# A failure while it is stopped must not leave podman kube down waiting
# out the grace period for a process that cannot see its SIGTERM.
k8s_on_exit 'kill -CONT "$rpid" 2> /dev/null'
kill -STOP "$rpid" || fail "kill -STOP $rpid (Redis)"
t=$(now)
for p in $PODS; do
	wait_code "$p" /readyz 503 10
	code=$(http_code "$p" /livez)
	[ "$code" = 200 ] || fail "$p: /livez answered '$code' with Redis hung, not 200"
done
k8s_ok "Redis hung (SIGSTOP): /readyz 503 and /livez 200 on the 3 pods after $(since "$t") s"
kill -KILL "$rpid" || fail "kill -9 $rpid (Redis)"
t=$(now)
for _ in $(seq 1 100); do
	newpid=$(state "$REDIS_C" .State.Pid)
	[ "$(state "$REDIS_C" .State.Running)" = true ] && [ "$newpid" != "$rpid" ] &&
		[ "$newpid" != 0 ] && break
	sleep 0.1
done
[ "$(state "$REDIS_C" .State.Running)" = true ] && [ "$newpid" != "$rpid" ] ||
	fail "$REDIS_C was not restarted after kill -9 ($(state "$REDIS_C" .State.Status))"
raddr=${IP[$REDIS_POD]}
pod_ip "$REDIS_POD"
[ "${IP[$REDIS_POD]}" = "$raddr" ] ||
	fail "Redis came back at ${IP[$REDIS_POD]}, not at $raddr"
for p in $PODS; do
	wait_ready "$p" 10
done
k8s_ok "Redis killed and restarted empty: /readyz 200 on the 3 pods after $(since "$t") s"
out=$(sipcheck bindings "${IP[$P2]}" 1002 kubevox1002 --contact "$contact" --timeout 10 2>&1) ||
	fail "1002's binding after Redis came back empty: $out"
n=$(metric "$P1" kubevox_state_bindings_written_back_total)
[ "${n:-0}" -ge 1 ] 2>/dev/null ||
	fail "$P1: kubevox_state_bindings_written_back_total is '$n' after Redis came back empty"
k8s_ok "$out $(since "$t") s after Redis was killed (written back by $P1: kubevox_state_bindings_written_back_total $n)"

# --- kill -9 -------------------------------------------------------------

# Of pod 1, which holds 1002's flow: restarted with the same name and
# address, it loads its bindings from Redis and delivers to 1002 again,
# which does not register again.
C1=$P1-kubevox
pid=$(state "$C1" .State.Pid)
restarts=$(state "$C1" .RestartCount)
[ "$pid" -gt 1 ] 2>/dev/null || fail "$C1: no process id ($pid)"
kill -KILL "$pid" || fail "kill -9 $pid"
t=$(now)
wait_sip "$P1" 30
k8s_ok "kill -9 of kubevoxd in $P1: restarted, SIP OPTIONS answered again after $(since "$t") s"
newpid=$(state "$C1" .State.Pid)
[ "$newpid" != "$pid" ] || fail "$C1: same process $pid after kill -9"
[ "$(state "$C1" .RestartCount)" -gt "$restarts" ] ||
	fail "$C1: restart count did not grow"
wait_ready "$P1" 30
xcall 2
wait "$phone" || fail "1002's phone: $(cat "$K8S_TMP/phone.out")"
k8s_ok "1002 reached through the restarted $P1 with no new REGISTER"
serves "$P1"

# --- SIGSTOP: the liveness probe, as the kubelet runs it -----------------

read -r period timeout threshold grace < <(node "$MANIFEST" "$K8S_NPM_DIR/node_modules" \
	liveness "$K8S_TMP/kube.yaml")
[ -n "${grace:-}" ] || fail "cannot read the liveness probe of the overlay"

probe_live "$C0" || fail "$C0: liveness probe fails on a healthy process: $(cat "$K8S_TMP/probe.out")"
k8s_ok "liveness probe passes: $(cat "$K8S_TMP/probe.out")"

pid=$(state "$C0" .State.Pid)
started=$(state "$C0" .State.StartedAt)
k8s_on_exit 'kill -CONT "$pid" 2> /dev/null'
kill -STOP "$pid" || fail "kill -STOP $pid"
t=$(now)
fails=0
runs=0
while [ "$fails" -lt "$threshold" ]; do
	sleep "$period"
	runs=$((runs + 1))
	if probe_live "$C0"; then
		fails=0
	else
		fails=$((fails + 1))
	fi
	[ "$runs" -le $((threshold + 3)) ] ||
		fail "$C0: liveness still passing $runs periods after SIGSTOP"
done
k8s_ok "SIGSTOP: liveness failed $threshold times in a row (period ${period}s, timeout ${timeout}s) after $(since "$t") s: $(tail -n 1 "$K8S_TMP/probe.out")"

# The kubelet's kill: SIGTERM, the probe's grace period, SIGKILL, sent to
# the container's process as the runtime does; the pod's restartPolicy
# (Always) then starts the container again.  (podman restarts a container
# whose process dies, but not one stopped with `podman kill`.)
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 $((grace * 10))); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
kill -KILL "$pid" 2>/dev/null
for _ in $(seq 1 100); do
	newpid=$(state "$C0" .State.Pid)
	[ "$(state "$C0" .State.Running)" = true ] && [ "$newpid" != "$pid" ] &&
		[ "$newpid" != 0 ] && break
	sleep 0.1
done
[ "$(state "$C0" .State.Running)" = true ] && [ "$newpid" != "$pid" ] ||
	fail "$C0 was not restarted after the kill ($(state "$C0" .State.Status))"
wait_sip "$P0" 30
k8s_ok "hung kubevoxd killed and restarted: SIP answered again $(since "$t") s after SIGSTOP"
[ "$(state "$C0" .State.StartedAt)" != "$started" ] || fail "$C0 was not restarted"
wait_ready "$P0" 30
probe_live "$C0" || fail "$C0: liveness fails after the restart: $(cat "$K8S_TMP/probe.out")"
serves "$P0"

# --- a ConfigMap change, picked up without a restart ---------------------

declare -A PID0 START0
for p in $PODS; do
	PID0[$p]=$(state "$p-kubevox" .State.Pid)
	START0[$p]=$(state "$p-kubevox" .State.StartedAt)
	if out=$(sipcheck register "${IP[$p]}" 1004 kubevox1004-new 2>&1); then
		fail "$p: 1004 registered before it was configured"
	fi
done
conf2=$K8S_TMP/conf2
cp -r "$conf" "$conf2"
printf '\n[1004](auth-userpass)\nusername=1004\npassword=kubevox1004-new\n' \
	>> "$conf2/pjsip_auth.conf"
printf '\n[1004](endpoint-basic)\nauth=1004\naors=1004\n\n[1004](aor-multi-reg)\n' \
	>> "$conf2/pjsip.conf"
cm_publish "$conf2"
t=$(now)
for p in $PODS; do
	end=$(($(date +%s) + 30))
	until out=$(sipcheck register "${IP[$p]}" 1004 kubevox1004-new --timeout 1 2>&1); do
		[ "$(date +%s)" -lt "$end" ] ||
			fail "$p: 1004 cannot register 30 s after the ConfigMap change: $out"
		sleep 0.25
	done
	k8s_ok "$p: new user 1004 registers $(since "$t") s after the ..data swap"
done
for p in $PODS; do
	[ "$(state "$p-kubevox" .State.Pid)" = "${PID0[$p]}" ] &&
		[ "$(state "$p-kubevox" .State.StartedAt)" = "${START0[$p]}" ] ||
		fail "$p: restarted by the ConfigMap change"
	out=$(sipcheck register "${IP[$p]}" 1001 kubevox1001 2>&1) ||
		fail "$p: 1001 after the reload: $out"
done
k8s_ok "config reloaded in place: same processes, 1001 still registers"

k8s_log "total $(since "$T_START") s"
k8s_pass
