/*
 * astconf.c - Asterisk's configuration file grammar (see astconf.h).
 *
 * Files are read whole (bounded in size) and split into lines here, so a
 * hostile file can make us report errors but never overrun a buffer or
 * loop.  Comment handling follows config_text_file_load(): the first ';'
 * not preceded by '\' ends the line, ";--" opens a block comment unless a
 * fourth '-' follows, and "--;" closes one.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/astconf.h"
#include "config/cfgval.h"
#include "util/hash.h"
#include "util/vec.h"

#define MAX_NESTED_COMMENTS 128    /* as Asterisk */
#define MAX_FILTER_EXPR 16

/* file_slurp()'s own failures, as the errno values closest to them, which
 * slurp_strerror() words.  Should open() or read() give one of these, the
 * wording still fits. */
#define SLURP_NOTREG  EINVAL
#define SLURP_TOOBIG  EFBIG
#define SLURP_TOOMUCH E2BIG
#define SLURP_NOMEM   ENOMEM

/* The sections of one name, in file order (through same_next). */
struct astconf_slot {
	struct hnode node;
	struct astconf_section *first;
	struct astconf_section *last;
};

struct reader {
	struct astconf *ac;
	struct diag *diag;
	struct {
		dev_t dev;
		ino_t ino;
	} stack[ASTCONF_MAX_DEPTH + 1];
	int depth;               /* files being read right now */
	bool fatal;              /* out of memory or too big: stop reading */
};

struct filestate {
	const char *display;
	unsigned file_idx;
	struct astconf_section *cur;
	bool skip;               /* after a broken header, until the next one */
	bool orphan_reported;
	int comment;             /* block comment depth */
	int nest[MAX_NESTED_COMMENTS];
};

static void file_parse(struct reader *rd, struct filestate *fs, char *buf,
		       size_t len);

static void error_at(struct reader *rd, const struct filestate *fs, int line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void error_at(struct reader *rd, const struct filestate *fs, int line,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(rd->diag, DIAG_ERROR, fs->display, line, NULL, fmt, ap);
	va_end(ap);
}

static void warn_at(struct reader *rd, const struct filestate *fs, int line,
		    const char *text)
{
	diag_add(rd->diag, DIAG_WARNING, fs->display, line, "%s", text);
}

static void out_of_memory(struct reader *rd, const char *file)
{
	if (!rd->fatal)
		diag_add(rd->diag, DIAG_ERROR, file, 0, "out of memory");
	rd->fatal = true;
}

/* Section names are ours to read, not a peer's: FNV, mixed because the
 * table takes its buckets from the low bits. */
static uint64_t name_hash(const char *name)
{
	return hash_mix64(hash_fnv_strcase(name));
}

static struct astconf_slot *index_find(const struct astconf *ac, const char *name)
{
	uint64_t hash = name_hash(name);
	struct hnode *n;

	for (n = htab_bucket(&ac->index, hash); n; n = n->next) {
		struct astconf_slot *slot = htab_entry(n, struct astconf_slot, node);

		if (n->hash == hash && !strcasecmp(slot->first->name, name))
			return slot;
	}
	return NULL;
}

/* Append s to the list of sections and to the index of names. */
static int section_append(struct astconf *ac, struct astconf_section *s)
{
	struct astconf_slot *slot;
	int err;

	err = vec_reserve_raw(&ac->sections, &ac->sections_cap, sizeof(*ac->sections),
			      ac->sections_n + 1, 64);
	if (err)
		return err;

	slot = index_find(ac, s->name);
	if (slot) {
		slot->last->same_next = s;
		slot->last = s;
	} else {
		slot = arena_alloc(&ac->arena, sizeof(*slot));
		if (!slot)
			return ENOMEM;
		slot->first = slot->last = s;
		htab_insert(&ac->index, &slot->node, name_hash(s->name));
	}
	ac->sections[ac->sections_n++] = s;
	return 0;
}

static int var_push(struct reader *rd, const struct filestate *fs,
		    struct astconf_section *s, const struct astconf_var *v, int line)
{
	struct astconf *ac = rd->ac;

	if (ac->total_vars >= ASTCONF_MAX_VARS) {
		error_at(rd, fs, line, "too many variables (max %u, templates expanded)",
			 ASTCONF_MAX_VARS);
		rd->fatal = true;
		return E2BIG;
	}
	if (vec_reserve_raw(&s->vars, &s->vars_cap, sizeof(*s->vars), s->vars_n + 1, 8)) {
		out_of_memory(rd, fs->display);
		return ENOMEM;
	}
	s->vars[s->vars_n++] = *v;
	ac->total_vars++;
	return 0;
}

static void section_discard(struct astconf_section *s)
{
	if (!s)
		return;
	free(s->vars);
	s->vars = NULL;
	s->vars_n = s->vars_cap = 0;
}

/* Copy every variable of base, in order, to the end of s. */
static int section_inherit(struct reader *rd, const struct filestate *fs,
			   struct astconf_section *s,
			   const struct astconf_section *base, int line)
{
	/* base may be s itself ("[x](+,x)"): copy only what was there, and
	 * re-read base->vars after each push since it may move. */
	size_t n = base->vars_n;

	for (size_t i = 0; i < n; i++) {
		struct astconf_var v = base->vars[i];
		int err;

		v.inherited = true;
		err = var_push(rd, fs, s, &v, line);
		if (err)
			return err;
	}
	return 0;
}

struct filter {
	size_t n;
	struct {
		enum { F_REGEX, F_TPL_INCLUDE, F_TPL_RESTRICT } kind;
		regex_t name;
		regex_t value;
	} e[MAX_FILTER_EXPR];
};

static void filter_free(struct filter *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->e[i].kind == F_REGEX) {
			regfree(&f->e[i].name);
			regfree(&f->e[i].value);
		}
	}
	f->n = 0;
}

