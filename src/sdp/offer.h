/*
 * offer.h - RFC 3264 offer/answer for a B2BUA that anchors media.
 *
 * Caller A offers O_A.  KubeVox offers O_B to callee B:
 *
 *	sdp_offer_filter(O_A, allow, n, O_B)      codecs both legs allow
 *	sdp_set_media_addr(O_B, relay B address and ports)
 *	sdp_origin_apply(&leg_b, O_B)             o= of leg B
 *	sdp_encode()
 *
 * B answers; KubeVox answers A with what B chose:
 *
 *	sdp_answer_filter(O_B, answer_B, A_A)     validated against O_B
 *	sdp_set_media_addr(A_A, relay A address and ports)
 *	sdp_origin_apply(&leg_a, A_A)
 *
 * Re-INVITEs (hold, unhold) go through the same calls: directions pass
 * from leg to leg unchanged.  Formats that are kept keep their payload
 * type, rtpmap and fmtp.  Attributes that describe a transport KubeVox
 * terminates (ICE, DTLS/SDES keys, BUNDLE, rtcp-mux) are not relayed.
 *
 * Every *out session is rebuilt from scratch; after an error it holds a
 * partial result that must not be sent.
 */
#ifndef KV_SDP_OFFER_H
#define KV_SDP_OFFER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/types.h"
#include "sdp/sdp.h"

/*
 * Offer for the other leg.  In each audio stream over RTP/AVP or RTP/AVPF
 * with a non-zero port, formats whose codec is in allow are kept in the
 * offerer's order, and telephone-event formats are kept with them.  Every
 * other stream, and an audio stream left without codec, is kept rejected
 * (port 0, formats only) so that the m= lines keep their positions.
 * ENOENT when no audio stream remains (the caller answers 488).
 */
int sdp_offer_filter(const struct sdp_session *in, const enum cfg_codec *allow,
		     size_t allow_n, struct sdp_session *out);

/*
 * Check an answer against the offer it answers and build the answer to
 * relay.  Formats the answer lists without having been offered (same
 * static payload type, or same rtpmap encoding, clock and channels) are
 * dropped.  EPROTO when the answer is invalid: another number of m=
 * lines, another media type or protocol, a stream accepted that was
 * offered rejected, or an accepted stream with no offered codec left.
 */
int sdp_answer_filter(const struct sdp_session *offer,
		      const struct sdp_session *answer,
		      struct sdp_session *out);

/*
 * Late offer (RFC 3261 §13.2.1, RFC 6337 §3): a phone that sends an INVITE
 * without SDP gets KubeVox's offer in the 2xx and answers in the ACK.
 *
 * sdp_offer_local() is the offer that phone would have made if it had
 * offered what its endpoint allows: one audio stream (port 9, address
 * 0.0.0.0 until sdp_set_media_addr()) with allow's codecs in order at
 * their usual payload types, then telephone-event (8 kHz, and 48 kHz when
 * opus is allowed), a=ptime:20 and a=sendrecv.  The call engine dials
 * with it as if the phone had sent it.  0, ENOENT (no codec allowed) or
 * EINVAL.
 */
int sdp_offer_local(const enum cfg_codec *allow, size_t allow_n,
		    struct sdp_session *out);

/*
 * The offer to send from a description built for the leg (an answer, or
 * the last description sent on it): in each accepted RTP audio stream, one
 * codec and the telephone-event at its clock rate, so the phone's answer
 * cannot pick a codec the relay does not get from the other side (the
 * relay does not transcode).  The codec kept is the first one of in that
 * prefer lists (the codecs the phone last named, in any order), else in's
 * first codec.  Other streams are copied as they are.  0, ENOENT (no
 * audio stream with a codec) or EINVAL.
 */
int sdp_offer_narrow(const struct sdp_session *in, const enum cfg_codec *prefer,
		     size_t prefer_n, struct sdp_session *out);

/*
 * Make KubeVox's relay the media end of s: the session-level c= and the
 * o= address become addr (an AF_INET or AF_INET6 literal), media-level
 * c= lines are dropped, and each m= line i with a non-zero port gets
 * ports[i] (s->media_n entries; 0 rejects the stream), its a=rtcp, if
 * any, ports[i] + 1.  RFC 2543 holds (c=0.0.0.0) were already turned into
 * directions by the filters.  0 or EINVAL.
 */
int sdp_set_media_addr(struct sdp_session *s, const char *addr, int af,
		       const uint16_t *ports);

/*
 * One per leg: every description sent on a leg has the same o= username
 * and sess-id, and a sess-version that grows by one when, and only when,
 * the description differs from the previous one (RFC 3264 §8).
 */
struct sdp_origin_state {
	char user[32];
	uint64_t id;
	uint64_t version;
	uint64_t hash;        /* of the last description, o= line excluded */
	bool sent;
};

/* user NULL means "-".  sess_id is cut to 62 bits so that the version,
 * which starts equal to it, fits a signed 64-bit parser.  0 or EINVAL. */
int sdp_origin_init(struct sdp_origin_state *st, const char *user,
		    uint64_t sess_id);
/* Stamp s (whose o= address is already set) for sending.  0, EINVAL or
 * ENOMEM. */
int sdp_origin_apply(struct sdp_origin_state *st, struct sdp_session *s);

/* Every telephone-event format out of s's RTP audio streams (an endpoint
 * with dtmf_mode=info is told of none, as res_pjsip does); a stream with
 * nothing else keeps them. */
void sdp_drop_telephone_event(struct sdp_session *s);

/* The direction that answers an offered one (RFC 3264 §6.1). */
enum sdp_dir sdp_dir_answer(enum sdp_dir offered);
/* Direction of media idx: its own, else the session's, else sendrecv. */
enum sdp_dir sdp_media_dir(const struct sdp_session *s, unsigned idx);
int sdp_media_set_dir(struct sdp_session *s, unsigned idx, enum sdp_dir dir);
/* The sender of s puts media idx on hold: sendonly or inactive, or the
 * RFC 2543 style c=0.0.0.0. */
bool sdp_is_hold(const struct sdp_session *s, unsigned idx);

/* Index of the first audio stream with a non-zero port, or -1. */
int sdp_audio_index(const struct sdp_session *s);

/*
 * Where to send RTP for media idx: its c= (else the session's) and port.
 * 0, EINVAL (no such media, or the address is not an IPv4/IPv6 literal),
 * ENOENT (port 0: rejected), EDESTADDRREQ (no c=) or EAFNOSUPPORT.
 */
int sdp_remote_rtp(const struct sdp_session *s, unsigned idx,
		   struct sockaddr_storage *ss);

struct sdp_codec_choice {
	enum cfg_codec codec;
	uint8_t pt;
	uint32_t clock;       /* RTP clock rate */
	int te_pt;            /* telephone-event payload type, -1 if none */
};

/*
 * The codec that media idx will be sent with: its first format that is
 * not telephone-event.  te_pt prefers a telephone-event at the same clock
 * rate.  0, EINVAL (no such RTP media), ENOENT (no codec) or ENOTSUP (the
 * first codec is none of enum cfg_codec; c->pt is set).
 */
int sdp_first_codec(const struct sdp_session *s, unsigned idx,
		    struct sdp_codec_choice *c);

#endif
