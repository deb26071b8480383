/*
 * dpexec.c - the dialplan interpreter and its control-flow applications
 * (see dpexec.h).
 *
 * The loop is Asterisk's __ast_pbx_run() without digit collection: find
 * the priority (context, extension, priority, caller number), expand its
 * arguments, run it, and move on as the application says.  NoOp, Set,
 * Goto and GotoIf parse their expanded arguments as pbx_builtin_setvar(),
 * ast_parseable_goto() and pbx_builtin_gotoif() do, so that what works in
 * Asterisk works here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pbx/dpexec.h"
#include "config/dpargs.h"
#include "config/dpexpr.h"
#include "util/pl.h"
#include "util/vec.h"
#include "util/log.h"

#define CID_MAX 128            /* caller number used for matching */

enum chan_state { ST_IDLE, ST_READY, ST_ASYNC, ST_DONE };

struct dp_var {
	char *name;
	char *value;
	int inherit;
};

struct dp_chan {
	struct dp_chan_ops ops;
	struct dialplan *dp;
	char context[DP_MAX_NAME + 1];
	char exten[DP_MAX_NAME + 1];
	int priority;
	enum chan_state state;
	enum dp_end end;
	bool in_h;
	VEC(struct dp_var) vars;
	/* ${EXCEPTION(...)}, after a jump to 'e' */
	bool exc;
	const char *exc_reason;          /* "INVALID", "RESPONSETIMEOUT" */
	char exc_context[DP_MAX_NAME + 1];
	char exc_exten[DP_MAX_NAME + 1];
	int exc_priority;
};

static bool name_eq(const char *name, size_t len, const char *s)
{
	return strlen(s) == len && !memcmp(name, s, len);
}

/* ------------------------------------------------------------------ */
/* Channel state                                                       */

