/*
 * test_dpexec.c - the dialplan interpreter against a fake channel that
 * records every call application it is given: argument expansion, Set,
 * Goto and GotoIf in all their forms, asynchronous applications and
 * resuming, the 'i', 'e' and 'h' extensions, running off the end,
 * caller-ID matching, variables, and the runaway-loop cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/astconf.h"
#include "config/dialplan.h"
#include "config/dpargs.h"
#include "config/dpmatch.h"
#include "config/extensions.h"
#include "pbx/dpexec.h"

#define MAX_CALLS 64

struct fake {
	char calls[MAX_CALLS][256];     /* "App(args)" as given */
	int n;
	enum dp_result result[DP_APP_COUNT];
	char cid[64];                   /* CALLERID(num); "" for none */
	char sets[8][128];              /* Set(FUNC(...)=...) given to ops.set */
	int nsets;
	int dial_argc;
	char dial_dest[128];
	bool echo_jumps;                /* Echo moves the channel itself */
};

struct fx {
	char dir[64];
	struct diag diag;
	struct dialplan *dp;
	struct dp_chan *c;
	struct fake f;
};

static enum dp_result fake_app(struct dp_chan *c, enum dp_app app, const char *args,
			       void *arg)
{
	struct fake *f = arg;

	if (f->n < MAX_CALLS)
		snprintf(f->calls[f->n++], sizeof(f->calls[0]), "%s(%s)", dp_app_name(app),
			 args);
	if (app == DP_APP_DIAL) {
		char buf[256], *argv[4];

		snprintf(buf, sizeof(buf), "%s", args);
		f->dial_argc = dp_args_split(buf, argv, 4);
		snprintf(f->dial_dest, sizeof(f->dial_dest), "%s",
			 f->dial_argc ? argv[0] : "");
	}
	if (app == DP_APP_ECHO && f->echo_jumps) {
		assert_int_equal(dp_chan_goto(c, NULL, "jumped", 1), 0);
		return DP_JUMPED;
	}
	return f->result[app];
}

static int fake_var(struct dp_chan *c, const char *name, size_t len, struct sbuf *out,
		    void *arg)
{
	struct fake *f = arg;

	if (len == 8 && !memcmp(name, "UNIQUEID", 8)) {
		sbuf_append_str(out, "uid-1");
		return 0;
	}
	if (len == 11 && !memcmp(name, "HANGUPCAUSE", 11)) {
		sbuf_append_str(out, "16");
		return 0;
	}
	if (len == 13 && !memcmp(name, "CALLERID(num)", 13)) {
		if (!f->cid[0])
			return -1;
		sbuf_append_str(out, f->cid);
		return 0;
	}
	if (len == 14 && !memcmp(name, "CALLERID(name)", 14)) {
		sbuf_append_str(out, "Alice");
		return 0;
	}
	return -1;
}

