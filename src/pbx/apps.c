/*
 * apps.c - the call as a dialplan channel: its variables (CALLERID(),
 * UNIQUEID, HANGUPCAUSE, ...) and the applications that act on the call:
 * Answer, Ringing, Progress, Wait, Hangup, Busy, Congestion, Dial,
 * Playback, Echo, MusicOnHold (its music is hold.c's), and the IVR's:
 * Background, WaitExten, Read, SayDigits, SayNumber, with the caller's keys (RFC 4733 or SIP INFO, as the
 * endpoint's dtmf_mode says) and the extension they dial collected as
 * Asterisk's __ast_pbx_run() does.  Control-flow applications are the
 * interpreter's; VoiceMail() and VoiceMailMain() are voicemail.c's, which
 * plays and reads keys through the functions below.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "config/q850.h"
#include "pbx/call_int.h"
#include "pbx/prompthold.h"
#include "pbx/say.h"
#include "pbx/voicemail.h"
#include "util/log.h"
#include "util/pl.h"

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

#define DIGIT_TIMEOUT_MS    5000   /* Asterisk's dtimeoutms */
#define RESPONSE_TIMEOUT_MS 10000  /* its rtimeoutms */
/* A day: far longer than any caller waits for a menu, and a timer's
 * milliseconds stay well inside 32 bits. */
