/*
 * fuzz_sipmsg.c - libFuzzer target for the SIP parser and printer.
 *
 * Each input is decoded as a datagram and as a stream (message after
 * message), every lazy helper runs over what was decoded, the message is
 * rebased into an exactly sized copy, and a response is printed for every
 * request.  Besides memory errors (ASan/UBSan) it checks invariants that a
 * correct parser keeps, aborting when one breaks:
 *   - every slice lies inside the input;
 *   - a message framed on a stream decodes the same way as a datagram;
 *   - a rebased message has the same contents as the original;
 *   - the 200 printed for a valid request decodes again, with the same
 *     Call-ID, CSeq and top Via branch.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sip/msg.h"
#include "sip/print.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lo, *hi;   /* the current input */

static void check(bool ok)
{
	if (!ok)
		abort();
}

static void inside(const struct pl *pl)
{
	if (pl->p && pl->l)
		check(pl->p >= lo && pl->p + pl->l <= hi);
}

static void inside_uri(const struct sip_uri *u)
{
	inside(&u->user);
	inside(&u->password);
	inside(&u->host);
	inside(&u->params);
	inside(&u->headers);
	inside(&u->whole);
}

static void inside_addr(const struct sip_addr *a)
{
	inside(&a->dname);
	inside_uri(&a->uri);
	inside(&a->params);
	inside(&a->tag);
	inside(&a->whole);
}

static void inside_msg(const struct sip_msg *m)
{
	check(m->hdrc <= SIP_MSG_MAX_HDRS);
	inside(&m->method);
	inside(&m->ruri_raw);
	inside_uri(&m->ruri);
	inside(&m->reason);
	for (unsigned i = 0; i < m->hdrc; i++) {
		inside(&m->hdrv[i].name);
		inside(&m->hdrv[i].val);
	}
	inside(&m->via.proto);
	inside(&m->via.sentby);
	inside(&m->via.host);
	inside(&m->via.params);
	inside(&m->via.branch);
	inside(&m->via.received);
	inside(&m->via.maddr);
	inside(&m->via.rport_val);
	inside(&m->via.whole);
	inside_addr(&m->from);
	inside_addr(&m->to);
	inside(&m->callid);
	inside(&m->cseq.method);
	inside(&m->body);
}

static bool same(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (!a->l || memcmp(a->p, b->p, a->l) == 0);
}

static void params(const struct pl *p)
{
	static const char *names[] = {
		"tag", "branch", "expires", "q", "lr", "transport", "maddr",
		"received", "rport", "user", "+sip.instance", "",
	};
	struct pl v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (sip_param_get(p, names[i], &v))
			inside(&v);
	}
}

static void addr_value(const struct sip_msg *m, const struct pl *val)
{
	struct sip_addr a;
	struct sip_uri u;
	uint32_t e;
	struct pl v;

	if (sip_addr_decode(&a, val))
		return;
	inside_addr(&a);
	params(&a.params);
	params(&a.uri.params);
	if (sip_param_get(&a.params, "expires", &v))
		sip_delta_seconds(&v, &e);
	(void)sip_uri_equal(&a.uri, &m->ruri);
	(void)sip_uri_equal(&a.uri, &m->from.uri);
	if (sip_uri_decode(&u, &a.uri.whole) == 0)
		check(sip_uri_equal(&u, &a.uri));
}

static void helpers(const struct sip_msg *m)
{
	char name[64];
	struct sip_via via;
	struct sip_uri u;
	struct pl v;
	unsigned it;
	uint32_t e;

	for (int id = 0; id < SIP_HDR_COUNT; id++) {
		const struct sip_hdr *h = sip_msg_hdr(m, (enum sip_hdr_id)id);
		unsigned n = 0;

		if (h)
			check(h->id == (enum sip_hdr_id)id);
		it = 0;
		while (sip_msg_hdr_next(m, (enum sip_hdr_id)id, &it, &v)) {
			inside(&v);
			check(v.l > 0);
			n++;
			switch (id) {
			case SIP_HDR_VIA:
				if (sip_via_decode(&via, &v) == 0)
					params(&via.params);
				break;
			case SIP_HDR_CONTACT:
			case SIP_HDR_FROM:
			case SIP_HDR_TO:
			case SIP_HDR_ROUTE:
			case SIP_HDR_RECORD_ROUTE:
			case SIP_HDR_PATH:
			case SIP_HDR_REFER_TO:
				addr_value(m, &v);
				break;
			case SIP_HDR_EXPIRES:
			case SIP_HDR_MIN_EXPIRES:
			case SIP_HDR_MIN_SE:
			case SIP_HDR_SESSION_EXPIRES:
				sip_delta_seconds(&v, &e);
				break;
			default:
				break;
			}
		}
		check(n == sip_msg_hdr_count(m, (enum sip_hdr_id)id));
		(void)sip_msg_hdr_has_token(m, (enum sip_hdr_id)id, "timer");
	}
	for (unsigned i = 0; i < m->hdrc; i++) {
		const struct sip_hdr *h;

		if (pl_strcpy(&m->hdrv[i].name, name, sizeof(name)))
			continue;
		h = sip_msg_hdr_name(m, name);
		/* the first line of that name is this one or an earlier one */
		check(h && h <= &m->hdrv[i]);
	}
	params(&m->via.params);
	params(&m->from.params);
	params(&m->to.params);
	params(&m->ruri.params);
	if (sip_uri_decode(&u, &m->ruri_raw) == 0)
		check(sip_uri_equal(&u, &m->ruri));
	(void)sip_msg_is_method(m, "INVITE");
	(void)sip_uri_equal(&m->from.uri, &m->to.uri);
}

