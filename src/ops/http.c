/*
 * http.c - the ops HTTP server (see ops.h) and how its threads get
 * answers from the main loop.
 *
 * libmicrohttpd listens on its own internal thread and gives every
 * connection a thread of its own, so a /metrics waiting on a busy loop or
 * a /livez waiting for its OPTIONS never delays another probe.  Work that
 * reads PBX state becomes a job: the connection thread queues it under a
 * mutex, wakes the loop with a uv_async and waits on a condition variable
 * until the job is done or a deadline passes.  A job whose waiter gave up
 * is unlinked if the loop has not started it (a late reload must not
 * happen behind the caller's back), or freed by the loop once finished.
 *
 * ops_free() runs on the loop: it wakes every waiter, stops the server
 * (joining its threads) and closes the loop handles; the memory goes once
 * the loop has closed them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/auth.h"
#include "ops/health.h"
#include "ops/ops.h"
#include "sip/transport.h"
#include "util/list.h"
#include "util/log.h"

#define OPS_CONN_LIMIT 64
#define OPS_CONN_TIMEOUT_S 10
#define OPS_RELOAD_DEADLINE_MS 10000
#define OPS_FREEZE_MAX_MS 60000
#define OPS_LIVE_DEADLINE_MS 1000
#define OPS_LOOP_STALL_MS 2000

enum job_kind { JOB_METRICS, JOB_STATUS, JOB_RELOAD, JOB_FREEZE };
enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct ops_job {
	struct list_node link;   /* on ops.jobs while JOB_QUEUED */
	enum job_kind kind;
	enum job_state state;
	bool abandoned;          /* nobody waits: the loop frees it when done */
	unsigned freeze_ms;
	int rc;                  /* reload hook's result */
	struct sbuf out;
};

struct ops {
	uv_loop_t *loop;
	struct ops_config cfg;
	struct ops_hooks hooks;
	struct MHD_Daemon *mhd;
	struct health *health;
	uv_async_t async;
	bool async_open;

	pthread_mutex_t mu;      /* guards everything below */
	pthread_cond_t cv;
	struct list_node jobs;   /* of struct ops_job, oldest first */
	bool closing;
	bool ready;
	const char *why;         /* why not ready */
	struct ops_token token;  /* of the guarded routes */
	uint64_t refused[OPS_REFUSED_COUNT];
	struct log_ratelimit refused_log;
};

/* ---- jobs ---- */

static struct ops_job *job_alloc(enum job_kind kind)
{
	struct ops_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	list_node_init(&j->link);
	j->kind = kind;
	sbuf_init(&j->out);
	return j;
}

static void job_free(struct ops_job *j)
{
	if (!j)
		return;
	sbuf_free(&j->out);
	free(j);
}

/* Caller holds o->mu. */
static struct ops_job *job_pop(struct ops *o)
{
	struct list_node *n = list_pop_front(&o->jobs);

	return n ? list_entry(n, struct ops_job, link) : NULL;
}

/* Queue j and wake the loop; ECANCELED once ops_free() has begun. */
static int job_post(struct ops *o, struct ops_job *j)
{
	pthread_mutex_lock(&o->mu);
	if (o->closing) {
		pthread_mutex_unlock(&o->mu);
		return ECANCELED;
	}
	list_push_back(&o->jobs, &j->link);
	pthread_mutex_unlock(&o->mu);
	uv_async_send(&o->async);
	return 0;
}

