/*
 * dialog.c - SIP dialog state and in-dialog requests (RFC 3261 §12).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/dialog.h"
#include "sip/sa.h"
#include "sip/print.h"

/* Record-Route values joined in order (reverse=false) or reversed. */
static char *route_set(const struct sip_msg *m, bool reverse)
{
	struct pl v[32];
	unsigned n = 0, it = 0;
	struct sbuf sb;
	char *s = NULL;

	while (n < 32 && sip_msg_hdr_next(m, SIP_HDR_RECORD_ROUTE, &it, &v[n]))
		n++;
	if (!n)
		return NULL;
	sbuf_init(&sb);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			sbuf_append_str(&sb, ", ");
		sbuf_append_pl(&sb, &v[reverse ? n - 1 - i : i]);
	}
	if (!sbuf_err(&sb))
		s = strdup(sbuf_cstr(&sb));
	sbuf_free(&sb);
	return s;
}

/* Remote target: the URI of the first Contact. */
static char *contact_target(const struct sip_msg *m)
{
	struct sip_addr a;
	struct pl v;
	unsigned it = 0;

	if (!sip_msg_hdr_next(m, SIP_HDR_CONTACT, &it, &v) || sip_addr_decode(&a, &v))
		return NULL;
	return pl_strdup(&a.uri.whole);
}

int sip_dialog_uas_alloc(struct sip_dialog **dp, const struct sip_msg *req,
			 const struct sip_peer *src, const char *ltag,
			 const char *lcontact)
{
	struct sip_dialog *d;
	struct sbuf sb;
	int err = ENOMEM;

	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	sbuf_init(&sb);
	sbuf_append_pl(&sb, &req->to.whole);
	sbuf_printf(&sb, ";tag=%s", ltag);
	if (sbuf_err(&sb))
		goto out;

	d->callid = pl_strdup(&req->callid);
	d->ltag = strdup(ltag);
	d->rtag = pl_isset(&req->from.tag) ? pl_strdup(&req->from.tag) : NULL;
	d->lhdr = strdup(sbuf_cstr(&sb));
	d->rhdr = pl_strdup(&req->from.whole);
	d->target = contact_target(req);
	d->route = route_set(req, false);
	d->lcontact = strdup(lcontact);
	d->rcseq = req->cseq.num;
	d->rcseq_valid = true;
	d->lcseq = 0;
	d->peer = *src;
	if (!d->callid || !d->ltag || !d->lhdr || !d->rhdr || !d->lcontact) {
		err = ENOMEM;
		goto out;
	}
	/* Without a Contact there is no target (RFC 3261 §12.1.1 requires
	 * one); requests then go to the Request-URI host of the peer. */
	if (!d->target) {
		err = EBADMSG;
		goto out;
	}
	err = 0;
 out:
	sbuf_free(&sb);
	if (err)
		sip_dialog_free(d);
	else
		*dp = d;
	return err;
}

int sip_dialog_uac_alloc(struct sip_dialog **dp, const char *callid,
			 const char *ltag, const char *lhdr, const char *rhdr,
			 const char *target, uint32_t cseq,
			 const struct sip_peer *dst, const char *lcontact)
{
	struct sip_dialog *d;

	d = calloc(1, sizeof(*d));
	if (!d)
		return ENOMEM;
	d->uac = true;
	d->callid = strdup(callid);
	d->ltag = strdup(ltag);
	d->lhdr = strdup(lhdr);
	d->rhdr = strdup(rhdr);
	d->target = strdup(target);
	d->lcontact = strdup(lcontact);
	d->lcseq = cseq;
	d->peer = *dst;
	if (!d->callid || !d->ltag || !d->lhdr || !d->rhdr || !d->target ||
	    !d->lcontact) {
		sip_dialog_free(d);
		return ENOMEM;
	}
	*dp = d;
	return 0;
}

int sip_dialog_uac_update(struct sip_dialog *d, const struct sip_msg *resp)
{
	char *s;

	if (!pl_isset(&resp->to.tag))
		return EBADMSG;
	if (!d->rtag) {
		d->rtag = pl_strdup(&resp->to.tag);
		s = pl_strdup(&resp->to.whole);
		if (!d->rtag || !s) {
			free(s);
			return ENOMEM;
		}
		free(d->rhdr);
		d->rhdr = s;
		/* The route set is fixed by the first response (§12.1.2). */
		free(d->route);
		d->route = route_set(resp, true);
	}
	s = contact_target(resp);
	if (s) {
		free(d->target);
		d->target = s;
	}
	return 0;
}

