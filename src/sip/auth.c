/*
 * auth.c - SIP digest authentication.  Server side: credential parsing,
 * response checking (MD5 and SHA-256, qop=auth or none), stateless HMAC
 * nonces and challenge printing.  Client side: challenge parsing and the
 * credentials that answer it.
 *
 * Decisions worth knowing:
 *  - qop other than "auth" (auth-int) makes digest_cred_decode() fail, so
 *    the registrar simply re-challenges; we never offer auth-int.
 *  - username and uri are hashed exactly as they appear between the quotes.
 *    Clients hash what they send, and no real client escapes inside them.
 *  - opaque is a fixed function of the nonce and is not checked on the way
 *    back: the nonce already carries an HMAC, so opaque protects nothing.
 *    A client returning it (as RFC 7616 requires) is accepted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sip/auth.h"
#include "sip/lex.h"
#include "util/rand.h"

/*
 * Issue time (8 bytes), a random salt (6 bytes) and a truncated
 * HMAC-SHA256 (16 bytes).  The salt makes every challenge's nonce unique,
 * so the nonce-count of two clients challenged in the same second never
 * collides in the replay check.
 */
#define NONCE_TIME_LEN	8
#define NONCE_MAC_LEN	16
#define NONCE_HEAD_LEN	(NONCE_TIME_LEN + NONCE_SALT_LEN)
#define NONCE_RAW_LEN	(NONCE_HEAD_LEN + NONCE_MAC_LEN)
#define NONCE_B64_LEN	40	/* 30 bytes -> 40 base64 chars, no padding */
#define NONCE_SKEW	5	/* seconds a nonce may come from the future */

#define HEX_MAX		64	/* SHA-256 */

/* Which known parameter has been seen; a repeat is an error. */
enum {
	P_USERNAME = 1 << 0,
	P_REALM    = 1 << 1,
	P_NONCE    = 1 << 2,
	P_URI      = 1 << 3,
	P_RESPONSE = 1 << 4,
	P_ALG      = 1 << 5,
	P_CNONCE   = 1 << 6,
	P_OPAQUE   = 1 << 7,
	P_QOP      = 1 << 8,
	P_NC       = 1 << 9,
	P_USERHASH = 1 << 10,
};

#define P_REQUIRED (P_USERNAME | P_REALM | P_NONCE | P_URI | P_RESPONSE)

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* --- credential parsing ------------------------------------------------ */

/* The parser hands us folded values with CRLF+WSP inside: all of it is
 * LWS (sip/lex.h's classes are RFC 3261's, shared with the parser). */
static bool pl_is_hex(const struct pl *pl, size_t len)
{
	return pl->l == len && lex_span(pl->p, len, LEX_HEX) == len;
}

struct scan {
	const char *p;
	const char *end;
};

static void scan_lws(struct scan *s)
{
	s->p += lex_span(s->p, (size_t)(s->end - s->p), LEX_LWS);
}

static int scan_token(struct scan *s, struct pl *tok)
{
	tok->p = s->p;
	tok->l = lex_span(s->p, (size_t)(s->end - s->p), LEX_TOKEN);
	s->p += tok->l;
	return tok->l ? 0 : EINVAL;
}

/* quoted-string: the slice is the content, escapes left as written.
 * Stricter than sip_lex_quoted(), which the message parser needs liberal
 * (RFC 4475): a control byte has no place in a credential. */
static int scan_quoted(struct scan *s, struct pl *val)
{
	s->p++;		/* opening quote */
	val->p = s->p;
	while (s->p < s->end) {
		unsigned char c = (unsigned char)*s->p;

		if (c == '"') {
			val->l = (size_t)(s->p - val->p);
			s->p++;
			return 0;
		}
		if (c == '\\') {
			/* quoted-pair excludes CR and LF (RFC 3261 §25.1) */
			if (s->p + 1 >= s->end || s->p[1] == '\r' ||
			    s->p[1] == '\n' || s->p[1] == '\0')
				return EINVAL;
			s->p += 2;
			continue;
		}
		if (c < 0x20 && !lex_is((char)c, LEX_LWS))
			return EINVAL;
		if (c == 0x7f)
			return EINVAL;
		s->p++;
	}
	return EINVAL;	/* unterminated */
}

