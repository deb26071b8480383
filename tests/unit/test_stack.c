/*
 * test_stack.c - the transaction layer over real loopback sockets: server
 * and client transactions with short timers, response routing (rport,
 * received, sent-by), malformed requests and RFC 2543 matching, and
 * everything a flow gets leaving from the local address it arrived on
 * (a wildcard listener asked on 127.0.0.2 or 127.0.0.3, all loopback).
 *
 * The remote side is a plain socket watched by a uv_poll handle, so the
 * stack, its timers and the peer share one loop.  Every wait has a safety
 * deadline; no assertion depends on how long anything took.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sip/dialog.h"
#include "sip/print.h"
#include "sip/sa.h"
#include "sip/stack.h"
#include "util/log.h"
#include "util/tmr.h"

#define DEADLINE_MS 8000
#define MAX_DGRAMS 16

struct client {
	int fd;
	uv_poll_t poll;
	char buf[65536];
	size_t len;
	unsigned dgrams;
	struct sockaddr_storage src[MAX_DGRAMS];   /* of the first datagrams */
	bool eof;
	struct sockaddr_storage addr;
};

struct fix {
	uv_loop_t loop;
	uv_timer_t deadline;
	bool expired;
	struct tmrq q;
	struct sip_stack *st;
	struct sip_listener *udp, *tcp;
	/* the TU */
	unsigned nreq;
	struct sip_stx *stx;           /* last one handed up */
	struct sip_stx *invite_stx;
	char method[16];
	bool null_stx;
	uint16_t auto_code;            /* answer in the handler when set */
	struct sip_stx *cancel_target;
	char req_via[256];             /* top Via of the stack's request copy */
	struct sockaddr_storage req_local;  /* the last request's local */
	/* client transaction reports */
	unsigned nresp;
	uint16_t codes[16];
	int resp_err;
	bool final;
	struct sip_ctx *ctx;
	bool ack_2xx;
	struct sip_peer ackdst;
	unsigned ack_rc_calls;
};

static void deadline_cb(uv_timer_t *t)
{
	struct fix *f = t->data;

	f->expired = true;
}

#define RUN_UNTIL(f, cond) do {						\
		(f)->expired = false;					\
		uv_timer_start(&(f)->deadline, deadline_cb, DEADLINE_MS, 0); \
		while (!(cond) && !(f)->expired)			\
			uv_run(&(f)->loop, UV_RUN_ONCE);		\
		uv_timer_stop(&(f)->deadline);				\
		assert_true(cond);					\
	} while (0)

/* Turns the loop for ms: whatever was wrongly queued would show up. */
static void run_for(struct fix *f, uint64_t ms)
{
	f->expired = false;
	uv_timer_start(&f->deadline, deadline_cb, ms, 0);
	while (!f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
}

/* ---- TU ---- */

static void reqh(struct sip_stack *st, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src, void *arg)
{
	struct fix *f = arg;
	const struct sip_msg *copy;

	assert_ptr_equal(st, f->st);
	assert_non_null(src);
	f->nreq++;
	f->stx = stx;
	f->null_stx = stx == NULL;
	pl_strcpy(&req->method, f->method, sizeof(f->method));
	f->req_local = src->local;
	if (!stx)
		return;
	copy = sip_stx_request(stx);
	assert_non_null(copy);
	assert_true(pl_eq(&copy->callid, &req->callid));
	pl_strcpy(&copy->via.whole, f->req_via, sizeof(f->req_via));
	assert_ptr_equal(sip_stx_peer(stx)->lst, src->lst);
	assert_memory_equal(&sip_stx_peer(stx)->local, &src->local, sizeof(src->local));
	if (sip_msg_is_method(req, "INVITE"))
		f->invite_stx = stx;
	if (sip_msg_is_method(req, "CANCEL"))
		f->cancel_target = sip_stack_cancel_target(st, req);
	if (f->auto_code)
		assert_int_equal(sip_stx_reply(stx, f->auto_code, NULL, NULL, NULL, NULL, NULL), 0);
}

static void resph(int err, const struct sip_msg *resp, void *arg)
{
	struct fix *f = arg;
	static const char ack[] = "ACK sip:srv@127.0.0.1 SIP/2.0\r\nX-Ack: 2xx\r\n\r\n";

	if (f->nresp < 16)
		f->codes[f->nresp] = resp ? resp->scode : 0;
	f->nresp++;
	f->resp_err = err;
	if (err || !resp || resp->scode >= 200)
		f->final = true;
	if (f->ack_2xx && resp && resp->scode >= 200 && resp->scode < 300) {
		assert_int_equal(sip_ctx_ack(f->ctx, &f->ackdst, ack, strlen(ack)), 0);
		f->ack_rc_calls++;
	}
}

/* ---- fixture ---- */

static struct sip_listener *listen_on(struct fix *f, enum sip_proto proto, int af, bool any)
{
	struct sockaddr_storage ss;
	struct sip_listener *l = NULL;

	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_addr = any ? in6addr_any : in6addr_loopback;
	}
	assert_int_equal(sip_transport_listen(sip_stack_transport(f->st), proto,
					      (struct sockaddr *)&ss, &l), 0);
	return l;
}

static int devnull = -1;

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	/* Log at debug level so every log line's format is exercised, but
	 * out of sight unless KV_TEST_LOG is set. */
	if (!getenv("KV_TEST_LOG") && devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		log_set_fd(devnull);
	}
	log_set_level(LOG_DEBUG);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->deadline), 0);
	f->deadline.data = f;
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	assert_int_equal(sip_stack_alloc(&f->st, &f->loop, &f->q, reqh, f), 0);
	/* 64*T1 = 640 ms: timers B, F, H, J, L finish quickly. */
	sip_stack_set_timers(f->st, 10, 40, 30);
	f->udp = listen_on(f, SIP_PROTO_UDP, AF_INET, false);
	f->tcp = listen_on(f, SIP_PROTO_TCP, AF_INET, false);
	*state = f;
	return 0;
}

static void client_close_cb(uv_handle_t *h);

/* A failed test leaves its peer sockets open: close them here so the
 * loop can still be checked for leaked handles. */
static void close_leftover(uv_handle_t *h, void *arg)
{
	if (h->type == UV_POLL && !uv_is_closing(h))
		uv_close(h, client_close_cb);
}

