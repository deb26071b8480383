/*
 * test_dpargs.c - the argument parsers of the dialplan applications, which
 * the load-time checker and the applications at run time share: Asterisk's
 * argument split, Dial() destinations (blanks stripped, empty ones
 * skipped, repeats dialled once), its timeout and options, Playback(),
 * Goto(), GotoIf(), Set(), Wait() and Hangup(), what is fatal and what is
 * not, and text as written, where substitutions are opaque.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/dpargs.h"

/* Every problem a parser reports, one per line. */
static char problems[2048];

static void collect(void *arg, const char *fmt, va_list ap)
{
	size_t off = strlen(problems);

	vsnprintf(problems + off, sizeof(problems) - off, fmt, ap);
	off = strlen(problems);
	snprintf(problems + off, sizeof(problems) - off, "\n");
}

/* A report as the checker (written) or an application (expanded) makes
 * one, collecting every problem either way. */
static struct dp_report report(bool written)
{
	struct dp_report rep = { written, collect, NULL, "", NULL };

	problems[0] = '\0';
	return rep;
}

static void collect_warn(void *arg, const char *fmt, va_list ap);

/* Dial() of text, expanded; returns the parser's result. */
static int dial(const char *text, struct dp_dial *d, struct dp_report *rep, char *buf,
		size_t size)
{
	snprintf(buf, size, "%s", text);
	return dp_dial_parse(buf, d, rep);
}

static void test_args_split(void **state)
{
	char buf[128], *argv[8];
	int argc;

	strcpy(buf, "PJSIP/100&PJSIP/101,30,tT");
	argc = dp_args_split(buf, argv, 8);
	assert_int_equal(argc, 3);
	assert_string_equal(argv[0], "PJSIP/100&PJSIP/101");
	assert_string_equal(argv[1], "30");
	assert_string_equal(argv[2], "tT");

	strcpy(buf, "a,\"b,c\",d\\,e,f(g,h),[i,j]");
	argc = dp_args_split(buf, argv, 8);
	assert_int_equal(argc, 5);
	assert_string_equal(argv[0], "a");
	assert_string_equal(argv[1], "b,c");
	assert_string_equal(argv[2], "d,e");
	assert_string_equal(argv[3], "f(g,h)");
	assert_string_equal(argv[4], "[i,j]");

	strcpy(buf, "a,");
	argc = dp_args_split(buf, argv, 8);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "");

	strcpy(buf, "");
	assert_int_equal(dp_args_split(buf, argv, 8), 0);

	strcpy(buf, "1,2,3,4");
	argc = dp_args_split(buf, argv, 2);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[0], "1");
	assert_string_equal(argv[1], "2,3,4");

	strcpy(buf, "trailing\\");
	argc = dp_args_split(buf, argv, 8);
	assert_int_equal(argc, 1);
	assert_string_equal(argv[0], "trailing");

	strcpy(buf, ",,");
	argc = dp_args_split(buf, argv, 8);
	assert_int_equal(argc, 3);
	assert_null(NULL);
	assert_int_equal(dp_args_split(NULL, argv, 8), 0);
}

