/*
 * redisconn.h - the Redis backend's connection: hiredis's async API on the
 * loop (adapters/libuv.h), with what hiredis 0.14 leaves to its user.
 *
 *  - Host names are resolved with uv_getaddrinfo() first: hiredis's own
 *    connect calls getaddrinfo(), which would block the loop.
 *  - AUTH and SELECT go first; the connection is up once they succeed.
 *  - Every command has a deadline: a connection whose oldest pending
 *    command is older than the timeout is dropped, and every pending
 *    command fails (hiredis 0.14 has no timeout of its own in async mode).
 *  - A lost connection is made again with backoff (100 ms doubling to
 *    1 s), so that a Redis that comes back is used within a second.
 *  - At most max_pending commands wait for a reply; beyond that commands
 *    fail at once rather than queue without bound.
 *  - Scripts go by EVALSHA; NOSCRIPT (Redis restarted, or SCRIPT FLUSH)
 *    sends the same command again as EVAL, which loads the script.
 *  - Round trips are measured into the histogram of struct state_stats.
 *
 * hiredis writes with write(): the process ignores SIGPIPE (main.c does).
 * Replies reach callbacks in order.  An error reply is logged (at a
 * limited rate) and reported as EIO: callers see only replies that are
 * not errors, and check their type and shape themselves
 * (rconn_bad_reply()).
 */
#ifndef KV_STATE_REDISCONN_H
#define KV_STATE_REDISCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "state/redislua.h"
#include "state/state.h"
#include "util/tmr.h"

struct rconn;

/*
 * The answer to one command: err 0 and a reply that is not an error, or
 * err and reply NULL: ETIMEDOUT (the connection was dropped for a late
 * reply), ECONNRESET (it was lost), EIO (Redis answered an error),
 * ECANCELED (rconn_free()).  The reply is valid during the call.
 */
typedef void (rconn_reply_h)(int err, const redisReply *reply, void *arg);

/* The connection came up (ready for commands) or went down. */
typedef void (rconn_up_h)(bool up, void *arg);

/* Connects to cfg's Redis (host and port or unix_path, password, db,
 * command_timeout_ms; its replica and advertise are not the connection's
 * business), at once.  0, EINVAL or ENOMEM. */
int  rconn_alloc(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
		 const struct state_redis_config *cfg, size_t max_pending,
		 rconn_up_h *uph, void *arg);
/* Pending commands fail with ECANCELED before it returns.  Not from a
 * reply callback. */
void rconn_free(struct rconn *rc);
bool rconn_up(const struct rconn *rc);

/*
 * Sends a command.  0: cb is called once, later (never before this
 * returns).  ENOTCONN (not up), ENOBUFS (too many pending), ENOMEM or EIO:
 * cb is never called.
 */
int  rconn_cmd(struct rconn *rc, rconn_reply_h *cb, void *arg,
	       int argc, const char **argv, const size_t *lens);
/* EVALSHA of script s with nkeys keys: argv holds the keys, then the
 * arguments.  As rconn_cmd(). */
int  rconn_eval(struct rconn *rc, const struct rscript *s, rconn_reply_h *cb,
		void *arg, int nkeys, int argc, const char **argv, const size_t *lens);

/* A reply of the wrong type or shape: counted as an error and logged (at
 * a limited rate) with what was expected. */
void rconn_bad_reply(struct rconn *rc, const char *what);

/* Round trips, errors and reconnections into out (the other fields are
 * left alone). */
void rconn_stats(const struct rconn *rc, struct state_stats *out);

#endif
