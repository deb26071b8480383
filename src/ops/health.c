/*
 * health.c - liveness: the main loop's heartbeat, and a SIP OPTIONS round
 * trip to our own UDP listener from outside the loop.
 *
 * A heartbeat alone would call a process live whose SIP socket is wedged
 * or whose transaction layer drops everything; an OPTIONS alone would not
 * say why it went unanswered.  Together they tell "the loop is stuck"
 * from "the loop turns but SIP does not work".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops/health.h"
#include "sip/msg.h"
#include "sip/transport.h"
#include "util/rand.h"
#include "util/sbuf.h"

#define SIP_T1_MS 500
#define SIP_T2_MS 4000

struct health {
	uv_timer_t timer;
	_Atomic uint64_t beat_ms;    /* monotonic, of the last loop turn */
};

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

static void beat_cb(uv_timer_t *t)
{
	struct health *h = t->data;

	atomic_store_explicit(&h->beat_ms, mono_ms(), memory_order_relaxed);
}

int health_alloc(struct health **hp, uv_loop_t *loop)
{
	struct health *h = calloc(1, sizeof(*h));
	int err;

	if (!h)
		return ENOMEM;
	err = uv_timer_init(loop, &h->timer);
	if (err) {
		free(h);
		return -err;
	}
	h->timer.data = h;
	atomic_init(&h->beat_ms, mono_ms());
	uv_timer_start(&h->timer, beat_cb, HEALTH_BEAT_MS, HEALTH_BEAT_MS);
	/* Only what does work may keep the daemon running. */
	uv_unref((uv_handle_t *)&h->timer);
	*hp = h;
	return 0;
}

static void health_closed(uv_handle_t *handle)
{
	free(handle->data);
}

void health_free(struct health *h)
{
	if (!h)
		return;
	uv_timer_stop(&h->timer);
	uv_close((uv_handle_t *)&h->timer, health_closed);
}

uint64_t health_loop_age(const struct health *h)
{
	uint64_t now = mono_ms();
	uint64_t beat = atomic_load_explicit(&h->beat_ms, memory_order_relaxed);

	return now > beat ? now - beat : 0;
}

/* The address to probe: a wildcard bind is reached through the loopback. */
static socklen_t probe_dst(const struct sockaddr_storage *sip, struct sockaddr_storage *dst)
{
	*dst = *sip;
	if (dst->ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)dst;

		if (sin->sin_addr.s_addr == htonl(INADDR_ANY))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sin->sin_port ? sizeof(*sin) : 0;
	}
	if (dst->ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)dst;

		if (IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr))
			sin6->sin6_addr = in6addr_loopback;
		return sin6->sin6_port ? sizeof(*sin6) : 0;
	}
	return 0;
}

static int request_build(struct sbuf *sb, int fd, const char *dst, const char *callid,
			 const char *branch)
{
	struct sockaddr_storage local;
	socklen_t llen = sizeof(local);
	char lstr[64], tag[17];

	if (getsockname(fd, (struct sockaddr *)&local, &llen))
		return errno;
	sip_sockaddr_str((const struct sockaddr *)&local, lstr, sizeof(lstr));
	rand_hex(tag, sizeof(tag));
	sbuf_printf(sb,
		    "OPTIONS sip:%s SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n"
		    "Max-Forwards: 70\r\n"
		    "From: <sip:kubevox-livez@%s>;tag=%s\r\n"
		    "To: <sip:%s>\r\n"
		    "Call-ID: %s\r\n"
		    "CSeq: 1 OPTIONS\r\n"
		    "Accept: application/sdp\r\n"
		    "User-Agent: kubevox-livez\r\n"
		    "Content-Length: 0\r\n\r\n",
		    dst, lstr, branch, lstr, tag, dst, callid);
	return sbuf_err(sb) ? ENOMEM : 0;
}

