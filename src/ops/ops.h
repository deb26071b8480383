/*
 * ops.h - what Kubernetes (or anyone) sees of a running kubevoxd over
 * HTTP (http.conf: enabled, bindaddr, bindport; default port 8088):
 *
 *   GET  /livez    200 only when the SIP path works: the main loop turned
 *                  recently AND a SIP OPTIONS sent to our own UDP listener
 *                  was answered within a deadline; else 503
 *   GET  /readyz   200 when the configuration is loaded, the state backend
 *                  is reachable and the process is not draining; else 503
 *   GET  /metrics  Prometheus text format
 *   GET  /status   JSON snapshot (guarded)
 *   POST /reload   reload the configuration now (guarded)
 *
 * The guarded endpoints (and /debug/...) reveal calls or change state:
 * they need "Authorization: Bearer TOKEN" with kubevox.conf's [http]
 * token (401 otherwise), or, when no token is configured, a client on a
 * loopback address (403 otherwise).  See auth.h.
 *
 * The HTTP server (libmicrohttpd) runs in its own thread, so a stuck main
 * loop cannot hide itself: liveness is judged from outside the loop.
 * Everything that reads PBX state (metrics, status, reload) is done ON
 * the main loop through the hooks below; the HTTP thread waits for it
 * with a deadline and answers 503 when the loop does not respond.
 */
#ifndef KV_OPS_OPS_H
#define KV_OPS_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "util/sbuf.h"

struct ops;

/* Requests to a guarded endpoint refused, by reason. */
enum ops_refused {
	OPS_REFUSED_NO_TOKEN,        /* 401: no Authorization */
	OPS_REFUSED_WRONG_TOKEN,     /* 401: not the token */
	OPS_REFUSED_NOT_LOOPBACK,    /* 403: no token configured, remote client */
	OPS_REFUSED_COUNT
};

/* What ops/ counts itself (kept by main.c, written by drain.c and
 * reload.c, and by main.c from ops_refused(); shown by metrics.c). */
struct ops_stats {
	uint64_t reloads_ok, reloads_failed;
	bool draining;
	uint64_t drain_started;         /* unix seconds, 0 when not draining */
	uint64_t drain_forced_hangups;  /* calls ended by the drain timeout */
	uint64_t start_time;            /* unix seconds, process start */
	uint64_t http_refused[OPS_REFUSED_COUNT];
};

struct ops_hooks {
	/* Main loop: append the Prometheus text (with HELP/TYPE lines). */
	void (*metrics)(struct sbuf *out, void *arg);
	/* Main loop: append the /status JSON object. */
	void (*status)(struct sbuf *out, void *arg);
	/* Main loop: reload the configuration; 0 when applied, else a
	 * positive errno with the file:line messages (one per line) appended
	 * to out. */
	int (*reload)(struct sbuf *out, void *arg);
	void *arg;
};

struct ops_config {
	bool enabled;
	struct sockaddr_storage bind;      /* bindaddr:bindport */
	struct sockaddr_storage sip_udp;   /* our SIP UDP listener, for the
					    * liveness OPTIONS (port 0: none) */
	unsigned live_deadline_ms;         /* OPTIONS answer deadline (1000) */
	unsigned loop_stall_ms;            /* loop heartbeat age limit (2000) */
	bool debug_hooks;                  /* POST /debug/freeze?ms=N allowed */
};

/* Start the HTTP thread.  Call from the main loop's thread. */
int  ops_alloc(struct ops **op, uv_loop_t *loop, const struct ops_config *cfg,
	       const struct ops_hooks *hooks);
void ops_free(struct ops *o);
/* Readiness as the PBX sees it; why (static string) says what is missing. */
void ops_set_ready(struct ops *o, bool ready, const char *why);
/* The port the HTTP server listens on (bindport 0 picks a free one, for
 * tests); 0 when it does not run.  Addition (h14-ops). */
uint16_t ops_http_port(const struct ops *o);

/* The bearer token of the guarded endpoints, from the configuration that
 * runs now (NULL or "": none, loopback clients only).  Only its digest
 * is kept.  Any thread; 0, EINVAL, or EIO when it could not be digested
 * (the previous token stays). */
int  ops_set_token(struct ops *o, const char *token);
/* Refusals so far, by reason (zeros for NULL). */
void ops_refused(struct ops *o, uint64_t out[OPS_REFUSED_COUNT]);

/* kubevoxd --probe live|ready [--url URL]: exit status 0 when the endpoint
 * answers 200 within timeout_ms, 1 otherwise (no curl needed in images). */
int  ops_probe(const char *what, const char *url, unsigned timeout_ms);

#endif
