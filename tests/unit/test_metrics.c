/*
 * test_metrics.c - /metrics and /status as a scraper and a JSON parser see
 * them, and the SIP stack's per-method and per-class counters behind them.
 *
 * The Prometheus text is checked by a strict little parser (below) that
 * follows the 0.0.4 exposition format: every sample belongs to the family
 * announced just before it by both # HELP and # TYPE, names and label
 * names are valid, label values escaped, values numeric, no series twice,
 * counters named *_total, histograms complete (_bucket lines with rising
 * le bounds and non-decreasing counts up to le="+Inf", then _sum, and a
 * _count equal to the +Inf bucket).  The JSON is checked by a strict validator
 * (RFC 8259, UTF-8 included).  Both checkers are tested on bad input too,
 * so that a pass means something.  The PBX is assembled by hand from real
 * parts (SIP stack on loopback, memory state, RTP engine, call table).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ops/metrics.h"
#include "pbx/pbx.h"
#include "state/state.h"
#include "sip/stack.h"
#include "util/log.h"
#include "version.h"

#define DEADLINE_MS 8000

/* ---- a strict Prometheus text format (0.0.4) checker ---- */

#define PROM_FAMILIES 128
#define PROM_SERIES 512

struct prom_family {
	char name[128];
	char type[16];
	bool help, typed, sampled;
	/* histograms: what has been seen of _bucket, _sum, _count */
	double last_le, last_bucket, inf, count;
	bool bucketed, inf_seen, sum_seen, count_seen;
};

struct prom_series {
	char key[256];           /* name{labels} as written */
	double value;
};

struct prom {
	struct prom_family fam[PROM_FAMILIES];
	size_t nfam;
	struct prom_series series[PROM_SERIES];
	size_t nseries;
	struct prom_family *current;
	char err[256];
};

static bool name_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static bool name_char(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

/* Metric name at *p; advances *p. */
static bool prom_name(const char **p, char *out, size_t size)
{
	const char *s = *p;
	size_t n = 0;

	if (!name_start((unsigned char)*s))
		return false;
	while (name_char((unsigned char)s[n]))
		n++;
	if (n >= size)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return true;
}

static struct prom_family *prom_family(struct prom *pr, const char *name)
{
	for (size_t i = 0; i < pr->nfam; i++)
		if (!strcmp(pr->fam[i].name, name))
			return &pr->fam[i];
	return NULL;
}

static int prom_fail(struct prom *pr, size_t lineno, const char *why, const char *line)
{
	snprintf(pr->err, sizeof(pr->err), "line %zu: %s: %.120s", lineno, why, line);
	return -1;
}

/* "# HELP name text" or "# TYPE name type". */
static int prom_meta(struct prom *pr, size_t lineno, const char *line)
{
	bool help = !strncmp(line, "# HELP ", 7);
	const char *p = line + 7;
	struct prom_family *f;
	char name[128];

	if (!help && strncmp(line, "# TYPE ", 7))
		return prom_fail(pr, lineno, "comment other than HELP or TYPE", line);
	if (!prom_name(&p, name, sizeof(name)) || *p != ' ')
		return prom_fail(pr, lineno, "bad metric name", line);
	p++;
	f = prom_family(pr, name);
	if (!f) {
		if (pr->nfam == PROM_FAMILIES)
			return prom_fail(pr, lineno, "too many families", line);
		f = &pr->fam[pr->nfam++];
		snprintf(f->name, sizeof(f->name), "%s", name);
	} else if (f != pr->current || f->sampled) {
		return prom_fail(pr, lineno, "family announced twice", line);
	}
	pr->current = f;
	if (help) {
		if (f->help)
			return prom_fail(pr, lineno, "second HELP", line);
		f->help = true;
		/* Only \\ and \n are escapes in HELP text. */
		for (; *p; p++) {
			if (*p != '\\')
				continue;
			p++;
			if (*p != '\\' && *p != 'n')
				return prom_fail(pr, lineno, "bad escape in HELP", line);
		}
		return 0;
	}
	if (f->typed)
		return prom_fail(pr, lineno, "second TYPE", line);
	if (strcmp(p, "counter") && strcmp(p, "gauge") && strcmp(p, "untyped") &&
	    strcmp(p, "histogram") && strcmp(p, "summary"))
		return prom_fail(pr, lineno, "bad type", line);
	snprintf(f->type, sizeof(f->type), "%s", p);
	f->typed = true;
	return 0;
}

/* {name="value",...} at *p, advances *p past the '}'; the raw value of
 * the label le, if any, goes to le (le[0] is '\0' without one). */
static int prom_labels(struct prom *pr, size_t lineno, const char *line, const char **pp,
		       char le[32])
{
	char names[16][64];
	size_t n = 0;
	const char *p = *pp + 1;

	le[0] = '\0';
	for (;;) {
		size_t len = 0;

		if (n == 16)
			return prom_fail(pr, lineno, "too many labels", line);
		if (!isalpha((unsigned char)*p) && *p != '_')
			return prom_fail(pr, lineno, "bad label name", line);
		while (isalnum((unsigned char)p[len]) || p[len] == '_')
			len++;
		if (len >= sizeof(names[0]) || (len >= 2 && !strncmp(p, "__", 2)))
			return prom_fail(pr, lineno, "bad label name", line);
		memcpy(names[n], p, len);
		names[n][len] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!strcmp(names[i], names[n]))
				return prom_fail(pr, lineno, "label given twice", line);
		n++;
		p += len;
		if (p[0] != '=' || p[1] != '"')
			return prom_fail(pr, lineno, "expected =\"", line);
		if (!strcmp(names[n - 1], "le"))
			snprintf(le, 32, "%.*s", (int)strcspn(p + 2, "\""), p + 2);
		for (p += 2; *p != '"'; p++) {
			if (!*p || *p == '\n')
				return prom_fail(pr, lineno, "unterminated label value", line);
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return prom_fail(pr, lineno, "bad escape in label value", line);
			}
		}
		p++;
		if (*p == '}')
			break;
		if (*p != ',')
			return prom_fail(pr, lineno, "expected , or }", line);
		p++;
	}
	*pp = p + 1;
	return 0;
}

/* The histogram family a _bucket, _sum or _count sample belongs to, and
 * which of the three it is; NULL when name is none of them. */
static struct prom_family *prom_histogram(struct prom *pr, const char *name,
					  const char **suffix)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(name), k = strlen(suffixes[i]);
		char base[128];
		struct prom_family *f;

		if (n <= k || strcmp(name + n - k, suffixes[i]))
			continue;
		snprintf(base, sizeof(base), "%.*s", (int)(n - k), name);
		f = prom_family(pr, base);
		if (f && !strcmp(f->type, "histogram")) {
			*suffix = suffixes[i];
			return f;
		}
	}
	return NULL;
}

