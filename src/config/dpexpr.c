/*
 * dpexpr.c - dialplan ${...} substitution and $[...] expressions (see
 * dpexpr.h).
 *
 * The scanner follows the text of pbx_variables.c: a "${" or "$[" runs to
 * its matching '}' or ']', counting nested openings, and its contents are
 * substituted first when they hold another "${" or "$[".  The expression
 * language is ast_expr2's, rewritten as a recursive descent parser with the
 * same precedence (lowest first: "?::", '|', '&', comparisons, '+' '-',
 * '*' '/' '%', unary '-' '!', then ':' "=~" "~~")
 * and the same value rules: a value is a number, a numeric string or a
 * string; numbers are long doubles printed with "%.18Lg"; comparisons are
 * numeric unless one side is a string; quoted strings keep their quotes.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/dpargs.h"
#include "config/dpexpr.h"
#include "util/log.h"

#define EXPR_MAX_NEST   128          /* parentheses, unary operators */
#define EXPR_MAX_MEM    (1u << 20)   /* bytes of strings one evaluation makes */
#define REGEX_MAX_LEN   1024
#define FP_FMT          "%.18Lg"     /* as ast_expr2 */

struct xp {
	dp_var_h *vh;
	void *arg;
};

static int xp_run(const struct xp *x, const char *s, size_t len,
		  struct sbuf *out, int depth);
static int eval_run(const struct xp *x, const char *s, size_t len,
		    struct sbuf *out);

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	       c == '\f';
}

static bool out_full(const struct sbuf *out)
{
	return sbuf_err(out) || out->len > DPEXPR_MAX_LEN;
}

static void warn(const char *what, const char *text, size_t len)
{
	char qw[96], qt[256];

	if (len > 200)
		len = 200;
	log_event(LOG_WARN, "dialplan_expr", "error=%s text=%s",
		  log_q(qw, sizeof(qw), what, strlen(what)),
		  log_q(qt, sizeof(qt), text, len));
}

/* sscanf("%d"): blanks, a sign, digits; clamped to int.  Chars used, or 0. */
static size_t scan_int(const char *s, size_t len, int *v)
{
	size_t i = 0, digits = 0;
	long long n = 0;
	bool neg = false;

	while (i < len && is_blank(s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-')) {
		neg = s[i] == '-';
		i++;
	}
	for (; i < len && is_digit(s[i]); i++, digits++) {
		if (n <= INT_MAX)
			n = n * 10 + (s[i] - '0');
	}
	if (!digits)
		return 0;
	if (n > INT_MAX)
		n = INT_MAX;
	*v = neg ? -(int)n : (int)n;
	return i;
}

/*
 * parse_variable_name(): the name ends at the first ':' outside
 * parentheses, which is followed by "offset[:length]"; a '(' before it
 * makes the name a function.  Returns the length of the name.
 */
static size_t name_split(const char *s, size_t len, int *off, int *cnt, bool *isfunc)
{
	int parens = 0;

	*off = 0;
	*cnt = INT_MAX;
	*isfunc = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '(') {
			*isfunc = true;
			parens++;
		} else if (s[i] == ')') {
			parens--;
		} else if (s[i] == ':' && parens == 0) {
			size_t k = scan_int(s + i + 1, len - i - 1, off);

			if (k && i + 1 + k < len && s[i + 1 + k] == ':')
				scan_int(s + i + 2 + k, len - i - 2 - k, cnt);
			return i;
		}
	}
	return len;
}

/* Keep only the substring of what was appended to v since mark. */
static void substr_apply(struct sbuf *v, size_t mark, int off, int cnt)
{
	long long lr = (long long)(v->len - mark), o = off, c = cnt;

	if (o == 0 && c >= lr)
		return;
	if (o < 0) {
		o += lr;
		if (o < 0)
			o = 0;
	}
	if (o >= lr) {
		v->len = mark;
		return;
	}
	memmove(v->p + mark, v->p + mark + o, (size_t)(lr - o));
	lr -= o;
	if (c >= 0 && c < lr)
		lr = c;
	else if (c < 0)
		lr = lr > -c ? lr + c : 0;
	v->len = mark + (size_t)lr;
}

/* Last occurrence of c in s[0..len), or NULL. */
static const char *mem_rchr(const char *s, size_t len, char c)
{
	while (len--) {
		if (s[len] == c)
			return s + len;
	}
	return NULL;
}

/*
 * A variable or function: LEN() here, anything else from the callback.
 * 0 when found (value appended to out), else non-zero (ENOENT).
 */
static int lookup(const struct xp *x, const char *name, size_t len, bool isfunc,
		  struct sbuf *out)
{
	size_t mark = out->len;
	int err;

