/*
 * auth.h - SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760:
 * MD5 and SHA-256, qop=auth): the server side (credentials, checks,
 * nonces, challenges) and the client side (reading a challenge and
 * answering it, for outbound registrations and requests to providers).
 *
 * Nonces are stateless: base64url(issue time || salt || HMAC-SHA256(secret,
 * issue time || salt || realm) truncated).  Any process that knows the secret can verify
 * a nonce it never issued (another replica, or this one after a restart),
 * and an expired nonce is recognised as such (stale=true).  Replay of a
 * nonce-count is tracked by the state backend (state_nonce_use()), not here.
 */
#ifndef KV_SIP_AUTH_H
#define KV_SIP_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/types.h"
#include "util/pl.h"
#include "util/sbuf.h"

/* Parsed Authorization / Proxy-Authorization value (slices). */
struct digest_cred {
	struct pl username, realm, nonce, uri, response, algorithm;
	struct pl cnonce, opaque, qop, nc;
	bool userhash;
};

/* Parses 'Digest k=v, k="v", ...'.  Fails (EINVAL) when the scheme is not
 * Digest, on syntax errors, and when username/realm/nonce/uri/response is
 * missing or a parameter is repeated. */
int digest_cred_decode(struct digest_cred *c, const struct pl *val);

/* Algorithm named by the credentials (absent means MD5); 0 if unknown. */
enum cfg_digest_alg digest_cred_alg(const struct digest_cred *c);
const char *digest_alg_name(enum cfg_digest_alg alg);  /* "MD5", "SHA-256" */

/* Hex length of a digest for alg (32 or 64). */
size_t digest_hex_len(enum cfg_digest_alg alg);

/* H(username:realm:password) as lowercase hex into out (>= 65 bytes). */
void digest_ha1(enum cfg_digest_alg alg, const char *user, const char *realm,
		const char *password, char *out);

/*
 * Check c->response for this request.  ha1 is the hex H(A1) for the
 * credentials' algorithm.  method is the request method.  Returns true when
 * the response matches (constant-time comparison).
 */
bool digest_check(const struct digest_cred *c, const char *ha1,
		  const struct pl *method);

struct nonce_key {
	uint8_t secret[32];
};

/* Derive the HMAC key from configured secret text (any length). */
void nonce_key_init(struct nonce_key *k, const void *secret, size_t len);

/* Writes a NUL-terminated nonce (< 64 chars) for realm issued at now
 * (unix seconds), unique per call (random salt); "" on failure. */
void nonce_make(const struct nonce_key *k, const char *realm, uint64_t now,
		char *out, size_t size);
/* The same with a given salt: a pinned format for tests. */
#define NONCE_SALT_LEN 6
void nonce_make_salted(const struct nonce_key *k, const char *realm,
		       uint64_t now, const uint8_t salt[NONCE_SALT_LEN],
		       char *out, size_t size);

enum nonce_status { NONCE_VALID, NONCE_STALE, NONCE_INVALID };

/* Validates a nonce: INVALID if forged/garbled/for another realm or issued
 * in the future (beyond 5 s skew), STALE if older than lifetime seconds.
 * *issued gets the issue time when not INVALID. */
enum nonce_status nonce_verify(const struct nonce_key *k, const char *realm,
			       const struct pl *nonce, uint64_t now,
			       uint32_t lifetime, uint64_t *issued);

/*
 * Append one challenge header line per algorithm, in order:
 * 'hdr: Digest realm="R", nonce="N", opaque="O", algorithm=A, qop="auth"'
 * (plus ', stale=true' when stale).  hdr is "WWW-Authenticate" or
 * "Proxy-Authenticate".
 */
void digest_challenge_print(struct sbuf *sb, const char *hdr, const char *realm,
			    const char *nonce, const enum cfg_digest_alg *algs,
			    size_t algs_n, bool stale);

/* --- client side -------------------------------------------------------- */

/* A parsed WWW-Authenticate / Proxy-Authenticate value (slices; realm,
 * nonce and opaque as written between the quotes, to be echoed). */
struct digest_chal {
	struct pl realm, nonce, opaque, algorithm;
	bool stale;
	bool qop_auth;           /* qop offered and "auth" among its values */
	bool qop_other;          /* qop offered without "auth" (auth-int only) */
};

/* Parses 'Digest k=v, ...'.  EINVAL when the scheme is not Digest, on
 * syntax errors, and when realm or nonce is missing. */
int digest_chal_decode(struct digest_chal *c, const struct pl *val);
/* Algorithm the challenge asks for (absent means MD5); 0 if unknown. */
enum cfg_digest_alg digest_chal_alg(const struct digest_chal *c);

/*
 * Append 'hdr: Digest username=..., realm=..., nonce=..., uri=...,
 * response=..., algorithm=A[, cnonce=..., qop=auth, nc=N][, opaque=...]'
 * answering chal for method and uri (the Request-URI as sent).  ha1 is
 * H(username:realm:password) for the challenge's algorithm (lowercase
 * hex, see digest_ha1()).  qop=auth is used when offered, with nc (the
 * count of requests made with this nonce) and cnonce (unique per
 * request); without qop, the RFC 2069 form.  EINVAL for an algorithm we
 * do not speak, a challenge that offers only auth-int, or a username or
 * uri that a quoted string cannot hold.
 */
int digest_answer_print(struct sbuf *sb, const char *hdr, const struct digest_chal *chal,
			const char *username, const char *ha1, const char *method,
			const char *uri, uint32_t nc, const char *cnonce);

#endif
