/*
 * test_ops.c - the ops HTTP server: routes, methods and content types;
 * the wait on the main loop and the 503 when the loop does not answer;
 * /livez's heartbeat and SIP OPTIONS checks against a fake UDP SIP
 * responder (answering, silent, answering something else, refusing);
 * /debug/freeze; who may use /status, /reload and /debug (the bearer
 * token, and the loopback-only rule without one, from a non-loopback
 * address of this machine when it has one).
 *
 * The "main loop" is a private uv loop run by a thread of the test, with
 * fake hooks; a hook can be told to block, which blocks the loop as a
 * stuck PBX would.  No assertion depends on how long anything took: waits
 * for a state ("503 while frozen, then 200") are polls with a generous
 * cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ops/auth.h"
#include "ops/ops.h"
#include "util/log.h"

#define POLL_CAP 200           /* polls of 50 ms: 10 s at most */

/* ---- a fake SIP responder on UDP ---- */

enum sip_mode { SIP_OK, SIP_BUSY, SIP_SILENT, SIP_RINGING_OK, SIP_WRONG_CALLID, SIP_SECOND };

struct responder {
	int fd;
	uint16_t port;
	pthread_t thread;
	_Atomic int mode;
	_Atomic bool stop;
	_Atomic unsigned requests;
};

/* Copy the header line starting with name (case-insensitive) into out. */
static void copy_header(const char *req, const char *name, struct sbuf *out)
{
	size_t n = strlen(name);

	for (const char *p = req; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			const char *end = strstr(p, "\r\n");

			sbuf_append(out, p, end ? (size_t)(end - p) + 2 : strlen(p));
			return;
		}
	}
}

static void respond_sip(struct responder *r, const char *req, const struct sockaddr *to,
			socklen_t tolen, const char *status)
{
	struct sbuf sb;

	sbuf_init(&sb);
	sbuf_printf(&sb, "SIP/2.0 %s\r\n", status);
	copy_header(req, "Via", &sb);
	copy_header(req, "From", &sb);
	sbuf_append_str(&sb, "To: <sip:kubevox@127.0.0.1>;tag=fake\r\n");
	if (atomic_load(&r->mode) == SIP_WRONG_CALLID)
		sbuf_append_str(&sb, "Call-ID: someone-else\r\n");
	else
		copy_header(req, "Call-ID", &sb);
	copy_header(req, "CSeq", &sb);
	sbuf_append_str(&sb, "Content-Length: 0\r\n\r\n");
	assert_false(sbuf_err(&sb));
	sendto(r->fd, sb.p, sb.len, 0, to, tolen);
	sbuf_free(&sb);
}

static void *responder_run(void *arg)
{
	struct responder *r = arg;
	char buf[4096], last[128] = "";
	const char *seen;
	bool second;

	while (!atomic_load(&r->stop)) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvfrom(r->fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fromlen);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		seen = strstr(buf, "Call-ID:");
		/* SIP_SECOND: only a copy of the last request is answered. */
		second = seen && *last && !strncmp(seen, last, strlen(last));
		if (seen)
			snprintf(last, sizeof(last), "%.*s", (int)strcspn(seen, "\r"), seen);
		atomic_fetch_add(&r->requests, 1);
		switch (atomic_load(&r->mode)) {
		case SIP_SECOND:
			if (second)
				respond_sip(r, buf, (struct sockaddr *)&from, fromlen, "200 OK");
			break;
		case SIP_OK:
		case SIP_WRONG_CALLID:
			respond_sip(r, buf, (struct sockaddr *)&from, fromlen, "200 OK");
			break;
		case SIP_BUSY:
			respond_sip(r, buf, (struct sockaddr *)&from, fromlen, "486 Busy Here");
			break;
		case SIP_RINGING_OK:
			respond_sip(r, buf, (struct sockaddr *)&from, fromlen, "100 Trying");
			respond_sip(r, buf, (struct sockaddr *)&from, fromlen, "200 OK");
			break;
		case SIP_SILENT:
			break;
		}
	}
	return NULL;
}

