/*
 * state.h - the shared-state interface: location store, nonce counts,
 * failed-authentication counts and bans, and the table of replicas.
 *
 * Leases give one replica of the cluster at a time a job that must not
 * run twice (a trunk's outbound registration): a replica takes or renews
 * a lease for a few seconds, and another may take it only once it has
 * not been renewed for that long.
 *
 * Everything a replica must share with the others goes through this
 * interface, so that the in-memory backend (one machine, the default) and
 * the Redis backend (cluster, state/redis.c) are interchangeable.
 * Operations complete through a callback because a networked backend
 * answers later; the memory backend calls it before returning.  A
 * REGISTER is applied as ONE operation (ordering checks, max_contacts,
 * remove_existing, refresh, removal) so a backend can make it atomic.
 * What must be answered on every request without waiting (is this source
 * banned? where is replica X?) is read synchronously from a copy the
 * backend keeps in this process.
 */
#ifndef KV_STATE_STATE_H
#define KV_STATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <uv.h>

#include "util/pl.h"
#include "util/tmr.h"

enum loc_proto { LOC_PROTO_UDP = 0, LOC_PROTO_TCP = 1 };

#define STATE_REPLICA_MAX 64     /* bytes of a replica name, NUL included
				  * (config.h's CFG_REPLICA_MAX + 1) */

/* An IPv4 or IPv6 address and port in 28 bytes: a binding keeps two, and
 * a sockaddr_storage is 128 (the store's memory per binding counts). */
union loc_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

/* Where a registration really came from: calls go back there (NAT).  The
 * flow is (replica, proto, local, addr, conn_id): only that replica can
 * reach the phone through the phone's NAT pinhole or TCP connection. */
struct loc_source {
	union loc_addr addr;     /* the phone's address as we saw it */
	union loc_addr local;    /* our address it sent to (AF_UNSPEC:
				  * unknown, the listener's) */
	enum loc_proto proto;
	uint64_t conn_id;        /* TCP connection id on the replica, 0 for UDP */
	char replica[STATE_REPLICA_MAX]; /* replica that holds the flow */
};

/* A stored binding, as handed to callbacks (valid during the callback). */
struct loc_contact {
	const char *aor;
	const char *uri;         /* contact URI without <> */
	const char *path;        /* Path header values, ", "-joined, or NULL */
	const char *callid;
	uint32_t cseq;
	int q;                   /* q * 1000, -1 when absent */
	uint64_t expires_at;     /* wall clock, unix seconds */
	const char *user_agent;  /* or NULL */
	const char *endpoint;    /* endpoint that registered it */
	const char *instance;    /* +sip.instance, or NULL */
	struct loc_source src;
};

/* One Contact of a REGISTER. */
struct loc_binding {
	struct pl uri;
	uint32_t expires;        /* effective, already clamped; 0 = remove */
	int q;                   /* q * 1000, -1 when absent */
	struct pl instance;      /* +sip.instance value, may be empty */
};

struct loc_register {
	struct pl aor;
	bool wildcard;           /* "Contact: *" with Expires: 0: remove all */
	const struct loc_binding *bindings;
	size_t bindings_n;
	struct pl callid;
	uint32_t cseq;
	struct pl path;          /* empty when no Path header */
	struct pl user_agent;
	struct pl endpoint;
	struct loc_source src;
	unsigned max_contacts;
	bool remove_existing;
	uint64_t now;            /* wall clock, unix seconds */
	/* The nonce count of the request's credentials, checked in the same
	 * step as the write (as state_nonce_use() would: one round trip for
	 * both); nonce unset: nothing to check. */
	struct pl nonce;
	uint32_t nc;
	uint64_t nonce_expires;  /* unix seconds */
};

enum loc_result {
	LOC_OK = 0,
	LOC_OUT_OF_ORDER,        /* same Call-ID, CSeq not higher: 500 */
	LOC_TOO_MANY,            /* over max_contacts, remove_existing=no: 403 */
	LOC_FAILED,              /* backend error: 500 */
	LOC_REPLAY,              /* the nonce count was used already: 401 */
};

/* contacts: every binding of the AOR after the operation. */
typedef void (loc_result_h)(enum loc_result res, const struct loc_contact *contacts,
			    size_t n, void *arg);

/* Nonce-count check: ok=true when nc is higher than any seen for nonce. */
typedef void (nonce_result_h)(bool ok, void *arg);

/* Called when a contact expires without refresh (for logs and metrics):
 * once in the cluster, on the replica that removed it. */
typedef void (loc_expire_h)(const struct loc_contact *c, void *arg);

/* A failed authentication counted (state_fail_count()): count is this
 * failure's rank within the window (1 for the first); addr_registered
 * says whether the source address holds live registrations (an office
 * behind one NAT address).  err != 0: the backend could not count. */
typedef void (fail_count_h)(int err, uint32_t count, bool addr_registered, void *arg);

/* What the backend knows of another replica (or of this one). */
struct state_replica {
	char name[STATE_REPLICA_MAX];
	struct sockaddr_storage advertise;   /* where it takes SIP for its flows */
	uint64_t heartbeat_age_ms;           /* by the backend's clock */
	bool alive;                          /* heartbeat younger than 3 s */
	bool self;
};

/* A lease asked for (state_lease_take()): err 0 and held (this replica
 * holds it from when it was asked for, for the time asked) or not held,
 * with holder the replica that does ("" when unknown); err != 0 (the
 * backend could not answer): not held, as far as this replica knows. */
typedef void (lease_h)(int err, bool held, const char *holder, void *arg);

/* Bytes of a lease's name, NUL included. */
#define STATE_LEASE_NAME_MAX 128

/* Round-trip latency histogram buckets, milliseconds (upper bounds). */
#define STATE_RTT_BUCKETS 8
extern const double state_rtt_bounds_ms[STATE_RTT_BUCKETS];

struct state_stats {
	const char *backend;              /* "memory", "redis" */
	bool healthy;
	uint64_t rtt_count;               /* round trips measured */
	double rtt_sum_ms;
	uint64_t rtt_le[STATE_RTT_BUCKETS];   /* cumulative, Prometheus style */
	uint64_t errors;                  /* commands that failed or timed out */
	uint64_t reconnects;
	uint64_t conflicts;               /* REGISTER writes retried */
	uint64_t written_back;            /* bindings restored after a data loss */
	uint64_t expired_removed;         /* contacts this replica expired */
};

struct state;

struct state_ops {
	const char *name;
	int  (*reg)(struct state *st, const struct loc_register *r,
		    loc_result_h *cb, void *arg);
	int  (*lookup)(struct state *st, const struct pl *aor,
		       loc_result_h *cb, void *arg);
	int  (*nonce_use)(struct state *st, const struct pl *nonce, uint32_t nc,
			  uint64_t expires_at, nonce_result_h *cb, void *arg);
	size_t (*contacts_count)(struct state *st);
	bool (*healthy)(struct state *st);
	void (*free)(struct state *st);

	/* Failed authentications and bans (pbx/authn.c decides what to
	 * count and what to ban; the backend shares counts and bans between
	 * replicas).  key: "ADDR" (the whole address) or "ADDR USER". */
	int  (*fail_count)(struct state *st, const struct pl *key,
			   const struct sockaddr *addr, uint32_t window_s,
			   fail_count_h *cb, void *arg);
	/* Ban key until until_ms (wall clock, ms): every replica within a
	 * second. */
	int  (*ban_set)(struct state *st, const struct pl *key, uint64_t until_ms);
	/* Is key banned at now_ms?  From this process's copy, never waits. */
	bool (*banned)(struct state *st, const struct pl *key, uint64_t now_ms);
	/* Bans in force (this process's copy). */
	size_t (*bans_count)(struct state *st, uint64_t now_ms);
	/* Lift every ban and forget every count (banning turned off), on
	 * every replica. */
	void (*bans_clear)(struct state *st);

	/* The replica called name, from this process's copy of the table
	 * (refreshed every second): 0, or ENOENT when unknown. */
	int  (*replica)(struct state *st, const char *name, struct state_replica *out);
	void (*replicas_foreach)(struct state *st,
				 void (*fn)(const struct state_replica *r, void *arg),
				 void *arg);
	void (*stats)(struct state *st, struct state_stats *out);

	/* Take the lease called name for ttl_ms, or renew it when this
	 * replica holds it.  0: cb runs once (the memory backend: before
	 * this returns, always held); else EINVAL, ESHUTDOWN, ENOTCONN (the
	 * backend is unreachable) or ENOMEM, and cb never runs. */
	int  (*lease_take)(struct state *st, const char *name, uint32_t ttl_ms,
			   lease_h *cb, void *arg);
	/* Give the lease up at once when this replica holds it (another may
	 * take it without waiting for it to lapse).  Nothing to wait for. */
	void (*lease_release)(struct state *st, const char *name);
};

struct state {
	const struct state_ops *ops;
	loc_expire_h *expireh;
	void *expire_arg;
};

static inline int state_register(struct state *st, const struct loc_register *r,
				 loc_result_h *cb, void *arg)
{ return st->ops->reg(st, r, cb, arg); }
static inline int state_lookup(struct state *st, const struct pl *aor,
			       loc_result_h *cb, void *arg)
{ return st->ops->lookup(st, aor, cb, arg); }
static inline int state_nonce_use(struct state *st, const struct pl *nonce,
				  uint32_t nc, uint64_t expires_at,
				  nonce_result_h *cb, void *arg)
{ return st->ops->nonce_use(st, nonce, nc, expires_at, cb, arg); }
static inline size_t state_contacts_count(struct state *st)
{ return st->ops->contacts_count(st); }
static inline bool state_healthy(struct state *st)
{ return st->ops->healthy(st); }
static inline void state_free(struct state *st)
{ if (st) st->ops->free(st); }
/* Between a sockaddr_storage and a loc_addr: AF_UNSPEC (all zero) for
 * anything but IPv4 and IPv6. */
void loc_addr_set(union loc_addr *dst, const struct sockaddr_storage *src);
void loc_addr_get(const union loc_addr *src, struct sockaddr_storage *dst);

static inline void state_set_expire_handler(struct state *st, loc_expire_h *h, void *arg)
{ st->expireh = h; st->expire_arg = arg; }
static inline int state_fail_count(struct state *st, const struct pl *key,
				   const struct sockaddr *addr, uint32_t window_s,
				   fail_count_h *cb, void *arg)
{ return st->ops->fail_count(st, key, addr, window_s, cb, arg); }
static inline int state_ban_set(struct state *st, const struct pl *key, uint64_t until_ms)
{ return st->ops->ban_set(st, key, until_ms); }
static inline bool state_banned(struct state *st, const struct pl *key, uint64_t now_ms)
{ return st->ops->banned(st, key, now_ms); }
static inline size_t state_bans_count(struct state *st, uint64_t now_ms)
{ return st->ops->bans_count(st, now_ms); }
static inline void state_bans_clear(struct state *st)
{ st->ops->bans_clear(st); }
static inline int state_replica(struct state *st, const char *name,
				struct state_replica *out)
{ return st->ops->replica(st, name, out); }
static inline void state_replicas_foreach(struct state *st,
					  void (*fn)(const struct state_replica *r, void *arg),
					  void *arg)
{ st->ops->replicas_foreach(st, fn, arg); }
static inline void state_stats(struct state *st, struct state_stats *out)
{ st->ops->stats(st, out); }
static inline int state_lease_take(struct state *st, const char *name, uint32_t ttl_ms,
				   lease_h *cb, void *arg)
{ return st->ops->lease_take(st, name, ttl_ms, cb, arg); }
static inline void state_lease_release(struct state *st, const char *name)
{ st->ops->lease_release(st, name); }

/* In-memory backend: expiry through q (one heap, no timer per contact).
 * clock: wall-clock seconds source; NULL means time(NULL) (tests inject). */
typedef uint64_t (state_clock_h)(void *arg);
int state_mem_alloc(struct state **stp, struct tmrq *q,
		    state_clock_h *clock, void *clock_arg);
/*
 * The Redis backend (state/redis.c): one Redis shared by every replica,
 * through hiredis's async API on the loop (the SIP loop never waits for
 * Redis), with a copy of this replica's own bindings in this process (they
 * serve while Redis is down, and are written back when Redis comes back
 * without them).  The connection is made in the background and remade with
 * backoff; state_healthy() says whether Redis answers.
 */
struct state_redis_sentinel {
	const char *host;               /* name or address */
	uint16_t port;                  /* 0: 26379 */
};

struct state_redis_config {
	const char *host;               /* name or address; NULL with unix_path
					 * or sentinels */
	uint16_t port;
	const char *unix_path;
	unsigned db;
	const char *password;           /* NULL: no AUTH (of Redis and of the
					 * sentinels alike) */
	/* Sentinel: the master called master, as these sentinels say
	 * (host and unix_path NULL). */
	const struct state_redis_sentinel *sentinels;
	size_t sentinels_n;
	const char *master;
	const char *replica;            /* this replica's name */
	struct sockaddr_storage advertise;  /* AF_UNSPEC: others cannot reach us */
	unsigned command_timeout_ms;    /* 0: 1000 */
};
int state_redis_alloc(struct state **stp, uv_loop_t *loop, struct tmrq *q,
		      const struct state_redis_config *cfg,
		      state_clock_h *clock, void *clock_arg);

/* Memory backend only: about how many nonces are tracked at once (default
 * 1,000,000); when full, the one expiring soonest in its bucket is
 * forgotten (nctab.h).  EINVAL for another backend or max 0. */
int state_mem_set_nonce_max(struct state *st, size_t max);

#endif