#define TIMEOUT_MAX_MS      86400000u

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
	} else if (IS("TIMEOUT(digit)")) {
		sbuf_printf(out, "%.3f", c->dtimeout_ms / 1000.0);
	} else if (IS("TIMEOUT(response)")) {
		sbuf_printf(out, "%.3f", c->rtimeout_ms / 1000.0);
	} else if (vm_func_known(name, len)) {
		return vm_func(c, name, len, out);
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

/*
 * Set(TIMEOUT(digit|response)=seconds), as func_timeout: seconds with a
 * fraction; 0 or less is Asterisk's "no timeout", which here is a day.
 * TIMEOUT(absolute) is not supported (the caller gets the warning of a
 * function that cannot be set).
 */
static int timeout_set(uint32_t *ms, const char *value)
{
	char *end;
	double s = strtod(value, &end);

	while (*end == ' ')
		end++;
	if (end == value || *end || s != s)
		return EINVAL;
	if (s <= 0 || s * 1000.0 >= TIMEOUT_MAX_MS)
		*ms = TIMEOUT_MAX_MS;
	else
		*ms = (uint32_t)(s * 1000.0);
	return 0;
}

/* Set(CALLERID(name|num|pres)=...), Set(TIMEOUT(...)=...) */
static int chan_set(struct dp_chan *dc, const char *name, const char *value,
		    void *arg)
{
	struct call *c = arg;

	if (!strcmp(name, "TIMEOUT(digit)"))
		return timeout_set(&c->dtimeout_ms, value);
	if (!strcmp(name, "TIMEOUT(response)"))
		return timeout_set(&c->rtimeout_ms, value);
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

int apps_answer(struct call *c, uint16_t scode)
{
	return answer_a(c, scode);
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

/* ---- Playing prompts: Playback, Background, Read, SayDigits, SayNumber ---- */


static const char *play_language(const struct call *c)
{
	if (c->play_lang[0])
		return c->play_lang;
	return c->a.ep && c->a.ep->language ? c->a.ep->language : "en";
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
	for (;;) {
		if (!c->play_next || !*c->play_next)
			return false;
		name = c->play_next;
		c->play_next = strchr(name, '&');
		if (c->play_next)
			*c->play_next++ = '\0';
		if (c->a.m.codec != CFG_CODEC_PCMU && c->a.m.codec != CFG_CODEC_PCMA)
			err = ENOTSUP;
		else if (c->play_spool && *name == '/')
			err = prompt_get_file(c->pbx->prompts, name, c->a.m.codec, &p);
		else
			err = prompt_get(c->pbx->prompts, play_language(c), name,
					 c->a.m.codec, &p);
		if (!err) {
			f.data = p->frames;
			f.size = p->frame_bytes;
			f.count = p->n_frames;
			f.ts_step = 0;
			err = rtp_leg_play(c->a.m.rtp, &f, c->a.m.pt, true, false);
		}
		if (!err)
			break;
		log_event(LOG_WARN, "playback_failed", "uniqueid=%s file=%s error=%d",
			  c->uniqueid, name, err);
		if (p)
			prompt_release(c->pbx->prompts, p);
		p = NULL;
		/* ast_say_*() go on with the next file; the others stop. */
		if (c->play_say && err == ENOENT)
			continue;
		c->play_failed = true;
		c->play_next = NULL;
		return false;
	}
	c->prompt = p;
	return true;
}

/* A key cut the prompt short: the relay may still read its frames. */
static void play_cut(struct call *c)
{
	if (c->prompt) {
		rtp_leg_stop(c->a.m.rtp);
		prompt_holds_release(c->pbx->holds, c->prompt);
		c->prompt = NULL;
	}
	free(c->play_list);
	c->play_list = c->play_next = NULL;
}

static enum dp_result read_wait(struct call *c, uint64_t ms);

/* The list is over (all played, or one failed): what the application
 * does next. */
static enum dp_result play_over(struct call *c)
{
	const char *status = c->play_failed ? "FAILED" : "SUCCESS";

	free(c->play_list);
	c->play_list = c->play_next = NULL;
	switch (c->app) {
	case DP_APP_BACKGROUND:
		c->ivr.state = IVR_NONE;
		dp_chan_var_set(c->dp, "BACKGROUNDSTATUS", status);
		return DP_CONTINUE;
	case DP_APP_READ:
		/* ast_app_getdata(): the first key is awaited after the last
		 * prompt. */
		return read_wait(c, c->ivr.timeout_ms ? c->ivr.timeout_ms :
				 c->rtimeout_ms);
	case DP_APP_PLAYBACK:
		dp_chan_var_set(c->dp, "PLAYBACKSTATUS", status);
		return DP_CONTINUE;
	case DP_APP_VOICEMAIL:
	case DP_APP_VOICEMAILMAIN:
		return vm_play_over(c);
	default:
		return DP_CONTINUE;
	}
}

/* Play files ('&'-separated): DP_ASYNC while they play, else what comes
 * after them. */
static enum dp_result play_begin(struct call *c, const char *files, bool say)
{
	free(c->play_list);
	c->play_list = strdup(files);
	if (!c->play_list)
		return DP_HANGUP;
	c->play_next = c->play_list;
	c->play_failed = false;
	c->play_say = say;
	/* Only voicemail's own lists may name files of the spool. */
	c->play_spool = c->app == DP_APP_VOICEMAIL || c->app == DP_APP_VOICEMAILMAIN;
	/* A caller that made no offer tells where its media goes in the ACK
	 * of the 200 about to go out: frames sent before would be lost.  (An
	 * early-media preview has no ACK: the relay latches on what the
	 * caller sends, if anything.) */
	if (c->a.m.late && c->answered) {
		c->play_on_ack = true;
		return DP_ASYNC;
	}
	if (play_next(c))
		return DP_ASYNC;
	return play_over(c);
}

void apps_play_done(struct call *c)
{
	if (c->phase == CALL_OVER || !c->play_list)
		return;
	if (!play_next(c))
		call_resume(c, dp_chan_resume(c->dp, play_over(c)));
}

void apps_play_start(struct call *c)
{
	c->play_on_ack = false;
	if (c->phase == CALL_OVER || !c->play_list)
		return;
	if (!play_next(c))
		call_resume(c, dp_chan_resume(c->dp, play_over(c)));
}

/* Answer as the application wants before it plays: 0, or -1 on failure. */
static int play_answer(struct call *c, bool noanswer)
{
	/* Asterisk answers first unless told not to; early media then needs
	 * the 183 that Progress() would have sent. */
	if (!c->answered && !noanswer && answer_a(c, 200))
		return -1;
	if (!c->answered && noanswer && !c->early && answer_a(c, 183))
		return -1;
	return 0;
}

static enum dp_result app_playback(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : ""), q[200];
	struct dp_report rep = { 0 };
	struct dp_playback pb;
	enum dp_result res;

	if (!buf)
		return DP_HANGUP;
	/* The parser --check uses; app_playback fails, and the call hangs
	 * up, only without any argument. */
	if (dp_playback_parse(buf, &pb, &rep)) {
		log_event(LOG_WARN, "playback_bad_args", "uniqueid=%s error=%s",
			  c->uniqueid, log_q(q, sizeof(q), rep.why, strlen(rep.why)));
		goto fail;
	}
	if (!c->answered && pb.skip) {
		dp_chan_var_set(c->dp, "PLAYBACKSTATUS", "SUCCESS");
		free(buf);
		return DP_CONTINUE;
	}
	if (play_answer(c, pb.noanswer))
		goto fail;
	c->play_lang[0] = '\0';
	res = play_begin(c, pb.files, false);
	free(buf);
	return res;
 fail:
	free(buf);
	return DP_HANGUP;
}

enum dp_result apps_play(struct call *c, const char *files)
{
	c->play_lang[0] = '\0';
	return play_begin(c, files, true);
}

void apps_play_cut(struct call *c)
{
	play_cut(c);
}

int apps_play_answer(struct call *c)
{
	return c->answered ? 0 : play_answer(c, false);
}

/* ---- Collecting an extension: __ast_pbx_run() after a key ---- */

static enum dp_result collect_next(struct call *c);

static void collect_timeout(void *arg)
{
	struct call *c = arg;

	c->ivr.state = IVR_NONE;
	call_resume(c, dp_chan_resume(c->dp, dp_chan_dialled(c->dp, c->ivr.digits)));
}

/* collect_digits(): wait for more while a longer extension could match. */
static enum dp_result collect_next(struct call *c)
{
	if (c->ivr.n < IVR_MAX_DIGITS &&
	    dp_chan_match(c->dp, NULL, c->ivr.digits, DP_MATCHMORE)) {
		c->ivr.state = IVR_COLLECT;
		tmr_start(c->pbx->tmrq, &c->app_tmr, c->dtimeout_ms, collect_timeout, c);
		return DP_ASYNC;
	}
	c->ivr.state = IVR_NONE;
	log_event(LOG_INFO, "ivr_dialled", "uniqueid=%s exten=%s", c->uniqueid,
		  c->ivr.digits);
	return dp_chan_dialled(c->dp, c->ivr.digits);
}

static enum dp_result collect_start(struct call *c, char digit)
{
	c->ivr.digits[0] = digit;
	c->ivr.digits[1] = '\0';
	c->ivr.n = 1;
	return collect_next(c);
}

/* ---- Background, WaitExten ---- */

static enum dp_result app_background(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : ""), q[200];
	struct dp_report rep = { 0 };
	struct dp_background b;
	const char *ctx;
	enum dp_result res;

	if (!buf)
		return DP_HANGUP;
	if (dp_background_parse(buf, &b, &rep)) {
		log_event(LOG_WARN, "background_bad_args", "uniqueid=%s error=%s",
			  c->uniqueid, log_q(q, sizeof(q), rep.why, strlen(rep.why)));
		free(buf);
		return DP_HANGUP;
	}
	ctx = *b.context ? b.context : dp_chan_context(c->dp);
	if (strlen(ctx) > DP_MAX_NAME || (!c->answered && !b.skip && play_answer(c, b.noanswer))) {
		free(buf);
		return DP_HANGUP;
	}
	if (!c->answered && b.skip) {
		dp_chan_var_set(c->dp, "BACKGROUNDSTATUS", "SUCCESS");
		free(buf);
		return DP_CONTINUE;
	}
	memcpy(c->ivr.context, ctx, strlen(ctx) + 1);
	c->ivr.matchexten = b.matchexten;
	snprintf(c->play_lang, sizeof(c->play_lang), "%s", b.lang);
	c->ivr.state = IVR_BACKGROUND;
	res = play_begin(c, b.files, false);
	free(buf);
	return res;
}

/* A key stopped Background(). */
static enum dp_result background_key(struct call *c, char digit)
{
	char exten[2] = { digit, '\0' };

	play_cut(c);
	c->ivr.state = IVR_NONE;
	dp_chan_var_set(c->dp, "BACKGROUNDSTATUS", "SUCCESS");
	/* pbx_builtin_background(): a one-digit extension of its context that
	 * nothing longer could extend is gone to at once. */
	if (dp_chan_match(c->dp, c->ivr.context, exten, DP_CANMATCH) &&
	    !dp_chan_match(c->dp, c->ivr.context, exten, DP_MATCHMORE)) {
		log_event(LOG_INFO, "ivr_dialled", "uniqueid=%s exten=%s context=%s",
			  c->uniqueid, exten, c->ivr.context);
		if (dp_chan_goto(c->dp, c->ivr.context, exten, 1))
			return DP_HANGUP;
		return DP_JUMPED;
	}
	return collect_start(c, digit);
}

static void waitexten_timeout(void *arg)
{
	struct call *c = arg;

	c->ivr.state = IVR_NONE;
	hold_music_a_off(c);
	call_resume(c, dp_chan_resume(c->dp, dp_chan_timeout(c->dp)));
}

static enum dp_result app_waitexten(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : "");
	struct dp_waitexten w;

	if (!buf)
		return DP_HANGUP;
	dp_waitexten_parse(buf, &w, NULL);
	/* Option m: pbx_builtin_waitexten() indicates hold, with its class. */
	if (w.moh)
		hold_music_a(c, w.moh_class);
	free(buf);
	c->ivr.state = IVR_WAITEXTEN;
	tmr_start(c->pbx->tmrq, &c->app_tmr, w.ms ? w.ms : c->rtimeout_ms,
		  waitexten_timeout, c);
	return DP_ASYNC;
}

