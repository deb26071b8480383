/*
 * test_sipsa.c - the SIP layer's socket address helpers (sip/sa.h):
 * literal hosts from messages, equality (with and without the port),
 * wildcard, ports, packing and printing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "sip/sa.h"

static struct sockaddr_storage addr(const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	struct pl h = pl_from_str(host);

	memset(&ss, 0, sizeof(ss));
	assert_int_equal(sip_sa_from_host(&ss, &h, port), 0);
	return ss;
}

static void test_from_host(void **state)
{
	struct sockaddr_storage ss = addr("192.0.2.7", 5062);
	const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *in6;
	struct pl h;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	(void)state;
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 5062);
	assert_int_equal(sip_sa_len((struct sockaddr *)&ss), sizeof(struct sockaddr_in));
	sip_sa_ip_port((struct sockaddr *)&ss, ip, sizeof(ip), &port);
	assert_string_equal(ip, "192.0.2.7");
	assert_int_equal(port, 5062);

	ss = addr("2001:db8::1", 5060);
	in6 = (const struct sockaddr_in6 *)&ss;
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 5060);
	assert_int_equal(sip_sa_len((struct sockaddr *)&ss), sizeof(struct sockaddr_in6));
	sip_sa_ip_port((struct sockaddr *)&ss, ip, sizeof(ip), &port);
	assert_string_equal(ip, "2001:db8::1");

	/* A host name needs DNS, brackets belong to the URI: neither
	 * converts, and the address is left as it was. */
	const char *bad[] = {"example.com", "[2001:db8::1]", "192.0.2.300", "",
			     "1.2.3.4 ", "0123456789012345678901234567890123456789012345678"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ss = addr("192.0.2.1", 1);
		h = pl_from_str(bad[i]);
		assert_int_equal(sip_sa_from_host(&ss, &h, 5060), EINVAL);
		assert_int_equal(ss.ss_family, AF_INET);
		assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 1);
	}
}

