/*
 * sysconf.c - the small files: asterisk.conf [directories], rtp.conf
 * [general], http.conf [general] and KubeVox's own kubevox.conf
 * ([general], [security], [state], [cluster], [http], [dns], [debug]).
 *
 * asterisk.conf holds many options that make no sense for KubeVox; they are
 * accepted silently so that an existing asterisk.conf can be reused.  In
 * rtp.conf everything but the port range is ignored with a warning, and in
 * http.conf everything but enabled, bindaddr and bindport, unless it is
 * harmless as written.  kubevox.conf is ours: anything unknown there is a
 * typo, hence an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config/cfgval.h"
#include "config/load.h"
#include "util/hash.h"
#include "util/vec.h"

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

/* A systemname goes into uniqueids, CDRs and log lines as it is. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") == n;
}

/* asterisk.conf [options]: systemname; the rest is Asterisk's business. */
static void options_section(struct cfg_load *ld, const struct astconf_section *s)
{
	const struct astconf_var *v = astconf_var(s, "systemname");

	if (!v)
		return;
	if (!name_ok(v->value)) {
		msg(ld, DIAG_ERROR, v, "invalid systemname '%.64s' (letters, digits, '.', "
		    "'_', '-'; at most 63)", v->value);
		return;
	}
	ld->cfg->systemname = load_strdup(ld, v->value);
}

void sysconf_asterisk(struct cfg_load *ld, const struct astconf *ac)
{
	struct kv_config *cfg = ld->cfg;

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		/* The sample file ships "[directories](!)": a template,
		 * which Asterisk ignores, keeping its built-in paths. */
		if (s->template)
			continue;
		if (!strcasecmp(s->name, "options")) {
			options_section(ld, s);
			continue;
		}
		if (strcasecmp(s->name, "directories"))
			continue;
		for (size_t j = 0; j < s->vars_n; j++) {
			const struct astconf_var *v = &s->vars[j];
			char **dst = NULL;

			if (!strcasecmp(v->name, "astlogdir"))
				dst = &cfg->astlogdir;
			else if (!strcasecmp(v->name, "astspooldir"))
				dst = &cfg->astspooldir;
			else if (!strcasecmp(v->name, "astdatadir"))
				dst = &cfg->astdatadir;
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

/* A secret of kubevox.conf: not empty, and long enough to resist
 * guessing (a warning only: a short one still works). */
static char *secret(struct cfg_load *ld, const struct astconf_var *v)
{
	if (!*v->value) {
		msg(ld, DIAG_ERROR, v, "%s is empty", v->name);
		return NULL;
	}
	if (strlen(v->value) < 16)
		msg(ld, DIAG_WARNING, v, "%s is short (use at least 16 random characters)",
		    v->name);
	return load_strdup(ld, v->value);
}

/* ban_exempt = 10.0.0.0/8, 192.168.1.5, ...: may be given on several
 * lines, which add up. */
static void ban_exempt(struct cfg_load *ld, const struct astconf_var *v)
{
	struct cfg_security *sec = &ld->cfg->security;
	VEC(struct cfg_net) nets = {0};
	const char *pos = v->value, *item;
	size_t len;

	while (cfgval_list_next(&pos, &item, &len)) {
		struct cfg_net net;
		char buf[INET6_ADDRSTRLEN + 8];

		if (len >= sizeof(buf) || (memcpy(buf, item, len), buf[len] = '\0',
					   cfgval_net(buf, &net))) {
			msg(ld, DIAG_ERROR, v, "invalid ban_exempt '%.*s' (expected an IP "
			    "address or network such as 192.168.0.0/16)",
			    (int)(len > 64 ? 64 : len), item);
			continue;
		}
		if (vec_push(&nets, net)) {
			ld->oom = true;
			break;
		}
	}
	if (nets.n) {
		struct cfg_net *all = load_alloc(ld, (sec->ban_exempt_n + nets.n) * sizeof(*all));

		if (all) {
			if (sec->ban_exempt_n)
				memcpy(all, sec->ban_exempt, sec->ban_exempt_n * sizeof(*all));
			memcpy(all + sec->ban_exempt_n, nets.v, nets.n * sizeof(*all));
			sec->ban_exempt = all;
			sec->ban_exempt_n += nets.n;
		}
	}
	vec_free(&nets);
}

static void kubevox_security(struct cfg_load *ld, const struct astconf_section *s)
{
	struct cfg_security *sec = &ld->cfg->security;

	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "ban_failures"))
			num(ld, v, 0, 1000000, &sec->ban_failures);
		else if (!strcasecmp(v->name, "ban_window"))
			num(ld, v, 1, 86400, &sec->ban_window);
		else if (!strcasecmp(v->name, "ban_time"))
			num(ld, v, 1, 7 * 86400, &sec->ban_time);
		else if (!strcasecmp(v->name, "ban_exempt"))
			ban_exempt(ld, v);
		else if (!strcasecmp(v->name, "nonce_lifetime"))
			num(ld, v, 1, 86400, &sec->nonce_lifetime);
		else if (!strcasecmp(v->name, "nonce_secret"))
			sec->nonce_secret = secret(ld, v);
		else
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [security]", v->name);
	}
}

