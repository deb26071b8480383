/*
 * dialopts.c - what Dial()'s options do to a call once dial.c has read
 * them (config/dpargs.h: r, m, g, L, D): ringing at once, the caller going
 * on in the dialplan when the callee hangs up, the call's time limit and
 * its warnings, DTMF sent to either party.  Part of the call engine
 * (call_int.h): it acts on the call's legs and relays as dial.c does.
 *
 * Digits go out as the leg's phone takes keys (its endpoint's dtmf_mode):
 * RFC 4733 events on the negotiated telephone-event payload type, played
 * by the relay in place of what it forwards, or SIP INFO
 * application/dtmf-relay.  While they go out, the two phones do not hear
 * each other (Asterisk sends them before it bridges, too); the bridge is
 * made again after the last one.
 *
 * The warning of L(x:y:z) is a prompt played to the caller: the file named
 * by the channel variable LIMIT_WARNING_FILE, else "beep".  Asterisk says
 * the time left by default; a beep carries the same news without needing
 * the say.conf rules, and the caller does not hear the callee while it
 * plays (a beep is short).  LIMIT_PLAYAUDIO_CALLER false: no warning.
 * Not honoured: LIMIT_PLAYAUDIO_CALLEE (a warning to the callee),
 * LIMIT_TIMEOUT_FILE and LIMIT_CONNECT_FILE (prompts at the end and at
 * the start).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "media/rtpdtmf.h"
#include "pbx/call_int.h"
#include "pbx/prompthold.h"
#include "util/log.h"

#define DTMF_GAP_MS    100    /* between two RFC 4733 events */
#define DTMF_INFO_MS   250    /* app_dial's 'between' for ast_dtmf_stream() */
#define DTMF_PAUSE_MS  500    /* 'w' */
#define LIMIT_DEFAULT_WARNING "beep"

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

void dialopts_set(struct call *c, const struct dp_dial_opts *o)
{
	struct dial_opts_run *r = &c->dopt;

	dialopts_stop(c);
	r->ringback = o->ringback;
	r->music = o->music;
	copy(r->music_class, sizeof(r->music_class), o->music_class);
	r->go_on = o->go_on;
	r->limit_ms = o->limit_ms;
	r->warn_ms = o->warn_ms;
	r->repeat_ms = o->repeat_ms;
	copy(r->dtmf_called, sizeof(r->dtmf_called), o->dtmf_called);
	copy(r->dtmf_calling, sizeof(r->dtmf_calling), o->dtmf_calling);
	copy(r->dtmf_progress, sizeof(r->dtmf_progress), o->dtmf_progress);
	r->progress_sent = false;
}

void dialopts_callee_sdp(struct leg *b, const struct sdp_session *sdp)
{
	struct sdp_codec_choice ch;
	int idx = sdp_audio_index(sdp);

	/* The callee takes events on the type its SDP names (our offer's
	 * numbers, unless it chose others). */
	if (idx >= 0 && !sdp_first_codec(sdp, (unsigned)idx, &ch) && ch.te_pt >= 0)
		b->m.te_pt = ch.te_pt;
}

bool dialopts_entertained(const struct call *c)
{
	return c->dopt.ringback || c->dopt.music;
}

/* ---- DTMF ---- */

static void dtmf_step(void *arg);

/* The sequence is over (or cut): the phones hear each other again. */
static void dtmf_done(struct call *c)
{
	struct dial_opts_run *r = &c->dopt;
	struct leg *b = r->dtmf_peer;

	tmr_cancel(c->pbx->tmrq, &r->dtmf_tmr);
	r->dtmf_playing = NULL;
	r->dtmf_leg = NULL;
	r->dtmf_next = NULL;
	r->dtmf_then = NULL;
	r->dtmf_peer = NULL;
	r->dtmf_relaying = false;
	if (c->phase == CALL_OVER || !b || b->state == LEG_ENDED || !b->m.rtp ||
	    !c->a.m.rtp)
		return;
	if (c->peer == b || (!c->peer && c->phase == CALL_DIALING && c->early))
		rtp_leg_connect(c->a.m.rtp, b->m.rtp);
}

static void no_response(int err, const struct sip_msg *resp, void *arg)
{
	(void)err;
	(void)resp;
	(void)arg;
}

