/*
 * cdr.c - Asterisk-compatible CSV call detail records (see cdr.h).
 *
 * Asterisk's cdr_csv opens, writes and closes the file for every record so
 * that a crash loses at most the record being written; we do the same,
 * with one write() of the whole line on an O_APPEND descriptor instead of
 * stdio, so that writers in other threads or processes cannot split it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pbx/cdr.h"
#include "util/log.h"

#define CSV_DIR     "cdr-csv"
#define CSV_MASTER  "Master.csv"

const char *cdr_disposition_str(enum cdr_disposition d)
{
	switch (d) {
	case CDR_NOANSWER:
		return "NO ANSWER";
	case CDR_FAILED:
		return "FAILED";
	case CDR_BUSY:
		return "BUSY";
	case CDR_ANSWERED:
		return "ANSWERED";
	case CDR_CONGESTION:
		return "CONGESTION";
	}
	return "UNKNOWN";
}

const char *cdr_amaflags_str(enum cdr_amaflags a)
{
	switch (a) {
	case CDR_AMA_DOCUMENTATION:
		return "DOCUMENTATION";
	case CDR_AMA_BILLING:
		return "BILLING";
	case CDR_AMA_OMIT:
		return "OMIT";
	}
	return "Unknown";
}

static bool tv_zero(const struct timeval *tv)
{
	return tv->tv_sec == 0 && tv->tv_usec == 0;
}

/* Asterisk's ast_tvdiff_ms(): the sub-second part rounds down, so 199.5 ms
 * is 199 whichever second boundary it crosses. */
static long long tv_diff_ms(const struct timeval *end, const struct timeval *start)
{
	return ((long long)end->tv_sec - start->tv_sec) * 1000 +
	       ((1000000LL + end->tv_usec - start->tv_usec) / 1000) - 1000;
}

void cdr_set_durations(struct cdr *c, const struct cdr_config *cfg)
{
	struct timeval end = c->end;
	long long ms;

	/* An open record is measured up to now, as Asterisk does. */
	if (tv_zero(&end))
		gettimeofday(&end, NULL);
	ms = tv_diff_ms(&end, &c->start);
	c->duration = ms > 0 ? (long)(ms / 1000) : 0;
	if (tv_zero(&c->answer)) {
		c->billsec = 0;
		return;
	}
	ms = tv_diff_ms(&end, &c->answer);
	if (ms < 0)
		ms = 0;
	if (cfg && cfg->initiatedseconds && ms % 1000 >= 500)
		c->billsec = (long)(ms / 1000 + 1);
	else
		c->billsec = (long)(ms / 1000);
}

static void csv_str(struct sbuf *sb, const char *s)
{
	sbuf_append(sb, "\"", 1);
	while (s && *s) {
		size_t run = strcspn(s, "\"\r\n");

		sbuf_append(sb, s, run);
		s += run;
		if (*s == '"')
			sbuf_append(sb, "\"\"", 2);
		else if (*s)
			sbuf_append(sb, " ", 1);
		if (*s)
			s++;
	}
	sbuf_append(sb, "\"", 1);
}

static void csv_time(struct sbuf *sb, const struct timeval *tv, bool gmt)
{
	time_t t = tv->tv_sec;
	struct tm tm;
	char buf[64];

	if (tv_zero(tv))
		return;
	if (gmt ? !gmtime_r(&t, &tm) : !localtime_r(&t, &tm))
		return;
	if (!strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm))
		return;
	csv_str(sb, buf);
}

int cdr_format(const struct cdr *c, const struct cdr_config *cfg, struct sbuf *out)
{
	csv_str(out, c->accountcode);
	sbuf_append(out, ",", 1);
	csv_str(out, c->src);
	sbuf_append(out, ",", 1);
	csv_str(out, c->dst);
	sbuf_append(out, ",", 1);
	csv_str(out, c->dcontext);
	sbuf_append(out, ",", 1);
	csv_str(out, c->clid);
	sbuf_append(out, ",", 1);
	csv_str(out, c->channel);
	sbuf_append(out, ",", 1);
	csv_str(out, c->dstchannel);
	sbuf_append(out, ",", 1);
	csv_str(out, c->lastapp);
	sbuf_append(out, ",", 1);
	csv_str(out, c->lastdata);
	sbuf_append(out, ",", 1);
	csv_time(out, &c->start, cfg->usegmtime);
	sbuf_append(out, ",", 1);
	csv_time(out, &c->answer, cfg->usegmtime);
	sbuf_append(out, ",", 1);
	csv_time(out, &c->end, cfg->usegmtime);
	sbuf_printf(out, ",%ld,%ld,", c->duration, c->billsec);
	csv_str(out, cdr_disposition_str(c->disposition));
	sbuf_append(out, ",", 1);
	csv_str(out, cdr_amaflags_str(c->amaflags));
	if (cfg->loguniqueid) {
		sbuf_append(out, ",", 1);
		csv_str(out, c->uniqueid);
	}
	if (cfg->loguserfield) {
		sbuf_append(out, ",", 1);
		csv_str(out, c->userfield);
	}
	if (cfg->newcdrcolumns) {
		sbuf_append(out, ",", 1);
		csv_str(out, c->peeraccount);
		sbuf_append(out, ",", 1);
		csv_str(out, c->linkedid);
		sbuf_printf(out, ",%d", c->sequence);
	}
	sbuf_append(out, "\n", 1);
	return sbuf_err(out) ? ENOMEM : 0;
}

