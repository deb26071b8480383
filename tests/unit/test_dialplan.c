/*
 * test_dialplan.c - extensions.conf loading and matching: the order of
 * exact names, patterns and includes, priorities, labels and "same",
 * caller-ID matches, globals, and every load-time error and warning with
 * its exact "file:line: message" text.
 *
 * Each test writes extensions.conf into a fresh temporary directory.
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
#include "config/dpmatch.h"
#include "config/dppattern.h"
#include "config/extensions.h"
#include "config/q850.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif

struct fx {
	char dir[64];
	struct diag diag;
	struct astconf *ac;
	struct dialplan *dp;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-dialplan-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	*state = fx;
	return 0;
}

static void fx_reset(struct fx *fx)
{
	dialplan_free(fx->dp);
	fx->dp = NULL;
	astconf_free(fx->ac);
	fx->ac = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	fx_reset(fx);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void put(struct fx *fx, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

/*
 * Write extensions.conf and load it: dialplan_load()'s result.  The
 * astconf is freed at once: the dialplan must not point into it.
 */
static int load(struct fx *fx, const char *text)
{
	int rc;

	fx_reset(fx);
	put(fx, "extensions.conf", text);
	assert_int_equal(astconf_load(&fx->ac, fx->dir, "extensions.conf", &fx->diag),
			 ASTCONF_OK);
	rc = dialplan_load(fx->ac, &fx->diag, &fx->dp);
	astconf_free(fx->ac);
	fx->ac = NULL;
	return rc;
}

/* All messages, formatted, one per line. */
static const char *msgs(struct fx *fx)
{
	static char out[16384];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(out); i++) {
		char line[1024];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	return out;
}

/* Name of the extension that runs exten at prio in ctx, or "-". */
static const char *match(struct fx *fx, const char *ctx, const char *exten, int prio)
{
	const struct dp_prio *p = dialplan_find(fx->dp, ctx, exten, prio, NULL);

	return p ? p->exten->name : "-";
}

/* The NoOp() text that runs, or "-". */
static const char *noop(struct fx *fx, const char *ctx, const char *exten, int prio,
			const char *cid)
{
	const struct dp_prio *p = dialplan_find(fx->dp, ctx, exten, prio, cid);

	return p ? p->args : "-";
}

static void test_shipped_config(void **state)
{
	struct fx *fx = *state;
	char dir[512];

	fx_reset(fx);
	snprintf(dir, sizeof(dir), "%s/asterisk_config", KV_SOURCE_DIR);
	assert_int_equal(astconf_load(&fx->ac, dir, "extensions.conf", &fx->diag),
			 ASTCONF_OK);
	assert_int_equal(dialplan_load(fx->ac, &fx->diag, &fx->dp), 0);
	astconf_free(fx->ac);
	fx->ac = NULL;
	/* The file is edited over time: what must hold is that it loads
	 * without a message and that phones can call each other. */
	assert_string_equal(msgs(fx), "");
	assert_non_null(dialplan_context(fx->dp, "from-internal"));
	assert_non_null(dialplan_find(fx->dp, "from-internal", "1001", 1, NULL));
	assert_int_equal(dialplan_find(fx->dp, "from-internal", "1001", 1, NULL)->app,
			 DP_APP_DIAL);
}

static void test_no_file(void **state)
{
	struct fx *fx = *state;
	struct dialplan *dp = NULL;

	assert_int_equal(dialplan_load(NULL, &fx->diag, &dp), 0);
	assert_non_null(dp);
	assert_int_equal(dp->contexts_n, 0);
	assert_null(dialplan_find(dp, "default", "s", 1, NULL));
	assert_ptr_equal(dialplan_ref(dp), dp);
	dialplan_unref(dp);
	dialplan_free(dp);
}

static void test_exact_before_pattern(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[c]\n"
		"exten => _1XX,1,NoOp(pattern)\n"
		"exten => 100,1,NoOp(exact)\n"
		"exten => s,1,NoOp(s)\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_string_equal(match(fx, "c", "100", 1), "100");
	assert_string_equal(match(fx, "c", "101", 1), "_1XX");
	assert_string_equal(match(fx, "c", "1000", 1), "-");
	assert_string_equal(match(fx, "c", "10", 1), "-");
	assert_string_equal(match(fx, "c", "s", 1), "s");
	assert_string_equal(match(fx, "c", "S", 1), "-");
	assert_string_equal(match(fx, "nope", "100", 1), "-");
	assert_string_equal(match(fx, "C", "100", 1), "-");
}

