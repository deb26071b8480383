/*
 * record.h - what a leg in record mode keeps of the audio its phone sends:
 * the G.711 payload of one payload type, appended in arrival order into a
 * buffer given by the main loop (no allocation on the worker), with
 * app_voicemail's silence detection (ast_dsp_silence(): the mean absolute
 * value of the decoded samples of a frame under the threshold is a silent
 * frame; maxsilence of them in a row ends the recording).
 *
 * The main loop fills in the settings and hands the struct to
 * rtp_leg_record(); from then on the worker alone writes it, until
 * RTP_EV_RECORD_DONE or, when the main loop stops the recording first
 * (another mode, rtp_leg_free()), until an rtp_engine_sync() started
 * after that call has completed.  Only then may the main loop read len
 * and free buf.
 */
#ifndef KV_MEDIA_RECORD_H
#define KV_MEDIA_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rec_end {
	REC_RUNNING,
	REC_FULL,        /* cap bytes recorded (maxsecs) */
	REC_SILENCE,     /* silence_ms of silence at the end */
};

struct rtp_rec {
	/* settings, from the main loop */
	uint8_t *buf;             /* cap bytes: one byte a sample, 8 kHz */
	size_t cap;
	uint8_t pt;               /* the payload type recorded */
	bool alaw;                /* PCMA rather than PCMU */
	uint32_t silence_ms;      /* 0: no silence detection */
	uint32_t threshold;       /* mean |sample| under it: silent */
	/* the worker's, until handed back */
	size_t len;
	size_t silent;            /* samples of silence at the end of buf */
	enum rec_end end;
};

/* Append one packet's payload; true when the recording has just ended
 * (rec->end says why).  Does nothing once it has ended. */
bool rec_input(struct rtp_rec *rec, const uint8_t *payload, size_t n);

/* Mean absolute value of n G.711 samples, decoded. */
uint32_t rec_energy(const uint8_t *p, size_t n, bool alaw);

#endif
