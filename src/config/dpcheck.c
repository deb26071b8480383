/*
 * dpcheck.c - load-time checks of the applications' arguments (see
 * dpcheck.h).
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
#include "config/q850.h"

static bool has_subst(const char *s)
{
	for (; s[0] && s[1]; s++) {
		if (s[0] == '$' && (s[1] == '{' || s[1] == '['))
			return true;
	}
	return false;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char *trim(char *s)
{
	size_t n;

	while (blank(*s))
		s++;
	n = strlen(s);
	while (n && blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

struct check {
	const struct dialplan *dp;
	const struct dp_prio *p;
	struct diag *diag;
	const char *app;
};

static void check_msg(struct check *k, enum diag_severity sev, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_msg(struct check *k, enum diag_severity sev, const char *fmt, ...)
{
	char prefix[48];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", k->app);
	va_start(ap, fmt);
	diag_vadd(k->diag, sev, k->p->file, k->p->line, prefix, fmt, ap);
	va_end(ap);
}

/* A plain decimal number, with an optional fraction. */
static bool is_number(const char *s)
{
	size_t i = 0;

	if (s[i] < '0' || s[i] > '9')
		return false;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return s[i] == '\0';
}

/* First c outside "${...}" and "$[...]", or NULL. */
static char *top_chr(char *s, char c)
{
	int depth = 0;

	for (; *s; s++) {
		if (s[0] == '$' && (s[1] == '{' || s[1] == '[')) {
			depth++;
			s++;
		} else if (depth && (*s == '}' || *s == ']')) {
			depth--;
		} else if (!depth && *s == c) {
			return s;
		}
	}
	return NULL;
}

/* A ',' inside "${...}" or "$[...]": where the arguments split is only
 * known once expanded. */
