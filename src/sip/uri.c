/*
 * uri.c - SIP value parsers: URIs (RFC 3261 §19.1, §25; tel per RFC 3966),
 * name-addr / addr-spec with header params (§20.10, §20.20, §20.39), Via
 * (§20.42, RFC 3581 rport, RFC 5118 IPv6), generic params, delta-seconds,
 * and URI comparison (§19.1.4).
 *
 * Every parser works on a slice and fills slices into the same buffer; none
 * allocates.  They validate the grammar rather than guess: a value that a
 * strict reading of RFC 3261 rejects is rejected, with the few liberal
 * exceptions RFC 4475 asks for (noted where they are).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "sip/lex.h"
#include "sip/msg.h"

#define TK LEX_TOKEN
#define WS LEX_LWS
#define DG LEX_DIGIT
#define HX LEX_HEX
#define AL LEX_ALPHA
#define HO LEX_HOST
#define US LEX_USER
#define PW LEX_PASS
#define PA LEX_PARAM
#define HN LEX_HNV
#define UC LEX_URIC
#define SC LEX_SCHEME
#define TE LEX_TEL
#define V6 LEX_V6

/* Checked against the RFC 3261 character sets in tests/unit/test_sipmsg.c. */
const uint16_t sip_lex_ctype[256] = {
	['\t'] = WS,
	['\n'] = WS,
	['\r'] = WS,
	[' '] = WS,
	['!'] = TK|US|PW|PA|HN|UC,
	['%'] = TK|US|PW|PA|HN|UC,
	['\''] = TK|US|PW|PA|HN|UC,
	['~'] = TK|US|PW|PA|HN|UC,
	['#'] = TE,
	['$'] = US|PW|PA|HN|UC,
	['&'] = US|PW|PA|UC,
	['('] = US|PW|PA|HN|UC|TE,
	[')'] = US|PW|PA|HN|UC|TE,
	['*'] = TK|US|PW|PA|HN|UC|TE,
	['+'] = TK|US|PW|PA|HN|UC|SC|TE,
	[','] = US|PW|UC,
	['='] = US|PW|UC,
	['-'] = TK|HO|US|PW|PA|HN|UC|SC|TE,
	['.'] = TK|HO|US|PW|PA|HN|UC|SC|TE|V6,
	['/'] = US|PA|HN|UC,
	['0' ... '9'] = TK|DG|HX|HO|US|PW|PA|HN|UC|SC|TE|V6,
	[':'] = PA|HN|UC|V6,
	[';'] = US|UC,
	['?'] = US|HN|UC,
	['@'] = UC,
	['A' ... 'F'] = TK|HX|AL|HO|US|PW|PA|HN|UC|SC|TE|V6,
	['a' ... 'f'] = TK|HX|AL|HO|US|PW|PA|HN|UC|SC|TE|V6,
	['G' ... 'Z'] = TK|AL|HO|US|PW|PA|HN|UC|SC,
	['g' ... 'z'] = TK|AL|HO|US|PW|PA|HN|UC|SC,
	['['] = PA|HN,
	[']'] = PA|HN,
	['_'] = TK|HO|US|PW|PA|HN|UC,
	['`'] = TK,
};

/* What uri_parse() found: a URI we decode, one of another scheme, or none. */
enum { URI_OK, URI_OTHER, URI_BAD };

static size_t skip_lws(const char *p, size_t n, size_t i)
{
	while (i < n && lex_is(p[i], LEX_LWS))
		i++;
	return i;
}

size_t sip_lex_quoted(const char *p, size_t n)
{
	size_t i;

	if (!n || p[0] != '"')
		return 0;
	for (i = 1; i < n; i++) {
		if (p[i] == '"')
			return i + 1;
		if (p[i] == '\\') {
			/* quoted-pair never escapes CR or LF (RFC 3261 §25.1) */
			if (i + 1 >= n || p[i + 1] == '\r' || p[i + 1] == '\n')
				return 0;
			i++;
		}
	}
	return 0;
}

/* Unquoted gen-value: token, host (IPv6 too, bracketed or not, as RFC 5118
 * received= needs) or the odd bytes devices put there; never a separator. */
static bool param_value_char(char c)
{
	unsigned char u = (unsigned char)c;

	if (u <= 0x20 || u == 0x7f)
		return false;
	return c != ';' && c != ',' && c != '"';
}

