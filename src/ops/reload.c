/*
 * reload.c - live configuration reload (see reload.h).
 *
 * Changes are noticed two ways: inotify events on every directory that
 * holds a file of the configuration (through uv_fs_event), answered after
 * a short quiet period so that an editor's or the kubelet's series of
 * writes gives one reload; and a periodic comparison of a digest of every
 * file's contents, which catches what events miss.  The digest also makes
 * a reload of unchanged files a no-op.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "ops/reload.h"
#include "util/log.h"

#define RELOAD_QUIET_MS  300
#define RELOAD_MAX_WATCH 32

struct reloader {
	uv_loop_t *loop;
	struct pbx *pbx;
	struct ops_stats *stats;        /* reloads_ok, reloads_failed */
	char *dir;
	uv_timer_t poll;
	uv_timer_t quiet;
	uv_fs_event_t watch[RELOAD_MAX_WATCH];
	char *watched[RELOAD_MAX_WATCH];
	unsigned watch_n;
	unsigned closing;              /* handles still to close */
	unsigned char digest[32];      /* of the running configuration */
	unsigned char seen[32];        /* of the files as last examined */
	bool failed;                   /* the last attempt was rejected */
	reload_applied_h *applied;
	void *applied_arg;
};

/* SHA-256 over the names and contents of every file of cfg, plus the
 * directory's entries (a new file that an #include glob would pick up). */
static int digest_config(const struct kv_config *cfg, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char buf[8192];
	unsigned int n = 0;
	int err = 0;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return ENOMEM;
	}
	for (size_t i = 0; i < cfg->files_n; i++) {
		int fd = open(cfg->files[i], O_RDONLY | O_CLOEXEC);
		ssize_t r;

		EVP_DigestUpdate(md, cfg->files[i], strlen(cfg->files[i]) + 1);
		if (fd < 0) {
			EVP_DigestUpdate(md, "-", 1);
			continue;
		}
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			EVP_DigestUpdate(md, buf, (size_t)r);
		close(fd);
	}
	if (!EVP_DigestFinal_ex(md, out, &n))
		err = EIO;
	EVP_MD_CTX_free(md);
	return err;
}

/* Files the running configuration is made of may have changed, or new
 * ones may exist: a fresh load tells, and its digest says whether the
 * result differs. */
static void watch_dirs(struct reloader *r);

static void apply(struct reloader *r, struct kv_config *cfg, const char *why)
{
	struct pbx *pbx = r->pbx;

	pbx_reconfigure(pbx, cfg);
	if (r->applied)
		r->applied(cfg, r->applied_arg);
	r->stats->reloads_ok++;
	log_event(LOG_INFO, "config_reload", "result=ok trigger=%s files=%zu", why,
		  cfg->files_n);
	watch_dirs(r);
}

int reloader_reload(struct reloader *r, const char *why, struct sbuf *msgs)
{
	struct kv_config *cfg = NULL;
	struct diag diag;
	unsigned char d[32] = {0};
	char line[1024], q[1100];
	int err;

	/* This load reads whatever the events seen so far announced: one
	 * attempt per change, even when a poll or a signal comes first. */
	uv_timer_stop(&r->quiet);
	diag_init(&diag);
	err = config_load(r->dir, &cfg, &diag);
	for (size_t i = 0; i < diag.n; i++) {
		diag_msg_format(&diag.v[i], line, sizeof(line));
		if (msgs)
			sbuf_printf(msgs, "%s\n", line);
		if (err || diag.v[i].sev == DIAG_ERROR)
			log_event(LOG_WARN, "config_problem", "msg=%s",
				  log_q(q, sizeof(q), line, strlen(line)));
	}
	if (err) {
		r->stats->reloads_failed++;
		log_event(LOG_WARN, "config_reload",
			  "result=failed trigger=%s errors=%u kept=old_configuration",
			  why, diag.errors);
		diag_free(&diag);
		/* The poll must not retry (and count) the same broken files
		 * every period: only a further change is worth a new attempt. */
		r->failed = true;
		if (digest_config(pbx_config(r->pbx), r->seen))
			memcpy(r->seen, r->digest, sizeof(r->seen));
		return EINVAL;
	}
	diag_free(&diag);
	/* Unchanged files are a no-op, unless asked for or the last attempt
	 * failed: then the operator is owed a result=ok for the fix. */
	if (!digest_config(cfg, d) && !memcmp(d, r->digest, sizeof(d)) &&
	    !r->failed && strcmp(why, "request") && strcmp(why, "SIGHUP")) {
		memcpy(r->seen, d, sizeof(d));
		config_unref(cfg);
		return 0;
	}
	memcpy(r->digest, d, sizeof(d));
	memcpy(r->seen, d, sizeof(d));
	r->failed = false;
	apply(r, cfg, why);
	config_unref(cfg);
	return 0;
}

