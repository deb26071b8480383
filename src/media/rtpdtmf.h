/*
 * rtpdtmf.h - RFC 4733 telephone-event detection, one digit per key press.
 *
 * A sender repeats every event packet while the key is down (same RTP
 * timestamp, growing duration) and sends the final one, with the E bit,
 * three times.  The detector reports a digit once: when its first end
 * packet arrives, or, if every end packet was lost, when the next event
 * (a new timestamp or SSRC) starts.  Late packets of an older event are
 * ignored, so a reordered end packet never reports a digit twice.
 */
#ifndef KV_MEDIA_RTPDTMF_H
#define KV_MEDIA_RTPDTMF_H

#include <stdbool.h>
#include <stdint.h>

#include "media/rtp.h"
#include "media/rtppkt.h"

struct rtp_dtmf {
	bool cur;            /* an event has been seen */
	bool reported;
	uint32_t ssrc;
	uint32_t ts;
	uint8_t code;
	uint16_t duration;
};

void rtp_dtmf_reset(struct rtp_dtmf *d);
/* One telephone-event packet: h parsed from it, payload = its payload.
 * Returns how many digits to report (0, 1 or 2), written to ev[]. */
int  rtp_dtmf_input(struct rtp_dtmf *d, const struct rtp_hdr *h,
		    const uint8_t *payload, struct rtp_event ev[2]);
/* '0'-'9', '*', '#', 'A'-'D', '!' for codes 0-16, else 0. */
char rtp_dtmf_digit(uint8_t code);

/*
 * The packets of one key press as KubeVox sends it (RFC 4733 §2.5): a
 * 100 ms event, its duration growing by 20 ms a packet, then the end
 * packet three times, for rtp_leg_play_event().  digit: '0'-'9', '*',
 * '#', 'A'-'D' (either case).  The frames are static.  EINVAL for any
 * other character.
 */
#define RTP_DTMF_EVENT_MS 100
int  rtp_dtmf_frames(char digit, struct rtp_frames *f);

#endif
