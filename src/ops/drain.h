/*
 * drain.h - graceful shutdown for rolling updates: on the first SIGTERM
 * (or SIGINT) the replica stops taking calls (readiness 503, new INVITEs
 * 503 with Retry-After, so phones and proxies try another replica) but
 * keeps serving registrations, OPTIONS and the calls in progress; it exits
 * when the last call ends, or ends the remaining calls with BYE when the
 * drain timeout passes.  A second signal ends every call at once.  No
 * preStop hook is needed.
 */
#ifndef KV_OPS_DRAIN_H
#define KV_OPS_DRAIN_H

#include <uv.h>

#include "ops/ops.h"
#include "pbx/pbx.h"

struct drain;

/* done(arg) runs on the loop when the process may exit. */
typedef void (drain_done_h)(void *arg);

/* stats: where the drain counts (draining, started, forced hangups). */
int  drain_alloc(struct drain **dp, uv_loop_t *loop, struct pbx *pbx,
		 struct ops_stats *stats, drain_done_h *done, void *arg);
void drain_free(struct drain *d);
/* First call: start draining with timeout_s (0: end calls at once).
 * Later calls: end every call now. */
void drain_signal(struct drain *d, const char *why, unsigned timeout_s);

#endif
