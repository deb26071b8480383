#!/usr/bin/env bash
# test_trunk_register - outbound registration to a provider (issue #11 item
# 1), with a SIPp registrar as the provider (scenarios/trunk_provider.xml
# checks each REGISTER it gets): the first REGISTER is challenged (401,
# MD5, qop=auth) and answered with outbound_auth's credentials; the
# provider grants 4 s instead of the 3600 asked, so KubeVox refreshes
# before they run out (challenged again); on SIGTERM the registration is
# removed (REGISTER Expires: 0, challenged too) before the process exits.
# /status and /metrics show the registration while it holds.
. "$(dirname "$0")/lib.sh"

prov=$(kv_free_port) || kv_fail "no port for the provider"
kv_conf_transports
kv_conf_http
cat >> "$KV_CONF/pjsip.conf" <<CONF

[provider-auth]
type=auth
auth_type=userpass
username=trunkuser
password=trunkpass

[provider]
type=registration
transport=transport-udp
server_uri=sip:127.0.0.1:$prov
client_uri=sip:trunkuser@provider.test
contact_user=inbound
outbound_auth=provider-auth
retry_interval=60
max_random_initial_delay=0
CONF
"$KV_BIN/kubevoxd" -C "$KV_CONF" --check > "$KV_TMP/check.out" 2>&1 ||
	kv_fail "--check refuses the registration: $(cat "$KV_TMP/check.out")"
kv_assert_eq "" "$(cat "$KV_TMP/check.out")" "--check says nothing about the registration"

kv_sipp_uas trunk_provider.xml "$prov"
uas=$KV_UAS
kvd_start

kv_wait_log 'event=outreg_registered registration=provider expires=4 ' 1
kv_ok "registered; the provider granted 4 s"
kv_wait_log 'event=outreg_registered registration=provider expires=3600 ' 1
kv_ok "refreshed before the 4 s ran out"

kv_http GET /status
kv_assert_eq 200 "$KV_HTTP_CODE" "GET /status"
python3 - "$KV_TMP/http.body" <<'PY' || kv_fail "/status: the registration"
import json, sys
doc = json.load(open(sys.argv[1]))
regs = doc["registrations"]
assert len(regs) == 1, regs
r = regs[0]
assert r["name"] == "provider", r
assert r["registered"] is True and r["status"] == "registered", r
assert r["last_code"] == 0 and r["failures"] == 0, r
assert r["expires_at"] > 0 and r["next_attempt"] > 0, r
assert r["next_attempt"] < r["expires_at"], r
print("status:", r)
PY
kv_metrics "$KV_TMP/metrics"
kv_assert_eq 1 "$(kv_metric "$KV_TMP/metrics" 'kubevox_outbound_registration_registered{registration="provider"}')" \
	"registered gauge"
kv_assert_eq 0 "$(kv_metric "$KV_TMP/metrics" 'kubevox_outbound_registration_failures_total{registration="provider"}')" \
	"failures counter"

kvd_stop TERM
kv_assert_match 'event=outreg_unregistered registration=provider' "$(cat "$KVD_LOG")" \
	"the removal was answered before the exit"
kv_sipp_uas_wait "$uas" "the provider saw the registration, its refresh and its removal, each authenticated"
kv_pass
