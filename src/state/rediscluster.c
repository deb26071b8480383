/*
 * rediscluster.c - the Redis backend's view of the cluster: this replica's
 * heartbeat, the table of replicas, and the epoch that tells when Redis
 * lost its data.
 *
 * One script a second does it all in one round trip: it writes our
 * heartbeat with Redis's own clock (TIME, so that replicas' clocks do not
 * matter), sets kv:epoch when it is missing, and returns the replica
 * table and the cluster's contact count.  The table is kept in this
 * process, so that state_replica() never waits.  A heartbeat answered is
 * also what makes the backend healthy.
 *
 * The epoch only tells of a Redis that lost everything.  A replica that
 * Sentinel promoted while it lagged keeps the epoch and lacks the last
 * writes, so a connection that comes up on another master counts as a
 * loss too (rs_cluster_master_changed()), at once, before any write:
 * the versions this replica remembers may have been lost with the
 * writes, and the counter that makes them may hand them out again.  The
 * merge only adds what is missing or older, so a write-back to a master
 * that lacks nothing changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "state/redis_int.h"
#include "state/redisrec.h"
#include "util/rand.h"

static void hb_send(struct redis_state *rs);

static bool replica_entry(const struct pl *name, const struct pl *val, uint64_t now_ms,
			  const char *self, struct state_replica *out)
{
	struct pl ms, adv;
	const char *sp = pl_chr(val, ' ');
	uint64_t hb;

	if (!sp || !name->l || name->l >= sizeof(out->name))
		return false;
	ms = (struct pl){ val->p, (size_t)(sp - val->p) };
	adv = (struct pl){ sp + 1, val->l - ms.l - 1 };
	memset(out, 0, sizeof(*out));
	if (rrec_u64(&ms, UINT64_MAX, &hb) || rrec_addr_parse(&adv, &out->advertise))
		return false;
	memcpy(out->name, name->p, name->l);
	out->name[name->l] = '\0';
	out->heartbeat_age_ms = now_ms > hb ? now_ms - hb : 0;
	out->alive = out->heartbeat_age_ms < RS_ALIVE_MS;
	out->self = !strcmp(out->name, self);
	return true;
}

/* {name, "HEARTBEAT_MS ADVERTISE", ...} by Redis's clock now_ms. */
static void table_read(struct redis_state *rs, const redisReply *all, uint64_t now_ms)
{
	size_t i, n = 0, max = all->elements / 2;
	struct state_replica *v;

	if (max > RS_REPLICAS_MAX)
		max = RS_REPLICAS_MAX;
	v = calloc(max + 1, sizeof(*v));
	if (!v)
		return;
	for (i = 0; i + 1 < all->elements && n < max; i += 2) {
		struct pl name, val;

		if (!rs_reply_str(all->element[i], &name) ||
		    !rs_reply_str(all->element[i + 1], &val) ||
		    !replica_entry(&name, &val, now_ms, rs->self, &v[n])) {
			rconn_bad_reply(rs->rc, "kv:replicas: NAME => \"MS ADDR:PORT\"");
			continue;
		}
		n++;
	}
	free(rs->replicas);
	rs->replicas = v;
	rs->replicas_n = n;
	rs->replicas_ms = uv_now(rs->loop);
}

/* An entry of the table as it is now: the table ages while Redis does
 * not answer, so that nobody looks alive for ever. */
static void replica_now(const struct redis_state *rs, const struct state_replica *in,
			struct state_replica *out)
{
	*out = *in;
	out->heartbeat_age_ms += uv_now(rs->loop) - rs->replicas_ms;
	out->alive = out->heartbeat_age_ms < RS_ALIVE_MS;
}

static void hb_reply(int err, const redisReply *reply, void *arg)
{
	struct redis_state *rs = arg;
	struct pl now, epoch, cnt;
	uint64_t now_ms, contacts;

	rs->hb_inflight = false;
	if (err || rs->closing)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
	    !rs_reply_str(reply->element[0], &now) ||
	    !rs_reply_str(reply->element[1], &epoch) ||
	    !rs_reply_str(reply->element[2], &cnt) ||
	    reply->element[3]->type != REDIS_REPLY_ARRAY ||
	    rrec_u64(&now, UINT64_MAX, &now_ms)) {
		rconn_bad_reply(rs->rc, "heartbeat: {now, epoch, count, table}");
		return;
	}
	/* A count that went below zero (hashes that expired while every
	 * replica was down) reads as 0. */
	if (rrec_u64(&cnt, UINT64_MAX, &contacts))
		contacts = 0;
	rs->contacts = contacts;
	table_read(rs, reply->element[3], now_ms);
	rs_epoch_seen(rs, &epoch);
	if (!rs->epoch[0])
		return;
	rs->hb_ok_ms = uv_now(rs->loop);
	rs_loc_up(rs);
}

