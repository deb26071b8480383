/*
 * redissentinel.c - where the Redis master is, as Redis Sentinel says (see
 * redissentinel.h).
 *
 * Every connection here is a sentinel connection of redisconn.c: it
 * reports its end once, from a timer, and is freed there; a reply
 * callback only records what it learnt and lets a timer go on, because a
 * connection cannot be freed from its own reply callback.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/redisconn.h"
#include "state/redissentinel.h"
#include "util/log.h"

#define RSN_PORT           26379
#define RSN_TIMEOUT_MS     1000
#define RSN_SUB_BACKOFF_MIN_MS 100
#define RSN_SUB_BACKOFF_MAX_MS 2000
#define RSN_HOST_MAX       256
#define RSN_CHANNEL        "+switch-master"

struct rsn_host {
	char *host;
	uint16_t port;
};

struct rsentinel {
	uv_loop_t *loop;
	struct tmrq *q;
	struct rsn_host *v;
	size_t n;
	char *master, *password;
	unsigned timeout_ms;
	rconn_addr_h *switchh;
	void *arg;
	struct log_ratelimit rl;

	/* the ask in flight */
	struct rconn *ask;
	rconn_addr_h *ask_cb;
	void *ask_arg;
	size_t ask_idx;          /* the sentinel asked now */
	size_t ask_tried;
	bool ask_unknown;        /* a sentinel answered it does not know it */
	bool ask_done;           /* this sentinel said where it is */
	char ask_host[RSN_HOST_MAX];
	uint16_t ask_port;
	struct tmr ask_tmr;
	size_t next;             /* the first to ask: the last that answered */

	/* the channel */
	struct rconn *sub;
	size_t sub_idx;
	struct tmr sub_tmr;
	unsigned sub_backoff_ms;
	size_t sub_fails;        /* in a row */
};

static void sub_start(void *arg);

static bool log_allowed(struct rsentinel *s, uint64_t *suppressed)
{
	return log_ratelimit_allow(&s->rl, uv_now(s->loop), suppressed);
}

static void peer_of(const struct rsentinel *s, size_t i, char *buf, size_t size)
{
	snprintf(buf, size, strchr(s->v[i].host, ':') ? "[%s]:%u" : "%s:%u",
		 s->v[i].host, s->v[i].port);
}

/*
 * {host, port} as SENTINEL get-master-addr-by-name answers: host 1 to
 * 255 printable characters, port 1 to 65535.  false for anything else.
 */
static bool addr_reply(const redisReply *r, char *host, size_t hsize, uint16_t *port)
{
	const redisReply *h, *p;
	unsigned long v;
	char num[8], *end;
	size_t i;

	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
		return false;
	h = r->element[0];
	p = r->element[1];
	if (!h || !p || h->type != REDIS_REPLY_STRING || p->type != REDIS_REPLY_STRING ||
	    !h->str || !p->str || !h->len || h->len >= hsize || !p->len ||
	    p->len >= sizeof(num))
		return false;
	for (i = 0; i < h->len; i++) {
		if (h->str[i] <= ' ' || h->str[i] > '~')
			return false;
	}
	memcpy(num, p->str, p->len);
	num[p->len] = '\0';
	if (num[0] < '0' || num[0] > '9')
		return false;
	v = strtoul(num, &end, 10);
	if (*end || !v || v > 65535)
		return false;
	memcpy(host, h->str, h->len);
	host[h->len] = '\0';
	*port = (uint16_t)v;
	return true;
}

/* ---- asking ---- */

static void ask_try(struct rsentinel *s);

static void ask_next(void *arg)
{
	ask_try(arg);
}

static void ask_reply(int err, const redisReply *reply, void *arg)
{
	struct rsentinel *s = arg;
	char peer[300], q[200];

	if (err == ECANCELED || !s->ask)
		return;
	peer_of(s, s->ask_idx, peer, sizeof(peer));
	if (!err && reply->type == REDIS_REPLY_NIL) {
		/* Redis 7 answers a null array, older ones a null bulk. */
		s->ask_unknown = true;
		if (log_allowed(s, NULL))
			log_event(LOG_WARN, "state_sentinel_unknown_master", "sentinel=%s master=%s",
				  peer, log_q(q, sizeof(q), s->master, strlen(s->master)));
	} else if (!err && addr_reply(reply, s->ask_host, sizeof(s->ask_host), &s->ask_port)) {
		s->ask_done = true;
	} else if (!err) {
		if (log_allowed(s, NULL))
			log_event(LOG_WARN, "state_sentinel_bad_reply", "sentinel=%s "
				  "expected=\"get-master-addr-by-name: {host, port}\"", peer);
	}
	/* On to the next sentinel, or to the answer, from a timer: the
	 * connection cannot go from its own callback. */
	tmr_start(s->q, &s->ask_tmr, 0, ask_next, s);
}

