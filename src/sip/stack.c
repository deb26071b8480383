/*
 * stack.c - the SIP transaction layer (RFC 3261 §17, §18.2; RFC 3581
 * rport; RFC 6026 Accepted states).
 *
 * Server transactions are found in O(1) through a keyed hash of the top
 * Via branch and sent-by (RFC 3261 §17.2.3), or of Call-ID, From tag,
 * CSeq, Request-URI and top Via for RFC 2543 peers without the magic
 * cookie.  A transaction holds a copy of its request only until the final
 * response; afterwards it keeps the matching key and the response bytes,
 * which it resends to retransmissions unchanged.  2xx responses to INVITE
 * are retransmitted here until the ACK (RFC 3261 §13.3.1.4), so the TU
 * never has to.  Client transactions are found by branch and CSeq method.
 * Every timer is a struct tmr on the caller's heap.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sip/print.h"
#include "sip/stack.h"
#include "util/htab.h"
#include "util/log.h"

#define MAGIC_COOKIE "z9hG4bK"
#define MAGIC_COOKIE_LEN 7
#define HTAB_INIT 256

/*
 * SipHash-2-4 with a per-process random key: branches and Call-IDs are
 * chosen by peers, so an unkeyed hash would let one flood a single chain.
 */
static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static uint64_t siphash(const uint64_t k[2], const unsigned char *in, size_t len)
{
	uint64_t v[4] = {
		0x736f6d6570736575ULL ^ k[0], 0x646f72616e646f6dULL ^ k[1],
		0x6c7967656e657261ULL ^ k[0], 0x7465646279746573ULL ^ k[1],
	};
	size_t end = len - (len % 8);
	uint64_t m, b = (uint64_t)len << 56;

	for (size_t i = 0; i < end; i += 8) {
		m = 0;
		for (int j = 7; j >= 0; j--)
			m = (m << 8) | in[i + (size_t)j];
		v[3] ^= m;
		sipround(v);
		sipround(v);
		v[0] ^= m;
	}
	for (size_t j = 0; j < len % 8; j++)
		b |= (uint64_t)in[end + j] << (8 * j);
	v[3] ^= b;
	sipround(v);
	sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* Concatenates key parts (NUL-separated) for hashing; parts longer than
 * the buffer are cut, which only costs hash quality, never correctness:
 * every match compares the full values. */
struct hkey {
	unsigned char b[512];
	size_t n;
};

static void hkey_add(struct hkey *k, const struct pl *pl, bool fold)
{
	for (size_t i = 0; pl->p && i < pl->l && k->n < sizeof(k->b) - 1; i++) {
		unsigned char c = (unsigned char)pl->p[i];

		k->b[k->n++] = fold ? (unsigned char)tolower(c) : c;
	}
	if (k->n < sizeof(k->b))
		k->b[k->n++] = 0;
}

static void hkey_add_u32(struct hkey *k, uint32_t v)
{
	for (int i = 0; i < 4 && k->n < sizeof(k->b); i++)
		k->b[k->n++] = (unsigned char)(v >> (8 * i));
}

/* ---- objects ---- */

enum stx_state {
	STX_TRYING,
	STX_PROCEEDING,
	STX_COMPLETED,
	STX_CONFIRMED,
	STX_ACCEPTED,
};

enum ctx_state {
	CTX_CALLING,        /* "Trying" for non-INVITE */
	CTX_PROCEEDING,
	CTX_COMPLETED,
	CTX_ACCEPTED,
};

struct sip_stack {
	uv_loop_t *loop;
	struct tmrq *q;
	struct sip_transport *tp;
	sip_request_h *reqh;
	void *arg;
	uint32_t t1, t2, t4;
	struct htab stx;         /* by branch+sent-by, or RFC 2543 key */
	struct htab accepted;    /* INVITE stx after a 2xx, by dialog key */
	struct htab ctx;         /* by branch */
	struct sip_ctx *tcp_ctx; /* client transactions over TCP */
	struct sip_stack_stats stats;
	struct log_ratelimit rl;
	struct sbuf scratch;     /* responses are printed here, then copied */
	uint64_t hkey[2];
	uint64_t branch_seed, branch_ctr;
};

struct sip_stx {
	struct hnode hn;
	struct hnode an;
	struct sip_stack *st;
	enum stx_state state;
	bool invite, reliable, rfc3261, in_accepted, acked;
	/* matching key, slices into key; after the final response key also
	 * holds rtag and resp (packed), so a finished transaction is two
	 * allocations, this struct and key */
	char *key;
	bool packed;
	struct pl branch, sentby, method, callid, fromtag;
	struct pl ruri, totag, via;      /* RFC 2543 only */
	uint32_t cseq;
	char *rtag;                      /* To tag of the final response */
	/* copy of the request, followed by the source peer and the bytes;
	 * only until the final response */
	struct sip_msg *req;
	struct sip_peer dst;
	char *resp;
	size_t resplen;
	uint16_t scode;
	struct tmr tretx, tend;
	uint32_t retx_ms;
	void *tu_arg;
};

struct sip_ctx {
	struct hnode hn;
	struct sip_stack *st;
	struct sip_ctx *tprev, *tnext;
	enum ctx_state state;
	bool invite, reliable, abandoned, done, tcp_listed;
	char *key;
	struct pl branch, method;
	char *req;
	size_t len;
	struct sip_peer dst;
	char *ack;                       /* ACK for a non-2xx, or the TU's for a 2xx */
	size_t acklen;
	struct sip_peer ackdst;
	char *rtag;                      /* To tag of the 2xx */
	struct tmr tretx, tend;
	uint32_t retx_ms;
	sip_response_h *resph;
	void *arg;
};

static bool has_cookie(const struct pl *branch)
{
	return branch->p && branch->l > MAGIC_COOKIE_LEN &&
	       !memcmp(branch->p, MAGIC_COOKIE, MAGIC_COOKIE_LEN);
}

static const struct pl pl_invite = {"INVITE", 6};

static uint64_t now_ms(const struct sip_stack *st)
{
	return uv_now(st->loop);
}

/* Copies slices into one allocation and points dst slices at the copies;
 * extra bytes are left free after them, at *extrap. */
static char *pl_pack(struct pl **dst, const struct pl *src, size_t n,
		     size_t extra, char **extrap)
{
	size_t total = 1;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		total += src[i].p ? src[i].l : 0;
	if (extra > SIZE_MAX - total)
		return NULL;
	buf = malloc(total + extra);
	if (!buf)
		return NULL;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = src[i].p ? src[i].l : 0;

		if (l)
			memcpy(p, src[i].p, l);
		dst[i]->p = p;
		dst[i]->l = l;
		p += l;
	}
	*p = '\0';
	if (extrap)
		*extrap = p + 1;
	return buf;
}

