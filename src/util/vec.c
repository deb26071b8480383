/*
 * vec.c - growth of vec.h's arrays.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/vec.h"

int vec_reserve_raw(void *vp, size_t *cap, size_t elsz, size_t want, size_t min_cap)
{
	void *v, *nv;
	size_t ncap;

	if (want <= *cap)
		return 0;
	if (!elsz)
		return EINVAL;
	ncap = *cap ? *cap : (min_cap ? min_cap : 1);
	while (ncap < want) {
		if (ncap > SIZE_MAX / 2)
			return ENOMEM;
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elsz)
		return ENOMEM;
	/* vp is the address of a T *: read and write it as bytes, so any
	 * pointer type works without aliasing a T ** as a void **. */
	memcpy(&v, vp, sizeof(v));
	nv = realloc(v, ncap * elsz);
	if (!nv)
		return ENOMEM;
	memcpy(vp, &nv, sizeof(nv));
	*cap = ncap;
	return 0;
}