/* ---- MusicOnHold, StartMusicOnHold, StopMusicOnHold ---- */

static void moh_done(void *arg)
{
	struct call *c = arg;

	hold_music_a_off(c);
	call_resume(c, dp_chan_resume(c->dp, DP_CONTINUE));
}

/* app_moh: MusicOnHold() plays until hang-up or its duration, Start...()
 * goes on with the dialplan under the music.  A class that cannot start
 * is a warning and the next priority, as app_moh. */
static enum dp_result app_moh(struct call *c, enum dp_app app, const char *args)
{
	char *buf = strdup(args ? args : "");
	struct dp_moh m;
	int err;

	if (!buf)
		return DP_HANGUP;
	dp_moh_parse(buf, &m, NULL);
	if (!c->answered && answer_a(c, 200)) {
		free(buf);
		return DP_HANGUP;
	}
	err = hold_music_a(c, m.class);
	free(buf);
	if (err || app == DP_APP_STARTMUSICONHOLD)
		return DP_CONTINUE;
	if (m.duration_ms)
		tmr_start(c->pbx->tmrq, &c->app_tmr, m.duration_ms, moh_done, c);
	return DP_ASYNC;
}

/* ---- Read ---- */

static enum dp_result read_attempt(struct call *c);

/* An attempt is over: the variable, then another attempt or the end. */
static enum dp_result read_end(struct call *c, const char *status)
{
	c->ivr.digits[c->ivr.n] = '\0';
	dp_chan_var_set(c->dp, c->ivr.var, c->ivr.digits);
	if (!c->ivr.n && --c->ivr.tries)
		return read_attempt(c);
	c->ivr.state = IVR_NONE;
	log_event(LOG_INFO, "ivr_read", "uniqueid=%s status=%s digits=%zu",
		  c->uniqueid, status, c->ivr.n);
	dp_chan_var_set(c->dp, "READSTATUS", status);
	free(c->ivr.var);
	c->ivr.var = NULL;
	return DP_CONTINUE;
}

