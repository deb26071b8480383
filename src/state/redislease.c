/*
 * redislease.c - leases in the Redis backend: one replica at a time holds
 * kv:lease:NAME (its value is the holder's name, its expiry the lease
 * time), taken with SET NX PX and renewed with a compare-and-PEXPIRE, one
 * script for both (redislua.c).
 *
 * The holder's own view errs on the safe side: a lease counts as held
 * from when the request was sent, and while Redis does not answer this
 * replica reports it as not held (err), so its user stops before the key
 * can have lapsed in Redis and another replica taken it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/redis_int.h"

struct rlease {
	struct redis_state *rs;
	lease_h *cb;
	void *arg;
};

static void lease_reply(int err, const redisReply *reply, void *arg)
{
	struct rlease *op = arg;
	struct pl holder;
	char name[STATE_REPLICA_MAX];

	if (!err && (!rs_reply_str(reply, &holder) || !holder.l ||
		     holder.l >= sizeof(name))) {
		rconn_bad_reply(op->rs->rc, "lease: the holder's name");
		err = EPROTO;
	}
	if (err) {
		op->cb(err, false, "", op->arg);
	} else {
		memcpy(name, holder.p, holder.l);
		name[holder.l] = '\0';
		op->cb(0, !strcmp(name, op->rs->self), name, op->arg);
	}
	free(op);
}

int rs_lease_take(struct redis_state *rs, const char *name, uint32_t ttl_ms,
		  lease_h *cb, void *arg)
{
	struct rlease *op;
	struct sbuf key;
	struct rargs a;
	int err;

	if (!rs_up(rs))
		return ENOTCONN;
	op = malloc(sizeof(*op));
	if (!op)
		return ENOMEM;
	op->rs = rs;
	op->cb = cb;
	op->arg = arg;
	sbuf_init(&key);
	rargs_init(&a);
	err = rs_key(&key, RKEY_LEASE, name, strlen(name));
	if (!err) {
		rargs_str(&a, key.p, key.len);
		rargs_cstr(&a, rs->self);
		rargs_u64(&a, ttl_ms);
		err = rargs_eval(&a, rs, RLUA_LEASE, 1, lease_reply, op);
	}
	rargs_free(&a);
	sbuf_free(&key);
	if (err)
		free(op);
	return err;
}

static void unlease_reply(int err, const redisReply *reply, void *arg)
{
}

void rs_lease_release(struct redis_state *rs, const char *name)
{
	struct sbuf key;
	struct rargs a;

	if (!rs_up(rs))
		return;
	sbuf_init(&key);
	rargs_init(&a);
	if (!rs_key(&key, RKEY_LEASE, name, strlen(name))) {
		rargs_str(&a, key.p, key.len);
		rargs_cstr(&a, rs->self);
		rargs_eval(&a, rs, RLUA_UNLEASE, 1, unlease_reply, NULL);
	}
	rargs_free(&a);
	sbuf_free(&key);
}