static double prom_float(const char *s, bool *ok)
{
	char *end;
	double v;

	if (!strcmp(s, "+Inf")) {
		*ok = true;
		return INFINITY;
	}
	errno = 0;
	v = strtod(s, &end);
	*ok = *s && !errno && !*end && isfinite(v);
	return v;
}

/* One sample of histogram f (suffix _bucket, _sum or _count). */
static int prom_histogram_sample(struct prom *pr, size_t lineno, const char *line,
				 struct prom_family *f, const char *suffix,
				 const char *le, double v)
{
	bool ok;

	if (!strcmp(suffix, "_bucket")) {
		double bound = prom_float(le, &ok);

		if (!*le || !ok)
			return prom_fail(pr, lineno, "bucket without a numeric le", line);
		if (f->sum_seen || f->count_seen || f->inf_seen)
			return prom_fail(pr, lineno, "bucket after +Inf, _sum or _count", line);
		if (f->bucketed && !(bound > f->last_le))
			return prom_fail(pr, lineno, "le not rising", line);
		if (f->bucketed && v < f->last_bucket)
			return prom_fail(pr, lineno, "bucket count falls", line);
		if (!(v >= 0))
			return prom_fail(pr, lineno, "negative bucket", line);
		f->bucketed = true;
		f->last_le = bound;
		f->last_bucket = v;
		if (isinf(bound)) {
			f->inf_seen = true;
			f->inf = v;
		}
		return 0;
	}
	if (*le)
		return prom_fail(pr, lineno, "le on _sum or _count", line);
	if (!f->inf_seen)
		return prom_fail(pr, lineno, "_sum or _count before le=\"+Inf\"", line);
	if (!strcmp(suffix, "_sum")) {
		if (!(v >= 0))
			return prom_fail(pr, lineno, "negative _sum", line);
		f->sum_seen = true;
		return 0;
	}
	if (v != f->inf)
		return prom_fail(pr, lineno, "_count is not the +Inf bucket", line);
	f->count_seen = true;
	f->count = v;
	return 0;
}

static int prom_sample(struct prom *pr, size_t lineno, const char *line)
{
	const char *p = line, *key_end, *suffix = NULL;
	struct prom_family *f;
	struct prom_series *s;
	char name[128], le[32] = "", *end;
	double v;

	if (!prom_name(&p, name, sizeof(name)))
		return prom_fail(pr, lineno, "bad metric name", line);
	f = prom_family(pr, name);
	if (!f)
		f = prom_histogram(pr, name, &suffix);
	else if (!strcmp(f->type, "histogram"))
		return prom_fail(pr, lineno, "histogram sample without a suffix", line);
	if (!f || !f->help || !f->typed)
		return prom_fail(pr, lineno, "sample without HELP and TYPE", line);
	if (f != pr->current)
		return prom_fail(pr, lineno, "sample away from its family", line);
	if (!strcmp(f->type, "counter") &&
	    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total")))
		return prom_fail(pr, lineno, "counter not named *_total", line);
	if (*p == '{' && prom_labels(pr, lineno, line, &p, le))
		return -1;
	key_end = p;
	if (*p != ' ')
		return prom_fail(pr, lineno, "expected a space before the value", line);
	p++;
	if (!strcmp(p, "+Inf") || !strcmp(p, "-Inf") || !strcmp(p, "NaN")) {
		v = !strcmp(p, "NaN") ? NAN : (*p == '+' ? INFINITY : -INFINITY);
	} else {
		if (!*p || isspace((unsigned char)*p))
			return prom_fail(pr, lineno, "missing value", line);
		errno = 0;
		v = strtod(p, &end);
		if (errno || *end)
			return prom_fail(pr, lineno, "value not a number", line);
	}
	if (!strcmp(f->type, "counter") && !(v >= 0))
		return prom_fail(pr, lineno, "negative counter", line);
	if (suffix && prom_histogram_sample(pr, lineno, line, f, suffix, le, v))
		return -1;
	if ((size_t)(key_end - line) >= sizeof(s->key))
		return prom_fail(pr, lineno, "series too long", line);
	for (size_t i = 0; i < pr->nseries; i++)
		if (strlen(pr->series[i].key) == (size_t)(key_end - line) &&
		    !strncmp(pr->series[i].key, line, (size_t)(key_end - line)))
			return prom_fail(pr, lineno, "series given twice", line);
	if (pr->nseries == PROM_SERIES)
		return prom_fail(pr, lineno, "too many series", line);
	s = &pr->series[pr->nseries++];
	memcpy(s->key, line, (size_t)(key_end - line));
	s->key[key_end - line] = '\0';
	s->value = v;
	f->sampled = true;
	return 0;
}

static int prom_check(struct prom *pr, const char *text)
{
	size_t lineno = 0;
	const char *p = text;

	memset(pr, 0, sizeof(*pr));
	if (!*text || text[strlen(text) - 1] != '\n') {
		snprintf(pr->err, sizeof(pr->err), "empty, or no final newline");
		return -1;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		char line[1024];
		size_t len = (size_t)(nl - p);
		int err;

		lineno++;
		if (len >= sizeof(line))
			return prom_fail(pr, lineno, "line too long", "");
		memcpy(line, p, len);
		line[len] = '\0';
		if (!len)
			err = prom_fail(pr, lineno, "empty line", line);
		else if (line[0] == '#')
			err = prom_meta(pr, lineno, line);
		else
			err = prom_sample(pr, lineno, line);
		if (err)
			return err;
		p = nl + 1;
	}
	for (size_t i = 0; i < pr->nfam; i++) {
		const struct prom_family *f = &pr->fam[i];

		if (!f->sampled || !f->help || !f->typed ||
		    (!strcmp(f->type, "histogram") && (!f->sum_seen || !f->count_seen))) {
			snprintf(pr->err, sizeof(pr->err), "family %s incomplete", f->name);
			return -1;
		}
	}
	return 0;
}

/* The value of a series, written exactly as in the text; NAN when absent. */
static double prom_value(const struct prom *pr, const char *key)
{
	for (size_t i = 0; i < pr->nseries; i++)
		if (!strcmp(pr->series[i].key, key))
			return pr->series[i].value;
	return NAN;
}

static const char *prom_type(struct prom *pr, const char *name)
{
	struct prom_family *f = prom_family(pr, name);

	return f ? f->type : "";
}

#define assert_prom_ok(pr, text) do {					\
		if (prom_check((pr), (text))) {				\
			print_error("%s\n--- text ---\n%s", (pr)->err, (text)); \
			fail();						\
		}							\
	} while (0)

