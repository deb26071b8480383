/*
 * parse_bench.c - micro-benchmark of sip_msg_decode() (not a test).
 *
 * Built by `make build` (bench/CMakeLists.txt), optimised and without
 * sanitizers:
 *   make build && build/bench/parse_bench
 * Prints nanoseconds per decode for a REGISTER, an INVITE with SDP and
 * the REGISTER's 200 response printed with sip_print_response().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/msg.h"
#include "sip/print.h"
#include "util/hash.h"

static const char reg[] =
	"REGISTER sip:pbx.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
	"Max-Forwards: 70\r\n"
	"To: \"Alice\" <sip:1001@pbx.example.com>\r\n"
	"From: \"Alice\" <sip:1001@pbx.example.com>;tag=456248\r\n"
	"Call-ID: 843817637684230@998sdasdh09\r\n"
	"CSeq: 1826 REGISTER\r\n"
	"Contact: <sip:1001@192.0.2.10:5060;transport=udp>;expires=3600\r\n"
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, NOTIFY, REFER\r\n"
	"Supported: path, outbound, gruu\r\n"
	"User-Agent: Example Phone 1.0\r\n"
	"Expires: 3600\r\n"
	"Content-Length: 0\r\n"
	"\r\n";

static const char inv[] =
	"INVITE sip:1002@pbx.example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9;rport\r\n"
	"Max-Forwards: 70\r\n"
	"Route: <sip:pbx.example.com;lr>\r\n"
	"From: \"Alice\" <sip:1001@pbx.example.com>;tag=9fxced76sl\r\n"
	"To: <sip:1002@pbx.example.com>\r\n"
	"Call-ID: 3848276298220188511@192.0.2.10\r\n"
	"CSeq: 1 INVITE\r\n"
	"Contact: <sip:1001@192.0.2.10:5060>\r\n"
	"Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE\r\n"
	"Supported: timer, replaces, 100rel\r\n"
	"Session-Expires: 1800;refresher=uac\r\n"
	"Min-SE: 90\r\n"
	"Content-Type: application/sdp\r\n"
	"Content-Length: 226\r\n"
	"\r\n"
	"v=0\r\n"
	"o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n"
	"s=-\r\n"
	"c=IN IP4 192.0.2.10\r\n"
	"t=0 0\r\n"
	"m=audio 49170 RTP/AVP 0 8 101\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:101 telephone-event/8000\r\n"
	"a=fmtp:101 0-16\r\n"
	"a=sendrecv\r\n";

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double bench_decode(const char *name, const char *s, long iters)
{
	static struct sip_msg msg;
	size_t len = strlen(s);
	const char *why;
	double t0, t1;

	if (sip_msg_decode(&msg, s, len, false, &why) != SIP_DECODE_OK) {
		fprintf(stderr, "%s does not decode: %s\n", name, why);
		exit(1);
	}
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		if (sip_msg_decode(&msg, s, len, false, &why) != SIP_DECODE_OK)
			exit(1);
		/* keep the compiler from hoisting the call */
		__asm__ volatile("" : : "r"(&msg) : "memory");
	}
	t1 = now_ns();
	printf("%-22s %5zu bytes %8.1f ns/msg\n", name, len, (t1 - t0) / (double)iters);
	return (t1 - t0) / (double)iters;
}

static void bench_print(long iters)
{
	static struct sip_msg msg;
	struct hash_key key;
	struct sbuf sb;
	const char *why;
	char tag[17];
	double t0, t1;

	/* The server keys its To tags with the cluster secret: any key
	 * costs the same. */
	hash_key_from(&key, "parse_bench", 11);
	sip_msg_decode(&msg, reg, strlen(reg), false, &why);
	sbuf_init(&sb);
	t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		sbuf_reset(&sb);
		sip_totag(&key, &msg, tag, sizeof(tag));
		sip_print_response(&sb, &msg, 200, NULL, tag,
				   "Contact: <sip:1001@192.0.2.10:5060>;expires=3600\r\n",
				   NULL, NULL);
		__asm__ volatile("" : : "r"(sb.p) : "memory");
	}
	t1 = now_ns();
	printf("%-22s %5zu bytes %8.1f ns/msg\n", "print 200 (REGISTER)", sb.len,
	       (t1 - t0) / (double)iters);
	sbuf_free(&sb);
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? atol(argv[1]) : 2000000;

	if (iters <= 0)
		iters = 2000000;
	bench_decode("REGISTER", reg, iters);
	bench_decode("INVITE+SDP", inv, iters);
	bench_print(iters);
	return 0;
}
