/*
 * msg.c - SIP message framing and header decoding (RFC 3261 §7, §18.3, §20).
 *
 * sip_msg_decode() walks the buffer once: leading CR/LF, the start line,
 * then each header line (found with memchr, folding included), recording
 * name, id and trimmed value.  Only the headers every transaction needs are
 * decoded eagerly; the rest are decoded on demand by the helpers at the end
 * of this file and in uri.c.  Nothing is copied and nothing is allocated.
 *
 * Line endings: CRLF per RFC 3261 §7.5, and a bare LF is accepted in its
 * place everywhere (start line, header lines, folding, the empty line);
 * a CR not followed by LF inside the headers is an error.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "sip/lex.h"
#include "sip/msg.h"

/* Iterator encoding for sip_msg_hdr_next(): header index in the top byte,
 * offset into that header's value in the low 24 bits. */
#define IT_SHIFT 24
#define IT_OFFMAX 0xffffffu

/* Content-Length above this is treated as hostile rather than waited for. */
#define CLEN_MAX 0x7fffffff

static bool lower_eq(const char *p, const char *lc, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (lex_lower(p[i]) != lc[i])
			return false;
	}
	return true;
}

static enum sip_hdr_id compact_id(char c)
{
	switch (lex_lower(c)) {
	case 'c': return SIP_HDR_CONTENT_TYPE;
	case 'e': return SIP_HDR_CONTENT_ENCODING;
	case 'f': return SIP_HDR_FROM;
	case 'i': return SIP_HDR_CALL_ID;
	case 'k': return SIP_HDR_SUPPORTED;
	case 'l': return SIP_HDR_CONTENT_LENGTH;
	case 'm': return SIP_HDR_CONTACT;
	case 'o': return SIP_HDR_EVENT;
	case 'r': return SIP_HDR_REFER_TO;
	case 's': return SIP_HDR_SUBJECT;
	case 't': return SIP_HDR_TO;
	case 'v': return SIP_HDR_VIA;
	case 'x': return SIP_HDR_SESSION_EXPIRES;
	default:  return SIP_HDR_OTHER;
	}
}

enum sip_hdr_id sip_hdr_lookup(const struct pl *name)
{
	const char *p;
	size_t n;

	if (!name || !name->p || !name->l)
		return SIP_HDR_OTHER;
	p = name->p;
	n = name->l;
	if (n == 1)
		return compact_id(p[0]);

#define M(s, id) \
	if (n == sizeof(s) - 1 && lower_eq(p, s, n)) \
		return id

	switch (lex_lower(p[0])) {
	case 'a':
		M("accept", SIP_HDR_ACCEPT);
		M("allow", SIP_HDR_ALLOW);
		M("authorization", SIP_HDR_AUTHORIZATION);
		break;
	case 'c':
		M("call-id", SIP_HDR_CALL_ID);
		M("contact", SIP_HDR_CONTACT);
		M("content-length", SIP_HDR_CONTENT_LENGTH);
		M("content-type", SIP_HDR_CONTENT_TYPE);
		M("cseq", SIP_HDR_CSEQ);
		M("content-encoding", SIP_HDR_CONTENT_ENCODING);
		break;
	case 'e':
		M("event", SIP_HDR_EVENT);
		M("expires", SIP_HDR_EXPIRES);
		break;
	case 'f':
		M("from", SIP_HDR_FROM);
		break;
	case 'm':
		M("max-forwards", SIP_HDR_MAX_FORWARDS);
		M("min-expires", SIP_HDR_MIN_EXPIRES);
		M("min-se", SIP_HDR_MIN_SE);
		break;
	case 'p':
		M("path", SIP_HDR_PATH);
		M("proxy-authenticate", SIP_HDR_PROXY_AUTHENTICATE);
		M("proxy-authorization", SIP_HDR_PROXY_AUTHORIZATION);
		M("proxy-require", SIP_HDR_PROXY_REQUIRE);
		break;
	case 'r':
		M("record-route", SIP_HDR_RECORD_ROUTE);
		M("require", SIP_HDR_REQUIRE);
		M("route", SIP_HDR_ROUTE);
		M("refer-to", SIP_HDR_REFER_TO);
		break;
	case 's':
		M("session-expires", SIP_HDR_SESSION_EXPIRES);
		M("supported", SIP_HDR_SUPPORTED);
		M("subject", SIP_HDR_SUBJECT);
		break;
	case 't':
		M("to", SIP_HDR_TO);
		break;
	case 'u':
		M("unsupported", SIP_HDR_UNSUPPORTED);
		M("user-agent", SIP_HDR_USER_AGENT);
		break;
	case 'v':
		M("via", SIP_HDR_VIA);
		break;
	case 'w':
		M("www-authenticate", SIP_HDR_WWW_AUTHENTICATE);
		break;
	default:
		break;
	}
#undef M
	return SIP_HDR_OTHER;
}

