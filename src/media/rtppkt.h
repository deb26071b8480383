/*
 * rtppkt.h - RTP header parsing and writing (RFC 3550 §5.1).
 *
 * The relay forwards packets untouched and only looks inside them for
 * DTMF, so parsing is read-only and bounds-checked; playback writes the
 * 12-byte fixed header in front of each frame.
 */
#ifndef KV_MEDIA_RTPPKT_H
#define KV_MEDIA_RTPPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HDR_LEN 12
#define RTCP_HDR_MIN 8

struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t off;          /* payload offset: after CSRCs and extension */
	size_t plen;         /* payload length, padding excluded */
};

/* Version 2 and long enough to be worth relaying: the cheap check done on
 * every packet.  min is RTP_HDR_LEN or RTCP_HDR_MIN. */
static inline bool rtp_looks_valid(const uint8_t *p, size_t len, size_t min)
{
	return len >= min && (p[0] >> 6) == 2;
}

/* Full parse; EBADMSG when the CSRC list, extension or padding overrun
 * len. */
int  rtp_hdr_parse(const uint8_t *p, size_t len, struct rtp_hdr *h);
void rtp_hdr_write(uint8_t *p, uint8_t pt, bool marker, uint16_t seq,
		   uint32_t ts, uint32_t ssrc);

#endif
