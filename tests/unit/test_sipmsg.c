/*
 * test_sipmsg.c - unit tests of the SIP parser (src/sip/msg.c, uri.c):
 * framing on datagrams and streams, header lines, eager headers, every
 * rejection path, the value parsers and helpers, URI comparison, rebase,
 * and the RFC 4475 / RFC 5118 torture messages of the fuzz seed corpus.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sip/lex.h"
#include "sip/msg.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif
#define CORPUS KV_SOURCE_DIR "/tests/fuzz/corpus/sipmsg/"

static struct sip_msg msg;   /* ~4 KiB: keep it off the test stack */

static void assert_pl(const struct pl *pl, const char *s)
{
	if (!pl_eq_str(pl, s))
		fail_msg("slice \"%.*s\" != \"%s\"", (int)pl->l,
			 pl->p ? pl->p : "", s);
}

static int dec(const char *s, bool stream, const char **why)
{
	return sip_msg_decode(&msg, s, strlen(s), stream, why);
}

/* Decode s as a datagram and expect SIP_DECODE_BAD with this reason. */
static void expect_bad(const char *s, const char *reason)
{
	const char *why = NULL;
	int r = dec(s, false, &why);

	if (r != SIP_DECODE_BAD || !why || strcmp(why, reason))
		fail_msg("expected BAD \"%s\", got %d \"%s\" for:\n%s", reason, r,
			 why ? why : "(null)", s);
}

static void expect_ok(const char *s)
{
	const char *why = NULL;
	int r = dec(s, false, &why);

	if (r != SIP_DECODE_OK)
		fail_msg("expected OK, got %d \"%s\" for:\n%s", r,
			 why ? why : "(null)", s);
}

/* Read a corpus file into an exactly sized malloc'ed buffer. */
static char *load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s%s", CORPUS, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int dec_file(const char *name, const char **why, char **bufp)
{
	size_t len;
	char *buf = load(name, &len);
	int r = sip_msg_decode(&msg, buf, len, false, why);

	*bufp = buf;
	return r;
}

#define REG_HEAD \
	"REGISTER sip:pbx.example.com SIP/2.0\r\n" \
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n" \
	"Max-Forwards: 70\r\n" \
	"To: \"Alice\" <sip:1001@pbx.example.com>\r\n" \
	"From: \"Alice\" <sip:1001@pbx.example.com>;tag=456248\r\n" \
	"Call-ID: 843817637684230@998sdasdh09\r\n" \
	"CSeq: 1826 REGISTER\r\n"

static const char reg[] =
	REG_HEAD
	"Contact: <sip:1001@192.0.2.10:5060;transport=udp>;expires=3600\r\n"
	"Supported: path, outbound\r\n"
	"Expires: 3600\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

/* Mandatory headers for a request whose other lines a test varies. */
#define MIN_HDRS(method) \
	"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n" \
	"From: <sip:a@example.com>;tag=f\r\n" \
	"To: <sip:b@example.com>\r\n" \
	"Call-ID: c@x\r\n" \
	"CSeq: 1 " method "\r\n"

static void test_register(void **state)
{
	const struct sip_hdr *h;
	uint32_t exp;

	(void)state;
	expect_ok(reg);
	assert_true(msg.req);
	assert_ptr_equal(msg.buf, reg);
	assert_int_equal(msg.len, strlen(reg));
	assert_pl(&msg.method, "REGISTER");
	assert_true(sip_msg_is_method(&msg, "REGISTER"));
	assert_false(sip_msg_is_method(&msg, "register"));
	assert_pl(&msg.ruri_raw, "sip:pbx.example.com");
	assert_int_equal(msg.ruri.scheme, SIP_URI_SIP);
	assert_pl(&msg.ruri.host, "pbx.example.com");
	assert_int_equal(msg.ruri.user.l, 0);
	assert_int_equal(msg.ruri.port, 0);

	assert_pl(&msg.via.proto, "UDP");
	assert_pl(&msg.via.sentby, "192.0.2.10:5060");
	assert_pl(&msg.via.host, "192.0.2.10");
	assert_int_equal(msg.via.port, 5060);
	assert_false(msg.via.host_ipv6);
	assert_pl(&msg.via.branch, "z9hG4bK776asdhds");
	assert_true(msg.via.rport);
	assert_int_equal(msg.via.rport_val.l, 0);
	assert_pl(&msg.via.params, ";branch=z9hG4bK776asdhds;rport");
	assert_pl(&msg.via.whole,
		  "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport");

	assert_pl(&msg.from.dname, "Alice");
	assert_pl(&msg.from.uri.user, "1001");
	assert_pl(&msg.from.uri.host, "pbx.example.com");
	assert_pl(&msg.from.tag, "456248");
	assert_pl(&msg.from.params, ";tag=456248");
	assert_int_equal(msg.to.tag.l, 0);
	assert_pl(&msg.to.whole, "\"Alice\" <sip:1001@pbx.example.com>");
	assert_pl(&msg.callid, "843817637684230@998sdasdh09");
	assert_int_equal(msg.cseq.num, 1826);
	assert_pl(&msg.cseq.method, "REGISTER");
	assert_int_equal(msg.max_forwards, 70);
	assert_int_equal(msg.clen, 0);
	assert_int_equal(msg.body.l, 0);
	assert_int_equal(msg.hdrc, 10);

	h = sip_msg_hdr(&msg, SIP_HDR_CONTACT);
	assert_non_null(h);
	assert_pl(&h->name, "Contact");
	assert_pl(&h->val, "<sip:1001@192.0.2.10:5060;transport=udp>;expires=3600");
	h = sip_msg_hdr(&msg, SIP_HDR_EXPIRES);
	assert_non_null(h);
	assert_int_equal(sip_delta_seconds(&h->val, &exp), 0);
	assert_int_equal(exp, 3600);
	assert_null(sip_msg_hdr(&msg, SIP_HDR_ROUTE));
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_SUPPORTED, "outbound"));
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_SUPPORTED, "PATH"));
	assert_false(sip_msg_hdr_has_token(&msg, SIP_HDR_SUPPORTED, "gruu"));
	assert_false(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, "path"));
}

static const char sdp[] =
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8\r\n";

static void test_invite_sdp(void **state)
{
	char buf[2048];
	const struct sip_hdr *h;

	(void)state;
	snprintf(buf, sizeof(buf),
		 "INVITE sip:1002@pbx.example.com;transport=tcp SIP/2.0\r\n"
		 "Via: SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK74bf9\r\n"
		 "Max-Forwards: 69\r\n"
		 "From: <sip:1001@pbx.example.com>;tag=9fxced76sl\r\n"
		 "To: Bob <sip:1002@pbx.example.com>\r\n"
		 "Call-ID: 3848276298220188511@192.0.2.10\r\n"
		 "CSeq: 1 INVITE\r\n"
		 "Contact: <sip:1001@192.0.2.10>\r\n"
		 "Content-Type: application/sdp\r\n"
		 "Content-Length: %zu\r\n"
		 "\r\n%s", strlen(sdp), sdp);
	expect_ok(buf);
	assert_pl(&msg.method, "INVITE");
	assert_pl(&msg.ruri.user, "1002");
	assert_pl(&msg.ruri.params, ";transport=tcp");
	assert_pl(&msg.via.proto, "TCP");
	assert_int_equal(msg.via.port, 0);
	assert_false(msg.via.rport);
	assert_pl(&msg.to.dname, "Bob");
	assert_int_equal(msg.clen, (int64_t)strlen(sdp));
	assert_pl(&msg.body, sdp);
	assert_int_equal(msg.len, strlen(buf));
	h = sip_msg_hdr(&msg, SIP_HDR_CONTENT_TYPE);
	assert_non_null(h);
	assert_pl(&h->val, "application/sdp");
}

static void test_response(void **state)
{
	static const char s[] =
		"SIP/2.0 180 Ringing\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport=5062;received=198.51.100.7\r\n"
		"From: <sip:1001@pbx.example.com>;tag=9fxced76sl\r\n"
		"To: <sip:1002@pbx.example.com>;tag=8321234356\r\n"
		"Call-ID: 3848276298220188511@192.0.2.10\r\n"
		"CSeq: 1 INVITE\r\n"
		"Content-Length: 0\r\n"
		"\r\n";

	(void)state;
	expect_ok(s);
	assert_false(msg.req);
	assert_int_equal(msg.scode, 180);
	assert_pl(&msg.reason, "Ringing");
	assert_int_equal(msg.method.l, 0);
	assert_false(sip_msg_is_method(&msg, "INVITE"));
	assert_pl(&msg.to.tag, "8321234356");
	assert_true(msg.via.rport);
	assert_pl(&msg.via.rport_val, "5062");
	assert_pl(&msg.via.received, "198.51.100.7");
	assert_int_equal(msg.max_forwards, -1);

	/* the status line is case-insensitive in its version only */
	expect_ok("sip/2.0 200 OK\r\n" MIN_HDRS("INVITE") "\r\n");
	assert_int_equal(msg.scode, 200);
	/* no reason phrase and no space: liberal */
	expect_ok("SIP/2.0 200\r\n" MIN_HDRS("INVITE") "\r\n");
	assert_int_equal(msg.reason.l, 0);
	/* a response's CSeq method is not compared with anything */
	expect_ok("SIP/2.0 699 Whatever\r\n" MIN_HDRS("FOO") "\r\n");
	assert_int_equal(msg.scode, 699);
}