/*
 * Compile the filter of "(+name=regex&name=regex)", as Asterisk's
 * does_category_match(): every expression must match some variable;
 * TEMPLATES=include|restrict controls whether templates may match.
 */
static int filter_compile(struct reader *rd, const struct filestate *fs, int line,
			  const char *text, struct filter *f)
{
	char buf[ASTCONF_MAX_LINE + 1];
	char *rest = buf, *expr;

	f->n = 0;
	snprintf(buf, sizeof(buf), "%s", text);
	while ((expr = strsep(&rest, "&")) != NULL) {
		char *eq, *name, *value;
		int rc;

		expr = cfgval_strip(expr);
		if (!*expr)
			continue;
		eq = strchr(expr, '=');
		if (!eq) {
			error_at(rd, fs, line, "invalid filter '%s' (expected name=value)", expr);
			goto fail;
		}
		*eq = '\0';
		name = cfgval_strip(expr);
		value = cfgval_strip(eq + 1);
		if (f->n == MAX_FILTER_EXPR) {
			error_at(rd, fs, line, "filter has too many expressions (max %d)",
				 MAX_FILTER_EXPR);
			goto fail;
		}
		if (!strcmp(name, "TEMPLATES")) {
			if (!strcasecmp(value, "include")) {
				f->e[f->n++].kind = F_TPL_INCLUDE;
			} else if (!strcasecmp(value, "restrict")) {
				f->e[f->n++].kind = F_TPL_RESTRICT;
			} else {
				error_at(rd, fs, line, "invalid filter TEMPLATES=%s "
					 "(expected include or restrict)", value);
				goto fail;
			}
			continue;
		}
		rc = regcomp(&f->e[f->n].name, name, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			error_at(rd, fs, line, "invalid regular expression '%s' in filter", name);
			goto fail;
		}
		rc = regcomp(&f->e[f->n].value, value, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			regfree(&f->e[f->n].name);
			error_at(rd, fs, line, "invalid regular expression '%s' in filter", value);
			goto fail;
		}
		f->e[f->n++].kind = F_REGEX;
	}
	return 0;
fail:
	filter_free(f);
	return EINVAL;
}

static bool filter_match(const struct filter *f, const struct astconf_section *s)
{
	bool template_ok = false;

	if (f->n == 0)
		return !s->template;
	for (size_t i = 0; i < f->n; i++) {
		bool found = false;

		switch (f->e[i].kind) {
		case F_TPL_INCLUDE:
			if (s->template)
				template_ok = true;
			found = true;
			break;
		case F_TPL_RESTRICT:
			if (!s->template)
				return false;
			template_ok = true;
			found = true;
			break;
		case F_REGEX:
			for (size_t j = 0; j < s->vars_n && !found; j++) {
				found = !regexec(&f->e[i].name, s->vars[j].name, 0, NULL, 0) &&
					!regexec(&f->e[i].value, s->vars[j].value, 0, NULL, 0);
			}
			break;
		}
		if (!found)
			return false;
	}
	return !s->template || template_ok;
}

