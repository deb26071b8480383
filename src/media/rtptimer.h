/*
 * rtptimer.h - deadline queue for the RTP worker threads.
 *
 * A pairing heap of nodes embedded in the legs: adding, cancelling and
 * taking the earliest deadline allocate nothing, so a worker can never
 * fail to arm a playback or timeout timer for a leg it has accepted.
 * Deadlines are CLOCK_MONOTONIC nanoseconds.  Not thread-safe: each
 * worker owns its heap.
 */
#ifndef KV_MEDIA_RTPTIMER_H
#define KV_MEDIA_RTPTIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtptimer {
	uint64_t due;
	struct rtptimer *child;
	struct rtptimer *next;   /* next sibling */
	struct rtptimer *prev;   /* previous sibling, or parent if first child */
	bool queued;
	void *arg;
};

struct rtptimer_heap {
	struct rtptimer *root;
	size_t n;
};

void rtptimer_heap_init(struct rtptimer_heap *h);
void rtptimer_init(struct rtptimer *t, void *arg);
/* (Re)schedules t at due. */
void rtptimer_add(struct rtptimer_heap *h, struct rtptimer *t, uint64_t due);
/* No-op when t is not queued. */
void rtptimer_del(struct rtptimer_heap *h, struct rtptimer *t);
/* Earliest timer, or NULL. */
static inline struct rtptimer *rtptimer_min(const struct rtptimer_heap *h)
{
	return h->root;
}

#endif
