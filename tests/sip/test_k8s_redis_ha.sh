#!/usr/bin/env bash
# test_k8s_redis_ha - the component k8s/redis-ha (issue #10 part 2):
# k8s/ with it renders (`kubectl kustomize`, offline, through an overlay
# of k8s/ and the component, and through k8s/ taking it itself), with the
# ConfigMap of `KUBEVOX_CLUSTER_CONF=k8s/redis-ha/cluster.conf
# k8s/config.sh` and the Secret of k8s/secret.sh, and passes
# tests/k8s/validate.js: the schemas, everything of test_k8s_manifests,
# and for the component: kubevox.conf on redis-sentinel://, each sentinel
# a pod of StatefulSet redis-ha behind its headless Service, 3 pods of
# Redis and Sentinel with the [state] password, the url's master
# monitored with quorum 2, no single Redis left.  The init script is valid
# sh, and decides as it should (run with a stub redis-cli): the master the
# sentinels name, redis-ha-0 when none answers, and a restarted master
# still named waits for the failover.  Then each property is broken, and
# must be reported.
. "$(dirname "$0")/../k8s/lib.sh"

k8s_need_kubectl
k8s_npm

drain=$(k8s_drain_timeout "$KV_SRC/asterisk_config")
cfg=$K8S_TMP/config.yaml
secret=$K8S_TMP/secret.yaml
"$KV_SRC/k8s/secret.sh" > "$secret" 2> "$K8S_TMP/secret.err" ||
	k8s_fail "k8s/secret.sh: $(cat "$K8S_TMP/secret.err")"

# config CLUSTER_CONF OUT: config.sh asterisk_config with that cluster.conf,
# and the Secret.
config()
{
	KUBEVOX_CLUSTER_CONF=$1 "$KV_SRC/k8s/config.sh" "$KV_SRC/asterisk_config" > "$2" \
		2> "$K8S_TMP/config.err" || k8s_fail "config.sh with $1: $(cat "$K8S_TMP/config.err")"
	{ echo ---; cat "$secret"; } >> "$2"
}
config "$KV_SRC/k8s/redis-ha/cluster.conf" "$cfg"
grep -q 'url = redis-sentinel://redis-ha-0.redis-ha:26379' "$cfg" ||
	k8s_fail "config.sh did not take KUBEVOX_CLUSTER_CONF"

# An overlay of k8s/ with the component, outside k8s/ (kustomize refuses
# an overlay inside its base).
ov=$K8S_TMP/overlay
mkdir -p "$ov"
# kustomize takes relative paths only.
rel=$(realpath --relative-to="$ov" "$KV_SRC/k8s")
printf 'resources:\n- %s\ncomponents:\n- %s/redis-ha\n' "$rel" "$rel" > "$ov/kustomization.yaml"
kubectl kustomize "$ov" > "$K8S_TMP/ha.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize (k8s/ + k8s/redis-ha): $(cat "$K8S_TMP/kustomize.err")"
k8s_validate "$K8S_TMP/ha.yaml" "$cfg" "$drain" ||
	k8s_fail "k8s/ with redis-ha does not validate:
$(cat "$K8S_TMP/validate.out")"
k8s_ok "overlay: $(cat "$K8S_TMP/validate.out")"

# k8s/ taking the component itself.
cp -r "$KV_SRC/k8s" "$K8S_TMP/k8s-self"
printf '\ncomponents:\n- redis-ha\n' >> "$K8S_TMP/k8s-self/kustomization.yaml"
kubectl kustomize "$K8S_TMP/k8s-self" > "$K8S_TMP/self.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize k8s/ with components: [redis-ha]: $(cat "$K8S_TMP/kustomize.err")"
k8s_validate "$K8S_TMP/self.yaml" "$cfg" "$drain" ||
	k8s_fail "k8s/ with components: [redis-ha] does not validate:
$(cat "$K8S_TMP/validate.out")"
k8s_ok "k8s/ with components: [redis-ha] validates too"

# The init container's script parses as sh.
node -e '
const YAML = require(process.argv[1] + "/yaml");
for (const d of YAML.parseAllDocuments(require("fs").readFileSync(process.argv[2], "utf8"))) {
	const o = d.toJS();
	if (o && o.kind === "StatefulSet" && o.metadata.name === "redis-ha")
		process.stdout.write(o.spec.template.spec.initContainers[0].command[2]);
}' "$K8S_NPM_DIR/node_modules" "$K8S_TMP/ha.yaml" > "$K8S_TMP/init.sh"
[ -s "$K8S_TMP/init.sh" ] || k8s_fail "no init script in StatefulSet/redis-ha"
sh -n "$K8S_TMP/init.sh" 2> "$K8S_TMP/sh.err" || k8s_fail "init script: $(cat "$K8S_TMP/sh.err")"

