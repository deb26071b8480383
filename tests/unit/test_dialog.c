/*
 * test_dialog.c - dialog state from real messages and the requests built in
 * a dialog (RFC 3261 §12).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <string.h>
#include <uv.h>

#include "sip/dialog.h"
#include "sip/msg.h"
#include "sip/stack.h"
#include "util/tmr.h"

static const char invite[] =
	"INVITE sip:1002@127.0.0.1 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKabc;rport\r\n"
	"Record-Route: <sip:10.9.9.1;lr>\r\n"
	"Record-Route: <sip:10.9.9.2;lr>\r\n"
	"From: \"Alice\" <sip:1001@127.0.0.1>;tag=a1\r\n"
	"To: <sip:1002@127.0.0.1>\r\n"
	"Call-ID: call-1@10.0.0.1\r\n"
	"CSeq: 10 INVITE\r\n"
	"Contact: <sip:1001@10.0.0.1:5062>\r\n"
	"Max-Forwards: 70\r\n"
	"Content-Length: 0\r\n\r\n";

struct fixture {
	uv_loop_t loop;
	struct tmrq q;
	struct sip_stack *st;
	struct sip_peer peer;
};

static void on_req(struct sip_stack *stack, struct sip_stx *stx,
		   const struct sip_msg *req, const struct sip_peer *src, void *arg)
{
}

static int setup(void **state)
{
	static struct fixture f;
	struct sockaddr_in in;

	memset(&f, 0, sizeof(f));
	uv_loop_init(&f.loop);
	tmrq_init(&f.q, &f.loop);
	assert_int_equal(sip_stack_alloc(&f.st, &f.loop, &f.q, on_req, NULL), 0);
	uv_ip4_addr("127.0.0.1", 0, &in);
	assert_int_equal(sip_transport_listen(sip_stack_transport(f.st), SIP_PROTO_UDP,
					      (struct sockaddr *)&in, NULL), 0);
	uv_ip4_addr("127.0.0.1", 5062, (struct sockaddr_in *)&f.peer.addr);
	f.peer.proto = SIP_PROTO_UDP;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sip_stack_free(f->st);
	tmrq_close(&f->q);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	return 0;
}

static void decode(struct sip_msg *m, const char *s)
{
	const char *why = NULL;

	assert_int_equal(sip_msg_decode(m, s, strlen(s), false, &why), 0);
}

static void test_uas_bye(void **state)
{
	struct fixture *f = *state;
	struct sip_msg m;
	struct sip_dialog *d;
	struct sip_peer dst;
	struct sbuf sb;
	const char *s;

	decode(&m, invite);
	assert_int_equal(sip_dialog_uas_alloc(&d, &m, &f->peer, "b2",
					      "sip:kubevox@127.0.0.1:5060"), 0);
	assert_string_equal(d->target, "sip:1001@10.0.0.1:5062");
	assert_string_equal(d->rtag, "a1");
	assert_string_equal(d->lhdr, "<sip:1002@127.0.0.1>;tag=b2");

	sbuf_init(&sb);
	assert_int_equal(sip_dialog_request(d, f->st, "BYE", 0, "z9hG4bKx1", NULL,
					    NULL, NULL, &sb, &dst), 0);
	s = sbuf_cstr(&sb);
	assert_non_null(strstr(s, "BYE sip:1001@10.0.0.1:5062 SIP/2.0\r\n"));
	/* UAS keeps the Record-Route order as received. */
	assert_non_null(strstr(s, "Route: <sip:10.9.9.1;lr>, <sip:10.9.9.2;lr>\r\n"));
	assert_non_null(strstr(s, "From: <sip:1002@127.0.0.1>;tag=b2\r\n"));
	assert_non_null(strstr(s, "To: \"Alice\" <sip:1001@127.0.0.1>;tag=a1\r\n"));
	assert_non_null(strstr(s, "CSeq: 1 BYE\r\n"));
	assert_non_null(strstr(s, "Call-ID: call-1@10.0.0.1\r\n"));
	/* Loose routing: the request goes to the first route hop. */
	assert_int_equal(ntohs(((struct sockaddr_in *)&dst.addr)->sin_port), 5060);
	char ip[32];
	uv_ip4_name((struct sockaddr_in *)&dst.addr, ip, sizeof(ip));
	assert_string_equal(ip, "10.9.9.1");

	/* The next request takes the next CSeq; the built one decodes. */
	sbuf_reset(&sb);
	assert_int_equal(sip_dialog_request(d, f->st, "INVITE", 0, "z9hG4bKx2", NULL,
					    NULL, NULL, &sb, &dst), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "CSeq: 2 INVITE\r\n"));
	assert_non_null(strstr(sbuf_cstr(&sb), "Contact: <sip:kubevox@127.0.0.1:5060>\r\n"));
	struct sip_msg r;
	decode(&r, sbuf_cstr(&sb));
	assert_true(r.req);
	sbuf_free(&sb);
	sip_dialog_free(d);
}

