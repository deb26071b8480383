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
#include "sip/sa.h"
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

/* Durations and sums are never negative nor NaN, whatever went wrong. */
static double nonneg(double v)
{
	return isfinite(v) && v > 0 ? v : 0;
}

/* A replica's name, NUL-terminated whatever the backend left in it. */
static const char *replica_name(const struct state_replica *r, char buf[STATE_REPLICA_MAX])
{
	snprintf(buf, STATE_REPLICA_MAX, "%.*s", STATE_REPLICA_MAX - 1, r->name);
	return buf;
}

/* Milliseconds as seconds with three decimals, without floating point. */
static void sample_ms(struct sbuf *out, const char *name, const char *label,
		      const char *value, uint64_t ms)
{
	sbuf_printf(out, "%s{%s=\"", name, label);
	metrics_label_escape(out, value);
	sbuf_printf(out, "\"} %" PRIu64 ".%03u\n", ms / 1000, (unsigned)(ms % 1000));
}

/* The state backend (memory, or Redis shared by the replicas) and the
 * table of replicas it keeps. */
static void state_backend(struct sbuf *out, const struct pbx_snapshot *snap)
{
	const struct state_stats *st = &snap->state;
	const char *backend = st->backend ? st->backend : "unknown";
	char rn[STATE_REPLICA_MAX];
	uint64_t alive = 0;
	const char *name;

	name = "kubevox_state_up";
	family(out, name, "gauge",
	       "1 while the state backend answers (always for memory), by backend.");
	sample_label(out, name, "backend", backend, st->healthy);

	name = "kubevox_state_round_trip_seconds";
	family(out, name, "histogram", "Round trips to the state backend, in seconds.");
	for (unsigned i = 0; i < STATE_RTT_BUCKETS; i++)
		sbuf_printf(out, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
			    state_rtt_bounds_ms[i] / 1000, st->rtt_le[i]);
	sbuf_printf(out, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, st->rtt_count);
	sbuf_printf(out, "%s_sum %.9g\n%s_count %" PRIu64 "\n", name,
		    nonneg(st->rtt_sum_ms / 1000), name, st->rtt_count);

	counter(out, "kubevox_state_errors_total",
		"Commands to the state backend that failed or timed out.", st->errors);
	counter(out, "kubevox_state_reconnects_total",
		"Connections to the state backend made again after a loss.", st->reconnects);
	counter(out, "kubevox_state_conflicts_total",
		"Registrations written again because another replica changed the AOR first.",
		st->conflicts);
	counter(out, "kubevox_state_bindings_written_back_total",
		"Bindings of this replica's flows written back after the backend lost them.",
		st->written_back);
	counter(out, "kubevox_cross_replica_deliveries_total",
		"Call legs sent to a phone through the replica that holds its flow.",
		snap->stats.cross_replica);
	counter(out, "kubevox_mwi_notify_total",
		"Message-summary NOTIFYs sent (unsolicited and in subscriptions).",
		snap->stats.mwi_notify_sent);
	counter(out, "kubevox_mwi_notify_failed_total",
		"Message-summary NOTIFYs refused or unanswered.",
		snap->stats.mwi_notify_failed);
	counter(out, "kubevox_mwi_subscribes_total",
		"SUBSCRIBEs to message-summary accepted (new, refreshed, removed).",
		snap->stats.mwi_subscribes);
	gauge(out, "kubevox_mwi_subscriptions",
		"Message-summary subscriptions held by this replica.",
		snap->stats.mwi_subscriptions);
	gauge(out, "kubevox_moh_buffers",
		"Music on hold decoded and shared: one buffer per class and codec.",
		snap->moh_buffers);
	gauge(out, "kubevox_moh_bytes",
		"Bytes of those buffers, whatever the number of calls playing them.",
		snap->moh_bytes);
	gauge(out, "kubevox_moh_plays", "Legs hearing music on hold now.", snap->moh_plays);
	counter(out, "kubevox_moh_loads_total",
		"Music on hold directories decoded (start, reload, new files).",
		snap->moh_loads);

	for (size_t i = 0; i < snap->replicas_n; i++)
		alive += snap->replicas[i].alive;
	name = "kubevox_replicas";
	family(out, name, "gauge", "Replicas in the shared table, by heartbeat (alive: under 3 s).");
	sample_label(out, name, "state", "alive", alive);
	sample_label(out, name, "state", "dead", snap->replicas_n - alive);
	/* Per replica: only when there are replicas (none with memory). */
	if (!snap->replicas_n)
		return;
	name = "kubevox_replica_heartbeat_age_seconds";
	family(out, name, "gauge", "Age of each replica's last heartbeat, by the backend's clock.");
	for (size_t i = 0; i < snap->replicas_n; i++)
		sample_ms(out, name, "replica", replica_name(&snap->replicas[i], rn),
			  snap->replicas[i].heartbeat_age_ms);
	name = "kubevox_replica_up";
	family(out, name, "gauge", "1 while a replica's heartbeat is under 3 s old.");
	for (size_t i = 0; i < snap->replicas_n; i++)
		sample_label(out, name, "replica", replica_name(&snap->replicas[i], rn),
			     snap->replicas[i].alive);
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

/* Outbound registrations to providers (pjsip.conf type=registration):
 * only when some are configured. */
static void trunks(struct sbuf *out, const struct pbx_snapshot *snap)
{
	const char *name;

	if (!snap->registrations_n)
		return;
	name = "kubevox_outbound_registration_registered";
	family(out, name, "gauge",
	       "1 while this replica holds an outbound registration and the provider "
	       "accepted it.");
	for (size_t i = 0; i < snap->registrations_n; i++)
		sample_label(out, name, "registration", snap->registrations[i].name,
			     snap->registrations[i].registered);
	name = "kubevox_outbound_registration_failures_total";
	family(out, name, "counter",
	       "Outbound REGISTERs that failed (refused, or no answer), by registration.");
	for (size_t i = 0; i < snap->registrations_n; i++)
		sample_label(out, name, "registration", snap->registrations[i].name,
			     snap->registrations[i].failures);
}

void metrics_render(struct sbuf *out, const struct pbx_snapshot *ps,
		    const struct ops_stats *os)
{
	registrations(out, ps);
	trunks(out, ps);
	calls(out, ps);
	media(out, ps);
	sip(out, ps);
	security(out, &ps->stats);
	state_backend(out, ps);
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
		    nonneg(ci->seconds), nonneg(ci->billsec));
}

