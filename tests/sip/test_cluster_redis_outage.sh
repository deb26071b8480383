#!/usr/bin/env bash
# test_cluster_redis_outage - a Redis outage, or a Redis back without its
# data, loses nothing (issue #9 item 6).  Two replicas, 1002 on r1, a call
# from 1001 on r2 to it.  Redis is killed during the call: the call goes
# on with its media; /livez stays 200 and /readyz turns 503 on both
# replicas; a REGISTER gets 503 with Retry-After at once, before any
# challenge; a call from r1 to 1002, whose flow r1 holds, still works from
# r1's own copy.  Redis is started again, empty: /readyz is 200 again and
# 1002's binding is back in Redis within 5 s, without any phone
# registering again; r2 reaches 1002 again.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kv_conf_http
kv_cluster_start 2

for i in 1 2; do
	KV_HTTP_HOST=$(kv_replica_addr "$i") kv_http_until /readyz 200 10
done

KV_TMP=$KV_TMP KV_HTTP_PORT=$KV_HTTP_PORT KV_REDIS_PID=$KV_REDIS_PID \
	kv_cluster_python <<'PY' || kv_fail "outage of Redis"
import kvsip, os, signal, subprocess, time, urllib.request, urllib.error
r1, r2 = kvsip.replica_addrs()
port = kvsip.kv_port()
http = int(os.environ["KV_HTTP_PORT"])
sock = os.environ["KV_REDIS_SOCK"]

def status(addr, path):
    try:
        return urllib.request.urlopen("http://%s:%d%s" % (addr, http, path), timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code

def until(what, pred, secs=10.0):
    end = time.monotonic() + secs
    while not pred():
        assert time.monotonic() < end, what
        time.sleep(0.1)

def redis(*args):
    return subprocess.run(["redis-cli", "-s", sock] + list(args), capture_output=True,
                          text=True, timeout=5).stdout

callee = kvsip.Phone(port, "1002", host=r1)
callee.sign_in(expires=300)
caller = kvsip.Phone(port, "1001", host=r2)
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
assert "1002" in redis("HKEYS", "kv:aor:1002") or redis("HLEN", "kv:aor:1002").strip() != "0"

os.kill(int(os.environ["KV_REDIS_PID"]), signal.SIGKILL)
for addr in (r1, r2):
    until("/readyz 503 on %s" % addr, lambda: status(addr, "/readyz") == 503)
    assert status(addr, "/livez") == 200, "/livez of %s" % addr
print("Redis killed: /readyz 503 and /livez 200 on both replicas")

kvsip.check_media(a, b, call.answer.media, inc.offer.media, "during", 20)
print("the live call still relays media both ways")

c = kvsip.Client(port, host=r1)
t0 = time.monotonic()
r = c.transact(c.build("REGISTER", user="1001", contact="<sip:1001@127.0.0.1:5999>"))
assert r is not None and r.status == 503, "REGISTER without Redis: %s" % (r and r.start)
assert r.get("retry-after"), "503 without Retry-After"
assert not r.get("www-authenticate"), "a challenge with the 503"
print("REGISTER without Redis: 503, Retry-After %s, after %.3fs" % (
    r.get("retry-after"), time.monotonic() - t0))

# r1 holds 1002's flow: its own copy still finds it.
local = kvsip.Phone(port, "1001", host=r1)
c2, inc2 = kvsip.call_up(local, callee, kvsip.Rtp(), kvsip.Rtp())
kvsip.hang_up(c2, inc2)
print("without Redis, r1 still calls 1002 from its own copy")

kvsip.hang_up(call, inc)

# Redis back, empty.
srv = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock,
                        "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                        "--dir", os.environ["KV_TMP"]],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(os.environ["KV_TMP"] + "/redis2.pid", "w").write(str(srv.pid))
t0 = time.monotonic()
for addr in (r1, r2):
    until("/readyz 200 on %s" % addr, lambda: status(addr, "/readyz") == 200)
until("1002's binding written back", lambda: redis("HLEN", "kv:aor:1002").strip() not in ("", "0"),
      secs=10.0)
print("Redis back empty: ready again, 1002's binding back after %.1fs" % (time.monotonic() - t0))
def r1_up_at_r2():
    body = urllib.request.urlopen("http://%s:%d/metrics" % (r2, http), timeout=5).read().decode()
    return 'kubevox_replica_up{replica="r1"} 1' in body
# r1's heartbeat went stale with Redis; r2 sees it again within seconds.
until("r2 sees r1 alive again", r1_up_at_r2)
seen = kvsip.bindings(kvsip.Client(port, host=r2), "1002")
assert any(callee.uri in c for c in seen), "r2 lists %r" % seen
call, inc = kvsip.call_up(caller, callee, a, b)
kvsip.hang_up(call, inc)
print("r2 reaches 1002 again, nobody registered again")
PY
[ -f "$KV_TMP/redis2.pid" ] && KV_BG_PIDS="$KV_BG_PIDS $(cat "$KV_TMP/redis2.pid")"
kv_ok "a Redis outage and a Redis back empty lose no registration and no live call"
KVD_LOG=$KV_RLOG_1 kv_wait_log 'event=state_redis_written_back' 1
kv_cluster_stop
kv_pass
