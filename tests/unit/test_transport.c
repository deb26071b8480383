/*
 * test_transport.c - SIP transports over real loopback sockets: UDP and
 * TCP, IPv4 and IPv6, framing, keep-alives, limits and connection reuse,
 * and answers from the local address a flow arrived on (127.0.0.0/8 is
 * all loopback on Linux, so one wildcard listener is asked on several).
 *
 * The peer side is a plain socket watched by a uv_poll handle, so the
 * whole exchange runs on one loop; every wait has a safety deadline and
 * no assertion depends on how long anything took.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/transport.h"
#include "util/log.h"

#define DEADLINE_MS 5000

/*
 * A full socket buffer, on demand: while blocked_port is set, sendmsg()
 * from a socket bound to that port fails with EAGAIN.  Loopback never
 * fills a UDP send buffer (the kernel hands each datagram over at once),
 * so this is the only way to see the transport queue what the socket
 * refuses.  Every other call goes to the real sendmsg().
 */
static uint16_t blocked_port;

ssize_t sendmsg(int fd, const struct msghdr *mh, int flags)
{
	static ssize_t (*real)(int, const struct msghdr *, int);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sendmsg");
	if (blocked_port && !getsockname(fd, (struct sockaddr *)&ss, &len) &&
	    sip_sa_port((struct sockaddr *)&ss) == blocked_port) {
		errno = EAGAIN;
		return -1;
	}
	return real(fd, mh, flags);
}

#define MAX_DGRAMS 16

struct client {
	int fd;
	uv_poll_t poll;
	bool polling;
	char buf[65536];
	size_t len;
	unsigned dgrams;
	/* UDP: where each of the first datagrams came from, and where it
	 * starts in buf */
	struct sockaddr_storage src[MAX_DGRAMS];
	size_t off[MAX_DGRAMS];
	bool eof;
	int err;
	struct sockaddr_storage addr;    /* our own bound address */
};

struct rx {
	int err;
	char why[128];
	char data[4096];
	size_t len;
	char method[32];
	struct sip_peer peer;
	struct pl body;
};

struct fix {
	uv_loop_t loop;
	uv_timer_t deadline;
	bool expired;
	struct sip_transport *tp;
	struct rx rx[16];
	unsigned nrx;
	/* what the recv handler sends back on the peer, if set */
	const char *reply;
	unsigned closes;
	uint64_t closed_id;
	int closed_err;
};

/* ---- loop helpers ---- */

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

/* Lets the loop turn for ms so anything wrongly queued would show up. */
static void run_for(struct fix *f, uint64_t ms)
{
	f->expired = false;
	uv_timer_start(&f->deadline, deadline_cb, ms, 0);
	while (!f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
}

static void recvh(int err, const char *why, struct sip_msg *msg,
		  const struct sip_peer *peer, void *arg)
{
	struct fix *f = arg;
	struct rx *r;

	assert_non_null(msg);
	assert_non_null(msg->buf);
	assert_true(msg->len > 0);
	if (f->nrx >= 16)
		return;
	r = &f->rx[f->nrx++];
	r->err = err;
	if (why)
		snprintf(r->why, sizeof(r->why), "%s", why);
	r->len = msg->len < sizeof(r->data) ? msg->len : sizeof(r->data);
	memcpy(r->data, msg->buf, r->len);
	if (!err) {
		pl_strcpy(&msg->method, r->method, sizeof(r->method));
		r->body.p = msg->body.l ? r->data + (msg->body.p - msg->buf) : NULL;
		r->body.l = msg->body.l;
	}
	r->peer = *peer;
	if (f->reply)
		assert_int_equal(sip_transport_send(f->tp, peer, f->reply, strlen(f->reply)), 0);
}

static void closeh(uint64_t id, int err, void *arg)
{
	struct fix *f = arg;

	f->closes++;
	f->closed_id = id;
	f->closed_err = err;
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
	assert_int_equal(sip_transport_alloc(&f->tp, &f->loop, recvh, f), 0);
	sip_transport_set_close_handler(f->tp, closeh);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	if (f->tp)
		sip_transport_free(f->tp);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	/* Every handle closed: nothing leaked on the loop. */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

/* ---- peer sockets ---- */

static void client_poll_cb(uv_poll_t *p, int status, int events)
{
	struct client *c = p->data;

	for (;;) {
		size_t room = sizeof(c->buf) - c->len;
		struct sockaddr_storage src;
		socklen_t slen = sizeof(src);
		ssize_t n;

		memset(&src, 0, sizeof(src));
		if (!room) {
			/* Keep draining so the sender never blocks on us. */
			char sink[4096];

			n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
		} else {
			n = recvfrom(c->fd, c->buf + c->len, room, MSG_DONTWAIT,
				     (struct sockaddr *)&src, &slen);
		}
		if (n > 0) {
			if (c->dgrams < MAX_DGRAMS) {
				c->src[c->dgrams] = src;
				c->off[c->dgrams] = c->len;
			}
			if (room)
				c->len += (size_t)n;
			c->dgrams++;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			c->eof = true;
			c->err = n ? errno : 0;
			uv_poll_stop(p);
			c->polling = false;
		}
		return;
	}
}

static void make_addr(struct sockaddr_storage *ss, int af, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		in6->sin6_addr = in6addr_loopback;
	}
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

static uint16_t ss_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
}

static bool have_ipv6(void)
{
	struct sockaddr_storage ss;
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	bool ok;

	if (fd < 0)
		return false;
	make_addr(&ss, AF_INET6, 0);
	ok = bind(fd, (struct sockaddr *)&ss, ss_len(&ss)) == 0;
	close(fd);
	return ok;
}

static void client_watch(struct fix *f, struct client *c)
{
	socklen_t len = sizeof(c->addr);

	assert_int_equal(getsockname(c->fd, (struct sockaddr *)&c->addr, &len), 0);
	assert_int_equal(fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK), 0);
	assert_int_equal(uv_poll_init(&f->loop, &c->poll, c->fd), 0);
	c->poll.data = c;
	assert_int_equal(uv_poll_start(&c->poll, UV_READABLE, client_poll_cb), 0);
	c->polling = true;
}

