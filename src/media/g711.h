/*
 * g711.h - ITU-T G.711 mu-law (PCMU) and A-law (PCMA) codecs.
 *
 * Samples are 16-bit linear PCM.  Decoding is a table lookup; encoding
 * computes the segment with a few shifts, which is as fast as a 64 KiB
 * table without the cache misses.  The results are the classic reference
 * ones (Sun/CCITT g711.c): mu-law of 0 is 0xFF, A-law of 0 is 0xD5.
 */
#ifndef KV_MEDIA_G711_H
#define KV_MEDIA_G711_H

#include <stddef.h>
#include <stdint.h>

/* The code a decoder turns into 0 (mu-law) or +8 (A-law): silence. */
#define G711_ULAW_SILENCE 0xFF
#define G711_ALAW_SILENCE 0xD5

extern const int16_t g711_ulaw_table[256];
extern const int16_t g711_alaw_table[256];

uint8_t g711_ulaw_encode(int16_t s);
uint8_t g711_alaw_encode(int16_t s);

static inline int16_t g711_ulaw_decode(uint8_t u)
{
	return g711_ulaw_table[u];
}

static inline int16_t g711_alaw_decode(uint8_t a)
{
	return g711_alaw_table[a];
}

/* Through linear PCM, so the result is what a transcoding bridge hears. */
static inline uint8_t g711_ulaw_to_alaw(uint8_t u)
{
	return g711_alaw_encode(g711_ulaw_decode(u));
}

static inline uint8_t g711_alaw_to_ulaw(uint8_t a)
{
	return g711_ulaw_encode(g711_alaw_decode(a));
}

/* n samples; dst and src must not overlap. */
void g711_ulaw_encode_buf(uint8_t *dst, const int16_t *src, size_t n);
void g711_alaw_encode_buf(uint8_t *dst, const int16_t *src, size_t n);
void g711_ulaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n);
void g711_alaw_decode_buf(int16_t *dst, const uint8_t *src, size_t n);

#endif