static int fake_set(struct dp_chan *c, const char *name, const char *value, void *arg)
{
	struct fake *f = arg;

	if (f->nsets < 8)
		snprintf(f->sets[f->nsets++], sizeof(f->sets[0]), "%s=%s", name, value);
	if (!strcmp(name, "CALLERID(num)"))
		snprintf(f->cid, sizeof(f->cid), "%s", value);
	return 0;
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-dpexec-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	dp_chan_free(fx->c);
	dialplan_free(fx->dp);
	diag_free(&fx->diag);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct dialplan *load_dp(struct fx *fx, const char *text)
{
	struct dialplan *dp = NULL;
	struct astconf *ac = NULL;
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/extensions.conf", fx->dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(astconf_load(&ac, fx->dir, "extensions.conf", &fx->diag), ASTCONF_OK);
	assert_int_equal(dialplan_load(ac, &fx->diag, &dp), 0);
	assert_int_equal(fx->diag.errors, 0);
	astconf_free(ac);
	return dp;
}

/* Load the dialplan and make a fresh channel on the fake. */
static void load(struct fx *fx, const char *text)
{
	struct dp_chan_ops ops = { fake_var, fake_set, fake_app, &fx->f };

	dp_chan_free(fx->c);
	fx->c = NULL;
	dialplan_free(fx->dp);
	fx->dp = load_dp(fx, text);
	memset(&fx->f, 0, sizeof(fx->f));
	fx->f.result[DP_APP_HANGUP] = DP_HANGUP;
	fx->f.result[DP_APP_BUSY] = DP_HANGUP;
	fx->f.result[DP_APP_CONGESTION] = DP_HANGUP;
	assert_int_equal(dp_chan_alloc(&fx->c, &ops), 0);
}

/* A new channel on the same dialplan and fake. */
static void rechan(struct fx *fx)
{
	struct dp_chan_ops ops = { fake_var, fake_set, fake_app, &fx->f };

	dp_chan_free(fx->c);
	fx->f.n = 0;
	assert_int_equal(dp_chan_alloc(&fx->c, &ops), 0);
}

static const char *calls(struct fx *fx)
{
	static char out[MAX_CALLS * 260];
	size_t off = 0;

	out[0] = '\0';
	for (int i = 0; i < fx->f.n; i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", fx->f.calls[i]);
	return out;
}

static void test_basic_run(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[default]\n"
	     "exten => 100,1,Answer()\n"
	     " same => n,Set(GREETING=hello)\n"
	     " same => n,Playback(${GREETING}-${EXTEN}&beep)\n"
	     " same => n,NoOp(${UNIQUEID})\n"
	     " same => n,Progress\n"
	     " same => n,Hangup(16)\n"
	     " same => n,Playback(never)\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "default", "100"), 0);
	assert_string_equal(dp_chan_context(fx->c), "default");
	assert_string_equal(dp_chan_exten(fx->c), "100");
	assert_int_equal(dp_chan_priority(fx->c), 1);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_HANGUP);
	assert_int_equal(dp_chan_priority(fx->c), 6);
	assert_string_equal(calls(fx),
		"Answer()\n"
		"Playback(hello-100&beep)\n"
		"Progress()\n"
		"Hangup(16)\n");
	assert_string_equal(dp_chan_var(fx->c, "GREETING"), "hello");
	/* Done: running again does nothing. */
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(fx->f.n, 4);
	assert_ptr_equal(dp_chan_dialplan(fx->c), fx->dp);
}

static void test_fallthrough(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Answer\n"
	     " same => n,Ringing\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_FALLTHROUGH);
	assert_string_equal(calls(fx), "Answer()\nRinging()\n");
}

static void test_async(void **state)
{
	struct fx *fx = *state;
	static const char *const conf =
		"[c]\n"
		"exten => 100,1,Dial(PJSIP/100&PJSIP/101,30,tT)\n"
		" same => n,GotoIf($[\"${DIALSTATUS}\" = \"BUSY\"]?busy)\n"
		" same => n,Playback(no-answer)\n"
		" same => n,Hangup()\n"
		" same => n(busy),Busy(5)\n";

	load(fx, conf);
	fx->f.result[DP_APP_DIAL] = DP_ASYNC;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_priority(fx->c), 1);
	assert_string_equal(calls(fx), "Dial(PJSIP/100&PJSIP/101,30,tT)\n");
	assert_int_equal(fx->f.dial_argc, 3);
	assert_string_equal(fx->f.dial_dest, "PJSIP/100&PJSIP/101");
	/* Still waiting: nothing runs. */
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(fx->f.n, 1);
	assert_int_equal(dp_chan_end(fx->c), DP_END_NONE);

	assert_int_equal(dp_chan_var_set(fx->c, "DIALSTATUS", "BUSY"), 0);
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_HANGUP);
	assert_string_equal(calls(fx), "Dial(PJSIP/100&PJSIP/101,30,tT)\nBusy(5)\n");
	/* Nothing left to resume. */
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);

	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_var_set(fx->c, "DIALSTATUS", "NOANSWER"), 0);
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);
	assert_string_equal(calls(fx),
		"Dial(PJSIP/100&PJSIP/101,30,tT)\nPlayback(no-answer)\nHangup()\n");

	/* The application may end the call instead. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_resume(fx->c, DP_HANGUP), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_HANGUP);
	assert_int_equal(fx->f.n, 1);
}

static void test_goto_forms(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Goto(2,1)\n"
	     "exten => 2,1,Goto(other,3,1)\n"
	     "exten => 5,1,Playback(done ${CONTEXT} ${EXTEN} ${PRIORITY})\n"
	     " same => n,Goto(c,6,first)\n"
	     "exten => 6,1(first),Hangup\n"
	     "exten => 7,1,Set(I=0)\n"
	     " same => n,Set(I=$[${I} + 1])\n"
	     " same => n,GotoIf($[${I} < 3]?-1)\n"
	     " same => n,Playback(i=${I})\n"
	     " same => n,Goto( c , 6 , 1 )\n"
	     "[other]\n"
	     "exten => 3,1,Goto(lbl)\n"
	     " same => n,Playback(skipped)\n"
	     " same => n(lbl),Goto(+2)\n"
	     " same => n,Playback(skipped)\n"
	     " same => n,Goto(4,target)\n"
	     "exten => 4,1,Playback(skipped)\n"
	     " same => n(target),Goto(c,5,1)\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(done c 5 1)\nHangup()\n");
	assert_string_equal(dp_chan_exten(fx->c), "6");

	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "7"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(i=3)\nHangup()\n");
}

static void test_gotoif(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 10,1,GotoIf($[${X} > 5]?big:small)\n"
	     " same => n(big),Playback(big)\n"
	     " same => n,GotoIf(1?)\n"
	     " same => n,GotoIf(0?big)\n"
	     " same => n,GotoIf(${EMPTY}?big:)\n"
	     " same => n,Hangup\n"
	     " same => n(small),GotoIf(0?big:other,s,1)\n"
	     "[other]\n"
	     "exten => s,1,Playback(other ${CONTEXT})\n"
	     " same => n,Hangup\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "10"), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "X", "10"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(big)\nHangup()\n");

	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "10"), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "X", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(other other)\nHangup()\n");
	assert_string_equal(dp_chan_context(fx->c), "other");
}

static void test_invalid_extensions(void **state)
{
	struct fx *fx = *state;
	char longname[200];

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Goto(99,1)\n"
	     "exten => i,1,Playback(invalid ${INVALID_EXTEN})\n"
	     " same => n,Hangup\n"
	     "[d]\n"
	     "exten => 1,1,NoOp\n"
	     "exten => 2,1,Goto(77,1)\n"
	     "[e]\n"
	     "exten => 1,1,Goto(nope,1)\n"
	     "exten => e,1,Playback(${EXCEPTION(reason)} ${EXCEPTION(exten)} "
	     "${EXCEPTION(context)} ${EXCEPTION(priority)})\n"
	     " same => n,Hangup\n");
	/* Unknown at the start: 'i', with INVALID_EXTEN. */
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "555"), 0);
	assert_string_equal(dp_chan_exten(fx->c), "i");
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(invalid 555)\nHangup()\n");

	/* Unknown after a Goto. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(invalid 99)\nHangup()\n");

	/* No 'i': the caller gets a 404. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "d", "555"), ENOENT);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_INVALID);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "nowhere", "1"), ENOENT);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "d", ""), EINVAL);
	memset(longname, '1', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "d", longname), EINVAL);
	assert_int_equal(dp_chan_start(fx->c, NULL, "d", "1"), EINVAL);

	/* No 'i' after a Goto: hang up. */
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "d", "2"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_INVALID);
	assert_int_equal(fx->f.n, 0);

	/* 'e' when there is no 'i'. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "e", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(INVALID nope e 1)\nHangup()\n");
}

/* What Background() and WaitExten() ask after a key or a silence. */
static void test_digit_collection(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[menu]\n"
	     "exten => s,1,Background(menu)\n"
	     " same => n,WaitExten(3)\n"
	     "exten => 1,1,Playback(one ${EXTEN})\n"
	     "exten => 33,1,Playback(${EXTEN})\n"
	     "exten => _9!,1,NoOp\n"
	     "exten => i,1,Playback(invalid ${INVALID_EXTEN})\n"
	     "exten => t,1,Playback(timeout)\n"
	     "[bare]\n"
	     "exten => s,1,WaitExten()\n"
	     "exten => e,1,Playback(${EXCEPTION(reason)})\n"
	     "[none]\n"
	     "exten => s,1,WaitExten()\n"
	     "[more]\n"
	     "exten => s,1,WaitExten()\n"
	     " same => n,Playback(next)\n"
	     "[inc]\n"
	     "include => menu\n");
	fx->f.result[DP_APP_BACKGROUND] = DP_ASYNC;
	fx->f.result[DP_APP_WAITEXTEN] = DP_ASYNC;

	/* Matching as __ast_pbx_run() asks, through includes. */
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "menu", "s"), 0);
	assert_true(dp_chan_match(fx->c, NULL, "1", DP_MATCH));
	assert_false(dp_chan_match(fx->c, NULL, "1", DP_MATCHMORE));
	assert_true(dp_chan_match(fx->c, NULL, "3", DP_CANMATCH));
	assert_true(dp_chan_match(fx->c, NULL, "3", DP_MATCHMORE));
	assert_false(dp_chan_match(fx->c, NULL, "33", DP_MATCHMORE));
	assert_false(dp_chan_match(fx->c, NULL, "4", DP_CANMATCH));
	/* '!' ends a match-more search. */
	assert_false(dp_chan_match(fx->c, NULL, "9", DP_MATCHMORE));
	assert_true(dp_chan_match(fx->c, NULL, "9", DP_CANMATCH));
	assert_true(dp_chan_match(fx->c, "inc", "3", DP_MATCHMORE));
	assert_false(dp_chan_match(fx->c, "nowhere", "1", DP_CANMATCH));

	/* A key during the menu: the extension, priority 1, ${EXTEN}. */
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_dialled(fx->c, "33"), DP_JUMPED);
	assert_int_equal(dp_chan_resume(fx->c, DP_JUMPED), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_FALLTHROUGH);
	assert_string_equal(calls(fx), "Background(menu)\nPlayback(33)\n");

	/* An extension that is not there: 'i' with INVALID_EXTEN. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "menu", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_dialled(fx->c, "42"), DP_JUMPED);
	assert_int_equal(dp_chan_resume(fx->c, DP_JUMPED), DP_HANGUP);
	assert_string_equal(calls(fx), "Background(menu)\nPlayback(invalid 42)\n");

	/* WaitExten() times out: 't' when there is no next priority. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "menu", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_ASYNC);
	assert_int_equal(dp_chan_timeout(fx->c), DP_JUMPED);
	assert_int_equal(dp_chan_resume(fx->c, DP_JUMPED), DP_HANGUP);
	assert_string_equal(calls(fx),
			    "Background(menu)\nWaitExten(3)\nPlayback(timeout)\n");

	/* ... the next priority when there is one, */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "more", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_timeout(fx->c), DP_CONTINUE);
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);
	assert_string_equal(calls(fx), "WaitExten()\nPlayback(next)\n");

	/* ... 'e' with RESPONSETIMEOUT, and 'e' with INVALID, */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "bare", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_timeout(fx->c), DP_JUMPED);
	assert_int_equal(dp_chan_resume(fx->c, DP_JUMPED), DP_HANGUP);
	assert_string_equal(calls(fx), "WaitExten()\nPlayback(RESPONSETIMEOUT)\n");
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "bare", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_dialled(fx->c, "7"), DP_JUMPED);
	assert_int_equal(dp_chan_resume(fx->c, DP_JUMPED), DP_HANGUP);
	assert_string_equal(calls(fx), "WaitExten()\nPlayback(INVALID)\n");

	/* ... and a hang-up when there is neither. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "none", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_timeout(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_resume(fx->c, DP_HANGUP), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_INVALID);
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "none", "s"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	assert_int_equal(dp_chan_dialled(fx->c, "7"), DP_HANGUP);
	assert_int_equal(dp_chan_resume(fx->c, DP_HANGUP), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_INVALID);
}

static void test_h_extension(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Answer\n"
	     " same => n,Set(STATE=talking)\n"
	     " same => n,Dial(PJSIP/2)\n"
	     "exten => h,1,Set(STATE=done ${EXTEN} ${STATE} ${HANGUPCAUSE})\n"
	     " same => n,Playback(not played)\n"
	     " same => n,Dial(PJSIP/3)\n"
	     " same => n,Set(AFTER=yes)\n"
	     " same => n,Hangup\n"
	     " same => n,Set(NEVER=1)\n"
	     "[noh]\n"
	     "exten => 1,1,Hangup\n"
	     "[loop]\n"
	     "exten => 1,1,Hangup\n"
	     "exten => h,1,Goto(1)\n"
	     "exten => h,2,NoOp\n");
	fx->f.result[DP_APP_DIAL] = DP_HANGUP;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_HANGUP);
	assert_string_equal(calls(fx), "Answer()\nDial(PJSIP/2)\n");
	dp_chan_run_h(fx->c);
	/* Call applications were not given to the channel. */
	assert_string_equal(calls(fx), "Answer()\nDial(PJSIP/2)\n");
	assert_string_equal(dp_chan_var(fx->c, "STATE"), "done h talking 16");
	assert_string_equal(dp_chan_var(fx->c, "AFTER"), "yes");
	assert_null(dp_chan_var(fx->c, "NEVER"));
	assert_string_equal(dp_chan_exten(fx->c), "h");
	assert_int_equal(dp_chan_end(fx->c), DP_END_HANGUP);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);

	/* No 'h': nothing happens. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "noh", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	dp_chan_run_h(fx->c);
	assert_string_equal(dp_chan_exten(fx->c), "1");
	assert_string_equal(calls(fx), "Hangup()\n");

	/* An 'h' that loops runs, but not forever. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "loop", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	dp_chan_run_h(fx->c);
	assert_string_equal(calls(fx), "Hangup()\n");

	/* Hung up while an application was pending. */
	rechan(fx);
	fx->f.result[DP_APP_DIAL] = DP_ASYNC;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	dp_chan_run_h(fx->c);
	assert_string_equal(dp_chan_var(fx->c, "STATE"), "done h talking 16");
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);
}