/* HOST[:PORT] of a URL, text[0..len): an address with or without its
 * port ([] around IPv6), or a host name with or without one (resolved
 * when connecting).  0 with *host (in the configuration's memory) and
 * *port, or EINVAL, reported. */
static int url_host(struct cfg_load *ld, const struct astconf_var *v, const char *text,
		    size_t len, uint16_t defport, char **host, uint16_t *port)
{
	const char *u = v->value;
	struct sockaddr_storage ss;
	char *copy = load_strndup(ld, text, len), *colon;
	uint32_t p = defport;

	if (!copy)
		return ENOMEM;
	if (cfgval_addr(copy, defport, &ss) == CFGVAL_ADDR_OK) {
		char ip[INET6_ADDRSTRLEN];

		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
			*port = ntohs(in6->sin6_port);
		} else {
			const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
			*port = ntohs(in->sin_port);
		}
		*host = load_strdup(ld, ip);
		return *host ? 0 : ENOMEM;
	}
	colon = strrchr(copy, ':');
	if (colon) {
		if (cfgval_uint(colon + 1, 1, 65535, &p)) {
			msg(ld, DIAG_ERROR, v, "invalid port in url '%s'", u);
			return EINVAL;
		}
		*colon = '\0';
	}
	if (!*copy || strchr(copy, '[') || strchr(copy, ':')) {
		msg(ld, DIAG_ERROR, v, "invalid host in url '%s'", u);
		return EINVAL;
	}
	*host = copy;
	*port = (uint16_t)p;
	return 0;
}

/* A master's name as Sentinel knows it: one word of printable characters
 * (it goes into a command and a log line). */
static bool master_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128)
		return false;
	for (; *s; s++) {
		if (*s <= ' ' || *s > '~' || *s == '/' || *s == ',' || *s == '"' || *s == '\\')
			return false;
	}
	return true;
}

/* redis-sentinel://HOST[:PORT],HOST[:PORT],.../MASTER: the sentinels (port
 * 26379 by default) and the name of the master they watch. */
static int sentinel_url(struct cfg_load *ld, const struct astconf_var *v,
			struct cfg_state *st)
{
	const char *u = v->value, *list = u + 17, *slash = strchr(list, '/'), *p;
	struct cfg_sentinel *s;
	size_t n = 1;
	int err;