	if (isfunc) {
		const char *lp = memchr(name, '(', len);

		if (lp && lp - name == 3 && !memcmp(name, "LEN", 3)) {
			const char *a = lp + 1;
			const char *rp = mem_rchr(a, len - (size_t)(a - name), ')');

			if (!rp) {
				warn("missing ')' after function arguments", name, len);
				rp = name + len;
			}
			sbuf_printf(out, "%zu", (size_t)(rp - a));
			return 0;
		}
	}
	if (!x->vh)
		return ENOENT;
	err = x->vh(name, len, out, x->arg);
	if (err) {
		const char *lp = memchr(name, '(', len);

		out->len = mark;
		/* A known function may have no value (an anonymous caller's
		 * number): only a name nobody knows is worth a warning. */
		if (isfunc && lp && !dpexpr_func_known(name, (size_t)(lp - name)))
			warn("unknown function", name, len);
	}
	return err;
}

/* Find the end of "${...}" or "$[...]" starting at s[*ip]. */
static size_t block_end(const char *s, size_t len, size_t start, char open,
			bool *needsub, bool *closed)
{
	char close = open == '{' ? '}' : ']';
	char other = open == '{' ? '[' : '{';
	int brackets = 1;
	size_t j = start;

	*needsub = false;
	while (brackets && j < len) {
		if (s[j] == '$' && j + 1 < len && s[j + 1] == open) {
			*needsub = true;
			brackets++;
			j++;
		} else if (s[j] == open) {
			brackets++;
		} else if (s[j] == close) {
			brackets--;
		} else if (s[j] == '$' && j + 1 < len && s[j + 1] == other) {
			*needsub = true;
			j++;
		}
		j++;
	}
	*closed = brackets == 0;
	return j;
}

static int xp_block(const struct xp *x, const char *s, size_t len, size_t *ip,
		    struct sbuf *out, int depth)
{
	char open = s[*ip + 1];
	size_t start = *ip + 2, j, n;
	const char *np;
	bool needsub, closed;
	struct sbuf tmp;
	int err = 0;

	j = block_end(s, len, start, open, &needsub, &closed);
	n = j - start;
	if (closed)
		n--;
	else
		warn(open == '{' ? "missing '}'" : "missing ']'", s + *ip, len - *ip);
	*ip = j;

	sbuf_init(&tmp);
	np = s + start;
	if (needsub) {
		err = xp_run(x, np, n, &tmp, depth + 1);
		if (err)
			goto out;
		np = tmp.p ? tmp.p : "";
		n = tmp.len;
	}
	if (open == '{') {
		int off, cnt;
		bool isfunc;
		size_t base = name_split(np, n, &off, &cnt, &isfunc);
		size_t mark = out->len;

		if (!lookup(x, np, base, isfunc, out))
			substr_apply(out, mark, off, cnt);
	} else {
		err = eval_run(x, np, n, out);
		if (err == DPEXPR_ESYNTAX) {
			warn("expression syntax error", np, n);
			err = 0;
		}
	}
	if (!err && out_full(out))
		err = DPEXPR_ELIMIT;
out:
	sbuf_free(&tmp);
	return err;
}

static int xp_run(const struct xp *x, const char *s, size_t len,
		  struct sbuf *out, int depth)
{
	size_t i = 0;

	if (depth > DPEXPR_MAX_DEPTH)
		return DPEXPR_ELIMIT;
	while (i < len) {
		const char *d = memchr(s + i, '$', len - i);
		bool block = false;
		size_t pos;
		int err;

		if (d) {
			size_t at = (size_t)(d - s);

			pos = at - i;
			if (at + 1 < len && (s[at + 1] == '{' || s[at + 1] == '['))
				block = true;
			else
				pos++;
		} else {
			pos = len - i;
		}
		sbuf_append(out, s + i, pos);
		i += pos;
		if (out_full(out))
			return DPEXPR_ELIMIT;
		if (!block)
			continue;
		err = xp_block(x, s, len, &i, out, depth);
		if (err)
			return err;
	}
	return DPEXPR_OK;
}

int dpexpr_expand(const char *s, size_t len, dp_var_h *vh, void *arg,
		  struct sbuf *out)
{
	struct xp x = { vh, arg };

	return xp_run(&x, s, len, out, 0);
}

/* ---------------------------------------------------------------------- */
/* Expressions                                                            */

enum tok {
	T_END, T_STR, T_NUM, T_OR, T_AND, T_EQ, T_NE, T_LT, T_GT, T_LE, T_GE,
	T_PLUS, T_MINUS, T_MULT, T_DIV, T_MOD, T_COMPL, T_COLON, T_EQTILDE,
	T_TILDETILDE, T_COND, T_COLONCOLON, T_COMMA, T_LP, T_RP, T_BAD,
};

