/*
 * dpargs.h - the argument syntax of the dialplan applications, read by one
 * piece of code for the load-time checker (dpcheck.c, on the arguments as
 * written) and for the applications when they run (pbx/, on the arguments
 * once expanded), so that what --check accepts is what a call then does,
 * and both read it as Asterisk's applications do.
 *
 * A parser reports two kinds of problems.  Fatal ones are those for which
 * Asterisk's application refuses its arguments and fails (the call then
 * hangs up): the function returns EINVAL and the first one's text is in
 * rep->why for the log.  The others are what Asterisk accepts but what is
 * surely a mistake when written in a dialplan (an empty destination, a
 * timeout that is not a number): the application does what Asterisk does
 * with them, and the checker refuses them like the fatal ones.
 *
 * The parsers of text that returns strings work in place on a writable
 * copy of it; the results point into it.  rep may be NULL: the result
 * alone is wanted.
 */
#ifndef KV_CONFIG_DPARGS_H
#define KV_CONFIG_DPARGS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/q850.h"
#include "util/vec.h"

struct dp_report {
	/* The text is as written, not expanded (the checker): a part that
	 * holds ${...} or $[...] is not judged, and text splits only
	 * outside them. */
	bool written;
	/* Every problem, fatal or not (NULL: none wanted). */
	void (*fn)(void *arg, const char *fmt, va_list ap);
	void *arg;
	/* The first fatal problem; "" when there is none. */
	char why[160];
	/* What Asterisk ignores and so does KubeVox, but a reader of the
	 * dialplan should hear about (an option that is not supported):
	 * a warning at load time (NULL: none wanted). */
	void (*warn)(void *arg, const char *fmt, va_list ap);
};

/*
 * Asterisk's standard_app_args(): split buf in place on ',' outside
 * parentheses, brackets and double quotes; quotes are removed and a
 * backslash makes the next character literal.  Up to max arguments (the
 * last one keeps the rest); returns how many.  Empty text has none.
 */
int dp_args_split(char *buf, char **argv, int max);

/* A decimal number of seconds, "20" or "1.5", as the checker wants
 * numbers written. */
bool dp_is_number(const char *s);

/*
 * Dial(TECH/resource[&TECH/resource...][,timeout[,options[,URL]]]), as
 * app_dial reads it: every destination is stripped of blanks, an empty
 * one is skipped, and one dialled already in this Dial() is not dialled
 * again; the timeout is in seconds, fractions allowed, and anything but a
 * positive number means none.  Fatal: no destination at all, or one that
 * is not TECHNOLOGY/resource.  Not fatal: an empty destination, a
 * technology other than PJSIP (whose destination then fails alone), a
 * timeout that is not a number.
 */
struct dp_dial_target {
	char *text;              /* stripped; "" for an empty position */
	char *tech;              /* before the '/'; NULL when there is none */
	char *resource;          /* after it */
	bool again;              /* the same destination came before */
};

/*
 * Dial()'s options, as ast_app_parse_options64() reads them for app_dial:
 * letters, some followed by "(argument)" (parentheses nest; a backslash
 * makes the next character literal).  Fatal, as in Asterisk: a '(' never
 * closed, and L whose limit is not a positive number of ms.  Supported:
 *
 *   r[(tone)]   ringing to the caller at once (the tone is the phone's)
 *   m[(class)]  music on hold to the caller instead of ringing
 *   g           the caller goes on in the dialplan when the callee hangs up
 *   L(x[:y[:z]])  the call lasts x ms from the answer; a warning y ms
 *               before the end, again every z ms
 *   D(called[:calling[:progress]])  DTMF sent to the callee once it has
 *               answered, then to the caller; progress: to the callee at
 *               its first 183
 *
 * Every other letter of app_dial's table is warned about (not supported,
 * ignored), a letter that is not one of Dial's likewise (Asterisk ignores
 * it).  DTMF strings keep only 0-9 * # A-D and w (a 500 ms pause), the
 * letters in either case, as ast_dtmf_stream() plays them; others are
 * warned about and dropped.
 */
struct dp_dial_opts {
	bool ringback;           /* r */
	bool music;              /* m */
	const char *music_class; /* m(class); "" the default class */
	bool go_on;              /* g */
	uint64_t limit_ms;       /* L: 0 none */
	uint64_t warn_ms;        /* L's y: 0 no warning */
	uint64_t repeat_ms;      /* L's z: 0 once */
	const char *dtmf_called; /* D: "" none */
	const char *dtmf_calling;
	const char *dtmf_progress;
};

