/*
 * hash.c - FNV-1a helpers and SipHash-2-4 (see hash.h for which to use).
 */
#include <ctype.h>
#include <string.h>

#include "util/hash.h"

uint64_t hash_fnv_str(const char *s)
{
	return hash_fnv(s, strlen(s));
}

uint64_t hash_fnv_strcase(const char *s)
{
	uint64_t h = HASH_FNV_INIT;

	for (; *s; s++) {
		unsigned char c = (unsigned char)tolower((unsigned char)*s);

		h = hash_fnv_add(h, &c, 1);
	}
	return h;
}

void hash_key_from(struct hash_key *key, const void *secret, size_t n)
{
	/* SipHash under a fixed key, twice: a PRF is not needed to spread a
	 * secret that is already secret, only every byte of it. */
	static const struct hash_key k0 = {{0x6b7562657666786bULL, 0x6b65792d64657276ULL}};
	struct hash_sip_state s;

	hash_sip_init(&s, &k0);
	hash_sip_add(&s, secret, n);
	key->k[0] = hash_sip_final(&s);
	hash_sip_add(&s, "\x01", 1);
	key->k[1] = hash_sip_final(&s);
}

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sipround(uint64_t v[4])
{
	v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
	v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
	v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
	v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static inline void compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sipround(v);
	sipround(v);
	v[0] ^= m;
}

void hash_sip_init(struct hash_sip_state *s, const struct hash_key *key)
{
	s->v[0] = 0x736f6d6570736575ULL ^ key->k[0];
	s->v[1] = 0x646f72616e646f6dULL ^ key->k[1];
	s->v[2] = 0x6c7967656e657261ULL ^ key->k[0];
	s->v[3] = 0x7465646279746573ULL ^ key->k[1];
	s->m = 0;
	s->len = 0;
}

void hash_sip_add(struct hash_sip_state *s, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;

	/* Fill the pending word a byte at a time, then whole words. */
	while (i < n && (s->len & 7)) {
		s->m |= (uint64_t)b[i++] << (8 * (s->len & 7));
		if ((++s->len & 7) == 0) {
			compress(s->v, s->m);
			s->m = 0;
		}
	}
	for (; i + 8 <= n; i += 8) {
		uint64_t m = 0;

		for (int j = 7; j >= 0; j--)
			m = (m << 8) | b[i + (size_t)j];
		compress(s->v, m);
		s->len += 8;
	}
	for (; i < n; i++)
		s->m |= (uint64_t)b[i] << (8 * (s->len++ & 7));
}

void hash_sip_part(struct hash_sip_state *s, const void *p, size_t n, bool fold)
{
	static const unsigned char sep = 0;

	if (!fold) {
		if (n)
			hash_sip_add(s, p, n);
	} else {
		const unsigned char *b = p;
		unsigned char buf[64] = {0};

		while (n) {
			size_t k = n < sizeof(buf) ? n : sizeof(buf);

			for (size_t i = 0; i < k; i++)
				buf[i] = (unsigned char)tolower(b[i]);
			hash_sip_add(s, buf, k);
			b += k;
			n -= k;
		}
	}
	hash_sip_add(s, &sep, 1);
}

uint64_t hash_sip_final(const struct hash_sip_state *s)
{
	uint64_t v[4] = {s->v[0], s->v[1], s->v[2], s->v[3]};
	uint64_t b = s->m | ((uint64_t)s->len << 56);

	compress(v, b);
	v[2] ^= 0xff;
	for (int i = 0; i < 4; i++)
		sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

uint64_t hash_sip(const struct hash_key *key, const void *p, size_t n)
{
	struct hash_sip_state s;

	hash_sip_init(&s, key);
	hash_sip_add(&s, p, n);
	return hash_sip_final(&s);
}