static int teardown(void **state)
{
	struct fix *f = *state;

	/* The stack first: its own poll handles are closing by the time the
	 * walk looks for the test's leftover clients. */
	sip_stack_free(f->st);
	uv_walk(&f->loop, close_leftover, NULL);
	tmrq_close(&f->q);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* ---- peer sockets ---- */

static void client_poll_cb(uv_poll_t *p, int status, int events)
{
	struct client *c = p->data;

	for (;;) {
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		ssize_t n;

		memset(&src, 0, sizeof(src));
		n = recvfrom(c->fd, c->buf + c->len, sizeof(c->buf) - c->len - 1, MSG_DONTWAIT,
			     (struct sockaddr *)&src, &slen);
		if (n > 0) {
			if (c->dgrams < MAX_DGRAMS)
				c->src[c->dgrams] = src;
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
			c->dgrams++;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			uv_poll_stop(p);
		}
		return;
	}
}

static socklen_t sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static uint16_t sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

/* IPv4 ip:port as an address. */
static struct sockaddr_storage at(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *in = (struct sockaddr_in *)&ss;

	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &in->sin_addr), 1);
	return ss;
}

static void client_watch(struct fix *f, struct client *c)
{
	socklen_t len = sizeof(c->addr);

	assert_int_equal(getsockname(c->fd, (struct sockaddr *)&c->addr, &len), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(uv_poll_init(&f->loop, &c->poll, c->fd), 0);
	c->poll.data = c;
	assert_int_equal(uv_poll_start(&c->poll, UV_READABLE, client_poll_cb), 0);
}

static struct client *client_udp(struct fix *f)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_in in;

	assert_non_null(c);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(bind(c->fd, (struct sockaddr *)&in, sizeof(in)), 0);
	client_watch(f, c);
	return c;
}

static struct client *client_tcp(struct fix *f, const struct sockaddr *to)
{
	struct client *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->fd = socket(to->sa_family, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, to, sa_len(to)), 0);
	client_watch(f, c);
	return c;
}

static void client_close_cb(uv_handle_t *h)
{
	struct client *c = h->data;

	close(c->fd);
	free(c);
}

static void client_free(struct client *c)
{
	uv_close((uv_handle_t *)&c->poll, client_close_cb);
}

static uint16_t client_port(const struct client *c)
{
	return sa_port((const struct sockaddr *)&c->addr);
}

static void client_send(struct client *c, const struct sockaddr *to, const char *s)
{
	if (to)
		assert_int_equal(sendto(c->fd, s, strlen(s), 0, to, sa_len(to)), (ssize_t)strlen(s));
	else
		assert_int_equal(send(c->fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

static unsigned count(const struct client *c, const char *s)
{
	const char *p = c->buf, *end = c->buf + c->len;
	unsigned n = 0;

	while ((p = memmem(p, (size_t)(end - p), s, strlen(s)))) {
		n++;
		p += strlen(s);
	}
	return n;
}

static bool has(const struct client *c, const char *s)
{
	return count(c, s) > 0;
}

/* The first To tag in the buffer (a 100 Trying has none). */
static void first_totag(const struct client *c, char *tag, size_t size)
{
	const char *to = c->buf;

	while ((to = strstr(to, "\r\nTo: "))) {
		const char *eol = strstr(to + 2, "\r\n"), *t = strstr(to, ";tag="), *e;

		to += 2;
		if (!t || !eol || t > eol)
			continue;
		t += 5;
		e = t + strcspn(t, "\r\n;>");
		assert_true((size_t)(e - t) < size);
		memcpy(tag, t, (size_t)(e - t));
		tag[e - t] = '\0';
		return;
	}
	fail_msg("no To tag in %s", c->buf);
}

static const struct sockaddr *udp_addr(const struct fix *f)
{
	return sip_listener_addr(f->udp);
}

static char *req_text(const char *method, const char *via, const char *callid,
		      unsigned cseq, const char *totag, const char *extra)
{
	char *s = malloc(2048);

	assert_non_null(s);
	snprintf(s, 2048,
		 "%s sip:kv@127.0.0.1 SIP/2.0\r\n"
		 "Via: %s\r\n"
		 "From: <sip:alice@127.0.0.1>;tag=ft1\r\n"
		 "To: <sip:kv@127.0.0.1>%s%s\r\n"
		 "Call-ID: %s\r\n"
		 "CSeq: %u %s\r\n"
		 "Max-Forwards: 70\r\n"
		 "%s"
		 "Content-Length: 0\r\n\r\n",
		 method, via, totag ? ";tag=" : "", totag ? totag : "", callid, cseq,
		 method, extra ? extra : "");
	return s;
}

static char *via_of(const struct client *c, const char *branch, bool rport)
{
	char *s = malloc(256);

	assert_non_null(s);
	snprintf(s, 256, "SIP/2.0/UDP 127.0.0.1:%u%s%s%s", client_port(c),
		 branch ? ";branch=" : "", branch ? branch : "", rport ? ";rport" : "");
	return s;
}

/* ---- server transactions ---- */

static void test_nist_retransmissions(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKn1", true);
	char *req = req_text("OPTIONS", via, "nist-1", 1, NULL, NULL);
	char exp[128], first[4096];
	size_t len1;

	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, f->nreq == 1);
	assert_non_null(f->stx);
	assert_string_equal(f->method, "OPTIONS");
	assert_int_equal(sip_stack_stats(f->st)->stx_active, 1);
	/* Retransmissions in Trying are absorbed silently. */
	client_send(c, udp_addr(f), req);
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, sip_stack_stats(f->st)->retransmissions_absorbed == 2);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(c->len, 0);

	/* The stack's copy carries rport and received (RFC 3581). */
	snprintf(exp, sizeof(exp), ";rport=%u;received=127.0.0.1", client_port(c));
	assert_non_null(strstr(f->req_via, exp));

	assert_int_equal(sip_stx_reply(f->stx, 200, NULL, NULL, "X-Test: 1\r\n", NULL, NULL), 0);
	assert_null(sip_stx_request(f->stx));
	assert_int_equal(sip_stx_reply(f->stx, 200, NULL, NULL, NULL, NULL, NULL), EINVAL);
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(has(c, "SIP/2.0 200 OK\r\n"));
	assert_true(has(c, exp));
	assert_true(has(c, "X-Test: 1\r\n"));
	assert_true(has(c, ";tag="));
	len1 = c->len;
	memcpy(first, c->buf, len1);

	/* Completed: the same bytes again. */
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, c->dgrams == 2);
	assert_int_equal(c->len, 2 * len1);
	assert_memory_equal(c->buf + len1, first, len1);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(sip_stack_stats(f->st)->retransmissions_absorbed, 3);

	/* Timer J ends it. */
	RUN_UNTIL(f, sip_stack_stats(f->st)->stx_active == 0);
	free(req);
	free(via);
	client_free(c);
}