/* ---- counters ---- */

static const char *const stats_methods[SIP_STATS_METHODS] = {
	[SIP_STATS_INVITE] = "INVITE", [SIP_STATS_ACK] = "ACK",
	[SIP_STATS_BYE] = "BYE", [SIP_STATS_CANCEL] = "CANCEL",
	[SIP_STATS_REGISTER] = "REGISTER", [SIP_STATS_OPTIONS] = "OPTIONS",
	[SIP_STATS_INFO] = "INFO", [SIP_STATS_OTHER] = "other",
};

const char *sip_stats_method_name(unsigned m)
{
	return m < SIP_STATS_METHODS ? stats_methods[m] : stats_methods[SIP_STATS_OTHER];
}

/* Method names are case-sensitive (RFC 3261 §7.1): "invite" is another
 * method, hence "other". */
static void stats_rx_method(struct sip_stack *st, const struct pl *method)
{
	unsigned m;

	for (m = 0; m < SIP_STATS_OTHER; m++)
		if (pl_eq_str(method, stats_methods[m]))
			break;
	st->stats.rx_by_method[m]++;
}

static void stats_class(uint64_t by_class[7], unsigned scode)
{
	if (scode >= 100 && scode < 700)
		by_class[scode / 100]++;
}

/* The status code of a response we print ourselves: "SIP/2.0 NNN ...". */
static unsigned raw_scode(const char *buf, size_t len)
{
	const char *sp = memchr(buf, ' ', len);
	size_t off;

	if (!sp)
		return 0;
	off = (size_t)(sp - buf) + 1;
	if (len - off < 3 || !isdigit((unsigned char)buf[off]) ||
	    !isdigit((unsigned char)buf[off + 1]) || !isdigit((unsigned char)buf[off + 2]))
		return 0;
	return (unsigned)(buf[off] - '0') * 100 + (unsigned)(buf[off + 1] - '0') * 10 +
	       (unsigned)(buf[off + 2] - '0');
}

/* ---- response routing ---- */

void sip_stack_response_dest(const struct sip_msg *req,
			     const struct sip_peer *src, struct sip_peer *dst)
{
	const struct sip_via *via = &req->via;
	uint16_t port = via->port ? via->port : 5060;

	*dst = *src;
	if (src->proto == SIP_PROTO_TCP) {
		/* The connection first (transport), else received:sent-by port. */
		sip_sa_set_port(&dst->addr, port);
		return;
	}
	if (pl_isset(&via->maddr)) {
		if (sip_sa_from_host(&dst->addr, &via->maddr, port)) {
			/* A host name would need DNS: answer the source instead. */
			sip_sa_set_port(&dst->addr, port);
			return;
		}
		if (dst->addr.ss_family != src->addr.ss_family)
			dst->lst = NULL;
		return;
	}
	if (via->rport)
		return;
	sip_sa_set_port(&dst->addr, port);
}

/*
 * Rewrites the top via-parm with ;received (RFC 3261 §18.2.1) and a filled
 * ;rport (RFC 3581 §4) into sb.  false: nothing to change.
 */
static bool via_rewrite(struct sbuf *sb, const struct sip_msg *m,
			const struct sip_peer *src)
{
	const struct pl *w = &m->via.whole, *pr = &m->via.params;
	const struct sockaddr *sa = (const struct sockaddr *)&src->addr;
	bool need_rport = m->via.rport && !pl_isset(&m->via.rport_val);
	bool need_recv = need_rport || !sip_sa_host_is(&m->via.host, sa);
	const char *p, *end, *tail;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	if (!need_rport && !need_recv)
		return false;
	if (!pl_isset(w))
		return false;
	sip_sa_ip_port(sa, ip, sizeof(ip), &port);
	if (!ip[0])
		return false;

	if (pl_isset(pr) && pr->p >= w->p && pr->p + pr->l <= w->p + w->l) {
		sbuf_append(sb, w->p, (size_t)(pr->p - w->p));
		p = pr->p;
		end = pr->p + pr->l;
		tail = end;
	} else {
		sbuf_append_pl(sb, w);
		p = end = tail = w->p + w->l;
	}

	/* One ";name[=value]" at a time; quoted values may hold ';'. */
	while (p < end) {
		const char *s = p + 1, *e = s;
		bool quoted = false;
		struct pl seg, name;

		if (*p != ';') {
			p++;
			continue;
		}
		while (e < end && (quoted || *e != ';')) {
			if (*e == '"')
				quoted = !quoted;
			e++;
		}
		seg.p = s;
		seg.l = (size_t)(e - s);
		pl_trim(&seg);
		name = seg;
		if (pl_chr(&seg, '='))
			name.l = (size_t)(pl_chr(&seg, '=') - seg.p);
		pl_trim(&name);
		p = e;
		if (!seg.l || pl_eqcase_str(&name, "received"))
			continue;
		if (need_rport && pl_eqcase_str(&name, "rport")) {
			sbuf_printf(sb, ";rport=%u", port);
			continue;
		}
		sbuf_append(sb, ";", 1);
		sbuf_append_pl(sb, &seg);
	}
	if (need_recv)
		sbuf_printf(sb, ";received=%s", ip);
	sbuf_append(sb, tail, (size_t)(w->p + w->l - tail));
	return !sbuf_err(sb);
}

/* ---- server transactions ---- */

static uint64_t stx_hash(const struct sip_stack *st, const struct sip_msg *m, bool cookie)
{
	struct hkey k;

	k.n = 0;
	if (cookie) {
		hkey_add(&k, &m->via.branch, false);
		hkey_add(&k, &m->via.sentby, true);
	} else {
		hkey_add(&k, &m->callid, false);
		hkey_add(&k, &m->from.tag, false);
		hkey_add_u32(&k, m->cseq.num);
		hkey_add(&k, &m->ruri_raw, false);
		hkey_add(&k, &m->via.whole, false);
	}
	return siphash(st->hkey, k.b, k.n);
}

static uint64_t dialog_hash(const struct sip_stack *st, const struct pl *callid,
			    const struct pl *fromtag, uint32_t cseq)
{
	struct hkey k;

	k.n = 0;
	hkey_add(&k, callid, false);
	hkey_add(&k, fromtag, false);
	hkey_add_u32(&k, cseq);
	return siphash(st->hkey, k.b, k.n);
}