static void test_dial_spaces(void **state)
{
	struct dp_report rep = report(false);
	struct dp_dial d;
	char buf[128];

	/* The line of issue #8: both destinations are 1002, stripped. */
	assert_int_equal(dial("PJSIP/1002 & PJSIP/1002,20", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems, "");
	assert_string_equal(rep.why, "");
	assert_int_equal(d.targets.n, 2);
	assert_string_equal(d.targets.v[0].tech, "PJSIP");
	assert_string_equal(d.targets.v[0].resource, "1002");
	assert_false(d.targets.v[0].again);
	assert_string_equal(d.targets.v[1].resource, "1002");
	assert_true(d.targets.v[1].again);
	assert_int_equal(d.timeout_ms, 20000);
	assert_string_equal(d.options, "");
	dp_dial_free(&d);

	rep = report(false);
	assert_int_equal(dial("\tpjsip/100\t&PJSIP/101 , 30 ,tT", &d, &rep, buf,
			      sizeof(buf)), 0);
	assert_string_equal(problems, "");
	assert_int_equal(d.targets.n, 2);
	assert_string_equal(d.targets.v[0].text, "pjsip");
	assert_string_equal(d.targets.v[0].resource, "100");
	assert_string_equal(d.targets.v[1].resource, "101");
	assert_false(d.targets.v[1].again);
	assert_int_equal(d.timeout_ms, 30000);
	assert_string_equal(d.options, "tT");
	dp_dial_free(&d);

	/* Asterisk compares interfaces without regard to case. */
	rep = report(false);
	assert_int_equal(dial("pjsip/100&PJSIP/100&PJSIP/1000", &d, &rep, buf,
			      sizeof(buf)), 0);
	assert_true(d.targets.v[1].again);
	assert_false(d.targets.v[2].again);
	dp_dial_free(&d);
}

static void test_dial_empty_targets(void **state)
{
	struct dp_report rep = report(false);
	struct dp_dial d;
	char buf[128];

	/* Skipped, as app_dial does, but surely a typo: reported. */
	assert_int_equal(dial("PJSIP/100&&PJSIP/101&", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems,
		"empty destination in 'PJSIP/100&&PJSIP/101&'\n"
		"empty destination in 'PJSIP/100&&PJSIP/101&'\n");
	assert_string_equal(rep.why, "");
	assert_int_equal(d.targets.n, 4);
	assert_string_equal(d.targets.v[1].text, "");
	assert_null(d.targets.v[1].tech);
	assert_string_equal(d.targets.v[2].resource, "101");
	assert_string_equal(d.targets.v[3].text, "");
	dp_dial_free(&d);

	rep = report(false);
	assert_int_equal(dial(" & ", &d, &rep, buf, sizeof(buf)), 0);
	assert_int_equal(d.targets.n, 2);
	dp_dial_free(&d);
}

static void test_dial_timeout(void **state)
{
	static const struct {
		const char *text;
		uint64_t ms;
		const char *problems;
	} cases[] = {
		{ "PJSIP/1,20", 20000, "" },
		{ "PJSIP/1,1.5", 1500, "" },       /* app_dial: atof() */
		{ "PJSIP/1, 7 ", 7000, "" },
		{ "PJSIP/1,0", 0, "" },
		{ "PJSIP/1,", 0, "" },
		{ "PJSIP/1", 0, "" },
		{ "PJSIP/1,abc", 0, "timeout 'abc' is not a number of seconds\n" },
		{ "PJSIP/1,-5", 0, "timeout '-5' is not a number of seconds\n" },
		{ "PJSIP/1,20s", 20000, "timeout '20s' is not a number of seconds\n" },
		{ "PJSIP/1,99999999999", 2147483647, "" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_report rep = report(false);
		struct dp_dial d;

		assert_int_equal(dial(cases[i].text, &d, &rep, buf, sizeof(buf)), 0);
		assert_int_equal(d.timeout_ms, cases[i].ms);
		assert_string_equal(problems, cases[i].problems);
		dp_dial_free(&d);
	}
}

static void test_dial_bad(void **state)
{
	static const struct {
		const char *text;
		int rc;
		const char *why;
		const char *problems;
	} cases[] = {
		{ "", EINVAL, "no destination", "no destination\n" },
		{ " ,20", EINVAL, "no destination", "no destination\n" },
		{ "100", EINVAL, "'100' is not TECHNOLOGY/resource",
		  "'100' is not TECHNOLOGY/resource\n" },
		{ "PJSIP/", EINVAL, "no endpoint after 'PJSIP/'",
		  "no endpoint after 'PJSIP/'\n" },
		{ "PJSIP/1&200&PJSIP/", EINVAL, "'200' is not TECHNOLOGY/resource",
		  "'200' is not TECHNOLOGY/resource\nno endpoint after 'PJSIP/'\n" },
		/* Another technology fails alone at run time: not fatal. */
		{ "SIP/100&PJSIP/1", 0, "",
		  "technology 'SIP' is not supported (use PJSIP)\n" },
		{ "SIP/", EINVAL, "no endpoint after 'SIP/'",
		  "technology 'SIP' is not supported (use PJSIP)\n"
		  "no endpoint after 'SIP/'\n" },
	};
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_report rep = report(false);
		struct dp_dial d;

		assert_int_equal(dial(cases[i].text, &d, &rep, buf, sizeof(buf)), cases[i].rc);
		assert_string_equal(rep.why, cases[i].why);
		assert_string_equal(problems, cases[i].problems);
		dp_dial_free(&d);
	}
	assert_true(dp_dial_tech_ok("pjsip"));
	assert_false(dp_dial_tech_ok("SIP"));
	assert_false(dp_dial_tech_ok("PJSIPX"));
}

static void test_dial_written(void **state)
{
	struct dp_report rep = report(true);
	struct dp_dial d;
	char buf[128];

	/* What a substitution will say is not judged before it is known... */
	assert_int_equal(dial("PJSIP/${EXTEN}&${DEV}&${T}/x,${TO},tT", &d, &rep, buf,
			      sizeof(buf)), 0);
	assert_string_equal(problems, "");
	assert_int_equal(d.targets.n, 3);
	assert_string_equal(d.targets.v[1].text, "${DEV}");
	assert_null(d.targets.v[1].tech);
	assert_int_equal(d.timeout_ms, 0);
	dp_dial_free(&d);

	/* ...but an empty resource is empty whatever the technology. */
	rep = report(true);
	assert_int_equal(dial("${T}/", &d, &rep, buf, sizeof(buf)), EINVAL);
	assert_string_equal(problems, "no endpoint after '${T}/'\n");
	dp_dial_free(&d);

	/* Run time: the expanded text is judged whole. */
	rep = report(false);
	assert_int_equal(dial("${DEV}", &d, &rep, buf, sizeof(buf)), EINVAL);
	assert_string_equal(rep.why, "'${DEV}' is not TECHNOLOGY/resource");
	dp_dial_free(&d);
}

/* Dial()'s options: the supported ones read, the others warned about. */
static void test_dial_options(void **state)
{
	struct dp_report rep = report(false);
	struct dp_dial d;
	char buf[160];

	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,20,rgm(jazz)L(60000:10000:5000)D(12w3:#9:4)",
			      &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems, "");
	assert_true(d.opt.ringback);
	assert_true(d.opt.go_on);
	assert_true(d.opt.music);
	assert_string_equal(d.opt.music_class, "jazz");
	assert_int_equal(d.opt.limit_ms, 60000);
	assert_int_equal(d.opt.warn_ms, 10000);
	assert_int_equal(d.opt.repeat_ms, 5000);
	assert_string_equal(d.opt.dtmf_called, "12w3");
	assert_string_equal(d.opt.dtmf_calling, "#9");
	assert_string_equal(d.opt.dtmf_progress, "4");
	dp_dial_free(&d);

	/* Nothing given: nothing set; m alone is the default class. */
	rep = report(false);
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,,m", &d, &rep, buf, sizeof(buf)), 0);
	assert_true(d.opt.music);
	assert_string_equal(d.opt.music_class, "");
	assert_false(d.opt.ringback || d.opt.go_on);
	assert_int_equal(d.opt.limit_ms, 0);
	assert_string_equal(d.opt.dtmf_called, "");
	assert_string_equal(d.opt.dtmf_calling, "");
	assert_string_equal(problems, "");
	dp_dial_free(&d);

	/* One warning per option app_dial has and KubeVox does not; an
	 * unknown letter is ignored, as Asterisk does. */
	rep = report(false);
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,20,tTkKj", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems,
			    "warning: Dial option 't' (callee transfers) is not supported (ignored)\n"
			    "warning: Dial option 'T' (caller transfers) is not supported (ignored)\n"
			    "warning: Dial option 'k' (callee parks) is not supported (ignored)\n"
			    "warning: Dial option 'K' (caller parks) is not supported (ignored)\n"
			    "warning: 'j' is not an option of Dial (ignored)\n");
	assert_string_equal(rep.why, "");
	dp_dial_free(&d);

	/* A byte no one can read in a message is named by its value. */
	rep = report(false);
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,20,\x01g", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems, "warning: byte 0x01 is not an option of Dial (ignored)\n");
	assert_true(d.opt.go_on);
	dp_dial_free(&d);
}

static void test_dial_options_args(void **state)
{
	struct dp_report rep = report(false);
	struct dp_dial d;
	char buf[160];

	/* Parentheses nest: the argument ends at the one that closes. */
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,,m(a(b)c)r", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(d.opt.music_class, "a(b)c");
	assert_true(d.opt.ringback);
	assert_string_equal(problems, "");
	dp_dial_free(&d);

	/* A backslash makes ')' part of the argument. */
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,m(x\\\\)y)g", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(d.opt.music_class, "x)y");
	assert_true(d.opt.go_on);
	dp_dial_free(&d);

	/* A '(' never closed: app_dial refuses the whole Dial(). */
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,gL(2000", &d, &rep, buf, sizeof(buf)), EINVAL);
	assert_string_equal(rep.why, "option 'L': missing ')'");
	dp_dial_free(&d);
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,m(a(b)", &d, &rep, buf, sizeof(buf)), EINVAL);
	dp_dial_free(&d);

	/* Empty arguments: L() is ignored (warned), D() sends nothing. */
	rep = report(false);
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,,L()D()m()", &d, &rep, buf, sizeof(buf)), 0);
	assert_int_equal(d.opt.limit_ms, 0);
	assert_string_equal(d.opt.dtmf_called, "");
	assert_string_equal(d.opt.dtmf_calling, "");
	assert_true(d.opt.music);
	assert_string_equal(problems, "warning: option 'L' without a limit (ignored)\n");
	dp_dial_free(&d);

	/* D(:calling) only; a bad digit dropped and reported. */
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,D(:1x2)", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(d.opt.dtmf_called, "");
	assert_string_equal(d.opt.dtmf_calling, "12");
	assert_string_equal(problems, "'x' in '1x2' is not a DTMF digit or 'w' (dropped)\n");
	dp_dial_free(&d);

	/* L: not a positive number is fatal; a warning after the end is
	 * moved back by the repeat, or dropped without one. */
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,L(abc)", &d, &rep, buf, sizeof(buf)), EINVAL);
	dp_dial_free(&d);
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,L(0)", &d, &rep, buf, sizeof(buf)), EINVAL);
	dp_dial_free(&d);
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,L(2000:5000)", &d, &rep, buf, sizeof(buf)), 0);
	assert_int_equal(d.opt.limit_ms, 2000);
	assert_int_equal(d.opt.warn_ms, 0);
	dp_dial_free(&d);
	rep = report(false);
	assert_int_equal(dial("PJSIP/1,,L(2000:5000:2000)", &d, &rep, buf, sizeof(buf)), 0);
	assert_int_equal(d.opt.warn_ms, 1000);
	assert_int_equal(d.opt.repeat_ms, 2000);
	dp_dial_free(&d);

	/* As written, options with a substitution are judged once expanded. */
	rep = report(true);
	rep.warn = collect_warn;
	assert_int_equal(dial("PJSIP/1,,${OPTS}", &d, &rep, buf, sizeof(buf)), 0);
	assert_string_equal(problems, "");
	dp_dial_free(&d);
}

static void test_playback(void **state)
{
	struct dp_report rep = report(false);
	struct dp_playback pb;
	char buf[64];

	strcpy(buf, "hello-world&beep,noanswer");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_string_equal(pb.files, "hello-world&beep");
	assert_true(pb.noanswer);
	assert_string_equal(problems, "");

	/* app_playback: strcasestr(options, "noanswer"). */
	strcpy(buf, "beep,skip NoAnswer");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_true(pb.noanswer);
	strcpy(buf, "beep,answer");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_false(pb.noanswer);
	/* Names are taken as written. */
	strcpy(buf, " beep ");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_string_equal(pb.files, " beep ");

	/* Only no argument at all is refused by Asterisk. */
	strcpy(buf, "");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), EINVAL);
	assert_string_equal(rep.why, "no file to play");
	assert_string_equal(pb.files, "");

	rep = report(false);
	strcpy(buf, " ,noanswer");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_string_equal(problems, "no file to play\n");
	assert_true(pb.noanswer);

	rep = report(false);
	strcpy(buf, "a&&b&");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_string_equal(problems, "empty file name in 'a&&b&'\n");
	assert_string_equal(rep.why, "");
}

