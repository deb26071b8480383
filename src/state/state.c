/*
 * state.c - what every state backend shares (see state.h).
 */
#include <string.h>

#include "state/state.h"

/* Redis on the same host answers in well under a millisecond; across
 * nodes in one to a few; beyond 100 ms something is wrong. */
const double state_rtt_bounds_ms[STATE_RTT_BUCKETS] = {
	0.25, 0.5, 1, 2.5, 5, 10, 50, 100,
};

void loc_addr_set(union loc_addr *dst, const struct sockaddr_storage *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->ss_family == AF_INET)
		memcpy(&dst->in, src, sizeof(dst->in));
	else if (src->ss_family == AF_INET6)
		memcpy(&dst->in6, src, sizeof(dst->in6));
}

void loc_addr_get(const union loc_addr *src, struct sockaddr_storage *dst)
{
	memset(dst, 0, sizeof(*dst));
	if (src->sa.sa_family == AF_INET)
		memcpy(dst, &src->in, sizeof(src->in));
	else if (src->sa.sa_family == AF_INET6)
		memcpy(dst, &src->in6, sizeof(src->in6));
}