static void test_nist_tcp(void **state)
{
	struct fix *f = *state;
	struct client *c = client_tcp(f, sip_listener_addr(f->tcp));
	char *req = req_text("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKtcp1;rport",
			     "tcp-1", 1, NULL, NULL);

	f->auto_code = 200;
	client_send(c, NULL, req);
	RUN_UNTIL(f, has(c, "\r\n\r\n"));
	assert_true(has(c, "SIP/2.0 200 OK"));
	assert_true(has(c, ";received=127.0.0.1"));
	/* Timer J is 0 over TCP. */
	RUN_UNTIL(f, sip_stack_stats(f->st)->stx_active == 0);
	free(req);
	client_free(c);
}

static void test_provisional_then_retransmission(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKp1", false);
	char *req = req_text("SUBSCRIBE", via, "prov-1", 7, NULL, "Event: presence\r\n");

	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, f->nreq == 1);
	assert_int_equal(sip_stx_reply(f->stx, 183, "Hold On", NULL, NULL, NULL, NULL), 0);
	RUN_UNTIL(f, c->dgrams == 1);
	/* Proceeding: a retransmission gets the provisional again. */
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, c->dgrams == 2);
	assert_int_equal(count(c, "SIP/2.0 183 Hold On"), 2);
	assert_int_equal(sip_stx_reply(f->stx, 202, NULL, NULL, NULL, NULL, NULL), 0);
	RUN_UNTIL(f, c->dgrams == 3);
	assert_true(has(c, "SIP/2.0 202 Accepted"));
	assert_int_equal(sip_stx_reply(f->stx, 99, NULL, NULL, NULL, NULL, NULL), EINVAL);
	free(req);
	free(via);
	client_free(c);
}

static void test_ist_486_until_ack(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKi1", true);
	char *inv = req_text("INVITE", via, "ist-1", 1, NULL, NULL);
	char tag[64], *ack;
	unsigned n;

	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, has(c, "SIP/2.0 100 Trying\r\n"));
	assert_int_equal(f->nreq, 1);
	assert_non_null(f->invite_stx);
	/* 100 Trying carries no To tag. */
	assert_true(has(c, "\r\nTo: <sip:kv@127.0.0.1>\r\n"));
	/* In Proceeding a retransmitted INVITE gets the 100 again. */
	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, count(c, "SIP/2.0 100 Trying") == 2);

	assert_int_equal(sip_stx_reply(f->invite_stx, 486, NULL, NULL, NULL, NULL, NULL), 0);
	/* Timer G: the 486 is retransmitted until the ACK. */
	RUN_UNTIL(f, count(c, "SIP/2.0 486 Busy Here") >= 3);
	first_totag(c, tag, sizeof(tag));
	ack = req_text("ACK", via, "ist-1", 1, tag, NULL);
	client_send(c, udp_addr(f), ack);
	/* Confirmed, then timer I ends the transaction. */
	RUN_UNTIL(f, sip_stack_stats(f->st)->stx_active == 0);
	assert_int_equal(f->nreq, 1);
	n = count(c, "SIP/2.0 486 Busy Here");
	run_for(f, 150);
	assert_int_equal(count(c, "SIP/2.0 486 Busy Here"), n);
	free(ack);
	free(inv);
	free(via);
	client_free(c);
}

static void test_ist_2xx_and_ack(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKi2", true);
	char *via2 = via_of(c, "z9hG4bKi2ack", true);
	char *inv = req_text("INVITE", via, "ist-2", 5, NULL, NULL);
	char tag[64], *ack;
	uint64_t absorbed;
	unsigned n;

	f->auto_code = 200;
	client_send(c, udp_addr(f), inv);
	/* Answered within the handler: no 100, and the 2xx is resent. */
	RUN_UNTIL(f, count(c, "SIP/2.0 200 OK") >= 2);
	assert_false(has(c, "100 Trying"));
	assert_int_equal(f->nreq, 1);
	/* RFC 6026 Accepted: an INVITE retransmission is absorbed. */
	absorbed = sip_stack_stats(f->st)->retransmissions_absorbed;
	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, sip_stack_stats(f->st)->retransmissions_absorbed == absorbed + 1);
	assert_int_equal(f->nreq, 1);

	/* The ACK for a 2xx has its own branch and goes to the TU. */
	first_totag(c, tag, sizeof(tag));
	ack = req_text("ACK", via2, "ist-2", 5, tag, NULL);
	client_send(c, udp_addr(f), ack);
	RUN_UNTIL(f, f->nreq == 2);
	assert_true(f->null_stx);
	assert_string_equal(f->method, "ACK");
	/* Timer L ends it; no 2xx after the ACK was handled. */
	RUN_UNTIL(f, sip_stack_stats(f->st)->stx_active == 0);
	n = count(c, "SIP/2.0 200 OK");
	run_for(f, 100);
	assert_int_equal(count(c, "SIP/2.0 200 OK"), n);
	free(ack);
	free(inv);
	free(via);
	free(via2);
	client_free(c);
}

static void test_cancel(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKc1", false);
	char *inv = req_text("INVITE", via, "cancel-1", 1, NULL, NULL);
	char *cancel = req_text("CANCEL", via, "cancel-1", 1, NULL, NULL);
	struct sip_stx *inv_stx;

	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, f->nreq == 1);
	inv_stx = f->invite_stx;
	client_send(c, udp_addr(f), cancel);
	RUN_UNTIL(f, f->nreq == 2);
	assert_string_equal(f->method, "CANCEL");
	/* Same branch, own transaction; the CANCEL finds its INVITE. */
	assert_ptr_not_equal(f->stx, inv_stx);
	assert_ptr_equal(f->cancel_target, inv_stx);
	assert_int_equal(sip_stack_stats(f->st)->stx_active, 2);
	assert_int_equal(sip_stx_reply(f->stx, 200, NULL, NULL, NULL, NULL, NULL), 0);
	assert_int_equal(sip_stx_reply(inv_stx, 487, NULL, NULL, NULL, NULL, NULL), 0);
	RUN_UNTIL(f, has(c, "SIP/2.0 487") && has(c, "CSeq: 1 CANCEL"));
	free(cancel);
	free(inv);
	free(via);
	client_free(c);
}

static void test_ack_without_transaction(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKlone", false);
	char *ack = req_text("ACK", via, "lone-ack", 1, "xyz", NULL);

	client_send(c, udp_addr(f), ack);
	RUN_UNTIL(f, f->nreq == 1);
	assert_true(f->null_stx);
	assert_int_equal(sip_stack_stats(f->st)->stx_active, 0);
	free(ack);
	free(via);
	client_free(c);
}

/* ---- response routing ---- */

