/*
 * test_banlist.c - unit tests for the failed-auth ban list (src/pbx/banlist.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <cmocka.h>

#include "pbx/banlist.h"

static const struct sockaddr *v4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return (const struct sockaddr *)ss;
}

static const struct sockaddr *v6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return (const struct sockaddr *)ss;
}

static const struct sockaddr *v4n(struct sockaddr_storage *ss, uint32_t n)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(n);
	return (const struct sockaddr *)ss;
}

static void test_ban_after_n_within_window(void **state)
{
	struct banlist *bl = banlist_alloc(3, 60, 300);
	struct sockaddr_storage ss, other;
	const struct sockaddr *sa = v4(&ss, "192.0.2.1", 5060);
	uint64_t t = 1000000;

	assert_non_null(bl);
	assert_false(banlist_banned(bl, sa, t));
	assert_false(banlist_fail(bl, sa, t));
	assert_false(banlist_fail(bl, sa, t + 10000));
	assert_false(banlist_banned(bl, sa, t + 10000));
	assert_int_equal(banlist_count(bl), 0);
	assert_true(banlist_fail(bl, sa, t + 59000));
	assert_true(banlist_banned(bl, sa, t + 59000));
	assert_int_equal(banlist_count(bl), 1);

	/* Another port of the same address is the same source. */
	assert_true(banlist_banned(bl, v4(&other, "192.0.2.1", 40000), t + 60000));
	assert_false(banlist_banned(bl, v4(&other, "192.0.2.2", 5060), t + 60000));

	/* Failing while banned neither extends nor restarts the ban. */
	assert_false(banlist_fail(bl, sa, t + 100000));
	assert_int_equal(banlist_count(bl), 1);
	banlist_free(bl);
}

static void test_not_banned_when_spread(void **state)
{
	struct banlist *bl = banlist_alloc(3, 10, 300);
	struct sockaddr_storage ss;
	const struct sockaddr *sa = v4(&ss, "198.51.100.7", 5060);
	uint64_t t = 5000;
	int i;

	assert_non_null(bl);
	/* One failure every 6 s: never 3 within 10 s of the window start. */
	for (i = 0; i < 20; i++) {
		assert_false(banlist_fail(bl, sa, t));
		assert_false(banlist_banned(bl, sa, t));
		t += 6000;
	}
	assert_int_equal(banlist_count(bl), 0);
	banlist_free(bl);
}

static void test_ban_expires_and_starts_clean(void **state)
{
	struct banlist *bl = banlist_alloc(2, 60, 300);
	struct sockaddr_storage ss;
	const struct sockaddr *sa = v4(&ss, "203.0.113.9", 5060);
	uint64_t t = 0;

	assert_non_null(bl);
	assert_false(banlist_fail(bl, sa, t));
	assert_true(banlist_fail(bl, sa, t + 1000));
	assert_true(banlist_banned(bl, sa, t + 1000 + 299999));
	assert_int_equal(banlist_count(bl), 1);
	assert_false(banlist_banned(bl, sa, t + 1000 + 300000));
	assert_int_equal(banlist_count(bl), 0);
	assert_int_equal(banlist_entries(bl), 0);

	/* Clean record: one failure is not enough again. */
	t = 400000;
	assert_false(banlist_fail(bl, sa, t));
	assert_false(banlist_banned(bl, sa, t));
	assert_true(banlist_fail(bl, sa, t + 1));
	assert_true(banlist_banned(bl, sa, t + 1));
	banlist_free(bl);
}

