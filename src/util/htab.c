/*
 * htab.c - chained hash table of intrusive nodes (see htab.h).
 */
#include <errno.h>
#include <stdlib.h>

#include "util/htab.h"

int htab_init(struct htab *t, size_t nb)
{
	size_t n = 1;

	while (n < nb && n <= SIZE_MAX / 2 / sizeof(*t->b))
		n *= 2;
	t->b = calloc(n, sizeof(*t->b));
	if (!t->b) {
		t->nb = t->n = t->pop = 0;
		return ENOMEM;
	}
	t->nb = n;
	t->n = 0;
	t->pop = 0;
	return 0;
}

void htab_free(struct htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->n = 0;
}

static void grow(struct htab *t)
{
	size_t nb = t->nb * 2;
	struct hnode **b;

	/* A doubling that does not grow is an overflow: keep the chains. */
	if (nb <= t->nb || nb > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (size_t i = 0; i < t->nb; i++) {
		struct hnode *n = t->b[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void htab_insert(struct htab *t, struct hnode *n, uint64_t hash)
{
	struct hnode **head;

	if (t->n >= t->nb)
		grow(t);
	n->hash = hash;
	head = &t->b[hash & (t->nb - 1)];
	n->next = *head;
	*head = n;
	t->n++;
}

void htab_remove(struct htab *t, struct hnode *n)
{
	struct hnode **pp;

	if (!t->nb)
		return;
	for (pp = &t->b[n->hash & (t->nb - 1)]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
	}
}

struct hnode *htab_bucket(const struct htab *t, uint64_t hash)
{
	return t->nb ? t->b[hash & (t->nb - 1)] : NULL;
}

struct hnode *htab_pop(struct htab *t)
{
	/* From where the last pop stopped: tearing down n entries is O(n +
	 * buckets), not O(n * buckets).  A destructor may insert or the table
	 * may have grown behind the cursor: the second pass finds those. */
	for (int pass = 0; pass < 2 && t->n; pass++) {
		if (pass || t->pop >= t->nb)
			t->pop = 0;
		for (; t->pop < t->nb; t->pop++) {
			struct hnode *n = t->b[t->pop];

			if (n) {
				t->b[t->pop] = n->next;
				n->next = NULL;
				t->n--;
				return n;
			}
		}
	}
	return NULL;
}