static void test_runaway(void **state)
{
	struct fx *fx = *state;
	char n[16];

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Goto(1)\n"
	     "exten => 2,1,Set(N=$[0${N} + 1])\n"
	     " same => n,Goto(2,1)\n"
	     "exten => 3,1,Set(N=$[0${N} + 1])\n"
	     " same => n,Wait(1)\n"
	     " same => n,Goto(1)\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_LOOP);

	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "2"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_LOOP);
	snprintf(n, sizeof(n), "%d", DP_MAX_STEPS / 2);
	assert_string_equal(dp_chan_var(fx->c, "N"), n);

	/* Waiting in between is a legitimate loop: the cap is per run. */
	rechan(fx);
	fx->f.result[DP_APP_WAIT] = DP_ASYNC;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "3"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	for (int i = 0; i < DP_MAX_STEPS; i++)
		assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_ASYNC);
	snprintf(n, sizeof(n), "%d", DP_MAX_STEPS + 1);
	assert_string_equal(dp_chan_var(fx->c, "N"), n);
}

static void test_variables(void **state)
{
	struct fx *fx = *state;
	const char *name, *value;
	int inherit;
	struct sbuf out;
	char vname[32];

	load(fx,
	     "[globals]\n"
	     "G=global\n"
	     "[c]\n"
	     "exten => 1,1,Set(_INH=one)\n"
	     " same => n,Set(__INH2=two)\n"
	     " same => n,Set(x=lower)\n"
	     " same => n,Set(X=upper)\n"
	     " same => n,Set(G2=${G})\n"
	     " same => n,Set(G=local)\n"
	     " same => n,Set(G3=${G})\n"
	     " same => n,Set(Y=a=b,c)\n"
	     " same => n,Set(CALLERID(name)=Bob)\n"
	     " same => n,Set(E=${EXTEN}/${HANGUPCAUSE}/${CALLERID(name)})\n"
	     " same => n,Set(EMPTY=)\n"
	     " same => n,Set(${NOEQ})\n"
	     " same => n,Set(${NOEQ2})\n"
	     " same => n,Set(${ASSIGN})\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	/* The channel's own answers and the builtins win. */
	assert_int_equal(dp_chan_var_set(fx->c, "EXTEN", "fake"), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "HANGUPCAUSE", "99"), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "NOEQ2", "NOEQUALS"), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "ASSIGN", "FROMVAR=1,2"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_FALLTHROUGH);
	assert_string_equal(dp_chan_var(fx->c, "INH"), "one");
	assert_null(dp_chan_var(fx->c, "_INH"));
	assert_string_equal(dp_chan_var(fx->c, "INH2"), "two");
	assert_string_equal(dp_chan_var(fx->c, "x"), "lower");
	assert_string_equal(dp_chan_var(fx->c, "X"), "upper");
	assert_string_equal(dp_chan_var(fx->c, "G2"), "global");
	assert_string_equal(dp_chan_var(fx->c, "G3"), "local");
	assert_string_equal(dp_chan_var(fx->c, "Y"), "a=b,c");
	assert_string_equal(dp_chan_var(fx->c, "E"), "1/16/Alice");
	assert_string_equal(dp_chan_var(fx->c, "EMPTY"), "");
	assert_null(dp_chan_var(fx->c, "NOEQUALS"));
	assert_string_equal(dp_chan_var(fx->c, "FROMVAR"), "1,2");
	assert_int_equal(fx->f.nsets, 1);
	assert_string_equal(fx->f.sets[0], "CALLERID(name)=Bob");

	for (size_t i = 0; dp_chan_var_at(fx->c, i, &name, &value, &inherit); i++) {
		if (!strcmp(name, "INH"))
			assert_int_equal(inherit, 1);
		else if (!strcmp(name, "INH2"))
			assert_int_equal(inherit, 2);
		else
			assert_int_equal(inherit, 0);
	}

	sbuf_init(&out);
	assert_int_equal(dp_chan_expand(fx->c, "${X}-${x}-${G}-${INH2:1}", &out), 0);
	assert_string_equal(sbuf_cstr(&out), "upper-lower-local-wo");
	sbuf_free(&out);

	/* Removing, bad names, and the limit on their number. */
	assert_int_equal(dp_chan_var_set(fx->c, "X", NULL), 0);
	assert_null(dp_chan_var(fx->c, "X"));
	assert_int_equal(dp_chan_var_set(fx->c, "X", NULL), 0);
	assert_int_equal(dp_chan_var_set(fx->c, "__", "v"), EINVAL);
	assert_int_equal(dp_chan_var_set(fx->c, "", "v"), EINVAL);
	for (int i = 0; i < DP_MAX_VARS; i++) {
		int err;

		snprintf(vname, sizeof(vname), "V%d", i);
		err = dp_chan_var_set(fx->c, vname, "v");
		if (err) {
			assert_int_equal(err, ENOSPC);
			break;
		}
		assert_true(i < DP_MAX_VARS);
	}
	assert_int_equal(dp_chan_var_set(fx->c, "ONE_MORE", "v"), ENOSPC);
	/* Replacing an existing one is still fine. */
	assert_int_equal(dp_chan_var_set(fx->c, "V0", "w"), 0);
	assert_string_equal(dp_chan_var(fx->c, "V0"), "w");
}

