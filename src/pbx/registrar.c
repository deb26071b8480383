/*
 * registrar.c - REGISTER processing (RFC 3261 §10.3, RFC 3327 Path) with
 * digest authentication and the failed-authentication ban.
 *
 * The AOR is the To user and the endpoint the From user (or the endpoint
 * an identify section assigns to the source address), as in Asterisk.
 * Unknown users are challenged and rejected exactly like known users with
 * a wrong password, so the responses never reveal which accounts exist.
 * The binding update itself is one state_register() call, which the state
 * backend applies atomically and may complete later (Redis).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pbx/authn.h"
#include "pbx/core.h"
#include "pbx/mwi.h"
#include "pbx/registrar.h"
#include "sip/print.h"
#include "util/sbuf.h"

/* Defensive bound on Contact values in one REGISTER. */
#define REG_MAX_BINDINGS 32

/* One REGISTER in flight while the state backend works on it. */
struct reg_ctx {
	struct pbx *pbx;
	struct sip_stx *stx;
	struct kv_config *cfg;
	const struct cfg_endpoint *ep;
	struct cfg_aor *aor;
	struct sip_peer src;
	struct authn_nc nc;   /* checked by state_register() */
	char aor_name[96];    /* To user, quoted for the log */
};

static void log_result(const struct reg_ctx *ctx, uint16_t scode, const char *why)
{
	/* The first 401 is the normal first half of every registration: a
	 * debug event, or every phone would log two lines per refresh. */
	bool first = scode == 401 && (!strcmp(why, "challenge") ||
				      !strcmp(why, "stale_nonce"));
	enum log_level lvl = scode < 300 ? LOG_INFO : first ? LOG_DEBUG : LOG_WARN;
	char ip[64];

	if (!log_enabled(lvl))
		return;
	sip_sockaddr_str((const struct sockaddr *)&ctx->src.addr, ip, sizeof(ip));
	log_event(lvl, "register", "aor=%s src=%s proto=%s status=%u reason=%s",
		  ctx->aor_name, ip, sip_proto_name(ctx->src.proto), scode, why);
}

static void count(struct pbx *pbx, enum reg_result r)
{
	pbx->stats.reg[r]++;
}

static void reply(struct reg_ctx *ctx, uint16_t scode, const char *reason,
		  const char *extra, const char *why)
{
	log_result(ctx, scode, why);
	sip_stx_reply(ctx->stx, scode, reason, NULL, extra, NULL, NULL);
}

static void print_contacts(struct sbuf *sb, const struct loc_contact *c,
			   size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t left = c[i].expires_at > now ? c[i].expires_at - now : 0;

		sbuf_printf(sb, "Contact: <%s>;expires=%llu", c[i].uri,
			    (unsigned long long)left);
		if (c[i].q >= 0)
			sbuf_printf(sb, ";q=%d.%03d", c[i].q / 1000, c[i].q % 1000);
		sbuf_append_str(sb, "\r\n");
	}
}

/* RFC 3261 §10.3 step 8: a Date header in the 200 (phones without a clock
 * set theirs from it).  It changes once a second: format it once. */
