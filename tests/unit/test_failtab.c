/*
 * test_failtab.c - unit tests for failure counts and bans by key
 * (src/state/failtab.c), and for the keys themselves (failtab_key()).
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
#include <sys/un.h>
#include <cmocka.h>
#include <uv.h>

#include "state/failtab.h"

static struct pl K(const char *s)
{
	return pl_from_str(s);
}

/* The key of address number n ("10.x.y.z"), in buf. */
static struct pl nkey(char *buf, size_t size, uint32_t n)
{
	snprintf(buf, size, "10.%u.%u.%u", (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
	return pl_from_str(buf);
}

static void test_count_window(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("192.0.2.1"), b = K("192.0.2.1 1001");
	uint64_t t = 1000000;

	assert_non_null(ft);
	/* Ranks within one fixed window that opens at the first failure. */
	assert_int_equal(failtab_count(ft, &a, t, 60000), 1);
	assert_int_equal(failtab_count(ft, &a, t + 10000, 60000), 2);
	assert_int_equal(failtab_count(ft, &a, t + 59999, 60000), 3);
	/* "ADDR" and "ADDR USER" are separate counts. */
	assert_int_equal(failtab_count(ft, &b, t + 59999, 60000), 1);
	/* The window is over: a new one opens. */
	assert_int_equal(failtab_count(ft, &a, t + 60000, 60000), 1);
	assert_int_equal(failtab_count(ft, &a, t + 60001, 60000), 2);
	assert_int_equal(failtab_entries(ft), 2);
	assert_int_equal(failtab_bans(ft, t + 60001), 0);
	assert_false(failtab_banned(ft, &a, t + 60001));
	failtab_free(ft);
}

static void test_spread_failures_never_add_up(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("198.51.100.7");
	uint64_t t = 5000;

	assert_non_null(ft);
	/* One failure every 6 s in a 10 s window: never more than 2. */
	for (int i = 0; i < 20; i++) {
		assert_true(failtab_count(ft, &a, t, 10000) <= 2);
		t += 6000;
	}
	failtab_free(ft);
}

static void test_ban_and_its_end(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("203.0.113.9"), u = K("203.0.113.9 1001"), other = K("203.0.113.99");
	uint64_t t = 1000;

	assert_non_null(ft);
	assert_int_equal(failtab_count(ft, &a, t, 60000), 1);
	assert_int_equal(failtab_ban(ft, &a, t + 300000), 0);
	assert_true(failtab_banned(ft, &a, t));
	assert_true(failtab_banned(ft, &a, t + 299999));
	/* Keys match whole: neither a longer nor a shorter one is banned. */
	assert_false(failtab_banned(ft, &u, t));
	assert_false(failtab_banned(ft, &other, t));
	assert_int_equal(failtab_bans(ft, t + 1), 1);

	/* A banned key is still counted, in its own window. */
	assert_int_equal(failtab_count(ft, &a, t + 2, 60000), 2);
	assert_int_equal(failtab_bans(ft, t + 2), 1);

	/* The end: the key starts with a clean record. */
	assert_false(failtab_banned(ft, &a, t + 300000));
	assert_int_equal(failtab_bans(ft, t + 300000), 0);
	assert_int_equal(failtab_entries(ft), 0);
	assert_int_equal(failtab_count(ft, &a, t + 300001, 60000), 1);
	failtab_free(ft);
}

static void test_later_end_wins(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("192.0.2.1"), b = K("192.0.2.2");

	assert_non_null(ft);
	assert_int_equal(failtab_ban(ft, &a, 50000), 0);
	/* An earlier end does not shorten a ban... */
	assert_int_equal(failtab_ban(ft, &a, 20000), 0);
	assert_true(failtab_banned(ft, &a, 49999));
	/* ...a later one lengthens it, and the order of ends follows. */
	assert_int_equal(failtab_ban(ft, &b, 60000), 0);
	assert_int_equal(failtab_ban(ft, &a, 90000), 0);
	assert_int_equal(failtab_bans(ft, 59999), 2);
	assert_int_equal(failtab_bans(ft, 60000), 1);
	assert_false(failtab_banned(ft, &b, 60000));
	assert_true(failtab_banned(ft, &a, 89999));
	assert_int_equal(failtab_bans(ft, 90000), 0);

	/* An end already past (or 0, "not banned") bans nothing. */
	assert_int_equal(failtab_ban(ft, &a, 90000), 0);
	assert_int_equal(failtab_ban(ft, &b, 0), 0);
	assert_int_equal(failtab_bans(ft, 90000), 0);
	assert_int_equal(failtab_entries(ft), 0);
	failtab_free(ft);
}

static void test_long_and_odd_keys(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	char longest[FAILTAB_KEY_MAX + 2], bin[] = "192.0.2.1 a\0b";
	struct pl max, over, empty = K(""), none = PL_INIT;
	struct pl b1 = {bin, sizeof(bin) - 1}, b2 = {bin, 11};

	assert_non_null(ft);
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	max = (struct pl){longest, FAILTAB_KEY_MAX};
	over = (struct pl){longest, FAILTAB_KEY_MAX + 1};

	assert_int_equal(failtab_count(ft, &max, 1, 1000), 1);
	assert_int_equal(failtab_ban(ft, &max, 5000), 0);
	assert_true(failtab_banned(ft, &max, 2));

	/* Too long or empty: refused, never stored, never banned. */
	assert_int_equal(failtab_count(ft, &over, 1, 1000), 0);
	assert_int_equal(failtab_ban(ft, &over, 5000), EINVAL);
	assert_false(failtab_banned(ft, &over, 2));
	assert_int_equal(failtab_count(ft, &empty, 1, 1000), 0);
	assert_int_equal(failtab_ban(ft, &none, 5000), EINVAL);
	assert_false(failtab_banned(ft, &empty, 2));
	assert_int_equal(failtab_entries(ft), 1);

	/* Any bytes, NUL included; a prefix is another key. */
	assert_int_equal(failtab_ban(ft, &b1, 5000), 0);
	assert_true(failtab_banned(ft, &b1, 2));
	assert_false(failtab_banned(ft, &b2, 2));
	assert_int_equal(failtab_bans(ft, 2), 2);
	failtab_free(ft);
}

static void test_eviction_at_bound(void **state)
{
	enum { MAX = 1000 };
	struct failtab *ft = failtab_alloc(MAX);
	struct pl attacker = K("192.0.2.200"), k;
	char buf[32];
	uint64_t t = 1000;
	uint32_t i;

	assert_non_null(ft);
	assert_int_equal(failtab_count(ft, &attacker, t, 60000), 1);
	assert_int_equal(failtab_ban(ft, &attacker, t + 300000), 0);

	/* Spoofed sources, one failure each, all within the window. */
	for (i = 0; i < 5 * MAX; i++) {
		k = nkey(buf, sizeof(buf), i);
		assert_int_equal(failtab_count(ft, &k, t + i, 60000), 1);
		assert_true(failtab_entries(ft) <= MAX);
	}
	assert_int_equal(failtab_entries(ft), MAX);
	/* The ban survived the flood of counts... */
	assert_true(failtab_banned(ft, &attacker, t + i));
	assert_int_equal(failtab_bans(ft, t + i), 1);
	/* ...which lost its oldest failures and kept the newest. */
	k = nkey(buf, sizeof(buf), 5 * MAX - 1);
	assert_int_equal(failtab_count(ft, &k, t + i, 60000), 2);
	k = nkey(buf, sizeof(buf), 0);
	assert_int_equal(failtab_count(ft, &k, t + i, 60000), 1);
	/* A key counted again is the newest: it stays. */
	for (i = 0; i < MAX - 2; i++) {
		struct pl fresh = nkey(buf, sizeof(buf), 100000 + i);

		assert_int_equal(failtab_count(ft, &fresh, t + 6000, 60000), 1);
	}
	k = nkey(buf, sizeof(buf), 0);
	assert_int_equal(failtab_count(ft, &k, t + 6000, 60000), 2);

	/* The windows over, every count goes; the ban stays. */
	assert_int_equal(failtab_bans(ft, t + 66000 + 1), 1);
	assert_int_equal(failtab_entries(ft), 1);
	failtab_free(ft);
}

static void test_full_of_bans(void **state)
{
	enum { MAX = 500 };
	struct failtab *ft = failtab_alloc(MAX);
	struct pl k;
	char buf[32];
	uint32_t i;

	assert_non_null(ft);
	/* Later bans end later. */
	for (i = 0; i < MAX; i++) {
		k = nkey(buf, sizeof(buf), i);
		assert_int_equal(failtab_ban(ft, &k, 100000 + i), 0);
	}
	assert_int_equal(failtab_bans(ft, 1), MAX);
	/* Full of bans: the one ending first makes room, for a ban... */
	k = nkey(buf, sizeof(buf), MAX);
	assert_int_equal(failtab_ban(ft, &k, 200000), 0);
	assert_int_equal(failtab_entries(ft), MAX);
	k = nkey(buf, sizeof(buf), 0);
	assert_false(failtab_banned(ft, &k, 2));
	k = nkey(buf, sizeof(buf), 1);
	assert_true(failtab_banned(ft, &k, 2));
	/* ...or for a count. */
	k = nkey(buf, sizeof(buf), MAX + 1);
	assert_int_equal(failtab_count(ft, &k, 3, 60000), 1);
	k = nkey(buf, sizeof(buf), 1);
	assert_false(failtab_banned(ft, &k, 3));
	assert_int_equal(failtab_bans(ft, 3), MAX - 1);
	assert_int_equal(failtab_entries(ft), MAX);
	failtab_free(ft);
}

static void test_clear(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("192.0.2.1"), b = K("192.0.2.2 1001");

	assert_non_null(ft);
	assert_int_equal(failtab_count(ft, &a, 10, 60000), 1);
	assert_int_equal(failtab_count(ft, &a, 11, 60000), 2);
	assert_int_equal(failtab_ban(ft, &b, 300000), 0);
	failtab_clear(ft);
	assert_int_equal(failtab_entries(ft), 0);
	assert_int_equal(failtab_bans(ft, 12), 0);
	assert_false(failtab_banned(ft, &b, 12));
	/* Counting starts over. */
	assert_int_equal(failtab_count(ft, &a, 13, 60000), 1);
	failtab_free(ft);

	/* NULL is tolerated everywhere. */
	failtab_free(NULL);
	failtab_clear(NULL);
	assert_int_equal(failtab_count(NULL, &a, 0, 1), 0);
	assert_int_equal(failtab_ban(NULL, &a, 1), EINVAL);
	assert_false(failtab_banned(NULL, &a, 0));
	assert_int_equal(failtab_bans(NULL, 0), 0);
	assert_int_equal(failtab_entries(NULL), 0);
	assert_null(failtab_alloc(0));
}

/*
 * A clock near the top of uint64_t must not wrap a window's end or a
 * ban's end to the past: such a ban lasts to the end of the clock.
 */
static void test_clock_end(void **state)
{
	struct failtab *ft = failtab_alloc(100);
	struct pl a = K("192.0.2.1"), b = K("192.0.2.2");
	uint64_t t = UINT64_MAX - 30000;

	assert_non_null(ft);
	assert_int_equal(failtab_count(ft, &a, t, 60000), 1);
	assert_int_equal(failtab_count(ft, &a, t + 1, 60000), 2);
	assert_int_equal(failtab_ban(ft, &b, UINT64_MAX), 0);
	assert_true(failtab_banned(ft, &b, UINT64_MAX - 1));
	assert_int_equal(failtab_count(ft, &a, UINT64_MAX - 1, 60000), 3);
	assert_int_equal(failtab_entries(ft), 2);
	assert_int_equal(failtab_bans(ft, UINT64_MAX), 0);
	assert_int_equal(failtab_entries(ft), 0);
	failtab_free(ft);
}

/*
 * Expiring from both lists, interleaved in the hash table, keeps the
 * counters, the lists and the table in agreement.
 */
static void test_expire_mixed(void **state)
{
	struct failtab *ft = failtab_alloc(1000);
	struct pl k;
	char buf[32];
	uint32_t i;

	assert_non_null(ft);
	/* Even keys count (window 100 s), odd ones are banned (200 s). */
	for (i = 0; i < 64; i++) {
		uint64_t t = 1000 + 500 * (uint64_t)i;

		k = nkey(buf, sizeof(buf), i);
		assert_int_equal(failtab_count(ft, &k, t, 100000), 1);
		if (i % 2)
			assert_int_equal(failtab_ban(ft, &k, t + 200000), 0);
	}
	assert_int_equal(failtab_bans(ft, 32500), 32);
	assert_int_equal(failtab_entries(ft), 64);

	/* Counts of keys 0..14 end at 101 s + 0.5 s * i. */
	assert_int_equal(failtab_bans(ft, 101000 + 15 * 500), 32);
	assert_int_equal(failtab_entries(ft), 64 - 8);
	/* Bans of keys 1..31 end at 201 s + 0.5 s * i. */
	assert_int_equal(failtab_bans(ft, 201000 + 31 * 500), 16);
	assert_int_equal(failtab_entries(ft), 16);
	for (i = 0; i < 64; i++) {
		k = nkey(buf, sizeof(buf), i);
		assert_int_equal(failtab_banned(ft, &k, 216500), i % 2 && i > 31);
	}
	/* Freed with entries on both lists. */
	k = nkey(buf, sizeof(buf), 1000);
	assert_int_equal(failtab_count(ft, &k, 216500, 1000), 1);
	assert_int_equal(failtab_entries(ft), 17);
	failtab_free(ft);
}

/* failtab_key() of ip:port and user (NULL: none) must be want. */
static void assert_key(const char *ip, uint16_t port, const char *user, const char *want)
{
	char buf[FAILTAB_KEY_MAX + 1];
	struct sockaddr_storage ss;
	struct pl u = pl_from_str(user ? user : ""), key;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':'))
		assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss), 0);
	else
		assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss), 0);
	assert_int_equal(failtab_key(&key, buf, sizeof(buf), (struct sockaddr *)&ss,
				     user ? &u : NULL), 0);
	assert_int_equal(key.l, strlen(want));
	assert_memory_equal(key.p, want, key.l);
	assert_ptr_equal(key.p, buf);
}

