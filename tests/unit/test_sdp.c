/*
 * test_sdp.c - unit tests of the SDP parser, printer and builder
 * (src/sdp/sdp.c): real-world descriptions from the fuzz seed corpus,
 * the printed form, round trips, every rejection, what is tolerated, the
 * builder's limits and the codec mapping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sdp/sdp.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif
#define CORPUS KV_SOURCE_DIR "/tests/fuzz/corpus/sdp/"

/* ~20 KiB each: keep them off the test stack */
static struct sdp_session s, s2;

static char *load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%s%s", CORPUS, name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void dec_file(struct sdp_session *ss, const char *name)
{
	const char *why = NULL;
	size_t len;
	char *buf = load(name, &len);
	int err = sdp_decode(ss, buf, len, &why);

	free(buf);
	if (err)
		fail_msg("%s: %d %s", name, err, why ? why : "(null)");
	assert_null(why);
}

static void dec_ok(const char *text)
{
	const char *why = NULL;
	int err = sdp_decode(&s, text, strlen(text), &why);

	if (err)
		fail_msg("expected OK, got %d \"%s\" for:\n%s", err,
			 why ? why : "(null)", text);
}

static void expect_bad(int code, const char *text, const char *reason)
{
	const char *why = NULL;
	int err = sdp_decode(&s, text, strlen(text), &why);

	if (err != code || !why || strcmp(why, reason))
		fail_msg("expected %d \"%s\", got %d \"%s\" for:\n%s", code,
			 reason, err, why ? why : "(null)", text);
}

static char *enc(const struct sdp_session *ss)
{
	static char out[SDP_MAX_LEN * 2];
	struct sbuf sb;

	sbuf_init(&sb);
	assert_int_equal(sdp_encode(&sb, ss), 0);
	assert_true(sb.len < sizeof(out));
	memcpy(out, sb.p, sb.len);
	out[sb.len] = '\0';
	sbuf_free(&sb);
	return out;
}

static const char *str(const struct sdp_session *ss, uint16_t off)
{
	return sdp_str(ss, off);
}

#define HEAD "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"

static void test_sipp(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_file(&s, "sipp-offer");
	assert_string_equal(s.origin.user, "user1");
	assert_string_equal(s.origin.id, "53655765");
	assert_string_equal(s.origin.version, "2353687637");
	assert_string_equal(s.origin.nettype, "IN");
	assert_string_equal(s.origin.addrtype, "IP4");
	assert_string_equal(s.origin.addr, "127.0.0.1");
	assert_string_equal(str(&s, s.name), "-");
	assert_true(s.conn.set);
	assert_string_equal(s.conn.addr, "127.0.0.1");
	assert_int_equal(s.dir, SDP_DIR_UNSET);
	assert_int_equal(s.media_n, 1);
	m = &s.media[0];
	assert_string_equal(m->type, "audio");
	assert_true(sdp_media_is_audio(m));
	assert_int_equal(m->port, 6000);
	assert_int_equal(m->nports, 0);
	assert_string_equal(m->proto, "RTP/AVP");
	assert_true(m->rtp);
	assert_int_equal(m->fmt_n, 1);
	assert_int_equal(m->fmt[0].pt, 0);
	assert_string_equal(str(&s, m->fmt[0].enc), "PCMU");
	assert_int_equal(m->fmt[0].clock, 8000);
	assert_int_equal(m->fmt[0].channels, 0);
	assert_int_equal(m->fmt[0].fmtp, 0);
	assert_false(m->conn.set);
	assert_false(m->rtcp_set);
	/* t= is the only verbatim line */
	assert_int_equal(s.line_n, 1);
	assert_int_equal(s.line[0].type, 't');
	assert_string_equal(str(&s, s.line[0].text), "0 0");
	assert_int_equal(m->line_n, 0);
	assert_string_equal(enc(&s),
		"v=0\r\n"
		"o=user1 53655765 2353687637 IN IP4 127.0.0.1\r\n"
		"s=-\r\n"
		"c=IN IP4 127.0.0.1\r\n"
		"t=0 0\r\n"
		"m=audio 6000 RTP/AVP 0\r\n"
		"a=rtpmap:0 PCMU/8000\r\n");
}

