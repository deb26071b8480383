/*
 * extensions.c - extensions.conf into a dialplan (see extensions.h).
 *
 * Loading reads every line into a record, in file order, and only then
 * sorts the records into Asterisk's matching order (context, extension by
 * ext_cmp(), caller-ID, priority, file order).  Equal neighbours are then
 * duplicates, reported with the line that came first, and each context's
 * extensions end up in one array: exact names, binary searched, then the
 * patterns, tried in order.  Application arguments are checked last
 * (dpcheck.c), when every context and label is known.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/dpcheck.h"
#include "config/dpexpr.h"
#include "config/dppattern.h"
#include "config/extensions.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/pl.h"
#include "util/vec.h"

#define PRIO_NONE  (-2)       /* no priority yet in this section */
#define PRIO_HINT  (-1)
#define PRIO_MAX   (INT_MAX / 2)

struct rec {
	size_t ctx;
	const char *name;        /* as written, caller-ID removed */
	const char *key;
	const char *cid;
	bool pattern;
	int prio;
	const char *label;
	enum dp_app app;
	const char *args;
	const char *file;
	int line;
	size_t seq;
};

struct binc {
	const char *name;
	const char *file;
	int line;
};

struct bctx {
	const char *name;
	const char *file;
	int line;
	VEC(struct binc) incs;
	size_t idx;              /* in build.ctxs */
	size_t final;            /* in dp->contexts */
	struct hnode hn;         /* build.index, by name */
};

struct build {
	struct dialplan *dp;
	struct arena *mem;
	struct diag *diag;
	const char **fmap;       /* astconf file index -> name in mem */
	size_t fmap_n;
	VEC(struct rec) recs;
	VEC(struct bctx *) ctxs; /* in order of first appearance */
	struct htab index;       /* the same, by name */
	VEC(struct dp_global) globals;
	bool oom;
};

/* Per section: what "same" and "n" continue from. */
struct sect {
	size_t ctx;
	const char *lastext;
	int lastpri;
};

static void msg(struct build *b, enum diag_severity sev, const char *file, int line,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void msg(struct build *b, enum diag_severity sev, const char *file, int line,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(b->diag, sev, file, line, NULL, fmt, ap);
	va_end(ap);
}

static void oom(struct build *b)
{
	if (!b->oom)
		diag_add(b->diag, DIAG_ERROR, "extensions.conf", 0, "out of memory");
	b->oom = true;
}

static char *dup(struct build *b, const char *s)
{
	char *d = arena_strdup(b->mem, s);

	if (!d)
		oom(b);
	return d;
}

/* A priority or an offset: digits only, at most PRIO_MAX. */
static int small_int(const char *s, int *v)
{
	struct pl pl = pl_from_str(s);
	uint32_t n;

	if (pl_u32(&pl, PRIO_MAX, &n))
		return EINVAL;
	*v = (int)n;
	return 0;
}

/* Same key: the one restricted to a caller-ID comes first. */
static int exten_cmp(const char *ka, const char *ca, const char *kb, const char *cb)
{
	int c = dp_key_cmp(ka, kb);

	if (c)
		return c;
	if (!ca || !cb)
		return (ca ? -1 : 0) + (cb ? 1 : 0);
	return dp_key_cmp(ca, cb);
}

/* The context called name, created when new; SIZE_MAX when out of memory. */
static size_t ctx_get(struct build *b, const char *name, const char *file, int line)
{
	uint64_t h = hash_mix64(hash_fnv_str(name));
	struct bctx *c;

	for (struct hnode *n = htab_bucket(&b->index, h); n; n = n->next) {
		c = htab_entry(n, struct bctx, hn);
		if (n->hash == h && !strcmp(c->name, name))
			return c->idx;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->name = dup(b, name)) || vec_push(&b->ctxs, c)) {
		free(c);
		oom(b);
		return SIZE_MAX;
	}
	c->file = file;
	c->line = line;
	c->idx = b->ctxs.n - 1;
	htab_insert(&b->index, &c->hn, h);
	return c->idx;
}

