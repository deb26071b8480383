/*
 * dial.c - Dial(PJSIP/ext[&PJSIP/ext2][,timeout[,options]]): one B leg per
 * contact (static, then registered) of every AOR of each endpoint, all
 * ringing at once; the first 2xx wins and is bridged to the caller, the
 * others get CANCEL (or, when their 2xx crosses ours, ACK and BYE).
 * DIALSTATUS follows Asterisk: ANSWER, BUSY, NOANSWER, CHANUNAVAIL,
 * CONGESTION, CANCEL.
 *
 * Trunks, as chan_pjsip: PJSIP/NUMBER@ENDPOINT calls the endpoint's first
 * contact with NUMBER as the Request-URI's user, PJSIP/ENDPOINT/URI calls
 * URI with the endpoint's options.  A static contact's host is located by
 * RFC 3263 (sip/resolve), its targets tried in order on silence or 503;
 * a 401/407 is answered with outbound_auth; the caller ID is sent as
 * res_pjsip_caller_id does (print_identity()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "pbx/call_int.h"
#include "pbx/dns.h"
#include "pbx/reach.h"
#include "pbx/uacauth.h"
#include "sip/print.h"
#include "sip/sa.h"
#include "util/log.h"
#include "util/rand.h"

/* Looking up one AOR's contacts: the backend may answer after
 * dial_start() has returned, so this lives on the heap and the call is
 * kept until every lookup has answered (call.c's free_later). */
struct dial_lookup {
	struct call *c;
	const struct cfg_endpoint *ep;
	char user[80];                  /* NUMBER@ENDPOINT: the first contact,
					 * with NUMBER as its user; "" all */
};

static void set_status(struct call *c, const char *status, enum q850_cause cause)
{
	snprintf(c->dialstatus, sizeof(c->dialstatus), "%s", status);
	if (c->dp)
		dp_chan_var_set(c->dp, "DIALSTATUS", status);
	if (cause)
		c->cause = cause;
	xfer_dial_status(c, status);
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
	hold_music_a_off(c);
	c->phase = CALL_DIALPLAN;
	log_event(LOG_INFO, "dial_end", "uniqueid=%s dialstatus=%s", c->uniqueid,
		  c->dialstatus);
	/* A transfer's call dials with no dialplan (dial_leg_direct()): it
	 * ends. */
	call_resume(c, c->dp ? dp_chan_resume(c->dp, DP_CONTINUE) : DP_HANGUP);
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
	dialopts_callee_sdp(b, ans);
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
	dialopts_callee_sdp(b, ans);
	hold_music_a_off(c);
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
	dialopts_answered(c);
}

static bool leg_next_target(struct leg *b);
static int leg_media(struct leg *b);
static bool leg_auth(struct leg *b, const struct sip_msg *resp);