static void test_equal_any_port(void **state)
{
	struct sockaddr_storage a = addr("192.0.2.1", 5060), b = addr("192.0.2.1", 5060);
	struct sockaddr_storage c = addr("::", 5060), d = addr("0.0.0.0", 0);
	struct sockaddr_storage none;

	(void)state;
	assert_true(sip_sa_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	sip_sa_set_port(&b, 5061);
	assert_false(sip_sa_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	b = addr("192.0.2.2", 5060);
	assert_false(sip_sa_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_false(sip_sa_equal((struct sockaddr *)&a, (struct sockaddr *)&c));
	b = addr("2001:db8::1", 5060);
	assert_true(sip_sa_equal((struct sockaddr *)&b, (struct sockaddr *)&b));
	assert_false(sip_sa_equal((struct sockaddr *)&b, (struct sockaddr *)&c));

	assert_false(sip_sa_is_any((struct sockaddr *)&a));
	assert_true(sip_sa_is_any((struct sockaddr *)&c));
	assert_true(sip_sa_is_any((struct sockaddr *)&d));
	assert_false(sip_sa_is_any((struct sockaddr *)&b));

	memset(&none, 0, sizeof(none));
	none.ss_family = AF_UNIX;
	assert_int_equal(sip_sa_len((struct sockaddr *)&none), 0);
	assert_false(sip_sa_equal((struct sockaddr *)&none, (struct sockaddr *)&none));
	assert_false(sip_sa_addr_equal((struct sockaddr *)&none, (struct sockaddr *)&none));
	sip_sa_set_port(&none, 5060);
	assert_int_equal(none.ss_family, AF_UNIX);
	assert_int_equal(sip_sa_port((struct sockaddr *)&none), 0);
}

/* The address a flow arrived on is compared without its port: which
 * listener sends from it is a question of the port. */
static void test_addr_equal_and_port(void **state)
{
	struct sockaddr_storage a = addr("192.0.2.1", 5060), b = addr("192.0.2.1", 5061);
	struct sockaddr_storage c = addr("2001:db8::1", 5060), d = addr("2001:db8::1", 6000);
	struct sockaddr_storage e = addr("::ffff:192.0.2.1", 5060);

	(void)state;
	assert_true(sip_sa_addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_false(sip_sa_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	assert_true(sip_sa_addr_equal((struct sockaddr *)&c, (struct sockaddr *)&d));
	assert_false(sip_sa_addr_equal((struct sockaddr *)&a, (struct sockaddr *)&c));
	/* A v4-mapped address is another family, not the same address. */
	assert_false(sip_sa_addr_equal((struct sockaddr *)&a, (struct sockaddr *)&e));
	b = addr("192.0.2.2", 5060);
	assert_false(sip_sa_addr_equal((struct sockaddr *)&a, (struct sockaddr *)&b));
	d = addr("2001:db8::2", 5060);
	assert_false(sip_sa_addr_equal((struct sockaddr *)&c, (struct sockaddr *)&d));

	assert_int_equal(sip_sa_port((struct sockaddr *)&a), 5060);
	assert_int_equal(sip_sa_port((struct sockaddr *)&d), 5060);
	sip_sa_set_port(&d, 65535);
	assert_int_equal(sip_sa_port((struct sockaddr *)&d), 65535);
}

static void test_host_is(void **state)
{
	struct sockaddr_storage v4 = addr("192.0.2.1", 5060), v6 = addr("2001:db8::1", 5060);
	struct pl h;

	(void)state;
	h = pl_from_str("192.0.2.1");
	assert_true(sip_sa_host_is(&h, (struct sockaddr *)&v4));
	assert_false(sip_sa_host_is(&h, (struct sockaddr *)&v6));
	h = pl_from_str("192.0.2.10");
	assert_false(sip_sa_host_is(&h, (struct sockaddr *)&v4));
	h = pl_from_str("2001:DB8:0::1");
	assert_true(sip_sa_host_is(&h, (struct sockaddr *)&v6));
	h = pl_from_str("pbx.example.com");
	assert_false(sip_sa_host_is(&h, (struct sockaddr *)&v4));
}

static void test_str(void **state)
{
	struct sockaddr_storage ss = addr("2001:db8::1", 5061), none;
	char buf[64], small[8];

	(void)state;
	assert_string_equal(sip_sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
			    "[2001:db8::1]:5061");
	ss = addr("192.0.2.1", 5060);
	assert_string_equal(sip_sockaddr_str((struct sockaddr *)&ss, small, sizeof(small)),
			    "192.0.2");
	memset(&none, 0, sizeof(none));
	none.ss_family = AF_UNIX;
	assert_string_equal(sip_sockaddr_str((struct sockaddr *)&none, buf, sizeof(buf)),
			    "unknown");
	buf[0] = 'x';
	sip_sockaddr_str((struct sockaddr *)&ss, buf, 0);
	assert_int_equal(buf[0], 'x');
}

/* Packed and unpacked, an address is the same; another family packs to
 * none. */
static void test_pack(void **state)
{
	struct sockaddr_storage v4 = addr("192.0.2.1", 5060), v6 = addr("2001:db8::1", 5061);
	struct sockaddr_storage back, none;
	union sip_sa u;

	(void)state;
	assert_true(sizeof(u) < sizeof(back));
	sip_sa_pack(&u, &v4);
	memset(&back, 0xff, sizeof(back));
	sip_sa_unpack(&back, &u);
	assert_memory_equal(&back, &v4, sizeof(back));
	((struct sockaddr_in6 *)&v6)->sin6_scope_id = 3;
	sip_sa_pack(&u, &v6);
	sip_sa_unpack(&back, &u);
	assert_memory_equal(&back, &v6, sizeof(back));

	memset(&none, 0, sizeof(none));
	none.ss_family = AF_UNIX;
	sip_sa_pack(&u, &none);
	assert_int_equal(u.sa.sa_family, AF_UNSPEC);
	sip_sa_unpack(&back, &u);
	assert_int_equal(back.ss_family, AF_UNSPEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_host),
		cmocka_unit_test(test_equal_any_port),
		cmocka_unit_test(test_addr_equal_and_port),
		cmocka_unit_test(test_pack),
		cmocka_unit_test(test_host_is),
		cmocka_unit_test(test_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