static void responder_start(struct responder *r)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(r, 0, sizeof(*r));
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(r->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(r->fd, (struct sockaddr *)&sin, &len), 0);
	r->port = ntohs(sin.sin_port);
	assert_int_equal(pthread_create(&r->thread, NULL, responder_run, r), 0);
}

static void responder_stop(struct responder *r)
{
	atomic_store(&r->stop, true);
	pthread_join(r->thread, NULL);
	close(r->fd);
}

/* ---- the fake main loop ---- */

/* An ops server on a loop of its own, run by a thread. */
struct srv {
	uv_loop_t loop;
	uv_async_t stop;
	pthread_t thread;
	struct ops *ops;
	uint16_t port;
};

struct fx {
	struct srv srv;
	struct ops_config cfg;
	struct ops_hooks hooks;
	uint16_t port;
	/* hooks */
	_Atomic unsigned metrics_calls, status_calls, reload_calls;
	_Atomic bool reload_fail;
	_Atomic bool block;          /* the status hook blocks the loop */
	sem_t blocked, release;
	struct responder sip;
};

static void hook_metrics(struct sbuf *out, void *arg)
{
	struct fx *fx = arg;

	atomic_fetch_add(&fx->metrics_calls, 1);
	sbuf_append_str(out, "# HELP fake_total A fake.\n# TYPE fake_total counter\nfake_total 1\n");
}

static void hook_status(struct sbuf *out, void *arg)
{
	struct fx *fx = arg;

	atomic_fetch_add(&fx->status_calls, 1);
	if (atomic_load(&fx->block)) {
		sem_post(&fx->blocked);
		while (sem_wait(&fx->release) && errno == EINTR)
			;
	}
	sbuf_append_str(out, "{\"fake\":true}");
}

static int hook_reload(struct sbuf *out, void *arg)
{
	struct fx *fx = arg;

	atomic_fetch_add(&fx->reload_calls, 1);
	if (!atomic_load(&fx->reload_fail))
		return 0;
	sbuf_append_str(out, "pjsip.conf:3: unknown option 'bogus'\n");
	return -1;
}

static void stop_cb(uv_async_t *a)
{
	struct srv *s = a->data;

	ops_free(s->ops);
	s->ops = NULL;
	uv_close((uv_handle_t *)a, NULL);
}

static void *loop_run(void *arg)
{
	struct srv *s = arg;

	uv_run(&s->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* ops_alloc() on the loop before its thread starts: that thread is then
 * the only one to touch the loop. */
static void srv_start(struct srv *s, const struct ops_config *cfg,
		      const struct ops_hooks *hooks)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(uv_loop_init(&s->loop), 0);
	assert_int_equal(uv_async_init(&s->loop, &s->stop, stop_cb), 0);
	s->stop.data = s;
	assert_int_equal(ops_alloc(&s->ops, &s->loop, cfg, hooks), 0);
	s->port = ops_http_port(s->ops);
	assert_true(s->port > 0);
	assert_int_equal(pthread_create(&s->thread, NULL, loop_run, s), 0);
}

static void srv_stop(struct srv *s)
{
	uv_async_send(&s->stop);
	pthread_join(s->thread, NULL);
	assert_int_equal(uv_loop_close(&s->loop), 0);
}

static int devnull = -1;

static void quiet_logs(void)
{
	if (!getenv("KV_TEST_LOG") && devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		log_set_fd(devnull);
	}
}

static void loopback(struct sockaddr_storage *ss, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
}

static int setup_with(void **state, unsigned stall_ms, bool debug, bool sip)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	quiet_logs();
	sem_init(&fx->blocked, 0, 0);
	sem_init(&fx->release, 0, 0);
	if (sip)
		responder_start(&fx->sip);
	fx->cfg.enabled = true;
	loopback(&fx->cfg.bind, 0);
	if (sip)
		loopback(&fx->cfg.sip_udp, fx->sip.port);
	fx->cfg.live_deadline_ms = 3000;
	fx->cfg.loop_stall_ms = stall_ms;
	fx->cfg.debug_hooks = debug;
	fx->hooks.metrics = hook_metrics;
	fx->hooks.status = hook_status;
	fx->hooks.reload = hook_reload;
	fx->hooks.arg = fx;
	srv_start(&fx->srv, &fx->cfg, &fx->hooks);
	fx->port = fx->srv.port;
	*state = fx;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 5000, false, false);
}

