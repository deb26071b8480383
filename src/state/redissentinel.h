/*
 * redissentinel.h - where the Redis master is, as Redis Sentinel says.
 *
 * The sentinels are asked in turn (SENTINEL get-master-addr-by-name),
 * starting with the one that answered last, each on a short connection
 * of its own (redisconn.h: names resolved off the loop, AUTH with the
 * same password as Redis, the command timeout).  A sentinel that does not
 * answer, does not know the master or answers nonsense is skipped, and
 * logged.
 *
 * One more connection, to one sentinel at a time, follows the
 * +switch-master channel: when it comes up it asks once (what changed
 * while nobody listened) and subscribes on the same connection, so no
 * switch falls between the two.  When it goes, the next sentinel is
 * tried, with backoff once all have failed.
 */
#ifndef KV_STATE_REDISSENTINEL_H
#define KV_STATE_REDISSENTINEL_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "state/redisconn.h"
#include "state/state.h"
#include "util/tmr.h"

struct rsentinel;

/* For cfg's sentinels, master and password (command_timeout_ms bounds
 * each connection's handshake and command).  switchh: the master the
 * channel announces (err 0), from a reply callback.  0, EINVAL or
 * ENOMEM. */
int  rsentinel_alloc(struct rsentinel **sp, uv_loop_t *loop, struct tmrq *q,
		     const struct state_redis_config *cfg, rconn_addr_h *switchh,
		     void *arg);
/* An ask in flight is dropped without its callback.  Not from a reply
 * callback of its connections (the owner's are fine). */
void rsentinel_free(struct rsentinel *s);
/*
 * Asks the sentinels where the master is (an rconn_locate_h, s as arg):
 * cb once, later, from a timer, with the master's host (an address, or a
 * name when the sentinels announce names) and port, or ENOENT (the
 * sentinels that answered do not know the master) or EHOSTUNREACH (none
 * answered).  0, or EBUSY (an ask is in flight).
 */
int  rsentinel_ask(void *s, rconn_addr_h *cb, void *arg);

#endif
