/*
 * test_flowproxy.c - pbx/flowproxy.c over real loopback sockets: replica
 * "a" holds a phone's flow; a socket playing replica "b" sends requests
 * through it with the Route flowproxy_route() makes, and a socket playing
 * the phone answers.  What crosses each hop is checked: Via, Record-Route,
 * Route, Max-Forwards, the flow's address, CANCEL's branch, responses
 * going back by Via, requests of the dialog from the phone going to b, and
 * the refusals (a forged token, no hops left).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pbx/flowproxy.h"
#include "sip/msg.h"
#include "sip/sa.h"
#include "sip/stack.h"
#include "util/log.h"
#include "util/tmr.h"

struct fix {
	uv_loop_t loop;
	struct tmrq q;
	struct sip_stack *st;
	struct sip_listener *udp;
	struct flowproxy *fp;
	struct sockaddr_in a_addr;     /* replica a's listener */
	int b, phone;                  /* the other replica, the phone */
	struct sockaddr_in b_addr, phone_addr;
	unsigned tu_requests;          /* what a's own PBX would have seen */
};

static void reqh(struct sip_stack *st, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src, void *arg)
{
	struct fix *f = arg;

	f->tu_requests++;
	if (stx)
		sip_stx_reply(stx, 404, NULL, NULL, NULL, NULL, NULL);
}

static int udp_socket(struct sockaddr_in *out)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(*out);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)out, &len), 0);
	return fd;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct hash_key key;

	assert_non_null(f);
	if (!getenv("KV_TEST_LOG"))
		log_set_level(LOG_ERROR);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	assert_int_equal(sip_stack_alloc(&f->st, &f->loop, &f->q, reqh, f), 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sip_transport_listen(sip_stack_transport(f->st), SIP_PROTO_UDP,
					      (struct sockaddr *)&sin, &f->udp), 0);
	memcpy(&f->a_addr, sip_listener_addr(f->udp), sizeof(f->a_addr));
	flowproxy_key("cluster-secret-for-the-test", &key);
	assert_int_equal(flowproxy_alloc(&f->fp, f->st, "a", &key), 0);
	sip_stack_set_proxy_handler(f->st, flowproxy_handle, f->fp);
	f->b = udp_socket(&f->b_addr);
	f->phone = udp_socket(&f->phone_addr);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	close(f->b);
	close(f->phone);
	flowproxy_free(f->fp);
	sip_stack_free(f->st);
	tmrq_close(&f->q);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static void send_to_a(struct fix *f, int fd, const char *text)
{
	assert_int_equal(sendto(fd, text, strlen(text), 0, (const struct sockaddr *)&f->a_addr,
				sizeof(f->a_addr)), (ssize_t)strlen(text));
}

/* The next datagram on fd, the loop turning meanwhile; NULL after 3 s. */
static char *recv_on(struct fix *f, int fd, struct sockaddr_in *from)
{
	static char buf[8192];
	socklen_t len = sizeof(*from);

	for (int i = 0; i < 3000; i++) {
		ssize_t n;

		uv_run(&f->loop, UV_RUN_NOWAIT);
		n = recvfrom(fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)from, &len);
		if (n > 0) {
			buf[n] = '\0';
			return buf;
		}
		poll(NULL, 0, 1);
	}
	return NULL;
}

/* Nothing arrives on fd within ms. */
static void expect_nothing(struct fix *f, int fd, int ms)
{
	char buf[2048];

	for (int i = 0; i < ms; i++) {
		uv_run(&f->loop, UV_RUN_NOWAIT);
		assert_true(recv(fd, buf, sizeof(buf), 0) < 0);
		poll(NULL, 0, 1);
	}
}

static unsigned count_hdr(const struct sip_msg *m, enum sip_hdr_id id)
{
	unsigned it = 0, n = 0;
	struct pl v;

	while (sip_msg_hdr_next(m, id, &it, &v))
		n++;
	return n;
}

static struct pl nth_hdr(const struct sip_msg *m, enum sip_hdr_id id, unsigned k)
{
	unsigned it = 0, n = 0;
	struct pl v = PL_INIT;

	while (sip_msg_hdr_next(m, id, &it, &v))
		if (n++ == k)
			return v;
	return (struct pl)PL_INIT;
}

static bool contains(const struct pl *v, const char *s)
{
	return v->p && memmem(v->p, v->l, s, strlen(s)) != NULL;
}

/* The Route b would put on a request for the phone's flow, held by a. */
static void route_for_phone(struct fix *f, char *route, size_t size)
{
	struct state_replica r;
	struct loc_source flow;
	struct sip_peer hop;

	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "a");
	memcpy(&r.advertise, &f->a_addr, sizeof(f->a_addr));
	r.alive = true;
	memset(&flow, 0, sizeof(flow));
	memcpy(&flow.addr.in, &f->phone_addr, sizeof(f->phone_addr));
	flow.proto = LOC_PROTO_UDP;
	snprintf(flow.replica, sizeof(flow.replica), "a");
	assert_int_equal(flowproxy_route(f->fp, &r, &flow, route, size, &hop), 0);
	assert_true(sip_sa_equal((struct sockaddr *)&hop.addr, (struct sockaddr *)&f->a_addr));
	assert_int_equal(hop.proto, SIP_PROTO_UDP);
}

