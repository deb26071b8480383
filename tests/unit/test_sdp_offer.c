/*
 * test_sdp_offer.c - unit tests of the offer/answer functions
 * (src/sdp/offer.c): codec filtering with static and dynamic payload
 * types, answer validation, relay addresses, o= versioning, directions
 * and hold, the RTP peer address and codec, and a whole B2BUA exchange
 * with hold and unhold re-INVITEs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/offer.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif
#define CORPUS KV_SOURCE_DIR "/tests/fuzz/corpus/sdp/"

/* ~20 KiB each: keep them off the test stack */
static struct sdp_session in, out, ans, res;

static void dec_file(struct sdp_session *s, const char *name)
{
	char path[512], buf[SDP_MAX_LEN];
	const char *why = NULL;
	size_t len;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s%s", CORPUS, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	err = sdp_decode(s, buf, len, &why);
	if (err)
		fail_msg("%s: %d %s", name, err, why ? why : "(null)");
}

static void dec(struct sdp_session *s, const char *text)
{
	const char *why = NULL;
	int err = sdp_decode(s, text, strlen(text), &why);

	if (err)
		fail_msg("%d %s for:\n%s", err, why ? why : "(null)", text);
}

static char *enc(const struct sdp_session *s)
{
	static char text[SDP_MAX_LEN * 2];
	struct sbuf sb;

	sbuf_init(&sb);
	assert_int_equal(sdp_encode(&sb, s), 0);
	assert_true(sb.len < sizeof(text));
	memcpy(text, sb.p, sb.len);
	text[sb.len] = '\0';
	sbuf_free(&sb);
	return text;
}

/* The m= line of media idx, as printed. */
static const char *mline(const struct sdp_session *s, unsigned idx)
{
	static char line[256];
	const char *p = enc(s), *e;

	for (unsigned i = 0; i <= idx; i++) {
		p = strstr(p, "m=");
		assert_non_null(p);
		if (i < idx)
			p += 2;
	}
	e = strstr(p, "\r\n");
	snprintf(line, sizeof(line), "%.*s", (int)(e - p), p);
	return line;
}

static bool has(const struct sdp_session *s, const char *text)
{
	return strstr(enc(s), text) != NULL;
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static const enum cfg_codec ulaw[] = {CFG_CODEC_PCMU};
static const enum cfg_codec alaw[] = {CFG_CODEC_PCMA};
static const enum cfg_codec g722_ulaw[] = {CFG_CODEC_G722, CFG_CODEC_PCMU};
static const enum cfg_codec opus_ulaw[] = {CFG_CODEC_OPUS, CFG_CODEC_PCMU};
static const enum cfg_codec ulaw_alaw[] = {CFG_CODEC_PCMU, CFG_CODEC_PCMA};
static const enum cfg_codec te_only[] = {CFG_CODEC_TELEPHONE_EVENT};
#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_offer_static(void **state)
{
	(void)state;
	dec_file(&in, "asterisk");
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 10000 RTP/AVP 8 101");
	assert_true(has(&out,
		"a=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-16\r\n"
		"a=ptime:20\r\n"
		"a=maxptime:150\r\n"
		"a=sendrecv\r\n"));
	assert_false(has(&out, "PCMU"));
	/* the offerer's order, not the allow list's */
	assert_int_equal(sdp_offer_filter(&in, g722_ulaw, N(g722_ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 10000 RTP/AVP 0 9 101");
	/* session parts are copied */
	assert_string_equal(out.origin.id, "1234567890");
	assert_string_equal(sdp_str(&out, out.name), "Asterisk");
	assert_string_equal(out.conn.addr, "10.0.0.5");

	/* static payload types without rtpmap */
	dec_file(&in, "hold-rfc2543");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 5004 RTP/AVP 0");
	assert_false(has(&out, "rtpmap"));
}

static void test_offer_dynamic(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_file(&in, "linphone");
	assert_int_equal(sdp_offer_filter(&in, opus_ulaw, N(opus_ulaw), &out), 0);
	assert_int_equal(out.media_n, 2);
	m = &out.media[0];
	/* speex and PCMA go; every telephone-event stays */
	assert_string_equal(mline(&out, 0), "m=audio 7078 RTP/AVP 96 0 101 99 100");
	assert_true(has(&out,
		"a=rtpmap:96 opus/48000/2\r\n"
		"a=fmtp:96 useinbandfec=1\r\n"
		"a=rtpmap:101 telephone-event/48000\r\n"
		"a=rtpmap:99 telephone-event/16000\r\n"
		"a=rtpmap:100 telephone-event/8000\r\n"
		"a=rtcp-fb:* trr-int 1000\r\n"
		"a=rtcp-fb:* ccm tmmbr\r\n"));
	assert_false(has(&out, "speex"));
	assert_int_equal(m->fmt[0].pt, 96);
	/* video is kept rejected, formats only, so m= lines stay in place */
	assert_string_equal(mline(&out, 1), "m=video 0 RTP/AVP 96 97");
	assert_false(has(&out, "VP8"));
	assert_false(has(&out, "rtcp-fb:96 nack pli"));
	/* unknown session attribute passes */
	assert_true(has(&out, "a=rtcp-xr:rcvr-rtt=all:10000"));

	/* an upper-case name with parameters goes through untouched */
	dec_file(&in, "opus-only");
	assert_int_equal(sdp_offer_filter(&in, opus_ulaw, N(opus_ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 30000 RTP/AVP 107 101");
	assert_true(has(&out,
		"a=rtpmap:107 OPUS/48000/2\r\n"
		"a=fmtp:107 maxplaybackrate=16000;sprop-maxcapturerate=16000;useinbandfec=1\r\n"
		"a=rtpmap:101 TELEPHONE-EVENT/48000\r\n"
		"a=fmtp:101 0-16\r\n"));
}

static void test_offer_refused(void **state)
{
	(void)state;
	dec_file(&in, "asterisk");
	assert_int_equal(sdp_offer_filter(&in, NULL, 0, &out), ENOENT);
	dec_file(&in, "opus-only");
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), ENOENT);
	/* telephone-event alone is no audio */
	assert_int_equal(sdp_offer_filter(&in, te_only, N(te_only), &out), ENOENT);
	/* SRTP (and ICE/DTLS) cannot be relayed as it is */
	dec_file(&in, "webrtc-like");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), ENOENT);
	/* no audio at all, or audio already rejected */
	dec(&in, HEAD "m=video 5000 RTP/AVP 31\r\nm=audio 0 RTP/AVP 0\r\n");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), ENOENT);
	dec(&in, HEAD);
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), ENOENT);
	assert_int_equal(sdp_offer_filter(&in, NULL, 1, &out), EINVAL);
	assert_int_equal(sdp_offer_filter(NULL, ulaw, 1, &out), EINVAL);
}