static const char *date_header(time_t t)
{
	static time_t last;
	static char cached[64];
	struct tm tm;

	if (t != last || !cached[0]) {
		gmtime_r(&t, &tm);
		strftime(cached, sizeof(cached), "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
		last = t;
	}
	return cached;
}

static void registered(enum loc_result res, const struct loc_contact *contacts,
		       size_t n, void *arg)
{
	struct reg_ctx *ctx = arg;
	struct pbx *pbx = ctx->pbx;
	const struct sip_msg *req = sip_stx_request(ctx->stx);
	struct sbuf sb;
	time_t t = (time_t)pbx->now();
	struct pl path;
	unsigned it = 0;

	switch (res) {
	case LOC_OK:
		break;
	case LOC_OUT_OF_ORDER:
		count(pbx, REG_ERROR);
		reply(ctx, 500, "Server Internal Error - Out Of Order", NULL,
		      "cseq_out_of_order");
		goto out;
	case LOC_TOO_MANY:
		count(pbx, REG_REJECTED);
		reply(ctx, 403, "Forbidden - too many contacts", NULL,
		      "max_contacts");
		goto out;
	case LOC_REPLAY:
		count(pbx, REG_AUTH_FAILED);
		log_result(ctx, 401, "nonce_count_replay");
		authn_nc_replayed(pbx, ctx->cfg, ctx->stx, &ctx->src, &ctx->nc);
		goto out;
	case LOC_FAILED:
	default:
		count(pbx, REG_ERROR);
		reply(ctx, 503, NULL, "Retry-After: 5\r\n", "state_backend_error");
		goto out;
	}

	sbuf_init(&sb);
	print_contacts(&sb, contacts, n, pbx->now());
	/* RFC 3327 §5.3: the registrar echoes the Path it stored. */
	while (sip_msg_hdr_next(req, SIP_HDR_PATH, &it, &path)) {
		sbuf_append_str(&sb, "Path: ");
		sbuf_append_pl(&sb, &path);
		sbuf_append_str(&sb, "\r\n");
	}
	sbuf_append_str(&sb, date_header(t));
	if (sbuf_err(&sb)) {
		count(pbx, REG_ERROR);
		reply(ctx, 500, NULL, NULL, "out_of_memory");
	} else {
		char cid[256];
		struct pl cpl;

		/* The request is gone once answered. */
		pl_strcpy(&req->callid, cid, sizeof(cid));
		cpl = pl_from_str(cid);
		count(pbx, REG_OK);
		reply(ctx, 200, NULL, sbuf_cstr(&sb), "ok");
		mwi_registered(pbx->mwi, ctx->ep, contacts, n, &cpl);
	}
	sbuf_free(&sb);
 out:
	config_unref(ctx->cfg);
	free(ctx);
}

/* Expires of one Contact (RFC 3261 §10.3 step 6): its param, else the
 * Expires header, else the AOR default.  -1 when unparsable. */
static int64_t contact_expires(const struct sip_msg *req, const struct sip_addr *a,
			       const struct cfg_aor *aor)
{
	const struct sip_hdr *h;
	struct pl v;
	uint32_t e;

	if (sip_param_get(&a->params, "expires", &v))
		return sip_delta_seconds(&v, &e) ? -1 : (int64_t)e;
	h = sip_msg_hdr(req, SIP_HDR_EXPIRES);
	if (h)
		return sip_delta_seconds(&h->val, &e) ? -1 : (int64_t)e;
	return aor->default_expiration;
}

static void finish_register(struct reg_ctx *ctx)
{
	struct pbx *pbx = ctx->pbx;
	const struct sip_msg *req = sip_stx_request(ctx->stx);
	const struct cfg_aor *aor = ctx->aor;
	struct loc_binding bindings[REG_MAX_BINDINGS];
	struct loc_register r;
	struct sip_addr addr;
	struct pl val, ua = PL_INIT;
	struct sbuf path;
	const struct sip_hdr *h;
	unsigned it = 0;
	size_t n = 0;
	bool wildcard = false;
	int err;

	sbuf_init(&path);
	while (sip_msg_hdr_next(req, SIP_HDR_CONTACT, &it, &val)) {
		int64_t exp;

		if (pl_eq_str(&val, "*")) {
			wildcard = true;
			continue;
		}
		if (n == REG_MAX_BINDINGS) {
			count(pbx, REG_REJECTED);
			reply(ctx, 400, "Bad Request - too many Contact values",
			      NULL, "too_many_contact_values");
			goto fail;
		}
		if (sip_addr_decode(&addr, &val)) {
			count(pbx, REG_REJECTED);
			reply(ctx, 400, "Bad Request - invalid Contact", NULL,
			      "invalid_contact");
			goto fail;
		}
		exp = contact_expires(req, &addr, aor);
		if (exp < 0) {
			count(pbx, REG_REJECTED);
			reply(ctx, 400, "Bad Request - invalid expires", NULL,
			      "invalid_expires");
			goto fail;
		}
		if (exp > 0 && exp < aor->minimum_expiration) {
			char extra[48];

			count(pbx, REG_REJECTED);
			snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n",
				 aor->minimum_expiration);
			reply(ctx, 423, NULL, extra, "interval_too_brief");
			goto fail;
		}
		if (exp > aor->maximum_expiration)
			exp = aor->maximum_expiration;

		memset(&bindings[n], 0, sizeof(bindings[n]));
		bindings[n].uri = addr.uri.whole;
		bindings[n].expires = (uint32_t)exp;
		bindings[n].q = -1;
		if (sip_param_get(&addr.params, "q", &val) && val.l && val.l <= 5) {
			/* q = "0" / "1" / "0.ddd" / "1.000" */
			char qbuf[8];
			pl_strcpy(&val, qbuf, sizeof(qbuf));
			bindings[n].q = (int)(strtod(qbuf, NULL) * 1000.0 + 0.5);
			if (bindings[n].q < 0 || bindings[n].q > 1000)
				bindings[n].q = -1;
		}
		sip_param_get(&addr.params, "+sip.instance", &bindings[n].instance);
		n++;
	}

	/* RFC 3261 §10.3 step 6: "*" must be alone and with Expires: 0. */
	if (wildcard) {
		uint32_t e = 1;

		h = sip_msg_hdr(req, SIP_HDR_EXPIRES);
		if (n || !h || sip_delta_seconds(&h->val, &e) || e != 0) {
			count(pbx, REG_REJECTED);
			reply(ctx, 400, "Bad Request - invalid wildcard Contact",
			      NULL, "invalid_wildcard");
			goto fail;
		}
	}

	memset(&r, 0, sizeof(r));
	r.aor = req->to.uri.user;
	r.wildcard = wildcard;
	r.bindings = bindings;
	r.bindings_n = n;
	r.callid = req->callid;
	r.cseq = req->cseq.num;
	it = 0;
	while (sip_msg_hdr_next(req, SIP_HDR_PATH, &it, &val)) {
		if (path.len)
			sbuf_append_str(&path, ", ");
		sbuf_append_pl(&path, &val);
	}
	r.path.p = path.len ? sbuf_cstr(&path) : NULL;
	r.path.l = path.len;
	h = sip_msg_hdr(req, SIP_HDR_USER_AGENT);
	if (h)
		ua = h->val;
	r.user_agent = ua;
	r.endpoint = pl_from_str(ctx->ep->name);
	loc_addr_set(&r.src.addr, &ctx->src.addr);
	loc_addr_set(&r.src.local, &ctx->src.local);
	r.src.proto = ctx->src.proto == SIP_PROTO_TCP ? LOC_PROTO_TCP : LOC_PROTO_UDP;
	r.src.conn_id = ctx->src.conn_id;
	snprintf(r.src.replica, sizeof(r.src.replica), "%s", ctx->cfg->cluster.replica);
	r.max_contacts = aor->max_contacts;
	r.remove_existing = aor->remove_existing;
	r.now = pbx->now();
	if (ctx->nc.set) {
		r.nonce = ctx->nc.nonce;
		r.nc = ctx->nc.nc;
		r.nonce_expires = ctx->nc.expires_at;
	}

	/* The backend copies what it keeps before returning. */
	err = state_register(pbx->state, &r, registered, ctx);
	sbuf_free(&path);
	if (err) {
		count(pbx, REG_ERROR);
		reply(ctx, 503, NULL, "Retry-After: 5\r\n", "state_backend_error");
		goto fail;
	}
	return;

 fail:
	sbuf_free(&path);
	config_unref(ctx->cfg);
	free(ctx);
}

