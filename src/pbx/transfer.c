/*
 * transfer.c - call transfers, as res_pjsip_refer does them: REFER (RFC
 * 3515) within a bridged call from either party, blind (the Refer-To's
 * user is an extension run in the transferring endpoint's
 * transfer_context, default its context) or attended (a Refer-To with
 * Replaces naming another call's dialog, RFC 3891), and an INVITE with
 * Replaces naming one of our dialogs.  Progress goes back in NOTIFYs of
 * the implicit "refer" subscription, message/sipfrag bodies from
 * "SIP/2.0 100 Trying" to the target's final answer.
 *
 * A call is one A leg (which the dialplan runs on) and its B legs, so a
 * transfer makes a new call of the parties that stay: the transferee's
 * leg moves, dialog, relay port and all, into the new call's A leg
 * (call_leg_move) and the target is dialled from the dialplan there,
 * which reaches a phone on any replica as every Dial() does; in an
 * attended transfer both remaining legs move into the new call, bridged
 * at once.  Neither phone is asked anything: the relay ports they send to
 * do not change.  The transferor's calls keep only its legs and end with
 * a BYE once the final NOTIFY is out (Asterisk's deferred termination).
 *
 * In a cluster the dialog a REFER's Replaces names may be on another
 * replica (the front spreads calls by Call-ID): the transferee's leg
 * moves into a new call that sends a signed INVITE with that Replaces to
 * every other live replica (xferx.h), the one with the dialog answering;
 * when none has it the leg moves back and the call goes on.
 *
 * CDRs, as Asterisk's: the original call's record ends at the transfer
 * (lastapp BlindTransfer or AttendedTransfer, lastdata where to); the new
 * call has its own record from the transfer on (transferee, target, the
 * dialplan's lastapp for a blind transfer, AttendedTransfer otherwise),
 * linked by linkedid to the first call.
 *
 * The relay does not transcode: the target is offered the codec the
 * transferee uses; an attended transfer or a Replaces joins legs as they
 * are.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "config/dpapp.h"
#include "config/dpmatch.h"
#include "pbx/call_int.h"
#include "pbx/xferx.h"
#include "sip/sa.h"
#include "util/log.h"
#include "util/sbuf.h"

#define XFER_NOTIFY_EXPIRES 60    /* Subscription-State of the progress */

/* A blind transfer in progress: the transferor's call (its REFER's leg
 * gets the NOTIFYs) and the transferee's new call.  Whichever ends first
 * ends the link. */
struct xfer {
	struct call *orig;
	struct leg *t;                  /* the transferor's leg in orig */
	struct call *z;
	bool nosub;                     /* Refer-Sub: false (RFC 4488) */
	/* The target answered: the 200 NOTIFY waits until the relay workers
	 * have the new bridge, or the transferor, hanging up at once, could
	 * talk over the first packets lost. */
	bool answered;
	bool ringing;                   /* "180 Ringing" sent */
	bool syncing;                   /* rtp_engine_sync() will call back */
	struct pbx *pbx;
	struct tmr app_tmr;             /* an application took the call: the
					 * sync once it has set its media */
	/* Attended, the other call on another replica (xferx.h): z dials
	 * the replicas; back is where the transferee's leg was in orig,
	 * where it goes back when none has the dialog. */
	bool cross;
	struct leg *back;
	bool back_uac;
};

/* The other party of leg l in a bridged call. */
static struct leg *other_leg(struct call *c, struct leg *l)
{
	if (c->phase != CALL_BRIDGED || !c->peer)
		return NULL;
	if (l == &c->a)
		return c->peer;
	return l == c->peer ? &c->a : NULL;
}

/* The number of the party on leg l as its call knows it: the caller's,
 * or what was dialled to reach the callee. */
static void party_id(const struct call *c, const struct leg *l, char *num, size_t nn,
		     char *name, size_t ns)
{
	if (l == &c->a) {
		snprintf(num, nn, "%s", c->caller_num);
		snprintf(name, ns, "%s", c->caller_name);
	} else {
		snprintf(num, nn, "%s", c->dialed);
		name[0] = '\0';
	}
}

static void notify_answered(int err, const struct sip_msg *resp, void *arg)
{
	/* A phone that refuses the NOTIFY ends its subscription: nothing
	 * more is sent in any case. */
}