static void test_compact_and_lookup(void **state)
{
	static const struct {
		const char *name;
		enum sip_hdr_id id;
	} names[] = {
		{"Accept", SIP_HDR_ACCEPT}, {"Allow", SIP_HDR_ALLOW},
		{"Authorization", SIP_HDR_AUTHORIZATION}, {"Call-ID", SIP_HDR_CALL_ID},
		{"Contact", SIP_HDR_CONTACT}, {"Content-Length", SIP_HDR_CONTENT_LENGTH},
		{"Content-Type", SIP_HDR_CONTENT_TYPE}, {"CSeq", SIP_HDR_CSEQ},
		{"Event", SIP_HDR_EVENT}, {"Expires", SIP_HDR_EXPIRES},
		{"From", SIP_HDR_FROM}, {"Max-Forwards", SIP_HDR_MAX_FORWARDS},
		{"Min-Expires", SIP_HDR_MIN_EXPIRES}, {"Path", SIP_HDR_PATH},
		{"Proxy-Authenticate", SIP_HDR_PROXY_AUTHENTICATE},
		{"Proxy-Authorization", SIP_HDR_PROXY_AUTHORIZATION},
		{"Proxy-Require", SIP_HDR_PROXY_REQUIRE},
		{"Record-Route", SIP_HDR_RECORD_ROUTE}, {"Require", SIP_HDR_REQUIRE},
		{"Route", SIP_HDR_ROUTE}, {"Session-Expires", SIP_HDR_SESSION_EXPIRES},
		{"Min-SE", SIP_HDR_MIN_SE}, {"Supported", SIP_HDR_SUPPORTED},
		{"To", SIP_HDR_TO}, {"Unsupported", SIP_HDR_UNSUPPORTED},
		{"User-Agent", SIP_HDR_USER_AGENT}, {"Via", SIP_HDR_VIA},
		{"WWW-Authenticate", SIP_HDR_WWW_AUTHENTICATE},
		{"Content-Encoding", SIP_HDR_CONTENT_ENCODING},
		{"Subject", SIP_HDR_SUBJECT}, {"Refer-To", SIP_HDR_REFER_TO},
		{"c", SIP_HDR_CONTENT_TYPE}, {"e", SIP_HDR_CONTENT_ENCODING},
		{"f", SIP_HDR_FROM}, {"i", SIP_HDR_CALL_ID}, {"k", SIP_HDR_SUPPORTED},
		{"l", SIP_HDR_CONTENT_LENGTH}, {"m", SIP_HDR_CONTACT},
		{"o", SIP_HDR_EVENT}, {"r", SIP_HDR_REFER_TO}, {"s", SIP_HDR_SUBJECT},
		{"t", SIP_HDR_TO}, {"v", SIP_HDR_VIA}, {"x", SIP_HDR_SESSION_EXPIRES},
		{"a", SIP_HDR_OTHER}, {"b", SIP_HDR_OTHER}, {"u", SIP_HDR_OTHER},
		{"Allow-Events", SIP_HDR_OTHER}, {"X-Foo", SIP_HDR_OTHER},
		{"Call-IDs", SIP_HDR_OTHER}, {"Vi", SIP_HDR_OTHER},
		{"C%6Fntact", SIP_HDR_OTHER}, {"", SIP_HDR_OTHER},
	};
	char up[64];
	struct pl pl;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pl = pl_from_str(names[i].name);
		if (sip_hdr_lookup(&pl) != names[i].id)
			fail_msg("lookup(%s)", names[i].name);
		/* names are case-insensitive */
		for (size_t k = 0; k <= strlen(names[i].name); k++)
			up[k] = (char)((k % 2) ? names[i].name[k] :
				       (names[i].name[k] >= 'a' && names[i].name[k] <= 'z') ?
				       names[i].name[k] - 32 : names[i].name[k]);
		pl = pl_from_str(up);
		if (sip_hdr_lookup(&pl) != names[i].id)
			fail_msg("lookup(%s)", up);
	}
	assert_int_equal(sip_hdr_lookup(NULL), SIP_HDR_OTHER);

	expect_ok("OPTIONS sip:a@example.com SIP/2.0\r\n"
		  "v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKc\r\n"
		  "f: <sip:a@example.com>;tag=f\r\n"
		  "t: <sip:b@example.com>\r\n"
		  "i: c@x\r\n"
		  "CSEQ: 1 OPTIONS\r\n"
		  "k: timer\r\n"
		  "u: presence\r\n"
		  "Allow-Events: dialog\r\n"
		  "m: <sip:a@192.0.2.1>\r\n"
		  "l: 0\r\n"
		  "\r\n");
	assert_pl(&msg.callid, "c@x");
	assert_pl(&msg.from.tag, "f");
	assert_int_equal(msg.clen, 0);
	assert_non_null(sip_msg_hdr(&msg, SIP_HDR_CONTACT));
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_SUPPORTED, "timer"));
	/* by name: long and compact forms find each other */
	assert_pl(&sip_msg_hdr_name(&msg, "call-id")->val, "c@x");
	assert_pl(&sip_msg_hdr_name(&msg, "I")->val, "c@x");
	assert_pl(&sip_msg_hdr_name(&msg, "allow-events")->val, "presence");
	assert_pl(&sip_msg_hdr_name(&msg, "U")->val, "presence");
	assert_pl(&sip_msg_hdr_name(&msg, "Supported")->val, "timer");
	assert_null(sip_msg_hdr_name(&msg, "Accept-Contact"));
	assert_null(sip_msg_hdr_name(&msg, "X-Nope"));
	assert_null(sip_msg_hdr_name(&msg, NULL));
	/* one line at a time: its name in either form */
	assert_true(sip_hdr_named(&msg.hdrv[1], "From"));
	assert_true(sip_hdr_named(&msg.hdrv[1], "f"));
	assert_false(sip_hdr_named(&msg.hdrv[1], "To"));
	assert_true(sip_hdr_named(&msg.hdrv[6], "ALLOW-EVENTS"));
	assert_true(sip_hdr_named(&msg.hdrv[7], "u"));
	assert_false(sip_hdr_named(&msg.hdrv[6], "Accept-Contact"));
	assert_false(sip_hdr_named(NULL, "From"));
}

/* sip_value_next(): commas inside quotes and <...> do not split. */
static void test_value_next(void **state)
{
	struct pl v = pl_from_str("\"Doe, J\" <sip:+1555;npdi@a.example>, <tel:+1555>,, x");
	struct pl out;
	size_t off = 0;

	assert_true(sip_value_next(&v, &off, &out));
	assert_pl(&out, "\"Doe, J\" <sip:+1555;npdi@a.example>");
	assert_true(sip_value_next(&v, &off, &out));
	assert_pl(&out, "<tel:+1555>");
	assert_true(sip_value_next(&v, &off, &out));
	assert_pl(&out, "x");
	assert_false(sip_value_next(&v, &off, &out));
}

static void test_folding_and_lws(void **state)
{
	static const char s[] =
		"INVITE sip:b@example.com SIP/2.0\r\n"
		"Via  : SIP / 2.0\r\n"
		"\t/ UDP\r\n"
		"  192.0.2.1 : 5070 ; branch = z9hG4bKfold\r\n"
		"From:\r\n"
		" <sip:a@example.com>\r\n"
		"  ;tag=f\r\n"
		"To\t: <sip:b@example.com>\r\n"
		"Call-ID:c@x\r\n"
		"CSeq: 00012\r\n"
		" INVITE\r\n"
		"Subject: first\r\n"
		" second\r\n"
		"Max-Forwards: 070\r\n"
		"Content-Length:   0   \r\n"
		"\r\n";
	const struct sip_hdr *h;

	(void)state;
	expect_ok(s);
	assert_pl(&msg.via.proto, "UDP");
	assert_pl(&msg.via.host, "192.0.2.1");
	assert_int_equal(msg.via.port, 5070);
	assert_pl(&msg.via.sentby, "192.0.2.1 : 5070");
	assert_pl(&msg.via.branch, "z9hG4bKfold");
	assert_pl(&msg.from.tag, "f");
	assert_pl(&msg.from.uri.user, "a");
	assert_int_equal(msg.cseq.num, 12);
	assert_pl(&msg.cseq.method, "INVITE");
	assert_int_equal(msg.max_forwards, 70);
	assert_pl(&msg.callid, "c@x");
	h = sip_msg_hdr(&msg, SIP_HDR_SUBJECT);
	assert_non_null(h);
	/* the fold stays in the raw value */
	assert_pl(&h->val, "first\r\n second");
	assert_pl(&sip_msg_hdr(&msg, SIP_HDR_TO)->name, "To");
}

static void test_lf_only(void **state)
{
	(void)state;
	expect_ok("OPTIONS sip:b@example.com SIP/2.0\n"
		  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKlf\n"
		  "From: <sip:a@example.com>;tag=f\n"
		  "To: <sip:b@example.com>\n"
		  "Subject: folded\n"
		  "\tover LF\n"
		  "Call-ID: c@x\n"
		  "CSeq: 1 OPTIONS\n"
		  "Content-Length: 4\n"
		  "\n"
		  "bodyIGNORED");
	assert_pl(&msg.body, "body");
	assert_pl(&sip_msg_hdr(&msg, SIP_HDR_SUBJECT)->val, "folded\n\tover LF");
	assert_pl(&msg.callid, "c@x");
	/* mixed endings */
	expect_ok("OPTIONS sip:b@example.com SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKlf\n"
		  "From: <sip:a@example.com>;tag=f\r\n"
		  "To: <sip:b@example.com>\n"
		  "Call-ID: c@x\r\n"
		  "CSeq: 1 OPTIONS\n"
		  "\r\n");
	assert_int_equal(msg.clen, -1);
}

