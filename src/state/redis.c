/*
 * redis.c - the Redis state backend (state.h): the object and its
 * interface, nonce counts, failed-authentication counts and bans, health
 * and statistics.  The location store is in redisloc.c, the heartbeat and
 * the replica table in rediscluster.c, the connection in redisconn.c.
 *
 * Nothing here waits for Redis: operations complete through callbacks;
 * what a request needs at once (is this source banned? where is replica
 * X?) comes from copies kept in this process and refreshed on timers.
 * While Redis does not answer, this replica goes on with what it has:
 *  - nonce counts: its own table (nctab.c), which it keeps up to date
 *    anyway (a replay on this replica is refused without a round trip);
 *    a replay sent to another replica during the outage is not caught;
 *  - failed authentications: counted in this process (failtab.h), and
 *    the source is reported as holding registrations, so that an outage
 *    never bans a whole office behind one address;
 *  - bans: those copied before the outage; new ones stay local;
 *  - lookups: this replica's own bindings (redisloc.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/sa.h"
#include "state/failtab.h"
#include "state/locplan.h"
#include "state/nctab.h"
#include "state/redis_int.h"
#include "state/redisrec.h"
#include "state/redissentinel.h"

#define RS_MAX_PENDING    10000
#define RS_NONCE_MAX      1000000
#define RS_BANS_MAX       65536
#define RS_BAN_POLL_MS    500
#define RS_BAN_POLL_MAX   1000

static const struct state_ops redis_ops;

/* ---- shared helpers (redis_int.h) ---- */

uint64_t rs_now(const struct redis_state *rs)
{
	if (rs->clock)
		return rs->clock(rs->clock_arg);
	return (uint64_t)time(NULL);
}

uint64_t rs_now_ms(const struct redis_state *rs)
{
	struct timespec ts;

	if (rs->clock)
		return rs->clock(rs->clock_arg) * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool rs_up(const struct redis_state *rs)
{
	return !rs->closing && rconn_up(rs->rc) && rs->epoch[0];
}

int rs_key(struct sbuf *sb, const char *prefix, const char *name, size_t len)
{
	sbuf_reset(sb);
	sbuf_append_str(sb, prefix);
	sbuf_append(sb, name, len);
	sbuf_cstr(sb);
	return sbuf_err(sb) ? ENOMEM : 0;
}

void rs_bad_record(struct redis_state *rs, const char *aor, size_t aorlen,
		   const char *uri, size_t urilen)
{
	uint64_t suppressed = 0;
	char qa[128], qu[256];

	if (!log_ratelimit_allow(&rs->rl, uv_now(rs->loop), &suppressed))
		return;
	log_event(LOG_WARN, "state_redis_bad_record", "aor=%s uri=%s suppressed=%llu",
		  log_q(qa, sizeof(qa), aor, aorlen), log_q(qu, sizeof(qu), uri, urilen),
		  (unsigned long long)suppressed);
}

bool rs_reply_str(const redisReply *r, struct pl *out)
{
	if (!r || (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) ||
	    (!r->str && r->len))
		return false;
	out->p = r->str ? r->str : "";
	out->l = r->len;
	return true;
}

void rargs_init(struct rargs *a)
{
	memset(a, 0, sizeof(*a));
}

void rargs_free(struct rargs *a)
{
	free(a->v);
	free(a->l);
	free(a->num);
	memset(a, 0, sizeof(*a));
}

static bool rargs_room(struct rargs *a)
{
	size_t cap;
	void *v, *l, *num;

	if (a->err)
		return false;
	if (a->n < a->cap)
		return true;
	cap = a->cap ? a->cap * 2 : 16;
	v = realloc(a->v, cap * sizeof(*a->v));
	if (v)
		a->v = v;
	l = realloc(a->l, cap * sizeof(*a->l));
	if (l)
		a->l = l;
	num = realloc(a->num, cap * sizeof(*a->num));
	if (num)
		a->num = num;
	if (!v || !l || !num) {
		a->err = true;
		return false;
	}
	a->cap = cap;
	return true;
}

void rargs_str(struct rargs *a, const char *p, size_t l)
{
	if (!rargs_room(a))
		return;
	a->v[a->n] = p ? p : "";
	a->l[a->n] = l;
	a->n++;
}

void rargs_cstr(struct rargs *a, const char *s)
{
	rargs_str(a, s, strlen(s));
}

void rargs_u64(struct rargs *a, uint64_t v)
{
	if (!rargs_room(a))
		return;
	snprintf(a->num[a->n], sizeof(a->num[a->n]), "%llu", (unsigned long long)v);
	/* Resolved when sent: num may move as it grows. */
	a->v[a->n] = NULL;
	a->l[a->n] = 0;
	a->n++;
}

static void rargs_resolve(struct rargs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (!a->v[i]) {
			a->v[i] = a->num[i];
			a->l[i] = strlen(a->num[i]);
		}
	}
}

