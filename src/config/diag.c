/*
 * diag.c - configuration diagnostics: a list of "file:line: message".
 *
 * Loading never stops at the first problem: every error and warning is
 * collected here so that `kubevoxd --check` shows them all at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"

void cfg_diag_init(struct cfg_diag *d)
{
	memset(d, 0, sizeof(*d));
}

void cfg_diag_free(struct cfg_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].text);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

void cfg_diag_add(struct cfg_diag *d, enum cfg_severity sev, const char *file,
		  int line, const char *fmt, ...)
{
	struct cfg_msg *m;
	va_list ap;
	char *text = NULL;
	char *fcopy;
	int n;

	/* The count is kept even when memory runs out, so that an error is
	 * never lost as "no error". */
	if (sev == CFG_ERROR)
		d->errors++;
	else
		d->warnings++;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	fcopy = strdup(file ? file : "");
	if (!fcopy) {
		free(text);
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct cfg_msg *v = realloc(d->v, cap * sizeof(*v));
		if (!v) {
			free(text);
			free(fcopy);
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	m = &d->v[d->n++];
	m->sev = sev;
	m->file = fcopy;
	m->line = line < 0 ? 0 : line;
	m->text = text;
}

int cfg_msg_format(const struct cfg_msg *m, char *buf, size_t size)
{
	const char *sev = m->sev == CFG_WARNING ? "warning: " : "";

	if (m->line > 0)
		return snprintf(buf, size, "%s:%d: %s%s", m->file, m->line, sev, m->text);
	return snprintf(buf, size, "%s: %s%s", m->file, sev, m->text);
}

void cfg_diag_print(const struct cfg_diag *d, FILE *fp)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++) {
		int n = cfg_msg_format(&d->v[i], buf, sizeof(buf));
		if (n < 0)
			continue;
		if ((size_t)n < sizeof(buf)) {
			fprintf(fp, "%s\n", buf);
		} else {
			char *big = malloc((size_t)n + 1);
			if (!big)
				continue;
			cfg_msg_format(&d->v[i], big, (size_t)n + 1);
			fprintf(fp, "%s\n", big);
			free(big);
		}
	}
}