static void test_keys(void **state)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	char buf[FAILTAB_KEY_MAX + 1], user[FAILTAB_KEY_MAX];
	struct pl key, u;

	/* No port; IPv4-mapped IPv6 is its IPv4 address. */
	assert_key("192.0.2.1", 5060, NULL, "192.0.2.1");
	assert_key("192.0.2.1", 40000, "1001", "192.0.2.1 1001");
	assert_key("::ffff:192.0.2.1", 5060, "1001", "192.0.2.1 1001");
	assert_key("2001:db8::1", 5060, NULL, "2001:db8::1");
	assert_key("::1", 5060, "", "::1");
	assert_key("0.0.0.1", 5060, NULL, "0.0.0.1");

	/* The longest user that fits, and one byte more. */
	assert_int_equal(uv_ip6_addr("2001:db8:1:2:3:4:5:6", 5060, &sin6), 0);
	memset(user, 'u', sizeof(user));
	u = (struct pl){user, FAILTAB_KEY_MAX - strlen("2001:db8:1:2:3:4:5:6") - 1};
	assert_int_equal(failtab_key(&key, buf, sizeof(buf), (struct sockaddr *)&sin6, &u), 0);
	assert_int_equal(key.l, FAILTAB_KEY_MAX);
	u.l++;
	assert_int_equal(failtab_key(&key, buf, sizeof(buf), (struct sockaddr *)&sin6, &u),
			 ENOSPC);
	/* A buffer too small for the key. */
	assert_int_equal(uv_ip4_addr("192.0.2.1", 1, &sin), 0);
	assert_int_equal(failtab_key(&key, buf, 5, (struct sockaddr *)&sin, NULL), ENOSPC);

	/* Not an IP address. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(failtab_key(&key, buf, sizeof(buf), (struct sockaddr *)&sun, NULL),
			 EINVAL);
	assert_int_equal(failtab_key(&key, buf, sizeof(buf), NULL, NULL), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_window),
		cmocka_unit_test(test_spread_failures_never_add_up),
		cmocka_unit_test(test_ban_and_its_end),
		cmocka_unit_test(test_later_end_wins),
		cmocka_unit_test(test_long_and_odd_keys),
		cmocka_unit_test(test_eviction_at_bound),
		cmocka_unit_test(test_full_of_bans),
		cmocka_unit_test(test_clear),
		cmocka_unit_test(test_clock_end),
		cmocka_unit_test(test_expire_mixed),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
