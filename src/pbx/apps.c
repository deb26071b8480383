/*
 * apps.c - the call as a dialplan channel: its variables (CALLERID(),
 * UNIQUEID, HANGUPCAUSE, ...) and the applications that act on the call:
 * Answer, Ringing, Progress, Wait, Hangup, Busy, Congestion, Dial,
 * Playback and Echo.  Control-flow applications are the interpreter's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "config/q850.h"
#include "pbx/call_int.h"
#include "util/log.h"

/* Headers that PJSIP splits into one header per comma-separated value,
 * so that PJSIP_HEADER(read,Via,2) is the second Via wherever it is. */
static bool split_values(enum sip_hdr_id id)
{
	return id == SIP_HDR_VIA || id == SIP_HDR_CONTACT || id == SIP_HDR_ROUTE ||
	       id == SIP_HDR_RECORD_ROUTE;
}

static bool header_wanted(const struct sip_hdr *hd, const struct dp_pjsip_header *h)
{
	size_t n = strlen(h->name);

	if (!h->prefix)
		return sip_hdr_named(hd, h->name);
	return hd->name.l >= n && !strncasecmp(hd->name.p, h->name, n);
}

/*
 * ${PJSIP_HEADER(read,NAME[,N])}: the Nth header named NAME of the
 * caller's INVITE, as res_pjsip_header_funcs reads it (a compact form is
 * its long name, "X-*" a prefix); ENOENT when there is none.  The INVITE
 * is decoded again here: a call keeps its bytes only, since few dialplans
 * read its headers.
 */
static int pjsip_header_read(struct call *c, const char *args, size_t len,
			     struct sbuf *out)
{
	char *text = strndup(args, len);
	struct sip_msg *m = NULL;
	struct dp_pjsip_header h;
	const char *why = NULL;
	unsigned seen = 0;
	int err = ENOENT;

	if (!text || !c->invite || dp_pjsip_header_parse(text, &h, NULL))
		goto out;
	m = malloc(sizeof(*m));
	if (!m || sip_msg_decode(m, c->invite, c->invite_len, false, &why))
		goto out;
	for (unsigned i = 0; i < m->hdrc && err; i++) {
		const struct sip_hdr *hd = &m->hdrv[i];
		struct pl v = hd->val;
		size_t off = 0;

		if (!header_wanted(hd, &h))
			continue;
		if (!split_values(hd->id)) {
			if (++seen == h.number)
				err = 0;
		} else {
			while (err && sip_value_next(&hd->val, &off, &v)) {
				if (++seen == h.number)
					err = 0;
			}
		}
		if (!err)
			sbuf_append_pl(out, &v);
	}
 out:
	free(m);
	free(text);
	return err;
}

static int chan_var(struct dp_chan *dc, const char *name, size_t len,
		    struct sbuf *out, void *arg)
{
	struct call *c = arg;

#define IS(s) (len == sizeof(s) - 1 && !strncmp(name, s, len))
	if (IS("UNIQUEID")) {
		sbuf_append_str(out, c->uniqueid);
	} else if (IS("CHANNEL")) {
		sbuf_append_str(out, c->a.chan);
	} else if (IS("CALLERID(num)") || IS("CALLERID(number)")) {
		sbuf_append_str(out, c->caller_num);
	} else if (IS("CALLERID(name)")) {
		sbuf_append_str(out, c->caller_name);
	} else if (IS("CALLERID(pres)")) {
		sbuf_append_str(out, c->caller_pres[0] ? c->caller_pres : "allowed_not_screened");
	} else if (IS("CALLERID(all)")) {
		sbuf_printf(out, "\"%s\" <%s>", c->caller_name, c->caller_num);
	} else if (len > 14 && !strncmp(name, "PJSIP_HEADER(", 13) &&
		   name[len - 1] == ')') {
		return pjsip_header_read(c, name + 13, len - 14, out);
	} else if (IS("HANGUPCAUSE")) {
		if (c->cause)
			sbuf_printf(out, "%d", (int)c->cause);
	} else {
		return ENOENT;
	}
#undef IS
	return 0;
}

/* Asterisk's presentation names (ast_parse_caller_presentation()). */
static bool pres_known(const char *v)
{
	static const char *const names[] = {
		"allowed_not_screened", "allowed_passed_screen", "allowed_failed_screen",
		"allowed", "prohib_not_screened", "prohib_passed_screen",
		"prohib_failed_screen", "prohib", "unavailable", NULL
	};

	for (size_t i = 0; names[i]; i++) {
		if (!strcasecmp(v, names[i]))
			return true;
	}
	return false;
}