/* Long form of the compact names that have no id of their own, so that
 * sip_msg_hdr_name("Allow-Events") also finds "u:" (RFC 3261 §7.3.3 and
 * the IANA registry). */
static const char *compact_other(char c)
{
	switch (lex_lower(c)) {
	case 'a': return "accept-contact";
	case 'b': return "referred-by";
	case 'd': return "request-disposition";
	case 'j': return "reject-contact";
	case 'n': return "identity-info";
	case 'u': return "allow-events";
	case 'y': return "identity";
	default:  return NULL;
	}
}

static struct pl name_long(const struct pl *name)
{
	const char *l;

	if (name->l == 1 && (l = compact_other(name->p[0])) != NULL)
		return pl_from_str(l);
	return *name;
}

/*
 * Next comma-separated value of v from *off; commas inside quoted strings
 * and <...> do not split.  Empty values are skipped.
 */
static bool value_next(const struct pl *v, size_t *off, struct pl *out)
{
	const char *p = v->p;
	size_t n = v->l, i = *off, start;
	bool quoted, angle;

	if (!p)
		return false;
	while (i < n) {
		start = i;
		quoted = angle = false;
		for (; i < n; i++) {
			char c = p[i];

			if (quoted) {
				if (c == '\\')
					i++;
				else if (c == '"')
					quoted = false;
			} else if (c == '"') {
				quoted = true;
			} else if (c == '<') {
				angle = true;
			} else if (c == '>') {
				angle = false;
			} else if (c == ',' && !angle) {
				break;
			}
		}
		if (i > n)
			i = n;
		out->p = p + start;
		out->l = i - start;
		pl_trim(out);
		if (i < n)
			i++;
		if (out->l) {
			*off = i;
			return true;
		}
	}
	*off = n;
	return false;
}

static void msg_reset(struct sip_msg *msg)
{
	/* hdrv is large and only hdrv[0..hdrc) is meaningful: skip it */
	memset(msg, 0, offsetof(struct sip_msg, hdrv));
	memset(&msg->hdrc, 0, sizeof(*msg) - offsetof(struct sip_msg, hdrc));
	msg->max_forwards = -1;
	msg->clen = -1;
}

static bool is_version(const char *p, size_t n)
{
	return n == 7 && strncasecmp(p, "SIP/2.0", 7) == 0;
}

/* SIP-Version of another number: "SIP" "/" 1*DIGIT "." 1*DIGIT. */
static bool is_other_version(const char *p, size_t n)
{
	size_t i, d;

	if (n < 7 || strncasecmp(p, "SIP/", 4) != 0)
		return false;
	i = 4;
	d = lex_span(p + i, n - i, LEX_DIGIT);
	if (!d)
		return false;
	i += d;
	if (i >= n || p[i] != '.')
		return false;
	i++;
	d = lex_span(p + i, n - i, LEX_DIGIT);
	return d && i + d == n;
}

static const char *status_line(struct sip_msg *msg, const char *p, size_t n)
{
	const char *sp = memchr(p, ' ', n);
	size_t vl = sp ? (size_t)(sp - p) : n, i;
	unsigned code = 0;

	msg->req = false;
	if (!is_version(p, vl))
		return is_other_version(p, vl) ? "Unsupported SIP version" :
						 "Malformed status line";
	i = vl + 1;
	if (i + 3 > n)
		return "Malformed status line";
	for (size_t k = 0; k < 3; k++) {
		if (!lex_is(p[i + k], LEX_DIGIT))
			return "Malformed status line";
		code = code * 10 + (unsigned)(p[i + k] - '0');
	}
	i += 3;
	/* RFC 4475 noreason: "SIP/2.0 100 " is valid; be liberal about the
	 * missing space too */
	if (i < n && p[i] != ' ')
		return "Malformed status line";
	if (code < 100 || code > 699)
		return "Malformed status line";
	msg->scode = (uint16_t)code;
	msg->reason = i < n ? (struct pl){p + i + 1, n - i - 1} :
			      (struct pl){p + n, 0};
	return NULL;
}