/* "[name](options)" */
static void header_process(struct reader *rd, struct filestate *fs, char *text, int line)
{
	struct astconf *ac = rd->ac;
	struct astconf_section *newcat = NULL, *tgt;
	char *close, *name, *opts = NULL, *rest, *opt;
	size_t namelen;

	fs->skip = true;   /* until this header proves good */
	close = strchr(text, ']');
	if (!close) {
		error_at(rd, fs, line, "no closing ']'");
		return;
	}
	*close = '\0';
	name = text + 1;
	rest = close + 1;
	if (*rest == '(') {
		char *end = strchr(rest, ')');
		if (!end) {
			error_at(rd, fs, line, "no closing ')'");
			return;
		}
		*end = '\0';
		opts = rest + 1;
		if (*cfgval_strip(end + 1))
			warn_at(rd, fs, line, "text after ')' ignored");
	} else if (*rest) {
		char *r = cfgval_strip(rest);
		if (*r == '(')
			warn_at(rd, fs, line, "text after ']' ignored "
				"(no space is allowed between ']' and '(')");
		else
			warn_at(rd, fs, line, "text after ']' ignored");
	}

	namelen = strlen(name);
	if (namelen == 0) {
		error_at(rd, fs, line, "empty section name");
		return;
	}
	if (namelen > ASTCONF_MAX_NAME) {
		error_at(rd, fs, line, "section name longer than %d characters",
			 ASTCONF_MAX_NAME);
		return;
	}

	newcat = arena_alloc(&ac->arena, sizeof(*newcat));
	if (!newcat || !(newcat->name = arena_strndup(&ac->arena, name, namelen))) {
		out_of_memory(rd, fs->display);
		return;
	}
	newcat->file = fs->display;
	newcat->file_idx = fs->file_idx;
	newcat->line = line;
	tgt = newcat;

	while (opts && (opt = strsep(&opts, ",")) != NULL) {
		opt = cfgval_strip(opt);
		if (!strcmp(opt, "!")) {
			tgt->template = true;
		} else if (opt[0] == '+') {
			struct astconf_slot *slot;
			struct astconf_section *s = NULL;
			struct filter f;

			if (!newcat) {
				error_at(rd, fs, line, "'+' given twice");
				return;
			}
			if (filter_compile(rd, fs, line, opt + 1, &f))
				goto fail;
			slot = index_find(ac, newcat->name);
			for (s = slot ? slot->first : NULL; s; s = s->same_next) {
				if (filter_match(&f, s))
					break;
			}
			filter_free(&f);
			if (!s) {
				error_at(rd, fs, line, "cannot append to section '%s': "
					 "no such section", newcat->name);
				goto fail;
			}
			s->template |= newcat->template;
			for (size_t i = 0; i < newcat->vars_n; i++) {
				if (var_push(rd, fs, s, &newcat->vars[i], line))
					goto fail;
			}
			/* Those were moved, not copied. */
			ac->total_vars -= newcat->vars_n;
			section_discard(newcat);
			newcat = NULL;
			tgt = s;
		} else if (!*opt) {
			error_at(rd, fs, line, "empty name in '(...)'");
			goto fail;
		} else {
			const struct astconf_section *base = astconf_section(ac, opt);

			if (!base) {
				error_at(rd, fs, line, "cannot inherit from '%s': no such section", opt);
				goto fail;
			}
			if (section_inherit(rd, fs, tgt, base, line))
				goto fail;
		}
	}

	if (newcat && section_append(ac, newcat)) {
		out_of_memory(rd, fs->display);
		goto fail;
	}
	fs->cur = tgt;
	ac->current = tgt;
	fs->skip = false;
	return;
fail:
	section_discard(newcat);
}