int rargs_eval(struct rargs *a, struct redis_state *rs, enum rlua script,
	       int nkeys, rconn_reply_h *cb, void *arg)
{
	if (a->err || a->n > INT32_MAX)
		return ENOMEM;
	rargs_resolve(a);
	return rconn_eval(rs->rc, &rs->lua[script], cb, arg, nkeys, (int)a->n, a->v, a->l);
}

int rargs_cmd(struct rargs *a, struct redis_state *rs, rconn_reply_h *cb, void *arg)
{
	if (a->err || a->n > INT32_MAX)
		return ENOMEM;
	rargs_resolve(a);
	return rconn_cmd(rs->rc, cb, arg, (int)a->n, a->v, a->l);
}

/* ---- location store (redisloc.c) ---- */

static int redis_reg(struct state *st, const struct loc_register *r,
		     loc_result_h *cb, void *arg)
{
	struct redis_state *rs = (struct redis_state *)st;

	if (!rs || !cb || locplan_check(r))
		return EINVAL;
	if (rs->closing)
		return ESHUTDOWN;
	return rs_loc_register(rs, r, cb, arg);
}

static int redis_lookup(struct state *st, const struct pl *aor,
			loc_result_h *cb, void *arg)
{
	struct redis_state *rs = (struct redis_state *)st;

	if (!rs || !aor || !cb || !pl_isset(aor))
		return EINVAL;
	if (rs->closing)
		return ESHUTDOWN;
	return rs_loc_lookup(rs, aor, cb, arg);
}

/* ---- nonces ---- */

struct rnonce {
	struct redis_state *rs;
	nonce_result_h *cb;
	void *arg;
};

static void nonce_reply(int err, const redisReply *reply, void *arg)
{
	struct rnonce *op = arg;

	if (!err && (reply->type != REDIS_REPLY_INTEGER ||
		     (reply->integer != 0 && reply->integer != 1))) {
		rconn_bad_reply(op->rs->rc, "nonce: 0 | 1");
		err = EPROTO;
	}
	/* Redis did not answer: this replica's own table said yes. */
	op->cb(err ? true : reply->integer == 1, op->arg);
	free(op);
}

static int redis_nonce_use(struct state *st, const struct pl *nonce, uint32_t nc,
			   uint64_t expires_at, nonce_result_h *cb, void *arg)
{
	struct redis_state *rs = (struct redis_state *)st;
	uint64_t now;
	struct rnonce *op;
	struct sbuf key;
	struct rargs a;
	int err;

	if (!rs || !nonce || !cb || !pl_isset(nonce))
		return EINVAL;
	if (rs->closing)
		return ESHUTDOWN;
	now = rs_now(rs);
	/* Refused here already (nc 0, stale, too long, replayed on this
	 * replica): no round trip. */
	if (!nctab_use(rs->nonces, nonce, nc, expires_at, now)) {
		cb(false, arg);
		return 0;
	}
	op = malloc(sizeof(*op));
	if (!op)
		return ENOMEM;
	op->rs = rs;
	op->cb = cb;
	op->arg = arg;
	sbuf_init(&key);
	rargs_init(&a);
	err = rs_up(rs) ? rs_key(&key, RKEY_NC, nonce->p, nonce->l) : ENOTCONN;
	if (!err) {
		rargs_str(&a, key.p, key.len);
		rargs_u64(&a, nc);
		rargs_u64(&a, (expires_at - now) * 1000);
		err = rargs_eval(&a, rs, RLUA_NONCE, 1, nonce_reply, op);
	}
	rargs_free(&a);
	sbuf_free(&key);
	if (err) {
		free(op);
		cb(true, arg);
	}
	return 0;
}

/* ---- failed authentications and bans ---- */

struct rfail {
	struct redis_state *rs;
	fail_count_h *cb;
	void *arg;
	uint64_t window_ms;
	size_t len;
	char key[];
};

/* Counted in this process when Redis cannot count (see the top). */
static void fail_local(struct redis_state *rs, const struct pl *key, uint64_t window_ms,
		       fail_count_h *cb, void *arg)
{
	uint32_t n = failtab_count(rs->bans, key, rs_now_ms(rs), window_ms);

	cb(n ? 0 : ENOMEM, n, true, arg);
}

