/*
 * dial.c - Dial(PJSIP/ext[&PJSIP/ext2][,timeout[,options]]): one B leg per
 * registered contact of every AOR of each endpoint, all ringing at once;
 * the first 2xx wins and is bridged to the caller, the others get CANCEL
 * (or, when their 2xx crosses ours, ACK and BYE).  DIALSTATUS follows
 * Asterisk: ANSWER, BUSY, NOANSWER, CHANUNAVAIL, CONGESTION, CANCEL.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dpargs.h"
#include "pbx/call_int.h"
#include "pbx/flowproxy.h"
#include "sip/print.h"
#include "util/log.h"
#include "util/rand.h"

/* Looking up one endpoint's contacts. */
/* Looking up one AOR's contacts: the backend may answer after
 * dial_start() has returned, so this lives on the heap and the call is
 * kept until every lookup has answered (call.c's free_later). */
struct dial_lookup {
	struct call *c;
	const struct cfg_endpoint *ep;
};

static void set_status(struct call *c, const char *status, enum q850_cause cause)
{
	snprintf(c->dialstatus, sizeof(c->dialstatus), "%s", status);
	dp_chan_var_set(c->dp, "DIALSTATUS", status);
	if (cause)
		c->cause = cause;
}

/* RFC 3261 §9.1, through the INVITE's transaction. */
static void send_cancel(struct leg *b)
{
	if (b->inv_ctx && sip_ctx_cancel(b->inv_ctx))
		log_event(LOG_WARN, "dial_cancel_failed", "uniqueid=%s channel=%s",
			  b->call->uniqueid, b->chan);
	b->cancelled = true;
}

void dial_leg_bye(struct leg *b)
{
	if (b->cancelled || !b->inv_ctx)
		return;
	/* RFC 3261 §9.1: no CANCEL before a provisional response. */
	if (b->provisional)
		send_cancel(b);
	else
		b->cancel_pending = true;
}

void dial_cancel_all(struct call *c, const char *status)
{
	for (size_t i = 0; i < c->b_n; i++) {
		struct leg *b = c->b[i];

		if (b != c->peer && b->state != LEG_UP && b->state != LEG_ENDED) {
			dial_leg_bye(b);
			b->state = LEG_ENDED;
			if (b->m.rtp)
				rtp_leg_stop(b->m.rtp);
		}
	}
	if (status)
		set_status(c, status, 0);
}

/* ACK a 2xx to our INVITE on leg b (RFC 3261 §13.2.2.4). */
static void ack_2xx(struct leg *b, struct sip_ctx *ctx, const struct sip_msg *resp)
{
	struct call *c = b->call;
	struct sip_peer dst;
	char branch[48];
	struct sbuf sb;

	sbuf_init(&sb);
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
	if (!sip_dialog_request(b->dlg, c->pbx->stack, "ACK", resp->cseq.num, branch,
				NULL, NULL, NULL, &sb, &dst))
		sip_ctx_ack(ctx, &dst, sb.p, sb.len);
	sbuf_free(&sb);
}

/* Every B leg has ended without an answer: Dial() returns. */
static void dial_failed(struct call *c)
{
	bool busy = false, noanswer = false, congestion = c->dial_unreachable > 0;

	for (size_t i = 0; i < c->b_n; i++) {
		uint16_t f = c->b[i]->final;

		if (f == 486 || f == 600)
			busy = true;
		else if (f == 480 || f == 408 || f == 487 || f == 603)
			noanswer = true;
		else if (f >= 500 || f == 488)
			congestion = true;
	}
	/* Asterisk's order: a busy callee outweighs one that did not answer. */
	if (busy)
		set_status(c, "BUSY", Q850_USER_BUSY);
	else if (noanswer)
		set_status(c, "NOANSWER", Q850_NO_ANSWER);
	else if (congestion)
		set_status(c, "CONGESTION", Q850_NORMAL_CIRCUIT_CONGESTION);
	else
		set_status(c, "CHANUNAVAIL", Q850_SUBSCRIBER_ABSENT);
	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	c->phase = CALL_DIALPLAN;
	log_event(LOG_INFO, "dial_end", "uniqueid=%s dialstatus=%s", c->uniqueid,
		  c->dialstatus);
	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
}

static bool dial_pending(const struct call *c);

/* Dial() is over without an answer once no leg rings and no lookup is
 * out; dial_start() decides itself while it runs. */
