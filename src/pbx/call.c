/*
 * call.c - calls from INVITE to CDR: the call table, the caller's leg (A,
 * KubeVox as UAS), requests within a call's dialogs, CANCEL and ACK, and
 * the end of a call on every leg.
 *
 * A call ends once (call_end): each leg gets what its state needs (BYE
 * once up, a final response to the caller before answer, CANCEL to a
 * ringing callee), the 'h' extension runs, the CDR is written, and the
 * memory goes on a later loop turn, after the callees' INVITE
 * transactions have finished, so a late 200 can still be ACKed and hung
 * up.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "pbx/authn.h"
#include "pbx/call_int.h"
#include "pbx/cdr.h"
#include "pbx/prompthold.h"
#include "pbx/voicemail.h"
#include "pbx/xferx.h"
#include "sip/print.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/rand.h"

#define CALLS_BUCKETS   256      /* first size; the table doubles */
#define CALL_FREE_RETRY 1000     /* ms between checks for finished B legs */
#define CALL_FREE_MAX   40       /* ... and how many, then abandon them */

struct calls {
	struct pbx *pbx;
	struct list_node list;          /* of struct call, newest first */
	unsigned n;
	uint64_t seq;
	bool draining;
	struct call_stats stats;
	struct htab tab;
	struct hash_key key;            /* Call-IDs and tags are the peers' */
};

static const char call_allow[] = "Allow: " PBX_ALLOW "\r\n";

/* ---- the dialog table: (Call-ID, our tag) -> leg ---- */

static uint64_t key_hash(const struct calls *cs, const char *callid, size_t cl,
			 const char *tag, size_t tl)
{
	struct hash_sip_state st;

	hash_sip_init(&st, &cs->key);
	hash_sip_part(&st, callid, cl, false);
	hash_sip_part(&st, tag, tl, false);
	return hash_sip_final(&st);
}

void call_table_add(struct calls *cs, struct leg *l)
{
	uint64_t h = key_hash(cs, l->dlg->callid, strlen(l->dlg->callid),
			      l->dlg->ltag, strlen(l->dlg->ltag));

	if (l->in_table)
		return;
	htab_insert(&cs->tab, &l->hn, h);
	l->in_table = true;
}

void call_table_remove(struct calls *cs, struct leg *l)
{
	if (!l->in_table)
		return;
	htab_remove(&cs->tab, &l->hn);
	l->in_table = false;
}

struct leg *call_leg_find(struct calls *cs, const char *callid, size_t cl,
			  const char *ltag, size_t tl)
{
	uint64_t h = key_hash(cs, callid, cl, ltag, tl);
	struct pl cid = { callid, cl }, tag = { ltag, tl };
	struct hnode *n;

	for (n = htab_bucket(&cs->tab, h); n; n = n->next) {
		struct leg *l = htab_entry(n, struct leg, hn);

		if (n->hash == h && pl_eq_str(&cid, l->dlg->callid) &&
		    pl_eq_str(&tag, l->dlg->ltag))
			return l;
	}
	return NULL;
}

static struct leg *table_find(struct calls *cs, const struct sip_msg *m)
{
	return call_leg_find(cs, m->callid.p, m->callid.l, m->to.tag.p, m->to.tag.l);
}

/* ---- helpers ---- */

/* Channel numbers are unique in the process, as Asterisk's. */
uint64_t call_chan_seq(struct call *c)
{
	return ++c->calls->seq;
}

uint16_t call_cause_to_sip(enum q850_cause cause)
{
	/* As chan_pjsip's hangup_cause2sip(). */
	switch (cause) {
	case Q850_UNALLOCATED:
	case Q850_NO_ROUTE_TRANSIT_NET:
	case Q850_NO_ROUTE_DESTINATION:      return 404;
	case Q850_USER_BUSY:                 return 486;
	case Q850_NO_USER_RESPONSE:          return 408;
	case Q850_NO_ANSWER:
	case Q850_SUBSCRIBER_ABSENT:         return 480;
	case Q850_CALL_REJECTED:             return 403;
	case Q850_NUMBER_CHANGED:            return 410;
	case Q850_DESTINATION_OUT_OF_ORDER:  return 502;
	case Q850_INVALID_NUMBER_FORMAT:     return 484;
	case Q850_FACILITY_REJECTED:         return 501;
	case Q850_NORMAL_UNSPECIFIED:        return 480;
	case Q850_NORMAL_CIRCUIT_CONGESTION:
	case Q850_SWITCH_CONGESTION:
	case Q850_CHAN_NOT_IMPLEMENTED:      return 503;
	case Q850_NETWORK_OUT_OF_ORDER:      return 500;
	case Q850_BEARERCAPABILITY_NOTAVAIL: return 488;
	case Q850_INTERWORKING:              return 500;
	default:                             return 603;
	}
}

/* Relay events of a leg, on the loop (legmedia.h). */
static void leg_media_event(struct rtp_leg *rl, const struct rtp_event *ev, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;

	switch (ev->type) {
	case RTP_EV_PLAY_DONE:
		if (!dialopts_play_done(c, l))
			apps_play_done(c);
		break;
	case RTP_EV_DTMF:
		apps_dtmf(c, l, ev->digit);
		break;
	case RTP_EV_RECORD_DONE:
		vm_record_done(c);
		break;
	case RTP_EV_TIMEOUT:
		log_event(LOG_WARN, "rtp_timeout", "uniqueid=%s channel=%s",
			  c->uniqueid, l->chan);
		call_end(c, Q850_NORMAL_CLEARING);
		break;
	}
}

int call_leg_media_init(struct leg *l)
{
	struct call *c = l->call;
	struct legmedia_params p = {
		.engine = c->pbx->rtp,
		.near = l->uac ? &c->a.m : NULL,
		.cfg = c->cfg,
		.stack = c->pbx->stack,
		.dst = &l->dst,
		.ep = l->ep,
		.evh = leg_media_event,
		.arg = l,
	};

	return legmedia_init(&l->m, &p);
}

int call_contact(struct call *c, const struct sip_peer *dst, char *buf, size_t size)
{
	char ip[64];
	uint16_t port;
	int err;

	err = sip_stack_local_addr(c->pbx->stack, dst, ip, sizeof(ip), &port);
	if (err)
		return err;
	snprintf(buf, size, dst->addr.ss_family == AF_INET6 ?
		 "sip:kubevox@[%s]:%u%s" : "sip:kubevox@%s:%u%s", ip, port,
		 dst->proto == SIP_PROTO_TCP ? ";transport=tcp" : "");
	return 0;
}