static void b_response(int err, const struct sip_msg *resp, void *arg)
{
	struct leg *b = arg;
	struct call *c = b->call;
	bool live = c->phase == CALL_DIALING && !b->cancelled;
	/* Still wanted: no CANCEL or BYE has been decided for it. */
	bool retry = live && b->state == LEG_CALLING && !b->cancel_pending;

	if (!resp) {
		b->inv_ctx = NULL;
		/* RFC 3263 §4.3: no answer, the next target. */
		if (retry && leg_next_target(b))
			return;
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
		if (live && resp->scode == 180)
			xfer_ringing(c);
		if (!live || c->answered)
			return;
		/* Dial(...,r) and (...,m): the caller is entertained by us,
		 * not by what the callee sends. */
		if (dialopts_entertained(c)) {
			if (resp->scode == 183)
				dialopts_progress(c, b);
			return;
		}
		if (resp->body.l && !c->early)
			early_media(c, b, resp);
		else if (resp->scode == 180 && !c->ringing && !c->early) {
			call_reply_a(c, 180, NULL, NULL, NULL);
			c->ringing = true;
		}
		if (resp->scode == 183)
			dialopts_progress(c, b);
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
	if (retry && (resp->scode == 401 || resp->scode == 407) && leg_auth(b, resp))
		return;
	if (retry && resp->scode == 503 && leg_next_target(b))
		return;
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
	hold_music_a_off(c);
	c->phase = CALL_DIALPLAN;
	log_event(LOG_INFO, "dial_end", "uniqueid=%s dialstatus=NOANSWER", c->uniqueid);
	/* A transfer's call dials with no dialplan (dial_leg_direct()): it
	 * ends. */
	call_resume(c, c->dp ? dp_chan_resume(c->dp, DP_CONTINUE) : DP_HANGUP);
}

/*
 * Dial(...,m[(class)]): music on hold to the caller in place of ringing
 * until a callee answers or Dial() gives up (c->dopt.music_class; "" is
 * the default class), as early media (183) like Asterisk's ast_moh_start()
 * on an unanswered channel.  A class that cannot play leaves the ringing
 * indication, the phone's own ringback, rather than silence.
 */
static void dial_music_start(struct call *c)
{
	char q[100];
	int err = hold_dial_music(c, c->dopt.music_class);

	log_event(LOG_INFO, "dial_music", "uniqueid=%s class=%s playing=%s", c->uniqueid,
		  log_q(q, sizeof(q), c->dopt.music_class, strlen(c->dopt.music_class)),
		  err ? "no" : "yes");
	if (!err)
		return;
	call_reply_a(c, 180, NULL, NULL, NULL);
	c->ringing = true;
}

/* Dial(...,r) or (...,m), once the callees are being called: the caller
 * is told at once, whatever the callees send (app_dial's OPT_RINGBACK
 * and OPT_MUSICBACK). */
static void dial_entertain(struct call *c)
{
	if (c->answered || c->ringing || c->early || !dialopts_entertained(c))
		return;
	if (c->dopt.music) {
		dial_music_start(c);
		return;
	}
	call_reply_a(c, 180, NULL, NULL, NULL);
	c->ringing = true;
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
	if (c->phase == CALL_DIALING && b->state == LEG_CALLING && !b->cancelled &&
	    !b->cancel_pending && leg_next_target(b))
		return;
	b->final = 480;
	b->state = LEG_ENDED;
	if (b->m.rtp)
		rtp_leg_stop(b->m.rtp);
	dial_check_done(c);
}

/*
 * Where the INVITE for contact ct goes (pbx/reach.h: its Path, its flow,
 * the replica holding the flow).  route: the Route header value to add
 * ("" for none).  *guarded: the leg must hear from the phone within
 * CALL_NORESP_MS (a flow of another replica, alive or not).
 */
static void leg_route(struct call *c, struct leg *b, const struct loc_contact *ct,
		      char *route, size_t size, bool *guarded)
{
	enum reach_how how = reach_contact(c->pbx, ct, route, size, &b->dst);

	*guarded = how == REACH_REPLICA || how == REACH_REPLICA_DEAD;
	if (how == REACH_REPLICA) {
		c->pbx->stats.cross_replica++;
		log_event(LOG_DEBUG, "dial_via_replica", "uniqueid=%s replica=%s",
			  c->uniqueid, ct->src.replica);
	} else if (how == REACH_REPLICA_DEAD) {
		log_event(LOG_INFO, "dial_replica_dead", "uniqueid=%s replica=%s contact=%s",
			  c->uniqueid, ct->src.replica, ct->uri);
	}
}

/* A B leg's INVITE, kept to send it again: with credentials after a 401
 * or 407 (RFC 3261 §22.2: same Call-ID and From tag, CSeq + 1), to the
 * next target after a timeout or a 503 (RFC 3263 §4.3). */
struct dial_uac {
	char ruri[320];                 /* Request-URI */
	char to_aor[80];                /* a phone's AOR: To sip:aor@us */
	char route[512];                /* Route value, "" for none */
	char callid[48], tag[24];
	uint32_t cseq;
	struct sbuf body;
	bool guarded;                   /* hear from the phone in time */
	char hdrs[640];                 /* more headers, CRLF-ended ("" none) */
	struct sip_rquery *rq;          /* locating the host */
	struct sip_targets *targets;
	size_t ti;                      /* the next target to try */
	struct uac_auth auth;
};

void dial_leg_release(struct leg *b)
{
	struct dial_uac *u = b->req;

	sip_resolve_cancel(u->rq);
	sip_targets_free(u->targets);
	sbuf_free(&u->body);
	free(u);
	b->req = NULL;
}

/* A display name as a quoted-string (RFC 3261 §25.1), "" for none. */
static void print_dname(struct sbuf *sb, const char *name)
{
	if (!*name)
		return;
	sbuf_append_str(sb, "\"");
	for (const char *p = name; *p; p++) {
		if (*p == '"' || *p == '\\')
			sbuf_append_str(sb, "\\");
		sbuf_append(sb, p, 1);
	}
	sbuf_append_str(sb, "\" ");
}

/*
 * Who the call is from, as res_pjsip_caller_id says it to the callee:
 * the channel's caller ID (the endpoint's callerid overrides it); From
 * carries it unless from_user is set; P-Asserted-Identity (send_pai) and
 * Remote-Party-ID (send_rpid) carry it too.  A restricted presentation
 * (CALLERID(pres)=prohib...) hides it from an untrusted callee (no
 * identity headers, an anonymous From, RFC 3323 §4.1.1.3); with
 * trust_id_outbound it is sent, marked private (Privacy: id, RPID
 * privacy=full).
 */
static void print_identity(const struct call *c, const struct cfg_endpoint *ep,
			   const char *host, const char *tag, struct sbuf *from,
			   struct sbuf *hdrs)
{
	const char *dom = ep && ep->from_domain ? ep->from_domain : host;
	bool restricted = !strncasecmp(c->caller_pres, "prohib", 6);
	bool trusted = ep && ep->trust_id_outbound;
	char name[80], num[80];

	if (!ep || !call_callerid_parse(ep->callerid, name, sizeof(name), num, sizeof(num))) {
		snprintf(name, sizeof(name), "%s", c->caller_name);
		snprintf(num, sizeof(num), "%s", c->caller_num);
	}
	if (ep && ep->from_user) {
		sbuf_printf(from, "<sip:%s@%s>", ep->from_user, dom);
	} else if (restricted && !trusted) {
		sbuf_append_str(from, "\"Anonymous\" <sip:anonymous@anonymous.invalid>");
	} else {
		print_dname(from, name);
		sbuf_printf(from, "<sip:%s@%s>", num[0] ? num : "anonymous", dom);
	}
	sbuf_printf(from, ";tag=%s", tag);
	if (!ep || !num[0] || (restricted && !trusted))
		return;
	if (ep->send_pai) {
		sbuf_append_str(hdrs, "P-Asserted-Identity: ");
		print_dname(hdrs, name);
		sbuf_printf(hdrs, "<sip:%s@%s>\r\n", num, dom);
		if (restricted)
			sbuf_append_str(hdrs, "Privacy: id\r\n");
	}
	if (ep->send_rpid) {
		sbuf_append_str(hdrs, "Remote-Party-ID: ");
		print_dname(hdrs, name);
		sbuf_printf(hdrs, "<sip:%s@%s>;party=calling;privacy=%s;screen=no\r\n", num, dom,
			    restricted ? "full" : "off");
	}
}

/*
 * Send the leg's INVITE (again) to b->dst, with credentials when given.
 * The dialog is made anew for each: its CSeq, its peer and our Contact
 * follow the last INVITE sent.
 */
static int leg_send(struct leg *b, const struct sbuf *auth)
{
	struct call *c = b->call;
	struct dial_uac *u = b->req;
	struct sbuf sb, from, ids;
	char branch[48], ip[64], contact[128], host[72], to[400];
	int err;

	sbuf_init(&sb);
	sbuf_init(&from);
	sbuf_init(&ids);
	err = b->offer ? 0 : leg_media(b);
	if (!err)
		err = sip_stack_local_addr(c->pbx->stack, &b->dst, ip, sizeof(ip), NULL);
	if (!err)
		err = call_contact(c, &b->dst, contact, sizeof(contact));
	if (err)
		goto out;
	snprintf(host, sizeof(host), b->dst.addr.ss_family == AF_INET6 ? "[%s]" : "%s", ip);
	if (u->to_aor[0])
		snprintf(to, sizeof(to), "<sip:%s@%s>", u->to_aor, host);
	else
		snprintf(to, sizeof(to), "<%s>", u->ruri);
	print_identity(c, b->ep, host, u->tag, &from, &ids);
	u->cseq++;
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));

	sbuf_printf(&sb, "INVITE %s SIP/2.0\r\n", u->ruri);
	err = sip_stack_print_via(c->pbx->stack, &sb, &b->dst, branch);
	if (err)
		goto out;
	sbuf_append_str(&sb, "Max-Forwards: 70\r\n");
	if (u->route[0])
		sbuf_printf(&sb, "Route: %s\r\n", u->route);
	sbuf_append_str(&sb, "From: ");
	sbuf_append(&sb, from.p, from.len);
	sbuf_printf(&sb, "\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %" PRIu32 " INVITE\r\n"
		    "Contact: <%s>\r\n"
		    "Allow: " PBX_ALLOW "\r\n"
		    "User-Agent: %s\r\n", to, u->callid, u->cseq, contact, sip_server_name);
	sbuf_append(&sb, ids.p, ids.len);
	sbuf_append_str(&sb, u->hdrs);
	if (auth)
		sbuf_append(&sb, auth->p, auth->len);
	sbuf_printf(&sb, "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n",
		    u->body.len);
	sbuf_append(&sb, u->body.p, u->body.len);
	sbuf_append(&from, "", 1);
	if (sbuf_err(&sb) || sbuf_err(&from)) {
		err = ENOMEM;
		goto out;
	}

	if (b->dlg) {
		call_table_remove(c->calls, b);
		sip_dialog_free(b->dlg);
		b->dlg = NULL;
	}
	err = sip_dialog_uac_alloc(&b->dlg, u->callid, u->tag, from.p, to, u->ruri, u->cseq,
				   &b->dst, contact);
	if (err)
		goto out;
	call_table_add(c->calls, b);
	/* The transaction keeps the request: CANCEL is built from it. */
	err = sip_ctx_send(c->pbx->stack, &b->inv_ctx, &b->dst, sb.p, sb.len, b_response, b);
	if (err) {
		b->inv_ctx = NULL;
		goto out;
	}
	b->responded = b->provisional = false;
	/* A phone through another replica, or a trunk's target with others
	 * after it: waiting for timer B (32 s) would keep the caller
	 * waiting for nothing. */
	tmr_cancel(c->pbx->tmrq, &b->noresp_tmr);
	if (u->guarded || (u->targets && u->ti < sip_targets_count(u->targets)))
		tmr_start(c->pbx->tmrq, &b->noresp_tmr, CALL_NORESP_MS, noresp_timeout, b);
	log_event(LOG_INFO, "dial_leg", "uniqueid=%s channel=%s contact=%s cseq=%" PRIu32
		  "%s", c->uniqueid, b->chan, u->ruri, u->cseq, auth ? " auth=yes" : "");
 out:
	sbuf_free(&sb);
	sbuf_free(&from);
	sbuf_free(&ids);
	return err;
}