struct dp_dial {
	VEC(struct dp_dial_target) targets;   /* every position, in order */
	uint64_t timeout_ms;                  /* 0: ring until answered */
	const char *options;                  /* "" when none; cut into opt */
	struct dp_dial_opts opt;
};

/* 0, EINVAL (fatal: see rep->why) or ENOMEM; d is filled either way and
 * must be freed with dp_dial_free(). */
int  dp_dial_parse(char *text, struct dp_dial *d, struct dp_report *rep);
void dp_dial_free(struct dp_dial *d);
/* A technology KubeVox dials: PJSIP, in any case. */
bool dp_dial_tech_ok(const char *tech);

/*
 * Playback(file[&file...][,options]), as app_playback reads it: the names
 * are taken as written, and the options are searched for "noanswer" in
 * any case, and "skip" likewise (do not play unless answered); "say"
 * and "mix" (say.conf rules) are warned about and ignored.  Fatal: no
 * argument at all.  Not fatal: no file, or an empty
 * name between '&' (Asterisk fails to play it).
 */
struct dp_playback {
	const char *files;       /* '&'-separated, as written */
	bool noanswer;
	bool skip;               /* "skip": nothing when not answered */
};

int dp_playback_parse(char *text, struct dp_playback *pb, struct dp_report *rep);

/*
 * Goto([[context,]exten,]priority), as ast_parseable_goto() reads it:
 * "prio", "exten,prio" or "context,exten,prio", each part trimmed; the
 * priority is a number, "+N" or "-N" (relative to the current one) or a
 * label.  Fatal: nothing at all, or no priority.  Not fatal: a priority
 * number that is not a plain positive number.
 */
struct dp_goto {
	char *context;           /* NULL or "" when absent */
	char *exten;             /* NULL or "" when absent */
	char *prio;              /* as written; NULL when the text holds a ','
				  * inside ${...}: its split is not known */
	int sign;                /* +1 "+N", -1 "-N", 0 otherwise */
	bool number;             /* prio (after its sign) is a number: n */
	int n;
	bool invalid;            /* a number, but not a plain positive one */
	char *label;             /* not a number: prio after its sign */
};

int dp_goto_parse(char *text, struct dp_goto *g, struct dp_report *rep);

/*
 * GotoIf(condition?[label1][:label2]), as pbx_builtin_gotoif() reads it:
 * split on the first '?', then on the first ':' after it.  Not fatal: no
 * '?' (no branch is ever taken).
 */
struct dp_gotoif {
	char *cond;
	char *yes;               /* NULL when there is no '?' */
	char *no;                /* NULL when there is no ':' */
};

void dp_gotoif_parse(char *text, struct dp_gotoif *g, struct dp_report *rep);

/*
 * Set(name=value), as pbx_builtin_setvar() reads it: split on the first
 * '=', the value taken whole, the name as written (Asterisk does not trim
 * it either).  Not fatal: no '=', no name.
 */
struct dp_set {
	char *name;              /* NULL when there is no '=' */
	char *value;
};

void dp_set_parse(char *text, struct dp_set *s, struct dp_report *rep);

/*
 * Wait(seconds), as ast_app_parse_timelen() reads it: a number, fractions
 * allowed, optionally followed by a unit "ms", "s", "m" or "h".  *ms is 0
 * (no wait) when it is missing, not a number or not positive, which is
 * not fatal.
 */
void dp_wait_parse(const char *text, uint64_t *ms, struct dp_report *rep);

/*
 * Background(file[&file...][,options[,langoverride[,context]]]), as
 * pbx_builtin_background() reads it: options "skip" or "noanswer" as
 * words, else the letters s (skip when not answered), n (do not answer),
 * m (only a key that is a one-digit extension of context stops it); the
 * file list is trimmed.  Fatal: no argument.  Not fatal: no file, an
 * empty name between '&'; warned: an unknown or unsupported letter.
 */
struct dp_background {
	char *files;
	bool skip, noanswer, matchexten;
	const char *lang;        /* "": the channel's */
	const char *context;     /* "": the current one */
};

int dp_background_parse(char *text, struct dp_background *b, struct dp_report *rep);

/*
 * WaitExten([seconds][,options]), as pbx_builtin_waitexten() reads it:
 * ms is 0 when the time is missing or not positive (the default then
 * applies: 10 s); option m[(class)] plays music on hold while waiting.
 * Not fatal: a time that is not a number; warned: the option d (dial
 * tone), not supported.
 */
