/*
 * dpargs.c - the argument syntax of the dialplan applications (see
 * dpargs.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "config/dpexpr.h"
#include "util/pl.h"

static int problem(struct dp_report *rep, bool fatal, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report one problem; EINVAL when it is fatal. */
static int problem(struct dp_report *rep, bool fatal, const char *fmt, ...)
{
	va_list ap;

	if (!rep)
		return fatal ? EINVAL : 0;
	if (rep->fn) {
		va_start(ap, fmt);
		rep->fn(rep->arg, fmt, ap);
		va_end(ap);
	}
	if (!fatal)
		return 0;
	if (!rep->why[0]) {
		va_start(ap, fmt);
		vsnprintf(rep->why, sizeof(rep->why), fmt, ap);
		va_end(ap);
	}
	return EINVAL;
}

static void warning(struct dp_report *rep, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warning(struct dp_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (!rep || !rep->warn)
		return;
	va_start(ap, fmt);
	rep->warn(rep->arg, fmt, ap);
	va_end(ap);
}

/* Text as written that holds a substitution is judged once expanded. */
static bool opaque(const struct dp_report *rep, const char *s, size_t len)
{
	return rep && rep->written && dpexpr_has_subst(s, len);
}

int dp_args_split(char *buf, char **argv, int max)
{
	int argc, paren = 0, bracket = 0;
	bool quote = false;
	char *scan = buf, *wasdelim = NULL;

	if (!buf || max < 1)
		return 0;
	for (argc = 0; *scan && argc < max - 1; argc++) {
		argv[argc] = scan;
		for (; *scan; scan++) {
			if (*scan == '(') {
				paren++;
			} else if (*scan == ')') {
				if (paren)
					paren--;
			} else if (*scan == '[') {
				bracket++;
			} else if (*scan == ']') {
				if (bracket)
					bracket--;
			} else if (*scan == '"') {
				quote = !quote;
				memmove(scan, scan + 1, strlen(scan));
				scan--;
			} else if (*scan == '\\') {
				/* The next character is taken as it is. */
				memmove(scan, scan + 1, strlen(scan));
				if (!*scan)
					break;
			} else if (*scan == ',' && !paren && !quote && !bracket) {
				wasdelim = scan;
				*scan++ = '\0';
				break;
			}
		}
	}
	/* The rest, or the empty argument after a trailing ','. */
	if (*scan || (scan > buf && scan - 1 == wasdelim))
		argv[argc++] = scan;
	return argc;
}

bool dp_is_number(const char *s)
{
	size_t i = 0;

	if (s[i] < '0' || s[i] > '9')
		return false;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == '.') {
		i++;
		if (s[i] < '0' || s[i] > '9')
			return false;
		while (s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return s[i] == '\0';
}

/*
 * ast_app_parse_options(): letters, each perhaps with "(argument)".  The
 * argument ends at the ')' that closes its '(' (they nest); a backslash
 * outside quotes is removed and the character after it taken as it is;
 * an argument that starts with '"' is quoted up to the next '"'.  f(letter,
 * argument or NULL, arg) for each letter in order.  Returns the letter
 * whose '(' is never closed (what Asterisk refuses; the letters after it
 * are not read), else 0.
 */
static char options_scan(char *opts, void (*f)(char, char *, void *), void *arg)
{
	for (char *p = opts; *p;) {
		char letter = *p++, *optarg = NULL;

		if (*p == '(') {
			int paren = 1;
			bool quote = false, quotes = p[1] == '"';

			optarg = ++p;
			for (; *p; p++) {
				if (*p == '(' && !quote) {
					paren++;
				} else if (*p == ')' && !quote) {
					paren--;
				} else if (*p == '"' && quotes) {
					quote = !quote;
					memmove(p, p + 1, strlen(p));
					p--;
				} else if (*p == '\\') {
					if (!quote || p[1] == '"')
						memmove(p, p + 1, strlen(p));
					else
						p++;
					if (!*p)
						break;
				}
				if (!paren)
					break;
			}
			if (*p != ')')
				return letter;
			*p++ = '\0';
		}
		if (letter == ' ' || letter == '\t')
			continue;
		f(letter, optarg, arg);
	}
	return 0;
}

struct options_known {
	const char *known;
	struct dp_report *rep;
	void (*f)(char, char *, void *);
	void *arg;
};

static void option_known(char letter, char *optarg, void *arg)
{
	struct options_known *k = arg;

	if (!strchr(k->known, letter))
		warning(k->rep, "option '%c' is not supported (ignored)", letter);
	else
		k->f(letter, optarg, k->arg);
}

/* The letters of known go to f, the others are warned about. */
static void options_each(char *opts, const char *known, struct dp_report *rep,
			 void (*f)(char, char *, void *), void *arg)
{
	struct options_known k = { known, rep, f, arg };

	options_scan(opts, option_known, &k);
}

/* ---- Dial ---- */

static bool tech_ok(const char *p, size_t n)
{
	return n == 5 && !strncasecmp(p, "PJSIP", 5);
}

bool dp_dial_tech_ok(const char *tech)
{
	return tech_ok(tech, strlen(tech));
}

/* One destination, p (n bytes, stripped) of list: what is wrong with it. */
static int target_check(const char *list, const char *p, size_t n,
			struct dp_report *rep)
{
	const char *slash = memchr(p, '/', n);
	size_t tn;
	int err = 0;

	if (!n)
		return problem(rep, false, "empty destination in '%s'", list);
	if (!slash) {
		if (opaque(rep, p, n))
			return 0;
		return problem(rep, true, "'%.*s' is not TECHNOLOGY/resource", (int)n, p);
	}
	tn = (size_t)(slash - p);
	if (!opaque(rep, p, tn) && !tech_ok(p, tn))
		problem(rep, false, "technology '%.*s' is not supported (use PJSIP)",
			(int)tn, p);
	if (tn + 1 == n)
		err = problem(rep, true, "no endpoint after '%.*s/'", (int)tn, p);
	return err;
}

/* app_dial skips an interface it has dialled already. */
static bool dialled_before(const struct dp_dial *d, const struct dp_dial_target *t)
{
	for (size_t k = 0; k < d->targets.n; k++) {
		const struct dp_dial_target *o = &d->targets.v[k];

		if (o->tech && !strcasecmp(o->tech, t->tech) &&
		    !strcasecmp(o->resource, t->resource))
			return true;
	}
	return false;
}

/* Every destination of list, checked while list is still whole (the
 * messages quote it), then cut into strings. */
static int targets_parse(char *list, struct dp_dial *d, struct dp_report *rep)
{
	VEC(struct pl) segs = { NULL, 0, 0 };
	int err = 0;

	for (char *p = list;;) {
		char *amp = strchr(p, '&');
		struct pl seg = { p, amp ? (size_t)(amp - p) : strlen(p) };

		pl_trim(&seg);
		if (vec_push(&segs, seg)) {
			vec_free(&segs);
			return ENOMEM;
		}
		if (target_check(list, seg.p, seg.l, rep))
			err = EINVAL;
		if (!amp)
			break;
		p = amp + 1;
	}
	for (size_t i = 0; i < segs.n && !err; i++) {
		struct dp_dial_target t = { (char *)segs.v[i].p, NULL, NULL, false };
		char *slash;

		t.text[segs.v[i].l] = '\0';
		slash = strchr(t.text, '/');
		if (slash) {
			*slash = '\0';
			t.tech = t.text;
			t.resource = slash + 1;
		}
		if (t.tech)
			t.again = dialled_before(d, &t);
		if (vec_push(&d->targets, t))
			err = ENOMEM;
	}
	vec_free(&segs);
	return err;
}

/* app_dial: atof(timeout) * 1000 ms, and no timeout unless positive. */
static uint64_t dial_timeout_ms(const char *s)
{
	double v = strtod(s, NULL) * 1000;

	if (!(v >= 1))
		return 0;
	return v < (double)INT_MAX ? (uint64_t)v : INT_MAX;
}

/* app_dial's options that KubeVox does not do, with what they are for. */
static const struct {
	char letter;
	const char *what;
} dial_unsupported[] = {
	{ 'A', "announcement" }, { 'a', "answer the caller" },
	{ 'b', "pre-dial callee Gosub" }, { 'B', "pre-dial caller Gosub" },
	{ 'C', "reset the CDR" }, { 'c', "answered elsewhere" },
	{ 'd', "one-digit exit" }, { 'e', "callee's h extension" },
	{ 'E', "echo sent MF/SF digits" },
	{ 'f', "force caller ID" }, { 'F', "callee goes on" },
	{ 'G', "Goto both parties" }, { 'h', "callee hangs up with *" },
	{ 'H', "caller hangs up with *" }, { 'i', "ignore forwarding" },
	{ 'I', "ignore connected line" }, { 'k', "callee parks" },
	{ 'K', "caller parks" }, { 'M', "callee Macro" },
	{ 'n', "screening intro" }, { 'N', "screening without caller ID" },
	{ 'o', "original caller ID" }, { 'O', "operator services" },
	{ 'p', "screening" }, { 'P', "privacy" }, { 'Q', "hangup cause" },
	{ 'R', "ringing with early media" }, { 'S', "hang up after the answer" },
	{ 's', "caller ID tag" }, { 't', "callee transfers" },
	{ 'T', "caller transfers" }, { 'u', "caller ID presentation" },
	{ 'U', "callee Gosub" }, { 'w', "callee records" },
	{ 'W', "caller records" }, { 'x', "callee MixMonitor" },
	{ 'X', "caller MixMonitor" }, { 'z', "cancel the timeout on forward" },
};

/* ast_dtmf_stream()'s characters: what the D strings may hold. */
static void dtmf_check(char *s, struct dp_report *rep)
{
	for (char *p = s; *p; p++) {
		if (!strchr("0123456789*#ABCDabcdwW", *p)) {
			problem(rep, false, "'%c' in '%s' is not a DTMF digit or 'w' (dropped)",
				*p, s);
			memmove(p, p + 1, strlen(p));
			p--;
		}
	}
}

/* L(x[:y[:z]]): app_dial's do_timelimit(), atol() of each part. */
static int limit_parse(char *s, struct dp_dial_opts *o, struct dp_report *rep)
{
	char *x = strsep(&s, ":"), *y = strsep(&s, ":"), *z = strsep(&s, ":");
	long lx = strtol(x, NULL, 10), ly = y ? strtol(y, NULL, 10) : 0;
	long lz = z ? strtol(z, NULL, 10) : 0;

	if (lx <= 0)
		return problem(rep, true, "L(%s): the limit is not a positive number of ms", x);
	if (y && (!dp_is_number(str_trim(y)) || strchr(y, '.')))
		problem(rep, false, "L: warning '%s' is not a number of ms", y);
	if (z && (!dp_is_number(str_trim(z)) || strchr(z, '.')))
		problem(rep, false, "L: repeat '%s' is not a number of ms", z);
	o->limit_ms = (uint64_t)lx;
	o->warn_ms = ly > 0 ? (uint64_t)ly : 0;
	o->repeat_ms = lz > 0 ? (uint64_t)lz : 0;
	/* A first warning after the end is moved back by the repeat, or
	 * dropped when there is none. */
	if (o->warn_ms > o->limit_ms) {
		if (!o->repeat_ms)
			o->warn_ms = 0;
		while (o->warn_ms > o->limit_ms)
			o->warn_ms -= o->warn_ms > o->repeat_ms ? o->repeat_ms : o->warn_ms;
		if (!o->warn_ms)
			o->repeat_ms = 0;
	}
	return 0;
}

struct dial_opt_ctx {
	struct dp_dial_opts *o;
	struct dp_report *rep;
	int err;
};

static void dial_opt(char letter, char *optarg, void *arg)
{
	struct dial_opt_ctx *x = arg;
	struct dp_dial_opts *o = x->o;
	struct dp_report *rep = x->rep;
	char *rest;

	switch (letter) {
	case 'r':
		o->ringback = true;
		return;
	case 'g':
		o->go_on = true;
		return;
	case 'm':
		o->music = true;
		o->music_class = optarg ? str_trim(optarg) : "";
		return;
	case 'L':
		/* app_dial ignores an L without its argument. */
		if (!optarg || !*str_trim(optarg))
			warning(rep, "option 'L' without a limit (ignored)");
		else if (limit_parse(optarg, o, rep))
			x->err = EINVAL;
		return;
	case 'D':
		rest = optarg ? optarg : "";
		o->dtmf_called = strsep(&rest, ":");
		o->dtmf_calling = rest ? strsep(&rest, ":") : "";
		o->dtmf_progress = rest ? strsep(&rest, ":") : "";
		if (rest && *rest)
			warning(rep, "option 'D': MF and SF digits are not supported (ignored)");
		dtmf_check((char *)o->dtmf_called, rep);
		dtmf_check((char *)o->dtmf_calling, rep);
		dtmf_check((char *)o->dtmf_progress, rep);
		return;
	default:
		break;
	}
	for (size_t i = 0; i < sizeof(dial_unsupported) / sizeof(dial_unsupported[0]); i++) {
		if (dial_unsupported[i].letter == letter) {
			warning(rep, "Dial option '%c' (%s) is not supported (ignored)",
				letter, dial_unsupported[i].what);
			return;
		}
	}
	if ((unsigned char)letter < 0x21 || (unsigned char)letter > 0x7e)
		warning(rep, "byte 0x%02x is not an option of Dial (ignored)",
			(unsigned char)letter);
	else
		warning(rep, "'%c' is not an option of Dial (ignored)", letter);
}

static int dial_options_parse(char *opts, struct dp_dial_opts *o, struct dp_report *rep)
{
	struct dial_opt_ctx x = { o, rep, 0 };
	char open;

	o->music_class = o->dtmf_called = o->dtmf_calling = o->dtmf_progress = "";
	if (opaque(rep, opts, strlen(opts)))
		return 0;
	open = options_scan(opts, dial_opt, &x);
	if (open)
		return problem(rep, true, "option '%c': missing ')'", open);
	return x.err;
}

int dp_dial_parse(char *text, struct dp_dial *d, struct dp_report *rep)
{
	char *argv[4] = { NULL, NULL, NULL, NULL }, *list, *t;
	int argc = dp_args_split(text, argv, 4), err;

	memset(d, 0, sizeof(*d));
	d->options = argc > 2 ? argv[2] : "";
	d->opt.music_class = d->opt.dtmf_called = "";
	d->opt.dtmf_calling = d->opt.dtmf_progress = "";
	list = argc ? str_trim(argv[0]) : "";
	if (!*list)
		return problem(rep, true, "no destination");
	err = targets_parse(list, d, rep);
	t = argc > 1 ? str_trim(argv[1]) : "";
	if (*t && !opaque(rep, t, strlen(t))) {
		if (!dp_is_number(t))
			problem(rep, false, "timeout '%s' is not a number of seconds", t);
		d->timeout_ms = dial_timeout_ms(t);
	}
	/* Cut last: the options are quoted whole until then. */
	if (!err && argc > 2 && dial_options_parse(argv[2], &d->opt, rep))
		err = EINVAL;
	return err;
}

void dp_dial_free(struct dp_dial *d)
{
	vec_free(&d->targets);
}

/* ---- Playback ---- */

int dp_playback_parse(char *text, struct dp_playback *pb, struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL };
	struct pl all;
	int argc;

	pb->files = "";
	pb->noanswer = false;
	/* app_playback refuses only an empty argument. */
	if (!*text)
		return problem(rep, true, "no file to play");
	argc = dp_args_split(text, argv, 2);
	if (argc)
		pb->files = argv[0];
	pb->noanswer = argc > 1 && strcasestr(argv[1], "noanswer");
	pb->skip = argc > 1 && strcasestr(argv[1], "skip");
	if (argc > 1 && (strcasestr(argv[1], "say") || strcasestr(argv[1], "mix")))
		warning(rep, "options 'say' and 'mix' are not supported (ignored)");
	all = pl_from_str(pb->files);
	pl_trim(&all);
	if (!all.l)
		return problem(rep, false, "no file to play");
	for (const char *f = pb->files;;) {
		const char *amp = strchr(f, '&');
		struct pl name = { f, amp ? (size_t)(amp - f) : strlen(f) };

		pl_trim(&name);
		if (!name.l)
			return problem(rep, false, "empty file name in '%s'", pb->files);
		if (!amp)
			return 0;
		f = amp + 1;
	}
}

/* '&'-separated names: an empty list or name is not fatal. */
static void files_check(const char *files, struct dp_report *rep)
{
	struct pl all = pl_from_str(files);

	pl_trim(&all);
	if (!all.l) {
		problem(rep, false, "no file to play");
		return;
	}
	for (const char *f = files;;) {
		const char *amp = strchr(f, '&');
		struct pl name = { f, amp ? (size_t)(amp - f) : strlen(f) };

		pl_trim(&name);
		if (!name.l) {
			problem(rep, false, "empty file name in '%s'", files);
			return;
		}
		if (!amp)
			return;
		f = amp + 1;
	}
}

/* ---- Background, WaitExten ---- */

static void background_opt(char letter, char *optarg, void *arg)
{
	struct dp_background *b = arg;

	if (letter == 's')
		b->skip = true;
	else if (letter == 'n')
		b->noanswer = true;
	else if (letter == 'm')
		b->matchexten = true;
}

int dp_background_parse(char *text, struct dp_background *b, struct dp_report *rep)
{
	char *argv[4] = { NULL, NULL, NULL, NULL };
	int argc;

	memset(b, 0, sizeof(*b));
	b->files = "";
	b->lang = b->context = "";
	if (!*text)
		return problem(rep, true, "no file to play");
	argc = dp_args_split(text, argv, 4);
	if (argc)
		b->files = str_trim(argv[0]);
	if (argc > 1 && *argv[1] && !opaque(rep, argv[1], strlen(argv[1]))) {
		if (!strcasecmp(argv[1], "skip"))
			b->skip = true;
		else if (!strcasecmp(argv[1], "noanswer"))
			b->noanswer = true;
		else
			options_each(argv[1], "snm", rep, background_opt, b);
	}
	if (argc > 2)
		b->lang = argv[2];
	if (argc > 3)
		b->context = argv[3];
	if (!opaque(rep, b->files, strlen(b->files)))
		files_check(b->files, rep);
	return 0;
}

struct waitexten_ctx {
	struct dp_waitexten *w;
	struct dp_report *rep;
};

static void waitexten_opt(char letter, char *optarg, void *arg)
{
	struct waitexten_ctx *x = arg;

	if (letter == 'm') {
		x->w->moh = true;
		x->w->moh_class = optarg ? str_trim(optarg) : "";
		return;
	}
	warning(x->rep, "option '%c' (dial tone) is not supported (ignored)", letter);
}

void dp_waitexten_parse(char *text, struct dp_waitexten *w, struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL }, *t;
	int argc = dp_args_split(text, argv, 2);
	struct waitexten_ctx x;

	memset(w, 0, sizeof(*w));
	x.w = w;
	x.rep = rep;
	w->moh_class = "";
	t = argc ? str_trim(argv[0]) : "";
	if (*t)
		dp_wait_parse(t, &w->ms, rep);
	if (argc > 1 && !opaque(rep, argv[1], strlen(argv[1])))
		options_each(argv[1], "md", rep, waitexten_opt, &x);
}

