/*
 * nctab.h - the highest nonce-count seen per digest nonce (replay checks),
 * for backends that keep it in this process's memory.
 */
#ifndef KV_STATE_NCTAB_H
#define KV_STATE_NCTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/pl.h"

struct nctab;

/* max: about how many live nonces are remembered (at least 4). */
int  nctab_alloc(struct nctab **tp, size_t max);
void nctab_free(struct nctab *t);

/* Changes the bound; when shrinking, each bucket forgets its
 * soonest-expiring nonces first.  EINVAL for max 0. */
int  nctab_set_max(struct nctab *t, size_t max);

/*
 * true when nc is higher than every count seen for nonce, which is then
 * remembered until expires_at (seconds, the caller's clock, as now).
 * false for nc 0, for an expires_at not after now, for a nonce longer than
 * NCTAB_NONCE_MAX, and for a replayed or lower count.
 */
#define NCTAB_NONCE_MAX 256
bool nctab_use(struct nctab *t, const struct pl *nonce, uint32_t nc,
	       uint64_t expires_at, uint64_t now);

/* Live entries (not yet expired at now); walks the table, for tests and
 * status pages. */
size_t nctab_count(const struct nctab *t, uint64_t now);
/* Entries the table has room for at its current size. */
size_t nctab_capacity(const struct nctab *t);

#endif