# What it decides, run as sh with /data in a directory of the test, and a
# redis-cli that answers as the other sentinels would: each line of
# $stub/answers in turn (the last one again and again; "-" answers
# nothing, as a sentinel not there), and a sleep that does not.
stub=$K8S_TMP/stub
mkdir -p "$stub/bin" "$stub/data"
sed "s|/data/|$stub/data/|g" "$K8S_TMP/init.sh" > "$stub/init.sh"
cat > "$stub/bin/redis-cli" <<EOC
#!/bin/sh
n=\$(cat "$stub/asked" 2>/dev/null || echo 0)
echo \$((n + 1)) > "$stub/asked"
a=\$(sed -n "\$((n + 1))p" "$stub/answers")
[ -n "\$a" ] || a=\$(tail -n 1 "$stub/answers")
[ "\$a" = - ] && exit 1
printf '%s\n6379\n' "\$a"
EOC
printf '#!/bin/sh\nexit 0\n' > "$stub/bin/sleep"
chmod +x "$stub/bin/redis-cli" "$stub/bin/sleep"

# init POD ANSWERS...: run it for POD; $stub/data holds what it wrote.
init()
{
	local pod=$1
	shift
	rm -f "$stub/asked" "$stub/data"/*
	printf '%s\n' "$@" > "$stub/answers"
	PATH=$stub/bin:$PATH POD_NAME=$pod REDISCLI_AUTH=pw-0123456789 \
		sh "$stub/init.sh" > "$stub/out" 2>&1 || k8s_fail "init script for $pod: $(cat "$stub/out")"
}
# expect WHAT MASTER: redis.conf and sentinel.conf as a pod whose master
# is MASTER ("" when the pod is the master itself) must have them.
expect()
{
	local what=$1 want=$2 got
	got=$(sed -n 's/^replicaof \([^ ]*\) 6379$/\1/p' "$stub/data/redis.conf")
	[ "$got" = "$want" ] || k8s_fail "init script, $what: replicaof '$got', not '$want'"
	grep -q '^masterauth "pw-0123456789"$' "$stub/data/redis.conf" ||
		k8s_fail "init script, $what: no masterauth"
	grep -q "^sentinel monitor kubevox ${want:-$pod_self} 6379 2$" "$stub/data/sentinel.conf" ||
		k8s_fail "init script, $what: sentinel does not monitor ${want:-$pod_self}"
	[ "$(stat -c %a "$stub/data/redis.conf")" = 600 ] ||
		k8s_fail "init script, $what: redis.conf is not mode 600"
	k8s_ok "init script: $what"
}
pod_self=redis-ha-0.redis-ha
init redis-ha-0 -
expect "redis-ha-0 with no sentinel answering is the master" ""
pod_self=redis-ha-1.redis-ha
init redis-ha-1 -
expect "redis-ha-1 with no sentinel answering is redis-ha-0's replica" redis-ha-0.redis-ha
init redis-ha-1 - redis-ha-2.redis-ha
expect "redis-ha-1 takes the master a sentinel names" redis-ha-2.redis-ha
init redis-ha-1 "ERR no such master"
expect "an error is no master" redis-ha-0.redis-ha
pod_self=redis-ha-0.redis-ha
init redis-ha-0 redis-ha-0.redis-ha redis-ha-0.redis-ha redis-ha-0.redis-ha redis-ha-0.redis-ha \
	redis-ha-2.redis-ha
expect "redis-ha-0 restarted while still named master waits for the failover" redis-ha-2.redis-ha
init redis-ha-0 redis-ha-0.redis-ha
[ "$(cat "$stub/asked")" -ge 30 ] || k8s_fail "init script: gave up after $(cat "$stub/asked") asks"
expect "and takes the role back after a minute without one" ""

# rejected WHAT MANIFESTS CONFIG EXPECTED
rejected()
{
	if k8s_validate "$2" "$3" "$drain"; then
		k8s_fail "$1: accepted:
$(cat "$K8S_TMP/validate.out")"
	fi
	grep -Eq -- "$4" "$K8S_TMP/validate.out" ||
		k8s_fail "$1: rejected, but without /$4/:
$(cat "$K8S_TMP/validate.out")"
	k8s_ok "rejected: $1"
}

# The two halves apart.
plain=$K8S_TMP/plain-config.yaml
config "$KV_SRC/k8s/cluster.conf" "$plain"
kubectl kustomize "$KV_SRC/k8s" > "$K8S_TMP/k8s.yaml" ||
	k8s_fail "kubectl kustomize k8s/"
rejected "the sentinel url without the component" "$K8S_TMP/k8s.yaml" "$cfg" \
	'no StatefulSet redis-ha'
rejected "the component with the single Redis's url" "$K8S_TMP/ha.yaml" "$plain" \
	'url names redis:6379, which no Service'

# broken-config WHAT SED EXPECTED: k8s/redis-ha/cluster.conf edited.
n=0
broken_config()
{
	n=$((n + 1))
	sed "$2" "$KV_SRC/k8s/redis-ha/cluster.conf" > "$K8S_TMP/cluster-$n.conf"
	config "$K8S_TMP/cluster-$n.conf" "$K8S_TMP/config-$n.yaml"
	rejected "$1" "$K8S_TMP/ha.yaml" "$K8S_TMP/config-$n.yaml" "$3"
}
broken_config "another master name than the sentinels'" 's|/kubevox$|/mymaster|' \
	"do not monitor the master 'mymaster'"
broken_config "a sentinel that is no pod" 's|redis-ha-2.redis-ha:26379|redis-ha:26379|' \
	'sentinel redis-ha:26379, which is no POD.SERVICE'
broken_config "a pod the StatefulSet does not have" 's|redis-ha-2.redis-ha|redis-ha-3.redis-ha|' \
	'redis-ha-3.redis-ha:26379: StatefulSet/redis-ha has 3 replicas'
broken_config "the Redis port for a sentinel" 's|redis-ha-1.redis-ha:26379|redis-ha-1.redis-ha:6390|' \
	'nothing listens on 6390'
broken_config "two sentinels" 's|,redis-ha-2.redis-ha:26379||' 'names 2 sentinel'

# broken WHAT JSONPATCH EXPECTED: the component's StatefulSet patched.
broken()
{
	n=$((n + 1))
	local dir=$K8S_TMP/broken-$n
	mkdir -p "$dir"
	cat > "$dir/kustomization.yaml" <<EOC
resources:
- ../overlay
patches:
- target:
    kind: ${3:-StatefulSet}
    name: redis-ha
  patch: '$2'
EOC
	kubectl kustomize "$dir" > "$dir.yaml" 2> "$dir.err" ||
		k8s_fail "$1: the broken copy does not render: $(cat "$dir.err")"
	rejected "$1" "$dir.yaml" "$cfg" "$4"
}
P=/spec/template/spec
broken "one Redis pod" '[{"op":"replace","path":"/spec/replicas","value":1}]' "" \
	'replicas is 1, not 3'
broken "snapshots" '[{"op":"replace","path":"'$P'/containers/0/args/3","value":"60 1"}]' "" \
	'not --save'
# shellcheck disable=SC2016 # $REDISCLI_AUTH is the init script's, not ours
broken "a quorum of 1" \
	'[{"op":"replace","path":"'$P'/initContainers/0/command/2","value":"sentinel monitor kubevox m 6379 1\ninclude /etc/redis/redis.conf\nmasterauth \"$REDISCLI_AUTH\"\nrequirepass \"$REDISCLI_AUTH\"\nsentinel auth-pass kubevox \"$REDISCLI_AUTH\""}]' \
	"" 'quorum 1, not 2'
# shellcheck disable=SC2016 # $REDISCLI_AUTH is the init script's, not ours
broken "no masterauth" \
	'[{"op":"replace","path":"'$P'/initContainers/0/command/2","value":"sentinel monitor kubevox m 6379 2\ninclude /etc/redis/redis.conf\nrequirepass \"$REDISCLI_AUTH\"\nsentinel auth-pass kubevox \"$REDISCLI_AUTH\""}]' \
	"" 'does not say masterauth'
broken "the sentinel without the password" \
	'[{"op":"remove","path":"'$P'/containers/1/env/0"}]' "" \
	'REDISCLI_AUTH of sentinel is not the password'
broken "not published before ready" \
	'[{"op":"remove","path":"/spec/publishNotReadyAddresses"}]' Service \
	'does not publish pods before they are ready'
k8s_pass