void sip_dialog_free(struct sip_dialog *d)
{
	if (!d)
		return;
	free(d->callid);
	free(d->ltag);
	free(d->rtag);
	free(d->lhdr);
	free(d->rhdr);
	free(d->target);
	free(d->route);
	free(d->lcontact);
	free(d);
}

bool sip_dialog_match(const struct sip_dialog *d, const struct sip_msg *req)
{
	const struct pl *ltag = &req->to.tag, *rtag = &req->from.tag;

	if (!pl_eq_str(&req->callid, d->callid) || !pl_eq_str(ltag, d->ltag))
		return false;
	return d->rtag ? pl_eq_str(rtag, d->rtag) : !pl_isset(rtag);
}

bool sip_dialog_accept_request(struct sip_dialog *d, const struct sip_msg *req)
{
	bool exempt = sip_msg_is_method(req, "ACK") || sip_msg_is_method(req, "CANCEL");
	char *t;

	if (!exempt) {
		if (d->rcseq_valid && req->cseq.num <= d->rcseq)
			return false;
		d->rcseq = req->cseq.num;
		d->rcseq_valid = true;
	}
	/* Target refresh requests (RFC 3261 §12.2.2): re-INVITE, UPDATE. */
	if (sip_msg_is_method(req, "INVITE") || sip_msg_is_method(req, "UPDATE")) {
		t = contact_target(req);
		if (t) {
			free(d->target);
			d->target = t;
		}
	}
	return true;
}

/* First Route URI as a numeric address, when it is one. */
static bool route_dest(const char *route, struct sip_peer *dst)
{
	struct pl all = pl_from_str(route), v;
	const char *comma;
	struct sip_addr a;

	comma = pl_chr(&all, ',');
	v.p = all.p;
	v.l = comma ? (size_t)(comma - all.p) : all.l;
	pl_trim(&v);
	if (sip_addr_decode(&a, &v) ||
	    sip_sa_from_host(&dst->addr, &a.uri.host, a.uri.port ? a.uri.port : 5060))
		return false;
	dst->conn_id = 0;
	return true;
}

int sip_dialog_request(struct sip_dialog *d, struct sip_stack *st,
		       const char *method, uint32_t cseq, const char *branch,
		       const char *extra, const char *ctype,
		       const struct pl *body, struct sbuf *sb,
		       struct sip_peer *dst)
{
	bool is_ack = !strcmp(method, "ACK");
	bool refresh = !strcmp(method, "INVITE") || !strcmp(method, "UPDATE");
	int err;

	if (!cseq)
		cseq = ++d->lcseq;
	*dst = d->peer;
	if (d->route) {
		if (!route_dest(d->route, dst))
			*dst = d->peer;
		else if (!sip_sa_addr_equal((struct sockaddr *)&dst->addr,
					    (struct sockaddr *)&d->peer.addr))
			/* Our local address is the one the peer's host reached
			 * us on; toward another host it is the kernel's choice. */
			memset(&dst->local, 0, sizeof(dst->local));
	}

	sbuf_printf(sb, "%s %s SIP/2.0\r\n", method, d->target);
	err = sip_stack_print_via(st, sb, dst, branch);
	if (err)
		return err;
	sbuf_append_str(sb, "Max-Forwards: 70\r\n");
	if (d->route)
		sbuf_printf(sb, "Route: %s\r\n", d->route);
	sbuf_printf(sb, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %u %s\r\n",
		    d->lhdr, d->rhdr, d->callid, cseq, method);
	if (refresh || is_ack)
		sbuf_printf(sb, "Contact: <%s>\r\n", d->lcontact);
	sbuf_printf(sb, "User-Agent: %s\r\n", sip_server_name);
	if (extra)
		sbuf_append_str(sb, extra);
	if (body && body->l) {
		sbuf_printf(sb, "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			    ctype ? ctype : "application/sdp", body->l);
		sbuf_append_pl(sb, body);
	} else {
		sbuf_append_str(sb, "Content-Length: 0\r\n\r\n");
	}
	return sbuf_err(sb) ? ENOMEM : 0;
}
