/*
 * uacauth.c - digest answers to providers' challenges (see uacauth.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx/uacauth.h"
#include "sip/auth.h"
#include "util/rand.h"

#define MAX_CHALLENGES 4

/* The H(A1) for this challenge: from the password with the challenge's
 * realm, else the stored digest when the realms agree. */
static bool ha1_for(const struct cfg_auth *a, const struct digest_chal *ch,
		    enum cfg_digest_alg alg, char *out)
{
	char realm[256];
	const char *stored;

	if (ch->realm.l >= sizeof(realm))
		return false;
	memcpy(realm, ch->realm.p, ch->realm.l);
	realm[ch->realm.l] = '\0';
	if (a->password) {
		digest_ha1(alg, a->username, realm, a->password, out);
		return strlen(out) == digest_hex_len(alg);
	}
	stored = alg == CFG_ALG_SHA256 ? a->ha1_sha256 : a->ha1_md5;
	if (!a->realm || strcmp(a->realm, realm) || strlen(stored) != digest_hex_len(alg))
		return false;
	memcpy(out, stored, strlen(stored) + 1);
	return true;
}

static bool copy_pl(char *dst, size_t size, const struct pl *pl)
{
	if (pl->l >= size)
		return false;
	memcpy(dst, pl->p, pl->l);
	dst[pl->l] = '\0';
	return true;
}

int uac_auth_take(struct uac_auth *ua, const struct cfg_auth *a, const struct sip_msg *resp,
		  const char **why)
{
	bool www = resp->scode == 401;
	enum sip_hdr_id id = www ? SIP_HDR_WWW_AUTHENTICATE : SIP_HDR_PROXY_AUTHENTICATE;
	struct uac_chal *an = www ? &ua->www : &ua->proxy;
	struct digest_chal ch;
	bool found = false;

	if (!a) {
		*why = "no_outbound_auth";
		return EACCES;
	}
	for (unsigned i = 0; i < resp->hdrc && !found; i++) {
		if (resp->hdrv[i].id != id || digest_chal_decode(&ch, &resp->hdrv[i].val))
			continue;
		found = digest_chal_alg(&ch) && !ch.qop_other;
	}
	if (!found) {
		*why = "no_usable_challenge";
		return EACCES;
	}
	if (an->set && !ch.stale) {
		*why = "credentials_refused";
		return EACCES;
	}
	if (++ua->challenges > MAX_CHALLENGES) {
		*why = "too_many_challenges";
		return EACCES;
	}
	memset(an, 0, sizeof(*an));
	if (!copy_pl(an->realm, sizeof(an->realm), &ch.realm) ||
	    !copy_pl(an->nonce, sizeof(an->nonce), &ch.nonce) ||
	    (ch.opaque.p && !copy_pl(an->opaque, sizeof(an->opaque), &ch.opaque))) {
		*why = "challenge_too_long";
		return EACCES;
	}
	an->has_opaque = ch.opaque.p != NULL;
	snprintf(an->alg, sizeof(an->alg), "%s", digest_alg_name(digest_chal_alg(&ch)));
	an->qop_auth = ch.qop_auth;
	an->set = true;
	return 0;
}

static int chal_print(struct uac_chal *an, const struct cfg_auth *a, const char *hdr,
		      const char *method, const char *uri, struct sbuf *sb)
{
	struct digest_chal ch;
	char ha1[65], cnonce[17];

	memset(&ch, 0, sizeof(ch));
	pl_set_str(&ch.realm, an->realm);
	pl_set_str(&ch.nonce, an->nonce);
	pl_set_str(&ch.algorithm, an->alg);
	if (an->has_opaque)
		pl_set_str(&ch.opaque, an->opaque);
	ch.qop_auth = an->qop_auth;
	if (!ha1_for(a, &ch, digest_chal_alg(&ch), ha1))
		return ENOENT;
	rand_hex(cnonce, sizeof(cnonce));
	return digest_answer_print(sb, hdr, &ch, a->username, ha1, method, uri, ++an->nc,
				   cnonce);
}

int uac_auth_print(struct uac_auth *ua, const struct cfg_auth *a, const char *method,
		   const char *uri, struct sbuf *sb)
{
	int err = 0;

	if (ua->proxy.set)
		err = chal_print(&ua->proxy, a, "Proxy-Authorization", method, uri, sb);
	if (!err && ua->www.set)
		err = chal_print(&ua->www, a, "Authorization", method, uri, sb);
	if (!err && sbuf_err(sb))
		err = ENOMEM;
	return err;
}