static const char *invite_fmt =
	"%s sip:1002@192.0.2.99:5062 SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKfromb%s;rport\r\n"
	"Max-Forwards: %d\r\n"
	"Route: %s\r\n"
	"From: \"1001\" <sip:1001@b>;tag=bt\r\n"
	"To: <sip:1002@b>%s\r\n"
	"Call-ID: flow-call@b\r\n"
	"CSeq: %u %s\r\n"
	"Contact: <sip:kubevox@127.0.0.1:%u>\r\n"
	"Content-Length: 0\r\n\r\n";

static void test_invite_through_flow(void **state)
{
	struct fix *f = *state;
	char route[512], req[2048], resp[2048], branch_invite[64];
	struct sockaddr_in from;
	struct sip_msg m;
	struct pl v;
	char *got;

	route_for_phone(f, route, sizeof(route));
	/* b -> a -> phone */
	snprintf(req, sizeof(req), invite_fmt, "INVITE", ntohs(f->b_addr.sin_port), "1", 70,
		 route, "", 1, "INVITE", ntohs(f->b_addr.sin_port));
	send_to_a(f, f->b, req);
	got = recv_on(f, f->phone, &from);
	assert_non_null(got);
	assert_int_equal(from.sin_port, f->a_addr.sin_port);     /* from the flow */
	assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
	assert_true(pl_eq_str(&m.ruri_raw, "sip:1002@192.0.2.99:5062"));
	assert_int_equal(m.max_forwards, 69);
	assert_int_equal(count_hdr(&m, SIP_HDR_ROUTE), 0);
	assert_int_equal(count_hdr(&m, SIP_HDR_VIA), 2);
	assert_true(pl_isset(&m.via.branch) && m.via.branch.l > 10 &&
		    !memcmp(m.via.branch.p, "z9hG4bKkvp", 10));
	pl_strcpy(&m.via.branch, branch_invite, sizeof(branch_invite));
	v = nth_hdr(&m, SIP_HDR_VIA, 1);
	assert_true(contains(&v, "branch=z9hG4bKfromb1"));
	assert_true(contains(&v, ";received=127.0.0.1;rport="));
	/* two entries: the phone's (no token), then b's (the token) */
	assert_int_equal(count_hdr(&m, SIP_HDR_RECORD_ROUTE), 2);
	v = nth_hdr(&m, SIP_HDR_RECORD_ROUTE, 0);
	assert_true(contains(&v, "kvr=a") && !contains(&v, "kvf="));
	v = nth_hdr(&m, SIP_HDR_RECORD_ROUTE, 1);
	assert_true(contains(&v, "kvr=a") && contains(&v, "kvf="));
	assert_int_equal(f->tu_requests, 0);

	/* phone -> a -> b: the 180 goes back by Via, a's Via gone */
	snprintf(resp, sizeof(resp),
		 "SIP/2.0 180 Ringing\r\n%s%.*s\r\nVia: %.*s\r\n"
		 "From: \"1001\" <sip:1001@b>;tag=bt\r\nTo: <sip:1002@b>;tag=pt\r\n"
		 "Call-ID: flow-call@b\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
		 "Via: ", (int)m.via.whole.l, m.via.whole.p,
		 (int)nth_hdr(&m, SIP_HDR_VIA, 1).l, nth_hdr(&m, SIP_HDR_VIA, 1).p);
	sendto(f->phone, resp, strlen(resp), 0, (struct sockaddr *)&f->a_addr, sizeof(f->a_addr));
	got = recv_on(f, f->b, &from);
	assert_non_null(got);
	assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
	assert_int_equal(m.scode, 180);
	assert_int_equal(count_hdr(&m, SIP_HDR_VIA), 1);
	assert_true(pl_eq_str(&m.via.branch, "z9hG4bKfromb1"));

	/* b's CANCEL reaches the phone with the INVITE's branch */
	snprintf(req, sizeof(req), invite_fmt, "CANCEL", ntohs(f->b_addr.sin_port), "1", 70,
		 route, "", 1, "CANCEL", ntohs(f->b_addr.sin_port));
	send_to_a(f, f->b, req);
	got = recv_on(f, f->phone, &from);
	assert_non_null(got);
	assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
	assert_true(sip_msg_is_method(&m, "CANCEL"));
	assert_true(pl_eq_str(&m.via.branch, branch_invite));
	assert_int_equal(count_hdr(&m, SIP_HDR_RECORD_ROUTE), 0);

	/* the phone's BYE in the dialog, with the route set it learnt,
	 * goes to b's Contact */
	{
		char phone_side[256], b_side[512];
		struct pl rr0, rr1;

		snprintf(req, sizeof(req), invite_fmt, "INVITE", ntohs(f->b_addr.sin_port), "2",
			 70, route, "", 1, "INVITE", ntohs(f->b_addr.sin_port));
		send_to_a(f, f->b, req);
		got = recv_on(f, f->phone, &from);
		assert_non_null(got);
		assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
		rr0 = nth_hdr(&m, SIP_HDR_RECORD_ROUTE, 0);
		rr1 = nth_hdr(&m, SIP_HDR_RECORD_ROUTE, 1);
		pl_strcpy(&rr0, phone_side, sizeof(phone_side));
		pl_strcpy(&rr1, b_side, sizeof(b_side));
		snprintf(req, sizeof(req),
			 "BYE sip:kubevox@127.0.0.1:%u SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKphonebye;rport\r\n"
			 "Max-Forwards: 70\r\nRoute: %s, %s\r\n"
			 "From: <sip:1002@b>;tag=pt\r\nTo: \"1001\" <sip:1001@b>;tag=bt\r\n"
			 "Call-ID: flow-call@b\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
			 ntohs(f->b_addr.sin_port), ntohs(f->phone_addr.sin_port),
			 phone_side, b_side);
		send_to_a(f, f->phone, req);
		got = recv_on(f, f->b, &from);
		assert_non_null(got);
		assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
		assert_true(sip_msg_is_method(&m, "BYE"));
		assert_int_equal(count_hdr(&m, SIP_HDR_ROUTE), 0);
		assert_int_equal(count_hdr(&m, SIP_HDR_VIA), 2);
		assert_int_equal(count_hdr(&m, SIP_HDR_RECORD_ROUTE), 0);

		/* and b's BYE, with the reversed set, goes to the phone */
		snprintf(req, sizeof(req),
			 "BYE sip:1002@192.0.2.99:5062 SIP/2.0\r\n"
			 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKbbye;rport\r\n"
			 "Max-Forwards: 70\r\nRoute: %s, %s\r\n"
			 "From: \"1001\" <sip:1001@b>;tag=bt\r\nTo: <sip:1002@b>;tag=pt\r\n"
			 "Call-ID: flow-call@b\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
			 ntohs(f->b_addr.sin_port), b_side, phone_side);
		send_to_a(f, f->b, req);
		got = recv_on(f, f->phone, &from);
		assert_non_null(got);
		assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
		assert_true(sip_msg_is_method(&m, "BYE"));
		assert_int_equal(count_hdr(&m, SIP_HDR_ROUTE), 0);
	}
	assert_int_equal(flowproxy_stats(f->fp)->refused, 0);
	assert_true(flowproxy_stats(f->fp)->requests >= 5);
	assert_int_equal(flowproxy_stats(f->fp)->responses, 1);
	assert_int_equal(f->tu_requests, 0);
}