/* NOTIFY of the refer subscription on leg l: "SIP/2.0 code reason". */
static void notify(struct call *c, struct leg *l, bool nosub, uint16_t code,
		   const char *reason)
{
	bool final = code >= 200;
	char extra[128], frag[96], branch[48];
	struct sip_peer dst;
	struct sbuf sb;
	struct pl b;
	int err;

	if (nosub || !l || !l->dlg || l->state != LEG_UP)
		return;
	if (final)
		snprintf(extra, sizeof(extra), "Event: refer\r\n"
			 "Subscription-State: terminated;reason=noresource\r\n");
	else
		snprintf(extra, sizeof(extra), "Event: refer\r\n"
			 "Subscription-State: active;expires=%d\r\n", XFER_NOTIFY_EXPIRES);
	snprintf(frag, sizeof(frag), "SIP/2.0 %u %s\r\n", code, reason);
	pl_set_str(&b, frag);
	sbuf_init(&sb);
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
	err = sip_dialog_request(l->dlg, c->pbx->stack, "NOTIFY", 0, branch, extra,
				 "message/sipfrag;version=2.0", &b, &sb, &dst);
	if (!err)
		err = sip_ctx_send(c->pbx->stack, NULL, &dst, sb.p, sb.len,
				   notify_answered, NULL);
	sbuf_free(&sb);
	log_event(err ? LOG_WARN : LOG_INFO, "xfer_notify",
		  "uniqueid=%s channel=%s status=%u error=%d", c->uniqueid, l->chan,
		  code, err);
}

static void cdr_note(struct call *c, const char *app, const char *data)
{
	snprintf(c->lastapp, sizeof(c->lastapp), "%s", app);
	free(c->lastdata);
	c->lastdata = strdup(data);
}

/* The call's record ends now; what it was ends when the call does. */
static void cdr_cut(struct call *c)
{
	gettimeofday(&c->t_end, NULL);
}

/* Hold cfg until call z is freed (its moved legs point into it). */
static void hold_cfg(struct call *z, struct kv_config *cfg)
{
	for (size_t i = 0; i < 2; i++) {
		if (z->cfg_held[i] == cfg)
			return;
		if (!z->cfg_held[i]) {
			z->cfg_held[i] = config_ref(cfg);
			return;
		}
	}
}

/*
 * Move leg from (its call's A leg or a B leg) into to, a leg of call z:
 * dialog, relay and SDP state go with it, and from keeps only its name
 * and an ended state.  uac: the leg is a B leg of z (whatever side of its
 * dialog it is, the call engine tells A from B by it).
 */
static void leg_move(struct leg *to, struct leg *from, struct call *z, bool uac)
{
	struct call *c = from->call;
	char chan[sizeof(from->chan)];
	const struct cfg_endpoint *ep = from->ep;

	/* Music it heard was the old call's hold (the transferor's, typically,
	 * before an attended transfer): the new call gives the relay a mode. */
	hold_leg_off(from);
	call_table_remove(c->calls, from);
	tmr_cancel(c->pbx->tmrq, &from->noresp_tmr);
	tmr_cancel(c->pbx->tmrq, &from->late_tmr);
	if (from->req)
		dial_leg_release(from);
	*to = *from;
	to->call = z;
	to->uac = uac;
	to->in_table = false;
	to->acked = true;
	tmr_init(&to->noresp_tmr);
	tmr_init(&to->late_tmr);
	to->m.dst = &to->dst;
	if (to->m.rtp)
		rtp_leg_set_arg(to->m.rtp, to);
	if (to->dlg)
		call_table_add(z->calls, to);
	hold_cfg(z, c->cfg);

	snprintf(chan, sizeof(chan), "%s", from->chan);
	uac = from->uac;
	memset(from, 0, sizeof(*from));
	from->call = c;
	from->uac = uac;
	from->ep = ep;
	from->state = LEG_ENDED;
	tmr_init(&from->noresp_tmr);
	tmr_init(&from->late_tmr);
	snprintf(from->chan, sizeof(from->chan), "%s", chan);
}

/* Leg o of call c (its A leg or its peer) into z's peer. */
static int move_to_peer(struct call *z, struct call *c, struct leg *o)
{
	struct leg *p = calloc(1, sizeof(*p));

	if (!p)
		return ENOMEM;
	leg_move(p, o, z, true);
	if (o == c->peer)
		c->peer = NULL;
	z->b[z->b_n++] = p;
	z->peer = p;
	snprintf(z->dstchannel, sizeof(z->dstchannel), "%s", p->chan);
	return 0;
}

/* What is left of a transferor's call once its other party is gone: it
 * answers re-INVITEs itself and waits for its end. */