static void no_response(int err, const struct sip_msg *resp, void *arg)
{
}

int call_send_in_dialog(struct call *c, struct leg *l, const char *method,
			const char *extra, const struct sdp_session *sdp,
			sip_response_h *resph, void *arg, struct sip_ctx **ctxp)
{
	struct sbuf sb, body;
	struct sip_peer dst;
	char branch[48];
	struct pl b = PL_INIT;
	int err;

	if (!l->dlg)
		return ENOTCONN;
	sbuf_init(&sb);
	sbuf_init(&body);
	if (sdp) {
		err = sdp_encode(&body, sdp);
		if (err)
			goto out;
		b.p = body.p;
		b.l = body.len;
	}
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
	err = sip_dialog_request(l->dlg, c->pbx->stack, method, 0, branch, extra,
				 sdp ? "application/sdp" : NULL, &b, &sb, &dst);
	if (err)
		goto out;
	err = sip_ctx_send(c->pbx->stack, ctxp, &dst, sb.p, sb.len,
			   resph ? resph : no_response, arg);
 out:
	sbuf_free(&sb);
	sbuf_free(&body);
	return err;
}

/* ---- RFC 4028 session timers, when the caller asks for them ---- */

static void session_expired(void *arg)
{
	struct call *c = arg;

	log_event(LOG_WARN, "call_session_expired", "uniqueid=%s channel=%s se=%u",
		  c->uniqueid, c->a.chan, c->se);
	call_end(c, Q850_NORMAL_CLEARING);
}

/* The caller refreshed the session (re-INVITE, UPDATE) or it starts: the
 * UAS ends it if no refresh comes before it expires (§10). */
static void session_refreshed(struct call *c)
{
	uint64_t ms;

	if (!c->se)
		return;
	ms = (uint64_t)c->se * 1000;
	ms -= (c->se / 3 < 32 ? c->se / 3 : 32) * 1000;
	tmr_start(c->pbx->tmrq, &c->se_tmr, ms, session_expired, c);
}

/* Session-Expires of a request; 0 when absent or unparsable. */
static uint32_t session_expires(const struct sip_msg *req)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_SESSION_EXPIRES);
	struct pl v;
	const char *semi;
	uint32_t n;

	if (!h)
		return 0;
	v = h->val;
	semi = pl_chr(&v, ';');
	if (semi)
		v.l = (size_t)(semi - v.p);
	pl_trim(&v);
	return sip_delta_seconds(&v, &n) ? 0 : n;
}

/* Agree on session timers for the caller's INVITE; false when answered
 * with 422 (interval below our Min-SE). */
static bool session_negotiate(struct call *c, const struct sip_msg *req)
{
	const struct cfg_endpoint *ep = c->a.ep;
	uint32_t se = session_expires(req);
	char extra[48];

	if (!ep || ep->timers == CFG_TIMERS_NO || !se)
		return true;
	if (se < ep->timers_min_se) {
		snprintf(extra, sizeof(extra), "Min-SE: %u\r\n", ep->timers_min_se);
		call_reply_a(c, 422, NULL, extra, NULL);
		return false;
	}
	c->se = se;
	return true;
}

/* ---- late offer: our offer in a 2xx, the phone's answer in the ACK ---- */

/* Keep the offer sdp sent in the 2xx to INVITE cseq on leg l. */
static int late_offer_keep(struct call *c, struct leg *l,
			   const struct sdp_session *sdp, uint32_t cseq)
{
	if (!l->late_offer) {
		l->late_offer = malloc(sizeof(*l->late_offer));
		if (!l->late_offer)
			return ENOMEM;
	}
	*l->late_offer = *sdp;
	l->late_cseq = cseq;
	log_event(LOG_INFO, "call_late_offer", "uniqueid=%s channel=%s cseq=%u",
		  c->uniqueid, l->chan, cseq);
	return 0;
}

/*
 * The ACK of a 2xx that carried our offer brings the answer.  RFC 3261
 * §13.3.1.4 leaves a UAS that gets none, or one it cannot accept, only a
 * BYE: the call ends, and the log says why.
 */
static void late_answer(struct call *c, struct leg *l, const struct sip_msg *ack)
{
	const struct sip_hdr *ct = sip_msg_hdr(ack, SIP_HDR_CONTENT_TYPE);
	struct sdp_session *ans = NULL, *chk = NULL;
	const char *why = NULL;
	char q[80];

	if (!ack->body.l || !ct || !pl_eqcase_str(&ct->val, "application/sdp")) {
		why = "ACK without SDP answer";
		goto out;
	}
	ans = malloc(sizeof(*ans));
	chk = malloc(sizeof(*chk));
	if (!ans || !chk)
		why = "out of memory";
	else if (sdp_decode(ans, ack->body.p, ack->body.l, NULL))
		why = "invalid SDP in ACK";
	else if (sdp_answer_filter(l->late_offer, ans, chk))
		why = "answer does not fit the offer";
	else if (sdp_audio_index(ans) < 0)
		why = "answer rejects the audio stream";
	else if (legmedia_remote(&l->m, ans))
		why = "no media address in the answer";
 out:
	tmr_cancel(c->pbx->tmrq, &l->late_tmr);
	free(l->late_offer);
	l->late_offer = NULL;
	l->m.late = false;
	if (why) {
		log_event(LOG_WARN, "call_late_answer_bad", "uniqueid=%s channel=%s reason=%s",
			  c->uniqueid, l->chan, log_q(q, sizeof(q), why, strlen(why)));
		free(ans);
		free(chk);
		call_end(c, Q850_BEARERCAPABILITY_NOTAVAIL);
		return;
	}
	/* The phone's SDP is what says whether it holds (call_media_timeouts). */
	free(l->offer);
	l->offer = ans;
	free(chk);
	call_media_timeouts(c);
	log_event(LOG_INFO, "call_late_answer", "uniqueid=%s channel=%s hold=%s",
		  c->uniqueid, l->chan,
		  sdp_is_hold(ans, (unsigned)sdp_audio_index(ans)) ? "yes" : "no");
	if (l == &c->a && c->play_on_ack)
		apps_play_start(c);
}

