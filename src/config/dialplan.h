/*
 * dialplan.h - the dialplan model: what extensions.conf says once loaded
 * and validated (config/extensions.c builds it), and its lookups by name.
 *
 * A dialplan is a set of contexts, sorted by name; a context holds its
 * extensions in Asterisk's matching order (exact names, which are binary
 * searched, then patterns from the most specific: see dppattern.h) and the
 * contexts it includes; an extension holds its priorities in order.
 * Names and variables are case-sensitive, as in Asterisk.  Finding the
 * priority that runs for a call is dpmatch.h.
 *
 * The dialplan is immutable once loaded and reference counted: a reload
 * builds a new one and channels keep the one they started with.
 */
#ifndef KV_CONFIG_DIALPLAN_H
#define KV_CONFIG_DIALPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "config/arena.h"
#include "config/dpapp.h"

#define DP_MAX_NAME          79    /* context and extension names, as Asterisk */
#define DP_MAX_INCLUDE_DEPTH 128   /* contexts searched by one lookup */

struct dp_context;
struct dp_exten;

struct dp_prio {
	int prio;
	const char *label;               /* NULL when none */
	enum dp_app app;
	const char *args;                /* as written; expanded when run */
	const struct dp_exten *exten;
	const char *file;
	int line;
};

struct dp_exten {
	const char *name;                /* as first written: "_1XX", "555-1234" */
	const char *key;                 /* matched: without blanks and '-' */
	const char *cid;                 /* caller number match, NULL: any */
	bool pattern;
	const struct dp_prio *prios;     /* by priority */
	size_t prios_n;
	const struct dp_context *context;
	const char *file;
	int line;
};

struct dp_context {
	const char *name;
	const struct dp_exten *extens;   /* in matching order */
	size_t extens_n;
	size_t plain_n;                  /* extens[0..plain_n) are no patterns */
	const struct dp_context **includes;
	size_t includes_n;
	const char *file;
	int line;
};

struct dp_global {
	const char *name;
	const char *value;
};

struct dialplan {
	unsigned refs;
	const struct dp_context *contexts;   /* by name (strcmp) */
	size_t contexts_n;
	const struct dp_global *globals;     /* by name (strcmp) */
	size_t globals_n;
	bool has_cid;                        /* some extension matches caller ID */
	struct arena mem;                    /* private: holds everything */
};

/* Drop the loader's reference (dialplan_unref). */
void dialplan_free(struct dialplan *dp);
struct dialplan *dialplan_ref(struct dialplan *dp);
void dialplan_unref(struct dialplan *dp);

const struct dp_context *dialplan_context(const struct dialplan *dp,
					  const char *name);
/* Value of a [globals] variable, NULL when there is none. */
const char *dialplan_global(const struct dialplan *dp, const char *name,
			    size_t len);

#endif
