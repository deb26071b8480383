/*
 * dpmatch.h - which priority of the dialplan runs, with Asterisk's search
 * (pbx.c pbx_find_extension()): in a context, exact names first, then
 * patterns from the most specific (dppattern.h); the first extension that
 * matches and has the priority wins, else the included contexts are
 * searched, depth first, in include order.  A context is searched once per
 * lookup, so include cycles are harmless.
 *
 * It sits with the model in config/ rather than in pbx/ because the load-
 * time checker (dpcheck.c) resolves literal Goto targets with this very
 * search: in pbx/ it would be out of the checker's reach, and a second
 * search written for the checker could disagree with the one that runs.
 */
#ifndef KV_CONFIG_DPMATCH_H
#define KV_CONFIG_DPMATCH_H

#include <stdbool.h>

#include "config/dialplan.h"
#include "config/dppattern.h"

/*
 * The priority that runs for exten at priority in context, or NULL.  cid
 * is the caller's number (NULL or "" when there is none), checked against
 * extensions written "EXT/CID".
 */
const struct dp_prio *dialplan_find(const struct dialplan *dp, const char *context,
				    const char *exten, int priority, const char *cid);
/* The same, for a label instead of a priority number. */
const struct dp_prio *dialplan_find_label(const struct dialplan *dp,
					  const char *context, const char *exten,
					  const char *label, const char *cid);
/* For load-time checks, when the caller is not known: caller-ID
 * restrictions are ignored; label NULL looks for priority. */
const struct dp_prio *dialplan_find_any(const struct dialplan *dp,
					const char *context, const char *exten,
					int priority, const char *label);
/* Is there an extension with a priority 1 that exten matches as mode says
 * (ast_exists/canmatch/matchmore_extension())? */
bool dialplan_can_match(const struct dialplan *dp, const char *context,
			const char *exten, const char *cid, enum dp_match_mode mode);
/* Does pattern or name e->key match exten (an extension dialled)? */
bool dp_exten_match(const struct dp_exten *e, const char *exten);

#endif
