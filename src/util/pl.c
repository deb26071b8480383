/*
 * pl.c - pointer/length slice helpers used by every parser.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/pl.h"

void pl_set_str(struct pl *pl, const char *s)
{
	pl->p = s;
	pl->l = s ? strlen(s) : 0;
}

bool pl_eq_str(const struct pl *pl, const char *s)
{
	size_t n = strlen(s);
	return pl->l == n && (n == 0 || memcmp(pl->p, s, n) == 0);
}

bool pl_eqcase_str(const struct pl *pl, const char *s)
{
	size_t n = strlen(s);
	return pl->l == n && (n == 0 || strncasecmp(pl->p, s, n) == 0);
}

bool pl_eq(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (a->l == 0 || memcmp(a->p, b->p, a->l) == 0);
}

bool pl_eqcase(const struct pl *a, const struct pl *b)
{
	return a->l == b->l && (a->l == 0 || strncasecmp(a->p, b->p, a->l) == 0);
}

int pl_u32(const struct pl *pl, uint32_t max, uint32_t *v)
{
	uint64_t n = 0;

	if (!pl->l || pl->l > 10)
		return -1;
	for (size_t i = 0; i < pl->l; i++) {
		char c = pl->p[i];
		if (c < '0' || c > '9')
			return -1;
		n = n * 10 + (uint64_t)(c - '0');
	}
	if (n > max)
		return -1;
	*v = (uint32_t)n;
	return 0;
}

static bool is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

void pl_trim(struct pl *pl)
{
	while (pl->l && is_lws(pl->p[0])) {
		pl->p++;
		pl->l--;
	}
	while (pl->l && is_lws(pl->p[pl->l - 1]))
		pl->l--;
}

char *str_trim(char *s)
{
	struct pl pl = pl_from_str(s);

	pl_trim(&pl);
	/* pl.p points into s, which is writable */
	memmove(s, pl.p, pl.l);
	s[pl.l] = '\0';
	return s;
}

const char *pl_chr(const struct pl *pl, char c)
{
	return pl->l ? memchr(pl->p, c, pl->l) : NULL;
}

int pl_strcpy(const struct pl *pl, char *buf, size_t size)
{
	if (!size || pl->l >= size)
		return -1;
	if (pl->l)
		memcpy(buf, pl->p, pl->l);
	buf[pl->l] = '\0';
	return 0;
}

char *pl_strdup(const struct pl *pl)
{
	char *s = malloc(pl->l + 1);
	if (!s)
		return NULL;
	if (pl->l)
		memcpy(s, pl->p, pl->l);
	s[pl->l] = '\0';
	return s;
}