static int setup_stall(void **state)
{
	return setup_with(state, 600, false, false);
}

static int setup_debug(void **state)
{
	return setup_with(state, 600, true, false);
}

static int setup_sip(void **state)
{
	return setup_with(state, 5000, false, true);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	/* Never leave the loop blocked in a hook. */
	atomic_store(&fx->block, false);
	sem_post(&fx->release);
	srv_stop(&fx->srv);
	if (fx->cfg.sip_udp.ss_family)
		responder_stop(&fx->sip);
	sem_destroy(&fx->blocked);
	sem_destroy(&fx->release);
	free(fx);
	return 0;
}

/* ---- an HTTP/1.0 client ---- */

struct reply {
	unsigned code;
	char head[2048];
	char body[8192];
};

/* One request to ip:port (a literal IPv4 address, also the client's
 * source address: a local address connects from itself), with one extra
 * header line (e.g. "Authorization: Bearer x") or none. */
static void http_at(const char *ip, uint16_t port, const char *method, const char *path,
		    const char *header, struct reply *r)
{
	struct timeval tv = { 15, 0 };
	struct sockaddr_in sin;
	char req[1024], buf[sizeof(r->head) + sizeof(r->body)];
	size_t len = 0;
	char *sep;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	sin.sin_port = htons(port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: %s\r\n%s%s"
		 "Content-Length: 4\r\n\r\nbody", method, path, ip, header ? header : "",
		 header ? "\r\n" : "");
	assert_int_equal(send(fd, req, strlen(req), MSG_NOSIGNAL), (ssize_t)strlen(req));
	for (;;) {
		ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		assert_true(len < sizeof(buf) - 1);
	}
	close(fd);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.%*c %u", &r->code), 1);
	sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	assert_true((size_t)(sep - buf) < sizeof(r->head));
	memcpy(r->head, buf, (size_t)(sep - buf));
	snprintf(r->body, sizeof(r->body), "%s", sep + 4);
}

static void http(uint16_t port, const char *method, const char *path, struct reply *r)
{
	http_at("127.0.0.1", port, method, path, NULL, r);
}

#define LO "127.0.0.1"

/* http_at() that must answer code. */
static void http_expect(const char *ip, uint16_t port, const char *method, const char *path,
			const char *header, unsigned code, struct reply *r)
{
	http_at(ip, port, method, path, header, r);
	if (r->code != code) {
		print_error("%s %s from %s%s%s: %u, not %u: %s\n", method, path, ip,
			    header ? " with " : "", header ? header : "", r->code, code, r->body);
		fail();
	}
}

