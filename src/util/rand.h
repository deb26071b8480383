/*
 * rand.h - the one source of randomness and unique identifiers.
 *
 * Call-IDs, tags, branches, SDP session ids, SSRCs and hash keys must be
 * unique across processes, restarts and replicas, and unpredictable to a
 * peer (a guessed tag or Call-ID helps forge in-dialog requests).  rand()
 * gives neither: unseeded, every process repeats the same sequence.
 *
 * rand_bytes() reads the OS CSPRNG (getrandom).  rand_u64() is SipHash-2-4
 * in counter mode under a per-thread key drawn from rand_bytes(): as
 * unpredictable as the key, no system call per identifier, and safe from
 * any thread (a forked child draws a new key).
 */
#ifndef KV_UTIL_RAND_H
#define KV_UTIL_RAND_H

#include <stddef.h>
#include <stdint.h>

/* n bytes from the OS CSPRNG.  Never fails: should getrandom() and
 * /dev/urandom both be missing, it mixes clocks, pid and addresses, which
 * keeps identifiers unique though no longer secret (logged once). */
void rand_bytes(void *p, size_t n);

uint64_t rand_u64(void);

struct hash_key;
/* A fresh secret key for hash_sip() (util/hash.h). */
void rand_hash_key(struct hash_key *key);

/* size-1 lowercase hex digits and a NUL (size 33: 128 random bits). */
void rand_hex(char *buf, size_t size);

#endif
