/*
 * mwiconf.c - voicemail.conf [general] as far as message waiting needs it:
 * pollmailboxes and pollfreq, app_voicemail's way of noticing changes to
 * the spool that it did not make itself (here: another replica sharing
 * the spool, or a script).  The rest of voicemail.conf belongs to the
 * voicemail reader and is left to it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/load.h"

#define FILE_NAME "voicemail.conf"

void mwiconf_load(struct cfg_load *ld, const struct astconf *ac)
{
	const struct astconf_section *s = astconf_section(ac, "general");
	const struct astconf_var *v;
	uint32_t n;

	if (!s)
		return;
	v = astconf_var(s, "pollmailboxes");
	if (v && cfgval_bool(v->value, &ld->cfg->vm_pollmailboxes))
		load_msg(ld, DIAG_ERROR, load_file(ld, v->file_idx), v->line,
			 "invalid pollmailboxes '%.64s' (expected yes or no)", v->value);
	v = astconf_var(s, "pollfreq");
	if (v) {
		if (cfgval_uint(v->value, 1, 86400, &n))
			load_msg(ld, DIAG_ERROR, load_file(ld, v->file_idx), v->line,
				 "invalid pollfreq '%.64s' (expected a number from 1 to "
				 "86400)", v->value);
		else
			ld->cfg->vm_pollfreq = n;
	}
}
