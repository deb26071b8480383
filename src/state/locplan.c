/*
 * locplan.c - what one REGISTER does to an AOR's bindings (see
 * locplan.h): matching, ordering checks, max_contacts, in one pure
 * function over the current bindings.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"
#include "state/locplan.h"

#define SLOT_FREE    (-1)
#define SLOT_EVICTED (-2)

int locplan_check(const struct loc_register *r)
{
	size_t i;

	if (!r || !pl_isset(&r->aor) || r->aor.l > UINT32_MAX)
		return EINVAL;
	if (r->bindings_n && !r->bindings)
		return EINVAL;
	if (r->bindings_n > INT32_MAX)
		return EINVAL;
	for (i = 0; i < r->bindings_n && !r->wildcard; i++) {
		if (!pl_isset(&r->bindings[i].uri))
			return EINVAL;
	}
	return 0;
}

static bool uri_same(const struct pl *a, const struct pl *b)
{
	struct sip_uri ua, ub;

	if (sip_uri_decode(&ua, a) == 0 && sip_uri_decode(&ub, b) == 0)
		return sip_uri_equal(&ua, &ub);
	/* Unparseable URIs only match themselves. */
	return pl_eq(a, b);
}

static bool instance_same(const struct pl *a, const struct pl *b)
{
	return pl_isset(a) && pl_isset(b) && pl_eqcase(a, b);
}

/* RFC 5626 §6: a binding with an instance is the device's, wherever it
 * registers from; one without is its URI.  A match by instance is looked
 * for first, so that the result does not depend on the bindings' order
 * (which a Redis hash does not keep). */
static int32_t find_match(const struct loc_contact *cur, size_t cur_n, const int32_t *owner,
			  const struct loc_binding *b)
{
	size_t k;

	for (k = 0; pl_isset(&b->instance) && k < cur_n; k++) {
		struct pl inst = pl_from_str(cur[k].instance);

		if (owner[k] == SLOT_FREE && instance_same(&inst, &b->instance))
			return (int32_t)k;
	}
	for (k = 0; k < cur_n; k++) {
		struct pl uri = pl_from_str(cur[k].uri);

		if (owner[k] == SLOT_FREE && uri_same(&uri, &b->uri))
			return (int32_t)k;
	}
	return SLOT_FREE;
}

static bool binding_matches(const struct loc_binding *a, const struct loc_binding *b)
{
	return instance_same(&a->instance, &b->instance) || uri_same(&a->uri, &b->uri);
}

static bool out_of_order(const struct loc_contact *c, const struct loc_register *r)
{
	return pl_eq_str(&r->callid, c->callid) && r->cseq <= c->cseq;
}

static void item_push(struct locplan *p, int32_t cur, int32_t req)
{
	p->v[p->n].cur = cur;
	p->v[p->n].req = req;
	p->n++;
}

/* "Contact: *": §10.3 step 6, every binding goes or none does. */
static void plan_wildcard(struct locplan *p, const struct loc_register *r,
			  const struct loc_contact *cur, size_t cur_n)
{
	size_t i;

	for (i = 0; i < cur_n; i++) {
		if (out_of_order(&cur[i], r)) {
			p->res = LOC_OUT_OF_ORDER;
			return;
		}
	}
	p->changed = cur_n > 0;
}

/*
 * The current bindings that go to make room, soonest expiry first: the
 * bindings of this request are never evicted.
 */
static void plan_evict(int32_t *owner, const struct loc_contact *cur, size_t cur_n,
		       size_t evict_n)
{
	size_t j, k;

	for (j = 0; j < evict_n; j++) {
		size_t soonest = cur_n;

		for (k = 0; k < cur_n; k++) {
			if (owner[k] != SLOT_FREE)
				continue;
			if (soonest == cur_n || cur[k].expires_at < cur[soonest].expires_at)
				soonest = k;
		}
		if (soonest < cur_n)
			owner[soonest] = SLOT_EVICTED;
	}
}

int locplan_make(struct locplan *p, const struct loc_register *r,
		 const struct loc_contact *cur, size_t cur_n)
{
	size_t n = r->bindings_n, i, j, k;
	size_t removed = 0, kept_in_req = 0, added = 0, evict_n = 0, result;
	int32_t scratch[64], *heap = NULL, *match, *skip, *owner;

	memset(p, 0, sizeof(*p));
	p->res = LOC_OK;
	if (r->wildcard) {
		plan_wildcard(p, r, cur, cur_n);
		return 0;
	}
	/* No Contact at all: a query. */
	if (!n)
		return 0;
	if (cur_n > INT32_MAX / 4 || n > INT32_MAX / 4)
		return ENOMEM;
	/* Per Contact: the binding it matched and whether a later Contact
	 * supersedes it; per current binding: the Contact that claimed it. */
	match = scratch;
	if (2 * n + cur_n > sizeof(scratch) / sizeof(scratch[0])) {
		heap = malloc((2 * n + cur_n) * sizeof(*heap));
		if (!heap)
			return ENOMEM;
		match = heap;
	}
	skip = match + n;
	owner = skip + n;
	for (k = 0; k < cur_n; k++)
		owner[k] = SLOT_FREE;
	for (i = 0; i < n; i++) {
		match[i] = SLOT_FREE;
		skip[i] = 0;
		for (j = i + 1; j < n && !skip[i]; j++)
			skip[i] = binding_matches(&r->bindings[i], &r->bindings[j]);
	}

	for (i = 0; i < n; i++) {
		const struct loc_binding *b = &r->bindings[i];

		if (skip[i])
			continue;
		match[i] = find_match(cur, cur_n, owner, b);
		if (match[i] >= 0)
			owner[match[i]] = (int32_t)i;
		if (match[i] >= 0 && out_of_order(&cur[match[i]], r)) {
			p->res = LOC_OUT_OF_ORDER;
			goto out;
		}
		if (match[i] >= 0 && !b->expires)
			removed++;
		else if (match[i] >= 0)
			kept_in_req++;
		else if (b->expires)
			added++;
	}

	result = cur_n - removed + added;
	if (result > r->max_contacts) {
		/* Bindings of this request are never evicted: if they alone
		 * exceed the limit, the request fails. */
		if (kept_in_req + added > r->max_contacts || !r->remove_existing) {
			p->res = LOC_TOO_MANY;
			goto out;
		}
		evict_n = result - r->max_contacts;
		plan_evict(owner, cur, cur_n, evict_n);
	}
	if (!removed && !kept_in_req && !added && !evict_n)
		goto out;

	p->v = p->stack;
	if (cur_n + n > LOCPLAN_STACK) {
		p->v = malloc((cur_n + n) * sizeof(*p->v));
		if (!p->v) {
			free(heap);
			return ENOMEM;
		}
	}
	p->changed = true;
	/* A refresh keeps its binding's place; new bindings come last. */
	for (k = 0; k < cur_n; k++) {
		if (owner[k] == SLOT_FREE)
			item_push(p, (int32_t)k, -1);
		else if (owner[k] >= 0 && r->bindings[owner[k]].expires)
			item_push(p, -1, owner[k]);
	}
	for (i = 0; i < n; i++) {
		if (!skip[i] && match[i] < 0 && r->bindings[i].expires)
			item_push(p, -1, (int32_t)i);
	}
out:
	free(heap);
	return 0;
}

void locplan_free(struct locplan *p)
{
	if (p->v != p->stack)
		free(p->v);
	p->v = NULL;
	p->n = 0;
	p->changed = false;
}
