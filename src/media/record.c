/*
 * record.c - appending a phone's audio to a recording, with silence
 * detection (see record.h).  Runs on the worker thread that owns the leg.
 */
#include <string.h>

#include "media/g711.h"
#include "media/record.h"

uint32_t rec_energy(const uint8_t *p, size_t n, bool alaw)
{
	uint64_t sum = 0;

	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int s = alaw ? g711_alaw_decode(p[i]) : g711_ulaw_decode(p[i]);

		sum += (uint64_t)(s < 0 ? -s : s);
	}
	return (uint32_t)(sum / n);
}

bool rec_input(struct rtp_rec *rec, const uint8_t *payload, size_t n)
{
	size_t room;

	if (rec->end != REC_RUNNING)
		return false;
	room = rec->cap - rec->len;
	if (n > room)
		n = room;
	memcpy(rec->buf + rec->len, payload, n);
	rec->len += n;
	if (rec->silence_ms) {
		if (rec_energy(payload, n, rec->alaw) < rec->threshold)
			rec->silent += n;
		else
			rec->silent = 0;
		if (rec->silent >= (size_t)rec->silence_ms * 8) {
			rec->end = REC_SILENCE;
			return true;
		}
	}
	if (rec->len >= rec->cap) {
		rec->end = REC_FULL;
		return true;
	}
	return false;
}