/* RFC 2976 INFO with application/dtmf-relay, as chan_pjsip sends it. */
static int send_info(struct call *c, struct leg *l, char digit)
{
	struct sbuf sb;
	struct sip_peer dst;
	char branch[48], body[48];
	struct pl b;
	int err;

	if (!l->dlg)
		return ENOTCONN;
	snprintf(body, sizeof(body), "Signal=%c\r\nDuration=%d\r\n", digit,
		 RTP_DTMF_EVENT_MS);
	b.p = body;
	b.l = strlen(body);
	sbuf_init(&sb);
	sip_stack_new_branch(c->pbx->stack, branch, sizeof(branch));
	err = sip_dialog_request(l->dlg, c->pbx->stack, "INFO", 0, branch, NULL,
				 "application/dtmf-relay", &b, &sb, &dst);
	if (!err)
		err = sip_ctx_send(c->pbx->stack, NULL, &dst, sb.p, sb.len, no_response, NULL);
	sbuf_free(&sb);
	return err;
}

/* How leg l's phone takes keys: 'r' RFC 4733, 'i' INFO, 0 not at all
 * (inband, which KubeVox does not generate). */
static char dtmf_path(struct leg *l)
{
	enum cfg_dtmf_mode mode = l->ep ? l->ep->dtmf_mode : CFG_DTMF_RFC4733;

	if (mode == CFG_DTMF_INFO)
		return 'i';
	/* A callee whose SDP we have not read (its 183 while r or m keeps
	 * early media away): the type our offer named. */
	if (l->m.te_pt < 0 && l->uac && l->offer)
		dialopts_callee_sdp(l, l->offer);
	if (l->m.te_pt >= 0)
		return 'r';
	return mode == CFG_DTMF_AUTO_INFO ? 'i' : 0;
}

/* The next character of the sequence; each step ends with a timer or a
 * play whose end comes back through dialopts_play_done(). */
static void dtmf_step(void *arg)
{
	struct call *c = arg;
	struct dial_opts_run *r = &c->dopt;
	struct rtp_frames f;

	while (c->phase != CALL_OVER && r->dtmf_next) {
		struct leg *l = r->dtmf_leg;
		char d = *r->dtmf_next, path;

		if (!d) {
			/* The called party's string, then the caller's. */
			if (r->dtmf_then) {
				r->dtmf_next = r->dtmf_then;
				r->dtmf_then = NULL;
				r->dtmf_leg = &c->a;
				continue;
			}
			break;
		}
		r->dtmf_next++;
		if (d == 'w' || d == 'W') {
			tmr_start(c->pbx->tmrq, &r->dtmf_tmr, DTMF_PAUSE_MS, dtmf_step, c);
			return;
		}
		if (l->state == LEG_ENDED || !l->m.rtp)
			break;
		path = dtmf_path(l);
		if (path == 'i' && !send_info(c, l, d >= 'a' && d <= 'd' ? d - 'a' + 'A' : d)) {
			log_event(LOG_DEBUG, "dial_dtmf", "uniqueid=%s channel=%s digit=%c via=info",
				  c->uniqueid, l->chan, d);
			tmr_start(c->pbx->tmrq, &r->dtmf_tmr, DTMF_INFO_MS, dtmf_step, c);
			return;
		}
		if (path == 'r' && !rtp_dtmf_frames(d, &f) &&
		    !rtp_leg_play_event(l->m.rtp, &f, (uint8_t)l->m.te_pt)) {
			log_event(LOG_DEBUG, "dial_dtmf", "uniqueid=%s channel=%s digit=%c via=rfc4733",
				  c->uniqueid, l->chan, d);
			r->dtmf_playing = l;
			return;
		}
		log_event(LOG_WARN, "dial_dtmf_failed", "uniqueid=%s channel=%s digit=%c reason=%s",
			  c->uniqueid, l->chan, d, path ? "send" : "no_telephone_event");
	}
	dtmf_done(c);
}

/* Send s to leg l, then (when given) then to the caller; peer: the leg
 * to bridge the caller with after. */
static void dtmf_start(struct call *c, struct leg *l, const char *s, const char *then,
		       struct leg *peer)
{
	struct dial_opts_run *r = &c->dopt;

	tmr_cancel(c->pbx->tmrq, &r->dtmf_tmr);
	r->dtmf_playing = NULL;
	r->dtmf_leg = l;
	r->dtmf_next = s;
	r->dtmf_then = then && *then ? then : NULL;
	r->dtmf_peer = peer;
	dtmf_step(c);
}

