/*
 * flowproxy.c - requests for a phone through the replica that holds its
 * flow, as a stateless proxy (see flowproxy.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/flowproxy.h"
#include "sip/print.h"
#include "sip/sa.h"
#include "util/log.h"
#include "util/sbuf.h"

/* Our Via branches: the cookie, this tag, then a MAC of the Via below. */
#define PROXY_BRANCH SIP_MAGIC_COOKIE "kvp"
#define PROXY_BRANCH_LEN (SIP_MAGIC_COOKIE_LEN + 3)

/* A flow on the wire: version, proto, conn id, phone address, our local
 * address, MAC. */
#define TOKEN_VERSION 1
#define SA_WIRE 19                               /* family, 16, port */
#define TOKEN_BODY (1 + 1 + 8 + SA_WIRE + SA_WIRE)
#define TOKEN_MAC 8
#define TOKEN_RAW (TOKEN_BODY + TOKEN_MAC)
#define TOKEN_TEXT ((TOKEN_RAW * 4 + 2) / 3)     /* base64url, no padding */

struct flowproxy {
	struct sip_stack *stack;
	char replica[STATE_REPLICA_MAX];
	struct hash_key key;
	struct log_ratelimit rl;
	struct flowproxy_stats stats;
};

void flowproxy_key(const char *secret, struct hash_key *key)
{
	struct sbuf sb;

	/* Not the key of To tags nor of nonces: one secret, separate uses. */
	sbuf_init(&sb);
	sbuf_printf(&sb, "kubevox flow token\n%s", secret ? secret : "");
	hash_key_from(key, sb.p ? sb.p : "", sb.len);
	sbuf_free(&sb);
}

int flowproxy_alloc(struct flowproxy **fpp, struct sip_stack *stack,
		    const char *replica, const struct hash_key *key)
{
	struct flowproxy *fp = calloc(1, sizeof(*fp));

	if (!fp)
		return ENOMEM;
	fp->stack = stack;
	snprintf(fp->replica, sizeof(fp->replica), "%s", replica);
	fp->key = *key;
	log_ratelimit_init(&fp->rl, 1.0, 5.0);
	*fpp = fp;
	return 0;
}

void flowproxy_free(struct flowproxy *fp)
{
	free(fp);
}

void flowproxy_set_key(struct flowproxy *fp, const struct hash_key *key)
{
	fp->key = *key;
}

const struct flowproxy_stats *flowproxy_stats(const struct flowproxy *fp)
{
	return &fp->stats;
}

/* ---- tokens ---- */

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0, i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		out[o++] = b64[(v >> 6) & 63];
		out[o++] = b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);

		out[o++] = b64[v >> 18];
		out[o++] = b64[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

/* Exactly TOKEN_RAW bytes out of TOKEN_TEXT characters, or EINVAL. */
static int b64_decode(const struct pl *in, unsigned char *out)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	if (in->l != TOKEN_TEXT)
		return EINVAL;
	for (size_t i = 0; i < in->l; i++) {
		int v = b64_value(in->p[i]);

		if (v < 0)
			return EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == TOKEN_RAW)
				return EINVAL;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o == TOKEN_RAW ? 0 : EINVAL;
}

static void put_sa(unsigned char *p, const union loc_addr *a)
{
	memset(p, 0, SA_WIRE);
	if (a->sa.sa_family == AF_INET) {
		p[0] = 4;
		memcpy(p + 1, &a->in.sin_addr, 4);
		memcpy(p + 17, &a->in.sin_port, 2);
	} else if (a->sa.sa_family == AF_INET6) {
		p[0] = 6;
		memcpy(p + 1, &a->in6.sin6_addr, 16);
		memcpy(p + 17, &a->in6.sin6_port, 2);
	}
}

static int get_sa(const unsigned char *p, struct sockaddr_storage *ss, bool optional)
{
	memset(ss, 0, sizeof(*ss));
	if (p[0] == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, p + 1, 4);
		memcpy(&in->sin_port, p + 17, 2);
		return 0;
	}
	if (p[0] == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, p + 1, 16);
		memcpy(&in6->sin6_port, p + 17, 2);
		return 0;
	}
	return p[0] == 0 && optional ? 0 : EINVAL;
}