static void test_multi_values(void **state)
{
	static const char s[] =
		"INVITE sip:b@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtop;x=\"a,b\", SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK2\r\n"
		"Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n"
		"Via: SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK3\r\n"
		"From: <sip:a@example.com>;tag=f\r\n"
		"To: <sip:b@example.com>\r\n"
		"Call-ID: c@x\r\n"
		"CSeq: 1 INVITE\r\n"
		"Contact: \"Doe, John <x>\" <sip:j,k@192.0.2.1;a=1>;q=0.5, <sip:k@192.0.2.2>\r\n"
		"Contact: sip:l@192.0.2.3;expires=10\r\n"
		"Route: <sip:p3.example.com;lr>\r\n"
		"Require: 100rel , timer,,\r\n"
		"Supported: \r\n"
		"\r\n";
	const char *vias[] = {
		"SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKtop;x=\"a,b\"",
		"SIP/2.0/TCP 10.0.0.1:5070;branch=z9hG4bK2",
		"SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK3",
	};
	const char *contacts[] = {
		"\"Doe, John <x>\" <sip:j,k@192.0.2.1;a=1>;q=0.5",
		"<sip:k@192.0.2.2>",
		"sip:l@192.0.2.3;expires=10",
	};
	struct sip_addr a;
	struct sip_via v;
	struct pl val;
	unsigned it = 0, n = 0;

	(void)state;
	expect_ok(s);
	/* the eager Via is the first value of the first Via line */
	assert_pl(&msg.via.branch, "z9hG4bKtop");
	assert_pl(&msg.via.whole, vias[0]);

	while (sip_msg_hdr_next(&msg, SIP_HDR_VIA, &it, &val)) {
		assert_true(n < 3);
		assert_pl(&val, vias[n]);
		assert_int_equal(sip_via_decode(&v, &val), 0);
		n++;
	}
	assert_int_equal(n, 3);
	/* the iterator stays at the end */
	assert_false(sip_msg_hdr_next(&msg, SIP_HDR_VIA, &it, &val));
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 3);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_ROUTE), 3);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_REQUIRE), 2);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_SUPPORTED), 0);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_PATH), 0);
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, "timer"));
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, "100rel"));
	assert_false(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, "time"));
	assert_false(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, NULL));

	it = 0;
	n = 0;
	while (sip_msg_hdr_next(&msg, SIP_HDR_CONTACT, &it, &val)) {
		assert_true(n < 3);
		assert_pl(&val, contacts[n]);
		assert_int_equal(sip_addr_decode(&a, &val), 0);
		n++;
	}
	assert_int_equal(n, 3);
	it = 0;
	assert_true(sip_msg_hdr_next(&msg, SIP_HDR_CONTACT, &it, &val));
	assert_int_equal(sip_addr_decode(&a, &val), 0);
	assert_pl(&a.dname, "Doe, John <x>");
	assert_pl(&a.uri.user, "j,k");
	assert_pl(&a.uri.params, ";a=1");
	assert_true(sip_param_get(&a.params, "q", &val));
	assert_pl(&val, "0.5");
	/* NULL arguments are refused, not dereferenced */
	assert_false(sip_msg_hdr_next(NULL, SIP_HDR_VIA, &it, &val));
	assert_false(sip_msg_hdr_next(&msg, SIP_HDR_VIA, NULL, &val));
}

static void test_addr(void **state)
{
	struct sip_addr a;
	struct pl v;

	(void)state;
	v = pl_from_str("\"J Rosenberg \\\\\\\"\"  <sip:jdrosen@example.com>\r\n ;\r\n tag = 98asjd8");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "J Rosenberg \\\\\\\"");
	assert_pl(&a.uri.user, "jdrosen");
	assert_pl(&a.tag, "98asjd8");
	assert_ptr_equal(a.whole.p, v.p);

	v = pl_from_str("caller<sip:caller@example.com>;tag=323");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "caller");

	v = pl_from_str("  A. Bell  <sip:a.g.bell@example.com>  ");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "A. Bell");
	assert_pl(&a.whole, "A. Bell  <sip:a.g.bell@example.com>");
	assert_int_equal(a.params.l, 0);

	v = pl_from_str("\"a<b>,c\" <sips:x@[2001:db8::1]:5061;transport=tls?subject=hi>;+sip.instance=\"<urn:uuid:1>\";q=1");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "a<b>,c");
	assert_int_equal(a.uri.scheme, SIP_URI_SIPS);
	assert_true(a.uri.host_ipv6);
	assert_pl(&a.uri.host, "2001:db8::1");
	assert_int_equal(a.uri.port, 5061);
	assert_pl(&a.uri.headers, "subject=hi");
	assert_true(sip_param_get(&a.params, "+sip.instance", &v));
	assert_pl(&v, "<urn:uuid:1>");

	/* addr-spec: params after the URI belong to the header */
	v = pl_from_str("sip:+19725552222@gw1.example.net;unknownparam;tag=x");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_int_equal(a.uri.params.l, 0);
	assert_pl(&a.params, ";unknownparam;tag=x");
	assert_pl(&a.tag, "x");
	/* and inside <> they belong to the URI */
	v = pl_from_str("<sip:+19725552222@gw1.example.net;unknownparam>");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.uri.params, ";unknownparam");
	assert_int_equal(a.params.l, 0);

	/* other schemes: accepted, only whole set (RFC 4475 unksm2) */
	v = pl_from_str("<http://www.example.com>;tag=3234233");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.uri.whole, "http://www.example.com");
	assert_int_equal(a.uri.host.l, 0);
	assert_pl(&a.tag, "3234233");
	v = pl_from_str("isbn:2983792873");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.uri.whole, "isbn:2983792873");

	/* UTF-8 display name without quotes */
	v = pl_from_str("J\xc3\xbcrgen <sip:j@example.com>");
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "J\xc3\xbcrgen");

	static const char *bad[] = {
		"",
		"   ",
		"\"unterminated <sip:a@example.com>",
		"\"a\" sip:a@example.com",
		"<sip:a@example.com",
		"< sip:a@example.com>",
		"<sip:a@example.com >",
		"Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
		"sip:user@example.com?Route=%3Csip:sip.example.com%3E",
		"sip:a,b@example.com",
		"<sip:a@example.com> junk",
		"<sip:a@example.com>;;",
		"<sip:a@example.com>;tag=",
		"<sip:a@example.com>;tag=\"open",
		"<sip:a@example.com>;tag",
		"<sip:a@example.com>;tag=\"\"",
		"<sip:a@example.com>;x=1 ; TAG ;tag=1",
		"<sip:a@exa mple.com>",
		"<sip:@example.com>",
		"<:nothing>",
		"<1sip:a@example.com>",
		"<sip:>",
		"\"esc at end\\",
		"\"bad \\\r\n\" <sip:a@example.com>",
		"<sip:a@example.com>;a=1 b",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = pl_from_str(bad[i]);
		if (sip_addr_decode(&a, &v) == 0)
			fail_msg("accepted bad addr: %s", bad[i]);
		assert_int_equal(a.whole.l, 0);
	}
	assert_int_equal(sip_addr_decode(&a, NULL), EINVAL);
	v = pl_from_str("<sip:a@example.com>");
	assert_int_equal(sip_addr_decode(NULL, &v), 0);
}

static void test_uri(void **state)
{
	struct sip_uri u;
	struct pl v;

	(void)state;
	v = pl_from_str("sip:alice:secret@atlanta.com:5060;transport=tcp;lr?subject=project%20x&priority=urgent");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_int_equal(u.scheme, SIP_URI_SIP);
	assert_pl(&u.user, "alice");
	assert_pl(&u.password, "secret");
	assert_pl(&u.host, "atlanta.com");
	assert_int_equal(u.port, 5060);
	assert_pl(&u.params, ";transport=tcp;lr");
	assert_pl(&u.headers, "subject=project%20x&priority=urgent");
	assert_pl(&u.whole, v.p);
	assert_true(sip_param_get(&u.params, "lr", &v));
	assert_int_equal(v.l, 0);
	assert_true(sip_param_get(&u.params, "TRANSPORT", &v));
	assert_pl(&v, "tcp");

	/* RFC 4475 semiuri and intmeth user parts */
	v = pl_from_str("sip:user;par=u%40example.net@example.com");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_pl(&u.user, "user;par=u%40example.net");
	assert_pl(&u.host, "example.com");
	v = pl_from_str("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_pl(&u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_pl(&u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");

	v = pl_from_str("SIPS:[2001:DB8::10:5070]");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_int_equal(u.scheme, SIP_URI_SIPS);
	assert_true(u.host_ipv6);
	assert_pl(&u.host, "2001:DB8::10:5070");
	assert_int_equal(u.port, 0);
	v = pl_from_str("sip:[::ffff:192.0.2.1]:65535;maddr=[2001:db8::2]");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_int_equal(u.port, 65535);
	assert_true(sip_param_get(&u.params, "maddr", &v));
	assert_pl(&v, "[2001:db8::2]");

	v = pl_from_str("tel:+1-201-555-0123;phone-context=example.com");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_int_equal(u.scheme, SIP_URI_TEL);
	assert_pl(&u.user, "+1-201-555-0123");
	assert_pl(&u.params, ";phone-context=example.com");

	/* other scheme: an error with whole set */
	v = pl_from_str("soap.beep://192.0.2.103:3002");
	assert_int_equal(sip_uri_decode(&u, &v), EINVAL);
	assert_pl(&u.whole, "soap.beep://192.0.2.103:3002");
	assert_int_equal(u.host.l, 0);
	v = pl_from_str("mailto:a@example.com");
	assert_int_equal(sip_uri_decode(&u, &v), EINVAL);
	assert_pl(&u.whole, "mailto:a@example.com");

	static const char *bad[] = {
		"", "sip", "sip:", ":x", "1x:y", "sip:@host", "sip:user@",
		"sip:user@host:", "sip:host:0", "sip:host:65536", "sip:host:123456",
		"sip:host:5o60", "sip:2001:db8::10", "sip:[2001:db8::10",
		"sip:[]", "sip:[1.2.3.4]", "sip:[2001:db8::g]", "sip:ho st",
		"sip:host;", "sip:host;=x", "sip:host;a=", "sip:host?", "sip:host?a",
		"sip:host?=b", "sip:host?a=b&", "sip:u%4@host", "sip:u%zz@host",
		"sip:host;a=%", "sip:us\"er@host", "sip:host>", "sip:<host>",
		"tel:", "tel:+1 234", "tel:+1;", "tel:abc@x", "mailto:a b",
		"x-:\"", "sip:host\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = pl_from_str(bad[i]);
		if (sip_uri_decode(&u, &v) == 0)
			fail_msg("accepted bad uri: %s", bad[i]);
		if (u.whole.l && strncmp(bad[i], "sip", 3) == 0)
			fail_msg("whole kept for bad sip uri: %s", bad[i]);
	}
	assert_int_equal(sip_uri_decode(&u, NULL), EINVAL);
	assert_int_equal(u.whole.l, 0);
	v = pl_from_str("sip:h");
	assert_int_equal(sip_uri_decode(NULL, &v), 0);
}

