/*
 * dpcheck.c - load-time checks of the applications' arguments (see
 * dpcheck.h).
 *
 * The syntax of each application's arguments is dpargs.c's, the very
 * parser the application runs; what is left here is what only the whole
 * dialplan can tell (does a Goto() target exist?) and the applications
 * whose arguments nothing reads at run time (Answer, Busy, Congestion).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "config/dpcheck.h"
#include "config/dpexpr.h"
#include "config/dpmatch.h"
#include "util/pl.h"

struct check {
	const struct dialplan *dp;
	const struct dp_prio *p;
	struct diag *diag;
	struct dp_report rep;
};

static void check_vmsg(struct check *k, enum diag_severity sev, const char *fmt,
		       va_list ap)
{
	char prefix[48];

	snprintf(prefix, sizeof(prefix), "%s: ", dp_app_name(k->p->app));
	diag_vadd(k->diag, sev, k->p->file, k->p->line, prefix, fmt, ap);
}

static void check_msg(struct check *k, enum diag_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_msg(struct check *k, enum diag_severity sev, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vmsg(k, sev, fmt, ap);
	va_end(ap);
}

/* What the parsers find wrong is an error at load time. */
static void check_report(void *arg, const char *fmt, va_list ap)
{
	check_vmsg(arg, DIAG_ERROR, fmt, ap);
}

/* What they find unsupported and ignore, a warning. */
static void check_warn(void *arg, const char *fmt, va_list ap)
{
	check_vmsg(arg, DIAG_WARNING, fmt, ap);
}

static bool subst(const char *s)
{
	return dpexpr_has_subst(s, strlen(s));
}

/* Does a label exist in ctx or a context it includes (any extension)? */
static bool label_anywhere(const struct dialplan *dp, const struct dp_context *ctx,
			   const char *label, const struct dp_context **seen, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		if (seen[i] == ctx)
			return false;
	}
	seen[(*n)++] = ctx;
	for (size_t i = 0; i < ctx->extens_n; i++) {
		const struct dp_exten *e = &ctx->extens[i];

		for (size_t j = 0; j < e->prios_n; j++) {
			if (e->prios[j].label && !strcmp(e->prios[j].label, label))
				return true;
		}
	}
	for (size_t i = 0; i < ctx->includes_n; i++) {
		if (label_anywhere(dp, ctx->includes[i], label, seen, n))
			return true;
	}
	return false;
}

/* A label of the extension dialled: any extension that matches it may
 * hold the label, so look everywhere it could be. */
static void check_label_dialled(struct check *k, const struct dp_context *ctx,
				const char *label)
{
	const struct dp_context **seen = calloc(k->dp->contexts_n + 1, sizeof(*seen));
	size_t sn = 0;

	if (!seen)
		return;
	if (!label_anywhere(k->dp, ctx, label, seen, &sn))
		check_msg(k, DIAG_ERROR, "no label '%s' in context '%s'", label, ctx->name);
	free(seen);
}

/* A Goto destination; text is modified. */
static void check_goto(struct check *k, char *text)
{
	const struct dp_exten *cur = k->p->exten;
	const struct dp_context *ctx = cur->context;
	const char *exten = NULL;
	struct dp_goto g;
	int err = dp_goto_parse(text, &g, &k->rep);

	if (!g.prio)
		return;
	if (g.context && *g.context) {
		if (subst(g.context))
			return;
		ctx = dialplan_context(k->dp, g.context);
		if (!ctx) {
			check_msg(k, DIAG_ERROR, "unknown context '%s'", g.context);
			return;
		}
	}
	if (g.exten && *g.exten) {
		if (subst(g.exten))
			return;
		exten = g.exten;
	}
	if (err || subst(g.prio) || g.sign || g.invalid)
		return;
	if (g.number) {
		if (exten ? !dialplan_find_any(k->dp, ctx->name, exten, g.n, NULL) :
		    ctx == cur->context &&
		    !dialplan_find_any(k->dp, ctx->name, cur->key, g.n, NULL))
			check_msg(k, DIAG_WARNING, "there is no priority %d of extension '%s' "
				  "in context '%s'", g.n, exten ? exten : cur->name, ctx->name);
		return;
	}
	if (!exten)
		check_label_dialled(k, ctx, g.label);
	else if (!dialplan_find_any(k->dp, ctx->name, exten, 0, g.label))
		check_msg(k, DIAG_ERROR, "no label '%s' in extension '%s' of context '%s'",
			  g.label, exten, ctx->name);
}

static void check_gotoif(struct check *k, char *args)
{
	struct dp_gotoif g;

	dp_gotoif_parse(args, &g, &k->rep);
	if (g.yes && *str_trim(g.yes) && !subst(g.yes))
		check_goto(k, g.yes);
	if (g.no && *str_trim(g.no) && !subst(g.no))
		check_goto(k, g.no);
}