/* Maps a parameter name to its slot, or 0 for one we do not know. */
static int cred_slot(struct digest_cred *c, const struct pl *name,
		     struct pl **dst)
{
	static const struct {
		const char *name;
		int bit;
		size_t off;
	} tab[] = {
		{"username",  P_USERNAME, offsetof(struct digest_cred, username)},
		{"realm",     P_REALM,    offsetof(struct digest_cred, realm)},
		{"nonce",     P_NONCE,    offsetof(struct digest_cred, nonce)},
		{"uri",       P_URI,      offsetof(struct digest_cred, uri)},
		{"response",  P_RESPONSE, offsetof(struct digest_cred, response)},
		{"algorithm", P_ALG,      offsetof(struct digest_cred, algorithm)},
		{"cnonce",    P_CNONCE,   offsetof(struct digest_cred, cnonce)},
		{"opaque",    P_OPAQUE,   offsetof(struct digest_cred, opaque)},
		{"qop",       P_QOP,      offsetof(struct digest_cred, qop)},
		{"nc",        P_NC,       offsetof(struct digest_cred, nc)},
	};

	*dst = NULL;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (pl_eqcase_str(name, tab[i].name)) {
			*dst = (struct pl *)((char *)c + tab[i].off);
			return tab[i].bit;
		}
	}
	if (pl_eqcase_str(name, "userhash"))
		return P_USERHASH;
	return 0;
}

/* Checks that only depend on the parsed values, after the whole header. */
static int cred_validate(struct digest_cred *c, int seen)
{
	enum cfg_digest_alg alg;

	if ((seen & P_REQUIRED) != P_REQUIRED)
		return EINVAL;

	alg = digest_cred_alg(c);
	if (alg) {
		if (!pl_is_hex(&c->response, digest_hex_len(alg)))
			return EINVAL;
	} else {
		/* Unsupported algorithm: let the caller re-challenge, but the
		 * value must still look like a digest. */
		if (!c->response.l || c->response.l > 128 ||
		    !pl_is_hex(&c->response, c->response.l))
			return EINVAL;
	}

	if ((seen & P_NC) && !pl_is_hex(&c->nc, 8))
		return EINVAL;

	if (seen & P_QOP) {
		if (!pl_eqcase_str(&c->qop, "auth"))
			return EINVAL;
		/* RFC 7616 §3.4: with qop, cnonce and nc are mandatory. */
		if (!(seen & P_CNONCE) || !(seen & P_NC))
			return EINVAL;
	}
	return 0;
}

/* One k=v item starting at s->p; fills the slot of a known parameter. */
static int cred_param(struct digest_cred *c, struct scan *s, int *seen)
{
	struct pl name, v, *dst;
	int bit;

	scan_lws(s);
	if (scan_token(s, &name))
		return EINVAL;
	scan_lws(s);
	if (s->p >= s->end || *s->p != '=')
		return EINVAL;
	s->p++;
	scan_lws(s);
	if (s->p >= s->end)
		return EINVAL;
	if (*s->p == '"') {
		if (scan_quoted(s, &v))
			return EINVAL;
	} else if (scan_token(s, &v)) {
		return EINVAL;
	}

	bit = cred_slot(c, &name, &dst);
	if (!bit)
		return 0;	/* unknown parameters are ignored */
	if (*seen & bit)
		return EINVAL;
	*seen |= bit;
	if (dst) {
		*dst = v;
		return 0;
	}
	if (pl_eqcase_str(&v, "true")) {
		c->userhash = true;
		return 0;
	}
	return pl_eqcase_str(&v, "false") ? 0 : EINVAL;
}

/* "Digest" LWS param *("," param), each param read by ph into obj: the
 * shape shared by credentials and challenges (RFC 7616 §3.3, §3.4). */
typedef int (digest_param_h)(void *obj, struct scan *s, int *seen);