static void orig_detach(struct call *c)
{
	c->phase = CALL_DIALPLAN;
	c->peer = NULL;
	for (size_t i = 0; i < c->b_n; i++) {
		if (c->b[i]->m.rtp) {
			rtp_leg_stop(c->b[i]->m.rtp);
			rtp_leg_set_timeout(c->b[i]->m.rtp, 0);
		}
	}
	if (c->a.m.rtp) {
		rtp_leg_stop(c->a.m.rtp);
		rtp_leg_set_timeout(c->a.m.rtp, 0);
	}
}

/* The new call for a transfer out of call c (its uniqueid links them). */
static struct call *new_call(struct call *c)
{
	struct call *z = call_alloc(c->calls);

	if (!z)
		return NULL;
	snprintf(z->linkedid, sizeof(z->linkedid), "%s",
		 c->linkedid[0] ? c->linkedid : c->uniqueid);
	z->answered = true;
	z->t_answer = z->t_start;
	return z;
}

/* ---- blind transfer ---- */

static void xfer_unlink(struct xfer *x)
{
	if (x->orig)
		x->orig->xfer = NULL;
	if (x->z)
		x->z->xfer = NULL;
	x->orig = NULL;
	x->z = NULL;
	tmr_cancel(x->pbx->tmrq, &x->app_tmr);
	if (!x->syncing)
		free(x);
}

/* The final NOTIFY; the transferor's call ends after it. */
static void xfer_finish(struct xfer *x, uint16_t code, const char *reason)
{
	struct call *orig = x->orig;

	notify(orig, x->t, x->nosub, code, reason);
	log_event(LOG_INFO, "xfer_done", "uniqueid=%s transferee=%s status=%u",
		  orig->uniqueid, x->z ? x->z->uniqueid : "-", code);
	xfer_unlink(x);
	call_end(orig, Q850_NORMAL_CLEARING);
}

static void bridge_synced(void *arg)
{
	struct xfer *x = arg;

	x->syncing = false;
	if (!x->orig) {
		free(x);
		return;
	}
	xfer_finish(x, 200, "OK");
}

void xfer_ringing(struct call *c)
{
	struct xfer *x = c->xfer;

	if (!x || x->z != c || x->answered || x->ringing)
		return;
	x->ringing = true;
	notify(x->orig, x->t, x->nosub, 180, "Ringing");
}

static void cross_failed(struct xfer *x);
static void cross_answered(struct xfer *x);

void xfer_dial_status(struct call *c, const char *status)
{
	struct xfer *x = c->xfer;
	static const struct { const char *status; uint16_t code; const char *reason; } map[] = {
		{ "ANSWER", 200, "OK" },
		{ "BUSY", 486, "Busy Here" },
		{ "NOANSWER", 480, "Temporarily Unavailable" },
		{ "CHANUNAVAIL", 480, "Temporarily Unavailable" },
		{ "CONGESTION", 503, "Service Unavailable" },
	};

	if (!x || x->z != c || x->answered)
		return;
	if (x->cross) {
		if (strcmp(status, "ANSWER")) {
			cross_failed(x);
			return;
		}
		cross_answered(x);
	}
	if (!strcmp(status, "ANSWER")) {
		x->answered = true;
		if (!rtp_engine_sync(c->pbx->rtp, bridge_synced, x)) {
			x->syncing = true;
			return;
		}
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(status, map[i].status)) {
			xfer_finish(x, map[i].code, map[i].reason);
			return;
		}
	}
	xfer_finish(x, 500, "Server Internal Error");
}

static void app_started(void *arg)
{
	struct xfer *x = arg;

	if (!rtp_engine_sync(x->pbx->rtp, bridge_synced, x))
		x->syncing = true;
	else
		xfer_finish(x, 200, "OK");
}

void xfer_app(struct call *c, enum dp_app app)
{
	struct xfer *x = c->xfer;

	if (!x || x->z != c || x->answered || !dp_app_is_call(app))
		return;
	switch (app) {
	case DP_APP_DIAL:       /* its answer, or its failure, says */
	case DP_APP_RINGING:
	case DP_APP_PROGRESS:
	case DP_APP_WAIT:
	case DP_APP_HANGUP:     /* the call's end says why */
	case DP_APP_BUSY:
	case DP_APP_CONGESTION:
		return;
	default:
		/* An application took the transferee (Playback, Echo,
		 * VoiceMail...): that is the target's answer, once its media
		 * is set, which it does after this hook. */
		x->answered = true;
		tmr_start(c->pbx->tmrq, &x->app_tmr, 0, app_started, x);
		return;
	}
}

