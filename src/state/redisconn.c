/*
 * redisconn.c - the Redis backend's connection (see redisconn.h).
 *
 * hiredis 0.14's async contract, which everything here leans on: replies
 * come back in order; when a context goes (an error, the server closing,
 * or redisAsyncFree()), every pending callback runs with a NULL reply
 * before the disconnect callback, and the context is freed after that;
 * redisAsyncFree() from inside a reply callback is deferred until the
 * callback returns; a connect that fails calls the connect callback with
 * an error and frees the context without calling the disconnect callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/adapters/libuv.h>

#include "state/redisconn.h"
#include "util/list.h"
#include "util/log.h"
#include "util/sbuf.h"

#define RC_BACKOFF_MIN_MS 100
#define RC_BACKOFF_MAX_MS 1000
#define RC_ARGV_STACK     64

enum rc_phase {
	RC_IDLE,                 /* waiting to connect again */
	RC_ASKING,               /* the sentinels, where the master is */
	RC_RESOLVING,
	RC_CONNECTING,           /* connect, AUTH, SELECT (ROLE; PING) */
	RC_UP,
};

enum rc_kind {
	RC_PLAIN,                /* one Redis, by name, address or socket */
	RC_MASTER,               /* the master that locate names */
	RC_SENTINEL,             /* one sentinel, once (rconn_alloc_sentinel) */
};

struct rconn;

/* One command waiting for its reply. */
struct rcmd {
	struct list_node le;     /* rconn.pending, oldest first */
	struct rconn *rc;
	rconn_reply_h *cb;
	void *arg;
	uint64_t sent_ms;        /* loop time: the deadline */
	uint64_t sent_ns;        /* uv_hrtime(): the round trip */
	const struct rscript *script;
	char *cmd;               /* a script's EVALSHA, to send as EVAL */
	size_t len;
	bool retried;
	bool sub;                /* SUBSCRIBE: called for every message */
	bool subscribed;         /* its first reply came: no longer pending */
};

/* A uv_getaddrinfo() in flight outlives its rconn when that is freed. */
struct rresolve {
	uv_getaddrinfo_t req;
	struct rconn *rc;        /* NULL once the rconn is gone */
};

#define RC_TIMEOUT_MS     1000
#define RC_PORT           6379

/* The write-before-sleep handle: a uv_prepare_t outlives its rconn until
 * libuv's close callback. */
struct rflush {
	uv_prepare_t h;
	struct rconn *rc;        /* NULL once the rconn is gone */
	bool in_flush;
};

struct rconn {
	uv_loop_t *loop;
	struct rflush *flush;
	struct tmrq *q;
	char *host, *unix_path, *password;   /* NULL when not set */
	uint16_t port;
	unsigned db;
	unsigned timeout_ms;
	size_t max_pending;
	rconn_up_h *uph;
	void *arg;
	enum rc_kind kind;

	/* RC_MASTER: host and port are the master that locate named last */
	rconn_locate_h *locate;
	void *locate_arg;
	char *hint;              /* +switch-master's master, to use next */
	uint16_t hint_port;
	char last_master[300];   /* "HOST:PORT" the connection was up on */
	unsigned switches;

	enum rc_phase phase;
	redisAsyncContext *ac;
	struct rresolve *res;
	unsigned attempt;        /* rotates through a name's addresses */
	bool was_up;             /* came up at least once */
	bool closing;
	int drop_err;            /* what pending commands get as it goes */
	char peer[80];           /* for logs */

	struct list_node pending;
	size_t npending;
	struct tmr deadline;
	struct tmr retry;
	unsigned backoff_ms;

	struct log_ratelimit rl;
	uint64_t rtt_count;
	double rtt_sum_ms;
	uint64_t rtt_le[STATE_RTT_BUCKETS];
	uint64_t errors;
	uint64_t reconnects;
};

static void start_connect(struct rconn *rc);
static void reply_h(redisAsyncContext *ac, void *r, void *privdata);
static void conn_drop(struct rconn *rc, int err);

static bool log_allowed(struct rconn *rc, uint64_t *suppressed)
{
	return log_ratelimit_allow(&rc->rl, uv_now(rc->loop), suppressed);
}

static void cmd_free(struct rcmd *c)
{
	if (c->cmd)
		redisFreeCommand(c->cmd);
	free(c);
}

/* ---- losing and making the connection ---- */

static void retry_h(void *arg)
{
	struct rconn *rc = arg;

	start_connect(rc);
}