/*
 * RFC 3261 §17.2.3.  method: the one the transaction was created with
 * (INVITE for an ACK or for a CANCEL's target).  ack: match the To tag
 * against the one we answered with.
 */
static bool stx_match(const struct sip_stx *t, const struct sip_msg *m, bool cookie,
		      const struct pl *method, bool ack)
{
	if (t->rfc3261 != cookie || !pl_eq(&t->method, method))
		return false;
	if (cookie)
		return pl_eq(&t->branch, &m->via.branch) &&
		       pl_eqcase(&t->sentby, &m->via.sentby);
	if (t->cseq != m->cseq.num || !pl_eq(&t->callid, &m->callid) ||
	    !pl_eq(&t->fromtag, &m->from.tag) || !pl_eq(&t->ruri, &m->ruri_raw) ||
	    !pl_eq(&t->via, &m->via.whole))
		return false;
	if (ack)
		return t->rtag && pl_eq_str(&m->to.tag, t->rtag);
	return pl_eq(&t->totag, &m->to.tag);
}

static struct sip_stx *stx_find(struct sip_stack *st, const struct sip_msg *m,
				const struct pl *method, bool ack)
{
	bool cookie = has_cookie(&m->via.branch);
	uint64_t h = stx_hash(st, m, cookie);
	struct hnode *n;

	for (n = htab_bucket(&st->stx, h); n; n = n->next) {
		struct sip_stx *t = htab_entry(n, struct sip_stx, hn);

		if (n->hash == h && stx_match(t, m, cookie, method, ack))
			return t;
	}
	return NULL;
}

/* An ACK with its own branch for a 2xx we sent (RFC 3261 §13.3.1.4). */
static struct sip_stx *accepted_find(struct sip_stack *st, const struct sip_msg *m)
{
	uint64_t h = dialog_hash(st, &m->callid, &m->from.tag, m->cseq.num);
	struct hnode *n;

	for (n = htab_bucket(&st->accepted, h); n; n = n->next) {
		struct sip_stx *t = htab_entry(n, struct sip_stx, an);

		if (n->hash == h && t->cseq == m->cseq.num && pl_eq(&t->callid, &m->callid) &&
		    pl_eq(&t->fromtag, &m->from.tag) && t->rtag &&
		    pl_eq_str(&m->to.tag, t->rtag))
			return t;
	}
	return NULL;
}

static void stx_destroy(struct sip_stx *t)
{
	struct sip_stack *st = t->st;

	tmr_cancel(st->q, &t->tretx);
	tmr_cancel(st->q, &t->tend);
	htab_remove(&st->stx, &t->hn);
	if (t->in_accepted)
		htab_remove(&st->accepted, &t->an);
	st->stats.stx_active--;
	free(t->req);
	if (!t->packed) {
		free(t->resp);
		free(t->rtag);
	}
	free(t->key);
	free(t);
}

static void stx_send(struct sip_stx *t)
{
	struct sip_stack *st = t->st;
	int err;

	if (!t->resp)
		return;
	err = sip_transport_send_conn(st->tp, &t->dst, t->resp, t->resplen, NULL);
	if (err) {
		char a[64];

		log_event(LOG_INFO, "sip_send_failed", "what=response code=%u dst=%s err=%d",
			  t->scode, sip_sockaddr_str((struct sockaddr *)&t->dst.addr, a, sizeof(a)), err);
		return;
	}
	st->stats.tx_responses++;
	stats_class(st->stats.tx_by_class, t->scode);
}

static void stx_end_cb(void *arg)
{
	struct sip_stx *t = arg;

	if (t->state == STX_COMPLETED && t->invite)
		log_event(LOG_INFO, "sip_ack_timeout", "callid=%.*s code=%u",
			  (int)t->callid.l, t->callid.p, t->scode);
	else if (t->state == STX_ACCEPTED && !t->acked)
		log_event(LOG_WARN, "sip_2xx_no_ack", "callid=%.*s",
			  (int)t->callid.l, t->callid.p);
	stx_destroy(t);
}

/* Timer G, and the 2xx retransmission of RFC 3261 §13.3.1.4: T1 doubling
 * up to T2. */
static void stx_retx_cb(void *arg)
{
	struct sip_stx *t = arg;
	struct sip_stack *st = t->st;

	stx_send(t);
	t->retx_ms = t->retx_ms * 2 < st->t2 ? t->retx_ms * 2 : st->t2;
	tmr_start(st->q, &t->tretx, t->retx_ms, stx_retx_cb, t);
}

/* RFC 3261 peers: the last three are never compared. */
static size_t stx_key_parts(const struct sip_stx *t)
{
	return t->rfc3261 ? 5 : 8;
}

static int stx_key_set(struct sip_stx *t, const struct sip_msg *m)
{
	struct pl *dst[] = {&t->branch, &t->sentby, &t->method, &t->callid,
			    &t->fromtag, &t->ruri, &t->totag, &t->via};
	struct pl src[] = {m->via.branch, m->via.sentby, m->method, m->callid,
			   m->from.tag, m->ruri_raw, m->to.tag, m->via.whole};

	t->key = pl_pack(dst, src, stx_key_parts(t), 0, NULL);
	if (!t->key)
		return ENOMEM;
	t->cseq = m->cseq.num;
	return 0;
}

/*
 * Moves key, rtag and the final response into one allocation: what a
 * finished transaction keeps for Timer J/H/L.  On failure the separate
 * allocations stay, which is only less compact.
 */
static void stx_pack(struct sip_stx *t)
{
	struct pl *dst[] = {&t->branch, &t->sentby, &t->method, &t->callid,
			    &t->fromtag, &t->ruri, &t->totag, &t->via};
	struct pl src[] = {t->branch, t->sentby, t->method, t->callid,
			   t->fromtag, t->ruri, t->totag, t->via};
	size_t taglen = strlen(t->rtag);
	char *key, *extra;

	if (t->resplen > SIZE_MAX - taglen - 1)
		return;
	key = pl_pack(dst, src, stx_key_parts(t), taglen + 1 + t->resplen, &extra);
	if (!key) {
		/* dst and src are the same slices: nothing moved. */
		return;
	}
	memcpy(extra, t->rtag, taglen + 1);
	if (t->resplen)
		memcpy(extra + taglen + 1, t->resp, t->resplen);
	free(t->key);
	free(t->rtag);
	free(t->resp);
	t->key = key;
	t->rtag = extra;
	t->resp = extra + taglen + 1;
	t->packed = true;
}