static void fail_reply(int err, const redisReply *reply, void *arg)
{
	struct rfail *op = arg;
	struct pl key = { op->key, op->len };

	if (!err && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		     reply->element[0]->type != REDIS_REPLY_INTEGER ||
		     reply->element[1]->type != REDIS_REPLY_INTEGER ||
		     reply->element[0]->integer < 1)) {
		rconn_bad_reply(op->rs->rc, "fail: {count, registered}");
		err = EPROTO;
	}
	if (err) {
		fail_local(op->rs, &key, op->window_ms, op->cb, op->arg);
	} else {
		long long n = reply->element[0]->integer;

		op->cb(0, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n,
		       reply->element[1]->integer != 0, op->arg);
	}
	free(op);
}

static int redis_fail_count(struct state *st, const struct pl *key,
			    const struct sockaddr *addr, uint32_t window_s,
			    fail_count_h *cb, void *arg)
{
	struct redis_state *rs = (struct redis_state *)st;
	struct sbuf kbf, ksrc;
	struct rfail *op;
	struct rargs a;
	char ip[64];
	uint16_t port;
	int err;

	if (!rs || !key || !pl_isset(key) || key->l > FAILTAB_KEY_MAX || !addr || !cb ||
	    !window_s)
		return EINVAL;
	if (rs->closing)
		return ESHUTDOWN;
	if (!rs_up(rs)) {
		fail_local(rs, key, (uint64_t)window_s * 1000, cb, arg);
		return 0;
	}
	op = calloc(1, sizeof(*op) + key->l + 1);
	if (!op)
		return ENOMEM;
	op->rs = rs;
	op->cb = cb;
	op->arg = arg;
	op->window_ms = (uint64_t)window_s * 1000;
	op->len = key->l;
	memcpy(op->key, key->p, key->l);
	sip_sa_ip_port(addr, ip, sizeof(ip), &port);
	sbuf_init(&kbf);
	sbuf_init(&ksrc);
	rargs_init(&a);
	err = rs_key(&kbf, RKEY_BF, key->p, key->l);
	if (!err)
		err = rs_key(&ksrc, RKEY_REGSRC, ip, strlen(ip));
	if (!err) {
		rargs_str(&a, kbf.p, kbf.len);
		rargs_str(&a, ksrc.p, ksrc.len);
		rargs_u64(&a, op->window_ms);
		err = rargs_eval(&a, rs, RLUA_FAIL, 2, fail_reply, op);
	}
	rargs_free(&a);
	sbuf_free(&kbf);
	sbuf_free(&ksrc);
	if (err) {
		free(op);
		fail_local(rs, key, (uint64_t)window_s * 1000, cb, arg);
	}
	return 0;
}

static void ban_reply(int err, const redisReply *reply, void *arg)
{
	/* Errors were counted and logged by the connection. */
}

static int redis_ban_set(struct state *st, const struct pl *key, uint64_t until_ms)
{
	struct redis_state *rs = (struct redis_state *)st;
	struct rargs a;
	int err;

	if (!rs || !key || !pl_isset(key) || key->l > FAILTAB_KEY_MAX)
		return EINVAL;
	err = failtab_ban(rs->bans, key, until_ms);
	if (err || !rs_up(rs))
		return err;
	rargs_init(&a);
	rargs_cstr(&a, RKEY_BANS);
	rargs_str(&a, key->p, key->l);
	rargs_u64(&a, until_ms);
	rargs_u64(&a, rs_now_ms(rs));
	if (rargs_eval(&a, rs, RLUA_BAN, 1, ban_reply, NULL))
		log_event(LOG_WARN, "state_redis_ban_not_shared", "reason=unavailable");
	rargs_free(&a);
	return 0;
}

/* ban_failures=0 (a reload): every ban goes, in the cluster and here.
 * The failure counters expire with their window. */
static void redis_bans_clear(struct state *st)
{
	struct redis_state *rs = (struct redis_state *)st;
	const char *argv[] = {"DEL", RKEY_BANS};
	const size_t lens[] = {3, sizeof(RKEY_BANS) - 1};

	failtab_clear(rs->bans);
	if (rs_up(rs) && rconn_cmd(rs->rc, ban_reply, NULL, 2, argv, lens))
		log_event(LOG_WARN, "state_redis_bans_not_cleared", "reason=unavailable");
}

static bool redis_banned(struct state *st, const struct pl *key, uint64_t now_ms)
{
	struct redis_state *rs = (struct redis_state *)st;

	return rs && key && failtab_banned(rs->bans, key, now_ms);
}