void call_reply_a(struct call *c, uint16_t scode, const char *reason,
		  const char *extra, const struct sdp_session *sdp)
{
	struct leg *a = &c->a;
	struct sbuf hdrs, body;
	struct pl b = PL_INIT;
	char contact[128];
	int late_failed = 0;

	if (!a->inv_stx)
		return;
	sbuf_init(&hdrs);
	sbuf_init(&body);
	if (extra)
		sbuf_append_str(&hdrs, extra);
	if (scode > 100 && scode < 300 &&
	    !call_contact(c, &a->dst, contact, sizeof(contact)))
		sbuf_printf(&hdrs, "Contact: <%s>\r\n", contact);
	if (scode >= 200 && scode < 300) {
		sbuf_printf(&hdrs, "%sSupported: replaces, timer\r\n", call_allow);
		if (c->se)
			sbuf_printf(&hdrs, "Session-Expires: %u;refresher=uac\r\n"
				    "Require: timer\r\n", c->se);
	}
	if (sdp && !sdp_encode(&body, sdp)) {
		b.p = body.p;
		b.l = body.len;
	}
	/* Our offer to a caller that made none: its answer is in the ACK. */
	if (a->m.late && b.l && scode >= 200 && scode < 300)
		late_failed = late_offer_keep(c, a, sdp,
					      sip_stx_request(a->inv_stx)->cseq.num);
	sip_stx_reply(a->inv_stx, scode, reason, a->dlg ? a->dlg->ltag : NULL,
		      sbuf_cstr(&hdrs), b.l ? "application/sdp" : NULL, b.l ? &b : NULL);
	sbuf_free(&hdrs);
	sbuf_free(&body);

	if (scode < 200)
		return;
	/* The stack owns the transaction from here (retransmissions, ACK). */
	sip_stx_set_arg(a->inv_stx, NULL);
	a->inv_stx = NULL;
	if (scode < 300) {
		a->state = LEG_UP;
		c->answered = true;
		call_answered(c);
	}
	if (late_failed)
		call_end(c, Q850_NETWORK_OUT_OF_ORDER);
}

static void ack_timeout(void *arg)
{
	struct call *c = arg;

	log_event(LOG_WARN, "call_no_ack", "uniqueid=%s channel=%s", c->uniqueid,
		  c->a.chan);
	call_end(c, Q850_NORMAL_CLEARING);
}

/* Asterisk's rtp_timeout / rtp_timeout_hold, once media should flow. */
void call_media_timeouts(struct call *c)
{
	struct leg *legs[2] = {&c->a, c->peer};

	if (!c->answered)
		return;
	for (int i = 0; i < 2; i++) {
		struct leg *l = legs[i];
		int idx;
		bool held;

		if (!l || !l->m.rtp || !l->ep || !l->offer)
			continue;
		idx = sdp_audio_index(l->offer);
		held = idx >= 0 && sdp_is_hold(l->offer, (unsigned)idx);
		rtp_leg_set_timeout(l->m.rtp, held ? l->ep->rtp_timeout_hold :
				    l->ep->rtp_timeout);
	}
}

void call_answered(struct call *c)
{
	gettimeofday(&c->t_answer, NULL);
	tmr_start(c->pbx->tmrq, &c->ack_tmr, CALL_ACK_WAIT_MS, ack_timeout, c);
	session_refreshed(c);
	call_media_timeouts(c);
	log_event(LOG_INFO, "call_answer", "uniqueid=%s channel=%s dstchannel=%s",
		  c->uniqueid, c->a.chan, c->dstchannel[0] ? c->dstchannel : "-");
}

/* ---- ending ---- */

void call_leg_hangup(struct leg *l)
{
	struct call *c = l->call;

	switch (l->state) {
	case LEG_UP:
		call_send_in_dialog(c, l, "BYE", NULL, NULL, NULL, NULL, NULL);
		break;
	case LEG_CALLING:
	case LEG_EARLY:
		if (l->uac)
			dial_leg_bye(l);
		break;
	case LEG_ENDED:
		break;
	}
	l->state = LEG_ENDED;
	if (l->m.rtp)
		rtp_leg_stop(l->m.rtp);
}

/* Everything a leg holds, but not the leg itself. */
static void leg_release(struct leg *l)
{
	struct call *c = l->call;

	tmr_cancel(c->pbx->tmrq, &l->noresp_tmr);
	tmr_cancel(c->pbx->tmrq, &l->late_tmr);
	if (l->req)
		dial_leg_release(l);
	if (l->dlg)
		call_table_remove(c->calls, l);
	hold_leg_release(l);
	legmedia_free(&l->m);
	if (l->inv_ctx)
		sip_ctx_abandon(l->inv_ctx);
	if (l->reinv_ctx)
		sip_ctx_abandon(l->reinv_ctx);
	if (l->reinv_stx) {
		sip_stx_reply(l->reinv_stx, 500, NULL, NULL, NULL, NULL, NULL);
		l->reinv_stx = NULL;
	}
	sip_dialog_free(l->dlg);
	l->dlg = NULL;
	free(l->offer);
	free(l->reinv_offer);
	free(l->late_offer);
	l->offer = l->reinv_offer = l->late_offer = NULL;
}

void call_leg_free(struct leg *l)
{
	leg_release(l);
	if (l->uac)
		free(l);
}

static enum cdr_disposition disposition(const struct call *c)
{
	if (c->answered)
		return CDR_ANSWERED;
	if (!strcmp(c->dialstatus, "BUSY") || c->cause == Q850_USER_BUSY)
		return CDR_BUSY;
	if (!strcmp(c->dialstatus, "NOANSWER") || !strcmp(c->dialstatus, "CANCEL"))
		return CDR_NOANSWER;
	if (!strcmp(c->dialstatus, "CONGESTION") ||
	    c->cause == Q850_NORMAL_CIRCUIT_CONGESTION)
		return c->cfg->cdr.congestion ? CDR_CONGESTION : CDR_FAILED;
	return CDR_FAILED;
}

