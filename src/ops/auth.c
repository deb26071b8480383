/*
 * auth.c - the bearer token of the guarded ops endpoints, and what counts
 * as a loopback client (see auth.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ops/auth.h"

static int digest(const char *s, size_t len, unsigned char out[OPS_TOKEN_DIGEST])
{
	unsigned int n = 0;

	if (!EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) || n != OPS_TOKEN_DIGEST)
		return EIO;
	return 0;
}

int ops_token_set(struct ops_token *t, const char *token)
{
	struct ops_token nt;

	memset(&nt, 0, sizeof(nt));
	if (token && *token) {
		if (digest(token, strlen(token), nt.digest))
			return EIO;
		nt.set = true;
	}
	*t = nt;
	OPENSSL_cleanse(&nt, sizeof(nt));
	return 0;
}

bool ops_addr_loopback(const struct sockaddr *sa)
{
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_LOOPBACK(a))
			return true;
		return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
	}
	return false;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* "Bearer TOKEN" (RFC 6750 §2.1; the scheme is case-insensitive, RFC
 * 7235 §2.1): TOKEN and its length, or NULL. */
static const char *bearer(const char *h, size_t *len)
{
	const char *p, *end;

	if (strncasecmp(h, "Bearer", 6) || !blank(h[6]))
		return NULL;
	for (p = h + 6; blank(*p); p++)
		;
	for (end = p + strlen(p); end > p && blank(end[-1]); end--)
		;
	*len = (size_t)(end - p);
	return *len ? p : NULL;
}

enum ops_auth ops_auth_check(const struct ops_token *t, const char *authorization,
			     const struct sockaddr *peer)
{
	unsigned char d[OPS_TOKEN_DIGEST];
	const char *tok;
	size_t len = 0;
	bool same;

	if (!t->set)
		return ops_addr_loopback(peer) ? OPS_AUTH_OK : OPS_AUTH_NOT_LOOPBACK;
	if (!authorization || !*authorization)
		return OPS_AUTH_MISSING;
	tok = bearer(authorization, &len);
	if (!tok || digest(tok, len, d))
		return OPS_AUTH_WRONG;
	same = !CRYPTO_memcmp(d, t->digest, sizeof(d));
	OPENSSL_cleanse(d, sizeof(d));
	return same ? OPS_AUTH_OK : OPS_AUTH_WRONG;
}