static void test_linphone(void **state)
{
	const struct sdp_line *l;
	const struct sdp_media *m;
	unsigned n;

	(void)state;
	dec_file(&s, "linphone");
	assert_string_equal(str(&s, s.name), "Talk");
	l = sdp_lines(&s, NULL, &n);
	assert_int_equal(n, 2);
	assert_int_equal(l[1].type, 'a');
	assert_string_equal(str(&s, l[1].text),
		"rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics");
	assert_int_equal(s.media_n, 2);

	m = &s.media[0];
	assert_int_equal(m->fmt_n, 8);
	assert_int_equal(m->fmt[0].pt, 96);
	assert_string_equal(str(&s, m->fmt[0].enc), "opus");
	assert_int_equal(m->fmt[0].clock, 48000);
	assert_int_equal(m->fmt[0].channels, 2);
	assert_string_equal(str(&s, m->fmt[0].fmtp), "useinbandfec=1");
	assert_string_equal(str(&s, m->fmt[1].enc), "speex");
	assert_int_equal(m->fmt[1].clock, 16000);
	assert_int_equal(m->fmt[3].pt, 0);
	assert_int_equal(m->fmt[3].enc, 0);   /* static, no rtpmap */
	assert_int_equal(m->fmt[5].pt, 101);
	assert_string_equal(str(&s, m->fmt[5].enc), "telephone-event");
	assert_int_equal(m->fmt[5].clock, 48000);
	l = sdp_lines(&s, m, &n);
	assert_int_equal(n, 2);
	assert_string_equal(str(&s, l[0].text), "rtcp-fb:* trr-int 1000");

	m = &s.media[1];
	assert_string_equal(m->type, "video");
	assert_false(sdp_media_is_audio(m));
	assert_int_equal(m->port, 9078);
	assert_int_equal(m->fmt_n, 2);
	assert_string_equal(str(&s, m->fmt[0].enc), "VP8");
	assert_int_equal(m->fmt[0].clock, 90000);
	assert_string_equal(str(&s, m->fmt[1].fmtp), "profile-level-id=42801F");
	l = sdp_lines(&s, m, &n);
	assert_int_equal(n, 6);
	assert_string_equal(str(&s, l[5].text), "rtcp-fb:97 ccm fir");
}

static void test_asterisk_polycom(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_file(&s, "asterisk");
	m = &s.media[0];
	assert_int_equal(m->fmt_n, 5);
	assert_int_equal(m->ptime, 20);
	assert_int_equal(m->maxptime, 150);
	assert_int_equal(m->dir, SDP_DIR_SENDRECV);
	assert_int_equal(s.dir, SDP_DIR_UNSET);
	assert_string_equal(str(&s, m->fmt[4].fmtp), "0-16");
	assert_int_equal(m->line_n, 0);
	assert_string_equal(enc(&s),
		"v=0\r\n"
		"o=- 1234567890 1234567890 IN IP4 10.0.0.5\r\n"
		"s=Asterisk\r\n"
		"c=IN IP4 10.0.0.5\r\n"
		"t=0 0\r\n"
		"m=audio 10000 RTP/AVP 0 8 3 9 101\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"a=rtpmap:8 PCMA/8000\r\n"
		"a=rtpmap:3 GSM/8000\r\n"
		"a=rtpmap:9 G722/8000\r\n"
		"a=rtpmap:101 telephone-event/8000\r\n"
		"a=fmtp:101 0-16\r\n"
		"a=ptime:20\r\n"
		"a=maxptime:150\r\n"
		"a=sendrecv\r\n");

	dec_file(&s, "polycom");
	m = &s.media[0];
	assert_int_equal(s.dir, SDP_DIR_SENDRECV);
	assert_int_equal(m->dir, SDP_DIR_UNSET);
	assert_true(m->rtcp_set);
	assert_int_equal(m->rtcp_port, 2227);
	assert_string_equal(str(&s, m->rtcp_addr), "IN IP4 192.168.0.120");
	assert_string_equal(str(&s, m->fmt[1].enc), "G7221");
	assert_string_equal(str(&s, m->fmt[1].fmtp), "bitrate=32000");
	assert_string_equal(str(&s, m->fmt[4].fmtp), "annexb=no");
	assert_non_null(strstr(enc(&s),
		"a=rtpmap:127 telephone-event/8000\r\n"
		"a=rtcp:2227 IN IP4 192.168.0.120\r\n"));
}

static void test_ipv6_and_media_conn(void **state)
{
	(void)state;
	dec_file(&s, "ipv6");     /* LF line ends */
	assert_string_equal(s.origin.addrtype, "IP6");
	assert_string_equal(s.conn.addrtype, "IP6");
	assert_string_equal(s.conn.addr, "2001:db8::2");
	assert_int_equal(s.media[0].fmt_n, 2);
	assert_string_equal(str(&s, s.media[0].fmt[1].fmtp), "0-15");

	dec_file(&s, "media-level-conn");
	assert_false(s.conn.set);
	assert_true(s.media[0].conn.set);
	assert_string_equal(s.media[0].conn.addr, "192.0.2.55");
	assert_string_equal(s.media[1].conn.addrtype, "IP6");
	assert_string_equal(s.media[1].conn.addr, "2001:db8::55");
	assert_string_equal(s.origin.id, "28908764872");
	assert_non_null(strstr(enc(&s),
		"m=audio 49170 RTP/AVP 0 8\r\n"
		"c=IN IP4 192.0.2.55\r\n"
		"a=rtpmap:0 PCMU/8000\r\n"
		"m=audio 49172 RTP/AVP 8\r\n"
		"c=IN IP6 2001:db8::55\r\n"));
}

