/*
 * ctrans.c - client transactions (RFC 3261 §17.1; RFC 6026 Accepted
 * state): retransmission and timeouts of the requests we send, the ACK
 * for a non-2xx final response and CANCEL (§9.1), both built from the
 * INVITE they belong to.
 *
 * Client transactions are found by top Via branch and CSeq method
 * (§17.1.3).  Over TCP they are also listed, so that a connection that
 * fails ends them at once instead of at timer B/F.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sip/stack_int.h"

enum ctx_state {
	CTX_CALLING,        /* "Trying" for non-INVITE */
	CTX_PROCEEDING,
	CTX_COMPLETED,
	CTX_ACCEPTED,
};

struct sip_ctx {
	struct hnode hn;
	struct sip_stack *st;
	struct list_node tcp_le;         /* in st->tcp_ctx when over TCP */
	enum ctx_state state;
	bool invite, reliable, abandoned, done;
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

static uint64_t branch_hash(const struct sip_stack *st, const struct pl *branch)
{
	struct hash_sip_state h;

	hash_sip_init(&h, &st->hkey);
	stack_hash_pl(&h, branch, false);
	return hash_sip_final(&h);
}

static struct sip_ctx *ctx_find(struct sip_stack *st, const struct pl *branch,
				const struct pl *method)
{
	uint64_t h = branch_hash(st, branch);
	struct hnode *n;

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
	list_unlink(&c->tcp_le);
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
	    !stack_has_cookie(&m->via.branch) || sip_msg_is_method(m, "ACK")) {
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

		c->key = stack_pl_pack(dsts, srcs, 2, 0, NULL);
		if (!c->key) {
			err = ENOMEM;
			goto out;
		}
	}
	c->st = st;
	list_node_init(&c->tcp_le);
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

	htab_insert(&st->ctx, &c->hn, branch_hash(st, &c->branch));
	if (c->reliable) {
		list_push_front(&st->tcp_ctx, &c->tcp_le);
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

/* ---- the layer's calls ---- */

void ctrans_recv(struct sip_stack *st, const struct sip_msg *m)
{
	struct sip_ctx *c = ctx_find(st, &m->via.branch, &m->cseq.method);

	if (!c) {
		log_event(LOG_DEBUG, "sip_stray_response", "code=%u branch=%.*s",
			  m->scode, (int)m->via.branch.l, m->via.branch.p ? m->via.branch.p : "");
		return;
	}
	ctx_response(c, m);
}

/* A TCP connection failed: its client transactions will get no answer. */
void ctrans_conn_closed(uint64_t conn_id, int err, void *arg)
{
	struct sip_stack *st = arg;
	struct list_node *it, *tmp;

	if (!err)
		return;
	list_foreach_safe(it, tmp, &st->tcp_ctx) {
		struct sip_ctx *c = list_entry(it, struct sip_ctx, tcp_le);

		if (c->dst.conn_id != conn_id ||
		    (c->state != CTX_CALLING && c->state != CTX_PROCEEDING))
			continue;
		ctx_report(c, ECONNRESET, NULL, true);
		ctx_destroy(c);
	}
}

void ctrans_flush(struct sip_stack *st)
{
	struct hnode *n;

	while ((n = htab_pop(&st->ctx)))
		ctx_destroy(htab_entry(n, struct sip_ctx, hn));
}
