/*
 * call_int.h - what the files of the call engine share: calls, legs and
 * the functions each file offers the others.
 *
 *   call.c   the call table, a call's life from INVITE to CDR, the A leg
 *            (UAS), requests within dialogs, CANCEL and ACK
 *   dial.c   Dial(): the B legs (UAC), forking, first answer wins
 *   apps.c   the dialplan channel: variables and the call applications
 *   dialopts.c  what Dial()'s options do once the call is dialled
 *   transfer.c  REFER (blind and attended) and INVITE with Replaces: legs
 *            move into a new call (call_leg_move)
 *   hold.c   hold, resume and music on hold (MusicOnHold(), WaitExten(m))
 *   voicemail.c  VoiceMail(), VoiceMailMain(), MAILBOX_EXISTS, VM_INFO
 *
 * A leg's SDP and relay are legmedia.c's, which calls nothing here: its
 * relay events come back through the handler call_leg_media_init() gives.
 */
#ifndef KV_PBX_CALL_INT_H
#define KV_PBX_CALL_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

#include "config/q850.h"
#include "media/prompt.h"
#include "pbx/call.h"
#include "pbx/core.h"
#include "pbx/dpexec.h"
#include "pbx/legmedia.h"
#include "sdp/sdp.h"
#include "sip/dialog.h"
#include "sip/resolve.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/tmr.h"

#define CALL_MAX_FORKS   16     /* B legs of one Dial() */
#define CALL_ACK_WAIT_MS 32000  /* 64*T1: a 2xx that is never ACKed */
#define CALL_NORESP_MS   5000   /* issue #9: a flow on a dead replica */

enum leg_state {
	LEG_CALLING,     /* INVITE sent (B) or received (A), no answer yet */
	LEG_EARLY,       /* 1xx with a To tag */
	LEG_UP,          /* 2xx */
	LEG_ENDED,
};

struct call;
struct dial_uac;
struct xfer;
struct moh_play;
struct vm_call;

struct leg {
	struct call *call;
	bool uac;                       /* a B leg */
	enum leg_state state;
	char chan[96];                  /* "PJSIP/1001-00000001" */
	char endpoint[80];

	struct sip_dialog *dlg;
	struct hnode hn;                /* calls' dialog table */
	bool in_table;

	/* A leg: the INVITE server transaction until its final response */
	struct sip_stx *inv_stx;
	bool acked;
	/* B leg: our INVITE */
	struct sip_ctx *inv_ctx;
	struct dial_uac *req;           /* what it takes to send it again */
	struct sip_peer dst;
	struct tmr noresp_tmr;          /* no answer at all from a phone we
					 * reach through another replica or
					 * whose replica is dead */
	bool responded;
	bool provisional;               /* a 1xx arrived: CANCEL allowed */
	bool cancel_pending;            /* CANCEL once a 1xx arrives */
	bool cancelled;
	uint16_t final;                 /* final status received (B) */

	/* media */
	struct leg_media m;
	struct sdp_session *offer;      /* last offer received (A) or sent (B) */
	const struct cfg_endpoint *ep;  /* NULL for none */

	/* a re-INVITE relayed through this leg to the other one */
	struct sip_stx *reinv_stx;      /* from this leg's phone */
	struct sip_ctx *reinv_ctx;      /* ours, on this leg */
	struct sdp_session *reinv_offer;

	/* Late offer: the phone's INVITE or re-INVITE had no SDP, so our 2xx
	 * carried an offer and the answer comes in the ACK of that CSeq. */
	struct sdp_session *late_offer;
	uint32_t late_cseq;
	struct tmr late_tmr;            /* that ACK never came (re-INVITE) */

	/* hold.c */
	bool held;                      /* its phone put the bridge on hold */
	struct moh_play *moh;           /* the music it hears, NULL none */
};

/* What a key of the caller does now (apps.c). */
enum ivr_state {
	IVR_NONE,         /* nothing: keys are dropped */
	IVR_BACKGROUND,   /* Background(): a key stops the prompts */
	IVR_WAITEXTEN,    /* WaitExten(): waiting for the first key */
	IVR_COLLECT,      /* the next key of an extension being dialled */
	IVR_READ,         /* Read() */
	IVR_VM,           /* VoiceMail(), VoiceMailMain(): voicemail.c's */
};

#define IVR_MAX_DIGITS 255

