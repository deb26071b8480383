/*
 * test_g711.c - G.711 mu-law and A-law (src/media/g711.c): published code
 * points, the decode tables against the formulas of the Recommendation,
 * and quantisation error bounds over every 16-bit input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "media/g711.h"

/* G.711 Table 2a (mu-law), at 16-bit scale: interval midpoints. */
static int ulaw_ref(uint8_t c)
{
	unsigned b = (uint8_t)~c;
	unsigned e = (b >> 4) & 7, m = b & 0x0F;
	int mag = (((int)(2 * m + 33) << e) - 33) * 4;

	return (b & 0x80) ? -mag : mag;
}

/* G.711 Table 1a (A-law), at 16-bit scale. */
static int alaw_ref(uint8_t c)
{
	unsigned b = c ^ 0x55;
	unsigned e = (b >> 4) & 7, m = b & 0x0F;
	int mag = e ? ((int)(2 * m + 33) << (e - 1)) : (int)(2 * m + 1);

	mag *= 8;
	return (b & 0x80) ? mag : -mag;
}

static void test_known_values(void **state)
{
	assert_int_equal(g711_ulaw_encode(0), 0xFF);
	assert_int_equal(g711_ulaw_encode(1), 0xFF);
	assert_int_equal(g711_ulaw_encode(-1), 0x7F);
	assert_int_equal(g711_ulaw_encode(32767), 0x80);
	assert_int_equal(g711_ulaw_encode(-32768), 0x00);
	assert_int_equal(g711_ulaw_encode(1000), 0xCE);
	assert_int_equal(g711_ulaw_encode(-1000), 0x4E);
	assert_int_equal(g711_ulaw_decode(0xFF), 0);
	assert_int_equal(g711_ulaw_decode(0x7F), 0);
	assert_int_equal(g711_ulaw_decode(0x80), 32124);
	assert_int_equal(g711_ulaw_decode(0x00), -32124);
	assert_int_equal(g711_ulaw_decode(0xCE), 988);
	assert_int_equal(g711_ulaw_decode(0xEF), 132);

	assert_int_equal(g711_alaw_encode(0), 0xD5);
	assert_int_equal(g711_alaw_encode(7), 0xD5);
	assert_int_equal(g711_alaw_encode(-1), 0x55);
	assert_int_equal(g711_alaw_encode(-8), 0x55);
	assert_int_equal(g711_alaw_encode(32767), 0xAA);
	assert_int_equal(g711_alaw_encode(-32768), 0x2A);
	assert_int_equal(g711_alaw_encode(1000), 0xFA);
	assert_int_equal(g711_alaw_decode(0xD5), 8);
	assert_int_equal(g711_alaw_decode(0x55), -8);
	assert_int_equal(g711_alaw_decode(0xAA), 32256);
	assert_int_equal(g711_alaw_decode(0x2A), -32256);
	assert_int_equal(g711_alaw_decode(0x00), -5504);
	assert_int_equal(g711_alaw_decode(0xFA), 1008);

	assert_int_equal(g711_ulaw_decode(G711_ULAW_SILENCE), 0);
	assert_int_equal(g711_alaw_decode(G711_ALAW_SILENCE), 8);
}

static void test_tables_match_formulas(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		assert_int_equal(g711_ulaw_decode((uint8_t)c), ulaw_ref((uint8_t)c));
		assert_int_equal(g711_alaw_decode((uint8_t)c), alaw_ref((uint8_t)c));
	}
}

/* Encoding a decoded value gives the code back: the decoder output is
 * inside its own interval.  mu-law's negative zero 0x7F is the only code
 * that comes back as another (0xFF), since both decode to 0. */
static void test_codes_round_trip(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		uint8_t u = g711_ulaw_encode(g711_ulaw_decode((uint8_t)c));

		assert_int_equal(u, c == 0x7F ? 0xFF : c);
		assert_int_equal(g711_alaw_encode(g711_alaw_decode((uint8_t)c)), c);
	}
}

