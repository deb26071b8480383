/*
 * rtppkt.c - RTP header parsing and writing (see rtppkt.h).
 */
#include <errno.h>

#include "media/rtppkt.h"

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int rtp_hdr_parse(const uint8_t *p, size_t len, struct rtp_hdr *h)
{
	size_t off, cc, pad = 0;

	if (!rtp_looks_valid(p, len, RTP_HDR_LEN))
		return EBADMSG;
	cc = p[0] & 0x0f;
	off = RTP_HDR_LEN + 4 * cc;
	if (off > len)
		return EBADMSG;
	if (p[0] & 0x10) {
		/* Extension: 16-bit profile, 16-bit length in 32-bit words. */
		if (off + 4 > len)
			return EBADMSG;
		off += 4 + 4 * (size_t)get16(p + off + 2);
		if (off > len)
			return EBADMSG;
	}
	if (p[0] & 0x20) {
		/* The last octet counts the padding, itself included. */
		pad = p[len - 1];
		if (pad == 0 || pad > len - off)
			return EBADMSG;
	}
	h->marker = (p[1] & 0x80) != 0;
	h->pt = p[1] & 0x7f;
	h->seq = get16(p + 2);
	h->ts = get32(p + 4);
	h->ssrc = get32(p + 8);
	h->off = off;
	h->plen = len - off - pad;
	return 0;
}

void rtp_hdr_write(uint8_t *p, uint8_t pt, bool marker, uint16_t seq,
		   uint32_t ts, uint32_t ssrc)
{
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24);
	p[5] = (uint8_t)(ts >> 16);
	p[6] = (uint8_t)(ts >> 8);
	p[7] = (uint8_t)ts;
	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
}