/* ---- MusicOnHold, StartMusicOnHold ---- */

static bool number_int(const char *s, int *n);

void dp_moh_parse(char *text, struct dp_moh *m, struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL };
	int argc = dp_args_split(text, argv, 2);
	int secs;

	m->class = argc ? str_trim(argv[0]) : "";
	m->duration_ms = 0;
	if (argc < 2)
		return;
	argv[1] = str_trim(argv[1]);
	if (!*argv[1] || opaque(rep, argv[1], strlen(argv[1])))
		return;
	if (!number_int(argv[1], &secs)) {
		problem(rep, false, "invalid duration '%s' (plays until hang-up)", argv[1]);
		return;
	}
	if (secs > 0)
		m->duration_ms = (uint64_t)secs * 1000;
}

/* ---- Read ---- */

/* atoi(): the number text starts with, 0 for none, clamped to an int. */
static int int_prefix(const char *s)
{
	long v = strtol(s, NULL, 10);

	return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static void read_opt(char letter, char *optarg, void *arg)
{
	struct dp_read *r = arg;

	if (letter == 's')
		r->skip = true;
	else if (letter == 'n')
		r->noanswer = true;
	else if (letter == 't')
		r->terminators = optarg ? optarg : "";
}

void dp_read_parse(char *text, struct dp_read *r, struct dp_report *rep)
{
	char *argv[6] = { NULL, NULL, NULL, NULL, NULL, NULL };
	int argc = dp_args_split(text, argv, 6), n;
	double sec;

	memset(r, 0, sizeof(*r));
	r->var = argc ? str_trim(argv[0]) : "";
	r->files = argc > 1 ? str_trim(argv[1]) : "";
	r->maxdigits = 255;
	r->attempts = 1;
	r->terminators = "#";
	if (argc > 2 && *str_trim(argv[2])) {
		n = int_prefix(argv[2]);
		if (n >= 1 && n <= 255)
			r->maxdigits = (unsigned)n;
		else if (!opaque(rep, argv[2], strlen(argv[2])) && n != 0)
			problem(rep, false, "maxdigits '%s' is not from 1 to 255", argv[2]);
	}
	if (argc > 3 && !opaque(rep, argv[3], strlen(argv[3])))
		options_each(argv[3], "snt", rep, read_opt, r);
	if (argc > 4 && *str_trim(argv[4])) {
		n = int_prefix(argv[4]);
		r->attempts = n > 0 ? (unsigned)n : 1;
	}
	if (argc > 5 && *str_trim(argv[5])) {
		sec = strtod(argv[5], NULL);
		if (sec > 0)
			r->timeout_ms = sec * 1000 < (double)INT_MAX ? (uint64_t)(sec * 1000) : INT_MAX;
		if (!opaque(rep, argv[5], strlen(argv[5])) && !dp_is_number(argv[5]))
			problem(rep, false, "timeout '%s' is not a number of seconds", argv[5]);
	}
	if (!*r->var && !opaque(rep, r->var, strlen(r->var)))
		problem(rep, false, "no variable to read into");
	if (*r->files && !opaque(rep, r->files, strlen(r->files)))
		files_check(r->files, rep);
}

/* ---- SayNumber ---- */

/* sscanf("%d"): blanks, a sign, digits, whatever follows; an int. */
static bool number_int(const char *s, int *n)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || errno || v < INT_MIN || v > INT_MAX)
		return false;
	*n = (int)v;
	return true;
}

