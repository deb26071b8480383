/*
 * authn.c - digest authentication of requests from endpoints, and the
 * policy of failed-authentication bans.
 *
 * Unknown users get the challenge of the default realm and algorithms and
 * cost one digest computation like everybody else, so neither the answers
 * nor their timing reveal which accounts exist.
 *
 * Bans.  An office puts dozens of phones behind one NAT address, so one
 * phone with a stale password must not cut off the others, while a
 * guesser must not get unlimited tries.  Keys are "ADDR" and "ADDR USER"
 * (state.h), USER always the From user: the name every request carries,
 * which the request router checks without parsing credentials.
 *  - A source in [security] ban_exempt is never counted nor banned.
 *  - A failure is charged to an existing username when the From user
 *    names the endpoint the request was identified as, that endpoint has
 *    an auth section, and the credentials carry that auth's username (a
 *    known phone with a wrong password, or a replayed nonce-count): it is
 *    counted under "ADDR USER", and ban_failures of them within
 *    ban_window ban "ADDR USER" for ban_time.
 *  - Any other failure (unknown From user, another username, garbled
 *    credentials, a From user too long for a key) is guessing: it is
 *    counted under "ADDR".  At the threshold, an address that holds live
 *    registrations (the backend knows) gets only "ADDR USER" banned, for
 *    the From user that failed (no ban when the request has none, rather
 *    than the whole office); any other address gets "ADDR" banned.
 *  - A request is refused when "ADDR" or "ADDR FROMUSER" is banned.
 * Counts and bans live in the state backend (shared by every replica);
 * the thresholds are read from the configuration of each failure, so a
 * reload applies at once and running bans keep their end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/cfgval.h"
#include "pbx/authn.h"
#include "pbx/core.h"
#include "pbx/idhosts.h"
#include "sip/print.h"
#include "state/failtab.h"
#include "util/sbuf.h"

struct authn_ctx {
	authn_done_h *done;
	void *arg;
	struct pbx *pbx;
	const struct kv_config *cfg;   /* referenced by the caller until done */
	struct sip_stx *stx;
	const char *realm;
	const enum cfg_digest_alg *algs;
	size_t algs_n;
	struct sockaddr_storage src;
	bool known;                    /* failures count per (address, user) */
};

/* A failure being counted by the state backend (which may answer later:
 * everything it needs is copied). */
struct fail_ctx {
	struct pbx *pbx;
	struct sockaddr_storage src;
	unsigned failures, window, ban_time;  /* of the failure's configuration */
	bool known;
	struct pl key;                 /* counted: "ADDR USER" or "ADDR", in kbuf */
	struct pl user;                /* From user, in ubuf; empty when none */
	char kbuf[FAILTAB_KEY_MAX + 1];
	char ubuf[FAILTAB_KEY_MAX + 1];
};

static void challenge(struct pbx *pbx, struct sip_stx *stx, const char *realm,
		      const enum cfg_digest_alg *algs, size_t algs_n, bool stale)
{
	char nonce[64];
	struct sbuf sb;

	nonce_make(&pbx->nonce_key, realm, pbx->now(), nonce, sizeof(nonce));
	sbuf_init(&sb);
	digest_challenge_print(&sb, "WWW-Authenticate", realm, nonce, algs,
			       algs_n, stale);
	if (sbuf_err(&sb))
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
	else
		sip_stx_reply(stx, 401, NULL, NULL, sbuf_cstr(&sb), NULL, NULL);
	sbuf_free(&sb);
}

/* Bans end at a wall-clock time that every replica reads alike. */
static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool ban_exempt(const struct kv_config *cfg, const struct sockaddr_storage *src)
{
	for (size_t i = 0; i < cfg->security.ban_exempt_n; i++) {
		if (cfgval_net_match(&cfg->security.ban_exempt[i],
				     (const struct sockaddr *)src))
			return true;
	}
	return false;
}

static void fail_log_error(struct pbx *pbx, const char *what, int err,
			   const struct pl *key)
{
	char kq[FAILTAB_KEY_MAX * 4 + 3];
	uint64_t suppressed = 0;

	if (!log_ratelimit_allow(&pbx->ban_log, uv_now(pbx->loop), &suppressed))
		return;
	log_event(LOG_ERROR, "ban_state_failed", "op=%s key=%s error=%d suppressed=%llu",
		  what, log_q(kq, sizeof(kq), key->p, key->l), err,
		  (unsigned long long)suppressed);
}

/* What a counted failure bans at the threshold, and its scope for the
 * log ("user", "address"); NULL when nothing. */
