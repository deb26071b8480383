/*
 * tmr.h - timers for the SIP stack and the state backends.
 *
 * One libuv timer drives a binary min-heap of struct tmr, which callers
 * embed in their own objects: starting or cancelling a timer is O(log n)
 * and allocates nothing, and the loop never holds more than one uv handle
 * for all transactions, nonces and contacts together.
 */
#ifndef KV_UTIL_TMR_H
#define KV_UTIL_TMR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef void (tmr_h)(void *arg);

struct tmr {
	uint64_t due;        /* loop time in ms */
	size_t idx;          /* position in the heap + 1; 0 = not running */
	uint64_t seq;        /* insertion order: equal deadlines fire FIFO */
	tmr_h *h;
	void *arg;
};

struct tmrq {
	uv_loop_t *loop;
	uv_timer_t uvt;
	struct tmr **heap;
	size_t n, cap;
	uint64_t seq;
	bool closing;
};

int  tmrq_init(struct tmrq *q, uv_loop_t *loop);
/* Stops the uv timer and closes its handle; pending timers never fire. */
void tmrq_close(struct tmrq *q);
size_t tmrq_count(const struct tmrq *q);

static inline void tmr_init(struct tmr *t) { t->idx = 0; t->h = NULL; t->arg = NULL; }
/* (Re)start: fires h(arg) once, delay ms from now (loop time). */
void tmr_start(struct tmrq *q, struct tmr *t, uint64_t delay_ms, tmr_h *h, void *arg);
void tmr_cancel(struct tmrq *q, struct tmr *t);
static inline bool tmr_running(const struct tmr *t) { return t->idx != 0; }
/* ms until it fires (0 if due or not running). */
uint64_t tmr_remaining(const struct tmrq *q, const struct tmr *t);

/* Fire every timer that is due at loop time now (used by tests and by the
 * uv callback). */
void tmrq_run(struct tmrq *q, uint64_t now);

#endif
