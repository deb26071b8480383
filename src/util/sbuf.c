/*
 * sbuf.c - growable byte buffer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

void sbuf_init(struct sbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
}

void sbuf_free(struct sbuf *sb)
{
	free(sb->p);
	sbuf_init(sb);
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	sb->err = false;
}

int sbuf_reserve(struct sbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return -1;
	need = sb->len + extra + 1;
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->p, cap);
	if (!p) {
		sb->err = true;
		return -1;
	}
	sb->p = p;
	sb->cap = cap;
	return 0;
}

void sbuf_append(struct sbuf *sb, const void *p, size_t n)
{
	if (!n || sbuf_reserve(sb, n))
		return;
	memcpy(sb->p + sb->len, p, n);
	sb->len += n;
}

void sbuf_append_str(struct sbuf *sb, const char *s)
{
	sbuf_append(sb, s, strlen(s));
}

void sbuf_append_pl(struct sbuf *sb, const struct pl *pl)
{
	if (pl && pl->p)
		sbuf_append(sb, pl->p, pl->l);
}

void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (sbuf_reserve(sb, 64))
		return;
	va_copy(ap2, ap);
	n = vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb->err = true;
		return;
	}
	if ((size_t)n >= sb->cap - sb->len) {
		if (sbuf_reserve(sb, (size_t)n))
			return;
		vsnprintf(sb->p + sb->len, sb->cap - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(sb, fmt, ap);
	va_end(ap);
}

const char *sbuf_cstr(struct sbuf *sb)
{
	if (sbuf_reserve(sb, 0))
		return "";
	sb->p[sb->len] = '\0';
	return sb->p;
}