static bool ueq(const char *a, const char *b)
{
	struct sip_uri ua, ub;
	struct pl pa = pl_from_str(a), pb = pl_from_str(b);

	if (sip_uri_decode(&ua, &pa) || sip_uri_decode(&ub, &pb))
		fail_msg("bad test uri %s / %s", a, b);
	assert_true(sip_uri_equal(&ua, &ua));
	if (sip_uri_equal(&ua, &ub) != sip_uri_equal(&ub, &ua))
		fail_msg("not symmetric: %s / %s", a, b);
	return sip_uri_equal(&ua, &ub);
}

static void test_uri_equal(void **state)
{
	(void)state;
	/* RFC 3261 §19.1.4: equivalent */
	assert_true(ueq("sip:%61lice@atlanta.com;transport=TCP",
			"sip:alice@AtLanTa.CoM;Transport=tcp"));
	assert_true(ueq("sip:carol@chicago.com",
			"sip:carol@chicago.com;newparam=5"));
	assert_true(ueq("sip:carol@chicago.com",
			"sip:carol@chicago.com;security=on"));
	assert_true(ueq("sip:carol@chicago.com;newparam=5",
			"sip:carol@chicago.com;security=on"));
	assert_true(ueq("sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
			"sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com"));
	assert_true(ueq("sip:alice@atlanta.com?subject=project%20x&priority=urgent",
			"sip:alice@atlanta.com?priority=urgent&subject=project%20x"));
	/* RFC 3261 §19.1.4: not equivalent */
	assert_false(ueq("SIP:ALICE@AtLanTa.CoM;Transport=udp",
			 "sip:alice@AtLanTa.CoM;Transport=UDP"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"));
	assert_false(ueq("sip:bob@biloxi.com", "sip:bob@biloxi.com:6000;transport=tcp"));
	assert_false(ueq("sip:carol@chicago.com",
			 "sip:carol@chicago.com?Subject=next%20meeting"));
	assert_false(ueq("sip:bob@phone21.boxesbybob.com",
			 "sip:bob@192.0.2.4"));
	assert_false(ueq("sip:carol@chicago.com;security=on",
			 "sip:carol@chicago.com;security=off"));
	/* more */
	assert_false(ueq("sip:a@h", "sips:a@h"));
	assert_false(ueq("sip:a:pw@h", "sip:a:PW@h"));
	assert_false(ueq("sip:a@h", "sip:a:pw@h"));
	assert_true(ueq("sip:a@h;maddr=X.example.com", "sip:a@h;MADDR=x.example.com"));
	assert_false(ueq("sip:a@h;user=phone", "sip:a@h"));
	assert_false(ueq("sip:a@h;ttl=1", "sip:a@h"));
	assert_false(ueq("sip:a@h;method=INVITE", "sip:a@h"));
	assert_false(ueq("sip:a@h?x=1", "sip:a@h?x=1&y=2"));
	assert_true(ueq("sip:a@[2001:db8::1]", "sip:a@[2001:DB8:0::1]"));
	assert_false(ueq("sip:a@[2001:db8::1]", "sip:a@[2001:db8::2]"));
	assert_true(ueq("sip:%6c%6C%4A@h", "sip:llJ@h"));
	assert_false(ueq("sip:%4a@h", "sip:j@h"));
	assert_true(ueq("sip:a@h?subject=x%2fy", "sip:a@h?SUBJECT=x%2Fy"));
	assert_false(ueq("sip:a@h?subject=x", "sip:a@h?subject=X"));
	assert_true(ueq("sip:a@h;x=1;x=2", "sip:a@h;x=1"));
	assert_true(ueq("tel:+1-201-555-0123", "tel:+12015550123"));
	assert_false(ueq("tel:+1-201-555-0123", "tel:+12015550124"));
	assert_false(ueq("tel:+1", "sip:+1@h"));
	assert_false(sip_uri_equal(NULL, NULL));
}

static void test_params(void **state)
{
	struct pl p, v;

	(void)state;
	p = pl_from_str(" ; branch = z9hG4bK1 ;rport; RECEIVED=[2001:db8::9:255] ;x=\"a;b,c\\\"\" ;y=2001:db8::1");
	assert_true(sip_param_get(&p, "branch", &v));
	assert_pl(&v, "z9hG4bK1");
	assert_true(sip_param_get(&p, "rport", &v));
	assert_int_equal(v.l, 0);
	assert_true(sip_param_get(&p, "received", &v));
	assert_pl(&v, "[2001:db8::9:255]");
	assert_true(sip_param_get(&p, "X", &v));
	assert_pl(&v, "a;b,c\\\"");
	assert_true(sip_param_get(&p, "y", &v));
	assert_pl(&v, "2001:db8::1");
	assert_true(sip_param_get(&p, "y", NULL));
	assert_false(sip_param_get(&p, "branc", &v));
	assert_false(sip_param_get(&p, "branchx", &v));
	assert_false(sip_param_get(&p, NULL, &v));
	assert_false(sip_param_get(NULL, "x", &v));
	/* a malformed list ends the search */
	p = pl_from_str(";a=1;;b=2");
	assert_true(sip_param_get(&p, "a", &v));
	assert_false(sip_param_get(&p, "b", &v));
	p = pl_from_str("a=1");
	assert_false(sip_param_get(&p, "a", &v));

	/* header parameter lists are validated by the value parsers */
	{
		static const char *good[] = {
			"<sip:h>;a", "<sip:h>", "<sip:h> ; a = b ; c", "<sip:h>;a=\"\"",
			"<sip:h>;a=[::1];b=\"x;y\"", "<sip:h>;tag=1;tag=2",
		};
		static const char *bad[] = {
			"<sip:h>;", "<sip:h>;a=", "<sip:h>;a b", "<sip:h>;a=\"x",
			"<sip:h>;=1", "<sip:h>;a;;b", "<sip:h>;a=b c",
		};
		struct sip_addr a;

		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			p = pl_from_str(good[i]);
			if (sip_addr_decode(&a, &p))
				fail_msg("rejected %s", good[i]);
		}
		assert_pl(&a.tag, "1");
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			p = pl_from_str(bad[i]);
			if (!sip_addr_decode(&a, &p))
				fail_msg("accepted %s", bad[i]);
		}
	}
}

static void test_delta_seconds(void **state)
{
	static const struct {
		const char *s;
		int rc;
		uint32_t v;
	} t[] = {
		{"0", 0, 0}, {"3600", 0, 3600}, {" 60 ", 0, 60},
		{"000000000000000000000000000000000000007", 0, 7},
		{"4294967295", 0, 4294967295u}, {"4294967296", EINVAL, 0},
		{"1" "0000000000000000000000000000000", EINVAL, 0},
		{"", EINVAL, 0}, {"  ", EINVAL, 0}, {"-1", EINVAL, 0}, {"+1", EINVAL, 0},
		{"1.5", EINVAL, 0}, {"12a", EINVAL, 0}, {"1 2", EINVAL, 0},
	};
	struct pl pl;
	uint32_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pl = pl_from_str(t[i].s);
		v = 12345;
		if (sip_delta_seconds(&pl, &v) != t[i].rc)
			fail_msg("delta(\"%s\")", t[i].s);
		if (t[i].rc == 0 && v != t[i].v)
			fail_msg("delta(\"%s\") = %u", t[i].s, v);
	}
	assert_int_equal(sip_delta_seconds(NULL, &v), EINVAL);
}

static void test_via(void **state)
{
	struct sip_via v;
	struct pl p;

	(void)state;
	p = pl_from_str("SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111;received=2001:db8::9:255;rport=5061;maddr=[2001:db8::1]");
	assert_int_equal(sip_via_decode(&v, &p), 0);
	assert_true(v.host_ipv6);
	assert_pl(&v.host, "2001:db8::9:1");
	assert_pl(&v.sentby, "[2001:db8::9:1]:5060");
	assert_int_equal(v.port, 5060);
	assert_pl(&v.received, "2001:db8::9:255");
	assert_pl(&v.rport_val, "5061");
	assert_pl(&v.maddr, "[2001:db8::1]");

	p = pl_from_str("SIP/2.0/TLS host.example.com;Branch=\"z9hG4bKq\";RPORT");
	assert_int_equal(sip_via_decode(&v, &p), 0);
	assert_pl(&v.branch, "z9hG4bKq");
	assert_true(v.rport);
	assert_int_equal(v.rport_val.l, 0);

	static const char *bad[] = {
		"", "SIP/2.0/UDP", "SIP/2.0/UDP ", "SIP/2.0 UDP host",
		"SIP/2.0/UDPhost", "SIP//UDP host", "SIP/2.0/UDP host:",
		"SIP/2.0/UDP host:99999", "SIP/2.0/UDP [::1", "SIP/2.0/UDP host;",
		"SIP/2.0/UDP host;;", "SIP/2.0/UDP 192.0.2.15;;,;,,",
		"SIP/2.0/UDP host branch=x", "SIP/2.0/UDP host;branch=",
		"SIP/2.0/UDP ho\"st", "/2.0/UDP host",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = pl_from_str(bad[i]);
		if (sip_via_decode(&v, &p) == 0)
			fail_msg("accepted bad via: %s", bad[i]);
		assert_int_equal(v.whole.l, 0);
	}
	assert_int_equal(sip_via_decode(&v, NULL), EINVAL);
	p = pl_from_str("SIP/2.0/UDP h");
	assert_int_equal(sip_via_decode(NULL, &p), 0);
}