static const char *request_line(struct sip_msg *msg, const char *p, size_t n)
{
	const char *err = NULL;
	size_t m, u, e;
	const char *ver;
	size_t vl;

	msg->req = true;
	m = lex_span(p, n, LEX_TOKEN);
	if (!m || m >= n || p[m] != ' ')
		return "Malformed request line";
	msg->method = (struct pl){p, m};
	u = m + 1;
	e = u;
	while (e < n && p[e] != ' ' && p[e] != '\t')
		e++;
	if (e == u || e >= n || p[e] != ' ')
		return "Malformed request line";
	msg->ruri_raw = (struct pl){p + u, e - u};
	/* other schemes keep only whole and are the TU's 416 to send; a
	 * sip(s) Request-URI must not carry headers (RFC 4475 escruri) */
	if (sip_uri_decode(&msg->ruri, &msg->ruri_raw)) {
		if (!pl_isset(&msg->ruri.whole))
			err = "Malformed Request-URI";
	} else if (msg->ruri.headers.p) {
		err = "Malformed Request-URI";
	}
	/* the version decides between 505 and 400, so it comes first */
	ver = p + e + 1;
	vl = n - e - 1;
	if (!is_version(ver, vl))
		return is_other_version(ver, vl) ? "Unsupported SIP version" :
						   "Malformed request line";
	return err;
}

static const char *start_line(struct sip_msg *msg, const char *p, size_t n)
{
	if (n >= 4 && strncasecmp(p, "SIP/", 4) == 0)
		return status_line(msg, p, n);
	return request_line(msg, p, n);
}

/* One complete logical header line p[0..n) (folds inside, no final EOL). */
static const char *header_line(struct sip_msg *msg, const char *p, size_t n)
{
	struct sip_hdr *h;
	size_t j, k;

	j = lex_span(p, n, LEX_TOKEN);
	if (!j)
		return "Malformed header line";
	k = j;
	while (k < n && (p[k] == ' ' || p[k] == '\t'))
		k++;
	if (k >= n || p[k] != ':')
		return "Malformed header line";
	if (msg->hdrc >= SIP_MSG_MAX_HDRS)
		return "Too many headers";
	h = &msg->hdrv[msg->hdrc++];
	h->name = (struct pl){p, j};
	h->id = sip_hdr_lookup(&h->name);
	h->val = (struct pl){p + k + 1, n - k - 1};
	pl_trim(&h->val);
	return NULL;
}

/*
 * First byte of p[0..n) that may not appear in a header section: a NUL
 * (except as a quoted-pair, RFC 4475 intmeth) or a CR not followed by LF.
 */
static const char *bad_byte(const char *p, size_t n)
{
	const char *e = p + n, *q, *first = NULL;

	for (q = p; (q = memchr(q, '\0', (size_t)(e - q))) != NULL; q++) {
		if (q == p || q[-1] != '\\') {
			first = q;
			break;
		}
	}
	for (q = p; (q = memchr(q, '\r', (size_t)(e - q))) != NULL; q++) {
		if (first && q > first)
			break;
		if (q + 1 >= e || q[1] != '\n') {
			first = q;
			break;
		}
	}
	return first;
}

enum { SPLIT_OK, SPLIT_PARTIAL, SPLIT_BAD };

/*
 * Start line and header lines from buf[start..len).  Sets *hend to the
 * offset just after the empty line (datagram: or the end of the data).
 * SPLIT_BAD means the header section itself is unusable (*why set);
 * a bad start line only sets *why and the walk goes on.
 */