static bool has_header(const struct reply *r, const char *line)
{
	for (const char *p = strstr(r->head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (!strncasecmp(p + 2, line, strlen(line)) &&
		    (p[2 + strlen(line)] == '\r' || p[2 + strlen(line)] == '\0'))
			return true;
	return false;
}

#define assert_contains(hay, needle) do {				\
		if (!strstr((hay), (needle))) {				\
			print_error("'%s' not in '%s'\n", (needle), (hay)); \
			fail();						\
		}							\
	} while (0)

static void nap(void)
{
	struct timespec ts = { 0, 50 * 1000000L };

	nanosleep(&ts, NULL);
}

/* Poll path until it answers want (at most POLL_CAP times). */
static void http_until(uint16_t port, const char *path, unsigned want, struct reply *r)
{
	for (int i = 0; i < POLL_CAP; i++) {
		http(port, "GET", path, r);
		if (r->code == want)
			return;
		nap();
	}
	print_error("%s never answered %u; last %u: %s\n", path, want, r->code, r->body);
	fail();
}

/* ---- tests ---- */

static void test_disabled(void **state)
{
	struct ops_config cfg;
	struct ops *o = NULL;
	uv_loop_t loop;

	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(ops_alloc(&o, &loop, &cfg, NULL), 0);
	assert_non_null(o);
	assert_int_equal(ops_http_port(o), 0);
	ops_set_ready(o, true, NULL);
	ops_free(o);
	ops_free(NULL);
	ops_set_ready(NULL, false, "x");
	assert_int_equal(ops_http_port(NULL), 0);
	assert_int_equal(ops_alloc(&o, &loop, NULL, NULL), EINVAL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_bind_conflict(void **state)
{
	struct fx *fx = *state;
	struct ops_config cfg = fx->cfg;
	struct ops *o = NULL;
	uv_loop_t loop;

	quiet_logs();
	loopback(&cfg.bind, fx->port);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_not_equal(ops_alloc(&o, &loop, &cfg, NULL), 0);
	assert_null(o);
	cfg.bind.ss_family = AF_UNIX;
	assert_int_equal(ops_alloc(&o, &loop, &cfg, NULL), EAFNOSUPPORT);
	/* What a failed ops_alloc() opened closes on the loop. */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_routes(void **state)
{
	struct fx *fx = *state;
	struct reply r;

	http(fx->port, "GET", "/metrics", &r);
	assert_int_equal(r.code, 200);
	assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	assert_true(has_header(&r, "Cache-Control: no-store"));
	assert_string_equal(r.body, "# HELP fake_total A fake.\n# TYPE fake_total counter\n"
			    "fake_total 1\n");

	http(fx->port, "GET", "/status", &r);
	assert_int_equal(r.code, 200);
	assert_true(has_header(&r, "Content-Type: application/json"));
	assert_string_equal(r.body, "{\"fake\":true}");

	/* HEAD: the headers of GET, no body. */
	http(fx->port, "HEAD", "/status", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "");

	http(fx->port, "POST", "/reload", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "reloaded\n");
	atomic_store(&fx->reload_fail, true);
	http(fx->port, "POST", "/reload", &r);
	assert_int_equal(r.code, 500);
	assert_string_equal(r.body, "reload failed:\npjsip.conf:3: unknown option 'bogus'\n");
	assert_int_equal(atomic_load(&fx->reload_calls), 2);

	/* Not ready until the PBX says so, and says why. */
	http(fx->port, "GET", "/readyz", &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "not ready: starting\n");
	ops_set_ready(fx->srv.ops, true, NULL);
	http(fx->port, "GET", "/readyz", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ready\n");
	ops_set_ready(fx->srv.ops, false, "draining");
	http(fx->port, "GET", "/readyz", &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "not ready: draining\n");

	/* No SIP listener configured: only the loop is checked. */
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);
	assert_contains(r.body, "sip: not checked");

	http(fx->port, "GET", "/nothing", &r);
	assert_int_equal(r.code, 404);
	http(fx->port, "GET", "/metrics/", &r);
	assert_int_equal(r.code, 404);
	http(fx->port, "GET", "/reload", &r);
	assert_int_equal(r.code, 405);
	assert_true(has_header(&r, "Allow: POST"));
	http(fx->port, "POST", "/metrics", &r);
	assert_int_equal(r.code, 405);
	assert_true(has_header(&r, "Allow: GET, HEAD"));
	http(fx->port, "DELETE", "/livez", &r);
	assert_int_equal(r.code, 405);
	/* Debug routes do not exist unless asked for. */
	http(fx->port, "POST", "/debug/freeze?ms=100", &r);
	assert_int_equal(r.code, 404);

	assert_int_equal(atomic_load(&fx->metrics_calls), 1);
	assert_int_equal(atomic_load(&fx->status_calls), 2);
}

static void test_loop_blocked(void **state)
{
	struct fx *fx = *state;
	struct reply r;

	/* The status hook blocks the loop; its request gives up: 503. */
	atomic_store(&fx->block, true);
	http(fx->port, "GET", "/status", &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "main loop did not answer within 600 ms\n");
	while (sem_wait(&fx->blocked) && errno == EINTR)
		;

	/* Queued behind it: 503 too, and taken back from the queue. */
	http(fx->port, "GET", "/metrics", &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "main loop did not answer within 600 ms\n");

	/* Both probes see the stall without asking the loop. */
	http_until(fx->port, "/livez", 503, &r);
	assert_contains(r.body, "not live: main loop stalled");
	ops_set_ready(fx->srv.ops, true, NULL);
	http(fx->port, "GET", "/readyz", &r);
	assert_int_equal(r.code, 503);
	assert_contains(r.body, "not ready: main loop stalled");

	atomic_store(&fx->block, false);
	sem_post(&fx->release);
	http_until(fx->port, "/metrics", 200, &r);
	http_until(fx->port, "/livez", 200, &r);
	http_until(fx->port, "/readyz", 200, &r);
	/* The metrics job that gave up never ran: only the last one did. */
	assert_int_equal(atomic_load(&fx->metrics_calls), 1);
	assert_int_equal(atomic_load(&fx->status_calls), 1);
}

static void test_freeze(void **state)
{
	struct fx *fx = *state;
	struct reply r;

	http(fx->port, "GET", "/debug/freeze?ms=100", &r);
	assert_int_equal(r.code, 405);
	http(fx->port, "POST", "/debug/freeze", &r);
	assert_int_equal(r.code, 400);
	http(fx->port, "POST", "/debug/freeze?ms=abc", &r);
	assert_int_equal(r.code, 400);
	http(fx->port, "POST", "/debug/freeze?ms=0", &r);
	assert_int_equal(r.code, 400);
	http(fx->port, "POST", "/debug/freeze?ms=60001", &r);
	assert_int_equal(r.code, 400);
	http(fx->port, "POST", "/debug/freeze?ms=99999999999999999999", &r);
	assert_int_equal(r.code, 400);

	http(fx->port, "POST", "/debug/freeze?ms=2500", &r);
	assert_int_equal(r.code, 202);
	assert_string_equal(r.body, "freezing the main loop for 2500 ms\n");
	http_until(fx->port, "/livez", 503, &r);
	assert_contains(r.body, "main loop stalled");
	http_until(fx->port, "/livez", 200, &r);
	http_until(fx->port, "/metrics", 200, &r);
}

static void test_livez_sip(void **state)
{
	struct fx *fx = *state;
	struct reply r;
	unsigned before;

	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);
	assert_contains(r.body, "sip: OPTIONS to 127.0.0.1:");
	assert_contains(r.body, "answered 200");
	assert_true(atomic_load(&fx->sip.requests) >= 1);

	/* A provisional answer is not the end. */
	atomic_store(&fx->sip.mode, SIP_RINGING_OK);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);

	/* The first datagram lost: the resent one (timer E) gets the 200. */
	atomic_store(&fx->sip.mode, SIP_SECOND);
	before = atomic_load(&fx->sip.requests);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);
	assert_true(atomic_load(&fx->sip.requests) - before >= 2);

	atomic_store(&fx->sip.mode, SIP_BUSY);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 503);
	assert_contains(r.body, "not live: sip: OPTIONS to 127.0.0.1:");
	assert_contains(r.body, "answered 486");

	atomic_store(&fx->sip.mode, SIP_SILENT);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 503);
	assert_contains(r.body, "not answered within 3000 ms");

	/* An answer to some other request does not count. */
	atomic_store(&fx->sip.mode, SIP_WRONG_CALLID);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 503);
	assert_contains(r.body, "not answered within 3000 ms");

	atomic_store(&fx->sip.mode, SIP_OK);
	http(fx->port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);
}