/* Parameter names are tokens by the grammar; URI parameter names may also
 * hold param-unreserved bytes, so accept anything that is not a separator. */
static bool param_name_char(char c)
{
	return param_value_char(c) && c != '=';
}

/*
 * Parse one ";name[=value]" at p[i] (which must be ';'), LWS allowed around
 * ';' and '='.  Fills name and value (quotes stripped) and returns the index
 * after it, or 0 on a syntax error.
 */
static size_t param_one(const char *p, size_t n, size_t i,
			struct pl *name, struct pl *val)
{
	size_t j, q;

	if (i >= n || p[i] != ';')
		return 0;
	i = skip_lws(p, n, i + 1);
	j = i;
	while (j < n && param_name_char(p[j]))
		j++;
	if (j == i)
		return 0;
	*name = (struct pl){p + i, j - i};
	*val = (struct pl){p + j, 0};
	i = skip_lws(p, n, j);
	if (i >= n || p[i] != '=')
		return j;
	i = skip_lws(p, n, i + 1);
	if (i < n && p[i] == '"') {
		q = sip_lex_quoted(p + i, n - i);
		if (!q)
			return 0;
		*val = (struct pl){p + i + 1, q - 2};
		return i + q;
	}
	j = i;
	while (j < n && param_value_char(p[j]))
		j++;
	if (j == i)
		return 0;
	*val = (struct pl){p + i, j - i};
	return j;
}

/* Case-insensitive equality of a parsed name with name[0..len). */
static bool name_eq(const struct pl *pn, const char *name, size_t len)
{
	if (pn->l != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (lex_lower(pn->p[i]) != lex_lower(name[i]))
			return false;
	}
	return true;
}

static bool param_find(const struct pl *params, const char *name, size_t len,
		       struct pl *val)
{
	struct pl pn, pv;
	size_t i, n;
	const char *p;

	if (!params || !params->p)
		return false;
	p = params->p;
	n = params->l;
	i = skip_lws(p, n, 0);
	while (i < n) {
		i = param_one(p, n, i, &pn, &pv);
		if (!i)
			return false;
		if (name_eq(&pn, name, len)) {
			if (val)
				*val = pv;
			return true;
		}
		i = skip_lws(p, n, i);
	}
	return false;
}

bool sip_param_get(const struct pl *params, const char *name, struct pl *val)
{
	if (!name)
		return false;
	return param_find(params, name, strlen(name), val);
}

int sip_delta_seconds(const struct pl *pl, uint32_t *v)
{
	struct pl t;
	uint64_t n = 0;

	if (!pl || !pl->p)
		return EINVAL;
	t = *pl;
	pl_trim(&t);
	if (!t.l)
		return EINVAL;
	for (size_t i = 0; i < t.l; i++) {
		if (!lex_is(t.p[i], LEX_DIGIT))
			return EINVAL;
		n = n * 10 + (uint64_t)(t.p[i] - '0');
		/* RFC 3261 §20.19: 0..2^32-1; larger is malformed, so the
		 * caller falls back to its default (RFC 4475 scalar02). */
		if (n > UINT32_MAX)
			return EINVAL;
	}
	if (v)
		*v = (uint32_t)n;
	return 0;
}

/* Every '%' in p[0..n) starts a valid escape (RFC 3261 "escaped"). */
static bool escapes_valid(const char *p, size_t n)
{
	const char *e = p + n;

	while ((p = memchr(p, '%', (size_t)(e - p))) != NULL) {
		if (e - p < 3 || !lex_is(p[1], LEX_HEX) || !lex_is(p[2], LEX_HEX))
			return false;
		p += 3;
	}
	return true;
}

static bool run_valid(const char *p, size_t n, unsigned cls)
{
	return lex_span(p, n, cls) == n && escapes_valid(p, n);
}

/*
 * host [ LWS? ":" LWS? port ] at p[0..n): hostname, IPv4 or an IPv6
 * reference.  lws allows SWS around the colon (Via sent-by).  Returns the
 * bytes consumed, 0 on error.
 */
