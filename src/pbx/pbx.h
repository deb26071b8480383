/*
 * pbx.h - the PBX: owns the running configuration, the SIP stack, the
 * shared state backend, the media relay and the security state, and
 * routes every new SIP request to the module that handles its method.
 *
 * This is what main.c and ops/ see: struct pbx is opaque, and what they
 * read comes out as values (pbx_stats(), pbx_snapshot()).  The modules of
 * src/pbx share the struct through pbx/core.h.
 */
#ifndef KV_PBX_PBX_H
#define KV_PBX_PBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "media/rtp.h"
#include "pbx/call.h"
#include "pbx/stats.h"
#include "sip/stack.h"
#include "state/state.h"
#include "util/tmr.h"

struct pbx;

/* Replicas a snapshot holds; a larger table is cut (replicas_total says
 * so).  The design runs 3; 64 is far beyond one Redis's cluster. */
#define PBX_SNAPSHOT_REPLICAS 64

/* Outbound registrations a snapshot holds (the rest are counted). */
#define PBX_SNAPSHOT_REGISTRATIONS 64

/* One outbound registration (pjsip.conf type=registration). */
struct pbx_registration {
	char name[80];                  /* the section's name */
	const char *status;             /* "registered", "registering",
					 * "unregistered" (waiting to retry),
					 * "rejected" (stopped until a reload),
					 * "standby" (another replica holds it),
					 * "stopped" (draining or exiting) */
	bool registered;                /* the provider has our binding */
	uint16_t last_code;             /* last failure's status (408: no
					 * answer), 0 when none */
	uint64_t next_attempt;          /* unix seconds of the next REGISTER,
					 * 0 when none is planned */
	uint64_t expires_at;            /* unix seconds, while registered */
	uint64_t failures;              /* failed attempts since start */
	char holder[64];                /* replica that registers it ("" unknown) */
};

/* What /metrics and /status show of the PBX at one moment. */
struct pbx_snapshot {
	struct pbx_stats stats;
	size_t contacts;                /* bindings in the state backend */
	bool state_healthy;
	struct state_stats state;       /* the backend's health and counters */
	/* The backend's table of replicas (this one included), by name. */
	struct state_replica replicas[PBX_SNAPSHOT_REPLICAS];
	size_t replicas_n;
	size_t replicas_total;          /* in the table; > replicas_n: cut */
	unsigned calls_active;
	struct call_stats calls;
	struct rtp_stats rtp;
	struct sip_stack_stats sip;
	size_t tcp_connections;
	uint64_t now;                   /* wall clock, unix seconds */
	struct pbx_registration registrations[PBX_SNAPSHOT_REGISTRATIONS];
	size_t registrations_n;
	size_t registrations_total;     /* > registrations_n: cut */
	/* music on hold (pbx/moh.h): decoded buffers (class and codec), their
	 * bytes, legs playing one now, directories decoded since start */
	size_t moh_buffers, moh_bytes;
	unsigned moh_plays;
	uint64_t moh_loads;
};

/* Build the PBX on loop with cfg (a reference is taken): the SIP stack with
 * one listener per configured transport, the in-memory state backend. */
int  pbx_alloc(struct pbx **pbxp, uv_loop_t *loop, struct tmrq *q,
	       struct kv_config *cfg);
/* Switch to a new, validated configuration (a reference is taken).  New
 * requests see it at once; calls in progress keep the one they started
 * with.  Transports are not rebound (as in Asterisk): a change to them is
 * logged and takes effect at the next start. */
void pbx_reconfigure(struct pbx *pbx, struct kv_config *cfg);
void pbx_free(struct pbx *pbx);

/* The configuration requests see now (no reference taken). */
const struct kv_config *pbx_config(const struct pbx *pbx);
void pbx_snapshot(const struct pbx *pbx, struct pbx_snapshot *out);
/* The state backend's part of a snapshot: contacts, health, counters and
 * the replica table (pbx_snapshot() calls it; tests pass a backend). */
void pbx_snapshot_state(struct state *st, struct pbx_snapshot *out);
/* Every active call, for /status. */
void pbx_calls_foreach(const struct pbx *pbx,
		       void (*fn)(const struct call_info *ci, void *arg), void *arg);
bool pbx_state_healthy(const struct pbx *pbx);

/* Draining (SIGTERM): new calls get 503 with Retry-After, live ones go
 * on.  pbx_busy() is true while calls or client transactions (BYEs,
 * CANCELs) are still running; pbx_end_calls() hangs up every call. */
void pbx_set_draining(struct pbx *pbx, bool draining);
unsigned pbx_calls_active(const struct pbx *pbx);
bool pbx_busy(const struct pbx *pbx);
void pbx_end_calls(struct pbx *pbx);
/* Exiting: outbound registrations are removed first (REGISTER Expires: 0,
 * a bounded wait), then done(arg) runs from the loop. */
void pbx_shutdown(struct pbx *pbx, void (*done)(void *arg), void *arg);

#endif
