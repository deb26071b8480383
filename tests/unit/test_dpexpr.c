/*
 * test_dpexpr.c - ${...} substitution and $[...] expressions: variables,
 * substrings, functions, nesting, every operator with Asterisk's value
 * rules and precedence, conditions, the load-time check, and hostile
 * input (unbalanced, too long, too deep).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/dpexpr.h"

/* The variables every test sees, as a channel would answer them. */
static const char *const vars[][2] = {
	{ "A", "abcdefgh" },
	{ "N", "2" },
	{ "VAR2", "second" },
	{ "EMPTY", "" },
	{ "X", "5" },
	{ "S", "hello world" },
	{ "CALLERID(num)", "5551234" },
	{ "CALLERID(name)", "Alice" },
	{ "Q", "a?b:c" },
	{ "DOLLAR", "${A}" },
};

static char *big;                  /* a 5000-byte value */
static unsigned calls;

static int lookup(const char *name, size_t len, struct sbuf *out, void *arg)
{
	calls++;
	if (len == 3 && !memcmp(name, "BIG", 3)) {
		sbuf_append_str(out, big);
		return 0;
	}
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		if (strlen(vars[i][0]) == len && !memcmp(vars[i][0], name, len)) {
			sbuf_append_str(out, vars[i][1]);
			return 0;
		}
	}
	/* Write something, then fail: it must not show. */
	sbuf_append_str(out, "JUNK");
	return -1;
}

static char result[16384];

static const char *expand_rc(const char *s, int *rc)
{
	struct sbuf out;

	sbuf_init(&out);
	*rc = dpexpr_expand(s, strlen(s), lookup, NULL, &out);
	snprintf(result, sizeof(result), "%s", sbuf_cstr(&out));
	sbuf_free(&out);
	return result;
}

static const char *expand(const char *s)
{
	int rc;
	const char *r = expand_rc(s, &rc);

	assert_int_equal(rc, DPEXPR_OK);
	return r;
}

static const char *eval_rc(const char *s, int *rc)
{
	struct sbuf out;

	sbuf_init(&out);
	*rc = dpexpr_eval(s, strlen(s), lookup, NULL, &out);
	snprintf(result, sizeof(result), "%s", sbuf_cstr(&out));
	sbuf_free(&out);
	return result;
}

static const char *eval(const char *s)
{
	int rc;
	const char *r = eval_rc(s, &rc);

	if (rc != DPEXPR_OK)
		print_error("'%s': rc %d\n", s, rc);
	assert_int_equal(rc, DPEXPR_OK);
	return r;
}

static void syntax_error(const char *s)
{
	int rc;

	assert_string_equal(eval_rc(s, &rc), "0");
	if (rc != DPEXPR_ESYNTAX)
		print_error("'%s' should be a syntax error\n", s);
	assert_int_equal(rc, DPEXPR_ESYNTAX);
}

static void test_variables(void **state)
{
	assert_string_equal(expand("plain text"), "plain text");
	assert_string_equal(expand(""), "");
	assert_string_equal(expand("${A}"), "abcdefgh");
	assert_string_equal(expand("<${A}><${N}>"), "<abcdefgh><2>");
	assert_string_equal(expand("${MISSING}"), "");
	assert_string_equal(expand("x${MISSING}y"), "xy");
	assert_string_equal(expand("${EMPTY}|"), "|");
	assert_string_equal(expand("cost $5 $"), "cost $5 $");
	assert_string_equal(expand("$$${N}"), "$$2");
	/* Names are expanded first; values are never expanded again. */
	assert_string_equal(expand("${VAR${N}}"), "second");
	assert_string_equal(expand("${DOLLAR}"), "${A}");
	assert_string_equal(expand("${${DOLLAR}}"), "");
	/* Case matters. */
	assert_string_equal(expand("${a}"), "");
}