static size_t hostport_scan(const char *p, size_t n, bool lws, struct pl *host,
			    bool *v6, uint16_t *port)
{
	const char *close;
	size_t i, j, k;
	uint32_t val = 0;

	*v6 = false;
	*port = 0;
	if (!n)
		return 0;
	if (p[0] == '[') {
		close = memchr(p, ']', n);
		if (!close || close == p + 1)
			return 0;
		*host = (struct pl){p + 1, (size_t)(close - p) - 1};
		if (lex_span(host->p, host->l, LEX_V6) != host->l ||
		    !memchr(host->p, ':', host->l))
			return 0;
		*v6 = true;
		i = (size_t)(close - p) + 1;
	} else {
		i = lex_span(p, n, LEX_HOST);
		if (!i)
			return 0;
		*host = (struct pl){p, i};
	}
	j = lws ? skip_lws(p, n, i) : i;
	if (j >= n || p[j] != ':')
		return i;
	j = lws ? skip_lws(p, n, j + 1) : j + 1;
	k = j;
	while (k < n && lex_is(p[k], LEX_DIGIT) && k - j < 6) {
		val = val * 10 + (uint32_t)(p[k] - '0');
		k++;
	}
	if (k == j || k - j > 5 || val == 0 || val > 65535)
		return 0;
	*port = (uint16_t)val;
	return k;
}

/* ";name[=value]" URI parameters: 1*paramchar each side (§25.1). */
static bool uri_params_valid(const char *p, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		if (p[i] != ';')
			return false;
		i++;
		j = i + lex_span(p + i, n - i, LEX_PARAM);
		if (j == i)
			return false;
		if (j < n && p[j] == '=') {
			i = j + 1;
			j = i + lex_span(p + i, n - i, LEX_PARAM);
			if (j == i)
				return false;
		}
		i = j;
	}
	return escapes_valid(p, n);
}

/* hname "=" hvalue *( "&" hname "=" hvalue ) */
static bool uri_headers_valid(const char *p, size_t n)
{
	size_t i = 0, j;

	if (!n)
		return false;
	for (;;) {
		j = i + lex_span(p + i, n - i, LEX_HNV);
		if (j == i || j >= n || p[j] != '=')
			return false;
		i = j + 1;
		i += lex_span(p + i, n - i, LEX_HNV);
		if (i == n)
			break;
		if (p[i] != '&')
			return false;
		i++;
	}
	return escapes_valid(p, n);
}

static int uri_sip(struct sip_uri *uri, const char *p, size_t n)
{
	const char *at, *colon;
	size_t i = 0, j;

	at = memchr(p, '@', n);
	if (at) {
		size_t ul = (size_t)(at - p);

		colon = memchr(p, ':', ul);
		if (colon) {
			uri->user = (struct pl){p, (size_t)(colon - p)};
			uri->password = (struct pl){colon + 1, (size_t)(at - colon) - 1};
		} else {
			uri->user = (struct pl){p, ul};
		}
		if (!uri->user.l || !run_valid(uri->user.p, uri->user.l, LEX_USER))
			return URI_BAD;
		if (uri->password.l &&
		    !run_valid(uri->password.p, uri->password.l, LEX_PASS))
			return URI_BAD;
		i = ul + 1;
	}
	j = hostport_scan(p + i, n - i, false, &uri->host, &uri->host_ipv6,
			  &uri->port);
	if (!j)
		return URI_BAD;
	i += j;
	if (i < n && p[i] == ';') {
		j = i;
		while (j < n && p[j] != '?')
			j++;
		uri->params = (struct pl){p + i, j - i};
		if (!uri_params_valid(uri->params.p, uri->params.l))
			return URI_BAD;
		i = j;
	}
	if (i < n && p[i] == '?') {
		uri->headers = (struct pl){p + i + 1, n - i - 1};
		if (!uri_headers_valid(uri->headers.p, uri->headers.l))
			return URI_BAD;
		i = n;
	}
	return i == n ? URI_OK : URI_BAD;
}

/* tel:number[;params] (RFC 3966); the number goes to user. */
static int uri_tel(struct sip_uri *uri, const char *p, size_t n)
{
	const char *semi = memchr(p, ';', n);
	size_t nl = semi ? (size_t)(semi - p) : n;

	if (!nl || lex_span(p, nl, LEX_TEL) != nl)
		return URI_BAD;
	uri->user = (struct pl){p, nl};
	if (semi) {
		uri->params = (struct pl){semi, n - nl};
		if (!uri_params_valid(uri->params.p, uri->params.l))
			return URI_BAD;
	}
	return URI_OK;
}

/*
 * URI_OK for a valid sip/sips/tel URI, URI_OTHER for a syntactically valid
 * absoluteURI of another scheme (only whole set: the TU answers 416),
 * URI_BAD otherwise.
 */
