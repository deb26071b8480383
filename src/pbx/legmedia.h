/*
 * legmedia.h - SDP and RTP for one leg of a call.
 *
 * Every leg has its own relay port pair; the SDP KubeVox sends on a leg
 * always names that port and KubeVox's address toward the leg's phone (or
 * the transport's external_media_address), so media is anchored whatever
 * the phones do.  What the phone's SDP says goes to the relay as the
 * remote address until symmetric RTP latches on the real source.
 *
 * A leg's relay events (DTMF, end of a prompt, RTP timeout) go to the
 * handler given at legmedia_init(): this file knows nothing of calls.
 *
 * Late offer (a phone's INVITE or re-INVITE without SDP): KubeVox offers
 * in its 2xx and the phone answers in the ACK.  Since the relay forwards
 * packets untouched, that offer names one codec (and telephone-event):
 * the one the relay will send the phone, so the answer cannot pick
 * another.
 */
#ifndef KV_PBX_LEGMEDIA_H
#define KV_PBX_LEGMEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "media/rtp.h"
#include "sdp/offer.h"
#include "sdp/sdp.h"
#include "sip/stack.h"

struct leg_media {
	struct rtp_leg *rtp;            /* NULL until legmedia_init() */
	struct sdp_origin_state origin;
	enum cfg_codec codec;           /* the codec the phone receives */
	uint8_t pt;
	int te_pt;                      /* telephone-event, -1 when none */

	const struct kv_config *cfg;
	struct sip_stack *stack;
	const struct sip_peer *dst;     /* the leg's phone */
	const enum cfg_codec *allow;    /* its endpoint's codecs */
	size_t allow_n;
	bool no_te;                     /* dtmf_mode=info: no telephone-event
					 * in what the phone is told */

	/* The phone made no offer: what the answer functions below build
	 * for it is an offer of one codec instead (the call engine clears
	 * this once the phone's answer has come). */
	bool late;
	struct sdp_session *sent;       /* the last description made for the
					 * phone, NULL before the first */
	bool sent_offer;                /* ... and whether it was an offer */
	enum cfg_codec heard[SDP_MAX_FMT];  /* codecs of the phone's last SDP */
	unsigned heard_n;
};

struct legmedia_params {
	struct rtp_engine *engine;
	const struct leg_media *near;   /* put the relay leg on this one's
					 * worker (they will be connected) */
	const struct kv_config *cfg;    /* must outlive the leg */
	struct sip_stack *stack;
	const struct sip_peer *dst;     /* must outlive the leg */
	const struct cfg_endpoint *ep;  /* NULL: the default codecs */
	rtp_event_h *evh;               /* relay events, on the loop */
	void *arg;
};

/* A relay port pair for the leg: 0, or ENOSPC when the port range is
 * full (the caller answers 503), or another errno. */
int  legmedia_init(struct leg_media *m, const struct legmedia_params *p);
/* Stop and free the relay leg (the prompt it may play is the caller's). */
void legmedia_free(struct leg_media *m);

/* Our offer toward the leg's phone for an offer that came from the other
 * side, filtered by the phone's codecs. */
int  legmedia_offer(struct leg_media *m, const struct sdp_session *offer_in,
		    struct sdp_session *out);
/* Our own answer to the phone's offer (media ends at KubeVox: Echo,
 * Playback); ENOENT when no codec is common. */
int  legmedia_answer_local(struct leg_media *m, const struct sdp_session *offer,
			   struct sdp_session *out);
/* The same, but keeping the codec the leg already receives when the offer
 * has it (a hold or resume answered by KubeVox: the relay does not
 * transcode, so the phone must go on with what the other leg sends). */
int  legmedia_answer_keep(struct leg_media *m, const struct sdp_session *offer,
			  struct sdp_session *out);
/* The other phone's answer, relayed to this leg's phone. */
int  legmedia_answer_relay(struct leg_media *m, const struct sdp_session *our_offer,
			   const struct sdp_session *answer_in, struct sdp_session *out);
/* The offer a phone that made none would have made: its endpoint's codecs
 * and telephone-event, with our relay address (not an SDP to send: the
 * call engine dials with it as the phone's offer). */
int  legmedia_offer_local(struct leg_media *m, struct sdp_session *out);
/* Our offer for a re-INVITE without SDP from the leg's phone: the last
 * description made for it, with the one codec in use, sendrecv unless
 * that description was an offer that said otherwise (the other phone's
 * hold).  ENOENT before any description was made. */
int  legmedia_reoffer(struct leg_media *m, struct sdp_session *out);
/* Point the relay at what the phone's SDP says (address, hold, DTMF). */
int  legmedia_remote(struct leg_media *m, const struct sdp_session *sdp);

#endif
