/*
 * cfgval.c - parsing of single configuration values (see cfgval.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"

int cfgval_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "y", "t", "1", "on" };
	static const char *const no[] = { "no", "false", "n", "f", "0", "off" };

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return EINVAL;
}

int cfgval_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t n = 0;

	if (!*s)
		return EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return EINVAL;
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > max)
			return EINVAL;
	}
	if (n < min)
		return EINVAL;
	*out = (uint32_t)n;
	return 0;
}

static int port_parse(const char *s, uint16_t *port)
{
	uint32_t v;

	if (cfgval_uint(s, 1, 65535, &v))
		return EINVAL;
	*port = (uint16_t)v;
	return 0;
}

enum cfgval_addr_err cfgval_addr(const char *s, uint16_t defport,
				 struct sockaddr_storage *ss)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *colon;
	struct sockaddr_storage tmp;
	uint16_t p = defport;
	size_t n;

	memset(&tmp, 0, sizeof(tmp));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return CFGVAL_ADDR_BAD;
		n = (size_t)(end - s - 1);
		if (end[1] == ':')
			port = end + 2;
		else if (end[1])
			return CFGVAL_ADDR_BAD;
		if (n == 0 || n >= sizeof(host))
			return CFGVAL_ADDR_BAD;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (!strchr(host, ':'))
			return CFGVAL_ADDR_BAD;
	} else {
		colon = strchr(s, ':');
		if (colon && strchr(colon + 1, ':')) {
			/* Several colons: a bare IPv6 address, no port. */
			n = strlen(s);
		} else {
			n = colon ? (size_t)(colon - s) : strlen(s);
			port = colon ? colon + 1 : NULL;
		}
		if (n == 0 || n >= sizeof(host))
			return CFGVAL_ADDR_BAD;
		memcpy(host, s, n);
		host[n] = '\0';
	}

	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&tmp;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return CFGVAL_ADDR_BAD;
		sin6->sin6_family = AF_INET6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&tmp;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return CFGVAL_ADDR_BAD;
		sin->sin_family = AF_INET;
	}
	if (port && port_parse(port, &p))
		return CFGVAL_ADDR_PORT;
	if (tmp.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&tmp)->sin6_port = htons(p);
	else
		((struct sockaddr_in *)&tmp)->sin_port = htons(p);
	*ss = tmp;
	return CFGVAL_ADDR_OK;
}

/* Dotted IPv4 netmask to a prefix length; -1 when not contiguous. */
static int mask_prefix(const char *s)
{
	struct in_addr a;
	uint32_t m;
	int n = 0;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (m & 0x80000000u) {
		n++;
		m <<= 1;
	}
	return m ? -1 : n;
}

int cfgval_net(const char *s, struct cfg_net *net)
{
	char host[INET6_ADDRSTRLEN + 1];
	struct cfg_net tmp;
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned maxbits;
	uint32_t prefix;

	memset(&tmp, 0, sizeof(tmp));
	if (n == 0 || n >= sizeof(host))
		return EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&tmp.addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return EINVAL;
		sin6->sin6_family = AF_INET6;
		maxbits = 128;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&tmp.addr;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return EINVAL;
		sin->sin_family = AF_INET;
		maxbits = 32;
	}
	prefix = maxbits;
	if (slash) {
		if (maxbits == 32 && strchr(slash + 1, '.')) {
			int p = mask_prefix(slash + 1);
			if (p < 0)
				return EINVAL;
			prefix = (uint32_t)p;
		} else if (cfgval_uint(slash + 1, 0, maxbits, &prefix)) {
			return EINVAL;
		}
	}
	tmp.prefix = prefix;
	*net = tmp;
	return 0;
}

static bool bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;

	if (memcmp(a, b, bytes))
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));
		if ((a[bytes] & mask) != (b[bytes] & mask))
			return false;
	}
	return true;
}

bool cfgval_net_match(const struct cfg_net *net, const struct sockaddr *sa)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr;

	if (net->addr.ss_family == AF_INET) {
		const struct sockaddr_in *n4 = (const struct sockaddr_in *)&net->addr;

		if (sa->sa_family == AF_INET) {
			addr = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		} else if (sa->sa_family == AF_INET6) {
			const uint8_t *a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
			if (memcmp(a6, v4mapped, sizeof(v4mapped)))
				return false;
			addr = a6 + 12;
		} else {
			return false;
		}
		return bits_match(addr, (const uint8_t *)&n4->sin_addr, net->prefix);
	}
	if (net->addr.ss_family == AF_INET6 && sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *n6 = (const struct sockaddr_in6 *)&net->addr;

		addr = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		return bits_match(addr, n6->sin6_addr.s6_addr, net->prefix);
	}
	return false;
}

bool cfgval_is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

char *cfgval_strip(char *s)
{
	size_t n;

	while (cfgval_is_blank(*s))
		s++;
	n = strlen(s);
	while (n && cfgval_is_blank(s[n - 1]))
		s[--n] = '\0';
	return s;
}

bool cfgval_list_next(const char **pos, const char **item, size_t *len)
{
	const char *p = *pos;

	for (;;) {
		const char *start, *end;

		while (cfgval_is_blank(*p))
			p++;
		if (!*p) {
			*pos = p;
			return false;
		}
		start = p;
		while (*p && *p != ',')
			p++;
		end = p;
		if (*p == ',')
			p++;
		while (end > start && cfgval_is_blank(end[-1]))
			end--;
		if (end > start) {
			*pos = p;
			*item = start;
			*len = (size_t)(end - start);
			return true;
		}
	}
}

void cfgval_addr_print(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		snprintf(buf, size, "?");
	}
}

uint16_t cfgval_addr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

bool cfgval_addr_any(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	if (ss->ss_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
	return false;
}
