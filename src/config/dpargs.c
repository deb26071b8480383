/*
 * dpargs.c - the argument syntax of the dialplan applications (see
 * dpargs.h).
 */
#include <stdbool.h>
#include <string.h>

#include "config/dpargs.h"
#include "util/pl.h"

int dp_args_split(char *buf, char **argv, int max)
{
	int argc, paren = 0, bracket = 0;
	bool quote = false;
	char *scan = buf, *wasdelim = NULL;

	if (!buf || max < 1)
		return 0;
	for (argc = 0; *scan && argc < max - 1; argc++) {
		argv[argc] = scan;
		for (; *scan; scan++) {
			if (*scan == '(') {
				paren++;
			} else if (*scan == ')') {
				if (paren)
					paren--;
			} else if (*scan == '[') {
				bracket++;
			} else if (*scan == ']') {
				if (bracket)
					bracket--;
			} else if (*scan == '"') {
				quote = !quote;
				memmove(scan, scan + 1, strlen(scan));
				scan--;
			} else if (*scan == '\\') {
				/* The next character is taken as it is. */
				memmove(scan, scan + 1, strlen(scan));
				if (!*scan)
					break;
			} else if (*scan == ',' && !paren && !quote && !bracket) {
				wasdelim = scan;
				*scan++ = '\0';
				break;
			}
		}
	}
	/* The rest, or the empty argument after a trailing ','. */
	if (*scan || (scan > buf && scan - 1 == wasdelim))
		argv[argc++] = scan;
	return argc;
}

/* "prio", "exten,prio" or "context,exten,prio". */
void dp_goto_split(char *s, struct dp_goto *g)
{
	char *a = strsep(&s, ","), *b = strsep(&s, ","), *c = strsep(&s, ",");

	g->context = g->exten = NULL;
	if (!b) {
		g->prio = a;
	} else if (!c) {
		g->exten = str_trim(a);
		g->prio = b;
	} else {
		g->context = str_trim(a);
		g->exten = str_trim(b);
		g->prio = c;
	}
	g->prio = str_trim(g->prio);
}

bool dp_prio_number(const char *s, int *n)
{
	long v = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v < 100000000)
			v = v * 10 + (*s - '0');
	}
	*n = (int)v;
	return true;
}
