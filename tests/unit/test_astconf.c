/*
 * test_astconf.c - Asterisk configuration grammar: sections, templates,
 * inheritance, appends, comments, includes, and hostile input.
 *
 * Each test writes its files into a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/astconf.h"
#include "config/cfgval.h"

struct fx {
	char dir[64];
	struct diag diag;
	struct astconf *ac;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-astconf-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	astconf_free(fx->ac);
	diag_free(&fx->diag);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void put_n(struct fx *fx, const char *name, const char *text, size_t len)
{
	char path[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	/* Create the parent directories of name. */
	for (slash = strchr(path + strlen(fx->dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

static void put(struct fx *fx, const char *name, const char *text)
{
	put_n(fx, name, text, strlen(text));
}

static enum astconf_status load(struct fx *fx, const char *file)
{
	astconf_free(fx->ac);
	fx->ac = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
	return astconf_load(&fx->ac, fx->dir, file, &fx->diag);
}

/* All messages, formatted, one per line. */
static const char *msgs(struct fx *fx)
{
	static char out[8192];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(out); i++) {
		char line[1024];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	return out;
}

static const struct astconf_section *sec(struct fx *fx, size_t i)
{
	assert_true(i < fx->ac->sections_n);
	return fx->ac->sections[i];
}

static void test_basic(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;
	const struct astconf_var *v;

	put(fx, "a.conf",
	    "; a comment\n"
	    "\n"
	    "[general]\n"
	    "  name = value  \n"
	    "exten => 100,1,Answer()\n"
	    "empty =\n"
	    "name=second\n"
	    "[other]\n"
	    "x=1=2\n");
	assert_int_equal(load(fx, "a.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx), "");
	assert_int_equal(fx->ac->sections_n, 2);

	s = sec(fx, 0);
	assert_string_equal(s->name, "general");
	assert_string_equal(s->file, "a.conf");
	assert_int_equal(s->line, 3);
	assert_false(s->template);
	assert_int_equal(s->vars_n, 4);
	assert_string_equal(s->vars[0].name, "name");
	assert_string_equal(s->vars[0].value, "value");
	assert_int_equal(s->vars[0].line, 4);
	assert_false(s->vars[0].object);
	assert_string_equal(s->vars[1].name, "exten");
	assert_string_equal(s->vars[1].value, "100,1,Answer()");
	assert_true(s->vars[1].object);
	assert_string_equal(s->vars[2].value, "");
	/* Single-valued lookups take the last value. */
	assert_string_equal(astconf_value(s, "name"), "second");
	assert_string_equal(astconf_value(s, "NAME"), "second");
	assert_null(astconf_value(s, "missing"));
	v = astconf_var(s, "name");
	assert_int_equal(v->line, 7);
	assert_string_equal(v->origin, "general");

	assert_string_equal(astconf_value(sec(fx, 1), "x"), "1=2");
	assert_ptr_equal(astconf_section(fx->ac, "OTHER"), sec(fx, 1));
	assert_null(astconf_section(fx->ac, "nope"));
	assert_int_equal(fx->ac->files_n, 1);
	assert_string_equal(fx->ac->files[0], "a.conf");
}

static void test_same_name_sections(void **state)
{
	struct fx *fx = *state;

	put(fx, "p.conf",
	    "[1001]\ntype=endpoint\n"
	    "[1001]\ntype=auth\n"
	    "[1001]\ntype=aor\n");
	assert_int_equal(load(fx, "p.conf"), ASTCONF_OK);
	assert_int_equal(fx->ac->sections_n, 3);
	assert_string_equal(astconf_value(sec(fx, 0), "type"), "endpoint");
	assert_string_equal(astconf_value(sec(fx, 1), "type"), "auth");
	assert_string_equal(astconf_value(sec(fx, 2), "type"), "aor");
	assert_ptr_equal(sec(fx, 0)->same_next, sec(fx, 1));
	assert_ptr_equal(sec(fx, 1)->same_next, sec(fx, 2));
	assert_null(sec(fx, 2)->same_next);
}

/* Enough names to grow the index many times over; every name twice, the
 * second time in upper case, so each lookup must find its own chain. */
static void test_many_sections(void **state)
{
	struct fx *fx = *state;
	size_t cap = 5000 * 2 * 32, n = 0;
	char *buf = malloc(cap), name[32];

	assert_non_null(buf);
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(buf + n, "[sec%d]\nv=%d\n", i, i);
	for (int i = 0; i < 5000; i++)
		n += (size_t)sprintf(buf + n, "[SEC%d]\nw=%d\n", i, i);
	put_n(fx, "m.conf", buf, n);
	free(buf);
	assert_int_equal(load(fx, "m.conf"), ASTCONF_OK);
	assert_int_equal(fx->ac->sections_n, 10000);
	for (int i = 0; i < 5000; i++) {
		const struct astconf_section *s;

		snprintf(name, sizeof(name), "Sec%d", i);
		s = astconf_section(fx->ac, name);
		assert_ptr_equal(s, sec(fx, (size_t)i));
		assert_ptr_equal(s->same_next, sec(fx, 5000 + (size_t)i));
		assert_null(s->same_next->same_next);
		snprintf(name, sizeof(name), "%d", i);
		assert_string_equal(astconf_value(s, "v"), name);
	}
	assert_null(astconf_section(fx->ac, "sec5000"));
}

/* Asterisk's blanks are every byte below 33, a form feed or a vertical
 * tab included, around names, values and list items alike. */
static void test_blanks(void **state)
{
	struct fx *fx = *state;
	const char *pos = "\f a ,\v,\x01" "b\x1f,", *item;
	char text[] = "\x02 x \x7f\t";
	size_t len;

	put(fx, "b.conf", "[x]\n\fname\v=\tvalue\f\n");
	assert_int_equal(load(fx, "b.conf"), ASTCONF_OK);
	assert_string_equal(astconf_value(sec(fx, 0), "name"), "value");

	assert_string_equal(cfgval_strip(text), "x \x7f");
	assert_true(cfgval_list_next(&pos, &item, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(item, "a", 1);
	assert_true(cfgval_list_next(&pos, &item, &len));
	assert_int_equal(len, 1);
	assert_memory_equal(item, "b", 1);
	assert_false(cfgval_list_next(&pos, &item, &len));
}

static void test_templates(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;

	put(fx, "t.conf",
	    "[a](!)\n"            /* 1 */
	    "x=a\n"
	    "allow=ulaw\n"
	    "[b](!)\n"            /* 4 */
	    "x=b\n"
	    "allow=alaw\n"
	    "[c](a,b)\n"          /* 7 */
	    "allow=g722\n"
	    "[d](!, A)\n"         /* 9: mix, blanks, case-insensitive */
	    "y=d\n"
	    "[e](d)\n");          /* 11: inherits a template that inherited */
	assert_int_equal(load(fx, "t.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx), "");

	assert_true(sec(fx, 0)->template);
	assert_true(sec(fx, 1)->template);
	s = sec(fx, 2);
	assert_false(s->template);
	/* Inherited first, in order, then its own. */
	assert_int_equal(s->vars_n, 5);
	assert_string_equal(s->vars[0].value, "a");
	assert_string_equal(s->vars[1].value, "ulaw");
	assert_string_equal(s->vars[2].value, "b");
	assert_string_equal(s->vars[3].value, "alaw");
	assert_string_equal(s->vars[4].value, "g722");
	assert_true(s->vars[0].inherited);
	assert_false(s->vars[4].inherited);
	assert_string_equal(s->vars[0].origin, "a");
	assert_int_equal(s->vars[0].line, 2);
	assert_string_equal(s->vars[2].origin, "b");
	assert_string_equal(s->vars[4].origin, "c");
	/* The later template overrides. */
	assert_string_equal(astconf_value(s, "x"), "b");

	s = sec(fx, 3);
	assert_true(s->template);
	assert_int_equal(s->vars_n, 3);
	assert_string_equal(astconf_value(s, "x"), "a");
	s = sec(fx, 4);
	assert_false(s->template);
	assert_int_equal(s->vars_n, 3);
	assert_string_equal(s->vars[0].origin, "a");
	assert_string_equal(s->vars[2].origin, "d");
}

static void test_inherit_missing(void **state)
{
	struct fx *fx = *state;

	put(fx, "t.conf",
	    "[x](nope)\n"
	    "a=1\n"           /* skipped: belongs to the broken header */
	    "[y](ok,)\n"
	    "[z]\n"
	    "b=2\n");
	assert_int_equal(load(fx, "t.conf"), ASTCONF_ERROR);
	assert_null(fx->ac);
	assert_string_equal(msgs(fx),
			    "t.conf:1: cannot inherit from 'nope': no such section\n"
			    "t.conf:3: cannot inherit from 'ok': no such section\n");
}

static void test_append(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;

	put(fx, "p.conf",
	    "[1001]\n"             /* 1 */
	    "type=endpoint\n"
	    "[1001]\n"             /* 3 */
	    "type=aor\n"
	    "[other]\n"            /* 5 */
	    "z=1\n"
	    "[1001](+)\n"          /* 7: the first one */
	    "context=x\n"
	    "[1001](+type=aor)\n"  /* 9: filtered */
	    "max_contacts=2\n"
	    "[1001](+type=^a.r$&TEMPLATES=include)\n"
	    "remove_existing=yes\n");
	assert_int_equal(load(fx, "p.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx), "");
	assert_int_equal(fx->ac->sections_n, 3);
	s = sec(fx, 0);
	assert_int_equal(s->vars_n, 2);
	assert_string_equal(astconf_value(s, "context"), "x");
	assert_int_equal(astconf_var(s, "context")->line, 8);
	s = sec(fx, 1);
	assert_int_equal(s->vars_n, 3);
	assert_string_equal(astconf_value(s, "max_contacts"), "2");
	assert_string_equal(astconf_value(s, "remove_existing"), "yes");
}

static void test_append_errors(void **state)
{
	struct fx *fx = *state;

	put(fx, "p.conf",
	    "[tpl](!)\n"
	    "a=1\n"
	    "[nope](+)\n"
	    "b=2\n"
	    "[tpl](+)\n"          /* a template is not a target, as Asterisk */
	    "[1001]\ntype=auth\n"
	    "[1001](+type=aor)\n"
	    "[1001](+type)\n");
	assert_int_equal(load(fx, "p.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "p.conf:3: cannot append to section 'nope': no such section\n"
			    "p.conf:5: cannot append to section 'tpl': no such section\n"
			    "p.conf:8: cannot append to section '1001': no such section\n"
			    "p.conf:9: invalid filter 'type' (expected name=value)\n");
}

static void test_plus_equal(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;

	put(fx, "p.conf",
	    "[x]\n"
	    "allow = ulaw\n"    /* 2 */
	    "allow +=,alaw\n"
	    "note = a\n"
	    "note += b  \n"     /* raw text, blanks included */
	    "new += fresh\n"    /* nothing to append to: a plain set */
	    "[tpl](!)\n"
	    "v=1\n"
	    "[y](tpl)\n"
	    "v+=2\n");
	assert_int_equal(load(fx, "p.conf"), ASTCONF_OK);
	s = sec(fx, 0);
	assert_int_equal(s->vars_n, 3);
	assert_string_equal(astconf_value(s, "allow"), "ulaw,alaw");
	assert_int_equal(astconf_var(s, "allow")->line, 2);
	assert_string_equal(astconf_value(s, "note"), "a b");
	assert_string_equal(astconf_value(s, "new"), "fresh");
	/* Appending to an inherited value changes the copy only. */
	assert_string_equal(astconf_value(sec(fx, 2), "v"), "12");
	assert_string_equal(astconf_value(sec(fx, 1), "v"), "1");
}

static void test_comments(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;

	put(fx, "c.conf",
	    "[x] ; comment after a header\n"
	    "pw = a\\;b ; real comment\n"           /* 2 */
	    "one = 1 ;-- inline block --; tail\n"   /* 3 */
	    ";-- a block\n"
	    "hidden = yes\n"
	    "  still hidden --; after = 2\n"        /* 6 */
	    ";--- not a block, a plain comment\n"
	    "three = 3\n"                           /* 8 */
	    ";-- outer ;-- inner --; hidden2=1\n"
	    "--; four = 4\n"                        /* 10 */
	    "five = 5;\n");
	assert_int_equal(load(fx, "c.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx), "");
	s = sec(fx, 0);
	assert_string_equal(astconf_value(s, "pw"), "a;b");
	assert_string_equal(astconf_value(s, "one"), "1  tail");
	assert_null(astconf_value(s, "hidden"));
	assert_null(astconf_value(s, "hidden2"));
	assert_string_equal(astconf_value(s, "after"), "2");
	assert_int_equal(astconf_var(s, "after")->line, 6);
	assert_string_equal(astconf_value(s, "three"), "3");
	assert_string_equal(astconf_value(s, "four"), "4");
	assert_int_equal(astconf_var(s, "four")->line, 10);
	assert_string_equal(astconf_value(s, "five"), "5");
	assert_int_equal(s->vars_n, 6);
}

static void test_unterminated_block(void **state)
{
	struct fx *fx = *state;

	put(fx, "c.conf", "[x]\na=1\n;-- never closed\nb=2\n");
	assert_int_equal(load(fx, "c.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "c.conf:3: unterminated block comment (';--' without '--;')\n");
}

static void test_crlf(void **state)
{
	struct fx *fx = *state;

	put(fx, "c.conf", "[x]\r\na = 1\r\nb=2");
	assert_int_equal(load(fx, "c.conf"), ASTCONF_OK);
	assert_string_equal(astconf_value(sec(fx, 0), "a"), "1");
	assert_string_equal(astconf_value(sec(fx, 0), "b"), "2");
}

static void test_include(void **state)
{
	struct fx *fx = *state;
	const struct astconf_section *s;

	put(fx, "main.conf",
	    "[x]\n"
	    "a=1\n"
	    "#include \"inc/one.conf\"\n"   /* 3 */
	    "b=2\n"                       /* back to [x], as Asterisk */
	    "#include <inc/two.conf>\n"
	    "#tryinclude missing.conf\n"
	    "#tryinclude nothing/*.conf\n"
	    "#include users/*.conf\n"
	    "[last]\n");
	put(fx, "inc/one.conf", "c=3\n[y]\nd=4\n");
	put(fx, "inc/two.conf", "e=5\n");
	put(fx, "users/b.conf", "[ub]\n");
	put(fx, "users/a.conf", "[ua]\nk=v\n");
	{
		char path[256];

		/* A directory matched by the wildcard is skipped. */
		snprintf(path, sizeof(path), "%s/users/dir.conf", fx->dir);
		assert_int_equal(mkdir(path, 0755), 0);
	}
	assert_int_equal(load(fx, "main.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx), "");

	s = sec(fx, 0);
	assert_string_equal(s->name, "x");
	assert_string_equal(astconf_value(s, "a"), "1");
	assert_string_equal(astconf_value(s, "c"), "3");   /* continues [x] */
	assert_string_equal(astconf_value(s, "b"), "2");
	assert_string_equal(astconf_var(s, "c")->file, "inc/one.conf");
	assert_int_equal(astconf_var(s, "c")->line, 1);
	s = sec(fx, 1);
	assert_string_equal(s->name, "y");
	assert_string_equal(s->file, "inc/one.conf");
	assert_int_equal(s->line, 2);
	/* An included file starts in the section current at that time. */
	assert_string_equal(astconf_value(s, "e"), "5");
	assert_string_equal(sec(fx, 2)->name, "ua");   /* glob results sorted */
	assert_string_equal(sec(fx, 2)->file, "users/a.conf");
	assert_string_equal(sec(fx, 3)->name, "ub");
	assert_string_equal(sec(fx, 4)->name, "last");

	assert_int_equal(fx->ac->files_n, 5);
	assert_string_equal(fx->ac->files[1], "inc/one.conf");
	assert_string_equal(fx->ac->files[3], "users/a.conf");
	assert_non_null(strstr(fx->ac->paths[3], fx->dir));
}

static void test_include_errors(void **state)
{
	struct fx *fx = *state;

	put(fx, "main.conf",
	    "[x]\n"
	    "#include nope.conf\n"
	    "#include users/*.conf\n"
	    "#exec /bin/echo hi\n"
	    "#include\n"
	    "#tryinclude \"\"\n"
	    "#frobnicate x\n"
	    "#include inc\n");
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/inc", fx->dir);
		mkdir(path, 0755);
	}
	assert_int_equal(load(fx, "main.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "main.conf:2: cannot include 'nope.conf': No such file or directory\n"
			    "main.conf:3: cannot include 'users/*.conf': no file matches\n"
			    "main.conf:4: #exec is not supported\n"
			    "main.conf:5: #include needs a file name\n"
			    "main.conf:6: #tryinclude needs a file name\n"
			    "main.conf:7: unknown directive '#frobnicate'\n"
			    "main.conf:8: cannot include 'inc': not a regular file\n");
}

static void test_include_cycle(void **state)
{
	struct fx *fx = *state;

	put(fx, "a.conf", "[x]\n#include b.conf\n");
	put(fx, "b.conf", "y=1\n#include a.conf\n");
	assert_int_equal(load(fx, "a.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "b.conf:2: #include cycle: 'a.conf' is already being read\n");

	put(fx, "self.conf", "#tryinclude self.conf\n");
	assert_int_equal(load(fx, "self.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "self.conf:1: #tryinclude cycle: 'self.conf' is already being read\n");
}

static void test_include_depth(void **state)
{
	struct fx *fx = *state;
	char name[32], text[64];

	/* f0 includes f1 ... f11: the 11th level is one too many. */
	for (int i = 0; i < 12; i++) {
		snprintf(name, sizeof(name), "f%d.conf", i);
		snprintf(text, sizeof(text), "#include f%d.conf\n", i + 1);
		put(fx, name, i < 11 ? text : "[x]\n");
	}
	assert_int_equal(load(fx, "f0.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "f9.conf:1: #include nesting too deep (max 10 levels)\n");

	/* Exactly 10 files deep is fine. */
	put(fx, "f9.conf", "[x]\n");
	assert_int_equal(load(fx, "f0.conf"), ASTCONF_OK);
}

static void test_missing_and_special(void **state)
{
	struct fx *fx = *state;
	char path[256];

	assert_int_equal(load(fx, "absent.conf"), ASTCONF_MISSING);
	assert_null(fx->ac);
	assert_int_equal(fx->diag.n, 0);

	snprintf(path, sizeof(path), "%s/dir.conf", fx->dir);
	mkdir(path, 0755);
	assert_int_equal(load(fx, "dir.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx), "dir.conf: not a regular file\n");

	/* A FIFO must not block the loader. */
	snprintf(path, sizeof(path), "%s/fifo.conf", fx->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(load(fx, "fifo.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx), "fifo.conf: not a regular file\n");
}

static void test_hostile_lines(void **state)
{
	struct fx *fx = *state;
	size_t longlen = ASTCONF_MAX_LINE + 10;
	char *buf = malloc(longlen + 200);
	size_t n = 0;

	assert_non_null(buf);
	n += (size_t)sprintf(buf + n, "[x]\n");
	memset(buf + n, 'a', longlen);
	n += longlen;
	n += (size_t)sprintf(buf + n, "\nok=1\nbad");
	buf[n++] = '\0';
	n += (size_t)sprintf(buf + n, "=1\n");
	n += (size_t)sprintf(buf + n, "[unterminated\n"
			     "[open](!\n"
			     "[]\n"
			     "no equal sign here\n"
			     "= novalue\n"
			     "\\ x=1\n");
	put_n(fx, "h.conf", buf, n);
	free(buf);
	assert_int_equal(load(fx, "h.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "h.conf:2: line too long (max 8191 bytes)\n"
			    "h.conf:4: NUL byte in line\n"
			    "h.conf:5: no closing ']'\n"
			    "h.conf:6: no closing ')'\n"
			    "h.conf:7: empty section name\n");
}

static void test_var_errors(void **state)
{
	struct fx *fx = *state;

	put(fx, "v.conf",
	    "before=1\n"
	    "again=2\n"     /* reported once */
	    "[x]\n"
	    "no equal sign here\n"
	    "= novalue\n"
	    "\\ x=1\n"
	    "+=1\n");
	assert_int_equal(load(fx, "v.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "v.conf:1: variable outside of any section\n"
			    "v.conf:4: no '=' in line\n"
			    "v.conf:5: no variable name\n"
			    "v.conf:6: invalid escape\n"
			    "v.conf:7: no variable name\n");
}

static void test_header_warnings(void **state)
{
	struct fx *fx = *state;
	char longname[128];

	put(fx, "w.conf",
	    "[tpl] (!)\n"
	    "[x](!) junk\n"
	    "[y]junk\n");
	assert_int_equal(load(fx, "w.conf"), ASTCONF_OK);
	assert_string_equal(msgs(fx),
			    "w.conf:1: warning: text after ']' ignored "
			    "(no space is allowed between ']' and '(')\n"
			    "w.conf:2: warning: text after ')' ignored\n"
			    "w.conf:3: warning: text after ']' ignored\n");
	/* "[tpl] (!)" is not a template, as in Asterisk. */
	assert_false(sec(fx, 0)->template);
	assert_true(sec(fx, 1)->template);

	memset(longname, 'n', 80);
	longname[80] = '\0';
	{
		char text[200];

		snprintf(text, sizeof(text), "[%s]\n", longname);
		put(fx, "w.conf", text);
	}
	assert_int_equal(load(fx, "w.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx), "w.conf:1: section name longer than 79 characters\n");
}

static void test_huge_file(void **state)
{
	struct fx *fx = *state;
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/big.conf", fx->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	/* Sparse: costs no disk. */
	assert_int_equal(ftruncate(fd, (off_t)ASTCONF_MAX_FILE + 1), 0);
	close(fd);
	assert_int_equal(load(fx, "big.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx), "big.conf: file too large (max 16 MiB)\n");

	put(fx, "main.conf", "[x]\n#include big.conf\n");
	assert_int_equal(load(fx, "main.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "main.conf:2: cannot include 'big.conf': file too large (max 16 MiB)\n");
}

static void test_var_limit(void **state)
{
	struct fx *fx = *state;
	/* A template of 2000 variables inherited 1001 times: over 2M. */
	size_t cap = 64 * 1024 + 1001 * 16, n = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	n += (size_t)sprintf(buf + n, "[t](!)\n");
	for (int i = 0; i < 2000; i++)
		n += (size_t)sprintf(buf + n, "v%d=1\n", i);
	for (int i = 0; i < 1001; i++)
		n += (size_t)sprintf(buf + n, "[s%d](t)\n", i);
	put_n(fx, "big.conf", buf, n);
	free(buf);
	assert_int_equal(load(fx, "big.conf"), ASTCONF_ERROR);
	assert_string_equal(msgs(fx),
			    "big.conf:3001: too many variables (max 2000000, templates expanded)\n");
}

/* Random bytes, and random mixes of grammar tokens: no crash, no leak. */
static void test_garbage(void **state)
{
	static const char *const tokens[] = {
		"[", "]", "(", ")", "!", "+", ",", "=", "=>", "+=", ";", ";--", "--;",
		"\\", "\\;", "#include ", "#tryinclude ", "#exec ", "\n", " ", "x",
		"g.conf", "*", "\"", "<", ">", "\r\n", "type=aor", "&", "TEMPLATES=",
	};
	struct fx *fx = *state;
	uint32_t seed = 12345;
	char buf[4096];

	for (int round = 0; round < 300; round++) {
		size_t n = 0;

		while (n < sizeof(buf) - 32) {
			seed = seed * 1103515245u + 12345u;
			if (round % 2) {
				buf[n++] = (char)(seed >> 16);
			} else {
				const char *t = tokens[(seed >> 16) % (sizeof(tokens) / sizeof(tokens[0]))];
				memcpy(buf + n, t, strlen(t));
				n += strlen(t);
			}
		}
		put_n(fx, "g.conf", buf, n);
		load(fx, "g.conf");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_name_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_sections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_blanks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inherit_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plus_equal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_comments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unterminated_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_cycle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_include_depth, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_special, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_var_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_warnings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_var_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