#define assert_series(pr, key, want) do {				\
		double got_ = prom_value((pr), (key));			\
		if (isnan(got_) || got_ != (double)(want)) {		\
			print_error("%s: expected %g, got %g\n", (key), (double)(want), got_); \
			fail();						\
		}							\
	} while (0)

/* ---- a strict JSON validator (RFC 8259) ---- */

struct json {
	const char *p;
	unsigned depth;
};

static void json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static bool json_value(struct json *j);

static bool json_utf8(struct json *j)
{
	const unsigned char *s = (const unsigned char *)j->p;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return false;
	if (s[0] == 0xe0)
		lo = 0xa0;
	if (s[0] == 0xed)
		hi = 0x9f;
	if (s[0] == 0xf0)
		lo = 0x90;
	if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return false;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return false;
	j->p += n;
	return true;
}

static bool json_string(struct json *j)
{
	if (*j->p != '"')
		return false;
	j->p++;
	while (*j->p != '"') {
		unsigned char c = (unsigned char)*j->p;

		if (c < 0x20)
			return false;
		if (c >= 0x80) {
			if (!json_utf8(j))
				return false;
			continue;
		}
		j->p++;
		if (c != '\\')
			continue;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (!isxdigit((unsigned char)*j->p))
					return false;
		} else if (!strchr("\"\\/bfnrt", c) || !c) {
			return false;
		}
	}
	j->p++;
	return true;
}

static bool json_number(struct json *j)
{
	const char *p = j->p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return false;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	j->p = p;
	return true;
}

static bool json_container(struct json *j, char close)
{
	bool object = close == '}';

	if (++j->depth > 64)
		return false;
	j->p++;
	json_ws(j);
	if (*j->p == close) {
		j->p++;
		j->depth--;
		return true;
	}
	for (;;) {
		json_ws(j);
		if (object) {
			if (!json_string(j))
				return false;
			json_ws(j);
			if (*j->p++ != ':')
				return false;
		}
		if (!json_value(j))
			return false;
		json_ws(j);
		if (*j->p == close)
			break;
		if (*j->p++ != ',')
			return false;
	}
	j->p++;
	j->depth--;
	return true;
}

static bool json_value(struct json *j)
{
	json_ws(j);
	switch (*j->p) {
	case '{':
		return json_container(j, '}');
	case '[':
		return json_container(j, ']');
	case '"':
		return json_string(j);
	case 't':
		return !strncmp(j->p, "true", 4) && (j->p += 4);
	case 'f':
		return !strncmp(j->p, "false", 5) && (j->p += 5);
	case 'n':
		return !strncmp(j->p, "null", 4) && (j->p += 4);
	default:
		return json_number(j);
	}
}

static bool json_valid(const char *text)
{
	struct json j = { text, 0 };

	if (!json_value(&j))
		return false;
	json_ws(&j);
	return *j.p == '\0';
}

/* ---- the checkers refuse what they must ---- */

static void test_prom_checker(void **state)
{
	static const char *const bad[] = {
		"",
		"# HELP a_total x\n# TYPE a_total counter\na_total 1",            /* no final newline */
		"a 1\n",                                                           /* no HELP/TYPE */
		"# HELP a x\na 1\n",                                               /* no TYPE */
		"# TYPE a gauge\na 1\n",                                           /* no HELP */
		"# HELP a x\n# TYPE a counter\na 1\n",                             /* counter name */
		"# HELP a x\n# TYPE a gauge\na one\n",                             /* value */
		"# HELP a x\n# TYPE a gauge\na\n",                                 /* no value */
		"# HELP a x\n# TYPE a gauge\na{l=\"x\\q\"} 1\n",                   /* escape */
		"# HELP a x\n# TYPE a gauge\na{l=\"x} 1\n",                        /* unterminated */
		"# HELP a x\n# TYPE a gauge\na{1l=\"x\"} 1\n",                     /* label name */
		"# HELP a x\n# TYPE a gauge\na{l=\"x\",l=\"y\"} 1\n",              /* label twice */
		"# HELP a x\n# TYPE a gauge\na{l=\"x\",} 1\n",                     /* trailing comma */
		"# HELP a x\n# TYPE a gauge\na{l=\"x\"} 1\na{l=\"x\"} 2\n",        /* series twice */
		"# HELP a x\n# TYPE a gauge\n# HELP b x\n# TYPE b gauge\nb 1\na 1\n", /* away */
		"# HELP a x\n# TYPE a gauge\na 1\n# HELP a y\n",                   /* announced twice */
		"# HELP a x\n# TYPE a gauge\n\na 1\n",                             /* empty line */
		"# HELP a x\n# TYPE a summery\na 1\n",                             /* type */
		"# HELP 9a x\n# TYPE 9a gauge\n9a 1\n",                            /* metric name */
		"# HELP a x\n# TYPE a gauge\n",                                    /* no sample */
		"# HELP a_total x\n# TYPE a_total counter\na_total -1\n",          /* negative */
		"# a comment\n",                                                   /* comment */
		/* histograms */
		"# HELP h x\n# TYPE h histogram\nh 1\n",                           /* no suffix */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", /* no +Inf */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",      /* no _sum */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",        /* no _count */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", /* count */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
		"h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",                   /* le falls */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
		"h_sum 1\nh_count 1\n",                                          /* count falls */
		"# HELP h x\n# TYPE h histogram\nh_bucket 1\nh_bucket{le=\"+Inf\"} 1\n"
		"h_sum 1\nh_count 1\n",                                          /* no le */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"one\"} 1\nh_bucket{le=\"+Inf\"} 1\n"
		"h_sum 1\nh_count 1\n",                                          /* le not a number */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum -1\nh_count 1\n", /* sum */
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
		"h_bucket{le=\"5\"} 1\n",                                        /* bucket after */
		"# HELP g x\n# TYPE g gauge\ng_bucket{le=\"+Inf\"} 1\n",            /* not a histogram */
	};
	static const char good[] =
		"# HELP a_total What \\\\ it \\n counts.\n# TYPE a_total counter\n"
		"a_total{x=\"q\\\"\\\\\\n\",y=\"\"} 1\na_total{x=\"r\"} 2.5e3\n"
		"# HELP b Level.\n# TYPE b gauge\nb -3\nb{k=\"v\"} +Inf\n"
		"# HELP h Took.\n# TYPE h histogram\nh_bucket{le=\"0.001\"} 1\n"
		"h_bucket{le=\"1e-2\"} 1\nh_bucket{le=\"+Inf\"} 3\nh_sum 2.5\nh_count 3\n";
	struct prom *pr = malloc(sizeof(*pr));

	assert_non_null(pr);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!prom_check(pr, bad[i])) {
			print_error("accepted bad text %zu:\n%s\n", i, bad[i]);
			fail();
		}
	}
	assert_prom_ok(pr, good);
	assert_series(pr, "a_total{x=\"r\"}", 2500);
	assert_series(pr, "b", -3);
	assert_series(pr, "h_bucket{le=\"1e-2\"}", 1);
	assert_series(pr, "h_count", 3);
	free(pr);
}