static int global_var(const char *name, size_t len, struct sbuf *out, void *arg)
{
	struct build *b = arg;

	for (size_t i = b->globals.n; i > 0; i--) {
		const struct dp_global *g = &b->globals.v[i - 1];

		if (strlen(g->name) == len && !memcmp(g->name, name, len)) {
			sbuf_append_str(out, g->value);
			return 0;
		}
	}
	return ENOENT;
}

/*
 * Asterisk expands ${...} with the globals in names, includes and global
 * values.  The result is the dialplan's own copy.
 */
static const char *expand_globals(struct build *b, const char *s, const char *file,
				  int line)
{
	struct sbuf out;
	const char *r = NULL;

	if (!strchr(s, '$'))
		return dup(b, s);
	sbuf_init(&out);
	if (dpexpr_expand(s, strlen(s), global_var, b, &out))
		msg(b, DIAG_ERROR, file, line, "'%s' is too long once expanded", s);
	else
		r = dup(b, sbuf_cstr(&out));
	sbuf_free(&out);
	return r;
}

static void global_set(struct build *b, const char *name, const char *value)
{
	struct dp_global g = { name, value };

	for (size_t i = 0; i < b->globals.n; i++) {
		if (!strcmp(b->globals.v[i].name, name)) {
			b->globals.v[i].value = value;
			return;
		}
	}
	if (vec_push(&b->globals, g))
		oom(b);
}

static const char *file_of(struct build *b, const struct astconf_var *v)
{
	if (v->file_idx < b->fmap_n && b->fmap[v->file_idx])
		return b->fmap[v->file_idx];
	return v->file;
}

static void general_load(struct build *b, const struct astconf_section *s)
{
	static const char *const bools[] = {
		"static", "writeprotect", "clearglobalvars", "extenpatternmatchnew",
		"autofallthrough",
	};

	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];
		const char *file = file_of(b, v);
		bool known = false, val;

		for (size_t k = 0; k < sizeof(bools) / sizeof(bools[0]); k++) {
			if (strcasecmp(v->name, bools[k]))
				continue;
			known = true;
			if (cfgval_bool(v->value, &val)) {
				msg(b, DIAG_WARNING, file, v->line,
				    "invalid value '%s' for '%s' (expected yes or no)",
				    v->value, v->name);
			} else if (k == 4 && !val) {
				msg(b, DIAG_WARNING, file, v->line,
				    "autofallthrough=no is not supported: a call that runs "
				    "off the end of an extension is hung up");
			}
		}
		if (known)
			continue;
		if (!strcasecmp(v->name, "userscontext"))
			continue;          /* for users.conf, which is not read */
		if (!strcasecmp(v->name, "overrideswitch"))
			msg(b, DIAG_WARNING, file, v->line,
			    "switches are not supported: 'overrideswitch' ignored");
		else
			msg(b, DIAG_WARNING, file, v->line,
			    "unknown option '%s' in [general] ignored", v->name);
	}
}

static void globals_load(struct build *b, const struct astconf_section *s)
{
	for (size_t i = 0; i < s->vars_n; i++) {
		const struct astconf_var *v = &s->vars[i];
		const char *name = dup(b, v->name);
		const char *value = expand_globals(b, v->value, file_of(b, v), v->line);

		if (name && value)
			global_set(b, name, value);
	}
}

/* pbx_strsep(): the extension ends at a ',' outside brackets. */
static char *split_exten(char **sp)
{
	char *s = *sp, *p;
	int square = 0;

	for (p = s; *p; p++) {
		if (*p == '[') {
			square++;
		} else if (*p == ']') {
			if (square)
				square--;
		} else if (*p == '\\') {
			if (p[1])
				p++;
		} else if (*p == ',' && !square) {
			*p = '\0';
			*sp = p + 1;
			return s;
		}
	}
	*sp = NULL;
	return s;
}

/* ext_strncpy(): blanks and '-' outside brackets are dropped. */
static char *exten_key(struct build *b, const char *name)
{
	char *k = arena_alloc(b->mem, strlen(name) + 1), *d = k;
	bool square = false;

	if (!k) {
		oom(b);
		return NULL;
	}
	for (; *name; name++) {
		if (*name == '[')
			square = true;
		else if (*name == ']')
			square = false;
		else if ((*name == ' ' || *name == '-') && !square)
			continue;
		*d++ = *name;
	}
	*d = '\0';
	return k;
}