static void test_all_line_types(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_file(&s, "rfc4566-multicast");
	assert_string_equal(s.conn.addr, "224.2.17.12/127");
	assert_int_equal(s.dir, SDP_DIR_RECVONLY);
	assert_int_equal(s.line_n, 8);   /* i u e b t r z k */
	m = &s.media[0];
	assert_int_equal(m->port, 49170);
	assert_int_equal(m->nports, 2);
	assert_int_equal(m->line_n, 2);
	assert_int_equal(s.line[m->line_first].type, 'i');
	assert_string_equal(str(&s, s.line[m->line_first + 1].text), "AS:64");
	assert_string_equal(enc(&s),
		"v=0\r\n"
		"o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
		"s=SDP Seminar\r\n"
		"i=A Seminar on the session description protocol\r\n"
		"u=http://www.example.com/seminars/sdp.pdf\r\n"
		"e=j.doe@example.com (Jane Doe)\r\n"
		"c=IN IP4 224.2.17.12/127\r\n"
		"b=AS:256\r\n"
		"t=2873397496 2873404696\r\n"
		"r=7d 1h 0 25h\r\n"
		"z=2882844526 -1h 2898848070 0\r\n"
		"k=prompt\r\n"
		"a=recvonly\r\n"
		"m=audio 49170/2 RTP/AVP 0\r\n"
		"i=main audio\r\n"
		"b=AS:64\r\n"
		"m=video 51372 RTP/AVP 99\r\n"
		"a=rtpmap:99 h263-1998/90000\r\n");

	dec_file(&s, "rfc8866-example");
	assert_int_equal(s.media_n, 3);
	assert_string_equal(str(&s, s.line[0].text), "SDP Offer #1");
	assert_int_equal(s.line[3].type, 'p');
	assert_string_equal(s.media[2].conn.addr, "2001:db8::2");
}

static void test_non_rtp(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_file(&s, "t38-reinvite");
	assert_int_equal(s.media_n, 2);
	assert_int_equal(s.media[0].port, 0);
	m = &s.media[1];
	assert_false(m->rtp);
	assert_string_equal(m->proto, "udptl");
	assert_int_equal(m->fmt_n, 0);
	assert_string_equal(str(&s, m->fmt_raw), "t38");
	assert_int_equal(m->line_n, 6);
	assert_int_equal(sdp_fmt_codec(&s, m, 0), CFG_CODEC_COUNT);
	assert_non_null(strstr(enc(&s),
		"m=image 40000 udptl t38\r\n"
		"a=T38FaxVersion:0\r\n"));

	dec_file(&s, "msrp");
	assert_string_equal(str(&s, s.name), " ");
	m = &s.media[0];
	assert_false(m->rtp);
	assert_string_equal(str(&s, m->fmt_raw), "*");
	assert_int_equal(m->line_n, 2);
	assert_non_null(strstr(enc(&s), "s= \r\n"));

	/* rtpmap and fmtp of a non-RTP stream are opaque */
	dec_ok("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n"
	       "m=application 5000 TCP/BFCP *\r\na=rtpmap:x\r\na=fmtp:y z\r\n");
	assert_int_equal(s.media[0].line_n, 2);
	assert_string_equal(str(&s, s.line[s.media[0].line_first].text), "rtpmap:x");

	/* the proto decides: TCP/RTP/AVP and UDP/TLS/RTP/SAVPF are RTP */
	dec_ok(HEAD "m=audio 1 TCP/RTP/AVP 0\r\nm=audio 2 UDP/TLS/RTP/SAVPF 8\r\n"
	       "m=audio 3 XRTP/AVP 0\r\n");
	assert_true(s.media[0].rtp);
	assert_true(s.media[1].rtp);
	assert_false(s.media[2].rtp);
}

/* Every valid seed decodes, encodes, decodes again and encodes the same. */
static void test_round_trip(void **state)
{
	static const char *names[] = {
		"sipp-offer", "sipp-answer", "linphone", "asterisk", "polycom",
		"ipv6", "rfc3264-audio-video", "rfc8866-example",
		"rfc4566-multicast", "hold-sendonly", "hold-rfc2543", "inactive",
		"t38-reinvite", "srtp-sdes", "webrtc-like",
		"rejected-video-answer", "baresip", "yealink",
		"freeswitch-answer", "media-level-conn", "msrp", "opus-only",
		"avpf-recvonly", "unknown-lines",
	};
	char first[SDP_MAX_LEN * 2];
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		dec_file(&s, names[i]);
		snprintf(first, sizeof(first), "%s", enc(&s));
		why = "x";
		assert_int_equal(sdp_decode(&s2, first, strlen(first), &why), 0);
		assert_null(why);
		assert_int_equal(s2.media_n, s.media_n);
		assert_int_equal(s2.lines_used, s.lines_used);
		for (unsigned j = 0; j < s.media_n; j++) {
			assert_int_equal(s2.media[j].fmt_n, s.media[j].fmt_n);
			assert_int_equal(s2.media[j].port, s.media[j].port);
			assert_int_equal(s2.media[j].dir, s.media[j].dir);
		}
		if (strcmp(first, enc(&s2)))
			fail_msg("%s: round trip differs", names[i]);
	}
}