int dp_saynumber_parse(char *text, struct dp_saynumber *s, struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL };
	int argc = dp_args_split(text, argv, 2);

	memset(s, 0, sizeof(*s));
	s->gender = argc > 1 ? str_trim(argv[1]) : "";
	if (argc && (opaque(rep, argv[0], strlen(argv[0])) || number_int(argv[0], &s->number)))
		s->valid = true;
	else
		problem(rep, false, "'%s' is not a number", argc ? argv[0] : "");
	if (*s->gender && !opaque(rep, s->gender, strlen(s->gender)) &&
	    strcasecmp(s->gender, "f") && strcasecmp(s->gender, "m") &&
	    strcasecmp(s->gender, "c") && strcasecmp(s->gender, "n"))
		return problem(rep, true, "gender '%s' is not f, m, c or n", s->gender);
	return 0;
}

/* ---- Goto and GotoIf ---- */

/* sscanf("%d") after the sign was taken off: false when s does not start
 * with a digit (it is a label then). */
static bool prio_number(const char *s, int *n)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v < 100000000)
			v = v * 10 + (*s - '0');
	}
	*n = (int)v;
	return true;
}

int dp_goto_parse(char *text, struct dp_goto *g, struct dp_report *rep)
{
	char *a, *b, *c, *p;

	memset(g, 0, sizeof(*g));
	if (!*str_trim(text))
		return problem(rep, true, "expected ([[context,]extension,]priority)");
	if (rep && rep->written && dpexpr_chr_inside(text, ','))
		return 0;
	a = strsep(&text, ",");
	b = strsep(&text, ",");
	c = strsep(&text, ",");
	if (!b) {
		g->prio = a;
	} else if (!c) {
		g->exten = str_trim(a);
		g->prio = b;
	} else {
		g->context = str_trim(a);
		g->exten = str_trim(b);
		g->prio = c;
	}
	p = str_trim(g->prio);
	if (!*p)
		return problem(rep, true, "missing priority");
	if (*p == '+' || *p == '-')
		g->sign = *p++ == '+' ? 1 : -1;
	g->number = prio_number(p, &g->n);
	if (!g->number)
		g->label = p;
	else if (!g->sign && !opaque(rep, g->prio, strlen(g->prio)) &&
		 (!dp_is_number(p) || g->n < 1)) {
		g->invalid = true;
		problem(rep, false, "invalid priority '%s'", g->prio);
	}
	return 0;
}