static void test_bad_start_line(void **state)
{
	(void)state;
	expect_bad("INVITE  sip:b@example.com SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com  SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com SIP/2.0 \r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed request line");
	expect_bad(" INVITE sip:b@example.com SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INV(TE sip:b@example.com SIP/2.0\r\n" MIN_HDRS("INV(TE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE\tsip:b@example.com SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com\tSIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com HTTP/1.1\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com SIP/2\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	expect_bad("INVITE sip:b@example.com SIP/7.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Unsupported SIP version");
	expect_bad("INVITE sip:b@example.com sip/3.10\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Unsupported SIP version");
	expect_bad("INVITE <sip:b@example.com> SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed Request-URI");
	expect_bad("INVITE sip:b@example.com?Route=%3Csip:example.com%3E SIP/2.0\r\n"
		   MIN_HDRS("INVITE") "\r\n", "Malformed Request-URI");
	expect_bad("INVITE sip:2001:db8::10 SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed Request-URI");
	expect_bad("INVITE sip:b@example.com; SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed Request-URI");
	expect_bad("INVITE tel:xyz SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed Request-URI");
	expect_bad("INVITE 1abc:def SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed Request-URI");

	expect_bad("SIP/2.0 4294967301 too big\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed status line");
	expect_bad("SIP/2.0 99 Low\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.0 700 High\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.0 20 OK\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.0 2x0 OK\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.0  200 OK\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");
	expect_bad("SIP/2.1 200 OK\r\n" MIN_HDRS("INVITE") "\r\n", "Unsupported SIP version");
	expect_bad("SIP/ 200 OK\r\n" MIN_HDRS("INVITE") "\r\n", "Malformed status line");

	/* unknown schemes and methods are the TU's business */
	expect_ok("OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\r\n"
		  MIN_HDRS("OPTIONS") "\r\n");
	assert_pl(&msg.ruri.whole, "nobodyKnowsThisScheme:totallyopaquecontent");
	assert_int_equal(msg.ruri.host.l, 0);
	expect_ok("RE%47IST%45R sip:b@example.com SIP/2.0\r\n" MIN_HDRS("RE%47IST%45R") "\r\n");
	assert_pl(&msg.method, "RE%47IST%45R");
}

static void test_bad_headers(void **state)
{
	char big[16384];
	size_t n;

	(void)state;
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "Subject this has no colon\r\n\r\n", "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   ": no name\r\n\r\n", "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "Bad Name: x\r\n\r\n", "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "Subject\r\n\r\n", "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n"
		   " folded: start\r\n" MIN_HDRS("OPTIONS") "\r\n",
		   "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "Subject: a\rb\r\n\r\n", "Malformed line ending");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "\rX: y\r\n\r\n", "Malformed header line");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r" MIN_HDRS("OPTIONS") "\r\n",
		   "Malformed line ending");

	/* NUL bytes: only as a quoted-pair */
	{
		static const char s[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			MIN_HDRS("OPTIONS") "Subject: a\0b\r\n\r\n";
		const char *why;

		assert_int_equal(sip_msg_decode(&msg, s, sizeof(s) - 1, false, &why),
				 SIP_DECODE_BAD);
		assert_string_equal(why, "NUL byte in headers");
		/* the lines before it are still there for a 400 */
		assert_pl(&msg.callid, "c@x");
		assert_null(sip_msg_hdr(&msg, SIP_HDR_SUBJECT));
	}
	{
		static const char s[] = "OPTIONS sip:b@example.com SIP/2.0\r\n"
			"To: \"nul \\\0 quoted\" <sip:b@example.com>\r\n"
			"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
			"From: <sip:a@example.com>;tag=f\r\n"
			"Call-ID: c@x\r\nCSeq: 1 OPTIONS\r\n\r\n";
		const char *why;

		assert_int_equal(sip_msg_decode(&msg, s, sizeof(s) - 1, false, &why),
				 SIP_DECODE_OK);
		assert_int_equal(msg.to.dname.l, 13);
	}
	{
		/* NUL in the start line: nothing of the headers is kept */
		static const char s[] = "OPTIONS sip:b@exa\0mple.com SIP/2.0\r\n"
			MIN_HDRS("OPTIONS") "\r\n";
		const char *why;

		assert_int_equal(sip_msg_decode(&msg, s, sizeof(s) - 1, false, &why),
				 SIP_DECODE_BAD);
		assert_int_equal(msg.hdrc, 0);
		assert_int_equal(msg.callid.l, 0);
	}

	/* SIP_MSG_MAX_HDRS lines pass, one more does not */
	n = (size_t)snprintf(big, sizeof(big), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			     MIN_HDRS("OPTIONS"));
	for (int i = 5; i < SIP_MSG_MAX_HDRS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X-H%d: %d\r\n", i, i);
	snprintf(big + n, sizeof(big) - n, "\r\n");
	expect_ok(big);
	assert_int_equal(msg.hdrc, SIP_MSG_MAX_HDRS);
	snprintf(big + n, sizeof(big) - n, "X-Last: 1\r\n\r\n");
	expect_bad(big, "Too many headers");
}

static void test_missing_and_malformed(void **state)
{
	(void)state;
#define REQ(h) "OPTIONS sip:b@example.com SIP/2.0\r\n" h "\r\n"
#define V "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
#define F "From: <sip:a@example.com>;tag=f\r\n"
#define T "To: <sip:b@example.com>\r\n"
#define I "Call-ID: c@x\r\n"
#define S "CSeq: 1 OPTIONS\r\n"
	expect_ok(REQ(V F T I S));
	expect_bad(REQ(F T I S), "Missing Via header");
	expect_bad(REQ(V T I S), "Missing From header");
	expect_bad(REQ(V F I S), "Missing To header");
	expect_bad(REQ(V F T S), "Missing Call-ID header");
	expect_bad(REQ(V F T I), "Missing CSeq header");
	expect_bad(REQ("Via: \r\n" F T I S), "Malformed Via header");
	expect_bad(REQ("Via: ,\r\n" F T I S), "Malformed Via header");
	expect_bad(REQ("Via: SIP/2.0/UDP\r\n" F T I S), "Malformed Via header");
	expect_bad(REQ(V "From: Bell, A <sip:a@example.com>\r\n" T I S),
		   "Malformed From header");
	expect_bad(REQ(V F "To: \"x <sip:b@example.com>\r\n" I S), "Malformed To header");
	expect_bad(REQ(V F T "Call-ID: \r\n" S), "Malformed Call-ID header");
	expect_bad(REQ(V F T "Call-ID: a b\r\n" S), "Malformed Call-ID header");
	expect_bad(REQ(V F T I "CSeq: OPTIONS\r\n"), "Malformed CSeq header");
	expect_bad(REQ(V F T I "CSeq: 1\r\n"), "Malformed CSeq header");
	expect_bad(REQ(V F T I "CSeq: 1OPTIONS\r\n"), "Malformed CSeq header");
	expect_bad(REQ(V F T I "CSeq: -1 OPTIONS\r\n"), "Malformed CSeq header");
	expect_bad(REQ(V F T I "CSeq: 1 OPTIONS x\r\n"), "Malformed CSeq header");
	expect_bad(REQ(V F T I "CSeq: 2147483648 OPTIONS\r\n"), "Malformed CSeq header");
	expect_ok(REQ(V F T I "CSeq: 2147483647 OPTIONS\r\n"));
	assert_int_equal(msg.cseq.num, 2147483647u);
	expect_bad(REQ(V F T I "CSeq: 1 INVITE\r\n"), "CSeq method mismatch");
	expect_bad(REQ(V F T I "CSeq: 1 options\r\n"), "CSeq method mismatch");
	expect_bad(REQ(V F T I S "Max-Forwards: 256\r\n"), "Malformed Max-Forwards header");
	expect_bad(REQ(V F T I S "Max-Forwards: \r\n"), "Malformed Max-Forwards header");
	expect_bad(REQ(V F T I S "Max-Forwards: 7x\r\n"), "Malformed Max-Forwards header");
	expect_ok(REQ(V F T I S "Max-Forwards: 0\r\n"));
	assert_int_equal(msg.max_forwards, 0);
	expect_ok(REQ(V F T I S "Max-Forwards: 255\r\n"));
	assert_int_equal(msg.max_forwards, 255);
	expect_bad(REQ(V F T I S "Content-Length: five\r\n"), "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length: -1\r\n"), "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length: +1\r\n"), "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length: 2147483648\r\n"),
		   "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length: 99999999999999999999999\r\n"),
		   "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length: 1 2\r\n"), "Malformed Content-Length header");
	expect_bad(REQ(V F T I S "Content-Length:\r\n"), "Malformed Content-Length header");

	/* duplicates: fine when equal, not when they differ */
	expect_ok(REQ(V F F T I S I "Content-Length: 0\r\nl: 0\r\n"));
	expect_bad(REQ(V F "From: <sip:a@example.com>;tag=g\r\n" T I S),
		   "Duplicate From header");
	expect_bad(REQ(V F T "t: <sip:c@example.com>\r\n" I S), "Duplicate To header");
	expect_bad(REQ(V F T I "i: d@x\r\n" S), "Duplicate Call-ID header");
	expect_bad(REQ(V F T I S "CSeq: 2 OPTIONS\r\n"), "Duplicate CSeq header");
	expect_bad(REQ(V F T I S "Max-Forwards: 1\r\nMax-Forwards: 2\r\n"),
		   "Duplicate Max-Forwards header");
	expect_bad(REQ(V F T I S "Content-Length: 0\r\nl: 1\r\n"),
		   "Duplicate Content-Length header");
	/* repeated Via lines are normal */
	expect_ok(REQ(V V F T I S));

	/* with several errors the first in decode order wins */
	expect_bad(REQ("CSeq: x\r\n"), "Missing Via header");
	expect_bad("OPTIONS sip:b@example.com SIP/3.0\r\n\r\n", "Unsupported SIP version");