/* The OPTIONS goes to the loopback when SIP listens on a wildcard, and
 * fails at once when nothing listens at all. */
static void test_livez_wildcard_and_refused(void **state)
{
	struct fx *fx = *state;
	struct ops_config cfg = fx->cfg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg.sip_udp;
	struct sockaddr_storage probe;
	socklen_t len = sizeof(probe);
	struct reply r;
	struct srv s;
	int fd;

	sin->sin_addr.s_addr = htonl(INADDR_ANY);
	srv_start(&s, &cfg, &fx->hooks);
	http(s.port, "GET", "/livez", &r);
	assert_int_equal(r.code, 200);
	assert_contains(r.body, "OPTIONS to 127.0.0.1:");
	srv_stop(&s);

	/* A port that was free a moment ago: ICMP port unreachable. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	loopback(&probe, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&probe, sizeof(struct sockaddr_in)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&probe, &len), 0);
	close(fd);
	loopback(&cfg.sip_udp, ntohs(((struct sockaddr_in *)&probe)->sin_port));
	srv_start(&s, &cfg, &fx->hooks);
	http(s.port, "GET", "/livez", &r);
	assert_int_equal(r.code, 503);
	assert_contains(r.body, "not live: sip: OPTIONS to 127.0.0.1:");
	srv_stop(&s);
}


/* ---- who may use the guarded routes ---- */

static void sa4(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void sa6(struct sockaddr_storage *ss, const char *ip)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
}

static void test_auth_check(void **state)
{
	static const struct {
		const char *ip;
		bool loopback;
	} addrs[] = {
		{ "127.0.0.1", true }, { "127.255.3.4", true }, { "128.0.0.1", false },
		{ "126.255.255.255", false }, { "10.0.0.1", false }, { "0.0.0.0", false },
		{ "::1", true }, { "::ffff:127.0.0.1", true }, { "::ffff:127.9.9.9", true },
		{ "::ffff:10.0.0.1", false }, { "::2", false }, { "::", false },
		{ "::7f00:1", false },    /* IPv4-compatible, not mapped */
		{ "2001:db8::1", false }, { "fe80::1", false },
	};
	struct sockaddr_storage lo, remote, unix_sa;
	struct ops_token t;
	const struct sockaddr *lop = (const struct sockaddr *)&lo;
	const struct sockaddr *rp = (const struct sockaddr *)&remote;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		struct sockaddr_storage ss;

		if (strchr(addrs[i].ip, ':'))
			sa6(&ss, addrs[i].ip);
		else
			sa4(&ss, addrs[i].ip);
		if (ops_addr_loopback((const struct sockaddr *)&ss) != addrs[i].loopback) {
			print_error("%s: loopback should be %d\n", addrs[i].ip, addrs[i].loopback);
			fail();
		}
	}
	memset(&unix_sa, 0, sizeof(unix_sa));
	unix_sa.ss_family = AF_UNIX;
	assert_false(ops_addr_loopback((const struct sockaddr *)&unix_sa));
	assert_false(ops_addr_loopback(NULL));

	sa4(&lo, "127.0.0.1");
	sa4(&remote, "192.0.2.7");
	/* No token: the loopback only, whatever is sent. */
	assert_int_equal(ops_token_set(&t, NULL), 0);
	assert_false(t.set);
	assert_int_equal(ops_auth_check(&t, NULL, lop), OPS_AUTH_OK);
	assert_int_equal(ops_auth_check(&t, "Bearer x", lop), OPS_AUTH_OK);
	assert_int_equal(ops_auth_check(&t, NULL, rp), OPS_AUTH_NOT_LOOPBACK);
	assert_int_equal(ops_auth_check(&t, "Bearer x", rp), OPS_AUTH_NOT_LOOPBACK);
	assert_int_equal(ops_auth_check(&t, NULL, NULL), OPS_AUTH_NOT_LOOPBACK);
	assert_int_equal(ops_token_set(&t, ""), 0);
	assert_false(t.set);

	/* A token: from everyone, the loopback included. */
	assert_int_equal(ops_token_set(&t, "s3cret-Token_0123456789"), 0);
	assert_true(t.set);
	assert_int_equal(ops_auth_check(&t, NULL, lop), OPS_AUTH_MISSING);
	assert_int_equal(ops_auth_check(&t, "", lop), OPS_AUTH_MISSING);
	assert_int_equal(ops_auth_check(&t, "Bearer s3cret-Token_0123456789", lop), OPS_AUTH_OK);
	assert_int_equal(ops_auth_check(&t, "Bearer s3cret-Token_0123456789", rp), OPS_AUTH_OK);
	assert_int_equal(ops_auth_check(&t, "bearer \t s3cret-Token_0123456789 \t", rp),
			 OPS_AUTH_OK);
	assert_int_equal(ops_auth_check(&t, "BEARER s3cret-Token_0123456789", NULL), OPS_AUTH_OK);
	static const char *const wrong[] = {
		"Bearer s3cret-Token_012345678",    /* one short */
		"Bearer s3cret-Token_01234567890",  /* one more */
		"Bearer S3cret-Token_0123456789",   /* case */
		"Bearer s3cret-Token_0123456788",   /* last byte */
		"Bearer  s3cret Token_0123456789",
		"Bearers3cret-Token_0123456789", "Bearer", "Bearer ", "Bearer \t ",
		"Basic czNjcmV0", "s3cret-Token_0123456789", "Token s3cret-Token_0123456789",
	};
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		if (ops_auth_check(&t, wrong[i], lop) != OPS_AUTH_WRONG) {
			print_error("accepted or misjudged '%s'\n", wrong[i]);
			fail();
		}
	}
	/* Only a digest is kept. */
	assert_null(memmem(&t, sizeof(t), "s3cret", 6));
	assert_int_equal(ops_token_set(&t, NULL), 0);
	assert_int_equal(ops_auth_check(&t, "Bearer s3cret-Token_0123456789", rp),
			 OPS_AUTH_NOT_LOOPBACK);
}