/* Where text splits on c: as written, only outside substitutions. */
static char *split_at(const struct dp_report *rep, char *text, char c)
{
	return rep && rep->written ? dpexpr_chr(text, c) : strchr(text, c);
}

void dp_gotoif_parse(char *text, struct dp_gotoif *g, struct dp_report *rep)
{
	char *q = split_at(rep, text, '?'), *colon;

	g->cond = text;
	g->yes = g->no = NULL;
	if (!q) {
		problem(rep, false, "expected 'condition?[label1][:label2]'");
		return;
	}
	*q = '\0';
	g->yes = q + 1;
	colon = split_at(rep, g->yes, ':');
	if (colon) {
		*colon = '\0';
		g->no = colon + 1;
	}
}

/* ---- Set ---- */

void dp_set_parse(char *text, struct dp_set *s, struct dp_report *rep)
{
	char *eq = split_at(rep, text, '=');
	struct pl name;

	s->name = s->value = NULL;
	if (!eq) {
		/* Set(${ASSIGNMENT}): the '=' may come from it. */
		if (!opaque(rep, text, strlen(text)))
			problem(rep, false, "expected 'name=value'");
		return;
	}
	*eq = '\0';
	s->name = text;
	s->value = eq + 1;
	name = pl_from_str(text);
	pl_trim(&name);
	if (!name.l)
		problem(rep, false, "no variable name before '='");
}

