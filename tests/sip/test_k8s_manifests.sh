#!/usr/bin/env bash
# test_k8s_manifests - k8s/ renders with `kubectl kustomize` (offline), and
# every object, with the ConfigMap and Secret k8s/config.sh makes from
# asterisk_config/ and the Secret k8s/secret.sh makes, passes
# tests/k8s/validate.js: the Kubernetes schemas (npm kubernetes-models) and
# what the deployment relies on (anti-affinity, exec probes of kubevoxd
# --probe, grace period >= drain timeout, NodePort 30060 with
# externalTrafficPolicy Local, no password in the ConfigMap; cluster mode:
# 3 replicas named after their node and advertised at its address on
# pjsip.conf's UDP port, kubevox.conf on the Redis Service with every
# #include in /etc/kubevox, Redis with the [state] password, no volume, no
# saving).  Then each of those properties is broken in a copy, one at a
# time, and the validator must say so; config.sh must refuse a credential
# outside the *_auth.conf files.  The podman overlay must render too.
. "$(dirname "$0")/../k8s/lib.sh"

k8s_need_kubectl
k8s_npm

drain=$(k8s_drain_timeout "$KV_SRC/asterisk_config")
cfg=$K8S_TMP/config.yaml
"$KV_SRC/k8s/config.sh" "$KV_SRC/asterisk_config" > "$cfg" 2> "$K8S_TMP/config.err" ||
	k8s_fail "k8s/config.sh asterisk_config: $(cat "$K8S_TMP/config.err")"
echo --- >> "$cfg"
"$KV_SRC/k8s/secret.sh" >> "$cfg" 2> "$K8S_TMP/secret.err" ||
	k8s_fail "k8s/secret.sh: $(cat "$K8S_TMP/secret.err")"
kubectl kustomize "$KV_SRC/k8s" > "$K8S_TMP/k8s.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize k8s/: $(cat "$K8S_TMP/kustomize.err")"
k8s_ok "kubectl kustomize k8s/ and k8s/config.sh asterisk_config render"

k8s_validate "$K8S_TMP/k8s.yaml" "$cfg" "$drain" ||
	k8s_fail "k8s/ does not validate:
$(cat "$K8S_TMP/validate.out")"
k8s_ok "$(cat "$K8S_TMP/validate.out") (drain timeout $drain s)"

kubectl kustomize "$KV_SRC/tests/k8s/podman" > "$K8S_TMP/podman.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize tests/k8s/podman: $(cat "$K8S_TMP/kustomize.err")"
k8s_ok "the podman overlay renders"

# broken NAME KIND OBJECT JSONPATCH EXPECTED: a copy of k8s/ with one JSON
# patch applied must fail validation with a line matching EXPECTED.
n=0
broken()
{
	local what=$1 kind=$2 name=$3 patch=$4 want=$5 dir

	n=$((n + 1))
	dir=$K8S_TMP/broken-$n
	cp -r "$KV_SRC/k8s" "$dir"
	cat >> "$dir/kustomization.yaml" <<EOF

patches:
- target:
    kind: $kind
    name: $name
  patch: '$patch'
EOF
	kubectl kustomize "$dir" > "$dir.yaml" 2> "$dir.err" ||
		k8s_fail "$what: the broken copy does not render: $(cat "$dir.err")"
	if k8s_validate "$dir.yaml" "$cfg" "$drain"; then
		k8s_fail "$what: accepted:
$(cat "$K8S_TMP/validate.out")"
	fi
	grep -Eq -- "$want" "$K8S_TMP/validate.out" ||
		k8s_fail "$what: rejected, but without /$want/:
$(cat "$K8S_TMP/validate.out")"
	k8s_ok "rejected: $what"
}

P=/spec/template/spec
broken "replicas as a string (schema)" Deployment kubevox \
	'[{"op":"replace","path":"/spec/replicas","value":"two"}]' \
	'schema: .*replicas must be integer'
broken "a port number as a string (schema)" Service kubevox-sip \
	'[{"op":"replace","path":"/spec/ports/0/port","value":"sip"}]' \
	'Service/kubevox-sip: schema: .*port must be integer'
broken "anti-affinity on zones, not nodes" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/0/topologyKey\",\"value\":\"topology.kubernetes.io/zone\"}]" \
	'no required podAntiAffinity'
broken "no anti-affinity" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/affinity\"}]" \
	'no required podAntiAffinity'
broken "no host network" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/hostNetwork\",\"value\":false}]" \
	'hostNetwork is not true'
