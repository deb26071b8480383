/*
 * dpexec.h - the dialplan interpreter: a channel's place in the dialplan
 * (context, extension, priority), its variables, and the loop that runs
 * the applications, as Asterisk's __ast_pbx_run() does.
 *
 * The control-flow applications run here: NoOp, Set(name=value),
 * Goto([[context,]exten,]priority) (a priority may be a label, "+N" or
 * "-N") and GotoIf(condition?[true][:false]).  The applications that act
 * on the call (Answer, Ringing, Progress, Wait, Hangup, Busy, Congestion,
 * Dial, Playback, Echo, Background, WaitExten, Read, SayDigits,
 * SayNumber) are handed to the channel through dp_chan_ops.app with
 * their arguments expanded; the channel reads them with the
 * parsers of config/dpargs.h, which the load-time checker uses too.  It answers DP_CONTINUE (done, go on), DP_HANGUP (the
 * call ends), DP_JUMPED (it moved the channel with dp_chan_goto()) or
 * DP_ASYNC (it will finish later and then call dp_chan_resume() with one
 * of the others).
 *
 * Variables: ${EXTEN}, ${CONTEXT}, ${PRIORITY} and ${EXCEPTION(...)} are
 * answered here; then the channel is asked (dp_chan_ops.var: UNIQUEID,
 * HANGUPCAUSE, CALLERID(all|name|num), ...); then the channel's variables
 * (Set, dp_chan_var_set(): DIALSTATUS, INVALID_EXTEN, ...); then the
 * dialplan's [globals].  Names are case-sensitive, as in Asterisk.
 * Set(_NAME=...) and Set(__NAME=...) store NAME with an inheritance level
 * for channels created from this one.  Set(FUNC(x)=...) goes to
 * dp_chan_ops.set.
 *
 * Running off the end of an extension hangs up (Asterisk's
 * autofallthrough).  Landing on an extension that does not exist goes to
 * 'i' (with ${INVALID_EXTEN}), else to 'e' (with ${EXCEPTION(reason)} =
 * INVALID), else hangs up.  One run executes at most DP_MAX_STEPS
 * priorities without the channel going asynchronous: a Goto loop hangs up
 * with a log line instead of hanging the daemon.
 */
#ifndef KV_PBX_DPEXEC_H
#define KV_PBX_DPEXEC_H

#include <stdbool.h>
#include <stddef.h>

#include "config/dialplan.h"
#include "config/dpmatch.h"
#include "util/sbuf.h"

#define DP_MAX_STEPS   10000    /* priorities per run without DP_ASYNC */
#define DP_MAX_VARS    1024     /* variables of one channel */

enum dp_result {
	DP_CONTINUE,      /* go on with the next priority */
	DP_JUMPED,        /* the position was changed: run from there */
	DP_ASYNC,         /* the application finishes later: dp_chan_resume() */
	DP_HANGUP,        /* the call is over */
};

/* Why a run ended with DP_HANGUP. */
enum dp_end {
	DP_END_NONE,
	DP_END_HANGUP,        /* an application ended the call */
	DP_END_FALLTHROUGH,   /* ran off the end of an extension */
	DP_END_INVALID,       /* no such extension and no 'i' or 'e' */
	DP_END_LOOP,          /* DP_MAX_STEPS priorities in one run */
	DP_END_ERROR,         /* a Goto failed, or an expansion hit a limit */
};

struct dp_chan;

struct dp_chan_ops {
	/* A variable or function of the channel (see dp_var_h): append its
	 * value to out and return 0, or non-zero when it has none. */
	int (*var)(struct dp_chan *c, const char *name, size_t len,
		   struct sbuf *out, void *arg);
	/* Set(FUNC(args)=value); NULL: such a Set is ignored with a warning. */
	int (*set)(struct dp_chan *c, const char *name, const char *value,
		   void *arg);
	/* A call application, args expanded. */
	enum dp_result (*app)(struct dp_chan *c, enum dp_app app,
			      const char *args, void *arg);
	void *arg;
};

/* ops is copied. */
int  dp_chan_alloc(struct dp_chan **cp, const struct dp_chan_ops *ops);
void dp_chan_free(struct dp_chan *c);

/*
 * Place the channel at exten, priority 1, of context in dp (a reference is
 * taken).  When exten does not exist there, at 'i' with INVALID_EXTEN set.
 * 0, or ENOENT when neither exists (the caller answers 404), EINVAL for
 * an empty or overlong name, ENOMEM.
 */
int  dp_chan_start(struct dp_chan *c, struct dialplan *dp, const char *context,
		   const char *exten);
/* Run until an application goes asynchronous (DP_ASYNC) or the call
 * ends (DP_HANGUP; see dp_chan_end()). */
enum dp_result dp_chan_run(struct dp_chan *c);
/* The asynchronous application finished with res: carry on. */
enum dp_result dp_chan_resume(struct dp_chan *c, enum dp_result res);
/*
 * After the call: run the 'h' extension of the current context, if there
 * is one, to its end.  Call applications are not given to the channel
 * any more: Hangup, Busy and Congestion end the run, the others are
 * skipped.
 */
void dp_chan_run_h(struct dp_chan *c);

/* Move to context (NULL: the current one), exten (NULL: the current
 * one), priority.  0 or EINVAL. */
int dp_chan_goto(struct dp_chan *c, const char *context, const char *exten,
		 int priority);

/*
 * Digit collection, as __ast_pbx_run() and WaitExten() do it; the
 * application that collected calls these and resumes with the result.
 * dp_chan_match(): does exten match an extension of context (NULL: the
 * current one) with a priority 1, as mode says?  dp_chan_dialled(): the
 * caller dialled exten in the current context: there at priority 1, else
 * 'i' (INVALID_EXTEN) or 'e' (EXCEPTION(reason) INVALID): DP_JUMPED, or
 * DP_HANGUP when there is neither.  dp_chan_timeout(): nothing was
 * dialled: the next priority (DP_CONTINUE), else 't', else 'e'
 * (RESPONSETIMEOUT), else DP_HANGUP.
 */
bool dp_chan_match(struct dp_chan *c, const char *context, const char *exten,
		   enum dp_match_mode mode);
enum dp_result dp_chan_dialled(struct dp_chan *c, const char *exten);
enum dp_result dp_chan_timeout(struct dp_chan *c);

const char *dp_chan_context(const struct dp_chan *c);
const char *dp_chan_exten(const struct dp_chan *c);
int dp_chan_priority(const struct dp_chan *c);
enum dp_end dp_chan_end(const struct dp_chan *c);
struct dialplan *dp_chan_dialplan(const struct dp_chan *c);

/* A channel variable (not the builtins, not the globals), or NULL. */
const char *dp_chan_var(const struct dp_chan *c, const char *name);
/* Set a channel variable; value NULL removes it.  0, EINVAL, ENOSPC
 * (DP_MAX_VARS reached) or ENOMEM. */
int dp_chan_var_set(struct dp_chan *c, const char *name, const char *value);
/* The i-th channel variable, for channels created from this one: false
 * past the end.  inherit is 0, 1 ("_NAME") or 2 ("__NAME"). */
bool dp_chan_var_at(const struct dp_chan *c, size_t i, const char **name,
		    const char **value, int *inherit);
/* Expand ${...} and $[...] in s as the channel sees them. */
int dp_chan_expand(struct dp_chan *c, const char *s, struct sbuf *out);

#endif