static void write_cdr(struct call *c)
{
	char clid[200];
	struct cdr r;

	memset(&r, 0, sizeof(r));
	snprintf(clid, sizeof(clid), "\"%s\" <%s>", c->caller_name, c->caller_num);
	r.accountcode = "";
	r.src = c->caller_num;
	r.dst = c->dialed;
	r.dcontext = c->context;
	r.clid = clid;
	r.channel = c->a.chan;
	r.dstchannel = c->dstchannel;
	r.lastapp = c->lastapp;
	r.lastdata = c->lastdata ? c->lastdata : "";
	r.start = c->t_start;
	r.answer = c->t_answer;
	r.end = c->t_end;
	r.disposition = disposition(c);
	r.amaflags = CDR_AMA_DOCUMENTATION;
	r.uniqueid = c->uniqueid;
	r.userfield = "";
	r.peeraccount = "";
	r.linkedid = c->linkedid[0] ? c->linkedid : c->uniqueid;
	cdr_set_durations(&r, &c->cfg->cdr);
	switch (r.disposition) {
	case CDR_ANSWERED:   c->calls->stats.answered++; break;
	case CDR_BUSY:       c->calls->stats.busy++; break;
	case CDR_NOANSWER:   c->calls->stats.noanswer++; break;
	case CDR_CONGESTION: c->calls->stats.congestion++; break;
	default:             c->calls->stats.failed++; break;
	}
	/* One record per call, answered or not: cdr.conf's "unanswered" is
	 * about the extra records Asterisk makes for each callee rung, which
	 * KubeVox does not write. */
	cdr_write(&c->cfg->cdr, c->cfg->astlogdir, &r);
	cdr_log(&r);
	const char *disp = cdr_disposition_str(r.disposition);
	char dq[32];

	log_event(LOG_INFO, "call_end",
		  "uniqueid=%s channel=%s disposition=%s dialstatus=%s cause=%d "
		  "duration=%ld billsec=%ld", c->uniqueid, c->a.chan,
		  log_q(dq, sizeof(dq), disp, strlen(disp)),
		  c->dialstatus[0] ? c->dialstatus : "-", (int)c->cause, r.duration,
		  r.billsec);
}

static bool b_legs_pending(const struct call *c)
{
	for (size_t i = 0; i < c->b_n; i++) {
		if (c->b[i]->inv_ctx)
			return true;
	}
	return false;
}

static void call_free(struct call *c)
{
	struct calls *cs = c->calls;

	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	tmr_cancel(c->pbx->tmrq, &c->ack_tmr);
	tmr_cancel(c->pbx->tmrq, &c->free_tmr);
	tmr_cancel(c->pbx->tmrq, &c->se_tmr);
	dialopts_stop(c);
	for (size_t i = 0; i < c->b_n; i++)
		call_leg_free(c->b[i]);
	c->b_n = 0;
	leg_release(&c->a);
	if (c->a.inv_stx)
		sip_stx_set_arg(c->a.inv_stx, NULL);
	if (c->prompt)
		prompt_holds_release(c->pbx->holds, c->prompt);
	dp_chan_free(c->dp);
	free(c->invite);
	apps_free(c);
	free(c->play_list);
	free(c->lastdata);
	free(c->pending_sdp);
	list_unlink(&c->le);
	cs->n--;
	config_unref(c->cfg);
	for (size_t i = 0; i < 2; i++) {
		if (c->cfg_held[i])
			config_unref(c->cfg_held[i]);
	}
	free(c);
}

static void free_later(void *arg)
{
	struct call *c = arg;

	/* A callee's INVITE transaction still running may yet bring a 200
	 * that must be ACKed and hung up: keep the leg until it ends. */
	/* A contact lookup still out holds the call: the backend answers
	 * every one (within its command deadline, or when it is freed). */
	if (c->lookups) {
		tmr_start(c->pbx->tmrq, &c->free_tmr, CALL_FREE_RETRY, free_later, c);
		return;
	}
	if (b_legs_pending(c) && c->free_tries++ < CALL_FREE_MAX) {
		tmr_start(c->pbx->tmrq, &c->free_tmr, CALL_FREE_RETRY, free_later, c);
		return;
	}
	call_free(c);
}

void call_end(struct call *c, enum q850_cause cause)
{
	if (c->phase == CALL_OVER)
		return;
	c->phase = CALL_OVER;
	if (!c->cause)
		c->cause = cause ? cause : Q850_NORMAL_CLEARING;
	xfer_call_end(c);
	/* A transfer ended the call's record already (transfer.c). */
	if (!c->t_end.tv_sec)
		gettimeofday(&c->t_end, NULL);
	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	tmr_cancel(c->pbx->tmrq, &c->ack_tmr);
	tmr_cancel(c->pbx->tmrq, &c->se_tmr);

	/* Before answer the caller gets a final response, after it a BYE. */
	if (c->a.inv_stx)
		call_reply_a(c, call_cause_to_sip(c->cause), NULL, NULL, NULL);
	call_leg_hangup(&c->a);
	for (size_t i = 0; i < c->b_n; i++)
		call_leg_hangup(c->b[i]);

	if (c->dp) {
		char num[16];

		snprintf(num, sizeof(num), "%d", (int)c->cause);
		dp_chan_var_set(c->dp, "HANGUPCAUSE", num);
		apps_hangup(c);
		dp_chan_run_h(c->dp);
	}
	write_cdr(c);
	tmr_start(c->pbx->tmrq, &c->free_tmr, 0, free_later, c);
}

void call_flush_answer(struct call *c)
{
	struct sdp_session *sdp = c->pending_sdp;

	if (!sdp)
		return;
	c->pending_sdp = NULL;
	/* call_reply_a() sets answered itself once the 200 is really out. */
	if (c->pending_scode >= 200)
		c->answered = false;
	call_reply_a(c, c->pending_scode, NULL, NULL, sdp);
	free(sdp);
}

void call_resume(struct call *c, enum dp_result res)
{
	if (c->phase == CALL_OVER)
		return;
	if (res != DP_CONTINUE && res != DP_JUMPED)
		call_flush_answer(c);
	switch (res) {
	case DP_ASYNC:
		c->dp_async = true;
		return;
	case DP_HANGUP:
		c->dp_async = false;
		call_end(c, c->cause);
		return;
	case DP_CONTINUE:
	case DP_JUMPED:
		c->dp_async = false;
		call_resume(c, dp_chan_run(c->dp));
		return;
	}
}

/* ---- a new call ---- */