static void test_offer_streams(void **state)
{
	(void)state;
	/* SAVP stream rejected, the plain one kept; keys are not relayed */
	dec_file(&in, "srtp-sdes");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 0 RTP/SAVP 0 8 101");
	assert_string_equal(mline(&out, 1), "m=audio 54402 RTP/AVP 0 101");
	assert_false(has(&out, "crypto"));
	assert_int_equal(sdp_audio_index(&out), 1);

	/* T.38 re-INVITE: nothing left to relay */
	dec_file(&in, "t38-reinvite");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), ENOENT);
	assert_string_equal(mline(&out, 1), "m=image 0 udptl t38");
	assert_false(has(&out, "T38FaxVersion"));

	/* AVPF is plain RTP; rtcp-fb follows its format */
	dec_file(&in, "avpf-recvonly");
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 40400 RTP/AVPF 8 101");
	assert_true(has(&out, "a=rtcp-fb:8 nack\r\n"));
	assert_true(has(&out, "a=recvonly\r\n"));
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_false(has(&out, "rtcp-fb"));

	/* a=rtcp goes through, and then follows the relay's port */
	dec_file(&in, "polycom");
	assert_int_equal(sdp_offer_filter(&in, g722_ulaw, N(g722_ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 2226 RTP/AVP 9 0 127");
	assert_true(has(&out, "a=rtcp:2227 IN IP4 192.168.0.120\r\n"));
	assert_int_equal(sdp_set_media_addr(&out, "192.0.2.1", AF_INET,
					    (const uint16_t[]){6000}), 0);
	assert_true(has(&out, "a=rtcp:6001\r\n"));

	/* hop-by-hop attributes stay on their hop */
	dec(&in, HEAD
	    "a=group:BUNDLE 0\r\n"
	    "a=ice-lite\r\n"
	    "a=fingerprint:sha-256 AA:BB\r\n"
	    "a=tool:phone\r\n"
	    "m=audio 4000 RTP/AVP 0 8\r\n"
	    "a=mid:0\r\n"
	    "a=candidate:1 1 udp 1 192.0.2.1 4000 typ host\r\n"
	    "a=end-of-candidates\r\n"
	    "a=ice-ufrag:x\r\n"
	    "a=ICE-PWD:y\r\n"
	    "a=setup:actpass\r\n"
	    "a=rtcp-mux\r\n"
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
	    "a=rtcp-fb:0 nack\r\n"
	    "a=rtcp-fb:8 nack\r\n"
	    "a=rtcp-fb:x\r\n"
	    "a=rtcp-fb:99 nack\r\n"
	    "a=label:main\r\n"
	    "a=midway:1\r\n");
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &out), 0);
	assert_string_equal(enc(&out),
		"v=0\r\n"
		"o=- 1 1 IN IP4 192.0.2.1\r\n"
		"s=-\r\n"
		"c=IN IP4 192.0.2.1\r\n"
		"t=0 0\r\n"
		"a=tool:phone\r\n"
		"m=audio 4000 RTP/AVP 8\r\n"
		"a=rtcp-fb:8 nack\r\n"
		"a=rtcp-fb:x\r\n"
		"a=label:main\r\n"
		"a=midway:1\r\n");
}