/* The next target of the leg's resolution that we can send to, the
 * INVITE sent there: false when none is left. */
static bool leg_next_target(struct leg *b)
{
	struct dial_uac *u = b->req;
	const struct cfg_transport *tp = b->ep->transport;

	while (u->targets && u->ti < sip_targets_count(u->targets)) {
		const struct sip_target *t = sip_targets_at(u->targets, u->ti++);
		enum sip_proto proto;

		if (t->proto == SIP_RPROTO_TLS)
			continue;
		proto = t->proto == SIP_RPROTO_TCP ? SIP_PROTO_TCP : SIP_PROTO_UDP;
		if (tp && (tp->proto == CFG_PROTO_TCP) != (proto == SIP_PROTO_TCP))
			continue;
		memset(&b->dst, 0, sizeof(b->dst));
		b->dst.addr = t->addr;
		b->dst.proto = proto;
		/* The endpoint's transport: the INVITE leaves from its
		 * listening socket, which the provider latches on.  (A
		 * wildcard bind names no source: the stack's first listener of
		 * the protocol sends.) */
		if (tp && tp->bind.ss_family == t->addr.ss_family &&
		    !sip_sa_is_any((const struct sockaddr *)&tp->bind))
			b->dst.local = tp->bind;
		/* Another server: its challenges are its own. */
		memset(&u->auth, 0, sizeof(u->auth));
		if (!leg_send(b, NULL))
			return true;
	}
	return false;
}

