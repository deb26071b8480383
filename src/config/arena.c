/*
 * arena.c - bump allocator for configuration data (see arena.h).
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/arena.h"

#define ARENA_CHUNK (64 * 1024)
/* Anything bigger than this gets a chunk of its own, so that a large
 * request never wastes the rest of the current chunk. */
#define ARENA_BIG (ARENA_CHUNK / 4)

struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
	size_t off;
	alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a)
{
	a->head = NULL;
	a->total = 0;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c = a->head;

	while (c) {
		struct arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

static struct arena_chunk *chunk_new(size_t size)
{
	struct arena_chunk *c;

	if (size > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + size);
	if (!c)
		return NULL;
	c->next = NULL;
	c->size = size;
	c->off = 0;
	return c;
}

void *arena_alloc(struct arena *a, size_t size)
{
	const size_t align = alignof(max_align_t);
	struct arena_chunk *c;
	size_t off;

	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - align)
		return NULL;

	if (size > ARENA_BIG) {
		c = chunk_new(size);
		if (!c)
			return NULL;
		c->off = size;
		a->total += size;
		/* Keep the current small-allocation chunk at the head. */
		if (a->head) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			a->head = c;
		}
		memset(c->data, 0, size);
		return c->data;
	}

	c = a->head;
	off = c ? (c->off + align - 1) & ~(align - 1) : 0;
	if (!c || off > c->size || c->size - off < size) {
		c = chunk_new(ARENA_CHUNK);
		if (!c)
			return NULL;
		c->next = a->head;
		a->head = c;
		a->total += ARENA_CHUNK;
		off = 0;
	}
	c->off = off + size;
	memset(c->data + off, 0, size);
	return c->data + off;
}

void *arena_memdup(struct arena *a, const void *p, size_t size)
{
	void *d = arena_alloc(a, size);

	if (d && size)
		memcpy(d, p, size);
	return d;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}