/* ast_shrink_phone_number(): the caller-ID part. */
static void cid_shrink(char *n)
{
	int bracketed = 0;
	size_t y = 0;

	for (size_t x = 0; n[x]; x++) {
		switch (n[x]) {
		case '[':
			bracketed++;
			n[y++] = n[x];
			break;
		case ']':
			bracketed--;
			n[y++] = n[x];
			break;
		case '-':
			if (bracketed)
				n[y++] = n[x];
			break;
		case '.':
			if (!n[x + 1])
				n[y++] = n[x];
			break;
		default:
			if (!strchr("( )", n[x]))
				n[y++] = n[x];
		}
	}
	n[y] = '\0';
}

static int pattern_check(struct build *b, const char *key, const char *what,
			 const char *file, int line)
{
	char wild;

	switch (dp_pattern_check(key, &wild)) {
	case DP_PATTERN_UNTERMINATED:
		msg(b, DIAG_ERROR, file, line, "unterminated '[' in %s '%s'", what, key);
		return EINVAL;
	case DP_PATTERN_UNREACHABLE:
		msg(b, DIAG_WARNING, file, line,
		    "characters after '%c' in %s '%s' are never matched", wild, what, key);
		return 0;
	default:
		return 0;
	}
}

/* "PRIO[(label)][+N]" of one line; 0 or EINVAL (reported). */
static int prio_parse(struct build *b, struct sect *st, char *pri, int *prio,
		      const char **label, const char *file, int line)
{
	char *lp = strchr(pri, '('), *plus;
	int n, off;

	*label = NULL;
	if (lp) {
		char *rp = strchr(lp + 1, ')');

		if (!rp) {
			msg(b, DIAG_ERROR, file, line, "label missing trailing ')'");
			return EINVAL;
		}
		*lp = '\0';
		*rp = '\0';
		lp = str_trim(lp + 1);
		if (*lp && !(*label = dup(b, lp)))
			return EINVAL;
	}
	plus = strchr(pri, '+');
	if (plus)
		*plus++ = '\0';
	pri = str_trim(pri);
	if (!strcmp(pri, "hint")) {
		st->lastpri = PRIO_HINT;
		*prio = PRIO_HINT;
		return 0;
	}
	if (!strcmp(pri, "n") || !strcmp(pri, "next") || !strcmp(pri, "s") ||
	    !strcmp(pri, "same")) {
		bool next = pri[0] == 'n';

		if (st->lastpri == PRIO_NONE) {
			msg(b, DIAG_ERROR, file, line,
			    "priority '%s' on the first entry of the context", pri);
			return EINVAL;
		}
		if (st->lastpri == PRIO_HINT) {
			msg(b, DIAG_ERROR, file, line,
			    "priority '%s' after a hint: give a number", pri);
			return EINVAL;
		}
		n = st->lastpri + (next ? 1 : 0);
	} else if (small_int(pri, &n)) {
		msg(b, DIAG_ERROR, file, line, "invalid priority '%s'", pri);
		return EINVAL;
	}
	if (plus) {
		plus = str_trim(plus);
		if (small_int(plus, &off)) {
			msg(b, DIAG_ERROR, file, line, "invalid priority offset '+%s'", plus);
			return EINVAL;
		}
		n += off;
	}
	if (n < 1 || n > PRIO_MAX) {
		msg(b, DIAG_ERROR, file, line, "invalid priority '%s'", pri);
		return EINVAL;
	}
	st->lastpri = n;
	*prio = n;
	return 0;
}