void xfer_call_end(struct call *c)
{
	struct xfer *x = c->xfer;
	uint16_t code;

	if (!x)
		return;
	if (x->orig == c) {
		/* The transferor hung up first: the transferee goes on. */
		xfer_unlink(x);
		return;
	}
	if (x->answered) {
		xfer_finish(x, 200, "OK");
		return;
	}
	/* The transferee's call ended before the target answered. */
	code = call_cause_to_sip(c->cause);
	xfer_finish(x, code, code == 404 ? "Not Found" : code == 486 ? "Busy Here" :
		    code < 500 ? "Temporarily Unavailable" : "Service Unavailable");
}

/* Percent-decode in[0..len) into out: false when it does not fit or an
 * escape is broken. */
static bool unescape(const char *in, size_t len, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '%') {
			char hex[3] = { 0 };
			unsigned long v;

			if (i + 2 >= len || !isxdigit((unsigned char)in[i + 1]) ||
			    !isxdigit((unsigned char)in[i + 2]))
				return false;
			hex[0] = in[i + 1];
			hex[1] = in[i + 2];
			v = strtoul(hex, NULL, 16);
			if (!v)
				return false;
			ch = (char)v;
			i += 2;
		}
		if (n + 1 >= size)
			return false;
		out[n++] = ch;
	}
	out[n] = '\0';
	return true;
}

static void blind(struct call *c, struct leg *t, struct leg *e, struct sip_stx *stx,
		  const char *exten, bool nosub)
{
	const struct cfg_endpoint *ep = t->ep;
	const char *ctx = ep && ep->transfer_context ? ep->transfer_context :
			  ep && ep->context ? ep->context : "default";
	char data[2 * DP_MAX_NAME + 2], num[80], name[80];
	struct sdp_session *sdp = NULL;
	struct xfer *x = NULL;
	struct call *z = NULL;
	int err;

	sip_stx_reply(stx, 202, NULL, NULL, nosub ? "Refer-Sub: false\r\n" : NULL,
		      NULL, NULL);
	notify(c, t, nosub, 100, "Trying");
	/* As res_pjsip_refer: a target that is not there fails the transfer,
	 * and the call goes on (the transferor takes it back). */
	if (!dialplan_can_match(c->cfg->dialplan, ctx, exten, NULL, DP_MATCH)) {
		log_event(LOG_INFO, "xfer_no_target", "uniqueid=%s channel=%s context=%s exten=%s",
			  c->uniqueid, t->chan, ctx, exten);
		notify(c, t, nosub, 404, "Not Found");
		return;
	}
	z = new_call(c);
	x = calloc(1, sizeof(*x));
	sdp = malloc(sizeof(*sdp));
	if (!z || !x || !sdp)
		goto fail;
	x->pbx = c->pbx;
	tmr_init(&x->app_tmr);
	party_id(c, e, num, sizeof(num), name, sizeof(name));
	snprintf(z->caller_num, sizeof(z->caller_num), "%s", num);
	snprintf(z->caller_name, sizeof(z->caller_name), "%s", name);
	snprintf(z->context, sizeof(z->context), "%s", ctx);
	snprintf(z->dialed, sizeof(z->dialed), "%s", exten);
	leg_move(&z->a, e, z, false);
	/* The target is offered the codec the transferee uses, the relay
	 * not transcoding. */
	if (!legmedia_reoffer(&z->a.m, sdp)) {
		free(z->a.offer);
		z->a.offer = sdp;
		sdp = NULL;
	}
	orig_detach(c);
	cdr_cut(c);
	snprintf(data, sizeof(data), "%s@%s", exten, ctx);
	cdr_note(c, "BlindTransfer", data);
	err = apps_chan_init(z);
	if (!err)
		err = dp_chan_start(z->dp, z->cfg->dialplan, ctx, exten);
	if (err)
		goto fail;
	dp_chan_var_set(z->dp, "BLINDTRANSFER", t->chan);
	z->phase = CALL_DIALPLAN;
	x->orig = c;
	x->t = t;
	x->z = z;
	x->nosub = nosub;
	c->xfer = z->xfer = x;
	log_event(LOG_INFO, "xfer_blind", "uniqueid=%s transferor=%s transferee=%s "
		  "context=%s exten=%s new=%s", c->uniqueid, t->chan, z->a.chan, ctx,
		  exten, z->uniqueid);
	/* refer_blind_progress=no: the transfer is done once the transferee
	 * is in the dialplan, for phones that cannot wait. */
	if (ep && !ep->refer_blind_progress) {
		x->answered = true;
		xfer_finish(x, 200, "OK");
	}
	call_resume(z, dp_chan_run(z->dp));
	return;

 fail:
	free(sdp);
	free(x);
	notify(c, t, nosub, 503, "Service Unavailable");
	if (z)
		call_end(z, Q850_NETWORK_OUT_OF_ORDER);
	if (c->phase != CALL_BRIDGED)
		call_end(c, Q850_NORMAL_CLEARING);
}

