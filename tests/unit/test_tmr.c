/*
 * test_tmr.c - unit tests for the timer heap (src/util/tmr.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util/tmr.h"

#define MAXFIRED 16

struct fixture {
	uv_loop_t loop;
	struct tmrq q;
	int fired[MAXFIRED];
	size_t nfired;
};

struct ev {
	struct fixture *f;
	struct tmr t;
	int id;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	tmrq_close(&f->q);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static void record_h(void *arg)
{
	struct ev *e = arg;

	assert_true(e->f->nfired < MAXFIRED);
	e->f->fired[e->f->nfired++] = e->id;
	assert_false(tmr_running(&e->t));
}

static void ev_start(struct fixture *f, struct ev *e, int id, uint64_t delay)
{
	e->f = f;
	e->id = id;
	tmr_init(&e->t);
	tmr_start(&f->q, &e->t, delay, record_h, e);
}

static uint64_t now_of(struct fixture *f)
{
	return uv_now(&f->loop);
}

static void test_ordering(void **state)
{
	struct fixture *f = *state;
	struct ev e[4];

	ev_start(f, &e[0], 30, 30);
	ev_start(f, &e[1], 10, 10);
	ev_start(f, &e[2], 20, 20);
	ev_start(f, &e[3], 40, 40);
	assert_int_equal(tmrq_count(&f->q), 4);

	tmrq_run(&f->q, now_of(f) + 9);
	assert_int_equal(f->nfired, 0);

	tmrq_run(&f->q, now_of(f) + 25);
	assert_int_equal(f->nfired, 2);
	assert_int_equal(f->fired[0], 10);
	assert_int_equal(f->fired[1], 20);
	assert_int_equal(tmrq_count(&f->q), 2);

	tmrq_run(&f->q, now_of(f) + 1000);
	assert_int_equal(f->nfired, 4);
	assert_int_equal(f->fired[2], 30);
	assert_int_equal(f->fired[3], 40);
	assert_int_equal(tmrq_count(&f->q), 0);
}

static void test_equal_deadlines_fifo(void **state)
{
	struct fixture *f = *state;
	struct ev e[8];
	int i;

	for (i = 0; i < 8; i++)
		ev_start(f, &e[i], i, 50);
	tmrq_run(&f->q, now_of(f) + 50);
	assert_int_equal(f->nfired, 8);
	for (i = 0; i < 8; i++)
		assert_int_equal(f->fired[i], i);
}

static void test_cancel(void **state)
{
	struct fixture *f = *state;
	struct ev e[7];
	int i;

	for (i = 0; i < 7; i++)
		ev_start(f, &e[i], i, 10 * (uint64_t)(i + 1));

	tmr_cancel(&f->q, &e[0].t);     /* head */
	tmr_cancel(&f->q, &e[3].t);     /* middle */
	tmr_cancel(&f->q, &e[6].t);     /* tail */
	assert_false(tmr_running(&e[0].t));
	assert_false(tmr_running(&e[3].t));
	assert_false(tmr_running(&e[6].t));
	assert_int_equal(tmrq_count(&f->q), 4);

	/* Cancelling a stopped timer, twice, is harmless. */
	tmr_cancel(&f->q, &e[3].t);
	tmr_cancel(&f->q, &e[3].t);
	assert_int_equal(tmrq_count(&f->q), 4);

	tmrq_run(&f->q, now_of(f) + 1000);
	assert_int_equal(f->nfired, 4);
	assert_int_equal(f->fired[0], 1);
	assert_int_equal(f->fired[1], 2);
	assert_int_equal(f->fired[2], 4);
	assert_int_equal(f->fired[3], 5);
}

static void test_cancel_last_remaining(void **state)
{
	struct fixture *f = *state;
	struct ev e;

	ev_start(f, &e, 1, 10);
	tmr_cancel(&f->q, &e.t);
	assert_int_equal(tmrq_count(&f->q), 0);
	tmrq_run(&f->q, now_of(f) + 1000);
	assert_int_equal(f->nfired, 0);
	/* The uv timer was stopped: the loop has nothing to wait for. */
	assert_int_equal(uv_run(&f->loop, UV_RUN_NOWAIT), 0);
}