static void test_json_validator(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "[01]", "[1.]", "[.5]", "\"a",
		"\"\x01\"", "\"\\x\"", "\"\\u12G4\"", "\"\xff\"", "\"\xc0\x80\"",
		"\"\xed\xa0\x80\"", "{} {}", "[tru]", "{'a':1}", "[1e]", "[NaN]",
	};
	static const char *const good[] = {
		"{}", "[]", "0", "-1.5e+10", "\"\\u00e9\\n\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		" {\"a\":[1,{\"b\":null},true,false,\"\"]} ",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (json_valid(bad[i])) {
			print_error("accepted bad JSON %zu: %s\n", i, bad[i]);
			fail();
		}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!json_valid(good[i])) {
			print_error("refused good JSON %zu: %s\n", i, good[i]);
			fail();
		}
}

/* ---- escaping ---- */

static void test_escaping(void **state)
{
	static const struct {
		const char *in, *json;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "", "\"\"" },
		{ "q\"b\\s/", "\"q\\\"b\\\\s/\"" },
		{ "tab\tnl\ncr\r\x01\x1f\x7f", "\"tab\\u0009nl\\u000acr\\u000d\\u0001\\u001f\x7f\"" },
		{ "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" },
		{ "a\xff" "b", "\"a\\ufffdb\"" },
		{ "\xc0\x80", "\"\\ufffd\\ufffd\"" },              /* overlong NUL */
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },   /* surrogate */
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },  /* past U+10FFFF */
		{ "end\xe2\x82", "\"end\\ufffd\\ufffd\"" },         /* truncated */
	};
	struct sbuf sb;

	sbuf_init(&sb);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sbuf_reset(&sb);
		status_json_string(&sb, cases[i].in);
		assert_false(sbuf_err(&sb));
		assert_string_equal(sbuf_cstr(&sb), cases[i].json);
		assert_true(json_valid(sbuf_cstr(&sb)));
	}
	sbuf_reset(&sb);
	status_json_string(&sb, NULL);
	assert_string_equal(sbuf_cstr(&sb), "\"\"");

	sbuf_reset(&sb);
	metrics_label_escape(&sb, "a\"b\\c\nd\te");
	assert_string_equal(sbuf_cstr(&sb), "a\\\"b\\\\c\\nd\te");
	sbuf_reset(&sb);
	metrics_label_escape(&sb, NULL);
	assert_string_equal(sbuf_cstr(&sb), "");
	sbuf_free(&sb);
}

/* ---- metrics from a PBX with nothing built: every family, zeros ---- */

static const char *const families[][2] = {
	{ "kubevox_registrations", "gauge" },
	{ "kubevox_registration_attempts_total", "counter" },
	{ "kubevox_calls_active", "gauge" },
	{ "kubevox_calls_total", "counter" },
	{ "kubevox_calls_started_total", "counter" },
	{ "kubevox_calls_rejected_total", "counter" },
	{ "kubevox_rtp_packets_relayed_total", "counter" },
	{ "kubevox_rtp_bytes_relayed_total", "counter" },
	{ "kubevox_rtp_packets_dropped_total", "counter" },
	{ "kubevox_rtp_ports_in_use", "gauge" },
	{ "kubevox_rtp_ports_total", "gauge" },
	{ "kubevox_sip_requests_received_total", "counter" },
	{ "kubevox_sip_responses_sent_total", "counter" },
	{ "kubevox_sip_parse_errors_total", "counter" },
	{ "kubevox_sip_retransmissions_absorbed_total", "counter" },
	{ "kubevox_tcp_connections", "gauge" },
	{ "kubevox_auth_failures_total", "counter" },
	{ "kubevox_bans_total", "counter" },
	{ "kubevox_banned_requests_total", "counter" },
	{ "kubevox_config_reloads_total", "counter" },
	{ "kubevox_draining", "gauge" },
	{ "kubevox_process_start_time_seconds", "gauge" },
	{ "kubevox_http_refused_total", "counter" },
	{ "kubevox_build_info", "gauge" },
	{ "kubevox_state_up", "gauge" },
	{ "kubevox_state_round_trip_seconds", "histogram" },
	{ "kubevox_state_errors_total", "counter" },
	{ "kubevox_state_reconnects_total", "counter" },
	{ "kubevox_state_conflicts_total", "counter" },
	{ "kubevox_state_bindings_written_back_total", "counter" },
	{ "kubevox_cross_replica_deliveries_total", "counter" },
	{ "kubevox_replicas", "gauge" },
};

/* What a snapshot of the memory backend holds (pbx_snapshot() fills it
 * from state_stats(): test_metrics_live checks that). */
static void memory_backend(struct pbx_snapshot *ps)
{
	memset(&ps->state, 0, sizeof(ps->state));
	ps->state.backend = "memory";
	ps->state.healthy = true;
	ps->replicas_n = ps->replicas_total = 0;
}

/* The state families of a memory backend: up, an empty histogram, no
 * replica. */
static void assert_memory_backend(struct prom *pr)
{
	char key[96];

	assert_series(pr, "kubevox_state_up{backend=\"memory\"}", 1);
	for (unsigned i = 0; i < STATE_RTT_BUCKETS; i++) {
		snprintf(key, sizeof(key), "kubevox_state_round_trip_seconds_bucket{le=\"%g\"}",
			 state_rtt_bounds_ms[i] / 1000);
		assert_series(pr, key, 0);
	}
	assert_series(pr, "kubevox_state_round_trip_seconds_bucket{le=\"+Inf\"}", 0);
	assert_series(pr, "kubevox_state_round_trip_seconds_sum", 0);
	assert_series(pr, "kubevox_state_round_trip_seconds_count", 0);
	assert_series(pr, "kubevox_state_bindings_written_back_total", 0);
	assert_series(pr, "kubevox_replicas{state=\"alive\"}", 0);
	assert_series(pr, "kubevox_replicas{state=\"dead\"}", 0);
	assert_string_equal(prom_type(pr, "kubevox_replica_heartbeat_age_seconds"), "");
	assert_string_equal(prom_type(pr, "kubevox_replica_up"), "");
}