static void test_copy_by_assignment(void **state)
{
	(void)state;
	dec_file(&s, "linphone");
	s2 = s;
	memset(&s, 0xa5, sizeof(s));
	assert_string_equal(str(&s2, s2.media[0].fmt[0].enc), "opus");
	assert_string_equal(str(&s2, s2.name), "Talk");
}

static void test_tolerated(void **state)
{
	(void)state;
	/* LF only, no t=, blank lines, no final line end */
	dec_ok("v=0\no=- 1 1 IN IP4 192.0.2.1\n\ns=x\n\nm=audio 4000 RTP/AVP 0");
	assert_int_equal(s.media[0].fmt[0].pt, 0);
	assert_int_equal(s.line_n, 1);
	assert_int_equal(s.line[0].type, 't');
	assert_string_equal(str(&s, s.line[0].text), "0 0");
	assert_string_equal(enc(&s),
		"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=x\r\nt=0 0\r\n"
		"m=audio 4000 RTP/AVP 0\r\n");

	/* unknown types dropped; rtpmap/fmtp of absent PT dropped */
	dec_file(&s, "unknown-lines");
	assert_int_equal(s.line_n, 1);
	assert_int_equal(s.media[0].line_n, 0);
	assert_int_equal(s.media[0].fmt[0].enc, 0);
	dec_ok(HEAD "m=audio 4000 RTP/AVP 0\r\na=fmtp:8 x=1\r\n");
	assert_int_equal(s.media[0].fmt[0].fmtp, 0);

	/* runs of spaces, trailing blanks, leading zeros, case of names */
	dec_ok("v=0\r\no=-  1 1 IN IP4 192.0.2.1 \r\ns=-\r\n"
	       "c=IN  IP4 192.0.2.1\r\n"
	       "m=audio  04000  RTP/AVP  0  008 \r\n"
	       "a=rtpmap:008 PCMA/8000 \r\n"
	       "a=fmtp:8   x=1;y=2  \r\n"
	       "a=SendOnly\r\n");
	assert_int_equal(s.media[0].port, 4000);
	assert_int_equal(s.media[0].fmt[1].pt, 8);
	assert_string_equal(str(&s, s.media[0].fmt[1].enc), "PCMA");
	assert_string_equal(str(&s, s.media[0].fmt[1].fmtp), "x=1;y=2");
	assert_int_equal(s.media[0].dir, SDP_DIR_SENDONLY);

	/* fmtp without parameters is no fmtp */
	dec_ok(HEAD "m=audio 4000 RTP/AVP 101\r\na=fmtp:101 \r\n");
	assert_int_equal(s.media[0].fmt[0].fmtp, 0);

	/* ptime we cannot read passes through as it was */
	dec_ok(HEAD "m=audio 4000 RTP/AVP 0\r\na=ptime:20.5\r\na=maxptime:0\r\n");
	assert_int_equal(s.media[0].ptime, 0);
	assert_int_equal(s.media[0].maxptime, 0);
	assert_int_equal(s.media[0].line_n, 2);
	assert_non_null(strstr(enc(&s), "a=ptime:20.5\r\na=maxptime:0\r\n"));

	/* a rejected stream may list no format; the last direction wins */
	dec_ok(HEAD "a=inactive\r\na=sendonly\r\nm=video 0 RTP/AVP\r\n"
	       "m=image 0 udptl\r\n");
	assert_int_equal(s.dir, SDP_DIR_SENDONLY);
	assert_int_equal(s.media[0].fmt_n, 0);
	assert_non_null(strstr(enc(&s), "m=video 0 RTP/AVP\r\nm=image 0 udptl\r\n"));

	/* session-level attributes with a value, and media ones, verbatim */
	dec_ok(HEAD "a=sendonly:x\r\na=tool:y z\r\nm=audio 1 RTP/AVP 0\r\n"
	       "a=rtcp:9\r\na=sendrecv:\r\n");
	assert_int_equal(s.dir, SDP_DIR_UNSET);
	assert_int_equal(s.line_n, 3);
	assert_true(s.media[0].rtcp_set);
	assert_int_equal(s.media[0].rtcp_addr, 0);
	assert_int_equal(s.media[0].dir, SDP_DIR_UNSET);
	assert_non_null(strstr(enc(&s), "a=rtcp:9\r\na=sendrecv:\r\n"));

	/* decoding replaces what the session held */
	dec_file(&s, "linphone");
	dec_file(&s, "sipp-offer");
	assert_int_equal(s.media_n, 1);
	assert_int_equal(s.lines_used, 1);

	/* why is optional */
	assert_int_equal(sdp_decode(&s, "v=1", 3, NULL), EBADMSG);
	assert_int_equal(sdp_decode(&s, HEAD, strlen(HEAD), NULL), 0);
}