/* The stack's own copy, with the top Via carrying received/rport so every
 * response printed from it has them. */
static int stx_copy_request(struct sip_stx *t, const struct sip_msg *m,
			    const struct sip_peer *src)
{
	const struct pl *w = &m->via.whole;
	struct sbuf via;
	int err = 0;

	sbuf_init(&via);
	if (w->p >= m->buf && w->p + w->l <= m->buf + m->len &&
	    via_rewrite(&via, m, src)) {
		size_t pre = (size_t)(w->p - m->buf);
		size_t post = m->len - pre - w->l;
		size_t len = pre + via.len + post;
		const char *why = NULL;
		char *nb;

		t->req = malloc(sizeof(*t->req) + sizeof(*src) + len);
		if (!t->req) {
			err = ENOMEM;
			goto out;
		}
		nb = (char *)(t->req + 1) + sizeof(*src);
		memcpy(nb, m->buf, pre);
		memcpy(nb + pre, via.p, via.len);
		memcpy(nb + pre + via.len, w->p + w->l, post);
		memset(t->req, 0, sizeof(*t->req));
		if (sip_msg_decode(t->req, nb, len, false, &why) == SIP_DECODE_OK)
			goto out;
		/* Cannot happen for a message that decoded before, but if it
		 * does the original is still a correct base for responses. */
		free(t->req);
		t->req = NULL;
	}
	t->req = malloc(sizeof(*t->req) + sizeof(*src) + m->len);
	if (!t->req) {
		err = ENOMEM;
		goto out;
	}
	sip_msg_rebase(t->req, m, (char *)(t->req + 1) + sizeof(*src));
out:
	if (t->req)
		memcpy(t->req + 1, src, sizeof(*src));
	sbuf_free(&via);
	return err;
}

static int stx_create(struct sip_stack *st, const struct sip_msg *m,
		      const struct sip_peer *src, struct sip_stx **tp)
{
	struct sip_stx *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return ENOMEM;
	t->st = st;
	t->invite = sip_msg_is_method(m, "INVITE");
	t->reliable = src->proto == SIP_PROTO_TCP;
	t->rfc3261 = has_cookie(&m->via.branch);
	t->state = t->invite ? STX_PROCEEDING : STX_TRYING;
	tmr_init(&t->tretx);
	tmr_init(&t->tend);
	err = stx_key_set(t, m);
	if (err)
		goto out;
	err = stx_copy_request(t, m, src);
	if (err)
		goto out;
	sip_stack_response_dest(t->req, src, &t->dst);
	htab_insert(&st->stx, &t->hn, stx_hash(st, m, t->rfc3261));
	st->stats.stx_active++;
	*tp = t;
out:
	if (err) {
		free(t->key);
		free(t->req);
		free(t);
	}
	return err;
}

/* After the final response only the response and the key are kept. */
static void stx_finish(struct sip_stx *t, const char *totag)
{
	struct sip_stack *st = t->st;
	const struct pl *reqtag = &t->req->to.tag;

	t->rtag = pl_isset(reqtag) ? pl_strdup(reqtag) : strdup(totag ? totag : "");
	free(t->req);
	t->req = NULL;
	if (t->rtag)
		stx_pack(t);

	if (t->invite && t->scode < 300) {
		t->state = STX_ACCEPTED;
		if (t->rtag) {
			htab_insert(&st->accepted, &t->an,
				    dialog_hash(st, &t->callid, &t->fromtag, t->cseq));
			t->in_accepted = true;
		}
		if (!t->reliable) {
			t->retx_ms = st->t1;
			tmr_start(st->q, &t->tretx, t->retx_ms, stx_retx_cb, t);
		}
		/* Timer L (RFC 6026): absorb INVITE retransmissions, wait for ACK. */
		tmr_start(st->q, &t->tend, 64ULL * st->t1, stx_end_cb, t);
	} else if (t->invite) {
		t->state = STX_COMPLETED;
		if (!t->reliable) {
			t->retx_ms = st->t1;
			tmr_start(st->q, &t->tretx, t->retx_ms, stx_retx_cb, t);
		}
		tmr_start(st->q, &t->tend, 64ULL * st->t1, stx_end_cb, t);  /* H */
	} else {
		t->state = STX_COMPLETED;
		/* Timer J; 0 on TCP still runs from the loop, so the TU's stx
		 * pointer stays valid until its callback returns. */
		tmr_start(st->q, &t->tend, t->reliable ? 0 : 64ULL * st->t1, stx_end_cb, t);
	}
}

int sip_stx_reply(struct sip_stx *t, uint16_t scode, const char *reason,
		  const char *totag, const char *extra, const char *ctype,
		  const struct pl *body)
{
	char tag[64];
	struct sbuf *sb;
	char *resp;
	int err;

	if (!t || !t->req || scode < 100 || scode > 699)
		return EINVAL;
	if (!totag && scode > 100) {
		sip_totag(t->req, tag, sizeof(tag));
		totag = tag;
	}
	sb = &t->st->scratch;
	sbuf_reset(sb);
	err = sip_print_response(sb, t->req, scode, reason, totag, extra, ctype, body);
	if (!err && sbuf_err(sb))
		err = ENOMEM;
	if (err)
		goto out;
	resp = malloc(sb->len ? sb->len : 1);
	if (!resp) {
		err = ENOMEM;
		goto out;
	}
	memcpy(resp, sb->p, sb->len);
	free(t->resp);
	t->resp = resp;
	t->resplen = sb->len;
	t->scode = scode;
	stx_send(t);
	if (scode < 200) {
		t->state = STX_PROCEEDING;
		goto out;
	}
	stx_finish(t, totag);
out:
	/* A huge response must not pin its memory in the scratch. */
	if (sb->cap > 65536)
		sbuf_free(sb);
	return err;
}

const struct sip_msg *sip_stx_request(const struct sip_stx *t)
{
	return t->req;
}

const struct sip_peer *sip_stx_peer(const struct sip_stx *t)
{
	return t->req ? (const struct sip_peer *)(t->req + 1) : NULL;
}

void sip_stx_set_arg(struct sip_stx *t, void *tu_arg)
{
	t->tu_arg = tu_arg;
}

void *sip_stx_arg(const struct sip_stx *t)
{
	return t->tu_arg;
}

struct sip_stx *sip_stack_cancel_target(struct sip_stack *st,
					const struct sip_msg *cancel)
{
	if (!st || !cancel)
		return NULL;
	return stx_find(st, cancel, &pl_invite, false);
}