/* A sentinel connection is never made again: its owner hears of its end
 * from a timer, where it may free it. */
static void gone_h(void *arg)
{
	struct rconn *rc = arg;

	if (rc->uph)
		rc->uph(false, rc->arg);
}

static void schedule_retry(struct rconn *rc)
{
	if (rc->closing || tmr_running(&rc->retry))
		return;
	rc->phase = RC_IDLE;
	if (rc->kind == RC_SENTINEL) {
		tmr_start(rc->q, &rc->retry, 0, gone_h, rc);
		return;
	}
	tmr_start(rc->q, &rc->retry, rc->backoff_ms, retry_h, rc);
	rc->backoff_ms *= 2;
	if (rc->backoff_ms > RC_BACKOFF_MAX_MS)
		rc->backoff_ms = RC_BACKOFF_MAX_MS;
}

/*
 * The context is going (hiredis frees it): forget it, tell the owner once,
 * and try again later.  Safe to call several times for one context.
 */
static void conn_lost(struct rconn *rc, int err)
{
	bool was_up = rc->phase == RC_UP;

	if (!rc->ac)
		return;
	rc->ac = NULL;
	rc->phase = RC_IDLE;
	if (rc->closing)
		return;
	if (was_up)
		log_event(LOG_WARN, rc->kind == RC_SENTINEL ? "state_sentinel_down" :
			  "state_redis_down", "peer=%s reason=%s", rc->peer, strerror(err));
	schedule_retry(rc);
	if (was_up && rc->uph && rc->kind != RC_SENTINEL)
		rc->uph(false, rc->arg);
}

/* Drops the connection: pending commands fail with err (at once, or when
 * the reply callback running now returns). */
static void conn_drop(struct rconn *rc, int err)
{
	redisAsyncContext *ac = rc->ac;

	if (!ac)
		return;
	rc->drop_err = err;
	conn_lost(rc, err);
	redisAsyncFree(ac);
}

static void connect_h(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (status == REDIS_OK || !rc || rc->ac != ac)
		return;
	if (log_allowed(rc, NULL))
		log_event(LOG_WARN, "state_redis_connect_failed", "peer=%s error=\"%s\"",
			  rc->peer, ac->errstr ? ac->errstr : "unknown");
	rc->errors++;
	conn_lost(rc, ECONNREFUSED);
}

static void disconnect_h(const redisAsyncContext *ac, int status)
{
	struct rconn *rc = ac->data;

	if (rc && rc->ac == ac)
		conn_lost(rc, ECONNRESET);
}

/* ---- commands ---- */

static void deadline_h(void *arg)
{
	struct rconn *rc = arg;
	struct list_node *first = list_first(&rc->pending);
	uint64_t now = uv_now(rc->loop), due;
	struct rcmd *c;

	if (!first)
		return;
	c = list_entry(first, struct rcmd, le);
	due = c->sent_ms + rc->timeout_ms;
	if (now < due) {
		tmr_start(rc->q, &rc->deadline, due - now, deadline_h, rc);
		return;
	}
	rc->errors++;
	if (log_allowed(rc, NULL))
		log_event(LOG_WARN, "state_redis_timeout", "peer=%s pending=%zu timeout_ms=%u",
			  rc->peer, rc->npending, rc->timeout_ms);
	conn_drop(rc, ETIMEDOUT);
}

static int cmd_send(struct rconn *rc, struct rcmd *c, const char *cmd, size_t len)
{
	if (!rc->ac || redisAsyncFormattedCommand(rc->ac, reply_h, c, cmd, len) != REDIS_OK)
		return EIO;
	c->sent_ms = uv_now(rc->loop);
	c->sent_ns = uv_hrtime();
	list_push_back(&rc->pending, &c->le);
	rc->npending++;
	if (!tmr_running(&rc->deadline))
		tmr_start(rc->q, &rc->deadline, rc->timeout_ms, deadline_h, rc);
	return 0;
}

static void rtt_record(struct rconn *rc, const struct rcmd *c)
{
	double ms = (double)(uv_hrtime() - c->sent_ns) / 1e6;
	size_t i;

	rc->rtt_count++;
	rc->rtt_sum_ms += ms;
	for (i = 0; i < STATE_RTT_BUCKETS; i++) {
		if (ms <= state_rtt_bounds_ms[i])
			rc->rtt_le[i]++;
	}
}