/* ---- Replaces ---- */

/* "callid;to-tag=X;from-tag=Y" (RFC 3891 §6.1): the leg of ours it
 * names.  The tags are the receiver's view (to-tag ours), yet phones
 * disagree, so either order is taken.  ENOENT: none; EINVAL: malformed. */
static int replaces_find(struct calls *cs, const char *v, struct leg **lp)
{
	const char *semi = strchr(v, ';'), *p;
	const char *to = NULL, *from = NULL;
	size_t cl, tl = 0, fl = 0;
	struct leg *l;

	if (!semi || semi == v)
		return EINVAL;
	cl = (size_t)(semi - v);
	while (cl && v[cl - 1] == ' ')
		cl--;
	for (p = semi; p && *p; p = strchr(p, ';')) {
		size_t n;

		p++;
		while (*p == ' ')
			p++;
		n = strcspn(p, ";");
		if (!strncasecmp(p, "to-tag=", 7)) {
			to = p + 7;
			tl = n - 7;
		} else if (!strncasecmp(p, "from-tag=", 9)) {
			from = p + 9;
			fl = n - 9;
		}
	}
	if (!to || !from || !tl || !fl)
		return EINVAL;
	l = call_leg_find(cs, v, cl, to, tl);
	if (l && l->dlg->rtag && strlen(l->dlg->rtag) == fl &&
	    !strncmp(l->dlg->rtag, from, fl)) {
		*lp = l;
		return 0;
	}
	l = call_leg_find(cs, v, cl, from, fl);
	if (l && l->dlg->rtag && strlen(l->dlg->rtag) == tl &&
	    !strncmp(l->dlg->rtag, to, tl)) {
		*lp = l;
		return 0;
	}
	return ENOENT;
}

/* Attended: leg t (REFER's) of call c and leg t2 (named by Replaces) of
 * another call hold the transferor; their other parties are joined. */
static void attended(struct call *c, struct leg *t, struct leg *o, struct leg *t2,
		     struct sip_stx *stx, bool nosub)
{
	struct call *c2 = t2->call;
	struct leg *o2 = other_leg(c2, t2);
	char num[80], name[80], num2[80], data[200];
	struct call *z;

	sip_stx_reply(stx, 202, NULL, NULL, nosub ? "Refer-Sub: false\r\n" : NULL,
		      NULL, NULL);
	notify(c, t, nosub, 100, "Trying");
	if (!o2 || c2 == c || c2->xfer) {
		/* RFC 3891 §3: a dialog we cannot replace */
		notify(c, t, nosub, 503, "Service Unavailable");
		return;
	}
	z = new_call(c);
	if (!z) {
		notify(c, t, nosub, 503, "Service Unavailable");
		return;
	}
	party_id(c, o, num, sizeof(num), name, sizeof(name));
	party_id(c2, o2, num2, sizeof(num2), data, sizeof(data));
	snprintf(z->caller_num, sizeof(z->caller_num), "%s", num);
	snprintf(z->caller_name, sizeof(z->caller_name), "%s", name);
	snprintf(z->dialed, sizeof(z->dialed), "%s", num2);
	snprintf(z->context, sizeof(z->context), "%s", c->context);
	leg_move(&z->a, o, z, false);
	if (move_to_peer(z, c2, o2)) {
		/* the transferee is ours now: its call ends with the others */
		notify(c, t, nosub, 503, "Service Unavailable");
		orig_detach(c);
		call_end(z, Q850_NETWORK_OUT_OF_ORDER);
		call_end(c, Q850_NORMAL_CLEARING);
		return;
	}
	orig_detach(c);
	orig_detach(c2);
	z->phase = CALL_BRIDGED;
	rtp_leg_connect(z->a.m.rtp, z->peer->m.rtp);
	call_media_timeouts(z);
	snprintf(data, sizeof(data), "%s&%s", t->chan, t2->chan);
	cdr_note(z, "AttendedTransfer", data);
	cdr_cut(c);
	cdr_cut(c2);
	cdr_note(c, "AttendedTransfer", z->peer->chan);
	cdr_note(c2, "AttendedTransfer", z->a.chan);
	log_event(LOG_INFO, "xfer_attended", "uniqueid=%s transferor=%s&%s "
		  "channel=%s dstchannel=%s new=%s", c->uniqueid, t->chan, t2->chan,
		  z->a.chan, z->peer->chan, z->uniqueid);
	notify(c, t, nosub, 200, "OK");
	call_end(c, Q850_NORMAL_CLEARING);
	call_end(c2, Q850_NORMAL_CLEARING);
}

