/*
 * test_cdr.c - Asterisk CSV call detail records (src/pbx/cdr.c): exact
 * lines as cdr_csv writes them, cdr.conf parsing, and the files on disk.
 *
 * Each test works in a fresh temporary directory; TZ is set explicitly
 * wherever local time shows in a line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/astconf.h"
#include "config/cdrconf.h"
#include "pbx/cdr.h"
#include "util/log.h"

#define T0 1700000000           /* 2023-11-14 22:13:20 UTC */

struct fx {
	char dir[64];
	char logdir[128];
	struct diag diag;
	struct astconf *ac;
	struct cdr_config cfg;
	struct sbuf sb;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void set_tz(const char *tz)
{
	assert_int_equal(setenv("TZ", tz, 1), 0);
	tzset();
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-cdr-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->logdir, sizeof(fx->logdir), "%s/var/log/asterisk", fx->dir);
	diag_init(&fx->diag);
	cdr_config_init(&fx->cfg);
	sbuf_init(&fx->sb);
	set_tz("UTC0");
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	astconf_free(fx->ac);
	diag_free(&fx->diag);
	sbuf_free(&fx->sb);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static struct timeval tv(time_t s, long us)
{
	struct timeval t = {.tv_sec = s, .tv_usec = us};

	return t;
}

static struct cdr answered(void)
{
	struct cdr c = {
		.src = "1001",
		.dst = "1002",
		.dcontext = "internal",
		.clid = "\"Alice\" <1001>",
		.channel = "PJSIP/alice-00000001",
		.dstchannel = "PJSIP/bob-00000002",
		.lastapp = "Dial",
		.lastdata = "PJSIP/bob,30",
		.start = tv(T0, 0),
		.answer = tv(T0 + 3, 0),
		.end = tv(T0 + 65, 500000),
		.duration = 65,
		.billsec = 62,
		.disposition = CDR_ANSWERED,
		.uniqueid = "1700000000.1",
		.userfield = "",
	};

