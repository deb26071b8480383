#!/usr/bin/env bash
# test_retransmission - a retransmitted REGISTER (same bytes, same branch)
# over UDP is answered from the server transaction: the response is byte
# for byte the first one, for the 401 and for the authenticated 200 alike.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001
kvd_start

kv_python <<'PY' || kv_fail "retransmissions"
import os, time
import kvsip

c = kvsip.Client(int(os.environ["KV_PORT"]))
contact = "<sip:1001@127.0.0.1:%d>" % c.lport

m1 = c.build("REGISTER", user="1001", call_id="retrans-1", cseq=1,
             contact=contact, expires=60)
c.send(m1)
r1 = c.recv(5)
assert r1 is not None, "no answer to the REGISTER"
assert kvsip.Response(r1).status == 401, r1
c.send(m1)
r2 = c.recv(5)
assert r2 is not None, "no answer to the retransmitted REGISTER"
assert r1 == r2, "401s differ:\n%r\n%r" % (r1, r2)
assert c.recv(0.3) is None, "extra datagram after the retransmitted 401"
print("401 retransmitted identically (%d bytes)" % len(r1))

chal = kvsip.pick_challenge(kvsip.Response(r1), "MD5")
auth = kvsip.authorization(chal, "1001", "secret1001", "REGISTER", c.ruri)
m2 = c.build("REGISTER", user="1001", call_id="retrans-1", cseq=2,
             contact=contact, expires=60, headers=[("Authorization", auth)])
c.send(m2)
r3 = c.recv(5)
assert r3 is not None, "no answer to the authenticated REGISTER"
assert kvsip.Response(r3).status == 200, r3
# Over a second, a response rebuilt instead of replayed would show another
# expires value or Date; the replay must not.
time.sleep(1.2)
c.send(m2)
r4 = c.recv(5)
assert r4 is not None, "no answer to the retransmitted authenticated REGISTER"
assert r3 == r4, "200s differ:\n%r\n%r" % (r3, r4)
print("200 retransmitted identically (%d bytes)" % len(r3))

# Replayed, not re-run: still one binding.
q = kvsip.Client(int(os.environ["KV_PORT"]))
_, final = q.register("1001", "secret1001")
assert final is not None and final.status == 200, final and final.start
assert len(final.contacts()) == 1, final.contacts()
PY
kv_ok "401 and 200 retransmitted byte-identically"

kvd_stop
kv_pass
