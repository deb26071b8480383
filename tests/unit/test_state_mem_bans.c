/*
 * test_state_mem_bans.c - the memory backend's failure counts and bans
 * (src/state/mem.c through state.h): counting windows, addr_registered
 * from the addresses registrations came from, bans, clearing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "state/failtab.h"
#include "state/state.h"

/* One loop and timer heap for the whole group: no test here needs a timer
 * to fire, only the backend's clock, which each test moves itself. */
static uv_loop_t loop;
static struct tmrq tmrq;

struct fixture {
	struct state *st;
	uint64_t now;            /* the backend's clock, unix seconds */
	int calls;
	int err;
	uint32_t count;
	bool registered;
	int reg_calls;
	enum loc_result reg_res;
};

static uint64_t fake_clock(void *arg)
{
	return ((struct fixture *)arg)->now;
}

static int group_setup(void **state)
{
	assert_int_equal(uv_loop_init(&loop), 0);
	return tmrq_init(&tmrq, &loop);
}

static int group_teardown(void **state)
{
	tmrq_close(&tmrq);
	uv_run(&loop, UV_RUN_DEFAULT);
	return uv_loop_close(&loop);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->now = 1700000000;
	assert_int_equal(state_mem_alloc(&f->st, &tmrq, fake_clock, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	state_free(f->st);
	free(f);
	return 0;
}

static const struct sockaddr *sa_of(struct sockaddr_storage *ss, const char *ip,
				    uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(ip, ':'))
		assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)ss), 0);
	else
		assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)ss), 0);
	return (const struct sockaddr *)ss;
}

static void counted(int err, uint32_t count, bool addr_registered, void *arg)
{
	struct fixture *f = arg;

	f->calls++;
	f->err = err;
	f->count = count;
	f->registered = addr_registered;
}

/* One failure of key from ip; the callback must come before the return. */
static uint32_t fail_once(struct fixture *f, const char *key, const char *ip, uint32_t window)
{
	struct sockaddr_storage ss;
	struct pl k = pl_from_str(key);

	f->calls = 0;
	assert_int_equal(state_fail_count(f->st, &k, sa_of(&ss, ip, 5060), window,
					  counted, f), 0);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->err, 0);
	return f->count;
}

static void reg_done(enum loc_result res, const struct loc_contact *c, size_t n, void *arg)
{
	struct fixture *f = arg;

	f->reg_calls++;
	f->reg_res = res;
}

/* REGISTER of aor from ip:port with one Contact (expires 0: removal). */
static void reg(struct fixture *f, const char *aor, const char *ip, uint16_t port,
		uint32_t expires, uint32_t cseq)
{
	struct sockaddr_storage ss;
	struct loc_binding b;
	struct loc_register r;
	char uri[96];

	snprintf(uri, sizeof(uri), "sip:%s@%s:%u", aor, ip, port);
	memset(&b, 0, sizeof(b));
	b.uri = pl_from_str(uri);
	b.expires = expires;
	b.q = -1;
	memset(&r, 0, sizeof(r));
	r.aor = pl_from_str(aor);
	r.bindings = &b;
	r.bindings_n = 1;
	r.callid = pl_from_str(aor);
	r.cseq = cseq;
	r.endpoint = pl_from_str(aor);
	memcpy(&r.src.addr, sa_of(&ss, ip, port), sizeof(r.src.addr));
	r.max_contacts = 5;
	r.now = f->now;
	f->reg_calls = 0;
	assert_int_equal(state_register(f->st, &r, reg_done, f), 0);
	assert_int_equal(f->reg_calls, 1);
	assert_int_equal(f->reg_res, LOC_OK);
}

static void test_count_window(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 1);
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 2);
	assert_int_equal(fail_once(f, "192.0.2.1 1002", "192.0.2.1", 60), 1);
	assert_int_equal(fail_once(f, "192.0.2.1", "192.0.2.1", 60), 1);
	f->now += 59;
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 3);
	/* The window opened at the first failure is over. */
	f->now += 1;
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 1);
	assert_false(f->registered);
}

/* Does a failure from ip find registrations at its address? */
static bool registered(struct fixture *f, const char *ip)
{
	fail_once(f, "any key", ip, 60);
	return f->registered;
}