	return c;
}

static const char *fmt(struct fx *fx, const struct cdr *c)
{
	sbuf_reset(&fx->sb);
	assert_int_equal(cdr_format(c, &fx->cfg, &fx->sb), 0);
	return sbuf_cstr(&fx->sb);
}

static void test_answered(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();

	assert_string_equal(fmt(fx, &c),
		"\"\",\"1001\",\"1002\",\"internal\",\"\"\"Alice\"\" <1001>\","
		"\"PJSIP/alice-00000001\",\"PJSIP/bob-00000002\",\"Dial\",\"PJSIP/bob,30\","
		"\"2023-11-14 22:13:20\",\"2023-11-14 22:13:23\",\"2023-11-14 22:14:25\","
		"65,62,\"ANSWERED\",\"DOCUMENTATION\"\n");

	fx->cfg.loguniqueid = true;
	c.accountcode = "acme";
	assert_string_equal(fmt(fx, &c),
		"\"acme\",\"1001\",\"1002\",\"internal\",\"\"\"Alice\"\" <1001>\","
		"\"PJSIP/alice-00000001\",\"PJSIP/bob-00000002\",\"Dial\",\"PJSIP/bob,30\","
		"\"2023-11-14 22:13:20\",\"2023-11-14 22:13:23\",\"2023-11-14 22:14:25\","
		"65,62,\"ANSWERED\",\"DOCUMENTATION\",\"1700000000.1\"\n");
}

/* An unanswered call has an empty, unquoted answer time. */
static void test_no_answer(void **state)
{
	struct fx *fx = *state;
	struct cdr c = {
		.src = "1001",
		.dst = "1003",
		.dcontext = "internal",
		.clid = "\"Alice\" <1001>",
		.channel = "PJSIP/alice-00000003",
		.dstchannel = "PJSIP/carol-00000004",
		.lastapp = "Dial",
		.lastdata = "PJSIP/carol,20",
		.start = tv(T0, 250000),
		.end = tv(T0 + 20, 300000),
		.duration = 20,
		.disposition = CDR_NOANSWER,
		.uniqueid = "1700000000.3",
	};

	fx->cfg.loguniqueid = true;
	assert_string_equal(fmt(fx, &c),
		"\"\",\"1001\",\"1003\",\"internal\",\"\"\"Alice\"\" <1001>\","
		"\"PJSIP/alice-00000003\",\"PJSIP/carol-00000004\",\"Dial\",\"PJSIP/carol,20\","
		"\"2023-11-14 22:13:20\",,\"2023-11-14 22:13:40\","
		"20,0,\"NO ANSWER\",\"DOCUMENTATION\",\"1700000000.3\"\n");
}

/* Busy, with the user field, billing AMA flag and the post-1.8 columns;
 * NULL strings are empty fields. */
static void test_busy_all_columns(void **state)
{
	struct fx *fx = *state;
	struct cdr c = {
		.src = "1001",
		.dst = "1004",
		.dcontext = "internal",
		.channel = "PJSIP/alice-00000005",
		.lastapp = "Dial",
		.start = tv(T0, 0),
		.end = tv(T0 + 2, 0),
		.duration = 2,
		.disposition = CDR_BUSY,
		.amaflags = CDR_AMA_BILLING,
		.uniqueid = "1700000000.5",
		.userfield = "vip",
		.peeraccount = "peer",
		.linkedid = "1700000000.5",
		.sequence = 7,
	};

	fx->cfg.loguniqueid = true;
	fx->cfg.loguserfield = true;
	fx->cfg.newcdrcolumns = true;
	assert_string_equal(fmt(fx, &c),
		"\"\",\"1001\",\"1004\",\"internal\",\"\",\"PJSIP/alice-00000005\",\"\","
		"\"Dial\",\"\",\"2023-11-14 22:13:20\",,\"2023-11-14 22:13:22\","
		"2,0,\"BUSY\",\"BILLING\",\"1700000000.5\",\"vip\",\"peer\","
		"\"1700000000.5\",7\n");

	/* userfield without uniqueid: only the enabled columns. */
	fx->cfg.loguniqueid = false;
	fx->cfg.newcdrcolumns = false;
	c.disposition = CDR_FAILED;
	c.amaflags = CDR_AMA_OMIT;
	assert_string_equal(fmt(fx, &c),
		"\"\",\"1001\",\"1004\",\"internal\",\"\",\"PJSIP/alice-00000005\",\"\","
		"\"Dial\",\"\",\"2023-11-14 22:13:20\",,\"2023-11-14 22:13:22\","
		"2,0,\"FAILED\",\"OMIT\",\"vip\"\n");

	/* Nothing at all: sixteen fields, no time. */
	memset(&c, 0, sizeof(c));
	fx->cfg.loguserfield = false;
	assert_string_equal(fmt(fx, &c),
		"\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",,,,0,0,"
		"\"NO ANSWER\",\"DOCUMENTATION\"\n");
}

/* Commas stay inside quotes, quotes are doubled, a line break would split
 * the record and becomes a space. */
static void test_quoting(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();

	c.clid = "\"Smith, \"J\" Jr\" <100>";
	c.lastdata = "a\"\"b,c\r\nd\ne";
	c.src = "\"";
	c.dst = ",";
	assert_string_equal(fmt(fx, &c),
		"\"\",\"\"\"\",\",\",\"internal\",\"\"\"Smith, \"\"J\"\" Jr\"\" <100>\","
		"\"PJSIP/alice-00000001\",\"PJSIP/bob-00000002\",\"Dial\","
		"\"a\"\"\"\"b,c  d e\","
		"\"2023-11-14 22:13:20\",\"2023-11-14 22:13:23\",\"2023-11-14 22:14:25\","
		"65,62,\"ANSWERED\",\"DOCUMENTATION\"\n");
	assert_null(strchr(sbuf_cstr(&fx->sb), '\r'));
	assert_ptr_equal(strchr(sbuf_cstr(&fx->sb), '\n'),
			 sbuf_cstr(&fx->sb) + fx->sb.len - 1);
}

/* Local time by default, UTC with usegmtime, whatever TZ says. */
static void test_gmtime_vs_localtime(void **state)
{
	struct fx *fx = *state;
	struct cdr c = {
		.start = tv(T0, 0),
		.answer = tv(T0 + 3, 0),
		.end = tv(T0 + 65, 0),
	};
	static const char tail[] = "0,0,\"NO ANSWER\",\"DOCUMENTATION\"\n";
	char want[256];

	set_tz("KVT-2");
	snprintf(want, sizeof(want), "\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\","
		 "\"2023-11-15 00:13:20\",\"2023-11-15 00:13:23\",\"2023-11-15 00:14:25\",%s",
		 tail);
	assert_string_equal(fmt(fx, &c), want);

	fx->cfg.usegmtime = true;
	snprintf(want, sizeof(want), "\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\","
		 "\"2023-11-14 22:13:20\",\"2023-11-14 22:13:23\",\"2023-11-14 22:14:25\",%s",
		 tail);
	assert_string_equal(fmt(fx, &c), want);

	/* Daylight saving: a July call in Central Europe is UTC+2, a
	 * November one UTC+1. */
	fx->cfg.usegmtime = false;
	set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
	c.start = tv(1689000000, 0);    /* 2023-07-10 14:40:00 UTC */
	c.answer = tv(0, 0);
	c.end = tv(T0, 0);
	snprintf(want, sizeof(want), "\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\","
		 "\"2023-07-10 16:40:00\",,\"2023-11-14 23:13:20\",%s", tail);
	assert_string_equal(fmt(fx, &c), want);
	set_tz("UTC0");
}

static void test_strings(void **state)
{
	assert_string_equal(cdr_disposition_str(CDR_NOANSWER), "NO ANSWER");
	assert_string_equal(cdr_disposition_str(CDR_FAILED), "FAILED");
	assert_string_equal(cdr_disposition_str(CDR_BUSY), "BUSY");
	assert_string_equal(cdr_disposition_str(CDR_ANSWERED), "ANSWERED");
	assert_string_equal(cdr_disposition_str(CDR_CONGESTION), "CONGESTION");
	assert_string_equal(cdr_disposition_str((enum cdr_disposition)42), "UNKNOWN");
	assert_string_equal(cdr_amaflags_str(CDR_AMA_DOCUMENTATION), "DOCUMENTATION");
	assert_string_equal(cdr_amaflags_str(CDR_AMA_BILLING), "BILLING");
	assert_string_equal(cdr_amaflags_str(CDR_AMA_OMIT), "OMIT");
	assert_string_equal(cdr_amaflags_str((enum cdr_amaflags)42), "Unknown");
}

/* Whole seconds as Asterisk counts them; initiatedseconds rounds billsec
 * at the half second. */
static void test_durations(void **state)
{
	struct fx *fx = *state;
	struct cdr c = {
		.start = tv(T0, 900500),
		.answer = tv(T0 + 5, 600000),
		.end = tv(T0 + 65, 100000),
	};

	cdr_set_durations(&c, &fx->cfg);
	assert_int_equal(c.duration, 64);       /* 64.1995 s */
	assert_int_equal(c.billsec, 59);        /* 59.5 s */
	fx->cfg.initiatedseconds = true;
	cdr_set_durations(&c, &fx->cfg);
	assert_int_equal(c.duration, 64);
	assert_int_equal(c.billsec, 60);
	c.end = tv(T0 + 65, 99000);             /* 59.499 s */
	cdr_set_durations(&c, &fx->cfg);
	assert_int_equal(c.billsec, 59);

	/* 1499.5 ms across a second boundary is 1499 ms, not 1500, so it
	 * does not round up. */
	c.start = tv(T0, 0);
	c.answer = tv(T0, 900500);
	c.end = tv(T0 + 2, 400000);
	cdr_set_durations(&c, &fx->cfg);
	assert_int_equal(c.duration, 2);
	assert_int_equal(c.billsec, 1);

	/* No answer, no billable time. */
	c.answer = tv(0, 0);
	cdr_set_durations(&c, &fx->cfg);
	assert_int_equal(c.billsec, 0);

	/* A clock stepped back gives zero, not a negative duration. */
	c.start = tv(T0 + 10, 0);
	c.answer = tv(T0 + 12, 0);
	c.end = tv(T0, 0);
	cdr_set_durations(&c, NULL);
	assert_int_equal(c.duration, 0);
	assert_int_equal(c.billsec, 0);

	/* Still open: measured up to now. */
	c.start = tv(time(NULL) - 100, 0);
	c.answer = tv(time(NULL) - 50, 0);
	c.end = tv(0, 0);
	cdr_set_durations(&c, NULL);
	assert_true(c.duration >= 100);
	assert_true(c.billsec >= 50);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static void csv_path(struct fx *fx, const char *file, char *path, size_t size)
{
	snprintf(path, size, "%s/cdr-csv/%s", fx->logdir, file);
}

/* The log directory does not exist yet: it is created, and each record
 * is one more line, in Master.csv and in the account's file. */
static void test_write_files(void **state)
{
	struct fx *fx = *state;
	struct cdr a = answered(), b = answered();
	char path[256], want[2048];
	char *got;
	struct stat st;

	fx->cfg.csv = true;
	a.accountcode = "acme";
	b.src = "2002";
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &a), 0);
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &b), 0);

	snprintf(want, sizeof(want), "%s", fmt(fx, &a));
	snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s", fmt(fx, &b));
	csv_path(fx, "Master.csv", path, sizeof(path));
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	{
		mode_t mask = umask(0);

		umask(mask);
		assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
	}

	csv_path(fx, "acme.csv", path, sizeof(path));
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_string_equal(got, fmt(fx, &a));
	free(got);

	/* accountlogs=no: Master.csv only. */
	fx->cfg.accountlogs = false;
	a.accountcode = "other";
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &a), 0);
	csv_path(fx, "other.csv", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	csv_path(fx, "Master.csv", path, sizeof(path));
	got = slurp(path, NULL);
	assert_non_null(strstr(got, "\"other\",\"1001\""));
	free(got);
}