/* Warnings collected with the problems, marked. */
static void collect_warn(void *arg, const char *fmt, va_list ap)
{
	strncat(problems, "warning: ", sizeof(problems) - strlen(problems) - 1);
	collect(arg, fmt, ap);
}

static void test_playback_options(void **state)
{
	struct dp_report rep = report(false);
	struct dp_playback pb;
	char buf[64];

	rep.warn = collect_warn;
	strcpy(buf, "beep,skip");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_true(pb.skip);
	assert_false(pb.noanswer);
	strcpy(buf, "beep,say");
	assert_int_equal(dp_playback_parse(buf, &pb, &rep), 0);
	assert_false(pb.skip);
	assert_string_equal(problems,
			    "warning: options 'say' and 'mix' are not supported (ignored)\n");
}

static void test_background(void **state)
{
	struct dp_report rep = report(false);
	struct dp_background b;
	char buf[96];

	rep.warn = collect_warn;
	strcpy(buf, " press-1&or&press-2 ");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_string_equal(b.files, "press-1&or&press-2");
	assert_false(b.skip || b.noanswer || b.matchexten);
	assert_string_equal(b.lang, "");
	assert_string_equal(b.context, "");

	strcpy(buf, "menu,nm,fr,ivr");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_true(b.noanswer && b.matchexten && !b.skip);
	assert_string_equal(b.lang, "fr");
	assert_string_equal(b.context, "ivr");
	/* Whole words, as pbx_builtin_background() compares them. */
	strcpy(buf, "menu,noanswer");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_true(b.noanswer && !b.matchexten);
	strcpy(buf, "menu,SKIP");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_true(b.skip);
	assert_string_equal(problems, "");

	strcpy(buf, "menu,sp");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_true(b.skip);
	assert_string_equal(problems,
			    "warning: option 'p' is not supported (ignored)\n");

	rep = report(false);
	strcpy(buf, "");
	assert_int_equal(dp_background_parse(buf, &b, &rep), EINVAL);
	assert_string_equal(rep.why, "no file to play");
	rep = report(false);
	strcpy(buf, "a&&b");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_string_equal(problems, "empty file name in 'a&&b'\n");
	/* As written, a substitution is judged once expanded. */
	rep = report(true);
	strcpy(buf, "${MENU},${OPTS}");
	assert_int_equal(dp_background_parse(buf, &b, &rep), 0);
	assert_string_equal(problems, "");
}