static int uri_parse(struct sip_uri *uri, const char *p, size_t n)
{
	size_t i;

	memset(uri, 0, sizeof(*uri));
	if (!p || !n || !lex_is(p[0], LEX_ALPHA))
		return URI_BAD;
	i = lex_span(p, n, LEX_SCHEME);
	if (i >= n || p[i] != ':' || i + 1 >= n)
		return URI_BAD;
	uri->whole = (struct pl){p, n};
	if (i == 3 && lex_lower(p[0]) == 's' && lex_lower(p[1]) == 'i' &&
	    lex_lower(p[2]) == 'p') {
		uri->scheme = SIP_URI_SIP;
		return uri_sip(uri, p + 4, n - 4);
	}
	if (i == 4 && lex_lower(p[0]) == 's' && lex_lower(p[1]) == 'i' &&
	    lex_lower(p[2]) == 'p' && lex_lower(p[3]) == 's') {
		uri->scheme = SIP_URI_SIPS;
		return uri_sip(uri, p + 5, n - 5);
	}
	if (i == 3 && lex_lower(p[0]) == 't' && lex_lower(p[1]) == 'e' &&
	    lex_lower(p[2]) == 'l') {
		uri->scheme = SIP_URI_TEL;
		return uri_tel(uri, p + 4, n - 4);
	}
	if (!run_valid(p + i + 1, n - i - 1, LEX_URIC))
		return URI_BAD;
	return URI_OTHER;
}

int sip_uri_decode(struct sip_uri *uri, const struct pl *pl)
{
	struct sip_uri tmp;
	int r;

	if (!uri)
		uri = &tmp;
	if (!pl) {
		memset(uri, 0, sizeof(*uri));
		return EINVAL;
	}
	r = uri_parse(uri, pl->p, pl->l);
	if (r == URI_OTHER) {
		/* keep only whole: see msg.h */
		struct pl whole = uri->whole;

		memset(uri, 0, sizeof(*uri));
		uri->whole = whole;
	} else if (r == URI_BAD) {
		memset(uri, 0, sizeof(*uri));
	}
	return r == URI_OK ? 0 : EINVAL;
}

/* A display name byte outside quotes: token words separated by LWS, plus
 * UTF-8 (devices send it; it cannot be confused with any delimiter). */
static bool dname_char(char c)
{
	return lex_is(c, LEX_TOKEN | LEX_LWS) || (unsigned char)c >= 0x80;
}

int sip_addr_decode(struct sip_addr *addr, const struct pl *pl)
{
	struct sip_addr tmp;
	struct pl v;
	const char *p, *close;
	size_t n, i = 0, j, ul;
	int r;

	if (!addr)
		addr = &tmp;
	memset(addr, 0, sizeof(*addr));
	if (!pl || !pl->p)
		return EINVAL;
	v = *pl;
	pl_trim(&v);
	if (!v.l)
		return EINVAL;
	p = v.p;
	n = v.l;

	if (p[0] == '"') {
		j = sip_lex_quoted(p, n);
		if (!j)
			goto bad;
		addr->dname = (struct pl){p + 1, j - 2};
		i = skip_lws(p, n, j);
		if (i >= n || p[i] != '<')
			goto bad;
	} else if (p[0] != '<') {
		j = 0;
		while (j < n && dname_char(p[j]))
			j++;
		if (j < n && p[j] == '<') {
			/* RFC 4475 lwsdisp: no LWS needed before '<' */
			addr->dname = (struct pl){p, j};
			pl_trim(&addr->dname);
			i = j;
		} else {
			i = n;  /* addr-spec */
		}
	}

	if (i < n) {
		/* name-addr: the URI is everything up to '>', no LWS inside
		 * (RFC 4475 badaspec) */
		close = memchr(p + i + 1, '>', n - i - 1);
		if (!close)
			goto bad;
		r = uri_parse(&addr->uri, p + i + 1, (size_t)(close - p) - i - 1);
		if (r == URI_BAD)
			goto bad;
		i = (size_t)(close - p) + 1;
	} else {
		/* addr-spec: params after the URI are header params (§20), and
		 * a URI with ',', '?' or ';' of its own needs <> (regbadct) */
		ul = 0;
		while (ul < n && p[ul] != ';' && !lex_is(p[ul], LEX_LWS))
			ul++;
		if (memchr(p, '?', ul) || memchr(p, ',', ul))
			goto bad;
		r = uri_parse(&addr->uri, p, ul);
		if (r == URI_BAD)
			goto bad;
		i = ul;
	}
	if (r == URI_OTHER) {
		struct pl whole = addr->uri.whole;

		memset(&addr->uri, 0, sizeof(addr->uri));
		addr->uri.whole = whole;
	}

	i = skip_lws(p, n, i);
	if (i < n) {
		struct pl name, val;
		bool tag = false;

		if (p[i] != ';')
			goto bad;
		addr->params = (struct pl){p + i, n - i};
		/* one walk validates and finds the (first) tag */
		while (i < n) {
			i = param_one(p, n, i, &name, &val);
			if (!i)
				goto bad;
			i = skip_lws(p, n, i);
			if (!tag && name_eq(&name, "tag", 3)) {
				/* tag-param = "tag" EQUAL token: never a flag */
				if (!val.l)
					goto bad;
				addr->tag = val;
				tag = true;
			}
		}
	}
	addr->whole = v;
	return 0;
 bad:
	memset(addr, 0, sizeof(*addr));
	return EINVAL;
}

