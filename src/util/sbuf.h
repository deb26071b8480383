/*
 * sbuf.h - growable byte buffer for building outgoing messages.
 *
 * Printing never fails half-way silently: once an allocation fails the
 * buffer is marked and sbuf_err() reports it, so callers check once.
 */
#ifndef KV_UTIL_SBUF_H
#define KV_UTIL_SBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/pl.h"

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool err;
};

void sbuf_init(struct sbuf *sb);
void sbuf_free(struct sbuf *sb);
void sbuf_reset(struct sbuf *sb);
int  sbuf_reserve(struct sbuf *sb, size_t extra);
void sbuf_append(struct sbuf *sb, const void *p, size_t n);
void sbuf_append_str(struct sbuf *sb, const char *s);
void sbuf_append_pl(struct sbuf *sb, const struct pl *pl);
void sbuf_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *sb, const char *fmt, va_list ap);
/* NUL-terminates without counting the NUL in len. */
const char *sbuf_cstr(struct sbuf *sb);
static inline bool sbuf_err(const struct sbuf *sb) { return sb->err; }

#endif