/* ---- Wait, Hangup ---- */

/* ast_app_parse_timelen() in seconds: a number, then perhaps a unit. */
static int timelen(const char *s, uint64_t *ms)
{
	double v, unit = 1000;
	char *end;
	size_t n;

	v = strtod(s, &end);
	if (end == s || v != v)
		return EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	n = strcspn(end, " \t");
	if (n == 1 && (*end == 'h' || *end == 'H'))
		unit = 3600000;
	else if (n == 1 && (*end == 'm' || *end == 'M'))
		unit = 60000;
	else if (n == 2 && !strncasecmp(end, "ms", 2))
		unit = 1;
	else if (n && !(n == 1 && (*end == 's' || *end == 'S')))
		return EINVAL;
	v *= unit;
	*ms = v >= 1 ? (v < (double)INT_MAX ? (uint64_t)v : INT_MAX) : 0;
	return 0;
}

/* What the checker wants: a plain number and perhaps a unit. */
static bool timelen_plain(const char *s)
{
	static const char *const units[] = { "", "ms", "s", "m", "h" };
	size_t n = strspn(s, "0123456789.");
	char num[32];

	if (!n || n >= sizeof(num))
		return false;
	memcpy(num, s, n);
	num[n] = '\0';
	if (!dp_is_number(num))
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcasecmp(s + n, units[i]))
			return true;
	}
	return false;
}