	if (!slash || !master_name_ok(slash + 1)) {
		msg(ld, DIAG_ERROR, v, "invalid url '%s' (expected redis-sentinel://HOST:PORT,"
		    "HOST:PORT,.../MASTERNAME, the master's name one word)", u);
		return EINVAL;
	}
	for (p = list; p < slash; p++)
		n += *p == ',';
	if (n > CFG_SENTINELS_MAX) {
		msg(ld, DIAG_ERROR, v, "url '%s' names %zu sentinels (at most %d)", u, n,
		    CFG_SENTINELS_MAX);
		return EINVAL;
	}
	s = load_alloc(ld, n * sizeof(*s));
	if (!s)
		return ENOMEM;
	memset(s, 0, n * sizeof(*s));
	for (p = list, n = 0; p <= slash; n++) {
		const char *end = memchr(p, ',', (size_t)(slash - p));

		if (!end)
			end = slash;
		if (end == p) {
			msg(ld, DIAG_ERROR, v, "invalid url '%s' (a sentinel without a host)", u);
			return EINVAL;
		}
		err = url_host(ld, v, p, (size_t)(end - p), 26379, &s[n].host, &s[n].port);
		if (err)
			return err;
		p = end + 1;
	}
	st->sentinels = s;
	st->sentinels_n = n;
	st->master = load_strdup(ld, slash + 1);
	st->host = NULL;
	st->unix_path = NULL;
	st->db = 0;
	return st->master ? 0 : ENOMEM;
}

/* redis://HOST[:PORT][/DB] (HOST an address or a name, resolved when
 * connecting), unix:/PATH or redis-sentinel://HOST:PORT,.../MASTER.  No
 * password in it: URLs end up in logs and ConfigMaps, the password comes
 * from a Secret. */
static int state_url(struct cfg_load *ld, const struct astconf_var *v,
		     struct cfg_state *st)
{
	const char *u = v->value, *host, *end, *slash;

	st->sentinels = NULL;
	st->sentinels_n = 0;
	st->master = NULL;
	if (!strncasecmp(u, "unix:", 5)) {
		if (u[5] != '/') {
			msg(ld, DIAG_ERROR, v, "invalid url '%s' (expected unix:/PATH to a "
			    "socket)", u);
			return EINVAL;
		}
		st->unix_path = load_strdup(ld, u + 5);
		st->host = NULL;
		return 0;
	}
	if (strchr(u, '@') && (!strncasecmp(u, "redis://", 8) ||
			       !strncasecmp(u, "redis-sentinel://", 17))) {
		msg(ld, DIAG_ERROR, v, "url '%s' holds a password: put it in 'password' "
		    "(from a Secret), not in the ConfigMap", u);
		return EINVAL;
	}
	if (!strncasecmp(u, "redis-sentinel://", 17))
		return sentinel_url(ld, v, st);
	if (strncasecmp(u, "redis://", 8)) {
		msg(ld, DIAG_ERROR, v, "invalid url '%s' (expected redis://HOST:PORT[/DB], "
		    "unix:PATH or redis-sentinel://HOST:PORT,.../MASTERNAME)", u);
		return EINVAL;
	}
	host = u + 8;
	slash = strchr(host, '/');
	end = slash ? slash : host + strlen(host);
	if (end == host) {
		msg(ld, DIAG_ERROR, v, "invalid url '%s' (no host)", u);
		return EINVAL;
	}
	st->db = 0;
	if (slash && slash[1] && cfgval_uint(slash + 1, 0, 1000000, &st->db)) {
		msg(ld, DIAG_ERROR, v, "invalid database '%s' in url '%s' (expected a "
		    "number)", slash + 1, u);
		return EINVAL;
	}
	st->unix_path = NULL;
	return url_host(ld, v, host, (size_t)(end - host), 6379, &st->host, &st->port);
}

