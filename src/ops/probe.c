/*
 * probe.c - `kubevoxd --probe live|ready [--url URL]`: one HTTP/1.0 GET
 * over a plain socket, so that exec probes work in images without curl.
 *
 * The URL is http://HOST[:PORT][/PATH] (HOST a name, an IPv4 address or a
 * bracketed IPv6 one; PORT 8088 by default).  Without a path, or with "/",
 * the path is /livez or /readyz as asked; with one, it is used as is.
 * Every step (resolving aside) shares one deadline.  The exit status is 0
 * for a 200 and 1 for anything else, which is all a kubelet looks at; the
 * first line of the body goes to stdout on success and into the error
 * line on stderr otherwise, for `kubectl describe pod`.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ops/ops.h"

#define PROBE_DEFAULT_URL "http://127.0.0.1:8088"
#define PROBE_DEFAULT_TIMEOUT_MS 3000
#define PROBE_MAX_RESPONSE 16384

struct probe_url {
	char host[256];          /* without brackets */
	char port[8];
	char hostport[280];      /* for the Host header, as written */
	char path[512];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int remaining(uint64_t end)
{
	uint64_t now = mono_ms();

	return now >= end ? 0 : (int)(end - now);
}

static int url_parse(const char *url, const char *defpath, struct probe_url *u)
{
	const char *p, *hend, *pstart;
	size_t hlen;

	if (strncasecmp(url, "http://", 7))
		return EINVAL;
	p = url + 7;
	pstart = p + strcspn(p, "/?#");
	if (*pstart && *pstart != '/')
		return EINVAL;
	if (pstart - p >= (ptrdiff_t)sizeof(u->hostport) || pstart == p)
		return EINVAL;
	memcpy(u->hostport, p, (size_t)(pstart - p));
	u->hostport[pstart - p] = '\0';

	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(pstart - p));
		if (!hend || hend == p + 1)
			return EINVAL;
		hlen = (size_t)(hend - p - 1);
		p++;
		hend++;
	} else {
		hend = memchr(p, ':', (size_t)(pstart - p));
		if (!hend)
			hend = pstart;
		hlen = (size_t)(hend - p);
	}
	if (!hlen || hlen >= sizeof(u->host))
		return EINVAL;
	memcpy(u->host, p, hlen);
	u->host[hlen] = '\0';

	if (hend == pstart) {
		snprintf(u->port, sizeof(u->port), "8088");
	} else {
		size_t plen = (size_t)(pstart - hend - 1);
		unsigned long port;

		if (*hend != ':' || !plen || plen >= sizeof(u->port))
			return EINVAL;
		memcpy(u->port, hend + 1, plen);
		u->port[plen] = '\0';
		if (strspn(u->port, "0123456789") != plen)
			return EINVAL;
		port = strtoul(u->port, NULL, 10);
		if (port < 1 || port > 65535)
			return EINVAL;
	}

	if (!*pstart || !strcmp(pstart, "/"))
		pstart = defpath;
	if (strlen(pstart) >= sizeof(u->path) || strpbrk(pstart, " \r\n\t"))
		return EINVAL;
	snprintf(u->path, sizeof(u->path), "%s", pstart);
	return 0;
}

/* The errno of a failed call, never 0 (callers take 0 for success). */
static int sys_error(void)
{
	return errno ? errno : EIO;
}

/* A non-blocking connect to one address, waited for until end; the
 * connected socket goes to *fdp.  0 or an errno value. */
static int connect_one(const struct addrinfo *ai, uint64_t end, int *fdp)
{
	struct pollfd pfd;
	socklen_t len = sizeof(int);
	int fd, err = 0;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return sys_error();
	if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
		goto done;
	if (errno != EINPROGRESS) {
		err = sys_error();
		goto fail;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		int n = poll(&pfd, 1, remaining(end));

		if (n > 0)
			break;
		if (n == 0) {
			err = ETIMEDOUT;
			goto fail;
		}
		if (errno != EINTR) {
			err = sys_error();
			goto fail;
		}
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)) {
		err = sys_error();
		goto fail;
	}
	if (err)
		goto fail;
done:
	*fdp = fd;
	return 0;
fail:
	close(fd);
	return err;
}

/* 0 or an errno value (ETIMEDOUT at end). */
static int send_all(int fd, const char *buf, size_t len, uint64_t end)
{
	while (len) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return sys_error();
		if (poll(&pfd, 1, remaining(end)) == 0)
			return ETIMEDOUT;
	}
	return 0;
}