static struct client *client_udp(struct fix *f, int af)
{
	struct client *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;

	assert_non_null(c);
	c->fd = socket(af, SOCK_DGRAM, 0);
	assert_true(c->fd >= 0);
	make_addr(&ss, af, 0);
	assert_int_equal(bind(c->fd, (struct sockaddr *)&ss, ss_len(&ss)), 0);
	client_watch(f, c);
	return c;
}

static struct client *client_tcp(struct fix *f, const struct sockaddr *to)
{
	struct client *c = calloc(1, sizeof(*c));
	socklen_t len = to->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);

	assert_non_null(c);
	c->fd = socket(to->sa_family, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	/* The kernel completes the handshake before the loop accepts. */
	assert_int_equal(connect(c->fd, to, len), 0);
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

static void client_sendto(struct client *c, const struct sockaddr *to, const char *s)
{
	socklen_t len = to->sa_family == AF_INET ? sizeof(struct sockaddr_in)
						 : sizeof(struct sockaddr_in6);

	assert_int_equal(sendto(c->fd, s, strlen(s), 0, to, len), (ssize_t)strlen(s));
}

static void client_send(struct client *c, const void *p, size_t n)
{
	const char *s = p;

	while (n) {
		ssize_t w = send(c->fd, s, n, 0);

		if (w < 0 && errno == EAGAIN)
			continue;
		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static bool client_has(const struct client *c, const char *s)
{
	return memmem(c->buf, c->len, s, strlen(s)) != NULL;
}

static struct sip_listener *listen_on(struct fix *f, enum sip_proto proto, int af, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sip_listener *l = NULL;

	make_addr(&ss, af, port);
	assert_int_equal(sip_transport_listen(f->tp, proto, (struct sockaddr *)&ss, &l), 0);
	assert_non_null(l);
	assert_int_equal(sip_listener_proto(l), proto);
	assert_int_not_equal(ss_port(sip_listener_addr(l)), 0);
	return l;
}

#define OPTIONS(branch, clen_hdr) \
	"OPTIONS sip:kv@127.0.0.1 SIP/2.0\r\n" \
	"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK" branch "\r\n" \
	"From: <sip:a@127.0.0.1>;tag=1\r\n" \
	"To: <sip:kv@127.0.0.1>\r\n" \
	"Call-ID: c-" branch "\r\n" \
	"CSeq: 1 OPTIONS\r\n" \
	"Max-Forwards: 70\r\n" \
	clen_hdr \
	"\r\n"

#define OPT(branch) OPTIONS(branch, "Content-Length: 0\r\n")

static const char reply_200[] =
	"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\n"
	"From: <sip:a@b>;tag=1\r\nTo: <sip:b@b>;tag=2\r\nCall-ID: r\r\n"
	"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

/* ---- UDP ---- */

static void udp_roundtrip(struct fix *f, int af)
{
	struct sip_listener *l = listen_on(f, SIP_PROTO_UDP, af, 0);
	struct client *c = client_udp(f, af);

	f->reply = reply_200;
	client_sendto(c, sip_listener_addr(l), OPT("u1"));
	RUN_UNTIL(f, f->nrx == 1);
	assert_int_equal(f->rx[0].err, 0);
	assert_string_equal(f->rx[0].method, "OPTIONS");
	assert_int_equal(f->rx[0].peer.proto, SIP_PROTO_UDP);
	assert_ptr_equal(f->rx[0].peer.lst, l);
	assert_int_equal(f->rx[0].peer.conn_id, 0);
	assert_int_equal(f->rx[0].peer.addr.ss_family, af);
	assert_int_equal(ss_port((struct sockaddr *)&f->rx[0].peer.addr),
			 ss_port((struct sockaddr *)&c->addr));
	RUN_UNTIL(f, c->len == strlen(reply_200));
	assert_memory_equal(c->buf, reply_200, c->len);
	assert_true(sip_transport_stats(f->tp)->rx_msgs >= 1);
	client_free(c);
}

static void test_udp_v4(void **state)
{
	udp_roundtrip(*state, AF_INET);
}

static void test_udp_v6(void **state)
{
	if (!have_ipv6())
		skip();
	udp_roundtrip(*state, AF_INET6);
}

/* IPV6_V6ONLY: v4 and v6 listeners share one port number. */
static void test_udp_dual_stack_same_port(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l4, *l6;
	struct sockaddr_storage any6;
	uint16_t port;

	if (!have_ipv6())
		skip();
	l4 = listen_on(f, SIP_PROTO_UDP, AF_INET, 0);
	port = ss_port(sip_listener_addr(l4));
	memset(&any6, 0, sizeof(any6));
	((struct sockaddr_in6 *)&any6)->sin6_family = AF_INET6;
	((struct sockaddr_in6 *)&any6)->sin6_port = htons(port);
	assert_int_equal(sip_transport_listen(f->tp, SIP_PROTO_UDP, (struct sockaddr *)&any6, &l6), 0);
	assert_int_equal(ss_port(sip_listener_addr(l6)), port);
	assert_ptr_equal(sip_transport_find_listener(f->tp, SIP_PROTO_UDP, AF_INET), l4);
	assert_ptr_equal(sip_transport_find_listener(f->tp, SIP_PROTO_UDP, AF_INET6), l6);
	assert_null(sip_transport_find_listener(f->tp, SIP_PROTO_TCP, AF_INET));
}

static void test_udp_bind_conflict(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_UDP, AF_INET, 0), *l2 = NULL;
	struct sockaddr_storage ss;

	make_addr(&ss, AF_INET, ss_port(sip_listener_addr(l)));
	assert_int_equal(sip_transport_listen(f->tp, SIP_PROTO_UDP, (struct sockaddr *)&ss, &l2),
			 EADDRINUSE);
	assert_null(l2);
}

static void test_udp_malformed_and_keepalive(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_UDP, AF_INET, 0);
	struct client *c = client_udp(f, AF_INET);

	/* CRLF keep-alives are not messages. */
	client_sendto(c, sip_listener_addr(l), "\r\n\r\n");
	client_sendto(c, sip_listener_addr(l), "OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n");
	RUN_UNTIL(f, f->nrx == 1);
	assert_int_equal(f->rx[0].err, EBADMSG);
	assert_true(strlen(f->rx[0].why) > 0);
	assert_true(f->rx[0].len > 0);
	assert_true(sip_transport_stats(f->tp)->rx_errors >= 1);
	client_free(c);
}

static void test_udp_send_errors(void **state)
{
	struct fix *f = *state;
	struct sip_peer dst;

	memset(&dst, 0, sizeof(dst));
	make_addr(&dst.addr, AF_INET, 5060);
	dst.proto = SIP_PROTO_UDP;
	/* No UDP listener to send from. */
	assert_int_equal(sip_transport_send(f->tp, &dst, "x", 1), EAFNOSUPPORT);
	assert_int_equal(sip_transport_send(f->tp, NULL, "x", 1), EINVAL);
}


/* ---- the local address of a flow ---- */

static void make_ip(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct pl h = pl_from_str(ip);

	memset(ss, 0, sizeof(*ss));
	assert_int_equal(sip_sa_from_host(ss, &h, port), 0);
}

static struct sip_listener *listen_any(struct fix *f, enum sip_proto proto, int af)
{
	struct sockaddr_storage ss;
	struct sip_listener *l = NULL;

	make_ip(&ss, af == AF_INET ? "0.0.0.0" : "::", 0);
	assert_int_equal(sip_transport_listen(f->tp, proto, (struct sockaddr *)&ss, &l), 0);
	assert_non_null(l);
	return l;
}

/* "ip:port" of an address, in a static buffer per slot. */
static const char *str(const struct sockaddr_storage *ss, int slot)
{
	static char buf[4][64];

	return sip_sockaddr_str((const struct sockaddr *)ss, buf[slot], sizeof(buf[slot]));
}

static const char *ip_port(const char *ip, uint16_t port, int slot)
{
	static char buf[4][64];

	snprintf(buf[slot], sizeof(buf[slot]), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
	return buf[slot];
}

/* A wildcard UDP listener (into *lp unless NULL) and a client (on
 * loopback) of family af; the listener's port. */
static uint16_t wildcard_pair(struct fix *f, int af, struct sip_listener **lp,
			      struct client **cp)
{
	struct sip_listener *l = listen_any(f, SIP_PROTO_UDP, af);

	if (lp)
		*lp = l;
	*cp = client_udp(f, af);
	return sip_sa_port(sip_listener_addr(l));
}

/* A peer at c's address whose flow arrived on local:port (NULL: none). */
static void flow_peer(struct sip_peer *dst, const struct client *c, const char *local,
		      uint16_t port)
{
	memset(dst, 0, sizeof(*dst));
	dst->addr = c->addr;
	dst->proto = SIP_PROTO_UDP;
	if (local)
		make_ip(&dst->local, local, port);
}

/* One wildcard listener asked on several addresses: each datagram says
 * where it went, and the answer comes back from there. */
static void wildcard_roundtrips(struct fix *f, int af, const char *const *asked, size_t n)
{
	struct sip_listener *l;
	struct client *c;
	uint16_t port = wildcard_pair(f, af, &l, &c);
	struct sockaddr_storage to;

	f->reply = reply_200;
	for (size_t i = 0; i < n; i++) {
		make_ip(&to, asked[i], port);
		client_sendto(c, (struct sockaddr *)&to, OPT("w1"));
		RUN_UNTIL(f, c->dgrams == i + 1);
		assert_int_equal(f->nrx, i + 1);
		assert_ptr_equal(f->rx[i].peer.lst, l);
		assert_string_equal(str(&f->rx[i].peer.local, 0), ip_port(asked[i], port, 1));
		assert_string_equal(str(&c->src[i], 0), ip_port(asked[i], port, 1));
	}
	assert_int_equal(c->len, n * strlen(reply_200));
	client_free(c);
}

static void test_udp_wildcard_v4(void **state)
{
	/* The client is on 127.0.0.1: the kernel alone would answer it from
	 * 127.0.0.1 whatever it asked. */
	static const char *const asked[] = {"127.0.0.2", "127.0.0.1", "127.0.0.3"};

	wildcard_roundtrips(*state, AF_INET, asked, 3);
}

static void test_udp_wildcard_v6(void **state)
{
	static const char *const asked[] = {"::1"};

	if (!have_ipv6()) {
		print_message("skipped: no IPv6 loopback here (::1 cannot be bound)\n");
		skip();
	}
	wildcard_roundtrips(*state, AF_INET6, asked, 1);
}

/* A specific bind needs no control message: its address is the local. */
static void test_udp_specific_local(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_UDP, AF_INET, 0);
	struct client *c = client_udp(f, AF_INET);

	f->reply = reply_200;
	client_sendto(c, sip_listener_addr(l), OPT("s1"));
	RUN_UNTIL(f, c->dgrams == 1);
	assert_true(sip_sa_equal((struct sockaddr *)&f->rx[0].peer.local, sip_listener_addr(l)));
	assert_true(sip_sa_equal((struct sockaddr *)&c->src[0], sip_listener_addr(l)));
	client_free(c);
}

/* A request on a flow: dst->local alone (no listener given) picks the
 * listener and the source; what cannot be honoured leaves as before. */
static void test_udp_send_from_local(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l;
	struct client *c;
	uint16_t port = wildcard_pair(f, AF_INET, &l, &c);
	struct sockaddr_storage src;
	struct sip_peer dst;
	struct {
		const char *local;
		uint16_t port;
		const char *src;         /* sip_transport_source(), "" for none */
		const char *from;        /* where the datagram comes from */
	} cases[] = {
		{"127.0.0.3", port, "127.0.0.3", "127.0.0.3"},
		{"127.0.0.2", port, "127.0.0.2", "127.0.0.2"},
		/* no listener on that port: the kernel's choice */
		{"127.0.0.2", (uint16_t)(port ^ 1), "", "127.0.0.1"},
		/* not an address of this host: refused, sent anyway */
		{"192.0.2.1", port, "192.0.2.1", "127.0.0.1"},
		/* the other family: ignored */
		{"::1", port, "", "127.0.0.1"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		flow_peer(&dst, c, cases[i].local, cases[i].port);
		assert_ptr_equal(sip_transport_source(f->tp, &dst, &src), l);
		if (*cases[i].src)
			assert_string_equal(str(&src, 0), ip_port(cases[i].src, port, 1));
		else
			assert_int_equal(src.ss_family, AF_UNSPEC);
		assert_int_equal(sip_transport_send(f->tp, &dst, "x", 1), 0);
		RUN_UNTIL(f, c->dgrams == i + 1);
		assert_string_equal(str(&c->src[i], 0), ip_port(cases[i].from, port, 1));
	}
	client_free(c);
}

/* What the socket refuses waits, in order, with its source; a send while
 * something waits goes behind it. */
static void test_udp_queue_keeps_order_and_source(void **state)
{
	struct fix *f = *state;
	struct client *c;
	uint16_t port = wildcard_pair(f, AF_INET, NULL, &c);
	static const char *const local[] = {"127.0.0.2", "127.0.0.3", NULL, "127.0.0.2"};
	static const char *const from[] = {"127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2"};
	struct sip_peer dst;

	blocked_port = port;
	for (size_t i = 0; i < 4; i++) {
		char data[2] = {(char)('A' + i), 0};

		if (i == 3)
			blocked_port = 0;
		flow_peer(&dst, c, local[i], port);
		assert_int_equal(sip_transport_send(f->tp, &dst, data, 1), 0);
	}
	assert_int_equal(sip_transport_stats(f->tp)->udp_queued, 4);
	RUN_UNTIL(f, c->dgrams == 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(c->buf[c->off[i]], 'A' + (int)i);
		assert_string_equal(str(&c->src[i], 0), ip_port(from[i], port, 1));
	}
	assert_int_equal(sip_transport_stats(f->tp)->tx_bytes, 4);
	client_free(c);
}

/* The queue is bounded; freeing the transport frees what still waits. */
static void test_udp_queue_limit(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_UDP, AF_INET, 0);
	size_t chunk = 60000, n = 0;
	char *data = calloc(1, chunk);
	struct sip_peer dst;
	int err = 0;

	assert_non_null(data);
	memset(&dst, 0, sizeof(dst));
	make_addr(&dst.addr, AF_INET, 9);
	dst.proto = SIP_PROTO_UDP;
	blocked_port = sip_sa_port(sip_listener_addr(l));
	while (n < 100 && !(err = sip_transport_send(f->tp, &dst, data, chunk)))
		n++;
	blocked_port = 0;
	assert_int_equal(err, ENOBUFS);
	assert_int_equal(n, (4 * 1024 * 1024) / chunk);
	free(data);
}

/* TCP: the local is the connection's own end. */
static void test_tcp_wildcard_local(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_any(f, SIP_PROTO_TCP, AF_INET);
	uint16_t port = sip_sa_port(sip_listener_addr(l));
	struct sockaddr_storage to;
	struct client *c;

	make_ip(&to, "127.0.0.2", port);
	c = client_tcp(f, (struct sockaddr *)&to);
	client_send(c, OPT("tl"), strlen(OPT("tl")));
	RUN_UNTIL(f, f->nrx == 1);
	assert_string_equal(str(&f->rx[0].peer.local, 0), ip_port("127.0.0.2", port, 1));
	client_free(c);
}

/* ---- TCP ---- */

static void test_tcp_two_in_one_write(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	const char two[] = OPT("t1") OPT("t2");

	client_send(c, two, strlen(two));
	RUN_UNTIL(f, f->nrx == 2);
	assert_int_equal(f->rx[0].err, 0);
	assert_int_equal(f->rx[1].err, 0);
	assert_true(memmem(f->rx[0].data, f->rx[0].len, "z9hG4bKt1", 9) != NULL);
	assert_true(memmem(f->rx[1].data, f->rx[1].len, "z9hG4bKt2", 9) != NULL);
	assert_int_equal(f->rx[0].peer.proto, SIP_PROTO_TCP);
	assert_true(f->rx[0].peer.conn_id != 0);
	assert_int_equal(f->rx[0].peer.conn_id, f->rx[1].peer.conn_id);
	assert_ptr_equal(f->rx[0].peer.lst, l);
	assert_int_equal(ss_port((struct sockaddr *)&f->rx[0].peer.addr),
			 ss_port((struct sockaddr *)&c->addr));
	assert_true(sip_transport_conn_alive(f->tp, f->rx[0].peer.conn_id));
	assert_int_equal(sip_transport_conn_count(f->tp), 1);
	client_free(c);
}

static void test_tcp_split_in_three(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	const char msg[] = OPTIONS("s1", "Content-Type: text/plain\r\nContent-Length: 11\r\n") "hello world";
	size_t n = strlen(msg), a = 40, b = n - 5;

	/* Each part is made to arrive in its own read. */
	client_send(c, msg, a);
	run_for(f, 20);
	assert_int_equal(f->nrx, 0);
	client_send(c, msg + a, b - a);
	run_for(f, 20);
	assert_int_equal(f->nrx, 0);
	client_send(c, msg + b, n - b);
	RUN_UNTIL(f, f->nrx == 1);
	assert_int_equal(f->rx[0].err, 0);
	assert_int_equal(f->rx[0].len, n);
	assert_int_equal(f->rx[0].body.l, 11);
	assert_memory_equal(f->rx[0].body.p, "hello world", 11);
	client_free(c);
}

static void test_tcp_ping_and_crlf(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	const char stream[] = OPT("p1") "\r\n" OPT("p2");

	/* A lone CRLF between messages is skipped, not answered. */
	client_send(c, stream, strlen(stream));
	RUN_UNTIL(f, f->nrx == 2);
	assert_int_equal(f->rx[1].err, 0);
	/* A ping split over two writes is still one ping. */
	client_send(c, "\r\n", 2);
	run_for(f, 20);
	client_send(c, "\r\n", 2);
	RUN_UNTIL(f, c->len >= 2);
	run_for(f, 20);
	assert_int_equal(c->len, 2);
	assert_memory_equal(c->buf, "\r\n", 2);
	assert_int_equal(sip_transport_stats(f->tp)->tcp_pings, 1);
	/* The connection still carries messages. */
	client_send(c, OPT("p3"), strlen(OPT("p3")));
	RUN_UNTIL(f, f->nrx == 3);
	assert_false(c->eof);
	client_free(c);
}

static void test_tcp_oversize_headers(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	size_t n = 70000;
	char *big = malloc(n);

	assert_non_null(big);
	memcpy(big, "OPTIONS sip:x SIP/2.0\r\nX-Pad: ", 30);
	memset(big + 30, 'a', n - 30);
	client_send(c, big, n);
	RUN_UNTIL(f, c->eof);
	assert_int_equal(f->nrx, 0);
	RUN_UNTIL(f, sip_transport_conn_count(f->tp) == 0);
	assert_true(sip_transport_stats(f->tp)->tcp_overflow_closed >= 1);
	free(big);
	client_free(c);
}

static void test_tcp_oversize_body(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	const char hdr[] = OPTIONS("big", "Content-Length: 100000\r\n");
	size_t n = 100000;
	char *body = malloc(n);

	assert_non_null(body);
	memset(body, 'b', n);
	client_send(c, hdr, strlen(hdr));
	/* The peer may reset while we still write: ignore send errors. */
	(void)!send(c->fd, body, n, MSG_NOSIGNAL);
	RUN_UNTIL(f, c->eof);
	assert_int_equal(f->nrx, 0);
	free(body);
	client_free(c);
}

static void test_tcp_malformed_closes(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	const char bad[] = "OPTIONS sip:x SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

	/* What the handler sends for the bad message still goes out first. */
	f->reply = "SIP/2.0 400 Bad Request\r\n\r\n";
	client_send(c, bad, strlen(bad));
	RUN_UNTIL(f, c->eof);
	assert_int_equal(f->nrx, 1);
	assert_int_equal(f->rx[0].err, EBADMSG);
	assert_true(strlen(f->rx[0].why) > 0);
	assert_true(client_has(c, "400 Bad Request"));
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->closed_err, 0);
	assert_int_equal(sip_transport_conn_count(f->tp), 0);
	client_free(c);
}