/* NOSCRIPT: the same command as EVAL with the script's body, which also
 * loads it for the EVALSHAs that follow. */
static int resend_eval(struct rconn *rc, struct rcmd *c)
{
	const char *crlf = memchr(c->cmd, '\n', c->len);
	struct sbuf sb;
	size_t head, skip;
	int err;

	/* "*N\r\n" "$7\r\nEVALSHA\r\n" "$40\r\n" SHA "\r\n", then the rest. */
	if (!crlf)
		return EINVAL;
	head = (size_t)(crlf - c->cmd) + 1;
	skip = head + 13 + 5 + 40 + 2;
	if (skip > c->len)
		return EINVAL;
	sbuf_init(&sb);
	sbuf_append(&sb, c->cmd, head);
	sbuf_printf(&sb, "$4\r\nEVAL\r\n$%zu\r\n", c->script->len);
	sbuf_append(&sb, c->script->body, c->script->len);
	sbuf_append(&sb, "\r\n", 2);
	sbuf_append(&sb, c->cmd + skip, c->len - skip);
	c->retried = true;
	err = sbuf_err(&sb) ? ENOMEM : cmd_send(rc, c, sb.p, sb.len);
	sbuf_free(&sb);
	return err;
}

static void reply_h(redisAsyncContext *ac, void *r, void *privdata)
{
	struct rcmd *c = privdata;
	struct rconn *rc = c->rc;
	const redisReply *reply = r;
	uint64_t suppressed = 0;
	bool readonly = false;
	int err = 0;

	if (c->sub && c->subscribed && reply) {
		c->cb(0, reply, c->arg);
		return;
	}
	if (!c->subscribed) {
		list_unlink(&c->le);
		rc->npending--;
	}
	if (c->sub && reply) {
		/* The confirmation: messages follow, without deadline. */
		c->subscribed = true;
		rtt_record(rc, c);
		c->cb(0, reply, c->arg);
		return;
	}
	if (!reply) {
		err = rc->drop_err ? rc->drop_err : ECONNRESET;
		rc->errors++;
		conn_lost(rc, err);
	} else {
		rtt_record(rc, c);
		if (reply->type == REDIS_REPLY_ERROR) {
			if (c->script && !c->retried && reply->str &&
			    !strncmp(reply->str, "NOSCRIPT", 8) && !resend_eval(rc, c))
				return;
			rc->errors++;
			/* A master turned replica: the sentinels know the new one. */
			readonly = rc->kind == RC_MASTER && reply->str &&
				   !strncmp(reply->str, "READONLY", 8);
			if (log_allowed(rc, &suppressed)) {
				char q[256];

				log_event(LOG_WARN, "state_redis_error",
					  "peer=%s command=%s error=%s suppressed=%llu",
					  rc->peer, c->script ? c->script->name : "-",
					  log_q(q, sizeof(q), reply->str ? reply->str : "",
						reply->str ? reply->len : 0),
					  (unsigned long long)suppressed);
			}
			err = EIO;
			reply = NULL;
		}
	}
	c->cb(err, reply, c->arg);
	cmd_free(c);
	if (readonly && rc->ac == ac)
		conn_drop(rc, ECONNRESET);
}

static struct rcmd *cmd_new(struct rconn *rc, rconn_reply_h *cb, void *arg)
{
	struct rcmd *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	list_node_init(&c->le);
	c->rc = rc;
	c->cb = cb;
	c->arg = arg;
	return c;
}

/* Any phase with a context: the handshake goes before the connection is
 * up. */
static int cmd_argv(struct rconn *rc, const struct rscript *s, bool sub, rconn_reply_h *cb,
		    void *arg, int argc, const char **argv, const size_t *lens)
{
	struct rcmd *c;
	char *cmd = NULL;
	int len, err;

	if (!rc->ac)
		return ENOTCONN;
	if (rc->npending >= rc->max_pending) {
		uint64_t suppressed = 0;

		rc->errors++;
		if (log_allowed(rc, &suppressed))
			log_event(LOG_WARN, "state_redis_overload",
				  "peer=%s pending=%zu suppressed=%llu", rc->peer,
				  rc->npending, (unsigned long long)suppressed);
		return ENOBUFS;
	}
	c = cmd_new(rc, cb, arg);
	if (!c)
		return ENOMEM;
	c->sub = sub;
	len = redisFormatCommandArgv(&cmd, argc, argv, lens);
	if (len < 0 || !cmd) {
		free(c);
		return ENOMEM;
	}
	err = cmd_send(rc, c, cmd, (size_t)len);
	if (s && !err) {
		c->script = s;
		c->cmd = cmd;
		c->len = (size_t)len;
	} else {
		redisFreeCommand(cmd);
	}
	if (err)
		free(c);
	return err;
}