/* Authenticated (or no authentication needed): now the AOR may be named. */
static void authorized(struct reg_ctx *ctx)
{
	const struct sip_msg *req = sip_stx_request(ctx->stx);
	const struct pl *user = &req->to.uri.user;

	for (size_t i = 0; user->l && i < ctx->ep->aors_n; i++) {
		if (pl_eq_str(user, ctx->ep->aors[i]->name)) {
			ctx->aor = ctx->ep->aors[i];
			break;
		}
	}
	if (!ctx->aor) {
		count(ctx->pbx, REG_REJECTED);
		reply(ctx, 404, NULL, NULL, "aor_not_found");
		goto fail;
	}
	if (ctx->aor->max_contacts == 0) {
		count(ctx->pbx, REG_REJECTED);
		reply(ctx, 403, "Forbidden - registration not allowed", NULL,
		      "max_contacts_zero");
		goto fail;
	}
	finish_register(ctx);
	return;

 fail:
	config_unref(ctx->cfg);
	free(ctx);
}

static void authenticated(enum authn_result res, const char *why, void *arg)
{
	struct reg_ctx *ctx = arg;
	static const enum reg_result counts[] = {
		[AUTHN_CHALLENGED] = REG_CHALLENGED,
		[AUTHN_STALE] = REG_CHALLENGED,
		[AUTHN_FAILED] = REG_AUTH_FAILED,
		[AUTHN_REJECTED] = REG_REJECTED,
	};

	if (res == AUTHN_OK) {
		/* No auth section: the endpoint is trusted, as in Asterisk. */
		authorized(ctx);
		return;
	}
	count(ctx->pbx, counts[res]);
	log_result(ctx, res == AUTHN_REJECTED ? 400 : 401, why);
	config_unref(ctx->cfg);
	free(ctx);
}

void registrar_request(struct pbx *pbx, struct sip_stx *stx,
		       const struct sip_msg *req, const struct sip_peer *src)
{
	struct reg_ctx *ctx;

	/* The shared state is out of reach (Redis down): no challenge, no
	 * waiting; the phone tries again, or another replica, in a moment. */
	if (!state_healthy(pbx->state)) {
		char aor[96];

		count(pbx, REG_ERROR);
		sip_stx_reply(stx, 503, NULL, NULL, "Retry-After: 5\r\n", NULL, NULL);
		log_event(LOG_WARN, "register", "aor=%s status=503 reason=state_unavailable",
			  log_q(aor, sizeof(aor), req->to.uri.user.p, req->to.uri.user.l));
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	ctx->pbx = pbx;
	ctx->stx = stx;
	ctx->cfg = config_ref(pbx->cfg);
	ctx->src = *src;
	/* Work on the stack's copy: it outlives this call if we go async. */
	req = sip_stx_request(stx);
	log_q(ctx->aor_name, sizeof(ctx->aor_name), req->to.uri.user.p,
	      req->to.uri.user.l);

	ctx->ep = authn_identify(pbx, ctx->cfg, req, src);
	authn_request_nc(pbx, ctx->cfg, stx, ctx->ep, src, &ctx->nc, authenticated, ctx);
}