static void test_function_set_without_hook(void **state)
{
	struct fx *fx = *state;
	struct dp_chan_ops ops = { NULL, NULL, fake_app, &fx->f };

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Set(CALLERID(num)=1)\n"
	     " same => n,Playback(${UNIQUEID}x)\n");
	dp_chan_free(fx->c);
	assert_int_equal(dp_chan_alloc(&fx->c, &ops), 0);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(x)\n");
	assert_null(dp_chan_var(fx->c, "CALLERID(num)"));
}

static void test_runtime_errors(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Set(X=0123456789)\n"
	     " same => n,Set(X=${X}${X})\n"
	     " same => n,Goto(2)\n"
	     "exten => 2,1,Set(L=nolabel)\n"
	     " same => n,Goto(${L})\n"
	     "exten => 3,1,Goto(${EMPTY})\n"
	     "exten => 4,1,GotoIf(1?${L})\n"
	     "exten => 5,1,Goto(${LONG},1)\n");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_int_equal(dp_chan_end(fx->c), DP_END_ERROR);
	assert_true(strlen(dp_chan_var(fx->c, "X")) > 4096);

	for (int e = 2; e <= 5; e++) {
		char ext[16];

		snprintf(ext, sizeof(ext), "%d", e);
		rechan(fx);
		assert_int_equal(dp_chan_var_set(fx->c, "L", "nolabel"), 0);
		assert_int_equal(dp_chan_var_set(fx->c, "LONG",
			"12345678901234567890123456789012345678901234567890"
			"12345678901234567890123456789012345678901234567890"), 0);
		assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", ext), 0);
		assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
		assert_int_equal(dp_chan_end(fx->c), DP_END_ERROR);
	}
}

