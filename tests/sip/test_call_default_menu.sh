#!/usr/bin/env bash
# test_call_default_menu - the main menu of the shipped
# asterisk_config/extensions.conf, as a caller meets it: 500 plays
# demo-congrats, which a key interrupts; 2 plays demo-moreinfo; # says
# demo-thanks and hangs up; 9 (no such extension) is 'invalid' and the
# instructions again.  The shipped dialplan
# runs unchanged; only the transports, users and directories are the
# test's (the shipped pjsip.conf listens on 5060).
. "$(dirname "$0")/lib.sh"

kv_conf_calls 1001 1002 1003
cp "$KV_SRC/asterisk_config/extensions.conf" "$KV_CONF/extensions.conf"
out=$(timeout -k 5 20 "$KV_BIN/kubevoxd" -C "$KV_CONF" --check 2>&1) ||
	kv_fail "--check on the shipped dialplan: $out"
kvd_start

kv_python_call <<'PY' || { cat "$KVD_LOG"; kv_fail "main menu"; }
import os
import kvsip

SOUNDS = os.path.dirname(os.environ["KV_PROMPT"])
HASH = 11  # RFC 4733 event code of '#'


plays = kvsip.prompt_plays


def cut(packets, name, what):
    print("%s: %s" % (what, kvsip.check_prompt_start(packets, os.path.join(SOUNDS, name + ".wav"), what)))


def whole(packets, name, what):
    print("%s: %s" % (what, kvsip.check_prompt(packets, 0, os.path.join(SOUNDS, name + ".wav"), name)))


def heard(a, c):
    return [p for p, src in a.got if src == c.answer.media]


def menu(keys, what):
    """Call 500 and press keys, each once a prompt after the previous key
    has played 50 packets (a second: some prompts start with silence); None
    presses nothing, and waits for the prompt after."""
    phone = kvsip.Phone(kvsip.kv_port(), "1001")
    a = kvsip.Rtp()
    phone.media = [a]
    c = kvsip.OutCall(phone, "500", kvsip.sdp_offer(a.port))
    c.connect(what)
    te = c.answer.pt_of("telephone-event")
    n = 0
    for k in keys:
        assert a.wait(lambda got: len(plays(heard(a, c))) > n and len(plays(heard(a, c))[-1]) >= 50, 20), \
            "%s: no prompt before key %r" % (what, k)
        n = len(plays(heard(a, c)))
        if k is not None:
            kvsip.send_dtmf(a, c.answer.media, k, te)
    return c, a


# '#': demo-congrats cut, demo-thanks whole, then KubeVox hangs up.
c, a = menu([HASH], "#")
c.answer_bye(timeout=20)
a.quiet()
got = plays(heard(a, c))
assert len(got) == 2, "#: %d plays" % len(got)
cut(got[0], "demo-congrats", "#")
whole(got[1], "demo-thanks", "#")

# 2: demo-moreinfo, which # interrupts as well.
c, a = menu([2, HASH], "2")
c.answer_bye(timeout=20)
a.quiet()
got = plays(heard(a, c))
assert len(got) == 3, "2: %d plays" % len(got)
cut(got[0], "demo-congrats", "2")
cut(got[1], "demo-moreinfo", "2")
whole(got[2], "demo-thanks", "2")

# 9: 'invalid', then the instructions again (cut by #).
c, a = menu([9, None, HASH], "9")
c.answer_bye(timeout=20)
a.quiet()
got = plays(heard(a, c))
assert len(got) == 4, "9: %d plays" % len(got)
cut(got[0], "demo-congrats", "9")
whole(got[1], "invalid", "9")
cut(got[2], "demo-instruct", "9")
whole(got[3], "demo-thanks", "9")
PY
kv_ok "shipped main menu: # to thanks, 2 to more information, 9 to invalid then the instructions, keys interrupt the prompts"
kv_wait_log 'event=dialplan_invalid.*to=i' 1

kvd_stop
kv_pass