#define STATUS_MEMORY							\
	"\"state\":{\"backend\":\"memory\",\"healthy\":true,\"round_trips\":"	\
	"{\"count\":0,\"sum_ms\":0.000,\"le_ms\":{\"0.25\":0,\"0.5\":0,\"1\":0,"	\
	"\"2.5\":0,\"5\":0,\"10\":0,\"50\":0,\"100\":0,\"+Inf\":0}},\"errors\":0,"	\
	"\"reconnects\":0,\"conflicts\":0,\"written_back\":0},"		\
	"\"cross_replica_deliveries\":0,\"replicas\":[]"

static uint64_t fixed_now(void)
{
	return 1700000042;
}

static void test_metrics_bare(void **state)
{
	struct pbx_snapshot *ps = calloc(1, sizeof(*ps));
	struct ops_stats os;
	struct prom *pr = malloc(sizeof(*pr));
	char key[128];
	struct sbuf sb;

	assert_non_null(ps);
	assert_non_null(pr);
	memset(&os, 0, sizeof(os));
	ps->stats.reg[REG_OK] = 5;
	ps->stats.reg[REG_CHALLENGED] = 7;
	ps->stats.reg[REG_AUTH_FAILED] = 3;
	ps->stats.reg[REG_REJECTED] = 2;
	ps->stats.reg[REG_ERROR] = 1;
	ps->stats.auth_failures = 11;
	ps->stats.bans = 4;
	ps->stats.banned_requests = 9;
	os.reloads_ok = 6;
	os.reloads_failed = 1;
	os.draining = true;
	os.start_time = 1700000000;
	os.http_refused[OPS_REFUSED_NO_TOKEN] = 2;
	os.http_refused[OPS_REFUSED_WRONG_TOKEN] = 3;
	os.http_refused[OPS_REFUSED_NOT_LOOPBACK] = 8;
	memory_backend(ps);

	sbuf_init(&sb);
	metrics_render(&sb, ps, &os);
	assert_false(sbuf_err(&sb));
	assert_prom_ok(pr, sbuf_cstr(&sb));
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		assert_string_equal(prom_type(pr, families[i][0]), families[i][1]);

	assert_series(pr, "kubevox_registrations", 0);
	assert_series(pr, "kubevox_registration_attempts_total{result=\"ok\"}", 5);
	assert_series(pr, "kubevox_registration_attempts_total{result=\"challenged\"}", 7);
	assert_series(pr, "kubevox_registration_attempts_total{result=\"auth_failed\"}", 3);
	assert_series(pr, "kubevox_registration_attempts_total{result=\"rejected\"}", 2);
	assert_series(pr, "kubevox_registration_attempts_total{result=\"error\"}", 1);
	assert_series(pr, "kubevox_auth_failures_total", 11);
	assert_series(pr, "kubevox_bans_total", 4);
	assert_series(pr, "kubevox_banned_requests_total", 9);
	assert_series(pr, "kubevox_config_reloads_total{result=\"ok\"}", 6);
	assert_series(pr, "kubevox_config_reloads_total{result=\"failed\"}", 1);
	assert_series(pr, "kubevox_draining", 1);
	assert_series(pr, "kubevox_process_start_time_seconds", 1700000000);
	snprintf(key, sizeof(key), "kubevox_build_info{version=\"%s\"}", KV_VERSION);
	assert_series(pr, key, 1);
	assert_series(pr, "kubevox_calls_active", 0);
	assert_series(pr, "kubevox_calls_total{disposition=\"answered\"}", 0);
	assert_series(pr, "kubevox_calls_rejected_total{reason=\"no_media_port\"}", 0);
	assert_series(pr, "kubevox_rtp_ports_total", 0);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"other\"}", 0);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"6xx\"}", 0);
	assert_series(pr, "kubevox_tcp_connections", 0);
	assert_series(pr, "kubevox_http_refused_total{reason=\"no_token\"}", 2);
	assert_series(pr, "kubevox_http_refused_total{reason=\"wrong_token\"}", 3);
	assert_series(pr, "kubevox_http_refused_total{reason=\"not_loopback\"}", 8);
	assert_series(pr, "kubevox_cross_replica_deliveries_total", 0);
	assert_memory_backend(pr);

	/* /status of the same PBX. */
	ps->now = fixed_now();
	sbuf_reset(&sb);
	status_render(&sb, ps, &os, NULL);
	assert_false(sbuf_err(&sb));
	assert_true(json_valid(sbuf_cstr(&sb)));
	assert_string_equal(sbuf_cstr(&sb),
		"{\"version\":\"" KV_VERSION "\",\"uptime_seconds\":42,\"draining\":true,"
		"\"contacts\":0,\"calls_active\":0," STATUS_MEMORY ",\"registrations\":[],\"calls\":[]}");

	/* The start time is the process's own record. */
	os.start_time = 1700000000;
	sbuf_reset(&sb);
	metrics_render(&sb, ps, &os);
	assert_prom_ok(pr, sbuf_cstr(&sb));
	assert_true(prom_value(pr, "kubevox_process_start_time_seconds") == 1700000000.0);

	/* A clock before the start time never makes a negative uptime. */
	os.start_time = 1800000000;
	os.draining = false;
	sbuf_reset(&sb);
	status_render(&sb, ps, &os, NULL);
	assert_non_null(strstr(sbuf_cstr(&sb), "\"uptime_seconds\":0,\"draining\":false"));
	sbuf_free(&sb);
	free(pr);
	free(ps);
}

/* ---- cluster mode: a Redis backend's counters and a replica table ---- */

static void fake_replica(struct pbx_snapshot *ps, const char *name, const char *addr,
			 uint16_t port, uint64_t age_ms, bool alive, bool self)
{
	struct state_replica *r = &ps->replicas[ps->replicas_n++];

	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (addr && strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&r->advertise;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	} else if (addr) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&r->advertise;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	}
	r->heartbeat_age_ms = age_ms;
	r->alive = alive;
	r->self = self;
	ps->replicas_total++;
}

