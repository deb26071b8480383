/*
 * metrics.c - the PBX's counters as Prometheus text (format 0.0.4) and
 * its live state as the /status JSON object.
 *
 * Every family is announced by # HELP and # TYPE before its samples, and
 * counters end in _total, so that promtool and strict scrapers accept the
 * page.  Components the PBX has not built (a NULL stack, relay...) read
 * as zero rather than vanishing: a family that comes and goes breaks
 * rate() and alerts.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "media/rtp.h"
#include "ops/metrics.h"
#include "pbx/call.h"
#include "pbx/pbx.h"
#include "sip/stack.h"
#include "sip/transport.h"
#include "state/state.h"
#include "version.h"

static void family(struct sbuf *out, const char *name, const char *type,
		   const char *help)
{
	sbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(struct sbuf *out, const char *name, uint64_t v)
{
	sbuf_printf(out, "%s %" PRIu64 "\n", name, v);
}

static void sample_label(struct sbuf *out, const char *name, const char *label,
			 const char *value, uint64_t v)
{
	sbuf_printf(out, "%s{%s=\"", name, label);
	metrics_label_escape(out, value);
	sbuf_printf(out, "\"} %" PRIu64 "\n", v);
}

static void counter(struct sbuf *out, const char *name, const char *help, uint64_t v)
{
	family(out, name, "counter", help);
	sample(out, name, v);
}

static void gauge(struct sbuf *out, const char *name, const char *help, uint64_t v)
{
	family(out, name, "gauge", help);
	sample(out, name, v);
}

void metrics_label_escape(struct sbuf *out, const char *s)
{
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '\\')
			sbuf_append_str(out, "\\\\");
		else if (*p == '"')
			sbuf_append_str(out, "\\\"");
		else if (*p == '\n')
			sbuf_append_str(out, "\\n");
		else
			sbuf_append(out, p, 1);
	}
}

static void registrations(struct sbuf *out, const struct pbx_snapshot *snap)
{
	static const char *const results[REG_RESULT_COUNT] = {
		[REG_OK] = "ok", [REG_CHALLENGED] = "challenged",
		[REG_AUTH_FAILED] = "auth_failed", [REG_REJECTED] = "rejected",
		[REG_ERROR] = "error",
	};
	const struct pbx_stats *ps = &snap->stats;
	const char *name = "kubevox_registration_attempts_total";

	gauge(out, "kubevox_registrations", "Contacts currently registered.",
	      snap->contacts);
	family(out, name, "counter", "REGISTER requests by outcome.");
	for (unsigned i = 0; i < REG_RESULT_COUNT; i++)
		sample_label(out, name, "result", results[i], ps->reg[i]);
	counter(out, "kubevox_contacts_expired_total",
		"Contacts removed because they were not refreshed.", ps->contacts_expired);
}

static void calls(struct sbuf *out, const struct pbx_snapshot *snap)
{
	const struct call_stats *cs = &snap->calls;
	const char *name;

	gauge(out, "kubevox_calls_active", "Calls in progress.", snap->calls_active);

	name = "kubevox_calls_total";
	family(out, name, "counter", "Calls ended, by disposition.");
	sample_label(out, name, "disposition", "answered", cs->answered);
	sample_label(out, name, "disposition", "busy", cs->busy);
	sample_label(out, name, "disposition", "noanswer", cs->noanswer);
	sample_label(out, name, "disposition", "failed", cs->failed);
	sample_label(out, name, "disposition", "congestion", cs->congestion);

	counter(out, "kubevox_calls_started_total",
		"Calls that passed authentication (rate() is the setup rate).", cs->total);

	name = "kubevox_calls_rejected_total";
	family(out, name, "counter", "New calls refused with 503, by reason.");
	sample_label(out, name, "reason", "draining", cs->rejected_draining);
	sample_label(out, name, "reason", "no_media_port", cs->no_media_port);
}

static void media(struct sbuf *out, const struct pbx_snapshot *snap)
{
	const struct rtp_stats *rp = &snap->rtp;
	const char *name;
	counter(out, "kubevox_rtp_packets_relayed_total",
		"RTP and RTCP packets sent on to the other leg.", rp->relayed_packets);
	counter(out, "kubevox_rtp_bytes_relayed_total",
		"Bytes of RTP and RTCP sent on to the other leg.", rp->relayed_bytes);

	name = "kubevox_rtp_packets_dropped_total";
	family(out, name, "counter", "Media packets received and not relayed, by reason.");
	sample_label(out, name, "reason", "no_peer", rp->drop_nopeer);
	sample_label(out, name, "reason", "held", rp->drop_held);
	sample_label(out, name, "reason", "wrong_source", rp->drop_source);
	sample_label(out, name, "reason", "malformed", rp->drop_malformed);
	sample_label(out, name, "reason", "send_failed", rp->drop_send);

	gauge(out, "kubevox_rtp_ports_in_use", "Media ports held by call legs.",
	      rp->ports_in_use);
	gauge(out, "kubevox_rtp_ports_total", "Media ports in the rtp.conf range.",
	      rp->ports_total);
}

static void sip(struct sbuf *out, const struct pbx_snapshot *snap)
{
	const struct sip_stack_stats *ss = &snap->sip;
	static const char *const classes[7] = {
		NULL, "1xx", "2xx", "3xx", "4xx", "5xx", "6xx",
	};
	const char *name;

	name = "kubevox_sip_requests_received_total";
	family(out, name, "counter",
	       "SIP requests received, retransmissions included, by method.");
	for (unsigned m = 0; m < SIP_STATS_METHODS; m++)
		sample_label(out, name, "method", sip_stats_method_name(m),
			     ss->rx_by_method[m]);

	name = "kubevox_sip_responses_sent_total";
	family(out, name, "counter", "SIP responses sent, retransmissions included, by class.");
	for (unsigned c = 1; c <= 6; c++)
		sample_label(out, name, "class", classes[c], ss->tx_by_class[c]);

	name = "kubevox_sip_responses_received_total";
	family(out, name, "counter", "SIP responses received, by class.");
	for (unsigned c = 1; c <= 6; c++)
		sample_label(out, name, "class", classes[c], ss->rx_by_class[c]);

	counter(out, "kubevox_sip_parse_errors_total",
		"SIP messages that could not be parsed.", ss->parse_errors);
	counter(out, "kubevox_sip_retransmissions_absorbed_total",
		"Retransmitted SIP requests answered by the transaction layer.",
		ss->retransmissions_absorbed);

	gauge(out, "kubevox_tcp_connections", "Open SIP TCP connections.",
	      snap->tcp_connections);
}

static void security(struct sbuf *out, const struct pbx_stats *ps)
{
	counter(out, "kubevox_auth_failures_total",
		"Digest authentications that failed.", ps->auth_failures);
	counter(out, "kubevox_bans_total",
		"Source addresses banned after repeated authentication failures.", ps->bans);
	counter(out, "kubevox_banned_requests_total",
		"Requests refused because their source was banned.", ps->banned_requests);
}

static void process(struct sbuf *out, const struct ops_stats *ps)
{
	const char *name = "kubevox_config_reloads_total";

	family(out, name, "counter", "Configuration reloads, by result.");
	sample_label(out, name, "result", "ok", ps->reloads_ok);
	sample_label(out, name, "result", "failed", ps->reloads_failed);

	gauge(out, "kubevox_draining",
	      "1 while draining: new calls are refused, live ones go on.", ps->draining);
	counter(out, "kubevox_drain_forced_hangups_total",
		"Calls hung up because the drain timeout passed.", ps->drain_forced_hangups);
	gauge(out, "kubevox_process_start_time_seconds",
	      "Start time of the process since the Unix epoch, in seconds.", ps->start_time);

	name = "kubevox_http_refused_total";
	family(out, name, "counter",
	       "Requests to /status, /reload or /debug refused, by reason.");
	sample_label(out, name, "reason", "no_token", ps->http_refused[OPS_REFUSED_NO_TOKEN]);
	sample_label(out, name, "reason", "wrong_token",
		     ps->http_refused[OPS_REFUSED_WRONG_TOKEN]);
	sample_label(out, name, "reason", "not_loopback",
		     ps->http_refused[OPS_REFUSED_NOT_LOOPBACK]);

	name = "kubevox_build_info";
	family(out, name, "gauge", "Always 1; the labels say which build runs.");
	sample_label(out, name, "version", KV_VERSION, 1);
}

void metrics_render(struct sbuf *out, const struct pbx_snapshot *ps,
		    const struct ops_stats *os)
{
	registrations(out, ps);
	calls(out, ps);
	media(out, ps);
	sip(out, ps);
	security(out, &ps->stats);
	process(out, os);
}

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 when invalid:
 * overlong forms, surrogates and code points past U+10FFFF included. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

void status_json_string(struct sbuf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t left = strlen((const char *)p);

	sbuf_append(out, "\"", 1);
	while (left) {
		size_t n = utf8_len(p, left);

		if (!n) {
			sbuf_append_str(out, "\\ufffd");
			n = 1;
		} else if (*p == '"' || *p == '\\') {
			sbuf_append(out, "\\", 1);
			sbuf_append(out, p, 1);
		} else if (*p < 0x20) {
			sbuf_printf(out, "\\u%04x", *p);
		} else {
			sbuf_append(out, p, n);
		}
		p += n;
		left -= n;
	}
	sbuf_append(out, "\"", 1);
}

/* Durations are never negative nor NaN in JSON, whatever the clocks did. */
static double seconds(double s)
{
	return isfinite(s) && s > 0 ? s : 0;
}