static void kubevox_state(struct cfg_load *ld, const struct astconf_section *s)
{
	struct cfg_state *st = &ld->cfg->state;
	const struct astconf_var *backend = NULL;

	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "backend")) {
			backend = v;
			if (!strcasecmp(v->value, "memory"))
				st->backend = CFG_STATE_MEMORY;
			else if (!strcasecmp(v->value, "redis"))
				st->backend = CFG_STATE_REDIS;
			else
				msg(ld, DIAG_ERROR, v, "invalid backend '%s' (expected memory "
				    "or redis)", v->value);
		} else if (!strcasecmp(v->name, "url")) {
			if (!state_url(ld, v, st))
				st->url = load_strdup(ld, v->value);
		} else if (!strcasecmp(v->name, "password")) {
			st->password = secret(ld, v);
		} else {
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [state]", v->name);
		}
	}
	if (st->backend == CFG_STATE_REDIS && !st->url)
		load_msg(ld, DIAG_ERROR, load_file(ld, backend ? backend->file_idx : s->file_idx),
			 backend ? backend->line : s->line,
			 "backend = redis needs a url (redis://HOST:PORT[/DB], unix:PATH or "
			 "redis-sentinel://HOST:PORT,.../MASTERNAME)");
}

static void kubevox_cluster(struct cfg_load *ld, const struct astconf_section *s)
{
	struct cfg_cluster *cl = &ld->cfg->cluster;

	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "replica")) {
			if (!*v->value || strlen(v->value) > CFG_REPLICA_MAX ||
			    strpbrk(v->value, " \t\"\\;,"))
				msg(ld, DIAG_ERROR, v, "invalid replica '%s' (1 to %d characters, "
				    "no blanks, quotes, ';' or ',')", v->value, CFG_REPLICA_MAX);
			else
				cl->replica = load_strdup(ld, v->value);
		} else if (!strcasecmp(v->name, "advertise")) {
			if (cfgval_addr(v->value, 0, &cl->advertise) != CFGVAL_ADDR_OK ||
			    !cfgval_addr_port(&cl->advertise)) {
				memset(&cl->advertise, 0, sizeof(cl->advertise));
				msg(ld, DIAG_ERROR, v, "invalid advertise '%s' (expected ADDR:PORT, "
				    "an IP address and a port)", v->value);
			}
		} else if (!strcasecmp(v->name, "secret")) {
			cl->secret = secret(ld, v);
		} else {
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [cluster]", v->name);
		}
	}
}

static void kubevox_http(struct cfg_load *ld, const struct astconf_section *s)
{
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "token"))
			ld->cfg->ops_auth.token = secret(ld, v);
		else
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [http]", v->name);
	}
}

/* nameservers = 10.96.0.10, [fd00::a]:53, 127.0.0.1:5353: several lines
 * add up. */
static void dns_nameservers(struct cfg_load *ld, const struct astconf_var *v)
{
	struct cfg_dns *dns = &ld->cfg->dns;
	VEC(struct sockaddr_storage) ns = {0};
	const char *pos = v->value, *item;
	size_t len;

	if (!cfgval_list_next(&pos, &item, &len)) {
		msg(ld, DIAG_ERROR, v, "nameservers is empty");
		return;
	}
	pos = v->value;
	while (cfgval_list_next(&pos, &item, &len)) {
		struct sockaddr_storage ss;
		char buf[INET6_ADDRSTRLEN + 8];

		if (len >= sizeof(buf) || (memcpy(buf, item, len), buf[len] = '\0',
					   cfgval_addr(buf, 53, &ss) != CFGVAL_ADDR_OK) ||
		    cfgval_addr_any(&ss)) {
			msg(ld, DIAG_ERROR, v, "invalid nameservers item '%.*s' (expected "
			    "ADDR[:PORT] such as 10.96.0.10 or [fd00::a]:53)",
			    (int)(len > 64 ? 64 : len), item);
			continue;
		}
		if (vec_push(&ns, ss)) {
			ld->oom = true;
			break;
		}
	}
	if (ns.n) {
		struct sockaddr_storage *all =
			load_alloc(ld, (dns->nameservers_n + ns.n) * sizeof(*all));

		if (all) {
			if (dns->nameservers_n)
				memcpy(all, dns->nameservers, dns->nameservers_n * sizeof(*all));
			memcpy(all + dns->nameservers_n, ns.v, ns.n * sizeof(*all));
			dns->nameservers = all;
			dns->nameservers_n += ns.n;
		}
	}
	vec_free(&ns);
}