enum vtype { V_NUM, V_NSTR, V_STR };

struct val {
	long double n;           /* V_NUM */
	const char *s;           /* V_NSTR and V_STR, NUL-terminated */
	enum vtype t;
};

struct blk {
	struct blk *next;
	char data[];
};

struct ev {
	const struct xp *x;
	const char *p, *end;     /* what is left to scan */
	enum tok tok;            /* current token */
	const char *tp;
	size_t tl;
	int nest;
	int err;                 /* DPEXPR_* */
	size_t mem;
	struct blk *blocks;
};

static void ev_syntax(struct ev *e)
{
	if (!e->err)
		e->err = DPEXPR_ESYNTAX;
}

static char *ev_alloc(struct ev *e, size_t n)
{
	struct blk *b;

	if (e->mem + n > EXPR_MAX_MEM) {
		e->err = DPEXPR_ELIMIT;
		return NULL;
	}
	b = malloc(sizeof(*b) + n);
	if (!b) {
		e->err = DPEXPR_ELIMIT;
		return NULL;
	}
	e->mem += n;
	b->next = e->blocks;
	e->blocks = b;
	return b->data;
}

static const char *ev_strndup(struct ev *e, const char *s, size_t n)
{
	char *d = ev_alloc(e, n + 1);

	if (!d)
		return "";
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static bool word_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(ch) ||
	       c == '.' || c == '\'' || c == ';' || c == '\\' || c == '_' ||
	       c == '^' || c == '#' || c == '@' || c >= 0x80;
}

/* The lexer's <var> and <trail> states: "${...}" with what sticks to it. */
static size_t var_word(const char *p, const char *end)
{
	static const char stop[] = "-\t\r \n$():?%/+=*<>!|&";
	size_t i = 0;

	while (p + i + 1 < end && p[i] == '$' && p[i + 1] == '{') {
		int curly = 0;

		i += 2;
		for (;;) {
			if (p + i >= end)
				return 0;      /* unterminated: no token */
			if (p[i] == '{') {
				curly++;
			} else if (p[i] == '}' && --curly < 0) {
				i++;
				break;
			}
			i++;
		}
		while (p + i < end && !strchr(stop, p[i]))
			i++;
	}
	return i;
}

static void lex(struct ev *e)
{
	const char *p = e->p, *end = e->end;
	enum tok t;
	size_t l = 1;
	char n;

	while (p < end && is_blank(*p))
		p++;
	e->tp = p;
	if (p == end) {
		e->tok = T_END;
		e->tl = 0;
		e->p = p;
		return;
	}
	n = p + 1 < end ? p[1] : '\0';
	switch (*p) {
	case '|': t = T_OR; l = n == '|' ? 2 : 1; break;
	case '&': t = T_AND; l = n == '&' ? 2 : 1; break;
	case '=':
		if (n == '~') {
			t = T_EQTILDE;
			l = 2;
		} else {
			t = T_EQ;
			l = n == '=' ? 2 : 1;
		}
		break;
	case '~':
		t = n == '~' ? T_TILDETILDE : T_BAD;
		l = 2;
		break;
	case '>': t = n == '=' ? T_GE : T_GT; l = n == '=' ? 2 : 1; break;
	case '<': t = n == '=' ? T_LE : T_LT; l = n == '=' ? 2 : 1; break;
	case '!': t = n == '=' ? T_NE : T_COMPL; l = n == '=' ? 2 : 1; break;
	case ':': t = n == ':' ? T_COLONCOLON : T_COLON; l = n == ':' ? 2 : 1; break;
	case '+': t = T_PLUS; break;
	case '-': t = T_MINUS; break;
	case '*': t = T_MULT; break;
	case '/': t = T_DIV; break;
	case '%': t = T_MOD; break;
	case '?': t = T_COND; break;
	case ',': t = T_COMMA; break;
	case '(': t = T_LP; break;
	case ')': t = T_RP; break;
	case '"': {
		const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));

		if (q) {
			t = T_STR;
			l = (size_t)(q - p) + 1;
		} else {
			t = T_BAD;
		}
		break;
	}
	default: {
		size_t w = 0, k = 0;

		/* The longest of a word and a number wins; a number on a tie. */
		for (;;) {
			if (p + w < end && word_char(p[w]))
				w++;
			else if (p + w + 1 < end && p[w] == '$' && p[w + 1] != '{')
				w += 2;
			else
				break;
		}
		if (p + w + 1 < end && p[w] == '$' && p[w + 1] == '{') {
			size_t v = var_word(p + w, end);

			t = v ? T_STR : T_BAD;
			l = w + v;
			break;
		}
		while (p + k < end && is_digit(p[k]))
			k++;
		if (k && p + k + 1 < end && p[k] == '.' && is_digit(p[k + 1])) {
			k++;
			while (p + k < end && is_digit(p[k]))
				k++;
		}
		if (k && k >= w) {
			t = T_NUM;
			l = k;
		} else if (w) {
			t = T_STR;
			l = w;
		} else {
			t = T_BAD;
		}
		break;
	}
	}
	if (t == T_BAD)
		l = 1;
	e->tok = t;
	e->tl = l;
	e->p = p + l;
}

