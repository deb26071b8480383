/*
 * load.h - state shared by the parts of config_load() (private to
 * src/config/): where the new configuration's memory comes from, where
 * messages go, and the file names of the astconf being interpreted.
 */
#ifndef KV_CONFIG_LOAD_H
#define KV_CONFIG_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "config/arena.h"
#include "config/astconf.h"
#include "config/config.h"

struct cfg_load {
	struct kv_config *cfg;
	struct arena *mem;            /* the new configuration's arena */
	struct diag *diag;
	bool oom;

	/* Names of the files of the astconf being interpreted, copied into
	 * the configuration's arena, by astconf file index. */
	const char **fmap;
	size_t fmap_n;

	size_t files_cap;             /* of cfg->files, which is malloc'ed */
};

void load_init(struct cfg_load *ld, struct kv_config *cfg, struct arena *mem,
	       struct diag *diag);
void load_done(struct cfg_load *ld);

/* Add a message (diag_add(): the same one given twice is kept once, as
 * a template line is seen once per section that inherits it). */
void load_msg(struct cfg_load *ld, enum diag_severity sev, const char *file,
	      int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Map ac's files for load_file() and record them in cfg->files: 0 or
 * ENOMEM (ld->oom set). */
int load_files(struct cfg_load *ld, const struct astconf *ac);
const char *load_file(const struct cfg_load *ld, unsigned idx);

/* Copy into the configuration's arena; NULL (and ld->oom) on failure. */
char *load_strdup(struct cfg_load *ld, const char *s);
char *load_strndup(struct cfg_load *ld, const char *s, size_t n);
void *load_alloc(struct cfg_load *ld, size_t size);

/* pjsip.conf: fills cfg (global, transports, auths, aors, endpoints,
 * identifies) and reports every problem. */
void pjsip_load(struct cfg_load *ld, const struct astconf *ac);

/* asterisk.conf, rtp.conf, kubevox.conf, http.conf. */
void sysconf_asterisk(struct cfg_load *ld, const struct astconf *ac);
void sysconf_rtp(struct cfg_load *ld, const struct astconf *ac);
void sysconf_kubevox(struct cfg_load *ld, const struct astconf *ac);
void sysconf_http(struct cfg_load *ld, const struct astconf *ac);
/* musiconhold.conf (mohconf.c). */
void mohconf_load(struct cfg_load *ld, const struct astconf *ac);
/* [cluster] defaults from the environment and the transports: once every
 * file is read. */
void sysconf_cluster_finish(struct cfg_load *ld);

#endif