static void var_process(struct reader *rd, struct filestate *fs, char *text, int line)
{
	struct astconf *ac = rd->ac;
	struct astconf_var v;
	bool escaped;
	char *cur = text, *eq, *name, *value;

	if (fs->skip)
		return;
	if (!fs->cur) {
		/* One report is enough: every following line would repeat it. */
		if (!fs->orphan_reported)
			error_at(rd, fs, line, "variable outside of any section");
		fs->orphan_reported = true;
		return;
	}

	escaped = cur[0] == '\\';
	if (escaped) {
		cur++;
		if (!cur[0] || cfgval_is_blank(cur[0])) {
			error_at(rd, fs, line, "invalid escape");
			return;
		}
	}
	eq = strchr(cur + escaped, '=');
	if (!eq) {
		error_at(rd, fs, line, "no '=' in line");
		return;
	}

	memset(&v, 0, sizeof(v));
	v.file = fs->display;
	v.file_idx = fs->file_idx;
	v.line = line;
	v.origin = fs->cur->name;

	if (eq > cur + escaped && eq[-1] == '+') {
		struct astconf_var *old = NULL;

		eq[-1] = '\0';
		name = cfgval_strip(cur);
		for (size_t i = 0; i < fs->cur->vars_n; i++) {
			if (!strcmp(fs->cur->vars[i].name, name))
				old = &fs->cur->vars[i];
		}
		if (old && *name) {
			/* Asterisk appends the raw text after '=', blanks
			 * included, then trims the ends of the result. */
			size_t ol = strlen(old->value), al = strlen(eq + 1);
			char *nv = arena_alloc(&ac->arena, ol + al + 1);
			if (!nv) {
				out_of_memory(rd, fs->display);
				return;
			}
			memcpy(nv, old->value, ol);
			memcpy(nv + ol, eq + 1, al + 1);
			old->value = cfgval_strip(nv);
			return;
		}
		value = eq + 1;
	} else {
		*eq = '\0';
		value = eq + 1;
		if (*value == '>') {
			v.object = true;
			value++;
		}
		name = cfgval_strip(cur);
	}
	if (!*name) {
		error_at(rd, fs, line, "no variable name");
		return;
	}
	v.name = arena_strdup(&ac->arena, name);
	v.value = arena_strdup(&ac->arena, cfgval_strip(value));
	if (!v.name || !v.value) {
		out_of_memory(rd, fs->display);
		return;
	}
	var_push(rd, fs, fs->cur, &v, line);
}

static int files_add(struct reader *rd, const char *display, const char *path,
		     unsigned *idx)
{
	struct astconf *ac = rd->ac;
	char *d, *p;

	if (vec_reserve_raw(&ac->files, &ac->files_cap, sizeof(*ac->files),
			    ac->files_n + 1, 8) ||
	    vec_reserve_raw(&ac->paths, &ac->paths_cap, sizeof(*ac->paths),
			    ac->files_n + 1, 8))
		return ENOMEM;
	d = arena_strdup(&ac->arena, display);
	p = arena_strdup(&ac->arena, path);
	if (!d || !p)
		return ENOMEM;
	ac->files[ac->files_n] = d;
	ac->paths[ac->files_n] = p;
	*idx = (unsigned)ac->files_n++;
	return 0;
}

/* The errno of a failed call.  Never 0: callers take 0 for success and
 * would go on to use outputs the failed call never wrote. */
static int sys_error(void)
{
	int err = errno;

	return err ? err : EIO;
}

/* Read a whole regular file; 0 or an errno value (SLURP_ ones included). */
static int file_slurp(struct reader *rd, const char *path, char **bufp,
		      size_t *lenp, struct stat *st)
{
	char *buf;
	size_t len = 0, cap;
	int fd, err = 0;

	*bufp = NULL;
	*lenp = 0;
	/* O_NONBLOCK: opening a FIFO must not hang the daemon. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return sys_error();
	if (fstat(fd, st)) {
		err = sys_error();
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		err = SLURP_NOTREG;
		goto out;
	}
	if (st->st_size > (off_t)ASTCONF_MAX_FILE) {
		err = SLURP_TOOBIG;
		goto out;
	}
	if (rd->ac->total_bytes + (size_t)st->st_size > ASTCONF_MAX_TOTAL) {
		err = SLURP_TOOMUCH;
		goto out;
	}
	/* The file may grow while we read it: read at most one byte more
	 * than the limit, to notice. */
	cap = (size_t)st->st_size + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		err = SLURP_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;

			if (cap > ASTCONF_MAX_FILE) {
				free(buf);
				err = SLURP_TOOBIG;
				goto out;
			}
			cap = cap * 2 > ASTCONF_MAX_FILE + 1 ? ASTCONF_MAX_FILE + 1 : cap * 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				err = SLURP_NOMEM;
				goto out;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = sys_error();
			free(buf);
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > ASTCONF_MAX_FILE) {
		free(buf);
		err = SLURP_TOOBIG;
		goto out;
	}
	buf[len] = '\0';
	rd->ac->total_bytes += len;
	*bufp = buf;
	*lenp = len;