int rconn_cmd(struct rconn *rc, rconn_reply_h *cb, void *arg,
	      int argc, const char **argv, const size_t *lens)
{
	if (!rc || !cb || argc < 1)
		return EINVAL;
	if (rc->phase != RC_UP)
		return ENOTCONN;
	return cmd_argv(rc, NULL, false, cb, arg, argc, argv, lens);
}

int rconn_subscribe(struct rconn *rc, const char *channel, rconn_reply_h *cb, void *arg)
{
	const char *argv[2] = { "SUBSCRIBE", channel };
	size_t lens[2] = { 9, channel ? strlen(channel) : 0 };

	if (!rc || !channel || !cb)
		return EINVAL;
	if (rc->phase != RC_UP)
		return ENOTCONN;
	return cmd_argv(rc, NULL, true, cb, arg, 2, argv, lens);
}

int rconn_eval(struct rconn *rc, const struct rscript *s, rconn_reply_h *cb,
	       void *arg, int nkeys, int argc, const char **argv, const size_t *lens)
{
	const char *sv[RC_ARGV_STACK], **v = sv;
	size_t sl[RC_ARGV_STACK], *l = sl;
	char nk[16];
	int i, err;

	if (!rc || !s || !cb || argc < 0 || nkeys < 0 || nkeys > argc || argc > INT32_MAX - 3)
		return EINVAL;
	if (rc->phase != RC_UP)
		return ENOTCONN;
	if (argc + 3 > RC_ARGV_STACK) {
		v = malloc((size_t)(argc + 3) * sizeof(*v));
		l = malloc((size_t)(argc + 3) * sizeof(*l));
		if (!v || !l) {
			err = ENOMEM;
			goto out;
		}
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	v[0] = "EVALSHA";
	l[0] = 7;
	v[1] = s->sha;
	l[1] = 40;
	v[2] = nk;
	l[2] = strlen(nk);
	for (i = 0; i < argc; i++) {
		v[i + 3] = argv[i];
		l[i + 3] = lens[i];
	}
	err = cmd_argv(rc, s, false, cb, arg, argc + 3, v, l);
out:
	if (v != sv)
		free((void *)v);
	if (l != sl)
		free(l);
	return err;
}

void rconn_bad_reply(struct rconn *rc, const char *what)
{
	uint64_t suppressed = 0;

	rc->errors++;
	if (log_allowed(rc, &suppressed))
		log_event(LOG_WARN, "state_redis_bad_reply", "peer=%s expected=\"%s\" suppressed=%llu",
			  rc->peer, what, (unsigned long long)suppressed);
}

/* ---- the handshake ---- */

static void conn_ready(struct rconn *rc)
{
	rc->phase = RC_UP;
	rc->backoff_ms = RC_BACKOFF_MIN_MS;
	if (rc->was_up)
		rc->reconnects++;
	rc->was_up = true;
	if (rc->kind == RC_PLAIN) {
		log_event(LOG_INFO, "state_redis_up", "peer=%s db=%u", rc->peer, rc->db);
	} else if (rc->kind == RC_MASTER) {
		log_event(LOG_INFO, "state_redis_up", "peer=%s db=%u role=master switches=%u",
			  rc->peer, rc->db, rc->switches);
	}
	if (rc->uph)
		rc->uph(true, rc->arg);
}

/* An error reply during the handshake (NOAUTH: a password missing or
 * refused; a database that does not exist) was logged with Redis's words:
 * the connection goes, and is tried again with backoff, rather than stay
 * half open and never up. */
static bool handshake_failed(struct rconn *rc, int err)
{
	if (err == EIO && rc->ac)
		conn_drop(rc, EACCES);
	return err || !rc->ac;
}

static void select_h(int err, const redisReply *reply, void *arg)
{
	struct rconn *rc = arg;

	if (handshake_failed(rc, err))
		return;
	if (reply->type != REDIS_REPLY_STATUS) {
		rconn_bad_reply(rc, "SELECT: +OK");
		conn_drop(rc, EPROTO);
		return;
	}
	/* The master's ROLE comes next. */
	if (rc->kind == RC_PLAIN)
		conn_ready(rc);
}

/* ROLE: {"master", offset, replicas} on a master.  A replica (the
 * sentinels have not caught up, or it was demoted) is dropped, and the
 * sentinels asked again. */
static void role_h(int err, const redisReply *reply, void *arg)
{
	struct rconn *rc = arg;
	const redisReply *r0;
	char q[64];

	if (handshake_failed(rc, err))
		return;
	r0 = reply->type == REDIS_REPLY_ARRAY && reply->elements ? reply->element[0] : NULL;
	if (!r0 || (r0->type != REDIS_REPLY_STRING && r0->type != REDIS_REPLY_STATUS) ||
	    !r0->str) {
		rconn_bad_reply(rc, "ROLE: {role, ...}");
		conn_drop(rc, EPROTO);
		return;
	}
	if (strcmp(r0->str, "master")) {
		rc->errors++;
		if (log_allowed(rc, NULL))
			log_event(LOG_WARN, "state_redis_not_master", "peer=%s role=%s", rc->peer,
				  log_q(q, sizeof(q), r0->str, r0->len));
		conn_drop(rc, EPROTO);
		return;
	}
	if (rc->last_master[0] && strcmp(rc->last_master, rc->peer))
		rc->switches++;
	snprintf(rc->last_master, sizeof(rc->last_master), "%s", rc->peer);
	conn_ready(rc);
}

static void ping_h(int err, const redisReply *reply, void *arg)
{
	struct rconn *rc = arg;

	if (handshake_failed(rc, err))
		return;
	if (reply->type != REDIS_REPLY_STATUS || !reply->str || strcmp(reply->str, "PONG")) {
		rconn_bad_reply(rc, "PING: +PONG");
		conn_drop(rc, EPROTO);
		return;
	}
	conn_ready(rc);
}

static void auth_h(int err, const redisReply *reply, void *arg)
{
	struct rconn *rc = arg;

	/* A refused password was logged with Redis's words; the SELECT
	 * queued behind it fails with the connection. */
	if (err == EIO)
		conn_drop(rc, EACCES);
}

static void handshake(struct rconn *rc)
{
	char db[16];
	const char *argv[2];
	size_t lens[2];
	int err = 0;

	if (rc->password) {
		argv[0] = "AUTH";
		lens[0] = 4;
		argv[1] = rc->password;
		lens[1] = strlen(rc->password);
		err = cmd_argv(rc, NULL, false, auth_h, rc, 2, argv, lens);
	}
	if (rc->kind == RC_SENTINEL) {
		/* Sentinels have no databases: PING says it is there. */
		argv[0] = "PING";
		lens[0] = 4;
		if (!err)
			err = cmd_argv(rc, NULL, false, ping_h, rc, 1, argv, lens);
		if (err)
			conn_drop(rc, err);
		return;
	}
	snprintf(db, sizeof(db), "%u", rc->db);
	argv[0] = "SELECT";
	lens[0] = 6;
	argv[1] = db;
	lens[1] = strlen(db);
	if (!err)
		err = cmd_argv(rc, NULL, false, select_h, rc, 2, argv, lens);
	argv[0] = "ROLE";
	lens[0] = 4;
	if (!err && rc->kind == RC_MASTER)
		err = cmd_argv(rc, NULL, false, role_h, rc, 1, argv, lens);
	if (err)
		conn_drop(rc, err);
}

/* ip NULL: the unix socket. */
/*
 * hiredis 0.14's libuv adapter calls uv_poll_start() from every hook, and
 * libuv takes the socket out of epoll and puts it back each time: after
 * every read and every write (strace of kubevoxd under bench/register.sh's
 * Redis mode: 1.5 epoll_ctl per REGISTER, two thirds of them failing with
 * EEXIST).  hiredis 1.0's adapter returns early when the event is already
 * in the mask, and so do these wrappers of 0.14's.
 */
static void rc_add_read(void *priv)
{
	if (!(((redisLibuvEvents *)priv)->events & UV_READABLE))
		redisLibuvAddRead(priv);
}

static void rc_del_read(void *priv)
{
	if (((redisLibuvEvents *)priv)->events & UV_READABLE)
		redisLibuvDelRead(priv);
}

/*
 * Commands go out before the loop sleeps, as Redis writes its replies in
 * beforeSleep: every command of a loop iteration in one write(), with no
 * wait for a writable event (two epoll_ctl and one more wake-up per batch
 * otherwise).  Only a connected context writes this way (hiredis learns
 * that a connect finished from the first writable event) and only the
 * first try: what the socket did not take waits for writable, as before.
 */
static void flush_h(uv_prepare_t *h)
{
	struct rflush *f = h->data;
	struct rconn *rc = f->rc;

	uv_prepare_stop(h);
	if (!rc || !rc->ac || !(rc->ac->c.flags & REDIS_CONNECTED))
		return;
	f->in_flush = true;
	redisAsyncHandleWrite(rc->ac);
	f->in_flush = false;
}

static void rc_add_write(void *priv)
{
	redisLibuvEvents *p = priv;
	struct rconn *rc = p->context ? p->context->data : NULL;

	if (p->events & UV_WRITABLE)
		return;
	if (rc && rc->flush && !rc->flush->in_flush &&
	    (p->context->c.flags & REDIS_CONNECTED)) {
		uv_prepare_start(&rc->flush->h, flush_h);
		return;
	}
	redisLibuvAddWrite(priv);
}

static void rc_del_write(void *priv)
{
	if (((redisLibuvEvents *)priv)->events & UV_WRITABLE)
		redisLibuvDelWrite(priv);
}

static void connect_to(struct rconn *rc, const char *ip)
{
	redisAsyncContext *ac;

	rc->drop_err = 0;
	if (ip) {
		snprintf(rc->peer, sizeof(rc->peer), strchr(ip, ':') ? "%s[%s]:%u" : "%s%s:%u",
			 rc->kind == RC_SENTINEL ? "sentinel/" : "", ip, rc->port);
		ac = redisAsyncConnect(ip, rc->port);
	} else {
		snprintf(rc->peer, sizeof(rc->peer), "unix:%s", rc->unix_path);
		ac = redisAsyncConnectUnix(rc->unix_path);
	}
	if (!ac) {
		schedule_retry(rc);
		return;
	}
	if (ac->err) {
		if (log_allowed(rc, NULL))
			log_event(LOG_WARN, "state_redis_connect_failed", "peer=%s error=\"%s\"",
				  rc->peer, ac->errstr);
		rc->errors++;
		redisAsyncFree(ac);
		schedule_retry(rc);
		return;
	}
	if (redisLibuvAttach(ac, rc->loop) != REDIS_OK) {
		/* 0.14 sets the hooks before it fails: none may run. */
		memset(&ac->ev, 0, sizeof(ac->ev));
		redisAsyncFree(ac);
		schedule_retry(rc);
		return;
	}
	ac->ev.addRead = rc_add_read;
	ac->ev.delRead = rc_del_read;
	ac->ev.addWrite = rc_add_write;
	ac->ev.delWrite = rc_del_write;
	/* A subscription waits for no reply, so no deadline sees a sentinel
	 * that vanished without a reset: TCP keep-alives do. */
	if (rc->kind == RC_SENTINEL)
		redisEnableKeepAlive(&ac->c);
	ac->data = rc;
	redisAsyncSetConnectCallback(ac, connect_h);
	redisAsyncSetDisconnectCallback(ac, disconnect_h);
	rc->ac = ac;
	rc->phase = RC_CONNECTING;
	handshake(rc);
}

static void resolve_h(uv_getaddrinfo_t *req, int status, struct addrinfo *ai)
{
	struct rresolve *r = req->data;
	struct rconn *rc = r->rc;
	struct addrinfo *a;
	char ip[INET6_ADDRSTRLEN];
	unsigned n = 0, pick;

	free(r);
	if (!rc) {
		uv_freeaddrinfo(ai);
		return;
	}
	rc->res = NULL;
	if (rc->hint) {
		/* The master moved while its old name was being resolved. */
		uv_freeaddrinfo(ai);
		rc->phase = RC_IDLE;
		start_connect(rc);
		return;
	}
	for (a = ai; a; a = a->ai_next) {
		if (a->ai_family == AF_INET || a->ai_family == AF_INET6)
			n++;
	}
	if (status || !n) {
		uv_freeaddrinfo(ai);
		rc->errors++;
		if (log_allowed(rc, NULL))
			log_event(LOG_WARN, "state_redis_resolve_failed", "host=%s error=\"%s\"",
				  rc->host, status ? uv_strerror(status) : "no address");
		schedule_retry(rc);
		return;
	}
	/* Each attempt takes the next address: one that refuses does not
	 * hide the others. */
	pick = rc->attempt++ % n;
	for (a = ai; a; a = a->ai_next) {
		if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
			continue;
		if (pick-- == 0)
			break;
	}
	if (!a) {
		uv_freeaddrinfo(ai);
		schedule_retry(rc);
		return;
	}
	if (a->ai_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof(ip));
	uv_freeaddrinfo(ai);
	connect_to(rc, ip);
}

static void connect_host(struct rconn *rc)
{
	static const struct addrinfo hints = { .ai_family = AF_UNSPEC,
					       .ai_socktype = SOCK_STREAM };
	struct in6_addr a6;
	struct in_addr a4;
	struct rresolve *r;

	if (rc->unix_path) {
		connect_to(rc, NULL);
		return;
	}
	if (inet_pton(AF_INET, rc->host, &a4) == 1 ||
	    inet_pton(AF_INET6, rc->host, &a6) == 1) {
		connect_to(rc, rc->host);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		schedule_retry(rc);
		return;
	}
	r->rc = rc;
	r->req.data = r;
	rc->phase = RC_RESOLVING;
	if (uv_getaddrinfo(rc->loop, &r->req, resolve_h, rc->host, NULL, &hints)) {
		free(r);
		schedule_retry(rc);
		return;
	}
	rc->res = r;
}

static void master_h(int err, const char *host, uint16_t port, void *arg)
{
	struct rconn *rc = arg;
	char *copy;

	rc->phase = RC_IDLE;
	if (rc->hint) {
		/* A switch came during the ask: it is newer. */
		start_connect(rc);
		return;
	}
	if (err) {
		rc->errors++;
		schedule_retry(rc);
		return;
	}
	copy = strdup(host);
	if (!copy) {
		schedule_retry(rc);
		return;
	}
	free(rc->host);
	rc->host = copy;
	rc->port = port;
	connect_host(rc);
}

static void start_connect(struct rconn *rc)
{
	if (rc->closing || rc->ac || rc->res || rc->phase == RC_ASKING)
		return;
	if (rc->kind == RC_MASTER && rc->hint) {
		free(rc->host);
		rc->host = rc->hint;
		rc->port = rc->hint_port;
		rc->hint = NULL;
	} else if (rc->kind == RC_MASTER) {
		/* Every connection asks anew: whatever went wrong may have been
		 * a failover. */
		if (rc->locate(rc->locate_arg, master_h, rc)) {
			schedule_retry(rc);
			return;
		}
		rc->phase = RC_ASKING;
		return;
	}
	connect_host(rc);
}

void rconn_master_moved(struct rconn *rc, const char *host, uint16_t port)
{
	char *copy;

	if (!rc || !host || !port || rc->kind != RC_MASTER || rc->closing)
		return;
	if (rc->host && !strcmp(host, rc->host) && port == rc->port &&
	    (rc->phase == RC_UP || rc->phase == RC_CONNECTING || rc->phase == RC_RESOLVING))
		return;
	if (rc->hint && !strcmp(host, rc->hint) && port == rc->hint_port)
		return;
	copy = strdup(host);
	if (!copy)
		return;
	free(rc->hint);
	rc->hint = copy;
	rc->hint_port = port;
	rc->backoff_ms = RC_BACKOFF_MIN_MS;
	if (rc->ac)
		conn_drop(rc, ECONNRESET);
	/* Asking or resolving: they see the hint when they end. */
	if (rc->phase == RC_IDLE) {
		tmr_cancel(rc->q, &rc->retry);
		start_connect(rc);
	}
}

/* ---- object ---- */

static int dup_opt(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : ENOMEM;
}

static struct rconn *rconn_new(uv_loop_t *loop, struct tmrq *q, enum rc_kind kind,
			       const char *host, uint16_t port, const char *unix_path,
			       const char *password, unsigned timeout_ms, size_t max_pending,
			       rconn_up_h *uph, void *arg)
{
	struct rconn *rc = calloc(1, sizeof(*rc));

	if (!rc)
		return NULL;
	rc->flush = calloc(1, sizeof(*rc->flush));
	if (!rc->flush || dup_opt(&rc->host, host) || dup_opt(&rc->unix_path, unix_path) ||
	    dup_opt(&rc->password, password)) {
		free(rc->flush);
		free(rc->host);
		free(rc->unix_path);
		free(rc->password);
		free(rc);
		return NULL;
	}
	uv_prepare_init(loop, &rc->flush->h);
	rc->flush->h.data = rc->flush;
	rc->flush->rc = rc;
	rc->loop = loop;
	rc->q = q;
	rc->kind = kind;
	rc->port = port;
	rc->timeout_ms = timeout_ms ? timeout_ms : RC_TIMEOUT_MS;
	rc->max_pending = max_pending;
	rc->uph = uph;
	rc->arg = arg;
	rc->backoff_ms = RC_BACKOFF_MIN_MS;
	list_init(&rc->pending);
	tmr_init(&rc->deadline);
	tmr_init(&rc->retry);
	log_ratelimit_init(&rc->rl, 1.0, 10.0);
	snprintf(rc->peer, sizeof(rc->peer), "%s%s", kind == RC_SENTINEL ? "sentinel/" : "",
		 rc->host ? rc->host : rc->unix_path ? rc->unix_path : "master");
	return rc;
}

int rconn_alloc(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
		const struct state_redis_config *cfg, size_t max_pending,
		rconn_up_h *uph, void *arg)
{
	struct rconn *rc;

	if (!rcp || !loop || !q || !cfg || !max_pending || (!cfg->host == !cfg->unix_path))
		return EINVAL;
	rc = rconn_new(loop, q, RC_PLAIN, cfg->host, cfg->port ? cfg->port : RC_PORT,
		       cfg->unix_path, cfg->password, cfg->command_timeout_ms, max_pending,
		       uph, arg);
	if (!rc)
		return ENOMEM;
	rc->db = cfg->db;
	*rcp = rc;
	start_connect(rc);
	return 0;
}

int rconn_alloc_master(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
		       const struct state_redis_config *cfg, size_t max_pending,
		       rconn_locate_h *locate, void *locate_arg,
		       rconn_up_h *uph, void *arg)
{
	struct rconn *rc;

	if (!rcp || !loop || !q || !cfg || !max_pending || !locate)
		return EINVAL;
	rc = rconn_new(loop, q, RC_MASTER, NULL, 0, NULL, cfg->password,
		       cfg->command_timeout_ms, max_pending, uph, arg);
	if (!rc)
		return ENOMEM;
	rc->db = cfg->db;
	rc->locate = locate;
	rc->locate_arg = locate_arg;
	*rcp = rc;
	start_connect(rc);
	return 0;
}

int rconn_alloc_sentinel(struct rconn **rcp, uv_loop_t *loop, struct tmrq *q,
			 const char *host, uint16_t port, const char *password,
			 unsigned timeout_ms, rconn_up_h *uph, void *arg)
{
	struct rconn *rc;

	if (!rcp || !loop || !q || !host || !*host || !port || !uph)
		return EINVAL;
	rc = rconn_new(loop, q, RC_SENTINEL, host, port, NULL, password, timeout_ms, 16,
		       uph, arg);
	if (!rc)
		return ENOMEM;
	*rcp = rc;
	start_connect(rc);
	return 0;
}

static void flush_closed(uv_handle_t *h)
{
	free(h->data);
}

void rconn_free(struct rconn *rc)
{
	redisAsyncContext *ac;

	if (!rc)
		return;
	rc->closing = true;
	rc->phase = RC_IDLE;
	tmr_cancel(rc->q, &rc->deadline);
	tmr_cancel(rc->q, &rc->retry);
	if (rc->res)
		rc->res->rc = NULL;
	ac = rc->ac;
	if (ac) {
		rc->drop_err = ECANCELED;
		rc->ac = NULL;
		redisAsyncFree(ac);
	}
	rc->flush->rc = NULL;
	uv_prepare_stop(&rc->flush->h);
	uv_close((uv_handle_t *)&rc->flush->h, flush_closed);
	free(rc->host);
	free(rc->hint);
	free(rc->unix_path);
	free(rc->password);
	free(rc);
}

unsigned rconn_switches(const struct rconn *rc)
{
	return rc ? rc->switches : 0;
}

const char *rconn_peer(const struct rconn *rc)
{
	return rc->peer;
}

bool rconn_up(const struct rconn *rc)
{
	return rc && rc->phase == RC_UP;
}

void rconn_stats(const struct rconn *rc, struct state_stats *out)
{
	out->rtt_count = rc->rtt_count;
	out->rtt_sum_ms = rc->rtt_sum_ms;
	memcpy(out->rtt_le, rc->rtt_le, sizeof(out->rtt_le));
	out->errors = rc->errors;
	out->reconnects = rc->reconnects;
}