static void test_errors(void **state)
{
	char big[SDP_MAX_LEN + 2];
	char buf[4096];
	size_t n;

	(void)state;
	expect_bad(EBADMSG, "", "empty SDP");
	assert_int_equal(sdp_decode(&s, NULL, 5, NULL), EBADMSG);
	memset(big, 'a', sizeof(big));
	assert_int_equal(sdp_decode(&s, big, sizeof(big), NULL), EMSGSIZE);
	assert_int_equal(sdp_decode(&s, "v=0\r\n\0", 6, NULL), EBADMSG);
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\rs=-\r\n", "stray CR");
	expect_bad(EBADMSG, "v=0\r\nhello\r\n", "malformed line");
	expect_bad(EBADMSG, "v=0\r\nO=x\r\n", "malformed line");
	expect_bad(EBADMSG, "v=0\r\no =x\r\n", "malformed line");
	expect_bad(EBADMSG, "v=0\r\no\r\n", "malformed line");
	expect_bad(EBADMSG, "o=- 1 1 IN IP4 h\r\nv=0\r\n", "first line is not v=");
	expect_bad(EBADMSG, "\r\n\r\n", "first line is not v=");
	expect_bad(EBADMSG, "v=1\r\n", "unsupported SDP version");
	expect_bad(EBADMSG, "v=0\r\nv=0\r\n", "duplicate v= line");
	expect_bad(EBADMSG, "v=0\r\ns=-\r\n", "missing o= line");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\r\n", "missing s= line");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\r\no=- 1 1 IN IP4 h\r\n",
		   "duplicate o= line");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4\r\n", "bad o= line");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h x\r\n", "bad o= line");
	snprintf(buf, sizeof(buf), "v=0\r\no=%070d 1 1 IN IP4 h\r\n", 0);
	expect_bad(EMSGSIZE, buf, "bad o= username");
	expect_bad(EMSGSIZE, "v=0\r\no=- 1 1 INTERNET IP4 h\r\n", "bad o= nettype");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\x01\r\n", "bad o= address");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 a\tb\r\n",
		   "bad c= address");
	expect_bad(EBADMSG, HEAD "m=au\x7f" "dio 1 RTP/AVP 0\r\n", "bad m= media type");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\ns=-\r\n",
		   "duplicate s= line");
	expect_bad(EBADMSG, "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 1 RTP/AVP 0\r\n",
		   "m= line before o= and s=");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\no=- 1 1 IN IP4 h\r\n",
		   "o= line in a media section");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\ns=-\r\n",
		   "s= line in a media section");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\nt=0 0\r\n",
		   "session line in a media section");

	expect_bad(EBADMSG, HEAD "c=IN IP4 h\r\n", "duplicate c= line");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n",
		   "duplicate c= line");
	expect_bad(EBADMSG, "v=0\r\nc=IN IP4\r\n", "bad c= line");
	expect_bad(EBADMSG, "v=0\r\nc=IN IP4 a b\r\n", "bad c= line");
	n = (size_t)snprintf(buf, sizeof(buf), "v=0\r\nc=IN IP4 ");
	memset(buf + n, 'h', SDP_ADDR_MAX);
	buf[n + SDP_ADDR_MAX] = '\0';
	expect_bad(EMSGSIZE, buf, "bad c= address");

	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP\r\n", "m= line without formats");
	expect_bad(EBADMSG, HEAD "m=image 1 udptl\r\n", "m= line without formats");
	expect_bad(EBADMSG, HEAD "m=audio 1\r\n", "bad m= line");
	expect_bad(EBADMSG, HEAD "m=audio 70000 RTP/AVP 0\r\n", "bad m= port");
	expect_bad(EBADMSG, HEAD "m=audio -1 RTP/AVP 0\r\n", "bad m= port");
	expect_bad(EBADMSG, HEAD "m=audio x RTP/AVP 0\r\n", "bad m= port");
	expect_bad(EBADMSG, HEAD "m=audio /2 RTP/AVP 0\r\n", "bad m= port");
	expect_bad(EBADMSG, HEAD "m=audio 1/0 RTP/AVP 0\r\n", "bad m= port count");
	expect_bad(EBADMSG, HEAD "m=audio 1/ RTP/AVP 0\r\n", "bad m= port count");
	expect_bad(EMSGSIZE, HEAD "m=audiovideotextapp 1 RTP/AVP 0\r\n",
		   "bad m= media type");
	expect_bad(EMSGSIZE, HEAD "m=audio 1 RTP/AVP/AVP/AVP/AVP/AVP/AVP/AVP/AVP 0\r\n",
		   "bad m= protocol");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0 128\r\n", "bad payload type");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0 x\r\n", "bad payload type");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0 8 0\r\n",
		   "duplicate payload type");
	n = (size_t)snprintf(buf, sizeof(buf), HEAD "m=audio 1 RTP/AVP");
	for (int i = 0; i <= SDP_MAX_FMT; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %d", 90 + i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	expect_bad(EMSGSIZE, buf, "too many formats");
	n = (size_t)snprintf(buf, sizeof(buf), HEAD);
	for (int i = 0; i <= SDP_MAX_MEDIA; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "m=audio 0 RTP/AVP 0\r\n");
	expect_bad(EMSGSIZE, buf, "too many m= lines");

	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:x PCMU/8000\r\n",
		   "bad rtpmap payload type");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:200 PCMU/8000\r\n",
		   "bad rtpmap payload type");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU/\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU/0\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 /8000\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 P U/8000\r\n",
		   "bad rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000/0\r\n",
		   "bad rtpmap channels");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000/256\r\n",
		   "bad rtpmap channels");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 96\r\na=rtpmap:96 opus/48000/2/1\r\n",
		   "bad rtpmap channels");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
		   "a=rtpmap:0 PCMU/8000\r\n", "duplicate rtpmap");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=fmtp:x y\r\n",
		   "bad fmtp payload type");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=fmtp:0 a\r\na=fmtp:0 b\r\n",
		   "duplicate fmtp");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtcp:70000\r\n",
		   "bad rtcp port");
	expect_bad(EBADMSG, HEAD "m=audio 1 RTP/AVP 0\r\na=rtcp:\r\n",
		   "bad rtcp port");
	expect_bad(EBADMSG, HEAD "a=\r\n", "bad attribute name");
	expect_bad(EBADMSG, HEAD "a=:x\r\n", "bad attribute name");
	expect_bad(EBADMSG, HEAD "a=foo bar\r\n", "bad attribute name");

	n = (size_t)snprintf(buf, sizeof(buf), HEAD);
	for (int i = 0; i < SDP_MAX_LINES; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a=x\r\n");
	expect_bad(EMSGSIZE, buf, "too many lines");
	assert_true(n < SDP_MAX_LEN);

	/* the t=0 0 that stands for a missing t= counts: printing adds it,
	 * and what was printed must decode again (found by the fuzzer) */
	n = (size_t)snprintf(buf, sizeof(buf), "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\n");
	for (int i = 0; i < SDP_MAX_LINES - 1; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "a=x\r\n");
	dec_ok(buf);
	assert_int_equal(s.lines_used, SDP_MAX_LINES);
	assert_int_equal(sdp_decode(&s2, enc(&s), strlen(enc(&s)), NULL), 0);
	snprintf(buf + n, sizeof(buf) - n, "m=audio 0 RTP/AVP 0\r\n");
	dec_ok(buf);
	snprintf(buf + n, sizeof(buf) - n, "a=x\r\nm=audio 0 RTP/AVP 0\r\n");
	expect_bad(EMSGSIZE, buf, "too many lines");
	snprintf(buf + n, sizeof(buf) - n, "a=x\r\n");
	expect_bad(EMSGSIZE, buf, "too many lines");
}