static void test_ipv6_and_families(void **state)
{
	struct banlist *bl = banlist_alloc(2, 60, 300);
	struct sockaddr_storage a, b, c, m;
	const struct sockaddr *sa6 = v6(&a, "2001:db8::1", 5060);
	const struct sockaddr *sa6b = v6(&b, "2001:db8::2", 5060);
	const struct sockaddr *sa4 = v4(&c, "0.0.0.1", 5060);

	assert_non_null(bl);
	assert_false(banlist_fail(bl, sa6, 1));
	assert_true(banlist_fail(bl, sa6, 2));
	assert_true(banlist_banned(bl, sa6, 3));
	assert_false(banlist_banned(bl, sa6b, 3));
	assert_false(banlist_banned(bl, sa4, 3));

	/* ::1 and 0.0.0.1 share trailing bytes but are different sources. */
	assert_false(banlist_fail(bl, v6(&m, "::1", 5060), 4));
	assert_false(banlist_fail(bl, sa4, 5));
	assert_false(banlist_banned(bl, sa4, 6));
	assert_int_equal(banlist_entries(bl), 3);

	/* An IPv4-mapped IPv6 peer is its IPv4 address. */
	assert_true(banlist_fail(bl, v6(&m, "::ffff:0.0.0.1", 1), 7));
	assert_true(banlist_banned(bl, sa4, 8));
	assert_int_equal(banlist_count(bl), 2);
	banlist_free(bl);
}

static void test_non_ip_ignored(void **state)
{
	struct banlist *bl = banlist_alloc(1, 60, 300);
	struct sockaddr_un sun;

	assert_non_null(bl);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_false(banlist_fail(bl, (struct sockaddr *)&sun, 1));
	assert_false(banlist_banned(bl, (struct sockaddr *)&sun, 1));
	assert_false(banlist_fail(bl, NULL, 1));
	assert_int_equal(banlist_entries(bl), 0);
	banlist_free(bl);
}

static void test_eviction_bound(void **state)
{
	struct banlist *bl = banlist_alloc(3, 60, 300);
	struct sockaddr_storage ss, keep;
	const struct sockaddr *attacker = v4(&keep, "192.0.2.200", 5060);
	uint32_t base = 0x0a000000;  /* 10.0.0.0 */
	uint64_t t = 1000;
	uint32_t i;

	assert_non_null(bl);
	assert_false(banlist_fail(bl, attacker, t));
	assert_false(banlist_fail(bl, attacker, t));
	assert_true(banlist_fail(bl, attacker, t));

	/* 200k spoofed sources, one failure each, all within the window. */
	for (i = 0; i < 200000; i++) {
		assert_false(banlist_fail(bl, v4n(&ss, base + i), t));
		assert_true(banlist_entries(bl) <= BANLIST_MAX_ENTRIES);
	}
	assert_int_equal(banlist_entries(bl), BANLIST_MAX_ENTRIES);
	/* Bans survive a flood of non-banned entries. */
	assert_true(banlist_banned(bl, attacker, t));
	assert_int_equal(banlist_count(bl), 1);
	/* The oldest failures went, the newest stayed. */
	assert_int_equal(banlist_fail(bl, v4n(&ss, base + 199999), t), false);
	assert_int_equal(banlist_fail(bl, v4n(&ss, base + 199999), t), true);
	assert_false(banlist_fail(bl, v4n(&ss, base), t));
	assert_false(banlist_fail(bl, v4n(&ss, base), t));
	assert_true(banlist_fail(bl, v4n(&ss, base), t));

	/* Once the window has passed, a sweep forgets every counter. */
	banlist_sweep(bl, t + 60000);
	assert_int_equal(banlist_entries(bl), 3);
	assert_int_equal(banlist_count(bl), 3);
	banlist_sweep(bl, t + 300000);
	assert_int_equal(banlist_entries(bl), 0);
	assert_int_equal(banlist_count(bl), 0);
	banlist_free(bl);
}

static void test_all_banned_full(void **state)
{
	struct banlist *bl = banlist_alloc(1, 60, 300);
	struct sockaddr_storage ss;
	uint32_t i;

	assert_non_null(bl);
	/* Each failure bans; later bans end later. */
	for (i = 0; i < BANLIST_MAX_ENTRIES; i++)
		assert_true(banlist_fail(bl, v4n(&ss, i + 1), i));
	assert_int_equal(banlist_count(bl), BANLIST_MAX_ENTRIES);
	/* Full of bans: the one ending first makes room. */
	assert_true(banlist_fail(bl, v4n(&ss, 0xc0000201), BANLIST_MAX_ENTRIES));
	assert_int_equal(banlist_entries(bl), BANLIST_MAX_ENTRIES);
	assert_false(banlist_banned(bl, v4n(&ss, 1), BANLIST_MAX_ENTRIES));
	assert_true(banlist_banned(bl, v4n(&ss, 2), BANLIST_MAX_ENTRIES));
	banlist_free(bl);
}