struct ivr {
	enum ivr_state state;
	char digits[IVR_MAX_DIGITS + 1];  /* the extension, or Read()'s input */
	size_t n;
	char context[DP_MAX_NAME + 1];    /* Background(): its context */
	bool matchexten;                  /* Background(m) */
	/* Read() */
	char *var;                        /* one block: var, then files */
	const char *files;
	unsigned maxdigits, tries;
	uint64_t timeout_ms;              /* 0: the defaults */
	char term[16];                    /* keys that end the input */
};

/* Dial()'s options while they act (dialopts.c). */
struct dial_opts_run {
	bool ringback;                    /* r */
	bool music;                       /* m: music instead of ringing */
	char music_class[80];             /* m(class); "" the default */
	bool go_on;                       /* g */
	uint64_t limit_ms, warn_ms, repeat_ms;   /* L(x:y:z) */
	uint64_t warn_at;                 /* the next warning, ms from answer */
	struct tmr limit_tmr, warn_tmr;
	const struct prompt *warn_prompt; /* playing to the caller */
	char dtmf_called[64], dtmf_calling[64], dtmf_progress[64];  /* D */
	bool progress_sent;
	/* the digits going out */
	struct leg *dtmf_leg;             /* to this leg */
	const char *dtmf_next;            /* NULL: none */
	const char *dtmf_then;            /* the caller's, after */
	struct leg *dtmf_peer;            /* bridged with the caller after */
	struct leg *dtmf_playing;         /* an event playing on this leg */
	struct tmr dtmf_tmr;
	/* keys of one phone turned into events for the other, in a bridge */
	char dtmf_relay[16];
	bool dtmf_relaying;               /* dtmf_next reads dtmf_relay */
};

enum call_phase {
	CALL_DIALPLAN,    /* applications run on the A leg */
	CALL_DIALING,     /* Dial(): B legs ringing */
	CALL_BRIDGED,     /* A and one B leg connected */
	CALL_OVER,        /* ended; waiting to be freed */
};

struct call {
	struct calls *calls;
	struct pbx *pbx;
	struct kv_config *cfg;          /* the configuration it started with */
	struct list_node le;            /* calls->list */
	char uniqueid[128];             /* [systemname-]epoch.sequence */
	enum call_phase phase;

	struct leg a;
	struct leg *b[CALL_MAX_FORKS];
	size_t b_n;
	struct leg *peer;               /* the B leg that answered */

	/* Dial(): contact lookups still out (the Redis backend answers
	 * later), contacts that could not be called, and whether dial_start()
	 * is still running (it decides itself when lookups answer at once). */
	unsigned lookups;
	unsigned dial_unreachable;
	bool dial_starting;

	struct dp_chan *dp;
	bool dp_async;                  /* an application will resume */
	enum dp_app app;                /* the one running */
	struct tmr app_tmr;             /* Wait(), Dial() timeout */
	struct tmr ack_tmr;             /* 2xx to A never ACKed */
	struct tmr free_tmr;            /* free outside of callbacks */
	struct tmr se_tmr;              /* RFC 4028 session timer (A leg) */
	uint32_t se;                    /* Session-Expires agreed, 0 none */
	unsigned free_tries;

	bool answered;                  /* 200 sent (or about to be) to A */
	struct sdp_session *pending_sdp; /* 200/183 to send when the dialplan
					  * stops running (see apps.c) */
	uint16_t pending_scode;
	bool early;                     /* 183 with SDP sent to A */
	bool ringing;                   /* 180 sent to A */
	enum q850_cause cause;          /* Q850_UNSET until decided */
	char dialstatus[16];
	char dialed[DP_MAX_NAME + 1];   /* extension first dialled */
	char context[DP_MAX_NAME + 1];  /* context first entered */
	char caller_num[80];
	char caller_name[80];
	char caller_pres[24];           /* CALLERID(pres), Asterisk's names */
	/* The caller's INVITE as it came, for ${PJSIP_HEADER(read,...)} */
	char *invite;
	size_t invite_len;