static void read_timeout(void *arg)
{
	struct call *c = arg;

	call_resume(c, dp_chan_resume(c->dp, read_end(c, "TIMEOUT")));
}

static enum dp_result read_wait(struct call *c, uint64_t ms)
{
	c->ivr.state = IVR_READ;
	tmr_start(c->pbx->tmrq, &c->app_tmr, ms, read_timeout, c);
	return DP_ASYNC;
}

static enum dp_result read_attempt(struct call *c)
{
	c->ivr.n = 0;
	c->ivr.state = IVR_READ;
	if (*c->ivr.files)
		return play_begin(c, c->ivr.files, false);
	return read_wait(c, c->ivr.timeout_ms ? c->ivr.timeout_ms : c->rtimeout_ms);
}

/* ast_readstring_full(), one key. */
static enum dp_result read_key(struct call *c, char digit)
{
	play_cut(c);
	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	if (strchr(c->ivr.term, digit))
		return read_end(c, "OK");
	c->ivr.digits[c->ivr.n++] = digit;
	if (c->ivr.n >= c->ivr.maxdigits)
		return read_end(c, "OK");
	return read_wait(c, c->ivr.timeout_ms ? c->ivr.timeout_ms : c->dtimeout_ms);
}

static enum dp_result app_read(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : "");
	struct dp_read r;
	size_t vl, fl;

	if (!buf)
		return DP_HANGUP;
	dp_read_parse(buf, &r, NULL);
	if (!*r.var) {
		log_event(LOG_WARN, "read_bad_args", "uniqueid=%s error=\"no variable\"",
			  c->uniqueid);
		free(buf);
		return DP_CONTINUE;
	}
	if (!c->answered && r.skip) {
		dp_chan_var_set(c->dp, r.var, "");
		dp_chan_var_set(c->dp, "READSTATUS", "SKIPPED");
		free(buf);
		return DP_CONTINUE;
	}
	if (!c->answered && play_answer(c, r.noanswer)) {
		free(buf);
		return DP_HANGUP;
	}
	vl = strlen(r.var) + 1;
	fl = strlen(r.files) + 1;
	free(c->ivr.var);
	c->ivr.var = malloc(vl + fl);
	if (!c->ivr.var) {
		free(buf);
		return DP_HANGUP;
	}
	memcpy(c->ivr.var, r.var, vl);
	memcpy(c->ivr.var + vl, r.files, fl);
	c->ivr.files = c->ivr.var + vl;
	c->ivr.maxdigits = r.maxdigits < IVR_MAX_DIGITS ? r.maxdigits : IVR_MAX_DIGITS;
	c->ivr.tries = r.attempts;
	c->ivr.timeout_ms = r.timeout_ms;
	snprintf(c->ivr.term, sizeof(c->ivr.term), "%s", r.terminators);
	c->play_lang[0] = '\0';
	free(buf);
	return read_attempt(c);
}