static void test_max_size(void **state)
{
	char *buf = malloc(SDP_MAX_LEN + 1);
	size_t n;

	(void)state;
	assert_non_null(buf);
	/* exactly SDP_MAX_LEN bytes, most of them in one attribute */
	n = (size_t)snprintf(buf, SDP_MAX_LEN, HEAD "a=x:");
	memset(buf + n, 'y', SDP_MAX_LEN - n - 2);
	buf[SDP_MAX_LEN - 2] = '\r';
	buf[SDP_MAX_LEN - 1] = '\n';
	assert_int_equal(sdp_decode(&s, buf, SDP_MAX_LEN, NULL), 0);
	assert_int_equal(strlen(str(&s, s.line[1].text)), SDP_MAX_LEN - n - 2 + 2);
	buf[SDP_MAX_LEN] = '\n';
	assert_int_equal(sdp_decode(&s, buf, SDP_MAX_LEN + 1, NULL), EMSGSIZE);
	free(buf);

	/* at the limit with LF line ends: printed with CRLF it outgrows the
	 * limit, and is refused for that reason only */
	dec_file(&s, "near-limit-lf");
	assert_int_equal(s.media[0].line_n, 246);
	assert_true(strlen(enc(&s)) > SDP_MAX_LEN);
	assert_int_equal(sdp_decode(&s2, enc(&s), strlen(enc(&s)), NULL), EMSGSIZE);
}