static void dial_check_done(struct call *c)
{
	if (c->phase == CALL_DIALING && !c->peer && !c->lookups && !c->dial_starting &&
	    !dial_pending(c))
		dial_failed(c);
}

static bool dial_pending(const struct call *c)
{
	for (size_t i = 0; i < c->b_n; i++) {
		if (c->b[i]->state == LEG_CALLING || c->b[i]->state == LEG_EARLY)
			return true;
	}
	return false;
}

static void early_media(struct call *c, struct leg *b, const struct sip_msg *resp)
{
	struct sdp_session *ans = malloc(sizeof(*ans));
	struct sdp_session *out = malloc(sizeof(*out));

	if (!ans || !out || sdp_decode(ans, resp->body.p, resp->body.l, NULL) ||
	    legmedia_answer_relay(&c->a.m, b->offer, ans, out))
		goto out;
	legmedia_remote(&b->m, ans);
	rtp_leg_connect(c->a.m.rtp, b->m.rtp);
	call_reply_a(c, 183, NULL, NULL, out);
	c->early = true;
 out:
	free(ans);
	free(out);
}

static void answered(struct call *c, struct leg *b, const struct sip_msg *resp)
{
	struct sdp_session *ans = malloc(sizeof(*ans));
	struct sdp_session *out = malloc(sizeof(*out));

	c->peer = b;
	c->phase = CALL_BRIDGED;
	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	snprintf(c->dstchannel, sizeof(c->dstchannel), "%s", b->chan);
	set_status(c, "ANSWER", Q850_UNSET);
	dial_cancel_all(c, NULL);

	if (!ans || !out || !resp->body.l ||
	    sdp_decode(ans, resp->body.p, resp->body.l, NULL) ||
	    legmedia_answer_relay(&c->a.m, b->offer, ans, out)) {
		log_event(LOG_WARN, "dial_bad_answer", "uniqueid=%s channel=%s",
			  c->uniqueid, b->chan);
		free(ans);
		free(out);
		call_end(c, Q850_BEARERCAPABILITY_NOTAVAIL);
		return;
	}
	legmedia_remote(&b->m, ans);
	rtp_leg_connect(c->a.m.rtp, b->m.rtp);
	call_media_timeouts(c);
	/* After Answer() the caller already has our address and port, which
	 * do not change: the bridge is enough. */
	if (!c->answered)
		call_reply_a(c, 200, NULL, NULL, out);
	free(ans);
	free(out);
	log_event(LOG_INFO, "call_bridged", "uniqueid=%s channel=%s dstchannel=%s",
		  c->uniqueid, c->a.chan, b->chan);
}

static void b_response(int err, const struct sip_msg *resp, void *arg)
{
	struct leg *b = arg;
	struct call *c = b->call;
	bool live = c->phase == CALL_DIALING && !b->cancelled;

	if (!resp) {
		b->inv_ctx = NULL;
		b->final = err == ETIMEDOUT ? 408 : 503;
		b->state = LEG_ENDED;
		goto maybe_done;
	}
	if (!b->responded) {
		b->responded = true;
		tmr_cancel(c->pbx->tmrq, &b->noresp_tmr);
	}
	if (resp->scode < 200) {
		b->provisional = true;
		if (pl_isset(&resp->to.tag) && b->dlg) {
			sip_dialog_uac_update(b->dlg, resp);
			b->state = LEG_EARLY;
		}
		if (b->cancel_pending && !b->cancelled) {
			send_cancel(b);
			return;
		}
		if (!live || c->answered)
			return;
		if (resp->body.l && !c->early)
			early_media(c, b, resp);
		else if (resp->scode == 180 && !c->ringing && !c->early) {
			call_reply_a(c, 180, NULL, NULL, NULL);
			c->ringing = true;
		}
		return;
	}
	if (resp->scode < 300) {
		struct sip_ctx *ctx = b->inv_ctx;

		b->inv_ctx = NULL;
		b->state = LEG_UP;
		if (b->dlg && !sip_dialog_uac_update(b->dlg, resp))
			ack_2xx(b, ctx, resp);
		if (!live || c->peer) {
			/* Too late: another leg won, or the call is over. */
			call_send_in_dialog(c, b, "BYE", NULL, NULL, NULL, NULL, NULL);
			b->state = LEG_ENDED;
			return;
		}
		answered(c, b, resp);
		return;
	}
	b->inv_ctx = NULL;
	b->final = resp->scode;
	b->state = LEG_ENDED;
	if (b->m.rtp)
		rtp_leg_stop(b->m.rtp);
 maybe_done:
	dial_check_done(c);
}