static void leg_resolved(int err, struct sip_targets *t, void *arg)
{
	struct leg *b = arg;
	struct call *c = b->call;
	struct dial_uac *u = b->req;
	char eq[40];

	u->rq = NULL;
	u->targets = t;
	u->ti = 0;
	if (b->state != LEG_CALLING || c->phase != CALL_DIALING)
		return;
	if (err)
		log_event(LOG_WARN, "dial_dns_failed", "uniqueid=%s channel=%s contact=%s error=%s",
			  c->uniqueid, b->chan, u->ruri,
			  log_q(eq, sizeof(eq), strerror(err), strlen(strerror(err))));
	if (err || !leg_next_target(b)) {
		/* As pjsip: a server that cannot be reached is unavailable. */
		b->final = 503;
		b->state = LEG_ENDED;
		if (b->m.rtp)
			rtp_leg_stop(b->m.rtp);
		dial_check_done(c);
	}
}

/* A 401 or 407 to the leg's INVITE: the same INVITE again with
 * outbound_auth's credentials (the transaction ACKed the challenge). */
static bool leg_auth(struct leg *b, const struct sip_msg *resp)
{
	struct call *c = b->call;
	struct dial_uac *u = b->req;
	const struct cfg_auth *a = b->ep->outbound_auth;
	const char *why = NULL;
	struct sbuf sb;
	int err;

	err = uac_auth_take(&u->auth, a, resp, &why);
	sbuf_init(&sb);
	if (!err) {
		err = uac_auth_print(&u->auth, a, "INVITE", u->ruri, &sb);
		if (err)
			why = err == ENOENT ? "no_credentials_for_realm" : "cannot_answer";
	}
	if (!err)
		err = leg_send(b, &sb);
	sbuf_free(&sb);
	if (err)
		log_event(LOG_WARN, "dial_auth_failed", "uniqueid=%s channel=%s code=%u reason=%s",
			  c->uniqueid, b->chan, resp->scode, why ? why : "send");
	return !err;
}

