/*
 * cdrconf.h - cdr.conf, read as Asterisk's cdr and cdr_csv modules read
 * it: [general] enable (default yes), unanswered, congestion,
 * initiatedseconds; the CSV backend runs only when a [csv] section exists,
 * with usegmtime, loguniqueid, loguserfield, accountlogs (default yes)
 * and newcdrcolumns.  No cdr.conf: no CSV.  The result is the
 * configuration's struct cdr_config (config.h); pbx/cdr writes the
 * records it asks for.
 */
#ifndef KV_CONFIG_CDRCONF_H
#define KV_CONFIG_CDRCONF_H

#include "config/astconf.h"
#include "config/config.h"

/* Asterisk's defaults with no cdr.conf: enabled, CSV off. */
void cdr_config_init(struct cdr_config *cfg);

/*
 * ac is cdr.conf as astconf_load() read it, or NULL when there is none.
 * Invalid booleans are errors; options KubeVox does not implement (batch
 * mode...) and other backends' sections are warnings.  Returns 0, or
 * EINVAL when errors were added to diag (*out then holds the valid part).
 */
int cdr_config_parse(const struct astconf *ac, struct cdr_config *out,
		     struct diag *diag);

#endif