/* One "exten" or "same" line: ext is the extension, rest "PRIO,App(args)". */
static void entry_add(struct build *b, struct sect *st, const char *ext, char *rest,
		      const char *file, int line)
{
	char *name, *cid, *pri, *app, *args = "", *lp;
	const char *key, *label;
	struct rec *r;
	enum dp_app id;
	int prio;

	name = dup(b, ext);
	if (!name)
		return;
	cid = strchr(name, '/');
	if (cid) {
		*cid++ = '\0';
		cid_shrink(cid);
	}
	name = str_trim(name);
	key = exten_key(b, name);
	if (!key)
		return;
	if (!*key || !strcmp(key, "_")) {
		msg(b, DIAG_ERROR, file, line, "empty extension name");
		return;
	}
	if (strlen(key) > DP_MAX_NAME) {
		msg(b, DIAG_ERROR, file, line, "extension name longer than %d characters",
		    DP_MAX_NAME);
		return;
	}
	if (key[0] == '_' && pattern_check(b, key, "pattern", file, line))
		return;
	if (cid && cid[0] == '_' && pattern_check(b, cid, "caller-ID pattern", file, line))
		return;

	if (!rest) {
		msg(b, DIAG_ERROR, file, line, "missing priority");
		return;
	}
	pri = strsep(&rest, ",");
	if (prio_parse(b, st, pri, &prio, &label, file, line))
		return;
	if (prio == PRIO_HINT)
		return;            /* hints: accepted, not used yet */

	if (!rest) {
		msg(b, DIAG_ERROR, file, line, "no application");
		return;
	}
	app = str_trim(rest);
	lp = strchr(app, '(');
	if (lp && !dpexpr_has_subst(app, (size_t)(lp - app))) {
		char *rp = strrchr(lp + 1, ')');

		*lp = '\0';
		args = lp + 1;
		if (rp)
			*rp = '\0';
		else
			msg(b, DIAG_WARNING, file, line, "no closing parenthesis in '%s(%s'",
			    app, args);
	}
	app = str_trim(app);
	if (!*app) {
		msg(b, DIAG_ERROR, file, line, "no application");
		return;
	}
	if (dp_app_lookup(app, strlen(app), &id)) {
		msg(b, DIAG_ERROR, file, line, "unknown application '%s'", app);
		return;
	}
	if (!strcmp(name, "_.") || !strcmp(name, "_!"))
		msg(b, DIAG_WARNING, file, line,
		    "The use of '%s' for an extension is strongly discouraged and can "
		    "have unexpected behavior.  Please use '_X%c' instead", name, name[1]);

	if (vec_grow(&b->recs)) {
		oom(b);
		return;
	}
	r = &b->recs.v[b->recs.n];
	memset(r, 0, sizeof(*r));
	r->ctx = st->ctx;
	r->name = name;
	r->key = key;
	r->cid = cid;
	r->pattern = key[0] == '_';
	r->prio = prio;
	r->label = label;
	r->app = id;
	r->args = dup(b, args);
	r->file = file;
	r->line = line;
	r->seq = b->recs.n;
	if (r->args)
		b->recs.n++;
}

static void line_exten(struct build *b, struct sect *st, const struct astconf_var *v,
		       bool same)
{
	const char *file = file_of(b, v);
	char *buf = strdup(v->value), *rest = buf;
	const char *ext;

	if (!buf) {
		oom(b);
		return;
	}
	if (same) {
		if (!st->lastext) {
			msg(b, DIAG_ERROR, file, v->line,
			    "'same' without a previous 'exten' in context '%s'",
			    b->ctxs.v[st->ctx]->name);
			goto out;
		}
		ext = st->lastext;
	} else {
		char *e = str_trim(split_exten(&rest));

		ext = expand_globals(b, e, file, v->line);
		if (!ext)
			goto out;
		st->lastext = dup(b, ext);
	}
	entry_add(b, st, ext, rest, file, v->line);
out:
	free(buf);
}