static void test_disabled(void **state)
{
	struct banlist *bl = banlist_alloc(0, 60, 300);
	struct sockaddr_storage ss;
	const struct sockaddr *sa = v4(&ss, "192.0.2.1", 5060);
	int i;

	assert_non_null(bl);
	for (i = 0; i < 100; i++)
		assert_false(banlist_fail(bl, sa, (uint64_t)i));
	assert_false(banlist_banned(bl, sa, 100));
	assert_int_equal(banlist_entries(bl), 0);
	banlist_free(bl);
}

static void test_configure_live(void **state)
{
	struct banlist *bl = banlist_alloc(5, 60, 300);
	struct sockaddr_storage ss, ss2;
	const struct sockaddr *sa = v4(&ss, "192.0.2.1", 5060);
	const struct sockaddr *sb = v4(&ss2, "192.0.2.2", 5060);

	assert_non_null(bl);
	assert_false(banlist_fail(bl, sa, 0));
	assert_false(banlist_fail(bl, sa, 1));
	/* Lower threshold: the next failure crosses it. */
	banlist_configure(bl, 3, 60, 10);
	assert_true(banlist_fail(bl, sa, 2));
	assert_true(banlist_banned(bl, sa, 10001));
	assert_false(banlist_banned(bl, sa, 10002));

	assert_true(banlist_fail(bl, sb, 20000) == false);
	assert_true(banlist_fail(bl, sb, 20001) == false);
	assert_true(banlist_fail(bl, sb, 20002));
	/* Disabling lifts bans at once. */
	banlist_configure(bl, 0, 60, 10);
	assert_false(banlist_banned(bl, sb, 20003));
	assert_int_equal(banlist_count(bl), 0);
	assert_int_equal(banlist_entries(bl), 0);
	banlist_configure(bl, 1, 60, 10);
	assert_false(banlist_banned(bl, sb, 20004));
	banlist_free(bl);

	/* NULL is tolerated everywhere. */
	banlist_free(NULL);
	assert_false(banlist_fail(NULL, sa, 0));
	assert_false(banlist_banned(NULL, sa, 0));
	assert_int_equal(banlist_count(NULL), 0);
}

static void test_ban_order_after_shorter_ban(void **state)
{
	struct banlist *bl = banlist_alloc(1, 60, 300);
	struct sockaddr_storage a, b;
	const struct sockaddr *sa = v4(&a, "192.0.2.1", 5060);
	const struct sockaddr *sb = v4(&b, "192.0.2.2", 5060);

	assert_non_null(bl);
	assert_true(banlist_fail(bl, sa, 0));          /* ends at 300 s */
	banlist_configure(bl, 1, 60, 10);
	assert_true(banlist_fail(bl, sb, 1000));       /* ends at 11 s */
	assert_int_equal(banlist_count(bl), 2);
	banlist_sweep(bl, 11000);
	assert_int_equal(banlist_count(bl), 1);
	assert_false(banlist_banned(bl, sb, 11000));
	assert_true(banlist_banned(bl, sa, 11000));
	banlist_sweep(bl, 300000);
	assert_int_equal(banlist_count(bl), 0);
	banlist_free(bl);
}

/*
 * A clock near the top of uint64_t once made until_ms wrap to 0, the
 * "not banned" value: the entry sat on the banned list while being treated
 * as idle, and expiring it freed it with the list still pointing at it.
 * Such a ban must instead last to the end of the clock.
 */
