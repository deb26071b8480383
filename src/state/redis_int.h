/*
 * redis_int.h - private to the Redis backend's files: redis.c (the object,
 * nonces, bans, health), redisloc.c (the location store and this
 * replica's copy of its bindings), rediscluster.c (heartbeat, replica
 * table, epoch), redislease.c (leases).
 */
#ifndef KV_STATE_REDIS_INT_H
#define KV_STATE_REDIS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state/redisconn.h"
#include "state/redislua.h"
#include "state/state.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/log.h"
#include "util/sbuf.h"
#include "util/tmr.h"

#define RS_EPOCH_MAX       40    /* bytes of an epoch, NUL included */
#define RS_HEARTBEAT_MS    1000
#define RS_ALIVE_MS        3000  /* a replica is dead beyond this */
#define RS_HEALTHY_MS      2000  /* healthy: a heartbeat answered within */
#define RS_FORGET_MS       (24ULL * 3600 * 1000)  /* replicas silent this long go */
#define RS_REPLICAS_MAX    256

/*
 * One field of an AOR's hash.  The field is the contact URI; two bindings
 * with the same URI string (different +sip.instance) cannot share a
 * field, so the second gets "URI<TAB>#2": the URI is the field up to its
 * first TAB, which a URI never holds.  Field and record are NUL-terminated
 * in one allocation.
 */
struct rrecord {
	char *field;
	size_t fieldlen;
	size_t urilen;
	char *rec;               /* inside field's allocation */
	size_t reclen;
	uint64_t expires_at;
	bool own;                /* held by this replica */
};

/* An AOR's hash as read or as written: records sorted by URI, so that
 * every replica plans from the same order. */
struct rset {
	uint64_t version;        /* "#v"; 0: there is no hash */
	struct rrecord *v;
	size_t n, cap;
};

struct rs_writeback {
	char **names;            /* AORs of the copy when the loss was seen */
	size_t n, next, inflight;
	uint64_t written;
	bool active;
	bool redo;               /* some merge failed: again once Redis answers */
};

struct redis_state {
	struct state st;
	uv_loop_t *loop;
	struct tmrq *q;
	state_clock_h *clock;
	void *clock_arg;
	struct rconn *rc;
	struct rsentinel *sen;   /* Sentinel: where the master is; or NULL */
	struct rscript lua[RLUA_N];
	char self[STATE_REPLICA_MAX];
	char advertise[64];      /* "ADDR:PORT", or "" */
	bool closing;
	unsigned switches;       /* rconn_switches() when last seen
				  * (rediscluster.c) */
	struct log_ratelimit rl; /* records that do not decode */

	/* rediscluster.c */
	char epoch[RS_EPOCH_MAX];      /* "" until the first heartbeat */
	char epoch_cand[RS_EPOCH_MAX]; /* what we set when it is missing */
	uint64_t hb_ok_ms;       /* loop time of the last heartbeat answered */
	bool hb_inflight;
	struct tmr hb_tmr;
	struct state_replica *replicas;
	size_t replicas_n;
	uint64_t replicas_ms;    /* loop time the table was read */
	uint64_t contacts;       /* kv:cnt at the last heartbeat */

	/* redisloc.c */
	struct htab aors;        /* struct rcopy: this replica's copy */
	struct htab regs;        /* struct rreg: the REGISTER of an AOR in
				  * flight; the others of that AOR wait */
	struct hash_key key;
	struct tmr sweep_tmr;
	bool sweep_inflight;
	unsigned sweep_runs;     /* scripts since the last tick */
	bool loaded;             /* kv:rep:SELF read into the copy */
	bool load_inflight;
	bool load_failed;
	bool load_scanned;       /* the last SSCAN page came */
	size_t load_pending;     /* HGETALLs of the load in flight */
	size_t load_aors;
	struct rs_writeback wb;

	/* redis.c */
	struct nctab *nonces;    /* this replica's own, for outages */
	struct failtab *bans;    /* the cluster's bans, copied every 500 ms */
	struct tmr ban_tmr;
	bool ban_inflight;

	uint64_t conflicts;
	uint64_t written_back;
	uint64_t expired_removed;
};

/* redis.c */
uint64_t rs_now(const struct redis_state *rs);      /* the clock, seconds */
uint64_t rs_now_ms(const struct redis_state *rs);   /* the clock, ms */
/* Connected and the epoch is known: shared state may be written. */
bool rs_up(const struct redis_state *rs);
/* "PREFIX" + name, in sb (NUL-terminated): 0 or ENOMEM. */
int  rs_key(struct sbuf *sb, const char *prefix, const char *name, size_t len);
/* A record that does not decode: logged at a limited rate. */
void rs_bad_record(struct redis_state *rs, const char *aor, size_t aorlen,
		   const char *uri, size_t urilen);
/* A reply element that must be a string: its slice, or false. */
bool rs_reply_str(const redisReply *r, struct pl *out);

/* The arguments of one command, built up; numbers are printed into slots
 * of their own.  Errors stick (rargs.err) and are checked once. */
struct rargs {
	const char **v;
	size_t *l;
	char (*num)[24];
	size_t n, cap;
	bool err;
};
void rargs_init(struct rargs *a);
void rargs_free(struct rargs *a);
void rargs_str(struct rargs *a, const char *p, size_t l);
void rargs_cstr(struct rargs *a, const char *s);
void rargs_u64(struct rargs *a, uint64_t v);
/* EVALSHA of script with nkeys keys: as rconn_eval(); ENOMEM when an
 * argument could not be added. */
int  rargs_eval(struct rargs *a, struct redis_state *rs, enum rlua script,
		int nkeys, rconn_reply_h *cb, void *arg);
int  rargs_cmd(struct rargs *a, struct redis_state *rs, rconn_reply_h *cb, void *arg);

/* redisloc.c */
int  rs_loc_init(struct redis_state *rs);
void rs_loc_free(struct redis_state *rs);
void rs_loc_up(struct redis_state *rs);                /* first heartbeat answered */
void rs_loc_data_lost(struct redis_state *rs);         /* the epoch changed */
int  rs_loc_register(struct redis_state *rs, const struct loc_register *r,
		     loc_result_h *cb, void *arg);
int  rs_loc_lookup(struct redis_state *rs, const struct pl *aor,
		   loc_result_h *cb, void *arg);

/* rediscluster.c */
int  rs_cluster_init(struct redis_state *rs);
void rs_cluster_free(struct redis_state *rs);
void rs_cluster_up(struct redis_state *rs);            /* connection up */
/* An epoch read from Redis: the first one is adopted; another one means
 * Redis lost its data. */
void rs_epoch_seen(struct redis_state *rs, const struct pl *epoch);
/* The connection came up on another master than before (Sentinel): a
 * replica promoted while it lagged lacks the last writes, with the same
 * epoch, so it is written back to at once, as if the epoch had changed. */
void rs_cluster_master_changed(struct redis_state *rs);
bool rs_cluster_healthy(const struct redis_state *rs);
int  rs_replica(struct redis_state *rs, const char *name, struct state_replica *out);
void rs_replicas_foreach(struct redis_state *rs,
			 void (*fn)(const struct state_replica *r, void *arg), void *arg);

/* redislease.c */
int  rs_lease_take(struct redis_state *rs, const char *name, uint32_t ttl_ms,
		   lease_h *cb, void *arg);
void rs_lease_release(struct redis_state *rs, const char *name);

#endif
