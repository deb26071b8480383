#!/usr/bin/env bash
# test_cluster_sentinel - Redis without a single point of failure (issue
# #10 part 2).  Redis a (master) and b (its replica), 3 sentinels, two
# replicas of kubevoxd with [state] url = redis-sentinel://...  1002 on r1
# is called from 1001 on r2; ten phones register.  Then b falls behind:
# a stops feeding it (its password changes and the replication link is
# cut), ten more phones register and five refresh for longer, on a only.
# a is killed -9 during the call and a stream of registrations: the
# sentinels promote b, which has kv:epoch but lacks the last ten bindings
# and has the five refreshes with their old expiry.  Both replicas follow
# the new master within 10 s of the sentinels' switch, take the switch
# for a possible loss and write their bindings back: every binding a
# REGISTER got 200 for is on b, the refreshes with their new expiry; the
# call goes on with its media and ends cleanly; a new call finds 1002
# through b.
. "$(dirname "$0")/lib.sh"

users="1001 1002"
for u in $(seq 2001 2030); do
	users="$users $u"
done
# shellcheck disable=SC2086 # one user a word
kv_conf_calls $users
kv_conf_http
kv_sentinel_cluster_start 2
for i in 1 2; do
	KV_HTTP_HOST=$(kv_replica_addr "$i") kv_http_until /readyz 200 10
done
kv_ok "two replicas ready on the master the sentinels name ($KV_SENTINEL_URL)"

# shellcheck disable=SC2154 # KV_RNODE_*: set by lib.sh's kv__redis_node (printf -v)
KV_TMP=$KV_TMP KV_HTTP_PORT=$KV_HTTP_PORT KV_RNODE_a_PID=$KV_RNODE_a_PID \
KV_RNODE_a_SOCK=$KV_RNODE_a_SOCK KV_RNODE_b_SOCK=$KV_RNODE_b_SOCK \
KV_RNODE_b_PORT=$KV_RNODE_b_PORT KV_SENTINEL_PORTS=$KV_SENTINEL_PORTS \
KV_SENTINEL_MASTER=$KV_SENTINEL_MASTER KV_SENTINEL_PASSWORD=$KV_SENTINEL_PASSWORD \
KV_RLOG_1=$KV_RLOG_1 KV_RLOG_2=$KV_RLOG_2 \
	kv_cluster_python <<'PY' || kv_fail "failover of the Redis master"
import kvsip, os, signal, subprocess, threading, time, urllib.request, urllib.error
r1, r2 = kvsip.replica_addrs()
port = kvsip.kv_port()
http = int(os.environ["KV_HTTP_PORT"])
pw = os.environ["KV_SENTINEL_PASSWORD"]
master = os.environ["KV_SENTINEL_MASTER"]

def status(addr, path):
    try:
        return urllib.request.urlopen("http://%s:%d%s" % (addr, http, path), timeout=5).status
    except (urllib.error.HTTPError) as e:
        return e.code
    except OSError:
        return 0

def until(what, pred, secs=10.0):
    end = time.monotonic() + secs
    while not pred():
        assert time.monotonic() < end, what
        time.sleep(0.05)

def node(name, *args, pw=pw):
    return subprocess.run(["redis-cli", "-s", os.environ["KV_RNODE_%s_SOCK" % name], "-a", pw,
                           "--no-auth-warning"] + list(args),
                          capture_output=True, text=True, timeout=5).stdout

def sentinel_master_port():
    for p in os.environ["KV_SENTINEL_PORTS"].split():
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", p, "-a", pw,
                              "--no-auth-warning", "sentinel", "get-master-addr-by-name",
                              master], capture_output=True, text=True, timeout=5).stdout.split()
        if len(out) == 2:
            return out[1]
    return None

def has_binding(name, user, uri, pw=pw):
    return uri in node(name, "HKEYS", "kv:aor:" + user, pw=pw)

# The expiry of user's binding uri, from its record ("1<TAB>EXPIRES<TAB>...").
def expiry(name, user, uri, pw=pw):
    rec = node(name, "HGET", "kv:aor:" + user, uri, pw=pw)
    return int(rec.split("\t")[1]) if rec.startswith("1\t") else 0

def log_has(i, text):
    return text in open(os.environ["KV_RLOG_%d" % i]).read()

# The call, and ten phones registered while a and b are in sync.
callee = kvsip.Phone(port, "1002", host=r1)
callee.sign_in(expires=300)
caller = kvsip.Phone(port, "1001", host=r2)
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
acked = {}                       # user -> contact URI a REGISTER got 200 for
phones = []
for n, u in enumerate(range(2001, 2011)):
    p = kvsip.Phone(port, str(u), host=(r1, r2)[n % 2])
    p.sign_in(expires=300)
    phones.append(p)
    acked[str(u)] = p.uri
assert node("a", "WAIT", "1", "5000").strip() == "1", "b did not confirm the writes"
until("b has 2001", lambda: has_binding("b", "2001", acked["2001"]))
print("call up, 10 phones registered, b in sync")

