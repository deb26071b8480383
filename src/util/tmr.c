/*
 * tmr.c - the timer heap behind every SIP, nonce and contact timer.
 *
 * A binary min-heap of struct tmr ordered by (due, seq); each tmr knows its
 * own heap slot, so cancel and restart are O(log n).  One uv_timer_t is
 * armed for the earliest deadline and re-armed only when the head of the
 * heap changes, which keeps the common case (starting a timer that is not
 * the earliest one) free of libuv calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/tmr.h"

static bool tmr_before(const struct tmr *a, const struct tmr *b)
{
	if (a->due != b->due)
		return a->due < b->due;
	return a->seq < b->seq;
}

static void heap_place(struct tmrq *q, size_t i, struct tmr *t)
{
	q->heap[i] = t;
	t->idx = i + 1;
}

static void heap_up(struct tmrq *q, size_t i)
{
	struct tmr *t = q->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!tmr_before(t, q->heap[parent]))
			break;
		heap_place(q, i, q->heap[parent]);
		i = parent;
	}
	heap_place(q, i, t);
}

static void heap_down(struct tmrq *q, size_t i)
{
	struct tmr *t = q->heap[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= q->n)
			break;
		if (child + 1 < q->n && tmr_before(q->heap[child + 1], q->heap[child]))
			child++;
		if (!tmr_before(q->heap[child], t))
			break;
		heap_place(q, i, q->heap[child]);
		i = child;
	}
	heap_place(q, i, t);
}

/* Moves slot i to where its (possibly changed) key belongs. */
static void heap_fix(struct tmrq *q, size_t i)
{
	if (i > 0 && tmr_before(q->heap[i], q->heap[(i - 1) / 2]))
		heap_up(q, i);
	else
		heap_down(q, i);
}

static void heap_remove(struct tmrq *q, struct tmr *t)
{
	size_t i = t->idx - 1;
	struct tmr *last;

	q->n--;
	last = q->heap[q->n];
	q->heap[q->n] = NULL;
	t->idx = 0;
	if (i == q->n)
		return;
	heap_place(q, i, last);
	heap_fix(q, i);
}

/*
 * tmr_start() cannot report failure (callers embed timers in objects that
 * are already half-committed when they arm them), so running out of memory
 * while growing the heap is fatal, as in any allocator-aborting daemon.
 */
static void heap_grow(struct tmrq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 64;
	struct tmr **heap;

	if (cap < q->cap || cap > SIZE_MAX / sizeof(*heap)) {
		fprintf(stderr, "tmr: timer heap overflow\n");
		abort();
	}
	heap = realloc(q->heap, cap * sizeof(*heap));
	if (!heap) {
		fprintf(stderr, "tmr: out of memory growing the timer heap\n");
		abort();
	}
	q->heap = heap;
	q->cap = cap;
}

static bool tmr_in(const struct tmrq *q, const struct tmr *t)
{
	return t->idx != 0 && t->idx <= q->n && q->heap[t->idx - 1] == t;
}

static void tmrq_uv_cb(uv_timer_t *uvt)
{
	struct tmrq *q = uvt->data;

	tmrq_run(q, uv_now(q->loop));
}

static void tmrq_arm(struct tmrq *q)
{
	uint64_t now, due;

	if (q->closing)
		return;
	if (!q->n) {
		uv_timer_stop(&q->uvt);
		return;
	}
	now = uv_now(q->loop);
	due = q->heap[0]->due;
	uv_timer_start(&q->uvt, tmrq_uv_cb, due > now ? due - now : 0, 0);
}

/* Re-arms the uv timer only if the earliest deadline moved. */
static void tmrq_rearm_if(struct tmrq *q, const struct tmr *old_head, uint64_t old_due)
{
	const struct tmr *head = q->n ? q->heap[0] : NULL;

	if (head != old_head || (head && head->due != old_due))
		tmrq_arm(q);
}

int tmrq_init(struct tmrq *q, uv_loop_t *loop)
{
	int err;

	if (!q || !loop)
		return EINVAL;
	q->loop = loop;
	q->heap = NULL;
	q->n = 0;
	q->cap = 0;
	q->seq = 0;
	q->closing = false;
	err = uv_timer_init(loop, &q->uvt);
	if (err)
		return -err;
	q->uvt.data = q;
	return 0;
}

void tmrq_close(struct tmrq *q)
{
	size_t i;

	if (!q || q->closing)
		return;
	q->closing = true;
	/* Owners may still cancel their embedded timers after this. */
	for (i = 0; i < q->n; i++)
		q->heap[i]->idx = 0;
	free(q->heap);
	q->heap = NULL;
	q->n = 0;
	q->cap = 0;
	uv_timer_stop(&q->uvt);
	uv_close((uv_handle_t *)&q->uvt, NULL);
}

size_t tmrq_count(const struct tmrq *q)
{
	return q ? q->n : 0;
}

void tmr_start(struct tmrq *q, struct tmr *t, uint64_t delay_ms, tmr_h *h, void *arg)
{
	const struct tmr *old_head;
	uint64_t old_due, now;

	if (!q || !t)
		return;
	if (!h || q->closing) {
		tmr_cancel(q, t);
		return;
	}
	old_head = q->n ? q->heap[0] : NULL;
	old_due = old_head ? old_head->due : 0;

	now = uv_now(q->loop);
	t->due = delay_ms > UINT64_MAX - now ? UINT64_MAX : now + delay_ms;
	t->seq = q->seq++;
	t->h = h;
	t->arg = arg;

	if (tmr_in(q, t)) {
		heap_fix(q, t->idx - 1);
	} else {
		if (q->n == q->cap)
			heap_grow(q);
		q->heap[q->n] = t;
		q->n++;
		heap_up(q, q->n - 1);
	}
	tmrq_rearm_if(q, old_head, old_due);
}

void tmr_cancel(struct tmrq *q, struct tmr *t)
{
	const struct tmr *old_head;
	uint64_t old_due;

	if (!q || !t)
		return;
	if (!tmr_in(q, t)) {
		t->idx = 0;
		return;
	}
	old_head = q->heap[0];
	old_due = old_head->due;
	heap_remove(q, t);
	tmrq_rearm_if(q, old_head, old_due);
}

uint64_t tmr_remaining(const struct tmrq *q, const struct tmr *t)
{
	uint64_t now;

	if (!q || !t || !tmr_in(q, t))
		return 0;
	now = uv_now(q->loop);
	return t->due > now ? t->due - now : 0;
}

/*
 * Timers started while this runs (including a handler restarting its own
 * timer with delay 0) wait for the next run: a run always terminates.
 */
void tmrq_run(struct tmrq *q, uint64_t now)
{
	uint64_t seq_end;

	if (!q)
		return;
	seq_end = q->seq;
	while (q->n && !q->closing) {
		struct tmr *t = q->heap[0];
		tmr_h *h;
		void *arg;

		if (t->due > now || t->seq >= seq_end)
			break;
		heap_remove(q, t);
		h = t->h;
		arg = t->arg;
		/* t may be freed by its handler: not touched after this. */
		h(arg);
	}
	tmrq_arm(q);
}