static void test_builder(void **state)
{
	char longname[80];
	struct sdp_media *m;
	struct sbuf sb;
	char text[200];
	int err = 0;

	(void)state;
	sdp_session_init(&s);
	sbuf_init(&sb);
	assert_int_equal(sdp_encode(&sb, &s), EINVAL);   /* no origin */
	assert_int_equal(sdp_origin_set(&s, "a b", "1", "1", "IP4", "h"), EINVAL);
	assert_int_equal(sdp_origin_set(&s, NULL, "1", "1", "IP4", "h"), EINVAL);
	memset(longname, 'u', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(sdp_origin_set(&s, longname, "1", "1", "IP4", "h"),
			 EMSGSIZE);
	assert_int_equal(s.origin.user[0], '\0');   /* untouched on error */
	assert_int_equal(sdp_origin_set(&s, "kv", "7", "8", "IP4", "192.0.2.9"), 0);
	assert_int_equal(sdp_name_set(&s, "a\r\nb"), EINVAL);
	assert_int_equal(sdp_name_set(&s, "A call"), 0);
	assert_int_equal(sdp_conn_set(&s.conn, "IP4", ""), EINVAL);
	assert_int_equal(sdp_conn_set(&s.conn, "IP4", "192.0.2.9"), 0);
	assert_int_equal(sdp_line_add(&s, 'x', "y"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'c', "IN IP4 h"), EINVAL);
	assert_int_equal(sdp_line_add(&s, '\0', "y"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'a', ""), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'a', ":v"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'a', "n v"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'a', "x\r\ny"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'a', NULL), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'b', "AS:64"), 0);
	assert_int_equal(sdp_line_add(&s, 'a', "tool:KubeVox 1"), 0);
	assert_int_equal(sdp_fmt_add(&s, 0, NULL, 0, 0, NULL), EINVAL);  /* no media */
	assert_int_equal(sdp_rtcp_set(&s, 1, NULL), EINVAL);
	assert_int_equal(sdp_fmt_raw_set(&s, "x"), EINVAL);

	assert_int_equal(sdp_media_add(&s, "aud io", 1, "RTP/AVP", NULL), EINVAL);
	assert_int_equal(sdp_media_add(&s, "audio", 4000, "RTP/AVP", &m), 0);
	assert_int_equal(sdp_encode(&sb, &s), EINVAL);   /* active, no format */
	assert_int_equal(sdp_fmt_raw_set(&s, "x"), EINVAL);
	assert_int_equal(sdp_line_add(&s, 'u', "x"), EINVAL);  /* not in media */
	assert_int_equal(sdp_fmt_add(&s, 128, NULL, 0, 0, NULL), EINVAL);
	assert_int_equal(sdp_fmt_add(&s, 96, "op/us", 48000, 2, NULL), EINVAL);
	assert_int_equal(sdp_fmt_add(&s, 96, "opus", 0, 2, NULL), EINVAL);
	assert_int_equal(sdp_fmt_add(&s, 96, "opus", 48000, 2, "a\nb"), EINVAL);
	assert_int_equal(sdp_fmt_add(&s, 96, "opus", 48000, 2, " useinbandfec=1 "), 0);
	assert_int_equal(sdp_fmt_add(&s, 96, NULL, 0, 0, NULL), EINVAL);  /* dup */
	assert_int_equal(sdp_fmt_add(&s, 0, NULL, 0, 0, "  "), 0);
	assert_int_equal(m->fmt[1].fmtp, 0);
	assert_int_equal(sdp_rtcp_set(&s, 4001, " IN IP4 h"), EINVAL);
	assert_int_equal(sdp_rtcp_set(&s, 4001, "IN IP4 192.0.2.9"), 0);
	m->ptime = 30;
	m->dir = SDP_DIR_INACTIVE;
	assert_int_equal(sdp_line_add(&s, 'a', "label:1"), 0);
	assert_int_equal(sdp_media_add(&s, "image", 0, "udptl", NULL), 0);
	assert_int_equal(sdp_fmt_add(&s, 0, NULL, 0, 0, NULL), EINVAL);  /* not RTP */
	assert_int_equal(sdp_fmt_raw_set(&s, " t38"), EINVAL);
	assert_int_equal(sdp_fmt_raw_set(&s, "t38"), 0);
	assert_int_equal(sdp_encode(&sb, &s), 0);
	assert_string_equal(sbuf_cstr(&sb),
		"v=0\r\n"
		"o=kv 7 8 IN IP4 192.0.2.9\r\n"
		"s=A call\r\n"
		"c=IN IP4 192.0.2.9\r\n"
		"b=AS:64\r\n"
		"t=0 0\r\n"
		"a=tool:KubeVox 1\r\n"
		"m=audio 4000 RTP/AVP 96 0\r\n"
		"a=rtpmap:96 opus/48000/2\r\n"
		"a=fmtp:96 useinbandfec=1\r\n"
		"a=rtcp:4001 IN IP4 192.0.2.9\r\n"
		"a=ptime:30\r\n"
		"a=inactive\r\n"
		"a=label:1\r\n"
		"m=image 0 udptl t38\r\n");
	assert_int_equal(sdp_decode(&s2, sb.p, sb.len, NULL), 0);

	/* fields are public: the printer refuses what would not decode */
	s.media[0].dir = (enum sdp_dir)9;
	sbuf_reset(&sb);
	assert_int_equal(sdp_encode(&sb, &s), EINVAL);
	s.media[0].dir = SDP_DIR_UNSET;
	s.conn.addr[0] = '\0';
	assert_int_equal(sdp_encode(&sb, &s), EINVAL);
	assert_int_equal(sdp_name_set(&s, ""), 0);
	assert_int_equal(s.name, 0);

	/* limits: media count, format count, line count, pool */
	sdp_session_init(&s);
	for (int i = 0; i < SDP_MAX_MEDIA; i++)
		assert_int_equal(sdp_media_add(&s, "audio", 0, "RTP/AVP", NULL), 0);
	assert_int_equal(sdp_media_add(&s, "audio", 0, "RTP/AVP", NULL), EMSGSIZE);
	for (int i = 0; i < SDP_MAX_FMT; i++)
		assert_int_equal(sdp_fmt_add(&s, (uint8_t)i, NULL, 0, 0, NULL), 0);
	assert_int_equal(sdp_fmt_add(&s, 100, NULL, 0, 0, NULL), EMSGSIZE);
	for (int i = 0; i < SDP_MAX_LINES; i++)
		assert_int_equal(sdp_line_add(&s, 'a', "x"), 0);
	assert_int_equal(sdp_line_add(&s, 'a', "x"), EMSGSIZE);
	sdp_session_init(&s);
	memset(text, 'p', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	text[0] = 'a';
	for (int i = 0; i < SDP_MAX_LINES && !err; i++)
		err = sdp_line_add(&s, 'i', text);
	assert_int_equal(err, EMSGSIZE);
	assert_true(s.pool_len <= sizeof(s.pool));
	sbuf_free(&sb);
}