static void ask_up(bool up, void *arg)
{
	struct rsentinel *s = arg;
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", s->master };
	size_t lens[3] = { 8, 23, strlen(s->master) };

	if (!up) {
		/* It failed or went before answering: the next one. */
		ask_try(s);
		return;
	}
	if (rconn_cmd(s->ask, ask_reply, s, 3, argv, lens))
		tmr_start(s->q, &s->ask_tmr, 0, ask_next, s);
}

static void ask_end(struct rsentinel *s, int err)
{
	rconn_addr_h *cb = s->ask_cb;
	void *arg = s->ask_arg;
	char q[200];

	s->ask_cb = NULL;
	if (err && log_allowed(s, NULL))
		log_event(LOG_WARN, "state_sentinel_no_master", "master=%s sentinels=%zu "
			  "reason=%s", log_q(q, sizeof(q), s->master, strlen(s->master)),
			  s->n, err == ENOENT ? "unknown_master" : "no_answer");
	cb(err, err ? NULL : s->ask_host, err ? 0 : s->ask_port, arg);
}

/* Frees the connection of the last sentinel asked, then asks the next
 * one, or answers.  From a timer or a sentinel connection's end. */
static void ask_try(struct rsentinel *s)
{
	int err;

	tmr_cancel(s->q, &s->ask_tmr);
	if (s->ask) {
		rconn_free(s->ask);
		s->ask = NULL;
		if (s->ask_done) {
			char peer[300], q[200];

			s->next = s->ask_idx;
			peer_of(s, s->ask_idx, peer, sizeof(peer));
			log_event(LOG_INFO, "state_sentinel_master", "sentinel=%s master=%s addr=%s:%u",
				  peer, log_q(q, sizeof(q), s->master, strlen(s->master)),
				  s->ask_host, s->ask_port);
			ask_end(s, 0);
			return;
		}
		s->ask_idx = (s->ask_idx + 1) % s->n;
		s->ask_tried++;
	}
	while (s->ask_tried < s->n) {
		const struct rsn_host *h = &s->v[s->ask_idx];

		s->ask_done = false;
		err = rconn_alloc_sentinel(&s->ask, s->loop, s->q, h->host, h->port,
					   s->password, s->timeout_ms, ask_up, s);
		if (!err)
			return;
		s->ask = NULL;
		s->ask_idx = (s->ask_idx + 1) % s->n;
		s->ask_tried++;
	}
	ask_end(s, s->ask_unknown ? ENOENT : EHOSTUNREACH);
}

int rsentinel_ask(void *sp, rconn_addr_h *cb, void *arg)
{
	struct rsentinel *s = sp;

	if (!s || !cb)
		return EINVAL;
	if (s->ask_cb)
		return EBUSY;
	s->ask_cb = cb;
	s->ask_arg = arg;
	s->ask_idx = s->next;
	s->ask_tried = 0;
	s->ask_unknown = false;
	s->ask_done = false;
	/* From a timer: the answer never comes before this returns. */
	tmr_start(s->q, &s->ask_tmr, 0, ask_next, s);
	return 0;
}

/* ---- the +switch-master channel ---- */

static void sub_check_reply(int err, const redisReply *reply, void *arg)
{
	struct rsentinel *s = arg;
	char host[RSN_HOST_MAX];
	uint16_t port;

	if (err || !addr_reply(reply, host, sizeof(host), &port))
		return;
	s->switchh(0, host, port, s->arg);
}

/* "+switch-master NAME OLDIP OLDPORT NEWIP NEWPORT" for any master the
 * sentinel watches: ours only. */
static void sub_message(int err, const redisReply *reply, void *arg)
{
	struct rsentinel *s = arg;
	char text[600], *f[5], *save = NULL, *p, peer[300], q[200];
	unsigned long port;
	size_t i, n = 0;

	if (err || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "message"))
		return;
	if (reply->element[2]->type != REDIS_REPLY_STRING ||
	    reply->element[2]->len >= sizeof(text)) {
		rconn_bad_reply(s->sub, "+switch-master: NAME OLDIP OLDPORT NEWIP NEWPORT");
		return;
	}
	memcpy(text, reply->element[2]->str, reply->element[2]->len);
	text[reply->element[2]->len] = '\0';
	for (p = strtok_r(text, " ", &save); p && n < 5; p = strtok_r(NULL, " ", &save))
		f[n++] = p;
	if (n != 5 || strtok_r(NULL, " ", &save)) {
		rconn_bad_reply(s->sub, "+switch-master: NAME OLDIP OLDPORT NEWIP NEWPORT");
		return;
	}
	if (strcmp(f[0], s->master))
		return;
	port = strtoul(f[4], &p, 10);
	if (*p || !port || port > 65535 || strlen(f[3]) >= RSN_HOST_MAX) {
		rconn_bad_reply(s->sub, "+switch-master: NAME OLDIP OLDPORT NEWIP NEWPORT");
		return;
	}
	for (i = 0; f[3][i]; i++) {
		if (f[3][i] <= ' ' || f[3][i] > '~')
			return;
	}
	peer_of(s, s->sub_idx, peer, sizeof(peer));
	log_event(LOG_WARN, "state_sentinel_switch", "sentinel=%s master=%s from=%s:%s to=%s:%lu",
		  peer, log_q(q, sizeof(q), s->master, strlen(s->master)), f[1], f[2], f[3], port);
	s->switchh(0, f[3], (uint16_t)port, s->arg);
}

