#!/usr/bin/env bash
# test_call_in_dialog_options - requests within an established call's
# dialog (1001 -> 1002): OPTIONS and INFO (an empty one and a
# dtmf-relay one) from either phone are answered 200 with Allow; a BYE
# whose To tag belongs to no dialog gets 481, and a BYE whose CSeq is
# lower than the last request's gets 500 (RFC 3261 section 12.2.2).
# Neither ends the call: the other phone gets no BYE and media still
# flows.  Then a proper BYE ends it on both legs.
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002
kvd_start

kv_python_call <<'PY' || kv_fail "requests within a call"
import kvsip

caller = kvsip.Phone(kvsip.kv_port(), "1001")
callee = kvsip.Phone(kvsip.kv_port(), "1002")
callee.sign_in()
a, b = kvsip.Rtp(), kvsip.Rtp()
caller.media.append(a)
callee.media.append(b)
call, inc = kvsip.call_up(caller, callee, a, b)
DTMF = b"Signal=5\r\nDuration=160\r\n"


def ask(dlg, phone, method, cseq, what, **kwargs):
    kvsip.dialog_request(dlg, method, cseq, **kwargs)
    return kvsip.response_to(phone, dlg.call_id, cseq, method, what)


def is_bye(m):
    return isinstance(m, kvsip.Request) and m.method == "BYE"


for name, dlg, phone in (("caller", call, caller), ("callee", inc, callee)):
    for method, kwargs in (("OPTIONS", {}), ("INFO", {}),
                           ("INFO", dict(body=DTMF, ctype="application/dtmf-relay"))):
        dlg.cseq += 1
        what = "%s's %s%s" % (name, method, " (dtmf-relay)" if kwargs else "")
        r = ask(dlg, phone, method, dlg.cseq, what, **kwargs)
        assert r.status == 200, "%s: %s" % (what, r.start)
        allow = [m.upper() for m in r.values("allow")]
        assert "BYE" in allow and "INVITE" in allow, "%s: Allow: %r" % (what, allow)
        print("%s: %s, Allow: %s" % (what, r.start, ", ".join(allow)))

# A BYE for a dialog that does not exist: same Call-ID, unknown To tag.
call.cseq += 1
stranger = call.to + ";tag=kvsip-nosuchtag"
r = ask(call, caller, "BYE", call.cseq, "BYE with an unknown To tag", to_hdr=stranger)
assert r.status == 481, "BYE with an unknown To tag: %s" % r.start
print("BYE with an unknown To tag: %s" % r.start)

# A BYE older than the caller's last request (its CSeq now call.cseq).
r = ask(call, caller, "BYE", call.cseq - 2, "BYE with a lower CSeq")
assert r.status == 500, "BYE with CSeq %d after %d: %s" % (call.cseq - 2, call.cseq, r.start)
print("BYE with CSeq %d after %d: %s" % (call.cseq - 2, call.cseq, r.start))

callee.expect_nothing(is_bye, "BYE to the callee after a refused BYE", 0.5)
caller.expect_nothing(is_bye, "BYE to the caller after a refused BYE", 0)
kvsip.check_media(a, b, call.answer.media, inc.offer.media, "still-up")
print("the call is still up: no BYE, media flows both ways")

r = call.bye()
assert r.status == 200, "the real BYE: %s" % r.start
inc.answer_bye()
print("the caller's BYE: %s, and the callee got its BYE" % r.start)
PY
kv_ok "OPTIONS and INFO in a call 200, stray BYEs 481 and 500 leave the call up"

kv_wait_log 'event=call_end.*disposition="?ANSWERED' 1
[ "$(kv_log_count 'event=call_bye')" = 1 ] || kv_fail "more than one call_bye logged"
kvd_stop
kv_pass