static void test_callerid_match(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 100/555,1,Playback(vip)\n"
	     " same => n,Hangup\n"
	     "exten => 100,1,Playback(normal)\n"
	     " same => n,Set(CALLERID(num)=555)\n"
	     " same => n,Goto(100,1)\n");
	strcpy(fx->f.cid, "555");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(vip)\nHangup()\n");

	/* Once the number changes, the other extension runs. */
	rechan(fx);
	strcpy(fx->f.cid, "777");
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(normal)\nPlayback(vip)\nHangup()\n");
	assert_int_equal(fx->f.nsets, 1);

	/* No number at all. */
	rechan(fx);
	fx->f.cid[0] = '\0';
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "100"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(normal)\nPlayback(vip)\nHangup()\n");
}

static void test_channel_jump(void **state)
{
	struct fx *fx = *state;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Echo()\n"
	     " same => n,Playback(not reached)\n"
	     "exten => jumped,1,Congestion()\n");
	fx->f.echo_jumps = true;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Echo()\nCongestion()\n");
	assert_int_equal(dp_chan_goto(fx->c, NULL, NULL, 0), EINVAL);
	assert_int_equal(dp_chan_goto(fx->c, "", NULL, 1), EINVAL);
	assert_int_equal(dp_chan_goto(fx->c, "c", "1", 2), 0);
	assert_int_equal(dp_chan_priority(fx->c), 2);
}

