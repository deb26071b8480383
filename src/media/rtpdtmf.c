/*
 * rtpdtmf.c - RFC 4733 telephone-event detection and the packets of the
 * events KubeVox sends (see rtpdtmf.h).
 */
#include <errno.h>
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

/* Volume 10 (-10 dBm0), as Asterisk sends; durations 160..800 samples
 * (20..100 ms at 8 kHz), then E set on the last three. */
#define EV_VOL 10
#define EV_END (0x80 | EV_VOL)
#define EV(c) {                                                        \
	{ c, EV_VOL, 0, 160 }, { c, EV_VOL, 1, 64 }, { c, EV_VOL, 1, 224 }, \
	{ c, EV_VOL, 2, 128 }, { c, EV_VOL, 3, 32 },                       \
	{ c, EV_END, 3, 32 }, { c, EV_END, 3, 32 }, { c, EV_END, 3, 32 } }
#define EV_FRAMES 8

static const uint8_t events[16][EV_FRAMES][4] = {
	EV(0), EV(1), EV(2), EV(3), EV(4), EV(5), EV(6), EV(7),
	EV(8), EV(9), EV(10), EV(11), EV(12), EV(13), EV(14), EV(15),
};

int rtp_dtmf_frames(char digit, struct rtp_frames *f)
{
	static const char keys[] = "0123456789*#ABCD";
	const char *k;
	char d = digit >= 'a' && digit <= 'd' ? (char)(digit - 'a' + 'A') : digit;

	if (!d || !(k = strchr(keys, d)))
		return EINVAL;
	memset(f, 0, sizeof(*f));
	f->data = &events[k - keys][0][0];
	f->size = 4;
	f->count = EV_FRAMES;
	f->ts_step = 160;
	return 0;
}