static void test_offer_hold(void **state)
{
	(void)state;
	/* c=0.0.0.0 becomes a direction, since the address is replaced */
	dec_file(&in, "hold-rfc2543");
	assert_true(sdp_is_hold(&in, 0));
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &out), 0);
	assert_int_equal(out.media[0].dir, SDP_DIR_SENDONLY);
	assert_true(sdp_is_hold(&out, 0));
	dec(&in, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\na=recvonly\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\n"
	    "m=audio 4002 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_int_equal(out.media[0].dir, SDP_DIR_INACTIVE);
	assert_int_equal(out.media[1].dir, SDP_DIR_UNSET);
	assert_int_equal(out.dir, SDP_DIR_RECVONLY);
	assert_int_equal(sdp_media_dir(&out, 1), SDP_DIR_RECVONLY);
	/* an explicit hold direction with c=0.0.0.0 stays what it is */
	dec(&in, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	    "m=audio 4000 RTP/AVP 0\r\na=inactive\r\n"
	    "m=audio 4002 RTP/AVP 0\r\na=sendonly\r\n");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_int_equal(out.media[0].dir, SDP_DIR_INACTIVE);
	assert_int_equal(out.media[1].dir, SDP_DIR_SENDONLY);

	/* explicit directions pass from leg to leg */
	dec_file(&in, "hold-sendonly");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_int_equal(sdp_media_dir(&out, 0), SDP_DIR_SENDONLY);
	dec_file(&in, "inactive");
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &out), 0);
	assert_int_equal(out.dir, SDP_DIR_INACTIVE);
	assert_int_equal(sdp_media_dir(&out, 0), SDP_DIR_INACTIVE);
}

static void test_answer(void **state)
{
	(void)state;
	dec_file(&in, "asterisk");
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), 0);

	/* a subset, in the answerer's order */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	    "a=fmtp:101 0-15\r\na=ptime:30\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=audio 6001 RTP/AVP 8 0 101");
	assert_true(has(&res, "a=fmtp:101 0-15\r\na=ptime:30\r\n"));

	/* another dynamic number for an offered codec is fine (RFC 3264
	 * §6.1 only says SHOULD); a codec never offered is dropped */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 18 0 96\r\na=rtpmap:18 G729/8000\r\n"
	    "a=rtpmap:96 telephone-event/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=audio 6001 RTP/AVP 0 96");

	/* rtpmap on one side only: the static number decides */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 8\r\na=rtpmap:8 G729/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	/* the rtpmap names the codec, whatever the number */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 8\r\na=rtpmap:8 PCMU/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);

	/* nothing offered, or telephone-event alone */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 18\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	/* dynamic payload type without rtpmap says nothing */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 101\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);

	/* shape: m= count, media type, protocol */
	dec(&ans, HEAD "m=audio 6001 RTP/AVP 0\r\nm=video 0 RTP/AVP 31\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD);
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=video 6001 RTP/AVP 0\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=audio 6001 RTP/SAVP 0\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=audio 6001 RTP/AVPF 0\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_int_equal(sdp_answer_filter(NULL, &ans, &res), EINVAL);

	/* the callee may reject the stream */
	dec(&ans, HEAD "m=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=audio 0 RTP/AVP 0");
	assert_false(has(&res, "rtpmap"));
}

