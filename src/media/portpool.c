/*
 * portpool.c - RTP/RTCP port pairs out of a configured range.
 *
 * One byte per pair of the current range says whether this pool handed it
 * out.  A pair that fails to bind (EADDRINUSE: another process, or one of
 * our own legs from a previous range) is skipped without being marked, so
 * it is tried again on the next round.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/portpool.h"

struct portpool {
	struct sockaddr_storage bind;
	socklen_t bindlen;
	uint16_t first;         /* lowest even port of the range */
	unsigned npairs;
	unsigned next;          /* pair index where the next search starts */
	unsigned used;
	uint8_t *taken;         /* npairs bytes */
};

static int range_pairs(uint16_t start, uint16_t end, uint16_t *first, unsigned *npairs)
{
	unsigned f;

	if (start == 0 || start > end)
		return EINVAL;
	f = start + (start & 1u);
	if (f + 1 > end)
		return EINVAL;
	*first = (uint16_t)f;
	*npairs = (end - f + 1) / 2;
	return 0;
}

int portpool_alloc(struct portpool **pp, const struct sockaddr *bind_ip,
		   uint16_t start, uint16_t end)
{
	struct portpool *p;
	int err;

	if (!pp || !bind_ip)
		return EINVAL;
	if (bind_ip->sa_family != AF_INET && bind_ip->sa_family != AF_INET6)
		return EAFNOSUPPORT;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	if (bind_ip->sa_family == AF_INET) {
		memcpy(&p->bind, bind_ip, sizeof(struct sockaddr_in));
		p->bindlen = sizeof(struct sockaddr_in);
	} else {
		memcpy(&p->bind, bind_ip, sizeof(struct sockaddr_in6));
		p->bindlen = sizeof(struct sockaddr_in6);
	}
	err = portpool_set_range(p, start, end);
	if (err) {
		free(p);
		return err;
	}
	*pp = p;
	return 0;
}

void portpool_free(struct portpool *pp)
{
	if (!pp)
		return;
	free(pp->taken);
	free(pp);
}

int portpool_set_range(struct portpool *pp, uint16_t start, uint16_t end)
{
	uint16_t first;
	unsigned npairs;
	uint8_t *taken;
	int err;

	err = range_pairs(start, end, &first, &npairs);
	if (err)
		return err;
	taken = calloc(npairs, 1);
	if (!taken)
		return ENOMEM;
	free(pp->taken);
	pp->taken = taken;
	pp->first = first;
	pp->npairs = npairs;
	pp->next = 0;
	pp->used = 0;
	return 0;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* A bound non-blocking UDP socket into *fdp; 0 or an errno value. */
static int udp_bind(const struct portpool *pp, uint16_t port, int *fdp)
{
	struct sockaddr_storage ss = pp->bind;
	int fd, on = 1, err;

	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (ss.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
		goto fail;
	set_port(&ss, port);
	if (bind(fd, (struct sockaddr *)&ss, pp->bindlen) < 0)
		goto fail;
	*fdp = fd;
	return 0;
fail:
	err = errno;
	close(fd);
	return err;
}

/* Worth trying the next pair after this bind error? */
static bool bind_skippable(int err)
{
	return err == EADDRINUSE || err == EACCES || err == EPERM;
}

int portpool_take(struct portpool *pp, int fds[2], uint16_t *port)
{
	unsigned tries, i;
	uint16_t p;
	int a, b, err;

	for (tries = 0; tries < pp->npairs; tries++) {
		i = pp->next;
		pp->next = (pp->next + 1) % pp->npairs;
		if (pp->taken[i])
			continue;
		p = (uint16_t)(pp->first + 2 * i);
		err = udp_bind(pp, p, &a);
		if (err) {
			if (bind_skippable(err))
				continue;
			return err;
		}
		err = udp_bind(pp, (uint16_t)(p + 1), &b);
		if (err) {
			close(a);
			if (bind_skippable(err))
				continue;
			return err;
		}
		pp->taken[i] = 1;
		pp->used++;
		fds[0] = a;
		fds[1] = b;
		*port = p;
		return 0;
	}
	return ENOSPC;
}

void portpool_put(struct portpool *pp, uint16_t port)
{
	unsigned i;

	if (port < pp->first || (port - pp->first) % 2)
		return;
	i = (port - pp->first) / 2;
	if (i >= pp->npairs || !pp->taken[i])
		return;
	pp->taken[i] = 0;
	pp->used--;
}

unsigned portpool_pairs(const struct portpool *pp)
{
	return pp->npairs;
}

unsigned portpool_used(const struct portpool *pp)
{
	return pp->used;
}

int portpool_family(const struct portpool *pp)
{
	return pp->bind.ss_family;
}
