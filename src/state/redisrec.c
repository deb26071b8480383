/*
 * redisrec.c - the stored form of a binding (see redisrec.h).
 */
#include <errno.h>
#include <string.h>

#include "sip/lex.h"
#include "sip/sa.h"
#include "state/redisrec.h"

static const char hexdig[] = "0123456789ABCDEF";

static bool must_escape(unsigned char c)
{
	return c == '\t' || c == '%' || c == '\r' || c == '\n' || c == '\0';
}

static void put_str(struct sbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t run;

	if (!s)
		return;
	while (*p) {
		for (run = 0; p[run] && !must_escape(p[run]); run++)
			;
		sbuf_append(sb, p, run);
		p += run;
		if (*p) {
			char esc[3] = { '%', hexdig[*p >> 4], hexdig[*p & 15] };

			sbuf_append(sb, esc, sizeof(esc));
			p++;
		}
	}
}

void rrec_addr_print(struct sbuf *sb, const struct sockaddr_storage *ss)
{
	char buf[64];

	if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
		return;
	sbuf_append_str(sb, sip_sockaddr_str((const struct sockaddr *)ss, buf, sizeof(buf)));
}

void rrec_encode(struct sbuf *sb, const struct loc_contact *c)
{
	const char *strs[] = { c->src.replica, c->callid, c->path, c->user_agent,
			       c->endpoint, c->instance };
	size_t i;

	sbuf_printf(sb, "1\t%llu\t%u\t%d\t%c\t%llu\t",
		    (unsigned long long)c->expires_at, c->cseq, c->q < 0 ? -1 : c->q,
		    c->src.proto == LOC_PROTO_TCP ? 't' : 'u',
		    (unsigned long long)c->src.conn_id);
	{
		struct sockaddr_storage ss;

		loc_addr_get(&c->src.addr, &ss);
		rrec_addr_print(sb, &ss);
		sbuf_append(sb, "\t", 1);
		loc_addr_get(&c->src.local, &ss);
		rrec_addr_print(sb, &ss);
	}
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		sbuf_append(sb, "\t", 1);
		put_str(sb, strs[i]);
	}
}

