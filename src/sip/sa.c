/*
 * sa.c - socket address helpers of the SIP layer (see sa.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "sip/sa.h"

socklen_t sip_sa_len(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (sa->sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

void sip_sa_pack(union sip_sa *u, const struct sockaddr_storage *ss)
{
	socklen_t len = sip_sa_len((const struct sockaddr *)ss);

	memset(u, 0, sizeof(*u));
	if (len)
		memcpy(u, ss, len);
}

void sip_sa_unpack(struct sockaddr_storage *ss, const union sip_sa *u)
{
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, u, sip_sa_len(&u->sa));
}

bool sip_sa_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (a->sa_family != b->sa_family)
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	if (a->sa_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return false;
}

bool sip_sa_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	if (!sip_sa_addr_equal(a, b))
		return false;
	if (a->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_port ==
		       ((const struct sockaddr_in *)b)->sin_port;
	return ((const struct sockaddr_in6 *)a)->sin6_port ==
	       ((const struct sockaddr_in6 *)b)->sin6_port;
}

bool sip_sa_is_any(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)sa)->sin6_addr);
	return true;
}

void sip_sa_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

uint16_t sip_sa_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

void sip_sa_ip_port(const struct sockaddr *sa, char *ip, size_t size,
		    uint16_t *port)
{
	ip[0] = '\0';
	*port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, ip, (socklen_t)size);
		*port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, (socklen_t)size);
		*port = ntohs(in6->sin6_port);
	}
}

/* inet_pton() of a slice: 0 or EINVAL. */
static int pton(const struct pl *host, int af, void *out)
{
	char buf[INET6_ADDRSTRLEN + 1];

	if (pl_strcpy(host, buf, sizeof(buf)))
		return EINVAL;
	return inet_pton(af, buf, out) == 1 ? 0 : EINVAL;
}

int sip_sa_from_host(struct sockaddr_storage *ss, const struct pl *host,
		     uint16_t port)
{
	struct sockaddr_storage tmp;
	struct sockaddr_in *in = (struct sockaddr_in *)&tmp;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&tmp;

	memset(&tmp, 0, sizeof(tmp));
	if (!pton(host, AF_INET, &in->sin_addr)) {
		in->sin_family = AF_INET;
		in->sin_port = htons(port);
	} else if (!pton(host, AF_INET6, &in6->sin6_addr)) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
	} else {
		return EINVAL;
	}
	*ss = tmp;
	return 0;
}

bool sip_sa_host_is(const struct pl *host, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		struct in_addr a;

		return !pton(host, AF_INET, &a) &&
		       a.s_addr == ((const struct sockaddr_in *)sa)->sin_addr.s_addr;
	}
	if (sa->sa_family == AF_INET6) {
		struct in6_addr a;

		return !pton(host, AF_INET6, &a) &&
		       !memcmp(&a, &((const struct sockaddr_in6 *)sa)->sin6_addr, sizeof(a));
	}
	return false;
}

const char *sip_sockaddr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	if (!size)
		return buf;
	buf[0] = '\0';
	sip_sa_ip_port(sa, ip, sizeof(ip), &port);
	if (!ip[0])
		snprintf(buf, size, "unknown");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", ip, port);
	else
		snprintf(buf, size, "%s:%u", ip, port);
	return buf;
}