static void test_waitexten(void **state)
{
	struct dp_report rep = report(false);
	struct dp_waitexten w;
	char buf[64];

	rep.warn = collect_warn;
	strcpy(buf, "");
	dp_waitexten_parse(buf, &w, &rep);
	assert_int_equal(w.ms, 0);
	assert_false(w.moh);
	strcpy(buf, "3");
	dp_waitexten_parse(buf, &w, &rep);
	assert_int_equal(w.ms, 3000);
	strcpy(buf, "1.5,");
	dp_waitexten_parse(buf, &w, &rep);
	assert_int_equal(w.ms, 1500);
	assert_string_equal(problems, "");
	strcpy(buf, "5,m(jazz)");
	dp_waitexten_parse(buf, &w, &rep);
	assert_int_equal(w.ms, 5000);
	assert_true(w.moh);
	assert_string_equal(w.moh_class, "jazz");
	strcpy(buf, "5,m");
	dp_waitexten_parse(buf, &w, &rep);
	assert_true(w.moh);
	assert_string_equal(w.moh_class, "");
	assert_string_equal(problems, "");
	strcpy(buf, "5,d");
	dp_waitexten_parse(buf, &w, &rep);
	assert_false(w.moh);
	assert_string_equal(problems, "warning: option 'd' (dial tone) is not "
			    "supported (ignored)\n");
	rep = report(false);
	strcpy(buf, "soon");
	dp_waitexten_parse(buf, &w, &rep);
	assert_int_equal(w.ms, 0);
	assert_string_equal(problems, "'soon' is not a number of seconds\n");
}

