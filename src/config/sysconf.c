/*
 * sysconf.c - the small files: asterisk.conf [directories], rtp.conf
 * [general] and KubeVox's own kubevox.conf [security].
 *
 * asterisk.conf holds many options that make no sense for KubeVox; they are
 * accepted silently so that an existing asterisk.conf can be reused.  In
 * rtp.conf everything but the port range is ignored with a warning.
 * kubevox.conf is ours: anything unknown there is a typo, hence an error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/load.h"

static void msg(struct cfg_load *ld, enum cfg_severity sev, const struct astconf_var *v,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void msg(struct cfg_load *ld, enum cfg_severity sev, const struct astconf_var *v,
		const char *fmt, ...)
{
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	load_msg(ld, sev, load_file(ld, v->file_idx), v->line, "%s", text);
}

static bool num(struct cfg_load *ld, const struct astconf_var *v, uint32_t min,
		uint32_t max, uint32_t *out)
{
	if (!cfgval_uint(v->value, min, max, out))
		return true;
	msg(ld, CFG_ERROR, v, "invalid %s '%s' (expected a number from %u to %u)",
	    v->name, v->value, min, max);
	return false;
}

void sysconf_asterisk(struct cfg_load *ld, const struct astconf *ac)
{
	struct kv_config *cfg = ld->cfg;

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		/* The sample file ships "[directories](!)": a template,
		 * which Asterisk ignores, keeping its built-in paths. */
		if (s->template || strcasecmp(s->name, "directories"))
			continue;
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];
			char **dst = NULL;

			if (!strcasecmp(v->name, "astlogdir"))
				dst = &cfg->astlogdir;
			else if (!strcasecmp(v->name, "astspooldir"))
				dst = &cfg->astspooldir;
			if (!dst)
				continue;
			if (!*v->value) {
				msg(ld, CFG_ERROR, v, "%s is empty", v->name);
				continue;
			}
			*dst = load_strdup(ld, v->value);
		}
	}
}

void sysconf_rtp(struct cfg_load *ld, const struct astconf *ac)
{
	struct kv_config *cfg = ld->cfg;
	const struct astconf_var *start_v = NULL, *end_v = NULL;
	uint32_t start = cfg->rtpstart, end = cfg->rtpend;

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (strcasecmp(s->name, "general")) {
			load_msg(ld, CFG_WARNING, load_file(ld, s->file_idx), s->line,
				 "section [%s] is not supported yet (ignored)", s->name);
			continue;
		}
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];

			if (!strcasecmp(v->name, "rtpstart")) {
				if (num(ld, v, 1, 65535, &start))
					start_v = v;
			} else if (!strcasecmp(v->name, "rtpend")) {
				if (num(ld, v, 1, 65535, &end))
					end_v = v;
			} else {
				msg(ld, CFG_WARNING, v, "option '%s' is not supported yet (ignored)",
				    v->name);
			}
		}
	}
	if (start >= end) {
		const struct astconf_var *v = end_v ? end_v : start_v;

		if (v)
			msg(ld, CFG_ERROR, v, "rtpstart (%u) must be lower than rtpend (%u)",
			    start, end);
		return;
	}
	cfg->rtpstart = (uint16_t)start;
	cfg->rtpend = (uint16_t)end;
}

void sysconf_kubevox(struct cfg_load *ld, const struct astconf *ac)
{
	struct cfg_security *sec = &ld->cfg->security;

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (strcasecmp(s->name, "security")) {
			load_msg(ld, CFG_ERROR, load_file(ld, s->file_idx), s->line,
				 "unknown section [%s]", s->name);
			continue;
		}
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];

			if (!strcasecmp(v->name, "ban_failures")) {
				num(ld, v, 0, 1000000, &sec->ban_failures);
			} else if (!strcasecmp(v->name, "ban_window")) {
				num(ld, v, 1, 86400, &sec->ban_window);
			} else if (!strcasecmp(v->name, "ban_time")) {
				num(ld, v, 1, 7 * 86400, &sec->ban_time);
			} else if (!strcasecmp(v->name, "nonce_lifetime")) {
				num(ld, v, 1, 86400, &sec->nonce_lifetime);
			} else if (!strcasecmp(v->name, "nonce_secret")) {
				if (!*v->value) {
					msg(ld, CFG_ERROR, v, "nonce_secret is empty");
					continue;
				}
				if (strlen(v->value) < 16)
					msg(ld, CFG_WARNING, v, "nonce_secret is short "
					    "(use at least 16 random characters)");
				sec->nonce_secret = load_strdup(ld, v->value);
			} else {
				msg(ld, CFG_ERROR, v, "unknown option '%s' in [security]", v->name);
			}
		}
	}
}