static void test_tcp_idle_timeout(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c;

	sip_transport_set_idle_timeout(f->tp, 50);
	c = client_tcp(f, sip_listener_addr(l));
	client_send(c, OPT("i1"), strlen(OPT("i1")));
	RUN_UNTIL(f, f->nrx == 1);
	assert_int_equal(sip_transport_conn_count(f->tp), 1);
	RUN_UNTIL(f, c->eof);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->closed_id, f->rx[0].peer.conn_id);
	assert_false(sip_transport_conn_alive(f->tp, f->rx[0].peer.conn_id));
	assert_int_equal(sip_transport_stats(f->tp)->tcp_idle_closed, 1);
	client_free(c);
}

static void test_tcp_send_on_conn(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	struct sip_peer p;
	uint64_t id = 0;

	client_send(c, OPT("o1"), strlen(OPT("o1")));
	RUN_UNTIL(f, f->nrx == 1);
	p = f->rx[0].peer;
	assert_int_equal(sip_transport_send_conn(f->tp, &p, "ONE", 3, &id), 0);
	assert_int_equal(id, p.conn_id);
	/* Without an id, the open connection to the address is used. */
	p.conn_id = 0;
	assert_int_equal(sip_transport_send_conn(f->tp, &p, "TWO", 3, &id), 0);
	assert_int_equal(id, f->rx[0].peer.conn_id);
	RUN_UNTIL(f, c->len == 6);
	assert_memory_equal(c->buf, "ONETWO", 6);
	assert_int_equal(sip_transport_conn_count(f->tp), 1);
	assert_int_equal(sip_transport_stats(f->tp)->tcp_connected, 0);
	client_free(c);
}

