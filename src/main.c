/*
 * main.c - kubevoxd: command line, start-up, signals and shutdown.
 *
 *   kubevoxd [-C DIR] [--check | --accounts] [-d] [-V] [-h]
 *   kubevoxd --probe live|ready [--url URL]
 *
 * Runs in the foreground (as containers want), logging one logfmt line per
 * event on stdout.  --check loads and validates the configuration only and
 * prints every problem as file:line: message; --accounts lists what a
 * softphone can register with.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "config/config.h"
#include "ops/drain.h"
#include "ops/metrics.h"
#include "ops/ops.h"
#include "ops/reload.h"
#include "pbx/pbx.h"
#include "util/log.h"
#include "util/tmr.h"
#include "version.h"

#define DEFAULT_CONFIG_DIR "/etc/kubevox"

struct daemon {
	uv_loop_t loop;
	struct tmrq tmrq;
	uv_signal_t sigint, sigterm, sighup;
	struct pbx *pbx;
	struct ops_stats ostats;        /* reloads, drain, start time */
	struct drain *drain;
	struct reloader *reloader;
	struct ops *ops;
	uv_timer_t ready_tmr;
	uv_prepare_t log_flush;
	struct tmr log_tmr;
	bool stopping;
};

/*
 * Info lines reach stdout at most LOG_DELAY_MS late, as with nginx's
 * buffered access_log: under load that is one write() per interval rather
 * than one per request.  Warnings and errors are written at once (log.c),
 * and everything is flushed on the way out.
 */
#define LOG_DELAY_MS 100

static void flush_logs_tmr(void *arg)
{
	log_flush();
}

/* Before the loop sleeps: lines written in this iteration start the clock. */
static void flush_logs(uv_prepare_t *h)
{
	struct daemon *d = h->data;

	if (log_pending() && !tmr_running(&d->log_tmr))
		tmr_start(&d->tmrq, &d->log_tmr, LOG_DELAY_MS, flush_logs_tmr, d);
}

/* ---- the HTTP side (src/ops/): hooks run on the main loop ---- */

static void hook_metrics(struct sbuf *out, void *arg)
{
	struct daemon *d = arg;

	struct pbx_snapshot snap;

	if (!d->pbx)
		return;
	pbx_snapshot(d->pbx, &snap);
	ops_refused(d->ops, d->ostats.http_refused);
	metrics_render(out, &snap, &d->ostats);
}

static void hook_status(struct sbuf *out, void *arg)
{
	struct daemon *d = arg;

	struct pbx_snapshot snap;

	if (!d->pbx)
		return;
	pbx_snapshot(d->pbx, &snap);
	status_render(out, &snap, &d->ostats, d->pbx);
}

static int hook_reload(struct sbuf *out, void *arg)
{
	struct daemon *d = arg;

	if (!d->reloader)
		return ENODEV;
	return reloader_reload(d->reloader, "request", out);
}

/* The guarded endpoints follow the token of the running configuration. */
static void token_update(const struct kv_config *cfg, void *arg)
{
	struct daemon *d = arg;
	int err = ops_set_token(d->ops, cfg->ops_auth.token);

	if (err)
		log_event(LOG_ERROR, "http_token_not_applied", "error=%d", err);
}

/* Readiness: configuration loaded (we run), state reachable, not draining. */
static void ready_update(uv_timer_t *t)
{
	struct daemon *d = t->data;

	if (!d->ops || !d->pbx)
		return;
	if (d->ostats.draining)
		ops_set_ready(d->ops, false, "draining");
	else if (!pbx_state_healthy(d->pbx))
		ops_set_ready(d->ops, false, "state backend unreachable");
	else
		ops_set_ready(d->ops, true, "ready");
}