/* text trimmed into buf, for the parsers of short values; false (with t
 * set, for a message) when it does not fit. */
static bool short_copy(const char *text, char *buf, size_t size, struct pl *t)
{
	*t = pl_from_str(text);
	pl_trim(t);
	return !pl_strcpy(t, buf, size);
}

void dp_wait_parse(const char *text, uint64_t *ms, struct dp_report *rep)
{
	char t[64];
	struct pl tp;
	bool fits = short_copy(text, t, sizeof(t), &tp);

	*ms = 0;
	if (!tp.l) {
		problem(rep, false, "missing number of seconds");
		return;
	}
	if (opaque(rep, tp.p, tp.l))
		return;
	if (!fits || timelen(t, ms) || !timelen_plain(t))
		problem(rep, false, "'%.*s' is not a number of seconds", (int)tp.l, tp.p);
}

void dp_hangup_parse(const char *text, enum q850_cause *cause, struct dp_report *rep)
{
	char t[64];
	struct pl tp;
	bool fits = short_copy(text, t, sizeof(t), &tp);
	int c;

	*cause = Q850_UNSET;
	if (!tp.l || opaque(rep, tp.p, tp.l))
		return;
	c = fits ? q850_parse(t) : -1;
	if (c < 0) {
		problem(rep, false, "invalid cause '%.*s'", (int)tp.l, tp.p);
		return;
	}
	*cause = (enum q850_cause)c;
}