/* A second transport plays the remote side. */
struct remote {
	struct sip_transport *tp;
	unsigned n;
	char first[256];
	struct sockaddr_storage from;    /* where the first message came from */
};

static void remote_recvh(int err, const char *why, struct sip_msg *msg,
			 const struct sip_peer *peer, void *arg)
{
	struct remote *r = arg;

	if (!err && !r->n) {
		pl_strcpy(&msg->via.branch, r->first, sizeof(r->first));
		r->from = peer->addr;
	}
	if (!err)
		r->n++;
}

/* The remote side with a TCP listener on loopback, and dst pointing at it. */
static void remote_alloc(struct fix *f, struct remote *r, struct sip_peer *dst)
{
	struct sockaddr_storage ss;
	struct sip_listener *rl;

	memset(r, 0, sizeof(*r));
	assert_int_equal(sip_transport_alloc(&r->tp, &f->loop, remote_recvh, r), 0);
	make_addr(&ss, AF_INET, 0);
	assert_int_equal(sip_transport_listen(r->tp, SIP_PROTO_TCP, (struct sockaddr *)&ss, &rl), 0);
	memset(dst, 0, sizeof(*dst));
	memcpy(&dst->addr, sip_listener_addr(rl), sizeof(struct sockaddr_in));
	dst->proto = SIP_PROTO_TCP;
}