static int token_make(const struct hash_key *key, const struct loc_source *flow,
		      char *out, size_t size)
{
	unsigned char raw[TOKEN_RAW];
	uint64_t mac;

	if (size < TOKEN_TEXT + 1)
		return ENOSPC;
	raw[0] = TOKEN_VERSION;
	raw[1] = flow->proto == LOC_PROTO_TCP ? 't' : 'u';
	for (int i = 0; i < 8; i++)
		raw[2 + i] = (unsigned char)(flow->conn_id >> (56 - 8 * i));
	put_sa(raw + 10, &flow->addr);
	put_sa(raw + 10 + SA_WIRE, &flow->local);
	mac = hash_sip(key, raw, TOKEN_BODY);
	memcpy(raw + TOKEN_BODY, &mac, TOKEN_MAC);
	b64_encode(raw, TOKEN_RAW, out);
	return 0;
}

/* The flow a token names, or EINVAL (malformed, or not signed with our
 * cluster's key: a forged Route makes us forward nothing). */
static int token_parse(const struct hash_key *key, const struct pl *text,
		       struct sip_peer *dst)
{
	unsigned char raw[TOKEN_RAW];
	uint64_t mac, want;

	if (b64_decode(text, raw) || raw[0] != TOKEN_VERSION ||
	    (raw[1] != 't' && raw[1] != 'u'))
		return EINVAL;
	want = hash_sip(key, raw, TOKEN_BODY);
	memcpy(&mac, raw + TOKEN_BODY, TOKEN_MAC);
	if (mac != want)
		return EINVAL;
	memset(dst, 0, sizeof(*dst));
	dst->proto = raw[1] == 't' ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	for (int i = 0; i < 8; i++)
		dst->conn_id = dst->conn_id << 8 | raw[2 + i];
	if (get_sa(raw + 10, &dst->addr, false) ||
	    get_sa(raw + 10 + SA_WIRE, &dst->local, true))
		return EINVAL;
	return 0;
}

int flowproxy_route(const struct flowproxy *fp, const struct state_replica *r,
		    const struct loc_source *flow, char *buf, size_t size,
		    struct sip_peer *next_hop)
{
	char token[TOKEN_TEXT + 1], ip[INET6_ADDRSTRLEN];
	uint16_t port;
	int n, err;

	if (r->advertise.ss_family != AF_INET && r->advertise.ss_family != AF_INET6)
		return ENOENT;
	err = token_make(&fp->key, flow, token, sizeof(token));
	if (err)
		return err;
	sip_sa_ip_port((const struct sockaddr *)&r->advertise, ip, sizeof(ip), &port);
	n = snprintf(buf, size, r->advertise.ss_family == AF_INET6 ?
		     "<sip:[%s]:%u;lr;kvr=%s;kvf=%s>" : "<sip:%s:%u;lr;kvr=%s;kvf=%s>",
		     ip, port, r->name, token);
	if (n < 0 || (size_t)n >= size)
		return ENOSPC;
	memset(next_hop, 0, sizeof(*next_hop));
	next_hop->addr = r->advertise;
	next_hop->proto = SIP_PROTO_UDP;
	return 0;
}

/* ---- forwarding ---- */

static void refuse(struct flowproxy *fp, const struct sip_msg *m,
		   const struct sip_peer *src, uint16_t scode, const char *why)
{
	struct sip_peer dst;
	struct sbuf sb;
	char a[64];
	uint64_t suppressed = 0;

	fp->stats.refused++;
	if (log_ratelimit_allow(&fp->rl, uv_hrtime() / 1000000, &suppressed))
		log_event(LOG_WARN, "proxy_refused", "src=%s method=%.*s status=%u "
			  "reason=%s suppressed=%llu",
			  sip_sockaddr_str((const struct sockaddr *)&src->addr, a, sizeof(a)),
			  (int)m->method.l, m->method.p, scode, why,
			  (unsigned long long)suppressed);
	if (sip_msg_is_method(m, "ACK"))
		return;
	sbuf_init(&sb);
	if (!sip_print_response(&sb, m, scode, NULL, NULL, NULL, NULL, NULL) &&
	    !sbuf_err(&sb)) {
		sip_stack_response_dest(m, src, &dst);
		sip_stack_send_raw(fp->stack, &dst, sb.p, sb.len);
	}
	sbuf_free(&sb);
}

/* The value of URI parameter name in a Route value, if the value is a
 * name-addr we can read. */
static bool route_param(const struct pl *route, const char *name, struct pl *val,
			struct sip_addr *addr)
{
	if (sip_addr_decode(addr, route))
		return false;
	return sip_param_get(&addr->uri.params, name, val);
}