static int ops_start(struct daemon *d)
{
	const struct kv_config *cfg = pbx_config(d->pbx);
	struct ops_hooks hooks = {
		.metrics = hook_metrics,
		.status = hook_status,
		.reload = hook_reload,
		.arg = d,
	};
	struct ops_config oc;
	int err;

	memset(&oc, 0, sizeof(oc));
	oc.enabled = cfg->http.enabled;
	oc.bind = cfg->http.bind;
	oc.live_deadline_ms = 1000;
	oc.loop_stall_ms = 2000;
	oc.debug_hooks = cfg->debug_freeze;
	/* Liveness sends its OPTIONS to our first UDP listener. */
	for (size_t i = 0; i < cfg->transports_n; i++) {
		if (cfg->transports[i].proto == CFG_PROTO_UDP) {
			oc.sip_udp = cfg->transports[i].bind;
			break;
		}
	}
	err = ops_alloc(&d->ops, &d->loop, &oc, &hooks);
	if (err)
		return err;
	err = ops_set_token(d->ops, cfg->ops_auth.token);
	if (err)
		return err;
	reloader_set_applied(d->reloader, token_update, d);
	uv_timer_init(&d->loop, &d->ready_tmr);
	d->ready_tmr.data = d;
	uv_timer_start(&d->ready_tmr, ready_update, 0, 500);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kubevoxd [-C DIR] [--check | --accounts] [-d] [-V] [-h]\n"
		"  -C, --config DIR  Asterisk-style config directory (default %s)\n"
		"      --check       validate the configuration and exit (0 usable, 1 not)\n"
		"      --accounts    list the SIP accounts of the configuration and exit\n"
		"      --probe live|ready [--url URL]\n"
		"                    exit 0 when /livez or /readyz answers 200 (Kubernetes\n"
		"                    exec probes; default URL http://127.0.0.1:8088/...)\n"
		"  -d, --debug       log debug events too\n"
		"  -V, --version     print the version and exit\n"
		"  -h, --help        this text\n", DEFAULT_CONFIG_DIR);
}


/* Everything is closed; uv_run() returns once the handles are. */
static void stop(void *arg)
{
	struct daemon *d = arg;

	if (d->stopping)
		return;
	d->stopping = true;
	log_event(LOG_INFO, "shutdown", "calls=%u", pbx_calls_active(d->pbx));
	if (d->ops) {
		uv_timer_stop(&d->ready_tmr);
		uv_close((uv_handle_t *)&d->ready_tmr, NULL);
		ops_free(d->ops);
		d->ops = NULL;
	}
	reloader_free(d->reloader);
	d->reloader = NULL;
	uv_prepare_stop(&d->log_flush);
	uv_close((uv_handle_t *)&d->log_flush, NULL);
	tmr_cancel(&d->tmrq, &d->log_tmr);
	log_flush();
	drain_free(d->drain);
	pbx_free(d->pbx);
	d->pbx = NULL;
	tmrq_close(&d->tmrq);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/* SIGTERM/SIGINT drain (a second one ends the calls); SIGHUP reloads. */
static void on_signal(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	if (d->stopping)
		return;
	if (signum == SIGHUP) {
		reloader_reload(d->reloader, "SIGHUP", NULL);
		return;
	}
	/* Readiness drops at once, not at the next update. */
	if (d->ops)
		ops_set_ready(d->ops, false, "draining");
	drain_signal(d->drain, signum == SIGINT ? "SIGINT" : "SIGTERM",
		     pbx_config(d->pbx)->drain_timeout);
}

static int run(const char *dir)
{
	struct diag diag;
	struct kv_config *cfg = NULL;
	struct daemon d;
	int err;

	diag_init(&diag);
	err = config_load(dir, &cfg, &diag);
	diag_print(&diag, stderr);
	diag_free(&diag);
	if (err) {
		fprintf(stderr, "kubevoxd: configuration in %s is not usable\n", dir);
		return 1;
	}

	memset(&d, 0, sizeof(d));
	uv_loop_init(&d.loop);
	tmrq_init(&d.tmrq, &d.loop);
	d.ostats.start_time = (uint64_t)time(NULL);
	err = pbx_alloc(&d.pbx, &d.loop, &d.tmrq, cfg);
	config_unref(cfg);
	if (err) {
		tmrq_close(&d.tmrq);
		uv_run(&d.loop, UV_RUN_DEFAULT);
		uv_loop_close(&d.loop);
		return 1;
	}

	err = drain_alloc(&d.drain, &d.loop, d.pbx, &d.ostats, stop, &d);
	if (!err)
		err = reloader_alloc(&d.reloader, &d.loop, d.pbx, &d.ostats, dir, 0);
	if (!err)
		err = ops_start(&d);
	if (err) {
		log_event(LOG_ERROR, "start_failed", "error=%d", err);
		return 1;
	}
	uv_signal_init(&d.loop, &d.sigint);
	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sighup);
	d.sigint.data = d.sigterm.data = d.sighup.data = &d;
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sighup, on_signal, SIGHUP);
	uv_prepare_init(&d.loop, &d.log_flush);
	d.log_flush.data = &d;
	tmr_init(&d.log_tmr);
	uv_prepare_start(&d.log_flush, flush_logs);
	log_batch(true);

	log_event(LOG_INFO, "ready", "version=%s config=%s", KV_VERSION, dir);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	err = uv_loop_close(&d.loop);
	if (err)
		log_event(LOG_ERROR, "loop_close", "error=%s", uv_err_name(err));
	log_batch(false);
	log_event(LOG_INFO, "exit", "status=0");
	return 0;
}