static void test_moh(void **state)
{
	struct dp_report rep = report(false);
	struct dp_moh m;
	char buf[64];

	strcpy(buf, "");
	dp_moh_parse(buf, &m, &rep);
	assert_string_equal(m.class, "");
	assert_int_equal(m.duration_ms, 0);
	strcpy(buf, " jazz , 10");
	dp_moh_parse(buf, &m, &rep);
	assert_string_equal(m.class, "jazz");
	assert_int_equal(m.duration_ms, 10000);
	/* sscanf("%d"), as app_moh: "3s" is 3 seconds. */
	strcpy(buf, ",3s");
	dp_moh_parse(buf, &m, &rep);
	assert_string_equal(m.class, "");
	assert_int_equal(m.duration_ms, 3000);
	assert_string_equal(problems, "");
	strcpy(buf, "default,forever");
	dp_moh_parse(buf, &m, &rep);
	assert_int_equal(m.duration_ms, 0);
	assert_string_equal(problems, "invalid duration 'forever' (plays until hang-up)\n");
	/* As written, a substitution is judged once expanded. */
	rep = report(true);
	strcpy(buf, "default,${T}");
	dp_moh_parse(buf, &m, &rep);
	assert_string_equal(problems, "");
}

static void test_read(void **state)
{
	struct dp_report rep = report(false);
	struct dp_read r;
	char buf[96];

	rep.warn = collect_warn;
	strcpy(buf, "NUM");
	dp_read_parse(buf, &r, &rep);
	assert_string_equal(r.var, "NUM");
	assert_string_equal(r.files, "");
	assert_int_equal(r.maxdigits, 255);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.timeout_ms, 0);
	assert_string_equal(r.terminators, "#");
	assert_false(r.skip || r.noanswer);

	strcpy(buf, "PIN,enter-pin&beep,4,sn,3,2.5");
	dp_read_parse(buf, &r, &rep);
	assert_string_equal(r.files, "enter-pin&beep");
	assert_int_equal(r.maxdigits, 4);
	assert_true(r.skip && r.noanswer);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.timeout_ms, 2500);
	assert_string_equal(problems, "");

	/* app_read: maxdigits outside 1..255 is 255, attempts below 1 is 1. */
	strcpy(buf, "X,,0,t(*),0,0");
	dp_read_parse(buf, &r, &rep);
	assert_int_equal(r.maxdigits, 255);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.timeout_ms, 0);
	assert_string_equal(r.terminators, "*");
	strcpy(buf, "X,,,t");
	dp_read_parse(buf, &r, &rep);
	assert_string_equal(r.terminators, "");
	assert_string_equal(problems, "");

	strcpy(buf, "X,,,i(ring)");
	dp_read_parse(buf, &r, &rep);
	assert_string_equal(problems,
			    "warning: option 'i' is not supported (ignored)\n");
	rep = report(false);
	strcpy(buf, ",beep,300");
	dp_read_parse(buf, &r, &rep);
	assert_string_equal(r.var, "");
	assert_int_equal(r.maxdigits, 255);
	assert_string_equal(problems, "maxdigits '300' is not from 1 to 255\n"
			    "no variable to read into\n");
}

