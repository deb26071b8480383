/*
 * strans.c - server transactions (RFC 3261 §17.2; RFC 6026 Accepted
 * state) and where their responses go (§18.2.2, RFC 3581 rport): to the
 * address the sent-by or rport names, from the local address and port
 * the request arrived on (the peer's local, which the transport honours).
 *
 * Server transactions are found in O(1) through a keyed hash of the top
 * Via branch and sent-by (RFC 3261 §17.2.3), or of Call-ID, From tag,
 * CSeq, Request-URI and top Via for RFC 2543 peers without the magic
 * cookie.  A transaction holds a copy of its request only until the final
 * response; afterwards it keeps the matching key and the response bytes,
 * which it resends to retransmissions unchanged.  2xx responses to INVITE
 * are retransmitted here until the ACK (RFC 3261 §13.3.1.4), so the TU
 * never has to.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "sip/print.h"
#include "sip/sa.h"
#include "sip/stack_int.h"

enum stx_state {
	STX_TRYING,
	STX_PROCEEDING,
	STX_COMPLETED,
	STX_CONFIRMED,
	STX_ACCEPTED,
};

/* Where responses go, packed: a finished transaction holds it until timer
 * J (some 64,000 of them at 1000 registrations/s), and a sip_peer's two
 * sockaddr_storage would be 200 bytes more each. */
struct stx_dst {
	union sip_sa addr, local;
	enum sip_proto proto;
	uint64_t conn_id;
	struct sip_listener *lst;
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
	struct stx_dst dst;
	char *resp;
	size_t resplen;
	uint16_t scode;
	struct tmr tretx, tend;
	uint32_t retx_ms;
	void *tu_arg;
};

static const struct pl pl_invite = {"INVITE", 6};

/* ---- where responses go ---- */

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
		/* Our address the request came to: still the source toward
		 * maddr, unless that is of the other family. */
		if (dst->addr.ss_family != src->addr.ss_family) {
			dst->lst = NULL;
			memset(&dst->local, 0, sizeof(dst->local));
		}
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

static void hash_u32(struct hash_sip_state *h, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

	hash_sip_add(h, b, sizeof(b));
}

static uint64_t stx_hash(const struct sip_stack *st, const struct sip_msg *m, bool cookie)
{
	struct hash_sip_state h;

	hash_sip_init(&h, &st->hkey);
	if (cookie) {
		stack_hash_pl(&h, &m->via.branch, false);
		stack_hash_pl(&h, &m->via.sentby, true);
	} else {
		stack_hash_pl(&h, &m->callid, false);
		stack_hash_pl(&h, &m->from.tag, false);
		hash_u32(&h, m->cseq.num);
		stack_hash_pl(&h, &m->ruri_raw, false);
		stack_hash_pl(&h, &m->via.whole, false);
	}
	return hash_sip_final(&h);
}

static uint64_t dialog_hash(const struct sip_stack *st, const struct pl *callid,
			    const struct pl *fromtag, uint32_t cseq)
{
	struct hash_sip_state h;

	hash_sip_init(&h, &st->hkey);
	stack_hash_pl(&h, callid, false);
	stack_hash_pl(&h, fromtag, false);
	hash_u32(&h, cseq);
	return hash_sip_final(&h);
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
	bool cookie = stack_has_cookie(&m->via.branch);
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

static void stx_dst_set(struct stx_dst *d, const struct sip_peer *p)
{
	sip_sa_pack(&d->addr, &p->addr);
	sip_sa_pack(&d->local, &p->local);
	d->proto = p->proto;
	d->conn_id = p->conn_id;
	d->lst = p->lst;
}

static void stx_dst_get(const struct stx_dst *d, struct sip_peer *p)
{
	sip_sa_unpack(&p->addr, &d->addr);
	sip_sa_unpack(&p->local, &d->local);
	p->proto = d->proto;
	p->conn_id = d->conn_id;
	p->lst = d->lst;
}

static void stx_send(struct sip_stx *t)
{
	struct sip_stack *st = t->st;
	struct sip_peer dst;
	int err;

	if (!t->resp)
		return;
	stx_dst_get(&t->dst, &dst);
	err = sip_transport_send_conn(st->tp, &dst, t->resp, t->resplen, NULL);
	if (err) {
		char a[64];

		log_event(LOG_INFO, "sip_send_failed", "what=response code=%u dst=%s err=%d",
			  t->scode, sip_sockaddr_str(&t->dst.addr.sa, a, sizeof(a)), err);
		return;
	}
	st->stats.tx_responses++;
	stack_stats_class(st->stats.tx_by_class, t->scode);
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

	t->key = stack_pl_pack(dst, src, stx_key_parts(t), 0, NULL);
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
	key = stack_pl_pack(dst, src, stx_key_parts(t), taglen + 1 + t->resplen, &extra);
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

int strans_create(struct sip_stack *st, const struct sip_msg *m,
		  const struct sip_peer *src, struct sip_stx **tp)
{
	struct sip_stx *t = calloc(1, sizeof(*t));
	struct sip_peer dst;
	int err;

	if (!t)
		return ENOMEM;
	t->st = st;
	t->invite = sip_msg_is_method(m, "INVITE");
	t->reliable = src->proto == SIP_PROTO_TCP;
	t->rfc3261 = stack_has_cookie(&m->via.branch);
	t->state = t->invite ? STX_PROCEEDING : STX_TRYING;
	tmr_init(&t->tretx);
	tmr_init(&t->tend);
	err = stx_key_set(t, m);
	if (err)
		goto out;
	err = stx_copy_request(t, m, src);
	if (err)
		goto out;
	sip_stack_response_dest(t->req, src, &dst);
	stx_dst_set(&t->dst, &dst);
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
		sip_totag(&t->st->tag_key, t->req, tag, sizeof(tag));
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

/* ---- requests that belong to a transaction ---- */

/* An ACK: absorbed for a non-2xx final response, the TU's for a 2xx
 * (which it no longer needs resending). */
static bool stx_recv_ack(struct sip_stack *st, const struct sip_msg *m)
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
			return true;
		case STX_ACCEPTED:
			/* An RFC 2543 ACK for our 2xx: the TU's. */
			break;
		default:
			st->stats.retransmissions_absorbed++;
			return true;
		}
	} else {
		t = accepted_find(st, m);
	}
	if (t && !t->acked) {
		t->acked = true;
		tmr_cancel(st->q, &t->tretx);
	}
	return false;
}

bool strans_recv(struct sip_stack *st, const struct sip_msg *m)
{
	struct sip_stx *t;

	if (sip_msg_is_method(m, "ACK"))
		return stx_recv_ack(st, m);
	t = stx_find(st, m, &m->method, false);
	if (!t)
		return false;
	st->stats.retransmissions_absorbed++;
	if (t->state == STX_PROCEEDING || t->state == STX_COMPLETED)
		stx_send(t);
	return true;
}

void strans_trying(struct sip_stx *t)
{
	if (t->invite && t->state == STX_PROCEEDING && !t->resp)
		sip_stx_reply(t, 100, NULL, NULL, NULL, NULL, NULL);
}

void strans_flush(struct sip_stack *st)
{
	struct hnode *n;

	while ((n = htab_pop(&st->stx)))
		stx_destroy(htab_entry(n, struct sip_stx, hn));
}
