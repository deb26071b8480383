/*
 * drain.c - graceful shutdown (see drain.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "ops/drain.h"
#include "util/log.h"

#define DRAIN_CHECK_MS  200
#define DRAIN_GRACE_MS  2000    /* after BYEs, time for their answers */

struct drain {
	uv_loop_t *loop;
	struct pbx *pbx;
	struct ops_stats *stats;
	drain_done_h *done;
	void *arg;
	uv_timer_t check;
	uv_timer_t deadline;
	unsigned closing;
	bool started, forced, finished;
	bool had_calls;             /* calls were live when draining began */
	uint64_t forced_at;
};

static void exit_cb(uv_timer_t *t)
{
	struct drain *d = t->data;

	d->done(d->arg);
}

/* The registrations to providers are removed: exit from drain's own
 * timer, never from inside the PBX's callbacks. */
static void shutdown_done(void *arg)
{
	struct drain *d = arg;

	uv_timer_start(&d->check, exit_cb, 0, 0);
}

static void finish(struct drain *d, const char *why)
{
	if (d->finished)
		return;
	d->finished = true;
	uv_timer_stop(&d->check);
	uv_timer_stop(&d->deadline);
	log_event(LOG_INFO, "drain_done", "reason=%s", why);
	pbx_shutdown(d->pbx, shutdown_done, d);
}

/* End every call with BYE (or a final response before answer). */
static void force(struct drain *d, const char *why)
{
	unsigned n = pbx_calls_active(d->pbx);

	if (d->forced)
		return;
	d->forced = true;
	d->forced_at = uv_now(d->loop);
	d->stats->drain_forced_hangups += n;
	log_event(LOG_INFO, "drain_force", "reason=%s calls=%u", why, n);
	pbx_end_calls(d->pbx);
}

static void check_cb(uv_timer_t *t)
{
	struct drain *d = t->data;

	if (d->forced) {
		/* The BYEs are out: wait for their answers (a lost one is
		 * retransmitted by its transaction), within the grace time. */
		if (!pbx_busy(d->pbx))
			finish(d, "calls_ended");
		else if (uv_now(d->loop) - d->forced_at > DRAIN_GRACE_MS)
			finish(d, "grace_over");
		return;
	}
	if (!pbx_calls_active(d->pbx))
		finish(d, d->had_calls ? "last_call_ended" : "no_calls");
}

static void deadline_cb(uv_timer_t *t)
{
	force(t->data, "drain_timeout");
}

void drain_signal(struct drain *d, const char *why, unsigned timeout_s)
{
	struct pbx *pbx = d->pbx;

	if (d->finished)
		return;
	if (d->started) {
		force(d, why);
		return;
	}
	d->started = true;
	d->had_calls = pbx_calls_active(pbx) > 0;
	d->stats->draining = true;
	d->stats->drain_started = (uint64_t)time(NULL);
	pbx_set_draining(pbx, true);
	log_event(LOG_INFO, "drain_start", "signal=%s calls=%u timeout=%u", why,
		  pbx_calls_active(pbx), timeout_s);
	uv_timer_start(&d->check, check_cb, 0, DRAIN_CHECK_MS);
	if (timeout_s)
		uv_timer_start(&d->deadline, deadline_cb, (uint64_t)timeout_s * 1000, 0);
	else
		force(d, "no_timeout");
}

int drain_alloc(struct drain **dp, uv_loop_t *loop, struct pbx *pbx,
		struct ops_stats *stats, drain_done_h *done, void *arg)
{
	struct drain *d = calloc(1, sizeof(*d));

	if (!d)
		return ENOMEM;
	d->loop = loop;
	d->pbx = pbx;
	d->stats = stats;
	d->done = done;
	d->arg = arg;
	uv_timer_init(loop, &d->check);
	uv_timer_init(loop, &d->deadline);
	d->check.data = d->deadline.data = d;
	*dp = d;
	return 0;
}

static void close_cb(uv_handle_t *h)
{
	struct drain *d = h->data;

	if (--d->closing == 0)
		free(d);
}

void drain_free(struct drain *d)
{
	if (!d)
		return;
	d->closing = 2;
	uv_close((uv_handle_t *)&d->check, close_cb);
	uv_close((uv_handle_t *)&d->deadline, close_cb);
}