static size_t redis_bans_count(struct state *st, uint64_t now_ms)
{
	return failtab_bans(((struct redis_state *)st)->bans, now_ms);
}

/* A ZSET score as Redis prints it: an integer, or a double. */
static bool score_ms(const struct pl *s, uint64_t *out)
{
	char buf[40], *end;
	double d;

	if (!rrec_u64(s, UINT64_MAX, out))
		return true;
	if (pl_strcpy(s, buf, sizeof(buf)))
		return false;
	d = strtod(buf, &end);
	if (*end || !(d >= 0) || d > 1.8e19)
		return false;
	*out = (uint64_t)d;
	return true;
}

static void bans_reply(int err, const redisReply *reply, void *arg)
{
	struct redis_state *rs = arg;
	size_t i;

	rs->ban_inflight = false;
	if (err || rs->closing)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2) {
		rconn_bad_reply(rs->rc, "ZREVRANGEBYSCORE WITHSCORES: member, score, ...");
		return;
	}
	for (i = 0; i < reply->elements; i += 2) {
		struct pl key, score;
		uint64_t until;

		if (!rs_reply_str(reply->element[i], &key) ||
		    !rs_reply_str(reply->element[i + 1], &score) ||
		    !score_ms(&score, &until) || !key.l || key.l > FAILTAB_KEY_MAX) {
			rconn_bad_reply(rs->rc, "kv:bans: KEY scored by its end (ms)");
			continue;
		}
		failtab_ban(rs->bans, &key, until);
	}
}

/* Every replica applies a ban within a second: the newest ones (the
 * latest ends) first, so a flood of old bans cannot hide a new one. */
static void ban_tick(void *arg)
{
	struct redis_state *rs = arg;
	struct rargs a;

	tmr_start(rs->q, &rs->ban_tmr, RS_BAN_POLL_MS, ban_tick, rs);
	if (rs->ban_inflight || !rs_up(rs))
		return;
	rargs_init(&a);
	rargs_cstr(&a, "ZREVRANGEBYSCORE");
	rargs_cstr(&a, RKEY_BANS);
	rargs_cstr(&a, "+inf");
	rargs_u64(&a, rs_now_ms(rs));
	rargs_cstr(&a, "WITHSCORES");
	rargs_cstr(&a, "LIMIT");
	rargs_cstr(&a, "0");
	rargs_u64(&a, RS_BAN_POLL_MAX);
	if (!rargs_cmd(&a, rs, bans_reply, rs))
		rs->ban_inflight = true;
	rargs_free(&a);
}

/* ---- the rest of the interface ---- */

static size_t redis_contacts_count(struct state *st)
{
	struct redis_state *rs = (struct redis_state *)st;

	return rs->contacts > SIZE_MAX ? SIZE_MAX : (size_t)rs->contacts;
}

static bool redis_healthy(struct state *st)
{
	return rs_cluster_healthy((struct redis_state *)st);
}

static int redis_replica(struct state *st, const char *name, struct state_replica *out)
{
	if (!name || !out)
		return EINVAL;
	return rs_replica((struct redis_state *)st, name, out);
}

static void redis_replicas_foreach(struct state *st,
				   void (*fn)(const struct state_replica *r, void *arg),
				   void *arg)
{
	rs_replicas_foreach((struct redis_state *)st, fn, arg);
}

static void redis_stats(struct state *st, struct state_stats *out)
{
	struct redis_state *rs = (struct redis_state *)st;

	memset(out, 0, sizeof(*out));
	out->backend = "redis";
	out->healthy = rs_cluster_healthy(rs);
	rconn_stats(rs->rc, out);
	out->conflicts = rs->conflicts;
	out->written_back = rs->written_back;
	out->expired_removed = rs->expired_removed;
}

static void redis_free(struct state *st)
{
	struct redis_state *rs = (struct redis_state *)st;

	if (!rs)
		return;
	rs->closing = true;
	tmr_cancel(rs->q, &rs->ban_tmr);
	/* Operations in flight complete (failed) before it returns. */
	rconn_free(rs->rc);
	rs->rc = NULL;
	/* After the connection: an ask of its in flight goes with it. */
	rsentinel_free(rs->sen);
	rs->sen = NULL;
	rs_loc_free(rs);
	rs_cluster_free(rs);
	nctab_free(rs->nonces);
	failtab_free(rs->bans);
	free(rs);
}