int rrec_u64(const struct pl *s, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (!s->l || s->l > 20)
		return EINVAL;
	for (i = 0; i < s->l; i++) {
		unsigned d = (unsigned char)s->p[i] - '0';

		if (d > 9 || x > (max - d) / 10)
			return EINVAL;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

int rrec_addr_parse(const struct pl *s, struct sockaddr_storage *ss)
{
	struct pl host, port;
	const char *colon;
	uint64_t pnum;

	if (!s->l) {
		memset(ss, 0, sizeof(*ss));
		return 0;
	}
	if (s->p[0] == '[') {
		const char *close = pl_chr(s, ']');

		if (!close || close + 1 >= s->p + s->l || close[1] != ':')
			return EINVAL;
		host = (struct pl){ s->p + 1, (size_t)(close - s->p) - 1 };
		colon = close + 1;
	} else {
		colon = pl_chr(s, ':');
		if (!colon)
			return EINVAL;
		host = (struct pl){ s->p, (size_t)(colon - s->p) };
		/* IPv6 is always bracketed: one colon only. */
		port = (struct pl){ colon + 1, s->l - host.l - 1 };
		if (pl_chr(&port, ':'))
			return EINVAL;
	}
	port = (struct pl){ colon + 1, (size_t)(s->p + s->l - colon - 1) };
	if (!host.l || rrec_u64(&port, 65535, &pnum))
		return EINVAL;
	return sip_sa_from_host(ss, &host, (uint16_t)pnum);
}

int rrec_field(const char *rec, size_t len, enum rrec_field f, struct pl *out)
{
	const char *p = rec, *end = rec + len, *tab;
	unsigned i;

	for (i = 1; i < (unsigned)f; i++) {
		tab = memchr(p, '\t', (size_t)(end - p));
		if (!tab)
			return EINVAL;
		p = tab + 1;
	}
	tab = memchr(p, '\t', (size_t)(end - p));
	out->p = p;
	out->l = (size_t)((tab ? tab : end) - p);
	return 0;
}

int rrec_expires(const char *rec, size_t len, uint64_t *expires_at)
{
	struct pl v;

	if (len < 2 || rec[0] != '1' || rec[1] != '\t')
		return EINVAL;
	if (rrec_field(rec, len, RREC_F_EXPIRES, &v))
		return EINVAL;
	return rrec_u64(&v, UINT64_MAX, expires_at);
}

/* A hex digit's value (lex.h's LEX_HEX checked first). */
static int hexval(char c)
{
	return c <= '9' ? c - '0' : lex_lower(c) - 'a' + 10;
}

/* Unescapes v into *bufp (advancing it) as a C string: NULL when v has a
 * bad escape or an escaped NUL, which a C string cannot hold. */
static const char *unescape(const struct pl *v, char **bufp)
{
	char *s = *bufp, *d = s;
	size_t i;

	for (i = 0; i < v->l; i++) {
		int hi, lo;

		if (v->p[i] != '%') {
			*d++ = v->p[i];
			continue;
		}
		if (i + 2 >= v->l || !lex_is(v->p[i + 1], LEX_HEX) ||
		    !lex_is(v->p[i + 2], LEX_HEX))
			return NULL;
		hi = hexval(v->p[i + 1]);
		lo = hexval(v->p[i + 2]);
		if (hi == 0 && lo == 0)
			return NULL;
		*d++ = (char)(hi << 4 | lo);
		i += 2;
	}
	*d++ = '\0';
	*bufp = d;
	return s;
}

static const char *unescape_opt(const struct pl *v, char **bufp, bool *bad)
{
	const char *s;

	if (!v->l)
		return NULL;
	s = unescape(v, bufp);
	if (!s)
		*bad = true;
	return s;
}

int rrec_decode(const char *rec, size_t len, char *buf, struct loc_contact *c)
{
	struct pl f[RREC_FIELDS + 1];
	const char *p = rec, *end = rec + len;
	uint64_t v;
	bool bad = false;
	unsigned i;

	/* Exactly RREC_FIELDS fields. */
	for (i = 1; i <= RREC_FIELDS; i++) {
		const char *tab = memchr(p, '\t', (size_t)(end - p));

		if ((i < RREC_FIELDS) != (tab != NULL))
			return EINVAL;
		f[i].p = p;
		f[i].l = (size_t)((tab ? tab : end) - p);
		p = tab ? tab + 1 : end;
	}
	if (!pl_eq_str(&f[RREC_F_VERSION], "1"))
		return EINVAL;
	if (rrec_u64(&f[RREC_F_EXPIRES], UINT64_MAX, &c->expires_at))
		return EINVAL;
	if (rrec_u64(&f[RREC_F_CSEQ], UINT32_MAX, &v))
		return EINVAL;
	c->cseq = (uint32_t)v;
	if (pl_eq_str(&f[RREC_F_Q], "-1"))
		c->q = -1;
	else if (!rrec_u64(&f[RREC_F_Q], 1000, &v))
		c->q = (int)v;
	else
		return EINVAL;
	memset(&c->src, 0, sizeof(c->src));
	if (pl_eq_str(&f[RREC_F_PROTO], "u"))
		c->src.proto = LOC_PROTO_UDP;
	else if (pl_eq_str(&f[RREC_F_PROTO], "t"))
		c->src.proto = LOC_PROTO_TCP;
	else
		return EINVAL;
	if (rrec_u64(&f[RREC_F_CONN], UINT64_MAX, &c->src.conn_id))
		return EINVAL;
	{
		struct sockaddr_storage a, l;

		if (rrec_addr_parse(&f[RREC_F_SRC], &a) || rrec_addr_parse(&f[RREC_F_LOCAL], &l))
			return EINVAL;
		loc_addr_set(&c->src.addr, &a);
		loc_addr_set(&c->src.local, &l);
	}
	if (!f[RREC_F_REPLICA].l || f[RREC_F_REPLICA].l >= sizeof(c->src.replica))
		return EINVAL;
	{
		char *rb = c->src.replica;

		if (!unescape(&f[RREC_F_REPLICA], &rb))
			return EINVAL;
	}
	c->callid = unescape(&f[RREC_F_CALLID], &buf);
	c->path = unescape_opt(&f[RREC_F_PATH], &buf, &bad);
	c->user_agent = unescape_opt(&f[RREC_F_USER_AGENT], &buf, &bad);
	c->endpoint = unescape(&f[RREC_F_ENDPOINT], &buf);
	c->instance = unescape_opt(&f[RREC_F_INSTANCE], &buf, &bad);
	if (!c->callid || !c->endpoint || bad)
		return EINVAL;
	return 0;
}