static void deadline_set(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/*
 * Run j on the loop and wait for it up to deadline_ms.  0: done, j is the
 * caller's to read and free.  Otherwise (ETIMEDOUT: the loop did not get
 * to it in time, ECANCELED: shutting down) j is no longer the caller's.
 */
static int job_wait(struct ops *o, struct ops_job *j, unsigned deadline_ms)
{
	struct timespec ts;
	int err;

	err = job_post(o, j);
	if (err) {
		job_free(j);
		return err;
	}
	deadline_set(&ts, deadline_ms);
	pthread_mutex_lock(&o->mu);
	err = 0;
	while (j->state != JOB_DONE && !o->closing && err != ETIMEDOUT)
		err = pthread_cond_timedwait(&o->cv, &o->mu, &ts);
	if (j->state == JOB_DONE) {
		pthread_mutex_unlock(&o->mu);
		return 0;
	}
	err = o->closing ? ECANCELED : ETIMEDOUT;
	if (j->state == JOB_QUEUED) {
		list_unlink(&j->link);
		pthread_mutex_unlock(&o->mu);
		job_free(j);
		return err;
	}
	j->abandoned = true;
	pthread_mutex_unlock(&o->mu);
	return err;
}

static void freeze(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* On the loop. */
static void job_exec(struct ops *o, struct ops_job *j)
{
	switch (j->kind) {
	case JOB_METRICS:
		o->hooks.metrics(&j->out, o->hooks.arg);
		break;
	case JOB_STATUS:
		o->hooks.status(&j->out, o->hooks.arg);
		break;
	case JOB_RELOAD:
		j->rc = o->hooks.reload(&j->out, o->hooks.arg);
		break;
	case JOB_FREEZE:
		log_event(LOG_WARN, "debug_freeze", "ms=%u", j->freeze_ms);
		freeze(j->freeze_ms);
		break;
	}
}

/* On the loop: one job at a time, so that a waiter that gives up while
 * an earlier job runs can still take its own out of the queue. */
static void async_cb(uv_async_t *a)
{
	struct ops *o = a->data;

	for (;;) {
		struct ops_job *j;
		bool orphan;

		pthread_mutex_lock(&o->mu);
		j = o->closing ? NULL : job_pop(o);
		if (j)
			j->state = JOB_RUNNING;
		pthread_mutex_unlock(&o->mu);
		if (!j)
			return;
		job_exec(o, j);
		pthread_mutex_lock(&o->mu);
		orphan = j->abandoned;
		j->state = JOB_DONE;
		pthread_cond_broadcast(&o->cv);
		pthread_mutex_unlock(&o->mu);
		if (orphan)
			job_free(j);
	}
}

/* ---- responses ---- */

/* hname/hvalue: one more header (Allow, WWW-Authenticate), or NULL. */
static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code,
			       const char *ctype, const char *body, size_t len,
			       const char *hname, const char *hvalue)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
	    (hname && MHD_add_response_header(r, hname, hvalue) != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned code,
				    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned code,
				    const char *fmt, ...)
{
	struct sbuf sb;
	enum MHD_Result ret;
	va_list ap;

	sbuf_init(&sb);
	va_start(ap, fmt);
	sbuf_vprintf(&sb, fmt, ap);
	va_end(ap);
	if (sbuf_err(&sb))
		ret = MHD_NO;
	else
		ret = respond(conn, code, "text/plain; charset=utf-8", sb.p ? sb.p : "",
			      sb.len, NULL, NULL);
	sbuf_free(&sb);
	return ret;
}

static enum MHD_Result respond_unanswered(struct MHD_Connection *conn, int err,
					  unsigned deadline_ms)
{
	if (err == ECANCELED)
		return respond_text(conn, 503, "shutting down\n");
	if (err == ETIMEDOUT)
		return respond_text(conn, 503, "main loop did not answer within %u ms\n",
				    deadline_ms);
	return respond_text(conn, 500, "%s\n", strerror(err));
}

/* ---- routes ---- */

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

static enum MHD_Result serve_livez(struct ops *o, struct MHD_Connection *conn)
{
	uint64_t age = health_loop_age(o->health), rtt = 0;
	char why[256];
	int err;

	if (age >= o->cfg.loop_stall_ms)
		return respond_text(conn, 503, "not live: main loop stalled: no turn for "
				    "%" PRIu64 " ms (limit %u ms)\n", age, o->cfg.loop_stall_ms);
	if (!sockaddr_port(&o->cfg.sip_udp))
		return respond_text(conn, 200, "live: main loop turned %" PRIu64 " ms ago; "
				    "sip: not checked (no UDP listener)\n", age);
	err = health_sip_check(&o->cfg.sip_udp, o->cfg.live_deadline_ms, why,
			       sizeof(why), &rtt);
	if (err)
		return respond_text(conn, 503, "not live: sip: %s\n", why);
	return respond_text(conn, 200, "live: main loop turned %" PRIu64 " ms ago; "
			    "sip: %s in %" PRIu64 " ms\n", age, why, rtt);
}

static enum MHD_Result serve_readyz(struct ops *o, struct MHD_Connection *conn)
{
	uint64_t age = health_loop_age(o->health);
	const char *why;
	bool ready;

	pthread_mutex_lock(&o->mu);
	ready = o->ready;
	why = o->why;
	pthread_mutex_unlock(&o->mu);
	if (age >= o->cfg.loop_stall_ms)
		return respond_text(conn, 503, "not ready: main loop stalled: no turn for "
				    "%" PRIu64 " ms\n", age);
	if (!ready)
		return respond_text(conn, 503, "not ready: %s\n", why ? why : "starting");
	return respond_text(conn, 200, "ready\n");
}

static enum MHD_Result serve_job(struct ops *o, struct MHD_Connection *conn,
				 enum job_kind kind)
{
	static const char *const ctypes[] = {
		[JOB_METRICS] = "text/plain; version=0.0.4; charset=utf-8",
		[JOB_STATUS] = "application/json",
	};
	unsigned deadline = kind == JOB_RELOAD ? OPS_RELOAD_DEADLINE_MS : o->cfg.loop_stall_ms;
	struct ops_job *j;
	enum MHD_Result ret;
	int err;

	if ((kind == JOB_METRICS && !o->hooks.metrics) ||
	    (kind == JOB_STATUS && !o->hooks.status) ||
	    (kind == JOB_RELOAD && !o->hooks.reload))
		return respond_text(conn, 404, "not available\n");
	j = job_alloc(kind);
	if (!j)
		return respond_text(conn, 500, "out of memory\n");
	err = job_wait(o, j, deadline);
	if (err)
		return respond_unanswered(conn, err, deadline);
	if (sbuf_err(&j->out))
		ret = respond_text(conn, 500, "out of memory\n");
	else if (kind == JOB_RELOAD && j->rc)
		ret = respond_text(conn, 500, "reload failed:\n%s", sbuf_cstr(&j->out));
	else if (kind == JOB_RELOAD)
		ret = respond_text(conn, 200, "reloaded\n");
	else
		ret = respond(conn, 200, ctypes[kind], sbuf_cstr(&j->out), j->out.len,
			      NULL, NULL);
	job_free(j);
	return ret;
}

static enum MHD_Result serve_metrics(struct ops *o, struct MHD_Connection *conn)
{
	return serve_job(o, conn, JOB_METRICS);
}

static enum MHD_Result serve_status(struct ops *o, struct MHD_Connection *conn)
{
	return serve_job(o, conn, JOB_STATUS);
}

static enum MHD_Result serve_reload(struct ops *o, struct MHD_Connection *conn)
{
	return serve_job(o, conn, JOB_RELOAD);
}

/* POST /debug/freeze?ms=N: block the loop N ms, to test that probes see a
 * stuck loop.  Answered at once: the caller must not be stuck with it. */
static enum MHD_Result serve_freeze(struct ops *o, struct MHD_Connection *conn)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "ms");
	struct ops_job *j;
	unsigned ms = 0;

	for (const char *p = v; p && *p && ms <= OPS_FREEZE_MAX_MS; p++) {
		if (*p < '0' || *p > '9') {
			ms = 0;
			break;
		}
		ms = ms * 10 + (unsigned)(*p - '0');
	}
	if (!ms || ms > OPS_FREEZE_MAX_MS)
		return respond_text(conn, 400, "ms=1..%u required\n", OPS_FREEZE_MAX_MS);
	j = job_alloc(JOB_FREEZE);
	if (!j)
		return respond_text(conn, 500, "out of memory\n");
	j->freeze_ms = ms;
	j->abandoned = true;
	if (job_post(o, j)) {
		job_free(j);
		return respond_text(conn, 503, "shutting down\n");
	}
	return respond_text(conn, 202, "freezing the main loop for %u ms\n", ms);
}

