#!/usr/bin/env bash
# test_front_manifests - the front door's kustomize component (k8s/front)
# renders offline over k8s/ (tests/k8s/front, the overlay of
# docs/kubernetes.md), the whole passes tests/k8s/validate.js (schemas,
# and everything the deployment relied on before) and tests/k8s/front.js
# (what the front relies on: host network on edge nodes, cluster DNS,
# front.sh on the node's address fed by replicas.sh from a headless Service
# of the kubevoxd pods, replicas kept off edge nodes, capabilities).  Then
# each of those properties is broken in a copy, one at a time, and the
# validators must say so.  Last, replicas.sh itself: a name that resolves
# gives the file, one that does not leaves it as it was, bad arguments are
# refused.
. "$(dirname "$0")/../k8s/lib.sh"

k8s_need_kubectl
k8s_npm

drain=$(k8s_drain_timeout "$KV_SRC/asterisk_config")
cfg=$K8S_TMP/config.yaml
{
	"$KV_SRC/k8s/config.sh" "$KV_SRC/asterisk_config" && echo --- && "$KV_SRC/k8s/secret.sh"
} > "$cfg" 2> "$K8S_TMP/config.err" || k8s_fail "config.sh/secret.sh: $(cat "$K8S_TMP/config.err")"

front()
{
	node "$K8S_DIR/front.js" "$K8S_NPM_DIR/node_modules" "$1" > "$K8S_TMP/front.out" 2>&1
}

kubectl kustomize "$KV_SRC/tests/k8s/front" > "$K8S_TMP/front.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize tests/k8s/front: $(cat "$K8S_TMP/kustomize.err")"
k8s_ok "k8s/ with the component k8s/front renders"
k8s_validate "$K8S_TMP/front.yaml" "$cfg" "$drain" ||
	k8s_fail "validate.js: $(cat "$K8S_TMP/validate.out")"
k8s_ok "validate.js: $(cut -c1-200 "$K8S_TMP/validate.out")"
front "$K8S_TMP/front.yaml" || k8s_fail "front.js: $(cat "$K8S_TMP/front.out")"
k8s_ok "$(cat "$K8S_TMP/front.out")"
grep -q 'kind: DaemonSet' "$K8S_TMP/front.yaml" ||
	k8s_fail "the overlay has no DaemonSet"
if kubectl kustomize "$KV_SRC/k8s" | grep -q 'kubevox-front'; then
	k8s_fail "k8s/ alone has the front: it must be an optional component"
fi
k8s_ok "k8s/ alone has no front: the component is optional"

# broken WHAT KIND NAME JSONPATCH EXPECTED: the overlay with one JSON patch
# more must be refused by validate.js or front.js with a line matching
# EXPECTED.
n=0
broken()
{
	local what=$1 kind=$2 name=$3 patch=$4 want=$5 dir out

	n=$((n + 1))
	dir=$K8S_TMP/broken-$n
	mkdir -p "$dir"
	# Kustomize takes no absolute path of a kustomization.
	cat > "$dir/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- $(realpath --relative-to="$dir" "$KV_SRC/tests/k8s/front")
patches:
- target:
    kind: $kind
    name: $name
  patch: '$patch'
EOF
	kubectl kustomize "$dir" > "$dir.yaml" 2> "$dir.err" ||
		k8s_fail "$what: the broken copy does not render: $(cat "$dir.err")"
	out=
	k8s_validate "$dir.yaml" "$cfg" "$drain" || out=$(cat "$K8S_TMP/validate.out")
	front "$dir.yaml" || out="$out
$(cat "$K8S_TMP/front.out")"
	[ -n "$out" ] || k8s_fail "$what: accepted"
	grep -Eq -- "$want" <<< "$out" || k8s_fail "$what: refused, but without /$want/:
$out"
	k8s_ok "refused: $what"
}

P=/spec/template/spec
F=$P/containers/0
R=$P/containers/1
broken "front not on the host network" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$P/hostNetwork\",\"value\":false}]" \
	'hostNetwork is not true'