/* Locate uri's host (RFC 3263) for leg b; the answer sends. */
static int leg_locate(struct leg *b, const char *uri)
{
	const struct cfg_transport *tp = b->ep->transport;
	struct sip_resolver *r;
	struct sip_uri su;
	struct sip_rdest d;
	struct pl pl, v;
	int err;

	pl_set_str(&pl, uri);
	if (sip_uri_decode(&su, &pl) || su.scheme != SIP_URI_SIP || !su.host.l)
		return EINVAL;
	memset(&d, 0, sizeof(d));
	d.host = su.host;
	d.port = su.port;
	if (sip_param_get(&su.params, "transport", &v)) {
		d.has_proto = true;
		if (pl_eqcase_str(&v, "tcp"))
			d.proto = SIP_RPROTO_TCP;
		else if (pl_eqcase_str(&v, "udp"))
			d.proto = SIP_RPROTO_UDP;
		else
			return EPROTONOSUPPORT;
	} else if (tp) {
		d.has_proto = true;
		d.proto = tp->proto == CFG_PROTO_TCP ? SIP_RPROTO_TCP : SIP_RPROTO_UDP;
	}
	err = pbx_dns_resolver(b->call->pbx->dns, b->call->pbx->cfg, &r);
	if (err)
		return err;
	return sip_resolve(r, &d, leg_resolved, b, &b->req->rq);
}

