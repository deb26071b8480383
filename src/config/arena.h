/*
 * arena.h - bump allocator for configuration data.
 *
 * A configuration is built once, never edited, and freed as a whole.  Its
 * strings and small arrays therefore come from one arena: error paths never
 * leak, freeing 10k endpoints is a handful of free() calls, and variables
 * copied from a template can share the template's strings.
 */
#ifndef KV_CONFIG_ARENA_H
#define KV_CONFIG_ARENA_H

#include <stddef.h>

struct arena_chunk;

struct arena {
	struct arena_chunk *head;    /* the chunk small allocations come from */
	size_t total;                /* bytes obtained from malloc */
};

void arena_init(struct arena *a);
void arena_free(struct arena *a);

/* Zeroed, suitably aligned memory; NULL when malloc fails. */
void *arena_alloc(struct arena *a, size_t size);
void *arena_memdup(struct arena *a, const void *p, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);

#endif
