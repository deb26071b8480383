/*
 * dialplan.h - the dialplan of extensions.conf, loaded and validated, and
 * its extension matching, with Asterisk's meaning (pbx_config.c, pbx.c).
 *
 * Loading (dialplan_load) reads the sections of an astconf:
 *
 *   [general]   static, writeprotect, clearglobalvars, extenpatternmatchnew,
 *               userscontext and autofallthrough are accepted (the last
 *               only as "yes": running off the end of an extension always
 *               hangs up); anything else is a warning.
 *   [globals]   global variables, each value expanded with the globals
 *               defined above it.
 *   [other]     a context.  A name may appear in several sections: they
 *               add to one context.  Templates ("(!)") are not contexts.
 *
 * In a context:
 *
 *   exten => EXT[/CID],PRIO[(label)],App(args)
 *   same => PRIO[(label)],App(args)       continues the last exten line
 *   include => context                    must exist
 *   switch, lswitch, eswitch, ignorepat   warned about and ignored
 *
 * PRIO is a number, "n"/"next" (the previous priority of this section plus
 * one, whatever the extension, as in Asterisk), "s"/"same" (the previous
 * priority again), optionally "+N", or "hint".  Hints are accepted and
 * ignored (there is no presence yet), but unlike Asterisk, which silently
 * drops an "n" line after a hint, that is reported as an error.  An
 * application is written "App(args)" or "App" alone; the old "App,args"
 * form names an application "App,args", which does not exist, exactly as
 * in Asterisk.  A missing ')' is a warning, as in Asterisk.  EXT may hold
 * ${GLOBAL} variables.  "/CID" restricts the extension to callers whose
 * number matches CID (a pattern or a literal; empty: no number), and
 * such extensions are tried before the same extension without one.
 *
 * Everything Asterisk would only find out during a call is an error at
 * load time: an unknown application, application arguments that are
 * wrong where they are written literally (see dpexec.h), a duplicated
 * priority or label, an include of or a Goto to an unknown context, a
 * Goto to an unknown label, an unterminated '[' in a pattern.  A literal
 * Goto to an extension or priority that does not exist is a warning, since
 * the 'i' extension may be meant to catch it.  "_." and "_!" get Asterisk's
 * warning, since they also match the special extensions i, t, h and e.
 *
 * Matching (dialplan_find) is Asterisk's: in a context, extensions that
 * are not patterns first, then patterns from the most specific (compared
 * position by position: a literal character before a set, a smaller set
 * before a larger one, '.' before '!'); the first extension that matches
 * and has the priority wins, else the included contexts are searched, depth
 * first, in include order.  A context is searched once per lookup, so
 * include cycles are harmless.  Patterns start with '_': X is 0-9, Z 1-9,
 * N 2-9, [a-c5] a set, '.' one or more characters, '!' zero or more; '-'
 * is ignored everywhere.  Names and variables are case-sensitive.
 *
 * The dialplan is immutable once loaded and reference counted: a reload
 * builds a new one and channels keep the one they started with.
 */
#ifndef KV_PBX_DIALPLAN_H
#define KV_PBX_DIALPLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "config/arena.h"
#include "config/astconf.h"
#include "config/config.h"
#include "config/dpapp.h"

#define DP_MAX_NAME          79    /* context and extension names, as Asterisk */
#define DP_MAX_INCLUDE_DEPTH 128   /* contexts searched by one lookup */

struct dp_context;
struct dp_exten;

struct dp_prio {
	int prio;
	const char *label;               /* NULL when none */
	enum dp_app app;
	const char *args;                /* as written; expanded when run */
	const struct dp_exten *exten;
	const char *file;
	int line;
};

struct dp_exten {
	const char *name;                /* as first written: "_1XX", "555-1234" */
	const char *key;                 /* matched: without blanks and '-' */
	const char *cid;                 /* caller number match, NULL: any */
	bool pattern;
	const struct dp_prio *prios;     /* by priority */
	size_t prios_n;
	const struct dp_context *context;
	const char *file;
	int line;
};

struct dp_context {
	const char *name;
	const struct dp_exten *extens;   /* in matching order */
	size_t extens_n;
	size_t plain_n;                  /* extens[0..plain_n) are no patterns */
	const struct dp_context **includes;
	size_t includes_n;
	const char *file;
	int line;
};

struct dp_global {
	const char *name;
	const char *value;
};

struct dialplan {
	unsigned refs;
	const struct dp_context *contexts;   /* by name (strcmp) */
	size_t contexts_n;
	const struct dp_global *globals;     /* by name (strcmp) */
	size_t globals_n;
	bool has_cid;                        /* some extension matches caller ID */
	struct arena mem;                    /* private: holds everything */
};

/*
 * Build the dialplan from extensions.conf as read by astconf_load() (ac
 * may be NULL: no file, an empty dialplan).  Every problem is added to
 * diag as "file:line: message".  0 and *dpp (one reference) when there is
 * no error, warnings allowed; -1 and *dpp NULL otherwise.
 */
int dialplan_load(const struct astconf *ac, struct diag *diag,
		  struct dialplan **dpp);
/* Drop the loader's reference (dialplan_unref). */
void dialplan_free(struct dialplan *dp);
struct dialplan *dialplan_ref(struct dialplan *dp);
void dialplan_unref(struct dialplan *dp);

const struct dp_context *dialplan_context(const struct dialplan *dp,
					  const char *name);
/* Value of a [globals] variable, NULL when there is none. */
const char *dialplan_global(const struct dialplan *dp, const char *name,
			    size_t len);

/*
 * The priority that runs for exten at priority in context, or NULL.  cid
 * is the caller's number (NULL or "" when there is none), checked against
 * extensions written "EXT/CID".
 */
const struct dp_prio *dialplan_find(const struct dialplan *dp, const char *context,
				    const char *exten, int priority, const char *cid);
/* The same, for a label instead of a priority number. */
const struct dp_prio *dialplan_find_label(const struct dialplan *dp,
					  const char *context, const char *exten,
					  const char *label, const char *cid);
/* For load-time checks, when the caller is not known: caller-ID
 * restrictions are ignored; label NULL looks for priority. */
const struct dp_prio *dialplan_find_any(const struct dialplan *dp,
					const char *context, const char *exten,
					int priority, const char *label);
/* Does pattern or name e->key match exten (an extension dialled)? */
bool dp_exten_match(const struct dp_exten *e, const char *exten);

/*
 * Asterisk's standard_app_args(): split buf in place on ',' outside
 * parentheses, brackets and double quotes; quotes are removed and a
 * backslash makes the next character literal.  Up to max arguments (the
 * last one keeps the rest); returns how many.  Empty text has none.
 */
int dp_args_split(char *buf, char **argv, int max);

#endif