#undef REQ
#undef V
#undef F
#undef T
#undef I
#undef S
}

static void test_bad_keeps_fields(void **state)
{
	(void)state;
	/* a 400 needs Via, From, To, Call-ID, CSeq: they survive later errors */
	expect_bad("INVITE  sip:b@example.com SIP/2.0\r\n" MIN_HDRS("INVITE") "\r\n",
		   "Malformed request line");
	assert_true(msg.req);
	assert_pl(&msg.via.branch, "z9hG4bKx");
	assert_pl(&msg.from.tag, "f");
	assert_pl(&msg.to.whole, "<sip:b@example.com>");
	assert_pl(&msg.callid, "c@x");
	assert_pl(&msg.cseq.method, "INVITE");

	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS")
		   "Broken line\r\n\r\n", "Malformed header line");
	assert_pl(&msg.via.branch, "z9hG4bKx");
	assert_pl(&msg.callid, "c@x");

	/* a field that failed keeps only its raw text */
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n"
		   "From: Bell, A <sip:a@example.com>;tag=f\r\n"
		   "To: <sip:b@example.com>\r\nCall-ID: c@x\r\nCSeq: 1 OPTIONS\r\n\r\n",
		   "Malformed From header");
	assert_pl(&msg.from.whole, "Bell, A <sip:a@example.com>;tag=f");
	assert_int_equal(msg.from.tag.l, 0);
	assert_pl(&msg.to.whole, "<sip:b@example.com>");
	expect_bad("OPTIONS sip:b@example.com SIP/2.0\r\n"
		   "Via: SIP/2.0/UDP 192.0.2.1;;\r\n"
		   "From: <sip:a@example.com>;tag=f\r\n"
		   "To: <sip:b@example.com>\r\nCall-ID: c@x\r\nCSeq: x OPTIONS\r\n\r\n",
		   "Malformed Via header");
	assert_pl(&msg.via.whole, "SIP/2.0/UDP 192.0.2.1;;");
	assert_int_equal(msg.via.host.l, 0);
	assert_int_equal(msg.cseq.method.l, 0);
}

static void test_datagram_clen(void **state)
{
	static const char head[] = "OPTIONS sip:b@example.com SIP/2.0\r\n" MIN_HDRS("OPTIONS");
	char buf[1024];
	const char *why;

	(void)state;
	/* absent: the rest of the datagram */
	snprintf(buf, sizeof(buf), "%s\r\nhello", head);
	expect_ok(buf);
	assert_int_equal(msg.clen, -1);
	assert_pl(&msg.body, "hello");
	assert_int_equal(msg.len, strlen(buf));
	/* smaller: truncated, the rest ignored (RFC 4475 dblreq) */
	snprintf(buf, sizeof(buf), "%sContent-Length: 3\r\n\r\nhello", head);
	expect_ok(buf);
	assert_pl(&msg.body, "hel");
	assert_int_equal(msg.len, strlen(buf) - 2);
	/* exact */
	snprintf(buf, sizeof(buf), "%sContent-Length: 5\r\n\r\nhello", head);
	expect_ok(buf);
	assert_pl(&msg.body, "hello");
	/* larger: 400 */
	snprintf(buf, sizeof(buf), "%sContent-Length: 6\r\n\r\nhello", head);
	expect_bad(buf, "Content-Length too large");
	assert_int_equal(msg.len, strlen(buf));
	assert_pl(&msg.callid, "c@x");
	/* zero with trailing garbage */
	snprintf(buf, sizeof(buf), "%sl: 0\r\n\r\nxyz", head);
	expect_ok(buf);
	assert_int_equal(msg.body.l, 0);
	assert_int_equal(msg.len, strlen(buf) - 3);
	/* no empty line at the end of a datagram: accepted, empty body */
	snprintf(buf, sizeof(buf), "%s", head);
	expect_ok(buf);
	assert_int_equal(msg.body.l, 0);
	snprintf(buf, sizeof(buf), "%sSubject: no eol", head);
	expect_ok(buf);
	assert_pl(&sip_msg_hdr(&msg, SIP_HDR_SUBJECT)->val, "no eol");
	snprintf(buf, sizeof(buf), "%sContent-Length: 1\r\n", head);
	expect_bad(buf, "Content-Length too large");
	/* leading CRLFs are skipped and counted */
	snprintf(buf, sizeof(buf), "\r\n\n\r\n%s\r\n", head);
	expect_ok(buf);
	assert_int_equal(msg.len, strlen(buf));
	assert_ptr_equal(msg.buf, buf);
	assert_pl(&msg.method, "OPTIONS");
	/* keep-alives and emptiness */
	expect_bad("\r\n\r\n", "Empty message");
	expect_bad("", "Empty message");
	assert_int_equal(sip_msg_decode(&msg, NULL, 0, false, &why), SIP_DECODE_BAD);
	assert_int_equal(sip_msg_decode(NULL, "x", 1, false, &why), SIP_DECODE_BAD);
	assert_int_equal(sip_msg_decode(&msg, "x", 1, false, NULL), SIP_DECODE_BAD);
}

static void test_stream(void **state)
{
	static const char one[] =
		"INVITE sip:b@example.com SIP/2.0\r\n" MIN_HDRS("INVITE")
		"Content-Length: 5\r\n\r\nhello";
	static const char two[] =
		"BYE sip:b@example.com SIP/2.0\r\n" MIN_HDRS("BYE")
		"l: 0\r\n\r\n";
	char buf[2048];
	size_t n1 = strlen(one), n2 = strlen(two), len, off;
	const char *why;
	int r;

	(void)state;
	len = (size_t)snprintf(buf, sizeof(buf), "\r\n\r\n%s%s", one, two);
	r = sip_msg_decode(&msg, buf, len, true, &why);
	assert_int_equal(r, SIP_DECODE_OK);
	assert_int_equal(msg.len, 4 + n1);
	assert_pl(&msg.body, "hello");
	assert_pl(&msg.method, "INVITE");
	off = msg.len;
	r = sip_msg_decode(&msg, buf + off, len - off, true, &why);
	assert_int_equal(r, SIP_DECODE_OK);
	assert_int_equal(msg.len, n2);
	assert_pl(&msg.method, "BYE");
	assert_int_equal(off + msg.len, len);

	/* every prefix of the first message is partial, each in its own
	 * exactly sized buffer so that ASan sees any over-read */
	for (size_t k = 0; k < 4 + n1; k++) {
		char *p = malloc(k ? k : 1);

		memcpy(p, buf, k);
		r = sip_msg_decode(&msg, p, k, true, &why);
		if (r != SIP_DECODE_PARTIAL)
			fail_msg("prefix %zu: %d %s", k, r, why ? why : "");
		/* only leading CR/LF may be dropped */
		assert_int_equal(msg.len, k < 4 ? k : 4);
		free(p);
	}
	/* the same bytes as a datagram are framed by Content-Length */
	r = sip_msg_decode(&msg, buf, len, false, &why);
	assert_int_equal(r, SIP_DECODE_OK);
	assert_int_equal(msg.len, 4 + n1);

	/* ping only */
	assert_int_equal(sip_msg_decode(&msg, "\r\n\r\n", 4, true, &why),
			 SIP_DECODE_PARTIAL);
	assert_int_equal(msg.len, 4);
	assert_int_equal(sip_msg_decode(&msg, "", 0, true, &why), SIP_DECODE_PARTIAL);
	assert_int_equal(msg.len, 0);

	/* Content-Length is mandatory on a stream */
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       MIN_HDRS("OPTIONS") "\r\n");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_BAD);
	assert_string_equal(why, "Missing Content-Length header");
	assert_int_equal(msg.len, len);
	/* a bad Content-Length cannot be framed */
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       MIN_HDRS("OPTIONS") "Content-Length: x\r\n\r\nmore");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_BAD);
	assert_int_equal(msg.len, len);
	/* a semantic error in a framed message reports its length */
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       MIN_HDRS("INVITE") "Content-Length: 2\r\n\r\nabNEXT");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_BAD);
	assert_string_equal(why, "CSeq method mismatch");
	assert_int_equal(msg.len, len - 4);
	/* ... but only once it is complete */
	assert_int_equal(sip_msg_decode(&msg, buf, len - 5, true, &why),
			 SIP_DECODE_PARTIAL);
	/* a broken line is reported before the message is complete */
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       "Via SIP/2.0/TCP h\r\nFrom: x");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_BAD);
	assert_string_equal(why, "Malformed header line");
	assert_int_equal(msg.len, len);
	/* a fold across the end of the data waits for more */
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       MIN_HDRS("OPTIONS") "Subject: a\r\n");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_PARTIAL);
	len = (size_t)snprintf(buf, sizeof(buf), "OPTIONS sip:b@example.com SIP/2.0\r\n"
			       MIN_HDRS("OPTIONS") "Subject: a\r\n b\r\nl: 0\r\n\r");
	assert_int_equal(sip_msg_decode(&msg, buf, len, true, &why), SIP_DECODE_PARTIAL);
	assert_int_equal(sip_msg_decode(&msg, buf, len, false, &why), SIP_DECODE_BAD);
}

