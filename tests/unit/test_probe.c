/*
 * test_probe.c - `kubevoxd --probe`: the exit status ops_probe() returns
 * against a fake HTTP server that answers 200, 503, garbage, nothing, or
 * hangs up; the request it sends (path from what, or from the URL);
 * refused connections, names that resolve to several addresses, IPv6,
 * and URLs it must refuse without connecting anywhere.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ops/ops.h"

enum mode { SRV_200, SRV_200_HTTP10, SRV_503, SRV_GARBAGE, SRV_SILENT, SRV_HANGUP };

struct srv {
	int fd;
	uint16_t port;
	pthread_t thread;
	_Atomic int mode;
	_Atomic bool stop;
	_Atomic unsigned conns;
	pthread_mutex_t mu;
	char request[256];       /* first line of the last request */
	char host[256];          /* its Host header */
};

/* Read the request head (until the empty line) within a few seconds. */
static size_t read_head(struct srv *s, int c, char *buf, size_t size)
{
	size_t len = 0;

	while (len + 1 < size && !atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = c, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recv(c, buf + len, size - 1 - len, 0);
		if (n <= 0)
			break;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	buf[len] = '\0';
	return len;
}

static void serve(struct srv *s, int c)
{
	static const char *const answers[] = {
		[SRV_200] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
			    "Content-Length: 3\r\n\r\nok\n",
		[SRV_200_HTTP10] = "HTTP/1.0 200 OK\r\n\r\nfine, thanks",
		[SRV_503] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 24\r\n\r\n"
			    "not live: loop stalled\r\n",
		[SRV_GARBAGE] = "SSH-2.0-OpenSSH_9.2\r\n",
	};
	char buf[2048], *host;
	int mode = atomic_load(&s->mode);

	read_head(s, c, buf, sizeof(buf));
	pthread_mutex_lock(&s->mu);
	snprintf(s->request, sizeof(s->request), "%.*s", (int)strcspn(buf, "\r\n"), buf);
	host = strstr(buf, "\r\nHost: ");
	if (host)
		snprintf(s->host, sizeof(s->host), "%.*s", (int)strcspn(host + 8, "\r\n"),
			 host + 8);
	else
		s->host[0] = '\0';
	pthread_mutex_unlock(&s->mu);
	if (mode == SRV_HANGUP)
		return;
	if (mode == SRV_SILENT) {
		/* Hold the connection until the client gives up. */
		while (!atomic_load(&s->stop)) {
			struct pollfd pfd = { .fd = c, .events = POLLIN };

			if (poll(&pfd, 1, 50) > 0 && recv(c, buf, sizeof(buf), 0) <= 0)
				break;
		}
		return;
	}
	send(c, answers[mode], strlen(answers[mode]), MSG_NOSIGNAL);
}

static void *srv_run(void *arg)
{
	struct srv *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		int c;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		atomic_fetch_add(&s->conns, 1);
		serve(s, c);
		close(c);
	}
	return NULL;
}

/* Listen on 127.0.0.1, or on ::1 with v6 (false when there is no IPv6). */
static bool srv_start(struct srv *s, bool v6)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(s, 0, sizeof(*s));
	memset(&ss, 0, sizeof(ss));
	pthread_mutex_init(&s->mu, NULL);
	s->fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		if (s->fd < 0 || bind(s->fd, (struct sockaddr *)sin6, sizeof(*sin6))) {
			if (s->fd >= 0)
				close(s->fd);
			pthread_mutex_destroy(&s->mu);
			return false;
		}
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		assert_true(s->fd >= 0);
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(s->fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	}
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&ss, &len), 0);
	s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(pthread_create(&s->thread, NULL, srv_run, s), 0);
	return true;
}

static void srv_stop(struct srv *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_mutex_destroy(&s->mu);
}

static int setup(void **state)
{
	struct srv *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	assert_true(srv_start(s, false));
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct srv *s = *state;

	srv_stop(s);
	free(s);
	return 0;
}

static const char *url(const struct srv *s, const char *fmt)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), fmt, s->port);
	return buf;
}

static void assert_request(struct srv *s, const char *line)
{
	pthread_mutex_lock(&s->mu);
	assert_string_equal(s->request, line);
	pthread_mutex_unlock(&s->mu);
}

