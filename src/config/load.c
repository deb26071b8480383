/*
 * load.c - state shared by the parts of config_load() (see load.h).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load.h"

void load_init(struct cfg_load *ld, struct kv_config *cfg, struct arena *mem,
	       struct cfg_diag *diag)
{
	memset(ld, 0, sizeof(*ld));
	ld->cfg = cfg;
	ld->mem = mem;
	ld->diag = diag;
}

void load_done(struct cfg_load *ld)
{
	for (size_t i = 0; i < ld->seen_cap; i++)
		free(ld->seen[i]);
	free(ld->seen);
	free(ld->fmap);
	ld->seen = NULL;
	ld->fmap = NULL;
	ld->seen_n = ld->seen_cap = ld->fmap_n = 0;
}

static uint64_t key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

static int seen_grow(struct cfg_load *ld)
{
	size_t cap = ld->seen_cap ? ld->seen_cap * 2 : 256;
	char **v = calloc(cap, sizeof(*v));

	if (!v)
		return -1;
	for (size_t i = 0; i < ld->seen_cap; i++) {
		size_t j;

		if (!ld->seen[i])
			continue;
		for (j = (size_t)key_hash(ld->seen[i]) & (cap - 1); v[j]; j = (j + 1) & (cap - 1))
			;
		v[j] = ld->seen[i];
	}
	free(ld->seen);
	ld->seen = v;
	ld->seen_cap = cap;
	return 0;
}

/* True when key was already recorded; records it otherwise. */
static bool seen_check(struct cfg_load *ld, const char *key)
{
	size_t i;

	if ((ld->seen_n + 1) * 2 > ld->seen_cap && seen_grow(ld))
		return false;
	for (i = (size_t)key_hash(key) & (ld->seen_cap - 1); ld->seen[i];
	     i = (i + 1) & (ld->seen_cap - 1)) {
		if (!strcmp(ld->seen[i], key))
			return true;
	}
	ld->seen[i] = strdup(key);
	if (ld->seen[i])
		ld->seen_n++;
	return false;
}

void load_msg(struct cfg_load *ld, enum cfg_severity sev, const char *file,
	      int line, const char *fmt, ...)
{
	char text[1024];
	char *key = NULL;
	va_list ap;
	bool dup;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);

	if (asprintf(&key, "%s\n%d\n%d\n%s", file, line, (int)sev, text) < 0)
		key = NULL;
	dup = key && seen_check(ld, key);
	free(key);
	if (!dup)
		cfg_diag_add(ld->diag, sev, file, line, "%s", text);
}

static int files_push(struct cfg_load *ld, const char *path)
{
	struct kv_config *cfg = ld->cfg;
	char *key = NULL;
	bool dup;

	/* The same file may be included twice; list it once. */
	if (asprintf(&key, "file\n%s", path) < 0)
		return -1;
	dup = seen_check(ld, key);
	free(key);
	if (dup)
		return 0;
	if (cfg->files_n == ld->files_cap) {
		size_t cap = ld->files_cap ? ld->files_cap * 2 : 8;
		char **v = realloc(cfg->files, cap * sizeof(*v));
		if (!v)
			return -1;
		cfg->files = v;
		ld->files_cap = cap;
	}
	cfg->files[cfg->files_n] = load_strdup(ld, path);
	if (!cfg->files[cfg->files_n])
		return -1;
	cfg->files_n++;
	return 0;
}

int load_files(struct cfg_load *ld, const struct astconf *ac)
{
	free(ld->fmap);
	ld->fmap_n = 0;
	ld->fmap = calloc(ac->files_n ? ac->files_n : 1, sizeof(*ld->fmap));
	if (!ld->fmap) {
		ld->oom = true;
		return -1;
	}
	for (size_t i = 0; i < ac->files_n; i++) {
		ld->fmap[i] = load_strdup(ld, ac->files[i]);
		if (!ld->fmap[i] || files_push(ld, ac->paths[i])) {
			ld->oom = true;
			return -1;
		}
	}
	ld->fmap_n = ac->files_n;
	return 0;
}

const char *load_file(const struct cfg_load *ld, unsigned idx)
{
	return idx < ld->fmap_n ? ld->fmap[idx] : "?";
}

void *load_alloc(struct cfg_load *ld, size_t size)
{
	void *p = arena_alloc(ld->mem, size);

	if (!p)
		ld->oom = true;
	return p;
}

char *load_strndup(struct cfg_load *ld, const char *s, size_t n)
{
	char *p = arena_strndup(ld->mem, s, n);

	if (!p)
		ld->oom = true;
	return p;
}

char *load_strdup(struct cfg_load *ld, const char *s)
{
	return load_strndup(ld, s, strlen(s));
}