static struct val num(long double n)
{
	struct val v = { n, NULL, V_NUM };

	return v;
}

/* make_str(): a numeric string when made of digits and dots only. */
static struct val make_str(struct ev *e, const char *s, size_t n)
{
	struct val v = { 0, ev_strndup(e, s, n), V_STR };
	bool numeric = n > 0 && (is_digit(s[0]) || s[0] == '.');

	for (size_t i = 0; numeric && i < n; i++)
		numeric = is_digit(s[i]) || s[i] == '.';
	if (numeric)
		v.t = V_NSTR;
	return v;
}

static bool to_number(struct val *v)
{
	long double n;

	if (v->t == V_NUM)
		return true;
	if (v->t == V_STR)
		return false;
	errno = 0;
	n = strtold(v->s, NULL);
	if (errno) {
		warn("number out of range", v->s, strlen(v->s));
		*v = num(0);
		return false;
	}
	*v = num(n);
	return true;
}

static void to_string(struct ev *e, struct val *v)
{
	char buf[64];
	int n;

	if (v->t != V_NUM)
		return;
	n = snprintf(buf, sizeof(buf), FP_FMT, v->n);
	if (n < 0)
		n = 0;
	v->t = V_STR;
	v->s = ev_strndup(e, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static void strip_quotes(struct ev *e, struct val *v)
{
	size_t n = strlen(v->s), k = 0;
	char *d;

	if (!n || v->s[0] != '"' || v->s[n - 1] != '"')
		return;
	d = ev_alloc(e, n + 1);
	if (!d)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v->s[i] != '"')
			d[k++] = v->s[i];
	}
	d[k] = '\0';
	v->s = d;
}

static bool zero_or_null(struct val *v)
{
	if (v->t == V_NUM)
		return v->n == 0;
	return v->s[0] == '\0' || (to_number(v) && v->n == 0);
}

static void non_numeric(const struct val *v)
{
	const char *s = v->t == V_NUM ? "" : v->s;

	warn("non-numeric argument", s, strlen(s));
}

static struct val op_cmp(struct ev *e, enum tok op, struct val a, struct val b)
{
	int c;

	if (a.t == V_STR || b.t == V_STR) {
		to_string(e, &a);
		to_string(e, &b);
		c = strcmp(a.s, b.s);
	} else {
		to_number(&a);
		to_number(&b);
		c = a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
	}
	switch (op) {
	case T_EQ: return num(c == 0);
	case T_NE: return num(c != 0);
	case T_LT: return num(c < 0);
	case T_GT: return num(c > 0);
	case T_LE: return num(c <= 0);
	default:   return num(c >= 0);
	}
}

static struct val op_arith(enum tok op, struct val a, struct val b)
{
	switch (op) {
	case T_PLUS:
		if (!to_number(&a)) {
			non_numeric(&a);
			return to_number(&b) ? b : num(0);
		}
		if (!to_number(&b))
			return a;
		return num(a.n + b.n);
	case T_MINUS:
		if (!to_number(&a)) {
			non_numeric(&a);
			return to_number(&b) ? num(-b.n) : num(0);
		}
		if (!to_number(&b)) {
			non_numeric(&b);
			return a;
		}
		return num(a.n - b.n);
	case T_MULT:
		if (!to_number(&a) || !to_number(&b)) {
			non_numeric(a.t == V_NUM ? &b : &a);
			return num(0);
		}
		return num(a.n * b.n);
	case T_DIV:
		if (!to_number(&a)) {
			non_numeric(&a);
			return num(0);
		}
		if (!to_number(&b)) {
			non_numeric(&b);
			return num(INT_MAX);
		}
		if (b.n == 0) {
			/* ast_expr2 warns and answers INT_MAX. */
			warn("division by zero", "", 0);
			return num(INT_MAX);
		}
		return num(a.n / b.n);
	default:
		if (!to_number(&a) || !to_number(&b)) {
			non_numeric(a.t == V_NUM ? &b : &a);
			return num(0);
		}
		if (b.n == 0) {
			warn("division by zero", "", 0);
			return b;
		}
		return num(fmodl(a.n, b.n));
	}
}

