#!/usr/bin/env bash
# test_drain_http - what Kubernetes sees over HTTP: /readyz is 200 while
# serving and 503 as soon as SIGTERM starts the drain (while a live call
# goes on and /livez stays 200), /metrics shows kubevox_draining 1; and a
# rejected configuration change counts in
# kubevox_config_reloads_total{result="failed"}, a later good one in
# result="ok".
. "$(dirname "$0")/lib.sh"

kv_conf_ops_calls 1001 1002
kv_conf_http
kvd_start
kv_http_until /readyz 200 10

kv_python_ops <<'PY' || kv_fail "readiness and metrics through a drain"
import os, re, urllib.error, urllib.request
import kvsip

base = "http://127.0.0.1:%s" % os.environ["KV_HTTP_PORT"]

def get(path):
    try:
        with urllib.request.urlopen(base + path, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def metric(series):
    code, text = get("/metrics")
    assert code == 200, "/metrics: %d" % code
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    raise AssertionError("no %s in /metrics" % series)

failed = 'kubevox_config_reloads_total{result="failed"}'
ok = 'kubevox_config_reloads_total{result="ok"}'
f0, o0 = metric(failed), metric(ok)

# A broken change is rejected and counted; the old configuration serves.
path = os.path.join(os.environ["KV_CONF"], "pjsip.conf")
good = open(path).read()
kvsip.conf_append("pjsip.conf", "\n[1009]\ntype=endpoint\nauth=nosuch\n")
kvsip.kvd_wait_log(r"event=config_reload result=failed", "rejected reload")
assert metric(failed) == f0 + 1, "failed reloads: %s" % metric(failed)
assert get("/readyz")[0] == 200, "a rejected reload must not make the pod unready"
with open(path + ".tmp", "w") as f:
    f.write(good)
os.rename(path + ".tmp", path)
kvsip.kvd_wait_log(r"event=config_reload result=ok", "good reload")
assert metric(ok) == o0 + 1, "ok reloads: %s" % metric(ok)
print("reloads: failed %d -> %d, ok %d -> %d" % (f0, metric(failed), o0, metric(ok)))

# Drain with a live call: unready at once, still live, draining 1.
caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
assert metric("kubevox_draining") == 0
kvsip.kvd_signal("TERM")
kvsip.kvd_wait_log(r"event=drain_start", "drain_start", phones=(caller, callee))
code, body = get("/readyz")
assert code == 503 and "drain" in body, "/readyz while draining: %d %r" % (code, body)
# Alive: its own OPTIONS gets the draining replica's 503.
code, live = get("/livez")
assert code == 200 and "answered 503 (draining)" in live, "/livez while draining: %d %r" % (code, live)
assert metric("kubevox_draining") == 1
assert metric("kubevox_calls_active") == 1
print("draining: /readyz 503 (%s), /livez 200, kubevox_draining 1" % body.strip())
r = call.bye()
assert r.status == 200, r.start
PY
kv_ok "readiness, liveness and metrics follow reloads and the drain"
kvd_wait_exit 10 "drain after the last call"
kv_pass