out:
	close(fd);
	return err;
}

static const char *slurp_strerror(int err)
{
	switch (err) {
	case SLURP_NOTREG:
		return "not a regular file";
	case SLURP_TOOBIG:
		return "file too large (max 16 MiB)";
	case SLURP_TOOMUCH:
		return "configuration too large (more than 64 MiB in total)";
	case SLURP_NOMEM:
		return "out of memory";
	default:
		return strerror(err);
	}
}

static bool stack_has(const struct reader *rd, const struct stat *st)
{
	for (int i = 0; i < rd->depth; i++) {
		if (rd->stack[i].dev == st->st_dev && rd->stack[i].ino == st->st_ino)
			return true;
	}
	return false;
}

/* Read one included file; report problems at the #include line. */
static void include_one(struct reader *rd, struct filestate *fs, const char *display,
			const char *path, bool try, const char *directive, int line)
{
	struct filestate sub;
	struct stat st;
	char *buf;
	size_t len;
	int err;

	err = file_slurp(rd, path, &buf, &len, &st);
	if (err == ENOENT && try)
		return;
	if (err) {
		error_at(rd, fs, line, "cannot include '%s': %s", display, slurp_strerror(err));
		if (err == SLURP_NOMEM || err == SLURP_TOOMUCH)
			rd->fatal = true;
		return;
	}
	if (stack_has(rd, &st)) {
		error_at(rd, fs, line, "#%s cycle: '%s' is already being read", directive,
			 display);
		goto out;
	}
	if (rd->depth >= ASTCONF_MAX_DEPTH) {
		error_at(rd, fs, line, "#%s nesting too deep (max %d levels)", directive,
			 ASTCONF_MAX_DEPTH);
		goto out;
	}

	memset(&sub, 0, sizeof(sub));
	if (files_add(rd, display, path, &sub.file_idx)) {
		out_of_memory(rd, fs->display);
		goto out;
	}
	sub.display = rd->ac->files[sub.file_idx];
	sub.cur = rd->ac->current;

	rd->stack[rd->depth].dev = st.st_dev;
	rd->stack[rd->depth].ino = st.st_ino;
	rd->depth++;
	file_parse(rd, &sub, buf, len);
	rd->depth--;
out:
	free(buf);
}

static bool has_glob_magic(const char *s)
{
	return strpbrk(s, "*?[{") != NULL;
}

/* dir with glob metacharacters escaped, then "/", then pattern. */
static char *glob_pattern(const char *dir, const char *pattern)
{
	size_t n = strlen(dir), m = strlen(pattern);
	char *out = malloc(2 * n + m + 2), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (strchr("\\*?[]{}", dir[i]))
			*o++ = '\\';
		*o++ = dir[i];
	}
	*o++ = '/';
	memcpy(o, pattern, m + 1);
	return out;
}

static char *path_join(const char *dir, const char *file)
{
	char *p = NULL;

	if (file[0] == '/')
		return strdup(file);
	if (asprintf(&p, "%s/%s", dir, file) < 0)
		return NULL;
	return p;
}

