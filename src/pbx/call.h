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

int  calls_alloc(struct calls **csp, struct pbx *pbx);
/* Ends every call (BYE or final response to each leg) and frees them. */
void calls_free(struct calls *cs);
unsigned calls_active(const struct calls *cs);

/* An INVITE without a To tag. */
void call_invite(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		 const struct sip_peer *src);
/* A CANCEL (RFC 3261 §9.2). */
void call_cancel(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req);
/* A request with a To tag: true when it belonged to a call (answered). */
bool call_in_dialog(struct calls *cs, struct sip_stx *stx, const struct sip_msg *req,
		    const struct sip_peer *src);

#endif