static void remote_free(struct fix *f, struct remote *r)
{
	sip_transport_free(r->tp);
	(void)f;
}

static void test_tcp_send_opens_connection(void **state)
{
	struct fix *f = *state;
	struct remote r;
	struct sip_peer dst;
	uint64_t id1 = 0, id2 = 0;

	listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	remote_alloc(f, &r, &dst);
	dst.conn_id = 12345;    /* stale id: falls back to the address */
	/* Both are queued until the connection is up, then sent in order. */
	assert_int_equal(sip_transport_send_conn(f->tp, &dst, OPT("n1"), strlen(OPT("n1")), &id1), 0);
	assert_int_equal(sip_transport_send_conn(f->tp, &dst, OPT("n2"), strlen(OPT("n2")), &id2), 0);
	assert_true(id1 != 0);
	assert_int_equal(id1, id2);
	assert_int_equal(sip_transport_conn_count(f->tp), 1);
	RUN_UNTIL(f, r.n == 2);
	assert_string_equal(r.first, "z9hG4bKn1");
	assert_int_equal(sip_transport_stats(f->tp)->tcp_connected, 1);
	assert_true(sip_transport_conn_alive(f->tp, id1));
	remote_free(f, &r);
}

/* A new connection for a flow leaves from the flow's address; TCP's
 * source says which port we listen on, not the connection's own. */
