/*
 * call.h - calls: the B2BUA that connects a caller's leg (A, where KubeVox
 * is the UAS) to the dialplan, and through Dial() to callee legs (B, where
 * KubeVox is the UAC), with media anchored in the RTP relay.
 *
 * Entry points for the PBX's request router: a new INVITE, CANCEL, ACK
 * and every request within a call's dialog.
 */
#ifndef KV_PBX_CALL_H
#define KV_PBX_CALL_H

#include <stdbool.h>

#include "sip/stack.h"

struct pbx;
struct calls;

/* Counters since start, for /metrics. */
struct call_stats {
	uint64_t total;            /* calls that passed authentication */
	uint64_t answered, busy, noanswer, failed, congestion;  /* by disposition */
	uint64_t rejected_draining;    /* 503 while draining */
	uint64_t no_media_port;        /* 503: the RTP port range was full */
};

/* One active call, for /status. */
struct call_info {
	const char *uniqueid;
	const char *channel;       /* A leg */
	const char *dstchannel;    /* B leg that answered, or "" */
	const char *caller;        /* caller number */
	const char *exten;         /* extension dialled */
	const char *state;         /* "dialplan", "dialing", "bridged" */
	double seconds;            /* since the INVITE */
	double billsec;            /* since the answer, 0 before */
};

int  calls_alloc(struct calls **csp, struct pbx *pbx);
/* Ends every call (BYE or final response to each leg) and frees them. */
void calls_free(struct calls *cs);
unsigned calls_active(const struct calls *cs);
const struct call_stats *calls_stats(const struct calls *cs);
void calls_foreach(const struct calls *cs,
		   void (*fn)(const struct call_info *ci, void *arg), void *arg);
/* End every call (BYE, or a final response before answer). */
void calls_end_all(struct calls *cs);
/* Draining: new calls get 503 with Retry-After; live ones go on. */
void calls_set_draining(struct calls *cs, bool draining);

/* An INVITE without a To tag. */
void call_invite(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src);
/* A CANCEL (RFC 3261 §9.2). */
void call_cancel(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req);
/* A request with a To tag: true when it belonged to a call (answered). */
bool call_in_dialog(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		    const struct sip_peer *src);

#endif