static void test_answer_streams(void **state)
{
	(void)state;
	/* offered: audio and rejected video (RFC 3264 §10.1) */
	dec_file(&in, "rfc3264-audio-video");
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), 0);
	assert_string_equal(mline(&out, 1), "m=video 0 RTP/AVP 31 32");
	dec_file(&ans, "rejected-video-answer");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=audio 49174 RTP/AVP 0");
	assert_string_equal(mline(&res, 1), "m=video 0 RTP/AVP 31");
	assert_string_equal(res.conn.addr, "host.biloxi.example.com");
	/* accepting what was offered rejected is a protocol error */
	dec(&ans, HEAD "m=audio 49174 RTP/AVP 0\r\nm=video 5000 RTP/AVP 31\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);

	/* non-RTP streams both sides accepted pass as they are */
	dec(&in, HEAD "m=image 4000 udptl t38\r\na=T38FaxVersion:0\r\n");
	dec(&ans, HEAD "m=image 5000 udptl t38\r\na=T38FaxVersion:0\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=image 5000 udptl t38");
	assert_true(has(&res, "a=T38FaxVersion:0\r\n"));
	dec(&ans, HEAD "m=image 5000 RTP/AVP 0\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), EPROTO);

	/* opus channels must agree */
	dec_file(&in, "opus-only");
	dec(&ans, HEAD "m=audio 1 RTP/AVP 107\r\na=rtpmap:107 opus/48000/1\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=audio 1 RTP/AVP 107\r\na=rtpmap:107 opus/48000/2\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), 0);
	/* so must clock rates: only telephone-event/48000 was offered */
	dec(&ans, HEAD "m=audio 1 RTP/AVP 107 100 101\r\na=rtpmap:107 opus/48000/2\r\n"
	    "a=rtpmap:100 telephone-event/8000\r\n"
	    "a=rtpmap:101 telephone-event/48000\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), 0);
	assert_string_equal(mline(&res, 0), "m=audio 1 RTP/AVP 107 101");

	/* hold in the answer survives the address rewrite */
	dec_file(&in, "sipp-offer");
	dec(&ans, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
	    "m=audio 6001 RTP/AVP 0\r\n");
	assert_int_equal(sdp_answer_filter(&in, &ans, &res), 0);
	assert_int_equal(res.media[0].dir, SDP_DIR_SENDONLY);
}

static void test_set_media_addr(void **state)
{
	static const uint16_t ports[] = {20000, 20002, 20004};
	struct sockaddr_storage ss;

	(void)state;
	dec_file(&in, "polycom");
	assert_int_equal(sdp_set_media_addr(&in, "203.0.113.5", AF_INET, ports), 0);
	assert_string_equal(in.origin.addr, "203.0.113.5");
	assert_true(has(&in, "c=IN IP4 203.0.113.5\r\n"));
	assert_true(has(&in, "o=- 1398361052 1398361052 IN IP4 203.0.113.5\r\n"));
	assert_string_equal(mline(&in, 0), "m=audio 20000 RTP/AVP 9 102 0 8 18 127");
	assert_true(has(&in, "a=rtcp:20001\r\n"));
	assert_int_equal(sdp_remote_rtp(&in, 0, &ss), 0);

	/* media-level c= dropped, port counts reset, rejected stays 0 */
	dec(&in, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"
	    "m=audio 4000/2 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\na=rtcp:4001\r\n"
	    "m=video 0 RTP/AVP 31\r\nc=IN IP4 192.0.2.1\r\n"
	    "m=audio 4004 RTP/AVP 8\r\nc=IN IP4 192.0.2.1\r\na=rtcp:4005\r\n");
	assert_int_equal(sdp_set_media_addr(&in, "2001:db8::5", AF_INET6, ports), 0);
	assert_string_equal(enc(&in),
		"v=0\r\n"
		"o=- 1 1 IN IP6 2001:db8::5\r\n"
		"s=-\r\n"
		"c=IN IP6 2001:db8::5\r\n"
		"t=0 0\r\n"
		"m=audio 20000 RTP/AVP 0\r\n"
		"a=rtcp:20001\r\n"
		"m=video 0 RTP/AVP 31\r\n"
		"m=audio 20004 RTP/AVP 8\r\n"
		"a=rtcp:20005\r\n");
	/* a zero relay port rejects the stream, and its rtcp goes */
	{
		static const uint16_t zero[] = {0, 0, 20004};

		assert_int_equal(sdp_set_media_addr(&in, "2001:db8::5", AF_INET6,
						    zero), 0);
		assert_string_equal(mline(&in, 0), "m=audio 0 RTP/AVP 0");
		assert_false(in.media[0].rtcp_set);
	}

	assert_int_equal(sdp_set_media_addr(&in, "2001:db8::5", AF_INET, ports), EINVAL);
	assert_int_equal(sdp_set_media_addr(&in, "pbx.example.com", AF_INET, ports),
			 EINVAL);
	assert_int_equal(sdp_set_media_addr(&in, "192.0.2.1", AF_UNIX, ports), EINVAL);
	assert_int_equal(sdp_set_media_addr(&in, "192.0.2.1", AF_INET, NULL), EINVAL);
	assert_int_equal(sdp_set_media_addr(&in, NULL, AF_INET, ports), EINVAL);
	assert_string_equal(in.conn.addr, "2001:db8::5");
}

static void test_origin(void **state)
{
	static const uint16_t ports[] = {30000, 30002};
	struct sdp_origin_state st;

	(void)state;
	assert_int_equal(sdp_origin_init(&st, "a b", 1), EINVAL);
	assert_int_equal(sdp_origin_init(&st, "", 1), EINVAL);
	assert_int_equal(sdp_origin_init(&st, "0123456789012345678901234567890123", 1),
			 EINVAL);
	assert_int_equal(sdp_origin_init(&st, NULL, UINT64_MAX), 0);
	assert_string_equal(st.user, "-");
	assert_int_equal(st.id, (UINT64_C(1) << 62) - 1);
	assert_int_equal(sdp_origin_init(&st, "KubeVox", 5000), 0);

	/* no o= address yet */
	sdp_session_init(&in);
	assert_int_equal(sdp_origin_apply(&st, &in), EINVAL);

	dec_file(&in, "asterisk");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &out), 0);
	assert_int_equal(sdp_set_media_addr(&out, "192.0.2.200", AF_INET, ports), 0);
	assert_int_equal(sdp_origin_apply(&st, &out), 0);
	assert_true(has(&out, "o=KubeVox 5000 5000 IN IP4 192.0.2.200\r\n"));
	/* same content again (a refresh): same version */
	assert_int_equal(sdp_origin_apply(&st, &out), 0);
	assert_string_equal(out.origin.version, "5000");
	/* a new offer from the other leg with the same content, other o= */
	dec_file(&in, "asterisk");
	snprintf(in.origin.version, sizeof(in.origin.version), "999");
	snprintf(in.origin.user, sizeof(in.origin.user), "someone");
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &res), 0);
	assert_int_equal(sdp_set_media_addr(&res, "192.0.2.200", AF_INET, ports), 0);
	assert_int_equal(sdp_origin_apply(&st, &res), 0);
	assert_string_equal(res.origin.version, "5000");
	assert_string_equal(enc(&res), enc(&out));
	/* a change: +1, and back: +1 again */
	assert_int_equal(sdp_media_set_dir(&out, 0, SDP_DIR_SENDONLY), 0);
	assert_int_equal(sdp_origin_apply(&st, &out), 0);
	assert_string_equal(out.origin.version, "5001");
	assert_string_equal(out.origin.id, "5000");
	assert_string_equal(out.origin.user, "KubeVox");
	assert_int_equal(sdp_origin_apply(&st, &out), 0);
	assert_string_equal(out.origin.version, "5001");
	assert_int_equal(sdp_media_set_dir(&out, 0, SDP_DIR_SENDRECV), 0);
	assert_int_equal(sdp_origin_apply(&st, &out), 0);
	assert_string_equal(out.origin.version, "5002");
	assert_int_equal(sdp_origin_apply(NULL, &out), EINVAL);
}