static void test_saynumber(void **state)
{
	struct dp_report rep = report(false);
	struct dp_saynumber sn;
	char buf[64];

	strcpy(buf, "1234");
	assert_int_equal(dp_saynumber_parse(buf, &sn, &rep), 0);
	assert_true(sn.valid);
	assert_int_equal(sn.number, 1234);
	assert_string_equal(sn.gender, "");
	strcpy(buf, "-21,f");
	assert_int_equal(dp_saynumber_parse(buf, &sn, &rep), 0);
	assert_int_equal(sn.number, -21);
	assert_string_equal(sn.gender, "f");
	assert_string_equal(problems, "");
	/* Not a number: nothing is said, the dialplan goes on. */
	strcpy(buf, "abc");
	assert_int_equal(dp_saynumber_parse(buf, &sn, &rep), 0);
	assert_false(sn.valid);
	assert_string_equal(problems, "'abc' is not a number\n");
	strcpy(buf, "99999999999");
	assert_int_equal(dp_saynumber_parse(buf, &sn, &rep), 0);
	assert_false(sn.valid);
	/* Another gender fails the application. */
	rep = report(false);
	strcpy(buf, "5,x");
	assert_int_equal(dp_saynumber_parse(buf, &sn, &rep), EINVAL);
	assert_string_equal(rep.why, "gender 'x' is not f, m, c or n");
}

static void test_goto(void **state)
{
	struct dp_report rep = report(false);
	struct dp_goto g;
	char buf[64];

	strcpy(buf, "5");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_null(g.context);
	assert_null(g.exten);
	assert_true(g.number);
	assert_int_equal(g.n, 5);
	assert_int_equal(g.sign, 0);

	strcpy(buf, " ctx , ext , lbl ");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_string_equal(g.context, "ctx");
	assert_string_equal(g.exten, "ext");
	assert_false(g.number);
	assert_string_equal(g.label, "lbl");

	strcpy(buf, "ext,+2");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_string_equal(g.exten, "ext");
	assert_int_equal(g.sign, 1);
	assert_int_equal(g.n, 2);
	strcpy(buf, "-1");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_int_equal(g.sign, -1);
	assert_int_equal(g.n, 1);
	/* sscanf("%d"): a number goes as far as its digits. */
	strcpy(buf, "3x");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_true(g.number);
	assert_int_equal(g.n, 3);
	assert_true(g.invalid);
	assert_string_equal(problems, "invalid priority '3x'\n");

	rep = report(false);
	strcpy(buf, "0");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_true(g.invalid);
	assert_string_equal(problems, "invalid priority '0'\n");

	rep = report(false);
	strcpy(buf, "  ");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), EINVAL);
	assert_string_equal(rep.why, "expected ([[context,]extension,]priority)");
	rep = report(false);
	strcpy(buf, "d,,");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), EINVAL);
	assert_string_equal(rep.why, "missing priority");
	assert_string_equal(g.context, "d");

	/* As written, a ',' inside a substitution hides the split. */
	rep = report(true);
	strcpy(buf, "${LEN(a,b)},1");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_null(g.prio);
	strcpy(buf, "${C},s,${P}");
	assert_int_equal(dp_goto_parse(buf, &g, &rep), 0);
	assert_string_equal(g.context, "${C}");
	assert_string_equal(g.prio, "${P}");
	assert_false(g.invalid);
	assert_string_equal(problems, "");
}

