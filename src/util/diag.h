/*
 * diag.h - diagnostics: a list of "file:line: message".
 *
 * Every reader of user input (the .conf files, the dialplan, its
 * application arguments) reports here instead of stopping at the first
 * problem, so that `kubevoxd --check` shows everything at once and a
 * rejected reload logs every reason.  The same message given twice (a
 * template line seen once per section that inherits it) is kept once.
 */
#ifndef KV_UTIL_DIAG_H
#define KV_UTIL_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "util/htab.h"

enum diag_severity { DIAG_WARNING, DIAG_ERROR };

struct diag_msg {
	enum diag_severity sev;
	char *file;      /* path relative to the config dir, as the user wrote it */
	int line;        /* 0 when the problem concerns a whole file */
	char *text;
};

struct diag {
	struct diag_msg *v;
	size_t n, cap;
	unsigned errors;   /* counted even when memory runs out: an error */
	unsigned warnings; /* is never lost as "no error" */
	struct htab seen;  /* of the messages given, for duplicates */
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_add(struct diag *d, enum diag_severity sev, const char *file,
	      int line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* prefix (may be NULL) goes before the formatted text: the wrappers of
 * the readers ("Dial: ", "endpoint '1001': ") pass their va_list on. */
void diag_vadd(struct diag *d, enum diag_severity sev, const char *file,
	       int line, const char *prefix, const char *fmt, va_list ap)
	__attribute__((format(printf, 6, 0)));
/* "file:line: message" (warnings: "file:line: warning: message"); a
 * message about a whole file (line 0) is "file: message".  snprintf's
 * return convention. */
int  diag_msg_format(const struct diag_msg *m, char *buf, size_t size);
/* Every message, one formatted line each, in order. */
void diag_print(const struct diag *d, FILE *fp);

#endif
