/*
 * rtpdtmf.c - RFC 4733 telephone-event detection (see rtpdtmf.h).
 */
#include <string.h>

#include "media/rtpdtmf.h"

/* Codes 0-15 are the DTMF keys (RFC 4733 §3.2), 16 is hook flash; tones
 * above that (fax, modem) are not digits. */
#define DTMF_CODE_MAX 16

void rtp_dtmf_reset(struct rtp_dtmf *d)
{
	memset(d, 0, sizeof(*d));
}

char rtp_dtmf_digit(uint8_t code)
{
	static const char digits[] = "0123456789*#ABCD!";

	if (code > DTMF_CODE_MAX)
		return 0;
	return digits[code];
}

static void report(const struct rtp_dtmf *d, bool end, struct rtp_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->type = RTP_EV_DTMF;
	ev->digit = rtp_dtmf_digit(d->code);
	ev->code = d->code;
	ev->duration = d->duration;
	ev->end = end;
}

int rtp_dtmf_input(struct rtp_dtmf *d, const struct rtp_hdr *h,
		   const uint8_t *payload, struct rtp_event ev[2])
{
	uint8_t code;
	uint16_t duration;
	bool end;
	int n = 0;

	if (h->plen < 4)
		return 0;
	code = payload[0];
	end = (payload[1] & 0x80) != 0;
	duration = (uint16_t)(payload[2] << 8 | payload[3]);
	if (code > DTMF_CODE_MAX)
		return 0;

	if (d->cur && d->ssrc == h->ssrc) {
		if (d->ts == h->ts) {
			if (duration > d->duration)
				d->duration = duration;
			if (end && !d->reported) {
				report(d, true, &ev[n++]);
				d->reported = true;
			}
			return n;
		}
		/* Serial number arithmetic: a packet of an older event. */
		if ((int32_t)(h->ts - d->ts) < 0)
			return 0;
	}

	if (d->cur && !d->reported)
		report(d, false, &ev[n++]);
	d->cur = true;
	d->reported = false;
	d->ssrc = h->ssrc;
	d->ts = h->ts;
	d->code = code;
	d->duration = duration;
	if (end) {
		report(d, true, &ev[n++]);
		d->reported = true;
	}
	return n;
}