static bool comma_in_subst(const char *s)
{
	int depth = 0;

	for (; *s; s++) {
		if (s[0] == '$' && (s[1] == '{' || s[1] == '[')) {
			depth++;
			s++;
		} else if (depth && (*s == '}' || *s == ']')) {
			depth--;
		} else if (depth && *s == ',') {
			return true;
		}
	}
	return false;
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

/* A Goto destination; text is modified. */
static void check_goto(struct check *k, char *text)
{
	const struct dp_exten *cur = k->p->exten;
	const struct dp_context *ctx = cur->context;
	const char *exten = NULL;
	struct dp_goto g;
	char *pri;
	int n;

	if (comma_in_subst(text))
		return;
	dp_goto_split(text, &g);
	if (g.context && *g.context) {
		if (has_subst(g.context))
			return;
		ctx = dialplan_context(k->dp, g.context);
		if (!ctx) {
			check_msg(k, DIAG_ERROR, "unknown context '%s'", g.context);
			return;
		}
	}
	if (g.exten && *g.exten) {
		if (has_subst(g.exten))
			return;
		exten = g.exten;
	}
	pri = g.prio;
	if (!*pri) {
		check_msg(k, DIAG_ERROR, "missing priority");
		return;
	}
	if (has_subst(pri) || *pri == '+' || *pri == '-')
		return;
	if (dp_prio_number(pri, &n)) {
		if (!is_number(pri) || n < 1) {
			check_msg(k, DIAG_ERROR, "invalid priority '%s'", pri);
			return;
		}
		if (exten ? !dialplan_find_any(k->dp, ctx->name, exten, n, NULL) :
		    ctx == cur->context && !dialplan_find_any(k->dp, ctx->name, cur->key, n, NULL))
			check_msg(k, DIAG_WARNING, "there is no priority %d of extension '%s' "
				  "in context '%s'", n, exten ? exten : cur->name, ctx->name);
		return;
	}
	if (exten) {
		if (!dialplan_find_any(k->dp, ctx->name, exten, 0, pri))
			check_msg(k, DIAG_ERROR, "no label '%s' in extension '%s' of context '%s'",
				  pri, exten, ctx->name);
		return;
	}
	/* The extension is the one dialled: any that matches it may hold
	 * the label, so look everywhere it could be. */
	{
		const struct dp_context **seen = calloc(k->dp->contexts_n + 1, sizeof(*seen));
		size_t sn = 0;

		if (!seen)
			return;
		if (!label_anywhere(k->dp, ctx, pri, seen, &sn))
			check_msg(k, DIAG_ERROR, "no label '%s' in context '%s'", pri, ctx->name);
		free(seen);
	}
}

static void check_dial(struct check *k, char *args)
{
	char *argv[4], *dev, *rest, *list;
	int argc = dp_args_split(args, argv, 4);

	if (argc < 1 || !*trim(argv[0])) {
		check_msg(k, DIAG_ERROR, "no destination");
		return;
	}
	list = strdup(argv[0]);
	if (!list)
		return;
	rest = list;
	while ((dev = strsep(&rest, "&")) != NULL) {
		char *slash;

		dev = trim(dev);
		if (!*dev) {
			check_msg(k, DIAG_ERROR, "empty destination in '%s'", argv[0]);
			continue;
		}
		slash = strchr(dev, '/');
		if (!slash) {
			if (!has_subst(dev))
				check_msg(k, DIAG_ERROR, "'%s' is not TECHNOLOGY/resource", dev);
			continue;
		}
		*slash = '\0';
		if (!has_subst(dev) && strcasecmp(dev, "PJSIP"))
			check_msg(k, DIAG_ERROR, "technology '%s' is not supported (use PJSIP)",
				  dev);
		else if (!slash[1])
			check_msg(k, DIAG_ERROR, "no endpoint after '%s/'", dev);
	}
	free(list);
	if (argc > 1) {
		char *t = trim(argv[1]);

		if (*t && !has_subst(t) && !is_number(t))
			check_msg(k, DIAG_ERROR, "timeout '%s' is not a number of seconds", t);
	}
}

static void check_playback(struct check *k, char *args)
{
	char *argv[2], *f, *rest, *list;
	int argc = dp_args_split(args, argv, 2);

	if (argc < 1 || !*trim(argv[0])) {
		check_msg(k, DIAG_ERROR, "no file to play");
		return;
	}
	list = strdup(argv[0]);
	if (!list)
		return;
	rest = list;
	while ((f = strsep(&rest, "&")) != NULL) {
		if (!*trim(f)) {
			check_msg(k, DIAG_ERROR, "empty file name in '%s'", argv[0]);
			break;
		}
	}
	free(list);
}

static void check_set(struct check *k, char *args)
{
	char *eq = top_chr(args, '='), *name, *lp;

	if (!eq) {
		/* Set(${ASSIGNMENT}) is fine: the '=' may come from it. */
		if (!has_subst(args))
			check_msg(k, DIAG_ERROR, "expected 'name=value'");
		return;
	}
	*eq = '\0';
	name = trim(args);
	if (!*name) {
		check_msg(k, DIAG_ERROR, "no variable name before '='");
		return;
	}
	lp = strchr(name, '(');
	if (!lp || memchr(name, '$', (size_t)(lp - name)))
		return;
	if (!dpexpr_func_known(name, (size_t)(lp - name))) {
		check_msg(k, DIAG_ERROR, "unknown function '%.*s'", (int)(lp - name), name);
	} else if ((size_t)(lp - name) != 8 || strncmp(name, "CALLERID", 8)) {
		check_msg(k, DIAG_ERROR, "function '%.*s' cannot be set", (int)(lp - name), name);
	} else {
		char *rp = strrchr(lp, ')');
		char *item;

		if (!rp) {
			check_msg(k, DIAG_ERROR, "missing ')' in '%s'", name);
			return;
		}
		*rp = '\0';
		item = trim(lp + 1);
		if (!has_subst(item) && strcasecmp(item, "all") && strcasecmp(item, "name") &&
		    strcasecmp(item, "num") && strcasecmp(item, "number"))
			check_msg(k, DIAG_ERROR, "CALLERID: unknown data item '%s'", item);
	}
}

static void check_gotoif(struct check *k, char *args)
{
	char *q = top_chr(args, '?'), *yes, *no, *colon;

	if (!q) {
		check_msg(k, DIAG_ERROR, "expected 'condition?[label1][:label2]'");
		return;
	}
	yes = q + 1;
	colon = top_chr(yes, ':');
	no = NULL;
	if (colon) {
		*colon = '\0';
		no = colon + 1;
	}
	if (*trim(yes) && !has_subst(yes))
		check_goto(k, yes);
	if (no && *trim(no) && !has_subst(no))
		check_goto(k, no);
}

/* An optional number, e.g. Busy([timeout]); empty or computed is fine. */
static void check_number(struct check *k, char *s, const char *what)
{
	s = trim(s);
	if (*s && !has_subst(s) && !is_number(s))
		check_msg(k, DIAG_ERROR, "invalid %s '%s'", what, s);
}

void dp_check(const struct dialplan *dp, const struct dp_prio *p, struct diag *diag)
{
	struct check k = { dp, p, diag, dp_app_name(p->app) };
	char err[256], *buf, *argv[2];
	int argc;

	if (dpexpr_check(p->args, err, sizeof(err))) {
		check_msg(&k, DIAG_ERROR, "%s", err);
		return;
	}
	buf = strdup(p->args);
	if (!buf) {
		diag_add(diag, DIAG_ERROR, p->file, p->line, "out of memory");
		return;
	}
	switch (p->app) {
	case DP_APP_ANSWER:
		argc = dp_args_split(buf, argv, 2);
		if (argc > 0)
			check_number(&k, argv[0], "delay");
		break;
	case DP_APP_WAIT:
		if (!*trim(buf))
			check_msg(&k, DIAG_ERROR, "missing number of seconds");
		else if (!has_subst(buf) && !is_number(trim(buf)))
			check_msg(&k, DIAG_ERROR, "'%s' is not a number of seconds", trim(buf));
		break;
	case DP_APP_HANGUP: {
		char *c = trim(buf);

		if (*c && !has_subst(c) && q850_parse(c) < 0)
			check_msg(&k, DIAG_ERROR, "invalid cause '%s'", c);
		break;
	}
	case DP_APP_BUSY:
	case DP_APP_CONGESTION:
		check_number(&k, buf, "timeout");
		break;
	case DP_APP_DIAL:
		check_dial(&k, buf);
		break;
	case DP_APP_PLAYBACK:
		check_playback(&k, buf);
		break;
	case DP_APP_SET:
		check_set(&k, buf);
		break;
	case DP_APP_GOTO:
		if (!*trim(buf))
			check_msg(&k, DIAG_ERROR, "expected ([[context,]extension,]priority)");
		else
			check_goto(&k, buf);
		break;
	case DP_APP_GOTOIF:
		check_gotoif(&k, buf);
		break;
	default:
		break;
	}
	free(buf);
}
