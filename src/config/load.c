/*
 * load.c - state shared by the parts of config_load() (see load.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/load.h"
#include "util/vec.h"

void load_init(struct cfg_load *ld, struct kv_config *cfg, struct arena *mem,
	       struct diag *diag)
{
	memset(ld, 0, sizeof(*ld));
	ld->cfg = cfg;
	ld->mem = mem;
	ld->diag = diag;
}

void load_done(struct cfg_load *ld)
{
	free(ld->fmap);
	ld->fmap = NULL;
	ld->fmap_n = 0;
}

void load_msg(struct cfg_load *ld, enum diag_severity sev, const char *file,
	      int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ld->diag, sev, file, line, NULL, fmt, ap);
	va_end(ap);
}

static int files_push(struct cfg_load *ld, const char *path)
{
	struct kv_config *cfg = ld->cfg;

	/* The same file may be included twice; list it once (a handful of
	 * files: a scan is enough). */
	for (size_t i = 0; i < cfg->files_n; i++)
		if (!strcmp(cfg->files[i], path))
			return 0;
	if (vec_reserve_raw(&cfg->files, &ld->files_cap, sizeof(*cfg->files),
			    cfg->files_n + 1, 8))
		return ENOMEM;
	cfg->files[cfg->files_n] = load_strdup(ld, path);
	if (!cfg->files[cfg->files_n])
		return ENOMEM;
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
		return ENOMEM;
	}
	for (size_t i = 0; i < ac->files_n; i++) {
		ld->fmap[i] = load_strdup(ld, ac->files[i]);
		if (!ld->fmap[i] || files_push(ld, ac->paths[i])) {
			ld->oom = true;
			return ENOMEM;
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
