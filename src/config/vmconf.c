/*
 * vmconf.c - voicemail.conf into struct vm_config (see vmconf.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/vmconf.h"

/* dsp.conf's default silencethreshold, which app_voicemail takes. */
#define VM_DEFAULT_THRESHOLD 256
#define VM_MAXMSG_MAX 9999      /* msg0000..msg9999, Asterisk's MAXMSGLIMIT */

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->maxmsg = 100;
	cfg->silencethreshold = VM_DEFAULT_THRESHOLD;
	cfg->pollfreq = 30;
}

bool vm_name_valid(const char *s)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++) {
		if (*s == '/' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static bool num(const struct astconf_var *v, uint32_t min, uint32_t max,
		uint32_t *out, struct diag *diag)
{
	if (!cfgval_uint(v->value, min, max, out))
		return true;
	diag_add(diag, DIAG_ERROR, v->file, v->line,
	    "invalid %s '%s' (expected a number from %u to %u)", v->name, v->value,
	    min, max);
	return false;
}

static bool parse_general(const struct astconf_section *s, struct vm_config *out,
			  struct diag *diag)
{
	bool ok = true;

	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "format")) {
			/* "wav49|gsm|wav": the first format is what is recorded;
			 * KubeVox records wav only. */
			if (strcasecmp(v->value, "wav"))
				diag_add(diag, DIAG_WARNING, v->file, v->line,
				    "format '%s' is not supported yet: messages are "
				    "recorded as wav", v->value);
		} else if (!strcasecmp(v->name, "maxmsg")) {
			ok &= num(v, 1, VM_MAXMSG_MAX, &out->maxmsg, diag);
		} else if (!strcasecmp(v->name, "maxsecs") ||
			   !strcasecmp(v->name, "maxmessage")) {
			ok &= num(v, 0, VM_MAXSECS_CAP, &out->maxsecs, diag);
		} else if (!strcasecmp(v->name, "minsecs") ||
			   !strcasecmp(v->name, "minmessage")) {
			ok &= num(v, 0, VM_MAXSECS_CAP, &out->minsecs, diag);
		} else if (!strcasecmp(v->name, "maxsilence")) {
			ok &= num(v, 0, VM_MAXSECS_CAP, &out->maxsilence, diag);
		} else if (!strcasecmp(v->name, "silencethreshold")) {
			ok &= num(v, 0, 32767, &out->silencethreshold, diag);
		} else if (!strcasecmp(v->name, "pollmailboxes")) {
			if (cfgval_bool(v->value, &out->pollmailboxes)) {
				diag_add(diag, DIAG_ERROR, v->file, v->line,
				    "invalid pollmailboxes '%.64s' (expected yes or no)", v->value);
				ok = false;
			}
		} else if (!strcasecmp(v->name, "pollfreq")) {
			ok &= num(v, 1, 86400, &out->pollfreq, diag);
		} else {
			diag_add(diag, DIAG_WARNING, v->file, v->line,
			    "option '%s' is not supported yet (ignored)", v->name);
		}
	}
	if (out->maxsecs && out->minsecs > out->maxsecs)
		diag_add(diag, DIAG_WARNING, s->file, s->line,
		    "minsecs (%u) is longer than maxsecs (%u): every message "
		    "would be discarded", out->minsecs, out->maxsecs);
	return ok;
}

/* Next comma-separated field of *cur, trimmed; "" past the end. */
static char *field(char **cur)
{
	char *f = *cur, *comma;

	if (!f)
		return "";
	comma = strchr(f, ',');
	if (comma) {
		*comma = '\0';
		*cur = comma + 1;
	} else {
		*cur = NULL;
	}
	return cfgval_strip(f);
}

static const char *copy(struct arena *mem, const char *s, bool *oom)
{
	char *p = arena_strdup(mem, s);

	if (!p)
		*oom = true;
	return p ? p : "";
}

