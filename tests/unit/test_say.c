/*
 * test_say.c - digits and numbers as prompt names (src/pbx/say.c), as
 * Asterisk's say.c says them: English and French rules, negative
 * numbers, the limits, and the characters SayDigits skips.  Also the
 * extension matching modes (config/dppattern.c) the IVR collects digits
 * with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include "config/dppattern.h"
#include "pbx/say.h"

static char out[2048];

/* The names, with "digits/" dropped and '&' as ' ', for short checks. */
static const char *said(int num, const char *lang, const char *gender, int want_err)
{
	struct sbuf sb;
	const char *p;
	size_t k = 0;

	sbuf_init(&sb);
	assert_int_equal(say_number(num, lang, gender, &sb), want_err);
	p = sbuf_cstr(&sb);
	while (p && *p) {
		if (!strncmp(p, "digits/", 7)) {
			p += 7;
			continue;
		}
		out[k++] = *p == '&' ? ' ' : *p;
		p++;
	}
	out[k] = '\0';
	sbuf_free(&sb);
	return out;
}

static void test_english(void **state)
{
	assert_string_equal(said(0, "en", NULL, 0), "0");
	assert_string_equal(said(7, "en", NULL, 0), "7");
	assert_string_equal(said(19, "en", NULL, 0), "19");
	assert_string_equal(said(20, "en", NULL, 0), "20");
	assert_string_equal(said(21, "en", NULL, 0), "20 1");
	assert_string_equal(said(99, "en", NULL, 0), "90 9");
	assert_string_equal(said(100, "en", NULL, 0), "1 hundred");
	assert_string_equal(said(115, "en", NULL, 0), "1 hundred 15");
	assert_string_equal(said(342, "en", NULL, 0), "3 hundred 40 2");
	assert_string_equal(said(1000, "en", NULL, 0), "1 thousand");
	assert_string_equal(said(1234, "en", NULL, 0), "1 thousand 2 hundred 30 4");
	assert_string_equal(said(20005, "en", NULL, 0), "20 thousand 5");
	assert_string_equal(said(999999, "en", NULL, 0),
			    "9 hundred 90 9 thousand 9 hundred 90 9");
	assert_string_equal(said(1000001, "en", NULL, 0), "1 million 1");
	assert_string_equal(said(2000000000, "en", NULL, 0), "2 billion");
	assert_string_equal(said(-42, "en", NULL, 0), "minus 40 2");
	/* Asterisk's English rules stop below INT_MAX. */
	assert_string_equal(said(INT_MAX, "en", NULL, EINVAL), "");
	/* INT_MIN cannot be negated: Asterisk says "minus" alone. */
	assert_string_equal(said(INT_MIN, "en", NULL, 0), "minus");
	/* The gender means nothing in English; other languages fall back. */
	assert_string_equal(said(1, "en", "f", 0), "1");
	assert_string_equal(said(21, "de", NULL, 0), "20 1");
	assert_string_equal(said(21, NULL, NULL, 0), "20 1");
}

static void test_french(void **state)
{
	assert_string_equal(said(0, "fr", NULL, 0), "0");
	assert_string_equal(said(1, "fr", NULL, 0), "1");
	assert_string_equal(said(1, "fr", "f", 0), "1F");
	assert_string_equal(said(16, "fr", NULL, 0), "16");
	assert_string_equal(said(20, "fr", NULL, 0), "20");
	assert_string_equal(said(21, "fr", NULL, 0), "20 et 1");
	assert_string_equal(said(21, "fr_CA", "f", 0), "20 et 1F");
	assert_string_equal(said(22, "fr", NULL, 0), "20 2");
	assert_string_equal(said(61, "fr", NULL, 0), "60 et 1");
	/* soixante-dix, soixante et onze, soixante-dix-neuf */
	assert_string_equal(said(70, "fr", NULL, 0), "60 10");
	assert_string_equal(said(71, "fr", NULL, 0), "60 et 11");
	assert_string_equal(said(79, "fr", NULL, 0), "60 19");
	/* quatre-vingts, quatre-vingt-un, quatre-vingt-onze */
	assert_string_equal(said(80, "fr", NULL, 0), "80");
	assert_string_equal(said(81, "fr", NULL, 0), "80 1");
	assert_string_equal(said(91, "fr", NULL, 0), "80 11");
	assert_string_equal(said(99, "fr", NULL, 0), "80 19");
	/* cent, cent un, deux cent, mille, deux mille */
	assert_string_equal(said(100, "fr", NULL, 0), "hundred");
	assert_string_equal(said(101, "fr", NULL, 0), "hundred 1");
	assert_string_equal(said(200, "fr", NULL, 0), "2 hundred");
	assert_string_equal(said(371, "fr", NULL, 0), "3 hundred 60 et 11");
	assert_string_equal(said(1000, "fr", NULL, 0), "thousand");
	assert_string_equal(said(1981, "fr", NULL, 0), "thousand 9 hundred 80 1");
	assert_string_equal(said(2000, "fr", NULL, 0), "2 thousand");
	assert_string_equal(said(21000, "fr", NULL, 0), "20 et 1 thousand");
	assert_string_equal(said(1000000, "fr", NULL, 0), "million");
	assert_string_equal(said(3000070, "fr", NULL, 0), "3 million 60 10");
	assert_string_equal(said(-5, "fr", NULL, 0), "minus 5");
	assert_string_equal(said(1000000000, "fr", NULL, EINVAL), "");
}

