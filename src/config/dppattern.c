/*
 * dppattern.c - order and matching of extension names and patterns (see
 * dppattern.h).
 */
#include <string.h>

#include "config/dppattern.h"

int dp_plain_cmp(const char *a, const char *b)
{
	for (;;) {
		while (*a == '-')
			a++;
		while (*b == '-')
			b++;
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
		a++;
		b++;
	}
}

static void bit_set(unsigned char bits[32], unsigned c)
{
	bits[c / 8] |= (unsigned char)(1u << (7 - c % 8));
}

/*
 * One position of a pattern: a score where fewer matching characters
 * sort first (the low byte is the smallest of them), and the set itself.
 * '.' scores 0x18000, '!' 0x28000, the end 0x30000.
 */
static int pattern_pos(const char **pp, unsigned char bits[32])
{
	const char *p = *pp;

	for (;;) {
		const char *end;
		unsigned cmin = 0xff;
		int count = 0;
		unsigned char c;

		do {
			c = (unsigned char)*p++;
		} while (c == '-');
		switch (c) {
		case 'n':
		case 'N':
			for (unsigned d = '2'; d <= '9'; d++)
				bit_set(bits, d);
			*pp = p;
			return 0x0800 | '2';
		case 'x':
		case 'X':
			for (unsigned d = '0'; d <= '9'; d++)
				bit_set(bits, d);
			*pp = p;
			return 0x0A00 | '0';
		case 'z':
		case 'Z':
			for (unsigned d = '1'; d <= '9'; d++)
				bit_set(bits, d);
			*pp = p;
			return 0x0900 | '1';
		case '.':
			*pp = p;
			return 0x18000;
		case '!':
			*pp = p;
			return 0x28000;
		case '\0':
			*pp = NULL;
			return 0x30000;
		case '[':
			break;
		default:
			bit_set(bits, c);
			*pp = p;
			return 0x0100 | c;
		}
		end = strchr(p, ']');
		if (!end) {
			*pp = NULL;
			return 0x40000;
		}
		for (; p < end; p++) {
			unsigned c1 = (unsigned char)p[0], c2 = c1;

			if (p + 2 < end && p[1] == '-') {
				c2 = (unsigned char)p[2];
				p += 2;
			}
			if (c1 < cmin)
				cmin = c1;
			for (unsigned d = c1; d <= c2; d++) {
				unsigned char mask = (unsigned char)(1u << (7 - d % 8));

				if (!(bits[d / 8] & mask)) {
					bits[d / 8] |= mask;
					count += 0x100;
				}
			}
		}
		p++;
		if (count) {
			*pp = p;
			return count | (int)cmin;
		}
		/* An empty set is skipped. */
	}
}

static int pattern_cmp(const char *a, const char *b)
{
	for (;;) {
		unsigned char ba[32] = { 0 }, bb[32] = { 0 };
		int pa = pattern_pos(&a, ba), pb = pattern_pos(&b, bb);
		int c = pa - pb;

		if (!c)
			c = memcmp(bb, ba, sizeof(ba));
		if (c || !a || !b)
			return c;
	}
}

int dp_key_cmp(const char *a, const char *b)
{
	if (a[0] != '_')
		return b[0] == '_' ? -1 : dp_plain_cmp(a, b);
	if (b[0] != '_')
		return 1;
	return pattern_cmp(a + 1, b + 1);
}

/* How a pattern's walk along the data ended. */
enum walk_end {
	WALK_NO,       /* a digit the pattern does not allow */
	WALK_DOT,      /* reached '.': anything after matches */
	WALK_BANG,     /* reached '!' */
	WALK_DONE,     /* the data or the pattern ran out: see *rest, *dleft */
};

/* Walks the pattern p (after its '_') along data, '-' ignored on both
 * sides: the one reading of a pattern, for full and partial matches. */
static enum walk_end pattern_walk(const char *p, const char *d, const char **rest,
				  bool *dleft)
{
	for (;;) {
		while (*d == '-')
			d++;
		while (*p == '-')
			p++;
		if (!*d || !*p || *p == '/')
			break;
		switch (*p) {
		case '[': {
			const char *end = strchr(++p, ']');
			unsigned char dc = (unsigned char)*d;

			if (!end)
				return WALK_NO;
			if (p == end) {
				p++;
				continue;
			}
			for (; p < end; p++) {
				if (p + 2 < end && p[1] == '-') {
					if (dc >= (unsigned char)p[0] && dc <= (unsigned char)p[2])
						break;
					p += 2;
				} else if (dc == (unsigned char)p[0]) {
					break;
				}
			}
			if (p >= end)
				return WALK_NO;
			p = end;
			break;
		}
		case 'n':
		case 'N':
			if (*d < '2' || *d > '9')
				return WALK_NO;
			break;
		case 'x':
		case 'X':
			if (*d < '0' || *d > '9')
				return WALK_NO;
			break;
		case 'z':
		case 'Z':
			if (*d < '1' || *d > '9')
				return WALK_NO;
			break;
		case '.':
			return WALK_DOT;
		case '!':
			return WALK_BANG;
		default:
			if (*d != *p)
				return WALK_NO;
			break;
		}
		d++;
		p++;
	}
	*rest = p;
	*dleft = *d != '\0';
	return WALK_DONE;
}

bool dp_key_match(const char *key, const char *data)
{
	const char *p;
	bool dleft;

	if (key[0] != '_')
		return dp_plain_cmp(key, data) == 0;
	if (data[0] == '_' && pattern_cmp(key + 1, data + 1) == 0)
		return true;
	switch (pattern_walk(key + 1, data, &p, &dleft)) {
	case WALK_NO:
		return false;
	case WALK_DOT:
	case WALK_BANG:
		return true;
	case WALK_DONE:
		break;
	}
	return !dleft && (*p == '\0' || *p == '/' || *p == '!');
}

enum dp_pattern_fault dp_pattern_check(const char *key, char *wild)
{
	for (const char *p = key + 1; *p; p++) {
		if (*p == '[') {
			p = strchr(p + 1, ']');
			if (!p)
				return DP_PATTERN_UNTERMINATED;
		} else if ((*p == '.' || *p == '!') && p[1]) {
			*wild = *p;
			return DP_PATTERN_UNREACHABLE;
		}
	}
	return DP_PATTERN_OK;
}

/* Names compare without their '-': the partial match of a plain name. */
static int plain_partial(const char *key, const char *data, enum dp_match_mode mode)
{
	size_t lk = 0, ld = 0;

	for (const char *s = key; *s; s++)
		lk += *s != '-';
	for (const char *s = data; *s; s++)
		ld += *s != '-';
	if (lk < ld)
		return 0;
	for (;;) {
		while (*key == '-')
			key++;
		while (*data == '-')
			data++;
		if (!*data)
			break;
		if (*key != *data)
			return 0;
		key++;
		data++;
	}
	return mode == DP_MATCHMORE ? lk > ld : 1;
}

int dp_key_match_mode(const char *key, const char *data, enum dp_match_mode mode)
{
	const char *p;
	bool dleft;

	if (mode == DP_MATCH)
		return dp_key_match(key, data);
	if (key[0] != '_')
		return plain_partial(key, data, mode);
	switch (pattern_walk(key + 1, data, &p, &dleft)) {
	case WALK_NO:
		return 0;
	case WALK_DOT:
		return 1;
	case WALK_BANG:
		return 2;
	case WALK_DONE:
		break;
	}
	if (dleft)
		return 0;
	if (*p == '\0' || *p == '/')
		return mode == DP_MATCHMORE ? 0 : 1;
	if (*p == '!')
		return 2;
	return 1;
}