static void dial_timeout(void *arg)
{
	struct call *c = arg;

	if (c->phase != CALL_DIALING)
		return;
	dial_cancel_all(c, NULL);
	for (size_t i = 0; i < c->b_n; i++) {
		if (c->b[i]->final == 0)
			c->b[i]->final = 480;
	}
	set_status(c, "NOANSWER", Q850_NO_ANSWER);
	c->phase = CALL_DIALPLAN;
	log_event(LOG_INFO, "dial_end", "uniqueid=%s dialstatus=NOANSWER", c->uniqueid);
	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
}

/* Nothing at all came back from a phone reached through another replica
 * or straight at a flow whose replica is dead: the phone is gone, and the
 * caller must not wait for timer B (32 s).  The leg ends 480. */
static void noresp_timeout(void *arg)
{
	struct leg *b = arg;
	struct call *c = b->call;

	if (b->responded || !b->inv_ctx)
		return;
	log_event(LOG_INFO, "dial_no_response", "uniqueid=%s channel=%s after_ms=%u",
		  c->uniqueid, b->chan, CALL_NORESP_MS);
	sip_ctx_abandon(b->inv_ctx);
	b->inv_ctx = NULL;
	b->final = 480;
	b->state = LEG_ENDED;
	if (b->m.rtp)
		rtp_leg_stop(b->m.rtp);
	dial_check_done(c);
}

/*
 * Where the INVITE for contact ct goes: through the Path it registered
 * with (a front proxy holds the flow), else to the phone when this replica
 * holds its flow, else through the replica that does (flowproxy.h), else
 * (that replica is dead) straight to the address the phone registered
 * from.  route: the Route header value to add ("" for none).  *guarded:
 * the leg must hear from the phone within CALL_NORESP_MS.
 */
static void leg_route(struct call *c, struct leg *b, const struct loc_contact *ct,
		      char *route, size_t size, bool *guarded)
{
	const char *self = c->cfg->cluster.replica;
	struct state_replica r;

	route[0] = '\0';
	*guarded = false;
	loc_addr_get(&ct->src.addr, &b->dst.addr);
	loc_addr_get(&ct->src.local, &b->dst.local);
	b->dst.proto = ct->src.proto == LOC_PROTO_TCP ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	b->dst.conn_id = ct->src.conn_id;
	if (ct->src.replica[0] && strcmp(ct->src.replica, self)) {
		/* Another replica's flow: our TCP connection ids and local
		 * addresses mean nothing here. */
		b->dst.conn_id = 0;
		memset(&b->dst.local, 0, sizeof(b->dst.local));
	}
	/* RFC 3327: the proxy that added Path (k8s/front) holds the flow,
	 * and any replica reaches the phone through it. */
	if (ct->path && *ct->path) {
		snprintf(route, size, "%s", ct->path);
		return;
	}
	if (!ct->src.replica[0] || !strcmp(ct->src.replica, self))
		return;
	*guarded = true;
	if (!state_replica(c->pbx->state, ct->src.replica, &r) && r.alive &&
	    !flowproxy_route(c->pbx->proxy, &r, &ct->src, route, size, &b->dst)) {
		c->pbx->stats.cross_replica++;
		log_event(LOG_DEBUG, "dial_via_replica", "uniqueid=%s replica=%s",
			  c->uniqueid, ct->src.replica);
		return;
	}
	route[0] = '\0';
	log_event(LOG_INFO, "dial_replica_dead", "uniqueid=%s replica=%s contact=%s",
		  c->uniqueid, ct->src.replica, ct->uri);
}

/*
 * One B leg toward contact ct of endpoint ep.
 *
 * Every INVITE KubeVox sends carries an offer, even when the caller made
 * none (a late offer, call.c): KubeVox anchors media, so it always has an
 * address, a port and codecs to offer, and Asterisk's chan_pjsip likewise
 * always offers on outgoing INVITEs.  Passing a late offer through (no
 * SDP to the callee, its offer in the 200 relayed in the caller's 200,
 * the caller's ACK answer in ours) would hold the callee's ACK until the
 * caller's came, could not relay early media (an offer in an unreliable
 * 183 has no answer without PRACK), would leave forked callees making
 * different offers to one caller, and meets more peers that mishandle an
 * INVITE without SDP than ones that cannot answer an offer.
 */