/* ---- who may use the routes that reveal calls or change state ---- */

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void refused_log(struct ops *o, const char *path, const struct sockaddr *peer,
			const char *reason)
{
	char addr[64] = "unknown", q[600];
	uint64_t suppressed = 0;
	bool log;

	pthread_mutex_lock(&o->mu);
	log = log_ratelimit_allow(&o->refused_log, mono_ms(), &suppressed);
	pthread_mutex_unlock(&o->mu);
	if (!log)
		return;
	if (peer)
		sip_sockaddr_str(peer, addr, sizeof(addr));
	log_event(LOG_WARN, "http_refused", "path=%s src=%s reason=%s suppressed=%llu",
		  log_q(q, sizeof(q), path, strlen(path)), addr, reason,
		  (unsigned long long)suppressed);
}

/* *pass: the request may go on; else it has been answered (401, 403). */
static enum MHD_Result gate(struct ops *o, struct MHD_Connection *conn, const char *path,
			    bool *pass)
{
	static const char *const reasons[OPS_REFUSED_COUNT] = {
		[OPS_REFUSED_NO_TOKEN] = "no_token", [OPS_REFUSED_WRONG_TOKEN] = "wrong_token",
		[OPS_REFUSED_NOT_LOOPBACK] = "not_loopback",
	};
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *peer = ci ? ci->client_addr : NULL;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	enum ops_refused why;
	enum ops_auth a;

	/* The token of the configuration running now: a reload that
	 * changes it has already called ops_set_token(). */
	pthread_mutex_lock(&o->mu);
	a = ops_auth_check(&o->token, h, peer);
	why = a == OPS_AUTH_MISSING ? OPS_REFUSED_NO_TOKEN :
	      a == OPS_AUTH_WRONG ? OPS_REFUSED_WRONG_TOKEN : OPS_REFUSED_NOT_LOOPBACK;
	if (a != OPS_AUTH_OK)
		o->refused[why]++;
	pthread_mutex_unlock(&o->mu);
	*pass = a == OPS_AUTH_OK;
	if (*pass)
		return MHD_YES;
	refused_log(o, path, peer, reasons[why]);
	if (a == OPS_AUTH_NOT_LOOPBACK) {
		static const char text[] = "forbidden: without a token ([http] token in "
					   "kubevox.conf) this answers loopback clients only\n";

		return respond(conn, 403, "text/plain; charset=utf-8", text, sizeof(text) - 1,
			       NULL, NULL);
	}
	if (a == OPS_AUTH_MISSING) {
		static const char text[] = "unauthorized: send \"Authorization: Bearer TOKEN\" "
					   "with the [http] token of kubevox.conf\n";

		return respond(conn, 401, "text/plain; charset=utf-8", text, sizeof(text) - 1,
			       MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"kubevox\"");
	}
	{
		static const char text[] = "unauthorized: wrong token\n";

		return respond(conn, 401, "text/plain; charset=utf-8", text, sizeof(text) - 1,
			       MHD_HTTP_HEADER_WWW_AUTHENTICATE,
			       "Bearer realm=\"kubevox\", error=\"invalid_token\"");
	}
}