enum xfer_replaces xfer_invite_replaces(struct call *c, const struct sip_msg *req,
					const struct sdp_session *answer)
{
	const struct sip_hdr *h = sip_msg_hdr_name(req, "Replaces");
	char v[512], num[80], name[80];
	struct leg *l = NULL, *o;
	struct call *w;
	int err;

	if (!h)
		return XFER_NO_REPLACES;
	if (c->a.m.late) {
		/* Our offer would have to fit a leg already talking. */
		call_reply_a(c, 488, NULL, NULL, NULL);
		return XFER_REFUSED;
	}
	if (h->val.l >= sizeof(v) || pl_strcpy(&h->val, v, sizeof(v))) {
		err = EINVAL;
	} else {
		err = replaces_find(c->calls, v, &l);
	}
	o = l ? other_leg(l->call, l) : NULL;
	if (err || !o || l->call->xfer) {
		/* RFC 3891 §3: 481 when no dialog matches; a call not bridged
		 * (ringing, in the dialplan) is not replaced either. */
		call_reply_a(c, err == EINVAL ? 400 : 481, NULL, NULL, NULL);
		log_event(LOG_INFO, "xfer_replaces_refused", "uniqueid=%s error=%d",
			  c->uniqueid, err);
		return XFER_REFUSED;
	}
	w = l->call;
	party_id(w, o, num, sizeof(num), name, sizeof(name));
	snprintf(c->dialed, sizeof(c->dialed), "%s", num);
	snprintf(c->context, sizeof(c->context), "%s", w->context);
	snprintf(c->linkedid, sizeof(c->linkedid), "%s",
		 w->linkedid[0] ? w->linkedid : w->uniqueid);
	if (move_to_peer(c, w, o)) {
		call_reply_a(c, 500, NULL, NULL, NULL);
		return XFER_REFUSED;
	}
	orig_detach(w);
	c->phase = CALL_BRIDGED;
	rtp_leg_connect(c->a.m.rtp, c->peer->m.rtp);
	cdr_note(c, "AttendedTransfer", l->chan);
	cdr_cut(w);
	cdr_note(w, "AttendedTransfer", c->a.chan);
	log_event(LOG_INFO, "xfer_replaces", "uniqueid=%s replaced=%s channel=%s "
		  "dstchannel=%s", c->uniqueid, l->chan, c->a.chan, c->peer->chan);
	call_reply_a(c, 200, NULL, NULL, answer);
	call_end(w, Q850_NORMAL_CLEARING);
	return XFER_REPLACED;
}

/* ---- attended, the other call on another replica ---- */

/* The transferee's leg back in the transferor's call, bridged as before:
 * no replica had the dialog. */
static void cross_failed(struct xfer *x)
{
	struct call *c = x->orig, *z = x->z;
	struct leg *o = x->back;

	if (z->a.dlg && z->a.state == LEG_UP) {
		leg_move(o, &z->a, c, x->back_uac);
		c->peer = o == &c->a ? x->t : o;
		c->phase = CALL_BRIDGED;
		rtp_leg_connect(c->a.m.rtp, c->peer->m.rtp);
		call_media_timeouts(c);
	}
	/* What is left of z is an attempt, not a call that was answered. */
	z->answered = false;
	cdr_note(z, "AttendedTransfer", "");
	log_event(LOG_INFO, "xfer_cross_failed", "uniqueid=%s channel=%s new=%s "
		  "dialstatus=%s", c->uniqueid, x->t->chan, z->uniqueid, z->dialstatus);
	notify(c, x->t, x->nosub, 503, "Service Unavailable");
	xfer_unlink(x);
}

/* A replica replaced the dialog: the CDRs as a local attended transfer's
 * (the other call's records are that replica's). */
static void cross_answered(struct xfer *x)
{
	struct call *c = x->orig, *z = x->z;

	cdr_cut(c);
	cdr_note(c, "AttendedTransfer", z->peer ? z->peer->chan : "");
	cdr_note(z, "AttendedTransfer", x->t->chan);
	log_event(LOG_INFO, "xfer_cross", "uniqueid=%s transferor=%s channel=%s "
		  "dstchannel=%s new=%s", c->uniqueid, x->t->chan, z->a.chan,
		  z->peer ? z->peer->chan : "-", z->uniqueid);
}

struct cross_sign {
	const char *secret;
	const char *rep;
};