static void test_metrics_cluster(void **state)
{
	static const uint64_t le[STATE_RTT_BUCKETS] = { 1, 3, 6, 8, 9, 9, 10, 10 };
	struct pbx_snapshot *ps = calloc(1, sizeof(*ps));
	struct prom *pr = malloc(sizeof(*pr));
	struct ops_stats os = {0};
	struct sbuf sb;
	char key[160], want[2048], xs[STATE_REPLICA_MAX];
	const char *js;

	assert_non_null(ps);
	assert_non_null(pr);
	/* a name as long as the table holds, shown whole */
	memset(xs, 'x', sizeof(xs) - 1);
	xs[sizeof(xs) - 1] = '\0';
	ps->state.backend = "redis";
	ps->state.healthy = false;
	ps->state.rtt_count = 10;
	ps->state.rtt_sum_ms = 12.5;
	memcpy(ps->state.rtt_le, le, sizeof(le));
	ps->state.errors = 4;
	ps->state.reconnects = 2;
	ps->state.conflicts = 7;
	ps->state.written_back = 42;
	ps->stats.cross_replica = 5;
	fake_replica(ps, "node-a", "192.0.2.1", 5060, 250, true, true);
	fake_replica(ps, "node-b", "2001:db8::2", 5062, 1000, true, false);
	fake_replica(ps, "node-\"c\\", NULL, 0, 5123, false, false);
	/* A name that fills its buffer with no NUL: cut, never overread. */
	fake_replica(ps, "", NULL, 0, 60000, false, false);
	memset(ps->replicas[3].name, 'x', sizeof(ps->replicas[3].name));

	sbuf_init(&sb);
	metrics_render(&sb, ps, &os);
	assert_false(sbuf_err(&sb));
	assert_prom_ok(pr, sbuf_cstr(&sb));
	assert_string_equal(prom_type(pr, "kubevox_replica_heartbeat_age_seconds"), "gauge");
	assert_string_equal(prom_type(pr, "kubevox_replica_up"), "gauge");
	assert_series(pr, "kubevox_state_up{backend=\"redis\"}", 0);
	for (unsigned i = 0; i < STATE_RTT_BUCKETS; i++) {
		snprintf(key, sizeof(key), "kubevox_state_round_trip_seconds_bucket{le=\"%g\"}",
			 state_rtt_bounds_ms[i] / 1000);
		assert_series(pr, key, le[i]);
	}
	assert_series(pr, "kubevox_state_round_trip_seconds_bucket{le=\"0.00025\"}", 1);
	assert_series(pr, "kubevox_state_round_trip_seconds_bucket{le=\"0.1\"}", 10);
	assert_series(pr, "kubevox_state_round_trip_seconds_bucket{le=\"+Inf\"}", 10);
	assert_series(pr, "kubevox_state_round_trip_seconds_sum", 0.0125);
	assert_series(pr, "kubevox_state_round_trip_seconds_count", 10);
	assert_series(pr, "kubevox_state_errors_total", 4);
	assert_series(pr, "kubevox_state_reconnects_total", 2);
	assert_series(pr, "kubevox_state_conflicts_total", 7);
	assert_series(pr, "kubevox_state_bindings_written_back_total", 42);
	assert_series(pr, "kubevox_cross_replica_deliveries_total", 5);
	assert_series(pr, "kubevox_replicas{state=\"alive\"}", 2);
	assert_series(pr, "kubevox_replicas{state=\"dead\"}", 2);
	assert_series(pr, "kubevox_replica_heartbeat_age_seconds{replica=\"node-a\"}", 0.25);
	assert_series(pr, "kubevox_replica_heartbeat_age_seconds{replica=\"node-b\"}", 1);
	assert_series(pr, "kubevox_replica_heartbeat_age_seconds{replica=\"node-\\\"c\\\\\"}",
		      5.123);
	snprintf(key, sizeof(key), "kubevox_replica_heartbeat_age_seconds{replica=\"%s\"}", xs);
	assert_series(pr, key, 60);
	assert_series(pr, "kubevox_replica_up{replica=\"node-a\"}", 1);
	assert_series(pr, "kubevox_replica_up{replica=\"node-\\\"c\\\\\"}", 0);

	/* A sum that went wrong reads as 0, never NaN or negative. */
	ps->state.rtt_sum_ms = -1;
	sbuf_reset(&sb);
	metrics_render(&sb, ps, &os);
	assert_prom_ok(pr, sbuf_cstr(&sb));
	assert_series(pr, "kubevox_state_round_trip_seconds_sum", 0);
	ps->state.rtt_sum_ms = 12.5;

	ps->now = fixed_now();
	sbuf_reset(&sb);
	status_render(&sb, ps, &os, NULL);
	assert_false(sbuf_err(&sb));
	js = sbuf_cstr(&sb);
	assert_true(json_valid(js));
	snprintf(want, sizeof(want),
		"\"state\":{\"backend\":\"redis\",\"healthy\":false,\"round_trips\":"
		"{\"count\":10,\"sum_ms\":12.500,\"le_ms\":{\"0.25\":1,\"0.5\":3,\"1\":6,"
		"\"2.5\":8,\"5\":9,\"10\":9,\"50\":10,\"100\":10,\"+Inf\":10}},\"errors\":4,"
		"\"reconnects\":2,\"conflicts\":7,\"written_back\":42},"
		"\"cross_replica_deliveries\":5,\"replicas\":["
		"{\"name\":\"node-a\",\"advertise\":\"192.0.2.1:5060\",\"alive\":true,"
		"\"self\":true,\"heartbeat_age_ms\":250},"
		"{\"name\":\"node-b\",\"advertise\":\"[2001:db8::2]:5062\",\"alive\":true,"
		"\"self\":false,\"heartbeat_age_ms\":1000},"
		"{\"name\":\"node-\\\"c\\\\\",\"advertise\":null,\"alive\":false,"
		"\"self\":false,\"heartbeat_age_ms\":5123},"
		"{\"name\":\"%s\",\"advertise\":null,"
		"\"alive\":false,\"self\":false,\"heartbeat_age_ms\":60000}],\"registrations\":[],\"calls\":[]}", xs);
	assert_non_null(strstr(js, want));
	sbuf_free(&sb);
	free(pr);
	free(ps);
}

/* pbx_snapshot_state() from a backend that lists its replicas in no
 * order, more than a snapshot holds. */
#define FAKE_REPLICAS (PBX_SNAPSHOT_REPLICAS + 6)

static size_t fake_contacts(struct state *st)
{
	return 12;
}

static bool fake_healthy(struct state *st)
{
	return false;
}

static void fake_foreach(struct state *st,
			 void (*fn)(const struct state_replica *r, void *arg), void *arg)
{
	for (unsigned i = FAKE_REPLICAS; i-- > 0;) {
		struct state_replica r;

		memset(&r, 0, sizeof(r));
		snprintf(r.name, sizeof(r.name), "r%02u", (i * 37) % FAKE_REPLICAS);
		r.alive = i % 2;
		fn(&r, arg);
	}
}

static void fake_stats(struct state *st, struct state_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->backend = "redis";
	out->written_back = 9;
}