static void test_pattern_order(void **state)
{
	struct fx *fx = *state;
	static const char *const order[] = {
		"100", "_10X", "_1[0-5]X", "_1XX", "_1.", "_1!", "_[13]XX", "_NXX", "_X.",
	};
	const struct dp_context *c;

	/* Written in a scrambled order on purpose. */
	assert_int_equal(load(fx,
		"[c]\n"
		"exten => _X.,1,NoOp\n"
		"exten => _1!,1,NoOp\n"
		"exten => _NXX,1,NoOp\n"
		"exten => _1XX,1,NoOp\n"
		"exten => _1.,1,NoOp\n"
		"exten => _[13]XX,1,NoOp\n"
		"exten => 100,1,NoOp\n"
		"exten => _1[0-5]X,1,NoOp\n"
		"exten => _10X,1,NoOp\n"), 0);
	assert_string_equal(msgs(fx), "");
	c = dialplan_context(fx->dp, "c");
	assert_non_null(c);
	assert_int_equal(c->extens_n, 9);
	assert_int_equal(c->plain_n, 1);
	for (size_t i = 0; i < 9; i++)
		assert_string_equal(c->extens[i].name, order[i]);

	assert_string_equal(match(fx, "c", "100", 1), "100");
	assert_string_equal(match(fx, "c", "105", 1), "_10X");      /* literal beats a set */
	assert_string_equal(match(fx, "c", "155", 1), "_1[0-5]X");  /* 6 beats 10 */
	assert_string_equal(match(fx, "c", "175", 1), "_1XX");
	assert_string_equal(match(fx, "c", "1755", 1), "_1.");      /* '.' before '!' */
	assert_string_equal(match(fx, "c", "1", 1), "_1!");         /* '!' takes zero */
	assert_string_equal(match(fx, "c", "300", 1), "_[13]XX");
	assert_string_equal(match(fx, "c", "400", 1), "_NXX");
	assert_string_equal(match(fx, "c", "0123", 1), "_X.");
	assert_string_equal(match(fx, "c", "0", 1), "-");           /* '.' needs one */
	assert_string_equal(match(fx, "c", "a", 1), "-");
}

static void test_pattern_chars(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[c]\n"
		"exten => _Z,1,NoOp(Z)\n"
		"exten => _N,1,NoOp(N)\n"
		"exten => _X,1,NoOp(X)\n"
		"exten => _[a-c#*],1,NoOp(set)\n"
		"exten => _9-NXX-XXXX,1,NoOp(dashes)\n"
		"exten => 555-1234,1,NoOp(plain dashes)\n"
		"exten => _a[]b,1,NoOp(empty set)\n"
		"exten => _zn,1,NoOp(lower)\n"
		"exten => _+1.,1,NoOp(plus)\n"), 0);
	assert_string_equal(msgs(fx), "");
	/* N (8 chars) sorts before Z (9) before X (10). */
	assert_string_equal(noop(fx, "c", "5", 1, NULL), "N");
	assert_string_equal(noop(fx, "c", "1", 1, NULL), "Z");
	assert_string_equal(noop(fx, "c", "0", 1, NULL), "X");
	assert_string_equal(noop(fx, "c", "b", 1, NULL), "set");
	assert_string_equal(noop(fx, "c", "#", 1, NULL), "set");
	assert_string_equal(noop(fx, "c", "d", 1, NULL), "-");
	assert_string_equal(noop(fx, "c", "92125551", 1, NULL), "dashes");
	assert_string_equal(noop(fx, "c", "9-212-5551", 1, NULL), "dashes");
	assert_string_equal(noop(fx, "c", "91125551", 1, NULL), "-");
	assert_string_equal(noop(fx, "c", "5551234", 1, NULL), "plain dashes");
	assert_string_equal(noop(fx, "c", "555-1234", 1, NULL), "plain dashes");
	assert_string_equal(noop(fx, "c", "55-51-234", 1, NULL), "plain dashes");
	assert_string_equal(noop(fx, "c", "ab", 1, NULL), "empty set");
	/* Lower case x, n, z are wildcards too. */
	assert_string_equal(noop(fx, "c", "19", 1, NULL), "lower");
	assert_string_equal(noop(fx, "c", "10", 1, NULL), "-");
	assert_string_equal(noop(fx, "c", "+15551234", 1, NULL), "plus");
	/* A pattern matches itself, as Asterisk's Goto to "_1XX" does. */
	assert_string_equal(noop(fx, "c", "_9NXXXXXX", 1, NULL), "dashes");
}

static void test_includes(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[top]\n"
		"include => b\n"
		"include => c\n"
		"exten => _7XX,1,NoOp(top)\n"
		"[b]\n"
		"include => d\n"
		"exten => 200,1,NoOp(b)\n"
		"[c]\n"
		"exten => 555,1,NoOp(c)\n"
		"exten => 200,2,NoOp(c2)\n"
		"exten => 700,1,NoOp(c700)\n"
		"[d]\n"
		"exten => 555,1,NoOp(d)\n"), 0);
	assert_string_equal(msgs(fx), "");
	/* Depth first: b, then what b includes (d), then c. */
	assert_string_equal(noop(fx, "top", "555", 1, NULL), "d");
	assert_string_equal(noop(fx, "c", "555", 1, NULL), "c");
	/* The context's own patterns come before any include. */
	assert_string_equal(noop(fx, "top", "700", 1, NULL), "top");
	/* Priority 2 of 200 is not in b, so c's answers. */
	assert_string_equal(noop(fx, "top", "200", 1, NULL), "b");
	assert_string_equal(noop(fx, "top", "200", 2, NULL), "c2");
	assert_string_equal(noop(fx, "d", "200", 1, NULL), "-");
}

static void test_include_cycle(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[x]\n"
		"include => y\n"
		"exten => 1,1,NoOp(x)\n"
		"[y]\n"
		"include => x\n"
		"include => y\n"
		"exten => 2,1,NoOp(y)\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_string_equal(noop(fx, "x", "2", 1, NULL), "y");
	assert_string_equal(noop(fx, "y", "1", 1, NULL), "x");
	assert_string_equal(noop(fx, "x", "3", 1, NULL), "-");
	assert_null(dialplan_find_label(fx->dp, "y", "3", "nolabel", NULL));
}