static void test_addr_registered(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = f->now;

	assert_false(registered(f, "192.0.2.10"));

	/* A phone behind 192.0.2.10 registers for 60 s: any port of that
	 * address, IPv4-mapped or not, has registrations; others do not. */
	reg(f, "1001", "192.0.2.10", 5062, 60, 1);
	assert_true(registered(f, "192.0.2.10"));
	assert_true(registered(f, "::ffff:192.0.2.10"));
	assert_false(registered(f, "192.0.2.11"));
	/* IPv6 sources too. */
	reg(f, "1002", "2001:db8::5", 5060, 30, 1);
	assert_true(registered(f, "2001:db8::5"));

	/* The binding of 1002 expires (30 s), 1001's is refreshed to 120 s. */
	f->now = t0 + 30;
	assert_false(registered(f, "2001:db8::5"));
	reg(f, "1001", "192.0.2.10", 5062, 120, 2);
	f->now = t0 + 100;
	assert_true(registered(f, "192.0.2.10"));

	/* As in the Redis backend, a binding removed early still counts until
	 * its expiry: an office is not taken for a stranger meanwhile. */
	reg(f, "1001", "192.0.2.10", 5062, 0, 3);
	assert_true(registered(f, "192.0.2.10"));
	f->now = t0 + 150;
	assert_false(registered(f, "192.0.2.10"));
}

static void test_bans(void **state)
{
	struct fixture *f = *state;
	struct pl a = pl_from_str("192.0.2.1"), u = pl_from_str("192.0.2.1 1001");
	uint64_t ms = f->now * 1000;

	assert_int_equal(state_bans_count(f->st, ms), 0);
	assert_int_equal(state_ban_set(f->st, &u, ms + 300000), 0);
	assert_true(state_banned(f->st, &u, ms));
	assert_false(state_banned(f->st, &a, ms));
	assert_int_equal(state_bans_count(f->st, ms), 1);
	assert_int_equal(state_ban_set(f->st, &a, ms + 10000), 0);
	assert_int_equal(state_bans_count(f->st, ms), 2);
	assert_int_equal(state_bans_count(f->st, ms + 10000), 1);
	assert_false(state_banned(f->st, &a, ms + 10000));
	assert_true(state_banned(f->st, &u, ms + 299999));

	/* Counting a banned key goes on; clearing lifts bans and counts. */
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 1);
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 2);
	state_bans_clear(f->st);
	assert_int_equal(state_bans_count(f->st, ms + 10001), 0);
	assert_false(state_banned(f->st, &u, ms + 10001));
	assert_int_equal(fail_once(f, "192.0.2.1 1001", "192.0.2.1", 60), 1);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_storage ss;
	const struct sockaddr *sa = sa_of(&ss, "192.0.2.1", 5060);
	char longkey[FAILTAB_KEY_MAX + 2];
	struct pl empty = PL_INIT, k = pl_from_str("192.0.2.1"), lk;
	struct loc_register r;

	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	lk = pl_from_str(longkey);
	f->calls = 0;
	assert_int_equal(state_fail_count(f->st, &empty, sa, 60, counted, f), EINVAL);
	assert_int_equal(state_fail_count(f->st, &lk, sa, 60, counted, f), EINVAL);
	assert_int_equal(state_fail_count(f->st, &k, sa, 60, NULL, f), EINVAL);
	assert_int_equal(f->calls, 0);
	assert_int_equal(state_ban_set(f->st, &lk, f->now * 1000 + 1000), EINVAL);
	assert_int_equal(state_ban_set(f->st, &empty, f->now * 1000 + 1000), EINVAL);
	assert_false(state_banned(f->st, &lk, f->now * 1000));

	/* Without an address, nothing is registered there. */
	assert_int_equal(state_fail_count(f->st, &k, NULL, 60, counted, f), 0);
	assert_int_equal(f->calls, 1);
	assert_false(f->registered);

	memset(&r, 0, sizeof(r));
	r.aor = pl_from_str("1001");
	assert_int_equal(state_register(f->st, &r, NULL, NULL), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_addr_registered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
