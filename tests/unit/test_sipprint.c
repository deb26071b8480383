/*
 * test_sipprint.c - unit tests of src/sip/print.c: responses checked byte
 * for byte, reason phrases, argument checks and the deterministic To-tag.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/msg.h"
#include "sip/print.h"

static struct sip_msg req;

static void decode(struct sip_msg *m, const char *s)
{
	const char *why = NULL;

	if (sip_msg_decode(m, s, strlen(s), false, &why) != SIP_DECODE_OK)
		fail_msg("test message does not decode: %s", why ? why : "");
}

static const char reg[] =
	"REGISTER sip:pbx.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: \"Alice\" <sip:1001@pbx.example.com>\r\n"
	"From: \"Alice\" <sip:1001@pbx.example.com>;tag=456248\r\n"
	"Call-ID: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1826 REGISTER\r\n"
	"Contact: <sip:1001@192.0.2.10:5060>\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static void test_response_exact(void **state)
{
	struct sbuf sb;

	(void)state;
	decode(&req, reg);
	sbuf_init(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, "a1b2c3",
					    "Contact: <sip:1001@192.0.2.10:5060>;expires=3600\r\n"
					    "Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n",
					    NULL, NULL), 0);
	assert_string_equal(sbuf_cstr(&sb),
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
		"From: \"Alice\" <sip:1001@pbx.example.com>;tag=456248\r\n"
		"To: \"Alice\" <sip:1001@pbx.example.com>;tag=a1b2c3\r\n"
		"Call-ID: 843817637684230@998sdasdh09\r\n"
		"CSeq: 1826 REGISTER\r\n"
		"Contact: <sip:1001@192.0.2.10:5060>;expires=3600\r\n"
		"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
		"Server: KubeVox\r\n"
		"Content-Length: 0\r\n"
		"\r\n");
	/* the response is itself a valid message */
	{
		static struct sip_msg resp;
		const char *why;

		assert_int_equal(sip_msg_decode(&resp, sb.p, sb.len, true, &why),
				 SIP_DECODE_OK);
		assert_int_equal(resp.scode, 200);
		assert_true(pl_eq_str(&resp.to.tag, "a1b2c3"));
		assert_true(pl_eq_str(&resp.via.branch, "z9hG4bK776asdhds"));
		assert_int_equal(resp.len, sb.len);
	}
	sbuf_free(&sb);
}

static void test_response_vias_body(void **state)
{
	static const char inv[] =
		"INVITE sip:1002@pbx.example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, SIP/2.0/TCP p2.example.com;branch=z9hG4bKp2\r\n"
		"v: SIP/2.0/UDP 192.0.2.10:5060\r\n"
		"  ;branch=z9hG4bK74bf9;received=192.0.2.99\r\n"
		"From: <sip:1001@pbx.example.com>;tag=9fxced76sl\r\n"
		"t: <sip:1002@pbx.example.com>;tag=existing\r\n"
		"i: 3848276298220188511@192.0.2.10\r\n"
		"CSeq: 0001\r\n"
		" INVITE\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	struct pl body = PL("v=0\r\n");
	struct sbuf sb;

	(void)state;
	decode(&req, inv);
	sbuf_init(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 486, "Busy Now", "ignored",
					    NULL, "application/sdp", &body), 0);
	/* Via lines in order and as written; To keeps its own tag; CSeq is
	 * reprinted canonically */
	assert_string_equal(sbuf_cstr(&sb),
		"SIP/2.0 486 Busy Now\r\n"
		"Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1, SIP/2.0/TCP p2.example.com;branch=z9hG4bKp2\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5060\r\n"
		"  ;branch=z9hG4bK74bf9;received=192.0.2.99\r\n"
		"From: <sip:1001@pbx.example.com>;tag=9fxced76sl\r\n"
		"To: <sip:1002@pbx.example.com>;tag=existing\r\n"
		"Call-ID: 3848276298220188511@192.0.2.10\r\n"
		"CSeq: 1 INVITE\r\n"
		"Server: KubeVox\r\n"
		"Content-Type: application/sdp\r\n"
		"Content-Length: 5\r\n"
		"\r\n"
		"v=0\r\n");

	/* a body without a type gets no Content-Type; appends to sb */
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, NULL, NULL,
					    NULL, &body), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "\r\n\r\nv=0\r\nSIP/2.0 200 OK\r\n"));
	assert_null(strstr(strstr(sb.p, "SIP/2.0 200 OK"), "Content-Type"));
	assert_non_null(strstr(strstr(sb.p, "SIP/2.0 200 OK"), "Content-Length: 5\r\n\r\nv=0\r\n"));

	/* an empty body is no body */
	sbuf_reset(&sb);
	body.l = 0;
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, NULL, NULL,
					    "application/sdp", &body), 0);
	assert_null(strstr(sbuf_cstr(&sb), "Content-Type"));
	assert_non_null(strstr(sbuf_cstr(&sb), "Content-Length: 0\r\n\r\n"));
	sbuf_free(&sb);
}