static void test_directions(void **state)
{
	(void)state;
	assert_int_equal(sdp_dir_answer(SDP_DIR_SENDONLY), SDP_DIR_RECVONLY);
	assert_int_equal(sdp_dir_answer(SDP_DIR_RECVONLY), SDP_DIR_SENDONLY);
	assert_int_equal(sdp_dir_answer(SDP_DIR_INACTIVE), SDP_DIR_INACTIVE);
	assert_int_equal(sdp_dir_answer(SDP_DIR_SENDRECV), SDP_DIR_SENDRECV);
	assert_int_equal(sdp_dir_answer(SDP_DIR_UNSET), SDP_DIR_SENDRECV);

	dec(&in, HEAD "a=sendonly\r\nm=audio 1 RTP/AVP 0\r\n"
	    "m=audio 2 RTP/AVP 0\r\na=recvonly\r\n"
	    "m=audio 3 RTP/AVP 0\r\na=inactive\r\n"
	    "m=audio 4 RTP/AVP 0\r\na=sendrecv\r\n"
	    "m=audio 5 RTP/AVP 0\r\na=sendrecv\r\nc=IN IP4 0.0.0.0\r\n"
	    "m=audio 6 RTP/AVP 0\r\na=sendrecv\r\nc=IN IP6 ::\r\n");
	assert_int_equal(sdp_media_dir(&in, 0), SDP_DIR_SENDONLY);
	assert_int_equal(sdp_media_dir(&in, 1), SDP_DIR_RECVONLY);
	assert_int_equal(sdp_media_dir(&in, 2), SDP_DIR_INACTIVE);
	assert_int_equal(sdp_media_dir(&in, 3), SDP_DIR_SENDRECV);
	assert_int_equal(sdp_media_dir(&in, 99), SDP_DIR_SENDONLY);
	assert_true(sdp_is_hold(&in, 0));
	assert_false(sdp_is_hold(&in, 1));
	assert_true(sdp_is_hold(&in, 2));
	assert_false(sdp_is_hold(&in, 3));
	assert_true(sdp_is_hold(&in, 4));
	assert_false(sdp_is_hold(&in, 5));
	assert_false(sdp_is_hold(&in, 99));

	dec_file(&in, "sipp-offer");
	assert_int_equal(sdp_media_dir(&in, 0), SDP_DIR_SENDRECV);
	assert_int_equal(sdp_media_dir(&in, 5), SDP_DIR_SENDRECV);
	assert_int_equal(sdp_media_set_dir(&in, 0, SDP_DIR_RECVONLY), 0);
	assert_true(has(&in, "a=recvonly\r\n"));
	assert_int_equal(sdp_media_set_dir(&in, 1, SDP_DIR_RECVONLY), EINVAL);
	assert_int_equal(sdp_media_set_dir(&in, 0, (enum sdp_dir)7), EINVAL);
}