/* An account code is a file name only when it is a plain one. */
static void test_write_insecure_account(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();
	char path[256];
	char *got;

	fx->cfg.csv = true;
	c.accountcode = "../evil";
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), EINVAL);
	c.accountcode = ".hidden";
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), EINVAL);
	snprintf(path, sizeof(path), "%s/evil.csv", fx->logdir);
	assert_int_equal(access(path, F_OK), -1);
	csv_path(fx, ".hidden.csv", path, sizeof(path));
	assert_int_equal(access(path, F_OK), -1);
	/* Master.csv still has both. */
	csv_path(fx, "Master.csv", path, sizeof(path));
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_non_null(strstr(got, "\"../evil\""));
	assert_non_null(strstr(got, "\".hidden\""));
	free(got);
}

/* Disabled, or no [csv] section: nothing is written, nothing created. */
static void test_write_disabled(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();

	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), 0);
	fx->cfg.csv = true;
	fx->cfg.enabled = false;
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), 0);
	assert_int_equal(access(fx->logdir, F_OK), -1);
}

static void mkdir_p(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(path, 0755);
			*s = '/';
		}
	}
	assert_int_equal(mkdir(path, 0755), 0);
}

static void test_write_errors(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();
	char path[256], longdir[PATH_MAX + 16];
	FILE *f;
	int nullfd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	assert_true(nullfd >= 0);
	fx->cfg.csv = true;
	log_set_fd(nullfd);

	/* A file where a directory should be. */
	snprintf(path, sizeof(path), "%s/file", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(cdr_write(&fx->cfg, path, &c), ENOTDIR);
	snprintf(path, sizeof(path), "%s/file/sub", fx->dir);
	assert_int_equal(cdr_write(&fx->cfg, path, &c), ENOTDIR);

	/* Master.csv is a directory. */
	csv_path(fx, "Master.csv", path, sizeof(path));
	mkdir_p(path);
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), EISDIR);

	/* But the account file is still written, and the first error is
	 * the one returned. */
	c.accountcode = "acme";
	assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), EISDIR);
	csv_path(fx, "acme.csv", path, sizeof(path));
	assert_int_equal(access(path, F_OK), 0);

	memset(longdir, 'x', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	assert_int_equal(cdr_write(&fx->cfg, longdir, &c), ENAMETOOLONG);

	/* A directory we may not write to.  Root may write anywhere, so as
	 * root the write runs in a child that drops to nobody. */
	{
		char ro[128];
		pid_t pid;
		int status;

		snprintf(ro, sizeof(ro), "%s/ro", fx->dir);
		assert_int_equal(mkdir(ro, 0755), 0);
		assert_int_equal(chmod(ro, 0555), 0);
		assert_int_equal(chmod(fx->dir, 0755), 0);
		snprintf(path, sizeof(path), "%s/log", ro);
		if (geteuid() != 0) {
			assert_int_equal(cdr_write(&fx->cfg, path, &c), EACCES);
		} else {
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0) {
				if (setgid(65534) || setuid(65534))
					_exit(3);
				_exit(cdr_write(&fx->cfg, path, &c) == EACCES ? 0 : 1);
			}
			assert_int_equal(waitpid(pid, &status, 0), pid);
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
		}
		assert_int_equal(access(path, F_OK), -1);
		chmod(ro, 0755);
	}
	log_set_fd(STDOUT_FILENO);
	close(nullfd);
}