static int digest_params(const struct pl *val, digest_param_h *ph, void *obj, int *seen)
{
	struct scan s;
	struct pl scheme;
	int err;

	if (!val || !val->p)
		return EINVAL;
	s.p = val->p;
	s.end = val->p + val->l;
	scan_lws(&s);
	if (scan_token(&s, &scheme) || !pl_eqcase_str(&scheme, "Digest"))
		return EINVAL;
	if (s.p >= s.end || !lex_is(*s.p, LEX_LWS))
		return EINVAL;
	for (;;) {
		err = ph(obj, &s, seen);
		if (err)
			return err;
		scan_lws(&s);
		if (s.p >= s.end)
			return 0;
		if (*s.p != ',')
			return EINVAL;
		s.p++;
	}
}

static int cred_param_h(void *obj, struct scan *s, int *seen)
{
	return obj ? cred_param(obj, s, seen) : EINVAL;
}

int digest_cred_decode(struct digest_cred *c, const struct pl *val)
{
	int seen = 0;
	int err;

	if (!c)
		return EINVAL;
	memset(c, 0, sizeof(*c));
	err = digest_params(val, cred_param_h, c, &seen);
	if (!err)
		err = cred_validate(c, seen);
	if (err)
		memset(c, 0, sizeof(*c));
	return err;
}

/* RFC 7616 §3.3: no algorithm parameter means MD5. */
static enum cfg_digest_alg alg_of(const struct pl *algorithm)
{
	if (!algorithm->l || pl_eqcase_str(algorithm, "MD5"))
		return CFG_ALG_MD5;
	if (pl_eqcase_str(algorithm, "SHA-256"))
		return CFG_ALG_SHA256;
	return 0;
}

enum cfg_digest_alg digest_cred_alg(const struct digest_cred *c)
{
	return alg_of(&c->algorithm);
}

const char *digest_alg_name(enum cfg_digest_alg alg)
{
	switch (alg) {
	case CFG_ALG_MD5:
		return "MD5";
	case CFG_ALG_SHA256:
		return "SHA-256";
	}
	return "unknown";
}

size_t digest_hex_len(enum cfg_digest_alg alg)
{
	switch (alg) {
	case CFG_ALG_MD5:
		return 32;
	case CFG_ALG_SHA256:
		return 64;
	}
	return 0;
}

/* --- hashing ----------------------------------------------------------- */

/*
 * OpenSSL 3 looks a digest up in its providers on every EVP_md5() based
 * init, and EVP_MD_CTX_new() allocates: together they cost more than
 * hashing a REGISTER's few dozen bytes.  The digests are fetched once per
 * process and each thread reuses one context.
 */
static EVP_MD *md_md5, *md_sha256;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static __thread EVP_MD_CTX *md_ctx;

static void md_fetch(void)
{
	md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *alg_md(enum cfg_digest_alg alg)
{
	pthread_once(&md_once, md_fetch);
	switch (alg) {
	case CFG_ALG_MD5:
		return md_md5;
	case CFG_ALG_SHA256:
		return md_sha256;
	}
	return NULL;
}

static EVP_MD_CTX *thread_md_ctx(void)
{
	if (!md_ctx)
		md_ctx = EVP_MD_CTX_new();
	return md_ctx;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/*
 * H(part0:part1:...:partN) as lowercase hex into out (>= HEX_MAX + 1).
 * On a libcrypto failure out is left empty, which never matches anything.
 */
static void hash_parts(enum cfg_digest_alg alg, const struct pl *parts,
		       size_t n, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *type = alg_md(alg);
	EVP_MD_CTX *ctx = thread_md_ctx();
	int ok;

	out[0] = '\0';
	if (!type || !ctx)
		return;
	ok = EVP_DigestInit_ex2(ctx, type, NULL);
	for (size_t i = 0; ok && i < n; i++) {
		if (i)
			ok = EVP_DigestUpdate(ctx, ":", 1);
		if (ok && parts[i].l)
			ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].l);
	}
	if (ok)
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
	if (ok && mdlen * 2 <= HEX_MAX)
		hex_encode(md, mdlen, out);
}