/* Set(CALLERID(name|num|pres)=...) */
static int chan_set(struct dp_chan *dc, const char *name, const char *value,
		    void *arg)
{
	struct call *c = arg;

	if (!strcmp(name, "CALLERID(pres)")) {
		/* Asterisk warns and keeps the presentation it had. */
		if (!pres_known(value))
			return EINVAL;
		snprintf(c->caller_pres, sizeof(c->caller_pres), "%s", value);
	} else if (!strcmp(name, "CALLERID(num)") || !strcmp(name, "CALLERID(number)"))
		snprintf(c->caller_num, sizeof(c->caller_num), "%s", value);
	else if (!strcmp(name, "CALLERID(name)"))
		snprintf(c->caller_name, sizeof(c->caller_name), "%s", value);
	else
		return ENOENT;
	return 0;
}

/*
 * The caller's answer, with our media: 200 (answer) or 183 (progress).  It
 * is sent when the dialplan stops running (call_resume), after the next
 * applications have given the relay its mode: a phone starts sending the
 * moment it reads the answer, and Echo() must not lose the first packet.
 */
static int answer_a(struct call *c, uint16_t scode)
{
	struct sdp_session *sdp;
	int err;

	if (c->pending_sdp) {
		/* Progress() then Answer() in one run: only the 200 goes out. */
		if (scode == 200 && c->pending_scode != 200) {
			c->pending_scode = 200;
			c->answered = true;
		}
		return 0;
	}
	sdp = malloc(sizeof(*sdp));
	if (!sdp)
		return ENOMEM;
	err = legmedia_answer_local(&c->a.m, c->a.offer, sdp);
	if (err) {
		free(sdp);
		return err;
	}
	c->pending_sdp = sdp;
	c->pending_scode = scode;
	if (scode == 183)
		c->early = true;
	else
		c->answered = true;
	return 0;
}

static void wait_done(void *arg)
{
	struct call *c = arg;

	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
}

static enum dp_result app_wait(struct call *c, const char *args)
{
	uint64_t ms;

	dp_wait_parse(args ? args : "", &ms, NULL);
	if (!ms)
		return DP_CONTINUE;
	tmr_start(c->pbx->tmrq, &c->app_tmr, ms, wait_done, c);
	return DP_ASYNC;
}

/* ---- Playback ---- */

static void play_finish(struct call *c, const char *status)
{
	dp_chan_var_set(c->dp, "PLAYBACKSTATUS", status);
	free(c->play_list);
	c->play_list = c->play_next = NULL;
	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
}

/* Start the next file of the list; false when there is none left. */
static bool play_next(struct call *c)
{
	const struct prompt *p = NULL;
	struct rtp_frames f;
	char *name;
	int err;

	if (c->prompt) {
		prompt_release(c->pbx->prompts, c->prompt);
		c->prompt = NULL;
	}
	if (!c->play_next || !*c->play_next)
		return false;
	name = c->play_next;
	c->play_next = strchr(name, '&');
	if (c->play_next)
		*c->play_next++ = '\0';

	if (c->a.m.codec != CFG_CODEC_PCMU && c->a.m.codec != CFG_CODEC_PCMA)
		err = ENOTSUP;
	else
		err = prompt_get(c->pbx->prompts,
				 c->a.ep && c->a.ep->language ? c->a.ep->language : "en",
				 name, c->a.m.codec, &p);
	if (!err) {
		f.data = p->frames;
		f.size = p->frame_bytes;
		f.count = p->n_frames;
		f.ts_step = 0;
		err = rtp_leg_play(c->a.m.rtp, &f, c->a.m.pt, true, false);
	}
	if (err) {
		log_event(LOG_WARN, "playback_failed", "uniqueid=%s file=%s error=%d",
			  c->uniqueid, name, err);
		if (p)
			prompt_release(c->pbx->prompts, p);
		c->play_failed = true;
		c->play_next = NULL;
		return false;
	}
	c->prompt = p;
	return true;
}

void apps_play_done(struct call *c)
{
	if (c->phase == CALL_OVER || !c->play_list)
		return;
	if (!play_next(c))
		play_finish(c, c->play_failed ? "FAILED" : "SUCCESS");
}

void apps_play_start(struct call *c)
{
	c->play_on_ack = false;
	if (c->phase == CALL_OVER || !c->play_list)
		return;
	if (!play_next(c))
		play_finish(c, c->play_failed ? "FAILED" : "SUCCESS");
}