/* Two processes appending at once: every line is whole. */
static void test_concurrent_writers(void **state)
{
	struct fx *fx = *state;
	enum { N = 300 };
	char big[2][3000];
	char *want[2], *got, *line;
	char path[256];
	size_t len, counts[2] = {0, 0};
	pid_t pid[2];

	fx->cfg.csv = true;
	for (int w = 0; w < 2; w++) {
		struct cdr c = answered();

		/* Longer than stdio's and the pipe's atomic sizes. */
		memset(big[w], w ? 'b' : 'a', sizeof(big[w]) - 1);
		big[w][sizeof(big[w]) - 1] = '\0';
		c.lastdata = big[w];
		want[w] = strdup(fmt(fx, &c));
		assert_non_null(want[w]);
	}
	/* Create the directory first, so both race on the file only. */
	{
		struct cdr c = answered();

		assert_int_equal(cdr_write(&fx->cfg, fx->logdir, &c), 0);
	}
	for (int w = 0; w < 2; w++) {
		pid[w] = fork();
		assert_true(pid[w] >= 0);
		if (pid[w] == 0) {
			struct cdr c = answered();
			int bad = 0;

			c.lastdata = big[w];
			for (int i = 0; i < N; i++)
				bad |= cdr_write(&fx->cfg, fx->logdir, &c);
			_exit(bad ? 1 : 0);
		}
	}
	for (int w = 0; w < 2; w++) {
		int status;

		assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	csv_path(fx, "Master.csv", path, sizeof(path));
	got = slurp(path, &len);
	assert_non_null(got);
	line = strchr(got, '\n') + 1;   /* the first, directory-making one */
	while (*line) {
		char *nl = strchr(line, '\n');
		size_t n;

		assert_non_null(nl);
		n = (size_t)(nl - line) + 1;
		if (n == strlen(want[0]) && !memcmp(line, want[0], n))
			counts[0]++;
		else if (n == strlen(want[1]) && !memcmp(line, want[1], n))
			counts[1]++;
		else
			fail_msg("torn line at offset %zu", (size_t)(line - got));
		line = nl + 1;
	}
	assert_int_equal(counts[0], N);
	assert_int_equal(counts[1], N);
	free(got);
	free(want[0]);
	free(want[1]);
}

static void put_conf(struct fx *fx, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cdr.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	astconf_free(fx->ac);
	fx->ac = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
	assert_int_equal(astconf_load(&fx->ac, fx->dir, "cdr.conf", &fx->diag), ASTCONF_OK);
}

static const char *msgs(struct fx *fx)
{
	static char out[4096];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(out); i++) {
		char line[512];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	return out;
}

static void test_config_defaults(void **state)
{
	struct fx *fx = *state;
	struct cdr_config cfg;

	memset(&cfg, 0xA5, sizeof(cfg));
	assert_int_equal(cdr_config_parse(NULL, &cfg, &fx->diag), 0);
	assert_true(cfg.enabled);
	assert_false(cfg.csv);
	assert_true(cfg.accountlogs);
	assert_false(cfg.usegmtime);
	assert_false(cfg.loguniqueid);
	assert_false(cfg.loguserfield);
	assert_false(cfg.newcdrcolumns);
	assert_false(cfg.unanswered);
	assert_false(cfg.congestion);
	assert_false(cfg.initiatedseconds);
	assert_int_equal(fx->diag.n, 0);

	/* The sample's [general] alone: no CSV backend. */
	put_conf(fx, "[general]\n;enable=yes\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, &fx->diag), 0);
	assert_true(cfg.enabled);
	assert_false(cfg.csv);
}

/* Asterisk's cdr.conf.sample [csv] section, and [general] options. */
static void test_config_sample(void **state)
{
	struct fx *fx = *state;
	struct cdr_config cfg;

	put_conf(fx,
		 "[general]\n"
		 "enable=yes\n"
		 "unanswered = yes\n"
		 "congestion=on\n"
		 "initiatedseconds=1\n"
		 "\n"
		 "[csv]\n"
		 "usegmtime=yes    ; log date/time in GMT.  Default is \"no\"\n"
		 "loguniqueid=yes  ; log uniqueid.  Default is \"no\"\n"
		 "loguserfield=yes ; log user field.  Default is \"no\"\n"
		 "accountlogs=no   ; create separate log file for each account code.\n"
		 "newcdrcolumns=yes\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, &fx->diag), 0);
	assert_string_equal(msgs(fx), "");
	assert_true(cfg.enabled);
	assert_true(cfg.unanswered);
	assert_true(cfg.congestion);
	assert_true(cfg.initiatedseconds);
	assert_true(cfg.csv);
	assert_true(cfg.usegmtime);
	assert_true(cfg.loguniqueid);
	assert_true(cfg.loguserfield);
	assert_false(cfg.accountlogs);
	assert_true(cfg.newcdrcolumns);

	put_conf(fx, "[general]\nenable=no\n[csv]\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, &fx->diag), 0);
	assert_false(cfg.enabled);
	assert_true(cfg.csv);
	assert_true(cfg.accountlogs);
}

static void test_config_problems(void **state)
{
	struct fx *fx = *state;
	struct cdr_config cfg;

	put_conf(fx,
		 "[general]\n"
		 "batch=yes\n"
		 "enable=maybe\n"
		 "colour=blue\n"
		 "[csv](!)\n"
		 "usegmtime=yes\n"
		 "[csv]\n"
		 "loguniqueid=yes\n"
		 "usegmtime=sometimes\n"
		 "frobnicate=1\n"
		 "[csv]\n"
		 "loguserfield=yes\n"
		 "[radius]\n"
		 "usegmtime=yes\n"
		 "[whatever]\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, &fx->diag), EINVAL);
	assert_string_equal(msgs(fx),
		"cdr.conf:2: warning: option 'batch' is not supported yet (ignored)\n"
		"cdr.conf:3: invalid enable 'maybe' (expected yes or no)\n"
		"cdr.conf:4: unknown option 'colour' in [general]\n"
		"cdr.conf:9: invalid usegmtime 'sometimes' (expected yes or no)\n"
		"cdr.conf:10: warning: option 'frobnicate' is not supported yet (ignored)\n"
		"cdr.conf:11: warning: [csv] appears again; only the first one is used (ignored)\n"
		"cdr.conf:13: warning: CDR backend 'radius' is not supported yet (ignored)\n"
		"cdr.conf:15: warning: unknown section [whatever] (ignored)\n");
	assert_int_equal(fx->diag.errors, 3);
	/* The valid part is kept; the template is not [csv]. */
	assert_true(cfg.enabled);
	assert_true(cfg.csv);
	assert_true(cfg.loguniqueid);
	assert_false(cfg.usegmtime);
	assert_false(cfg.loguserfield);

	/* A template alone is no backend; a NULL diag is allowed. */
	put_conf(fx, "[csv](!)\nusegmtime=yes\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, NULL), 0);
	assert_false(cfg.csv);
	put_conf(fx, "[csv]\nusegmtime=perhaps\n");
	assert_int_equal(cdr_config_parse(fx->ac, &cfg, NULL), EINVAL);
}

static void test_log_line(void **state)
{
	struct fx *fx = *state;
	struct cdr c = answered();
	char path[256];
	char *got;
	int fd;

	assert_int_equal(cdr_log_line(&c, &fx->sb), 0);
	assert_string_equal(sbuf_cstr(&fx->sb),
		"uniqueid=1700000000.1 channel=PJSIP/alice-00000001 "
		"dstchannel=PJSIP/bob-00000002 src=1001 dst=1002 dcontext=internal "
		"clid=\"\\\"Alice\\\" <1001>\" lastapp=Dial disposition=ANSWERED "
		"duration=65 billsec=62");

	sbuf_reset(&fx->sb);
	c.disposition = CDR_NOANSWER;
	c.accountcode = "acme";
	c.dstchannel = NULL;
	c.clid = "x\ny";
	assert_int_equal(cdr_log_line(&c, &fx->sb), 0);
	assert_string_equal(sbuf_cstr(&fx->sb),
		"uniqueid=1700000000.1 channel=PJSIP/alice-00000001 "
		"dstchannel=\"\" src=1001 dst=1002 dcontext=internal "
		"clid=\"x\\x0ay\" lastapp=Dial disposition=\"NO ANSWER\" "
		"duration=65 billsec=62 accountcode=acme");

	snprintf(path, sizeof(path), "%s/log", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	log_set_fd(fd);
	cdr_log(&c);
	log_set_fd(STDOUT_FILENO);
	close(fd);
	got = slurp(path, NULL);
	assert_non_null(got);
	assert_non_null(strstr(got, " level=info event=cdr uniqueid=1700000000.1 "));
	assert_non_null(strstr(got, "disposition=\"NO ANSWER\" duration=65 billsec=62 "
			       "accountcode=acme\n"));
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_busy_all_columns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quoting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gmtime_vs_localtime, setup, teardown),
		cmocka_unit_test(test_strings),
		cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_insecure_account, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