static void test_route_rport(void **state)
{
	struct fix *f = *state;
	struct client *a = client_udp(f);
	char *req = req_text("OPTIONS", "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKr1;rport",
			     "route-1", 1, NULL, NULL);
	char exp[128];

	f->auto_code = 200;
	client_send(a, udp_addr(f), req);
	/* Port 9 is in the Via, but rport sends to the source port. */
	RUN_UNTIL(f, a->dgrams == 1);
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKr1;rport=%u;received=127.0.0.1\r\n",
		 client_port(a));
	assert_true(has(a, exp));
	free(req);
	client_free(a);
}

static void test_route_sentby_port(void **state)
{
	struct fix *f = *state;
	struct client *a = client_udp(f), *b = client_udp(f);
	char *via = via_of(b, "z9hG4bKr2", false);
	char *req = req_text("OPTIONS", via, "route-2", 1, NULL, NULL);
	char exp[128];

	f->auto_code = 200;
	client_send(a, udp_addr(f), req);
	RUN_UNTIL(f, b->dgrams == 1);
	assert_int_equal(a->dgrams, 0);
	/* The sent-by host is the source address: no received. */
	snprintf(exp, sizeof(exp), "Via: %s\r\n", via);
	assert_true(has(b, exp));
	free(req);
	free(via);
	client_free(a);
	client_free(b);
}

static void test_route_received(void **state)
{
	struct fix *f = *state;
	struct client *a = client_udp(f), *b = client_udp(f);
	char via[128], exp[160], *req;

	snprintf(via, sizeof(via), "SIP/2.0/UDP 192.0.2.7:%u;branch=z9hG4bKr3", client_port(b));
	req = req_text("OPTIONS", via, "route-3", 1, NULL, NULL);
	f->auto_code = 200;
	client_send(a, udp_addr(f), req);
	/* Source address, sent-by port. */
	RUN_UNTIL(f, b->dgrams == 1);
	snprintf(exp, sizeof(exp), "Via: %s;received=127.0.0.1\r\n", via);
	assert_true(has(b, exp));
	free(req);
	client_free(a);
	client_free(b);
}

static void test_response_dest_rules(void **state)
{
	struct sip_peer src, dst;
	struct sip_msg m;
	struct sockaddr_in *in;
	const char *why = NULL;
	const char *maddr = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h.example:5070;maddr=192.0.2.9;branch=z9hG4bKm\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: m\r\nCSeq: 1 OPTIONS\r\n\r\n";
	const char *maddr6 = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h.example;maddr=2001:db8::9;branch=z9hG4bKm6\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: m6\r\nCSeq: 1 OPTIONS\r\n\r\n";
	const char *tcp = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h.example;branch=z9hG4bKt;rport\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: t\r\nCSeq: 1 OPTIONS\r\n\r\n";

	memset(&src, 0, sizeof(src));
	in = (struct sockaddr_in *)&src.addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(40000);
	in->sin_addr.s_addr = htonl(0x7f000001);
	src.proto = SIP_PROTO_UDP;

	src.local = at("127.0.0.2", 5060);

	assert_int_equal(sip_msg_decode(&m, maddr, strlen(maddr), false, &why), 0);
	sip_stack_response_dest(&m, &src, &dst);
	in = (struct sockaddr_in *)&dst.addr;
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0xc0000209);
	assert_int_equal(ntohs(in->sin_port), 5070);
	/* Still from the address the request came to... */
	assert_true(sip_sa_equal((struct sockaddr *)&dst.local, (struct sockaddr *)&src.local));
	/* ...unless maddr is of the other family. */
	assert_int_equal(sip_msg_decode(&m, maddr6, strlen(maddr6), false, &why), 0);
	sip_stack_response_dest(&m, &src, &dst);
	assert_int_equal(dst.addr.ss_family, AF_INET6);
	assert_int_equal(dst.local.ss_family, AF_UNSPEC);

	/* TCP: the connection; its fallback is the source IP, sent-by port. */
	src.proto = SIP_PROTO_TCP;
	src.conn_id = 7;
	assert_int_equal(sip_msg_decode(&m, tcp, strlen(tcp), false, &why), 0);
	sip_stack_response_dest(&m, &src, &dst);
	in = (struct sockaddr_in *)&dst.addr;
	assert_int_equal(dst.conn_id, 7);
	assert_int_equal(dst.proto, SIP_PROTO_TCP);
	assert_int_equal(ntohl(in->sin_addr.s_addr), 0x7f000001);
	assert_int_equal(ntohs(in->sin_port), 5060);
}

/* ---- malformed input ---- */

static void test_malformed_gets_400(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKbad1", true);
	char *req = req_text("OPTIONS", via, "bad-1", 1, NULL, "Max-Forwards: abc\r\n");

	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(has(c, "SIP/2.0 400 Bad Request\r\n"));
	assert_true(has(c, "Warning: 399 kubevox \""));
	assert_true(has(c, "Call-ID: bad-1\r\n"));
	assert_int_equal(f->nreq, 0);
	assert_int_equal(sip_stack_stats(f->st)->parse_errors, 1);
	assert_int_equal(sip_stack_stats(f->st)->stx_active, 0);
	free(req);
	free(via);
	client_free(c);
}

static void test_malformed_version_gets_505(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKbad2", true);
	char *req = req_text("OPTIONS", via, "bad-2", 1, NULL, NULL);
	char *v = strstr(req, "SIP/2.0\r\n");

	v[4] = '3';
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(has(c, "SIP/2.0 505 Version Not Supported\r\n"));
	assert_int_equal(f->nreq, 0);
	free(req);
	free(via);
	client_free(c);
}

static void test_malformed_dropped(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKbad3", true);
	char *bad = req_text("OPTIONS", via, "gone", 1, NULL, NULL);
	char *good = req_text("OPTIONS", via, "good-3", 2, NULL, NULL);
	char *cid = strstr(bad, "Call-ID: gone\r\n");
	const char *resp = "SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n";

	/* Without a Call-ID no response can be built: dropped. */
	memcpy(cid, "X-Nothing", 9);
	client_send(c, udp_addr(f), bad);
	/* A malformed response is dropped too. */
	client_send(c, udp_addr(f), resp);
	f->auto_code = 200;
	client_send(c, udp_addr(f), good);
	/* Datagrams are handled in order: a 400 would have come first. */
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(has(c, "Call-ID: good-3"));
	assert_false(has(c, "400"));
	assert_int_equal(f->nreq, 1);
	assert_int_equal(sip_stack_stats(f->st)->parse_errors, 2);
	free(bad);
	free(good);
	free(via);
	client_free(c);
}