void digest_ha1(enum cfg_digest_alg alg, const char *user, const char *realm,
		const char *password, char *out)
{
	struct pl parts[3];

	pl_set_str(&parts[0], user);
	pl_set_str(&parts[1], realm);
	pl_set_str(&parts[2], password);
	hash_parts(alg, parts, 3, out);
}

bool digest_check(const struct digest_cred *c, const char *ha1,
		  const struct pl *method)
{
	char ha2[HEX_MAX + 1], want[HEX_MAX + 1], got[HEX_MAX + 1];
	enum cfg_digest_alg alg = digest_cred_alg(c);
	size_t hexlen = digest_hex_len(alg);
	struct pl parts[6];

	if (!hexlen || !ha1 || !method || strlen(ha1) != hexlen ||
	    c->response.l != hexlen)
		return false;

	parts[0] = *method;
	parts[1] = c->uri;
	hash_parts(alg, parts, 2, ha2);
	if (strlen(ha2) != hexlen)
		return false;

	pl_set_str(&parts[0], ha1);
	parts[1] = c->nonce;
	if (c->qop.l) {
		parts[2] = c->nc;
		parts[3] = c->cnonce;
		parts[4] = c->qop;
		pl_set_str(&parts[5], ha2);
		hash_parts(alg, parts, 6, want);
	} else {
		pl_set_str(&parts[2], ha2);
		hash_parts(alg, parts, 3, want);
	}
	if (strlen(want) != hexlen)
		return false;

	/* Some clients send upper-case hex; the digest is the same. */
	for (size_t i = 0; i < hexlen; i++) {
		char ch = c->response.p[i];
		got[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
	}
	return CRYPTO_memcmp(want, got, hexlen) == 0;
}

/* --- stateless nonces -------------------------------------------------- */

void nonce_key_init(struct nonce_key *k, const void *secret, size_t len)
{
	unsigned int n = 0;

	/* A zero or partial key would make every nonce forgeable; running
	 * without a working SHA-256 is not an option. */
	if (!EVP_Digest(secret, len, k->secret, &n, EVP_sha256(), NULL) ||
	    n != sizeof(k->secret))
		abort();
}

/*
 * Setting up an OpenSSL 3 MAC context (provider lookups for HMAC and
 * SHA-256, key schedule) costs more than the MAC itself.  Each thread keeps
 * one context keyed with the last secret it used and re-initialises it per
 * nonce with a NULL key, which restarts from the kept key schedule; the
 * secret only changes on reload.
 */
static __thread EVP_MAC_CTX *mac_ctx;
static __thread uint8_t mac_key[32];

static EVP_MAC_CTX *mac_ctx_for(const struct nonce_key *k)
{
	OSSL_PARAM params[2];
	EVP_MAC *m;

	if (mac_ctx && !memcmp(mac_key, k->secret, sizeof(mac_key)))
		return EVP_MAC_init(mac_ctx, NULL, 0, NULL) ? mac_ctx : NULL;

	EVP_MAC_CTX_free(mac_ctx);
	mac_ctx = NULL;
	m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!m)
		return NULL;
	mac_ctx = EVP_MAC_CTX_new(m);
	EVP_MAC_free(m);
	if (!mac_ctx)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(mac_ctx, k->secret, sizeof(k->secret), params)) {
		EVP_MAC_CTX_free(mac_ctx);
		mac_ctx = NULL;
		return NULL;
	}
	memcpy(mac_key, k->secret, sizeof(mac_key));
	return mac_ctx;
}