static void test_restart(void **state)
{
	struct fixture *f = *state;
	struct ev a, b;

	ev_start(f, &a, 1, 10);
	ev_start(f, &b, 2, 20);
	assert_int_equal(tmr_remaining(&f->q, &a.t), 10);

	/* Later than the other one. */
	tmr_start(&f->q, &a.t, 50, record_h, &a);
	assert_int_equal(tmrq_count(&f->q), 2);
	assert_int_equal(tmr_remaining(&f->q, &a.t), 50);

	tmrq_run(&f->q, now_of(f) + 30);
	assert_int_equal(f->nfired, 1);
	assert_int_equal(f->fired[0], 2);

	/* Earlier again, with a running timer only. */
	tmr_start(&f->q, &a.t, 5, record_h, &a);
	assert_int_equal(tmrq_count(&f->q), 1);
	tmrq_run(&f->q, now_of(f) + 5);
	assert_int_equal(f->nfired, 2);
	assert_int_equal(f->fired[1], 1);
	assert_int_equal(tmr_remaining(&f->q, &a.t), 0);

	/* A fired timer can be started again. */
	tmr_start(&f->q, &a.t, 1, record_h, &a);
	tmrq_run(&f->q, now_of(f) + 1);
	assert_int_equal(f->nfired, 3);
}

static void test_restart_same_deadline_goes_last(void **state)
{
	struct fixture *f = *state;
	struct ev a, b;

	ev_start(f, &a, 1, 10);
	ev_start(f, &b, 2, 10);
	tmr_start(&f->q, &a.t, 10, record_h, &a);
	tmrq_run(&f->q, now_of(f) + 10);
	assert_int_equal(f->nfired, 2);
	assert_int_equal(f->fired[0], 2);
	assert_int_equal(f->fired[1], 1);
}

/* A handler that starts one timer, cancels another and re-arms itself. */
struct chain {
	struct fixture *f;
	struct tmr self;
	struct ev *start_me;
	struct ev *cancel_me;
	int rounds;
};

static void chain_h(void *arg)
{
	struct chain *c = arg;

	c->rounds++;
	c->f->fired[c->f->nfired++] = 100 + c->rounds;
	if (c->rounds == 1) {
		ev_start(c->f, c->start_me, 7, 0);
		tmr_cancel(&c->f->q, &c->cancel_me->t);
		tmr_start(&c->f->q, &c->self, 0, chain_h, c);
	}
}

static void test_handler_starts_timers(void **state)
{
	struct fixture *f = *state;
	struct chain c = { .f = f };
	struct ev started, cancelled;

	c.start_me = &started;
	c.cancel_me = &cancelled;
	tmr_init(&c.self);
	tmr_start(&f->q, &c.self, 10, chain_h, &c);
	ev_start(f, &cancelled, 9, 10);

	tmrq_run(&f->q, now_of(f) + 10);
	/* Timers started by a handler wait for the next run. */
	assert_int_equal(f->nfired, 1);
	assert_int_equal(f->fired[0], 101);
	assert_false(tmr_running(&cancelled.t));
	assert_true(tmr_running(&c.self));
	assert_true(tmr_running(&started.t));

	tmrq_run(&f->q, now_of(f) + 10);
	assert_int_equal(f->nfired, 3);
	assert_int_equal(f->fired[1], 7);
	assert_int_equal(f->fired[2], 102);
	assert_int_equal(tmrq_count(&f->q), 0);
}

/* A handler may free the object its timer is embedded in. */
struct owned {
	struct tmr t;
	int *count;
};

static void owned_h(void *arg)
{
	struct owned *o = arg;

	(*o->count)++;
	free(o);
}

static void test_handler_frees_owner(void **state)
{
	struct fixture *f = *state;
	int count = 0;
	int i;

	for (i = 0; i < 5; i++) {
		struct owned *o = malloc(sizeof(*o));

		assert_non_null(o);
		o->count = &count;
		tmr_init(&o->t);
		tmr_start(&f->q, &o->t, (uint64_t)i, owned_h, o);
	}
	tmrq_run(&f->q, now_of(f) + 10);
	assert_int_equal(count, 5);
}

struct rnd {
	struct tmr t;
	uint64_t due;
	uint64_t order;
	bool cancelled;
	bool fired;
};

static struct rnd *rnd_last;
static size_t rnd_fired;

static void rnd_h(void *arg)
{
	struct rnd *r = arg;

	assert_false(r->cancelled);
	assert_false(r->fired);
	if (rnd_last) {
		assert_true(rnd_last->due <= r->due);
		if (rnd_last->due == r->due)
			assert_true(rnd_last->order < r->order);
	}
	r->fired = true;
	rnd_last = r;
	rnd_fired++;
}