	/* Playback() */
	char *play_list;                /* "&"-separated files still to play */
	char *play_next;
	const struct prompt *prompt;
	bool play_failed;
	bool play_on_ack;               /* the caller made no offer: its
					 * address comes with the ACK */
	bool play_say;                  /* SayDigits/SayNumber: a missing
					 * file is skipped, as Asterisk */
	bool play_spool;                /* the list may name spool files
					 * (absolute paths): voicemail only */
	char play_lang[32];             /* Background()'s langoverride;
					 * "": the endpoint's language */
	struct ivr ivr;
	/* TIMEOUT(digit) and TIMEOUT(response): Asterisk's dtimeoutms and
	 * rtimeoutms, per channel */
	uint32_t dtimeout_ms, rtimeout_ms;

	struct dial_opts_run dopt;
	struct vm_call *vm;             /* VoiceMail(), VoiceMailMain() */

	/* CDR */
	struct timeval t_start, t_answer, t_end;
	char lastapp[32];
	char *lastdata;
	char dstchannel[96];
	char linkedid[128];              /* "": the uniqueid (a transfer's new
					 * call keeps the first call's) */

	/* transfer.c: a blind transfer that this call made or runs, and the
	 * configurations its moved legs' endpoints and relays point into */
	struct xfer *xfer;
	struct kv_config *cfg_held[2];
};

/* call.c */
void call_end(struct call *c, enum q850_cause cause);  /* hang up every leg,
						      * CDR, free later */
void call_reply_a(struct call *c, uint16_t scode, const char *reason,
		  const char *extra, const struct sdp_session *sdp);
int  call_send_in_dialog(struct call *c, struct leg *l, const char *method,
			 const char *extra, const struct sdp_session *sdp,
			 sip_response_h *resph, void *arg, struct sip_ctx **ctxp);
void call_table_add(struct calls *cs, struct leg *l);
void call_table_remove(struct calls *cs, struct leg *l);
void call_leg_hangup(struct leg *l);        /* BYE, CANCEL or nothing */
void call_leg_free(struct leg *l);
void call_resume(struct call *c, enum dp_result res);
void call_flush_answer(struct call *c);     /* send a deferred 200/183 */
void call_answered(struct call *c);         /* A leg answered: CDR, log */
void call_media_timeouts(struct call *c);   /* rtp_timeout(_hold) on legs */
int  call_contact(struct call *c, const struct sip_peer *dst, char *buf, size_t size);
uint16_t call_cause_to_sip(enum q850_cause cause);
/* The leg's relay and SDP state (legmedia_init()), its events routed to
 * the call engine: 0, ENOSPC (port range full) or another errno. */
int  call_leg_media_init(struct leg *l);
uint64_t call_chan_seq(struct call *c);
/* "Name" <num>, Name <num> or <num> (an endpoint's callerid): false when
 * there is no <num>. */
bool call_callerid_parse(const char *cid, char *name, size_t ns, char *num, size_t nn);

/* A new call in the table, its A leg empty (transfer.c fills it). */
struct call *call_alloc(struct calls *cs);
/* The leg whose dialog is (callid, our tag), or NULL. */
struct leg *call_leg_find(struct calls *cs, const char *callid, size_t cl,
			  const char *ltag, size_t tl);

/* 200 with sdp to a re-INVITE of leg l's phone (Allow, the session
 * timer): 0, or sdp_encode()'s error after a 500 instead. */
int  call_reinvite_ok(struct call *c, struct leg *l, struct sip_stx *stx,
		      const struct sdp_session *sdp);

/* hold.c */
/* A re-INVITE whose SDP (*in) holds or resumes, while bridged, or any
 * while the bridge is on hold: answered here, music to the other party,
 * the bridge back on resume.  true when handled (*in is taken). */
bool hold_reinvite(struct call *c, struct leg *l, struct sip_stx *stx,
		   struct sdp_session **in);
/* Music on the caller's leg (MusicOnHold(), StartMusicOnHold(),
 * WaitExten(m)): 0 or moh_start()'s error. */
int  hold_music_a(struct call *c, const char *class);
/* The caller's dialplan music stops (the leg goes idle). */
void hold_music_a_off(struct call *c);
/* The music leg l hears stops (the leg goes idle): it moves to another
 * call (transfer.c), whose relay mode is that call's to give. */
void hold_leg_off(struct leg *l);
/* Dial()'s m[(class)]: the caller hears the class instead of ringing, as
 * early media (183) before an answer; dial.c stops it with
 * hold_music_a_off() before it bridges or gives up. */
int  hold_dial_music(struct call *c, const char *class);
/* The leg goes: its music is let go. */
void hold_leg_release(struct leg *l);