static void test_malformed_tcp_400_then_close(void **state)
{
	struct fix *f = *state;
	struct client *c = client_tcp(f, sip_listener_addr(f->tcp));
	char *req = req_text("OPTIONS", "SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bKbt",
			     "bad-tcp", 1, NULL, "Max-Forwards: -1\r\n");

	client_send(c, NULL, req);
	RUN_UNTIL(f, c->eof);
	assert_true(has(c, "SIP/2.0 400 Bad Request"));
	free(req);
	client_free(c);
}

/* ---- RFC 2543 ---- */

static void test_rfc2543_matching(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, NULL, false);
	char *req = req_text("OPTIONS", via, "old-1", 1, NULL, NULL);
	char *inv = req_text("INVITE", via, "old-2", 1, NULL, NULL);
	char first[4096], tag[64], *ack;
	uint64_t absorbed;
	size_t len1;

	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, f->nreq == 1);
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, sip_stack_stats(f->st)->retransmissions_absorbed == 1);
	assert_int_equal(f->nreq, 1);
	assert_int_equal(sip_stx_reply(f->stx, 200, NULL, NULL, NULL, NULL, NULL), 0);
	RUN_UNTIL(f, c->dgrams == 1);
	len1 = c->len;
	memcpy(first, c->buf, len1);
	client_send(c, udp_addr(f), req);
	RUN_UNTIL(f, c->dgrams == 2);
	assert_memory_equal(c->buf + len1, first, len1);

	/* An INVITE without branch: its ACK matches by To tag and is absorbed. */
	c->len = 0;
	c->buf[0] = '\0';
	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, f->nreq == 2);
	assert_int_equal(sip_stx_reply(f->invite_stx, 603, NULL, NULL, NULL, NULL, NULL), 0);
	RUN_UNTIL(f, has(c, "SIP/2.0 603"));
	first_totag(c, tag, sizeof(tag));
	absorbed = sip_stack_stats(f->st)->retransmissions_absorbed;
	ack = req_text("ACK", via, "old-2", 1, tag, NULL);
	client_send(c, udp_addr(f), ack);
	RUN_UNTIL(f, sip_stack_stats(f->st)->retransmissions_absorbed == absorbed + 1);
	assert_int_equal(f->nreq, 2);
	/* An ACK with another To tag is not ours: it goes to the TU. */
	free(ack);
	ack = req_text("ACK", via, "old-2", 1, "other", NULL);
	client_send(c, udp_addr(f), ack);
	RUN_UNTIL(f, f->nreq == 3);
	assert_true(f->null_stx);
	RUN_UNTIL(f, sip_stack_stats(f->st)->stx_active == 0);
	free(ack);
	free(inv);
	free(req);
	free(via);
	client_free(c);
}

/* ---- client transactions ---- */

static char *ctx_request(struct fix *f, const char *method, const struct sip_peer *dst,
			 char *branch, size_t bsize)
{
	struct sbuf sb;
	char *s;

	sip_stack_new_branch(f->st, branch, bsize);
	sbuf_init(&sb);
	sbuf_printf(&sb, "%s sip:srv@127.0.0.1 SIP/2.0\r\n", method);
	assert_int_equal(sip_stack_print_via(f->st, &sb, dst, branch), 0);
	sbuf_printf(&sb, "Route: <sip:proxy.example;lr>\r\n"
		    "From: <sip:kv@127.0.0.1>;tag=ctx1\r\nTo: <sip:srv@127.0.0.1>\r\n"
		    "Call-ID: ctx-%s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n"
		    "Content-Length: 0\r\n\r\n", branch, method);
	assert_false(sbuf_err(&sb));
	s = strdup(sbuf_cstr(&sb));
	sbuf_free(&sb);
	return s;
}

static void peer_of(const struct client *c, struct sip_peer *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(&p->addr, &c->addr, sizeof(struct sockaddr_in));
	p->proto = SIP_PROTO_UDP;
}

static void respond_to(struct fix *f, struct client *srv, const struct sockaddr *to,
		       const char *branch, const char *method, const char *status,
		       const char *totag)
{
	char s[1024];
	uint16_t port = sa_port(udp_addr(f));

	snprintf(s, sizeof(s),
		 "SIP/2.0 %s\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=%s;rport=%u;received=127.0.0.1\r\n"
		 "From: <sip:kv@127.0.0.1>;tag=ctx1\r\nTo: <sip:srv@127.0.0.1>%s%s\r\n"
		 "Call-ID: ctx-%s\r\nCSeq: 1 %s\r\nContent-Length: 0\r\n\r\n",
		 status, port, branch, port, totag ? ";tag=" : "", totag ? totag : "",
		 branch, method);
	client_send(srv, to, s);
}

static void respond(struct fix *f, struct client *srv, const char *branch,
		    const char *method, const char *status, const char *totag)
{
	respond_to(f, srv, udp_addr(f), branch, method, status, totag);
}

static void test_nict_retransmit_until_response(void **state)
{
	struct fix *f = *state;
	struct client *srv = client_udp(f);
	struct sip_peer dst;
	char branch[64], exp[160], *req;
	unsigned n;

	peer_of(srv, &dst);
	req = ctx_request(f, "OPTIONS", &dst, branch, sizeof(branch));
	assert_int_equal(strncmp(branch, "z9hG4bK", 7), 0);
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=%s;rport\r\n",
		 sa_port(udp_addr(f)), branch);
	assert_non_null(strstr(req, exp));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	/* A second transaction with the same branch is refused. */
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, req, strlen(req), resph, f), EEXIST);
	assert_int_equal(sip_stack_stats(f->st)->ctx_active, 1);
	/* Timer E retransmits over UDP. */
	RUN_UNTIL(f, srv->dgrams >= 3);
	assert_int_equal(count(srv, "OPTIONS sip:srv@127.0.0.1"), srv->dgrams);
	assert_int_equal(f->nresp, 0);
	respond(f, srv, branch, "OPTIONS", "100 Trying", NULL);
	RUN_UNTIL(f, f->nresp == 1);
	assert_int_equal(f->codes[0], 100);
	respond(f, srv, branch, "OPTIONS", "200 OK", "s1");
	RUN_UNTIL(f, f->final);
	assert_int_equal(f->codes[1], 200);
	assert_int_equal(f->resp_err, 0);
	/* Completed absorbs a retransmitted 200; timer K ends it. */
	respond(f, srv, branch, "OPTIONS", "200 OK", "s1");
	RUN_UNTIL(f, sip_stack_stats(f->st)->ctx_active == 0);
	assert_int_equal(f->nresp, 2);
	n = srv->dgrams;
	run_for(f, 100);
	assert_int_equal(srv->dgrams, n);
	free(req);
	client_free(srv);
}

