/*
 * state.c - what every state backend shares (see state.h).
 */
#include "state/state.h"

/* Redis on the same host answers in well under a millisecond; across
 * nodes in one to a few; beyond 100 ms something is wrong. */
const double state_rtt_bounds_ms[STATE_RTT_BUCKETS] = {
	0.25, 0.5, 1, 2.5, 5, 10, 50, 100,
};