/* ---- SayDigits, SayNumber ---- */

static enum dp_result app_say(struct call *c, enum dp_app app, const char *args)
{
	char *buf = strdup(args ? args : ""), q[200];
	struct dp_report rep = { 0 };
	struct dp_saynumber sn;
	enum dp_result res;
	struct sbuf files;
	int err;

	if (!buf)
		return DP_HANGUP;
	sbuf_init(&files);
	if (app == DP_APP_SAYDIGITS) {
		err = say_digits(buf, &files);
	} else {
		if (dp_saynumber_parse(buf, &sn, &rep)) {
			log_event(LOG_WARN, "saynumber_bad_args", "uniqueid=%s error=%s",
				  c->uniqueid, log_q(q, sizeof(q), rep.why, strlen(rep.why)));
			res = DP_HANGUP;
			goto out;
		}
		err = sn.valid ? say_number(sn.number, play_language(c), sn.gender, &files) : 0;
		if (err == EINVAL)
			log_event(LOG_WARN, "saynumber_too_large", "uniqueid=%s number=%d",
				  c->uniqueid, sn.number);
	}
	if (err == ENOMEM || sbuf_err(&files) || !sbuf_cstr(&files)) {
		res = DP_HANGUP;
		goto out;
	}
	/* ast_say_*() play on the channel as it is: before answer, as
	 * early media. */
	if (!files.len || play_answer(c, true)) {
		res = files.len ? DP_HANGUP : DP_CONTINUE;
		goto out;
	}
	c->play_lang[0] = '\0';
	res = play_begin(c, files.p, true);
 out:
	sbuf_free(&files);
	free(buf);
	return res;
}

