/*
 * test_portpool.c - RTP/RTCP port pairs (src/media/portpool.c): even/odd
 * pairs, round robin, exhaustion and reuse, busy ports, range changes.
 *
 * Real sockets on 127.0.0.1 (and ::1 when the host has it).  Ranges are
 * taken below the kernel's ephemeral ports, at a base found free when
 * the test starts, so parallel test runs do not trip over each other.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "media/portpool.h"

#define BLOCK 16

static struct sockaddr_in lo4;

static int bind_udp(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	}
	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An even port p such that [p, p + BLOCK) is free right now. */
static uint16_t free_block(void)
{
	unsigned tries, i, n;
	uint16_t base;
	int fds[BLOCK];

	for (tries = 0; tries < 200; tries++) {
		base = (uint16_t)(20000 + 2 * (rand() % 5000));
		for (n = 0; n < BLOCK; n++) {
			fds[n] = bind_udp(AF_INET, (uint16_t)(base + n));
			if (fds[n] < 0)
				break;
		}
		for (i = 0; i < n; i++)
			close(fds[i]);
		if (n == BLOCK)
			return base;
	}
	fail_msg("no free port block");
	return 0;
}

static uint16_t local_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void take_ok(struct portpool *pp, uint16_t *port, int fds[2])
{
	assert_int_equal(portpool_take(pp, fds, port), 0);
	assert_int_equal(*port % 2, 0);
	assert_int_equal(local_port(fds[0]), *port);
	assert_int_equal(local_port(fds[1]), *port + 1);
}

static void put(struct portpool *pp, uint16_t port, int fds[2])
{
	close(fds[0]);
	close(fds[1]);
	portpool_put(pp, port);
}

static void test_pairs_even_odd(void **state)
{
	uint16_t base = free_block(), port;
	struct portpool *pp;
	int fds[2];

	/* An odd start rounds up to the next even port. */
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, base + 1, base + 6), 0);
	assert_int_equal(portpool_pairs(pp), 2);
	take_ok(pp, &port, fds);
	assert_int_equal(port, base + 2);
	assert_int_equal(portpool_used(pp), 1);
	put(pp, port, fds);
	assert_int_equal(portpool_used(pp), 0);
	portpool_free(pp);
}

static void test_exhaustion_and_reuse(void **state)
{
	uint16_t base = free_block(), ports[3], port;
	struct portpool *pp;
	int fds[3][2], f[2];

	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, base, base + 5), 0);
	assert_int_equal(portpool_pairs(pp), 3);
	take_ok(pp, &ports[0], fds[0]);
	take_ok(pp, &ports[1], fds[1]);
	take_ok(pp, &ports[2], fds[2]);
	/* Round robin from the start of the range. */
	assert_int_equal(ports[0], base);
	assert_int_equal(ports[1], base + 2);
	assert_int_equal(ports[2], base + 4);
	assert_int_equal(portpool_take(pp, f, &port), ENOSPC);
	assert_int_equal(portpool_used(pp), 3);

	/* The only free pair is the one given back. */
	put(pp, ports[1], fds[1]);
	take_ok(pp, &port, f);
	assert_int_equal(port, base + 2);
	assert_int_equal(portpool_take(pp, fds[1], &port), ENOSPC);

	/* Putting back a port twice or a foreign one changes nothing. */
	put(pp, ports[0], fds[0]);
	portpool_put(pp, ports[0]);
	portpool_put(pp, base + 1);
	portpool_put(pp, (uint16_t)(base + 100));
	assert_int_equal(portpool_used(pp), 2);
	put(pp, base + 2, f);
	put(pp, ports[2], fds[2]);
	assert_int_equal(portpool_used(pp), 0);
	portpool_free(pp);
}

static void test_round_robin_delays_reuse(void **state)
{
	uint16_t base = free_block(), a, b;
	struct portpool *pp;
	int fa[2], fb[2];

	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, base, base + 7), 0);
	take_ok(pp, &a, fa);
	put(pp, a, fa);
	/* A pair just freed is not the next one handed out. */
	take_ok(pp, &b, fb);
	assert_int_not_equal(a, b);
	put(pp, b, fb);
	portpool_free(pp);
}