/* dial.c */
enum dp_result dial_start(struct call *c, const char *args);
void dial_cancel_all(struct call *c, const char *status);
void dial_leg_bye(struct leg *b);
void dial_leg_release(struct leg *b);   /* its INVITE's state, when freed */
/* A B leg straight to dst (another replica: transfer.c), channel
 * PJSIP/name-N, with the headers hdrs() writes for its Call-ID (0 or an
 * errno); c is CALL_DIALING with c->dial_starting set while legs start,
 * then dial_direct_done(). */
typedef int (dial_hdrs_h)(const char *callid, char *buf, size_t size, void *arg);
int  dial_leg_direct(struct call *c, const struct cfg_endpoint *ep, const char *name,
		     const char *ruri, const struct sip_peer *dst, dial_hdrs_h *hdrs,
		     void *arg);
void dial_direct_done(struct call *c);

/* dialopts.c: what Dial()'s options do */
struct dp_dial_opts;
void dialopts_set(struct call *c, const struct dp_dial_opts *o);  /* Dial() starts */
bool dialopts_entertained(const struct call *c);  /* r or m: the callee's
						   * ringing and early media
						   * are not passed on */
void dialopts_progress(struct call *c, struct leg *b);  /* b's first 183 */
/* The callee's SDP (183 or 200): the telephone-event type it takes. */
void dialopts_callee_sdp(struct leg *b, const struct sdp_session *sdp);
void dialopts_answered(struct call *c);  /* c->peer answered, bridged */
/* The callee hung up (or the limit ended it): with g the caller goes on
 * in the dialplan (true), else the call is to end (false). */
bool dialopts_callee_gone(struct call *c);
/* A play of leg l ended: true when it was one of the options'. */
bool dialopts_play_done(struct call *c, struct leg *l);
void dialopts_stop(struct call *c);      /* timers, prompt: the call ends */
/* A key from leg from's phone (by_info: an INFO, else RFC 4733) while the
 * call is bridged: the other phone gets it the way its endpoint takes
 * keys. */
void dialopts_dtmf_bridged(struct call *c, struct leg *from, char digit, bool by_info);

/* apps.c */
int  apps_chan_init(struct call *c);
/* 200 (answer) or 183 (progress) to the caller with our SDP, sent when the
 * dialplan stops running: 0 or an errno. */
int  apps_answer(struct call *c, uint16_t scode);
void apps_play_done(struct call *c);
void apps_play_start(struct call *c);   /* a Playback() waiting for media */
void apps_dtmf(struct call *c, struct leg *l, char digit);      /* RFC 4733 */
/* An INFO within the call's dialog (application/dtmf-relay or
 * application/dtmf): the status to answer it with. */
uint16_t apps_info(struct call *c, struct leg *l, const struct sip_msg *req);
void apps_hangup(struct call *c);       /* the call ends: before 'h' */
void apps_free(struct call *c);         /* what apps.c allocated */
/* For voicemail.c: play files ('&'-separated; a missing one is skipped,
 * an absolute path is a spool file), DP_ASYNC until voicemail's
 * vm_play_over(); cut a play short; answer the caller as Playback()
 * does (0 or -1). */
enum dp_result apps_play(struct call *c, const char *files);
void apps_play_cut(struct call *c);
int  apps_play_answer(struct call *c);

/* transfer.c */
/* A REFER within leg l's dialog: answered, and the transfer made. */
void xfer_refer(struct call *c, struct leg *l, struct sip_stx *stx,
		const struct sip_msg *req);
/* A new call's INVITE with a Replaces header (RFC 3891) is bridged in
 * place of the dialog it names (answered with answer, our SDP answer to
 * its offer), or refused (answered; the call is to be freed). */
enum xfer_replaces { XFER_NO_REPLACES, XFER_REPLACED, XFER_REFUSED };
enum xfer_replaces xfer_invite_replaces(struct call *c, const struct sip_msg *req,
					const struct sdp_session *answer);
void xfer_ringing(struct call *c);      /* a 180 to its Dial() */
void xfer_dial_status(struct call *c, const char *status);  /* Dial()'s end */
void xfer_app(struct call *c, enum dp_app app);     /* an application runs */
void xfer_call_end(struct call *c);     /* before the call's legs hang up */

#endif