static void test_priorities(void **state)
{
	struct fx *fx = *state;
	const struct dp_prio *p;

	assert_int_equal(load(fx,
		"[c]\n"
		"exten => 100,1,NoOp(one)\n"                /* 2 */
		" same => n(second),NoOp(two)\n"
		" same => n,NoOp(three)\n"
		"exten => 100,10(ten),NoOp(ten)\n"          /* 5 */
		" same => n,NoOp(eleven)\n"
		"exten => 200,n,NoOp(twelve)\n"             /* 7: n goes on from 11 */
		" same => n+2,NoOp(fifteen)\n"
		" same => s,NoOp(fifteen again)\n"
		"exten => 300,5,NoOp(a)\n"
		" same => 1,NoOp(b)\n"
		"exten => 400,hint,PJSIP/400\n"             /* 12 */
		" same => 1,Answer\n"
		"exten => 500 , 1 , NoOp( spaced )\n"), EINVAL);
	/* "s" repeats 15 for the same extension: a duplicate. */
	assert_string_equal(msgs(fx),
		"extensions.conf:9: duplicate priority 15 for extension '200' in "
		"context 'c' (first defined at extensions.conf:8)\n");
	assert_int_equal(load(fx,
		"[c]\n"
		"exten => 100,1,NoOp(one)\n"
		" same => n(second),NoOp(two)\n"
		" same => n,NoOp(three)\n"
		"exten => 100,10(ten),NoOp(ten)\n"
		" same => n,NoOp(eleven)\n"
		"exten => 200,n,NoOp(twelve)\n"
		" same => n+2,NoOp(fifteen)\n"
		"exten => 300,5,NoOp(a)\n"
		" same => 1,NoOp(b)\n"
		"exten => 400,hint,PJSIP/400\n"
		" same => 1,Answer\n"
		"exten => 500 , 1 , NoOp( spaced )\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_string_equal(noop(fx, "c", "100", 1, NULL), "one");
	assert_string_equal(noop(fx, "c", "100", 2, NULL), "two");
	assert_string_equal(noop(fx, "c", "100", 3, NULL), "three");
	assert_string_equal(noop(fx, "c", "100", 4, NULL), "-");
	assert_string_equal(noop(fx, "c", "100", 11, NULL), "eleven");
	assert_string_equal(noop(fx, "c", "200", 12, NULL), "twelve");
	assert_string_equal(noop(fx, "c", "200", 15, NULL), "fifteen");
	assert_string_equal(noop(fx, "c", "300", 1, NULL), "b");
	assert_string_equal(noop(fx, "c", "300", 5, NULL), "a");
	assert_string_equal(noop(fx, "c", "500", 1, NULL), " spaced ");
	p = dialplan_find_label(fx->dp, "c", "100", "second", NULL);
	assert_non_null(p);
	assert_int_equal(p->prio, 2);
	assert_int_equal(p->line, 3);
	assert_string_equal(p->file, "extensions.conf");
	p = dialplan_find_label(fx->dp, "c", "100", "ten", NULL);
	assert_int_equal(p->prio, 10);
	assert_null(dialplan_find_label(fx->dp, "c", "100", "nope", NULL));
	/* The hint is not a priority; the extension still runs. */
	p = dialplan_find(fx->dp, "c", "400", 1, NULL);
	assert_non_null(p);
	assert_int_equal(p->app, DP_APP_ANSWER);
	assert_string_equal(p->args, "");
	assert_int_equal(p->exten->prios_n, 1);
}

static void test_app_syntax(void **state)
{
	struct fx *fx = *state;
	const struct dp_prio *p;

	assert_int_equal(load(fx,
		"[c]\n"
		"exten => 1,1,noop\n"
		" same => n,ANSWER()\n"
		" same => n,Set(X=a,b(c))\n"
		" same => n, Playback(hello)  \n"
		" same => n,NoOp(unclosed\n"), 0);
	assert_string_equal(msgs(fx),
		"extensions.conf:6: warning: no closing parenthesis in 'NoOp(unclosed'\n");
	p = dialplan_find(fx->dp, "c", "1", 1, NULL);
	assert_int_equal(p->app, DP_APP_NOOP);
	assert_int_equal(dialplan_find(fx->dp, "c", "1", 2, NULL)->app, DP_APP_ANSWER);
	assert_string_equal(dialplan_find(fx->dp, "c", "1", 3, NULL)->args, "X=a,b(c)");
	assert_string_equal(dialplan_find(fx->dp, "c", "1", 4, NULL)->args, "hello");
	assert_string_equal(dialplan_find(fx->dp, "c", "1", 5, NULL)->args, "unclosed");
}

static void test_callerid(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[c]\n"
		"exten => 100,1,NoOp(anyone)\n"
		"exten => 100/200,1,NoOp(from 200)\n"
		"exten => 100/_3XX,1,NoOp(from 3XX)\n"
		"exten => 100/,1,NoOp(anonymous)\n"
		"exten => 101/(555) 123-4567,1,NoOp(shrunk)\n"
		"exten => 102/200,1,NoOp(only 200)\n"
		" same => n,NoOp(same keeps the caller-ID)\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_true(fx->dp->has_cid);
	assert_string_equal(noop(fx, "c", "100", 1, "200"), "from 200");
	assert_string_equal(noop(fx, "c", "100", 1, "301"), "from 3XX");
	assert_string_equal(noop(fx, "c", "100", 1, "999"), "anyone");
	assert_string_equal(noop(fx, "c", "100", 1, NULL), "anonymous");
	assert_string_equal(noop(fx, "c", "100", 1, ""), "anonymous");
	assert_string_equal(noop(fx, "c", "101", 1, "5551234567"), "shrunk");
	assert_string_equal(noop(fx, "c", "102", 1, "201"), "-");
	assert_string_equal(noop(fx, "c", "102", 2, "200"), "same keeps the caller-ID");
	assert_non_null(dialplan_find_any(fx->dp, "c", "102", 2, NULL));
}

static void test_globals(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[globals]\n"
		"A=1\n"
		"B=${A}2\n"
		"EXT=700\n"
		"CTX=other\n"
		"A=3\n"
		"[c]\n"
		"exten => ${EXT},1,NoOp(seven hundred)\n"
		" same => n,Goto(${CTX},1,1)\n"
		"include => ${CTX}\n"
		"[other]\n"
		"exten => 1,1,NoOp(other)\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_string_equal(dialplan_global(fx->dp, "A", 1), "3");
	assert_string_equal(dialplan_global(fx->dp, "B", 1), "12");
	assert_string_equal(dialplan_global(fx->dp, "EXT", 3), "700");
	assert_null(dialplan_global(fx->dp, "EX", 2));
	assert_null(dialplan_global(fx->dp, "a", 1));
	assert_string_equal(noop(fx, "c", "700", 1, NULL), "seven hundred");
	assert_string_equal(noop(fx, "c", "1", 1, NULL), "other");
	/* [globals] and [general] are not contexts. */
	assert_null(dialplan_context(fx->dp, "globals"));
}

static void test_sections(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx,
		"[general]\n"
		"static=yes\n"
		"writeprotect=no\n"
		"clearglobalvars=no\n"
		"extenpatternmatchnew=no\n"
		"autofallthrough=yes\n"
		"userscontext=default\n"
		"[tpl](!)\n"
		"exten => 9,1,NoOp(template)\n"
		"[c](tpl)\n"
		"exten => 1,1,NoOp(first)\n"
		"[C]\n"
		"exten => 1,1,NoOp(upper)\n"
		"[c]\n"
		"exten => 2,1,NoOp(second section)\n"), 0);
	assert_string_equal(msgs(fx), "");
	assert_null(dialplan_context(fx->dp, "tpl"));
	assert_string_equal(noop(fx, "c", "9", 1, NULL), "template");
	assert_string_equal(noop(fx, "c", "1", 1, NULL), "first");
	assert_string_equal(noop(fx, "C", "1", 1, NULL), "upper");
	assert_string_equal(noop(fx, "c", "2", 1, NULL), "second section");
	assert_int_equal(fx->dp->contexts_n, 2);
}

