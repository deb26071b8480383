/*
 * dpapp.c - the table of dialplan applications (see dpapp.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "config/dpapp.h"

static const char *const app_names[DP_APP_COUNT] = {
	[DP_APP_ANSWER] = "Answer",
	[DP_APP_RINGING] = "Ringing",
	[DP_APP_PROGRESS] = "Progress",
	[DP_APP_WAIT] = "Wait",
	[DP_APP_HANGUP] = "Hangup",
	[DP_APP_BUSY] = "Busy",
	[DP_APP_CONGESTION] = "Congestion",
	[DP_APP_DIAL] = "Dial",
	[DP_APP_PLAYBACK] = "Playback",
	[DP_APP_ECHO] = "Echo",
	[DP_APP_BACKGROUND] = "Background",
	[DP_APP_WAITEXTEN] = "WaitExten",
	[DP_APP_READ] = "Read",
	[DP_APP_SAYDIGITS] = "SayDigits",
	[DP_APP_SAYNUMBER] = "SayNumber",
	[DP_APP_MUSICONHOLD] = "MusicOnHold",
	[DP_APP_STARTMUSICONHOLD] = "StartMusicOnHold",
	[DP_APP_STOPMUSICONHOLD] = "StopMusicOnHold",
	[DP_APP_VOICEMAIL] = "VoiceMail",
	[DP_APP_VOICEMAILMAIN] = "VoiceMailMain",
	[DP_APP_NOOP] = "NoOp",
	[DP_APP_SET] = "Set",
	[DP_APP_GOTO] = "Goto",
	[DP_APP_GOTOIF] = "GotoIf",
};

int dp_app_lookup(const char *name, size_t len, enum dp_app *app)
{
	for (int i = 0; i < DP_APP_COUNT; i++) {
		if (strlen(app_names[i]) == len && !strncasecmp(app_names[i], name, len)) {
			*app = (enum dp_app)i;
			return 0;
		}
	}
	return ENOENT;
}

const char *dp_app_name(enum dp_app app)
{
	return (unsigned)app < DP_APP_COUNT ? app_names[app] : "?";
}

bool dp_app_is_call(enum dp_app app)
{
	return app < DP_APP_NOOP;
}