static void include_process(struct reader *rd, struct filestate *fs, const char *arg,
			    bool try, const char *directive, int line)
{
	const char *dir = rd->ac->dir;
	size_t dirlen = strlen(dir);
	glob_t g;
	char *pattern;
	int rc;

	if (!has_glob_magic(arg)) {
		char *path = path_join(dir, arg);

		if (!path) {
			out_of_memory(rd, fs->display);
			return;
		}
		include_one(rd, fs, arg, path, try, directive, line);
		free(path);
		return;
	}

	pattern = arg[0] == '/' ? strdup(arg) : glob_pattern(dir, arg);
	if (!pattern) {
		out_of_memory(rd, fs->display);
		return;
	}
	memset(&g, 0, sizeof(g));
	rc = glob(pattern, GLOB_BRACE, NULL, &g);
	free(pattern);
	if (rc == GLOB_NOMATCH) {
		if (!try)
			error_at(rd, fs, line, "cannot include '%s': no file matches", arg);
		globfree(&g);
		return;
	}
	if (rc) {
		error_at(rd, fs, line, "cannot include '%s': %s", arg,
			 rc == GLOB_NOSPACE ? "out of memory" : "read error");
		globfree(&g);
		return;
	}
	for (size_t i = 0; i < g.gl_pathc && !rd->fatal; i++) {
		const char *path = g.gl_pathv[i];
		const char *display = path;
		struct stat st;

		/* Directories matched by a wildcard are not meant. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (arg[0] != '/' && !strncmp(path, dir, dirlen) && path[dirlen] == '/')
			display = path + dirlen + 1;
		include_one(rd, fs, display, path, try, directive, line);
	}
	globfree(&g);
}

/* "#include file", "#tryinclude file", "#exec ..." */
static void directive_process(struct reader *rd, struct filestate *fs, char *text, int line)
{
	char *cmd = text + 1, *arg = cmd;
	size_t n;
	bool try;

	while (*arg && !cfgval_is_blank(*arg))
		arg++;
	if (*arg)
		*arg++ = '\0';
	arg = cfgval_strip(arg);

	if (!strcasecmp(cmd, "include")) {
		try = false;
	} else if (!strcasecmp(cmd, "tryinclude")) {
		try = true;
	} else if (!strcasecmp(cmd, "exec")) {
		error_at(rd, fs, line, "#exec is not supported");
		return;
	} else {
		error_at(rd, fs, line, "unknown directive '#%s'", cmd);
		return;
	}

	n = strlen(arg);
	if (n >= 2 && ((arg[0] == '"' && arg[n - 1] == '"') ||
		       (arg[0] == '<' && arg[n - 1] == '>'))) {
		arg[n - 1] = '\0';
		arg++;
	}
	if (!*arg) {
		error_at(rd, fs, line, "#%s needs a file name", try ? "tryinclude" : "include");
		return;
	}
	include_process(rd, fs, arg, try, try ? "tryinclude" : "include", line);
}

/*
 * Remove comments from one line in place; the text left to process, or
 * NULL when the whole line is inside a block comment.
 */
static char *comments_strip(struct reader *rd, struct filestate *fs, char *line, int lineno)
{
	char *scan = line;
	char *keep = fs->comment ? NULL : line;
	char *p;

	while ((p = strchr(scan, ';')) != NULL) {
		if (p > scan && p[-1] == '\\') {
			/* "\;" is a literal ';': drop the backslash. */
			memmove(p - 1, p, strlen(p) + 1);
			scan = p;
		} else if (p[1] == '-' && p[2] == '-' && p[3] != '-') {
			if (fs->comment < MAX_NESTED_COMMENTS) {
				*p = '\0';
				scan = p + 3;
				fs->nest[fs->comment++] = lineno;
			} else {
				error_at(rd, fs, lineno, "block comments nested too deeply (max %d)",
					 MAX_NESTED_COMMENTS);
				scan = p + 1;
			}
		} else if (fs->comment > 0 && p >= scan + 2 && p[-1] == '-' && p[-2] == '-') {
			fs->comment--;
			scan = p + 1;
			if (fs->comment == 0) {
				if (keep) {
					/* Text before the comment goes on with the
					 * text after it. */
					char *end = keep + strlen(keep);
					memmove(end, scan, strlen(scan) + 1);
					scan = end;
				} else {
					keep = scan;
				}
			}
		} else if (fs->comment == 0) {
			*p = '\0';
			break;
		} else {
			scan = p + 1;
		}
	}
	return keep;
}

static void file_parse(struct reader *rd, struct filestate *fs, char *buf, size_t len)
{
	char line[ASTCONF_MAX_LINE + 1];
	size_t pos = 0;
	int lineno = 0;

	while (pos < len && !rd->fatal) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;
		char *text;

		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n && start[n - 1] == '\r')
			n--;
		if (n > ASTCONF_MAX_LINE) {
			error_at(rd, fs, lineno, "line too long (max %d bytes)", ASTCONF_MAX_LINE);
			continue;
		}
		if (memchr(start, '\0', n)) {
			error_at(rd, fs, lineno, "NUL byte in line");
			continue;
		}
		memcpy(line, start, n);
		line[n] = '\0';

		text = comments_strip(rd, fs, line, lineno);
		if (!text)
			continue;
		text = cfgval_strip(text);
		if (!*text)
			continue;
		if (text[0] == '[')
			header_process(rd, fs, text, lineno);
		else if (text[0] == '#')
			directive_process(rd, fs, text, lineno);
		else
			var_process(rd, fs, text, lineno);
	}
	if (fs->comment > 0 && !rd->fatal)
		error_at(rd, fs, fs->nest[fs->comment - 1],
			 "unterminated block comment (';--' without '--;')");
}