static void test_codec_mapping(void **state)
{
	const struct sdp_media *m;

	(void)state;
	dec_ok(HEAD "m=audio 1 RTP/AVP 0 8 9 3 4 96 97 98 99 100 101 102 103 18 104\r\n"
	       "a=rtpmap:96 opus/48000/2\r\n"
	       "a=rtpmap:97 OPUS/48000\r\n"
	       "a=rtpmap:98 telephone-event/8000\r\n"
	       "a=rtpmap:99 Telephone-Event/48000\r\n"
	       "a=rtpmap:100 pcmu/8000\r\n"
	       "a=rtpmap:101 PCMU/16000\r\n"
	       "a=rtpmap:102 iLBC/8000\r\n"
	       "a=rtpmap:103 g722/8000\r\n"
	       "a=rtpmap:18 PCMA/8000\r\n");
	m = &s.media[0];
	assert_int_equal(sdp_fmt_codec(&s, m, 0), CFG_CODEC_PCMU);
	assert_int_equal(sdp_fmt_codec(&s, m, 1), CFG_CODEC_PCMA);
	assert_int_equal(sdp_fmt_codec(&s, m, 2), CFG_CODEC_G722);
	assert_int_equal(sdp_fmt_codec(&s, m, 3), CFG_CODEC_GSM);
	assert_int_equal(sdp_fmt_codec(&s, m, 4), CFG_CODEC_COUNT);  /* DVI4 */
	assert_int_equal(sdp_fmt_codec(&s, m, 5), CFG_CODEC_OPUS);
	assert_int_equal(sdp_fmt_codec(&s, m, 6), CFG_CODEC_OPUS);
	assert_int_equal(sdp_fmt_codec(&s, m, 7), CFG_CODEC_TELEPHONE_EVENT);
	assert_int_equal(sdp_fmt_codec(&s, m, 8), CFG_CODEC_TELEPHONE_EVENT);
	assert_int_equal(sdp_fmt_codec(&s, m, 9), CFG_CODEC_PCMU);
	assert_int_equal(sdp_fmt_codec(&s, m, 10), CFG_CODEC_COUNT);  /* 16 kHz */
	assert_int_equal(sdp_fmt_codec(&s, m, 11), CFG_CODEC_COUNT);  /* iLBC */
	assert_int_equal(sdp_fmt_codec(&s, m, 12), CFG_CODEC_G722);
	assert_int_equal(sdp_fmt_codec(&s, m, 13), CFG_CODEC_PCMA);   /* rtpmap wins */
	assert_int_equal(sdp_fmt_codec(&s, m, 14), CFG_CODEC_COUNT);  /* no rtpmap */
	assert_int_equal(sdp_fmt_codec(&s, m, 15), CFG_CODEC_COUNT);
	assert_int_equal(sdp_fmt_codec(&s, m, 1000), CFG_CODEC_COUNT);

	assert_string_equal(sdp_dir_name(SDP_DIR_SENDRECV), "sendrecv");
	assert_string_equal(sdp_dir_name(SDP_DIR_SENDONLY), "sendonly");
	assert_string_equal(sdp_dir_name(SDP_DIR_RECVONLY), "recvonly");
	assert_string_equal(sdp_dir_name(SDP_DIR_INACTIVE), "inactive");
	assert_string_equal(sdp_dir_name(SDP_DIR_UNSET), "");
	dec_ok(HEAD "m=AUDIO 1 RTP/AVP 0\r\n");
	assert_true(sdp_media_is_audio(&s.media[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sipp),
		cmocka_unit_test(test_linphone),
		cmocka_unit_test(test_asterisk_polycom),
		cmocka_unit_test(test_ipv6_and_media_conn),
		cmocka_unit_test(test_all_line_types),
		cmocka_unit_test(test_non_rtp),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_copy_by_assignment),
		cmocka_unit_test(test_tolerated),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_max_size),
		cmocka_unit_test(test_builder),
		cmocka_unit_test(test_codec_mapping),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