/* ---- Keys ---- */

static void key(struct call *c, char digit)
{
	enum dp_result res;

	if (c->phase != CALL_DIALPLAN || !c->dp_async)
		return;
	switch (c->ivr.state) {
	case IVR_BACKGROUND:
		if (c->ivr.matchexten) {
			char exten[2] = { digit, '\0' };

			if (!dp_chan_match(c->dp, c->ivr.context, exten, DP_MATCH))
				return;
		}
		res = background_key(c, digit);
		break;
	case IVR_WAITEXTEN:
		tmr_cancel(c->pbx->tmrq, &c->app_tmr);
		res = collect_start(c, digit);
		break;
	case IVR_COLLECT:
		tmr_cancel(c->pbx->tmrq, &c->app_tmr);
		c->ivr.digits[c->ivr.n++] = digit;
		c->ivr.digits[c->ivr.n] = '\0';
		res = collect_next(c);
		break;
	case IVR_READ:
		res = read_key(c, digit);
		break;
	case IVR_VM:
		res = vm_key(c, digit);
		break;
	default:
		return;
	}
	if (res != DP_ASYNC)
		call_resume(c, dp_chan_resume(c->dp, res));
}

void apps_dtmf(struct call *c, struct leg *l, char digit)
{
	log_event(LOG_INFO, "dtmf", "uniqueid=%s channel=%s digit=%c", c->uniqueid,
		  l->chan, digit);
	if (l == &c->a && (!l->ep || l->ep->dtmf_mode != CFG_DTMF_INFO))
		key(c, digit);
	dialopts_dtmf_bridged(c, l, digit, false);
}

/* res_pjsip_dtmf_info's get_event(): a key, or '\0' for none. */
static char info_event(const char *v)
{
	char *end;
	unsigned long n;

	if (*v == '!' || *v == '*' || *v == '#' || (*v >= 'A' && *v <= 'D') ||
	    (*v >= 'a' && *v <= 'd'))
		return *v;
	if (*v < '0' || *v > '9')
		return '\0';
	n = strtoul(v, &end, 10);
	if (n > 16)
		return '\0';
	if (n < 10)
		return *v;
	return n == 10 ? '*' : n == 11 ? '#' : n == 16 ? '!' : (char)('A' + (n - 12));
}

/* The media type of a Content-Type, without its parameters. */
static bool type_is(const struct sip_hdr *ct, const char *type)
{
	struct pl t;
	const char *semi;

	if (!ct)
		return false;
	t = ct->val;
	semi = memchr(t.p, ';', t.l);
	if (semi)
		t.l = (size_t)(semi - t.p);
	pl_trim(&t);
	return pl_eqcase_str(&t, type);
}

uint16_t apps_info(struct call *c, struct leg *l, const struct sip_msg *req)
{
	const struct sip_hdr *ct = sip_msg_hdr(req, SIP_HDR_CONTENT_TYPE);
	enum cfg_dtmf_mode mode = l->ep ? l->ep->dtmf_mode : CFG_DTMF_RFC4733;
	char buf[64], *cur = buf, *line, event = '\0';

	if (!req->body.l)
		return 200;
	if (type_is(ct, "application/dtmf")) {
		if (pl_strcpy(&req->body, buf, sizeof(buf)))
			return 500;
		event = info_event(str_trim(buf));
	} else if (type_is(ct, "application/dtmf-relay")) {
		if (pl_strcpy(&req->body, buf, sizeof(buf)))
			return 500;
		while ((line = strsep(&cur, "\r\n"))) {
			char *v = strchr(line, '=');

			if (!v)
				continue;
			*v++ = '\0';
			if (!strcasecmp(str_trim(line), "signal")) {
				event = info_event(str_trim(v));
				if (!event)
					break;
			}
		}
	} else {
		return 200;
	}
	if (!event) {
		log_event(LOG_WARN, "dtmf_info_invalid", "uniqueid=%s channel=%s",
			  c->uniqueid, l->chan);
		return 500;
	}
	/* INFO counts with dtmf_mode info, and with auto_info when no
	 * telephone-event was agreed; otherwise it is answered, and
	 * ignored, as Asterisk does. */
	if (mode != CFG_DTMF_INFO && (mode != CFG_DTMF_AUTO_INFO || l->m.te_pt >= 0)) {
		log_event(LOG_INFO, "dtmf_info_ignored", "uniqueid=%s channel=%s digit=%c",
			  c->uniqueid, l->chan, event);
		return 200;
	}
	log_event(LOG_INFO, "dtmf", "uniqueid=%s channel=%s digit=%c source=info",
		  c->uniqueid, l->chan, event);
	if (l == &c->a && event != '!')
		key(c, event);
	dialopts_dtmf_bridged(c, l, event, true);
	return 200;
}