bool call_callerid_parse(const char *cid, char *name, size_t ns, char *num, size_t nn)
{
	const char *lt, *gt, *n, *e;

	lt = cid ? strchr(cid, '<') : NULL;
	gt = lt ? strchr(lt, '>') : NULL;
	if (!lt || !gt)
		return false;
	snprintf(num, nn, "%.*s", (int)(gt - lt - 1), lt + 1);
	for (n = cid; *n == ' ' || *n == '"'; n++)
		;
	for (e = lt; e > n && (e[-1] == ' ' || e[-1] == '"'); e--)
		;
	snprintf(name, ns, "%.*s", (int)(e - n), n);
	return true;
}

/* The caller ID in a From, P-Asserted-Identity or Remote-Party-ID value:
 * the number is the URI's user up to a ';' (user parameters such as
 * ";npdi" are not part of it), the name the display name.  false when
 * there is no number, as Asterisk then ignores an identity header. */
static bool caller_id_addr(struct call *c, const struct sip_addr *addr)
{
	struct pl num = addr->uri.user;
	const char *semi = num.l ? pl_chr(&num, ';') : NULL;

	if (semi)
		num.l = (size_t)(semi - num.p);
	if (!num.l || num.l >= sizeof(c->caller_num))
		return false;
	pl_strcpy(&num, c->caller_num, sizeof(c->caller_num));
	if (pl_strcpy(&addr->dname, c->caller_name, sizeof(c->caller_name)))
		c->caller_name[0] = '\0';
	return true;
}

/* The first value of an identity header (a PAI may list a sip: and a
 * tel: URI of the same identity). */
static bool caller_id_hdr(struct call *c, const struct sip_hdr *h)
{
	struct sip_addr addr;
	struct pl first;
	size_t off = 0;

	return h && sip_value_next(&h->val, &off, &first) &&
	       !sip_addr_decode(&addr, &first) && caller_id_addr(c, &addr);
}

/*
 * Caller ID as chan_pjsip gives a new inbound channel (res_pjsip_caller_id):
 * an endpoint with trust_id_inbound takes P-Asserted-Identity, else
 * Remote-Party-ID, when one holds a number; otherwise the endpoint's
 * callerid ("Name" <num>) when it has a number wins over what the request
 * says, and the From header gives the rest.  Untrusted identity headers
 * are ignored: anyone can write them.
 */
static void caller_id(struct call *c, const struct sip_msg *req)
{
	const struct cfg_endpoint *ep = c->a.ep;

	if (ep && ep->trust_id_inbound &&
	    (caller_id_hdr(c, sip_msg_hdr_name(req, "P-Asserted-Identity")) ||
	     caller_id_hdr(c, sip_msg_hdr_name(req, "Remote-Party-ID"))))
		return;
	if (call_callerid_parse(ep ? ep->callerid : NULL, c->caller_name,
				sizeof(c->caller_name), c->caller_num, sizeof(c->caller_num)))
		return;
	if (!caller_id_addr(c, &req->from))
		pl_strcpy(&req->from.dname, c->caller_name, sizeof(c->caller_name));
}

static int start_dialplan(struct call *c, const struct sip_msg *req)
{
	const char *ctx = c->a.ep && c->a.ep->context ? c->a.ep->context : "default";
	int err;

	if (pl_strcpy(&req->ruri.user, c->dialed, sizeof(c->dialed)) || !c->dialed[0])
		snprintf(c->dialed, sizeof(c->dialed), "s");
	snprintf(c->context, sizeof(c->context), "%s", ctx);
	err = apps_chan_init(c);
	if (err)
		return err;
	return dp_chan_start(c->dp, c->cfg->dialplan, c->context, c->dialed);
}

static void invite_authenticated(enum authn_result res, const char *why, void *arg)
{
	struct call *c = arg;
	struct leg *a = &c->a;
	const struct sip_msg *req;
	const struct sip_hdr *ct;
	struct sdp_session *probe = NULL;
	char contact[128], ip[64];
	char totag[24];
	const char *sdp_why = NULL;
	bool late;
	int err;

	if (res != AUTHN_OK) {
		sip_sockaddr_str((const struct sockaddr *)&a->dst.addr, ip, sizeof(ip));
		log_event(res == AUTHN_CHALLENGED ? LOG_DEBUG : LOG_WARN, "call_auth",
			  "src=%s endpoint=%s reason=%s", ip,
			  a->ep ? a->ep->name : "-", why);
		a->inv_stx = NULL;
		c->phase = CALL_OVER;
		call_free(c);
		return;
	}
	req = sip_stx_request(a->inv_stx);
	c->calls->stats.total++;

	/* No body: a late offer (RFC 3261 §13.2.1), from providers mostly.
	 * KubeVox offers in its 2xx (and, as a preview, in a 183) and takes
	 * the answer from the ACK; meanwhile the call runs on the offer the
	 * caller's endpoint would have made (legmedia_offer_local). */
	ct = sip_msg_hdr(req, SIP_HDR_CONTENT_TYPE);
	late = !req->body.l;
	if (!late && (!ct || !pl_eqcase_str(&ct->val, "application/sdp"))) {
		call_reply_a(c, 488, "Not Acceptable Here - SDP offer expected",
			     "Warning: 399 kubevox \"INVITE body is not SDP\"\r\n", NULL);
		goto fail;
	}
	a->offer = malloc(sizeof(*a->offer));
	probe = malloc(sizeof(*probe));
	if (!a->offer || !probe) {
		call_reply_a(c, 500, NULL, NULL, NULL);
		goto fail;
	}
	if (!late && sdp_decode(a->offer, req->body.p, req->body.l, &sdp_why)) {
		char w[160];

		snprintf(w, sizeof(w), "Warning: 399 kubevox \"bad SDP: %s\"\r\n",
			 sdp_why ? sdp_why : "invalid");
		call_reply_a(c, 400, "Bad Request - invalid SDP", w, NULL);
		goto fail;
	}
	if (!session_negotiate(c, req))
		goto fail;
	err = call_leg_media_init(a);
	if (err) {
		log_event(LOG_WARN, "call_no_media_port", "uniqueid=%s error=%d",
			  c->uniqueid, err);
		c->calls->stats.no_media_port++;
		call_reply_a(c, 503, NULL, "Retry-After: 5\r\n", NULL);
		goto fail;
	}
	if (late) {
		a->m.late = true;
		err = legmedia_offer_local(&a->m, a->offer);
		if (err == ENOENT) {
			/* the endpoint allows no codec KubeVox can offer */
			call_reply_a(c, 488, NULL,
				     "Warning: 305 kubevox \"Incompatible media format\"\r\n",
				     NULL);
			goto fail;
		}
		if (err) {
			call_reply_a(c, 500, NULL, NULL, NULL);
			goto fail;
		}
	} else {
		if (legmedia_answer_local(&a->m, a->offer, probe) == ENOENT) {
			call_reply_a(c, 488, NULL,
				     "Warning: 305 kubevox \"Incompatible media format\"\r\n",
				     NULL);
			goto fail;
		}
		legmedia_remote(&a->m, a->offer);
	}

	sip_totag(sip_stack_tag_key(c->pbx->stack), req, totag, sizeof(totag));
	if (call_contact(c, &a->dst, contact, sizeof(contact)) ||
	    sip_dialog_uas_alloc(&a->dlg, req, &a->dst, totag, contact)) {
		call_reply_a(c, 400, "Bad Request - missing Contact", NULL, NULL);
		goto fail;
	}
	call_table_add(c->calls, a);
	caller_id(c, req);
	switch (xfer_invite_replaces(c, req, probe)) {
	case XFER_NO_REPLACES:
		break;
	case XFER_REPLACED:
		free(probe);
		return;
	case XFER_REFUSED:
		goto fail;
	}

	err = start_dialplan(c, req);
	log_event(LOG_INFO, "call_start",
		  "uniqueid=%s channel=%s from=%s exten=%s context=%s", c->uniqueid,
		  a->chan, c->caller_num, c->dialed, c->context);
	free(probe);
	if (err == ENOENT) {
		c->cause = Q850_UNALLOCATED;
		call_end(c, Q850_UNALLOCATED);
		return;
	}
	if (err) {
		call_end(c, Q850_NETWORK_OUT_OF_ORDER);
		return;
	}
	call_resume(c, dp_chan_run(c->dp));
	return;

 fail:
	free(probe);
	c->phase = CALL_OVER;
	call_free(c);
}

