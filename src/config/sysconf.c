/*
 * sysconf.c - the small files: asterisk.conf [directories], rtp.conf
 * [general], http.conf [general] and KubeVox's own kubevox.conf
 * ([general], [security], [debug]).
 *
 * asterisk.conf holds many options that make no sense for KubeVox; they are
 * accepted silently so that an existing asterisk.conf can be reused.  In
 * rtp.conf everything but the port range is ignored with a warning, and in
 * http.conf everything but enabled, bindaddr and bindport, unless it is
 * harmless as written.  kubevox.conf is ours: anything unknown there is a
 * typo, hence an error.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"
#include "config/load.h"

static void msg(struct cfg_load *ld, enum diag_severity sev, const struct astconf_var *v,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void msg(struct cfg_load *ld, enum diag_severity sev, const struct astconf_var *v,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ld->diag, sev, load_file(ld, v->file_idx), v->line, NULL, fmt, ap);
	va_end(ap);
}

static bool num(struct cfg_load *ld, const struct astconf_var *v, uint32_t min,
		uint32_t max, uint32_t *out)
{
	if (!cfgval_uint(v->value, min, max, out))
		return true;
	msg(ld, DIAG_ERROR, v, "invalid %s '%s' (expected a number from %u to %u)",
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
				msg(ld, DIAG_ERROR, v, "%s is empty", v->name);
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
			load_msg(ld, DIAG_WARNING, load_file(ld, s->file_idx), s->line,
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
				msg(ld, DIAG_WARNING, v, "option '%s' is not supported yet (ignored)",
				    v->name);
			}
		}
	}
	if (start >= end) {
		const struct astconf_var *v = end_v ? end_v : start_v;

		if (v)
			msg(ld, DIAG_ERROR, v, "rtpstart (%u) must be lower than rtpend (%u)",
			    start, end);
		return;
	}
	cfg->rtpstart = (uint16_t)start;
	cfg->rtpend = (uint16_t)end;
}

static bool boolean(struct cfg_load *ld, const struct astconf_var *v, bool *out)
{
	if (!cfgval_bool(v->value, out))
		return true;
	msg(ld, DIAG_ERROR, v, "invalid %s '%s' (expected yes or no)", v->name, v->value);
	return false;
}

/* Options of Asterisk's HTTP server that change nothing as written: the
 * Server header name, and features switched off or left empty. */
static bool http_harmless(const struct astconf_var *v)
{
	static const char *const off[] = { "enablestatic", "tlsenable", "sslenable" };
	bool b;

	if (!strcasecmp(v->name, "servername"))
		return true;
	if (!strcasecmp(v->name, "prefix") || !strcasecmp(v->name, "redirect"))
		return !*v->value;
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if (!strcasecmp(v->name, off[i]))
			return !cfgval_bool(v->value, &b) && !b;
	return false;
}

/*
 * Asterisk runs its HTTP server only with enabled=yes and a bindaddr: the
 * sample ships bindaddr=127.0.0.1 and says there is no default.  A port in
 * bindaddr wins over bindport, as in Asterisk.
 */
void sysconf_http(struct cfg_load *ld, const struct astconf *ac)
{
	struct cfg_http *http = &ld->cfg->http;
	const struct astconf_var *enabled_v = NULL, *bind_v = NULL;
	struct sockaddr_storage bind;
	bool enabled = false, have_bind = false;
	uint32_t port = 8088;

	memset(&bind, 0, sizeof(bind));
	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (strcasecmp(s->name, "general")) {
			load_msg(ld, DIAG_WARNING, load_file(ld, s->file_idx), s->line,
				 "section [%s] is not supported (ignored)", s->name);
			continue;
		}
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];

			if (!strcasecmp(v->name, "enabled")) {
				if (boolean(ld, v, &enabled))
					enabled_v = v;
			} else if (!strcasecmp(v->name, "bindaddr")) {
				bind_v = v;
				switch (cfgval_addr(v->value, 0, &bind)) {
				case CFGVAL_ADDR_OK:
					have_bind = true;
					break;
				case CFGVAL_ADDR_PORT:
					msg(ld, DIAG_ERROR, v, "invalid port in bindaddr '%s'", v->value);
					break;
				case CFGVAL_ADDR_BAD:
					msg(ld, DIAG_ERROR, v, "invalid bindaddr '%s' (expected an "
					    "IP address, optionally with :port)", v->value);
					break;
				}
			} else if (!strcasecmp(v->name, "bindport")) {
				num(ld, v, 1, 65535, &port);
			} else if (!http_harmless(v)) {
				msg(ld, DIAG_WARNING, v, "option '%s' is not supported (ignored)",
				    v->name);
			}
		}
	}
	/* An invalid bindaddr has its own error already. */
	if (enabled && !bind_v && enabled_v)
		msg(ld, DIAG_WARNING, enabled_v, "enabled=yes without bindaddr: the HTTP "
		    "server does not run (Asterisk has no default bind address)");
	if (have_bind) {
		if (bind.ss_family == AF_INET6) {
			struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&bind;

			if (!sin6->sin6_port)
				sin6->sin6_port = htons((uint16_t)port);
		} else {
			struct sockaddr_in *sin = (struct sockaddr_in *)&bind;

			if (!sin->sin_port)
				sin->sin_port = htons((uint16_t)port);
		}
	}
	http->bind = bind;
	http->enabled = enabled && have_bind;
}

static void kubevox_general(struct cfg_load *ld, const struct astconf_section *s)
{
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "drain_timeout"))
			num(ld, v, 0, 7 * 86400, &ld->cfg->drain_timeout);
		else
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [general]", v->name);
	}
}

static void kubevox_debug(struct cfg_load *ld, const struct astconf_section *s)
{
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "allow_freeze"))
			boolean(ld, v, &ld->cfg->debug_freeze);
		else
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [debug]", v->name);
	}
}

void sysconf_kubevox(struct cfg_load *ld, const struct astconf *ac)
{
	struct cfg_security *sec = &ld->cfg->security;

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (!strcasecmp(s->name, "general")) {
			kubevox_general(ld, s);
			continue;
		}
		if (!strcasecmp(s->name, "debug")) {
			kubevox_debug(ld, s);
			continue;
		}
		if (strcasecmp(s->name, "security")) {
			load_msg(ld, DIAG_ERROR, load_file(ld, s->file_idx), s->line,
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
					msg(ld, DIAG_ERROR, v, "nonce_secret is empty");
					continue;
				}
				if (strlen(v->value) < 16)
					msg(ld, DIAG_WARNING, v, "nonce_secret is short "
					    "(use at least 16 random characters)");
				sec->nonce_secret = load_strdup(ld, v->value);
			} else {
				msg(ld, DIAG_ERROR, v, "unknown option '%s' in [security]", v->name);
			}
		}
	}
}