static void log_fail(const char *path, const char *why)
{
	char qp[PATH_MAX + 8], qw[128];

	log_event(LOG_ERROR, "cdr_write_failed", "path=%s error=%s",
		  log_q(qp, sizeof(qp), path, strlen(path)),
		  log_q(qw, sizeof(qw), why, strlen(why)));
}

/* mkdir -p, for the log directory and cdr-csv below it. */
static int make_dirs(char *path)
{
	struct stat st;

	for (char *s = path + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(path, 0755) && errno != EEXIST) {
			int err = errno;

			*s = c;
			return err;
		}
		*s = c;
		if (!c)
			break;
	}
	if (stat(path, &st))
		return errno;
	return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

static int append_line(const char *path, const struct sbuf *line)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		err = errno;
		log_fail(path, strerror(err));
		return err;
	}
	do {
		n = write(fd, line->p, line->len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		err = errno;
	else if ((size_t)n != line->len)
		err = EIO;      /* disk full mid-line; no retry, it would split */
	if (close(fd) && !err)
		err = errno;
	if (err)
		log_fail(path, strerror(err));
	return err;
}

int cdr_write(const struct cdr_config *cfg, const char *astlogdir, const struct cdr *c)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *acc = c->accountcode;
	struct sbuf line;
	int n, err, aerr;

	if (!cfg->enabled || !cfg->csv)
		return 0;
	if (!astlogdir || !*astlogdir)
		astlogdir = CDR_DEFAULT_LOGDIR;
	sbuf_init(&line);
	err = cdr_format(c, cfg, &line);
	if (err)
		goto out;
	n = snprintf(dir, sizeof(dir), "%s/%s", astlogdir, CSV_DIR);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		err = ENAMETOOLONG;
		log_fail(astlogdir, strerror(err));
		goto out;
	}
	n = snprintf(path, sizeof(path), "%s/%s", dir, CSV_MASTER);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		err = ENAMETOOLONG;
		log_fail(dir, strerror(err));
		goto out;
	}
	err = make_dirs(dir);
	if (err) {
		log_fail(dir, strerror(err));
		goto out;
	}
	err = append_line(path, &line);

	if (!cfg->accountlogs || !acc || !*acc)
		goto out;
	/* The account code names a file: nothing that leaves the directory
	 * or hides the file. */
	if (strchr(acc, '/') || acc[0] == '.') {
		char qa[256];

		log_event(LOG_WARN, "cdr_account_insecure", "accountcode=%s",
			  log_q(qa, sizeof(qa), acc, strlen(acc)));
		aerr = EINVAL;
	} else {
		n = snprintf(path, sizeof(path), "%s/%s.csv", dir, acc);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			aerr = ENAMETOOLONG;
			log_fail(dir, strerror(aerr));
		} else {
			aerr = append_line(path, &line);
		}
	}
	if (!err)
		err = aerr;
out:
	sbuf_free(&line);
	return err;
}

static void kv(struct sbuf *sb, const char *key, const char *val)
{
	char q[256];

	if (!val)
		val = "";
	sbuf_printf(sb, "%s%s=%s", sb->len ? " " : "", key,
		    log_q(q, sizeof(q), val, strlen(val)));
}

int cdr_log_line(const struct cdr *c, struct sbuf *out)
{
	kv(out, "uniqueid", c->uniqueid);
	kv(out, "channel", c->channel);
	kv(out, "dstchannel", c->dstchannel);
	kv(out, "src", c->src);
	kv(out, "dst", c->dst);
	kv(out, "dcontext", c->dcontext);
	kv(out, "clid", c->clid);
	kv(out, "lastapp", c->lastapp);
	kv(out, "disposition", cdr_disposition_str(c->disposition));
	sbuf_printf(out, " duration=%ld billsec=%ld", c->duration, c->billsec);
	if (c->accountcode && *c->accountcode)
		kv(out, "accountcode", c->accountcode);
	return sbuf_err(out) ? ENOMEM : 0;
}

void cdr_log(const struct cdr *c)
{
	struct sbuf sb;

	if (!log_enabled(LOG_INFO))
		return;
	sbuf_init(&sb);
	if (!cdr_log_line(c, &sb))
		log_event(LOG_INFO, "cdr", "%s", sbuf_cstr(&sb));
	sbuf_free(&sb);
}