static int nonce_mac(const struct nonce_key *k, const char *realm,
		     const uint8_t tbuf[NONCE_HEAD_LEN],
		     uint8_t mac[NONCE_MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t outl = 0;
	EVP_MAC_CTX *ctx = mac_ctx_for(k);

	if (!ctx)
		return EIO;
	if (!EVP_MAC_update(ctx, tbuf, NONCE_HEAD_LEN))
		return EIO;
	if (realm && *realm &&
	    !EVP_MAC_update(ctx, (const unsigned char *)realm, strlen(realm)))
		return EIO;
	if (!EVP_MAC_final(ctx, full, &outl, sizeof(full)) ||
	    outl < NONCE_MAC_LEN)
		return EIO;
	memcpy(mac, full, NONCE_MAC_LEN);
	return 0;
}

static void time_put(uint8_t *b, uint64_t t)
{
	for (int i = NONCE_TIME_LEN - 1; i >= 0; i--) {
		b[i] = (uint8_t)(t & 0xff);
		t >>= 8;
	}
}

static uint64_t time_get(const uint8_t *b)
{
	uint64_t t = 0;

	for (int i = 0; i < NONCE_TIME_LEN; i++)
		t = (t << 8) | b[i];
	return t;
}

/* in is a multiple of 3 bytes, so there is never any padding. */
static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
			     in[i + 2];
		out[o++] = b64url[(v >> 18) & 0x3f];
		out[o++] = b64url[(v >> 12) & 0x3f];
		out[o++] = b64url[(v >> 6) & 0x3f];
		out[o++] = b64url[v & 0x3f];
	}
	out[o] = '\0';
}

/* The 6-bit value of a base64url digit, -1 for any other byte. */
static int b64url_val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes exactly NONCE_B64_LEN characters into NONCE_RAW_LEN bytes. */
static int b64url_decode_nonce(const struct pl *in, uint8_t *out)
{
	size_t o = 0;

	if (!in->p || in->l != NONCE_B64_LEN)
		return EINVAL;
	for (size_t i = 0; i < NONCE_B64_LEN; i += 4) {
		uint32_t v = 0;

		for (size_t j = 0; j < 4; j++) {
			int d = b64url_val(in->p[i + j]);
			if (d < 0)
				return EINVAL;
			v = v << 6 | (uint32_t)d;
		}
		out[o++] = (uint8_t)(v >> 16);
		out[o++] = (uint8_t)(v >> 8);
		out[o++] = (uint8_t)v;
	}
	return 0;
}

void nonce_make_salted(const struct nonce_key *k, const char *realm,
		       uint64_t now, const uint8_t salt[NONCE_SALT_LEN],
		       char *out, size_t size)
{
	uint8_t raw[NONCE_RAW_LEN];

	if (!size)
		return;
	out[0] = '\0';
	if (size < NONCE_B64_LEN + 1)
		return;
	time_put(raw, now);
	memcpy(raw + NONCE_TIME_LEN, salt, NONCE_SALT_LEN);
	if (nonce_mac(k, realm, raw, raw + NONCE_HEAD_LEN))
		return;
	b64url_encode(raw, sizeof(raw), out);
}

/*
 * The salt only has to tell apart the nonces of one second (the HMAC makes
 * them unforgeable): 48 bits of util/rand, which costs no system call.  At
 * 1000 challenges a second two collide about once in 18 years, and then
 * only cost one of the two clients a fresh challenge (nonce-count check).
 */
void nonce_make(const struct nonce_key *k, const char *realm, uint64_t now,
		char *out, size_t size)
{
	uint8_t salt[NONCE_SALT_LEN];
	uint64_t v = rand_u64();

	for (size_t i = 0; i < NONCE_SALT_LEN; i++)
		salt[i] = (uint8_t)(v >> (8 * i));
	nonce_make_salted(k, realm, now, salt, out, size);
}

enum nonce_status nonce_verify(const struct nonce_key *k, const char *realm,
			       const struct pl *nonce, uint64_t now,
			       uint32_t lifetime, uint64_t *issued)
{
	uint8_t raw[NONCE_RAW_LEN], mac[NONCE_MAC_LEN];
	uint64_t t;

	if (!nonce || b64url_decode_nonce(nonce, raw))
		return NONCE_INVALID;
	if (nonce_mac(k, realm, raw, mac))
		return NONCE_INVALID;
	if (CRYPTO_memcmp(mac, raw + NONCE_HEAD_LEN, NONCE_MAC_LEN) != 0)
		return NONCE_INVALID;

	t = time_get(raw);
	if (t > now && t - now > NONCE_SKEW)
		return NONCE_INVALID;
	if (issued)
		*issued = t;
	if (now > t && now - t > lifetime)
		return NONCE_STALE;
	return NONCE_VALID;
}

