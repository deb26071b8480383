/*
 * metrics.h - what /metrics and /status show of a running PBX: counters
 * and gauges in the Prometheus text format (version 0.0.4), and a JSON
 * snapshot of the process and its active calls.
 *
 * Both read PBX state without locks, so they must run on the main loop
 * (the ops hooks do: see ops.h).
 */
#ifndef KV_OPS_METRICS_H
#define KV_OPS_METRICS_H

#include "util/sbuf.h"

struct pbx;

/* Append every metric family, each with its # HELP and # TYPE lines. */
void metrics_render(struct sbuf *out, struct pbx *pbx);
/* Append the /status JSON object (one line, no trailing newline). */
void status_render(struct sbuf *out, struct pbx *pbx);

/* A Prometheus label value: \ " and newline escaped (no quotes added). */
void metrics_label_escape(struct sbuf *out, const char *s);
/* A JSON string with its quotes: control characters and " \ escaped,
 * bytes that are not UTF-8 replaced by U+FFFD.  NULL is "". */
void status_json_string(struct sbuf *out, const char *s);

#endif