static bool has_backref(const char *re)
{
	for (; *re; re++) {
		if (re[0] == '\\' && re[1]) {
			if (re[1] >= '1' && re[1] <= '9')
				return true;
			re++;
		}
	}
	return false;
}

/* ":" (anchored at the start) and "=~": the first group, or the length. */
static struct val op_match(struct ev *e, struct val a, struct val b, bool anchored)
{
	regmatch_t rm[2];
	regex_t re;
	struct val r;
	int rc;

	to_string(e, &a);
	to_string(e, &b);
	strip_quotes(e, &a);
	strip_quotes(e, &b);
	if (strlen(b.s) > REGEX_MAX_LEN || has_backref(b.s)) {
		warn("regular expression refused", b.s, strlen(b.s));
		return make_str(e, "", 0);
	}
	rc = regcomp(&re, b.s, REG_EXTENDED);
	if (rc) {
		warn("invalid regular expression", b.s, strlen(b.s));
		return make_str(e, "", 0);
	}
	if (regexec(&re, a.s, 2, rm, 0) == 0 && (!anchored || rm[0].rm_so == 0)) {
		if (rm[1].rm_so >= 0)
			r = make_str(e, a.s + rm[1].rm_so, (size_t)(rm[1].rm_eo - rm[1].rm_so));
		else
			r = num((long double)(rm[0].rm_eo - rm[0].rm_so));
	} else {
		r = re.re_nsub == 0 ? num(0) : make_str(e, "", 0);
	}
	regfree(&re);
	return r;
}

static struct val op_concat(struct ev *e, struct val a, struct val b)
{
	size_t la, lb;
	char *d;

	to_string(e, &a);
	to_string(e, &b);
	strip_quotes(e, &a);
	strip_quotes(e, &b);
	la = strlen(a.s);
	lb = strlen(b.s);
	d = ev_alloc(e, la + lb + 1);
	if (!d)
		return num(0);
	memcpy(d, a.s, la);
	memcpy(d + la, b.s, lb);
	return make_str(e, d, la + lb);
}

static struct val op_compl(struct val a)
{
	int v1 = 0;

	if (a.t == V_NUM) {
		v1 = a.n != 0;
	} else if (a.s[0] && strcmp(a.s, "0")) {
		/* atoi(): text that does not start with a number is 0. */
		scan_int(a.s, strlen(a.s), &v1);
	}
	return num(!v1);
}

static void val_print(const struct val *v, struct sbuf *out)
{
	if (v->t == V_NUM)
		sbuf_printf(out, FP_FMT, v->n);
	else
		sbuf_append_str(out, v->s);
}

struct mathfn {
	const char *name;
	int argc;
	long double (*f1)(long double);
	long double (*f2)(long double, long double);
};

static long double fn_exp10(long double x)
{
	return powl(10.0L, x);
}

static const struct mathfn mathfns[] = {
	{"COS", 1, cosl, NULL},     {"SIN", 1, sinl, NULL},
	{"TAN", 1, tanl, NULL},     {"ACOS", 1, acosl, NULL},
	{"ASIN", 1, asinl, NULL},   {"ATAN", 1, atanl, NULL},
	{"ATAN2", 2, NULL, atan2l}, {"POW", 2, NULL, powl},
	{"SQRT", 1, sqrtl, NULL},   {"FLOOR", 1, floorl, NULL},
	{"CEIL", 1, ceill, NULL},   {"ROUND", 1, roundl, NULL},
	{"RINT", 1, rintl, NULL},   {"TRUNC", 1, truncl, NULL},
	{"EXP", 1, expl, NULL},     {"EXP2", 1, exp2l, NULL},
	{"EXP10", 1, fn_exp10, NULL}, {"LOG", 1, logl, NULL},
	{"LOG2", 1, log2l, NULL},   {"LOG10", 1, log10l, NULL},
	{"REMAINDER", 2, NULL, remainderl}, {"ABS", 1, fabsl, NULL},
};

#define FUNC_MAX_ARGS 16

