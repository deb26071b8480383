/*
 * diag.c - the list of diagnostics (see diag.h).
 */
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"
#include "util/hash.h"
#include "util/vec.h"

/* What was given, for duplicates: the strings are the messages' own,
 * which stay put when the array of messages moves or is sorted. */
struct seen {
	struct hnode hn;
	const char *file, *text;
	int line;
	enum diag_severity sev;
};

static uint64_t seen_hash(const char *file, int line, enum diag_severity sev,
			  const char *text)
{
	uint64_t h = hash_fnv_add(HASH_FNV_INIT, file, strlen(file) + 1);

	h = hash_fnv_add(h, &line, sizeof(line));
	h = hash_fnv_add(h, &sev, sizeof(sev));
	return hash_mix64(hash_fnv_add(h, text, strlen(text)));
}

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void diag_free(struct diag *d)
{
	struct hnode *n;

	while ((n = htab_pop(&d->seen)))
		free(htab_entry(n, struct seen, hn));
	htab_free(&d->seen);
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].text);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}

/* True when the same message was given before; records it otherwise.
 * Out of memory, a message may be shown twice, never lost. */
static bool seen_before(struct diag *d, const struct diag_msg *m)
{
	uint64_t h = seen_hash(m->file, m->line, m->sev, m->text);
	struct seen *s;

	for (struct hnode *n = htab_bucket(&d->seen, h); n; n = n->next) {
		s = htab_entry(n, struct seen, hn);
		if (n->hash == h && s->line == m->line && s->sev == m->sev &&
		    !strcmp(s->file, m->file) && !strcmp(s->text, m->text))
			return true;
	}
	if (!d->seen.b && htab_init(&d->seen, 16))
		return false;
	s = malloc(sizeof(*s));
	if (!s)
		return false;
	s->file = m->file;
	s->text = m->text;
	s->line = m->line;
	s->sev = m->sev;
	htab_insert(&d->seen, &s->hn, h);
	return false;
}

void diag_vadd(struct diag *d, enum diag_severity sev, const char *file,
	       int line, const char *prefix, const char *fmt, va_list ap)
{
	struct diag_msg m = {.sev = sev, .line = line < 0 ? 0 : line};
	char *body = NULL;

	if (vasprintf(&body, fmt, ap) < 0)
		body = NULL;
	if (body && prefix && *prefix) {
		if (asprintf(&m.text, "%s%s", prefix, body) < 0)
			m.text = NULL;
		free(body);
	} else {
		m.text = body;
	}
	m.file = strdup(file ? file : "");
	if (!m.text || !m.file || vec_grow(d))
		goto lost;
	if (seen_before(d, &m)) {
		/* given already: neither shown nor counted again */
		free(m.text);
		free(m.file);
		return;
	}
	d->v[d->n++] = m;
	goto count;
lost:
	/* out of memory: the message is lost, but still counted, so that an
	 * error never reads as "no error" */
	free(m.text);
	free(m.file);
count:
	if (sev == DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
}

void diag_add(struct diag *d, enum diag_severity sev, const char *file,
	      int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, sev, file, line, NULL, fmt, ap);
	va_end(ap);
}

int diag_msg_format(const struct diag_msg *m, char *buf, size_t size)
{
	const char *sev = m->sev == DIAG_WARNING ? "warning: " : "";

	if (m->line > 0)
		return snprintf(buf, size, "%s:%d: %s%s", m->file, m->line, sev, m->text);
	return snprintf(buf, size, "%s: %s%s", m->file, sev, m->text);
}

void diag_print(const struct diag *d, FILE *fp)
{
	char buf[1024];

	for (size_t i = 0; i < d->n; i++) {
		int n = diag_msg_format(&d->v[i], buf, sizeof(buf));
		char *big;

		if (n < 0)
			continue;
		if ((size_t)n < sizeof(buf)) {
			fprintf(fp, "%s\n", buf);
			continue;
		}
		big = malloc((size_t)n + 1);
		if (!big)
			continue;
		diag_msg_format(&d->v[i], big, (size_t)n + 1);
		fprintf(fp, "%s\n", big);
		free(big);
	}
}