/* A subscription that could not be sent: this connection goes, from a
 * timer, and the next sentinel is tried. */
static void sub_restart(void *arg)
{
	struct rsentinel *s = arg;

	rconn_free(s->sub);
	s->sub = NULL;
	s->sub_idx = (s->sub_idx + 1) % s->n;
	sub_start(s);
}

static void sub_up(bool up, void *arg)
{
	struct rsentinel *s = arg;
	const char *argv[3] = { "SENTINEL", "get-master-addr-by-name", s->master };
	size_t lens[3] = { 8, 23, strlen(s->master) };
	char peer[300];

	if (!up) {
		/* From a timer: this connection may go now. */
		tmr_cancel(s->q, &s->sub_tmr);
		rconn_free(s->sub);
		s->sub = NULL;
		s->sub_idx = (s->sub_idx + 1) % s->n;
		s->sub_fails++;
		if (s->sub_fails < s->n) {
			sub_start(s);
			return;
		}
		tmr_start(s->q, &s->sub_tmr, s->sub_backoff_ms, sub_start, s);
		s->sub_backoff_ms *= 2;
		if (s->sub_backoff_ms > RSN_SUB_BACKOFF_MAX_MS)
			s->sub_backoff_ms = RSN_SUB_BACKOFF_MAX_MS;
		return;
	}
	s->sub_fails = 0;
	s->sub_backoff_ms = RSN_SUB_BACKOFF_MIN_MS;
	if (rconn_cmd(s->sub, sub_check_reply, s, 3, argv, lens) ||
	    rconn_subscribe(s->sub, RSN_CHANNEL, sub_message, s)) {
		tmr_start(s->q, &s->sub_tmr, RSN_SUB_BACKOFF_MAX_MS, sub_restart, s);
		return;
	}
	peer_of(s, s->sub_idx, peer, sizeof(peer));
	log_event(LOG_INFO, "state_sentinel_subscribed", "sentinel=%s channel=%s", peer,
		  RSN_CHANNEL);
}

static void sub_start(void *arg)
{
	struct rsentinel *s = arg;
	const struct rsn_host *h = &s->v[s->sub_idx];

	if (rconn_alloc_sentinel(&s->sub, s->loop, s->q, h->host, h->port, s->password,
				 s->timeout_ms, sub_up, s)) {
		s->sub = NULL;
		tmr_start(s->q, &s->sub_tmr, RSN_SUB_BACKOFF_MAX_MS, sub_start, s);
	}
}

/* ---- object ---- */

void rsentinel_free(struct rsentinel *s)
{
	size_t i;

	if (!s)
		return;
	tmr_cancel(s->q, &s->ask_tmr);
	tmr_cancel(s->q, &s->sub_tmr);
	s->ask_cb = NULL;
	rconn_free(s->ask);
	rconn_free(s->sub);
	for (i = 0; i < s->n; i++)
		free(s->v[i].host);
	free(s->v);
	free(s->master);
	free(s->password);
	free(s);
}

int rsentinel_alloc(struct rsentinel **sp, uv_loop_t *loop, struct tmrq *q,
		    const struct state_redis_config *cfg, rconn_addr_h *switchh,
		    void *arg)
{
	struct rsentinel *s;
	size_t i;

	if (!sp || !loop || !q || !cfg || !cfg->sentinels || !cfg->sentinels_n ||
	    !cfg->master || !*cfg->master || !switchh)
		return EINVAL;
	for (i = 0; i < cfg->sentinels_n; i++) {
		if (!cfg->sentinels[i].host || !*cfg->sentinels[i].host)
			return EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->loop = loop;
	s->q = q;
	s->switchh = switchh;
	s->arg = arg;
	s->timeout_ms = cfg->command_timeout_ms ? cfg->command_timeout_ms : RSN_TIMEOUT_MS;
	s->sub_backoff_ms = RSN_SUB_BACKOFF_MIN_MS;
	tmr_init(&s->ask_tmr);
	tmr_init(&s->sub_tmr);
	log_ratelimit_init(&s->rl, 1.0, 10.0);
	s->v = calloc(cfg->sentinels_n, sizeof(*s->v));
	s->master = strdup(cfg->master);
	s->password = cfg->password ? strdup(cfg->password) : NULL;
	if (!s->v || !s->master || (cfg->password && !s->password))
		goto nomem;
	s->n = cfg->sentinels_n;
	for (i = 0; i < s->n; i++) {
		s->v[i].host = strdup(cfg->sentinels[i].host);
		s->v[i].port = cfg->sentinels[i].port ? cfg->sentinels[i].port : RSN_PORT;
		if (!s->v[i].host)
			goto nomem;
	}
	sub_start(s);
	*sp = s;
	return 0;
nomem:
	rsentinel_free(s);
	return ENOMEM;
}