static void test_auth_token(void **state)
{
	struct fx *fx = *state;
	struct ops *o = fx->srv.ops;
	uint64_t refused[OPS_REFUSED_COUNT];
	struct reply r;

	/* Without a token the loopback (this client) may. */
	http_expect(LO, fx->port, "GET", "/status", NULL, 200, &r);

	assert_int_equal(ops_set_token(o, "first-token-0123456789"), 0);
	/* Open to the kubelet and Prometheus. */
	http_expect(LO, fx->port, "GET", "/metrics", NULL, 200, &r);
	http_expect(LO, fx->port, "GET", "/livez", NULL, 200, &r);
	http_expect(LO, fx->port, "GET", "/readyz", NULL, 503, &r);

	http_expect(LO, fx->port, "GET", "/status", NULL, 401, &r);
	assert_true(has_header(&r, "WWW-Authenticate: Bearer realm=\"kubevox\""));
	assert_contains(r.body, "Authorization: Bearer");
	assert_null(strstr(r.body, "fake"));
	http_expect(LO, fx->port, "HEAD", "/status", NULL, 401, &r);
	http_expect(LO, fx->port, "GET", "/status", "Authorization: Bearer second", 401, &r);
	assert_true(has_header(&r, "WWW-Authenticate: Bearer realm=\"kubevox\", "
			       "error=\"invalid_token\""));
	http_expect(LO, fx->port, "POST", "/reload", NULL, 401, &r);
	http_expect(LO, fx->port, "POST", "/reload",
		    "Authorization: Basic Zmlyc3Q6dG9rZW4=", 401, &r);
	/* Refused before the loop hears of it. */
	assert_int_equal(atomic_load(&fx->status_calls), 1);
	assert_int_equal(atomic_load(&fx->reload_calls), 0);
	/* The method is checked first: nothing to hide there. */
	http_expect(LO, fx->port, "GET", "/reload", NULL, 405, &r);

	http_expect(LO, fx->port, "GET", "/status",
		    "Authorization: Bearer first-token-0123456789", 200, &r);
	assert_string_equal(r.body, "{\"fake\":true}");
	http_expect(LO, fx->port, "POST", "/reload",
		    "authorization: bearer first-token-0123456789", 200, &r);
	assert_int_equal(atomic_load(&fx->reload_calls), 1);

	/* A new token (a reload that changed it): the old one is refused. */
	assert_int_equal(ops_set_token(o, "second-token-0123456789"), 0);
	http_expect(LO, fx->port, "GET", "/status",
		    "Authorization: Bearer first-token-0123456789", 401, &r);
	http_expect(LO, fx->port, "GET", "/status",
		    "Authorization: Bearer second-token-0123456789", 200, &r);
	/* And none again: the loopback may. */
	assert_int_equal(ops_set_token(o, NULL), 0);
	http_expect(LO, fx->port, "GET", "/status", NULL, 200, &r);

	ops_refused(o, refused);
	assert_int_equal(refused[OPS_REFUSED_NO_TOKEN], 3);
	assert_int_equal(refused[OPS_REFUSED_WRONG_TOKEN], 3);
	assert_int_equal(refused[OPS_REFUSED_NOT_LOOPBACK], 0);
	assert_int_equal(ops_set_token(NULL, "x"), EINVAL);
	ops_refused(NULL, refused);
	assert_int_equal(refused[OPS_REFUSED_WRONG_TOKEN], 0);
}

