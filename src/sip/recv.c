/*
 * recv.c - the receive path of the transaction layer: every message the
 * transport decodes comes through here.
 *
 * Requests are counted and checked for what a transaction needs; one
 * that is malformed gets 400 (or 505) when its headers allow an answer
 * and is dropped otherwise, with a rate-limited log line.  A request that
 * belongs to a server transaction is absorbed there; any other goes to
 * the TU, in a new server transaction unless it is an ACK.  Responses go
 * to their client transaction.
 */
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "sip/print.h"
#include "sip/stack_int.h"

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

/* Answers a malformed request when its headers allow (400, or 505 for a
 * SIP version we do not speak); everything else is dropped. */
static void recv_bad(struct sip_stack *st, const char *why,
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

	if (log_ratelimit_allow(&st->rl, uv_now(st->loop), &suppressed))
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
	sip_totag(&st->tag_key, m, tag, sizeof(tag));
	if (!sbuf_err(&extra) &&
	    !sip_print_response(&sb, m, code, NULL, tag, extra.len ? sbuf_cstr(&extra) : NULL,
				NULL, NULL) &&
	    !sbuf_err(&sb)) {
		sip_stack_response_dest(m, src, &dst);
		if (!sip_transport_send(st->tp, &dst, sb.p, sb.len)) {
			st->stats.tx_responses++;
			stack_stats_class(st->stats.tx_by_class, code);
		}
	}
	sbuf_free(&sb);
	sbuf_free(&extra);
}

static void recv_request(struct sip_stack *st, const struct sip_msg *m,
			 const struct sip_peer *src)
{
	struct sip_stx *t;
	char a[64];
	int err;

	st->stats.rx_requests++;
	stats_rx_method(st, &m->method);
	if (!pl_isset(&m->via.sentby) || !pl_isset(&m->callid) || !pl_isset(&m->method)) {
		recv_bad(st, "Missing mandatory header", m, src);
		return;
	}
	if (!pl_eq(&m->cseq.method, &m->method)) {
		recv_bad(st, "CSeq method does not match", m, src);
		return;
	}
	if (st->proxyh && st->proxyh(st, m, src, st->proxy_arg))
		return;
	if (strans_recv(st, m))
		return;
	/* An ACK never opens a server transaction: the ACK of a 2xx is the
	 * TU's, and so is one that matches nothing. */
	if (sip_msg_is_method(m, "ACK")) {
		st->reqh(st, NULL, m, src, st->arg);
		return;
	}
	err = strans_create(st, m, src, &t);
	if (err) {
		log_event(LOG_ERROR, "sip_stx_failed", "src=%s err=%d",
			  sip_sockaddr_str((const struct sockaddr *)&src->addr, a, sizeof(a)), err);
		return;
	}
	st->reqh(st, t, m, src, st->arg);
	/* stop INVITE retransmissions at once unless the TU answered */
	strans_trying(t);
}

static void recv_response(struct sip_stack *st, const struct sip_msg *m,
			  const struct sip_peer *src)
{
	st->stats.rx_responses++;
	stack_stats_class(st->stats.rx_by_class, m->scode);
	if (st->proxyh && st->proxyh(st, m, src, st->proxy_arg))
		return;
	ctrans_recv(st, m);
}

void stack_recv(int err, const char *why, struct sip_msg *msg,
		const struct sip_peer *src, void *arg)
{
	struct sip_stack *st = arg;

	if (err) {
		recv_bad(st, why, msg, src);
		return;
	}
	if (msg->req)
		recv_request(st, msg, src);
	else
		recv_response(st, msg, src);
}