static void test_tcp_connect_from_local(void **state)
{
	struct fix *f = *state;
	struct sip_listener *ours = listen_any(f, SIP_PROTO_TCP, AF_INET);
	struct sockaddr_storage ss, src;
	struct remote r;
	struct sip_peer dst;

	remote_alloc(f, &r, &dst);
	make_ip(&dst.local, "127.0.0.3", 40000);
	assert_ptr_equal(sip_transport_source(f->tp, &dst, &src), ours);
	assert_string_equal(str(&src, 0),
			    ip_port("127.0.0.3", sip_sa_port(sip_listener_addr(ours)), 1));
	assert_int_equal(sip_transport_send(f->tp, &dst, OPT("cl"), strlen(OPT("cl"))), 0);
	RUN_UNTIL(f, r.n == 1);
	make_ip(&ss, "127.0.0.3", sip_sa_port((struct sockaddr *)&r.from));
	assert_true(sip_sa_equal((struct sockaddr *)&r.from, (struct sockaddr *)&ss));
	remote_free(f, &r);
}

static void test_tcp_connect_refused(void **state)
{
	struct fix *f = *state;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sip_peer dst;
	uint64_t id = 0;
	int fd;

	/* A port that was just free: nothing listens there. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	make_addr(&ss, AF_INET, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&ss, ss_len(&ss)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	close(fd);

	memset(&dst, 0, sizeof(dst));
	dst.addr = ss;
	dst.proto = SIP_PROTO_TCP;
	assert_int_equal(sip_transport_send_conn(f->tp, &dst, "X", 1, &id), 0);
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->closed_id, id);
	assert_int_equal(f->closed_err, ECONNREFUSED);
	assert_int_equal(sip_transport_conn_count(f->tp), 0);
}

static void test_tcp_max_conns(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *a, *b;

	sip_transport_set_max_conns(f->tp, 1);
	a = client_tcp(f, sip_listener_addr(l));
	client_send(a, OPT("m1"), strlen(OPT("m1")));
	RUN_UNTIL(f, f->nrx == 1);
	b = client_tcp(f, sip_listener_addr(l));
	RUN_UNTIL(f, b->eof);
	assert_false(a->eof);
	assert_int_equal(sip_transport_conn_count(f->tp), 1);
	assert_int_equal(sip_transport_stats(f->tp)->tcp_rejected, 1);
	client_free(a);
	client_free(b);
}

/* A peer that never reads is dropped once 1 MiB waits for it. */
static void test_tcp_write_overflow(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));
	size_t chunk = 60000;
	char *data = calloc(1, chunk);
	struct sip_peer p;
	int err = 0;

	assert_non_null(data);
	uv_poll_stop(&c->poll);
	client_send(c, OPT("w1"), strlen(OPT("w1")));
	RUN_UNTIL(f, f->nrx == 1);
	p = f->rx[0].peer;
	for (int i = 0; i < 2000 && !err; i++)
		err = sip_transport_send(f->tp, &p, data, chunk);
	assert_int_equal(err, ENOBUFS);
	assert_false(sip_transport_conn_alive(f->tp, p.conn_id));
	RUN_UNTIL(f, f->closes == 1);
	assert_int_equal(f->closed_err, ENOBUFS);
	/* The connection is gone: a later send opens a new one. */
	free(data);
	client_free(c);
}

