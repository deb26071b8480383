/*
 * locplan.h - what one REGISTER does to an AOR's bindings, as a pure
 * function that every state backend runs: RFC 3261 §10.3 steps 6-8
 * (wildcard removal, Call-ID/CSeq ordering, refresh, removal of one
 * binding, new bindings), max_contacts and remove_existing.
 *
 * The memory backend applies the plan to its lists; the Redis backend
 * turns it into the records of one compare-and-set script, and plans
 * again when another replica changed the AOR first.  Sharing the planner
 * is what makes the two backends answer a REGISTER the same way.
 */
#ifndef KV_STATE_LOCPLAN_H
#define KV_STATE_LOCPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/state.h"

/* One binding of the AOR after the request: exactly one index is >= 0. */
struct locplan_item {
	int32_t cur;             /* a current binding kept as it is */
	int32_t req;             /* a new contact made from r->bindings[req]
				  * (a refresh replaces its binding in place) */
};

#define LOCPLAN_STACK 16

struct locplan {
	enum loc_result res;     /* LOC_OK, LOC_OUT_OF_ORDER or LOC_TOO_MANY */
	bool changed;            /* res == LOC_OK and the bindings differ */
	struct locplan_item *v;  /* the bindings after the request, in order
				  * (only when changed) */
	size_t n;
	struct locplan_item stack[LOCPLAN_STACK];   /* v, when it fits */
};

/* The checks every backend makes before planning: 0 or EINVAL. */
int locplan_check(const struct loc_register *r);

/*
 * Plans r against the AOR's current bindings cur[0..cur_n), none of them
 * expired (the caller drops those first).  0, or ENOMEM (nothing planned).
 * Free the plan with locplan_free().
 */
int locplan_make(struct locplan *p, const struct loc_register *r,
		 const struct loc_contact *cur, size_t cur_n);
void locplan_free(struct locplan *p);

#endif