/* ---- client transactions ---- */

static struct sip_ctx *ctx_find(struct sip_stack *st, const struct pl *branch,
				const struct pl *method)
{
	struct hkey k;
	uint64_t h;
	struct hnode *n;

	k.n = 0;
	hkey_add(&k, branch, false);
	h = siphash(st->hkey, k.b, k.n);
	for (n = htab_bucket(&st->ctx, h); n; n = n->next) {
		struct sip_ctx *c = htab_entry(n, struct sip_ctx, hn);

		if (n->hash == h && pl_eq(&c->branch, branch) && pl_eq(&c->method, method))
			return c;
	}
	return NULL;
}

static void ctx_destroy(struct sip_ctx *c)
{
	struct sip_stack *st = c->st;

	tmr_cancel(st->q, &c->tretx);
	tmr_cancel(st->q, &c->tend);
	htab_remove(&st->ctx, &c->hn);
	if (c->tcp_listed) {
		if (c->tprev)
			c->tprev->tnext = c->tnext;
		else
			st->tcp_ctx = c->tnext;
		if (c->tnext)
			c->tnext->tprev = c->tprev;
	}
	st->stats.ctx_active--;
	free(c->key);
	free(c->req);
	free(c->ack);
	free(c->rtag);
	free(c);
}

/* The TU hears of every response until the final one or an error. */
static void ctx_report(struct sip_ctx *c, int err, const struct sip_msg *resp, bool final)
{
	if (c->done)
		return;
	if (final)
		c->done = true;
	if (!c->abandoned)
		c->resph(err, resp, c->arg);
}

static void ctx_end_cb(void *arg)
{
	struct sip_ctx *c = arg;

	/* Timer B/F (or the cleanup of an abandoned INVITE). */
	if (c->state == CTX_CALLING || c->state == CTX_PROCEEDING)
		ctx_report(c, ETIMEDOUT, NULL, true);
	ctx_destroy(c);
}

static void ctx_retx_cb(void *arg)
{
	struct sip_ctx *c = arg;
	struct sip_stack *st = c->st;

	if (!sip_transport_send(st->tp, &c->dst, c->req, c->len))
		st->stats.tx_requests++;
	if (c->invite)
		c->retx_ms *= 2;                        /* timer A */
	else if (c->state == CTX_PROCEEDING)
		c->retx_ms = st->t2;                    /* timer E */
	else
		c->retx_ms = c->retx_ms * 2 < st->t2 ? c->retx_ms * 2 : st->t2;
	tmr_start(st->q, &c->tretx, c->retx_ms, ctx_retx_cb, c);
}

static void ctx_send_ack(struct sip_ctx *c)
{
	struct sip_stack *st = c->st;

	if (c->ack && !sip_transport_send_conn(st->tp, &c->ackdst, c->ack, c->acklen,
					       &c->ackdst.conn_id))
		st->stats.tx_requests++;
}

/* RFC 3261 §17.1.1.3: the ACK for a non-2xx final response. */
/*
 * ACK (for a non-2xx) and CANCEL are built from the INVITE they belong to
 * (RFC 3261 §17.1.1.3, §9.1): same Request-URI, top Via (branch), Route,
 * From, Call-ID and CSeq number; the To is the response's for an ACK and
 * the INVITE's for a CANCEL.  to NULL: the INVITE's.
 */
static int print_from_invite(const struct sip_ctx *c, const char *method,
			     const struct pl *to, struct sbuf *sb)
{
	struct sip_msg *inv = malloc(sizeof(*inv));
	const char *why = NULL;
	int err = 0;

	if (!inv)
		return ENOMEM;
	memset(inv, 0, sizeof(*inv));
	if (sip_msg_decode(inv, c->req, c->len, false, &why) != SIP_DECODE_OK) {
		err = EBADMSG;
		goto out;
	}
	sbuf_printf(sb, "%s ", method);
	sbuf_append_pl(sb, &inv->ruri_raw);
	sbuf_append_str(sb, " SIP/2.0\r\nVia: ");
	sbuf_append_pl(sb, &inv->via.whole);
	sbuf_append_str(sb, "\r\n");
	for (unsigned i = 0; i < inv->hdrc; i++) {
		if (inv->hdrv[i].id != SIP_HDR_ROUTE)
			continue;
		sbuf_append_str(sb, "Route: ");
		sbuf_append_pl(sb, &inv->hdrv[i].val);
		sbuf_append_str(sb, "\r\n");
	}
	sbuf_append_str(sb, "From: ");
	sbuf_append_pl(sb, &inv->from.whole);
	sbuf_append_str(sb, "\r\nTo: ");
	sbuf_append_pl(sb, to ? to : &inv->to.whole);
	sbuf_append_str(sb, "\r\nCall-ID: ");
	sbuf_append_pl(sb, &inv->callid);
	sbuf_printf(sb, "\r\nCSeq: %" PRIu32 " %s\r\nMax-Forwards: 70\r\n"
		    "Content-Length: 0\r\n\r\n", inv->cseq.num, method);
	if (sbuf_err(sb))
		err = ENOMEM;
out:
	free(inv);
	return err;
}

static int ctx_build_ack(struct sip_ctx *c, const struct sip_msg *resp)
{
	struct sbuf sb;
	int err;

	sbuf_init(&sb);
	err = print_from_invite(c, "ACK", &resp->to.whole, &sb);
	if (err) {
		sbuf_free(&sb);
		return err;
	}
	free(c->ack);
	c->ack = sb.p;
	c->acklen = sb.len;
	c->ackdst = c->dst;
	return 0;
}