static void rebase(const struct sip_msg *m)
{
	static struct sip_msg copy;
	char *nb = malloc(m->len ? m->len : 1);

	if (!nb)
		return;
	sip_msg_rebase(&copy, m, nb);
	check(copy.buf == nb && copy.len == m->len && copy.hdrc == m->hdrc);
	check(same(&copy.method, &m->method) && same(&copy.ruri.host, &m->ruri.host));
	check(same(&copy.via.branch, &m->via.branch) && same(&copy.callid, &m->callid));
	check(same(&copy.from.tag, &m->from.tag) && same(&copy.to.whole, &m->to.whole));
	check(same(&copy.body, &m->body) && same(&copy.cseq.method, &m->cseq.method));
	for (unsigned i = 0; i < copy.hdrc; i++) {
		check(same(&copy.hdrv[i].val, &m->hdrv[i].val));
		check(!copy.hdrv[i].val.l ||
		      (copy.hdrv[i].val.p >= nb && copy.hdrv[i].val.p < nb + copy.len));
	}
	free(nb);
}

static void respond(const struct sip_msg *m, int rc, const char *why)
{
	static struct sip_msg r;
	struct sbuf sb;
	char tag[17];
	const char *rwhy;
	int err;

	if (!m->req)
		return;
	static const struct hash_key key = {{0x6b76, 0x6675}};

	sip_totag(&key, m, tag, sizeof(tag));
	check(strlen(tag) == 16);
	sbuf_init(&sb);
	if (rc != SIP_DECODE_OK) {
		err = sip_print_response(&sb, m, 400, why, tag, NULL, NULL, NULL);
		check(err == 0);
		sbuf_free(&sb);
		return;
	}
	err = sip_print_response(&sb, m, 200, NULL, tag, "X-Test: 1\r\n",
				 "text/plain", &m->body);
	check(err == 0);
	/* a response to a valid request is valid, unless the echoed Vias
	 * alone overflow the header limit */
	if (m->hdrc + 3 <= SIP_MSG_MAX_HDRS) {
		check(sip_msg_decode(&r, sb.p, sb.len, true, &rwhy) == SIP_DECODE_OK);
		check(r.len == sb.len && r.scode == 200);
		check(same(&r.callid, &m->callid) && r.cseq.num == m->cseq.num);
		check(same(&r.cseq.method, &m->cseq.method));
		check(same(&r.via.branch, &m->via.branch));
		check(same(&r.from.tag, &m->from.tag));
		check(r.to.tag.l > 0);
		check(same(&r.body, &m->body));
	}
	sbuf_free(&sb);
}

static void examine(const struct sip_msg *m, int rc, const char *why)
{
	inside_msg(m);
	check(m->len <= (size_t)(hi - lo));
	if (rc == SIP_DECODE_BAD)
		check(why && *why);
	if (rc == SIP_DECODE_PARTIAL)
		return;
	helpers(m);
	rebase(m);
	respond(m, rc, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sip_msg m, d;
	const char *buf = (const char *)data, *why, *dwhy;
	size_t off = 0;
	int rc;

	lo = buf;
	hi = buf + size;
	rc = sip_msg_decode(&m, buf, size, false, &why);
	check(rc != SIP_DECODE_PARTIAL);
	check(m.len <= size);
	examine(&m, rc, why);

	for (int n = 0; n < 64 && off < size; n++) {
		rc = sip_msg_decode(&m, buf + off, size - off, true, &why);
		check(m.len <= size - off);
		if (rc == SIP_DECODE_PARTIAL)
			break;
		examine(&m, rc, why);
		if (rc != SIP_DECODE_OK)
			break;
		check(m.len > 0);
		/* the same bytes as a datagram frame the same way */
		check(sip_msg_decode(&d, buf + off, m.len, false, &dwhy) == SIP_DECODE_OK);
		check(d.len == m.len && d.hdrc == m.hdrc && same(&d.body, &m.body));
		off += m.len;
	}
	return 0;
}