static void test_substrings(void **state)
{
	assert_string_equal(expand("${A:2}"), "cdefgh");
	assert_string_equal(expand("${A:-3}"), "fgh");
	assert_string_equal(expand("${A:1:3}"), "bcd");
	assert_string_equal(expand("${A:-4:2}"), "ef");
	assert_string_equal(expand("${A:2:-1}"), "cdefg");
	assert_string_equal(expand("${A:0:-3}"), "abcde");
	assert_string_equal(expand("${A:-3:-1}"), "fg");
	assert_string_equal(expand("${A:10}"), "");
	assert_string_equal(expand("${A:8}"), "");
	assert_string_equal(expand("${A:-20}"), "abcdefgh");
	assert_string_equal(expand("${A:-20:2}"), "ab");
	assert_string_equal(expand("${A:0:-20}"), "");
	assert_string_equal(expand("${A:0:0}"), "");
	assert_string_equal(expand("${A:0:100}"), "abcdefgh");
	/* sscanf() rules: what does not start with a number is ignored. */
	assert_string_equal(expand("${A::2}"), "abcdefgh");
	assert_string_equal(expand("${A:x}"), "abcdefgh");
	assert_string_equal(expand("${A: 3}"), "defgh");
	assert_string_equal(expand("${A:99999999999999}"), "");
	assert_string_equal(expand("${A:-99999999999999:-99999999999999}"), "");
	/* Offsets may be computed. */
	assert_string_equal(expand("${A:${N}:$[1+1]}"), "cd");
	assert_string_equal(expand("${MISSING:1}"), "");
}

static void test_functions(void **state)
{
	assert_string_equal(expand("${CALLERID(num)}"), "5551234");
	assert_string_equal(expand("${CALLERID(name)}"), "Alice");
	assert_string_equal(expand("${CALLERID(num):0:3}"), "555");
	assert_string_equal(expand("${CALLERID(num):-4}"), "1234");
	assert_string_equal(expand("${LEN(hello)}"), "5");
	assert_string_equal(expand("${LEN()}"), "0");
	assert_string_equal(expand("${LEN(${A})}"), "8");
	assert_string_equal(expand("${LEN(a:b)}"), "3");
	assert_string_equal(expand("${LEN(${S}):1}"), "1");
	assert_string_equal(expand("${LEN(unclosed}"), "8");
	assert_string_equal(expand("${NOSUCH(x)}"), "");
	assert_string_equal(expand("${CALLERID(n${N:1:0}um)}"), "5551234");
}

static void test_nesting(void **state)
{
	assert_string_equal(expand("$[1 + 2]"), "3");
	assert_string_equal(expand("$[${X} * 2]"), "10");
	assert_string_equal(expand("$[${X} * $[1 + 1]]"), "10");
	assert_string_equal(expand("${A:$[${N} + 1]:1}"), "d");
	assert_string_equal(expand("a$[ ]b"), "ab");
	assert_string_equal(expand("$[]"), "");
	assert_string_equal(expand("$[${MISSING} = ]"), "0");    /* syntax error */
	assert_string_equal(expand("$[\"${MISSING}\" = \"\"]"), "1");
	assert_string_equal(expand("$[[1]]"), "0");
	/* An expression sees the text after substitution, as Asterisk. */
	assert_string_equal(expand("$[${Q} : a]"), "0");
}

static void test_unbalanced(void **state)
{
	/* Asterisk takes the rest of the text as the name. */
	assert_string_equal(expand("x${A"), "xabcdefgh");
	assert_string_equal(expand("x${"), "x");
	assert_string_equal(expand("${A:1"), "bcdefgh");
	assert_string_equal(expand("$[1 + 2"), "3");
	assert_string_equal(expand("$["), "");
	assert_string_equal(expand("${A}}"), "abcdefgh}");
	assert_string_equal(expand("$[1]]"), "1]");
	assert_string_equal(expand("${${${"), "");
	assert_string_equal(expand("${{{}}"), "");
}