/* --- challenges -------------------------------------------------------- */

/* Realms come from configuration; keep the quoted-string well formed.
 * Runs without special characters are appended whole. */
static void print_quoted(struct sbuf *sb, const char *s)
{
	sbuf_append(sb, "\"", 1);
	while (*s) {
		size_t run = strcspn(s, "\"\\\r\n");

		sbuf_append(sb, s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\')
			sbuf_append(sb, "\\", 1);
		if (*s != '\r' && *s != '\n')
			sbuf_append(sb, s, 1);
		s++;
	}
	sbuf_append(sb, "\"", 1);
}

/* opaque = first 8 bytes of SHA-256(nonce), hex: same for every line of a
 * challenge and reproducible by any replica. */
static void opaque_make(const char *nonce, char out[17])
{
	char hex[HEX_MAX + 1];
	struct pl part;

	pl_set_str(&part, nonce);
	hash_parts(CFG_ALG_SHA256, &part, 1, hex);
	out[0] = '\0';
	if (strlen(hex) >= 16) {
		memcpy(out, hex, 16);
		out[16] = '\0';
	}
}

/*
 * Same shape as Asterisk (pjsip) challenges: no space after the commas,
 * stale between opaque and algorithm.
 */
void digest_challenge_print(struct sbuf *sb, const char *hdr, const char *realm,
			    const char *nonce, const enum cfg_digest_alg *algs,
			    size_t algs_n, bool stale)
{
	char opaque[17];

	opaque_make(nonce, opaque);
	for (size_t i = 0; i < algs_n; i++) {
		if (!digest_hex_len(algs[i]))
			continue;
		sbuf_append_str(sb, hdr);
		sbuf_append_str(sb, ": Digest realm=");
		print_quoted(sb, realm);
		sbuf_append_str(sb, ",nonce=");
		print_quoted(sb, nonce);
		if (opaque[0]) {
			sbuf_append_str(sb, ",opaque=");
			print_quoted(sb, opaque);
		}
		if (stale)
			sbuf_append_str(sb, ",stale=true");
		sbuf_append_str(sb, ",algorithm=");
		sbuf_append_str(sb, digest_alg_name(algs[i]));
		sbuf_append_str(sb, ",qop=\"auth\"\r\n");
	}
}

/* --- client side ------------------------------------------------------- */

/* One k=v item of a challenge. */
static int chal_param(struct digest_chal *c, struct scan *s, int *seen)
{
	struct pl name, v;
	bool quoted;

	scan_lws(s);
	if (scan_token(s, &name))
		return EINVAL;
	scan_lws(s);
	if (s->p >= s->end || *s->p != '=')
		return EINVAL;
	s->p++;
	scan_lws(s);
	if (s->p >= s->end)
		return EINVAL;
	quoted = *s->p == '"';
	if (quoted ? scan_quoted(s, &v) : scan_token(s, &v))
		return EINVAL;

	if (pl_eqcase_str(&name, "realm")) {
		if (*seen & P_REALM)
			return EINVAL;
		*seen |= P_REALM;
		c->realm = v;
	} else if (pl_eqcase_str(&name, "nonce")) {
		if (*seen & P_NONCE)
			return EINVAL;
		*seen |= P_NONCE;
		c->nonce = v;
	} else if (pl_eqcase_str(&name, "opaque")) {
		c->opaque = v;
	} else if (pl_eqcase_str(&name, "algorithm")) {
		c->algorithm = v;
	} else if (pl_eqcase_str(&name, "stale")) {
		c->stale = pl_eqcase_str(&v, "true");
	} else if (pl_eqcase_str(&name, "qop")) {
		/* qop-options: a quoted list, "auth,auth-int" */
		const char *p = v.p, *end = v.p + v.l;

		*seen |= P_QOP;
		while (p < end) {
			struct pl item;

			while (p < end && (*p == ',' || lex_is(*p, LEX_LWS)))
				p++;
			item.p = p;
			while (p < end && *p != ',' && !lex_is(*p, LEX_LWS))
				p++;
			item.l = (size_t)(p - item.p);
			if (item.l && pl_eqcase_str(&item, "auth"))
				c->qop_auth = true;
		}
		c->qop_other = !c->qop_auth;
	}
	return 0;
}

static int chal_param_h(void *obj, struct scan *s, int *seen)
{
	return obj ? chal_param(obj, s, seen) : EINVAL;
}

int digest_chal_decode(struct digest_chal *c, const struct pl *val)
{
	int seen = 0;
	int err;

	if (!c)
		return EINVAL;
	memset(c, 0, sizeof(*c));
	err = digest_params(val, chal_param_h, c, &seen);
	if (!err && (seen & (P_REALM | P_NONCE)) != (P_REALM | P_NONCE))
		err = EINVAL;
	if (err)
		memset(c, 0, sizeof(*c));
	return err;
}

enum cfg_digest_alg digest_chal_alg(const struct digest_chal *c)
{
	return alg_of(&c->algorithm);
}

/* What goes between quotes as is: no quote, backslash or line break. */
static bool quotable(const char *s)
{
	return !s[strcspn(s, "\"\\\r\n")];
}

int digest_answer_print(struct sbuf *sb, const char *hdr, const struct digest_chal *chal,
			const char *username, const char *ha1, const char *method,
			const char *uri, uint32_t nc, const char *cnonce)
{
	enum cfg_digest_alg alg = digest_chal_alg(chal);
	size_t hexlen = digest_hex_len(alg);
	char ha2[HEX_MAX + 1], resp[HEX_MAX + 1], ncbuf[9];
	struct pl parts[6];

	if (!hexlen || chal->qop_other || !ha1 || strlen(ha1) != hexlen ||
	    !quotable(username) || !quotable(uri) || (chal->qop_auth &&
	    (!cnonce || !*cnonce || !quotable(cnonce))))
		return EINVAL;
	pl_set_str(&parts[0], method);
	pl_set_str(&parts[1], uri);
	hash_parts(alg, parts, 2, ha2);
	pl_set_str(&parts[0], ha1);
	parts[1] = chal->nonce;
	if (chal->qop_auth) {
		static const char hex[] = "0123456789abcdef";

		for (int i = 0; i < 8; i++)
			ncbuf[i] = hex[(nc >> (28 - 4 * i)) & 0xf];
		ncbuf[8] = '\0';
		pl_set_str(&parts[2], ncbuf);
		pl_set_str(&parts[3], cnonce);
		pl_set_str(&parts[4], "auth");
		pl_set_str(&parts[5], ha2);
		hash_parts(alg, parts, 6, resp);
	} else {
		pl_set_str(&parts[2], ha2);
		hash_parts(alg, parts, 3, resp);
	}
	if (strlen(ha2) != hexlen || strlen(resp) != hexlen)
		return ENOMEM;	/* libcrypto failed */

	sbuf_append_str(sb, hdr);
	sbuf_append_str(sb, ": Digest username=\"");
	sbuf_append_str(sb, username);
	sbuf_append_str(sb, "\", realm=\"");
	sbuf_append_pl(sb, &chal->realm);
	sbuf_append_str(sb, "\", nonce=\"");
	sbuf_append_pl(sb, &chal->nonce);
	sbuf_append_str(sb, "\", uri=\"");
	sbuf_append_str(sb, uri);
	sbuf_append_str(sb, "\", response=\"");
	sbuf_append_str(sb, resp);
	sbuf_append_str(sb, "\", algorithm=");
	sbuf_append_str(sb, digest_alg_name(alg));
	if (chal->qop_auth) {
		sbuf_append_str(sb, ", cnonce=\"");
		sbuf_append_str(sb, cnonce);
		sbuf_append_str(sb, "\", qop=auth, nc=");
		sbuf_append_str(sb, ncbuf);
	}
	if (chal->opaque.p) {
		sbuf_append_str(sb, ", opaque=\"");
		sbuf_append_pl(sb, &chal->opaque);
		sbuf_append_str(sb, "\"");
	}
	sbuf_append_str(sb, "\r\n");
	return 0;
}