static void test_rebase(void **state)
{
	static struct sip_msg copy;
	size_t len = strlen(reg);
	char *orig = malloc(len), *nb = malloc(len);
	const char *why;
	struct sip_addr a;
	struct pl v;
	unsigned it = 0;

	(void)state;
	memcpy(orig, reg, len);
	assert_int_equal(sip_msg_decode(&msg, orig, len, false, &why), SIP_DECODE_OK);
	sip_msg_rebase(&copy, &msg, nb);
	memset(orig, 'X', len);
	free(orig);
	memset(&msg, 0, sizeof(msg));

	assert_ptr_equal(copy.buf, nb);
	assert_int_equal(copy.len, len);
	assert_pl(&copy.method, "REGISTER");
	assert_pl(&copy.ruri_raw, "sip:pbx.example.com");
	assert_pl(&copy.ruri.host, "pbx.example.com");
	assert_pl(&copy.ruri.whole, "sip:pbx.example.com");
	assert_pl(&copy.via.branch, "z9hG4bK776asdhds");
	assert_pl(&copy.via.sentby, "192.0.2.10:5060");
	assert_pl(&copy.via.host, "192.0.2.10");
	assert_pl(&copy.via.proto, "UDP");
	assert_pl(&copy.via.params, ";branch=z9hG4bK776asdhds;rport");
	assert_pl(&copy.from.tag, "456248");
	assert_pl(&copy.from.dname, "Alice");
	assert_pl(&copy.from.uri.user, "1001");
	assert_pl(&copy.from.params, ";tag=456248");
	assert_pl(&copy.to.uri.host, "pbx.example.com");
	assert_pl(&copy.callid, "843817637684230@998sdasdh09");
	assert_pl(&copy.cseq.method, "REGISTER");
	assert_true(sip_msg_hdr_next(&copy, SIP_HDR_CONTACT, &it, &v));
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.uri.params, ";transport=udp");
	for (unsigned i = 0; i < copy.hdrc; i++) {
		assert_true(copy.hdrv[i].name.p >= nb && copy.hdrv[i].name.p < nb + len);
		assert_true(copy.hdrv[i].val.p >= nb && copy.hdrv[i].val.p <= nb + len);
	}

	/* in place, into a second buffer; the first can then go */
	orig = malloc(len);
	sip_msg_rebase(&copy, &copy, orig);
	free(nb);
	assert_pl(&copy.via.branch, "z9hG4bK776asdhds");
	assert_pl(&copy.to.whole, "\"Alice\" <sip:1001@pbx.example.com>");
	assert_ptr_equal(copy.buf, orig);
	free(orig);
}

static void test_body_binary(void **state)
{
	static const char s[] = "MESSAGE sip:b@example.com SIP/2.0\r\n" MIN_HDRS("MESSAGE")
		"Content-Length: 6\r\n\r\n\0\r\r\n\0x";
	const char *why;

	(void)state;
	assert_int_equal(sip_msg_decode(&msg, s, sizeof(s) - 1, false, &why),
			 SIP_DECODE_OK);
	assert_int_equal(msg.body.l, 6);
	assert_int_equal(memcmp(msg.body.p, "\0\r\r\n\0x", 6), 0);
	assert_int_equal(sip_msg_decode(&msg, s, sizeof(s) - 1, true, &why),
			 SIP_DECODE_OK);
}