broken "liveness over httpGet (no curl, no SIP check)" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/containers/0/livenessProbe\",\"value\":{\"httpGet\":{\"path\":\"/livez\",\"port\":8088}}}]" \
	'livenessProbe is not an exec probe'
broken "readiness probing live" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/containers/0/readinessProbe/exec/command/2\",\"value\":\"live\"}]" \
	'readinessProbe runs .* not kubevoxd --probe ready'
broken "no startup probe" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/containers/0/startupProbe\"}]" \
	'startupProbe is not an exec probe'
broken "grace period shorter than the drain" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/terminationGracePeriodSeconds\",\"value\":30}]" \
	"terminationGracePeriodSeconds 30 is less than the drain timeout $drain"
broken "liveness failure waits for the drain grace period" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/containers/0/livenessProbe/terminationGracePeriodSeconds\"}]" \
	'livenessProbe has no terminationGracePeriodSeconds of its own'
broken "no resource limits" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/containers/0/resources/limits\"}]" \
	'no limits.cpu'
broken "runs as root" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$P/securityContext/runAsUser\",\"value\":0}]" \
	'does not run as a non-root user'
broken "config volume without the Secret" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/volumes/0/projected/sources/1\"}]" \
	'/etc/kubevox has Secret kubevox-cluster, config.sh makes kubevox-auth'
broken "surge pod on a full cluster" Deployment kubevox \
	'[{"op":"replace","path":"/spec/strategy/rollingUpdate/maxSurge","value":1}]' \
	'maxSurge must be 0'
broken "externalTrafficPolicy Cluster" Service kubevox-sip \
	'[{"op":"replace","path":"/spec/externalTrafficPolicy","value":"Cluster"}]' \
	'externalTrafficPolicy is not Local'
broken "another nodePort" Service kubevox-sip \
	'[{"op":"replace","path":"/spec/ports/0/nodePort","value":30061}]' \
	'no UDP port 5060 on nodePort 30060'
broken "PDB selecting nothing" PodDisruptionBudget kubevox \
	'[{"op":"replace","path":"/spec/selector/matchLabels","value":{"app":"other"}}]' \
	'PodDisruptionBudget/kubevox: its selector does not pick'
broken "Redis Service selecting nothing" Service redis \
	'[{"op":"replace","path":"/spec/selector","value":{"app":"other"}}]' \
	'Service/redis: its selector does not pick'
C=$P/containers/0
broken "two replicas" Deployment kubevox \
	'[{"op":"replace","path":"/spec/replicas","value":2}]' \
	'replicas is 2, not 3'
broken "replica named after the pod, not the node" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$C/env/0/valueFrom/fieldRef/fieldPath\",\"value\":\"metadata.name\"}]" \
	'KUBEVOX_REPLICA does not come from spec.nodeName'
broken "advertised at the pod's address" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$C/env/1/valueFrom/fieldRef/fieldPath\",\"value\":\"status.podIP\"}]" \
	'HOST_IP does not come from status.hostIP'
broken "advertised on another port than pjsip.conf's" Deployment kubevox \
	"[{\"op\":\"replace\",\"path\":\"$C/env/2/value\",\"value\":\"\$(HOST_IP):5070\"}]" \
	"KUBEVOX_ADVERTISE port 5070 is not the UDP transport's port 5060"
broken "advertise before the address it expands" Deployment kubevox \
	"[{\"op\":\"move\",\"from\":\"$C/env/1\",\"path\":\"$C/env/2\"}]" \
	'HOST_IP must come before KUBEVOX_ADVERTISE'
broken "no cluster Secret in /etc/kubevox" Deployment kubevox \
	"[{\"op\":\"remove\",\"path\":\"$P/volumes/0/projected/sources/2\"}]" \
	'kubevox.conf includes state_auth.conf, which /etc/kubevox does not have'
broken "Redis on a PersistentVolume" StatefulSet redis \
	'[{"op":"add","path":"/spec/volumeClaimTemplates","value":[{"metadata":{"name":"data"},"spec":{"accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}]}]' \
	'StatefulSet/redis: a PersistentVolume'
broken "Redis saving snapshots and an append-only file" StatefulSet redis \
	'[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":["redis-server","/etc/redis/redis.conf","--appendonly","yes"]}]' \
	'not --save "".*|not --appendonly no'
broken "Redis password on the command line" StatefulSet redis \
	'[{"op":"replace","path":"/spec/template/spec/containers/0/args","value":["redis-server","--requirepass","x","--save","","--appendonly","no"]}]' \
	'--requirepass on the command line'
