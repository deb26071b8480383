/*
 * nctab.c - the highest nonce-count seen per digest nonce, so that a
 * replayed Authorization (same nonce, same or lower nc) is refused.
 *
 * Every authenticated request touches this table, and at a thousand
 * registrations a second with 300 s nonces it holds 300,000 live entries.
 * So it allocates nothing per nonce and runs no timer: buckets of four
 * 16-byte entries (one cache line) hold a 64-bit fingerprint of the nonce,
 * its expiry and its count, and an expired entry is simply free space.
 * The table doubles when a nonce finds its bucket full of live entries,
 * up to a bound; at the bound the bucket forgets the entry that expires
 * soonest, which leaves the shortest replay window.
 *
 * A fingerprint stands for the nonce: two live nonces with the same 64
 * bits would share a count (the later one could be refused once), which
 * for nonces that carry an HMAC is not a practical concern.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/nctab.h"
#include "util/hash.h"
#include "util/rand.h"

#define NC_WAYS       4
#define NC_MIN_BUCKETS 64

struct nc_ent {
	uint64_t fp;         /* 0: never used */
	uint32_t exp;        /* expiry, seconds after base */
	uint32_t nc;
};

struct nc_bucket {
	struct nc_ent e[NC_WAYS];
};

struct nctab {
	struct nc_bucket *b;
	size_t nb;           /* buckets, a power of two */
	size_t max_nb;       /* bound on nb */
	uint64_t base;       /* clock value of relative time 0 */
	bool based;
	struct hash_key key; /* of the fingerprints */
};

/*
 * A nonce reaches this table only after its HMAC and the digest checked,
 * so its bytes are ours; but a client that holds a password can ask for
 * as many challenges as it likes and present only the nonces that share
 * a bucket, growing the table to its bound and then evicting other
 * nonces' counts early.  Under a key of this table's own it cannot tell
 * which nonces those are.
 */
static uint64_t fingerprint(const struct nctab *t, const struct pl *pl)
{
	uint64_t h = hash_sip(&t->key, pl->p, pl->l);

	return h ? h : 1;
}

static uint32_t rel(const struct nctab *t, uint64_t v)
{
	if (v <= t->base)
		return 0;
	return v - t->base > UINT32_MAX ? UINT32_MAX : (uint32_t)(v - t->base);
}

static bool live(const struct nc_ent *e, uint32_t rnow)
{
	return e->fp && e->exp > rnow;
}

static size_t buckets_for(size_t max)
{
	size_t nb = 1;

	while (nb * NC_WAYS < max && nb < SIZE_MAX / (2 * sizeof(struct nc_bucket)))
		nb *= 2;
	return nb;
}

static struct nc_bucket *buckets_alloc(size_t nb)
{
	struct nc_bucket *b = aligned_alloc(64, nb * sizeof(*b));

	if (b)
		memset(b, 0, nb * sizeof(*b));
	return b;
}

/* A free entry of b, or NULL when all four are live. */
static struct nc_ent *free_ent(struct nc_bucket *b, uint32_t rnow)
{
	for (int i = 0; i < NC_WAYS; i++)
		if (!live(&b->e[i], rnow))
			return &b->e[i];
	return NULL;
}

static struct nc_ent *soonest(struct nc_bucket *b)
{
	struct nc_ent *s = &b->e[0];

	for (int i = 1; i < NC_WAYS; i++)
		if (b->e[i].exp < s->exp)
			s = &b->e[i];
	return s;
}

/* Places a live entry in a table being rebuilt; a full bucket keeps the
 * entries that expire last. */
static void place(struct nc_bucket *v, size_t nb, const struct nc_ent *e, uint32_t rnow)
{
	struct nc_bucket *b = &v[e->fp & (nb - 1)];
	struct nc_ent *d = free_ent(b, rnow);

	if (!d) {
		d = soonest(b);
		if (d->exp >= e->exp)
			return;
	}
	*d = *e;
}