struct diag_case {
	const char *conf;
	int rc;
	const char *msgs;
};

/* Each case is a whole extensions.conf and everything it must report. */
static const struct diag_case diag_cases[] = {
	{ "[c]\nexten => 1,1,Foo(bar)\n", EINVAL,
	  "extensions.conf:2: unknown application 'Foo'\n" },
	{ "[c]\nexten => 1,1,Dial,PJSIP/100\n", EINVAL,
	  "extensions.conf:2: unknown application 'Dial,PJSIP/100'\n" },
	{ "[c]\nexten => 1,1,\n", EINVAL,
	  "extensions.conf:2: no application\n" },
	{ "[c]\nexten => 1,1\n", EINVAL,
	  "extensions.conf:2: no application\n" },
	{ "[c]\nexten => 1,1,${APP}(x)\n", EINVAL,
	  "extensions.conf:2: unknown application '${APP}(x)'\n" },
	{ "[c]\nexten => 1,1,NoOp\nexten => 1,1,NoOp\n", EINVAL,
	  "extensions.conf:3: duplicate priority 1 for extension '1' in context 'c' "
	  "(first defined at extensions.conf:2)\n" },
	{ "[c]\nexten => 555-1234,1,NoOp\n[c]\nexten => 5551234,1,NoOp\n", EINVAL,
	  "extensions.conf:4: duplicate priority 1 for extension '5551234' in context 'c' "
	  "(first defined at extensions.conf:2)\n" },
	{ "[c]\nexten => 1,1(a),NoOp\nsame => n(a),NoOp\n", EINVAL,
	  "extensions.conf:3: duplicate label 'a' in extension '1' of context 'c' "
	  "(first defined at extensions.conf:2)\n" },
	{ "[c]\ninclude => nowhere\n", EINVAL,
	  "extensions.conf:2: include of unknown context 'nowhere'\n" },
	{ "[c]\ninclude => d,9:00-17:00,mon-fri,*,*\n[d]\n", EINVAL,
	  "extensions.conf:2: include of 'd' with a time restriction is not supported\n" },
	{ "[c]\ninclude => d\ninclude => d\n[d]\n", 0,
	  "extensions.conf:3: warning: context 'd' is already included in 'c'\n" },
	{ "[c]\nsame => 1,NoOp\n", EINVAL,
	  "extensions.conf:2: 'same' without a previous 'exten' in context 'c'\n" },
	{ "[c]\nexten => 1,n,NoOp\n", EINVAL,
	  "extensions.conf:2: priority 'n' on the first entry of the context\n" },
	{ "[c]\nexten => 1,hint,PJSIP/1\nsame => n,NoOp\n", EINVAL,
	  "extensions.conf:3: priority 'n' after a hint: give a number\n" },
	{ "[c]\nexten => 1,one,NoOp\n", EINVAL,
	  "extensions.conf:2: invalid priority 'one'\n" },
	{ "[c]\nexten => 1,0,NoOp\n", EINVAL,
	  "extensions.conf:2: invalid priority '0'\n" },
	{ "[c]\nexten => 1,1+x,NoOp\n", EINVAL,
	  "extensions.conf:2: invalid priority offset '+x'\n" },
	{ "[c]\nexten => 1,1(lbl,NoOp\n", EINVAL,
	  "extensions.conf:2: label missing trailing ')'\n" },
	{ "[c]\nexten => 1\n", EINVAL,
	  "extensions.conf:2: missing priority\n" },
	{ "[c]\nexten => ,1,NoOp\n", EINVAL,
	  "extensions.conf:2: empty extension name\n" },
	{ "[c]\nexten => _12[3,1,NoOp\n", EINVAL,
	  "extensions.conf:2: unterminated '[' in pattern '_12[3,1,NoOp'\n" },
	{ "[c]\nexten => 1/_[2,1,NoOp\n", EINVAL,
	  "extensions.conf:2: unterminated '[' in caller-ID pattern '_[2,1,NoOp'\n" },
	{ "[c]\nexten => 1234567890123456789012345678901234567890123456789012345678901234567890"
	  "1234567890,1,NoOp\n", EINVAL,
	  "extensions.conf:2: extension name longer than 79 characters\n" },
	{ "[c]\nexten => _.,1,NoOp\n", 0,
	  "extensions.conf:2: warning: The use of '_.' for an extension is strongly "
	  "discouraged and can have unexpected behavior.  Please use '_X.' instead\n" },
	{ "[c]\nexten => _!,1,NoOp\n", 0,
	  "extensions.conf:2: warning: The use of '_!' for an extension is strongly "
	  "discouraged and can have unexpected behavior.  Please use '_X!' instead\n" },
	{ "[c]\nexten => _1.2,1,NoOp\n", 0,
	  "extensions.conf:2: warning: characters after '.' in pattern '_1.2' are never "
	  "matched\n" },
	{ "[c]\nignorepat => 9\nswitch => IAX2/foo\nfoo => bar\n", 0,
	  "extensions.conf:2: warning: ignorepat has no effect here and is ignored\n"
	  "extensions.conf:3: warning: switches are not supported: 'switch' ignored\n"
	  "extensions.conf:4: warning: unknown directive 'foo' ignored\n" },
	{ "[general]\nautofallthrough=no\nstatic=maybe\nfoo=1\noverrideswitch=x\n", 0,
	  "extensions.conf:2: warning: autofallthrough=no is not supported: a call that "
	  "runs off the end of an extension is hung up\n"
	  "extensions.conf:3: warning: invalid value 'maybe' for 'static' (expected yes "
	  "or no)\n"
	  "extensions.conf:4: warning: unknown option 'foo' in [general] ignored\n"
	  "extensions.conf:5: warning: switches are not supported: 'overrideswitch' "
	  "ignored\n" },

	/* Application arguments. */
	{ "[c]\nexten => 1,1,Wait(abc)\n", EINVAL,
	  "extensions.conf:2: Wait: 'abc' is not a number of seconds\n" },
	{ "[c]\nexten => 1,1,Wait()\n", EINVAL,
	  "extensions.conf:2: Wait: missing number of seconds\n" },
	{ "[c]\nexten => 1,1,Wait(1.5)\nsame => n,Wait(${T})\n", 0, "" },
	{ "[c]\nexten => 1,1,Wait(500ms)\nsame => n,Wait(2m)\n", 0, "" },
	{ "[c]\nexten => 1,1,Wait(2x)\n", EINVAL,
	  "extensions.conf:2: Wait: '2x' is not a number of seconds\n" },
	{ "[c]\nexten => 1,1,Hangup(foo)\n", EINVAL,
	  "extensions.conf:2: Hangup: invalid cause 'foo'\n" },
	{ "[c]\nexten => 1,1,Hangup(0)\n", EINVAL,
	  "extensions.conf:2: Hangup: invalid cause '0'\n" },
	{ "[c]\nexten => 1,1,Hangup()\nsame => n,Hangup(17)\nsame => n,Hangup(USER_BUSY)\n",
	  0, "" },
	{ "[c]\nexten => 1,1,Busy(x)\n", EINVAL,
	  "extensions.conf:2: Busy: invalid timeout 'x'\n" },
	{ "[c]\nexten => 1,1,Congestion(-1)\n", EINVAL,
	  "extensions.conf:2: Congestion: invalid timeout '-1'\n" },
	{ "[c]\nexten => 1,1,Busy()\nsame => n,Congestion(10)\n", 0, "" },
	{ "[c]\nexten => 1,1,Answer(soon)\n", EINVAL,
	  "extensions.conf:2: Answer: invalid delay 'soon'\n" },
	{ "[c]\nexten => 1,1,Dial(SIP/100)\n", EINVAL,
	  "extensions.conf:2: Dial: technology 'SIP' is not supported (use PJSIP)\n" },
	{ "[c]\nexten => 1,1,Dial(PJSIP/100&IAX2/200,20)\n", EINVAL,
	  "extensions.conf:2: Dial: technology 'IAX2' is not supported (use PJSIP)\n" },
	{ "[c]\nexten => 1,1,Dial(PJSIP/100,abc)\n", EINVAL,
	  "extensions.conf:2: Dial: timeout 'abc' is not a number of seconds\n" },
	{ "[c]\nexten => 1,1,Dial()\n", EINVAL,
	  "extensions.conf:2: Dial: no destination\n" },
	{ "[c]\nexten => 1,1,Dial(100)\n", EINVAL,
	  "extensions.conf:2: Dial: '100' is not TECHNOLOGY/resource\n" },
	{ "[c]\nexten => 1,1,Dial(PJSIP/)\n", EINVAL,
	  "extensions.conf:2: Dial: no endpoint after 'PJSIP/'\n" },
	{ "[c]\nexten => 1,1,Dial(PJSIP/100&,30)\n", EINVAL,
	  "extensions.conf:2: Dial: empty destination in 'PJSIP/100&'\n" },
	/* Issue #8: blanks around '&' are stripped, as app_dial does. */
	{ "[c]\nexten => 5,1,Dial(PJSIP/1002 & PJSIP/1002,20)\n", 0, "" },
	{ "[c]\nexten => 5,1,Dial(PJSIP/1002 & ,20)\n", EINVAL,
	  "extensions.conf:2: Dial: empty destination in 'PJSIP/1002 &'\n" },
	{ "[c]\nexten => 5,1,Dial( PJSIP/1002 ,1.5)\n", 0, "" },
	{ "[c]\nexten => 1,1,Dial(100&SIP/1)\n", EINVAL,
	  "extensions.conf:2: Dial: '100' is not TECHNOLOGY/resource\n"
	  "extensions.conf:2: Dial: technology 'SIP' is not supported (use PJSIP)\n" },
	{ "[c]\nexten => 1,1,Dial(pjsip/100&PJSIP/${EXTEN},${T},rgL(60000)D(1))\n"
	  "same => n,Dial(${DEV})\n", 0, "" },
	/* Options KubeVox does not do: one warning each, the rest loads. */
	{ "[c]\nexten => 1,1,Dial(PJSIP/100,,tT)\n", 0,
	  "extensions.conf:2: warning: Dial: Dial option 't' (callee transfers) is not supported (ignored)\n"
	  "extensions.conf:2: warning: Dial: Dial option 'T' (caller transfers) is not supported (ignored)\n" },
	{ "[c]\nexten => 1,1,Dial(PJSIP/100,,L(x))\n", EINVAL,
	  "extensions.conf:2: Dial: L(x): the limit is not a positive number of ms\n" },
	{ "[c]\nexten => 1,1,Playback()\n", EINVAL,
	  "extensions.conf:2: Playback: no file to play\n" },
	{ "[c]\nexten => 1,1,Playback(a&&b)\n", EINVAL,
	  "extensions.conf:2: Playback: empty file name in 'a&&b'\n" },
	{ "[c]\nexten => 1,1,Playback(hello-world&beep,noanswer)\n", 0, "" },
	{ "[c]\nexten => 1,1,Set(X)\n", EINVAL,
	  "extensions.conf:2: Set: expected 'name=value'\n" },
	{ "[c]\nexten => 1,1,Set(=1)\n", EINVAL,
	  "extensions.conf:2: Set: no variable name before '='\n" },
	{ "[c]\nexten => 1,1,Set(FOO(x)=1)\n", EINVAL,
	  "extensions.conf:2: Set: unknown function 'FOO'\n" },
	{ "[c]\nexten => 1,1,Set(LEN(x)=1)\n", EINVAL,
	  "extensions.conf:2: Set: function 'LEN' cannot be set\n" },
	{ "[c]\nexten => 1,1,Set(CALLERID(nom)=1)\n", EINVAL,
	  "extensions.conf:2: Set: CALLERID: unknown data item 'nom'\n" },
	{ "[c]\nexten => 1,1,Set(${N}=1)\nsame => n,Set(CALLERID(name)=a=b)\n"
	  "same => n,Set(X=)\n", 0, "" },
	{ "[c]\nexten => 1,1,Set(CALLERID(pres)=prohib)\nsame => n,NoOp(${CALLERID(pres)})\n",
	  0, "" },
	{ "[c]\nexten => 1,1,Goto(nowhere,1,1)\n", EINVAL,
	  "extensions.conf:2: Goto: unknown context 'nowhere'\n" },
	{ "[c]\nexten => 1,1,Goto(2,nolabel)\nexten => 2,1,NoOp\n", EINVAL,
	  "extensions.conf:2: Goto: no label 'nolabel' in extension '2' of context 'c'\n" },
	{ "[c]\nexten => 1,1,Goto(nolabel)\nexten => 2,1(nolabel),NoOp\n[d]\n", 0, "" },
	{ "[c]\nexten => 1,1,Goto(missing)\n", EINVAL,
	  "extensions.conf:2: Goto: no label 'missing' in context 'c'\n" },
	{ "[c]\nexten => 1,1,Goto(9,1)\n", 0,
	  "extensions.conf:2: warning: Goto: there is no priority 1 of extension '9' in "
	  "context 'c'\n" },
	{ "[c]\nexten => 1,1,Goto(5)\n", 0,
	  "extensions.conf:2: warning: Goto: there is no priority 5 of extension '1' in "
	  "context 'c'\n" },
	{ "[c]\nexten => 1,1,Goto(0)\n", EINVAL,
	  "extensions.conf:2: Goto: invalid priority '0'\n" },
	{ "[c]\nexten => 1,1,Goto()\n", EINVAL,
	  "extensions.conf:2: Goto: expected ([[context,]extension,]priority)\n" },
	{ "[c]\nexten => 1,1,Goto(d,,)\n[d]\n", EINVAL,
	  "extensions.conf:2: Goto: missing priority\n" },
	{ "[c]\nexten => _1X,1(top),Goto(d,s,lbl)\nsame => n,Goto(+1)\nsame => n,Goto(-2)\n"
	  "same => n,Goto(top)\nsame => n,Goto(${C},s,1)\nsame => n,Goto(d,${E},x)\n"
	  "same => n,Goto(${LEN(a,b)},1)\n"
	  "[d]\ninclude => e\n[e]\nexten => s,1(lbl),NoOp\n", 0, "" },
	{ "[c]\nexten => 1,1,GotoIf(1)\n", EINVAL,
	  "extensions.conf:2: GotoIf: expected 'condition?[label1][:label2]'\n" },
	{ "[c]\nexten => 1,1,GotoIf($[1 = 1]?nowhere,1,1)\n", EINVAL,
	  "extensions.conf:2: GotoIf: unknown context 'nowhere'\n" },
	{ "[c]\nexten => 1,1,GotoIf($[${A} ? 1 :: 0]?:x)\n", EINVAL,
	  "extensions.conf:2: GotoIf: no label 'x' in context 'c'\n" },
	{ "[c]\nexten => 1,1,GotoIf(${X}?yes:d,s,1)\nsame => n(yes),NoOp\n"
	  "same => n,GotoIf($[${X} = 1]?)\n[d]\nexten => s,1,NoOp\n", 0, "" },
	{ "[c]\nexten => 1,1,NoOp(${X)\n", EINVAL,
	  "extensions.conf:2: NoOp: missing '}' in '${X'\n" },
	{ "[c]\nexten => 1,1,NoOp($[1 + 1)\n", EINVAL,
	  "extensions.conf:2: NoOp: missing ']' in '$[1 + 1'\n" },
	{ "[c]\nexten => 1,1,NoOp($[1 +])\n", EINVAL,
	  "extensions.conf:2: NoOp: syntax error in '$[1 +]'\n" },
	{ "[c]\nexten => 1,1,NoOp(${FOO(bar)})\n", EINVAL,
	  "extensions.conf:2: NoOp: unknown function 'FOO'\n" },
	{ "[c]\nexten => 1,1,NoOp(${callerid(num)})\n", EINVAL,
	  "extensions.conf:2: NoOp: unknown function 'callerid'\n" },
	{ "[c]\nexten => 1,1,NoOp(${CALLERID(foo)})\n", EINVAL,
	  "extensions.conf:2: NoOp: CALLERID: unknown data item 'foo'\n" },
	{ "[c]\nexten => 1,1,NoOp(${CALLERID(num):1:2} ${LEN(${X})} $[${X} + 1] "
	  "${EXCEPTION(reason)} ${CALLERID(${ITEM})} ${A${B}})\n", 0, "" },
};