void apps_hangup(struct call *c)
{
	/* app_read: a caller who hangs up mid-Read leaves what was typed and
	 * READSTATUS HANGUP, for the 'h' extension. */
	if (c->ivr.state == IVR_READ && c->ivr.var) {
		c->ivr.digits[c->ivr.n] = '\0';
		dp_chan_var_set(c->dp, c->ivr.var, c->ivr.digits);
		dp_chan_var_set(c->dp, "READSTATUS", "HANGUP");
	}
	vm_hangup(c);
	c->ivr.state = IVR_NONE;
}

void apps_free(struct call *c)
{
	vm_call_free(c);
	free(c->ivr.var);
	c->ivr.var = NULL;
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
	xfer_app(c, app);
	/* Music started by StartMusicOnHold() (or a WaitExten(m) left behind)
	 * stops when another application takes the caller's media. */
	switch (app) {
	case DP_APP_DIAL: case DP_APP_PLAYBACK: case DP_APP_ECHO:
	case DP_APP_BACKGROUND: case DP_APP_WAITEXTEN: case DP_APP_READ:
	case DP_APP_SAYDIGITS: case DP_APP_SAYNUMBER: case DP_APP_MUSICONHOLD:
	case DP_APP_STARTMUSICONHOLD: case DP_APP_STOPMUSICONHOLD:
		hold_music_a_off(c);
		break;
	default:
		break;
	}

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
	case DP_APP_BACKGROUND:
		return app_background(c, args);
	case DP_APP_WAITEXTEN:
		return app_waitexten(c, args);
	case DP_APP_READ:
		return app_read(c, args);
	case DP_APP_SAYDIGITS:
	case DP_APP_SAYNUMBER:
		return app_say(c, app, args);
	case DP_APP_MUSICONHOLD:
	case DP_APP_STARTMUSICONHOLD:
		return app_moh(c, app, args);
	case DP_APP_STOPMUSICONHOLD:
		return DP_CONTINUE;
	case DP_APP_VOICEMAIL:
	case DP_APP_VOICEMAILMAIN:
		return vm_app(c, app, args);
	default:
		return DP_CONTINUE;
	}
}

int apps_chan_init(struct call *c)
{
	const struct sip_msg *req = c->a.inv_stx ? sip_stx_request(c->a.inv_stx) : NULL;
	struct dp_chan_ops ops = {
		.var = chan_var,
		.set = chan_set,
		.app = chan_app,
		.arg = c,
	};

	c->dtimeout_ms = DIGIT_TIMEOUT_MS;
	c->rtimeout_ms = RESPONSE_TIMEOUT_MS;
	/* PJSIP_HEADER() reads the INVITE after its transaction is over.
	 * A transferred party's new call has none (transfer.c). */
	if (req) {
		c->invite = malloc(req->len ? req->len : 1);
		if (!c->invite)
			return ENOMEM;
		memcpy(c->invite, req->buf, req->len);
		c->invite_len = req->len;
	}
	return dp_chan_alloc(&c->dp, &ops);
}