static void test_ok(void **state)
{
	struct srv *s = *state;
	char host[64];

	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 2000), 0);
	assert_request(s, "GET /livez HTTP/1.0");
	snprintf(host, sizeof(host), "127.0.0.1:%u", s->port);
	pthread_mutex_lock(&s->mu);
	assert_string_equal(s->host, host);
	pthread_mutex_unlock(&s->mu);

	assert_int_equal(ops_probe("ready", url(s, "http://127.0.0.1:%u/"), 2000), 0);
	assert_request(s, "GET /readyz HTTP/1.0");
	assert_int_equal(ops_probe("ready", url(s, "HTTP://127.0.0.1:%u/health/ready?x=1"),
				   2000), 0);
	assert_request(s, "GET /health/ready?x=1 HTTP/1.0");

	/* No Content-Length, body until the server closes: still a 200. */
	atomic_store(&s->mode, SRV_200_HTTP10);
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 2000), 0);
	/* A timeout of 0 means the default. */
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 0), 0);
}

static void test_not_ok(void **state)
{
	struct srv *s = *state;
	unsigned before;

	atomic_store(&s->mode, SRV_503);
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 2000), 1);
	atomic_store(&s->mode, SRV_GARBAGE);
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 2000), 1);
	atomic_store(&s->mode, SRV_HANGUP);
	assert_int_equal(ops_probe("ready", url(s, "http://127.0.0.1:%u"), 2000), 1);
	assert_request(s, "GET /readyz HTTP/1.0");
	/* Connected, asked, never answered: the deadline ends it. */
	atomic_store(&s->mode, SRV_SILENT);
	before = atomic_load(&s->conns);
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 300), 1);
	assert_int_equal(atomic_load(&s->conns), before + 1);
	atomic_store(&s->mode, SRV_200);
	assert_int_equal(ops_probe("live", url(s, "http://127.0.0.1:%u"), 2000), 0);
}

static void test_refused(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	char u[64];
	int fd;

	/* A port that was free a moment ago. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	snprintf(u, sizeof(u), "http://127.0.0.1:%u", ntohs(sin.sin_port));
	assert_int_equal(ops_probe("live", u, 2000), 1);
	assert_int_equal(ops_probe("ready", u, 2000), 1);
}

static void test_bad_args(void **state)
{
	struct srv *s = *state;
	static const char *const bad[] = {
		"ftp://127.0.0.1:%u/", "http://", "http:///livez", "http://[::1:%u",
		"http://[]:%u", "http://127.0.0.1:0", "http://127.0.0.1:99999",
		"http://127.0.0.1:8a", "http://127.0.0.1:", "http://127.0.0.1:%u/a b",
		"http://127.0.0.1:%u?x", "127.0.0.1:%u",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ops_probe("live", url(s, bad[i]), 2000), 1);
	assert_int_equal(ops_probe("dead", url(s, "http://127.0.0.1:%u"), 2000), 1);
	assert_int_equal(ops_probe(NULL, url(s, "http://127.0.0.1:%u"), 2000), 1);
	assert_int_equal(ops_probe("", NULL, 2000), 1);
	/* None of these reached the server. */
	assert_int_equal(atomic_load(&s->conns), 0);
}

/* "localhost" may resolve to ::1 first, where nothing listens: the next
 * address is tried. */
static void test_names_and_v6(void **state)
{
	struct srv *s = *state, v6;

	assert_int_equal(ops_probe("live", url(s, "http://localhost:%u"), 2000), 0);
	if (!srv_start(&v6, true)) {
		print_message("no IPv6 loopback: [::1] not tested\n");
		return;
	}
	assert_int_equal(ops_probe("ready", url(&v6, "http://[::1]:%u/readyz"), 2000), 0);
	assert_request(&v6, "GET /readyz HTTP/1.0");
	pthread_mutex_lock(&v6.mu);
	assert_int_equal(strncmp(v6.host, "[::1]:", 6), 0);
	pthread_mutex_unlock(&v6.mu);
	srv_stop(&v6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_ok, setup, teardown),
		cmocka_unit_test(test_refused),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names_and_v6, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