/* op_func(): a math function, or a dialplan function through lookup(). */
static struct val op_func(struct ev *e, const char *name, struct val *args, int argc)
{
	struct sbuf call, res;
	struct val r = num(0);

	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789") != strlen(name)) {
		warn("not a function name", name, strlen(name));
		return r;
	}
	for (size_t i = 0; i < sizeof(mathfns) / sizeof(mathfns[0]); i++) {
		const struct mathfn *m = &mathfns[i];
		long double x, y;

		if (strcmp(m->name, name))
			continue;
		if (argc != m->argc) {
			warn("wrong number of arguments", name, strlen(name));
			return r;
		}
		x = to_number(&args[0]) ? args[0].n : 0;
		if (m->argc == 1)
			return num(m->f1(x));
		y = to_number(&args[1]) ? args[1].n : 0;
		return num(m->f2(x, y));
	}

	sbuf_init(&call);
	sbuf_init(&res);
	sbuf_printf(&call, "%s(", name);
	for (int i = 0; i < argc; i++) {
		if (i)
			sbuf_append(&call, ",", 1);
		val_print(&args[i], &call);
	}
	sbuf_append(&call, ")", 1);
	if (sbuf_err(&call) || call.len > DPEXPR_MAX_LEN) {
		e->err = DPEXPR_ELIMIT;
	} else if (!lookup(e->x, call.p, call.len, true, &res)) {
		const char *s = res.p ? res.p : "";

		if (sbuf_err(&res) || res.len > DPEXPR_MAX_LEN)
			e->err = DPEXPR_ELIMIT;
		else if (strspn(s, "-0123456789. \t") >= res.len)
			r = num(res.len ? strtold(sbuf_cstr(&res), NULL) : 0);
		else
			r = make_str(e, s, res.len);
	}
	sbuf_free(&call);
	sbuf_free(&res);
	return r;
}

static struct val p_cond(struct ev *e);
static struct val p_unary(struct ev *e);

static bool nest_enter(struct ev *e)
{
	if (++e->nest > EXPR_MAX_NEST) {
		e->err = DPEXPR_ELIMIT;
		return false;
	}
	return true;
}

static struct val p_primary(struct ev *e)
{
	struct val v = num(0);

	if (e->err)
		return v;
	if (e->tok == T_LP) {
		lex(e);
		if (!nest_enter(e))
			return v;
		v = p_cond(e);
		e->nest--;
		if (e->tok != T_RP) {
			ev_syntax(e);
			return v;
		}
		lex(e);
		return v;
	}
	if (e->tok != T_STR && e->tok != T_NUM) {
		ev_syntax(e);
		return v;
	}
	v.t = e->tok == T_NUM ? V_NSTR : V_STR;
	v.s = ev_strndup(e, e->tp, e->tl);
	lex(e);
	if (e->tok == T_LP) {
		struct val args[FUNC_MAX_ARGS];
		int argc = 0;

		lex(e);
		if (!nest_enter(e))
			return v;
		for (;;) {
			if (argc == FUNC_MAX_ARGS) {
				ev_syntax(e);
				break;
			}
			if (argc && (e->tok == T_COMMA || e->tok == T_RP))
				args[argc++] = make_str(e, "", 0);
			else
				args[argc++] = p_cond(e);
			if (e->err || e->tok != T_COMMA)
				break;
			lex(e);
		}
		e->nest--;
		if (!e->err && e->tok != T_RP)
			ev_syntax(e);
		if (e->err)
			return v;
		lex(e);
		return op_func(e, v.s, args, argc);
	}
	return v;
}

static struct val p_colon(struct ev *e)
{
	struct val a = p_primary(e);

	while (!e->err && (e->tok == T_COLON || e->tok == T_EQTILDE ||
			   e->tok == T_TILDETILDE)) {
		enum tok op = e->tok;
		struct val b;

		lex(e);
		/* As with bison's precedences: a unary operator on the right
		 * takes everything that binds tighter than itself. */
		b = (e->tok == T_COMPL || e->tok == T_MINUS) ? p_unary(e) : p_primary(e);
		if (e->err)
			break;
		if (op == T_TILDETILDE)
			a = op_concat(e, a, b);
		else
			a = op_match(e, a, b, op == T_COLON);
	}
	return a;
}

static struct val p_unary(struct ev *e)
{
	struct val v;
	enum tok op = e->tok;

	if (op != T_COMPL && op != T_MINUS)
		return p_colon(e);
	lex(e);
	if (!nest_enter(e))
		return num(0);
	v = p_unary(e);
	e->nest--;
	if (e->err)
		return v;
	if (op == T_COMPL)
		return op_compl(v);
	if (!to_number(&v)) {
		non_numeric(&v);
		return num(0);
	}
	return num(-v.n);
}

static struct val p_mul(struct ev *e)
{
	struct val a = p_unary(e);

	while (!e->err && (e->tok == T_MULT || e->tok == T_DIV || e->tok == T_MOD)) {
		enum tok op = e->tok;
		struct val b;

		lex(e);
		b = p_unary(e);
		if (!e->err)
			a = op_arith(op, a, b);
	}
	return a;
}

static struct val p_add(struct ev *e)
{
	struct val a = p_mul(e);

	while (!e->err && (e->tok == T_PLUS || e->tok == T_MINUS)) {
		enum tok op = e->tok;
		struct val b;

		lex(e);
		b = p_mul(e);
		if (!e->err)
			a = op_arith(op, a, b);
	}
	return a;
}