static void test_remote_rtp(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char text[INET6_ADDRSTRLEN];

	(void)state;
	dec_file(&in, "media-level-conn");
	assert_int_equal(sdp_remote_rtp(&in, 0, &ss), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 49170);
	inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
	assert_string_equal(text, "192.0.2.55");
	assert_int_equal(sdp_remote_rtp(&in, 1, &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 49172);
	inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text));
	assert_string_equal(text, "2001:db8::55");
	assert_int_equal(sdp_remote_rtp(&in, 2, &ss), EINVAL);

	dec_file(&in, "ipv6");
	assert_int_equal(sdp_remote_rtp(&in, 0, &ss), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);

	dec(&in, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"
	    "m=audio 0 RTP/AVP 0\r\nc=IN IP4 192.0.2.1\r\n"
	    "m=audio 4000 RTP/AVP 0\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 pbx.example.com\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=IN IP4 224.2.1.1/127\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=ATM NSAP 47.0005\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=IN IP5 192.0.2.1\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=IN IP6 192.0.2.1\r\n"
	    "m=audio 4000 RTP/AVP 0\r\nc=in ip4 192.0.2.1\r\n");
	assert_int_equal(sdp_remote_rtp(&in, 0, &ss), ENOENT);
	assert_int_equal(sdp_remote_rtp(&in, 1, &ss), EDESTADDRREQ);
	assert_int_equal(sdp_remote_rtp(&in, 2, &ss), EINVAL);
	assert_int_equal(sdp_remote_rtp(&in, 3, &ss), EINVAL);
	assert_int_equal(sdp_remote_rtp(&in, 4, &ss), EAFNOSUPPORT);
	assert_int_equal(sdp_remote_rtp(&in, 5, &ss), EAFNOSUPPORT);
	assert_int_equal(sdp_remote_rtp(&in, 6, &ss), EINVAL);
	assert_int_equal(sdp_remote_rtp(&in, 7, &ss), 0);
	assert_int_equal(sdp_remote_rtp(&in, 8, &ss), EINVAL);
	assert_int_equal(sdp_remote_rtp(&in, 0, NULL), EINVAL);
}

static void test_first_codec(void **state)
{
	struct sdp_codec_choice c;

	(void)state;
	dec_file(&in, "asterisk");
	assert_int_equal(sdp_first_codec(&in, 0, &c), 0);
	assert_int_equal(c.codec, CFG_CODEC_PCMU);
	assert_int_equal(c.pt, 0);
	assert_int_equal(c.clock, 8000);
	assert_int_equal(c.te_pt, 101);

	/* telephone-event at the codec's clock rate is preferred */
	dec_file(&in, "linphone");
	assert_int_equal(sdp_first_codec(&in, 0, &c), 0);
	assert_int_equal(c.codec, CFG_CODEC_OPUS);
	assert_int_equal(c.pt, 96);
	assert_int_equal(c.clock, 48000);
	assert_int_equal(c.te_pt, 101);
	assert_int_equal(sdp_first_codec(&in, 1, &c), ENOTSUP);   /* VP8 */
	assert_int_equal(c.pt, 96);
	assert_int_equal(sdp_first_codec(&in, 2, &c), EINVAL);

	dec(&in, HEAD "m=audio 1 RTP/AVP 101 100 9 8\r\n"
	    "a=rtpmap:101 telephone-event/48000\r\n"
	    "a=rtpmap:100 telephone-event/8000\r\n");
	assert_int_equal(sdp_first_codec(&in, 0, &c), 0);
	assert_int_equal(c.codec, CFG_CODEC_G722);
	assert_int_equal(c.pt, 9);
	assert_int_equal(c.te_pt, 100);

	/* no telephone-event at this rate: take the one there is */
	dec(&in, HEAD "m=audio 1 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/48000\r\n");
	assert_int_equal(sdp_first_codec(&in, 0, &c), 0);
	assert_int_equal(c.te_pt, 101);
	dec(&in, HEAD "m=audio 1 RTP/AVP 3\r\n");
	assert_int_equal(sdp_first_codec(&in, 0, &c), 0);
	assert_int_equal(c.codec, CFG_CODEC_GSM);
	assert_int_equal(c.te_pt, -1);

	dec(&in, HEAD "m=audio 1 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n");
	assert_int_equal(sdp_first_codec(&in, 0, &c), ENOENT);
	dec(&in, HEAD "m=audio 0 RTP/AVP\r\nm=image 1 udptl t38\r\n");
	assert_int_equal(sdp_first_codec(&in, 0, &c), ENOENT);
	assert_int_equal(sdp_first_codec(&in, 1, &c), EINVAL);
	assert_int_equal(sdp_audio_index(&in), -1);
}

/*
 * A calls B through KubeVox: initial offer/answer, A puts B on hold, B
 * answers, A resumes.  Relay ports: 40000 towards A, 50000 towards B.
 */