struct status_walk {
	struct sbuf *out;
	unsigned n;
};

static void status_call(const struct call_info *ci, void *arg)
{
	struct status_walk *w = arg;
	struct sbuf *out = w->out;

	sbuf_append_str(out, w->n++ ? ",{" : "{");
	sbuf_append_str(out, "\"uniqueid\":");
	status_json_string(out, ci->uniqueid);
	sbuf_append_str(out, ",\"channel\":");
	status_json_string(out, ci->channel);
	sbuf_append_str(out, ",\"dstchannel\":");
	status_json_string(out, ci->dstchannel);
	sbuf_append_str(out, ",\"caller\":");
	status_json_string(out, ci->caller);
	sbuf_append_str(out, ",\"exten\":");
	status_json_string(out, ci->exten);
	sbuf_append_str(out, ",\"state\":");
	status_json_string(out, ci->state);
	sbuf_printf(out, ",\"seconds\":%.3f,\"billsec\":%.3f}",
		    seconds(ci->seconds), seconds(ci->billsec));
}

void status_render(struct sbuf *out, const struct pbx_snapshot *ps,
		   const struct ops_stats *os, const struct pbx *pbx)
{
	uint64_t now = ps->now ? ps->now : (uint64_t)time(NULL);
	uint64_t start = os->start_time;
	uint64_t uptime = start && now > start ? now - start : 0;
	struct status_walk w = { out, 0 };

	sbuf_append_str(out, "{\"version\":");
	status_json_string(out, KV_VERSION);
	sbuf_printf(out, ",\"uptime_seconds\":%" PRIu64 ",\"draining\":%s"
		    ",\"contacts\":%zu,\"calls_active\":%u,\"calls\":[",
		    uptime, os->draining ? "true" : "false", ps->contacts,
		    ps->calls_active);
	if (pbx)
		pbx_calls_foreach(pbx, status_call, &w);
	sbuf_append_str(out, "]}");
}