static enum dp_result app_playback(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : ""), q[200];
	struct dp_report rep = { 0 };
	struct dp_playback pb;

	if (!buf)
		return DP_HANGUP;
	/* The parser --check uses; app_playback fails, and the call hangs
	 * up, only without any argument. */
	if (dp_playback_parse(buf, &pb, &rep)) {
		log_event(LOG_WARN, "playback_bad_args", "uniqueid=%s error=%s",
			  c->uniqueid, log_q(q, sizeof(q), rep.why, strlen(rep.why)));
		goto fail;
	}
	/* Asterisk answers first unless told not to; early media then needs
	 * the 183 that Progress() would have sent. */
	if (!c->answered && !pb.noanswer && answer_a(c, 200))
		goto fail;
	if (!c->answered && pb.noanswer && !c->early && answer_a(c, 183))
		goto fail;
	free(c->play_list);
	c->play_list = strdup(pb.files);
	free(buf);
	if (!c->play_list)
		return DP_HANGUP;
	c->play_next = c->play_list;
	c->play_failed = false;
	/* A caller that made no offer tells where its media goes in the ACK
	 * of the 200 about to go out: frames sent before would be lost.  (An
	 * early-media preview has no ACK: the relay latches on what the
	 * caller sends, if anything.) */
	if (c->a.m.late && c->answered) {
		c->play_on_ack = true;
		return DP_ASYNC;
	}
	if (!play_next(c)) {
		dp_chan_var_set(c->dp, "PLAYBACKSTATUS", "FAILED");
		free(c->play_list);
		c->play_list = c->play_next = NULL;
		return DP_CONTINUE;
	}
	return DP_ASYNC;
 fail:
	free(buf);
	return DP_HANGUP;
}

void apps_dtmf(struct call *c, struct leg *l, char digit)
{
	log_event(LOG_INFO, "dtmf", "uniqueid=%s channel=%s digit=%c", c->uniqueid,
		  l->chan, digit);
}

static enum dp_result chan_app(struct dp_chan *dc, enum dp_app app,
			       const char *args, void *arg)
{
	struct call *c = arg;
	enum q850_cause cause;

	/* As in Asterisk's CDRs, the Hangup() that follows a failed Dial()
	 * does not hide it: lastapp stays "Dial". */
	if (app != DP_APP_HANGUP || !c->lastapp[0]) {
		snprintf(c->lastapp, sizeof(c->lastapp), "%s", dp_app_name(app));
		free(c->lastdata);
		c->lastdata = strdup(args ? args : "");
	}
	c->app = app;

	switch (app) {
	case DP_APP_ANSWER:
		if (!c->answered && answer_a(c, 200))
			return DP_HANGUP;
		return DP_CONTINUE;
	case DP_APP_RINGING:
		if (!c->answered && !c->ringing) {
			call_reply_a(c, 180, NULL, NULL, NULL);
			c->ringing = true;
		}
		return DP_CONTINUE;
	case DP_APP_PROGRESS:
		if (!c->answered && !c->early && answer_a(c, 183))
			return DP_HANGUP;
		return DP_CONTINUE;
	case DP_APP_WAIT:
		return app_wait(c, args);
	case DP_APP_HANGUP:
		dp_hangup_parse(args ? args : "", &cause, NULL);
		if (cause != Q850_UNSET)
			c->cause = cause;
		return DP_HANGUP;
	case DP_APP_BUSY:
		c->cause = Q850_USER_BUSY;
		return DP_HANGUP;
	case DP_APP_CONGESTION:
		c->cause = Q850_NORMAL_CIRCUIT_CONGESTION;
		return DP_HANGUP;
	case DP_APP_DIAL:
		return dial_start(c, args);
	case DP_APP_PLAYBACK:
		return app_playback(c, args);
	case DP_APP_ECHO:
		rtp_leg_echo(c->a.m.rtp);
		return DP_ASYNC;
	default:
		return DP_CONTINUE;
	}
}

int apps_chan_init(struct call *c)
{
	const struct sip_msg *req = sip_stx_request(c->a.inv_stx);
	struct dp_chan_ops ops = {
		.var = chan_var,
		.set = chan_set,
		.app = chan_app,
		.arg = c,
	};

	/* PJSIP_HEADER() reads the INVITE after its transaction is over. */
	c->invite = malloc(req->len ? req->len : 1);
	if (!c->invite)
		return ENOMEM;
	memcpy(c->invite, req->buf, req->len);
	c->invite_len = req->len;
	return dp_chan_alloc(&c->dp, &ops);
}