/* /debug/freeze changes state: guarded, and a refused one freezes
 * nothing. */
static void test_auth_freeze(void **state)
{
	struct fx *fx = *state;
	struct reply r;

	assert_int_equal(ops_set_token(fx->srv.ops, "freeze-token-0123456789"), 0);
	http_expect(LO, fx->port, "POST", "/debug/freeze?ms=3000", NULL, 401, &r);
	/* Had it frozen the loop, /metrics would wait and fail (600 ms). */
	http_expect(LO, fx->port, "GET", "/metrics", NULL, 200, &r);
	http_expect(LO, fx->port, "POST", "/debug/freeze?ms=100",
		    "Authorization: Bearer freeze-token-0123456789", 202, &r);
}

/* A non-loopback IPv4 address of this machine that is up, or "". */
static void local_address(char ip[INET_ADDRSTRLEN])
{
	struct ifaddrs *ifa, *i;

	ip[0] = '\0';
	if (getifaddrs(&ifa))
		return;
	for (i = ifa; i && !ip[0]; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    !(i->ifa_flags & IFF_UP) || ops_addr_loopback(i->ifa_addr))
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, ip,
			  INET_ADDRSTRLEN);
	}
	freeifaddrs(ifa);
}

/* The server on 0.0.0.0: a client on the loopback may without a token, a
 * client from another address of this machine may not (403), and may
 * with the token.  Machines without such an address test only the first
 * half here; tests/sip/test_ops_auth.sh makes one in a network namespace. */
