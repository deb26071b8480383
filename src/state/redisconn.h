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
 *  - A master (rconn_alloc_master()): before each connection its owner's
 *    locate (the sentinels, redissentinel.h) is asked where the master
 *    is, and the connection is up only once ROLE says master.  A lost
 *    connection, a late reply or a READONLY error (a master turned
 *    replica) make it connect again, asking anew; rconn_master_moved()
 *    (Sentinel's +switch-master) makes it go to the new master at once.
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

/* Where a master is: err 0 with its host (an address or a name) and
 * port, or an errno. */
typedef void (rconn_addr_h)(int err, const char *host, uint16_t port, void *arg);
/* Asks where the master is (redissentinel.h): 0, and cb is called once,
 * later; or an errno, and it never is. */
typedef int (rconn_locate_h)(void *arg, rconn_addr_h *cb, void *cbarg);

/* Connects to cfg's Redis (host and port or unix_path, password, db,
 * command_timeout_ms; its replica and advertise are not the connection's
 * business), at once.  0, EINVAL or ENOMEM. */
int  rconn_alloc(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
		 const struct state_redis_config *cfg, size_t max_pending,
		 rconn_up_h *uph, void *arg);
/* Connects to the master that locate names (cfg's host, port and
 * unix_path unused), at once.  As rconn_alloc(). */
int  rconn_alloc_master(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
			const struct state_redis_config *cfg, size_t max_pending,
			rconn_locate_h *locate, void *locate_arg,
			rconn_up_h *uph, void *arg);
/* The master is now host:port: a connection of rconn_alloc_master() not
 * there (or on its way there) goes there at once. */
void rconn_master_moved(struct rconn *rc, const char *host, uint16_t port);
/*
 * A connection to one sentinel (AUTH with password when not NULL, then
 * PING): up once PING is answered.  It is never made again: when it
 * fails or goes, uph(false) is called once, from a timer (never from a
 * reply callback), and the owner may free it there.
 */
int  rconn_alloc_sentinel(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
			  const char *host, uint16_t port, const char *password,
			  unsigned timeout_ms, rconn_up_h *uph, void *arg);
/* Pending commands fail with ECANCELED before it returns.  Not from a
 * reply callback. */
void rconn_free(struct rconn *rc);
bool rconn_up(const struct rconn *rc);
/* How many times the connection came up on a master other than the one
 * before (rconn_alloc_master() only; 0 otherwise): what was written to
 * the old one and not yet copied to its replica may be missing. */
unsigned rconn_switches(const struct rconn *rc);
/* "ADDR:PORT" (or "unix:PATH") of the server, for logs. */
const char *rconn_peer(const struct rconn *rc);

/*
 * Sends a command.  0: cb is called once, later (never before this
 * returns).  ENOTCONN (not up), ENOBUFS (too many pending), ENOMEM or EIO:
 * cb is never called.
 */
int  rconn_cmd(struct rconn *rc, rconn_reply_h *cb, void *arg,
	       int argc, const char **argv, const size_t *lens);
/*
 * SUBSCRIBE to channel: cb is called with each message (the array
 * {"message", channel, text}, and first {"subscribe", channel, n}) until
 * the connection goes, then once with ECONNRESET (or ECANCELED).  The
 * connection takes no other command after it.  As rconn_cmd().
 */
int  rconn_subscribe(struct rconn *rc, const char *channel, rconn_reply_h *cb, void *arg);
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