static struct val p_cmp(struct ev *e)
{
	struct val a = p_add(e);

	while (!e->err && e->tok >= T_EQ && e->tok <= T_GE) {
		enum tok op = e->tok;
		struct val b;

		lex(e);
		b = p_add(e);
		if (!e->err)
			a = op_cmp(e, op, a, b);
	}
	return a;
}

static struct val p_and(struct ev *e)
{
	struct val a = p_cmp(e);

	while (!e->err && e->tok == T_AND) {
		struct val b;

		lex(e);
		b = p_cmp(e);
		if (!e->err)
			a = (zero_or_null(&a) || zero_or_null(&b)) ? num(0) : a;
	}
	return a;
}

static struct val p_or(struct ev *e)
{
	struct val a = p_and(e);

	while (!e->err && e->tok == T_OR) {
		struct val b;

		lex(e);
		b = p_and(e);
		if (!e->err)
			a = zero_or_null(&a) ? b : a;
	}
	return a;
}

/* "a ? b :: c"; the middle is a whole expression, as in the grammar. */
static struct val p_cond(struct ev *e)
{
	struct val a = p_or(e);

	while (!e->err && e->tok == T_COND) {
		struct val b, c;

		lex(e);
		if (!nest_enter(e))
			break;
		b = p_cond(e);
		e->nest--;
		if (e->err)
			break;
		if (e->tok != T_COLONCOLON) {
			ev_syntax(e);
			break;
		}
		lex(e);
		c = p_or(e);
		if (e->err)
			break;
		if (a.t == V_STR) {
			a = (a.s[0] && strcmp(a.s, "\"\"") && strcmp(a.s, "0")) ? b : c;
		} else {
			to_number(&a);
			a = a.n != 0 ? b : c;
		}
	}
	return a;
}

static int eval_run(const struct xp *x, const char *s, size_t len, struct sbuf *out)
{
	struct ev e;
	struct val v;

	memset(&e, 0, sizeof(e));
	e.x = x;
	e.p = s;
	e.end = s + len;
	lex(&e);
	if (e.tok != T_END) {
		v = p_cond(&e);
		if (!e.err && e.tok != T_END)
			ev_syntax(&e);
		if (e.err == DPEXPR_ESYNTAX)
			sbuf_append(out, "0", 1);
		else if (!e.err)
			val_print(&v, out);
	}
	while (e.blocks) {
		struct blk *b = e.blocks;

		e.blocks = b->next;
		free(b);
	}
	if (!e.err && out_full(out))
		e.err = DPEXPR_ELIMIT;
	return e.err;
}

int dpexpr_eval(const char *expr, size_t len, dp_var_h *vh, void *arg,
		struct sbuf *out)
{
	struct xp x = { vh, arg };

	return eval_run(&x, expr, len, out);
}

bool dpexpr_true(const char *s)
{
	size_t i = 0;

	if (!s || !*s)
		return false;
	while (is_blank(s[i]))
		i++;
	if (s[i] == '+' || s[i] == '-')
		i++;
	if (!is_digit(s[i]))
		return true;
	/* An integer: its value decides. */
	for (; is_digit(s[i]); i++) {
		if (s[i] != '0')
			return true;
	}
	return false;
}

bool dpexpr_has_subst(const char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (s[i] == '$' && (s[i + 1] == '{' || s[i + 1] == '['))
			return true;
	}
	return false;
}

/* The first c at substitution depth zero (inside false) or above. */
static const char *subst_chr(const char *s, char c, bool inside)
{
	int depth = 0;

	for (; *s; s++) {
		if (s[0] == '$' && (s[1] == '{' || s[1] == '[')) {
			depth++;
			s++;
		} else if (depth && (*s == '}' || *s == ']')) {
			depth--;
		} else if ((depth > 0) == inside && *s == c) {
			return s;
		}
	}
	return NULL;
}

char *dpexpr_chr(char *s, char c)
{
	return (char *)subst_chr(s, c, false);
}

bool dpexpr_chr_inside(const char *s, char c)
{
	return subst_chr(s, c, true) != NULL;
}

static const char *const funcs[] = { "CALLERID", "EXCEPTION", "LEN", "MAILBOX_EXISTS",
				     "PJSIP_HEADER", "TIMEOUT", "VM_INFO" };

bool dpexpr_func_known(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++) {
		if (strlen(funcs[i]) == len && !memcmp(funcs[i], name, len))
			return true;
	}
	return false;
}