struct call *call_alloc(struct calls *cs)
{
	struct call *c = calloc(1, sizeof(*c));
	struct timeval tv;
	const char *sys;

	if (!c)
		return NULL;
	c->calls = cs;
	c->pbx = cs->pbx;
	c->cfg = config_ref(cs->pbx->cfg);
	c->a.call = c;
	tmr_init(&c->app_tmr);
	tmr_init(&c->ack_tmr);
	tmr_init(&c->free_tmr);
	tmr_init(&c->se_tmr);
	tmr_init(&c->a.late_tmr);
	tmr_init(&c->a.noresp_tmr);
	gettimeofday(&tv, NULL);
	c->t_start = tv;
	/* Asterisk's uniqueid, with its systemname prefix when there is one:
	 * replicas of a cluster are several systems writing records of one
	 * PBX, so each puts its name in when the user set none. */
	sys = c->cfg->systemname;
	if (!sys && c->cfg->state.backend == CFG_STATE_REDIS)
		sys = c->cfg->cluster.replica;
	snprintf(c->uniqueid, sizeof(c->uniqueid), "%s%s%lld.%" PRIu64, sys ? sys : "",
		 sys ? "-" : "", (long long)tv.tv_sec, call_chan_seq(c));
	list_push_front(&cs->list, &c->le);
	cs->n++;
	return c;
}

void call_invite(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src)
{
	struct call *c;

	/* Draining (SIGTERM): a proxy or phone tries another replica. */
	if (cs->draining) {
		cs->stats.rejected_draining++;
		sip_stx_reply(stx, 503, NULL, NULL, "Retry-After: 5\r\n", NULL, NULL);
		log_event(LOG_INFO, "call_rejected_draining", "callid=%.*s",
			  (int)req->callid.l, req->callid.p);
		return;
	}

	c = call_alloc(cs);
	if (!c) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	c->a.inv_stx = stx;
	c->a.dst = *src;
	sip_stx_set_arg(stx, c);

	req = sip_stx_request(stx);
	c->a.ep = authn_identify(cs->pbx, c->cfg, req, src);
	snprintf(c->a.chan, sizeof(c->a.chan), "PJSIP/%s-%08" PRIx64,
		 c->a.ep ? c->a.ep->name : "unknown", cs->seq);
	switch (xferx_verify(c->cfg->cluster.secret, req, (uint64_t)time(NULL))) {
	case XFERX_UNSIGNED:
		break;
	case XFERX_OK:
		/* Another replica completing an attended transfer (xferx.h):
		 * the phone's credentials were checked where its REFER came. */
		log_event(LOG_INFO, "call_replica_replaces", "callid=%.*s endpoint=%s",
			  (int)req->callid.l, req->callid.p, c->a.ep ? c->a.ep->name : "-");
		invite_authenticated(AUTHN_OK, NULL, c);
		return;
	case XFERX_BAD:
		log_event(LOG_WARN, "call_replica_replaces_refused", "callid=%.*s",
			  (int)req->callid.l, req->callid.p);
		/* The transaction ends with its final answer (req with it). */
		sip_stx_reply(stx, 403, "Forbidden - replica signature", NULL, NULL, NULL, NULL);
		c->a.inv_stx = NULL;
		c->phase = CALL_OVER;
		call_free(c);
		return;
	}
	authn_request(cs->pbx, c->cfg, stx, c->a.ep, src, invite_authenticated, c);
}

/* ---- CANCEL, ACK and requests within a call ---- */

