/*
 * extensions.h - extensions.conf into a dialplan (dialplan.h), with
 * Asterisk's meaning (pbx_config.c).
 *
 * dialplan_load() reads the sections of an astconf:
 *
 *   [general]   static, writeprotect, clearglobalvars, extenpatternmatchnew,
 *               userscontext and autofallthrough are accepted (the last
 *               only as "yes": running off the end of an extension always
 *               hangs up); anything else is a warning.
 *   [globals]   global variables, each value expanded with the globals
 *               defined above it.
 *   [other]     a context.  A name may appear in several sections: they
 *               add to one context.  Templates ("(!)") are not contexts.
 *
 * In a context:
 *
 *   exten => EXT[/CID],PRIO[(label)],App(args)
 *   same => PRIO[(label)],App(args)       continues the last exten line
 *   include => context                    must exist
 *   switch, lswitch, eswitch, ignorepat   warned about and ignored
 *
 * PRIO is a number, "n"/"next" (the previous priority of this section plus
 * one, whatever the extension, as in Asterisk), "s"/"same" (the previous
 * priority again), optionally "+N", or "hint".  Hints are accepted and
 * ignored (there is no presence yet), but unlike Asterisk, which silently
 * drops an "n" line after a hint, that is reported as an error.  An
 * application is written "App(args)" or "App" alone; the old "App,args"
 * form names an application "App,args", which does not exist, exactly as
 * in Asterisk.  A missing ')' is a warning, as in Asterisk.  EXT may hold
 * ${GLOBAL} variables.  "/CID" restricts the extension to callers whose
 * number matches CID (a pattern or a literal; empty: no number), and
 * such extensions are tried before the same extension without one.
 *
 * Everything Asterisk would only find out during a call is an error at
 * load time: an unknown application, application arguments that are
 * wrong where they are written literally (see dpcheck.h), a duplicated
 * priority or label, an include of or a Goto to an unknown context, a
 * Goto to an unknown label, an unterminated '[' in a pattern.  A literal
 * Goto to an extension or priority that does not exist is a warning, since
 * the 'i' extension may be meant to catch it.  "_." and "_!" get Asterisk's
 * warning, since they also match the special extensions i, t, h and e.
 */
#ifndef KV_CONFIG_EXTENSIONS_H
#define KV_CONFIG_EXTENSIONS_H

#include "config/astconf.h"
#include "config/dialplan.h"
#include "util/diag.h"

/*
 * Build the dialplan from extensions.conf as read by astconf_load() (ac
 * may be NULL: no file, an empty dialplan).  Every problem is added to
 * diag as "file:line: message".  0 and *dpp (one reference) when there is
 * no error, warnings allowed; otherwise EINVAL (or ENOMEM) and *dpp NULL.
 */
int dialplan_load(const struct astconf *ac, struct diag *diag,
		  struct dialplan **dpp);

#endif