static void test_totag_rules(void **state)
{
	struct sbuf sb;

	(void)state;
	decode(&req, reg);
	sbuf_init(&sb);
	/* no tag on 100 Trying */
	assert_int_equal(sip_print_response(&sb, &req, 100, NULL, "x", NULL, NULL, NULL), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "SIP/2.0 100 Trying\r\n"));
	assert_non_null(strstr(sbuf_cstr(&sb), "To: \"Alice\" <sip:1001@pbx.example.com>\r\n"));
	/* nor without one given */
	sbuf_reset(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 180, NULL, NULL, NULL, NULL, NULL), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "To: \"Alice\" <sip:1001@pbx.example.com>\r\n"));
	sbuf_reset(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 180, NULL, "", NULL, NULL, NULL), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "To: \"Alice\" <sip:1001@pbx.example.com>\r\n"));
	sbuf_reset(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 101, NULL, "t1", NULL, NULL, NULL), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "<sip:1001@pbx.example.com>;tag=t1\r\n"));
	/* addr-spec To: the tag is a header param after the URI */
	decode(&req, "OPTIONS sip:b@example.com SIP/2.0\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
	       "From: sip:a@example.com;tag=f\r\n"
	       "To: sip:b@example.com\r\n"
	       "Call-ID: c@x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	sbuf_reset(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, "t2", NULL, NULL, NULL), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "\r\nTo: sip:b@example.com;tag=t2\r\n"));
	sbuf_free(&sb);
}

static void test_print_errors(void **state)
{
	static struct sip_msg resp;
	struct sbuf sb;

	(void)state;
	decode(&req, reg);
	decode(&resp, "SIP/2.0 200 OK\r\n"
	       "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
	       "From: <sip:a@example.com>;tag=f\r\n"
	       "To: <sip:b@example.com>;tag=t\r\n"
	       "Call-ID: c@x\r\nCSeq: 1 OPTIONS\r\n\r\n");
	sbuf_init(&sb);
	assert_int_equal(sip_print_response(&sb, &resp, 200, NULL, NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, NULL, 200, NULL, NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(NULL, &req, 200, NULL, NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, &req, 99, NULL, NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, &req, 700, NULL, NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, &req, 200, "OK\r\nX: y", NULL, NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, "t\r\nX: y", NULL, NULL, NULL), EINVAL);
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, NULL, NULL, "a/b\nX: y", NULL), EINVAL);
	assert_int_equal(sb.len, 0);
	/* an earlier allocation failure is reported, not hidden */
	sb.err = true;
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, NULL, NULL, NULL, NULL), ENOMEM);
	sbuf_free(&sb);
}

static void test_print_for_bad_request(void **state)
{
	static const char bad[] =
		"INVITE  sip:b@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbad\r\n"
		"From: Bell, A <sip:a@example.com>;tag=f\r\n"
		"To: <sip:b@example.com>\r\n"
		"Call-ID: c@x\r\n"
		"CSeq: 7 INVITE\r\n"
		"\r\n";
	const char *why;
	struct sbuf sb;

	(void)state;
	assert_int_equal(sip_msg_decode(&req, bad, strlen(bad), false, &why),
			 SIP_DECODE_BAD);
	sbuf_init(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 400, why, "tt", NULL, NULL, NULL), 0);
	assert_string_equal(sbuf_cstr(&sb),
		"SIP/2.0 400 Malformed request line\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKbad\r\n"
		"From: Bell, A <sip:a@example.com>;tag=f\r\n"
		"To: <sip:b@example.com>;tag=tt\r\n"
		"Call-ID: c@x\r\n"
		"CSeq: 7 INVITE\r\n"
		"Server: KubeVox\r\n"
		"Content-Length: 0\r\n"
		"\r\n");
	/* without Call-ID and CSeq the lines are left out, not invented */
	{
		static const char s[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\r\n";

		assert_int_equal(sip_msg_decode(&req, s, sizeof(s) - 1, false, &why),
				 SIP_DECODE_BAD);
	}
	sbuf_reset(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 400, why, "tt", NULL, NULL, NULL), 0);
	assert_string_equal(sbuf_cstr(&sb),
		"SIP/2.0 400 Missing From header\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
		"Server: KubeVox\r\n"
		"Content-Length: 0\r\n"
		"\r\n");
	sbuf_free(&sb);
}