/*
 * Over every input: the error is at most half a quantisation step.  In
 * mu-law a step is 1/16 of the segment's lower bound (biased by 132), so
 * the error is at most (|x| + 132) / 32; above the clip level it grows by
 * the clipped amount.  In A-law the first two segments have a step of 16,
 * then 1/16 of |x|; negative values are one's complement, one more unit.
 * Decoded values never decrease as the input grows.
 */
static void test_error_bounds(void **state)
{
	int prev_u = -32768, prev_a = -32768;
	int max_u = 0, max_a = 0;

	for (int x = -32768; x <= 32767; x++) {
		int du = g711_ulaw_decode(g711_ulaw_encode((int16_t)x));
		int da = g711_alaw_decode(g711_alaw_encode((int16_t)x));
		int ax = abs(x);
		int eu = abs(du - x), ea = abs(da - x);
		int bound_u = (ax + 132) / 32;
		int bound_a = (ax / 32 > 8 ? ax / 32 : 8) + 1;

		if (ax > 32635)
			bound_u = ax - 32124;
		if (eu > bound_u || ea > bound_a)
			fail_msg("x=%d mu-law %d (err %d, bound %d) A-law %d (err %d, bound %d)",
				 x, du, eu, bound_u, da, ea, bound_a);
		assert_true(du >= prev_u);
		assert_true(da >= prev_a);
		prev_u = du;
		prev_a = da;
		if (eu > max_u)
			max_u = eu;
		if (ea > max_a)
			max_a = ea;
	}
	/* The largest errors are at the top segment (and the mu-law clip). */
	assert_int_equal(max_u, 644);
	assert_int_equal(max_a, 512);
}

/* Symmetry: mu-law codes a magnitude and a sign. */
static void test_ulaw_symmetric(void **state)
{
	for (int x = 1; x <= 32767; x++) {
		uint8_t p = g711_ulaw_encode((int16_t)x);
		uint8_t n = g711_ulaw_encode((int16_t)-x);

		assert_int_equal(p ^ n, 0x80);
	}
}

static void test_bulk_and_transcode(void **state)
{
	int16_t pcm[512], back[512];
	uint8_t u[512], a[512];

	for (int i = 0; i < 512; i++)
		pcm[i] = (int16_t)(i * 128 - 32768);
	g711_ulaw_encode_buf(u, pcm, 512);
	g711_alaw_encode_buf(a, pcm, 512);
	for (int i = 0; i < 512; i++) {
		assert_int_equal(u[i], g711_ulaw_encode(pcm[i]));
		assert_int_equal(a[i], g711_alaw_encode(pcm[i]));
	}
	g711_ulaw_decode_buf(back, u, 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(back[i], g711_ulaw_decode(u[i]));
	g711_alaw_decode_buf(back, a, 512);
	for (int i = 0; i < 512; i++)
		assert_int_equal(back[i], g711_alaw_decode(a[i]));

	/* Zero-length calls touch nothing. */
	g711_ulaw_encode_buf(NULL, NULL, 0);
	g711_alaw_decode_buf(NULL, NULL, 0);

	assert_int_equal(g711_ulaw_to_alaw(G711_ULAW_SILENCE), G711_ALAW_SILENCE);
	/* A-law has no zero: its silence is +8, which mu-law codes exactly. */
	assert_int_equal(g711_alaw_to_ulaw(G711_ALAW_SILENCE), 0xFE);
	assert_int_equal(g711_ulaw_decode(0xFE), 8);
	for (unsigned c = 0; c < 256; c++) {
		uint8_t x = g711_ulaw_to_alaw((uint8_t)c);
		int d = abs(g711_alaw_decode(x) - g711_ulaw_decode((uint8_t)c));

		/* Transcoding adds at most half an A-law step of the value. */
		assert_true(d <= abs(g711_ulaw_decode((uint8_t)c)) / 32 + 9);
		assert_int_equal(g711_alaw_to_ulaw((uint8_t)c),
				 g711_ulaw_encode(g711_alaw_decode((uint8_t)c)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_tables_match_formulas),
		cmocka_unit_test(test_codes_round_trip),
		cmocka_unit_test(test_error_bounds),
		cmocka_unit_test(test_ulaw_symmetric),
		cmocka_unit_test(test_bulk_and_transcode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