static void test_gotoif(void **state)
{
	struct dp_report rep = report(false);
	struct dp_gotoif g;
	char buf[64];

	strcpy(buf, "1?a,1:b");
	dp_gotoif_parse(buf, &g, &rep);
	assert_string_equal(g.cond, "1");
	assert_string_equal(g.yes, "a,1");
	assert_string_equal(g.no, "b");

	strcpy(buf, "0?a");
	dp_gotoif_parse(buf, &g, &rep);
	assert_string_equal(g.yes, "a");
	assert_null(g.no);
	assert_string_equal(problems, "");

	strcpy(buf, "1");
	dp_gotoif_parse(buf, &g, &rep);
	assert_null(g.yes);
	assert_string_equal(problems, "expected 'condition?[label1][:label2]'\n");
	assert_string_equal(rep.why, "");

	/* As written, '?' and ':' inside $[...] are the expression's. */
	rep = report(true);
	strcpy(buf, "$[${A} ? 1 :: 0]?:x");
	dp_gotoif_parse(buf, &g, &rep);
	assert_string_equal(g.cond, "$[${A} ? 1 :: 0]");
	assert_string_equal(g.yes, "");
	assert_string_equal(g.no, "x");
	/* Expanded, the first '?' splits, as in Asterisk. */
	rep = report(false);
	strcpy(buf, "a ? 1 :: 0?:x");
	dp_gotoif_parse(buf, &g, &rep);
	assert_string_equal(g.cond, "a ");
	assert_string_equal(g.yes, " 1 ");
}

static void test_set(void **state)
{
	struct dp_report rep = report(false);
	struct dp_set s;
	char buf[64];

	strcpy(buf, "CALLERID(name)=a=b");
	dp_set_parse(buf, &s, &rep);
	assert_string_equal(s.name, "CALLERID(name)");
	assert_string_equal(s.value, "a=b");
	strcpy(buf, " X =");
	dp_set_parse(buf, &s, &rep);
	assert_string_equal(s.name, " X ");
	assert_string_equal(s.value, "");
	assert_string_equal(problems, "");

	strcpy(buf, "X");
	dp_set_parse(buf, &s, &rep);
	assert_null(s.name);
	strcpy(buf, " =1");
	dp_set_parse(buf, &s, &rep);
	assert_string_equal(problems, "expected 'name=value'\nno variable name before '='\n");

	/* Set(${ASSIGNMENT}) as written: the '=' may come from it. */
	rep = report(true);
	strcpy(buf, "${ASSIGNMENT}");
	dp_set_parse(buf, &s, &rep);
	assert_null(s.name);
	strcpy(buf, "${IF(a=b)}X=1");
	dp_set_parse(buf, &s, &rep);
	assert_string_equal(s.name, "${IF(a=b)}X");
	assert_string_equal(problems, "");
}

static void test_wait(void **state)
{
	static const struct {
		const char *text;
		uint64_t ms;
		bool problem;
	} cases[] = {
		{ "2", 2000, false }, { "1.5", 1500, false }, { " 3 ", 3000, false },
		{ "0", 0, false }, { "500ms", 500, false }, { "2m", 120000, false },
		{ "1H", 3600000, false }, { "4s", 4000, false },
		{ "", 0, true }, { "abc", 0, true }, { "2x", 0, true }, { "2 sx", 0, true },
		{ "-1", 0, true }, { "nan", 0, true },
		/* ast_app_parse_timelen() takes these; the checker wants plain. */
		{ "1e3", 1000000, true }, { "2 s", 2000, true },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dp_report rep = report(false);
		uint64_t ms = 7;

		strcpy(buf, cases[i].text);
		dp_wait_parse(buf, &ms, &rep);
		if (ms != cases[i].ms || (problems[0] != '\0') != cases[i].problem)
			fail_msg("Wait(%s): %llu ms, problems '%s'", cases[i].text,
				 (unsigned long long)ms, problems);
		assert_string_equal(rep.why, "");
	}
	{
		struct dp_report rep = report(false);
		uint64_t ms;

		strcpy(buf, "soon");
		dp_wait_parse(buf, &ms, &rep);
		assert_string_equal(problems, "'soon' is not a number of seconds\n");
		rep = report(false);
		strcpy(buf, "");
		dp_wait_parse(buf, &ms, &rep);
		assert_string_equal(problems, "missing number of seconds\n");
		rep = report(true);
		strcpy(buf, "${T}");
		dp_wait_parse(buf, &ms, &rep);
		assert_string_equal(problems, "");
	}
}

