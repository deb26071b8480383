/*
 * sa.h - socket addresses as the SIP layer handles them: their length,
 * equality, ports, the text of the address, and hosts taken from a
 * message (Via maddr, Route) turned into addresses.
 *
 * Only literal IPv4 and IPv6 hosts convert: a host name would need DNS,
 * which the SIP core does not do (callers fall back to the source
 * address, as RFC 3261 §18.2.2 allows).  Every function takes AF_INET and
 * AF_INET6 and treats any other family as "no address".
 */
#ifndef KV_SIP_SA_H
#define KV_SIP_SA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "util/pl.h"

/* An IPv4 or IPv6 address in the room it needs (28 bytes where a
 * sockaddr_storage takes 128): for what is kept per transaction. */
union sip_sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* ss into *u (another family: AF_UNSPEC), and back (zero-filled). */
void sip_sa_pack(union sip_sa *u, const struct sockaddr_storage *ss);
void sip_sa_unpack(struct sockaddr_storage *ss, const union sip_sa *u);

/* sizeof the family's sockaddr_in/_in6; 0 for another family. */
socklen_t sip_sa_len(const struct sockaddr *sa);

/* Same family, address and port. */
bool sip_sa_equal(const struct sockaddr *a, const struct sockaddr *b);
/* Same family and address, whatever the ports. */
bool sip_sa_addr_equal(const struct sockaddr *a, const struct sockaddr *b);

/* The wildcard address (0.0.0.0 or ::), or another family. */
bool sip_sa_is_any(const struct sockaddr *sa);

void sip_sa_set_port(struct sockaddr_storage *ss, uint16_t port);
/* The port (host order); 0 for another family. */
uint16_t sip_sa_port(const struct sockaddr *sa);

/* The address as text (IPv6 without brackets) and the port; "" and 0
 * for another family. */
void sip_sa_ip_port(const struct sockaddr *sa, char *ip, size_t size,
		    uint16_t *port);

/* A literal IPv4 or IPv6 host (no brackets) with port into *ss: 0, or
 * EINVAL for anything else (a host name), leaving *ss untouched. */
int sip_sa_from_host(struct sockaddr_storage *ss, const struct pl *host,
		     uint16_t port);

/* Is host the literal address of sa (a Via sent-by that needs no
 * received=)? */
bool sip_sa_host_is(const struct pl *host, const struct sockaddr *sa);

/* "192.0.2.1:5060" or "[2001:db8::1]:5060" (always NUL-terminated). */
const char *sip_sockaddr_str(const struct sockaddr *sa, char *buf, size_t size);

#endif
