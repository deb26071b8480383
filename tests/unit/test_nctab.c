/*
 * test_nctab.c - the nonce-count table (src/state/nctab.c): replay
 * refusal, expiry as free space, growth, and the bound.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "state/nctab.h"

#define NOW 1700000000ULL

static bool use(struct nctab *t, const char *n, uint32_t nc, uint64_t exp, uint64_t now)
{
	struct pl pl = pl_from_str(n);

	return nctab_use(t, &pl, nc, exp, now);
}

static const char *name(char *buf, size_t size, unsigned i)
{
	snprintf(buf, size, "nonce-%u", i);
	return buf;
}

static void test_replay(void **state)
{
	struct nctab *t = NULL;

	(void)state;
	assert_int_equal(nctab_alloc(&t, 1000), 0);
	assert_true(use(t, "a", 1, NOW + 300, NOW));
	assert_false(use(t, "a", 1, NOW + 300, NOW));
	assert_true(use(t, "a", 3, NOW + 300, NOW));
	assert_false(use(t, "a", 2, NOW + 300, NOW));
	assert_true(use(t, "b", 1, NOW + 300, NOW));
	/* Prefixes and extensions are other nonces. */
	assert_true(use(t, "ab", 1, NOW + 300, NOW));
	assert_true(use(t, "", 1, NOW + 300, NOW));
	assert_false(use(t, "", 1, NOW + 300, NOW));
	/* nc 0, and nonces that are already stale, are refused unseen. */
	assert_false(use(t, "c", 0, NOW + 300, NOW));
	assert_false(use(t, "c", 1, NOW, NOW));
	assert_true(use(t, "c", 1, NOW + 1, NOW));
	assert_int_equal(nctab_count(t, NOW), 5);
	nctab_free(t);
}

static void test_expiry_frees(void **state)
{
	struct nctab *t = NULL;
	char buf[32];

	(void)state;
	assert_int_equal(nctab_alloc(&t, 4), 0);
	assert_int_equal(nctab_capacity(t), 4);
	for (unsigned i = 0; i < 4; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 1, NOW + 10, NOW));
	assert_int_equal(nctab_count(t, NOW), 4);
	assert_int_equal(nctab_count(t, NOW + 10), 0);
	/* Past their life the four slots take four new nonces, and the old
	 * names start over. */
	for (unsigned i = 4; i < 8; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 1, NOW + 20, NOW + 10));
	for (unsigned i = 4; i < 8; i++)
		assert_false(use(t, name(buf, sizeof(buf), i), 1, NOW + 20, NOW + 10));
	assert_int_equal(nctab_count(t, NOW + 10), 4);
	/* Updating an entry keeps the later expiry. */
	assert_true(use(t, "nonce-4", 2, NOW + 15, NOW + 10));
	assert_int_equal(nctab_count(t, NOW + 17), 4);
	nctab_free(t);
}

static void test_growth(void **state)
{
	struct nctab *t = NULL;
	char buf[32];
	unsigned i;

	(void)state;
	assert_int_equal(nctab_alloc(&t, 1000000), 0);
	assert_int_equal(nctab_capacity(t), 256);
	for (i = 0; i < 20000; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 1, NOW + 300, NOW));
	/* Below the bound nothing is ever forgotten. */
	for (i = 0; i < 20000; i++)
		assert_false(use(t, name(buf, sizeof(buf), i), 1, NOW + 300, NOW));
	assert_int_equal(nctab_count(t, NOW), 20000);
	assert_true(nctab_capacity(t) >= 20000);
	assert_true(nctab_capacity(t) <= 1048576);
	nctab_free(t);
}

static void test_bound(void **state)
{
	struct nctab *t = NULL;
	size_t kept = 0;
	char buf[32];
	unsigned i;

	(void)state;
	assert_int_equal(nctab_alloc(&t, 1000), 0);
	/* Later nonces expire later. */
	for (i = 0; i < 5000; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 1, NOW + 1000 + i, NOW));
	assert_int_equal(nctab_capacity(t), 1024);
	assert_true(nctab_count(t, NOW) <= 1024);
	assert_true(nctab_count(t, NOW) >= 900);
	/* What is kept is what expires last: none of the first thousand. */
	for (i = 0; i < 1000; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 2, NOW + 1000 + i, NOW));
	nctab_free(t);

	/* Shrinking keeps the bound and the remembered counts. */
	assert_int_equal(nctab_alloc(&t, 100000), 0);
	for (i = 0; i < 2000; i++)
		assert_true(use(t, name(buf, sizeof(buf), i), 5, NOW + 1000 + i, NOW));
	assert_int_equal(nctab_set_max(t, 200), 0);
	assert_int_equal(nctab_capacity(t), 256);
	for (i = 0; i < 2000; i++)
		kept += !use(t, name(buf, sizeof(buf), i), 5, NOW + 1000 + i, NOW);
	assert_true(kept > 0);
	assert_true(kept <= 256);
	assert_int_equal(nctab_set_max(t, 0), EINVAL);
	nctab_free(t);
}

static void test_clock(void **state)
{
	struct nctab *t = NULL;

	(void)state;
	assert_int_equal(nctab_alloc(&t, 16), 0);
	/* An expiry beyond 2^31 s of the first use is clamped, not wrapped. */
	assert_true(use(t, "far", 1, NOW + 10000000000ULL, NOW));
	assert_false(use(t, "far", 1, NOW + 10000000000ULL, NOW + 5));
	/* A clock that went back before the first use does not confuse it. */
	assert_false(use(t, "far", 1, NOW + 10000000000ULL, NOW - 100));
	assert_true(use(t, "early", 1, NOW - 50, NOW - 100));
	nctab_free(t);
}

static void test_invalid(void **state)
{
	struct nctab *t = NULL;
	struct pl none = {NULL, 0};
	char big[NCTAB_NONCE_MAX + 2];

	(void)state;
	assert_int_equal(nctab_alloc(NULL, 10), EINVAL);
	assert_int_equal(nctab_alloc(&t, 0), EINVAL);
	assert_int_equal(nctab_alloc(&t, 10), 0);
	assert_false(nctab_use(t, &none, 1, NOW + 10, NOW));
	assert_false(nctab_use(t, NULL, 1, NOW + 10, NOW));
	assert_false(nctab_use(NULL, &none, 1, NOW + 10, NOW));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(use(t, big, 1, NOW + 10, NOW));
	big[NCTAB_NONCE_MAX] = '\0';
	assert_true(use(t, big, 1, NOW + 10, NOW));
	assert_int_equal(nctab_set_max(NULL, 5), EINVAL);
	nctab_free(t);
	nctab_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_expiry_frees),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
