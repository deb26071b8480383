/*
 * authn.c - digest authentication of requests from endpoints.
 *
 * Unknown users get the challenge of the default realm and algorithms and
 * cost one digest computation like everybody else, so neither the answers
 * nor their timing reveal which accounts exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/authn.h"
#include "pbx/core.h"
#include "sip/print.h"
#include "util/sbuf.h"

struct authn_ctx {
	authn_done_h *done;
	void *arg;
	struct pbx *pbx;
	struct sip_stx *stx;
	const char *realm;
	const enum cfg_digest_alg *algs;
	size_t algs_n;
	struct sockaddr_storage src;
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

/* Count a failed authentication; bans the source past the threshold. */
static void failed(struct pbx *pbx, const struct sockaddr_storage *src)
{
	char ip[64];

	pbx->stats.auth_failures++;
	if (!banlist_fail(pbx->bans, (const struct sockaddr *)src, uv_now(pbx->loop)))
		return;
	pbx->stats.bans++;
	sip_sockaddr_str((const struct sockaddr *)src, ip, sizeof(ip));
	log_event(LOG_WARN, "ban", "src=%s failures=%u window=%u ban_time=%u", ip,
		  pbx->cfg->security.ban_failures, pbx->cfg->security.ban_window,
		  pbx->cfg->security.ban_time);
}

const struct cfg_endpoint *authn_identify(const struct kv_config *cfg,
					  const struct sip_msg *req,
					  const struct sip_peer *src)
{
	const struct cfg_endpoint *ep;

	ep = config_identify(cfg, (const struct sockaddr *)&src->addr);
	if (!ep && req->from.uri.user.l)
		ep = config_endpoint(cfg, req->from.uri.user.p, req->from.uri.user.l);
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
		failed(ctx->pbx, &ctx->src);
		challenge(ctx->pbx, ctx->stx, ctx->realm, ctx->algs, ctx->algs_n, false);
		ctx->done(AUTHN_FAILED, "nonce_count_replay", ctx->arg);
	}
	free(ctx);
}

void authn_request(struct pbx *pbx, const struct kv_config *cfg,
		   struct sip_stx *stx, const struct cfg_endpoint *ep,
		   const struct sip_peer *src, authn_done_h *done, void *arg)
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
	bool garbled, match = false;
	uint32_t nc = 0;

	if (ep && !ep->auth) {
		done(AUTHN_OK, "no_auth", arg);
		return;
	}

	if (!find_cred(req, realm, &cred, &garbled)) {
		if (garbled)
			failed(pbx, &src->addr);
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

	if (!match || ns == NONCE_INVALID) {
		failed(pbx, &src->addr);
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
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		done(AUTHN_REJECTED, "out_of_memory", arg);
		return;
	}
	ctx->done = done;
	ctx->arg = arg;
	ctx->pbx = pbx;
	ctx->stx = stx;
	ctx->realm = realm;
	ctx->algs = algs;
	ctx->algs_n = algs_n;
	ctx->src = src->addr;
	if (pl_strcpy(&cred.nc, ncbuf, sizeof(ncbuf)) == 0)
		nc = (uint32_t)strtoul(ncbuf, NULL, 16);
	/* A backend that refuses the query (bad nc) never calls back. */
	if (state_nonce_use(pbx->state, &cred.nonce, nc,
			    issued + cfg->security.nonce_lifetime + 5,
			    nonce_checked, ctx))
		nonce_checked(false, ctx);
}