static void test_nict_timeout(void **state)
{
	struct fix *f = *state;
	struct client *srv = client_udp(f);
	struct sip_peer dst;
	char branch[64], *req;

	peer_of(srv, &dst);
	req = ctx_request(f, "MESSAGE", &dst, branch, sizeof(branch));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	RUN_UNTIL(f, f->final);
	assert_int_equal(f->nresp, 1);
	assert_int_equal(f->resp_err, ETIMEDOUT);
	assert_int_equal(f->codes[0], 0);
	assert_int_equal(sip_stack_stats(f->st)->ctx_active, 0);
	/* Capped at T2: many retransmissions within 64*T1. */
	assert_true(srv->dgrams > 5);
	free(req);
	client_free(srv);
}

static void test_nict_abandon(void **state)
{
	struct fix *f = *state;
	struct client *srv = client_udp(f);
	struct sip_peer dst;
	char branch[64], *req;

	peer_of(srv, &dst);
	req = ctx_request(f, "OPTIONS", &dst, branch, sizeof(branch));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	sip_ctx_abandon(f->ctx);
	respond(f, srv, branch, "OPTIONS", "200 OK", "s1");
	RUN_UNTIL(f, sip_stack_stats(f->st)->ctx_active == 0);
	assert_int_equal(f->nresp, 0);
	free(req);
	client_free(srv);
}

static void test_ict_180_486_ack(void **state)
{
	struct fix *f = *state;
	struct client *srv = client_udp(f);
	struct sip_peer dst;
	char branch[64], exp[128], *req, *ack;

	peer_of(srv, &dst);
	req = ctx_request(f, "INVITE", &dst, branch, sizeof(branch));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	/* Timer A. */
	RUN_UNTIL(f, srv->dgrams >= 2);
	respond(f, srv, branch, "INVITE", "180 Ringing", "callee");
	RUN_UNTIL(f, f->nresp == 1);
	assert_int_equal(f->codes[0], 180);
	srv->len = 0;
	srv->dgrams = 0;
	respond(f, srv, branch, "INVITE", "486 Busy Here", "callee");
	RUN_UNTIL(f, f->final && has(srv, "ACK "));
	assert_int_equal(f->codes[1], 486);
	assert_int_equal(f->nresp, 2);
	/* The stack's ACK: same branch, To with the tag, CSeq ACK, Route kept. */
	ack = strstr(srv->buf, "ACK ");
	assert_non_null(ack);
	assert_int_equal(strncmp(ack, "ACK sip:srv@127.0.0.1 SIP/2.0\r\n", 31), 0);
	snprintf(exp, sizeof(exp), ";branch=%s;rport\r\n", branch);
	assert_non_null(strstr(ack, exp));
	assert_non_null(strstr(ack, "To: <sip:srv@127.0.0.1>;tag=callee\r\n"));
	assert_non_null(strstr(ack, "CSeq: 1 ACK\r\n"));
	assert_non_null(strstr(ack, "Route: <sip:proxy.example;lr>\r\n"));
	/* A retransmitted 486 is ACKed again, not reported. */
	respond(f, srv, branch, "INVITE", "486 Busy Here", "callee");
	RUN_UNTIL(f, count(srv, "ACK sip:") == 2);
	assert_int_equal(f->nresp, 2);
	RUN_UNTIL(f, sip_stack_stats(f->st)->ctx_active == 0);
	free(req);
	client_free(srv);
}

static void test_ict_2xx_ack_by_tu(void **state)
{
	struct fix *f = *state;
	struct client *srv = client_udp(f);
	struct sip_peer dst;
	char branch[64], *req;

	peer_of(srv, &dst);
	f->ack_2xx = true;
	f->ackdst = dst;
	req = ctx_request(f, "INVITE", &dst, branch, sizeof(branch));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	respond(f, srv, branch, "INVITE", "200 OK", "ok1");
	RUN_UNTIL(f, f->final && has(srv, "X-Ack: 2xx"));
	assert_int_equal(f->ack_rc_calls, 1);
	/* A retransmitted 2xx gets the TU's ACK again, without a report. */
	respond(f, srv, branch, "INVITE", "200 OK", "ok1");
	RUN_UNTIL(f, count(srv, "X-Ack: 2xx") == 2);
	assert_int_equal(f->nresp, 1);
	/* Timer M. */
	RUN_UNTIL(f, sip_stack_stats(f->st)->ctx_active == 0);
	assert_int_equal(sip_ctx_ack(NULL, &dst, "x", 1), EINVAL);
	free(req);
	client_free(srv);
}

static void test_ctx_tcp_refused(void **state)
{
	struct fix *f = *state;
	struct sip_peer dst;
	struct sockaddr_in in;
	socklen_t len = sizeof(in);
	char branch[64], *req;
	int fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&in, sizeof(in)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&in, &len), 0);
	close(fd);

	memset(&dst, 0, sizeof(dst));
	memcpy(&dst.addr, &in, sizeof(in));
	dst.proto = SIP_PROTO_TCP;
	req = ctx_request(f, "OPTIONS", &dst, branch, sizeof(branch));
	assert_non_null(strstr(req, "Via: SIP/2.0/TCP 127.0.0.1:"));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	RUN_UNTIL(f, f->final);
	assert_int_equal(f->resp_err, ECONNRESET);
	assert_int_equal(sip_stack_stats(f->st)->ctx_active, 0);
	free(req);
}

static void test_ctx_send_rejects(void **state)
{
	struct fix *f = *state;
	struct sip_peer dst;
	const char *ack = "ACK sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKa\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: a\r\nCSeq: 1 ACK\r\n\r\n";
	const char *nobranch = "OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1\r\n"
		"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>\r\nCall-ID: a\r\nCSeq: 1 OPTIONS\r\n\r\n";

	memset(&dst, 0, sizeof(dst));
	memcpy(&dst.addr, udp_addr(f), sizeof(struct sockaddr_in));
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, ack, strlen(ack), resph, f), EINVAL);
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, nobranch, strlen(nobranch), resph, f), EINVAL);
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, "garbage", 7, resph, f), EINVAL);
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, ack, strlen(ack), NULL, f), EINVAL);
	assert_int_equal(sip_stack_stats(f->st)->ctx_active, 0);
}

/* ---- helpers ---- */

/* Two processes that start alike (a fork, or replicas of one image) must
 * not send the same branches: RFC 3261 §8.1.1.7 wants them unique. */
