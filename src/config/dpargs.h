/*
 * dpargs.h - the argument syntax of the dialplan applications, read by one
 * piece of code for the load-time checker (dpcheck.c, on the arguments as
 * written) and for the applications at run time (pbx/, on the arguments
 * once expanded), so that --check accepts what a call then does, and
 * both read it as Asterisk does.
 */
#ifndef KV_CONFIG_DPARGS_H
#define KV_CONFIG_DPARGS_H

#include <stdbool.h>

/*
 * Asterisk's standard_app_args(): split buf in place on ',' outside
 * parentheses, brackets and double quotes; quotes are removed and a
 * backslash makes the next character literal.  Up to max arguments (the
 * last one keeps the rest); returns how many.  Empty text has none.
 */
int dp_args_split(char *buf, char **argv, int max);

/* Goto([[context,]exten,]priority), as ast_parseable_goto() splits it. */
struct dp_goto {
	char *context;           /* NULL or "" when absent */
	char *exten;             /* NULL or "" when absent */
	char *prio;              /* a number, "+N", "-N" or a label */
};

/* Split s in place; every part is trimmed. */
void dp_goto_split(char *s, struct dp_goto *g);

/* The number a priority starts with, as sscanf("%d") reads it after any
 * sign was taken off; false when it does not start with a digit (it is
 * then a label). */
bool dp_prio_number(const char *s, int *n);

#endif