static const char *ban_key(const struct fail_ctx *fc, bool addr_registered,
			   struct pl *key, char *buf, size_t size)
{
	if (fc->known || !addr_registered) {
		*key = fc->key;
		return fc->known ? "user" : "address";
	}
	/* Guessing from an office: only the name that was tried. */
	if (!pl_isset(&fc->user) ||
	    failtab_key(key, buf, size, (const struct sockaddr *)&fc->src, &fc->user))
		return NULL;
	return "user";
}

static void fail_counted(int err, uint32_t count, bool addr_registered, void *arg)
{
	struct fail_ctx *fc = arg;
	struct pbx *pbx = fc->pbx;
	char buf[FAILTAB_KEY_MAX + 1], kq[FAILTAB_KEY_MAX * 4 + 3], ip[64];
	const char *scope;
	struct pl key;
	uint64_t now;

	if (err) {
		fail_log_error(pbx, "fail_count", err, &fc->key);
		goto out;
	}
	if (count < fc->failures)
		goto out;
	scope = ban_key(fc, addr_registered, &key, buf, sizeof(buf));
	if (!scope)
		goto out;
	now = wall_ms();
	/* Failures counted by another replica, or in flight when the ban
	 * began, must not restart it or log it twice. */
	if (state_banned(pbx->state, &key, now))
		goto out;
	err = state_ban_set(pbx->state, &key, now + (uint64_t)fc->ban_time * 1000);
	if (err) {
		fail_log_error(pbx, "ban_set", err, &key);
		goto out;
	}
	pbx->stats.bans++;
	sip_sockaddr_str((const struct sockaddr *)&fc->src, ip, sizeof(ip));
	log_event(LOG_WARN, "ban", "src=%s key=%s scope=%s failures=%u window=%u ban_time=%u",
		  ip, log_q(kq, sizeof(kq), key.p, key.l), scope, count, fc->window,
		  fc->ban_time);
 out:
	free(fc);
}

/* Count a failed authentication of the request from src (see the file
 * comment); bans past the threshold. */
static void failed(struct pbx *pbx, const struct kv_config *cfg,
		   const struct sip_msg *req, const struct sockaddr_storage *src,
		   bool known)
{
	const struct cfg_security *sec = &cfg->security;
	const struct pl *user = &req->from.uri.user;
	const struct sockaddr *sa = (const struct sockaddr *)src;
	struct fail_ctx *fc;
	int err;

	pbx->stats.auth_failures++;
	if (!sec->ban_failures || ban_exempt(cfg, src))
		return;
	fc = calloc(1, sizeof(*fc));
	if (!fc)
		return;
	fc->pbx = pbx;
	fc->src = *src;
	fc->failures = sec->ban_failures;
	fc->window = sec->ban_window;
	fc->ban_time = sec->ban_time;
	if (pl_isset(user) && user->l < sizeof(fc->ubuf)) {
		memcpy(fc->ubuf, user->p, user->l);
		fc->user.p = fc->ubuf;
		fc->user.l = user->l;
	}
	/* A name too long to key is a name no phone uses: guessing. */
	fc->known = known && !failtab_key(&fc->key, fc->kbuf, sizeof(fc->kbuf), sa, &fc->user);
	if (!fc->known && failtab_key(&fc->key, fc->kbuf, sizeof(fc->kbuf), sa, NULL)) {
		free(fc);
		return;
	}
	err = state_fail_count(pbx->state, &fc->key, sa, sec->ban_window, fail_counted, fc);
	if (err) {
		fail_log_error(pbx, "fail_count", err, &fc->key);
		free(fc);
	}
}

bool authn_banned(struct pbx *pbx, const struct sip_msg *req,
		  const struct sip_peer *src, char *key, size_t size)
{
	const struct kv_config *cfg = pbx->cfg;
	const struct sockaddr *sa = (const struct sockaddr *)&src->addr;
	char buf[FAILTAB_KEY_MAX + 1];
	uint64_t now = wall_ms();
	struct pl k;

	if (!cfg->security.ban_failures || !state_bans_count(pbx->state, now) ||
	    ban_exempt(cfg, &src->addr))
		return false;
	if ((!failtab_key(&k, buf, sizeof(buf), sa, NULL) &&
	     state_banned(pbx->state, &k, now)) ||
	    (pl_isset(&req->from.uri.user) &&
	     !failtab_key(&k, buf, sizeof(buf), sa, &req->from.uri.user) &&
	     state_banned(pbx->state, &k, now))) {
		if (size)
			snprintf(key, size, "%s", buf);
		return true;
	}
	return false;
}

void authn_reconfigure(struct pbx *pbx, const struct kv_config *old,
		       const struct kv_config *cfg)
{
	if (old->security.ban_failures && !cfg->security.ban_failures) {
		state_bans_clear(pbx->state);
		log_event(LOG_INFO, "bans_cleared", "reason=ban_failures_0");
	}
}