static void test_refusals(void **state)
{
	struct fix *f = *state;
	char route[512], bad[512], req[2048];
	struct sockaddr_in from;
	struct sip_msg m;
	char *got, *kvf;

	route_for_phone(f, route, sizeof(route));
	/* one character of the token changed: not signed by our cluster */
	snprintf(bad, sizeof(bad), "%s", route);
	kvf = strstr(bad, "kvf=");
	assert_non_null(kvf);
	kvf[6] = kvf[6] == 'A' ? 'B' : 'A';
	snprintf(req, sizeof(req), invite_fmt, "INVITE", ntohs(f->b_addr.sin_port), "x", 70,
		 bad, "", 1, "INVITE", ntohs(f->b_addr.sin_port));
	send_to_a(f, f->b, req);
	got = recv_on(f, f->b, &from);
	assert_non_null(got);
	assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
	assert_int_equal(m.scode, 403);
	expect_nothing(f, f->phone, 50);

	/* no hops left */
	snprintf(req, sizeof(req), invite_fmt, "INVITE", ntohs(f->b_addr.sin_port), "y", 0,
		 route, "", 1, "INVITE", ntohs(f->b_addr.sin_port));
	send_to_a(f, f->b, req);
	got = recv_on(f, f->b, &from);
	assert_non_null(got);
	assert_int_equal(sip_msg_decode(&m, got, strlen(got), false, NULL), 0);
	assert_int_equal(m.scode, 483);
	expect_nothing(f, f->phone, 50);

	/* a Route to another replica's name is not ours: the TU gets it */
	snprintf(bad, sizeof(bad), "<sip:127.0.0.1:%u;lr;kvr=other>", ntohs(f->a_addr.sin_port));
	snprintf(req, sizeof(req), invite_fmt, "INVITE", ntohs(f->b_addr.sin_port), "z", 70,
		 bad, "", 1, "INVITE", ntohs(f->b_addr.sin_port));
	send_to_a(f, f->b, req);
	got = recv_on(f, f->b, &from);
	assert_non_null(got);
	assert_int_equal(f->tu_requests, 1);
	/* a response with our prefix but another MAC is dropped */
	send_to_a(f, f->phone,
		  "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKkvp0000000000000000\r\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\n"
		  "To: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	expect_nothing(f, f->b, 50);
	assert_int_equal(flowproxy_stats(f->fp)->refused, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_invite_through_flow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