int sip_via_decode(struct sip_via *via, const struct pl *pl)
{
	struct sip_via tmp;
	struct pl v, name, val;
	const char *p;
	size_t n, i, j, k;

	if (!via)
		via = &tmp;
	memset(via, 0, sizeof(*via));
	if (!pl || !pl->p)
		return EINVAL;
	v = *pl;
	pl_trim(&v);
	p = v.p;
	n = v.l;

	/* sent-protocol: name / version / transport, LWS around '/' (wsinv) */
	i = lex_span(p, n, LEX_TOKEN);
	if (!i)
		goto bad;
	for (k = 0; k < 2; k++) {
		i = skip_lws(p, n, i);
		if (i >= n || p[i] != '/')
			goto bad;
		i = skip_lws(p, n, i + 1);
		j = i + lex_span(p + i, n - i, LEX_TOKEN);
		if (j == i)
			goto bad;
		if (k == 1)
			via->proto = (struct pl){p + i, j - i};
		i = j;
	}
	j = skip_lws(p, n, i);
	if (j == i)
		goto bad;
	i = j;

	k = hostport_scan(p + i, n - i, true, &via->host, &via->host_ipv6,
			  &via->port);
	if (!k)
		goto bad;
	via->sentby = (struct pl){p + i, k};
	i = skip_lws(p, n, i + k);

	if (i < n) {
		if (p[i] != ';')
			goto bad;
		via->params = (struct pl){p + i, n - i};
		/* one walk validates and picks the parameters we use */
		while (i < n) {
			i = param_one(p, n, i, &name, &val);
			if (!i)
				goto bad;
			i = skip_lws(p, n, i);
			if (name_eq(&name, "branch", 6)) {
				via->branch = val;
			} else if (name_eq(&name, "received", 8)) {
				via->received = val;
			} else if (name_eq(&name, "maddr", 5)) {
				via->maddr = val;
			} else if (name_eq(&name, "rport", 5)) {
				via->rport = true;
				via->rport_val = val;
			}
		}
	}
	via->whole = v;
	return 0;
 bad:
	memset(via, 0, sizeof(*via));
	return EINVAL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return lex_lower(c) - 'a' + 10;
}

/* Next byte of an escaped string, decoding %HH; bad escapes stay literal. */
static int esc_next(const struct pl *s, size_t *i)
{
	const char *p = s->p + *i;

	if (p[0] == '%' && *i + 2 < s->l && lex_is(p[1], LEX_HEX) &&
	    lex_is(p[2], LEX_HEX)) {
		*i += 3;
		return hexval(p[1]) * 16 + hexval(p[2]);
	}
	(*i)++;
	return (unsigned char)p[0];
}

/* Equal after %-unescaping both sides, optionally ignoring case. */
static bool esc_eq(const struct pl *a, const struct pl *b, bool icase)
{
	size_t i = 0, j = 0;

	while (i < a->l && j < b->l) {
		int x = esc_next(a, &i);
		int y = esc_next(b, &j);

		if (icase) {
			x = (unsigned char)lex_lower((char)x);
			y = (unsigned char)lex_lower((char)y);
		}
		if (x != y)
			return false;
	}
	return i == a->l && j == b->l;
}

