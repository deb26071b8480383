#!/usr/bin/env bash
# test_vm_shared - two kubevoxd replicas (127.0.0.1 and 127.0.0.2) share one
# voicemail spool, as pods share a ReadWriteMany volume: callers on both
# leave messages into the same mailbox at the same moments, and every
# message gets its own number (msg0000..msg0007, no gap, none overwritten):
# each WAV holds the tone of exactly one of the calls.  Then replica b
# stops (SIGTERM twice) while a caller is recording: the message is stored.
. "$(dirname "$0")/lib.sh"

kv_conf_transports
kv_conf_user 1001 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_user 1003 endpoint.disallow=all endpoint.allow=ulaw
kv_conf_rtp 100
kv_conf_dialplan 10
kv_conf_dirs
cat >> "$KV_CONF/extensions.conf" <<'CONF'
exten => 8001,1,VoiceMail(1002@default,s)
 same => n,Hangup()
CONF
cat > "$KV_CONF/voicemail.conf" <<'CONF'
[general]
maxsecs=10

[default]
1002 => 4321,Bob
CONF
mkdir -p "$KV_TMP/confb"
cp "$KV_CONF"/*.conf "$KV_TMP/confb/"
sed -i "s/^bind=127.0.0.1:/bind=127.0.0.2:/" "$KV_TMP/confb/pjsip.conf"
grep -q "bind=127.0.0.2:$KV_PORT" "$KV_TMP/confb/pjsip.conf" || kv_fail "replica b's pjsip.conf"

kvd_start "$KV_TMP/confb"
mv "$KVD_LOG" "$KV_TMP/kubevoxd-b.log"
B_PID=$KVD_PID
KV_BG_PIDS="$KV_BG_PIDS $B_PID"
kvd_start

kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "concurrent messages"
import sys
import threading
from vmlib import *

spool = sys.argv[1]
ROUNDS = 4
freqs = {("127.0.0.1", r): 300 + 100 * r for r in range(ROUNDS)}
freqs.update({("127.0.0.2", r): 350 + 100 * r for r in range(ROUNDS)})
start = [threading.Barrier(2) for _ in range(ROUNDS)]
errors = []


def replica(host, user):
    try:
        phone = kvsip.Phone(kvsip.kv_port(), user, host=host)
        for r in range(ROUNDS):
            c, a = call(phone, "8001", "%s round %d" % (host, r))
            wait_plays(c, a, 1, "beep")
            start[r].wait(timeout=20)
            send(c, a, tone(freqs[(host, r)], 50))
            key(c, a, 11)
            c.answer_bye(timeout=20)
    except Exception as e:      # reported by the main thread
        errors.append("%s: %r" % (host, e))
        for b in start:
            b.abort()


threads = [threading.Thread(target=replica, args=("127.0.0.1", "1001")),
           threading.Thread(target=replica, args=("127.0.0.2", "1003"))]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
want = ["msg%04d" % i for i in range(2 * ROUNDS)]
wait_for(lambda: messages(spool, "1002") == want, "%d messages" % len(want))
found = []
for m in want:
    rec = kvsip.wav_samples("%s/%s.wav" % (box_dir(spool, "1002"), m))
    best = max(freqs.items(), key=lambda kv: best_correlation(rec, samples_of(tone(kv[1], 50)), 10))
    corr = best_correlation(rec, samples_of(tone(best[1], 50)), 10)
    assert corr >= 0.9, "%s matches no call (%.3f)" % (m, corr)
    found.append(best[0])
    print("%s: %s round %d (%d Hz, %.3f), %s" % (m, best[0][0], best[0][1], best[1], corr,
                                              txt("%s/%s.txt" % (box_dir(spool, "1002"), m))["callerid"]))
assert len(set(found)) == len(want), "a call's message is missing: %r" % found
PY
kv_ok "two replicas, one spool: 8 concurrent messages, 8 numbers, each call's own audio"
kv_wait_log 'event=vm_stored context=default mailbox=1002' 4
grep -c 'event=vm_stored' "$KV_TMP/kubevoxd-b.log" | grep -qx 4 || kv_fail "replica b stored $(grep -c 'event=vm_stored' "$KV_TMP/kubevoxd-b.log") messages"

# Replica b stops while a caller is still recording: the calls end (a
# second SIGTERM) and what was recorded is stored before it exits.
kv_python_call "$KV_TMP/spool" <<'PY' || kv_fail "recording when b stops"
from vmlib import *

phone = kvsip.Phone(kvsip.kv_port(), "1003", host="127.0.0.2")
c, a = call(phone, "8001", "b, recording")
wait_plays(c, a, 1, "beep")
send(c, a, tone(1000, 100))
PY
kill -TERM "$B_PID"
for _ in $(seq 1 50); do
	grep -q 'event=drain_start' "$KV_TMP/kubevoxd-b.log" && break
	sleep 0.1
done
KVD_PID=$B_PID KVD_LOG=$KV_TMP/kubevoxd-b.log kvd_stop
PYTHONPATH=$KV_SIP_DIR KV_PROMPT=/usr/share/asterisk/sounds/en/hello-world.wav \
	python3 - "$KV_TMP/spool" <<'PY' || kv_fail "the message recorded when b stopped"
import sys
from vmlib import *

spool = sys.argv[1]
assert messages(spool, "1002") == ["msg%04d" % i for i in range(9)], messages(spool, "1002")
rec = kvsip.wav_samples(box_dir(spool, "1002") + "/msg0008.wav")
corr = best_correlation(rec, samples_of(tone(1000, 100)))
assert corr >= 0.9 and len(rec) >= 1.5 * 8000, (corr, len(rec))
print("msg0008: stored as b stopped, %d samples (%.3f)" % (len(rec), corr))
PY
kv_ok "a replica that stops stores the message being recorded"

kvd_stop
kv_pass
