#!/usr/bin/env bash
# test_vm_manifests - voicemail's kustomize component (k8s/voicemail)
# renders offline over k8s/ (tests/k8s/voicemail, the overlay of
# docs/kubernetes.md) and passes tests/k8s/validate.js; the spool every
# replica mounts is then one ReadWriteMany claim, at asterisk.conf's
# astspooldir, writable by the pods' group (fsGroup).  k8s/ alone keeps a
# per-pod emptyDir (the component is optional).  The check itself refuses
# a copy whose claim is ReadWriteOnce, or whose spool is left an emptyDir.
. "$(dirname "$0")/../k8s/lib.sh"

k8s_need_kubectl
k8s_npm

drain=$(k8s_drain_timeout "$KV_SRC/asterisk_config")
cfg=$K8S_TMP/config.yaml
{
	"$KV_SRC/k8s/config.sh" "$KV_SRC/asterisk_config" && echo --- && "$KV_SRC/k8s/secret.sh"
} > "$cfg" 2> "$K8S_TMP/config.err" || k8s_fail "config.sh/secret.sh: $(cat "$K8S_TMP/config.err")"

kubectl kustomize "$KV_SRC/tests/k8s/voicemail" > "$K8S_TMP/vm.yaml" 2> "$K8S_TMP/kustomize.err" ||
	k8s_fail "kubectl kustomize tests/k8s/voicemail: $(cat "$K8S_TMP/kustomize.err")"
k8s_validate "$K8S_TMP/vm.yaml" "$cfg" "$drain" ||
	k8s_fail "validate.js: $(cat "$K8S_TMP/validate.out")"
k8s_ok "k8s/ with the component k8s/voicemail renders and validates"

spooldir=$(sed -n 's/^astspooldir *=>* *//p' "$KV_SRC/asterisk_config/asterisk.conf")
[ -n "$spooldir" ] || k8s_fail "no astspooldir in asterisk_config/asterisk.conf"

# spool_check FILE SHARED: the Deployment's spool in FILE is (SHARED=yes)
# or is not (no) one ReadWriteMany claim at astspooldir.
spool_check()
{
	python3 - "$1" "$2" "$spooldir" <<'PY'
import sys
import yaml

path, shared, spooldir = sys.argv[1], sys.argv[2] == "yes", sys.argv[3]
objs = [o for o in yaml.safe_load_all(open(path)) if o]
dep = [o for o in objs if o["kind"] == "Deployment" and o["metadata"]["name"] == "kubevox"][0]
pod = dep["spec"]["template"]["spec"]
c = [c for c in pod["containers"] if c["name"] == "kubevox"][0]
mounts = [m for m in c["volumeMounts"] if m["mountPath"] == spooldir]
assert len(mounts) == 1, "nothing mounted at astspooldir %s" % spooldir
vol = [v for v in pod["volumes"] if v["name"] == mounts[0]["name"]][0]
claims = {o["metadata"]["name"]: o for o in objs if o["kind"] == "PersistentVolumeClaim"}
if not shared:
    assert "emptyDir" in vol and not claims, "spool %r, claims %r" % (vol, list(claims))
    print("spool: a per-pod emptyDir, no claim")
    sys.exit(0)
assert "emptyDir" not in vol, "the spool is still an emptyDir: %r" % vol
name = vol.get("persistentVolumeClaim", {}).get("claimName")
assert name in claims, "spool volume %r names no claim of the manifests" % vol
modes = claims[name]["spec"]["accessModes"]
assert modes == ["ReadWriteMany"], "claim %s: accessModes %r, replicas need ReadWriteMany" % (name, modes)
assert not mounts[0].get("readOnly"), "the spool is mounted read-only"
assert pod["securityContext"].get("fsGroup") == pod["securityContext"].get("runAsUser") == 10001, \
    pod["securityContext"]
print("spool: claim %s (%s, %s) at %s for every replica, fsGroup %d" % (
    name, modes[0], claims[name]["spec"]["resources"]["requests"]["storage"], spooldir,
    pod["securityContext"]["fsGroup"]))
PY
}

out=$(spool_check "$K8S_TMP/vm.yaml" yes) || k8s_fail "$out"
k8s_ok "$out"
kubectl kustomize "$KV_SRC/k8s" > "$K8S_TMP/base.yaml" || k8s_fail "kubectl kustomize k8s"
out=$(spool_check "$K8S_TMP/base.yaml" no) || k8s_fail "k8s/ alone: $out"
k8s_ok "k8s/ alone: $out (the component is optional)"

sed 's/ReadWriteMany/ReadWriteOnce/' "$K8S_TMP/vm.yaml" > "$K8S_TMP/rwo.yaml"
out=$(spool_check "$K8S_TMP/rwo.yaml" yes 2>&1) && k8s_fail "a ReadWriteOnce claim passed: $out"
printf '%s' "$out" | grep -q 'replicas need ReadWriteMany' || k8s_fail "ReadWriteOnce: $out"
out=$(spool_check "$K8S_TMP/base.yaml" yes 2>&1) && k8s_fail "an emptyDir spool passed: $out"
printf '%s' "$out" | grep -q 'still an emptyDir' || k8s_fail "emptyDir: $out"
k8s_ok "the check refuses a ReadWriteOnce claim and an emptyDir spool"
k8s_pass
