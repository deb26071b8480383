/*
 * portpool.h - RTP/RTCP port pairs out of a configured range.
 *
 * A pair is an even RTP port and the odd port above it for RTCP (RFC 3550
 * §11), both bound on one address.  Pairs are handed out round robin so
 * that a port just freed is the last one reused: late packets of a call
 * that ended do not land in the next one.  A port something else holds is
 * skipped, not an error.  Ranges can change at runtime (config reload):
 * pairs handed out before keep their ports until they are put back.
 * Used from one thread only.
 */
#ifndef KV_MEDIA_PORTPOOL_H
#define KV_MEDIA_PORTPOOL_H

#include <stdint.h>
#include <sys/socket.h>

struct portpool;

/* EINVAL when [start, end] holds no even/odd pair or start is 0,
 * EAFNOSUPPORT when bind_ip is not IPv4 or IPv6 (its port is ignored). */
int  portpool_alloc(struct portpool **pp, const struct sockaddr *bind_ip,
		    uint16_t start, uint16_t end);
void portpool_free(struct portpool *pp);
int  portpool_set_range(struct portpool *pp, uint16_t start, uint16_t end);

/*
 * Binds a free pair: fds[0] on *port (even), fds[1] on *port + 1, both
 * non-blocking and close-on-exec.  ENOSPC when no pair can be bound;
 * EMFILE, ENFILE, ENOBUFS and the like are returned as they come.
 */
int  portpool_take(struct portpool *pp, int fds[2], uint16_t *port);
/* The pair of port is free again (the caller has closed its sockets).
 * Ports outside the current range are simply forgotten. */
void portpool_put(struct portpool *pp, uint16_t port);

unsigned portpool_pairs(const struct portpool *pp);   /* in the range */
/* Pairs of the range handed out since it was set and not put back. */
unsigned portpool_used(const struct portpool *pp);
int portpool_family(const struct portpool *pp);

#endif