static int split(struct sip_msg *msg, const char *buf, size_t len,
		 size_t start, bool stream, size_t *hend, const char **why)
{
	const char *end = buf + len, *p = buf + start, *q, *nl, *lend, *next;
	const char *err, *bad;

	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl && stream)
		return SPLIT_PARTIAL;
	lend = nl ? nl : end;
	next = nl ? nl + 1 : end;
	if (lend > p && lend[-1] == '\r')
		lend--;
	err = start_line(msg, p, (size_t)(lend - p));
	if (err && !*why)
		*why = err;
	p = next;

	for (;;) {
		if (p >= end) {
			if (stream)
				return SPLIT_PARTIAL;
			*hend = len;
			break;
		}
		if (*p == '\n') {
			*hend = (size_t)(p + 1 - buf);
			break;
		}
		if (*p == '\r') {
			if (p + 1 >= end) {
				if (stream)
					return SPLIT_PARTIAL;
				*hend = len;
				break;
			}
			if (p[1] == '\n') {
				*hend = (size_t)(p + 2 - buf);
				break;
			}
			*why = "Malformed header line";
			return SPLIT_BAD;
		}
		if (*p == ' ' || *p == '\t') {
			/* a fold with no header to continue */
			*why = "Malformed header line";
			return SPLIT_BAD;
		}
		/* the logical line ends at a line break not followed by WSP; on a
		 * stream, a break at the end of the data may still be a fold */
		q = p;
		for (;;) {
			nl = memchr(q, '\n', (size_t)(end - q));
			if (!nl || nl + 1 >= end) {
				if (stream)
					return SPLIT_PARTIAL;
				lend = nl ? nl : end;
				next = end;
				break;
			}
			if (nl[1] == ' ' || nl[1] == '\t') {
				q = nl + 1;
				continue;
			}
			lend = nl;
			next = nl + 1;
			break;
		}
		err = header_line(msg, p, (size_t)(lend - p));
		if (err) {
			*why = err;
			return SPLIT_BAD;
		}
		p = next;
	}

	bad = bad_byte(buf + start, *hend - start);
	if (bad) {
		/* keep only the lines before it, so nothing echoed in a 400
		 * carries the byte: drop the lines after it, then its own */
		while (msg->hdrc && msg->hdrv[msg->hdrc - 1].name.p > bad)
			msg->hdrc--;
		if (msg->hdrc)
			msg->hdrc--;
		*why = *bad ? "Malformed line ending" : "NUL byte in headers";
		return SPLIT_BAD;
	}
	return SPLIT_OK;
}

/* Strict 1*DIGIT up to max; LWS already trimmed. */
static int digits(const struct pl *v, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;

	if (!v->l)
		return EINVAL;
	for (size_t i = 0; i < v->l; i++) {
		if (!lex_is(v->p[i], LEX_DIGIT))
			return EINVAL;
		n = n * 10 + (uint64_t)(v->p[i] - '0');
		if (n > max)
			return EINVAL;
	}
	*out = n;
	return 0;
}

static int cseq_decode(struct sip_cseq *cs, const struct pl *v)
{
	uint64_t num;
	struct pl d;
	size_t i, j;

	i = lex_span(v->p, v->l, LEX_DIGIT);
	d = (struct pl){v->p, i};
	/* RFC 3261 §8.1.1.5: less than 2^31 */
	if (digits(&d, 0x7fffffff, &num))
		return EINVAL;
	j = i;
	while (j < v->l && lex_is(v->p[j], LEX_LWS))
		j++;
	if (j == i || j >= v->l)
		return EINVAL;
	if (lex_span(v->p + j, v->l - j, LEX_TOKEN) != v->l - j)
		return EINVAL;
	cs->num = (uint32_t)num;
	cs->method = (struct pl){v->p + j, v->l - j};
	return 0;
}

/* Single-valued headers that may repeat only with an identical value. */
static bool singleton(enum sip_hdr_id id)
{
	switch (id) {
	case SIP_HDR_FROM:
	case SIP_HDR_TO:
	case SIP_HDR_CALL_ID:
	case SIP_HDR_CSEQ:
	case SIP_HDR_CONTENT_LENGTH:
	case SIP_HDR_MAX_FORWARDS:
		return true;
	default:
		return false;
	}
}

#define SET_ERR(e) do { if (!*why) *why = (e); } while (0)