static void ctx_response(struct sip_ctx *c, const struct sip_msg *m)
{
	struct sip_stack *st = c->st;
	uint16_t sc = m->scode;

	if (!c->invite) {
		if (c->state != CTX_CALLING && c->state != CTX_PROCEEDING)
			return;          /* Completed: absorbs retransmissions */
		if (sc < 200) {
			c->state = CTX_PROCEEDING;
			ctx_report(c, 0, m, false);
			return;
		}
		c->state = CTX_COMPLETED;
		tmr_cancel(st->q, &c->tretx);
		tmr_start(st->q, &c->tend, c->reliable ? 0 : st->t4, ctx_end_cb, c);  /* K */
		ctx_report(c, 0, m, true);
		return;
	}

	switch (c->state) {
	case CTX_CALLING:
	case CTX_PROCEEDING:
		if (sc < 200) {
			if (c->state == CTX_CALLING) {
				c->state = CTX_PROCEEDING;
				tmr_cancel(st->q, &c->tretx);
				/* Timer B guards only Calling; an abandoned one
				 * keeps its cleanup deadline. */
				if (!c->abandoned)
					tmr_cancel(st->q, &c->tend);
			}
			ctx_report(c, 0, m, false);
			return;
		}
		tmr_cancel(st->q, &c->tretx);
		if (sc < 300) {
			/* RFC 6026 Accepted: timer M, the TU ACKs (sip_ctx_ack). */
			c->state = CTX_ACCEPTED;
			c->rtag = pl_strdup(&m->to.tag);
			tmr_start(st->q, &c->tend, 64ULL * st->t1, ctx_end_cb, c);
			ctx_report(c, 0, m, true);
			return;
		}
		c->state = CTX_COMPLETED;
		if (ctx_build_ack(c, m))
			log_event(LOG_WARN, "sip_ack_build_failed", "branch=%.*s",
				  (int)c->branch.l, c->branch.p);
		ctx_send_ack(c);
		tmr_start(st->q, &c->tend, c->reliable ? 0 : 64ULL * st->t1, ctx_end_cb, c);  /* D */
		ctx_report(c, 0, m, true);
		return;
	case CTX_COMPLETED:
		if (sc >= 300)
			ctx_send_ack(c);
		return;
	case CTX_ACCEPTED:
		if (sc >= 200 && sc < 300 && c->rtag && pl_eq_str(&m->to.tag, c->rtag))
			ctx_send_ack(c);
		return;
	}
}

int sip_ctx_send(struct sip_stack *st, struct sip_ctx **ctxp,
		 const struct sip_peer *dst, const char *req, size_t len,
		 sip_response_h *resph, void *arg)
{
	struct sip_msg *m = NULL;
	struct sip_ctx *c = NULL;
	const char *why = NULL;
	struct hkey k;
	int err;

	if (!st || !dst || !req || !len || !resph)
		return EINVAL;
	m = malloc(sizeof(*m));
	c = calloc(1, sizeof(*c));
	if (!m || !c) {
		err = ENOMEM;
		goto out;
	}
	memset(m, 0, sizeof(*m));
	c->req = malloc(len);
	if (!c->req) {
		err = ENOMEM;
		goto out;
	}
	memcpy(c->req, req, len);
	c->len = len;
	if (sip_msg_decode(m, c->req, len, false, &why) != SIP_DECODE_OK || !m->req ||
	    !has_cookie(&m->via.branch) || sip_msg_is_method(m, "ACK")) {
		err = EINVAL;
		goto out;
	}
	if (ctx_find(st, &m->via.branch, &m->method)) {
		err = EEXIST;
		goto out;
	}
	{
		struct pl *dsts[] = {&c->branch, &c->method};
		struct pl srcs[] = {m->via.branch, m->method};

		c->key = pl_pack(dsts, srcs, 2, 0, NULL);
		if (!c->key) {
			err = ENOMEM;
			goto out;
		}
	}
	c->st = st;
	c->invite = sip_msg_is_method(m, "INVITE");
	c->reliable = dst->proto == SIP_PROTO_TCP;
	c->dst = *dst;
	c->resph = resph;
	c->arg = arg;
	tmr_init(&c->tretx);
	tmr_init(&c->tend);
	err = sip_transport_send_conn(st->tp, dst, c->req, len, &c->dst.conn_id);
	if (err)
		goto out;

	k.n = 0;
	hkey_add(&k, &c->branch, false);
	htab_insert(&st->ctx, &c->hn, siphash(st->hkey, k.b, k.n));
	if (c->reliable) {
		c->tnext = st->tcp_ctx;
		if (st->tcp_ctx)
			st->tcp_ctx->tprev = c;
		st->tcp_ctx = c;
		c->tcp_listed = true;
	} else {
		c->retx_ms = st->t1;
		tmr_start(st->q, &c->tretx, c->retx_ms, ctx_retx_cb, c);  /* A or E */
	}
	tmr_start(st->q, &c->tend, 64ULL * st->t1, ctx_end_cb, c);      /* B or F */
	st->stats.ctx_active++;
	st->stats.tx_requests++;
	if (ctxp)
		*ctxp = c;
	c = NULL;
out:
	if (c) {
		free(c->key);
		free(c->req);
		free(c);
	}
	free(m);
	return err;
}

static void cancel_answered(int err, const struct sip_msg *resp, void *arg)
{
}

int sip_ctx_cancel(struct sip_ctx *c)
{
	struct sbuf sb;
	int err;

	if (!c || !c->invite)
		return EINVAL;
	sbuf_init(&sb);
	err = print_from_invite(c, "CANCEL", NULL, &sb);
	if (!err)
		err = sip_ctx_send(c->st, NULL, &c->dst, sb.p, sb.len,
				   cancel_answered, NULL);
	sbuf_free(&sb);
	return err;
}

void sip_ctx_abandon(struct sip_ctx *c)
{
	struct sip_stack *st;

	if (!c)
		return;
	st = c->st;
	c->abandoned = true;
	/* An INVITE in Proceeding has no timer of its own: without one an
	 * abandoned transaction whose 487 never comes would live forever. */
	if (c->state == CTX_PROCEEDING && !tmr_running(&c->tend))
		tmr_start(st->q, &c->tend, 64ULL * st->t1, ctx_end_cb, c);
}

int sip_ctx_ack(struct sip_ctx *c, const struct sip_peer *dst,
		const char *ack, size_t len)
{
	char *copy;

	if (!c || !dst || !ack || !len || !c->invite || c->state != CTX_ACCEPTED)
		return EINVAL;
	copy = malloc(len);
	if (!copy)
		return ENOMEM;
	memcpy(copy, ack, len);
	free(c->ack);
	c->ack = copy;
	c->acklen = len;
	c->ackdst = *dst;
	return sip_transport_send_conn(c->st->tp, &c->ackdst, c->ack, c->acklen,
				       &c->ackdst.conn_id);
}

/* A TCP connection failed: its client transactions will get no answer. */
static void stack_conn_closed(uint64_t conn_id, int err, void *arg)
{
	struct sip_stack *st = arg;
	struct sip_ctx *c, *next;

	if (!err)
		return;
	for (c = st->tcp_ctx; c; c = next) {
		next = c->tnext;
		if (c->dst.conn_id != conn_id ||
		    (c->state != CTX_CALLING && c->state != CTX_PROCEEDING))
			continue;
		ctx_report(c, ECONNRESET, NULL, true);
		ctx_destroy(c);
	}
}