static void test_busy_port_skipped(void **state)
{
	uint16_t base = free_block(), port;
	struct portpool *pp;
	int busy, fds[2];

	/* Someone else holds the RTCP port of the first pair. */
	busy = bind_udp(AF_INET, (uint16_t)(base + 1));
	assert_true(busy >= 0);
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, base, base + 3), 0);
	take_ok(pp, &port, fds);
	assert_int_equal(port, base + 2);
	/* And the pair it spoiled is not counted as taken. */
	assert_int_equal(portpool_used(pp), 1);
	assert_int_equal(portpool_take(pp, fds, &port), ENOSPC);
	close(busy);
	take_ok(pp, &port, fds);
	assert_int_equal(port, base);
	portpool_free(pp);
	close(fds[0]);
	close(fds[1]);
}

static void test_set_range(void **state)
{
	uint16_t base = free_block(), old, port;
	struct portpool *pp;
	int fo[2], fn[2];

	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, base, base + 3), 0);
	take_ok(pp, &old, fo);
	assert_int_equal(old, base);

	assert_int_equal(portpool_set_range(pp, base + 8, base + 11), 0);
	assert_int_equal(portpool_pairs(pp), 2);
	assert_int_equal(portpool_used(pp), 0);
	take_ok(pp, &port, fn);
	assert_int_equal(port, base + 8);
	/* The live pair of the old range keeps its sockets; giving it back
	 * does not disturb the new range's count. */
	assert_int_equal(local_port(fo[0]), old);
	put(pp, old, fo);
	assert_int_equal(portpool_used(pp), 1);

	/* Back to a range that holds a live pair: it is skipped while its
	 * sockets are open. */
	assert_int_equal(portpool_set_range(pp, base + 8, base + 9), 0);
	assert_int_equal(portpool_take(pp, fo, &port), ENOSPC);
	put(pp, base + 8, fn);
	take_ok(pp, &port, fn);
	assert_int_equal(port, base + 8);
	put(pp, port, fn);

	/* A bad range leaves the current one in place. */
	assert_int_equal(portpool_set_range(pp, base + 9, base + 9), EINVAL);
	assert_int_equal(portpool_pairs(pp), 1);
	portpool_free(pp);
}

static void test_bad_arguments(void **state)
{
	struct sockaddr_un un;
	struct portpool *pp = NULL;

	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, 0, 100), EINVAL);
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, 5002, 5000), EINVAL);
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, 5000, 5000), EINVAL);
	/* 5001-5002: the only even port has no odd one above it. */
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, 5001, 5002), EINVAL);
	assert_int_equal(portpool_alloc(&pp, NULL, 5000, 5001), EINVAL);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&un, 5000, 5001), EAFNOSUPPORT);
	assert_null(pp);
	/* The top of the port space. */
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo4, 65534, 65535), 0);
	assert_int_equal(portpool_pairs(pp), 1);
	portpool_free(pp);
}

static void test_ipv6(void **state)
{
	struct sockaddr_in6 lo6;
	struct portpool *pp;
	uint16_t base = free_block(), port;
	int probe, fds[2];

	probe = bind_udp(AF_INET6, (uint16_t)(base + 10));
	if (probe < 0)
		skip();
	close(probe);
	memset(&lo6, 0, sizeof(lo6));
	lo6.sin6_family = AF_INET6;
	lo6.sin6_addr = in6addr_loopback;
	assert_int_equal(portpool_alloc(&pp, (struct sockaddr *)&lo6, base + 10, base + 13), 0);
	assert_int_equal(portpool_family(pp), AF_INET6);
	take_ok(pp, &port, fds);
	assert_int_equal(port, base + 10);
	put(pp, port, fds);
	portpool_free(pp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pairs_even_odd),
		cmocka_unit_test(test_exhaustion_and_reuse),
		cmocka_unit_test(test_round_robin_delays_reuse),
		cmocka_unit_test(test_busy_port_skipped),
		cmocka_unit_test(test_set_range),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_ipv6),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	memset(&lo4, 0, sizeof(lo4));
	lo4.sin_family = AF_INET;
	lo4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
