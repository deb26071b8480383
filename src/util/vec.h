/*
 * vec.h - the one growable array.
 *
 * A vector is any struct with `T *v; size_t n, cap;` (VEC(T) declares
 * one), so the element type stays visible to the compiler and to readers.
 * Growth doubles (amortised O(1) push) with overflow checks; a failed
 * growth leaves the vector as it was.  Errors are positive errno values.
 */
#ifndef KV_UTIL_VEC_H
#define KV_UTIL_VEC_H

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#define VEC(T) struct { T *v; size_t n, cap; }

/* Make room for at least want elements of elsz bytes: *vp is the array
 * (realloc'ed), *cap its capacity.  0 or ENOMEM. */
int vec_reserve_raw(void *vp, size_t *cap, size_t elsz, size_t want, size_t min_cap);

#define vec_reserve(vec, want) \
	vec_reserve_raw(&(vec)->v, &(vec)->cap, sizeof(*(vec)->v), (want), 8)

/* Room for one more element: 0 or ENOMEM. */
#define vec_grow(vec) vec_reserve((vec), (vec)->n + 1)

/* Append x (an expression of the element type): 0 or ENOMEM. */
#define vec_push(vec, x) \
	(vec_grow(vec) ? ENOMEM : ((vec)->v[(vec)->n++] = (x), 0))

/* Free the array; the vector is empty and usable again. */
#define vec_free(vec) \
	do { free((vec)->v); (vec)->v = NULL; (vec)->n = (vec)->cap = 0; } while (0)

#endif
