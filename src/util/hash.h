/*
 * hash.h - the hash functions of the process, in one place.
 *
 * Two kinds, chosen by who picks the key:
 *   - hash_sip(): keyed SipHash-2-4, for anything a peer chooses (Call-IDs,
 *     branches, tags, AOR names, addresses).  With a secret key a peer
 *     cannot make many keys land in one chain (hash flooding), and an
 *     identifier derived from it cannot be predicted.
 *   - hash_fnv*(): FNV-1a, for keys we choose ourselves (config names,
 *     file names) or for change detection.  Its low bits are weak; pass
 *     it through hash_mix64() before taking a bucket from them.
 */
#ifndef KV_UTIL_HASH_H
#define KV_UTIL_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_INIT 0xcbf29ce484222325ULL

/* FNV-1a over n bytes, continuing from h (start with HASH_FNV_INIT). */
static inline uint64_t hash_fnv_add(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static inline uint64_t hash_fnv(const void *p, size_t n)
{
	return hash_fnv_add(HASH_FNV_INIT, p, n);
}

uint64_t hash_fnv_str(const char *s);
/* Case-insensitive (ASCII): for names compared with strcasecmp(). */
uint64_t hash_fnv_strcase(const char *s);

/* The splitmix64 finaliser: every input bit reaches every output bit. */
static inline uint64_t hash_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A key: from rand_hash_key() (util/rand.h, a fresh secret from the OS
 * CSPRNG) or from hash_key_from(). */
struct hash_key {
	uint64_t k[2];
};

/* A key derived from a shared secret, so that several processes compute
 * the same hashes (identifiers that another replica must reproduce). */
void hash_key_from(struct hash_key *key, const void *secret, size_t n);

/* SipHash-2-4 (Aumasson & Bernstein), 64-bit output. */
uint64_t hash_sip(const struct hash_key *key, const void *p, size_t n);

/*
 * Incremental SipHash over several parts, for keys made of fields
 * (Call-ID + tag + ...).  hash_sip_part() adds a part followed by a
 * separator byte so that ("ab","c") and ("a","bc") differ; fold lowers
 * ASCII letters for case-insensitive fields.  The result equals hash_sip()
 * over the concatenated bytes.
 */
struct hash_sip_state {
	uint64_t v[4];
	uint64_t m;              /* pending bytes, little-endian */
	size_t len;              /* bytes hashed so far */
};

void hash_sip_init(struct hash_sip_state *s, const struct hash_key *key);
void hash_sip_add(struct hash_sip_state *s, const void *p, size_t n);
void hash_sip_part(struct hash_sip_state *s, const void *p, size_t n, bool fold);
uint64_t hash_sip_final(const struct hash_sip_state *s);

#endif
