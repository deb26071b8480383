/*
 * test_htab.c - the intrusive chained hash table (src/util/htab.c):
 * lookups through the chains, growth, removal, teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/htab.h"

struct item {
	int key;
	struct hnode hn;     /* not first: htab_entry() must find the item */
};

/* A poor hash on purpose: keys below 8 differ only in high bits. */
static uint64_t hash(int key)
{
	return (uint64_t)(key % 8) << 40 | (uint64_t)(key / 8);
}

static struct item *find(const struct htab *t, int key)
{
	uint64_t h = hash(key);

	for (struct hnode *n = htab_bucket(t, h); n; n = n->next) {
		struct item *it = htab_entry(n, struct item, hn);

		if (n->hash == h && it->key == key)
			return it;
	}
	return NULL;
}

static void test_insert_find_grow(void **state)
{
	struct htab t;
	struct item *items = calloc(5000, sizeof(*items));

	(void)state;
	assert_non_null(items);
	assert_int_equal(htab_init(&t, 5), 0);
	assert_int_equal(t.nb, 8);
	for (int i = 0; i < 5000; i++) {
		items[i].key = i;
		htab_insert(&t, &items[i].hn, hash(i));
	}
	assert_int_equal(t.n, 5000);
	/* Doubled as it filled: about one entry per bucket. */
	assert_true(t.nb >= 4096);
	for (int i = 0; i < 5000; i++)
		assert_ptr_equal(find(&t, i), &items[i]);
	assert_null(find(&t, 5000));
	assert_null(find(&t, -1));
	htab_free(&t);
	free(items);
}

static void test_remove(void **state)
{
	struct htab t;
	struct item a = {.key = 1}, b = {.key = 2}, c = {.key = 3}, stray = {.key = 4};

	(void)state;
	assert_int_equal(htab_init(&t, 1), 0);
	/* 1, 2 and 3 differ only in high hash bits: one chain at any size. */
	htab_insert(&t, &a.hn, hash(a.key));
	htab_insert(&t, &b.hn, hash(b.key));
	htab_insert(&t, &c.hn, hash(c.key));
	htab_remove(&t, &b.hn);
	assert_int_equal(t.n, 2);
	assert_null(find(&t, 2));
	assert_ptr_equal(find(&t, 1), &a);
	assert_ptr_equal(find(&t, 3), &c);
	/* A node that was never inserted, or already removed, is ignored. */
	stray.hn.hash = hash(stray.key);
	htab_remove(&t, &stray.hn);
	htab_remove(&t, &b.hn);
	assert_int_equal(t.n, 2);
	htab_remove(&t, &a.hn);
	htab_remove(&t, &c.hn);
	assert_int_equal(t.n, 0);
	assert_null(find(&t, 1));
	htab_free(&t);
	/* A freed table finds nothing and removes nothing. */
	assert_null(htab_bucket(&t, 1));
	htab_remove(&t, &a.hn);
}

static void test_pop(void **state)
{
	struct htab t;
	struct item items[100];
	int seen[100] = {0};
	struct hnode *n;
	int popped = 0;

	(void)state;
	assert_int_equal(htab_init(&t, 16), 0);
	for (int i = 0; i < 100; i++) {
		items[i].key = i;
		htab_insert(&t, &items[i].hn, hash(i));
	}
	while ((n = htab_pop(&t)) != NULL) {
		struct item *it = htab_entry(n, struct item, hn);

		assert_null(n->next);
		seen[it->key]++;
		popped++;
		/* Removing a popped node again changes nothing. */
		htab_remove(&t, n);
	}
	assert_int_equal(popped, 100);
	assert_int_equal(t.n, 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(seen[i], 1);
	htab_free(&t);
}

/* Inserting while tearing down (a destructor that moves an entry) still
 * empties the table, whatever bucket the new entry lands in. */
static void test_pop_insert_behind(void **state)
{
	struct item *items = calloc(200, sizeof(*items));
	struct htab t;
	struct hnode *n;
	size_t popped = 0;

	(void)state;
	assert_non_null(items);
	assert_int_equal(htab_init(&t, 256), 0);
	for (int i = 0; i < 100; i++) {
		items[i].key = i;
		htab_insert(&t, &items[i].hn, hash(i));
	}
	while ((n = htab_pop(&t)) != NULL) {
		struct item *it = htab_entry(n, struct item, hn);

		/* the first 50 popped bring one new entry each, in any bucket */
		if (popped < 50) {
			items[100 + popped].key = 100 + (int)popped;
			htab_insert(&t, &items[100 + popped].hn, (uint64_t)popped);
		}
		it->key = -1;
		popped++;
	}
	assert_int_equal(popped, 150);
	assert_int_equal(t.n, 0);
	htab_free(&t);
	free(items);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_grow),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_pop_insert_behind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