static void test_snapshot_state(void **state)
{
	static const struct state_ops ops = {
		.name = "fake", .contacts_count = fake_contacts, .healthy = fake_healthy,
		.replicas_foreach = fake_foreach, .stats = fake_stats,
	};
	struct state st = { .ops = &ops };
	struct pbx_snapshot *ps = calloc(1, sizeof(*ps));

	assert_non_null(ps);
	ps->replicas_n = 3;              /* whatever was there goes */
	pbx_snapshot_state(&st, ps);
	assert_int_equal(ps->contacts, 12);
	assert_false(ps->state_healthy);
	assert_string_equal(ps->state.backend, "redis");
	assert_int_equal(ps->state.written_back, 9);
	assert_int_equal(ps->replicas_total, FAKE_REPLICAS);
	assert_int_equal(ps->replicas_n, PBX_SNAPSHOT_REPLICAS);
	for (size_t i = 1; i < ps->replicas_n; i++)
		assert_true(strcmp(ps->replicas[i - 1].name, ps->replicas[i].name) < 0);
	free(ps);
}

/* ---- metrics from real parts, after real SIP traffic ---- */

struct fix {
	uv_loop_t loop;
	uv_timer_t deadline;
	bool expired;
	struct tmrq q;
	struct state *state;
	struct sip_stack *stack;
	struct rtp_engine *rtp;
	struct sip_listener *udp;
	int fd;                        /* the phone */
	unsigned nreq;
	struct sbuf sb;
	struct prom *pr;
};

static void deadline_cb(uv_timer_t *t)
{
	struct fix *f = t->data;

	f->expired = true;
}

#define RUN_UNTIL(f, cond) do {						\
		(f)->expired = false;					\
		uv_timer_start(&(f)->deadline, deadline_cb, DEADLINE_MS, 0); \
		while (!(cond) && !(f)->expired)			\
			uv_run(&(f)->loop, UV_RUN_ONCE);		\
		uv_timer_stop(&(f)->deadline);				\
		assert_true(cond);					\
	} while (0)

/* The TU: what a PBX would answer, enough to exercise every class. */
static void reqh(struct sip_stack *st, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src, void *arg)
{
	struct fix *f = arg;
	uint16_t code = 501;

	f->nreq++;
	if (!stx)
		return;
	if (sip_msg_is_method(req, "OPTIONS") || sip_msg_is_method(req, "INFO"))
		code = 200;
	else if (sip_msg_is_method(req, "REGISTER"))
		code = 401;
	else if (sip_msg_is_method(req, "BYE"))
		code = 481;
	else if (sip_msg_is_method(req, "MESSAGE"))
		code = 302;
	else if (sip_msg_is_method(req, "PUBLISH"))
		code = 603;
	assert_int_equal(sip_stx_reply(stx, code, NULL, NULL, NULL, NULL, NULL), 0);
}

static int devnull = -1;

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sockaddr_in sin;
	const struct sockaddr_in *bound;

	assert_non_null(f);
	if (!getenv("KV_TEST_LOG") && devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		log_set_fd(devnull);
	}
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->deadline), 0);
	f->deadline.data = f;
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	assert_int_equal(state_mem_alloc(&f->state, &f->q, NULL, NULL), 0);
	assert_int_equal(sip_stack_alloc(&f->stack, &f->loop, &f->q, reqh, f), 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sip_transport_listen(sip_stack_transport(f->stack), SIP_PROTO_UDP,
					      (struct sockaddr *)&sin, &f->udp), 0);
	assert_int_equal(rtp_engine_alloc(&f->rtp, &f->loop, (struct sockaddr *)&sin,
					  41000, 41099, 1), 0);

	f->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	bound = (const struct sockaddr_in *)sip_listener_addr(f->udp);
	assert_int_equal(connect(f->fd, (const struct sockaddr *)bound, sizeof(*bound)), 0);
	sbuf_init(&f->sb);
	f->pr = malloc(sizeof(*f->pr));
	assert_non_null(f->pr);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	close(f->fd);
	rtp_engine_free(f->rtp);
	sip_stack_free(f->stack);
	state_free(f->state);
	tmrq_close(&f->q);
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	sbuf_free(&f->sb);
	free(f->pr);
	free(f);
	return 0;
}

static void send_text(struct fix *f, const char *text)
{
	assert_int_equal(send(f->fd, text, strlen(text), 0), (ssize_t)strlen(text));
}

/* A request from the phone; same branch and Call-ID = a retransmission. */
static void send_req(struct fix *f, const char *method, const char *branch)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
		 "%s sip:kubevox@127.0.0.1 SIP/2.0\r\n"
		 "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-%s;rport\r\n"
		 "Max-Forwards: 70\r\n"
		 "From: <sip:1001@127.0.0.1>;tag=t-%s\r\n"
		 "To: <sip:kubevox@127.0.0.1>\r\n"
		 "Call-ID: c-%s@test\r\n"
		 "CSeq: 1 %s\r\n"
		 "Content-Length: 0\r\n\r\n",
		 method, branch, branch, branch, method);
	send_text(f, buf);
}

/* What pbx_snapshot() reads, from the fixture's parts (no PBX here: the
 * TU is the fixture's own). */
static void snapshot(struct fix *f, struct pbx_snapshot *s)
{
	memset(s, 0, sizeof(*s));
	pbx_snapshot_state(f->state, s);
	s->sip = *sip_stack_stats(f->stack);
	rtp_engine_stats(f->rtp, &s->rtp);
	s->tcp_connections = sip_transport_conn_count(sip_stack_transport(f->stack));
	s->now = fixed_now();
}

static void reg_done(enum loc_result res, const struct loc_contact *c, size_t n, void *arg)
{
	*(enum loc_result *)arg = res;
}

