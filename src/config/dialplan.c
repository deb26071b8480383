/*
 * dialplan.c - the dialplan's reference count and its lookups by name
 * (see dialplan.h).
 */
#include <stdlib.h>
#include <string.h>

#include "config/dialplan.h"

struct dialplan *dialplan_ref(struct dialplan *dp)
{
	if (dp)
		__atomic_add_fetch(&dp->refs, 1, __ATOMIC_RELAXED);
	return dp;
}

void dialplan_unref(struct dialplan *dp)
{
	if (dp && __atomic_sub_fetch(&dp->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		arena_free(&dp->mem);
		free(dp);
	}
}

void dialplan_free(struct dialplan *dp)
{
	dialplan_unref(dp);
}

const struct dp_context *dialplan_context(const struct dialplan *dp, const char *name)
{
	size_t lo = 0, hi;

	if (!dp || !name)
		return NULL;
	hi = dp->contexts_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(dp->contexts[mid].name, name);

		if (!c)
			return &dp->contexts[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *dialplan_global(const struct dialplan *dp, const char *name, size_t len)
{
	size_t lo = 0, hi;

	if (!dp)
		return NULL;
	hi = dp->globals_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const char *g = dp->globals[mid].name;
		size_t gl = strlen(g);
		int c = memcmp(g, name, gl < len ? gl : len);

		if (!c)
			c = gl < len ? -1 : gl > len ? 1 : 0;
		if (!c)
			return dp->globals[mid].value;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