static void test_reason(void **state)
{
	static const struct {
		uint16_t code;
		const char *text;
	} t[] = {
		{100, "Trying"}, {180, "Ringing"}, {181, "Call Is Being Forwarded"},
		{182, "Queued"}, {183, "Session Progress"}, {200, "OK"},
		{202, "Accepted"}, {300, "Multiple Choices"},
		{301, "Moved Permanently"}, {302, "Moved Temporarily"},
		{305, "Use Proxy"}, {380, "Alternative Service"},
		{400, "Bad Request"}, {401, "Unauthorized"}, {402, "Payment Required"},
		{403, "Forbidden"}, {404, "Not Found"}, {405, "Method Not Allowed"},
		{406, "Not Acceptable"}, {407, "Proxy Authentication Required"},
		{408, "Request Timeout"}, {410, "Gone"},
		{413, "Request Entity Too Large"}, {414, "Request-URI Too Long"},
		{415, "Unsupported Media Type"}, {416, "Unsupported URI Scheme"},
		{420, "Bad Extension"}, {421, "Extension Required"},
		{422, "Session Interval Too Small"}, {423, "Interval Too Brief"},
		{429, "Provide Referrer Identity"},
		{480, "Temporarily Unavailable"},
		{481, "Call/Transaction Does Not Exist"}, {482, "Loop Detected"},
		{483, "Too Many Hops"}, {484, "Address Incomplete"},
		{485, "Ambiguous"}, {486, "Busy Here"}, {487, "Request Terminated"},
		{488, "Not Acceptable Here"}, {489, "Bad Event"},
		{491, "Request Pending"}, {493, "Undecipherable"},
		{494, "Security Agreement Required"},
		{500, "Server Internal Error"}, {501, "Not Implemented"},
		{502, "Bad Gateway"}, {503, "Service Unavailable"},
		{504, "Server Time-out"}, {505, "Version Not Supported"},
		{513, "Message Too Large"}, {580, "Precondition Failure"},
		{600, "Busy Everywhere"}, {603, "Decline"},
		{604, "Does Not Exist Anywhere"}, {606, "Not Acceptable"},
		{608, "Rejected"},
		{0, "Unknown"}, {204, "No Notification"}, {299, "Unknown"}, {499, "Unknown"},
		{699, "Unknown"}, {65535, "Unknown"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(sip_reason(t[i].code), t[i].text))
			fail_msg("sip_reason(%u) = %s", t[i].code, sip_reason(t[i].code));
	}
	assert_string_equal(sip_server_name, "KubeVox");
}

/* The cluster's key, as every replica derives it from the secret. */
static struct hash_key tag_key;

/* RFC 3261 §12.1.1: 1xx (but 100) and 2xx to an INVITE carry its
 * Record-Route values, in order; a failure does not. */
static void test_record_route(void **state)
{
	static const char inv[] =
		"INVITE sip:1002@pbx.example.com SIP/2.0\r\n"
		"Record-Route: <sip:192.0.2.1;lr>, <sip:192.0.2.2;lr>\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKp1\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
		"Record-Route: <sip:192.0.2.3;lr>\r\n"
		"To: <sip:1002@pbx.example.com>\r\n"
		"From: <sip:1001@pbx.example.com>;tag=456248\r\n"
		"Call-ID: rr@998sdasdh09\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: <sip:1001@192.0.2.10:5060>\r\n"
		"Content-Length: 0\r\n"
		"\r\n";
	static const char rr[] =
		"Record-Route: <sip:192.0.2.1;lr>, <sip:192.0.2.2;lr>\r\n"
		"Record-Route: <sip:192.0.2.3;lr>\r\n";
	static const unsigned with[] = { 180, 200 }, without[] = { 100, 486 };
	struct sbuf sb;

	(void)state;
	decode(&req, inv);
	for (unsigned i = 0; i < 2; i++) {
		sbuf_init(&sb);
		assert_int_equal(sip_print_response(&sb, &req, (uint16_t)with[i], NULL,
						    "t1", NULL, NULL, NULL), 0);
		assert_non_null(strstr(sbuf_cstr(&sb), "CSeq: 1 INVITE\r\n" "Record-Route: "
				       "<sip:192.0.2.1;lr>, <sip:192.0.2.2;lr>\r\n"));
		assert_non_null(strstr(sbuf_cstr(&sb), rr));
		sbuf_free(&sb);
		sbuf_init(&sb);
		assert_int_equal(sip_print_response(&sb, &req, (uint16_t)without[i], NULL,
						    "t1", NULL, NULL, NULL), 0);
		assert_null(strstr(sbuf_cstr(&sb), "Record-Route"));
		sbuf_free(&sb);
	}
	/* Not for a REGISTER. */
	decode(&req, reg);
	sbuf_init(&sb);
	assert_int_equal(sip_print_response(&sb, &req, 200, NULL, "t1", NULL, NULL, NULL), 0);
	assert_null(strstr(sbuf_cstr(&sb), "Record-Route"));
	sbuf_free(&sb);
}