static int rebuild(struct nctab *t, size_t nb, uint32_t rnow)
{
	struct nc_bucket *v = buckets_alloc(nb);

	if (!v)
		return ENOMEM;
	for (size_t i = 0; i < t->nb; i++)
		for (int j = 0; j < NC_WAYS; j++)
			if (live(&t->b[i].e[j], rnow))
				place(v, nb, &t->b[i].e[j], rnow);
	free(t->b);
	t->b = v;
	t->nb = nb;
	return 0;
}

int nctab_alloc(struct nctab **tp, size_t max)
{
	struct nctab *t;

	if (!tp || max == 0)
		return EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return ENOMEM;
	rand_hash_key(&t->key);
	t->max_nb = buckets_for(max);
	t->nb = t->max_nb < NC_MIN_BUCKETS ? t->max_nb : NC_MIN_BUCKETS;
	t->b = buckets_alloc(t->nb);
	if (!t->b) {
		free(t);
		return ENOMEM;
	}
	*tp = t;
	return 0;
}

void nctab_free(struct nctab *t)
{
	if (!t)
		return;
	free(t->b);
	free(t);
}

int nctab_set_max(struct nctab *t, size_t max)
{
	size_t max_nb;
	int err;

	if (!t || max == 0)
		return EINVAL;
	max_nb = buckets_for(max);
	if (t->nb > max_nb) {
		/* With no clock here every used entry counts as live; the
		 * expired ones expire soonest, so they are dropped first. */
		err = rebuild(t, max_nb, 0);
		if (err)
			return err;
	}
	t->max_nb = max_nb;
	return 0;
}

bool nctab_use(struct nctab *t, const struct pl *nonce, uint32_t nc,
	       uint64_t expires_at, uint64_t now)
{
	struct nc_bucket *b;
	struct nc_ent *e;
	uint64_t fp;
	uint32_t rnow, rexp;

	/* nc counts from 1; a nonce past its life is never accepted. */
	if (!t || !nonce || !nonce->p || nc == 0 || expires_at <= now ||
	    nonce->l > NCTAB_NONCE_MAX)
		return false;
	if (!t->based) {
		/* Half the 32-bit range on each side of the first use: the
		 * clock may step back, and expiries may lie decades ahead. */
		t->base = now > UINT32_MAX / 2 ? now - UINT32_MAX / 2 : 0;
		t->based = true;
	}
	rnow = rel(t, now);
	rexp = rel(t, expires_at);
	if (rexp <= rnow)
		return false;
	fp = fingerprint(t, nonce);
	b = &t->b[fp & (t->nb - 1)];
	for (int i = 0; i < NC_WAYS; i++) {
		e = &b->e[i];
		if (e->fp != fp || !live(e, rnow))
			continue;
		if (nc <= e->nc)
			return false;
		e->nc = nc;
		if (rexp > e->exp)
			e->exp = rexp;
		return true;
	}
	while (!(e = free_ent(b, rnow)) && t->nb < t->max_nb) {
		/* Not remembering it would allow a replay: refuse instead. */
		if (rebuild(t, t->nb * 2, rnow))
			return false;
		b = &t->b[fp & (t->nb - 1)];
	}
	if (!e)
		e = soonest(b);
	e->fp = fp;
	e->exp = rexp;
	e->nc = nc;
	return true;
}

size_t nctab_count(const struct nctab *t, uint64_t now)
{
	uint32_t rnow;
	size_t n = 0;

	if (!t)
		return 0;
	rnow = t->based ? rel(t, now) : 0;
	for (size_t i = 0; i < t->nb; i++)
		for (int j = 0; j < NC_WAYS; j++)
			n += live(&t->b[i].e[j], rnow);
	return n;
}

size_t nctab_capacity(const struct nctab *t)
{
	return t ? t->nb * NC_WAYS : 0;
}