/* Our branch for a request forwarded from the Via below it: the same
 * incoming branch gives the same one (CANCEL, ACK of a non-2xx), and a
 * response carrying it can be checked for being ours. */
static void proxy_branch(const struct flowproxy *fp, const struct sip_via *below,
			 char *buf, size_t size)
{
	struct hash_sip_state st;

	hash_sip_init(&st, &fp->key);
	hash_sip_part(&st, below->branch.p, below->branch.l, false);
	hash_sip_part(&st, below->sentby.p, below->sentby.l, true);
	snprintf(buf, size, PROXY_BRANCH "%016llx",
		 (unsigned long long)hash_sip_final(&st));
}

/* The top Via of a request we forward, with where it really came from
 * (RFC 3581 §4, RFC 3261 §18.2.1): the response finds its way back. */
static void via_received(struct sbuf *sb, const struct sip_via *via,
			 const struct sip_peer *src)
{
	const char *p = via->whole.p, *end = via->whole.p + via->whole.l;
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;

	/* The via-parm up to its parameters, then each parameter but
	 * received and rport, which we write again. */
	const char *params = via->params.p && via->params.l ? via->params.p : end;

	sbuf_append(sb, p, (size_t)(params - p));
	for (const char *q = params; q < end;) {
		const char *next = memchr(q + 1, ';', (size_t)(end - q - 1));
		size_t n = (size_t)((next ? next : end) - q);
		struct pl name = {q + 1, n - 1};
		const char *eq = memchr(name.p, '=', name.l);

		if (eq)
			name.l = (size_t)(eq - name.p);
		pl_trim(&name);
		if (!pl_eqcase_str(&name, "received") && !pl_eqcase_str(&name, "rport"))
			sbuf_append(sb, q, n);
		q = next ? next : end;
	}
	sip_sa_ip_port((const struct sockaddr *)&src->addr, ip, sizeof(ip), &port);
	sbuf_printf(sb, ";received=%s;rport=%u", ip, port);
}

/*
 * The forwarded request: our Via, Record-Route (rr, may be NULL), then
 * every header but the Routes we consumed, with Max-Forwards one less.
 */
static int build_request(struct flowproxy *fp, struct sbuf *sb, const struct sip_msg *m,
			 const struct sip_peer *src, const struct sip_peer *dst,
			 unsigned routes_popped, const char *rr)
{
	char branch[48];
	bool via_done = false;
	unsigned route_i = 0;
	int err;

	sbuf_printf(sb, "%.*s %.*s SIP/2.0\r\n", (int)m->method.l, m->method.p,
		    (int)m->ruri_raw.l, m->ruri_raw.p);
	proxy_branch(fp, &m->via, branch, sizeof(branch));
	err = sip_stack_print_via(fp->stack, sb, dst, branch);
	if (err)
		return err;
	if (rr)
		sbuf_append_str(sb, rr);
	for (unsigned i = 0; i < m->hdrc; i++) {
		const struct sip_hdr *h = &m->hdrv[i];

		switch (h->id) {
		case SIP_HDR_VIA:
			if (!via_done) {
				/* the top via-parm, then the rest of this line */
				const char *rest = m->via.whole.p + m->via.whole.l;
				struct pl tail = {rest, (size_t)(h->val.p + h->val.l - rest)};

				sbuf_append_str(sb, "Via: ");
				via_received(sb, &m->via, src);
				while (tail.l && (*tail.p == ',' || *tail.p == ' ' || *tail.p == '\t')) {
					tail.p++;
					tail.l--;
				}
				sbuf_append_str(sb, "\r\n");
				if (tail.l)
					sbuf_printf(sb, "Via: %.*s\r\n", (int)tail.l, tail.p);
				via_done = true;
				continue;
			}
			break;
		case SIP_HDR_ROUTE: {
			unsigned it = 0;
			struct pl v;

			/* one value per line, the consumed ones (the first
			 * popped of all) left out */
			while (sip_msg_hdr_next(m, SIP_HDR_ROUTE, &it, &v)) {
				if (v.p < h->val.p || v.p >= h->val.p + h->val.l)
					continue;
				if (route_i++ < routes_popped)
					continue;
				sbuf_printf(sb, "Route: %.*s\r\n", (int)v.l, v.p);
			}
			continue;
		}
		case SIP_HDR_MAX_FORWARDS:
			sbuf_printf(sb, "Max-Forwards: %d\r\n",
				    m->max_forwards > 0 ? m->max_forwards - 1 : 0);
			continue;
		default:
			break;
		}
		sbuf_printf(sb, "%.*s: %.*s\r\n", (int)h->name.l, h->name.p,
			    (int)h->val.l, h->val.p);
	}
	if (m->max_forwards < 0)
		sbuf_append_str(sb, "Max-Forwards: 70\r\n");
	sbuf_append_str(sb, "\r\n");
	if (m->body.l)
		sbuf_append(sb, m->body.p, m->body.l);
	return sbuf_err(sb) ? ENOMEM : 0;
}