static void test_reload_keeps_dialplan(void **state)
{
	struct fx *fx = *state;
	struct dialplan *next;

	load(fx,
	     "[c]\n"
	     "exten => 1,1,Wait(1)\n"
	     " same => n,Playback(old)\n");
	fx->f.result[DP_APP_WAIT] = DP_ASYNC;
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_ASYNC);
	/* A reload replaces the dialplan while the call waits. */
	next = load_dp(fx, "[c]\nexten => 1,1,Playback(new)\n");
	dialplan_free(fx->dp);
	fx->dp = next;
	assert_int_equal(dp_chan_resume(fx->c, DP_CONTINUE), DP_HANGUP);
	assert_string_equal(calls(fx), "Wait(1)\nPlayback(old)\n");
	/* A new call gets the new one. */
	rechan(fx);
	assert_int_equal(dp_chan_start(fx->c, fx->dp, "c", "1"), 0);
	assert_int_equal(dp_chan_run(fx->c), DP_HANGUP);
	assert_string_equal(calls(fx), "Playback(new)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallthrough, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async, setup, teardown),
		cmocka_unit_test_setup_teardown(test_goto_forms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gotoif, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_extensions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digit_collection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h_extension, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runaway, setup, teardown),
		cmocka_unit_test_setup_teardown(test_variables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_function_set_without_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_runtime_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callerid_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_keeps_dialplan, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