static void test_diagnostics(void **state)
{
	struct fx *fx = *state;

	for (size_t i = 0; i < sizeof(diag_cases) / sizeof(diag_cases[0]); i++) {
		const struct diag_case *dc = &diag_cases[i];
		int rc = load(fx, dc->conf);

		if (rc != dc->rc || strcmp(msgs(fx), dc->msgs)) {
			print_error("case %zu:\n%s\ngot rc=%d:\n%s\nwant rc=%d:\n%s\n", i,
				    dc->conf, rc, msgs(fx), dc->rc, dc->msgs);
			fail();
		}
		if (rc)
			assert_null(fx->dp);
		else
			assert_non_null(fx->dp);
	}
}

static void test_all_errors_reported(void **state)
{
	struct fx *fx = *state;

	/* Loading goes on after an error, so --check shows them all. */
	assert_int_equal(load(fx,
		"[c]\n"
		"exten => 1,1,Foo\n"
		"exten => 1,2,Dial(SIP/1)\n"
		"exten => 1,3,Wait(x)\n"
		"include => missing\n"), EINVAL);
	assert_int_equal(fx->diag.errors, 4);
	assert_null(fx->dp);
}

static void test_many_extensions(void **state)
{
	struct fx *fx = *state;
	size_t cap = 4000 * 48 + 64, off = 0;
	char *conf = malloc(cap), num[16];

	assert_non_null(conf);
	off += (size_t)snprintf(conf + off, cap - off, "[c]\n");
	for (int i = 3999; i >= 0; i--)
		off += (size_t)snprintf(conf + off, cap - off,
					"exten => %d,1,NoOp(n%d)\n", 10000 + i, i);
	snprintf(conf + off, cap - off, "exten => _1XXXX,1,NoOp(pattern)\n");
	assert_int_equal(load(fx, conf), 0);
	free(conf);
	assert_string_equal(msgs(fx), "");
	for (int i = 0; i < 4000; i += 37) {
		char want[16];

		snprintf(num, sizeof(num), "%d", 10000 + i);
		snprintf(want, sizeof(want), "n%d", i);
		assert_string_equal(noop(fx, "c", num, 1, NULL), want);
	}
	assert_string_equal(noop(fx, "c", "14000", 1, NULL), "pattern");
	assert_string_equal(noop(fx, "c", "9999", 1, NULL), "-");
}