static void test_branch_fork(void **state)
{
	struct fix *f = *state;
	char parent[64], child[64] = "";
	int fds[2];
	pid_t pid;

	sip_stack_new_branch(f->st, parent, sizeof(parent));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sip_stack_new_branch(f->st, child, sizeof(child));
		_exit(write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child) ? 0 : 1);
	}
	sip_stack_new_branch(f->st, parent, sizeof(parent));
	assert_int_equal(read(fds[0], child, sizeof(child)), sizeof(child));
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(strncmp(child, "z9hG4bK", 7), 0);
	assert_string_not_equal(parent, child);
}

static void test_branch_and_via(void **state)
{
	struct fix *f = *state;
	char a[64], b[64];
	struct sip_peer dst;
	struct sip_listener *any;
	struct sbuf sb;
	struct sockaddr_in *in;

	sip_stack_new_branch(f->st, a, sizeof(a));
	sip_stack_new_branch(f->st, b, sizeof(b));
	assert_int_equal(strncmp(a, "z9hG4bK", 7), 0);
	assert_int_equal(strlen(a), 7 + 16);
	assert_string_not_equal(a, b);

	/* A wildcard listener advertises the address used toward dst. */
	sip_stack_free(f->st);
	assert_int_equal(sip_stack_alloc(&f->st, &f->loop, &f->q, reqh, f), 0);
	any = listen_on(f, SIP_PROTO_UDP, AF_INET, true);
	memset(&dst, 0, sizeof(dst));
	in = (struct sockaddr_in *)&dst.addr;
	in->sin_family = AF_INET;
	in->sin_port = htons(5060);
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sbuf_init(&sb);
	assert_int_equal(sip_stack_print_via(f->st, &sb, &dst, "z9hG4bKx"), 0);
	snprintf(a, sizeof(a), "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bKx;rport\r\n",
		 sa_port(sip_listener_addr(any)));
	assert_string_equal(sbuf_cstr(&sb), a);
	/* No TCP listener: no Via. */
	dst.proto = SIP_PROTO_TCP;
	assert_int_equal(sip_stack_print_via(f->st, &sb, &dst, "z9hG4bKx"), EAFNOSUPPORT);
	sbuf_free(&sb);
}

static void test_via_ipv6(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l6;
	struct sockaddr_in6 probe;
	struct sip_peer dst;
	struct sbuf sb;
	char exp[96];
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok;

	memset(&probe, 0, sizeof(probe));
	probe.sin6_family = AF_INET6;
	probe.sin6_addr = in6addr_loopback;
	ok = fd >= 0 && bind(fd, (struct sockaddr *)&probe, sizeof(probe)) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok)
		skip();
	l6 = listen_on(f, SIP_PROTO_UDP, AF_INET6, false);
	memset(&dst, 0, sizeof(dst));
	memcpy(&dst.addr, &probe, sizeof(probe));
	sbuf_init(&sb);
	assert_int_equal(sip_stack_print_via(f->st, &sb, &dst, "z9hG4bK6"), 0);
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP [::1]:%u;branch=z9hG4bK6;rport\r\n",
		 sa_port(sip_listener_addr(l6)));
	assert_string_equal(sbuf_cstr(&sb), exp);
	sbuf_free(&sb);
}

static void test_send_raw(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	struct sip_peer dst;
	const char *msg = "SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n";

	peer_of(c, &dst);
	assert_int_equal(sip_stack_send_raw(f->st, &dst, msg, strlen(msg)), 0);
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(has(c, "SIP/2.0 200 OK"));
	assert_int_equal(sip_stack_stats(f->st)->tx_responses, 1);
	client_free(c);
}

/* ---- the local address of a flow ---- */

/* A fresh stack whose only UDP listener is bound to 0.0.0.0. */
static uint16_t stack_wildcard(struct fix *f)
{
	sip_stack_free(f->st);
	assert_int_equal(sip_stack_alloc(&f->st, &f->loop, &f->q, reqh, f), 0);
	sip_stack_set_timers(f->st, 10, 40, 30);
	f->udp = listen_on(f, SIP_PROTO_UDP, AF_INET, true);
	f->tcp = NULL;
	return sa_port(udp_addr(f));
}

/* Every datagram c got came from ip:port. */
static void assert_all_from(const struct client *c, const char *ip, uint16_t port)
{
	struct sockaddr_storage want = at(ip, port);

	assert_true(c->dgrams > 0);
	for (unsigned i = 0; i < c->dgrams && i < MAX_DGRAMS; i++)
		assert_true(sip_sa_equal((const struct sockaddr *)&c->src[i],
					 (const struct sockaddr *)&want));
}

/* Responses, their retransmissions (absorbed request, timer G) and the
 * stateless 400 leave from the address the request was sent to. */
static void test_wildcard_answers_from_asked(void **state)
{
	struct fix *f = *state;
	uint16_t port = stack_wildcard(f);
	struct client *a = client_udp(f), *b = client_udp(f), *d = client_udp(f);
	struct sockaddr_storage two = at("127.0.0.2", port), three = at("127.0.0.3", port);
	char *via = via_of(a, "z9hG4bKw1", true);
	char *req = req_text("OPTIONS", via, "wild-1", 1, NULL, NULL);
	char *bvia = via_of(b, "z9hG4bKw2", true);
	char *inv = req_text("INVITE", bvia, "wild-2", 1, NULL, NULL);
	char *dvia = via_of(d, "z9hG4bKw3", true);
	char *bad = req_text("OPTIONS", dvia, "wild-3", 1, NULL, "Max-Forwards: abc\r\n");

	f->auto_code = 200;
	client_send(a, (struct sockaddr *)&two, req);
	RUN_UNTIL(f, a->dgrams == 1);
	assert_true(sip_sa_equal((struct sockaddr *)&f->req_local, (struct sockaddr *)&two));
	client_send(a, (struct sockaddr *)&two, req);
	RUN_UNTIL(f, a->dgrams == 2);
	assert_int_equal(count(a, "SIP/2.0 200 OK"), 2);
	assert_all_from(a, "127.0.0.2", port);

	/* A 486 is resent by timer G until the ACK. */
	f->auto_code = 486;
	client_send(b, (struct sockaddr *)&three, inv);
	RUN_UNTIL(f, b->dgrams >= 3);
	assert_int_equal(count(b, "SIP/2.0 486 "), b->dgrams);
	assert_all_from(b, "127.0.0.3", port);

	client_send(d, (struct sockaddr *)&three, bad);
	RUN_UNTIL(f, d->dgrams == 1);
	assert_true(has(d, "SIP/2.0 400 Bad Request"));
	assert_all_from(d, "127.0.0.3", port);
	free(req);
	free(via);
	free(inv);
	free(bvia);
	free(bad);
	free(dvia);
	client_free(a);
	client_free(b);
	client_free(d);
}