static int cross_hdrs(const char *callid, char *buf, size_t size, void *arg)
{
	const struct cross_sign *s = arg;
	int n = snprintf(buf, size, "Replaces: %s\r\n", s->rep);

	if (n < 0 || (size_t)n >= size)
		return ENOSPC;
	return xferx_sign(s->secret, callid, s->rep, (uint64_t)time(NULL), buf + n,
			  size - (size_t)n);
}

/*
 * Leg t (REFER's) of call c names, by Replaces rep, a dialog this replica
 * does not have: in a cluster the other call may be on any replica (the
 * front spreads calls by Call-ID).  The transferee's leg o moves into a
 * new call, as for a blind transfer, which sends an INVITE with Replaces
 * to every other live replica at once; the one with the dialog answers,
 * the others 481.  The first 2xx is bridged (the two relays stay in the
 * path, a chain of B2BUAs); none, and o goes back into c.  false: no
 * other replica, nothing sent.
 */
static bool attended_cross(struct call *c, struct leg *t, struct leg *o,
			   struct sip_stx *stx, const char *rep, const char *target,
			   bool nosub)
{
	struct state_replica r[CALL_MAX_FORKS];
	size_t n = xferx_replicas(c->pbx->state, r, CALL_MAX_FORKS);
	struct cross_sign sign = { c->cfg->cluster.secret, rep };
	char num[80], name[80], ruri[160], ip[64];
	struct sdp_session *sdp = NULL;
	struct xfer *x = NULL;
	struct call *z = NULL;
	size_t started = 0;
	/* The legs to the replicas speak for the transferee: its codecs. */
	const struct cfg_endpoint *ep = o->ep ? o->ep : t->ep;

	if (!n || !ep)
		return false;
	sip_stx_reply(stx, 202, NULL, NULL, nosub ? "Refer-Sub: false\r\n" : NULL,
		      NULL, NULL);
	notify(c, t, nosub, 100, "Trying");
	z = new_call(c);
	x = calloc(1, sizeof(*x));
	sdp = malloc(sizeof(*sdp));
	if (!z || !x || !sdp) {
		free(sdp);
		free(x);
		notify(c, t, nosub, 503, "Service Unavailable");
		if (z)
			call_end(z, Q850_NETWORK_OUT_OF_ORDER);
		return true;
	}
	x->pbx = c->pbx;
	tmr_init(&x->app_tmr);
	x->cross = true;
	x->back = o;
	x->back_uac = o->uac;
	party_id(c, o, num, sizeof(num), name, sizeof(name));
	snprintf(z->caller_num, sizeof(z->caller_num), "%s", num);
	snprintf(z->caller_name, sizeof(z->caller_name), "%s", name);
	snprintf(z->context, sizeof(z->context), "%s", c->context);
	snprintf(z->dialed, sizeof(z->dialed), "%s", target);
	leg_move(&z->a, o, z, false);
	/* The other replica's relay is offered the codec the transferee
	 * uses, neither relay transcoding. */
	if (!legmedia_reoffer(&z->a.m, sdp)) {
		free(z->a.offer);
		z->a.offer = sdp;
		sdp = NULL;
	}
	free(sdp);
	orig_detach(c);
	x->orig = c;
	x->t = t;
	x->z = z;
	x->nosub = nosub;
	c->xfer = z->xfer = x;
	z->phase = CALL_DIALING;
	z->dial_starting = true;
	for (size_t i = 0; i < n; i++) {
		struct sip_peer dst;
		uint16_t port;
		int err;

		memset(&dst, 0, sizeof(dst));
		dst.addr = r[i].advertise;
		dst.proto = SIP_PROTO_UDP;
		sip_sa_ip_port((const struct sockaddr *)&r[i].advertise, ip, sizeof(ip), &port);
		snprintf(ruri, sizeof(ruri), r[i].advertise.ss_family == AF_INET6 ?
			 "sip:%s@[%s]:%u" : "sip:%s@%s:%u", target[0] ? target : "s", ip, port);
		err = dial_leg_direct(z, ep, r[i].name, ruri, &dst,
				      cross_hdrs, &sign);
		if (err)
			log_event(LOG_WARN, "xfer_cross_leg", "uniqueid=%s replica=%s error=%d",
				  z->uniqueid, r[i].name, err);
		else
			started++;
	}
	log_event(LOG_INFO, "xfer_cross_start", "uniqueid=%s transferor=%s transferee=%s "
		  "new=%s replicas=%zu", c->uniqueid, t->chan, z->a.chan, z->uniqueid, started);
	/* None started: Dial() is over at once, and o goes back. */
	dial_direct_done(z);
	return true;
}

/* ---- REFER ---- */

