/*
 * dpmatch.c - finding the priority that runs (see dpmatch.h).
 */
#include <stdbool.h>
#include <string.h>

#include "config/dpmatch.h"
#include "config/dppattern.h"
#include "util/log.h"

#define DATA_MAX   256        /* longest extension looked up */

bool dp_exten_match(const struct dp_exten *e, const char *exten)
{
	return dp_key_match(e->key, exten);
}

/* matchcid(): an empty pattern takes only callers without a number. */
static bool cid_ok(const struct dp_exten *e, const char *cid, bool any)
{
	if (!e->cid || any)
		return true;
	if (!cid || !*cid)
		return e->cid[0] == '\0';
	return dp_key_match(e->cid, cid);
}

static const struct dp_prio *prio_find(const struct dp_exten *e, int prio,
				       const char *label)
{
	size_t lo = 0, hi = e->prios_n;

	if (label) {
		for (size_t i = 0; i < e->prios_n; i++) {
			if (e->prios[i].label && !strcmp(e->prios[i].label, label))
				return &e->prios[i];
		}
		return NULL;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (e->prios[mid].prio < prio)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->prios_n && e->prios[lo].prio == prio ? &e->prios[lo] : NULL;
}

struct walk {
	const struct dp_context *seen[DP_MAX_INCLUDE_DEPTH];
	size_t n;
	const char *data;        /* as dialled */
	const char *plain;       /* the same without '-' */
	int prio;
	const char *label;
	const char *cid;
	bool any_cid;
};

static const struct dp_prio *walk_ctx(struct walk *w, const struct dp_context *ctx)
{
	const struct dp_prio *p;
	size_t lo = 0, hi;

	for (size_t i = 0; i < w->n; i++) {
		if (w->seen[i] == ctx)
			return NULL;
	}
	if (w->n == DP_MAX_INCLUDE_DEPTH) {
		log_event(LOG_WARN, "dialplan_include_depth", "context=%s max=%d",
			  ctx->name, DP_MAX_INCLUDE_DEPTH);
		return NULL;
	}
	w->seen[w->n++] = ctx;

	hi = ctx->plain_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (dp_plain_cmp(ctx->extens[mid].key, w->plain) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ctx->plain_n && !dp_plain_cmp(ctx->extens[lo].key, w->plain); lo++) {
		const struct dp_exten *e = &ctx->extens[lo];

		if (cid_ok(e, w->cid, w->any_cid) && (p = prio_find(e, w->prio, w->label)))
			return p;
	}
	for (size_t i = ctx->plain_n; i < ctx->extens_n; i++) {
		const struct dp_exten *e = &ctx->extens[i];

		if (dp_key_match(e->key, w->data) && cid_ok(e, w->cid, w->any_cid) &&
		    (p = prio_find(e, w->prio, w->label)))
			return p;
	}
	for (size_t i = 0; i < ctx->includes_n; i++) {
		p = walk_ctx(w, ctx->includes[i]);
		if (p)
			return p;
	}
	return NULL;
}

static const struct dp_prio *find(const struct dialplan *dp, const char *context,
				  const char *exten, int prio, const char *label,
				  const char *cid, bool any_cid)
{
	const struct dp_context *ctx;
	char plain[DATA_MAX];
	struct walk w;
	size_t k = 0;

	if (!dp || !context || !exten || strlen(exten) >= DATA_MAX)
		return NULL;
	ctx = dialplan_context(dp, context);
	if (!ctx)
		return NULL;
	for (const char *s = exten; *s; s++) {
		if (*s != '-')
			plain[k++] = *s;
	}
	plain[k] = '\0';
	w.n = 0;
	w.data = exten;
	w.plain = plain;
	w.prio = prio;
	w.label = label;
	w.cid = cid;
	w.any_cid = any_cid;
	return walk_ctx(&w, ctx);
}

const struct dp_prio *dialplan_find(const struct dialplan *dp, const char *context,
				    const char *exten, int priority, const char *cid)
{
	return find(dp, context, exten, priority, NULL, cid, false);
}

const struct dp_prio *dialplan_find_label(const struct dialplan *dp,
					  const char *context, const char *exten,
					  const char *label, const char *cid)
{
	if (!label)
		return NULL;
	return find(dp, context, exten, 0, label, cid, false);
}

const struct dp_prio *dialplan_find_any(const struct dialplan *dp, const char *context,
					const char *exten, int priority,
					const char *label)
{
	return find(dp, context, exten, priority, label, NULL, true);
}

/* 1 found, 0 not here, -1 the search ends without a match ('!'). */
static int walk_mode(struct walk *w, const struct dp_context *ctx, enum dp_match_mode mode)
{
	int r;

	for (size_t i = 0; i < w->n; i++) {
		if (w->seen[i] == ctx)
			return 0;
	}
	if (w->n == DP_MAX_INCLUDE_DEPTH)
		return 0;
	w->seen[w->n++] = ctx;
	for (size_t i = 0; i < ctx->extens_n; i++) {
		const struct dp_exten *e = &ctx->extens[i];

		r = dp_key_match_mode(e->key, w->data, mode);
		if (!r || !cid_ok(e, w->cid, false) || !prio_find(e, 1, NULL))
			continue;
		return r == 2 && mode == DP_MATCHMORE ? -1 : 1;
	}
	for (size_t i = 0; i < ctx->includes_n; i++) {
		r = walk_mode(w, ctx->includes[i], mode);
		if (r)
			return r;
	}
	return 0;
}

bool dialplan_can_match(const struct dialplan *dp, const char *context,
			const char *exten, const char *cid, enum dp_match_mode mode)
{
	const struct dp_context *ctx;
	struct walk w;

	if (mode == DP_MATCH)
		return dialplan_find(dp, context, exten, 1, cid) != NULL;
	if (!dp || !context || !exten || strlen(exten) >= DATA_MAX)
		return false;
	ctx = dialplan_context(dp, context);
	if (!ctx)
		return false;
	memset(&w, 0, sizeof(w));
	w.data = exten;
	w.cid = cid;
	return walk_mode(&w, ctx, mode) == 1;
}