static void line_include(struct build *b, struct sect *st, const struct astconf_var *v)
{
	struct bctx *c = b->ctxs.v[st->ctx];
	const char *file = file_of(b, v);
	const char *val = expand_globals(b, v->value, file, v->line);
	char *name, *comma;
	struct binc *inc;

	if (!val || !(name = dup(b, val)))
		return;
	comma = strpbrk(name, ",|");
	if (comma) {
		*comma = '\0';
		if (*str_trim(comma + 1)) {
			msg(b, DIAG_ERROR, file, v->line,
			    "include of '%s' with a time restriction is not supported",
			    str_trim(name));
			return;
		}
	}
	name = str_trim(name);
	if (!*name) {
		msg(b, DIAG_ERROR, file, v->line, "include needs a context name");
		return;
	}
	if (vec_grow(&c->incs)) {
		oom(b);
		return;
	}
	inc = &c->incs.v[c->incs.n++];
	inc->name = name;
	inc->file = file;
	inc->line = v->line;
}

static void context_load(struct build *b, const struct astconf_section *s)
{
	struct sect st = { 0, NULL, PRIO_NONE };
	const char *file = s->file_idx < b->fmap_n ? b->fmap[s->file_idx] : s->file;

	st.ctx = ctx_get(b, s->name, file, s->line);
	if (st.ctx == SIZE_MAX)
		return;
	for (size_t i = 0; i < s->vars_n && !b->oom; i++) {
		const struct astconf_var *v = &s->vars[i];

		if (!strcasecmp(v->name, "exten"))
			line_exten(b, &st, v, false);
		else if (!strcasecmp(v->name, "same"))
			line_exten(b, &st, v, true);
		else if (!strcasecmp(v->name, "include"))
			line_include(b, &st, v);
		else if (!strcasecmp(v->name, "ignorepat"))
			msg(b, DIAG_WARNING, file_of(b, v), v->line,
			    "ignorepat has no effect here and is ignored");
		else if (!strcasecmp(v->name, "switch") || !strcasecmp(v->name, "lswitch") ||
			 !strcasecmp(v->name, "eswitch"))
			msg(b, DIAG_WARNING, file_of(b, v), v->line,
			    "switches are not supported: '%s' ignored", v->name);
		else
			msg(b, DIAG_WARNING, file_of(b, v), v->line,
			    "unknown directive '%s' ignored", v->name);
	}
}