/* Where a URI sends us: an address literal (no DNS here), its port or
 * 5060, its transport. */
static int uri_dest(const struct sip_uri *uri, struct sip_peer *dst)
{
	struct pl tr;

	memset(dst, 0, sizeof(*dst));
	if (sip_sa_from_host(&dst->addr, &uri->host, uri->port ? uri->port : 5060))
		return EINVAL;
	dst->proto = sip_param_get(&uri->params, "transport", &tr) &&
		     pl_eqcase_str(&tr, "tcp") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	return 0;
}

/* Our entry in the Record-Route, as the phone will use it: the address
 * of the flow on our side. */
static int rr_phone_side(struct flowproxy *fp, const struct sip_peer *flow,
			 struct sbuf *sb)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	int err;

	if (flow->local.ss_family == AF_INET || flow->local.ss_family == AF_INET6)
		sip_sa_ip_port((const struct sockaddr *)&flow->local, ip, sizeof(ip), &port);
	else if ((err = sip_stack_local_addr(fp->stack, flow, ip, sizeof(ip), &port)))
		return err;
	sbuf_printf(sb, flow->addr.ss_family == AF_INET6 ?
		    "Record-Route: <sip:[%s]:%u;lr;kvr=%s%s>\r\n" :
		    "Record-Route: <sip:%s:%u;lr;kvr=%s%s>\r\n", ip, port, fp->replica,
		    flow->proto == SIP_PROTO_TCP ? ";transport=tcp" : "");
	return sbuf_err(sb) ? ENOMEM : 0;
}

static bool proxy_request(struct flowproxy *fp, const struct sip_msg *m,
			  const struct sip_peer *src)
{
	struct sip_addr a;
	struct pl v, kvr, kvf = PL_INIT, first_val = PL_INIT;
	unsigned it = 0, popped = 0;
	struct sip_peer dst;
	struct sbuf rr, sb;
	bool via_flow = false, more = false;
	int err;

	/* Consecutive Routes to this replica from the top. */
	while (sip_msg_hdr_next(m, SIP_HDR_ROUTE, &it, &v)) {
		if (!route_param(&v, "kvr", &kvr, &a) || !pl_eq_str(&kvr, fp->replica)) {
			more = true;
			break;
		}
		if (!popped) {
			first_val = v;
			via_flow = sip_param_get(&a.uri.params, "kvf", &kvf);
		}
		popped++;
	}
	if (!popped)
		return false;

	if (m->max_forwards == 0) {
		refuse(fp, m, src, 483, "too_many_hops");
		return true;
	}
	if (via_flow) {
		/* From a replica toward the phone whose flow we hold. */
		if (token_parse(&fp->key, &kvf, &dst)) {
			refuse(fp, m, src, 403, "bad_flow_token");
			return true;
		}
	} else if (more) {
		struct sip_addr next;

		if (sip_addr_decode(&next, &v) || uri_dest(&next.uri, &dst)) {
			refuse(fp, m, src, 400, "bad_route");
			return true;
		}
	} else {
		/* From the phone, to the replica whose Contact is the
		 * Request-URI (that replica is the B2BUA of the call). */
		if (uri_dest(&m->ruri, &dst)) {
			refuse(fp, m, src, 416, "bad_request_uri");
			return true;
		}
	}

	sbuf_init(&rr);
	sbuf_init(&sb);
	/* A dialog starts through us: both sides must keep us on its path
	 * (the phone on the flow's address, the other replica on the entry
	 * that names the flow). */
	if (via_flow && !pl_isset(&m->to.tag) && !sip_msg_is_method(m, "ACK") &&
	    !sip_msg_is_method(m, "CANCEL")) {
		err = rr_phone_side(fp, &dst, &rr);
		if (!err)
			sbuf_printf(&rr, "Record-Route: %.*s\r\n", (int)first_val.l,
				    first_val.p);
		if (err || sbuf_err(&rr)) {
			refuse(fp, m, src, 500, "record_route");
			goto out;
		}
	}
	err = build_request(fp, &sb, m, src, &dst, popped, rr.len ? sbuf_cstr(&rr) : NULL);
	if (!err)
		err = sip_stack_send_raw(fp->stack, &dst, sb.p, sb.len);
	if (err) {
		/* A TCP flow that is gone: the phone must register again. */
		refuse(fp, m, src, via_flow ? 480 : 503, "send_failed");
		goto out;
	}
	fp->stats.requests++;
 out:
	sbuf_free(&rr);
	sbuf_free(&sb);
	return true;
}