static void changed(struct reloader *r, const char *why)
{
	reloader_reload(r, why, NULL);
}

static void quiet_cb(uv_timer_t *t)
{
	changed(t->data, "file_change");
}

static void event_cb(uv_fs_event_t *h, const char *name, int events, int status)
{
	struct reloader *r = h->data;

	/* Wait for the writer to finish: one reload per burst of events. */
	uv_timer_start(&r->quiet, quiet_cb, RELOAD_QUIET_MS, 0);
}

static void poll_cb(uv_timer_t *t)
{
	struct reloader *r = t->data;
	unsigned char d[32];

	if (!digest_config(pbx_config(r->pbx), d) && memcmp(d, r->seen, sizeof(d)))
		changed(r, "poll");
}

static void close_cb(uv_handle_t *h)
{
	struct reloader *r = h->data;

	if (--r->closing == 0) {
		for (unsigned i = 0; i < RELOAD_MAX_WATCH; i++)
			free(r->watched[i]);
		free(r->dir);
		free(r);
	}
}

static bool is_watched(const struct reloader *r, const char *dir)
{
	for (unsigned i = 0; i < r->watch_n; i++) {
		if (!strcmp(r->watched[i], dir))
			return true;
	}
	return false;
}

/* One watch per directory holding a configuration file (new ones after a
 * reload that added includes elsewhere). */
static void watch_dirs(struct reloader *r)
{
	const struct kv_config *cfg = pbx_config(r->pbx);
	char path[PATH_MAX];

	for (size_t i = 0; i <= cfg->files_n && r->watch_n < RELOAD_MAX_WATCH; i++) {
		const char *dir;

		if (i == cfg->files_n) {
			dir = r->dir;
		} else {
			snprintf(path, sizeof(path), "%s", cfg->files[i]);
			dir = dirname(path);
		}
		if (is_watched(r, dir))
			continue;
		uv_fs_event_t *h = &r->watch[r->watch_n];

		if (uv_fs_event_init(r->loop, h))
			continue;
		h->data = r;
		r->watched[r->watch_n] = strdup(dir);
		r->watch_n++;
		if (uv_fs_event_start(h, event_cb, dir, 0))
			log_event(LOG_WARN, "config_watch_failed", "dir=%s", dir);
	}
}

int reloader_alloc(struct reloader **rp, uv_loop_t *loop, struct pbx *pbx,
		   struct ops_stats *stats, const char *dir, unsigned poll_ms)
{
	struct reloader *r = calloc(1, sizeof(*r));

	if (!r)
		return ENOMEM;
	r->loop = loop;
	r->pbx = pbx;
	r->stats = stats;
	r->dir = strdup(dir);
	if (!r->dir) {
		free(r);
		return ENOMEM;
	}
	digest_config(pbx_config(pbx), r->digest);
	memcpy(r->seen, r->digest, sizeof(r->seen));
	uv_timer_init(loop, &r->poll);
	uv_timer_init(loop, &r->quiet);
	r->poll.data = r->quiet.data = r;
	uv_timer_start(&r->poll, poll_cb, poll_ms ? poll_ms : 2000,
		       poll_ms ? poll_ms : 2000);
	watch_dirs(r);
	*rp = r;
	return 0;
}

void reloader_set_applied(struct reloader *r, reload_applied_h *h, void *arg)
{
	r->applied = h;
	r->applied_arg = arg;
}

void reloader_free(struct reloader *r)
{
	if (!r)
		return;
	r->closing = 2 + r->watch_n;
	uv_close((uv_handle_t *)&r->poll, close_cb);
	uv_close((uv_handle_t *)&r->quiet, close_cb);
	for (unsigned i = 0; i < r->watch_n; i++)
		uv_close((uv_handle_t *)&r->watch[i], close_cb);
}
