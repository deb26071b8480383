/*
 * dpexpr.h - dialplan variable substitution (${...}) and expressions
 * ($[...]), with the meaning Asterisk gives them in pbx_variables.c and
 * ast_expr2.y.
 *
 *   ${VAR}              a variable, looked up through a dp_var_h callback
 *   ${VAR${N}}          names are expanded first, then looked up
 *   ${VAR:off[:len]}    substring; a negative offset counts from the end,
 *                       a negative length leaves that many off the end
 *   ${FUNC(args)}       LEN() is computed here, every other function is
 *                       asked of the callback with its whole text
 *   $[expr]             integers and strings: | & = == != < > <= >= + - *
 *                       / % unary - and !, ?: with "::", ":" and "=~"
 *                       (POSIX extended regex), "~~" (concatenation),
 *                       parentheses, "quoted strings", math functions
 *
 * As in Asterisk, a value is not expanded again after substitution, a
 * missing '}' or ']' takes the rest of the text (with a warning), and a
 * syntax error in an expression gives "0" (with a warning).  Differences,
 * all defensive: results are limited to DPEXPR_MAX_LEN bytes and nesting
 * to DPEXPR_MAX_DEPTH levels (beyond, the expansion fails instead of being
 * truncated); characters the expression scanner does not know are syntax
 * errors rather than silently dropped; regular expressions with back
 * references are refused, since they can take exponential time.
 *
 * It lives in config/ with the dialplan because loading needs it too: the
 * loader expands [globals] in names and checks every argument's syntax;
 * the interpreter (pbx/dpexec) expands at run time with the same code.
 */
#ifndef KV_CONFIG_DPEXPR_H
#define KV_CONFIG_DPEXPR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/sbuf.h"

#define DPEXPR_MAX_LEN    8192   /* bytes of any expanded text */
#define DPEXPR_MAX_DEPTH  32     /* nested ${...} and $[...] */

enum {
	DPEXPR_OK = 0,
	DPEXPR_ESYNTAX = EINVAL, /* expression syntax error: result is "0" */
	DPEXPR_ELIMIT = E2BIG,   /* too long, too deep, or out of memory */
};

/*
 * Look a variable or function up: name is "VAR" or "FUNC(args)", already
 * expanded and without any ":offset:length".  Append the value to out and
 * return 0, or return non-zero (ENOENT) when there is no such variable (it
 * then expands to nothing, as in Asterisk).
 */
typedef int (dp_var_h)(const char *name, size_t len, struct sbuf *out, void *arg);

/*
 * Append s with every ${...} and $[...] substituted to out.  DPEXPR_OK, or
 * DPEXPR_ELIMIT when a limit was hit; out is then partly written.
 */
int dpexpr_expand(const char *s, size_t len, dp_var_h *vh, void *arg,
		  struct sbuf *out);

/*
 * Evaluate the text of an expression (what is between "$[" and "]", its
 * ${...} already substituted) and append the result to out.  On a syntax
 * error the result is "0", as in Asterisk, and DPEXPR_ESYNTAX is returned;
 * DPEXPR_ELIMIT when a limit was hit.
 */
int dpexpr_eval(const char *expr, size_t len, dp_var_h *vh, void *arg,
		struct sbuf *out);

/*
 * Asterisk's pbx_checkcondition(): empty text is false, text that starts
 * with an integer is that integer's truth ("0", "00", " 0x" are false),
 * any other text is true.
 */
bool dpexpr_true(const char *s);

/*
 * Functions the dialplan may use.  LEN is computed here; CALLERID (all,
 * name, num), EXCEPTION (reason, context, exten, priority) and
 * PJSIP_HEADER (read, its arguments as dp_pjsip_header_parse() reads them)
 * are answered by the interpreter or the channel.  An unknown name is a
 * load error.
 */
bool dpexpr_func_known(const char *name, size_t len);

/* Does s (len bytes) hold a "${" or "$[", i.e. is it known only once
 * expanded? */
bool dpexpr_has_subst(const char *s, size_t len);

/* The first c in s outside every ${...} and $[...], or NULL: where text
 * as written splits, whatever the substitutions turn out to be. */
char *dpexpr_chr(char *s, char c);
/* Is there a c inside some ${...} or $[...] of s?  Then where s splits on
 * c is known only once it is expanded. */
bool dpexpr_chr_inside(const char *s, char c);

/*
 * Load-time check of text that will be expanded at run time: balanced
 * "${" and "$[", known function names and arguments where they are
 * written literally, and the syntax of expressions without variables.
 * 0, or EINVAL with a message in err.
 */
int dpexpr_check(const char *s, char *err, size_t errsize);

#endif
