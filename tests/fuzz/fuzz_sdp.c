/*
 * fuzz_sdp.c - libFuzzer target for the SDP parser, printer and the
 * offer/answer functions.
 *
 * Besides memory errors (ASan/UBSan) it aborts when an invariant breaks:
 *   - a rejected input always says why;
 *   - what decodes encodes, and the encoding decodes again (unless it
 *     outgrew SDP_MAX_LEN: LF became CRLF) to a session that encodes to
 *     the very same bytes;
 *   - the offer built from it keeps the m= line count, encodes and
 *     decodes, and is a valid answer to itself;
 *   - relay addresses and o= stamping never fail on a filtered offer, and
 *     stamping the same content twice keeps the version.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdp/offer.h"
#include "sdp/sdp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static struct sdp_session in, again, offer, answer;

static void encode(struct sbuf *sb, const struct sdp_session *s)
{
	sbuf_reset(sb);
	check(sdp_encode(sb, s) == 0);
}

/* Decode what sb holds, or see it refused for its size only. */
static bool redecode(const struct sbuf *sb, struct sdp_session *s)
{
	const char *why = NULL;
	int err = sdp_decode(s, sb->p, sb->len, &why);

	if (sb->len > SDP_MAX_LEN) {
		check(err == EMSGSIZE);
		return false;
	}
	check(err == 0 && why == NULL);
	return true;
}

static void helpers(const struct sdp_session *s)
{
	struct sdp_codec_choice c;
	struct sockaddr_storage ss;

	for (unsigned i = 0; i <= s->media_n; i++) {
		(void)sdp_remote_rtp(s, i, &ss);
		(void)sdp_first_codec(s, i, &c);
		(void)sdp_is_hold(s, i);
		check(sdp_media_dir(s, i) != SDP_DIR_UNSET);
		for (unsigned j = 0; i < s->media_n && j <= s->media[i].fmt_n; j++)
			check(sdp_fmt_codec(s, &s->media[i], j) <= CFG_CODEC_COUNT);
	}
	(void)sdp_audio_index(s);
}

static void negotiate(struct sbuf *sb, const enum cfg_codec *allow, size_t n)
{
	static const uint16_t ports[SDP_MAX_MEDIA] = {
		10000, 10002, 10004, 10006, 10008, 10010, 10012, 10014,
		10016, 10018, 10020, 10022, 10024, 10026, 10028, 10030,
	};
	struct sdp_origin_state st;
	char first[64];
	int err;

	err = sdp_offer_filter(&in, allow, n, &offer);
	if (err) {
		check(err == ENOENT);
		return;
	}
	check(offer.media_n == in.media_n);
	check(sdp_audio_index(&offer) >= 0);
	helpers(&offer);
	encode(sb, &offer);
	if (redecode(sb, &again))
		check(again.media_n == offer.media_n);
	check(sdp_answer_filter(&offer, &offer, &answer) == 0);
	check(answer.media_n == offer.media_n);

	check(sdp_set_media_addr(&offer, "192.0.2.1", AF_INET, ports) == 0);
	check(sdp_origin_init(&st, "KubeVox", 42) == 0);
	check(sdp_origin_apply(&st, &offer) == 0);
	snprintf(first, sizeof(first), "%s", offer.origin.version);
	check(sdp_origin_apply(&st, &offer) == 0);
	check(strcmp(first, offer.origin.version) == 0);
	helpers(&offer);
	encode(sb, &offer);
	(void)redecode(sb, &again);

	check(sdp_set_media_addr(&answer, "2001:db8::1", AF_INET6, ports) == 0);
	encode(sb, &answer);
	(void)redecode(sb, &again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cfg_codec all[] = {
		CFG_CODEC_PCMU, CFG_CODEC_PCMA, CFG_CODEC_G722, CFG_CODEC_GSM,
		CFG_CODEC_OPUS, CFG_CODEC_TELEPHONE_EVENT,
	};
	static const enum cfg_codec alaw[] = {CFG_CODEC_PCMA};
	struct sbuf sb, sb2;
	const char *why = NULL;
	int err;

	err = sdp_decode(&in, (const char *)data, size, &why);
	if (err) {
		check(why && *why);
		check(err == EBADMSG || err == EMSGSIZE);
		return 0;
	}
	check(why == NULL);
	sbuf_init(&sb);
	sbuf_init(&sb2);
	helpers(&in);
	encode(&sb, &in);
	if (redecode(&sb, &again)) {
		check(again.media_n == in.media_n);
		encode(&sb2, &again);
		check(sb2.len == sb.len && memcmp(sb.p, sb2.p, sb.len) == 0);
	}
	negotiate(&sb, all, sizeof(all) / sizeof(all[0]));
	negotiate(&sb, alaw, 1);
	negotiate(&sb, NULL, 0);
	/* the input taken as the answer to itself filtered */
	if (sdp_offer_filter(&in, all, sizeof(all) / sizeof(all[0]), &offer) == 0 &&
	    sdp_answer_filter(&offer, &in, &answer) == 0) {
		check(answer.media_n == in.media_n);
		encode(&sb, &answer);
		(void)redecode(&sb, &again);
	}
	sbuf_free(&sb);
	sbuf_free(&sb2);
	return 0;
}