static int leg_start(struct call *c, const struct cfg_endpoint *ep,
		     const struct loc_contact *ct)
{
	const struct sdp_session *basis;
	struct leg *b;
	struct sbuf sb, body;
	char callid[48], tag[24], branch[48], ip[64], contact[128];
	char from[400], to[256], host[72], route[512];
	bool guarded;
	int err;

	if (c->b_n == CALL_MAX_FORKS)
		return ENOSPC;
	b = calloc(1, sizeof(*b));
	if (!b)
		return ENOMEM;
	b->call = c;
	b->uac = true;
	b->ep = ep;
	tmr_init(&b->noresp_tmr);
	tmr_init(&b->late_tmr);
	leg_route(c, b, ct, route, sizeof(route), &guarded);
	snprintf(b->chan, sizeof(b->chan), "PJSIP/%s-%08" PRIx64, ep->name,
		 call_chan_seq(c));
	sbuf_init(&sb);
	sbuf_init(&body);

	err = call_leg_media_init(b);
	if (err)
		goto out;
	b->offer = malloc(sizeof(*b->offer));
	if (!b->offer) {
		err = ENOMEM;
		goto out;
	}
	/* A caller that made no offer and was answered already (Answer()
	 * before Dial()) was offered one codec: the relay does not
	 * transcode, so the callee is offered that one. */
	basis = c->answered && c->a.m.sent && c->a.m.sent_offer ? c->a.m.sent :
								   c->a.offer;
	err = legmedia_offer(&b->m, basis, b->offer);
	if (err)
		goto out;
	err = sdp_encode(&body, b->offer);
	if (err)
		goto out;
	err = sip_stack_local_addr(c->pbx->stack, &b->dst, ip, sizeof(ip), NULL);
	if (err)
		goto out;
	err = call_contact(c, &b->dst, contact, sizeof(contact));
	if (err)
		goto out;

	/* 128 random bits: unique across restarts and replicas (RFC 3261
	 * §8.1.1.4), and no help to anyone forging in-dialog requests. */
	rand_hex(callid, 33);
	strncat(callid, "@kubevox", sizeof(callid) - strlen(callid) - 1);
	rand_hex(tag, 17);
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
	snprintf(host, sizeof(host), b->dst.addr.ss_family == AF_INET6 ? "[%s]" : "%s",
		 ip);
	snprintf(from, sizeof(from), "\"%s\" <sip:%s@%s>;tag=%s", c->caller_name,
		 c->caller_num[0] ? c->caller_num : "anonymous", host, tag);
	snprintf(to, sizeof(to), "<sip:%s@%s>", ct->aor, host);

	sbuf_printf(&sb, "INVITE %s SIP/2.0\r\n", ct->uri);
	err = sip_stack_print_via(c->pbx->stack, &sb, &b->dst, branch);
	if (err)
		goto out;
	sbuf_append_str(&sb, "Max-Forwards: 70\r\n");
	if (route[0])
		sbuf_printf(&sb, "Route: %s\r\n", route);
	sbuf_printf(&sb, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n"
		    "Contact: <%s>\r\n"
		    "Allow: " PBX_ALLOW "\r\n"
		    "User-Agent: %s\r\n"
		    "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n",
		    from, to, callid, contact, sip_server_name, body.len);
	sbuf_append(&sb, body.p, body.len);
	if (sbuf_err(&sb)) {
		err = ENOMEM;
		goto out;
	}

	err = sip_dialog_uac_alloc(&b->dlg, callid, tag, from, to, ct->uri, 1,
				   &b->dst, contact);
	if (err)
		goto out;
	/* The transaction keeps the request: CANCEL is built from it. */
	err = sip_ctx_send(c->pbx->stack, &b->inv_ctx, &b->dst, sb.p, sb.len,
			   b_response, b);
	if (err)
		goto out;
	call_table_add(c->calls, b);
	c->b[c->b_n++] = b;
	if (guarded)
		tmr_start(c->pbx->tmrq, &b->noresp_tmr, CALL_NORESP_MS, noresp_timeout, b);
	/* The CDR names the first callee rung until one answers. */
	if (!c->dstchannel[0])
		snprintf(c->dstchannel, sizeof(c->dstchannel), "%s", b->chan);
	log_event(LOG_INFO, "dial_leg", "uniqueid=%s channel=%s contact=%s",
		  c->uniqueid, b->chan, ct->uri);
	b = NULL;
 out:
	sbuf_free(&sb);
	sbuf_free(&body);
	if (b)
		call_leg_free(b);
	return err;
}