enum astconf_status astconf_load(struct astconf **acp, const char *dir,
				 const char *file, struct diag *diag)
{
	enum astconf_status status = ASTCONF_ERROR;
	unsigned errors = diag->errors;
	struct filestate fs;
	struct reader rd;
	struct astconf *ac;
	struct stat st;
	char *path = NULL, *buf = NULL;
	size_t len;
	int err;

	*acp = NULL;
	ac = calloc(1, sizeof(*ac));
	if (!ac || htab_init(&ac->index, 64)) {
		free(ac);
		diag_add(diag, DIAG_ERROR, file, 0, "out of memory");
		return ASTCONF_ERROR;
	}
	arena_init(&ac->arena);
	memset(&rd, 0, sizeof(rd));
	rd.ac = ac;
	rd.diag = diag;

	ac->dir = strdup(dir);
	path = path_join(dir, file);
	if (!ac->dir || !path) {
		out_of_memory(&rd, file);
		goto out;
	}
	err = file_slurp(&rd, path, &buf, &len, &st);
	if (err == ENOENT) {
		status = ASTCONF_MISSING;
		goto out;
	}
	if (err) {
		if (err == SLURP_NOTREG || err == SLURP_TOOBIG || err == SLURP_TOOMUCH)
			diag_add(diag, DIAG_ERROR, file, 0, "%s", slurp_strerror(err));
		else
			diag_add(diag, DIAG_ERROR, file, 0, "cannot open: %s",
				     slurp_strerror(err));
		goto out;
	}

	memset(&fs, 0, sizeof(fs));
	if (files_add(&rd, file, path, &fs.file_idx)) {
		out_of_memory(&rd, file);
		goto out;
	}
	fs.display = ac->files[fs.file_idx];
	rd.stack[0].dev = st.st_dev;
	rd.stack[0].ino = st.st_ino;
	rd.depth = 1;
	file_parse(&rd, &fs, buf, len);
	if (!rd.fatal && diag->errors == errors)
		status = ASTCONF_OK;
out:
	free(buf);
	free(path);
	if (status == ASTCONF_OK)
		*acp = ac;
	else
		astconf_free(ac);
	return status;
}

void astconf_free(struct astconf *ac)
{
	if (!ac)
		return;
	for (size_t i = 0; i < ac->sections_n; i++)
		free(ac->sections[i]->vars);
	free(ac->sections);
	free(ac->files);
	free(ac->paths);
	htab_free(&ac->index);
	free(ac->dir);
	arena_free(&ac->arena);
	free(ac);
}

const struct astconf_section *astconf_section(const struct astconf *ac, const char *name)
{
	const struct astconf_slot *slot = index_find(ac, name);

	return slot ? slot->first : NULL;
}

const struct astconf_var *astconf_var(const struct astconf_section *s, const char *name)
{
	for (size_t i = s->vars_n; i > 0; i--) {
		if (!strcasecmp(s->vars[i - 1].name, name))
			return &s->vars[i - 1];
	}
	return NULL;
}

const char *astconf_value(const struct astconf_section *s, const char *name)
{
	const struct astconf_var *v = astconf_var(s, name);

	return v ? v->value : NULL;
}
