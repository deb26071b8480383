/*
 * test_containers.c - util/list.h, util/vec.h and util/diag.c: the
 * containers every module shares.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"
#include "util/list.h"
#include "util/vec.h"

struct item {
	int v;
	struct list_node le;  /* not first: list_entry() must find the item */
};

static void collect(const struct list_node *head, int *out, size_t *n)
{
	const struct list_node *it;

	*n = 0;
	list_foreach(it, head)
		out[(*n)++] = list_entry(it, const struct item, le)->v;
}

static void test_list(void **state)
{
	struct list_node head = LIST_HEAD_INIT(head), *it, *tmp;
	struct item a = {.v = 1}, b = {.v = 2}, c = {.v = 3};
	int out[8];
	size_t n;

	(void)state;
	list_node_init(&a.le);
	assert_true(list_empty(&head));
	assert_false(list_linked(&a.le));
	assert_null(list_first(&head));
	list_push_back(&head, &b.le);
	list_push_front(&head, &a.le);
	list_push_back(&head, &c.le);
	collect(&head, out, &n);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 1);
	assert_int_equal(out[1], 2);
	assert_int_equal(out[2], 3);
	assert_ptr_equal(list_first(&head), &a.le);
	assert_ptr_equal(list_last(&head), &c.le);
	/* unlinking twice is harmless */
	list_unlink(&b.le);
	list_unlink(&b.le);
	assert_false(list_linked(&b.le));
	collect(&head, out, &n);
	assert_int_equal(n, 2);
	list_insert_after(&a.le, &b.le);
	collect(&head, out, &n);
	assert_int_equal(out[1], 2);
	/* the safe walk may unlink what it visits */
	list_foreach_safe(it, tmp, &head)
		list_unlink(it);
	assert_true(list_empty(&head));
}

static void test_vec(void **state)
{
	VEC(int) v = {0};

	(void)state;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(vec_push(&v, i), 0);
	assert_int_equal(v.n, 1000);
	assert_true(v.cap >= 1000 && v.cap < 2048);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v.v[i], i);
	assert_int_equal(vec_reserve(&v, 10), 0);   /* never shrinks */
	assert_true(v.cap >= 1000);
	/* an impossible size fails and leaves the vector as it was */
	assert_int_equal(vec_reserve(&v, SIZE_MAX / 2), ENOMEM);
	assert_int_equal(v.n, 1000);
	assert_int_equal(v.v[999], 999);
	vec_free(&v);
	assert_null(v.v);
	assert_int_equal(v.n + v.cap, 0);
}

static void add_prefixed(struct diag *d, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_prefixed(struct diag *d, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, DIAG_ERROR, "extensions.conf", 7, prefix, fmt, ap);
	va_end(ap);
}

static void test_diag(void **state)
{
	struct diag d;
	char line[256];
	char big[3000];

	(void)state;
	diag_init(&d);
	diag_add(&d, DIAG_ERROR, "pjsip.conf", 3, "bad value '%s'", "x");
	diag_add(&d, DIAG_WARNING, "pjsip.conf", 0, "unused");
	/* the same message again is kept once and counted once */
	diag_add(&d, DIAG_ERROR, "pjsip.conf", 3, "bad value '%s'", "x");
	/* same text elsewhere is another message */
	diag_add(&d, DIAG_ERROR, "pjsip.conf", 4, "bad value '%s'", "x");
	add_prefixed(&d, "Dial: ", "no target in '%s'", "");
	/* no truncation of long messages */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	diag_add(&d, DIAG_ERROR, "k.conf", 1, "%s", big);
	assert_int_equal(d.n, 5);
	assert_int_equal(d.errors, 4);
	assert_int_equal(d.warnings, 1);
	diag_msg_format(&d.v[0], line, sizeof(line));
	assert_string_equal(line, "pjsip.conf:3: bad value 'x'");
	diag_msg_format(&d.v[1], line, sizeof(line));
	assert_string_equal(line, "pjsip.conf: warning: unused");
	diag_msg_format(&d.v[3], line, sizeof(line));
	assert_string_equal(line, "extensions.conf:7: Dial: no target in ''");
	assert_int_equal(strlen(d.v[4].text), sizeof(big) - 1);
	diag_free(&d);
	assert_int_equal(d.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_vec),
		cmocka_unit_test(test_diag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