/* A new B leg of endpoint ep, nothing sent yet; NULL when it cannot be
 * (ENOSPC, ENOMEM in *errp). */
static struct leg *leg_new(struct call *c, const struct cfg_endpoint *ep, int *errp)
{
	struct leg *b;

	*errp = ENOSPC;
	if (c->b_n == CALL_MAX_FORKS)
		return NULL;
	*errp = ENOMEM;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->req = calloc(1, sizeof(*b->req));
	b->call = c;
	b->uac = true;
	b->ep = ep;
	tmr_init(&b->noresp_tmr);
	tmr_init(&b->late_tmr);
	snprintf(b->chan, sizeof(b->chan), "PJSIP/%s-%08" PRIx64, ep->name,
		 call_chan_seq(c));
	if (!b->req) {
		call_leg_free(b);
		return NULL;
	}
	sbuf_init(&b->req->body);
	/* 128 random bits: unique across restarts and replicas (RFC 3261
	 * §8.1.1.4), and no help to anyone forging in-dialog requests. */
	rand_hex(b->req->callid, 33);
	strncat(b->req->callid, "@kubevox",
		sizeof(b->req->callid) - strlen(b->req->callid) - 1);
	rand_hex(b->req->tag, 17);
	*errp = 0;
	return b;
}

/* The leg's relay and offer, once where it goes is known (the relay's
 * address in the SDP is the one toward b->dst). */
static int leg_media(struct leg *b)
{
	struct call *c = b->call;
	const struct sdp_session *basis;
	int err;

	err = call_leg_media_init(b);
	if (err)
		return err;
	b->offer = malloc(sizeof(*b->offer));
	if (!b->offer)
		return ENOMEM;
	/* A caller that made no offer and was answered already (Answer()
	 * before Dial()) was offered one codec: the relay does not
	 * transcode, so the callee is offered that one. */
	basis = c->answered && c->a.m.sent && c->a.m.sent_offer ? c->a.m.sent : c->a.offer;
	err = legmedia_offer(&b->m, basis, b->offer);
	if (!err)
		err = sdp_encode(&b->req->body, b->offer);
	return err;
}

static void leg_add(struct call *c, struct leg *b)
{
	c->b[c->b_n++] = b;
	/* The CDR names the first callee rung until one answers. */
	if (!c->dstchannel[0])
		snprintf(c->dstchannel, sizeof(c->dstchannel), "%s", b->chan);
}

/* Dial(PJSIP/NUMBER@ENDPOINT): the contact's URI with NUMBER as its
 * user, as chan_pjsip builds it.  EINVAL for a URI or a user we cannot
 * print. */
static int ruri_with_user(char *out, size_t size, const char *uri, const char *user)
{
	const char *colon = strchr(uri, ':'), *rest, *at, *end;

	if (!colon || !*user || strpbrk(user, "@:;<>\" \t\r\n?,"))
		return EINVAL;
	rest = colon + 1;
	end = rest + strcspn(rest, ";?");
	at = memchr(rest, '@', (size_t)(end - rest));
	if (at)
		rest = at + 1;
	if (snprintf(out, size, "%.*s%s@%s", (int)(colon + 1 - uri), uri, user, rest) >=
	    (int)size)
		return ENAMETOOLONG;
	return 0;
}

/*
 * One B leg toward registered contact ct of endpoint ep.
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
		     const struct loc_contact *ct, const char *user)
{
	struct leg *b;
	int err;

	b = leg_new(c, ep, &err);
	if (!b)
		return err;
	leg_route(c, b, ct, b->req->route, sizeof(b->req->route), &b->req->guarded);
	if (user)
		err = ruri_with_user(b->req->ruri, sizeof(b->req->ruri), ct->uri, user);
	else if (snprintf(b->req->ruri, sizeof(b->req->ruri), "%s", ct->uri) >=
		 (int)sizeof(b->req->ruri))
		err = ENAMETOOLONG;
	snprintf(b->req->to_aor, sizeof(b->req->to_aor), "%s", ct->aor);
	if (!err)
		err = leg_send(b, NULL);
	if (err) {
		call_leg_free(b);
		return err;
	}
	leg_add(c, b);
	return 0;
}

/*
 * One B leg toward a URI of endpoint ep (an aor's static contact, or
 * Dial(PJSIP/ENDPOINT/URI)): its host is located first (RFC 3263), or
 * the outbound_proxy's, which the INVITE then goes through (a Route,
 * loose routing: RFC 3261 §8.1.2).
 */