static void contacts_found(enum loc_result res, const struct loc_contact *ct,
			   size_t n, void *arg)
{
	struct dial_lookup *dl = arg;
	struct call *c = dl->c;

	c->lookups--;
	/* Dial() may be over already (its timeout, CANCEL, a BYE). */
	if (res == LOC_OK && c->phase == CALL_DIALING && !c->peer) {
		for (size_t i = 0; i < n; i++) {
			if (leg_start(c, dl->ep, &ct[i]))
				c->dial_unreachable++;
		}
	} else if (res != LOC_OK && c->phase == CALL_DIALING) {
		log_event(LOG_WARN, "dial_lookup_failed", "uniqueid=%s endpoint=%s",
			  c->uniqueid, dl->ep->name);
		c->dial_unreachable++;
	}
	free(dl);
	dial_check_done(c);
}

/* Ask the backend for every contact of every AOR of ep. */
static void lookup_endpoint(struct call *c, const struct cfg_endpoint *ep)
{
	for (size_t k = 0; k < ep->aors_n; k++) {
		struct pl aor = pl_from_str(ep->aors[k]->name);
		struct dial_lookup *dl = malloc(sizeof(*dl));

		if (!dl) {
			c->dial_unreachable++;
			continue;
		}
		dl->c = c;
		dl->ep = ep;
		c->lookups++;
		if (state_lookup(c->pbx->state, &aor, contacts_found, dl)) {
			/* refused at once: no callback will come */
			c->lookups--;
			c->dial_unreachable++;
			free(dl);
		}
	}
}

enum dp_result dial_start(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : ""), q[200], qr[120];
	struct dp_report rep = { 0 };
	struct dp_dial d;
	int err;

	if (!buf)
		return DP_HANGUP;
	/* The parser --check uses: what it accepted is what is dialled. */
	err = dp_dial_parse(buf, &d, &rep);
	if (err == EINVAL) {
		/* app_dial refuses the whole Dial(), and the channel hangs up. */
		log_event(LOG_WARN, "dial_bad_args", "uniqueid=%s error=%s", c->uniqueid,
			  log_q(q, sizeof(q), rep.why, strlen(rep.why)));
		set_status(c, "INVALIDARGS", Q850_UNSET);
	}
	/* Legs start as lookups answer, some maybe within this loop. */
	c->phase = CALL_DIALING;
	c->dial_starting = true;
	c->dial_unreachable = 0;
	for (size_t i = 0; !err && i < d.targets.n; i++) {
		const struct dp_dial_target *t = &d.targets.v[i];
		const struct cfg_endpoint *ep;

		/* app_dial skips an empty destination and one it dialled. */
		if (!*t->text || t->again)
			continue;
		if (!dp_dial_tech_ok(t->tech)) {
			log_event(LOG_WARN, "dial_bad_target", "uniqueid=%s tech=%s resource=%s",
				  c->uniqueid, log_q(q, sizeof(q), t->tech, strlen(t->tech)),
				  log_q(qr, sizeof(qr), t->resource, strlen(t->resource)));
			continue;
		}
		ep = config_endpoint(c->cfg, t->resource, strlen(t->resource));
		if (!ep) {
			log_event(LOG_WARN, "dial_no_endpoint", "uniqueid=%s endpoint=%s",
				  c->uniqueid,
				  log_q(qr, sizeof(qr), t->resource, strlen(t->resource)));
			continue;
		}
		lookup_endpoint(c, ep);
	}
	c->dial_starting = false;
	dp_dial_free(&d);
	free(buf);
	if (err) {
		c->phase = CALL_DIALPLAN;
		return DP_HANGUP;
	}

	/* Every lookup answered at once and nothing rings (or it all ended
	 * already): Dial() returns now. */
	if (!c->lookups && !c->peer && !dial_pending(c)) {
		bool unreachable = c->dial_unreachable || c->b_n;

		c->phase = CALL_DIALPLAN;
		set_status(c, unreachable ? "CONGESTION" : "CHANUNAVAIL",
			   unreachable ? Q850_NORMAL_CIRCUIT_CONGESTION : Q850_SUBSCRIBER_ABSENT);
		log_event(LOG_INFO, "dial_end", "uniqueid=%s dialstatus=%s",
			  c->uniqueid, c->dialstatus);
		return DP_CONTINUE;
	}
	if (d.timeout_ms)
		tmr_start(c->pbx->tmrq, &c->app_tmr, d.timeout_ms, dial_timeout, c);
	return DP_ASYNC;
}