static void test_ban_at_clock_end(void **state)
{
	struct banlist *bl = banlist_alloc(1, 60, 60);
	struct sockaddr_storage a, b, c;
	const struct sockaddr *sa = v4(&a, "192.0.2.1", 5060);
	const struct sockaddr *sb = v4(&b, "192.0.2.2", 5060);
	const struct sockaddr *sc = v4(&c, "192.0.2.3", 5060);
	uint64_t t = UINT64_MAX - 60000 + 1;

	assert_non_null(bl);
	assert_true(banlist_fail(bl, sa, t));
	assert_true(banlist_banned(bl, sa, t));
	assert_int_equal(banlist_count(bl), 1);
	banlist_sweep(bl, t + 1);
	assert_true(banlist_banned(bl, sa, t + 1));
	assert_int_equal(banlist_count(bl), 1);
	assert_int_equal(banlist_entries(bl), 1);

	/* A failure record whose window would end past the clock's end. */
	banlist_configure(bl, 2, 60, 60);
	assert_false(banlist_fail(bl, sb, t + 2));
	banlist_sweep(bl, t + 3);
	assert_int_equal(banlist_entries(bl), 2);
	assert_true(banlist_fail(bl, sb, t + 4));
	assert_int_equal(banlist_count(bl), 2);

	assert_false(banlist_fail(bl, sc, UINT64_MAX - 1));
	banlist_sweep(bl, UINT64_MAX - 1);
	assert_true(banlist_banned(bl, sa, UINT64_MAX - 1));
	assert_true(banlist_banned(bl, sb, UINT64_MAX - 1));
	assert_int_equal(banlist_count(bl), 2);
	assert_int_equal(banlist_entries(bl), 3);
	banlist_sweep(bl, UINT64_MAX);
	assert_int_equal(banlist_count(bl), 0);
	assert_int_equal(banlist_entries(bl), 0);
	banlist_free(bl);
}

/*
 * Expiring entries from both lists, interleaved in the hash table, must
 * keep the counters, the lists and the table in agreement.
 */
static void test_expire_mixed_lists(void **state)
{
	struct banlist *bl = banlist_alloc(2, 100, 200);
	struct sockaddr_storage ss;
	uint64_t t;
	uint32_t i;

	assert_non_null(bl);
	/* Even addresses fail once (idle), odd ones twice (banned). */
	for (i = 0; i < 64; i++) {
		const struct sockaddr *sa = v4n(&ss, 0x0a000000u + i);

		t = 1000 + 500 * (uint64_t)i;
		assert_false(banlist_fail(bl, sa, t));
		if (i % 2)
			assert_true(banlist_fail(bl, sa, t));
	}
	assert_int_equal(banlist_count(bl), 32);
	assert_int_equal(banlist_entries(bl), 64);

	/* Records of addresses 0..15 end at 101 s + 0.5 s * i. */
	banlist_sweep(bl, 101000 + 15 * 500);
	assert_int_equal(banlist_count(bl), 32);
	assert_int_equal(banlist_entries(bl), 64 - 8);
	assert_true(banlist_banned(bl, v4n(&ss, 0x0a000001u), 108500));
	/* 14 starts over; 16 still counts its first failure and is banned. */
	assert_false(banlist_fail(bl, v4n(&ss, 0x0a00000eu), 108500));
	assert_true(banlist_fail(bl, v4n(&ss, 0x0a000010u), 108500));
	assert_int_equal(banlist_count(bl), 33);
	assert_int_equal(banlist_entries(bl), 64 - 8 + 1);

	/* Bans of addresses 1..31 end at 201 s + 0.5 s * i. */
	banlist_sweep(bl, 201000 + 31 * 500);
	assert_int_equal(banlist_count(bl), 17);
	assert_int_equal(banlist_entries(bl), 17);
	for (i = 0; i < 64; i++) {
		bool want = (i % 2 && i > 31) || i == 16;

		assert_int_equal(banlist_banned(bl, v4n(&ss, 0x0a000000u + i), 216500), want);
	}

	/* Freed with entries on both lists. */
	assert_false(banlist_fail(bl, v4n(&ss, 0x0b000000u), 216500));
	assert_int_equal(banlist_entries(bl), 18);
	banlist_free(bl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ban_after_n_within_window),
		cmocka_unit_test(test_not_banned_when_spread),
		cmocka_unit_test(test_ban_expires_and_starts_clean),
		cmocka_unit_test(test_ipv6_and_families),
		cmocka_unit_test(test_non_ip_ignored),
		cmocka_unit_test(test_eviction_bound),
		cmocka_unit_test(test_all_banned_full),
		cmocka_unit_test(test_disabled),
		cmocka_unit_test(test_configure_live),
		cmocka_unit_test(test_ban_order_after_shorter_ban),
		cmocka_unit_test(test_ban_at_clock_end),
		cmocka_unit_test(test_expire_mixed_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