static void test_hangup(void **state)
{
	struct dp_report rep = report(false);
	enum q850_cause cause;
	char buf[32];

	strcpy(buf, "17");
	dp_hangup_parse(buf, &cause, &rep);
	assert_int_equal(cause, Q850_USER_BUSY);
	strcpy(buf, " normal_clearing ");
	dp_hangup_parse(buf, &cause, &rep);
	assert_int_equal(cause, Q850_NORMAL_CLEARING);
	strcpy(buf, "");
	dp_hangup_parse(buf, &cause, &rep);
	assert_int_equal(cause, Q850_UNSET);
	assert_string_equal(problems, "");
	strcpy(buf, "0");
	dp_hangup_parse(buf, &cause, &rep);
	assert_int_equal(cause, Q850_UNSET);
	assert_string_equal(problems, "invalid cause '0'\n");
	rep = report(true);
	strcpy(buf, "${CAUSE}");
	dp_hangup_parse(buf, &cause, &rep);
	assert_int_equal(cause, Q850_UNSET);
	assert_string_equal(problems, "");
}

static void test_numbers(void **state)
{
	assert_true(dp_is_number("20"));
	assert_true(dp_is_number("1.5"));
	assert_false(dp_is_number("1."));
	assert_false(dp_is_number(".5"));
	assert_false(dp_is_number("-1"));
	assert_false(dp_is_number(""));
	assert_false(dp_is_number("2s"));
}

/* ${PJSIP_HEADER(action,name[,number])}: read only, a name, a prefix,
 * the number (1 for anything below 1). */
static void test_pjsip_header(void **state)
{
	struct dp_report rep = report(false);
	struct dp_pjsip_header h;
	char buf[64];

	strcpy(buf, "read,To");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), 0);
	assert_string_equal(h.name, "To");
	assert_false(h.prefix);
	assert_int_equal(h.number, 1);
	strcpy(buf, " READ , X-Acme-* , 3 ");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), 0);
	assert_string_equal(h.name, "X-Acme-");
	assert_true(h.prefix);
	assert_int_equal(h.number, 3);
	strcpy(buf, "read,Via,0");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), 0);
	assert_int_equal(h.number, 1);
	strcpy(buf, "read,Via,x");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), 0);
	assert_int_equal(h.number, 1);
	assert_string_equal(problems, "");
	strcpy(buf, "add,X-Foo");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), EINVAL);
	strcpy(buf, "read, ");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), EINVAL);
	strcpy(buf, "");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), EINVAL);
	assert_string_equal(problems, "PJSIP_HEADER: action 'add' is not read\n"
			    "PJSIP_HEADER: no header name\n"
			    "PJSIP_HEADER: action '' is not read\n");
	rep = report(true);
	strcpy(buf, "${ACTION},To,${N}");
	assert_int_equal(dp_pjsip_header_parse(buf, &h, &rep), 0);
	assert_string_equal(h.name, "To");
	assert_string_equal(problems, "");
}

/* Without a problem handler only the first fatal problem is kept. */
static void test_report_why_only(void **state)
{
	struct dp_report rep = { false, NULL, NULL, "", NULL };
	struct dp_dial d;
	char buf[64];

	strcpy(buf, "SIP/1&x&y");
	assert_int_equal(dp_dial_parse(buf, &d, &rep), EINVAL);
	assert_string_equal(rep.why, "'x' is not TECHNOLOGY/resource");
	dp_dial_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_split),
		cmocka_unit_test(test_dial_spaces),
		cmocka_unit_test(test_dial_empty_targets),
		cmocka_unit_test(test_dial_timeout),
		cmocka_unit_test(test_dial_bad),
		cmocka_unit_test(test_dial_written),
		cmocka_unit_test(test_playback),
		cmocka_unit_test(test_dial_options),
		cmocka_unit_test(test_dial_options_args),
		cmocka_unit_test(test_playback_options),
		cmocka_unit_test(test_background),
		cmocka_unit_test(test_waitexten),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_saynumber),
		cmocka_unit_test(test_goto),
		cmocka_unit_test(test_gotoif),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_moh),
		cmocka_unit_test(test_hangup),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_pjsip_header),
		cmocka_unit_test(test_report_why_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