/* The pattern syntax on its own, as the loader and the matcher share it. */
static void test_pattern_syntax(void **state)
{
	char wild = 0;

	assert_int_equal(dp_plain_cmp("555-1234", "5551234"), 0);
	assert_true(dp_plain_cmp("100", "101") < 0);
	assert_true(dp_key_cmp("999", "_1XX") < 0);        /* names first */
	assert_true(dp_key_cmp("_1XX", "100") > 0);
	assert_true(dp_key_cmp("_10X", "_1XX") < 0);       /* literal before a set */
	assert_true(dp_key_cmp("_1[0-5]X", "_1XX") < 0);   /* smaller set first */
	assert_true(dp_key_cmp("_1.", "_1!") < 0);
	assert_true(dp_key_cmp("_1XX.", "_1XX") < 0);      /* the end sorts last */
	assert_int_equal(dp_key_cmp("_1-X-X", "_1XX"), 0);

	assert_true(dp_key_match("_NXX", "200"));
	assert_false(dp_key_match("_NXX", "100"));
	assert_false(dp_key_match("_NXX", "2000"));
	assert_true(dp_key_match("_1!", "1"));
	assert_false(dp_key_match("_1.", "1"));
	assert_true(dp_key_match("_[#*a-c]", "*"));
	assert_true(dp_key_match("_1XX", "_1XX"));
	assert_true(dp_key_match("555-1234", "5551234"));
	assert_false(dp_key_match("_1[2", "12"));

	assert_int_equal(dp_pattern_check("_1X.", &wild), DP_PATTERN_OK);
	assert_int_equal(dp_pattern_check("_1[2", &wild), DP_PATTERN_UNTERMINATED);
	assert_int_equal(dp_pattern_check("_1!2", &wild), DP_PATTERN_UNREACHABLE);
	assert_int_equal(wild, '!');
	assert_int_equal(dp_pattern_check("_[.]X", &wild), DP_PATTERN_OK);
}