static void chan_log(struct dp_chan *c, enum log_level lvl, const char *event,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void chan_log(struct dp_chan *c, enum log_level lvl, const char *event,
		     const char *fmt, ...)
{
	char extra[768], qc[200], qe[200], qu[120];
	struct sbuf uid;
	va_list ap;

	if (!log_enabled(lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
	sbuf_init(&uid);
	if (c->ops.var)
		c->ops.var(c, "UNIQUEID", 8, &uid, c->ops.arg);
	log_event(lvl, event, "uniqueid=%s context=%s exten=%s priority=%d%s%s",
		  log_q(qu, sizeof(qu), uid.p ? uid.p : "", uid.len),
		  log_q(qc, sizeof(qc), c->context, strlen(c->context)),
		  log_q(qe, sizeof(qe), c->exten, strlen(c->exten)),
		  c->priority, extra[0] ? " " : "", extra);
	sbuf_free(&uid);
}

int dp_chan_alloc(struct dp_chan **cp, const struct dp_chan_ops *ops)
{
	struct dp_chan *c = calloc(1, sizeof(*c));

	if (!c)
		return ENOMEM;
	if (ops)
		c->ops = *ops;
	*cp = c;
	return 0;
}

void dp_chan_free(struct dp_chan *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->vars.n; i++) {
		free(c->vars.v[i].name);
		free(c->vars.v[i].value);
	}
	vec_free(&c->vars);
	dialplan_unref(c->dp);
	free(c);
}

static struct dp_var *var_find(const struct dp_chan *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->vars.n; i++) {
		if (name_eq(name, len, c->vars.v[i].name))
			return &c->vars.v[i];
	}
	return NULL;
}

int dp_chan_var_set(struct dp_chan *c, const char *name, const char *value)
{
	struct dp_var *v;
	int inherit = 0;
	char *nv;

	/* pbx_builtin_setvar_helper(): "_X" and "__X" are X, inherited. */
	if (name[0] == '_') {
		inherit = 1;
		name++;
		if (name[0] == '_') {
			inherit = 2;
			name++;
		}
	}
	if (!*name)
		return EINVAL;
	v = var_find(c, name, strlen(name));
	if (!value) {
		if (v) {
			free(v->name);
			free(v->value);
			*v = c->vars.v[--c->vars.n];
		}
		return 0;
	}
	nv = strdup(value);
	if (!nv)
		return ENOMEM;
	if (v) {
		free(v->value);
		v->value = nv;
		v->inherit = inherit;
		return 0;
	}
	if (c->vars.n == DP_MAX_VARS) {
		free(nv);
		return ENOSPC;
	}
	if (vec_grow(&c->vars)) {
		free(nv);
		return ENOMEM;
	}
	v = &c->vars.v[c->vars.n];
	v->name = strdup(name);
	if (!v->name) {
		free(nv);
		return ENOMEM;
	}
	v->value = nv;
	v->inherit = inherit;
	c->vars.n++;
	return 0;
}

const char *dp_chan_var(const struct dp_chan *c, const char *name)
{
	const struct dp_var *v = var_find(c, name, strlen(name));

	return v ? v->value : NULL;
}

bool dp_chan_var_at(const struct dp_chan *c, size_t i, const char **name,
		    const char **value, int *inherit)
{
	if (i >= c->vars.n)
		return false;
	*name = c->vars.v[i].name;
	*value = c->vars.v[i].value;
	*inherit = c->vars.v[i].inherit;
	return true;
}

const char *dp_chan_context(const struct dp_chan *c)
{
	return c->context;
}

const char *dp_chan_exten(const struct dp_chan *c)
{
	return c->exten;
}

int dp_chan_priority(const struct dp_chan *c)
{
	return c->priority;
}

enum dp_end dp_chan_end(const struct dp_chan *c)
{
	return c->end;
}

struct dialplan *dp_chan_dialplan(const struct dp_chan *c)
{
	return c->dp;
}

/* EXTEN and friends, then the channel, its variables, the globals. */
static int chan_var(const char *name, size_t len, struct sbuf *out, void *arg)
{
	struct dp_chan *c = arg;
	const struct dp_var *v;
	const char *g;

	if (name_eq(name, len, "EXTEN")) {
		sbuf_append_str(out, c->exten);
		return 0;
	}
	if (name_eq(name, len, "CONTEXT")) {
		sbuf_append_str(out, c->context);
		return 0;
	}
	if (name_eq(name, len, "PRIORITY")) {
		sbuf_printf(out, "%d", c->priority);
		return 0;
	}
	if (len > 10 && !memcmp(name, "EXCEPTION(", 10) && name[len - 1] == ')') {
		const char *item = name + 10;
		size_t il = len - 11;

		if (!c->exc)
			return ENOENT;
		if (il == 6 && !strncasecmp(item, "reason", 6))
			sbuf_append_str(out, c->exc_reason);
		else if (il == 7 && !strncasecmp(item, "context", 7))
			sbuf_append_str(out, c->exc_context);
		else if (il == 5 && !strncasecmp(item, "exten", 5))
			sbuf_append_str(out, c->exc_exten);
		else if (il == 8 && !strncasecmp(item, "priority", 8))
			sbuf_printf(out, "%d", c->exc_priority);
		else
			return ENOENT;
		return 0;
	}
	if (c->ops.var && !c->ops.var(c, name, len, out, c->ops.arg))
		return 0;
	if (memchr(name, '(', len))
		return ENOENT;
	v = var_find(c, name, len);
	if (v) {
		sbuf_append_str(out, v->value);
		return 0;
	}
	g = dialplan_global(c->dp, name, len);
	if (g) {
		sbuf_append_str(out, g);
		return 0;
	}
	return ENOENT;
}

int dp_chan_expand(struct dp_chan *c, const char *s, struct sbuf *out)
{
	return dpexpr_expand(s, strlen(s), chan_var, c, out);
}

/* The caller's number, when some extension matches on it. */
static const char *chan_cid(struct dp_chan *c, char *buf, size_t size)
{
	struct sbuf v;
	const char *r = NULL;

	if (!c->dp || !c->dp->has_cid || !c->ops.var)
		return NULL;
	sbuf_init(&v);
	if (!c->ops.var(c, "CALLERID(num)", 13, &v, c->ops.arg) && v.len < size &&
	    !sbuf_err(&v)) {
		memcpy(buf, v.p ? v.p : "", v.len);
		buf[v.len] = '\0';
		r = buf;
	}
	sbuf_free(&v);
	return r;
}

static bool exists(struct dp_chan *c, const char *context, const char *exten, int prio)
{
	char cid[CID_MAX];

	return dialplan_find(c->dp, context, exten, prio, chan_cid(c, cid, sizeof(cid)));
}

static int set_pos(struct dp_chan *c, const char *context, const char *exten, int prio)
{
	if ((context && strlen(context) > DP_MAX_NAME) ||
	    (exten && strlen(exten) > DP_MAX_NAME))
		return EINVAL;
	if (context && context != c->context)
		memmove(c->context, context, strlen(context) + 1);
	if (exten && exten != c->exten)
		memmove(c->exten, exten, strlen(exten) + 1);
	c->priority = prio;
	return 0;
}

int dp_chan_goto(struct dp_chan *c, const char *context, const char *exten, int priority)
{
	if (priority < 1 || (context && !*context) || (exten && !*exten))
		return EINVAL;
	return set_pos(c, context, exten, priority);
}

int dp_chan_start(struct dp_chan *c, struct dialplan *dp, const char *context,
		  const char *exten)
{
	int err;

	if (!dp || !context || !exten || !*context || !*exten ||
	    strlen(context) > DP_MAX_NAME || strlen(exten) > DP_MAX_NAME)
		return EINVAL;
	dialplan_ref(dp);
	dialplan_unref(c->dp);
	c->dp = dp;
	c->state = ST_IDLE;
	c->end = DP_END_NONE;
	c->in_h = false;
	c->exc = false;
	set_pos(c, context, exten, 1);
	if (exists(c, context, exten, 1)) {
		c->state = ST_READY;
		return 0;
	}
	if (!exists(c, context, "i", 1))
		return ENOENT;
	err = dp_chan_var_set(c, "INVALID_EXTEN", exten);
	if (err)
		return err;
	chan_log(c, LOG_INFO, "dialplan_invalid", "to=i");
	set_pos(c, NULL, "i", 1);
	c->state = ST_READY;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Control flow                                                        */

/* Goto: 0 when the channel was moved, EINVAL (logged) when it cannot be. */
static int app_goto(struct dp_chan *c, char *args, const char *app)
{
	struct dp_report rep = { 0 };
	const char *context, *exten;
	char cid[CID_MAX], q[200];
	struct dp_goto g;
	int n;

	if (dp_goto_parse(args, &g, &rep)) {
		chan_log(c, LOG_WARN, "dialplan_goto", "app=%s error=%s", app,
			 log_q(q, sizeof(q), rep.why, strlen(rep.why)));
		return EINVAL;
	}
	context = g.context && *g.context ? g.context : c->context;
	exten = g.exten && *g.exten ? g.exten : c->exten;
	n = g.n;
	if (!g.number) {
		const struct dp_prio *p = dialplan_find_label(c->dp, context, exten, g.label,
							      chan_cid(c, cid, sizeof(cid)));

		if (!p) {
			chan_log(c, LOG_WARN, "dialplan_goto",
				 "app=%s error=\"no such label\" label=%s", app,
				 log_q(q, sizeof(q), g.label, strlen(g.label)));
			return EINVAL;
		}
		n = p->prio;
	} else if (g.sign) {
		n = c->priority + n * g.sign;
	}
	if (set_pos(c, context, exten, n)) {
		chan_log(c, LOG_WARN, "dialplan_goto", "app=%s error=\"name too long\"", app);
		return EINVAL;
	}
	return 0;
}

static enum dp_result app_gotoif(struct dp_chan *c, char *args)
{
	struct dp_gotoif g;
	char *branch;

	if (!*args) {
		chan_log(c, LOG_WARN, "dialplan_gotoif", "error=\"no condition\"");
		return DP_CONTINUE;
	}
	dp_gotoif_parse(args, &g, NULL);
	branch = dpexpr_true(g.cond) ? g.yes : g.no;
	if (!branch || !*str_trim(branch))
		return DP_CONTINUE;
	if (app_goto(c, branch, "GotoIf")) {
		c->end = DP_END_ERROR;
		return DP_HANGUP;
	}
	return DP_JUMPED;
}

static void app_set(struct dp_chan *c, char *args)
{
	struct dp_set s;
	char q[120];
	int err;

	dp_set_parse(args, &s, NULL);
	if (!s.name) {
		chan_log(c, LOG_WARN, "dialplan_set",
			 "error=\"Set requires an '=' to be a valid assignment\"");
		return;
	}
	if (strchr(s.name, '(')) {
		if (!c->ops.set) {
			chan_log(c, LOG_WARN, "dialplan_set",
				 "error=\"function cannot be set\" name=%s",
				 log_q(q, sizeof(q), s.name, strlen(s.name)));
			return;
		}
		err = c->ops.set(c, s.name, s.value, c->ops.arg);
	} else {
		err = dp_chan_var_set(c, s.name, s.value);
	}
	if (err)
		chan_log(c, LOG_WARN, "dialplan_set", "error=\"cannot set\" name=%s code=%d",
			 log_q(q, sizeof(q), s.name, strlen(s.name)), err);
}

/* In the 'h' extension the call is gone: only its end matters. */
static enum dp_result h_call_app(struct dp_chan *c, enum dp_app app)
{
	if (app == DP_APP_HANGUP || app == DP_APP_BUSY || app == DP_APP_CONGESTION)
		return DP_HANGUP;
	chan_log(c, LOG_DEBUG, "dialplan_h_skip", "app=%s", dp_app_name(app));
	return DP_CONTINUE;
}

static enum dp_result exec(struct dp_chan *c, const struct dp_prio *p, char *args)
{
	if (log_enabled(LOG_DEBUG)) {
		char q[512];

		chan_log(c, LOG_DEBUG, "dialplan_exec", "app=%s args=%s",
			 dp_app_name(p->app), log_q(q, sizeof(q), args, strlen(args)));
	}
	switch (p->app) {
	case DP_APP_NOOP:
		return DP_CONTINUE;
	case DP_APP_SET:
		if (!*args)
			chan_log(c, LOG_WARN, "dialplan_set",
				 "error=\"Set requires one variable name/value pair\"");
		else
			app_set(c, args);
		return DP_CONTINUE;
	case DP_APP_GOTO:
		if (app_goto(c, args, "Goto")) {
			c->end = DP_END_ERROR;
			return DP_HANGUP;
		}
		return DP_JUMPED;
	case DP_APP_GOTOIF:
		return app_gotoif(c, args);
	default:
		if (c->in_h)
			return h_call_app(c, p->app);
		if (!c->ops.app)
			return DP_CONTINUE;
		return c->ops.app(c, p->app, args, c->ops.arg);
	}
}

static enum dp_result finish(struct dp_chan *c, enum dp_end end)
{
	c->state = ST_DONE;
	if (c->end == DP_END_NONE)
		c->end = end;
	return DP_HANGUP;
}

/* raise_exception(): to 'e', priority 1, remembering where from. */
static void exception_raise(struct dp_chan *c, const char *reason)
{
	chan_log(c, LOG_INFO, "dialplan_exception", "reason=%s to=e", reason);
	c->exc = true;
	c->exc_reason = reason;
	memcpy(c->exc_context, c->context, sizeof(c->exc_context));
	memcpy(c->exc_exten, c->exten, sizeof(c->exc_exten));
	c->exc_priority = c->priority;
	set_pos(c, NULL, "e", 1);
}

/* An extension that does not exist: to 'i' with INVALID_EXTEN, else 'e';
 * true when the run goes on. */
static bool invalid_exten(struct dp_chan *c, const char *exten)
{
	if (exists(c, c->context, "i", 1)) {
		chan_log(c, LOG_INFO, "dialplan_invalid", "to=i");
		dp_chan_var_set(c, "INVALID_EXTEN", exten);
		set_pos(c, NULL, "i", 1);
		return true;
	}
	if (exists(c, c->context, "e", 1)) {
		exception_raise(c, "INVALID");
		return true;
	}
	return false;
}

/*
 * Not at an existing priority.  An extension that is not there at all
 * goes to 'i' or 'e'; true when the run goes on.
 */
static bool invalid_handle(struct dp_chan *c)
{
	if (invalid_exten(c, c->exten))
		return true;
	chan_log(c, LOG_WARN, "dialplan_invalid",
		 "error=\"sent to invalid extension but no invalid handler\"");
	return false;
}

static enum dp_result run(struct dp_chan *c)
{
	enum dp_result res = DP_HANGUP;
	struct sbuf args;
	unsigned steps = 0;

	sbuf_init(&args);
	for (;;) {
		char cid[CID_MAX];
		const struct dp_prio *p;
		int err;

		if (++steps > DP_MAX_STEPS) {
			chan_log(c, LOG_WARN, "dialplan_loop",
				 "error=\"%d priorities without waiting: hanging up\"",
				 DP_MAX_STEPS);
			res = finish(c, DP_END_LOOP);
			break;
		}
		p = dialplan_find(c->dp, c->context, c->exten, c->priority,
				  chan_cid(c, cid, sizeof(cid)));
		if (!p) {
			if (c->in_h) {
				res = finish(c, DP_END_NONE);
				break;
			}
			if (!exists(c, c->context, c->exten, 1)) {
				if (invalid_handle(c))
					continue;
				res = finish(c, DP_END_INVALID);
				break;
			}
			chan_log(c, LOG_INFO, "dialplan_fallthrough", "%s", "");
			res = finish(c, DP_END_FALLTHROUGH);
			break;
		}
		sbuf_reset(&args);
		err = dpexpr_expand(p->args, strlen(p->args), chan_var, c, &args);
		/* sbuf_cstr() NUL-terminates; it can fail only on memory. */
		sbuf_cstr(&args);
		if (err || sbuf_err(&args)) {
			chan_log(c, LOG_ERROR, "dialplan_expand",
				 "app=%s error=\"arguments longer than %d bytes once expanded\"",
				 dp_app_name(p->app), DPEXPR_MAX_LEN);
			res = finish(c, DP_END_ERROR);
			break;
		}
		/* The applications parse their text in place. */
		res = exec(c, p, args.p);
		if (res == DP_CONTINUE) {
			c->priority++;
		} else if (res == DP_ASYNC) {
			c->state = ST_ASYNC;
			break;
		} else if (res == DP_HANGUP) {
			res = finish(c, DP_END_HANGUP);
			break;
		}
	}
	sbuf_free(&args);
	return res;
}

enum dp_result dp_chan_run(struct dp_chan *c)
{
	switch (c->state) {
	case ST_READY:
		return run(c);
	case ST_ASYNC:
		chan_log(c, LOG_WARN, "dialplan_run", "error=\"waiting for an application\"");
		return DP_ASYNC;
	case ST_IDLE:
		return finish(c, DP_END_INVALID);
	default:
		return DP_HANGUP;
	}
}

enum dp_result dp_chan_resume(struct dp_chan *c, enum dp_result res)
{
	if (c->state != ST_ASYNC) {
		chan_log(c, LOG_WARN, "dialplan_resume", "error=\"nothing to resume\"");
		return c->state == ST_DONE || c->state == ST_IDLE ? DP_HANGUP : DP_ASYNC;
	}
	switch (res) {
	case DP_CONTINUE:
		c->priority++;
		break;
	case DP_JUMPED:
		break;
	case DP_ASYNC:
		return DP_ASYNC;
	default:
		return finish(c, DP_END_HANGUP);
	}
	c->state = ST_READY;
	return run(c);
}

bool dp_chan_match(struct dp_chan *c, const char *context, const char *exten,
		   enum dp_match_mode mode)
{
	char cid[CID_MAX];

	return dialplan_can_match(c->dp, context ? context : c->context, exten,
				  chan_cid(c, cid, sizeof(cid)), mode);
}

enum dp_result dp_chan_dialled(struct dp_chan *c, const char *exten)
{
	if (*exten && strlen(exten) <= DP_MAX_NAME && exists(c, c->context, exten, 1)) {
		set_pos(c, NULL, exten, 1);
		return DP_JUMPED;
	}
	if (invalid_exten(c, exten))
		return DP_JUMPED;
	chan_log(c, LOG_WARN, "dialplan_invalid",
		 "error=\"invalid extension, but no rule 'i' or 'e'\"");
	c->end = DP_END_INVALID;
	return DP_HANGUP;
}

enum dp_result dp_chan_timeout(struct dp_chan *c)
{
	if (exists(c, c->context, c->exten, c->priority + 1))
		return DP_CONTINUE;
	if (exists(c, c->context, "t", 1)) {
		chan_log(c, LOG_INFO, "dialplan_timeout", "to=t");
		set_pos(c, NULL, "t", 1);
		return DP_JUMPED;
	}
	if (exists(c, c->context, "e", 1)) {
		exception_raise(c, "RESPONSETIMEOUT");
		return DP_JUMPED;
	}
	chan_log(c, LOG_WARN, "dialplan_timeout", "error=\"timeout, but no rule 't' or 'e'\"");
	c->end = DP_END_INVALID;
	return DP_HANGUP;
}

void dp_chan_run_h(struct dp_chan *c)
{
	enum dp_end end = c->end;

	if (!c->dp || !exists(c, c->context, "h", 1)) {
		c->state = ST_DONE;
		return;
	}
	set_pos(c, NULL, "h", 1);
	c->in_h = true;
	c->state = ST_READY;
	c->end = DP_END_NONE;
	run(c);
	c->in_h = false;
	c->state = ST_DONE;
	c->end = end;
}
