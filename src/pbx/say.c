/*
 * say.c - digits and numbers as prompt names (see say.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "pbx/say.h"

static void add(struct sbuf *out, const char *name)
{
	if (out->len)
		sbuf_append_str(out, "&");
	sbuf_append_str(out, name);
}

static void add_num(struct sbuf *out, int n)
{
	if (out->len)
		sbuf_append_str(out, "&");
	sbuf_printf(out, "digits/%d", n);
}

int say_digits(const char *digits, struct sbuf *out)
{
	char fn[] = "digits/X";

	for (const char *s = digits; *s; s++) {
		if (*s >= '0' && *s <= '9') {
			fn[7] = *s;
			add(out, fn);
		} else if (*s == '*') {
			add(out, "digits/star");
		} else if (*s == '#') {
			add(out, "digits/pound");
		} else if (*s == '-') {
			add(out, "digits/minus");
		}
	}
	return sbuf_err(out) ? ENOMEM : 0;
}

/* ast_say_number_full_en() */
static int number_en(int num, struct sbuf *out)
{
	bool playh = false;
	int err;

	while (num || playh) {
		if (num < 0) {
			add(out, "digits/minus");
			num = num > INT_MIN ? -num : 0;
		} else if (playh) {
			add(out, "digits/hundred");
			playh = false;
		} else if (num < 20) {
			add_num(out, num);
			num = 0;
		} else if (num < 100) {
			add_num(out, num / 10 * 10);
			num %= 10;
		} else if (num < 1000) {
			add_num(out, num / 100);
			playh = true;
			num %= 100;
		} else if (num < 1000000) {
			err = number_en(num / 1000, out);
			if (err)
				return err;
			add(out, "digits/thousand");
			num %= 1000;
		} else if (num < 1000000000) {
			err = number_en(num / 1000000, out);
			if (err)
				return err;
			add(out, "digits/million");
			num %= 1000000;
		} else if (num < INT_MAX) {
			err = number_en(num / 1000000000, out);
			if (err)
				return err;
			add(out, "digits/billion");
			num %= 1000000000;
		} else {
			return EINVAL;
		}
	}
	return 0;
}

/* ast_say_number_full_fr() */
static int number_fr(int num, bool fem, struct sbuf *out)
{
	bool playh = false, playa = false;
	int err;

	while (num || playh || playa) {
		if (num < 0) {
			add(out, "digits/minus");
			num = num > INT_MIN ? -num : 0;
		} else if (playh) {
			add(out, "digits/hundred");
			playh = false;
		} else if (playa) {
			add(out, "digits/et");
			playa = false;
		} else if (num == 1) {
			add(out, fem ? "digits/1F" : "digits/1");
			num = 0;
		} else if (num < 21) {
			add_num(out, num);
			num = 0;
		} else if (num < 70) {
			add_num(out, num / 10 * 10);
			playa = num % 10 == 1;
			num %= 10;
		} else if (num < 80) {
			add(out, "digits/60");
			playa = num % 10 == 1;
			num -= 60;
		} else if (num < 100) {
			add(out, "digits/80");
			num -= 80;
		} else if (num < 200) {
			add(out, "digits/hundred");
			num -= 100;
		} else if (num < 1000) {
			add_num(out, num / 100);
			playh = true;
			num %= 100;
		} else if (num < 2000) {
			add(out, "digits/thousand");
			num -= 1000;
		} else if (num < 1000000) {
			err = number_fr(num / 1000, fem, out);
			if (err)
				return err;
			add(out, "digits/thousand");
			num %= 1000;
		} else if (num < 2000000) {
			add(out, "digits/million");
			num -= 1000000;
		} else if (num < 1000000000) {
			err = number_fr(num / 1000000, fem, out);
			if (err)
				return err;
			add(out, "digits/million");
			num %= 1000000;
		} else {
			return EINVAL;
		}
	}
	return 0;
}

int say_number(int num, const char *lang, const char *gender, struct sbuf *out)
{
	size_t len = out->len;
	int err;

	/* Zero is said as a digit, in every language. */
	if (!num)
		return say_digits("0", out);
	if (lang && !strncasecmp(lang, "fr", 2))
		err = number_fr(num, gender && !strncasecmp(gender, "f", 1), out);
	else
		err = number_en(num, out);
	if (err) {
		out->len = len;
		return err;
	}
	return sbuf_err(out) ? ENOMEM : 0;
}