static void test_b2bua_flow(void **state)
{
	static const uint16_t port_a[] = {40000, 40002};
	static const uint16_t port_b[] = {50000, 50002};
	struct sdp_origin_state leg_a, leg_b;

	(void)state;
	assert_int_equal(sdp_origin_init(&leg_a, "KubeVox", 111), 0);
	assert_int_equal(sdp_origin_init(&leg_b, "KubeVox", 222), 0);

	/* INVITE A -> KubeVox -> B */
	dec_file(&in, "linphone");
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), 0);
	assert_int_equal(sdp_set_media_addr(&out, "198.51.100.1", AF_INET, port_b), 0);
	assert_int_equal(sdp_origin_apply(&leg_b, &out), 0);
	assert_string_equal(enc(&out),
		"v=0\r\n"
		"o=KubeVox 222 222 IN IP4 198.51.100.1\r\n"
		"s=Talk\r\n"
		"c=IN IP4 198.51.100.1\r\n"
		"t=0 0\r\n"
		"a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics\r\n"
		"m=audio 50000 RTP/AVP 0 8 101 99 100\r\n"
		"a=rtpmap:101 telephone-event/48000\r\n"
		"a=rtpmap:99 telephone-event/16000\r\n"
		"a=rtpmap:100 telephone-event/8000\r\n"
		"a=rtcp-fb:* trr-int 1000\r\n"
		"a=rtcp-fb:* ccm tmmbr\r\n"
		"m=video 0 RTP/AVP 96 97\r\n");

	/* 200 OK from B -> KubeVox -> A */
	dec(&ans, "v=0\r\no=bob 9 9 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
	    "t=0 0\r\nm=audio 7000 RTP/AVP 8 100\r\na=rtpmap:100 telephone-event/8000\r\n"
	    "a=fmtp:100 0-15\r\nm=video 0 RTP/AVP 96\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	{
		struct sockaddr_storage ss;
		struct sdp_codec_choice c;

		assert_int_equal(sdp_remote_rtp(&ans, 0, &ss), 0);
		assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 7000);
		assert_int_equal(sdp_first_codec(&res, 0, &c), 0);
		assert_int_equal(c.codec, CFG_CODEC_PCMA);
		assert_int_equal(c.te_pt, 100);
	}
	assert_int_equal(sdp_set_media_addr(&res, "203.0.113.1", AF_INET, port_a), 0);
	assert_int_equal(sdp_origin_apply(&leg_a, &res), 0);
	assert_string_equal(enc(&res),
		"v=0\r\n"
		"o=KubeVox 111 111 IN IP4 203.0.113.1\r\n"
		"s=-\r\n"
		"c=IN IP4 203.0.113.1\r\n"
		"t=0 0\r\n"
		"m=audio 40000 RTP/AVP 8 100\r\n"
		"a=rtpmap:100 telephone-event/8000\r\n"
		"a=fmtp:100 0-15\r\n"
		"m=video 0 RTP/AVP 96\r\n");

	/* re-INVITE from A: hold */
	dec_file(&in, "linphone");
	in.dir = SDP_DIR_SENDONLY;
	assert_false(sdp_is_hold(&out, 0));
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), 0);
	assert_int_equal(sdp_set_media_addr(&out, "198.51.100.1", AF_INET, port_b), 0);
	assert_int_equal(sdp_origin_apply(&leg_b, &out), 0);
	assert_true(sdp_is_hold(&out, 0));
	assert_true(has(&out, "o=KubeVox 222 223 IN IP4"));
	assert_true(has(&out, "a=sendonly\r\n"));
	dec(&ans, "v=0\r\no=bob 9 10 IN IP4 192.0.2.20\r\ns=-\r\nc=IN IP4 192.0.2.20\r\n"
	    "t=0 0\r\nm=audio 7000 RTP/AVP 8 100\r\na=rtpmap:100 telephone-event/8000\r\n"
	    "a=fmtp:100 0-15\r\na=recvonly\r\nm=video 0 RTP/AVP 96\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	assert_int_equal(sdp_set_media_addr(&res, "203.0.113.1", AF_INET, port_a), 0);
	assert_int_equal(sdp_origin_apply(&leg_a, &res), 0);
	assert_true(has(&res, "o=KubeVox 111 112 IN IP4"));
	assert_int_equal(sdp_media_dir(&res, 0),
			 sdp_dir_answer(sdp_media_dir(&out, 0)));

	/* re-INVITE from A: resume */
	dec_file(&in, "linphone");
	assert_int_equal(sdp_offer_filter(&in, ulaw_alaw, N(ulaw_alaw), &out), 0);
	assert_int_equal(sdp_set_media_addr(&out, "198.51.100.1", AF_INET, port_b), 0);
	assert_int_equal(sdp_origin_apply(&leg_b, &out), 0);
	assert_true(has(&out, "o=KubeVox 222 224 IN IP4"));
	assert_false(sdp_is_hold(&out, 0));
	assert_false(has(&out, "sendonly"));
	/* a session refresh with the same body keeps the version */
	assert_int_equal(sdp_origin_apply(&leg_b, &out), 0);
	assert_true(has(&out, "o=KubeVox 222 224 IN IP4"));
}

/* Late offer: the offer a phone that made none would have made, and the
 * one-codec offer KubeVox then sends it. */