/* ,"state":{...},"cross_replica_deliveries":N,"replicas":[...] */
static void status_state(struct sbuf *out, const struct pbx_snapshot *ps)
{
	const struct state_stats *st = &ps->state;
	char rn[STATE_REPLICA_MAX], addr[64];

	sbuf_append_str(out, ",\"state\":{\"backend\":");
	status_json_string(out, st->backend ? st->backend : "unknown");
	sbuf_printf(out, ",\"healthy\":%s,\"round_trips\":{\"count\":%" PRIu64
		    ",\"sum_ms\":%.3f,\"le_ms\":{", st->healthy ? "true" : "false",
		    st->rtt_count, nonneg(st->rtt_sum_ms));
	for (unsigned i = 0; i < STATE_RTT_BUCKETS; i++)
		sbuf_printf(out, "\"%g\":%" PRIu64 ",", state_rtt_bounds_ms[i], st->rtt_le[i]);
	sbuf_printf(out, "\"+Inf\":%" PRIu64 "}},\"errors\":%" PRIu64 ",\"reconnects\":%"
		    PRIu64 ",\"conflicts\":%" PRIu64 ",\"written_back\":%" PRIu64 "}",
		    st->rtt_count, st->errors, st->reconnects, st->conflicts, st->written_back);
	sbuf_printf(out, ",\"cross_replica_deliveries\":%" PRIu64 ",\"replicas\":[",
		    ps->stats.cross_replica);
	for (size_t i = 0; i < ps->replicas_n; i++) {
		const struct state_replica *r = &ps->replicas[i];

		sbuf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
		status_json_string(out, replica_name(r, rn));
		sbuf_append_str(out, ",\"advertise\":");
		if (r->advertise.ss_family == AF_INET || r->advertise.ss_family == AF_INET6)
			status_json_string(out, sip_sockaddr_str((const struct sockaddr *)
								 &r->advertise, addr, sizeof(addr)));
		else
			sbuf_append_str(out, "null");
		sbuf_printf(out, ",\"alive\":%s,\"self\":%s,\"heartbeat_age_ms\":%" PRIu64 "}",
			    r->alive ? "true" : "false", r->self ? "true" : "false",
			    r->heartbeat_age_ms);
	}
	sbuf_append_str(out, "]");
}

/* ,"registrations":[{...}]: the outbound registrations to providers. */
static void status_trunks(struct sbuf *out, const struct pbx_snapshot *ps)
{
	sbuf_append_str(out, ",\"registrations\":[");
	for (size_t i = 0; i < ps->registrations_n; i++) {
		const struct pbx_registration *r = &ps->registrations[i];

		sbuf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
		status_json_string(out, r->name);
		sbuf_append_str(out, ",\"status\":");
		status_json_string(out, r->status ? r->status : "unknown");
		sbuf_printf(out, ",\"registered\":%s,\"last_code\":%u,\"next_attempt\":%"
			    PRIu64 ",\"expires_at\":%" PRIu64 ",\"failures\":%" PRIu64
			    ",\"holder\":", r->registered ? "true" : "false", r->last_code,
			    r->next_attempt, r->expires_at, r->failures);
		if (r->holder[0])
			status_json_string(out, r->holder);
		else
			sbuf_append_str(out, "null");
		sbuf_append_str(out, "}");
	}
	sbuf_append_str(out, "]");
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
		    ",\"contacts\":%zu,\"calls_active\":%u",
		    uptime, os->draining ? "true" : "false", ps->contacts,
		    ps->calls_active);
	status_state(out, ps);
	status_trunks(out, ps);
	sbuf_append_str(out, ",\"calls\":[");
	if (pbx)
		pbx_calls_foreach(pbx, status_call, &w);
	sbuf_append_str(out, "]}");
}