/* Does a header value match an identify's match_header value? */
static bool header_value_match(const struct cfg_identify *id, const struct pl *val)
{
	char stack[512], *buf = stack;
	bool match;

	if (!id->match_header_re)
		return pl_eq_str(val, id->match_header_value);
	if (val->l >= sizeof(stack) && !(buf = malloc(val->l + 1)))
		return false;
	memcpy(buf, val->p, val->l);
	buf[val->l] = '\0';
	match = !regexec(id->match_header_re, buf, 0, NULL, 0);
	if (buf != stack)
		free(buf);
	return match;
}

/* The first identify section (in file order) whose match_header a header
 * of req matches: every header of that name is tried, as Asterisk. */
static const struct cfg_endpoint *identify_by_header(const struct kv_config *cfg,
						     const struct sip_msg *req)
{
	for (size_t i = 0; i < cfg->identifies_n; i++) {
		const struct cfg_identify *id = &cfg->identifies[i];

		if (!id->match_header_name || !id->endpoint)
			continue;
		for (unsigned j = 0; j < req->hdrc; j++) {
			const struct sip_hdr *h = &req->hdrv[j];

			if (sip_hdr_named(h, id->match_header_name) &&
			    header_value_match(id, &h->val))
				return id->endpoint;
		}
	}
	return NULL;
}

const struct cfg_endpoint *authn_identify(const struct pbx *pbx,
					  const struct kv_config *cfg,
					  const struct sip_msg *req,
					  const struct sip_peer *src)
{
	const struct cfg_endpoint *ep;
	const struct cfg_registration *reg;
	struct pl line;

	/* Asterisk's line=yes: a request to the Contact of an outbound
	 * registration belongs to that registration's endpoint. */
	if (sip_param_get(&req->ruri.params, "line", &line) &&
	    (reg = config_registration_by_line(cfg, line.p, line.l)) && reg->endpoint)
		return reg->endpoint;
	/* Asterisk's endpoint_identifier_order: ip, username, header.  A
	 * host name's address is a single address: the most specific match. */
	ep = idhosts_match(pbx->idhosts, cfg, (const struct sockaddr *)&src->addr);
	if (!ep)
		ep = config_identify(cfg, (const struct sockaddr *)&src->addr);
	if (!ep && req->from.uri.user.l)
		ep = config_endpoint(cfg, req->from.uri.user.p, req->from.uri.user.l);
	if (!ep)
		ep = identify_by_header(cfg, req);
	return ep;
}

static bool alg_offered(enum cfg_digest_alg alg, const enum cfg_digest_alg *algs,
			size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (algs[i] == alg)
			return true;
	}
	return false;
}

/* Credentials for our realm among the Authorization headers, if any. */
static bool find_cred(const struct sip_msg *req, const char *realm,
		      struct digest_cred *cred, bool *garbled)
{
	*garbled = false;
	for (unsigned i = 0; i < req->hdrc; i++) {
		const struct sip_hdr *h = &req->hdrv[i];

		if (h->id != SIP_HDR_AUTHORIZATION)
			continue;
		if (digest_cred_decode(cred, &h->val)) {
			*garbled = true;
			continue;
		}
		if (pl_eq_str(&cred->realm, realm))
			return true;
	}
	return false;
}

/* H(A1) for the credentials' algorithm, computed when the configuration
 * was loaded; false when the auth section cannot answer that algorithm. */
static const char *ha1_for(const struct cfg_auth *auth, enum cfg_digest_alg alg)
{
	const char *h = alg == CFG_ALG_SHA256 ? auth->ha1_sha256 :
			alg == CFG_ALG_MD5 ? auth->ha1_md5 : "";

	return *h ? h : NULL;
}

static void nonce_checked(bool ok, void *arg)
{
	struct authn_ctx *ctx = arg;

	if (ok) {
		ctx->done(AUTHN_OK, "ok", ctx->arg);
	} else {
		failed(ctx->pbx, ctx->cfg, sip_stx_request(ctx->stx), &ctx->src, ctx->known);
		challenge(ctx->pbx, ctx->stx, ctx->realm, ctx->algs, ctx->algs_n, false);
		ctx->done(AUTHN_FAILED, "nonce_count_replay", ctx->arg);
	}
	free(ctx);
}

void authn_nc_replayed(struct pbx *pbx, const struct kv_config *cfg,
		       struct sip_stx *stx, const struct sip_peer *src,
		       const struct authn_nc *nc)
{
	failed(pbx, cfg, sip_stx_request(stx), &src->addr, nc->known);
	challenge(pbx, stx, nc->realm, nc->algs, nc->algs_n, false);
}

void authn_request(struct pbx *pbx, const struct kv_config *cfg,
		   struct sip_stx *stx, const struct cfg_endpoint *ep,
		   const struct sip_peer *src, authn_done_h *done, void *arg)
{
	authn_request_nc(pbx, cfg, stx, ep, src, NULL, done, arg);
}