static void test_digits(void **state)
{
	struct sbuf sb;

	sbuf_init(&sb);
	assert_int_equal(say_digits("12*#-9x ", &sb), 0);
	assert_string_equal(sbuf_cstr(&sb),
			    "digits/1&digits/2&digits/star&digits/pound&digits/minus&digits/9");
	sbuf_reset(&sb);
	assert_int_equal(say_digits("", &sb), 0);
	assert_int_equal(sb.len, 0);
	/* Appended to what is there. */
	sbuf_append_str(&sb, "beep");
	assert_int_equal(say_digits("0", &sb), 0);
	assert_string_equal(sbuf_cstr(&sb), "beep&digits/0");
	sbuf_free(&sb);
}

/* extension_match_core()'s modes: what digit collection asks. */
static void test_match_modes(void **state)
{
	/* Plain names: a prefix can match, and more is wanted while the
	 * name is longer. */
	assert_int_equal(dp_key_match_mode("123", "1", DP_CANMATCH), 1);
	assert_int_equal(dp_key_match_mode("123", "1", DP_MATCHMORE), 1);
	assert_int_equal(dp_key_match_mode("123", "123", DP_MATCHMORE), 0);
	assert_int_equal(dp_key_match_mode("123", "123", DP_CANMATCH), 1);
	assert_int_equal(dp_key_match_mode("123", "13", DP_CANMATCH), 0);
	assert_int_equal(dp_key_match_mode("1", "12", DP_CANMATCH), 0);
	assert_int_equal(dp_key_match_mode("1", "1", DP_MATCH), 1);
	assert_int_equal(dp_key_match_mode("1", "2", DP_MATCH), 0);
	/* Patterns. */
	assert_int_equal(dp_key_match_mode("_1XX", "1", DP_MATCHMORE), 1);
	assert_int_equal(dp_key_match_mode("_1XX", "12", DP_CANMATCH), 1);
	assert_int_equal(dp_key_match_mode("_1XX", "123", DP_MATCHMORE), 0);
	assert_int_equal(dp_key_match_mode("_1XX", "2", DP_CANMATCH), 0);
	assert_int_equal(dp_key_match_mode("_1XX", "1234", DP_CANMATCH), 0);
	assert_int_equal(dp_key_match_mode("_[1-3]", "2", DP_MATCHMORE), 0);
	assert_int_equal(dp_key_match_mode("_[1-3]", "2", DP_CANMATCH), 1);
	/* '.' always wants more; '!' is an early match. */
	assert_int_equal(dp_key_match_mode("_9.", "9", DP_MATCHMORE), 1);
	assert_int_equal(dp_key_match_mode("_9.", "955", DP_MATCHMORE), 1);
	assert_int_equal(dp_key_match_mode("_9!", "9", DP_MATCHMORE), 2);
	assert_int_equal(dp_key_match_mode("_9!", "95", DP_CANMATCH), 2);
	assert_int_equal(dp_key_match_mode("_X", "-5", DP_MATCHMORE), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_french),
		cmocka_unit_test(test_digits),
		cmocka_unit_test(test_match_modes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