static void test_limits(void **state)
{
	char deep[1024];
	size_t off = 0;
	int rc;

	/* Over DPEXPR_MAX_LEN: an error, not a truncation. */
	expand_rc("${BIG}", &rc);
	assert_int_equal(rc, DPEXPR_OK);
	expand_rc("${BIG}${BIG}", &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	expand_rc("${BIG}$[1]${BIG}", &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	expand_rc("${BIG:1}${BIG:2}x", &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	expand_rc("$[${BIG} ~~ ${BIG}]", &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);

	/* Nesting up to the limit works, past it fails. */
	for (int i = 0; i < 20; i++)
		off += (size_t)sprintf(deep + off, "${");
	off += (size_t)sprintf(deep + off, "N");
	for (int i = 0; i < 20; i++)
		off += (size_t)sprintf(deep + off, "}");
	assert_string_equal(expand(deep), "");
	off = 0;
	for (int i = 0; i < 100; i++)
		off += (size_t)sprintf(deep + off, "$[");
	off += (size_t)sprintf(deep + off, "1");
	for (int i = 0; i < 100; i++)
		off += (size_t)sprintf(deep + off, "]");
	expand_rc(deep, &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	/* Unbalanced and deep. */
	off = 0;
	for (int i = 0; i < 300; i++)
		off += (size_t)sprintf(deep + off, "${");
	expand_rc(deep, &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
}

static void test_arithmetic(void **state)
{
	assert_string_equal(eval("1 + 2 * 3"), "7");
	assert_string_equal(eval("(1 + 2) * 3"), "9");
	assert_string_equal(eval("1+2*3"), "7");
	assert_string_equal(eval("10 - 4 - 3"), "3");
	assert_string_equal(eval("2 * 3 % 4"), "2");
	assert_string_equal(eval("10 / 4"), "2.5");
	assert_string_equal(eval("1 / 3"), "0.333333333333333333");
	assert_string_equal(eval("7 % 3"), "1");
	assert_string_equal(eval("-7 % 3"), "-1");
	assert_string_equal(eval("-5 + 2"), "-3");
	assert_string_equal(eval("2 - -3"), "5");
	assert_string_equal(eval("- - 3"), "3");
	assert_string_equal(eval("-2 * 3"), "-6");
	assert_string_equal(eval("1.5 + 1.25"), "2.75");
	assert_string_equal(eval("007"), "007");
	assert_string_equal(eval("007 + 0"), "7");
	assert_string_equal(eval("123456789 * 1000"), "123456789000");
	/* Asterisk: division by zero warns and gives INT_MAX. */
	assert_string_equal(eval("5 / 0"), "2147483647");
	assert_string_equal(eval("5 % 0"), "0");
	/* Non-numeric operands, as ast_expr2 treats them. */
	assert_string_equal(eval("a + 1"), "1");
	assert_string_equal(eval("1 + a"), "1");
	assert_string_equal(eval("a + b"), "0");
	assert_string_equal(eval("a - 1"), "-1");
	assert_string_equal(eval("2 - a"), "2");
	assert_string_equal(eval("a * 2"), "0");
	assert_string_equal(eval("a / 2"), "0");
	assert_string_equal(eval("2 / a"), "2147483647");
	assert_string_equal(eval("-a"), "0");
}

static void test_comparisons(void **state)
{
	assert_string_equal(eval("10 > 9"), "1");
	assert_string_equal(eval("10 < 9"), "0");
	assert_string_equal(eval("2 >= 2"), "1");
	assert_string_equal(eval("2 <= 1"), "0");
	assert_string_equal(eval("1 = 1.0"), "1");
	assert_string_equal(eval("01 == 1"), "1");
	assert_string_equal(eval("1 != 2"), "1");
	/* One string side makes it a string comparison. */
	assert_string_equal(eval("abc < abd"), "1");
	assert_string_equal(eval("abc = abc"), "1");
	assert_string_equal(eval("abc = ABC"), "0");
	assert_string_equal(eval("10 < 9a"), "1");
	assert_string_equal(eval("\"10\" < \"9\""), "1");
	assert_string_equal(eval("\"a b\" = \"a b\""), "1");
	/* Quotes stay part of the value, as in Asterisk. */
	assert_string_equal(eval("\"a\" = a"), "0");
	assert_string_equal(eval("\"x\""), "\"x\"");
	/* All comparisons share one level, left to right. */
	assert_string_equal(eval("1 < 2 = 1"), "1");
	assert_string_equal(eval("3 > 2 > 1"), "0");
}

static void test_logic(void **state)
{
	assert_string_equal(eval("0 | 5"), "5");
	assert_string_equal(eval("3 | 5"), "3");
	assert_string_equal(eval("0 || 0"), "0");
	assert_string_equal(eval("abc | 5"), "abc");
	assert_string_equal(eval("0 & 5"), "0");
	assert_string_equal(eval("2 & 5"), "2");
	assert_string_equal(eval("a && 0"), "0");
	assert_string_equal(eval("a & b"), "a");
	assert_string_equal(eval("1 | 0 & 0"), "1");     /* & binds tighter */
	assert_string_equal(eval("0 | 0 & 1"), "0");
	assert_string_equal(eval("1 = 1 & 2 = 2"), "1");
	assert_string_equal(eval("!0"), "1");
	assert_string_equal(eval("!5"), "0");
	assert_string_equal(eval("!abc"), "1");          /* atoi("abc") is 0 */
	assert_string_equal(eval("!!7"), "1");
	assert_string_equal(eval("!1 + 1"), "1");        /* ! binds tighter than + */
	assert_string_equal(eval("1 ? yes :: no"), "yes");
	assert_string_equal(eval("0 ? yes :: no"), "no");
	assert_string_equal(eval("abc ? yes :: no"), "yes");
	assert_string_equal(eval("0 ? a :: 1 ? b :: c"), "b");
	assert_string_equal(eval("1 ? 2 + 3 :: 4"), "5");
	assert_string_equal(eval("1 = 2 | 3 ? x :: y"), "x");
}

static void test_regex(void **state)
{
	assert_string_equal(eval("abc123 : abc"), "3");
	assert_string_equal(eval("abc123 : \"[a-z]*([0-9]+)\""), "123");
	assert_string_equal(eval("xabc : abc"), "0");           /* anchored */
	assert_string_equal(eval("xabc =~ abc"), "3");          /* not anchored */
	assert_string_equal(eval("foo =~ \"(o+)\""), "oo");
	assert_string_equal(eval("x : \"(y)\""), "");
	/* Unquoted, parentheses are the expression's own, as in Asterisk. */
	assert_string_equal(eval("x : (y)"), "0");
	syntax_error("abc123 : [a-z]");
	assert_string_equal(eval("\"a b\" : \"a (b)\""), "b");
	assert_string_equal(eval("5551234 : 555"), "3");
	/* ':' binds tighter than unary operators. */
	assert_string_equal(eval("!abc : abc"), "0");
	assert_string_equal(eval("- 5 : 5"), "-1");
	assert_string_equal(eval("abc : a : 1"), "1");
	assert_string_equal(eval("a ~~ b"), "ab");
	assert_string_equal(eval("1 ~~ 2 + 1"), "13");
	assert_string_equal(eval("\"a\" ~~ \"b\""), "ab");
	/* Broken and dangerous patterns give "". */
	assert_string_equal(eval("abc : \"(\""), "");
	assert_string_equal(eval("aa : \"(a)\\1\""), "");
	syntax_error("abc : (");
}

static void test_math_functions(void **state)
{
	assert_string_equal(eval("ABS(-5)"), "5");
	assert_string_equal(eval("POW(2, 10)"), "1024");
	assert_string_equal(eval("FLOOR(2.7)"), "2");
	assert_string_equal(eval("CEIL(2.1)"), "3");
	assert_string_equal(eval("SQRT(16) + 1"), "5");
	assert_string_equal(eval("ABS(1, 2)"), "0");              /* wrong count */
	assert_string_equal(eval("LEN(abc)"), "3");              /* dialplan function */
	assert_string_equal(eval("LEN(abc,de)"), "6");
	assert_string_equal(eval("CALLERID(name) = Alice"), "1");
	assert_string_equal(eval("NOSUCH(1)"), "0");
	assert_string_equal(eval("lower(1)"), "0");
	syntax_error("ABS()");
	syntax_error("ABS(,1)");
	assert_string_equal(eval("LEN(a,,b)"), "4");
}

static void test_syntax_errors(void **state)
{
	int rc;

	assert_string_equal(eval_rc("", &rc), "");
	assert_int_equal(rc, DPEXPR_OK);
	assert_string_equal(eval_rc("   ", &rc), "");
	assert_int_equal(rc, DPEXPR_OK);
	syntax_error("1 +");
	syntax_error("(1");
	syntax_error("1 )");
	syntax_error("1 2");
	syntax_error("* 2");
	syntax_error("!");
	syntax_error("1 ? 2");
	syntax_error("1 ? 2 : 3");
	syntax_error("[1]");
	syntax_error("\"unterminated");
	syntax_error("a ~ b");
	syntax_error("1,2");
	syntax_error("{}");
}

static void test_expr_limits(void **state)
{
	char *s = malloc(20000);
	size_t off = 0;
	int rc;

	assert_non_null(s);
	for (int i = 0; i < 5000; i++)
		off += (size_t)sprintf(s + off, "(");
	sprintf(s + off, "1");
	eval_rc(s, &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	off = 0;
	for (int i = 0; i < 5000; i++)
		off += (size_t)sprintf(s + off, "- ");
	sprintf(s + off, "1");
	eval_rc(s, &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	/* Quadratic string growth is bounded too. */
	off = (size_t)sprintf(s, "%s", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	for (int i = 0; i < 2000; i++)
		off += (size_t)sprintf(s + off, " ~~ xxxx");
	eval_rc(s, &rc);
	assert_int_equal(rc, DPEXPR_ELIMIT);
	/* Many small operations are fine. */
	off = (size_t)sprintf(s, "0");
	for (int i = 0; i < 2000; i++)
		off += (size_t)sprintf(s + off, " + 1");
	assert_string_equal(eval(s), "2000");
	free(s);
}

static void test_truth(void **state)
{
	assert_false(dpexpr_true(NULL));
	assert_false(dpexpr_true(""));
	assert_false(dpexpr_true("0"));
	assert_false(dpexpr_true("00"));
	assert_false(dpexpr_true(" 0"));
	assert_false(dpexpr_true("0abc"));
	assert_false(dpexpr_true("0.5"));
	assert_false(dpexpr_true("-0"));
	assert_true(dpexpr_true("1"));
	assert_true(dpexpr_true("-1"));
	assert_true(dpexpr_true("  7"));
	assert_true(dpexpr_true("abc"));
	assert_true(dpexpr_true(" "));
	assert_true(dpexpr_true("\"\""));
}

static void test_check(void **state)
{
	char err[256];

	assert_int_equal(dpexpr_check("plain, ${A} $[1 + ${X}] ${CALLERID(num):1} "
				      "${LEN(x)} ${VAR${N}} ${EXCEPTION(context)} $$", err,
				      sizeof(err)), 0);
	assert_int_equal(dpexpr_check("${A", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "missing '}' in '${A'");
	assert_int_equal(dpexpr_check("x $[1", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "missing ']' in '$[1'");
	assert_int_equal(dpexpr_check("${X:1} ${NOPE(1)}", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "unknown function 'NOPE'");
	assert_int_equal(dpexpr_check("${A${B(1)}}", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "unknown function 'B'");
	assert_int_equal(dpexpr_check("${CALLERID(ani)}", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "CALLERID: unknown data item 'ani'");
	assert_int_equal(dpexpr_check("${EXCEPTION(why)}", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "EXCEPTION: unknown data item 'why'");
	assert_int_equal(dpexpr_check("${CALLERID( NUM )}", err, sizeof(err)), 0);
	assert_int_equal(dpexpr_check("${CALLERID(num}", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "missing ')' in '${CALLERID(num}'");
	assert_int_equal(dpexpr_check("$[1 = ]", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "syntax error in '$[1 = ]'");
	assert_int_equal(dpexpr_check("$[${X} = ]", err, sizeof(err)), 0);
	assert_int_equal(dpexpr_check("$[$[1 +]]", err, sizeof(err)), EINVAL);
	assert_string_equal(err, "syntax error in '$[1 +]'");
	assert_true(dpexpr_func_known("LEN", 3));
	assert_true(dpexpr_func_known("CALLERID", 8));
	assert_false(dpexpr_func_known("CALLERI", 7));
	assert_false(dpexpr_func_known("len", 3));
}

static int group_setup(void **state)
{
	big = malloc(5001);
	if (!big)
		return -1;
	memset(big, 'b', 5000);
	big[5000] = '\0';
	return 0;
}

static int group_teardown(void **state)
{
	free(big);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_substrings),
		cmocka_unit_test(test_functions),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_unbalanced),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_arithmetic),
		cmocka_unit_test(test_comparisons),
		cmocka_unit_test(test_logic),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_math_functions),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_expr_limits),
		cmocka_unit_test(test_truth),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