/* Read until the server closes (HTTP/1.0), the buffer is full or time is
 * up; *lenp is the length read (0: closed before any byte).  An error or
 * the deadline before any byte is its errno value (ETIMEDOUT), after
 * some bytes the end of the response. */
static int recv_all(int fd, char *buf, size_t size, uint64_t end, size_t *lenp)
{
	size_t len = 0;
	int err = 0;

	*lenp = 0;
	while (len < size) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;
		int r = poll(&pfd, 1, remaining(end));

		if (r == 0) {
			err = ETIMEDOUT;
			break;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = sys_error();
			break;
		}
		n = recv(fd, buf + len, size - len, 0);
		if (n == 0) {
			err = 0;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			err = sys_error();
			break;
		}
		len += (size_t)n;
	}
	*lenp = len;
	return len ? 0 : err;
}

/* "HTTP/1.x NNN ..." -> NNN, or 0. */
static unsigned status_code(const char *buf, size_t len)
{
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) || buf[8] != ' ')
		return 0;
	for (int i = 9; i < 12; i++)
		if (buf[i] < '0' || buf[i] > '9')
			return 0;
	if (len > 12 && buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n')
		return 0;
	return (unsigned)(buf[9] - '0') * 100 + (unsigned)(buf[10] - '0') * 10 +
	       (unsigned)(buf[11] - '0');
}

/* The first line of the body, printable characters only, into out. */
static void body_line(const char *buf, size_t len, char *out, size_t size)
{
	const char *body = memmem(buf, len, "\r\n\r\n", 4);
	size_t n = 0;

	out[0] = '\0';
	if (!body)
		return;
	body += 4;
	for (; body < buf + len && *body != '\n' && *body != '\r' && n + 1 < size; body++)
		out[n++] = (*body >= ' ' && *body < 0x7f) ? *body : '?';
	out[n] = '\0';
}

static int probe_fail(const char *what, const char *url, const char *why)
{
	fprintf(stderr, "kubevoxd --probe %s: %s: %s\n", what, url, why);
	return 1;
}

int ops_probe(const char *what, const char *url, unsigned timeout_ms)
{
	struct addrinfo hints, *res = NULL, *ai;
	char req[1024], line[200], *buf = NULL;
	const char *defpath;
	struct probe_url u;
	uint64_t end;
	size_t len;
	unsigned code;
	int fd = -1, rc = 1, err;

	if (!what)
		what = "";
	if (!strcmp(what, "live"))
		defpath = "/livez";
	else if (!strcmp(what, "ready"))
		defpath = "/readyz";
	else
		return probe_fail(what, url ? url : "-", "expected live or ready");
	if (!url)
		url = PROBE_DEFAULT_URL;
	if (url_parse(url, defpath, &u))
		return probe_fail(what, url, "expected http://HOST[:PORT][/PATH]");
	end = mono_ms() + (timeout_ms ? timeout_ms : PROBE_DEFAULT_TIMEOUT_MS);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	err = getaddrinfo(u.host, u.port, &hints, &res);
	if (err)
		return probe_fail(what, url, gai_strerror(err));
	err = ECONNREFUSED;
	for (ai = res; ai && fd < 0 && remaining(end); ai = ai->ai_next)
		err = connect_one(ai, end, &fd);
	if (fd < 0) {
		rc = probe_fail(what, url, strerror(err));
		goto out;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n"
		 "User-Agent: kubevoxd-probe\r\nAccept: text/plain\r\n\r\n",
		 u.path, u.hostport);
	err = send_all(fd, req, strlen(req), end);
	if (err) {
		rc = probe_fail(what, url, strerror(err));
		goto out;
	}
	buf = malloc(PROBE_MAX_RESPONSE);
	if (!buf) {
		rc = probe_fail(what, url, strerror(ENOMEM));
		goto out;
	}
	err = recv_all(fd, buf, PROBE_MAX_RESPONSE, end, &len);
	if (err || !len) {
		snprintf(line, sizeof(line), "no response: %s",
			 err ? strerror(err) : "connection closed");
		rc = probe_fail(what, url, line);
		goto out;
	}
	code = status_code(buf, len);
	body_line(buf, len, line, sizeof(line));
	if (code == 200) {
		printf("%s\n", line);
		fflush(stdout);
		rc = 0;
	} else if (code) {
		char msg[256];

		snprintf(msg, sizeof(msg), "HTTP %u: %s", code, line);
		rc = probe_fail(what, url, msg);
	} else {
		rc = probe_fail(what, url, "not an HTTP response");
	}
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (res)
		freeaddrinfo(res);
	return rc;
}
