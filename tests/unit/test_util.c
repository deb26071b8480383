/*
 * test_util.c - slices, growable buffers, logfmt quoting and log rate limits,
 * queue pops of util/list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/list.h"
#include "util/log.h"
#include "util/pl.h"
#include "util/sbuf.h"

static void test_pl_compare(void **state)
{
	struct pl a = PL("Via"), b = PL("vIA");

	(void)state;
	assert_true(pl_eqcase(&a, &b));
	assert_false(pl_eq(&a, &b));
	assert_true(pl_eq_str(&a, "Via"));
	assert_false(pl_eq_str(&a, "Vi"));
	assert_true(pl_eqcase_str(&b, "VIA"));
}

static void test_pl_u32(void **state)
{
	struct pl ok = PL("4294967295"), over = PL("4294967296"), bad = PL("12a"),
		  empty = PL(""), big = PL("00000000001");
	uint32_t v = 0;

	(void)state;
	assert_int_equal(pl_u32(&ok, UINT32_MAX, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(pl_u32(&over, UINT32_MAX, &v), -1);
	assert_int_equal(pl_u32(&bad, UINT32_MAX, &v), -1);
	assert_int_equal(pl_u32(&empty, UINT32_MAX, &v), -1);
	assert_int_equal(pl_u32(&big, UINT32_MAX, &v), -1);
	struct pl small = PL("70");
	assert_int_equal(pl_u32(&small, 69, &v), -1);
}

static void test_pl_trim_copy(void **state)
{
	struct pl p = PL(" \t\r\n value \r\n ");
	char buf[6];

	(void)state;
	pl_trim(&p);
	assert_true(pl_eq_str(&p, "value"));
	assert_int_equal(pl_strcpy(&p, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "value");
	assert_int_equal(pl_strcpy(&p, buf, 5), -1);
	char *d = pl_strdup(&p);
	assert_string_equal(d, "value");
	free(d);
	assert_non_null(pl_chr(&p, 'l'));
	assert_null(pl_chr(&p, 'x'));
}

static void test_str_trim(void **state)
{
	char a[] = " \t PJSIP/1002 \r\n", b[] = "   ", c[] = "x";

	(void)state;
	assert_ptr_equal(str_trim(a), a);
	assert_string_equal(a, "PJSIP/1002");
	assert_string_equal(str_trim(b), "");
	assert_string_equal(str_trim(c), "x");
}

static void test_sbuf(void **state)
{
	struct sbuf sb;

	(void)state;
	sbuf_init(&sb);
	for (int i = 0; i < 1000; i++)
		sbuf_printf(&sb, "%04d,", i);
	assert_int_equal(sb.len, 5000);
	assert_false(sbuf_err(&sb));
	assert_memory_equal(sb.p + 4995, "0999,", 5);
	sbuf_reset(&sb);
	sbuf_append_str(&sb, "abc");
	assert_string_equal(sbuf_cstr(&sb), "abc");
	assert_int_equal(sb.len, 3);
	sbuf_free(&sb);
}

static void test_log_quote(void **state)
{
	char buf[64];

	(void)state;
	assert_string_equal(log_q(buf, sizeof(buf), "plain", 5), "plain");
	assert_string_equal(log_q(buf, sizeof(buf), "", 0), "\"\"");
	assert_string_equal(log_q(buf, sizeof(buf), "a b", 3), "\"a b\"");
	assert_string_equal(log_q(buf, sizeof(buf), "x=\"y\"\\", 6),
			    "\"x=\\\"y\\\"\\\\\"");
	assert_string_equal(log_q(buf, sizeof(buf), "a\nb", 3), "\"a\\x0ab\"");
	/* Truncation keeps the closing quote. */
	char small[8];
	log_q(small, sizeof(small), "hello world", 11);
	assert_int_equal(small[strlen(small) - 1], '"');
}

static void test_log_line(void **state)
{
	int fds[2];
	char buf[512];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	log_event(LOG_INFO, "register", "aor=%s status=%d", "1001", 200);
	log_event(LOG_DEBUG, "hidden", "x=1");
	log_set_fd(STDOUT_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, " level=info event=register aor=1001 status=200\n"));
	assert_int_equal(strncmp(buf, "ts=", 3), 0);
	assert_null(strstr(buf, "hidden"));
	/* Exactly one line. */
	assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

static void vtext(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vtext(LOG_WARN, "lib_error", "msg", fmt, ap);
	va_end(ap);
}

/* A library's message: formatted, quoted, its own line break dropped,
 * and cut only at the log line's length. */
static void test_log_vtext(void **state)
{
	static char buf[8192];
	char *big = malloc(3000);
	int fds[2];
	ssize_t n;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', 2999);
	big[2999] = '\0';
	assert_int_equal(pipe(fds), 0);
	log_set_fd(fds[1]);
	vtext("Error: %s on port %d\r\n", "bind failed", 8088);
	vtext("%s", big);
	log_set_fd(STDOUT_FILENO);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	free(big);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, " level=warn event=lib_error "
			       "msg=\"Error: bind failed on port 8088\"\n"));
	/* The long one: one line of at most 2048 bytes, still parseable. */
	{
		char *second = strchr(buf, '\n') + 1;
		size_t len = strlen(second);

		assert_true(len > 1024 && len <= 2048);
		assert_ptr_equal(strchr(second, '\n'), second + len - 1);
		assert_non_null(strstr(second, " msg=xxxx"));
	}
}

struct item {
	int v;
	struct list_node link;
};

/* Queue pops from either end, and an empty list pops NULL. */
static void test_list_pop(void **state)
{
	struct list_node head = LIST_HEAD_INIT(head), *n;
	struct item it[3] = {{.v = 1}, {.v = 2}, {.v = 3}};

	(void)state;
	assert_null(list_pop_front(&head));
	assert_null(list_pop_back(&head));
	for (int i = 0; i < 3; i++)
		list_push_back(&head, &it[i].link);
	n = list_pop_front(&head);
	assert_int_equal(list_entry(n, struct item, link)->v, 1);
	assert_false(list_linked(n));
	n = list_pop_back(&head);
	assert_int_equal(list_entry(n, struct item, link)->v, 3);
	assert_false(list_linked(n));
	assert_ptr_equal(list_first(&head), &it[1].link);
	assert_ptr_equal(list_last(&head), &it[1].link);
	assert_ptr_equal(list_pop_back(&head), &it[1].link);
	assert_true(list_empty(&head));
	assert_null(list_pop_front(&head));
}

static void test_ratelimit(void **state)
{
	struct log_ratelimit rl;
	uint64_t sup = 0;
	unsigned allowed = 0;

	(void)state;
	log_ratelimit_init(&rl, 2.0, 3.0);
	for (int i = 0; i < 100; i++)
		allowed += log_ratelimit_allow(&rl, 1000, &sup);
	assert_int_equal(allowed, 3);
	/* One second later two tokens are back; the first reports 97 dropped. */
	assert_true(log_ratelimit_allow(&rl, 2000, &sup));
	assert_int_equal(sup, 97);
	assert_true(log_ratelimit_allow(&rl, 2000, &sup));
	assert_int_equal(sup, 0);
	assert_false(log_ratelimit_allow(&rl, 2000, &sup));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pl_compare),
		cmocka_unit_test(test_pl_u32),
		cmocka_unit_test(test_pl_trim_copy),
		cmocka_unit_test(test_str_trim),
		cmocka_unit_test(test_sbuf),
		cmocka_unit_test(test_log_quote),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_log_vtext),
		cmocka_unit_test(test_list_pop),
		cmocka_unit_test(test_ratelimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