static void conn_up_h(bool up, void *arg)
{
	struct redis_state *rs = arg;
	unsigned switches = rconn_switches(rs->rc);

	if (!up)
		return;
	if (switches != rs->switches) {
		/* Another master (Sentinel promoted a replica): it has the old
		 * epoch, but maybe not every write the old one took. */
		rs->switches = switches;
		rs_cluster_master_changed(rs);
	}
	rs_cluster_up(rs);
}

/* +switch-master: the connection goes to the new master at once. */
static void master_moved_h(int err, const char *host, uint16_t port, void *arg)
{
	struct redis_state *rs = arg;

	if (!err && rs->rc)
		rconn_master_moved(rs->rc, host, port);
}

/* ---- leases (redislease.c) ---- */

static int redis_lease_take(struct state *st, const char *name, uint32_t ttl_ms,
			    lease_h *cb, void *arg)
{
	struct redis_state *rs = (struct redis_state *)st;

	if (!name || !*name || strlen(name) >= STATE_LEASE_NAME_MAX || !ttl_ms || !cb)
		return EINVAL;
	if (rs->closing)
		return ESHUTDOWN;
	return rs_lease_take(rs, name, ttl_ms, cb, arg);
}

static void redis_lease_release(struct state *st, const char *name)
{
	struct redis_state *rs = (struct redis_state *)st;

	if (name && *name && !rs->closing)
		rs_lease_release(rs, name);
}

static const struct state_ops redis_ops = {
	.name = "redis",
	.lease_take = redis_lease_take,
	.lease_release = redis_lease_release,
	.reg = redis_reg,
	.lookup = redis_lookup,
	.nonce_use = redis_nonce_use,
	.contacts_count = redis_contacts_count,
	.healthy = redis_healthy,
	.free = redis_free,
	.fail_count = redis_fail_count,
	.ban_set = redis_ban_set,
	.banned = redis_banned,
	.bans_count = redis_bans_count,
	.bans_clear = redis_bans_clear,
	.replica = redis_replica,
	.replicas_foreach = redis_replicas_foreach,
	.stats = redis_stats,
};

/* A replica's name is part of Redis keys and records: printable, no
 * space, no '%'. */
static bool replica_name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n || n >= STATE_REPLICA_MAX)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] <= ' ' || s[i] > '~' || s[i] == '%')
			return false;
	}
	return true;
}

int state_redis_alloc(struct state **stp, uv_loop_t *loop, struct tmrq *q,
		      const struct state_redis_config *cfg,
		      state_clock_h *clock, void *clock_arg)
{
	struct redis_state *rs;
	struct sbuf adv;
	int err;

	if (!stp || !loop || !q || !cfg || !replica_name_ok(cfg->replica) ||
	    (cfg->host != NULL) + (cfg->unix_path != NULL) + (cfg->sentinels_n > 0) != 1)
		return EINVAL;
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return ENOMEM;
	rs->st.ops = &redis_ops;
	rs->loop = loop;
	rs->q = q;
	rs->clock = clock;
	rs->clock_arg = clock_arg;
	snprintf(rs->self, sizeof(rs->self), "%s", cfg->replica);
	sbuf_init(&adv);
	rrec_addr_print(&adv, &cfg->advertise);
	snprintf(rs->advertise, sizeof(rs->advertise), "%s", adv.len ? sbuf_cstr(&adv) : "");
	sbuf_free(&adv);
	log_ratelimit_init(&rs->rl, 1.0, 10.0);
	tmr_init(&rs->ban_tmr);
	err = rlua_load(rs->lua);
	if (!err)
		err = nctab_alloc(&rs->nonces, RS_NONCE_MAX);
	if (!err) {
		rs->bans = failtab_alloc(RS_BANS_MAX);
		if (!rs->bans)
			err = ENOMEM;
	}
	if (!err)
		err = rs_loc_init(rs);
	if (!err)
		err = rs_cluster_init(rs);
	if (err)
		goto fail;
	tmr_start(q, &rs->ban_tmr, RS_BAN_POLL_MS, ban_tick, rs);
	if (cfg->sentinels_n) {
		err = rsentinel_alloc(&rs->sen, loop, q, cfg, master_moved_h, rs);
		if (!err)
			err = rconn_alloc_master(&rs->rc, loop, q, cfg, RS_MAX_PENDING,
						 rsentinel_ask, rs->sen, conn_up_h, rs);
	} else {
		err = rconn_alloc(&rs->rc, loop, q, cfg, RS_MAX_PENDING, conn_up_h, rs);
	}
	if (err)
		goto fail;
	*stp = &rs->st;
	return 0;
fail:
	redis_free(&rs->st);
	return err;
}