static void test_causes_and_apps(void **state)
{
	enum dp_app app;

	assert_int_equal(q850_parse("16"), 16);
	assert_int_equal(q850_parse("127"), 127);
	assert_int_equal(q850_parse("USER_BUSY"), 17);
	assert_int_equal(q850_parse("normal_clearing"), 16);
	assert_int_equal(q850_parse("0"), -1);
	assert_int_equal(q850_parse("128"), -1);
	assert_int_equal(q850_parse("99999999999"), -1);
	assert_int_equal(q850_parse("BUSY"), -1);
	assert_int_equal(q850_parse(""), -1);
	assert_int_equal(q850_parse(NULL), -1);

	assert_int_equal(dp_app_lookup("gotoif", 6, &app), 0);
	assert_int_equal(app, DP_APP_GOTOIF);
	assert_string_equal(dp_app_name(app), "GotoIf");
	assert_int_equal(dp_app_lookup("Goto", 3, &app), ENOENT);
	assert_int_equal(dp_app_lookup("System", 6, &app), ENOENT);
	assert_true(dp_app_is_call(DP_APP_DIAL));
	assert_true(dp_app_is_call(DP_APP_ECHO));
	assert_false(dp_app_is_call(DP_APP_SET));
	assert_false(dp_app_is_call(DP_APP_NOOP));
}