static void hb_send(struct redis_state *rs)
{
	struct sbuf forget;
	const char *argv[7];
	size_t lens[7];
	int err;

	if (rs->hb_inflight || !rconn_up(rs->rc))
		return;
	sbuf_init(&forget);
	sbuf_printf(&forget, "%llu", (unsigned long long)RS_FORGET_MS);
	argv[0] = RKEY_REPLICAS;
	argv[1] = RKEY_EPOCH;
	argv[2] = RKEY_CNT;
	argv[3] = rs->self;
	argv[4] = rs->advertise;
	argv[5] = rs->epoch_cand;
	argv[6] = sbuf_cstr(&forget);
	for (int i = 0; i < 7; i++)
		lens[i] = strlen(argv[i]);
	err = sbuf_err(&forget) ? ENOMEM :
	      rconn_eval(rs->rc, &rs->lua[RLUA_HEARTBEAT], hb_reply, rs, 3, 7, argv, lens);
	sbuf_free(&forget);
	if (!err)
		rs->hb_inflight = true;
}

static void hb_tick(void *arg)
{
	struct redis_state *rs = arg;

	tmr_start(rs->q, &rs->hb_tmr, RS_HEARTBEAT_MS, hb_tick, rs);
	hb_send(rs);
}

void rs_cluster_up(struct redis_state *rs)
{
	/* At once: the backend is not healthy before a heartbeat answers. */
	hb_send(rs);
}

void rs_epoch_seen(struct redis_state *rs, const struct pl *epoch)
{
	bool first = !rs->epoch[0];
	char q[RS_EPOCH_MAX * 2];

	if (!epoch->l || epoch->l >= sizeof(rs->epoch)) {
		rconn_bad_reply(rs->rc, "kv:epoch: 1 to 39 bytes");
		return;
	}
	if (pl_eq_str(epoch, rs->epoch))
		return;
	memcpy(rs->epoch, epoch->p, epoch->l);
	rs->epoch[epoch->l] = '\0';
	/* A loss later on must set an epoch nobody has seen. */
	rand_hex(rs->epoch_cand, sizeof(rs->epoch_cand));
	if (first) {
		log_event(LOG_INFO, "state_redis_epoch", "epoch=%s",
			  log_q(q, sizeof(q), epoch->p, epoch->l));
		return;
	}
	log_event(LOG_WARN, "state_redis_data_lost", "epoch=%s",
		  log_q(q, sizeof(q), epoch->p, epoch->l));
	rs_loc_data_lost(rs);
}

void rs_cluster_master_changed(struct redis_state *rs)
{
	char q[RS_EPOCH_MAX * 2];

	/* Before the first epoch there is nothing of ours to write back. */
	if (!rs->epoch[0])
		return;
	log_event(LOG_WARN, "state_redis_master_changed", "epoch=%s peer=%s write_back=yes",
		  log_q(q, sizeof(q), rs->epoch, strlen(rs->epoch)), rconn_peer(rs->rc));
	rs_loc_data_lost(rs);
}

bool rs_cluster_healthy(const struct redis_state *rs)
{
	return rs_up(rs) && rs->hb_ok_ms &&
	       uv_now(rs->loop) - rs->hb_ok_ms <= RS_HEALTHY_MS;
}

int rs_replica(struct redis_state *rs, const char *name, struct state_replica *out)
{
	size_t i;

	for (i = 0; name && i < rs->replicas_n; i++) {
		if (!strcmp(rs->replicas[i].name, name)) {
			replica_now(rs, &rs->replicas[i], out);
			return 0;
		}
	}
	return ENOENT;
}

void rs_replicas_foreach(struct redis_state *rs,
			 void (*fn)(const struct state_replica *r, void *arg), void *arg)
{
	struct state_replica r;
	size_t i;

	for (i = 0; i < rs->replicas_n; i++) {
		replica_now(rs, &rs->replicas[i], &r);
		fn(&r, arg);
	}
}

int rs_cluster_init(struct redis_state *rs)
{
	rand_hex(rs->epoch_cand, sizeof(rs->epoch_cand));
	tmr_init(&rs->hb_tmr);
	tmr_start(rs->q, &rs->hb_tmr, RS_HEARTBEAT_MS, hb_tick, rs);
	return 0;
}

void rs_cluster_free(struct redis_state *rs)
{
	tmr_cancel(rs->q, &rs->hb_tmr);
	free(rs->replicas);
	rs->replicas = NULL;
	rs->replicas_n = 0;
}