/*
 * As Asterisk's bridge between channels of different dtmf_mode: RFC 4733
 * events are relayed as they came, so only an INFO phone needs them again,
 * as INFO; a key that came by INFO becomes an INFO, or events (the relay
 * pauses for each, as for D()'s digits).  A held call is left alone: its
 * music would be cut.
 */
void dialopts_dtmf_bridged(struct call *c, struct leg *from, char digit, bool by_info)
{
	struct dial_opts_run *r = &c->dopt;
	struct leg *o;
	char path;
	size_t n;

	if (c->phase != CALL_BRIDGED || !c->peer || digit == '!')
		return;
	o = from == &c->a ? c->peer : &c->a;
	if (o->state == LEG_ENDED || !o->m.rtp)
		return;
	path = dtmf_path(o);
	if (path == 'i') {
		if (send_info(c, o, digit >= 'a' && digit <= 'd' ? digit - 'a' + 'A' : digit))
			log_event(LOG_WARN, "dtmf_bridged_failed", "uniqueid=%s channel=%s "
				  "digit=%c via=info", c->uniqueid, o->chan, digit);
		else
			log_event(LOG_INFO, "dtmf_bridged", "uniqueid=%s channel=%s digit=%c "
				  "via=info", c->uniqueid, o->chan, digit);
		return;
	}
	if (path != 'r' || !by_info || c->a.held || c->peer->held || c->a.moh ||
	    c->peer->moh)
		return;
	if (r->dtmf_relaying && r->dtmf_leg == o) {
		/* Keys faster than their events: after the ones going out. */
		n = strlen(r->dtmf_relay);
		if (n + 1 < sizeof(r->dtmf_relay)) {
			r->dtmf_relay[n] = digit;
			r->dtmf_relay[n + 1] = '\0';
		}
		return;
	}
	if (r->dtmf_next) {
		log_event(LOG_WARN, "dtmf_bridged_failed", "uniqueid=%s channel=%s digit=%c "
			  "reason=busy", c->uniqueid, o->chan, digit);
		return;
	}
	log_event(LOG_INFO, "dtmf_bridged", "uniqueid=%s channel=%s digit=%c via=rfc4733",
		  c->uniqueid, o->chan, digit);
	r->dtmf_relay[0] = digit;
	r->dtmf_relay[1] = '\0';
	r->dtmf_relaying = true;
	dtmf_start(c, o, r->dtmf_relay, NULL, c->peer);
}

void dialopts_progress(struct call *c, struct leg *b)
{
	struct dial_opts_run *r = &c->dopt;

	if (!r->dtmf_progress[0] || r->progress_sent)
		return;
	r->progress_sent = true;
	dtmf_start(c, b, r->dtmf_progress, NULL, b);
}

/* ---- L(x:y:z) ---- */

static void limit_warn(void *arg);

static void warn_cut(struct call *c)
{
	struct dial_opts_run *r = &c->dopt;

	if (r->warn_prompt) {
		prompt_holds_release(c->pbx->holds, r->warn_prompt);
		r->warn_prompt = NULL;
	}
}

/* LIMIT_PLAYAUDIO_CALLER: yes unless set false (Asterisk's ast_true()). */
static bool play_to_caller(const struct call *c)
{
	static const char *const yes[] = { "yes", "true", "y", "t", "1", "on" };
	const char *v = dp_chan_var(c->dp, "LIMIT_PLAYAUDIO_CALLER");

	if (!v)
		return true;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(v, yes[i]))
			return true;
	}
	return false;
}

static void limit_warn(void *arg)
{
	struct call *c = arg;
	struct dial_opts_run *r = &c->dopt;
	const char *file = dp_chan_var(c->dp, "LIMIT_WARNING_FILE");
	const char *lang = c->a.ep && c->a.ep->language ? c->a.ep->language : "en";
	const struct prompt *p = NULL;
	struct rtp_frames f;
	int err = ENOTSUP;

	if (c->phase != CALL_BRIDGED)
		return;
	/* The next one, z ms on, while the call has that long left. */
	r->warn_at += r->repeat_ms;
	if (r->repeat_ms && r->warn_at < r->limit_ms)
		tmr_start(c->pbx->tmrq, &r->warn_tmr, r->repeat_ms, limit_warn, c);
	if (!file || !*file)
		file = LIMIT_DEFAULT_WARNING;
	if (!play_to_caller(c))
		return;
	/* Digits going out, or a warning still playing: this one is skipped. */
	if (r->dtmf_next || r->warn_prompt)
		return;
	if (c->a.m.codec == CFG_CODEC_PCMU || c->a.m.codec == CFG_CODEC_PCMA)
		err = prompt_get(c->pbx->prompts, lang, file, c->a.m.codec, &p);
	if (!err) {
		memset(&f, 0, sizeof(f));
		f.data = p->frames;
		f.size = p->frame_bytes;
		f.count = p->n_frames;
		err = rtp_leg_play(c->a.m.rtp, &f, c->a.m.pt, true, false);
		if (err)
			prompt_release(c->pbx->prompts, p);
	}
	if (err) {
		log_event(LOG_WARN, "dial_limit_warning_failed", "uniqueid=%s file=%s error=%d",
			  c->uniqueid, file, err);
		return;
	}
	r->warn_prompt = p;
	log_event(LOG_INFO, "dial_limit_warning", "uniqueid=%s file=%s", c->uniqueid, file);
}