static int accounts(const char *dir)
{
	struct diag diag;
	struct kv_config *cfg = NULL;
	int err;

	diag_init(&diag);
	err = config_load(dir, &cfg, &diag);
	if (err) {
		diag_print(&diag, stderr);
		diag_free(&diag);
		return 1;
	}
	diag_free(&diag);
	printf("SIP accounts in %s (register to this host, UDP or TCP):\n", dir);
	for (size_t i = 0; i < cfg->endpoints_n; i++) {
		const struct cfg_endpoint *ep = &cfg->endpoints[i];
		const struct cfg_auth *a = ep->auth;

		printf("  extension %-10s username %-10s password %-16s context %s\n",
		       ep->name, a ? a->username : "-",
		       a ? (a->password ? a->password : "(digest)") : "(none)",
		       ep->context);
	}
	for (size_t i = 0; i < cfg->transports_n; i++) {
		const struct cfg_transport *t = &cfg->transports[i];
		char addr[INET6_ADDRSTRLEN] = "?";
		uint16_t port;

		if (t->bind.ss_family == AF_INET6) {
			uv_ip6_name((const struct sockaddr_in6 *)&t->bind, addr, sizeof(addr));
			port = ntohs(((const struct sockaddr_in6 *)&t->bind)->sin6_port);
		} else {
			uv_ip4_name((const struct sockaddr_in *)&t->bind, addr, sizeof(addr));
			port = ntohs(((const struct sockaddr_in *)&t->bind)->sin_port);
		}
		printf("  listening: %s %s port %u\n",
		       t->proto == CFG_PROTO_TCP ? "tcp" : "udp", addr, port);
	}
	config_unref(cfg);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'C'},
		{"check", no_argument, NULL, 'c'},
		{"accounts", no_argument, NULL, 'a'},
		{"probe", required_argument, NULL, 'p'},
		{"url", required_argument, NULL, 'u'},
		{"debug", no_argument, NULL, 'd'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = DEFAULT_CONFIG_DIR;
	bool only_check = false, list_accounts = false;
	const char *probe = NULL, *url = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "C:dVh", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 'c':
			only_check = true;
			break;
		case 'a':
			list_accounts = true;
			break;
		case 'p':
			probe = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'd':
			log_set_level(LOG_DEBUG);
			break;
		case 'V':
			printf("kubevoxd %s\n", KV_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	if (probe)
		return ops_probe(probe, url, 3000);
	/* A peer closing a TCP connection must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);

	if (only_check)
		return config_check(dir, stderr);
	if (list_accounts)
		return accounts(dir);
	return run(dir);
}