# b falls behind: a takes another password (its replicas' link is cut and
# cannot be made again) and ten more phones register, on a only.
# One connection: it stays authenticated after the change.
subprocess.run(["redis-cli", "-s", os.environ["KV_RNODE_a_SOCK"], "-a", pw, "--no-auth-warning"],
               input="CONFIG SET requirepass %s-changed\nCLIENT KILL TYPE replica\n" % pw,
               capture_output=True, text=True, timeout=5)
until("b's link to a down", lambda: "master_link_status:down" in node("b", "INFO", "replication"))
for n, u in enumerate(range(2011, 2021)):
    p = kvsip.Phone(port, str(u), host=(r1, r2)[n % 2])
    p.sign_in(expires=300)
    phones.append(p)
    acked[str(u)] = p.uri
# And five of the first ten refresh, for longer: b keeps the old expiry.
for p in phones[:5]:
    p.sign_in(expires=3600)
# a keeps the new password until it dies: b cannot catch up.
pw_a = pw + "-changed"
for u in range(2011, 2021):
    assert has_binding("a", str(u), acked[str(u)], pw_a), "a lacks %d" % u
    assert not has_binding("b", str(u), acked[str(u)]), "b has %d: it did not fall behind" % u
refreshed = {p.user: expiry("a", p.user, p.uri, pw_a) for p in phones[:5]}
for p in phones[:5]:
    assert refreshed[p.user] > expiry("b", p.user, p.uri), "b has the refresh of %s" % p.user
assert node("a", "GET", "kv:epoch", pw=pw_a).strip() == node("b", "GET", "kv:epoch").strip()
print("b lacks the last 10 bindings and 5 refreshes, with a's epoch")

# A stream of registrations from 2021..2030 through the failover.
stop = threading.Event()
stream = {"ok": 0, "503": 0, "500": 0, "none": 0}
def register_stream():
    clients = [kvsip.Client(port, host=r1), kvsip.Client(port, host=r2)]
    n = 0
    while not stop.is_set():
        u = str(2021 + n % 10)
        c = clients[n % 2]
        uri = "sip:%s@127.0.0.1:%d" % (u, 20000 + n % 10)
        _, final = c.register(u, "secret" + u, contact="<%s>" % uri, expires=300)
        if final is not None and final.status == 200:
            stream["ok"] += 1
            acked[u] = uri
        elif final is not None and final.status in (500, 503):
            # 503: Redis unreachable, said at once; 500: the write was
            # cut by the kill.  The phone registers again.
            stream[str(final.status)] += 1
        else:
            stream["none"] += 1
        n += 1
        time.sleep(0.02)
    for c in clients:
        c.close()
t = threading.Thread(target=register_stream)
t.start()
until("the stream registers", lambda: stream["ok"] >= 10)

t0 = time.monotonic()
os.kill(int(os.environ["KV_RNODE_a_PID"]), signal.SIGKILL)
b_port = os.environ["KV_RNODE_b_PORT"]
until("the sentinels promote b", lambda: sentinel_master_port() == b_port, secs=30.0)
t_switch = time.monotonic() - t0
for addr in (r1, r2):
    until("/readyz 200 on %s within 10 s of the switch" % addr,
          lambda: status(addr, "/readyz") == 200, secs=10.0)
t_ready = time.monotonic() - t0
assert "role:master" in node("b", "INFO", "replication")
print("a killed: sentinels switched after %.1fs, both replicas ready on b after %.1fs"
      % (t_switch, t_ready))
for i in (1, 2):
    assert log_has(i, "event=state_redis_master_changed"), "r%d: no master change seen" % i

# The call goes on.
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "after", 20)
print("the live call relays media both ways after the failover")

before = stream["ok"]
until("the stream registers on b", lambda: stream["ok"] >= before + 10)
stop.set()
t.join()
assert stream["none"] == 0, "registrations without an answer: %r" % stream
print("registration stream: %r" % stream)

# Nothing acknowledged is lost: the last ten come back by write-back.
def all_there():
    return all(has_binding("b", u, uri) for u, uri in acked.items())
until("every acknowledged binding on b", all_there)
assert has_binding("b", "1002", callee.uri)
until("the 5 refreshes on b", lambda: all(expiry("b", p.user, p.uri) == refreshed[p.user]
                                          for p in phones[:5]))
print("all %d acknowledged bindings are on b (10 of them and 5 refreshes written back)"
      % len(acked))

kvsip.hang_up(call, inc)
call, inc = kvsip.call_up(caller, callee, a, b)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "new", 10)
kvsip.hang_up(call, inc)
print("a new call from r2 finds 1002 through b")
PY
kv_ok "a killed master: the replicas follow the sentinels, the call goes on, no binding is lost"
for i in 1 2; do
	logvar=KV_RLOG_$i
	KVD_LOG=${!logvar} kv_wait_log 'event=state_redis_written_back' 1
done
kv_cluster_stop
kv_pass
