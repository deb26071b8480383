/*
 * test_xferx.c - pbx/xferx.c's signature of a replica's INVITE with
 * Replaces: what xferx_sign() makes xferx_verify() takes, within the age
 * bound, and nothing else (another secret, another Call-ID or Replaces, a
 * stale or future time, a broken header); a request without the header,
 * without Replaces or not an INVITE is left to the usual authentication.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx/xferx.h"
#include "sip/msg.h"

#define SECRET "kubevox-test-cluster-secret"
#define CALLID "abc123@kubevox"
#define REP    "y-call@phone;to-tag=t1;from-tag=f1"
#define NOW    1800000000ull

static char buf[2048];
static struct sip_msg msg;

/* A request with the given method, Call-ID, Replaces (NULL: none) and
 * more header lines, decoded into msg. */
static void req(const char *method, const char *callid, const char *rep, const char *extra)
{
	const char *why = NULL;
	int n = snprintf(buf, sizeof(buf),
			 "%s sip:1003@127.0.0.2:5060 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx1\r\n"
			 "Max-Forwards: 70\r\n"
			 "From: <sip:1002@127.0.0.1>;tag=a1\r\n"
			 "To: <sip:1003@127.0.0.2>\r\n"
			 "Call-ID: %s\r\n"
			 "CSeq: 1 %s\r\n"
			 "%s%s%s"
			 "%s"
			 "Content-Length: 0\r\n\r\n",
			 method, callid, method, rep ? "Replaces: " : "", rep ? rep : "",
			 rep ? "\r\n" : "", extra);

	assert_true(n > 0 && (size_t)n < sizeof(buf));
	assert_int_equal(sip_msg_decode(&msg, buf, (size_t)n, false, &why), 0);
}

static void signed_req(const char *method, const char *callid, const char *rep,
		       const char *secret, uint64_t ts)
{
	char hdr[200];

	assert_int_equal(xferx_sign(secret, CALLID, REP, ts, hdr, sizeof(hdr)), 0);
	req(method, callid, rep, hdr);
}

static void test_good(void **state)
{
	(void)state;
	signed_req("INVITE", CALLID, REP, SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_OK);
	/* replicas' clocks differ a little, either way */
	assert_int_equal(xferx_verify(SECRET, &msg, NOW + XFERX_MAX_AGE_S), XFERX_OK);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW - XFERX_MAX_AGE_S), XFERX_OK);
}

static void test_stale_or_future(void **state)
{
	(void)state;
	signed_req("INVITE", CALLID, REP, SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW + XFERX_MAX_AGE_S + 1), XFERX_BAD);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW - XFERX_MAX_AGE_S - 1), XFERX_BAD);
}

static void test_other_secret_or_fields(void **state)
{
	(void)state;
	signed_req("INVITE", CALLID, REP, "another-cluster", NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_BAD);
	signed_req("INVITE", "other@kubevox", REP, SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_BAD);
	signed_req("INVITE", CALLID, "y-call@phone;to-tag=t1;from-tag=f2", SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_BAD);
}

static void test_broken_header(void **state)
{
	static const char *bad[] = {
		XFERX_AUTH_HDR ": \r\n",
		XFERX_AUTH_HDR ": ts=;mac=00\r\n",
		XFERX_AUTH_HDR ": ts=1800000000\r\n",
		XFERX_AUTH_HDR ": ts=1800000000;mac=\r\n",
		XFERX_AUTH_HDR ": ts=1800000000;mac=12zz\r\n",
		XFERX_AUTH_HDR ": mac=0123;ts=1800000000\r\n",
		XFERX_AUTH_HDR ": ts=99999999999999999999999;mac=01\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req("INVITE", CALLID, REP, bad[i]);
		assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_BAD);
	}
}

static void test_unsigned(void **state)
{
	(void)state;
	req("INVITE", CALLID, REP, "");
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_UNSIGNED);
	/* the header alone, no Replaces: not a transfer's INVITE */
	signed_req("INVITE", CALLID, NULL, SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_UNSIGNED);
	signed_req("OPTIONS", CALLID, REP, SECRET, NOW);
	assert_int_equal(xferx_verify(SECRET, &msg, NOW), XFERX_UNSIGNED);
}

static void test_sign_space(void **state)
{
	char small[20];

	(void)state;
	assert_int_equal(xferx_sign(SECRET, CALLID, REP, NOW, small, sizeof(small)), ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_stale_or_future),
		cmocka_unit_test(test_other_secret_or_fields),
		cmocka_unit_test(test_broken_header),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_sign_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