static void test_auth_remote(void **state)
{
	struct fx *fx = *state;
	struct ops_config cfg = fx->cfg;
	char ip[INET_ADDRSTRLEN];
	struct reply r;
	struct srv s;

	((struct sockaddr_in *)&cfg.bind)->sin_addr.s_addr = htonl(INADDR_ANY);
	srv_start(&s, &cfg, &fx->hooks);
	http_expect(LO, s.port, "GET", "/status", NULL, 200, &r);
	http_expect(LO, s.port, "POST", "/reload", NULL, 200, &r);
	local_address(ip);
	if (!ip[0]) {
		print_message("no non-loopback IPv4 address here: remote half not run\n");
	} else {
		http_expect(ip, s.port, "GET", "/status", NULL, 403, &r);
		assert_contains(r.body, "loopback clients only");
		http_expect(ip, s.port, "POST", "/reload", NULL, 403, &r);
		http_expect(ip, s.port, "GET", "/metrics", NULL, 200, &r);
		assert_int_equal(ops_set_token(s.ops, "remote-token-0123456789"), 0);
		http_expect(ip, s.port, "GET", "/status",
			    "Authorization: Bearer remote-token-0123456789", 200, &r);
		http_expect(ip, s.port, "GET", "/status", NULL, 401, &r);
	}
	srv_stop(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled),
		cmocka_unit_test_setup_teardown(test_bind_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_blocked, setup_stall, teardown),
		cmocka_unit_test_setup_teardown(test_freeze, setup_debug, teardown),
		cmocka_unit_test_setup_teardown(test_livez_sip, setup_sip, teardown),
		cmocka_unit_test_setup_teardown(test_livez_wildcard_and_refused, setup_sip,
						teardown),
		cmocka_unit_test(test_auth_check),
		cmocka_unit_test_setup_teardown(test_auth_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_freeze, setup_debug, teardown),
		cmocka_unit_test_setup_teardown(test_auth_remote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