void authn_request_nc(struct pbx *pbx, const struct kv_config *cfg,
		      struct sip_stx *stx, const struct cfg_endpoint *ep,
		      const struct sip_peer *src, struct authn_nc *defer,
		      authn_done_h *done, void *arg)
{
	static const char dummy_ha1[] = "00000000000000000000000000000000"
					"00000000000000000000000000000000";
	const struct sip_msg *req = sip_stx_request(stx);
	const struct cfg_auth *auth = ep ? ep->auth : NULL;
	const char *realm = auth ? auth->realm : cfg->default_realm;
	const enum cfg_digest_alg *algs = auth ? auth->algs : cfg->default_algs;
	size_t algs_n = auth ? auth->algs_n : cfg->default_algs_n;
	struct digest_cred cred;
	struct authn_ctx *ctx;
	enum cfg_digest_alg alg;
	enum nonce_status ns;
	struct sip_uri duri;
	uint64_t issued = 0;
	const char *ha1;
	char ncbuf[16];
	bool garbled, known, match = false;
	uint32_t nc = 0;

	if (ep && !ep->auth) {
		done(AUTHN_OK, "no_auth", arg);
		return;
	}

	if (!find_cred(req, realm, &cred, &garbled)) {
		if (garbled)
			failed(pbx, cfg, req, &src->addr, false);
		challenge(pbx, stx, realm, algs, algs_n, false);
		done(garbled ? AUTHN_FAILED : AUTHN_CHALLENGED,
		     garbled ? "bad_credentials" : "challenge", arg);
		return;
	}

	/* RFC 7616 §3.4.6: the digest-uri must be the Request-URI. */
	if (sip_uri_decode(&duri, &cred.uri) || !sip_uri_equal(&duri, &req->ruri)) {
		sip_stx_reply(stx, 400, "Bad Request - digest uri mismatch", NULL,
			      NULL, NULL, NULL);
		done(AUTHN_REJECTED, "digest_uri_mismatch", arg);
		return;
	}

	alg = digest_cred_alg(&cred);
	ns = nonce_verify(&pbx->nonce_key, realm, &cred.nonce, pbx->now(),
			  cfg->security.nonce_lifetime, &issued);

	/* Always compute one digest, so unknown users cost what known do. */
	if (auth && alg && alg_offered(alg, algs, algs_n) &&
	    pl_eq_str(&cred.username, auth->username) && (ha1 = ha1_for(auth, alg))) {
		match = digest_check(&cred, ha1, &req->method);
	} else {
		digest_check(&cred, dummy_ha1, &req->method);
	}

	/* The phone of an existing account: see the file comment. */
	known = auth && pl_eq_str(&cred.username, auth->username) &&
		pl_isset(&req->from.uri.user) &&
		config_endpoint(cfg, req->from.uri.user.p, req->from.uri.user.l) == ep;
	if (!match || ns == NONCE_INVALID) {
		failed(pbx, cfg, req, &src->addr, known);
		challenge(pbx, stx, realm, algs, algs_n, false);
		done(AUTHN_FAILED, "auth_failed", arg);
		return;
	}
	if (ns == NONCE_STALE) {
		challenge(pbx, stx, realm, algs, algs_n, true);
		done(AUTHN_STALE, "stale_nonce", arg);
		return;
	}

	/* Without qop there is no nonce-count to track (RFC 2069 clients). */
	if (!pl_isset(&cred.qop)) {
		done(AUTHN_OK, "ok", arg);
		return;
	}
	if (pl_strcpy(&cred.nc, ncbuf, sizeof(ncbuf)) == 0)
		nc = (uint32_t)strtoul(ncbuf, NULL, 16);
	if (defer) {
		*defer = (struct authn_nc){
			.set = true, .nonce = cred.nonce, .nc = nc,
			.expires_at = issued + cfg->security.nonce_lifetime + 5,
			.known = known, .realm = realm, .algs = algs, .algs_n = algs_n,
		};
		done(AUTHN_OK, "ok", arg);
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		done(AUTHN_REJECTED, "out_of_memory", arg);
		return;
	}
	ctx->done = done;
	ctx->arg = arg;
	ctx->pbx = pbx;
	ctx->cfg = cfg;
	ctx->known = known;
	ctx->stx = stx;
	ctx->realm = realm;
	ctx->algs = algs;
	ctx->algs_n = algs_n;
	ctx->src = src->addr;
	/* A backend that refuses the query (bad nc) never calls back. */
	if (state_nonce_use(pbx->state, &cred.nonce, nc,
			    issued + cfg->security.nonce_lifetime + 5,
			    nonce_checked, ctx))
		nonce_checked(false, ctx);
}