static void test_uas_cseq_order_and_match(void **state)
{
	struct fixture *f = *state;
	struct sip_msg m, bye;
	struct sip_dialog *d;
	char buf[1024];

	decode(&m, invite);
	assert_int_equal(sip_dialog_uas_alloc(&d, &m, &f->peer, "b2", "sip:k@127.0.0.1"), 0);

	snprintf(buf, sizeof(buf),
		 "BYE sip:1002@127.0.0.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKbye\r\n"
		 "From: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>;tag=b2\r\n"
		 "Call-ID: call-1@10.0.0.1\r\nCSeq: %d BYE\r\nContent-Length: 0\r\n\r\n", 9);
	decode(&bye, buf);
	assert_true(sip_dialog_match(d, &bye));
	assert_false(sip_dialog_accept_request(d, &bye));   /* 9 <= 10 */

	snprintf(buf, sizeof(buf),
		 "BYE sip:1002@127.0.0.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKbye2\r\n"
		 "From: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>;tag=zz\r\n"
		 "Call-ID: call-1@10.0.0.1\r\nCSeq: 11 BYE\r\nContent-Length: 0\r\n\r\n");
	decode(&bye, buf);
	assert_false(sip_dialog_match(d, &bye));             /* other To tag */

	snprintf(buf, sizeof(buf),
		 "INVITE sip:1002@127.0.0.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKre\r\n"
		 "From: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>;tag=b2\r\n"
		 "Call-ID: call-1@10.0.0.1\r\nCSeq: 11 INVITE\r\n"
		 "Contact: <sip:1001@10.0.0.7:5099>\r\nContent-Length: 0\r\n\r\n");
	decode(&bye, buf);
	assert_true(sip_dialog_accept_request(d, &bye));
	assert_string_equal(d->target, "sip:1001@10.0.0.7:5099");
	sip_dialog_free(d);
}

static void test_uac(void **state)
{
	struct fixture *f = *state;
	struct sip_dialog *d;
	struct sip_msg r;
	struct sip_peer dst;
	struct sbuf sb;
	static const char ok[] =
		"SIP/2.0 200 OK\r\n"
		"Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKout\r\n"
		"Record-Route: <sip:10.9.9.1;lr>\r\n"
		"Record-Route: <sip:10.9.9.2;lr>\r\n"
		"From: <sip:1001@127.0.0.1>;tag=k1\r\n"
		"To: <sip:1002@127.0.0.1>;tag=p9\r\n"
		"Call-ID: out-1\r\nCSeq: 1 INVITE\r\n"
		"Contact: <sip:1002@10.0.0.2:5064>\r\nContent-Length: 0\r\n\r\n";

	assert_int_equal(sip_dialog_uac_alloc(&d, "out-1", "k1",
					      "<sip:1001@127.0.0.1>;tag=k1",
					      "<sip:1002@127.0.0.1>",
					      "sip:1002@10.0.0.2:5064", 1, &f->peer,
					      "sip:k@127.0.0.1"), 0);
	assert_null(d->rtag);
	decode(&r, ok);
	assert_int_equal(sip_dialog_uac_update(d, &r), 0);
	assert_string_equal(d->rtag, "p9");
	assert_string_equal(d->rhdr, "<sip:1002@127.0.0.1>;tag=p9");

	sbuf_init(&sb);
	assert_int_equal(sip_dialog_request(d, f->st, "ACK", 1, "z9hG4bKack", NULL,
					    NULL, NULL, &sb, &dst), 0);
	/* UAC reverses the Record-Route set. */
	assert_non_null(strstr(sbuf_cstr(&sb), "Route: <sip:10.9.9.2;lr>, <sip:10.9.9.1;lr>\r\n"));
	assert_non_null(strstr(sbuf_cstr(&sb), "CSeq: 1 ACK\r\n"));
	sbuf_reset(&sb);
	assert_int_equal(sip_dialog_request(d, f->st, "BYE", 0, "z9hG4bKbye", NULL,
					    NULL, NULL, &sb, &dst), 0);
	assert_non_null(strstr(sbuf_cstr(&sb), "CSeq: 2 BYE\r\n"));
	assert_non_null(strstr(sbuf_cstr(&sb), "From: <sip:1001@127.0.0.1>;tag=k1\r\n"));
	sbuf_free(&sb);

	/* A response without a To tag cannot establish the dialog. */
	static const char notag[] =
		"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKo\r\n"
		"From: <sip:1001@127.0.0.1>;tag=k1\r\nTo: <sip:1002@127.0.0.1>\r\n"
		"Call-ID: out-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	decode(&r, notag);
	assert_int_equal(sip_dialog_uac_update(d, &r), EBADMSG);
	sip_dialog_free(d);
}

static void test_uas_needs_contact(void **state)
{
	struct fixture *f = *state;
	struct sip_msg m;
	struct sip_dialog *d = NULL;
	static const char nocontact[] =
		"INVITE sip:1002@127.0.0.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKabc\r\n"
		"From: <sip:1001@127.0.0.1>;tag=a1\r\nTo: <sip:1002@127.0.0.1>\r\n"
		"Call-ID: c2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";

	decode(&m, nocontact);
	assert_int_equal(sip_dialog_uas_alloc(&d, &m, &f->peer, "t", "sip:k@h"), EBADMSG);
	assert_null(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uas_bye),
		cmocka_unit_test(test_uas_cseq_order_and_match),
		cmocka_unit_test(test_uac),
		cmocka_unit_test(test_uas_needs_contact),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
