#!/usr/bin/env bash
# test_call_auth - INVITE authentication: without credentials 401 with an
# MD5 digest challenge (realm, qop=auth, nonce), which the caller ACKs;
# with the right password the call goes through; a wrong password gets
# 401 again; an unknown caller gets the same challenge as a known one (no
# user enumeration) and 401 again; credentials of another user do not
# let a caller pose as them.  SIPp (MD5, qop=auth) also calls through.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_sipp_call_ok "SIPp caller: INVITE 401, authenticated INVITE 200, BYE 200" \
	call_answer.xml 1001 600 -d 200

kv_python_call <<'PY' || kv_fail "INVITE authentication"
import kvsip

port = kvsip.kv_port()
a = kvsip.Rtp()


def challenge_of(user, password):
    """First answer to an INVITE to 600 without credentials."""
    phone = kvsip.Phone(port, user, password=password)
    call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port))
    call.invite()
    _, r = call.final()
    assert r is not None and r.status == 401, "%s without credentials: %s" % (
        user, r and r.start)
    chal = r.challenges()
    assert len(chal) == 1, "challenges: %r" % r.get_all("www-authenticate")
    p = chal[0][0]
    assert p.get("algorithm", "MD5").upper() == "MD5", p
    assert p.get("realm") == "asterisk", p
    assert "auth" in p.get("qop", "").split(","), p
    assert p.get("nonce"), p
    assert r.to_tag, "401 without To tag"
    return p


known = challenge_of("1001", "")
unknown = challenge_of("9999", "")
assert sorted(known) == sorted(unknown), "challenge params differ: %r / %r" % (known, unknown)
assert known["nonce"] != unknown["nonce"], "the same nonce twice"
print("no credentials: 401 Digest realm=asterisk algorithm=MD5 qop=auth, "
      "the same for an unknown user")

phone = kvsip.Phone(port, "1001")
phone.media = [a]
call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port))
call.connect("INVITE with the right password")
assert [c.status for c in call.challenges] == [401], [c.start for c in call.challenges]
r = call.bye()
assert r.status == 200, r.start
print("right password: 401, then 200; BYE 200")

for user, password, what in (("1001", "wrong", "wrong password"),
                             ("9999", "secret9999", "unknown user")):
    phone = kvsip.Phone(port, user, password=password)
    call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port))
    call.invite()
    _, r = call.final()
    assert r is not None and r.status == 401, "%s: %s" % (what, r and r.start)
    assert len(call.challenges) == 2, "%s: %r" % (what, [c.start for c in call.challenges])
    print("%s: 401, credentials sent, 401 again" % what)

# 1001's valid credentials in an INVITE whose From says 1002.
phone = kvsip.Phone(port, "1001")
call = kvsip.OutCall(phone, "600", kvsip.sdp_offer(a.port), from_user="1002")
call.invite()
_, r = call.final()
assert r is not None and r.status in (401, 403), \
    "From 1002 with 1001's credentials: %s" % (r and r.start)
print("From 1002 with 1001's credentials: %d" % r.status)
PY
kv_ok "401 challenge, right password accepted, wrong/unknown/other user's rejected"

kvd_stop
kv_pass