static int rec_cmp(const void *pa, const void *pb)
{
	const struct rec *a = pa, *b = pb;
	int c;

	if (a->ctx != b->ctx)
		return a->ctx < b->ctx ? -1 : 1;
	c = exten_cmp(a->key, a->cid, b->key, b->cid);
	if (c)
		return c;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int ctx_order_cmp(const void *pa, const void *pb, void *arg)
{
	const struct build *b = arg;
	const size_t *x = pa, *y = pb;

	return strcmp(b->ctxs.v[*x]->name, b->ctxs.v[*y]->name);
}

static int global_cmp(const void *pa, const void *pb)
{
	const struct dp_global *a = pa, *b = pb;

	return strcmp(a->name, b->name);
}

static bool same_exten(const struct rec *a, const struct rec *b)
{
	return a->ctx == b->ctx && !exten_cmp(a->key, a->cid, b->key, b->cid);
}

/* The contexts of dp, sorted by name; each one built learns its place. */
static void contexts_finish(struct build *b)
{
	struct dp_context *ctxs;
	size_t *order;

	if (!b->ctxs.n)
		return;
	order = malloc(b->ctxs.n * sizeof(*order));
	ctxs = arena_alloc(b->mem, b->ctxs.n * sizeof(*ctxs));
	if (!order || !ctxs) {
		free(order);
		oom(b);
		return;
	}
	for (size_t i = 0; i < b->ctxs.n; i++)
		order[i] = i;
	qsort_r(order, b->ctxs.n, sizeof(*order), ctx_order_cmp, b);
	for (size_t i = 0; i < b->ctxs.n; i++) {
		b->ctxs.v[order[i]]->final = i;
		ctxs[i].name = b->ctxs.v[order[i]]->name;
		ctxs[i].file = b->ctxs.v[order[i]]->file;
		ctxs[i].line = b->ctxs.v[order[i]]->line;
	}
	free(order);
	b->dp->contexts = ctxs;
	b->dp->contexts_n = b->ctxs.n;
}

/* e, the extension that record r starts in its context. */
static void exten_start(struct build *b, struct dp_exten *e, const struct rec *r,
			const struct dp_prio *prios)
{
	struct dp_context *c = (struct dp_context *)&b->dp->contexts[r->ctx];

	e->name = r->name;
	e->key = r->key;
	e->cid = r->cid;
	e->pattern = r->pattern;
	e->prios = prios;
	e->context = c;
	e->file = r->file;
	e->line = r->line;
	if (!c->extens)
		c->extens = e;
	c->extens_n++;
	if (!e->pattern)
		c->plain_n++;
	if (e->cid)
		b->dp->has_cid = true;
}

/* Does e have r's label already?  Reported when it does. */
static bool label_taken(struct build *b, const struct dp_exten *e, const struct rec *r)
{
	for (size_t k = 0; k < e->prios_n; k++) {
		const struct dp_prio *o = &e->prios[k];

		if (o->label && !strcmp(o->label, r->label)) {
			msg(b, DIAG_ERROR, r->file, r->line,
			    "duplicate label '%s' in extension '%s' of context "
			    "'%s' (first defined at %s:%d)", r->label, r->name,
			    e->context->name, o->file, o->line);
			return true;
		}
	}
	return false;
}

static void prio_set(struct dp_prio *p, const struct dp_exten *e, const struct rec *r)
{
	p->prio = r->prio;
	p->label = r->label;
	p->app = r->app;
	p->args = r->args;
	p->exten = e;
	p->file = r->file;
	p->line = r->line;
}

/* Sort the records into extensions and priorities, in matching order. */
static void extens_finish(struct build *b)
{
	struct dp_exten *extens;
	struct dp_prio *prios;
	size_t groups = 0, ne = 0, np = 0, minseq = 0, first = 0;

	/* Records are made in contexts: there are none without one. */
	if (!b->dp->contexts_n || !b->recs.n)
		return;
	for (size_t i = 0; i < b->recs.n; i++)
		b->recs.v[i].ctx = b->ctxs.v[b->recs.v[i].ctx]->final;
	qsort(b->recs.v, b->recs.n, sizeof(*b->recs.v), rec_cmp);
	for (size_t i = 0; i < b->recs.n; i++) {
		if (!i || !same_exten(&b->recs.v[i - 1], &b->recs.v[i]))
			groups++;
	}
	extens = arena_alloc(b->mem, groups * sizeof(*extens));
	prios = arena_alloc(b->mem, b->recs.n * sizeof(*prios));
	if (!extens || !prios) {
		oom(b);
		return;
	}
	for (size_t i = 0; i < b->recs.n; i++) {
		const struct rec *r = &b->recs.v[i];
		struct dp_exten *e;

		if (!i || !same_exten(&b->recs.v[i - 1], r)) {
			exten_start(b, &extens[ne++], r, &prios[np]);
			first = i;
			minseq = r->seq;
		}
		e = &extens[ne - 1];
		if (r->seq < minseq) {
			/* Named and placed as where it first appears. */
			minseq = r->seq;
			e->name = r->name;
			e->file = r->file;
			e->line = r->line;
		}
		if (i > first && b->recs.v[i - 1].prio == r->prio) {
			const struct rec *o = &b->recs.v[i - 1];

			msg(b, DIAG_ERROR, r->file, r->line,
			    "duplicate priority %d for extension '%s' in context '%s' "
			    "(first defined at %s:%d)", r->prio, r->name, e->context->name,
			    o->file, o->line);
			continue;
		}
		if (r->label && label_taken(b, e, r))
			continue;
		prio_set(&prios[np++], e, r);
		e->prios_n++;
	}
}

static void includes_resolve(struct build *b)
{
	for (size_t i = 0; i < b->ctxs.n; i++) {
		const struct bctx *bc = b->ctxs.v[i];
		struct dp_context *c = (struct dp_context *)&b->dp->contexts[bc->final];
		const struct dp_context **v;

		if (!bc->incs.n)
			continue;
		v = arena_alloc(b->mem, bc->incs.n * sizeof(*v));
		if (!v) {
			oom(b);
			return;
		}
		c->includes = v;
		for (size_t k = 0; k < bc->incs.n; k++) {
			const struct binc *inc = &bc->incs.v[k];
			const struct dp_context *t = dialplan_context(b->dp, inc->name);
			bool again = false;

			if (!t) {
				msg(b, DIAG_ERROR, inc->file, inc->line,
				    "include of unknown context '%s'", inc->name);
				continue;
			}
			for (size_t j = 0; j < c->includes_n; j++)
				again |= c->includes[j] == t;
			if (again) {
				msg(b, DIAG_WARNING, inc->file, inc->line,
				    "context '%s' is already included in '%s'", inc->name,
				    c->name);
				continue;
			}
			v[c->includes_n++] = t;
		}
	}
}

static void files_map(struct build *b, const struct astconf *ac)
{
	b->fmap = calloc(ac->files_n ? ac->files_n : 1, sizeof(*b->fmap));
	if (!b->fmap) {
		oom(b);
		return;
	}
	b->fmap_n = ac->files_n;
	for (size_t i = 0; i < ac->files_n; i++)
		b->fmap[i] = dup(b, ac->files[i]);
}

static void sections_load(struct build *b, const struct astconf *ac)
{
	files_map(b, ac);
	for (size_t i = 0; i < ac->sections_n && !b->oom; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (!strcasecmp(s->name, "general"))
			general_load(b, s);
		else if (!strcasecmp(s->name, "globals"))
			globals_load(b, s);
	}
	/* Contexts after every global, which their names may use. */
	for (size_t i = 0; i < ac->sections_n && !b->oom; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (!s->template && strcasecmp(s->name, "general") &&
		    strcasecmp(s->name, "globals"))
			context_load(b, s);
	}
}

static void globals_finish(struct build *b)
{
	struct dp_global *g;

	if (!b->globals.n)
		return;
	g = arena_memdup(b->mem, b->globals.v, b->globals.n * sizeof(*g));
	if (!g) {
		oom(b);
		return;
	}
	qsort(g, b->globals.n, sizeof(*g), global_cmp);
	b->dp->globals = g;
	b->dp->globals_n = b->globals.n;
}

static void args_check(const struct dialplan *dp, struct diag *diag)
{
	for (size_t i = 0; i < dp->contexts_n; i++) {
		const struct dp_context *c = &dp->contexts[i];

		for (size_t k = 0; k < c->extens_n; k++) {
			const struct dp_exten *e = &c->extens[k];

			for (size_t j = 0; j < e->prios_n; j++)
				dp_check(dp, &e->prios[j], diag);
		}
	}
}

static void build_free(struct build *b)
{
	for (size_t i = 0; i < b->ctxs.n; i++) {
		vec_free(&b->ctxs.v[i]->incs);
		free(b->ctxs.v[i]);
	}
	vec_free(&b->ctxs);
	htab_free(&b->index);
	vec_free(&b->recs);
	vec_free(&b->globals);
	free(b->fmap);
}

int dialplan_load(const struct astconf *ac, struct diag *diag,
		  struct dialplan **dpp)
{
	unsigned errors = diag->errors;
	struct dialplan *dp;
	struct build b;
	int err = EINVAL;

	*dpp = NULL;
	dp = calloc(1, sizeof(*dp));
	if (!dp) {
		diag_add(diag, DIAG_ERROR, "extensions.conf", 0, "out of memory");
		return ENOMEM;
	}
	dp->refs = 1;
	arena_init(&dp->mem);
	memset(&b, 0, sizeof(b));
	b.dp = dp;
	b.mem = &dp->mem;
	b.diag = diag;

	if (htab_init(&b.index, 64))
		oom(&b);
	if (ac && !b.oom)
		sections_load(&b, ac);
	if (!b.oom)
		contexts_finish(&b);
	if (!b.oom)
		extens_finish(&b);
	if (!b.oom)
		includes_resolve(&b);
	if (!b.oom)
		globals_finish(&b);
	if (!b.oom)
		args_check(dp, diag);
	if (b.oom)
		err = ENOMEM;
	else if (diag->errors == errors)
		err = 0;
	build_free(&b);
	if (err)
		dialplan_unref(dp);
	else
		*dpp = dp;
	return err;
}