struct route {
	const char *path;
	bool post;               /* POST only; else GET (and HEAD) */
	bool debug;              /* only with debug_hooks */
	bool guarded;            /* reveals calls or changes state: gate() */
	enum MHD_Result (*serve)(struct ops *o, struct MHD_Connection *conn);
};

static const struct route routes[] = {
	{ "/livez", false, false, false, serve_livez },
	{ "/readyz", false, false, false, serve_readyz },
	{ "/metrics", false, false, false, serve_metrics },
	{ "/status", false, false, true, serve_status },
	{ "/reload", true, false, true, serve_reload },
	{ "/debug/freeze", true, true, true, serve_freeze },
};

static enum MHD_Result route(struct ops *o, struct MHD_Connection *conn,
			     const char *url, const char *method)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *r = &routes[i];
		enum MHD_Result ret;
		bool ok;

		if (strcmp(url, r->path) || (r->debug && !o->cfg.debug_hooks))
			continue;
		if (r->post)
			ok = !strcmp(method, MHD_HTTP_METHOD_POST);
		else
			ok = !strcmp(method, MHD_HTTP_METHOD_GET) ||
			     !strcmp(method, MHD_HTTP_METHOD_HEAD);
		if (!ok) {
			static const char text[] = "method not allowed\n";

			return respond(conn, 405, "text/plain; charset=utf-8", text,
				       sizeof(text) - 1, MHD_HTTP_HEADER_ALLOW,
				       r->post ? "POST" : "GET, HEAD");
		}
		if (r->guarded) {
			ret = gate(o, conn, r->path, &ok);
			if (!ok)
				return ret;
		}
		return r->serve(o, conn);
	}
	return respond_text(conn, 404, "not found (try /livez, /readyz, /metrics, "
			    "/status or POST /reload)\n");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	static int started;

	/* The first call only has the headers; a body, which no route
	 * wants, comes in the calls after it and is discarded. */
	if (!*con_cls) {
		*con_cls = &started;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return route(cls, conn, url, method);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	log_vtext(LOG_WARN, "http_error", "msg", fmt, ap);
}

/* ---- the server ---- */