/* A request to a peer whose local is set: Via, every retransmission and
 * the ACK of a non-2xx all name or leave from that local. */
static void test_ctx_from_local(void **state)
{
	struct fix *f = *state;
	uint16_t port = stack_wildcard(f);
	struct client *srv = client_udp(f);
	struct sockaddr_storage three = at("127.0.0.3", port);
	struct sip_peer dst;
	char branch[64], exp[160], ip[64], *req;
	uint16_t lport = 0;

	peer_of(srv, &dst);
	dst.local = three;
	assert_int_equal(sip_stack_local_addr(f->st, &dst, ip, sizeof(ip), &lport), 0);
	assert_string_equal(ip, "127.0.0.3");
	assert_int_equal(lport, port);
	req = ctx_request(f, "INVITE", &dst, branch, sizeof(branch));
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP 127.0.0.3:%u;branch=%s;rport\r\n",
		 port, branch);
	assert_non_null(strstr(req, exp));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	RUN_UNTIL(f, srv->dgrams >= 2);              /* timer A */
	respond_to(f, srv, (struct sockaddr *)&three, branch, "INVITE", "486 Busy Here", "b1");
	RUN_UNTIL(f, f->final && has(srv, "ACK sip:srv@127.0.0.1"));
	assert_int_equal(f->codes[0], 486);
	assert_all_from(srv, "127.0.0.3", port);
	free(req);
	client_free(srv);
}

/* d's next request (route: its route set, NULL for none) into sb. */
static void dialog_next(struct fix *f, struct sip_dialog *d, const char *route,
			struct sbuf *sb, struct sip_peer *dst, char *branch, size_t bsize)
{
	free(d->route);
	d->route = route ? strdup(route) : NULL;
	assert_true(!route || d->route);
	sbuf_reset(sb);
	sip_stack_new_branch(f->st, branch, bsize);
	assert_int_equal(sip_dialog_request(d, f->st, "INFO", 0, branch, NULL, NULL, NULL,
					    sb, dst), 0);
}

/* A dialog's requests go back on the flow: from the local address of
 * the request that made it, unless a route sends them to another host. */
static void test_dialog_from_local(void **state)
{
	struct fix *f = *state;
	uint16_t port = stack_wildcard(f);
	struct client *c = client_udp(f);
	struct sockaddr_storage two = at("127.0.0.2", port);
	char *via = via_of(c, "z9hG4bKdl", true);
	char *inv = req_text("INVITE", via, "dlg-1", 1, NULL,
			     "Contact: <sip:alice@127.0.0.1:5999>\r\n");
	struct sip_dialog *d = NULL;
	struct sip_peer dst;
	char branch[64], exp[160];
	struct sbuf sb;

	client_send(c, (struct sockaddr *)&two, inv);
	RUN_UNTIL(f, f->invite_stx && c->dgrams == 1);         /* 100 Trying */
	assert_int_equal(sip_dialog_uas_alloc(&d, sip_stx_request(f->invite_stx),
					      sip_stx_peer(f->invite_stx), "lt1",
					      "sip:kv@127.0.0.2"), 0);
	assert_int_equal(sip_stx_reply(f->invite_stx, 200, NULL, "lt1", NULL, NULL, NULL), 0);

	sbuf_init(&sb);
	dialog_next(f, d, NULL, &sb, &dst, branch, sizeof(branch));
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP 127.0.0.2:%u;branch=%s;rport\r\n",
		 port, branch);
	assert_non_null(strstr(sbuf_cstr(&sb), exp));
	assert_true(sip_sa_equal((struct sockaddr *)&dst.local, (struct sockaddr *)&two));
	assert_int_equal(sip_ctx_send(f->st, NULL, &dst, sb.p, sb.len, resph, f), 0);
	RUN_UNTIL(f, has(c, "INFO sip:alice@127.0.0.1:5999"));
	assert_all_from(c, "127.0.0.2", port);

	/* A route through the same host keeps the local; to another host
	 * the kernel chooses. */
	dialog_next(f, d, "<sip:127.0.0.1:5998;lr>", &sb, &dst, branch, sizeof(branch));
	assert_int_equal(sa_port((struct sockaddr *)&dst.addr), 5998);
	assert_true(sip_sa_equal((struct sockaddr *)&dst.local, (struct sockaddr *)&two));
	dialog_next(f, d, "<sip:127.0.0.5;lr>", &sb, &dst, branch, sizeof(branch));
	assert_int_equal(dst.local.ss_family, AF_UNSPEC);
	snprintf(exp, sizeof(exp), "Via: SIP/2.0/UDP 127.0.0.1:%u;", port);
	assert_non_null(strstr(sbuf_cstr(&sb), exp));
	sbuf_free(&sb);
	sip_dialog_free(d);
	free(inv);
	free(via);
	client_free(c);
}

/* Freeing the stack with live transactions of every kind leaks nothing. */
static void test_free_with_live_transactions(void **state)
{
	struct fix *f = *state;
	struct client *c = client_udp(f);
	char *via = via_of(c, "z9hG4bKlive", false);
	char *inv = req_text("INVITE", via, "live-1", 1, NULL, NULL);
	struct sip_peer dst;
	char branch[64], *req;

	client_send(c, udp_addr(f), inv);
	RUN_UNTIL(f, f->nreq == 1);
	peer_of(c, &dst);
	req = ctx_request(f, "INVITE", &dst, branch, sizeof(branch));
	assert_int_equal(sip_ctx_send(f->st, &f->ctx, &dst, req, strlen(req), resph, f), 0);
	assert_int_equal(sip_stack_stats(f->st)->stx_active, 1);
	assert_int_equal(sip_stack_stats(f->st)->ctx_active, 1);
	free(req);
	free(inv);
	free(via);
	client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_nist_retransmissions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nist_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_provisional_then_retransmission, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_486_until_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ist_2xx_and_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_without_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_rport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_sentby_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_route_received, setup, teardown),
		cmocka_unit_test(test_response_dest_rules),
		cmocka_unit_test_setup_teardown(test_malformed_gets_400, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_version_gets_505, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_tcp_400_then_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc2543_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_retransmit_until_response, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nict_abandon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_180_486_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ict_2xx_ack_by_tu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_tcp_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_send_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_fork, setup, teardown),
		cmocka_unit_test_setup_teardown(test_branch_and_via, setup, teardown),
		cmocka_unit_test_setup_teardown(test_via_ipv6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard_answers_from_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx_from_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dialog_from_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_live_transactions, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