static bool host_eq(const struct sip_uri *a, const struct sip_uri *b)
{
	char sa[64], sb[64];
	unsigned char na[16], nb[16];

	if (a->host_ipv6 != b->host_ipv6)
		return false;
	if (a->host_ipv6 && pl_strcpy(&a->host, sa, sizeof(sa)) == 0 &&
	    pl_strcpy(&b->host, sb, sizeof(sb)) == 0 &&
	    inet_pton(AF_INET6, sa, na) == 1 && inet_pton(AF_INET6, sb, nb) == 1)
		return memcmp(na, nb, sizeof(na)) == 0;
	return pl_eqcase(&a->host, &b->host);
}

/* The parameters that must match when present in either URI (§19.1.4). */
static const char *const uri_strict_params[] = {
	"user", "ttl", "method", "maddr", "transport"
};

static bool uri_params_eq(const struct pl *a, const struct pl *b)
{
	struct pl name, va, vb;
	size_t i;

	for (i = 0; i < sizeof(uri_strict_params) / sizeof(uri_strict_params[0]); i++) {
		bool ha = sip_param_get(a, uri_strict_params[i], &va);
		bool hb = sip_param_get(b, uri_strict_params[i], &vb);

		if (ha != hb || (ha && !esc_eq(&va, &vb, true)))
			return false;
	}
	/* Any other parameter present in both must match (the first of each
	 * name counts, as sip_param_get() sees it). */
	i = 0;
	while (a->p && i < a->l) {
		i = param_one(a->p, a->l, i, &name, &va);
		if (!i)
			return false;
		param_find(a, name.p, name.l, &va);
		if (param_find(b, name.p, name.l, &vb) && !esc_eq(&va, &vb, true))
			return false;
	}
	return true;
}

/* Next "name=value" of a URI headers component. */
static bool uri_header_next(const struct pl *h, size_t *i, struct pl *name,
			    struct pl *val)
{
	const char *amp, *eq;
	size_t end;

	if (*i >= h->l)
		return false;
	amp = memchr(h->p + *i, '&', h->l - *i);
	end = amp ? (size_t)(amp - h->p) : h->l;
	eq = memchr(h->p + *i, '=', end - *i);
	if (eq) {
		*name = (struct pl){h->p + *i, (size_t)(eq - h->p) - *i};
		*val = (struct pl){eq + 1, end - (size_t)(eq - h->p) - 1};
	} else {
		*name = (struct pl){h->p + *i, end - *i};
		*val = (struct pl){h->p + end, 0};
	}
	*i = amp ? end + 1 : end;
	return true;
}

/* Every header of a appears in b with an equal value. */
static bool uri_headers_sub(const struct pl *a, const struct pl *b)
{
	struct pl na, va, nb, vb;
	size_t i = 0, j;
	bool found;

	while (a->p && uri_header_next(a, &i, &na, &va)) {
		found = false;
		j = 0;
		while (!found && b->p && uri_header_next(b, &j, &nb, &vb))
			found = esc_eq(&na, &nb, true) && esc_eq(&va, &vb, false);
		if (!found)
			return false;
	}
	return true;
}

static bool tel_visual(char c)
{
	return c == '-' || c == '.' || c == '(' || c == ')';
}

/* tel numbers compare without visual separators (RFC 3966 §4). */
static bool tel_eq(const struct pl *a, const struct pl *b)
{
	size_t i = 0, j = 0;

	for (;;) {
		while (i < a->l && tel_visual(a->p[i]))
			i++;
		while (j < b->l && tel_visual(b->p[j]))
			j++;
		if (i == a->l || j == b->l)
			return i == a->l && j == b->l;
		if (lex_lower(a->p[i]) != lex_lower(b->p[j]))
			return false;
		i++;
		j++;
	}
}

bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b)
{
	if (!a || !b || a->scheme != b->scheme)
		return false;
	if (a->scheme == SIP_URI_TEL)
		return tel_eq(&a->user, &b->user) &&
		       uri_params_eq(&a->params, &b->params);
	if (!esc_eq(&a->user, &b->user, false) ||
	    !esc_eq(&a->password, &b->password, false) ||
	    !host_eq(a, b) || a->port != b->port)
		return false;
	if (!uri_params_eq(&a->params, &b->params))
		return false;
	return uri_headers_sub(&a->headers, &b->headers) &&
	       uri_headers_sub(&b->headers, &a->headers);
}