static bool has_ctl(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < ' ' || *s == 0x7f)
			return true;
	}
	return false;
}

/* The Refer-To's user (the target's number), "" when there is none fit
 * for a Request-URI. */
static const char *refer_user(const struct sip_addr *addr, char *buf, size_t size)
{
	if (!addr->uri.user.l || !unescape(addr->uri.user.p, addr->uri.user.l, buf, size) ||
	    strpbrk(buf, "@:;<>\" \t\r\n?,%"))
		buf[0] = '\0';
	return buf;
}

void xfer_refer(struct call *c, struct leg *l, struct sip_stx *stx,
		const struct sip_msg *req)
{
	const struct sip_hdr *rt = sip_msg_hdr_name(req, "Refer-To");
	const struct sip_hdr *rs = sip_msg_hdr_name(req, "Refer-Sub");
	struct leg *o = other_leg(c, l), *t2 = NULL;
	bool nosub = rs && pl_eqcase_str(&rs->val, "false");
	char exten[DP_MAX_NAME + 1], rep[512];
	struct sip_addr addr;
	struct pl hv, v = PL_INIT;
	int err;

	if (!rt)
		rt = sip_msg_hdr_name(req, "r");
	if (!rt || sip_addr_decode(&addr, &rt->val) || addr.uri.scheme == SIP_URI_TEL) {
		sip_stx_reply(stx, 400, "Bad Request - Refer-To", NULL, NULL, NULL, NULL);
		return;
	}
	if (l->ep && !l->ep->allow_transfer) {
		/* res_pjsip_refer answers allow_transfer=no with 603 */
		sip_stx_reply(stx, 603, NULL, NULL, NULL, NULL, NULL);
		log_event(LOG_INFO, "xfer_refused", "uniqueid=%s channel=%s reason=allow_transfer",
			  c->uniqueid, l->chan);
		return;
	}
	if (!o) {
		/* Only a call of two parties talking is transferred. */
		sip_stx_reply(stx, 603, "Decline - not bridged", NULL, NULL, NULL, NULL);
		return;
	}
	if (c->xfer || l->reinv_stx || l->reinv_ctx || o->reinv_stx || o->reinv_ctx ||
	    l->late_offer || o->late_offer) {
		sip_stx_reply(stx, 491, NULL, NULL, NULL, NULL, NULL);
		return;
	}

	/* Replaces=... among the URI's headers: an attended transfer. */
	hv = addr.uri.headers;
	while (hv.l) {
		const char *amp = pl_chr(&hv, '&');
		struct pl one = { hv.p, amp ? (size_t)(amp - hv.p) : hv.l };

		if (one.l > 9 && !strncasecmp(one.p, "Replaces=", 9)) {
			v.p = one.p + 9;
			v.l = one.l - 9;
		}
		if (!amp)
			break;
		hv.l -= (size_t)(amp + 1 - hv.p);
		hv.p = amp + 1;
	}
	if (v.p) {
		/* It goes into a header of ours (another replica's INVITE). */
		if (!unescape(v.p, v.l, rep, sizeof(rep)) || has_ctl(rep)) {
			sip_stx_reply(stx, 400, "Bad Request - Replaces", NULL, NULL, NULL, NULL);
			return;
		}
		err = replaces_find(c->calls, rep, &t2);
		if (err == EINVAL) {
			sip_stx_reply(stx, 400, "Bad Request - Replaces", NULL, NULL, NULL, NULL);
			return;
		}
		if (err && attended_cross(c, l, o, stx, rep, refer_user(&addr, exten,
									sizeof(exten)), nosub))
			return;
		if (err) {
			/* Not a dialog of ours, nor of another replica: RFC 3515
			 * §2.4.5, a NOTIFY says the attempt failed. */
			sip_stx_reply(stx, 202, NULL, NULL, nosub ? "Refer-Sub: false\r\n" : NULL,
				      NULL, NULL);
			notify(c, l, nosub, 100, "Trying");
			notify(c, l, nosub, 503, "Service Unavailable");
			log_event(LOG_INFO, "xfer_replaces_unknown", "uniqueid=%s channel=%s",
				  c->uniqueid, l->chan);
			return;
		}
		attended(c, l, o, t2, stx, nosub);
		return;
	}
	if (!addr.uri.user.l ||
	    !unescape(addr.uri.user.p, addr.uri.user.l, exten, sizeof(exten)) ||
	    strpbrk(exten, "@:;<>\" \t\r\n?,")) {
		sip_stx_reply(stx, 400, "Bad Request - Refer-To", NULL, NULL, NULL, NULL);
		return;
	}
	blind(c, l, o, stx, exten, nosub);
}