static void test_offer_local(void **state)
{
	(void)state;
	assert_int_equal(sdp_offer_local(ulaw_alaw, N(ulaw_alaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 9 RTP/AVP 0 8 101");
	assert_true(has(&out,
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-16\r\n"
		"a=ptime:20\r\n"
		"a=sendrecv\r\n"));
	/* the allow list's order; opus brings events at its clock */
	assert_int_equal(sdp_offer_local(opus_ulaw, N(opus_ulaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 9 RTP/AVP 107 0 101 102");
	assert_true(has(&out, "a=rtpmap:107 opus/48000/2\r\na=fmtp:107 useinbandfec=1\r\n"
			  "a=rtpmap:0 PCMU/8000\r\n"));
	assert_true(has(&out, "a=rtpmap:102 telephone-event/48000\r\n"));
	/* it reads back as what the filters take */
	dec(&in, enc(&out));
	assert_int_equal(sdp_offer_filter(&in, alaw, N(alaw), &ans), ENOENT);
	assert_int_equal(sdp_offer_filter(&in, ulaw, N(ulaw), &ans), 0);
	assert_string_equal(mline(&ans, 0), "m=audio 9 RTP/AVP 0 101 102");
	/* nothing to offer */
	assert_int_equal(sdp_offer_local(te_only, N(te_only), &out), ENOENT);
	assert_int_equal(sdp_offer_local(NULL, 0, &out), ENOENT);
	assert_int_equal(sdp_offer_local(ulaw, 1, NULL), EINVAL);
}

/* dtmf_mode=info: the events go, with their rtpmap and fmtp lines; a
 * stream of events only, and other media, stay as they are. */
static void test_drop_telephone_event(void **state)
{
	(void)state;
	dec(&in, HEAD
	    "m=audio 4000 RTP/AVP 0 101 8 102\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n"
	    "a=rtpmap:102 telephone-event/16000\r\n"
	    "a=fmtp:101 0-16\r\n"
	    "m=audio 4002 RTP/AVP 101\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n"
	    "m=video 0 RTP/AVP 96\r\n");
	sdp_drop_telephone_event(&in);
	assert_string_equal(mline(&in, 0), "m=audio 4000 RTP/AVP 0 8");
	assert_false(has(&in, "a=fmtp:101"));
	assert_false(has(&in, "16000"));
	assert_string_equal(mline(&in, 1), "m=audio 4002 RTP/AVP 101");
	assert_string_equal(mline(&in, 2), "m=video 0 RTP/AVP 96");
}

static void test_offer_narrow(void **state)
{
	static const enum cfg_codec heard_alaw[] = {CFG_CODEC_PCMA, CFG_CODEC_TELEPHONE_EVENT};
	static const enum cfg_codec heard_g722[] = {CFG_CODEC_G722};

	(void)state;
	dec(&in, HEAD
	    "m=audio 4000 RTP/AVP 0 8 101 102\r\n"
	    "a=rtpmap:101 telephone-event/8000\r\n"
	    "a=rtpmap:102 telephone-event/16000\r\n"
	    "a=fmtp:101 0-15\r\n"
	    "a=rtcp-fb:8 nack\r\n"
	    "a=recvonly\r\n"
	    "m=video 0 RTP/AVP 96\r\n");
	/* the first codec and the event at its clock; the rest as it was */
	assert_int_equal(sdp_offer_narrow(&in, NULL, 0, &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 4000 RTP/AVP 0 101");
	assert_true(has(&out, "a=fmtp:101 0-15\r\n"));
	assert_false(has(&out, "16000"));
	assert_false(has(&out, "rtcp-fb"));
	assert_true(has(&out, "a=recvonly\r\n"));
	assert_string_equal(mline(&out, 1), "m=video 0 RTP/AVP 96");
	/* the codec the phone named last wins over our order */
	assert_int_equal(sdp_offer_narrow(&in, heard_alaw, N(heard_alaw), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 4000 RTP/AVP 8 101");
	assert_true(has(&out, "a=rtcp-fb:8 nack\r\n"));
	/* a phone that named none of ours: our first */
	assert_int_equal(sdp_offer_narrow(&in, heard_g722, N(heard_g722), &out), 0);
	assert_string_equal(mline(&out, 0), "m=audio 4000 RTP/AVP 0 101");
	/* an answer to it with another codec does not fit */
	dec(&ans, HEAD "m=audio 5000 RTP/AVP 8\r\nm=video 0 RTP/AVP 96\r\n");
	assert_int_equal(sdp_offer_narrow(&in, NULL, 0, &out), 0);
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), EPROTO);
	dec(&ans, HEAD "m=audio 5000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
	    "m=video 0 RTP/AVP 96\r\n");
	assert_int_equal(sdp_answer_filter(&out, &ans, &res), 0);
	/* no audio codec at all */
	dec(&in, HEAD "m=audio 4000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n");
	assert_int_equal(sdp_offer_narrow(&in, NULL, 0, &out), ENOENT);
	assert_int_equal(sdp_offer_narrow(NULL, NULL, 0, &out), EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_static),
		cmocka_unit_test(test_offer_dynamic),
		cmocka_unit_test(test_offer_refused),
		cmocka_unit_test(test_offer_streams),
		cmocka_unit_test(test_offer_hold),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_answer_streams),
		cmocka_unit_test(test_set_media_addr),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_directions),
		cmocka_unit_test(test_remote_rtp),
		cmocka_unit_test(test_first_codec),
		cmocka_unit_test(test_b2bua_flow),
		cmocka_unit_test(test_offer_local),
		cmocka_unit_test(test_offer_narrow),
		cmocka_unit_test(test_drop_telephone_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