/* 0: not ours or provisional, keep waiting; else the final status code. */
static unsigned response_code(const char *buf, size_t len, const char *callid,
			      const char *branch)
{
	struct sip_msg m;
	const char *why = NULL;

	if (sip_msg_decode(&m, buf, len, false, &why) != SIP_DECODE_OK || m.req)
		return 0;
	if (!pl_eq_str(&m.callid, callid) || !pl_eq_str(&m.via.branch, branch) ||
	    !pl_eq_str(&m.cseq.method, "OPTIONS") || m.scode < 200)
		return 0;
	return m.scode;
}

int health_sip_check(const struct sockaddr_storage *sip, unsigned deadline_ms,
		     char *why, size_t size, uint64_t *rtt_ms)
{
	uint64_t start = mono_ms(), end = start + deadline_ms, next, interval = SIP_T1_MS;
	char dstr[64], callid[33], branch[48], buf[4096];
	struct sockaddr_storage dst;
	socklen_t dlen;
	struct sbuf req;
	int fd = -1, err;

	sbuf_init(&req);
	if (rtt_ms)
		*rtt_ms = 0;
	dlen = probe_dst(sip, &dst);
	if (!dlen) {
		snprintf(why, size, "no SIP UDP listener to send OPTIONS to");
		err = EDESTADDRREQ;
		goto out;
	}
	sip_sockaddr_str((const struct sockaddr *)&dst, dstr, sizeof(dstr));
	/* A connected socket hears only dst, and hears ICMP refusals. */
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (const struct sockaddr *)&dst, dlen)) {
		err = errno;
		snprintf(why, size, "cannot send OPTIONS to %s: %s", dstr, strerror(err));
		goto out;
	}
	/* Unique (util/rand): a late answer to an earlier probe must never
	 * pass for the answer to this one. */
	rand_hex(callid, sizeof(callid));
	snprintf(branch, sizeof(branch), "z9hG4bK-livez-%.24s", callid + 8);
	err = request_build(&req, fd, dstr, callid, branch);
	if (err) {
		snprintf(why, size, "cannot build OPTIONS: %s", strerror(err));
		goto out;
	}

	next = start;
	for (;;) {
		uint64_t now = mono_ms(), until;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		unsigned code;
		ssize_t n;

		if (now >= end) {
			err = ETIMEDOUT;
			snprintf(why, size, "OPTIONS to %s not answered within %u ms",
				 dstr, deadline_ms);
			goto out;
		}
		if (now >= next) {
			/* A full socket buffer is a lost datagram: timer E resends. */
			if (send(fd, req.p, req.len, MSG_NOSIGNAL) < 0 &&
			    errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS &&
			    errno != ECONNREFUSED) {
				err = errno;
				snprintf(why, size, "cannot send OPTIONS to %s: %s", dstr,
					 strerror(err));
				goto out;
			}
			next = now + interval;
			interval = interval * 2 < SIP_T2_MS ? interval * 2 : SIP_T2_MS;
		}
		until = next < end ? next : end;
		if (until - now > SIP_T2_MS)
			until = now + SIP_T2_MS;
		if (poll(&pfd, 1, (int)(until - now)) < 0 && errno != EINTR) {
			err = errno;
			snprintf(why, size, "poll: %s", strerror(err));
			goto out;
		}
		if (!(pfd.revents & (POLLIN | POLLERR)))
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue;
			err = errno;
			snprintf(why, size, "OPTIONS to %s: %s", dstr, strerror(err));
			goto out;
		}
		code = response_code(buf, (size_t)n, callid, branch);
		if (!code)
			continue;
		if (rtt_ms)
			*rtt_ms = mono_ms() - start;
		if (code == 200) {
			err = 0;
			snprintf(why, size, "OPTIONS to %s answered 200", dstr);
		} else if (code == 503) {
			/* Draining: alive, but telling load balancers to
			 * send elsewhere (pbx.c); readiness says it too. */
			err = 0;
			snprintf(why, size, "OPTIONS to %s answered 503 (draining)", dstr);
		} else {
			err = EPROTO;
			snprintf(why, size, "OPTIONS to %s answered %u", dstr, code);
		}
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	sbuf_free(&req);
	return err;
}