static bool parse_mailbox(const struct astconf_section *s, const struct astconf_var *v,
			  struct arena *mem, struct vm_mailbox *box, bool *oom,
			  struct diag *diag)
{
	char buf[1024], *cur = buf, *pw, *opts;

	if (!vm_name_valid(v->name)) {
		diag_add(diag, DIAG_ERROR, v->file, v->line,
		    "invalid mailbox '%s' in [%s] (it names a directory of the spool)",
		    v->name, s->name);
		return false;
	}
	if (strlen(v->value) >= sizeof(buf)) {
		diag_add(diag, DIAG_ERROR, v->file, v->line, "mailbox '%s': line too long",
		    v->name);
		return false;
	}
	memcpy(buf, v->value, strlen(v->value) + 1);
	pw = field(&cur);
	/* "-1234": a password the user may not change; the same password. */
	if (*pw == '-')
		pw++;
	box->context = copy(mem, s->name, oom);
	box->mailbox = copy(mem, v->name, oom);
	box->password = copy(mem, pw, oom);
	box->fullname = copy(mem, field(&cur), oom);
	box->email = copy(mem, field(&cur), oom);
	box->pager = copy(mem, field(&cur), oom);
	box->file = copy(mem, v->file, oom);
	box->line = v->line;
	/* "attach=yes|tz=central": per-mailbox overrides, none supported. */
	opts = cur ? cur : "";
	for (char *o; (o = strsep(&opts, "|,"));) {
		char *eq = strchr(o, '=');

		if (eq)
			*eq = '\0';
		o = cfgval_strip(o);
		if (*o)
			diag_add(diag, DIAG_WARNING, v->file, v->line,
			    "mailbox '%s': option '%s' is not supported yet (ignored)",
			    v->name, o);
	}
	return true;
}

const struct vm_mailbox *vm_config_mailbox(const struct vm_config *cfg,
					   const char *context, const char *mailbox)
{
	if (!context || !*context)
		context = "default";
	for (size_t i = 0; i < cfg->boxes_n; i++) {
		const struct vm_mailbox *b = &cfg->boxes[i];

		if (!strcmp(b->mailbox, mailbox) && !strcasecmp(b->context, context))
			return b;
	}
	return NULL;
}

static size_t count_boxes(const struct astconf *ac)
{
	size_t n = 0;

	for (size_t i = 0; i < ac->sections_n; i++)
		n += ac->sections[i]->vars_n;
	return n;
}

int vm_config_parse(const struct astconf *ac, struct arena *mem,
		    struct vm_config *out, struct diag *diag)
{
	bool ok = true, oom = false;
	size_t cap;

	vm_config_init(out);
	if (!ac)
		return 0;
	out->present = true;
	cap = count_boxes(ac);
	if (cap) {
		out->boxes = arena_alloc(mem, cap * sizeof(*out->boxes));
		if (!out->boxes)
			return ENOMEM;
	}
	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (!strcasecmp(s->name, "general")) {
			ok &= parse_general(s, out, diag);
			continue;
		}
		if (!strcasecmp(s->name, "zonemessages")) {
			diag_add(diag, DIAG_WARNING, s->file, s->line,
			    "[zonemessages] is not supported yet (ignored)");
			continue;
		}
		if (!vm_name_valid(s->name)) {
			diag_add(diag, DIAG_ERROR, s->file, s->line,
			    "invalid voicemail context [%s] (it names a directory of "
			    "the spool)", s->name);
			ok = false;
			continue;
		}
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];
			struct vm_mailbox *box = &out->boxes[out->boxes_n];

			if (vm_config_mailbox(out, s->name, v->name)) {
				/* app_voicemail keeps the first one. */
				diag_add(diag, DIAG_WARNING, v->file, v->line,
				    "mailbox '%s' appears again in [%s] (ignored)",
				    v->name, s->name);
				continue;
			}
			if (!parse_mailbox(s, v, mem, box, &oom, diag)) {
				ok = false;
				continue;
			}
			out->boxes_n++;
		}
	}
	if (oom)
		return ENOMEM;
	return ok ? 0 : EINVAL;
}
