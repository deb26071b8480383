/*
 * pl.h - pointer/length slices.
 *
 * The SIP parser never copies: every field of a parsed message is a slice
 * into the received buffer.  A slice is valid only as long as that buffer.
 */
#ifndef KV_UTIL_PL_H
#define KV_UTIL_PL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pl {
	const char *p;
	size_t l;
};

#define PL_INIT {NULL, 0}
/* Slice over a string literal. */
#define PL(s) ((struct pl){(s), sizeof(s) - 1})

static inline bool pl_isset(const struct pl *pl)
{
	return pl && pl->p && pl->l;
}

static inline struct pl pl_from_str(const char *s);
void pl_set_str(struct pl *pl, const char *s);

/* Exact, case-sensitive comparison with a C string. */
bool pl_eq_str(const struct pl *pl, const char *s);
/* Case-insensitive comparison with a C string. */
bool pl_eqcase_str(const struct pl *pl, const char *s);
bool pl_eq(const struct pl *a, const struct pl *b);
bool pl_eqcase(const struct pl *a, const struct pl *b);

/* Decimal to unsigned; fails (-1) on empty, non-digit or overflow of max. */
int pl_u32(const struct pl *pl, uint32_t max, uint32_t *v);

/* Trim SP, HT, CR, LF (LWS, including folded line breaks) on both ends. */
void pl_trim(struct pl *pl);

/* The same trim on a writable C string, in place (moved to its start,
 * so the pointer stays the one to free); returns s. */
char *str_trim(char *s);

/* First occurrence of c, or NULL. */
const char *pl_chr(const struct pl *pl, char c);

/* Copy into a NUL-terminated buffer; fails (-1) when it does not fit. */
int pl_strcpy(const struct pl *pl, char *buf, size_t size);
/* malloc'ed NUL-terminated copy, NULL on allocation failure. */
char *pl_strdup(const struct pl *pl);

static inline struct pl pl_from_str(const char *s)
{
	struct pl pl;
	pl_set_str(&pl, s);
	return pl;
}

#endif
