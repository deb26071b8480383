/*
 * dpapp.h - the dialplan applications KubeVox runs: their names, looked
 * up without regard to case as Asterisk does, and which of them act on the
 * call (carried out by the channel) rather than on the interpreter.
 */
#ifndef KV_CONFIG_DPAPP_H
#define KV_CONFIG_DPAPP_H

#include <stdbool.h>
#include <stddef.h>

/* The applications.  Those before DP_APP_NOOP act on the call and are
 * carried out by the channel (dp_chan_ops.app); the others are run by
 * the interpreter itself. */
enum dp_app {
	DP_APP_ANSWER,
	DP_APP_RINGING,
	DP_APP_PROGRESS,
	DP_APP_WAIT,
	DP_APP_HANGUP,
	DP_APP_BUSY,
	DP_APP_CONGESTION,
	DP_APP_DIAL,
	DP_APP_PLAYBACK,
	DP_APP_ECHO,
	DP_APP_BACKGROUND,
	DP_APP_WAITEXTEN,
	DP_APP_READ,
	DP_APP_SAYDIGITS,
	DP_APP_SAYNUMBER,
	DP_APP_MUSICONHOLD,
	DP_APP_STARTMUSICONHOLD,
	DP_APP_STOPMUSICONHOLD,
	DP_APP_VOICEMAIL,
	DP_APP_VOICEMAILMAIN,
	DP_APP_NOOP,
	DP_APP_SET,
	DP_APP_GOTO,
	DP_APP_GOTOIF,
	DP_APP_COUNT
};

/* Application names, case-insensitive as in Asterisk; 0, or ENOENT when
 * there is no such application. */
int dp_app_lookup(const char *name, size_t len, enum dp_app *app);
const char *dp_app_name(enum dp_app app);
bool dp_app_is_call(enum dp_app app);

#endif
