/*
 * metrics.h - what /metrics and /status show of a running PBX: counters
 * and gauges in the Prometheus text format (version 0.0.4), and a JSON
 * snapshot of the process and its active calls.
 *
 * They render values (a snapshot of the PBX, the counters of ops/) taken
 * on the main loop; the walk over active calls must run there too (the
 * ops hooks do: see ops.h).
 */
#ifndef KV_OPS_METRICS_H
#define KV_OPS_METRICS_H

#include "ops/ops.h"
#include "pbx/pbx.h"
#include "util/sbuf.h"

/* Append every metric family, each with its # HELP and # TYPE lines. */
void metrics_render(struct sbuf *out, const struct pbx_snapshot *ps,
		    const struct ops_stats *os);
/* Append the /status JSON object (one line, no trailing newline); pbx
 * (may be NULL) lists the active calls. */
void status_render(struct sbuf *out, const struct pbx_snapshot *ps,
		   const struct ops_stats *os, const struct pbx *pbx);

/* A Prometheus label value: \ " and newline escaped (no quotes added). */
void metrics_label_escape(struct sbuf *out, const char *s);
/* A JSON string with its quotes: control characters and " \ escaped,
 * bytes that are not UTF-8 replaced by U+FFFD.  NULL is "". */
void status_json_string(struct sbuf *out, const char *s);

#endif