/* The Via below ours in a response, and where it says to send. */
static int response_dest(const struct sip_msg *m, struct sip_via *below,
			 struct sip_peer *dst)
{
	unsigned it = 0, n = 0;
	struct pl v;
	uint16_t port;

	while (sip_msg_hdr_next(m, SIP_HDR_VIA, &it, &v)) {
		if (n++ == 1)
			break;
	}
	if (n < 2 || sip_via_decode(below, &v))
		return ENOENT;
	memset(dst, 0, sizeof(*dst));
	dst->proto = pl_eqcase_str(&below->proto, "TCP") ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	port = below->port ? below->port : 5060;
	if (below->rport && below->rport_val.l) {
		uint32_t p;

		if (!pl_u32(&below->rport_val, 65535, &p) && p)
			port = (uint16_t)p;
	}
	if (pl_isset(&below->received))
		return sip_sa_from_host(&dst->addr, &below->received, port);
	return sip_sa_from_host(&dst->addr, &below->host, port);
}

static bool proxy_response(struct flowproxy *fp, const struct sip_msg *m)
{
	const struct pl *b = &m->via.branch;
	struct sip_via below;
	struct sip_peer dst;
	char want[48];
	struct sbuf sb;
	bool first_via = true;
	int err;

	if (b->l < PROXY_BRANCH_LEN || memcmp(b->p, PROXY_BRANCH, PROXY_BRANCH_LEN))
		return false;
	if (response_dest(m, &below, &dst))
		return true;
	proxy_branch(fp, &below, want, sizeof(want));
	if (!pl_eq_str(b, want)) {
		/* Not made by us (or under an old secret): drop it. */
		fp->stats.refused++;
		return true;
	}
	sbuf_init(&sb);
	sbuf_printf(&sb, "SIP/2.0 %u %.*s\r\n", m->scode, (int)m->reason.l, m->reason.p);
	for (unsigned i = 0; i < m->hdrc; i++) {
		const struct sip_hdr *h = &m->hdrv[i];

		if (h->id == SIP_HDR_VIA && first_via) {
			/* drop our via-parm, keep the rest of the line */
			const char *rest = m->via.whole.p + m->via.whole.l;
			struct pl tail = {rest, (size_t)(h->val.p + h->val.l - rest)};

			while (tail.l && (*tail.p == ',' || *tail.p == ' ' || *tail.p == '\t')) {
				tail.p++;
				tail.l--;
			}
			if (tail.l)
				sbuf_printf(&sb, "Via: %.*s\r\n", (int)tail.l, tail.p);
			first_via = false;
			continue;
		}
		sbuf_printf(&sb, "%.*s: %.*s\r\n", (int)h->name.l, h->name.p,
			    (int)h->val.l, h->val.p);
	}
	sbuf_append_str(&sb, "\r\n");
	if (m->body.l)
		sbuf_append(&sb, m->body.p, m->body.l);
	err = sbuf_err(&sb) ? ENOMEM : sip_stack_send_raw(fp->stack, &dst, sb.p, sb.len);
	if (!err)
		fp->stats.responses++;
	sbuf_free(&sb);
	return true;
}

bool flowproxy_handle(struct sip_stack *st, const struct sip_msg *m,
		      const struct sip_peer *src, void *arg)
{
	struct flowproxy *fp = arg;

	if (!fp)
		return false;
	if (!m->req)
		return proxy_response(fp, m);
	if (!sip_msg_hdr(m, SIP_HDR_ROUTE))
		return false;
	return proxy_request(fp, m, src);
}