static void limit_reached(void *arg)
{
	struct call *c = arg;
	struct leg *b = c->peer;

	if (c->phase != CALL_BRIDGED || !b)
		return;
	log_event(LOG_INFO, "dial_limit_reached", "uniqueid=%s channel=%s limit_ms=%llu",
		  c->uniqueid, b->chan, (unsigned long long)c->dopt.limit_ms);
	call_leg_hangup(b);
	if (!dialopts_callee_gone(c))
		call_end(c, Q850_NORMAL_CLEARING);
}

/* ---- the call's moments ---- */

void dialopts_answered(struct call *c)
{
	struct dial_opts_run *r = &c->dopt;

	if (r->limit_ms) {
		tmr_start(c->pbx->tmrq, &r->limit_tmr, r->limit_ms, limit_reached, c);
		if (r->warn_ms) {
			r->warn_at = r->limit_ms - r->warn_ms;
			tmr_start(c->pbx->tmrq, &r->warn_tmr, r->warn_at, limit_warn, c);
		}
	}
	if (r->dtmf_called[0] || r->dtmf_calling[0])
		dtmf_start(c, r->dtmf_called[0] ? c->peer : &c->a,
			   r->dtmf_called[0] ? r->dtmf_called : r->dtmf_calling,
			   r->dtmf_called[0] ? r->dtmf_calling : NULL, c->peer);
	else if (r->dtmf_next)
		/* Progress digits still going out: the answer cuts them. */
		dtmf_done(c);
}

bool dialopts_play_done(struct call *c, struct leg *l)
{
	struct dial_opts_run *r = &c->dopt;

	if (r->dtmf_playing == l) {
		r->dtmf_playing = NULL;
		tmr_start(c->pbx->tmrq, &r->dtmf_tmr, DTMF_GAP_MS, dtmf_step, c);
		return true;
	}
	if (l == &c->a && r->warn_prompt) {
		prompt_release(c->pbx->prompts, r->warn_prompt);
		r->warn_prompt = NULL;
		if (c->phase == CALL_BRIDGED && c->peer && c->peer->m.rtp && !r->dtmf_next)
			rtp_leg_connect(c->a.m.rtp, c->peer->m.rtp);
		return true;
	}
	return false;
}

bool dialopts_callee_gone(struct call *c)
{
	struct leg *b = c->peer;

	if (!c->dopt.go_on || c->phase != CALL_BRIDGED || !b)
		return false;
	dialopts_stop(c);
	if (b->m.rtp)
		rtp_leg_stop(b->m.rtp);
	if (c->a.m.rtp)
		rtp_leg_stop(c->a.m.rtp);
	c->peer = NULL;
	c->phase = CALL_DIALPLAN;
	log_event(LOG_INFO, "dial_go_on", "uniqueid=%s channel=%s dialstatus=%s",
		  c->uniqueid, b->chan, c->dialstatus);
	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
	return true;
}

void dialopts_stop(struct call *c)
{
	struct dial_opts_run *r = &c->dopt;

	tmr_cancel(c->pbx->tmrq, &r->limit_tmr);
	tmr_cancel(c->pbx->tmrq, &r->warn_tmr);
	tmr_cancel(c->pbx->tmrq, &r->dtmf_tmr);
	r->dtmf_playing = NULL;
	r->dtmf_leg = NULL;
	r->dtmf_next = NULL;
	r->dtmf_then = NULL;
	r->dtmf_peer = NULL;
	warn_cut(c);
}