static void test_metrics_live(void **state)
{
	struct fix *f = *state;
	const struct sip_stack_stats *ss = sip_stack_stats(f->stack);
	struct loc_binding b;
	struct loc_register r;
	enum loc_result res = LOC_FAILED;
	struct rtp_stats rs;
	struct prom *pr = f->pr;
	struct pbx_snapshot snap;
	struct ops_stats os = {0};
	unsigned want_req;

	/* One contact, as a REGISTER would leave it. */
	memset(&b, 0, sizeof(b));
	b.uri = pl_from_str("sip:1001@192.0.2.10:5062");
	b.expires = 60;
	b.q = -1;
	memset(&r, 0, sizeof(r));
	r.aor = pl_from_str("1001");
	r.bindings = &b;
	r.bindings_n = 1;
	r.callid = pl_from_str("reg-1");
	r.cseq = 1;
	r.endpoint = pl_from_str("1001");
	r.src.addr.sa.sa_family = AF_INET;
	r.max_contacts = 1;
	r.now = (uint64_t)time(NULL);
	assert_int_equal(state_register(f->state, &r, reg_done, &res), 0);
	assert_int_equal(res, LOC_OK);

	send_req(f, "OPTIONS", "o1");
	send_req(f, "OPTIONS", "o1");          /* retransmission: 200 again */
	send_req(f, "REGISTER", "r1");         /* 401 */
	send_req(f, "BYE", "b1");              /* 481 */
	send_req(f, "INFO", "i1");             /* 200 */
	send_req(f, "SUBSCRIBE", "s1");        /* other: 501 */
	send_req(f, "options", "l1");          /* case matters: other, 501 */
	send_req(f, "MESSAGE", "m1");          /* other: 302 */
	send_req(f, "PUBLISH", "p1");          /* other: 603 */
	want_req = 8;
	send_text(f, "this is not SIP\r\n\r\n");
	/* A stray response: counted by class, matched to nothing. */
	send_text(f, "SIP/2.0 180 Ringing\r\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-nothing\r\n"
		  "From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>;tag=2\r\n"
		  "Call-ID: stray@test\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
	/* The datagrams are handled in order: the last one closes the run. */
	RUN_UNTIL(f, f->nreq == want_req && ss->rx_responses == 1);

	assert_int_equal(ss->rx_by_method[SIP_STATS_OPTIONS], 2);
	assert_int_equal(ss->rx_by_method[SIP_STATS_REGISTER], 1);
	assert_int_equal(ss->rx_by_method[SIP_STATS_BYE], 1);
	assert_int_equal(ss->rx_by_method[SIP_STATS_INFO], 1);
	assert_int_equal(ss->rx_by_method[SIP_STATS_OTHER], 4);
	assert_int_equal(ss->rx_by_method[SIP_STATS_INVITE], 0);
	assert_int_equal(ss->rx_requests, 9);
	assert_int_equal(ss->tx_by_class[2], 3);
	assert_int_equal(ss->tx_by_class[3], 1);
	assert_int_equal(ss->tx_by_class[4], 2);
	assert_int_equal(ss->tx_by_class[5], 2);
	assert_int_equal(ss->tx_by_class[6], 1);
	assert_int_equal(ss->tx_by_class[1], 0);
	assert_int_equal(ss->tx_responses, 9);
	assert_int_equal(ss->rx_by_class[1], 1);
	assert_int_equal(ss->parse_errors, 1);
	assert_int_equal(ss->retransmissions_absorbed, 1);
	assert_string_equal(sip_stats_method_name(SIP_STATS_CANCEL), "CANCEL");
	assert_string_equal(sip_stats_method_name(SIP_STATS_OTHER), "other");
	assert_string_equal(sip_stats_method_name(99), "other");

	snapshot(f, &snap);
	metrics_render(&f->sb, &snap, &os);
	assert_false(sbuf_err(&f->sb));
	assert_prom_ok(pr, sbuf_cstr(&f->sb));
	assert_series(pr, "kubevox_registrations", 1);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"OPTIONS\"}", 2);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"REGISTER\"}", 1);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"BYE\"}", 1);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"INFO\"}", 1);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"INVITE\"}", 0);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"ACK\"}", 0);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"CANCEL\"}", 0);
	assert_series(pr, "kubevox_sip_requests_received_total{method=\"other\"}", 4);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"1xx\"}", 0);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"2xx\"}", 3);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"3xx\"}", 1);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"4xx\"}", 2);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"5xx\"}", 2);
	assert_series(pr, "kubevox_sip_responses_sent_total{class=\"6xx\"}", 1);
	assert_series(pr, "kubevox_sip_responses_received_total{class=\"1xx\"}", 1);
	assert_series(pr, "kubevox_sip_parse_errors_total", 1);
	assert_series(pr, "kubevox_sip_retransmissions_absorbed_total", 1);
	assert_series(pr, "kubevox_tcp_connections", 0);
	assert_series(pr, "kubevox_calls_active", 0);
	/* The memory backend as it reports itself. */
	assert_int_equal(snap.replicas_total, 0);
	assert_memory_backend(pr);

	rtp_engine_stats(f->rtp, &rs);
	assert_true(rs.ports_total > 0);
	assert_series(pr, "kubevox_rtp_ports_total", rs.ports_total);
	assert_series(pr, "kubevox_rtp_ports_in_use", 0);
	assert_series(pr, "kubevox_rtp_packets_dropped_total{reason=\"wrong_source\"}", 0);

	sbuf_reset(&f->sb);
	status_render(&f->sb, &snap, &os, NULL);
	assert_false(sbuf_err(&f->sb));
	assert_true(json_valid(sbuf_cstr(&f->sb)));
	assert_non_null(strstr(sbuf_cstr(&f->sb), "\"contacts\":1,\"calls_active\":0,"
			       STATUS_MEMORY ",\"registrations\":[],\"calls\":[]"));
}

/* A stack-level 400 (a request the parser refuses but can answer) and a
 * response sent statelessly are counted too. */
static void test_stateless_counts(void **state)
{
	struct fix *f = *state;
	const struct sip_stack_stats *ss = sip_stack_stats(f->stack);
	static const char resp[] = "SIP/2.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
	struct sip_peer dst;
	socklen_t len = sizeof(dst.addr);

	send_text(f, "OPTIONS sip:kubevox@127.0.0.1 SIP/2.0\r\n"
		  "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-bad\r\n"
		  "From: <sip:1001@127.0.0.1>;tag=x\r\nTo: <sip:kubevox@127.0.0.1>\r\n"
		  "Call-ID: bad@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9999\r\n\r\n");
	RUN_UNTIL(f, ss->parse_errors == 1);
	assert_int_equal(ss->tx_by_class[4], 1);
	assert_int_equal(ss->tx_responses, 1);

	memset(&dst, 0, sizeof(dst));
	assert_int_equal(getsockname(f->fd, (struct sockaddr *)&dst.addr, &len), 0);
	dst.proto = SIP_PROTO_UDP;
	assert_int_equal(sip_stack_send_raw(f->stack, &dst, resp, strlen(resp)), 0);
	assert_int_equal(ss->tx_by_class[5], 1);
	assert_int_equal(ss->tx_responses, 2);
	/* A status line without a code counts as a response of no class. */
	assert_int_equal(sip_stack_send_raw(f->stack, &dst, "SIP/2.0 x\r\n\r\n", 13), 0);
	assert_int_equal(ss->tx_responses, 3);
	for (unsigned c = 0; c < 7; c++)
		assert_int_equal(ss->tx_by_class[c], c == 4 || c == 5 ? 1 : 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_checker),
		cmocka_unit_test(test_json_validator),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_metrics_bare),
		cmocka_unit_test(test_metrics_cluster),
		cmocka_unit_test(test_snapshot_state),
		cmocka_unit_test_setup_teardown(test_metrics_live, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stateless_counts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