static void test_hostile(void **state)
{
	struct fx *fx = *state;
	char *conf = malloc(9000);
	size_t off;

	assert_non_null(conf);
	/* Deeply nested substitutions in an argument. */
	off = (size_t)sprintf(conf, "[c]\nexten => 1,1,NoOp(");
	for (int i = 0; i < 200; i++)
		off += (size_t)sprintf(conf + off, "${");
	off += (size_t)sprintf(conf + off, "X");
	for (int i = 0; i < 200; i++)
		off += (size_t)sprintf(conf + off, "}");
	sprintf(conf + off, ")\n");
	assert_int_equal(load(fx, conf), EINVAL);
	assert_string_equal(msgs(fx),
		"extensions.conf:2: NoOp: '${' and '$[' nested too deeply (max 32)\n");

	/* A long expression of parentheses. */
	off = (size_t)sprintf(conf, "[c]\nexten => 1,1,NoOp($[");
	for (int i = 0; i < 1000; i++)
		off += (size_t)sprintf(conf + off, "(");
	off += (size_t)sprintf(conf + off, "1");
	for (int i = 0; i < 1000; i++)
		off += (size_t)sprintf(conf + off, ")");
	sprintf(conf + off, "])\n");
	assert_int_equal(load(fx, conf), EINVAL);
	assert_non_null(strstr(msgs(fx), "NoOp: expression too complex in '$[((((("));

	/* Garbage in every field. */
	assert_int_equal(load(fx,
		"[c]\n"
		"exten => [[[,1,NoOp\n"
		"exten => _[,1,NoOp\n"
		"exten => 1,((((,NoOp\n"
		"exten => 1,2,)))\n"
		"exten => \\,1,NoOp\n"
		"exten => _X/,1,NoOp\n"
		"exten => -,1,NoOp\n"), EINVAL);
	free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shipped_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exact_before_pattern, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pattern_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pattern_chars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_includes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_syntax, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callerid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_globals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diagnostics, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_errors_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_extensions, setup, teardown),
		cmocka_unit_test(test_pattern_syntax),
		cmocka_unit_test(test_causes_and_apps),
		cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