/* ---- functions ---- */

int dp_pjsip_header_parse(char *text, struct dp_pjsip_header *h,
			  struct dp_report *rep)
{
	char *argv[3] = { NULL, NULL, NULL };
	int argc = dp_args_split(text, argv, 3);
	char *action = str_trim(argc > 0 ? argv[0] : text);
	char *name = argc > 1 ? str_trim(argv[1]) : NULL;
	size_t len = name ? strlen(name) : 0;
	long n;

	h->name = NULL;
	h->prefix = false;
	h->number = 1;
	if (!opaque(rep, action, strlen(action)) && strcasecmp(action, "read"))
		return problem(rep, true, "PJSIP_HEADER: action '%.20s' is not read",
			       action);
	if (!len)
		return problem(rep, true, "PJSIP_HEADER: no header name");
	if (name[len - 1] == '*') {
		h->prefix = true;
		name[len - 1] = '\0';
	}
	h->name = name;
	if (argc > 2 && !opaque(rep, argv[2], strlen(argv[2]))) {
		n = strtol(argv[2], NULL, 10);
		if (n > 1)
			h->number = n > UINT_MAX ? UINT_MAX : (unsigned)n;
	}
	return 0;
}

/* ---- VoiceMail, VoiceMailMain ---- */

static void voicemail_opt(char letter, char *optarg, void *arg)
{
	struct dp_voicemail *v = arg;

	if (letter == 'b')
		v->busy = true;
	else if (letter == 'u')
		v->unavail = true;
	else if (letter == 's')
		v->silent = true;
}

