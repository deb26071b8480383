#!/usr/bin/env bash
# test_trunk_call_dns - a trunk's static contact by name (issue #11 items 2
# and 4): contact=sip:itsp.test, located by RFC 3263 through kubevox.conf's
# name server (a dnsmasq on loopback): SRV _sip._udp.itsp.test gives
# sip1.itsp.test (priority 10) then sip2.itsp.test (priority 20), both
# 127.0.0.1 on ports of their own.  RFC 3263 §4.3: the INVITE goes to the
# first, and to the second when the first
#   - never answers (call 1; the second answers 486, relayed), or
#   - answers 503 (call 2; the second answers 200: a call with RTP both
#     ways, hung up by the caller).
# Each target checks what it receives: the Request-URI keeps the name, the
# second target's INVITE has the first's Call-ID and From tag and a
# higher CSeq.
. "$(dirname "$0")/lib.sh"

command -v dnsmasq > /dev/null || [ -x /usr/sbin/dnsmasq ] || kv_fail "dnsmasq is not installed"
t1=$(kv_free_port) || kv_fail "no port for the first target"
t2=$(kv_free_port) || kv_fail "no port for the second target"
dns=$(kv_free_port) || kv_fail "no port for the name server"
dm=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
dmuser=()
[ "$(id -u)" = 0 ] && dmuser=(--user=root)
"$dm" --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --pid-file= \
	--port="$dns" --listen-address=127.0.0.1 --bind-interfaces --local=/#/ \
	--local-ttl=60 "${dmuser[@]}" \
	--srv-host="_sip._udp.itsp.test,sip1.itsp.test,$t1,10,10" \
	--srv-host="_sip._udp.itsp.test,sip2.itsp.test,$t2,20,10" \
	--host-record=sip1.itsp.test,127.0.0.1 \
	--host-record=sip2.itsp.test,127.0.0.1 > "$KV_TMP/dnsmasq.log" 2>&1 &
KV_BG_PIDS="$KV_BG_PIDS $!"
for _ in $(seq 1 100); do
	[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] && break
	sleep 0.05
done
[ -n "$(ss -Hlun "sport = :$dns" 2>/dev/null)" ] || kv_fail "dnsmasq did not start: $(cat "$KV_TMP/dnsmasq.log")"

kv_conf_calls 1001
printf '; written by %s\n[dns]\nnameservers=127.0.0.1:%s\n' "$KV_TEST" "$dns" > "$KV_CONF/kubevox.conf"
cat >> "$KV_CONF/pjsip.conf" <<'CONF'

[itsp]
type=aor
contact=sip:itsp.test

[itsp]
type=endpoint
context=from-itsp
aors=itsp
disallow=all
allow=ulaw
CONF
cat > "$KV_CONF/extensions.conf" <<'CONF'
[from-internal]
exten => _9.,1,Dial(PJSIP/${EXTEN:1}@itsp,30)
 same => n,Hangup(${HANGUPCAUSE})
CONF
kvd_start

T1=$t1 T2=$t2 kv_python_call <<'PY' || kv_fail "SRV fail-over of an outbound call"
import os
import kvsip

kv = kvsip.kv_port()
caller = kvsip.Phone(kv, "1001")
first = kvsip.Phone(kv, "sip1", password="", lport=int(os.environ["T1"]))
second = kvsip.Phone(kv, "sip2", password="", lport=int(os.environ["T2"]))
a, p = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
second.media.append(p)


def invites(number):
    """The INVITE on the first target, then on the second."""
    inc1 = first.expect_invite(timeout=10)
    assert inc1.invite.uri == "sip:%s@itsp.test" % number, inc1.invite.uri
    return inc1


def on_second(inc1, what):
    # The first target's INVITE may be retransmitted meanwhile: the
    # second must get one within timer B (32 s) at the latest.
    inc2 = second.expect_invite(timeout=40)
    inv1, inv2 = inc1.invite, inc2.invite
    assert inv2.uri == inv1.uri, "%s: Request-URI %s" % (what, inv2.uri)
    assert inv2.call_id == inv1.call_id and inv2.from_tag == inv1.from_tag, \
        "%s: another call on the second target" % what
    assert inv2.cseq[0] > inv1.cseq[0], "%s: CSeq %r after %r" % (what, inv2.cseq, inv1.cseq)
    return inc2


# Call 1: the first target is silent.
call = kvsip.OutCall(caller, "90111", kvsip.sdp_offer(a.port))
call.invite()
inc1 = invites("0111")
inc2 = on_second(inc1, "no answer")
inc2.respond(486)
call.expect_final(486, "call 1: the second target's busy")
print("call 1: sip1 silent, the INVITE went on to sip2 (CSeq %d -> %d)"
      % (inc1.invite.cseq[0], inc2.invite.cseq[0]))

# Call 2: the first target answers 503.
call = kvsip.OutCall(caller, "90222", kvsip.sdp_offer(a.port))
call.invite()
inc1 = invites("0222")
inc1.respond(503)
first.expect(lambda m: isinstance(m, kvsip.Request) and m.method == "ACK" and
             m.call_id == inc1.invite.call_id, "ACK of the 503")
inc2 = on_second(inc1, "503")
inc2.answer(kvsip.sdp_offer(p.port, codecs=((0, "PCMU/8000"),)))
call.expect_final(200, "call 2: the second target answered")
call.ack()
inc2.expect_ack()
kvsip.check_media(a, p, call.answer.media, inc2.offer.media, "srv")
kvsip.hang_up(call, inc2)
print("call 2: sip1 answered 503, sip2 answered; RTP both ways, BYE")
PY
kv_ok "SRV targets in order: the second after the first's silence and after its 503"

kv_wait_log 'event=dial_no_response '
kv_wait_log 'event=call_end' 2
kvd_stop
kv_pass