static int leg_start_uri(struct call *c, const struct cfg_endpoint *ep, const char *uri,
			 const char *user)
{
	struct leg *b;
	int err = 0;

	/* The URI goes on the request line as it is: Dial()'s argument may
	 * hold what a caller dialled. */
	for (const char *p = uri; *p; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || strchr("<>\"", *p))
			return EINVAL;
	}
	b = leg_new(c, ep, &err);
	if (!b)
		return err;
	if (user)
		err = ruri_with_user(b->req->ruri, sizeof(b->req->ruri), uri, user);
	else if (snprintf(b->req->ruri, sizeof(b->req->ruri), "%s", uri) >=
		 (int)sizeof(b->req->ruri))
		err = ENAMETOOLONG;
	if (!err && ep->outbound_proxy) {
		/* pjsip would strict-route through a proxy without lr; every
		 * proxy a provider runs today is a loose router. */
		bool lr = strstr(ep->outbound_proxy, ";lr") != NULL;

		if (snprintf(b->req->route, sizeof(b->req->route), "<%s%s>", ep->outbound_proxy,
			     lr ? "" : ";lr") >= (int)sizeof(b->req->route))
			err = ENAMETOOLONG;
	}
	if (!err)
		err = leg_locate(b, ep->outbound_proxy ? ep->outbound_proxy : b->req->ruri);
	if (err) {
		call_leg_free(b);
		return err;
	}
	leg_add(c, b);
	log_event(LOG_DEBUG, "dial_locate", "uniqueid=%s channel=%s contact=%s",
		  c->uniqueid, b->chan, b->req->ruri);
	return 0;
}

/* A URI leg that could not start. */
static void uri_failed(struct call *c, const struct cfg_endpoint *ep, const char *uri, int err)
{
	char q[200];

	log_event(LOG_WARN, "dial_bad_contact", "uniqueid=%s endpoint=%s contact=%s error=%d",
		  c->uniqueid, ep->name, log_q(q, sizeof(q), uri, strlen(uri)), err);
	c->dial_unreachable++;
}

static void contacts_found(enum loc_result res, const struct loc_contact *ct,
			   size_t n, void *arg)
{
	struct dial_lookup *dl = arg;
	struct call *c = dl->c;

	c->lookups--;
	/* Dial() may be over already (its timeout, CANCEL, a BYE). */
	if (res == LOC_OK && c->phase == CALL_DIALING && !c->peer) {
		for (size_t i = 0; i < n && (!dl->user[0] || !i); i++) {
			int err = leg_start(c, dl->ep, &ct[i], dl->user[0] ? dl->user : NULL);

			if (err)
				uri_failed(c, dl->ep, ct[i].uri, err);
		}
	} else if (res != LOC_OK && c->phase == CALL_DIALING) {
		log_event(LOG_WARN, "dial_lookup_failed", "uniqueid=%s endpoint=%s",
			  c->uniqueid, dl->ep->name);
		c->dial_unreachable++;
	}
	free(dl);
	dial_check_done(c);
}

/*
 * Every contact of every AOR of ep: the static ones (contact=) at once,
 * the registered ones as the backend answers.  With a user
 * (PJSIP/NUMBER@ENDPOINT) only the first contact is called, as
 * chan_pjsip does: a static one when there is one.
 */