static void kubevox_dns(struct cfg_load *ld, const struct astconf_section *s)
{
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "nameservers"))
			dns_nameservers(ld, v);
		else
			msg(ld, DIAG_ERROR, v, "unknown option '%s' in [dns]", v->name);
	}
}

void sysconf_kubevox(struct cfg_load *ld, const struct astconf *ac)
{
	static const struct {
		const char *name;
		void (*fn)(struct cfg_load *, const struct astconf_section *);
	} sections[] = {
		{"general", kubevox_general}, {"security", kubevox_security},
		{"state", kubevox_state}, {"cluster", kubevox_cluster},
		{"http", kubevox_http}, {"dns", kubevox_dns},
		{"debug", kubevox_debug},
	};

	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];
		size_t k;

		if (s->template)
			continue;
		for (k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
			if (!strcasecmp(s->name, sections[k].name))
				break;
		if (k == sizeof(sections) / sizeof(sections[0]))
			load_msg(ld, DIAG_ERROR, load_file(ld, s->file_idx), s->line,
				 "unknown section [%s]", s->name);
		else
			sections[k].fn(ld, s);
	}
}

/* A name from the environment (a node name): as is when it fits, else its
 * first characters, '-' and 16 hex digits of a hash of the whole name, so
 * that nodes whose long names differ only at the end stay apart. */
static char *replica_name(struct cfg_load *ld, const char *name)
{
	char buf[CFG_REPLICA_MAX + 1];
	size_t keep = CFG_REPLICA_MAX - 17;

	if (strlen(name) <= CFG_REPLICA_MAX)
		return load_strdup(ld, name);
	snprintf(buf, sizeof(buf), "%.*s-%016llx", (int)keep, name,
		 (unsigned long long)hash_mix64(hash_fnv_str(name)));
	return load_strdup(ld, buf);
}

/*
 * What [cluster] leaves unset comes from the environment (the Deployment
 * passes the node through the downward API) or from the rest of the
 * configuration; called once every file is read.
 */
void sysconf_cluster_finish(struct cfg_load *ld)
{
	struct kv_config *cfg = ld->cfg;
	struct cfg_cluster *cl = &cfg->cluster;
	const char *env;

	if (!cl->replica) {
		char host[256] = "";

		env = getenv("KUBEVOX_REPLICA");
		if (!env || !*env) {
			if (gethostname(host, sizeof(host) - 1))
				snprintf(host, sizeof(host), "kubevox");
			env = host;
		}
		cl->replica = replica_name(ld, env);
	}
	if (!cl->advertise.ss_family) {
		env = getenv("KUBEVOX_ADVERTISE");
		if (env && *env) {
			if (cfgval_addr(env, 0, &cl->advertise) != CFGVAL_ADDR_OK ||
			    !cfgval_addr_port(&cl->advertise)) {
				memset(&cl->advertise, 0, sizeof(cl->advertise));
				diag_add(ld->diag, DIAG_ERROR, "kubevox.conf", 0,
					 "invalid KUBEVOX_ADVERTISE '%s' in the environment "
					 "(expected ADDR:PORT)", env);
			}
		} else {
			for (size_t i = 0; i < cfg->transports_n; i++) {
				if (cfg->transports[i].proto != CFG_PROTO_UDP)
					continue;
				if (!cfgval_addr_any(&cfg->transports[i].bind))
					cl->advertise = cfg->transports[i].bind;
				break;
			}
		}
	}
	if (cfg->state.backend == CFG_STATE_REDIS && !cl->advertise.ss_family)
		diag_add(ld->diag, DIAG_WARNING, "kubevox.conf", 0,
			 "[cluster] advertise is unset and the first UDP transport binds a "
			 "wildcard address: other replicas will be told this host's address "
			 "toward its default route (set advertise or KUBEVOX_ADVERTISE to "
			 "choose)");
}