/*
 * Decode the eager headers of msg->hdrv.  Records the first error in *why
 * (if none yet) and sets *clen_bad when the body cannot be framed.
 */
static void eager(struct sip_msg *msg, const char **why, bool *clen_bad)
{
	const struct sip_hdr *first[SIP_HDR_COUNT] = {0};
	bool dup[SIP_HDR_COUNT] = {0};
	const struct sip_hdr *h;
	struct pl v;
	uint64_t n;
	size_t off;

	for (unsigned i = 0; i < msg->hdrc; i++) {
		h = &msg->hdrv[i];
		if (!first[h->id])
			first[h->id] = h;
		else if (singleton(h->id) && !pl_eq(&first[h->id]->val, &h->val))
			dup[h->id] = true;
	}

	h = first[SIP_HDR_VIA];
	if (!h) {
		SET_ERR("Missing Via header");
	} else {
		/* most Via lines carry one value: skip the comma scan then */
		off = 0;
		if (h->val.l && !memchr(h->val.p, ',', h->val.l))
			v = h->val;
		else if (!value_next(&h->val, &off, &v))
			v.l = 0;
		if (!v.l) {
			SET_ERR("Malformed Via header");
		} else if (sip_via_decode(&msg->via, &v)) {
			msg->via.whole = v;
			SET_ERR("Malformed Via header");
		}
	}

	h = first[SIP_HDR_FROM];
	if (!h) {
		SET_ERR("Missing From header");
	} else if (sip_addr_decode(&msg->from, &h->val)) {
		msg->from.whole = h->val;
		SET_ERR("Malformed From header");
	} else if (dup[SIP_HDR_FROM]) {
		SET_ERR("Duplicate From header");
	}

	h = first[SIP_HDR_TO];
	if (!h) {
		SET_ERR("Missing To header");
	} else if (sip_addr_decode(&msg->to, &h->val)) {
		msg->to.whole = h->val;
		SET_ERR("Malformed To header");
	} else if (dup[SIP_HDR_TO]) {
		SET_ERR("Duplicate To header");
	}

	h = first[SIP_HDR_CALL_ID];
	if (!h) {
		SET_ERR("Missing Call-ID header");
	} else {
		v = h->val;
		for (off = 0; off < v.l && !lex_is(v.p[off], LEX_LWS); off++)
			;
		if (!v.l || off != v.l)
			SET_ERR("Malformed Call-ID header");
		else
			msg->callid = v;
		if (dup[SIP_HDR_CALL_ID])
			SET_ERR("Duplicate Call-ID header");
	}

	h = first[SIP_HDR_CSEQ];
	if (!h) {
		SET_ERR("Missing CSeq header");
	} else if (cseq_decode(&msg->cseq, &h->val)) {
		SET_ERR("Malformed CSeq header");
	} else if (dup[SIP_HDR_CSEQ]) {
		SET_ERR("Duplicate CSeq header");
	} else if (msg->req && msg->method.l &&
		   !pl_eq(&msg->method, &msg->cseq.method)) {
		/* RFC 4475 mismatch01/02 */
		SET_ERR("CSeq method mismatch");
	}

	h = first[SIP_HDR_MAX_FORWARDS];
	if (h) {
		if (digits(&h->val, 255, &n))
			SET_ERR("Malformed Max-Forwards header");
		else if (dup[SIP_HDR_MAX_FORWARDS])
			SET_ERR("Duplicate Max-Forwards header");
		else
			msg->max_forwards = (int32_t)n;
	}

	h = first[SIP_HDR_CONTENT_LENGTH];
	if (h) {
		if (digits(&h->val, CLEN_MAX, &n)) {
			*clen_bad = true;
			SET_ERR("Malformed Content-Length header");
		} else if (dup[SIP_HDR_CONTENT_LENGTH]) {
			/* RFC 4475 mcl01: no way to frame the body */
			*clen_bad = true;
			SET_ERR("Duplicate Content-Length header");
		} else {
			msg->clen = (int64_t)n;
		}
	}
}