int dp_voicemail_parse(char *text, struct dp_voicemail *v, struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL }, *cur, *one;
	int argc = dp_args_split(text, argv, 2);

	memset(v, 0, sizeof(*v));
	cur = argc ? argv[0] : "";
	while ((one = strsep(&cur, "&"))) {
		one = str_trim(one);
		if (!*one)
			continue;
		if (v->n == DP_VM_BOXES) {
			warning(rep, "more than %d mailboxes (the others are ignored)",
				DP_VM_BOXES);
			break;
		}
		v->boxes[v->n++] = one;
	}
	if (!v->n)
		problem(rep, false, "no mailbox");
	if (argc > 1 && !opaque(rep, argv[1], strlen(argv[1])))
		options_each(argv[1], "bus", rep, voicemail_opt, v);
	return 0;
}

static void voicemailmain_opt(char letter, char *optarg, void *arg)
{
	((struct dp_voicemailmain *)arg)->skip_password = true;
}

int dp_voicemailmain_parse(char *text, struct dp_voicemailmain *v,
			   struct dp_report *rep)
{
	char *argv[2] = { NULL, NULL };
	int argc = dp_args_split(text, argv, 2);

	memset(v, 0, sizeof(*v));
	v->box = argc ? str_trim(argv[0]) : "";
	if (argc > 1 && !opaque(rep, argv[1], strlen(argv[1])))
		options_each(argv[1], "s", rep, voicemailmain_opt, v);
	return 0;
}