/* The data items of the functions answered outside this file. */
static bool func_item_ok(const char *name, size_t nlen, const char *item, size_t ilen)
{
	static const char *const callerid[] = { "all", "name", "num", "number", "pres" };
	static const char *const exception[] = { "reason", "context", "exten", "priority" };
	static const char *const timeout[] = { "digit", "response" };
	const char *const *v;
	size_t n;

	if (nlen == 8 && !memcmp(name, "CALLERID", 8)) {
		v = callerid;
		n = 5;
	} else if (nlen == 9 && !memcmp(name, "EXCEPTION", 9)) {
		v = exception;
		n = 4;
	} else if (nlen == 7 && !memcmp(name, "TIMEOUT", 7)) {
		v = timeout;
		n = 2;
	} else {
		return true;
	}
	while (ilen && is_blank(*item)) {
		item++;
		ilen--;
	}
	while (ilen && is_blank(item[ilen - 1]))
		ilen--;
	for (size_t i = 0; i < n; i++) {
		if (strlen(v[i]) == ilen && !strncasecmp(v[i], item, ilen))
			return true;
	}
	return false;
}

static int check_func(const char *s, size_t n, char *err, size_t errsize)
{
	const char *lp = memchr(s, '(', n);
	const char *rp;
	size_t nl = (size_t)(lp - s);

	if (memchr(s, '$', nl))
		return 0;      /* the name is computed */
	if (!dpexpr_func_known(s, nl)) {
		snprintf(err, errsize, "unknown function '%.*s'", (int)nl, s);
		return EINVAL;
	}
	rp = mem_rchr(lp, n - nl, ')');
	if (!rp) {
		snprintf(err, errsize, "missing ')' in '${%.*s}'", (int)(n > 60 ? 60 : n), s);
		return EINVAL;
	}
	if (memchr(lp, '$', (size_t)(rp - lp)))
		return 0;
	if (nl == 12 && !memcmp(s, "PJSIP_HEADER", 12)) {
		struct dp_report rep = { .written = true };
		struct dp_pjsip_header h;
		char *args = strndup(lp + 1, (size_t)(rp - lp - 1));

		if (!args) {
			snprintf(err, errsize, "out of memory");
			return ENOMEM;
		}
		if (dp_pjsip_header_parse(args, &h, &rep))
			snprintf(err, errsize, "%s", rep.why);
		free(args);
		return rep.why[0] ? EINVAL : 0;
	}
	if (!func_item_ok(s, nl, lp + 1, (size_t)(rp - lp - 1))) {
		snprintf(err, errsize, "%.*s: unknown data item '%.*s'", (int)nl, s,
			 (int)(rp - lp - 1 > 60 ? 60 : rp - lp - 1), lp + 1);
		return EINVAL;
	}
	return 0;
}

static int check_run(const char *s, size_t len, char *err, size_t errsize, int depth)
{
	size_t i = 0;

	if (depth > DPEXPR_MAX_DEPTH) {
		snprintf(err, errsize, "'${' and '$[' nested too deeply (max %d)",
			 DPEXPR_MAX_DEPTH);
		return EINVAL;
	}
	while (i < len) {
		const char *d = memchr(s + i, '$', len - i);
		size_t start, j, n;
		bool needsub, closed;
		char open;

		if (!d)
			break;
		i = (size_t)(d - s);
		if (i + 1 >= len || (s[i + 1] != '{' && s[i + 1] != '[')) {
			i++;
			continue;
		}
		open = s[i + 1];
		start = i + 2;
		j = block_end(s, len, start, open, &needsub, &closed);
		if (!closed) {
			size_t show = len - i > 60 ? 60 : len - i;

			snprintf(err, errsize, "missing '%c' in '%.*s'",
				 open == '{' ? '}' : ']', (int)show, s + i);
			return EINVAL;
		}
		n = j - start - 1;
		if (needsub && check_run(s + start, n, err, errsize, depth + 1))
			return EINVAL;
		if (open == '{') {
			int off, cnt;
			bool isfunc;
			size_t base = name_split(s + start, n, &off, &cnt, &isfunc);

			if (isfunc && memchr(s + start, '(', base) &&
			    check_func(s + start, base, err, errsize))
				return EINVAL;
		} else if (!needsub) {
			struct xp x = { NULL, NULL };
			struct sbuf tmp;
			int rc;

			sbuf_init(&tmp);
			rc = eval_run(&x, s + start, n, &tmp);
			sbuf_free(&tmp);
			if (rc) {
				snprintf(err, errsize, "%s in '$[%.*s]'",
					 rc == DPEXPR_ESYNTAX ? "syntax error" :
					 "expression too complex", (int)(n > 60 ? 60 : n),
					 s + start);
				return EINVAL;
			}
		}
		i = j;
	}
	return 0;
}

int dpexpr_check(const char *s, char *err, size_t errsize)
{
	return check_run(s, strlen(s), err, errsize, 0);
}