static void totag_of(const char *s, char *tag)
{
	static struct sip_msg m;
	char *copy = strdup(s);

	assert_non_null(copy);
	decode(&m, copy);
	sip_totag(&tag_key, &m, tag, 17);
	free(copy);
}

#define TT(callid, ftag, branch, cseq) \
	"INVITE sip:b@example.com SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 192.0.2.1" branch "\r\n" \
	"From: <sip:a@example.com>" ftag "\r\n" \
	"To: <sip:b@example.com>\r\n" \
	"Call-ID: " callid "\r\n" \
	"CSeq: " cseq " INVITE\r\n\r\n"

static void test_totag(void **state)
{
	char a[17], b[17], small[8];

	(void)state;
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK1", "1"), a);
	assert_int_equal(strlen(a), 16);
	assert_int_equal(strspn(a, "0123456789abcdef"), 16);
	/* a retransmission, even with other bytes around it, gets the same */
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK1;rport", "1"), b);
	assert_string_equal(a, b);
	totag_of("\r\n" TT("c1@x", ";tag=f1", ";branch=z9hG4bK1", "2"), b);
	assert_string_equal(a, b);
	/* any of the three inputs changes it */
	totag_of(TT("c2@x", ";tag=f1", ";branch=z9hG4bK1", "1"), b);
	assert_string_not_equal(a, b);
	totag_of(TT("c1@x", ";tag=f2", ";branch=z9hG4bK1", "1"), b);
	assert_string_not_equal(a, b);
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK2", "1"), b);
	assert_string_not_equal(a, b);
	/* field boundaries count: ("c1@x","f1") != ("c1@xf","1") */
	totag_of(TT("c1@xf", ";tag=1", ";branch=z9hG4bK1", "1"), b);
	assert_string_not_equal(a, b);
	/* RFC 2543 requests (no magic cookie) are told apart by CSeq */
	totag_of(TT("c1@x", "", "", "1"), a);
	totag_of(TT("c1@x", "", "", "2"), b);
	assert_string_not_equal(a, b);
	totag_of(TT("c1@x", "", ";branch=old1", "1"), a);
	totag_of(TT("c1@x", "", ";branch=old1", "1"), b);
	assert_string_equal(a, b);

	/* another key (another cluster) gives another tag; the same secret
	 * gives the same on every replica */
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK1", "1"), a);
	hash_key_from(&tag_key, "other-cluster", 13);
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK1", "1"), b);
	assert_string_not_equal(a, b);
	memset(&tag_key, 0, sizeof(tag_key));
	totag_of(TT("c1@x", ";tag=f1", ";branch=z9hG4bK1", "1"), b);
	assert_string_equal(a, b);

	/* buffer sizes */
	decode(&req, reg);
	sip_totag(&tag_key, &req, a, sizeof(a));
	sip_totag(&tag_key, &req, small, sizeof(small));
	assert_int_equal(strlen(small), 7);
	assert_memory_equal(small, a, 7);
	small[0] = 'z';
	sip_totag(&tag_key, &req, small, 1);
	assert_int_equal(small[0], '\0');
	small[0] = 'z';
	sip_totag(&tag_key, &req, small, 0);
	assert_int_equal(small[0], 'z');
	sip_totag(&tag_key, NULL, small, sizeof(small));
	assert_int_equal(small[0], '\0');
	sip_totag(&tag_key, &req, NULL, 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_exact),
		cmocka_unit_test(test_response_vias_body),
		cmocka_unit_test(test_totag_rules),
		cmocka_unit_test(test_print_errors),
		cmocka_unit_test(test_print_for_bad_request),
		cmocka_unit_test(test_reason),
		cmocka_unit_test(test_totag),
		cmocka_unit_test(test_record_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