/* Set(FUNC(item)=...): CALLERID and TIMEOUT can be set, with their items. */
static void check_set_func(struct check *k, char *name, char *lp)
{
	int nl = (int)(lp - name);
	bool cid = nl == 8 && !strncmp(name, "CALLERID", 8);
	bool to = nl == 7 && !strncmp(name, "TIMEOUT", 7);
	char *rp, *item;

	if (!dpexpr_func_known(name, (size_t)nl)) {
		check_msg(k, DIAG_ERROR, "unknown function '%.*s'", nl, name);
		return;
	}
	if (!cid && !to) {
		check_msg(k, DIAG_ERROR, "function '%.*s' cannot be set", nl, name);
		return;
	}
	rp = strrchr(lp, ')');
	if (!rp) {
		check_msg(k, DIAG_ERROR, "missing ')' in '%s'", name);
		return;
	}
	*rp = '\0';
	item = str_trim(lp + 1);
	if (subst(item))
		return;
	if (cid && strcasecmp(item, "all") && strcasecmp(item, "name") &&
	    strcasecmp(item, "num") && strcasecmp(item, "number") && strcasecmp(item, "pres"))
		check_msg(k, DIAG_ERROR, "CALLERID: unknown data item '%s'", item);
	/* Asterisk's third item hangs the channel up at a deadline: not here. */
	if (to && !strcasecmp(item, "absolute"))
		check_msg(k, DIAG_WARNING, "TIMEOUT(absolute) is not supported");
	else if (to && strcasecmp(item, "digit") && strcasecmp(item, "response"))
		check_msg(k, DIAG_ERROR, "TIMEOUT: unknown data item '%s'", item);
}

static void check_set(struct check *k, char *args)
{
	struct dp_set s;
	char *name, *lp;

	dp_set_parse(args, &s, &k->rep);
	if (!s.name)
		return;
	name = str_trim(s.name);
	lp = strchr(name, '(');
	if (*name && lp && !memchr(name, '$', (size_t)(lp - name)))
		check_set_func(k, name, lp);
}

/* An optional number nothing reads at run time, e.g. Busy([timeout]). */
static void check_number(struct check *k, char *s, const char *what)
{
	s = str_trim(s);
	if (*s && !subst(s) && !dp_is_number(s))
		check_msg(k, DIAG_ERROR, "invalid %s '%s'", what, s);
}

static void check_app(struct check *k, char *buf)
{
	struct dp_playback pb;
	struct dp_background bg;
	struct dp_read rd;
	struct dp_saynumber sn;
	struct dp_waitexten we;
	struct dp_moh moh;
	struct dp_voicemail vm;
	struct dp_voicemailmain vmm;
	enum q850_cause cause;
	struct dp_dial d;
	char *argv[2];
	uint64_t ms;

	switch (k->p->app) {
	case DP_APP_ANSWER:
		if (dp_args_split(buf, argv, 2) > 0)
			check_number(k, argv[0], "delay");
		break;
	case DP_APP_WAIT:
		dp_wait_parse(buf, &ms, &k->rep);
		break;
	case DP_APP_HANGUP:
		dp_hangup_parse(buf, &cause, &k->rep);
		break;
	case DP_APP_BUSY:
	case DP_APP_CONGESTION:
		check_number(k, buf, "timeout");
		break;
	case DP_APP_DIAL:
		dp_dial_parse(buf, &d, &k->rep);
		dp_dial_free(&d);
		break;
	case DP_APP_PLAYBACK:
		dp_playback_parse(buf, &pb, &k->rep);
		break;
	case DP_APP_BACKGROUND:
		dp_background_parse(buf, &bg, &k->rep);
		if (*bg.context && !subst(bg.context) && !dialplan_context(k->dp, bg.context))
			check_msg(k, DIAG_ERROR, "unknown context '%s'", bg.context);
		break;
	case DP_APP_WAITEXTEN:
		dp_waitexten_parse(buf, &we, &k->rep);
		break;
	case DP_APP_MUSICONHOLD:
	case DP_APP_STARTMUSICONHOLD:
		dp_moh_parse(buf, &moh, &k->rep);
		break;
	case DP_APP_READ:
		dp_read_parse(buf, &rd, &k->rep);
		break;
	case DP_APP_SAYNUMBER:
		dp_saynumber_parse(buf, &sn, &k->rep);
		break;
	case DP_APP_VOICEMAIL:
		dp_voicemail_parse(buf, &vm, &k->rep);
		break;
	case DP_APP_VOICEMAILMAIN:
		dp_voicemailmain_parse(buf, &vmm, &k->rep);
		break;
	case DP_APP_SET:
		check_set(k, buf);
		break;
	case DP_APP_GOTO:
		check_goto(k, buf);
		break;
	case DP_APP_GOTOIF:
		check_gotoif(k, buf);
		break;
	default:
		break;
	}
}

void dp_check(const struct dialplan *dp, const struct dp_prio *p, struct diag *diag)
{
	struct check k = { dp, p, diag, { true, check_report, NULL, "", check_warn } };
	char err[256], *buf;

	k.rep.arg = &k;
	if (dpexpr_check(p->args, err, sizeof(err))) {
		check_msg(&k, DIAG_ERROR, "%s", err);
		return;
	}
	buf = strdup(p->args);
	if (!buf) {
		diag_add(diag, DIAG_ERROR, p->file, p->line, "out of memory");
		return;
	}
	check_app(&k, buf);
	free(buf);
}