broken "Redis probes with another key of the Secret" StatefulSet redis \
	'[{"op":"replace","path":"/spec/template/spec/containers/0/env/0/valueFrom/secretKeyRef/key","value":"http-token"}]' \
	'REDISCLI_AUTH is not the password'
broken "headless Redis Service" Service redis \
	'[{"op":"replace","path":"/spec/type","value":"ClusterIP"},{"op":"add","path":"/spec/clusterIP","value":"None"}]' \
	'Service/redis: headless'

# The grace period is checked against the drain timeout of the config.
conf=$K8S_TMP/conf
mkdir -p "$conf"
cp "$KV_SRC"/asterisk_config/*.conf "$conf/"
printf '\n[general]\ndrain_timeout = 7200 ; two hours\n' >> "$conf/kubevox.conf"
long=$(k8s_drain_timeout "$conf")
[ "$long" = 7200 ] || k8s_fail "drain_timeout read as '$long', not 7200"
if k8s_validate "$K8S_TMP/k8s.yaml" "$cfg" "$long"; then
	k8s_fail "a grace period shorter than drain_timeout = 7200 was accepted"
fi
grep -q 'is less than the drain timeout 7200' "$K8S_TMP/validate.out" ||
	k8s_fail "drain_timeout 7200: $(cat "$K8S_TMP/validate.out")"
k8s_ok "kubevox.conf's drain_timeout (7200) is what the grace period must cover"

# Cluster mode comes from k8s/cluster.conf, appended to kubevox.conf.
python3 - "$cfg" <<'PY' || k8s_fail "the ConfigMap's kubevox.conf is not asterisk_config's plus k8s/cluster.conf"
import os, re, sys
text = open(sys.argv[1]).read()
src = os.environ["KV_SRC"]
want = open(src + "/asterisk_config/kubevox.conf").read() + \
    "\n; ---- appended by k8s/config.sh: k8s/cluster.conf ----\n" + \
    open(src + "/k8s/cluster.conf").read()
m = re.search(r"^  kubevox.conf: \|\n((?:    .*\n|\n)+)", text, re.M)
got = "".join(l[4:] if l.strip() else l for l in m.group(1).splitlines(True))
assert got.rstrip("\n") == want.rstrip("\n"), got
PY
k8s_ok "the ConfigMap's kubevox.conf: asterisk_config's, then k8s/cluster.conf (redis, includes of the Secret)"

# validate_conf WHAT DIR EXPECTED [SECRET.yaml]: config.sh DIR (and the
# Secret of secret.sh, or SECRET.yaml) must fail validation with EXPECTED.
validate_conf()
{
	local what=$1 dir=$2 want=$3 secret=${4:-} out=$K8S_TMP/conf-$RANDOM.yaml

	"$KV_SRC/k8s/config.sh" "$dir" > "$out" 2> "$K8S_TMP/config.err" ||
		k8s_fail "$what: config.sh failed: $(cat "$K8S_TMP/config.err")"
	echo --- >> "$out"
	if [ -n "$secret" ]; then
		cat "$secret" >> "$out"
	else
		"$KV_SRC/k8s/secret.sh" >> "$out"
	fi
	if k8s_validate "$K8S_TMP/k8s.yaml" "$out" "$drain"; then
		k8s_fail "$what: accepted"
	fi
	grep -Eq -- "$want" "$K8S_TMP/validate.out" ||
		k8s_fail "$what: rejected, but without /$want/:
$(cat "$K8S_TMP/validate.out")"
	k8s_ok "rejected: $what"
}

mkconf()
{
	rm -rf "$conf"
	mkdir -p "$conf"
	cp "$KV_SRC"/asterisk_config/*.conf "$conf/"
}

# A kubevox.conf with a [state] of its own is taken as it is.
mkconf
printf '\n[state]\nbackend = memory\n' >> "$conf/kubevox.conf"
validate_conf "a configuration that keeps the memory backend" "$conf" \
	'\[state\] backend is not redis'
mkconf
{ printf '\n'; sed 's|redis://redis:6379|redis://valkey:6379|' "$KV_SRC/k8s/cluster.conf"; } \
	>> "$conf/kubevox.conf"
validate_conf "a Redis URL no Service serves" "$conf" \
	'url names valkey:6379, which no Service of the manifests serves'
mkconf
{ printf '\n'; sed '/#include http_auth.conf/d' "$KV_SRC/k8s/cluster.conf"; } \
	>> "$conf/kubevox.conf"
validate_conf "no [http] token" "$conf" '\[http\] has no token'
# A Secret whose Redis password is not kubevox.conf's.
a=$K8S_TMP/secret-a
b=$K8S_TMP/secret-b
mkdir -p "$a" "$b"
"$KV_SRC/k8s/secret.sh" --dir "$a" && "$KV_SRC/k8s/secret.sh" --dir "$b" ||
	k8s_fail "secret.sh --dir"
cmp -s "$a/redis-password" "$b/redis-password" && k8s_fail "secret.sh made the same password twice"
kubectl create secret generic kubevox-cluster --from-file="$a/state_auth.conf" \
	--from-file="$a/cluster_auth.conf" --from-file="$a/http_auth.conf" \
	--from-file="$b/redis.conf" --from-file="$b/redis-password" --from-file="$a/http-token" \
	--dry-run=client -o yaml > "$K8S_TMP/mixed.yaml" || k8s_fail "kubectl create secret"
validate_conf "Redis with another password than [state]'s" "$KV_SRC/asterisk_config" \
	'its requirepass is not kubevox.conf' "$K8S_TMP/mixed.yaml"
grep -q "^password = $(cat "$a/redis-password")\$" "$a/state_auth.conf" &&
	grep -q "^requirepass $(cat "$a/redis-password")\$" "$a/redis.conf" &&
	grep -Eq '^secret = [0-9a-f]{64}$' "$a/cluster_auth.conf" &&
	grep -q "^token = $(cat "$a/http-token")\$" "$a/http_auth.conf" ||
	k8s_fail "secret.sh --dir: the files do not agree"
k8s_ok "secret.sh: 256-bit random values, the same Redis password in [state], redis.conf and redis-password"

# refused WHAT DIR EXPECTED: config.sh DIR must fail with EXPECTED on
# stderr and print nothing for kubectl to apply.
refused()
{
	local what=$1 dir=$2 want=$3

	if "$KV_SRC/k8s/config.sh" "$dir" > "$K8S_TMP/bad.yaml" 2> "$K8S_TMP/bad.err"; then
		k8s_fail "config.sh accepted $what"
	fi
	grep -q -- "$want" "$K8S_TMP/bad.err" ||
		k8s_fail "config.sh, $what: no /$want/ in: $(cat "$K8S_TMP/bad.err")"
	[ -s "$K8S_TMP/bad.yaml" ] && k8s_fail "config.sh printed YAML although it refused $what"
	k8s_ok "config.sh refuses $what ($(head -n 1 "$K8S_TMP/bad.err"))"
}

# Credentials.  config.sh refuses one outside *_auth.conf, with the file
# and line, and the files of kubevox-cluster in the directory.
mkconf
printf '\n[1009]\ntype=auth\nusername=1009\n  password = hunter22 ; oops\n' >> "$conf/pjsip.conf"
refused "a password in pjsip.conf" "$conf" \
	"pjsip.conf:$(grep -c '' "$conf/pjsip.conf"): a credential in a file of the ConfigMap"
mkconf
printf '\n[http]\n token=abcdefghijklmnopqrstuvwxyz\n' >> "$conf/kubevox.conf"
refused "a token in kubevox.conf" "$conf" \
	"kubevox.conf:$(grep -c '' "$conf/kubevox.conf"): a credential in a file of the ConfigMap"
mkconf
printf 'token = x\n' > "$conf/http_auth.conf"
refused "http_auth.conf, a file of kubevox-cluster" "$conf" \
	'http_auth.conf: this file comes from the Secret kubevox-cluster'

# A ConfigMap made without config.sh, straight from the directory, holds
# the passwords: the validator must see them.
kubectl create configmap kubevox-config --from-file="$KV_SRC/asterisk_config/" \
	--dry-run=client -o yaml > "$K8S_TMP/naive.yaml" || k8s_fail "kubectl create configmap"
# The Secret is config.sh's, the document after its "---".
{ cat "$K8S_TMP/naive.yaml"; echo ---; awk 'f; /^---$/ { f = 1 }' "$cfg"; } \
	> "$K8S_TMP/naive-all.yaml"
if k8s_validate "$K8S_TMP/k8s.yaml" "$K8S_TMP/naive-all.yaml" "$drain"; then
	k8s_fail "a ConfigMap with the passwords was accepted"
fi
for want in 'holds pjsip_auth.conf, which belongs in the Secret' \
	    'pjsip_auth.conf sets password' 'contains a password of the Secret'; do
	grep -q -- "$want" "$K8S_TMP/validate.out" ||
		k8s_fail "ConfigMap with passwords: no /$want/ in:
$(cat "$K8S_TMP/validate.out")"
done
k8s_ok "a ConfigMap holding the passwords is rejected"

k8s_pass