struct dp_waitexten {
	uint64_t ms;
	bool moh;                /* option m */
	const char *moh_class;   /* its class; "": the default */
};

void dp_waitexten_parse(char *text, struct dp_waitexten *w, struct dp_report *rep);

/*
 * MusicOnHold([class[,duration]]), as app_moh's play_moh_exec() reads
 * it: the class as written ("": the channel's, i.e. default), the
 * duration in whole seconds (sscanf "%d": "10s" is 10); 0 plays until
 * hang-up.  StartMusicOnHold([class]) takes the class alone.  Not fatal:
 * a duration that is not a number (app_moh warns and plays until
 * hang-up).
 */
struct dp_moh {
	const char *class;       /* "" none */
	uint64_t duration_ms;    /* 0: until hang-up */
};

void dp_moh_parse(char *text, struct dp_moh *m, struct dp_report *rep);

/*
 * Read(variable[,filename[&filename2...][,maxdigits[,options[,attempts[,timeout]]]]]),
 * as app_read reads it: maxdigits outside 1..255 is 255, attempts below 1
 * is 1, the timeout in seconds (fractions allowed; 0: the dialplan's
 * defaults); options s (skip when not answered: READSTATUS SKIPPED), n
 * (read without answering), t(x) (x ends the input instead of '#'; t
 * alone: nothing does).  Not fatal: no variable (Read does nothing);
 * warned: i (indication tones) and unknown letters.
 */
struct dp_read {
	const char *var;         /* "" when missing */
	const char *files;       /* "" none */
	unsigned maxdigits;
	unsigned attempts;
	uint64_t timeout_ms;     /* 0: not given */
	bool skip, noanswer;
	const char *terminators; /* "#" by default */
};

void dp_read_parse(char *text, struct dp_read *r, struct dp_report *rep);

/*
 * SayNumber(number[,gender]), as pbx_builtin_saynumber() reads it: the
 * number is sscanf("%d"); the gender f, m, c or n.  Fatal: any other
 * gender.  Not fatal: no argument or no number (nothing is said).
 */
struct dp_saynumber {
	bool valid;              /* a number was read */
	int number;
	const char *gender;      /* "" none */
};

int dp_saynumber_parse(char *text, struct dp_saynumber *s, struct dp_report *rep);

/* Hangup([cause]): a Q.850 cause by number or name (q850_parse()), or
 * Q850_UNSET when there is none.  Not fatal: an unknown cause, which is
 * then Q850_UNSET. */
void dp_hangup_parse(const char *text, enum q850_cause *cause,
		     struct dp_report *rep);

/*
 * ${PJSIP_HEADER(action,name[,number])}, as res_pjsip_header_funcs reads
 * it: the action (any case), the header's name (blanks trimmed; a trailing
 * '*' makes it a prefix: "X-*"), and which of the headers so named
 * (default 1; anything below 1, or not a number, is 1).  Only the read
 * action gives a value: the others act on an outgoing channel's headers,
 * which Set(PJSIP_HEADER(...)=...) does not reach in KubeVox.  Fatal: an
 * action other than read, no name.
 */
struct dp_pjsip_header {
	char *name;              /* without the '*' of a prefix */
	bool prefix;
	unsigned number;
};

int dp_pjsip_header_parse(char *text, struct dp_pjsip_header *h,
			  struct dp_report *rep);

/*
 * VoiceMail(mailbox[@context][&mailbox[@context]...][,options]), as
 * app_voicemail reads it: b (busy greeting), u (unavailable greeting), s
 * (no instructions); other options are warned about and ignored.  Up to
 * DP_VM_BOXES mailboxes, trimmed; none is a problem for the checker (the
 * application then fails with VMSTATUS FAILED).
 */
#define DP_VM_BOXES 8
struct dp_voicemail {
	char *boxes[DP_VM_BOXES];
	unsigned n;
	bool busy, unavail, silent;
};
int dp_voicemail_parse(char *text, struct dp_voicemail *v, struct dp_report *rep);
/* VoiceMailMain([mailbox][@context][,options]): s (no password); box ""
 * when it is to be asked for. */
struct dp_voicemailmain {
	char *box;
	bool skip_password;
};
int dp_voicemailmain_parse(char *text, struct dp_voicemailmain *v,
			   struct dp_report *rep);

#endif