static void lookup_endpoint(struct call *c, const struct cfg_endpoint *ep, const char *user)
{
	bool statics = false;

	for (size_t k = 0; k < ep->aors_n; k++) {
		const struct cfg_aor *aor = ep->aors[k];

		for (size_t j = 0; j < aor->contact_n && !(user && statics); j++) {
			int err = leg_start_uri(c, ep, aor->contact[j], user);

			statics = true;
			if (err)
				uri_failed(c, ep, aor->contact[j], err);
		}
	}
	if (user && statics)
		return;
	for (size_t k = 0; k < ep->aors_n; k++) {
		struct pl aor = pl_from_str(ep->aors[k]->name);
		struct dial_lookup *dl = malloc(sizeof(*dl));

		if (!dl) {
			c->dial_unreachable++;
			continue;
		}
		dl->c = c;
		dl->ep = ep;
		snprintf(dl->user, sizeof(dl->user), "%s", user ? user : "");
		c->lookups++;
		if (state_lookup(c->pbx->state, &aor, contacts_found, dl)) {
			/* refused at once: no callback will come */
			c->lookups--;
			c->dial_unreachable++;
			free(dl);
		}
		/* NUMBER@ENDPOINT: the first AOR's contacts. */
		if (user)
			break;
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
	dialopts_set(c, &d.opt);
	/* Legs start as lookups answer, some maybe within this loop. */
	c->phase = CALL_DIALING;
	c->dial_starting = true;
	c->dial_unreachable = 0;
	for (size_t i = 0; !err && i < d.targets.n; i++) {
		const struct dp_dial_target *t = &d.targets.v[i];
		const struct cfg_endpoint *ep;
		char *name, *uri, *user, *at;
		size_t len;

		/* app_dial skips an empty destination and one it dialled. */
		if (!*t->text || t->again)
			continue;
		if (!dp_dial_tech_ok(t->tech)) {
			log_event(LOG_WARN, "dial_bad_target", "uniqueid=%s tech=%s resource=%s",
				  c->uniqueid, log_q(q, sizeof(q), t->tech, strlen(t->tech)),
				  log_q(qr, sizeof(qr), t->resource, strlen(t->resource)));
			continue;
		}
		/* chan_pjsip's forms: ENDPOINT/URI, NUMBER@ENDPOINT, ENDPOINT. */
		name = t->resource;
		uri = strchr(name, '/');
		user = NULL;
		if (uri) {
			len = (size_t)(uri++ - name);
		} else if ((at = strchr(name, '@'))) {
			user = name;
			*at = '\0';
			name = at + 1;
			len = strlen(name);
		} else {
			len = strlen(name);
		}
		ep = config_endpoint(c->cfg, name, len);
		if (!ep) {
			log_event(LOG_WARN, "dial_no_endpoint", "uniqueid=%s endpoint=%s",
				  c->uniqueid, log_q(qr, sizeof(qr), name, len));
			continue;
		}
		if (uri) {
			err = leg_start_uri(c, ep, uri, NULL);
			if (err) {
				uri_failed(c, ep, uri, err);
				err = 0;
			}
		} else {
			lookup_endpoint(c, ep, user);
		}
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
	/* A callee may have answered already (its lookup answered at once). */
	if (c->phase == CALL_DIALING)
		dial_entertain(c);
	return DP_ASYNC;
}

int dial_leg_direct(struct call *c, const struct cfg_endpoint *ep, const char *name,
		    const char *ruri, const struct sip_peer *dst, dial_hdrs_h *hdrs, void *arg)
{
	struct leg *b;
	int err;

	b = leg_new(c, ep, &err);
	if (!b)
		return err;
	snprintf(b->chan, sizeof(b->chan), "PJSIP/%s-%08" PRIx64, name, call_chan_seq(c));
	b->dst = *dst;
	/* Another replica: silence means it is gone, not to wait for timer B. */
	b->req->guarded = true;
	if (snprintf(b->req->ruri, sizeof(b->req->ruri), "%s", ruri) >= (int)sizeof(b->req->ruri))
		err = ENAMETOOLONG;
	if (!err)
		err = hdrs(b->req->callid, b->req->hdrs, sizeof(b->req->hdrs), arg);
	if (!err)
		err = leg_send(b, NULL);
	if (err) {
		call_leg_free(b);
		return err;
	}
	leg_add(c, b);
	return 0;
}

void dial_direct_done(struct call *c)
{
	c->dial_starting = false;
	dial_check_done(c);
}
