/*
 * mohconf.c - musiconhold.conf into the configuration's classes (see
 * mohconf.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/load.h"
#include "config/mohconf.h"

#define FILE_NAME "musiconhold.conf"

/* res_musiconhold's class options that KubeVox does not implement. */
static const char *const class_unsupported[] = {
	"digit", "announcement", "format", "application", "kill_escalation_delay",
	"kill_method", "answeredonly", "loop_last", "entry", NULL,
};

static const char *const general_unsupported[] = {
	"cachertclasses", "preferchannelclass", NULL,
};

static bool in_list(const char *const *list, const char *name)
{
	for (; *list; list++) {
		if (!strcasecmp(*list, name))
			return true;
	}
	return false;
}

static void msg(struct cfg_load *ld, enum diag_severity sev, unsigned file_idx,
		int line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void msg(struct cfg_load *ld, enum diag_severity sev, unsigned file_idx,
		int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(ld->diag, sev, load_file(ld, file_idx), line, NULL, fmt, ap);
	va_end(ap);
}

bool mohconf_playable(const char *name, size_t *ext)
{
	static const char *const exts[] = { ".ulaw", ".alaw", ".wav", ".gsm", NULL };
	const char *dot = strrchr(name, '.');

	if (name[0] == '.' || !dot || dot == name)
		return false;
	for (size_t i = 0; exts[i]; i++) {
		if (!strcasecmp(dot, exts[i])) {
			if (ext)
				*ext = (size_t)(dot - name);
			return true;
		}
	}
	return false;
}

/* The directory must open now (an error otherwise: the class would play
 * nothing); without a playable file it is only a warning, as Asterisk. */
static bool dir_check(struct cfg_load *ld, const struct astconf_var *v, const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	bool any = false;

	if (!d) {
		msg(ld, DIAG_ERROR, v->file_idx, v->line,
		    "cannot open music on hold directory '%s': %s", path, strerror(errno));
		return false;
	}
	while (!any && (de = readdir(d)))
		any = mohconf_playable(de->d_name, NULL);
	closedir(d);
	if (!any)
		msg(ld, DIAG_WARNING, v->file_idx, v->line,
		    "no sound file (.ulaw .alaw .wav .gsm) in '%s': the class plays "
		    "nothing", path);
	return true;
}

static void class_read(struct cfg_load *ld, const struct astconf_section *s,
		       struct cfg_moh_class *out, bool *ok)
{
	const struct astconf_var *mode = NULL, *dir = NULL;
	struct kv_config *cfg = ld->cfg;
	char path[4096];

	*ok = false;
	memset(out, 0, sizeof(*out));
	out->sort = CFG_MOH_SORT_ALPHA;
	for (size_t j = 0; j < s->vars_n; j++) {
		const struct astconf_var *v = &s->vars[j];

		if (!strcasecmp(v->name, "mode")) {
			mode = v;
		} else if (!strcasecmp(v->name, "directory")) {
			dir = v;
		} else if (!strcasecmp(v->name, "sort")) {
			if (!strcasecmp(v->value, "alpha"))
				out->sort = CFG_MOH_SORT_ALPHA;
			else if (!strcasecmp(v->value, "random"))
				out->sort = CFG_MOH_SORT_RANDOM;
			else if (!strcasecmp(v->value, "randstart"))
				out->sort = CFG_MOH_SORT_RANDSTART;
			else
				msg(ld, DIAG_ERROR, v->file_idx, v->line,
				    "invalid sort '%s' (expected alpha, random or randstart)",
				    v->value);
		} else if (in_list(class_unsupported, v->name)) {
			msg(ld, DIAG_WARNING, v->file_idx, v->line,
			    "option '%s' is not supported yet (ignored)", v->name);
		} else {
			msg(ld, DIAG_WARNING, v->file_idx, v->line,
			    "unknown option '%s' in class [%s] (ignored)", v->name, s->name);
		}
	}
	if (!mode || !*mode->value) {
		msg(ld, DIAG_ERROR, s->file_idx, s->line,
		    "music on hold class [%s] has no mode (mode=files)", s->name);
		return;
	}
	if (strcasecmp(mode->value, "files")) {
		msg(ld, DIAG_WARNING, mode->file_idx, mode->line,
		    "mode '%s' is not supported (only files): class [%s] ignored",
		    mode->value, s->name);
		return;
	}
	if (!dir || !*dir->value) {
		msg(ld, DIAG_ERROR, dir ? dir->file_idx : s->file_idx,
		    dir ? dir->line : s->line,
		    "music on hold class [%s] has no directory", s->name);
		return;
	}
	if (dir->value[0] == '/')
		snprintf(path, sizeof(path), "%s", dir->value);
	else
		snprintf(path, sizeof(path), "%s/%s", cfg->astdatadir, dir->value);
	if (!dir_check(ld, dir, path))
		return;
	out->name = load_strdup(ld, s->name);
	out->directory = load_strdup(ld, path);
	out->file = load_file(ld, s->file_idx);
	out->line = s->line;
	*ok = out->name && out->directory;
}

void mohconf_load(struct cfg_load *ld, const struct astconf *ac)
{
	struct kv_config *cfg = ld->cfg;
	size_t n = 0;

	cfg->moh_classes = load_alloc(ld, (ac->sections_n ? ac->sections_n : 1) *
				      sizeof(*cfg->moh_classes));
	if (!cfg->moh_classes)
		return;
	for (size_t i = 0; i < ac->sections_n; i++) {
		const struct astconf_section *s = ac->sections[i];
		bool ok;

		if (s->template)
			continue;
		if (!strcasecmp(s->name, "general")) {
			for (size_t j = 0; j < s->vars_n; j++) {
				const struct astconf_var *v = &s->vars[j];

				msg(ld, DIAG_WARNING, v->file_idx, v->line,
				    in_list(general_unsupported, v->name) ?
				    "option '%s' is not supported yet (ignored)" :
				    "unknown option '%s' in [general] (ignored)", v->name);
			}
			continue;
		}
		if (config_moh_class(cfg, s->name)) {
			/* Asterisk keeps the first and complains. */
			msg(ld, DIAG_WARNING, s->file_idx, s->line,
			    "music on hold class [%s] appears again (ignored)", s->name);
			continue;
		}
		class_read(ld, s, &cfg->moh_classes[n], &ok);
		if (ok)
			cfg->moh_classes_n = ++n;
	}
}

const struct cfg_moh_class *config_moh_class(const struct kv_config *cfg,
					     const char *name)
{
	if (!cfg || !name)
		return NULL;
	for (size_t i = 0; i < cfg->moh_classes_n; i++) {
		if (!strcasecmp(cfg->moh_classes[i].name, name))
			return &cfg->moh_classes[i];
	}
	return NULL;
}