static int http_start(struct ops *o)
{
	const struct sockaddr_storage *bind = &o->cfg.bind;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG;
	char addr[64];

	if (bind->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)bind;

		/* "::" means every address, IPv4 included, as elsewhere. */
		flags |= IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr) ? MHD_USE_DUAL_STACK
								   : MHD_USE_IPv6;
	} else if (bind->ss_family != AF_INET) {
		return EAFNOSUPPORT;
	}
	sip_sockaddr_str((const struct sockaddr *)bind, addr, sizeof(addr));
	errno = 0;
	/* libmicrohttpd wants its logger first, or it complains on stderr. */
	o->mhd = MHD_start_daemon(flags, sockaddr_port(bind), NULL, NULL, on_request, o,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, o,
				  MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)bind,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)OPS_CONN_LIMIT,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)OPS_CONN_TIMEOUT_S,
				  MHD_OPTION_END);
	if (!o->mhd) {
		int err = errno ? errno : EIO;

		log_event(LOG_ERROR, "http_listen_failed", "addr=%s error=%d", addr, err);
		return err;
	}
	log_event(LOG_INFO, "http_listen", "addr=%s port=%u", addr, ops_http_port(o));
	return 0;
}

static void ops_destroy(struct ops *o)
{
	pthread_cond_destroy(&o->cv);
	pthread_mutex_destroy(&o->mu);
	free(o);
}

static void ops_closed(uv_handle_t *handle)
{
	ops_destroy(handle->data);
}

int ops_alloc(struct ops **op, uv_loop_t *loop, const struct ops_config *cfg,
	      const struct ops_hooks *hooks)
{
	pthread_condattr_t ca;
	struct ops *o;
	int err;

	if (!op || !loop || !cfg)
		return EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return ENOMEM;
	o->loop = loop;
	o->cfg = *cfg;
	if (!o->cfg.live_deadline_ms)
		o->cfg.live_deadline_ms = OPS_LIVE_DEADLINE_MS;
	if (!o->cfg.loop_stall_ms)
		o->cfg.loop_stall_ms = OPS_LOOP_STALL_MS;
	if (hooks)
		o->hooks = *hooks;
	list_init(&o->jobs);
	o->why = "starting";
	log_ratelimit_init(&o->refused_log, 1.0, 5.0);
	pthread_mutex_init(&o->mu, NULL);
	/* Deadlines on the monotonic clock: setting the date moves none. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&o->cv, &ca);
	pthread_condattr_destroy(&ca);

	/* Disabled: an object that answers every call and serves nothing. */
	if (!cfg->enabled)
		goto out_ok;
	err = health_alloc(&o->health, loop);
	if (err)
		goto out;
	err = uv_async_init(loop, &o->async, async_cb);
	if (err) {
		err = -err;
		goto out;
	}
	o->async.data = o;
	o->async_open = true;
	uv_unref((uv_handle_t *)&o->async);
	err = http_start(o);
	if (err)
		goto out;
out_ok:
	*op = o;
	return 0;
out:
	ops_free(o);
	return err;
}

void ops_free(struct ops *o)
{
	struct ops_job *j;

	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->closing = true;
	pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->mu);
	/* Joins the connection threads: woken above, none is left waiting. */
	if (o->mhd)
		MHD_stop_daemon(o->mhd);
	o->mhd = NULL;
	/* Only jobs nobody waits for (freezes) can be left. */
	while ((j = job_pop(o)))
		job_free(j);
	health_free(o->health);
	o->health = NULL;
	if (o->async_open)
		uv_close((uv_handle_t *)&o->async, ops_closed);
	else
		ops_destroy(o);
}

void ops_set_ready(struct ops *o, bool ready, const char *why)
{
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	o->ready = ready;
	o->why = ready ? NULL : why;
	pthread_mutex_unlock(&o->mu);
}

uint16_t ops_http_port(const struct ops *o)
{
	const union MHD_DaemonInfo *info;

	if (!o || !o->mhd)
		return 0;
	info = MHD_get_daemon_info(o->mhd, MHD_DAEMON_INFO_BIND_PORT);
	return info ? info->port : 0;
}

int ops_set_token(struct ops *o, const char *token)
{
	struct ops_token t;
	int err;

	if (!o)
		return EINVAL;
	err = ops_token_set(&t, token);
	if (err)
		return err;
	pthread_mutex_lock(&o->mu);
	o->token = t;
	pthread_mutex_unlock(&o->mu);
	return 0;
}

void ops_refused(struct ops *o, uint64_t out[OPS_REFUSED_COUNT])
{
	memset(out, 0, OPS_REFUSED_COUNT * sizeof(out[0]));
	if (!o)
		return;
	pthread_mutex_lock(&o->mu);
	memcpy(out, o->refused, sizeof(o->refused));
	pthread_mutex_unlock(&o->mu);
}