int sip_msg_decode(struct sip_msg *msg, const char *buf, size_t len,
		   bool stream, const char **why)
{
	const char *err = NULL, *dummy;
	size_t start = 0, hend = 0, rest;
	bool clen_bad = false;
	int r;

	if (!why)
		why = &dummy;
	*why = NULL;
	if (!msg)
		return SIP_DECODE_BAD;
	if (!buf)
		len = 0;
	msg_reset(msg);
	msg->buf = buf;
	msg->len = len;

	while (start < len && (buf[start] == '\r' || buf[start] == '\n'))
		start++;
	if (start == len) {
		if (stream) {
			msg->len = start;
			return SIP_DECODE_PARTIAL;
		}
		*why = "Empty message";
		return SIP_DECODE_BAD;
	}

	r = split(msg, buf, len, start, stream, &hend, &err);
	if (r == SPLIT_PARTIAL) {
		msg_reset(msg);
		msg->buf = buf;
		msg->len = start;
		return SIP_DECODE_PARTIAL;
	}
	/* even a broken message gets its Via/From/To/Call-ID/CSeq decoded
	 * where possible, so that the stack can still answer 400 */
	eager(msg, &err, &clen_bad);
	if (r == SPLIT_BAD || clen_bad) {
		*why = err;
		return SIP_DECODE_BAD;
	}

	rest = len - hend;
	if (stream) {
		if (msg->clen < 0) {
			*why = err ? err : "Missing Content-Length header";
			return SIP_DECODE_BAD;
		}
		if ((size_t)msg->clen > rest) {
			msg_reset(msg);
			msg->buf = buf;
			msg->len = start;
			return SIP_DECODE_PARTIAL;
		}
	} else if (msg->clen < 0) {
		msg->body = (struct pl){buf + hend, rest};
		msg->len = len;
		goto out;
	} else if ((size_t)msg->clen > rest) {
		/* RFC 4475 clerr */
		*why = err ? err : "Content-Length too large";
		return SIP_DECODE_BAD;
	}
	msg->body = (struct pl){buf + hend, (size_t)msg->clen};
	msg->len = hend + (size_t)msg->clen;
 out:
	if (err) {
		*why = err;
		return SIP_DECODE_BAD;
	}
	return SIP_DECODE_OK;
}

static void rebase_pl(struct pl *pl, const char *old, size_t len, const char *nb)
{
	if (pl->p && pl->p >= old && pl->p <= old + len)
		pl->p = nb + (pl->p - old);
}

static void rebase_uri(struct sip_uri *u, const char *old, size_t len,
		       const char *nb)
{
	rebase_pl(&u->user, old, len, nb);
	rebase_pl(&u->password, old, len, nb);
	rebase_pl(&u->host, old, len, nb);
	rebase_pl(&u->params, old, len, nb);
	rebase_pl(&u->headers, old, len, nb);
	rebase_pl(&u->whole, old, len, nb);
}

static void rebase_addr(struct sip_addr *a, const char *old, size_t len,
			const char *nb)
{
	rebase_pl(&a->dname, old, len, nb);
	rebase_uri(&a->uri, old, len, nb);
	rebase_pl(&a->params, old, len, nb);
	rebase_pl(&a->tag, old, len, nb);
	rebase_pl(&a->whole, old, len, nb);
}

void sip_msg_rebase(struct sip_msg *dst, const struct sip_msg *src, char *newbuf)
{
	const char *old = src->buf;
	size_t len = src->len;

	if (len)
		memcpy(newbuf, old, len);
	if (dst != src) {
		memcpy(dst, src, offsetof(struct sip_msg, hdrv));
		memcpy(dst->hdrv, src->hdrv, src->hdrc * sizeof(src->hdrv[0]));
		memcpy(&dst->hdrc, &src->hdrc,
		       sizeof(*dst) - offsetof(struct sip_msg, hdrc));
	}
	dst->buf = newbuf;
	rebase_pl(&dst->method, old, len, newbuf);
	rebase_pl(&dst->ruri_raw, old, len, newbuf);
	rebase_uri(&dst->ruri, old, len, newbuf);
	rebase_pl(&dst->reason, old, len, newbuf);
	for (unsigned i = 0; i < dst->hdrc; i++) {
		rebase_pl(&dst->hdrv[i].name, old, len, newbuf);
		rebase_pl(&dst->hdrv[i].val, old, len, newbuf);
	}
	rebase_pl(&dst->via.proto, old, len, newbuf);
	rebase_pl(&dst->via.sentby, old, len, newbuf);
	rebase_pl(&dst->via.host, old, len, newbuf);
	rebase_pl(&dst->via.params, old, len, newbuf);
	rebase_pl(&dst->via.branch, old, len, newbuf);
	rebase_pl(&dst->via.received, old, len, newbuf);
	rebase_pl(&dst->via.maddr, old, len, newbuf);
	rebase_pl(&dst->via.rport_val, old, len, newbuf);
	rebase_pl(&dst->via.whole, old, len, newbuf);
	rebase_addr(&dst->from, old, len, newbuf);
	rebase_addr(&dst->to, old, len, newbuf);
	rebase_pl(&dst->callid, old, len, newbuf);
	rebase_pl(&dst->cseq.method, old, len, newbuf);
	rebase_pl(&dst->body, old, len, newbuf);
}

