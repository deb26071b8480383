/*
 * dpcheck.h - the load-time check of the applications' arguments, where
 * they are written literally: what Asterisk would only find out during a
 * call (a Dial() destination that is not TECHNOLOGY/resource, a Goto() to
 * a context or label that does not exist, an unknown function, a number
 * that is not one) is an error when the dialplan is loaded, so that
 * `kubevoxd --check` and a reload refuse it.  Arguments that hold ${...}
 * or $[...] are checked only as far as their literal parts allow.
 *
 * It reads the arguments with the same parsers (dpargs.h) that the
 * applications use when they run, and finds Goto() targets with the
 * matcher that runs (dpmatch.h).
 */
#ifndef KV_CONFIG_DPCHECK_H
#define KV_CONFIG_DPCHECK_H

#include "config/dialplan.h"
#include "util/diag.h"

/* Check p's arguments in dp (loaded whole); problems go to diag as
 * "file:line: App: message". */
void dp_check(const struct dialplan *dp, const struct dp_prio *p, struct diag *diag);

#endif