static void test_random_10k(void **state)
{
	struct fixture *f = *state;
	const size_t n = 10000;
	struct rnd *v = calloc(n, sizeof(*v));
	uint64_t base = now_of(f);
	size_t i, cancelled = 0;

	assert_non_null(v);
	srand(12345);
	for (i = 0; i < n; i++) {
		uint64_t delay = (uint64_t)(rand() % 5000);

		tmr_init(&v[i].t);
		v[i].due = base + delay;
		v[i].order = i;
		tmr_start(&f->q, &v[i].t, delay, rnd_h, &v[i]);
	}
	assert_int_equal(tmrq_count(&f->q), n);
	for (i = 0; i < n; i += 7) {
		tmr_cancel(&f->q, &v[i].t);
		v[i].cancelled = true;
		cancelled++;
	}
	/* Restarts move a timer to the back of its new deadline. */
	for (i = 3; i < n; i += 11) {
		if (v[i].cancelled)
			continue;
		tmr_start(&f->q, &v[i].t, 2500, rnd_h, &v[i]);
		v[i].due = base + 2500;
		v[i].order = n + i;
	}
	rnd_last = NULL;
	rnd_fired = 0;
	/* Several runs, as the loop would do them. */
	for (i = 0; i <= 5000; i += 250)
		tmrq_run(&f->q, base + i);
	assert_int_equal(rnd_fired, n - cancelled);
	assert_int_equal(tmrq_count(&f->q), 0);
	for (i = 0; i < n; i++)
		assert_true(v[i].fired != v[i].cancelled);
	free(v);
}

static void test_real_loop(void **state)
{
	struct fixture *f = *state;
	struct ev e[3];

	ev_start(f, &e[0], 3, 30);
	ev_start(f, &e[1], 1, 10);
	ev_start(f, &e[2], 2, 20);
	/* Returns once the heap is empty: the uv timer is then stopped. */
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f->nfired, 3);
	assert_int_equal(f->fired[0], 1);
	assert_int_equal(f->fired[1], 2);
	assert_int_equal(f->fired[2], 3);
	assert_int_equal(tmrq_count(&f->q), 0);
}

static void test_real_loop_handler_restarts(void **state)
{
	struct fixture *f = *state;
	struct chain c = { .f = f };
	struct ev started, cancelled;

	c.start_me = &started;
	c.cancel_me = &cancelled;
	tmr_init(&c.self);
	tmr_start(&f->q, &c.self, 5, chain_h, &c);
	ev_start(f, &cancelled, 9, 50);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(f->nfired, 3);
	assert_int_equal(f->fired[0], 101);
	/* Both delay 0: FIFO by start order. */
	assert_int_equal(f->fired[1], 7);
	assert_int_equal(f->fired[2], 102);
}

static void test_close_pending(void **state)
{
	struct fixture *f = *state;
	struct ev e[3];

	ev_start(f, &e[0], 1, 10);
	ev_start(f, &e[1], 2, 20);
	ev_start(f, &e[2], 3, 30);
	tmrq_close(&f->q);
	assert_int_equal(tmrq_count(&f->q), 0);
	assert_false(tmr_running(&e[0].t));
	assert_false(tmr_running(&e[2].t));
	/* Owners may still cancel; starting does nothing once closed. */
	tmr_cancel(&f->q, &e[1].t);
	tmr_start(&f->q, &e[1].t, 1, record_h, &e[1]);
	assert_false(tmr_running(&e[1].t));
	tmrq_run(&f->q, now_of(f) + 1000);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->nfired, 0);
	/* teardown closes again: must be a no-op. */
}

static void test_grow(void **state)
{
	struct fixture *f = *state;
	const size_t n = 1000;
	struct tmr *v = calloc(n, sizeof(*v));
	size_t i;

	assert_non_null(v);
	for (i = 0; i < n; i++) {
		tmr_init(&v[i]);
		tmr_start(&f->q, &v[i], 1000 - i, owned_h, NULL);
	}
	assert_int_equal(tmrq_count(&f->q), n);
	assert_true(f->q.cap >= n);
	for (i = 0; i < n; i++)
		tmr_cancel(&f->q, &v[i]);
	assert_int_equal(tmrq_count(&f->q), 0);
	free(v);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct tmr t;

	assert_int_not_equal(tmrq_init(NULL, &f->loop), 0);
	assert_int_not_equal(tmrq_init(&f->q, NULL), 0);
	tmr_init(&t);
	/* No handler: nothing is scheduled. */
	tmr_start(&f->q, &t, 10, NULL, NULL);
	assert_false(tmr_running(&t));
	assert_int_equal(tmr_remaining(&f->q, &t), 0);
	/* Far-future deadline saturates instead of wrapping. */
	tmr_start(&f->q, &t, UINT64_MAX, owned_h, NULL);
	assert_true(tmr_running(&t));
	assert_int_equal(t.due, UINT64_MAX);
	tmrq_run(&f->q, now_of(f) + 100000);
	assert_true(tmr_running(&t));
	tmr_cancel(&f->q, &t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_equal_deadlines_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_last_remaining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_same_deadline_goes_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_starts_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_frees_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_10k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_loop_handler_restarts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
