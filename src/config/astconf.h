/*
 * astconf.h - Asterisk's configuration file grammar, as main/config.c reads
 * it (process_text_line() and config_text_file_load()).
 *
 *   [name]              a section; the same name may appear several times
 *   [name](!)           a template: only there to be inherited from
 *   [name](a,b)         inherit every variable of a, then of b, in order
 *   [name](+)           append to the first section called name (error if
 *                       none); [name](+type=aor) picks the first one whose
 *                       variables match the filter (regular expressions)
 *   [x](!,base)         any mix of the above, applied left to right
 *   name = value        also "name => value"
 *   name += value       appends the text to the last value of name
 *   ; comment           "\;" is a literal semicolon
 *   ;-- block --;       block comments, over several lines, nested
 *   #include file       relative to the config dir, quoted "" or <>, glob
 *   #tryinclude file    the same, but a missing file is fine
 *
 * Section names are matched case-insensitively, as Asterisk does.  An
 * included file continues the section that was current when it was
 * included; the including file goes on with its own current section.
 *
 * Differences from Asterisk, all towards refusing doubtful input: #exec is
 * refused; an unterminated block comment, an unknown directive, a line
 * without '=' or outside any section, an overlong line and a NUL byte are
 * errors rather than silently skipped lines; include cycles are reported.
 */
#ifndef KV_CONFIG_ASTCONF_H
#define KV_CONFIG_ASTCONF_H

#include <stdbool.h>
#include <stddef.h>

#include "config/arena.h"
#include "config/config.h"
#include "util/htab.h"

#define ASTCONF_MAX_DEPTH   10           /* #include levels, as Asterisk */
#define ASTCONF_MAX_LINE    8191         /* bytes, as Asterisk's buffer */
#define ASTCONF_MAX_NAME    79           /* section name, as Asterisk */
#define ASTCONF_MAX_FILE    (16u << 20)  /* one file */
#define ASTCONF_MAX_TOTAL   (64u << 20)  /* all files of one load */
#define ASTCONF_MAX_VARS    2000000u     /* variables, templates expanded */

struct astconf_var {
	const char *name;
	const char *value;
	const char *file;      /* as the user wrote it, relative to the dir */
	unsigned file_idx;     /* index in astconf.files */
	int line;
	const char *origin;    /* section the line is written in: for an
	                          inherited variable, the template */
	bool inherited;
	bool object;           /* written "name => value" */
};

struct astconf_section {
	const char *name;
	const char *file;
	unsigned file_idx;
	int line;
	bool template;
	struct astconf_var *vars;    /* inherited ones first, in order */
	size_t vars_n, vars_cap;
	struct astconf_section *same_next;  /* next section of that name */
};

struct astconf {
	struct arena arena;
	char *dir;
	struct astconf_section **sections;   /* in file order */
	size_t sections_n, sections_cap;
	const char **files;    /* every file read, display names, in order */
	const char **paths;    /* the same files as opened */
	size_t files_n, files_cap;

	/* private to astconf.c */
	size_t paths_cap;
	struct htab index;     /* of struct astconf_slot, one per name */
	size_t total_bytes;
	size_t total_vars;
	struct astconf_section *current;
};

enum astconf_status {
	ASTCONF_OK = 0,
	ASTCONF_MISSING = 1,     /* the file does not exist; nothing reported */
	ASTCONF_ERROR = 2,       /* problems were added to diag */
};

/*
 * Read dir/file with everything it includes.  On ASTCONF_OK *acp is the
 * result (astconf_free() it); otherwise *acp is NULL.  Warnings may be
 * added to diag even on success.
 */
enum astconf_status astconf_load(struct astconf **acp, const char *dir,
				 const char *file, struct diag *diag);
void astconf_free(struct astconf *ac);

/* First section of that name, templates included; NULL when absent. */
const struct astconf_section *astconf_section(const struct astconf *ac,
					      const char *name);
/* Last variable of that name (case-insensitive); NULL when absent. */
const struct astconf_var *astconf_var(const struct astconf_section *s,
				      const char *name);
/* Value of astconf_var(), or NULL. */
const char *astconf_value(const struct astconf_section *s, const char *name);

#endif
