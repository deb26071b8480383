/*
 * htab.h - chained hash table of intrusive nodes.
 *
 * The owner embeds a struct hnode in its object and supplies the hash;
 * lookups walk htab_bucket() and compare their own keys, so one table
 * type serves transactions, AORs and anything else without callbacks.
 * The table doubles when it holds as many entries as buckets (about one
 * entry per chain); a failed doubling only makes chains longer, so
 * inserting never fails.
 */
#ifndef KV_UTIL_HTAB_H
#define KV_UTIL_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct hnode {
	struct hnode *next;
	uint64_t hash;
};

struct htab {
	struct hnode **b;
	size_t nb;               /* buckets, a power of two */
	size_t n;                /* entries */
	size_t pop;              /* where htab_pop() looks first */
};

/* nb: the first number of buckets, rounded up to a power of two. */
int  htab_init(struct htab *t, size_t nb);
/* Frees the buckets, not the entries. */
void htab_free(struct htab *t);
void htab_insert(struct htab *t, struct hnode *n, uint64_t hash);
/* Does nothing when n is not in t. */
void htab_remove(struct htab *t, struct hnode *n);
/* First node of the chain hash belongs to; follow ->next, compare ->hash
 * and then the owner's key. */
struct hnode *htab_bucket(const struct htab *t, uint64_t hash);
/* Unlinks and returns any entry (NULL when empty), for tearing down: the
 * loop ends whatever the entry's destructor does with the table. */
struct hnode *htab_pop(struct htab *t);

/* The object that embeds node n as its member field. */
#define htab_entry(n, type, field) \
	((type *)(void *)((char *)(n) - offsetof(type, field)))

#endif
