/*
 * state.h - the shared-state interface: location store and nonce tracking.
 *
 * Everything a replica must share with the others goes through this
 * interface, so that the in-memory backend (one machine, the default) and
 * the Redis backend (cluster) are interchangeable.  Operations complete
 * through a callback because a networked backend answers later; the memory
 * backend calls it before returning.  A REGISTER is applied as ONE
 * operation (ordering checks, max_contacts, remove_existing, refresh,
 * removal) so a backend can make it atomic.
 */
#ifndef KV_STATE_STATE_H
#define KV_STATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/pl.h"
#include "util/tmr.h"

enum loc_proto { LOC_PROTO_UDP = 0, LOC_PROTO_TCP = 1 };

/* Where a registration really came from: calls go back there (NAT). */
struct loc_source {
	struct sockaddr_storage addr;
	enum loc_proto proto;
	uint64_t conn_id;        /* TCP connection id on the replica, 0 for UDP */
	char replica[32];        /* replica that holds conn_id ("" on one host) */
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
};

enum loc_result {
	LOC_OK = 0,
	LOC_OUT_OF_ORDER,        /* same Call-ID, CSeq not higher: 500 */
	LOC_TOO_MANY,            /* over max_contacts, remove_existing=no: 403 */
	LOC_FAILED,              /* backend error: 500 */
};

/* contacts: every binding of the AOR after the operation. */
typedef void (loc_result_h)(enum loc_result res, const struct loc_contact *contacts,
			    size_t n, void *arg);

/* Nonce-count check: ok=true when nc is higher than any seen for nonce. */
typedef void (nonce_result_h)(bool ok, void *arg);

/* Called when a contact expires without refresh (for logs and metrics). */
typedef void (loc_expire_h)(const struct loc_contact *c, void *arg);

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
static inline void state_set_expire_handler(struct state *st, loc_expire_h *h, void *arg)
{ st->expireh = h; st->expire_arg = arg; }

/* In-memory backend: expiry through q (one heap, no timer per contact).
 * clock: wall-clock seconds source; NULL means time(NULL) (tests inject). */
typedef uint64_t (state_clock_h)(void *arg);
int state_mem_alloc(struct state **stp, struct tmrq *q,
		    state_clock_h *clock, void *clock_arg);
/* Memory backend only: about how many nonces are tracked at once (default
 * 1,000,000); when full, the one expiring soonest in its bucket is
 * forgotten (nctab.h).  EINVAL for another backend or max 0. */
int state_mem_set_nonce_max(struct state *st, size_t max);

#endif