static void test_tcp_v6(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l;
	struct client *c;

	if (!have_ipv6())
		skip();
	l = listen_on(f, SIP_PROTO_TCP, AF_INET6, 0);
	c = client_tcp(f, sip_listener_addr(l));
	f->reply = "PONG";
	client_send(c, OPT("v6"), strlen(OPT("v6")));
	RUN_UNTIL(f, c->len == 4);
	assert_int_equal(f->rx[0].peer.addr.ss_family, AF_INET6);
	client_free(c);
}

static void test_free_with_open_connections(void **state)
{
	struct fix *f = *state;
	struct sip_listener *l = listen_on(f, SIP_PROTO_TCP, AF_INET, 0);
	struct client *c = client_tcp(f, sip_listener_addr(l));

	listen_on(f, SIP_PROTO_UDP, AF_INET, 0);
	client_send(c, OPT("f1"), strlen(OPT("f1")));
	RUN_UNTIL(f, f->nrx == 1);
	sip_transport_free(f->tp);
	f->tp = NULL;
	RUN_UNTIL(f, c->eof);
	/* closeh is not called for connections closed by the free. */
	assert_int_equal(f->closes, 0);
	client_free(c);
}

static void test_sockaddr_str(void **state)
{
	struct sockaddr_storage ss;
	char buf[64];

	make_addr(&ss, AF_INET, 5060);
	assert_string_equal(sip_sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
			    "127.0.0.1:5060");
	make_addr(&ss, AF_INET6, 5061);
	assert_string_equal(sip_sockaddr_str((struct sockaddr *)&ss, buf, sizeof(buf)),
			    "[::1]:5061");
	assert_string_equal(sip_proto_name(SIP_PROTO_TCP), "tcp");
	assert_string_equal(sip_proto_upper(SIP_PROTO_UDP), "UDP");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_udp_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_dual_stack_same_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_bind_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_malformed_and_keepalive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_send_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_wildcard_v4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_wildcard_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_specific_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_send_from_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_queue_keeps_order_and_source, setup, teardown),
		cmocka_unit_test_setup_teardown(test_udp_queue_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_wildcard_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_two_in_one_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_split_in_three, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_ping_and_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_oversize_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_oversize_body, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_malformed_closes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_send_on_conn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_send_opens_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_from_local, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_connect_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_max_conns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_write_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_open_connections, setup, teardown),
		cmocka_unit_test(test_sockaddr_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