const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id)
{
	if (!msg)
		return NULL;
	for (unsigned i = 0; i < msg->hdrc; i++) {
		if (msg->hdrv[i].id == id)
			return &msg->hdrv[i];
	}
	return NULL;
}

const struct sip_hdr *sip_msg_hdr_name(const struct sip_msg *msg, const char *name)
{
	struct pl want, have;
	enum sip_hdr_id id;

	if (!msg || !name)
		return NULL;
	want = pl_from_str(name);
	id = sip_hdr_lookup(&want);
	if (id != SIP_HDR_OTHER)
		return sip_msg_hdr(msg, id);
	want = name_long(&want);
	for (unsigned i = 0; i < msg->hdrc; i++) {
		if (msg->hdrv[i].id != SIP_HDR_OTHER)
			continue;
		have = name_long(&msg->hdrv[i].name);
		if (pl_eqcase(&have, &want))
			return &msg->hdrv[i];
	}
	return NULL;
}

bool sip_hdr_named(const struct sip_hdr *h, const char *name)
{
	struct pl want, have;
	enum sip_hdr_id id;

	if (!h || !name)
		return false;
	want = pl_from_str(name);
	id = sip_hdr_lookup(&want);
	if (id != SIP_HDR_OTHER)
		return h->id == id;
	if (h->id != SIP_HDR_OTHER)
		return false;
	want = name_long(&want);
	have = name_long(&h->name);
	return pl_eqcase(&have, &want);
}

bool sip_value_next(const struct pl *v, size_t *off, struct pl *out)
{
	if (!v || !off || !out)
		return false;
	return value_next(v, off, out);
}

bool sip_msg_hdr_next(const struct sip_msg *msg, enum sip_hdr_id id,
		      unsigned *it, struct pl *val)
{
	unsigned idx;
	size_t off;

	if (!msg || !it || !val)
		return false;
	idx = *it >> IT_SHIFT;
	off = *it & IT_OFFMAX;
	for (; idx < msg->hdrc; idx++, off = 0) {
		if (msg->hdrv[idx].id != id)
			continue;
		if (!value_next(&msg->hdrv[idx].val, &off, val))
			continue;
		/* the rest of a value line longer than 16 MiB is not iterated */
		if (off > IT_OFFMAX)
			*it = (idx + 1) << IT_SHIFT;
		else
			*it = (idx << IT_SHIFT) | (unsigned)off;
		return true;
	}
	*it = msg->hdrc << IT_SHIFT;
	return false;
}

unsigned sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id)
{
	unsigned it = 0, n = 0;
	struct pl v;

	while (sip_msg_hdr_next(msg, id, &it, &v))
		n++;
	return n;
}

bool sip_msg_hdr_has_token(const struct sip_msg *msg, enum sip_hdr_id id,
			   const char *token)
{
	unsigned it = 0;
	struct pl v;

	if (!token)
		return false;
	while (sip_msg_hdr_next(msg, id, &it, &v)) {
		if (pl_eqcase_str(&v, token))
			return true;
	}
	return false;
}

bool sip_msg_is_method(const struct sip_msg *msg, const char *method)
{
	return msg && method && msg->req && pl_eq_str(&msg->method, method);
}
