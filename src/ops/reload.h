/*
 * reload.h - live configuration reload: watch the config directory (plain
 * edits, files pulled in by #include, and Kubernetes ConfigMap updates,
 * which swap a "..data" symlink), and reload on SIGHUP or POST /reload.
 *
 * A reload parses and validates the whole new configuration first; only a
 * valid one replaces the running one, in one pointer swap.  An invalid one
 * is reported with the same file:line messages as --check, counted, and
 * the old configuration keeps serving.
 */
#ifndef KV_OPS_RELOAD_H
#define KV_OPS_RELOAD_H

#include <uv.h>

#include "ops/ops.h"
#include "pbx/pbx.h"
#include "util/sbuf.h"

struct reloader;

/* poll_ms: how often file contents are compared, as a fallback for file
 * systems whose change events are unreliable (0: 2000). */
int  reloader_alloc(struct reloader **rp, uv_loop_t *loop, struct pbx *pbx,
		    struct ops_stats *stats, const char *dir, unsigned poll_ms);
void reloader_free(struct reloader *r);

/* Called on the loop right after a new configuration is swapped in, for
 * what lives outside the PBX (the ops endpoints' token). */
typedef void (reload_applied_h)(const struct kv_config *cfg, void *arg);
void reloader_set_applied(struct reloader *r, reload_applied_h *h, void *arg);

/* Reload now (SIGHUP, POST /reload, or a change seen).  0 when the new
 * configuration was applied or nothing changed; EINVAL when it was
 * rejected, with its messages appended to msgs (may be NULL). */
int  reloader_reload(struct reloader *r, const char *why, struct sbuf *msgs);

#endif