/* The character table must agree with the RFC 3261 sets it encodes. */
static void test_ctype(void **state)
{
	static const char alnum[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static const char mark[] = "-_.!~*'()";
	static const struct {
		unsigned cls;
		const char *extra;
		bool alnum, unreserved;
	} sets[] = {
		{LEX_TOKEN, "-.!%*_+`'~", true, false},
		{LEX_HOST, "-._", true, false},
		{LEX_USER, "%&=+$,;?/", true, true},
		{LEX_PASS, "%&=+$,", true, true},
		{LEX_PARAM, "%[]/:&+$", true, true},
		{LEX_HNV, "%[]/?:+$", true, true},
		{LEX_URIC, "%;/?:@&=+$,", true, true},
		{LEX_SCHEME, "+-.", true, false},
		{LEX_TEL, "0123456789abcdefABCDEF*#+-.()", false, false},
		{LEX_V6, "0123456789abcdefABCDEF:.", false, false},
		{LEX_DIGIT, "0123456789", false, false},
		{LEX_HEX, "0123456789abcdefABCDEF", false, false},
		{LEX_ALPHA, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", false, false},
		{LEX_LWS, " \t\r\n", false, false},
	};

	(void)state;
	for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++) {
		for (int c = 1; c < 256; c++) {
			bool want = strchr(sets[s].extra, c) != NULL ||
				    (sets[s].alnum && strchr(alnum, c)) ||
				    (sets[s].unreserved && strchr(mark, c));

			if (lex_is((char)c, sets[s].cls) != want)
				fail_msg("class %#x, char %#x", sets[s].cls, c);
		}
		assert_false(lex_is('\0', sets[s].cls));
	}
}

/* --- RFC 4475 / RFC 5118 messages from the fuzz seed corpus --- */

static void corpus_ok(const char *name)
{
	const char *why = NULL;
	char *buf;
	int r = dec_file(name, &why, &buf);

	free(buf);
	if (r != SIP_DECODE_OK)
		fail_msg("%s: %d %s", name, r, why ? why : "");
}

static void corpus_bad(const char *name, const char *reason)
{
	const char *why = NULL;
	char *buf;
	int r = dec_file(name, &why, &buf);

	free(buf);
	if (r != SIP_DECODE_BAD || !why || strcmp(why, reason))
		fail_msg("%s: %d \"%s\", want \"%s\"", name, r, why ? why : "", reason);
}

static void test_torture_valid(void **state)
{
	static const char *ok[] = {
		"rfc4475-wsinv", "rfc4475-intmeth", "rfc4475-esc01", "rfc4475-escnull",
		"rfc4475-esc02", "rfc4475-lwsdisp", "rfc4475-longreq", "rfc4475-dblreq",
		"rfc4475-semiuri", "rfc4475-transports", "rfc4475-mpart01",
		"rfc4475-unreason", "rfc4475-noreason", "rfc4475-badbranch",
		"rfc4475-baddate", "rfc4475-regbadct", "rfc4475-bcast", "rfc4475-bext01",
		"rfc4475-cparam01", "rfc4475-cparam02", "rfc4475-inv2543",
		"rfc4475-invut", "rfc4475-novelsc", "rfc4475-regaut01",
		"rfc4475-regescrt", "rfc4475-sdp01", "rfc4475-unkscm", "rfc4475-unksm2",
		"rfc4475-zeromf", "rfc5118-ipv6-good", "rfc5118-ipv6-bug-abnf",
		"rfc5118-ipv6-port", "rfc5118-ipv4-mapped",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		corpus_ok(ok[i]);
}

static void test_torture_invalid(void **state)
{
	(void)state;
	corpus_bad("rfc4475-badinv01", "Malformed Via header");
	corpus_bad("rfc4475-clerr", "Content-Length too large");
	corpus_bad("rfc4475-ncl", "Malformed Content-Length header");
	corpus_bad("rfc4475-scalar02", "Malformed CSeq header");
	corpus_bad("rfc4475-scalarlg", "Malformed CSeq header");
	corpus_bad("rfc4475-quotbal", "Malformed To header");
	corpus_bad("rfc4475-ltgtruri", "Malformed Request-URI");
	corpus_bad("rfc4475-lwsruri", "Malformed request line");
	corpus_bad("rfc4475-lwsstart", "Malformed request line");
	corpus_bad("rfc4475-trws", "Malformed request line");
	corpus_bad("rfc4475-escruri", "Malformed Request-URI");
	corpus_bad("rfc4475-badaspec", "Malformed To header");
	corpus_bad("rfc4475-baddn", "Malformed From header");
	corpus_bad("rfc4475-badvers", "Unsupported SIP version");
	corpus_bad("rfc4475-mismatch01", "CSeq method mismatch");
	corpus_bad("rfc4475-mismatch02", "CSeq method mismatch");
	corpus_bad("rfc4475-bigcode", "Malformed status line");
	corpus_bad("rfc4475-insuf", "Missing From header");
	corpus_bad("rfc4475-mcl01", "Duplicate Content-Length header");
	corpus_bad("rfc4475-multi01", "Duplicate From header");
	corpus_bad("rfc5118-ipv6-no-brackets", "Malformed Request-URI");
	corpus_bad("nul-in-header", "NUL byte in headers");
	corpus_bad("no-colon", "Malformed header line");
	corpus_bad("http-get", "Malformed request line");
	corpus_bad("keepalive", "Empty message");
}

static void test_torture_details(void **state)
{
	const char *why;
	char *buf;
	struct pl v;
	struct sip_addr a;
	struct sip_uri u;
	const struct sip_hdr *h;
	unsigned it;

	(void)state;
	/* wsinv: folding, LWS everywhere, mixed forms, leading zeros */
	assert_int_equal(dec_file("rfc4475-wsinv", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.to.uri.user, "vivekg");
	assert_pl(&msg.to.tag, "1918181833n");
	assert_pl(&msg.from.dname, "J Rosenberg \\\\\\\"");
	assert_pl(&msg.from.tag, "98asjd8");
	assert_int_equal(msg.max_forwards, 68);
	assert_int_equal(msg.cseq.num, 9);
	assert_pl(&msg.cseq.method, "INVITE");
	assert_pl(&msg.via.host, "192.0.2.2");
	assert_pl(&msg.via.branch, "390skdjuw");
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 3);
	assert_int_equal(msg.clen, 150);
	assert_pl(&sip_msg_hdr_name(&msg, "NewFangledHeader")->val,
		  "newfangled value\r\n continued newfangled value");
	assert_pl(&sip_msg_hdr_name(&msg, "UnknownHeaderWithUnusualValue")->val, ";;,,;;,;");
	assert_int_equal(sip_msg_hdr(&msg, SIP_HDR_SUBJECT)->val.l, 0);
	it = 0;
	assert_true(sip_msg_hdr_next(&msg, SIP_HDR_CONTACT, &it, &v));
	assert_int_equal(sip_addr_decode(&a, &v), 0);
	assert_pl(&a.dname, "Quoted string \\\"\\\"");
	assert_true(sip_param_get(&a.params, "newparam", &v));
	assert_pl(&v, "newvalue");
	assert_true(sip_param_get(&a.params, "secondparam", &v));
	assert_int_equal(v.l, 0);
	assert_true(sip_param_get(&a.params, "q", &v));
	assert_pl(&v, "0.33");
	it = 0;
	while (sip_msg_hdr_next(&msg, SIP_HDR_VIA, &it, &v)) {
		struct sip_via via;

		assert_int_equal(sip_via_decode(&via, &v), 0);
	}
	free(buf);

	/* intmeth */
	assert_int_equal(dec_file("rfc4475-intmeth", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.method, "!interesting-Method0123456789_*+`.%indeed'~");
	assert_pl(&msg.ruri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
	assert_pl(&msg.via.branch, "z9hG4bK-.!%66*_+`'~");
	assert_pl(&msg.from.dname, "token1~` token2'+_ token3*%!.-");
	assert_pl(&msg.from.tag, "_token~1'+`*%!-.");
	assert_true(sip_param_get(&msg.from.params, "fromParam''~+*_!.-%", &v));
	assert_pl(&v, "\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9");
	assert_pl(&msg.callid, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
	assert_int_equal(msg.to.dname.l, 20);
	assert_int_equal(msg.cseq.num, 139122385);
	assert_int_equal(msg.max_forwards, 255);
	h = sip_msg_hdr_name(&msg, "extensionHeader-!.%*+_`'~");
	assert_non_null(h);
	assert_pl(&h->val, "\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb");
	free(buf);

	/* esc01: escapes stay in the slices, comparisons unescape */
	assert_int_equal(dec_file("rfc4475-esc01", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.ruri.user, "sips%3Auser%40example.com");
	assert_pl(&msg.to.uri.user, "%75se%72");
	v = pl_from_str("sip:user@example.com");
	assert_int_equal(sip_uri_decode(&u, &v), 0);
	assert_true(sip_uri_equal(&msg.to.uri, &u));
	h = sip_msg_hdr(&msg, SIP_HDR_CONTACT);
	assert_int_equal(sip_addr_decode(&a, &h->val), 0);
	assert_true(sip_param_get(&a.uri.params, "n%61me", &v));
	assert_pl(&v, "v%61lue%25%34%31");
	free(buf);

	/* escnull: two distinct contacts */
	assert_int_equal(dec_file("rfc4475-escnull", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_CONTACT), 2);
	{
		struct sip_addr c1, c2;

		it = 0;
		assert_true(sip_msg_hdr_next(&msg, SIP_HDR_CONTACT, &it, &v));
		assert_int_equal(sip_addr_decode(&c1, &v), 0);
		assert_true(sip_msg_hdr_next(&msg, SIP_HDR_CONTACT, &it, &v));
		assert_int_equal(sip_addr_decode(&c2, &v), 0);
		assert_false(sip_uri_equal(&c1.uri, &c2.uri));
		assert_pl(&c1.uri.user, "%00");
	}
	free(buf);

	/* esc02: C%6Fntact is not Contact */
	assert_int_equal(dec_file("rfc4475-esc02", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_CONTACT), 2);
	assert_pl(&msg.to.dname, "%Z%45");
	free(buf);

	/* longreq: 34 Vias in 34 lines */
	assert_int_equal(dec_file("rfc4475-longreq", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 34);
	assert_pl(&msg.via.host, "sip33.example.com");
	assert_int_equal(msg.to.uri.port, 6000);
	assert_int_equal(msg.from.tag.l, 155);
	free(buf);

	/* dblreq: the INVITE after the REGISTER is noise */
	assert_int_equal(dec_file("rfc4475-dblreq", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.method, "REGISTER");
	assert_int_equal(msg.body.l, 0);
	free(buf);

	/* semiuri and transports */
	assert_int_equal(dec_file("rfc4475-semiuri", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.ruri.user, "user;par=u%40example.net");
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_ACCEPT), 6);
	free(buf);
	assert_int_equal(dec_file("rfc4475-transports", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_msg_hdr_count(&msg, SIP_HDR_VIA), 5);
	free(buf);

	/* mpart01: a binary body framed by Content-Length */
	assert_int_equal(dec_file("rfc4475-mpart01", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(msg.body.l, (size_t)msg.clen);
	assert_int_equal(msg.len, msg.body.p + msg.body.l - buf);
	assert_true(msg.via.rport);
	assert_int_equal(msg.via.port, 5070);
	free(buf);

	/* unreason and noreason */
	assert_int_equal(dec_file("rfc4475-unreason", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(msg.scode, 200);
	assert_int_equal(memcmp(msg.reason.p, "= 2**3 * 5**2 ", 14), 0);
	free(buf);
	assert_int_equal(dec_file("rfc4475-noreason", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(msg.scode, 100);
	assert_int_equal(msg.reason.l, 0);
	free(buf);

	/* regbadct parses, but its Contact is not a valid addr-spec */
	assert_int_equal(dec_file("rfc4475-regbadct", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(&msg, SIP_HDR_CONTACT)->val), EINVAL);
	free(buf);
	/* regescrt: in <> the same URI is fine, headers and all */
	assert_int_equal(dec_file("rfc4475-regescrt", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(&msg, SIP_HDR_CONTACT)->val), 0);
	assert_pl(&a.uri.headers, "Route=%3Csip:sip.example.com%3E");
	free(buf);

	/* badinv01: the Contact's empty params are rejected too */
	assert_int_equal(dec_file("rfc4475-badinv01", &why, &buf), SIP_DECODE_BAD);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(&msg, SIP_HDR_CONTACT)->val), EINVAL);
	free(buf);

	/* scalar02: the out-of-range scalars are each rejected */
	assert_int_equal(dec_file("rfc4475-scalar02", &why, &buf), SIP_DECODE_BAD);
	assert_int_equal(sip_delta_seconds(&sip_msg_hdr(&msg, SIP_HDR_EXPIRES)->val, NULL), EINVAL);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(&msg, SIP_HDR_CONTACT)->val), 0);
	assert_true(sip_param_get(&a.params, "expires", &v));
	assert_int_equal(sip_delta_seconds(&v, NULL), EINVAL);
	assert_pl(&msg.via.branch, "z9hG4bK342sdfoi3");
	free(buf);

	/* bext01, inv2543, unksm2, cparam01 */
	assert_int_equal(dec_file("rfc4475-bext01", &why, &buf), SIP_DECODE_OK);
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_REQUIRE, "nothingSupportsThisEither"));
	assert_true(sip_msg_hdr_has_token(&msg, SIP_HDR_PROXY_REQUIRE, "noProxiesSupportThis"));
	free(buf);
	assert_int_equal(dec_file("rfc4475-inv2543", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(msg.from.tag.l, 0);
	assert_int_equal(msg.via.branch.l, 0);
	assert_int_equal(msg.clen, -1);
	assert_int_equal(msg.body.l, 105);
	assert_true(sip_param_get(&msg.to.params, "user", &v));
	assert_pl(&v, "phone");
	free(buf);
	assert_int_equal(dec_file("rfc4475-unksm2", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.to.uri.whole, "isbn:2983792873");
	assert_pl(&msg.from.uri.whole, "http://www.example.com");
	free(buf);
	assert_int_equal(dec_file("rfc4475-cparam01", &why, &buf), SIP_DECODE_OK);
	assert_int_equal(sip_addr_decode(&a, &sip_msg_hdr(&msg, SIP_HDR_CONTACT)->val), 0);
	assert_true(sip_param_get(&a.params, "unknownparam", NULL));
	assert_false(sip_param_get(&a.uri.params, "unknownparam", NULL));
	free(buf);

	/* RFC 5118 */
	assert_int_equal(dec_file("rfc5118-ipv6-bug-abnf", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.ruri.host, "2001:db8::10:5070");
	assert_int_equal(msg.ruri.port, 0);
	free(buf);
	assert_int_equal(dec_file("rfc5118-ipv6-port", &why, &buf), SIP_DECODE_OK);
	assert_pl(&msg.ruri.host, "2001:db8::10");
	assert_int_equal(msg.ruri.port, 5070);
	assert_pl(&msg.via.received, "2001:db8::9:255");
	assert_pl(&msg.via.rport_val, "5061");
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_invite_sdp),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_compact_and_lookup),
		cmocka_unit_test(test_value_next),
		cmocka_unit_test(test_folding_and_lws),
		cmocka_unit_test(test_lf_only),
		cmocka_unit_test(test_multi_values),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_uri_equal),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_delta_seconds),
		cmocka_unit_test(test_via),
		cmocka_unit_test(test_bad_start_line),
		cmocka_unit_test(test_bad_headers),
		cmocka_unit_test(test_missing_and_malformed),
		cmocka_unit_test(test_bad_keeps_fields),
		cmocka_unit_test(test_datagram_clen),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_rebase),
		cmocka_unit_test(test_body_binary),
		cmocka_unit_test(test_ctype),
		cmocka_unit_test(test_torture_valid),
		cmocka_unit_test(test_torture_invalid),
		cmocka_unit_test(test_torture_details),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