void call_cancel(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req)
{
	struct sip_stx *inv = sip_stack_cancel_target(cs->pbx->stack, req);
	struct call *c = inv ? sip_stx_arg(inv) : NULL;

	if (!inv) {
		sip_stx_reply(stx, 481, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	sip_stx_reply(stx, 200, NULL, NULL, NULL, NULL, NULL);
	if (!c || c->a.inv_stx != inv)
		return;
	/* RFC 3261 §9.2: the INVITE ends with 487. */
	call_reply_a(c, 487, NULL, NULL, NULL);
	if (c->phase == CALL_DIALING)
		snprintf(c->dialstatus, sizeof(c->dialstatus), "CANCEL");
	call_end(c, Q850_NORMAL_CLEARING);
}

static void ack_received(struct calls *cs, const struct sip_msg *req)
{
	struct leg *l = table_find(cs, req);

	if (!l)
		return;
	if (!l->uac && !l->acked) {
		l->acked = true;
		tmr_cancel(cs->pbx->tmrq, &l->call->ack_tmr);
	}
	/* Retransmitted ACKs find the answer taken already. */
	if (l->late_offer && req->cseq.num == l->late_cseq &&
	    l->call->phase != CALL_OVER)
		late_answer(l->call, l, req);
}

static void reinvite_answered(int err, const struct sip_msg *resp, void *arg);

/* A re-INVITE (hold, unhold, new media address) from leg l's phone. */
/* Headers of a 200 to a re-INVITE: a caller's refresh gets the session
 * interval back (RFC 4028 §9), or it would stop refreshing. */
static const char *reinvite_headers(const struct call *c, const struct leg *l,
				    char *buf, size_t size)
{
	if (l != &c->a || !c->se)
		return call_allow;
	snprintf(buf, size, "%sSession-Expires: %u;refresher=uac\r\nRequire: timer\r\n",
		 call_allow, c->se);
	return buf;
}

int call_reinvite_ok(struct call *c, struct leg *l, struct sip_stx *stx,
		     const struct sdp_session *sdp)
{
	char hdrs[256];
	struct sbuf body;
	struct pl b;
	int err;

	sbuf_init(&body);
	err = sdp_encode(&body, sdp);
	if (err) {
		sbuf_free(&body);
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return err;
	}
	b.p = body.p;
	b.l = body.len;
	sip_stx_reply(stx, 200, NULL, NULL, reinvite_headers(c, l, hdrs, sizeof(hdrs)),
		      "application/sdp", &b);
	sbuf_free(&body);
	return 0;
}

static void late_ack_timeout(void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;

	log_event(LOG_WARN, "call_no_ack", "uniqueid=%s channel=%s cseq=%u",
		  c->uniqueid, l->chan, l->late_cseq);
	call_end(c, Q850_NORMAL_CLEARING);
}

/*
 * A re-INVITE without SDP (a session refresh, or a phone that wants an
 * offer, RFC 6337 §5): our current description for the leg is the offer
 * in the 200, with the codec in use only (what Asterisk does too, with
 * all_codecs_on_empty_reinvite at its default: the relay does not
 * transcode), and the answer in the ACK goes to the relay (address,
 * hold).  The other phone is not asked anything: its media has not
 * changed.
 */
static void reinvite_late(struct call *c, struct leg *l, struct sip_stx *stx,
			  const struct sip_msg *req, struct sdp_session *out)
{

	if (legmedia_reoffer(&l->m, out) || late_offer_keep(c, l, out, req->cseq.num)) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	if (call_reinvite_ok(c, l, stx, out)) {
		free(l->late_offer);
		l->late_offer = NULL;
		return;
	}
	/* RFC 3261 §13.3.1.4: a 2xx never ACKed ends the session with BYE. */
	tmr_start(c->pbx->tmrq, &l->late_tmr, CALL_ACK_WAIT_MS, late_ack_timeout, l);
}

static void reinvite(struct call *c, struct leg *l, struct sip_stx *stx,
		     const struct sip_msg *req)
{
	bool bridged = c->phase == CALL_BRIDGED;
	struct leg *o = l->uac ? &c->a : c->peer;
	struct sdp_session *in = NULL, *out = NULL;
	int err;

	/* RFC 3261 §14.2: a second re-INVITE of the same side while its first
	 * is pending gets 500 with Retry-After; one that crosses ours, 491. */
	if (l->reinv_stx) {
		sip_stx_reply(stx, 500, NULL, NULL, "Retry-After: 2\r\n", NULL, NULL);
		return;
	}
	/* An offer of ours in a 2xx whose ACK has not come is pending too. */
	if (l->reinv_ctx || (o && o->reinv_ctx) || l->late_offer ||
	    (o && o->late_offer)) {
		sip_stx_reply(stx, 491, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	in = malloc(sizeof(*in));
	out = malloc(sizeof(*out));
	if (!in || !out) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		goto out;
	}
	if (!req->body.l) {
		reinvite_late(c, l, stx, req, out);
		goto out;
	}
	if (sdp_decode(in, req->body.p, req->body.l, NULL)) {
		sip_stx_reply(stx, 488, NULL, NULL, NULL, NULL, NULL);
		goto out;
	}

	if (bridged && o && hold_reinvite(c, l, stx, &in))
		goto out;
	if (!bridged || !o) {
		/* Media ends here (Echo, Playback): answer it ourselves. */
		free(l->offer);
		l->offer = in;
		in = NULL;
		legmedia_remote(&l->m, l->offer);
		if (legmedia_answer_local(&l->m, l->offer, out)) {
			sip_stx_reply(stx, 488, NULL, NULL, NULL, NULL, NULL);
			goto out;
		}
		call_media_timeouts(c);
		call_reinvite_ok(c, l, stx, out);
		goto out;
	}

	/* Bridged: the other phone decides, through its own re-INVITE. */
	err = legmedia_offer(&o->m, in, out);
	if (err) {
		sip_stx_reply(stx, 488, NULL, NULL, NULL, NULL, NULL);
		goto out;
	}
	free(l->reinv_offer);
	l->reinv_offer = in;
	in = NULL;
	free(o->offer);
	o->offer = out;
	out = NULL;
	err = call_send_in_dialog(c, o, "INVITE", NULL, o->offer, reinvite_answered,
				  o, &o->reinv_ctx);
	if (err) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	l->reinv_stx = stx;
 out:
	free(in);
	free(out);
}

/* The other phone answered our relayed re-INVITE (arg: that leg). */
static void reinvite_answered(int err, const struct sip_msg *resp, void *arg)
{
	struct leg *o = arg;
	struct call *c = o->call;
	struct leg *l = o->uac ? &c->a : c->peer;
	struct sdp_session *ans = NULL, *out = NULL;
	struct sbuf sb;
	struct sip_peer dst;
	char branch[48];

	if (resp && resp->scode < 200)
		return;
	if (resp && resp->scode < 300 && o->dlg) {
		/* ACK the 2xx (RFC 3261 §13.2.2.4). */
		sbuf_init(&sb);
		sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
		if (!sip_dialog_request(o->dlg, c->pbx->stack, "ACK", resp->cseq.num,
					branch, NULL, NULL, NULL, &sb, &dst))
			sip_ctx_ack(o->reinv_ctx, &dst, sb.p, sb.len);
		sbuf_free(&sb);
	}
	o->reinv_ctx = NULL;
	if (!l || !l->reinv_stx)
		return;

	if (!resp || resp->scode >= 300) {
		sip_stx_reply(l->reinv_stx, resp ? resp->scode : 500, NULL, NULL,
			      NULL, NULL, NULL);
		l->reinv_stx = NULL;
		return;
	}
	ans = malloc(sizeof(*ans));
	out = malloc(sizeof(*out));
	if (!ans || !out || sdp_decode(ans, resp->body.p, resp->body.l, NULL) ||
	    legmedia_answer_relay(&l->m, o->offer, ans, out)) {
		sip_stx_reply(l->reinv_stx, 488, NULL, NULL, NULL, NULL, NULL);
		l->reinv_stx = NULL;
		goto out;
	}
	legmedia_remote(&o->m, ans);
	free(l->offer);
	l->offer = l->reinv_offer;
	l->reinv_offer = NULL;
	legmedia_remote(&l->m, l->offer);
	call_media_timeouts(c);
	call_reinvite_ok(c, l, l->reinv_stx, out);
	l->reinv_stx = NULL;
	log_event(LOG_INFO, "call_reinvite", "uniqueid=%s from=%s hold=%s",
		  c->uniqueid, l->chan,
		  sdp_is_hold(l->offer, (unsigned)(sdp_audio_index(l->offer) < 0 ? 0 :
					sdp_audio_index(l->offer))) ? "yes" : "no");
 out:
	free(ans);
	free(out);
}

bool call_in_dialog(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		    const struct sip_peer *src)
{
	struct leg *l;
	struct call *c;

	if (!stx) {
		if (sip_msg_is_method(req, "ACK"))
			ack_received(cs, req);
		return true;
	}
	l = table_find(cs, req);
	if (!l)
		return false;
	c = l->call;
	if (!sip_dialog_accept_request(l->dlg, req)) {
		sip_stx_reply(stx, 500, "Server Internal Error - Out Of Order", NULL,
			      NULL, NULL, NULL);
		return true;
	}
	if (sip_msg_is_method(req, "BYE")) {
		sip_stx_reply(stx, 200, NULL, NULL, NULL, NULL, NULL);
		l->state = LEG_ENDED;
		log_event(LOG_INFO, "call_bye", "uniqueid=%s from=%s", c->uniqueid,
			  l->chan);
		/* Dial(...,g): the caller goes on when the callee hangs up. */
		if (l != c->peer || !dialopts_callee_gone(c))
			call_end(c, Q850_NORMAL_CLEARING);
	} else if (sip_msg_is_method(req, "INVITE")) {
		if (l == &c->a && c->se) {
			uint32_t se = session_expires(req);

			/* The refresher may change the interval (RFC 4028 §7.4). */
			if (se >= (c->a.ep ? c->a.ep->timers_min_se : 90))
				c->se = se;
			session_refreshed(c);
		}
		reinvite(c, l, stx, req);
	} else if (sip_msg_is_method(req, "REFER")) {
		xfer_refer(c, l, stx, req);
	} else if (sip_msg_is_method(req, "INFO")) {
		/* Keys (dtmf_mode info); any other INFO is answered, and
		 * ignored. */
		sip_stx_reply(stx, apps_info(c, l, req), NULL, NULL, call_allow, NULL, NULL);
	} else if (sip_msg_is_method(req, "OPTIONS") ||
		   sip_msg_is_method(req, "NOTIFY") || sip_msg_is_method(req, "UPDATE")) {
		/* An UPDATE without SDP is how RFC 4028 refreshes cheaply. */
		if (l == &c->a && sip_msg_is_method(req, "UPDATE"))
			session_refreshed(c);
		sip_stx_reply(stx, 200, NULL, NULL, call_allow, NULL, NULL);
	} else {
		sip_stx_reply(stx, 501, NULL, NULL, call_allow, NULL, NULL);
	}
	return true;
}

/* ---- the table of calls ---- */

int calls_alloc(struct calls **csp, struct pbx *pbx)
{
	struct calls *cs = calloc(1, sizeof(*cs));

	if (!cs)
		return ENOMEM;
	if (htab_init(&cs->tab, CALLS_BUCKETS)) {
		free(cs);
		return ENOMEM;
	}
	list_init(&cs->list);
	rand_hash_key(&cs->key);
	cs->pbx = pbx;
	*csp = cs;
	return 0;
}

void calls_free(struct calls *cs)
{
	struct list_node *it, *tmp;

	if (!cs)
		return;
	/* call_end() only schedules the free; do it here, now. */
	calls_end_all(cs);
	list_foreach_safe(it, tmp, &cs->list)
		call_free(list_entry(it, struct call, le));
	htab_free(&cs->tab);
	free(cs);
}

unsigned calls_active(const struct calls *cs)
{
	return cs ? cs->n : 0;
}

const struct call_stats *calls_stats(const struct calls *cs)
{
	return &cs->stats;
}

void calls_end_all(struct calls *cs)
{
	struct list_node *it;

	/* call_end() never frees: the walk is safe */
	list_foreach(it, &cs->list)
		call_end(list_entry(it, struct call, le), Q850_NORMAL_CLEARING);
}

void calls_set_draining(struct calls *cs, bool draining)
{
	cs->draining = draining;
}

static double seconds_since(const struct timeval *t, const struct timeval *now)
{
	if (!t->tv_sec)
		return 0;
	return (double)(now->tv_sec - t->tv_sec) + (now->tv_usec - t->tv_usec) / 1e6;
}

void calls_foreach(const struct calls *cs,
		   void (*fn)(const struct call_info *ci, void *arg), void *arg)
{
	static const char *const phases[] = {
		[CALL_DIALPLAN] = "dialplan", [CALL_DIALING] = "dialing",
		[CALL_BRIDGED] = "bridged", [CALL_OVER] = "ending",
	};
	const struct list_node *it;
	struct timeval now;

	gettimeofday(&now, NULL);
	list_foreach(it, &cs->list) {
		const struct call *c = list_entry(it, const struct call, le);
		struct call_info ci = {
			.uniqueid = c->uniqueid,
			.channel = c->a.chan,
			.dstchannel = c->peer ? c->peer->chan : "",
			.caller = c->caller_num,
			.exten = c->dialed,
			.state = phases[c->phase],
			.seconds = seconds_since(&c->t_start, &now),
			.billsec = seconds_since(&c->t_answer, &now),
		};
		fn(&ci, arg);
	}
}