broken "front without cluster DNS" DaemonSet kubevox-front \
	"[{\"op\":\"remove\",\"path\":\"$P/dnsPolicy\"}]" \
	'dnsPolicy is not ClusterFirstWithHostNet'
broken "front on every node" DaemonSet kubevox-front \
	"[{\"op\":\"remove\",\"path\":\"$P/nodeSelector\"}]" \
	'nodeSelector is not kubevox.io/edge'
broken "front on the pod's address" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$F/env/0/valueFrom/fieldRef/fieldPath\",\"value\":\"status.podIP\"}]" \
	'HOST_IP does not come from status.hostIP'
broken "front on another port" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$F/args/0\",\"value\":\"\$(HOST_IP):5070\"}]" \
	'front listens on .*5070, not'
broken "list written where the front does not read" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$R/args/2\",\"value\":\"/run/kubevox-front/other\"}]" \
	'replicas writes /run/kubevox-front/other, front reads'
broken "list on a volume the front does not mount" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$R/volumeMounts/0/mountPath\",\"value\":\"/srv\"}]" \
	'not on an emptyDir both containers mount'
broken "resolver on a name no Service has" DaemonSet kubevox-front \
	"[{\"op\":\"replace\",\"path\":\"$R/args/0\",\"value\":\"kubevox-sip-replicas\"}]" \
	'resolves kubevox-sip-replicas, which no Service'
broken "front with SYS_ADMIN" DaemonSet kubevox-front \
	"[{\"op\":\"add\",\"path\":\"$F/securityContext/capabilities/add/-\",\"value\":\"SYS_ADMIN\"}]" \
	'capabilities beyond NET_BIND_SERVICE'
broken "replicas Service with a virtual address" Service kubevox-replicas \
	'[{"op":"remove","path":"/spec/clusterIP"}]' \
	'Service/kubevox-replicas: not headless'
broken "replicas Service listing draining pods" Service kubevox-replicas \
	'[{"op":"replace","path":"/spec/publishNotReadyAddresses","value":true}]' \
	'publishNotReadyAddresses'
broken "replicas Service selecting nothing" Service kubevox-replicas \
	'[{"op":"replace","path":"/spec/selector","value":{"app":"other"}}]' \
	'Service/kubevox-replicas: its selector does not pick'
broken "replicas on edge nodes" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/affinity/nodeAffinity\"}]" \
	'no required nodeAffinity keeping it off kubevox.io/edge'
broken "a port number as a string (schema)" Service kubevox-replicas \
	'[{"op":"replace","path":"/spec/ports/0/port","value":"sip"}]' \
	'Service/kubevox-replicas: schema: .*port must be integer'

# replicas.sh
rs=$KV_SRC/k8s/front/replicas.sh
list=$K8S_TMP/replicas
REPLICAS_ONCE=1 "$rs" localhost 5060 "$list" 2> "$K8S_TMP/rs.err" ||
	k8s_fail "replicas.sh localhost: $(cat "$K8S_TMP/rs.err")"
[ "$(cat "$list")" = "sip:127.0.0.1:5060" ] || k8s_fail "replicas.sh localhost wrote: $(cat "$list")"
if REPLICAS_ONCE=1 "$rs" kubevox-no-such-name.invalid 5060 "$list" 2> "$K8S_TMP/rs.err"; then
	k8s_fail "replicas.sh succeeded on a name that does not resolve"
fi
grep -q 'does not resolve' "$K8S_TMP/rs.err" || k8s_fail "replicas.sh said: $(cat "$K8S_TMP/rs.err")"
[ "$(cat "$list")" = "sip:127.0.0.1:5060" ] || k8s_fail "an unresolved name changed the list: $(cat "$list")"
for args in "localhost" "localhost 99999 $list" "localhost 5060 $list 0" "localhost sip $list"; do
	# shellcheck disable=SC2086 # one word per argument
	if "$rs" $args 2> "$K8S_TMP/rs.err"; then
		k8s_fail "replicas.sh $args succeeded"
	fi
	[ -s "$K8S_TMP/rs.err" ] || k8s_fail "replicas.sh $args failed without a word"
done
k8s_ok "replicas.sh: resolves into the file, keeps it when DNS fails, refuses bad arguments"
k8s_pass