/* ---- receiving ---- */

/* Answers a malformed request when its headers allow (400, or 505 for a
 * SIP version we do not speak); everything else is dropped. */
static void stack_bad(struct sip_stack *st, const char *why,
		      const struct sip_msg *m, const struct sip_peer *src)
{
	struct pl line = {m->buf, 0}, ver;
	const char *nl = m->buf ? memchr(m->buf, '\n', m->len) : NULL;
	uint16_t code = 400;
	bool can_reply, response, ack;
	uint64_t suppressed = 0;
	char a[64], q[160], tag[64];
	struct sip_peer dst;
	struct sbuf sb, extra;
	size_t sp;

	st->stats.parse_errors++;
	line.l = nl ? (size_t)(nl - m->buf) : m->len;
	pl_trim(&line);
	response = line.l >= 4 && !strncasecmp(line.p, "SIP/", 4);
	ack = (line.l >= 4 && !memcmp(line.p, "ACK ", 4)) || pl_eq_str(&m->cseq.method, "ACK");
	for (sp = line.l; sp > 0 && line.p[sp - 1] != ' '; sp--)
		;
	ver.p = line.p + sp;
	ver.l = line.l - sp;
	if (!response && sp && ver.l > 4 && !strncasecmp(ver.p, "SIP/", 4) &&
	    !pl_eq_str(&ver, "SIP/2.0"))
		code = 505;
	can_reply = !response && !ack && m->hdrc && pl_isset(&m->via.sentby) &&
		    pl_isset(&m->from.whole) && pl_isset(&m->to.whole) &&
		    pl_isset(&m->callid) && pl_isset(&m->cseq.method);

	if (log_ratelimit_allow(&st->rl, now_ms(st), &suppressed))
		log_event(LOG_INFO, "sip_malformed", "src=%s proto=%s why=%s action=%s suppressed=%" PRIu64,
			  sip_sockaddr_str((const struct sockaddr *)&src->addr, a, sizeof(a)),
			  sip_proto_name(src->proto),
			  log_q(q, sizeof(q), why ? why : "", why ? strlen(why) : 0),
			  can_reply ? (code == 505 ? "505" : "400") : "drop", suppressed);
	if (!can_reply)
		return;

	/* The why goes in a Warning (RFC 3261 §20.43) so the phrase stays
	 * the standard one. */
	sbuf_init(&sb);
	sbuf_init(&extra);
	if (code == 400 && why && *why) {
		sbuf_append_str(&extra, "Warning: 399 kubevox \"");
		for (const char *p = why; *p; p++) {
			if (*p == '"' || *p == '\\')
				sbuf_append(&extra, "\\", 1);
			if ((unsigned char)*p >= ' ')
				sbuf_append(&extra, p, 1);
		}
		sbuf_append_str(&extra, "\"\r\n");
	}
	sip_totag(m, tag, sizeof(tag));
	if (!sbuf_err(&extra) &&
	    !sip_print_response(&sb, m, code, NULL, tag, extra.len ? sbuf_cstr(&extra) : NULL,
				NULL, NULL) &&
	    !sbuf_err(&sb)) {
		sip_stack_response_dest(m, src, &dst);
		if (!sip_transport_send(st->tp, &dst, sb.p, sb.len)) {
			st->stats.tx_responses++;
			stats_class(st->stats.tx_by_class, code);
		}
	}
	sbuf_free(&sb);
	sbuf_free(&extra);
}

static void stack_ack(struct sip_stack *st, const struct sip_msg *m,
		      const struct sip_peer *src)
{
	struct sip_stx *t = stx_find(st, m, &pl_invite, true);

	if (t) {
		switch (t->state) {
		case STX_COMPLETED:
			/* Timer I: absorb ACK retransmissions for T4. */
			t->state = STX_CONFIRMED;
			tmr_cancel(st->q, &t->tretx);
			tmr_start(st->q, &t->tend, t->reliable ? 0 : st->t4, stx_end_cb, t);
			st->stats.retransmissions_absorbed++;
			return;
		case STX_ACCEPTED:
			/* An RFC 2543 ACK for our 2xx: the TU's. */
			break;
		default:
			st->stats.retransmissions_absorbed++;
			return;
		}
	} else {
		t = accepted_find(st, m);
	}
	if (t && !t->acked) {
		t->acked = true;
		tmr_cancel(st->q, &t->tretx);
	}
	st->reqh(st, NULL, m, src, st->arg);
}

static void stack_request(struct sip_stack *st, const struct sip_msg *m,
			  const struct sip_peer *src)
{
	struct sip_stx *t;
	char a[64];
	int err;

	st->stats.rx_requests++;
	stats_rx_method(st, &m->method);
	if (!pl_isset(&m->via.sentby) || !pl_isset(&m->callid) || !pl_isset(&m->method)) {
		stack_bad(st, "Missing mandatory header", m, src);
		return;
	}
	if (!pl_eq(&m->cseq.method, &m->method)) {
		stack_bad(st, "CSeq method does not match", m, src);
		return;
	}
	if (sip_msg_is_method(m, "ACK")) {
		stack_ack(st, m, src);
		return;
	}

	t = stx_find(st, m, &m->method, false);
	if (t) {
		st->stats.retransmissions_absorbed++;
		if (t->state == STX_PROCEEDING || t->state == STX_COMPLETED)
			stx_send(t);
		return;
	}
	err = stx_create(st, m, src, &t);
	if (err) {
		log_event(LOG_ERROR, "sip_stx_failed", "src=%s err=%d",
			  sip_sockaddr_str((const struct sockaddr *)&src->addr, a, sizeof(a)), err);
		return;
	}
	st->reqh(st, t, m, src, st->arg);
	/* RFC 3261 §17.2.1: stop INVITE retransmissions at once unless the TU
	 * already answered. */
	if (t->invite && t->state == STX_PROCEEDING && !t->resp)
		sip_stx_reply(t, 100, NULL, NULL, NULL, NULL, NULL);
}

static void stack_response(struct sip_stack *st, const struct sip_msg *m,
			   const struct sip_peer *src)
{
	struct sip_ctx *c;

	st->stats.rx_responses++;
	stats_class(st->stats.rx_by_class, m->scode);
	c = ctx_find(st, &m->via.branch, &m->cseq.method);
	if (!c) {
		log_event(LOG_DEBUG, "sip_stray_response", "code=%u branch=%.*s",
			  m->scode, (int)m->via.branch.l, m->via.branch.p ? m->via.branch.p : "");
		return;
	}
	ctx_response(c, m);
}

