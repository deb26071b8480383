/*
 * cdrconf.c - cdr.conf into struct cdr_config (see cdrconf.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "config/cdrconf.h"
#include "config/cfgval.h"

/* [general] options of Asterisk's CDR engine that KubeVox has no use for:
 * there is no batch mode and no hangup-handler CDR. */
static const char *const general_unsupported[] = {
	"debug", "endbeforehexten", "batch", "size", "time", "scheduleronly",
	"safeshutdown", "channeldefaultenabled", "ignorestatechanges",
	"ignoredialchanges", NULL,
};

/* Sections other CDR backends read from cdr.conf (Asterisk's skip list). */
static const char *const other_backends[] = {
	"custom", "manager", "odbc", "pgsql", "radius", "sqlite", "tds", "mysql",
	NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (!strcasecmp(*list, name))
			return true;
	}
	return false;
}

void cdr_config_init(struct cdr_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->enabled = true;
	cfg->accountlogs = true;
}

static bool opt_bool(const struct astconf_var *v, bool *out, struct diag *diag)
{
	if (!cfgval_bool(v->value, out))
		return true;
	if (diag)
		diag_add(diag, DIAG_ERROR, v->file, v->line,
			     "invalid %s '%s' (expected yes or no)", v->name, v->value);
	return false;
}

static void warn(struct diag *diag, const char *file, int line,
		 const char *what, const char *name)
{
	if (diag)
		diag_add(diag, DIAG_WARNING, file, line,
			     "%s '%s' is not supported yet (ignored)", what, name);
}

static bool parse_general(const struct astconf_section *s, struct cdr_config *out,
			  struct diag *diag)
{
	bool ok = true;

	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "enable")) {
			ok &= opt_bool(v, &out->enabled, diag);
		} else if (!strcasecmp(v->name, "unanswered")) {
			ok &= opt_bool(v, &out->unanswered, diag);
		} else if (!strcasecmp(v->name, "congestion")) {
			ok &= opt_bool(v, &out->congestion, diag);
		} else if (!strcasecmp(v->name, "initiatedseconds")) {
			ok &= opt_bool(v, &out->initiatedseconds, diag);
		} else if (in_list(general_unsupported, v->name)) {
			warn(diag, v->file, v->line, "option", v->name);
		} else {
			/* Asterisk refuses the whole file for this. */
			if (diag)
				diag_add(diag, DIAG_ERROR, v->file, v->line,
					     "unknown option '%s' in [general]", v->name);
			ok = false;
		}
	}
	return ok;
}

static bool parse_csv(const struct astconf_section *s, struct cdr_config *out,
		      struct diag *diag)
{
	bool ok = true;

	out->csv = true;
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "usegmtime"))
			ok &= opt_bool(v, &out->usegmtime, diag);
		else if (!strcasecmp(v->name, "loguniqueid"))
			ok &= opt_bool(v, &out->loguniqueid, diag);
		else if (!strcasecmp(v->name, "loguserfield"))
			ok &= opt_bool(v, &out->loguserfield, diag);
		else if (!strcasecmp(v->name, "accountlogs"))
			ok &= opt_bool(v, &out->accountlogs, diag);
		else if (!strcasecmp(v->name, "newcdrcolumns"))
			ok &= opt_bool(v, &out->newcdrcolumns, diag);
		else
			warn(diag, v->file, v->line, "option", v->name);
	}
	return ok;
}

int cdr_config_parse(const struct astconf *ac, struct cdr_config *out,
		     struct diag *diag)
{
	const struct astconf_section *csv = NULL;
	bool ok = true;

	cdr_config_init(out);
	if (!ac)
		return 0;
	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];

		if (s->template)
			continue;
		if (!strcasecmp(s->name, "general")) {
			ok &= parse_general(s, out, diag);
		} else if (!strcasecmp(s->name, "csv")) {
			/* cdr_csv browses the first [csv] only. */
			if (csv) {
				if (diag)
					diag_add(diag, DIAG_WARNING, s->file, s->line,
						     "[csv] appears again; only the first "
						     "one is used (ignored)");
				continue;
			}
			csv = s;
			ok &= parse_csv(s, out, diag);
		} else if (in_list(other_backends, s->name)) {
			warn(diag, s->file, s->line, "CDR backend", s->name);
		} else {
			if (diag)
				diag_add(diag, DIAG_WARNING, s->file, s->line,
					     "unknown section [%s] (ignored)", s->name);
		}
	}
	return ok ? 0 : EINVAL;
}