static void stack_recv(int err, const char *why, struct sip_msg *msg,
		       const struct sip_peer *src, void *arg)
{
	struct sip_stack *st = arg;

	if (err) {
		stack_bad(st, why, msg, src);
		return;
	}
	if (msg->req)
		stack_request(st, msg, src);
	else
		stack_response(st, msg, src);
}

/* ---- the stack ---- */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void stack_seed(struct sip_stack *st)
{
	uint64_t r[3];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		/* Never expected on Linux >= 3.17; still unique per process. */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		r[0] = splitmix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20));
		r[1] = splitmix64(r[0] ^ (uint64_t)getpid());
		r[2] = splitmix64(r[1] ^ (uint64_t)(uintptr_t)st);
	}
	st->hkey[0] = r[0];
	st->hkey[1] = r[1];
	st->branch_seed = r[2];
}

int sip_stack_alloc(struct sip_stack **stp, uv_loop_t *loop, struct tmrq *q,
		    sip_request_h *reqh, void *arg)
{
	struct sip_stack *st;
	int err;

	if (!stp || !loop || !q || !reqh)
		return EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	st->loop = loop;
	st->q = q;
	st->reqh = reqh;
	st->arg = arg;
	st->t1 = 500;
	st->t2 = 4000;
	st->t4 = 5000;
	log_ratelimit_init(&st->rl, 5, 20);
	sbuf_init(&st->scratch);
	stack_seed(st);
	err = htab_init(&st->stx, HTAB_INIT);
	if (!err)
		err = htab_init(&st->accepted, HTAB_INIT);
	if (!err)
		err = htab_init(&st->ctx, HTAB_INIT);
	if (!err)
		err = sip_transport_alloc(&st->tp, loop, stack_recv, st);
	if (err)
		goto out;
	sip_transport_set_close_handler(st->tp, stack_conn_closed);
	*stp = st;
out:
	if (err) {
		htab_free(&st->stx);
		htab_free(&st->accepted);
		htab_free(&st->ctx);
		free(st);
	}
	return err;
}

void sip_stack_free(struct sip_stack *st)
{
	struct hnode *n;

	if (!st)
		return;
	while ((n = htab_pop(&st->stx)))
		stx_destroy(htab_entry(n, struct sip_stx, hn));
	while ((n = htab_pop(&st->ctx)))
		ctx_destroy(htab_entry(n, struct sip_ctx, hn));
	sip_transport_free(st->tp);
	htab_free(&st->stx);
	htab_free(&st->accepted);
	htab_free(&st->ctx);
	sbuf_free(&st->scratch);
	free(st);
}

struct sip_transport *sip_stack_transport(struct sip_stack *st)
{
	return st->tp;
}

const struct sip_stack_stats *sip_stack_stats(const struct sip_stack *st)
{
	return &st->stats;
}

void sip_stack_set_timers(struct sip_stack *st, uint32_t t1, uint32_t t2, uint32_t t4)
{
	st->t1 = t1 ? t1 : 1;
	st->t2 = t2 >= st->t1 ? t2 : st->t1;
	st->t4 = t4;
}

void sip_stack_new_branch(struct sip_stack *st, char *buf, size_t size)
{
	uint64_t x = splitmix64(st->branch_seed + ++st->branch_ctr);

	snprintf(buf, size, MAGIC_COOKIE "%016" PRIx64, x);
}

/* The local address the kernel would use toward dst (for wildcard binds). */
static int local_toward(const struct sockaddr_storage *dst, struct sockaddr_storage *out)
{
	struct sockaddr_storage to = *dst;
	socklen_t len = sizeof(*out);
	int fd, err = 0;

	/* On any failure the caller reads AF_UNSPEC, never stack garbage. */
	memset(out, 0, sizeof(*out));
	if (to.ss_family == AF_INET && !((struct sockaddr_in *)&to)->sin_port)
		sip_sa_set_port(&to, 5060);
	if (to.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&to)->sin6_port)
		sip_sa_set_port(&to, 5060);
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&to, to.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
	    getsockname(fd, (struct sockaddr *)out, &len))
		err = errno;
	close(fd);
	return err;
}

int sip_stack_local_addr(struct sip_stack *st, const struct sip_peer *dst,
			 char *ip, size_t size, uint16_t *port)
{
	struct sip_listener *l = dst->lst;
	int af = dst->addr.ss_family;
	struct sockaddr_storage local;
	const struct sockaddr *la;
	uint16_t lport, unused;
	int err;

	if (af != AF_INET && af != AF_INET6)
		return EAFNOSUPPORT;
	if (!l || sip_listener_proto(l) != dst->proto || sip_listener_addr(l)->sa_family != af)
		l = sip_transport_find_listener(st->tp, dst->proto, af);
	if (!l)
		return EAFNOSUPPORT;
	la = sip_listener_addr(l);
	sip_sa_ip_port(la, ip, size, &lport);
	if (sip_sa_is_any(la)) {
		err = local_toward(&dst->addr, &local);
		if (err)
			return err;
		sip_sa_ip_port((struct sockaddr *)&local, ip, size, &unused);
	}
	if (!ip[0])
		return EINVAL;
	if (port)
		*port = lport;
	return 0;
}

int sip_stack_print_via(struct sip_stack *st, struct sbuf *sb,
			const struct sip_peer *dst, const char *branch)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	int err;

	err = sip_stack_local_addr(st, dst, ip, sizeof(ip), &port);
	if (err)
		return err;
	if (dst->addr.ss_family == AF_INET6)
		sbuf_printf(sb, "Via: SIP/2.0/%s [%s]:%u;branch=%s;rport\r\n",
			    sip_proto_upper(dst->proto), ip, port, branch);
	else
		sbuf_printf(sb, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
			    sip_proto_upper(dst->proto), ip, port, branch);
	return sbuf_err(sb) ? ENOMEM : 0;
}

int sip_stack_send_raw(struct sip_stack *st, const struct sip_peer *dst,
		       const char *buf, size_t len)
{
	int err;

	if (!st || !dst || !buf)
		return EINVAL;
	err = sip_transport_send(st->tp, dst, buf, len);
	if (err)
		return err;
	if (len >= 4 && !memcmp(buf, "SIP/", 4)) {
		st->stats.tx_responses++;
		stats_class(st->stats.tx_by_class, raw_scode(buf, len));
	} else {
		st->stats.tx_requests++;
	}
	return 0;
}
