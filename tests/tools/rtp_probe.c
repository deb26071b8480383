/*
 * rtp_probe.c - RTP sender, receiver, checker and echo for protocol tests.
 *
 * Plays a fake phone's media side: sends a numbered RTP stream, receives
 * one and checks it, or echoes whatever arrives.  Every packet it sends
 * carries "KVRP", a 32-bit index and a filler byte derived from the index,
 * so a receiving probe can tell lost, duplicated, reordered and altered
 * packets apart without knowing the sender's SSRC or starting sequence
 * number; a relay is expected to leave all of that untouched.
 *
 * usage: rtp_probe [options]
 *   -l ADDR:PORT  local address (default 127.0.0.1:0)
 *   -P FILE       write the local port to FILE once bound (for scripts)
 *   -d ADDR:PORT  where to send
 *   -n N          packets to send (default 0), one every -i ms
 *   -p PT         payload type (default 0, PCMU)
 *   -s BYTES      payload size, 8 or more (default 160: 20 ms of G.711)
 *   -i MS         interval (default 20, i.e. 50 packets/s)
 *   -D DIGITS     then send these RFC 4733 digits (0-9 * # A-D)
 *   -E PT         telephone-event payload type (default 101)
 *   -r N          expect N probe packets (index 0 .. N-1) and check them
 *   -e            echo every packet back to where it came from
 *   -w MS         stop MS after the last packet in or out (default 2000)
 *                 (the only way a receiving probe stops, short of -t)
 *   -t SECS       hard time limit (default 30)
 *   -L PCT        loss allowed with -r, in percent (default 0)
 *   -q            no report line
 *
 * Examples, from a shell test:
 *   rtp_probe -l 127.0.0.1:4000 -r 250 -w 3000 &       # phone B checks
 *   rtp_probe -l 127.0.0.1:4002 -d 127.0.0.1:10000 -n 250   # phone A sends
 *   rtp_probe -l 127.0.0.1:4004 -e -w 5000              # an echoing phone
 *
 * Prints one line (logfmt):
 *   sent=N received=N expected=N lost=N dup=N reordered=N bad=N
 *   echoed=N events=N digits=STR from=ADDR:PORT
 * where received counts probe packets, bad counts those with a wrong
 * payload type, payload, sequence number or timestamp (relative to the
 * first one received), events counts telephone-event packets and digits
 * lists the distinct events received (one per RTP timestamp).
 *
 * Exit: 0 when the checks pass (no bad packet, loss within -L), 1 when
 * they fail, 2 on a usage or system error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PKT_MAX 2048
#define HDR 12
#define MAGIC "KVRP"
#define DIGITS_MAX 64
#define EXIT_CHECK 1
#define EXIT_ERROR 2

struct opts {
	const char *local, *dest, *port_file, *digits;
	unsigned count, pt, size, interval_ms, expect, wait_ms, limit_s, event_pt;
	double loss_pct;
	bool echo, quiet;
};

struct state {
	int fd;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	uint32_t ssrc, ts;
	uint16_t seq;
	unsigned sent, echoed, events;
	/* receiving */
	unsigned received, dup, reordered, bad;
	bool have_first;
	uint32_t first_index, max_index;
	uint16_t first_seq;
	uint32_t first_ts;
	uint8_t *seen;             /* expect bytes */
	char digits[DIGITS_MAX + 1];
	size_t ndigits;
	bool have_event;
	uint32_t event_ts;
	struct sockaddr_storage from;
	bool have_from;
};

static void usage(void)
{
	fprintf(stderr,
		"usage: rtp_probe [-l addr:port] [-P file] [-d addr:port] [-n count]\n"
		"                 [-p pt] [-s bytes] [-i ms] [-D digits] [-E pt]\n"
		"                 [-r expect] [-e] [-w ms] [-t secs] [-L pct] [-q]\n");
	exit(EXIT_ERROR);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned num(const char *s, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "rtp_probe: bad number '%s'\n", s);
		exit(EXIT_ERROR);
	}
	return (unsigned)v;
}

/* "1.2.3.4:5", "[::1]:5" */
static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon, *h = s;
	size_t hl;
	struct addrinfo hints, *ai;
	int err;

	colon = strrchr(s, ':');
	if (!colon)
		return -1;
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 2 || s[hl - 1] != ']')
			return -1;
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, h, hl);
	host[hl] = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	err = getaddrinfo(host, colon + 1, &hints, &ai);
	if (err)
		return -1;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	}
	return buf;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static size_t header(struct state *st, uint8_t *p, unsigned pt, bool marker)
{
	p[0] = 0x80;
	p[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	put16(p + 2, st->seq);
	put32(p + 4, st->ts);
	put32(p + 8, st->ssrc);
	return HDR;
}

static void send_pkt(struct state *st, const uint8_t *p, size_t len)
{
	if (sendto(st->fd, p, len, 0, (struct sockaddr *)&st->dst, st->dstlen) < 0)
		fprintf(stderr, "rtp_probe: send: %s\n", strerror(errno));
	else
		st->sent++;
	st->seq++;
}

static void send_probe(struct state *st, const struct opts *o, uint32_t index)
{
	uint8_t p[PKT_MAX];
	size_t n = header(st, p, o->pt, index == 0);

	memcpy(p + n, MAGIC, 4);
	put32(p + n + 4, index);
	memset(p + n + 8, (int)(index & 0xff), o->size - 8);
	send_pkt(st, p, n + o->size);
	st->ts += 160;
}

static int event_code(char c)
{
	static const char keys[] = "0123456789*#ABCD";
	const char *k = strchr(keys, c);

	return c && k ? (int)(k - keys) : -1;
}

/* The packets of one RFC 4733 event, as a phone sends them: updates
 * every interval with the duration growing, then the end packet three
 * times; all with the timestamp of the event's start. */
struct digit_tx {
	int code;
	unsigned step;             /* packets sent for this digit so far */
	uint32_t ts;
};

#define DIGIT_UPDATES 5
#define DIGIT_ENDS 3
#define DIGIT_GAP 5

/* Sends the next packet of the digit; returns false when it is done. */
static bool send_digit_step(struct state *st, const struct opts *o, struct digit_tx *d)
{
	uint8_t p[HDR + 4];
	bool end = d->step >= DIGIT_UPDATES;
	unsigned dur_steps = end ? DIGIT_UPDATES : d->step + 1;

	if (d->step >= DIGIT_UPDATES + DIGIT_ENDS + DIGIT_GAP) {
		/* Audio time moves on by the length of the key press and
		 * the pause after it. */
		st->ts += 160 * (DIGIT_UPDATES + DIGIT_ENDS + DIGIT_GAP);
		d->code = -1;
		return false;
	}
	if (d->step < DIGIT_UPDATES + DIGIT_ENDS) {
		uint32_t ts = st->ts;

		st->ts = d->ts;
		header(st, p, o->event_pt, d->step == 0);
		st->ts = ts;
		p[HDR] = (uint8_t)d->code;
		p[HDR + 1] = (uint8_t)((end ? 0x80 : 0) | 10);
		put16(p + HDR + 2, (uint16_t)(160 * dur_steps));
		send_pkt(st, p, sizeof(p));
	}
	d->step++;
	return true;
}

static void on_probe(struct state *st, const struct opts *o, const uint8_t *p, size_t len)
{
	uint32_t index, ts;
	uint16_t seq;
	size_t i;
	bool bad = false;

	index = get32(p + HDR + 4);
	seq = (uint16_t)(p[2] << 8 | p[3]);
	ts = get32(p + 4);
	st->received++;
	if (!st->have_first) {
		st->have_first = true;
		st->first_index = index;
		st->first_seq = seq;
		st->first_ts = ts;
		st->max_index = index;
	}
	if ((p[1] & 0x7f) != o->pt || len != HDR + o->size)
		bad = true;
	for (i = HDR + 8; i < len && !bad; i++)
		if (p[i] != (uint8_t)(index & 0xff))
			bad = true;
	if (seq != (uint16_t)(st->first_seq + (index - st->first_index)) ||
	    ts != st->first_ts + 160u * (index - st->first_index))
		bad = true;
	if (bad)
		st->bad++;
	if (index < st->max_index)
		st->reordered++;
	else
		st->max_index = index;
	if (st->seen && index < o->expect) {
		if (st->seen[index])
			st->dup++;
		st->seen[index] = 1;
	}
}

static void on_event(struct state *st, const uint8_t *p)
{
	uint32_t ts = get32(p + 4);
	static const char keys[] = "0123456789*#ABCD!";

	st->events++;
	if (st->have_event && ts == st->event_ts)
		return;
	st->have_event = true;
	st->event_ts = ts;
	if (st->ndigits < DIGITS_MAX)
		st->digits[st->ndigits++] = p[HDR] < sizeof(keys) - 1 ? keys[p[HDR]] : '?';
	st->digits[st->ndigits] = 0;
}

static void receive_all(struct state *st, const struct opts *o)
{
	uint8_t p[PKT_MAX];
	struct sockaddr_storage from;
	socklen_t fl;
	ssize_t n;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(st->fd, p, sizeof(p), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (!st->have_from) {
			st->from = from;
			st->have_from = true;
		}
		if (o->echo && sendto(st->fd, p, (size_t)n, 0, (struct sockaddr *)&from, fl) > 0)
			st->echoed++;
		if (n < HDR || (p[0] >> 6) != 2)
			continue;
		if ((p[1] & 0x7f) == o->event_pt && n >= HDR + 4)
			on_event(st, p);
		else if (n >= HDR + 8 && memcmp(p + HDR, MAGIC, 4) == 0)
			on_probe(st, o, p, (size_t)n);
	}
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->local = "127.0.0.1:0";
	o->size = 160;
	o->interval_ms = 20;
	o->wait_ms = 2000;
	o->limit_s = 30;
	o->event_pt = 101;
	while ((c = getopt(argc, argv, "l:P:d:n:p:s:i:D:E:r:ew:t:L:q")) != -1) {
		switch (c) {
		case 'l': o->local = optarg; break;
		case 'P': o->port_file = optarg; break;
		case 'd': o->dest = optarg; break;
		case 'n': o->count = num(optarg, 10000000); break;
		case 'p': o->pt = num(optarg, 127); break;
		case 's': o->size = num(optarg, PKT_MAX - HDR); break;
		case 'i': o->interval_ms = num(optarg, 10000); break;
		case 'D': o->digits = optarg; break;
		case 'E': o->event_pt = num(optarg, 127); break;
		case 'r': o->expect = num(optarg, 10000000); break;
		case 'e': o->echo = true; break;
		case 'w': o->wait_ms = num(optarg, 3600000); break;
		case 't': o->limit_s = num(optarg, 86400); break;
		case 'L': o->loss_pct = num(optarg, 100); break;
		case 'q': o->quiet = true; break;
		default: usage();
		}
	}
	if (optind != argc || o->size < 8 || o->interval_ms == 0)
		usage();
	if ((o->count || o->digits) && !o->dest)
		usage();
	if (o->digits) {
		const char *d;

		for (d = o->digits; *d; d++)
			if (event_code(*d) < 0)
				usage();
	}
}

int main(int argc, char **argv)
{
	struct opts o;
	struct state st;
	struct sockaddr_storage local;
	socklen_t ll;
	struct pollfd pfd;
	struct digit_tx dg;
	const char *next_digit;
	uint64_t start, next_send, last_activity, deadline, now;
	uint32_t index = 0;
	unsigned before, lost = 0;
	char from[80];
	int timeout;
	bool sending, ok;

	parse_opts(argc, argv, &o);
	memset(&st, 0, sizeof(st));
	if (parse_addr(o.local, &local, &ll) < 0) {
		fprintf(stderr, "rtp_probe: bad local address '%s'\n", o.local);
		return EXIT_ERROR;
	}
	if (o.dest && parse_addr(o.dest, &st.dst, &st.dstlen) < 0) {
		fprintf(stderr, "rtp_probe: bad destination '%s'\n", o.dest);
		return EXIT_ERROR;
	}
	st.fd = socket(local.ss_family, SOCK_DGRAM, 0);
	if (st.fd < 0 || bind(st.fd, (struct sockaddr *)&local, ll) < 0) {
		fprintf(stderr, "rtp_probe: bind %s: %s\n", o.local, strerror(errno));
		return EXIT_ERROR;
	}
	ll = sizeof(local);
	getsockname(st.fd, (struct sockaddr *)&local, &ll);
	if (o.port_file) {
		FILE *f = fopen(o.port_file, "w");

		if (!f) {
			fprintf(stderr, "rtp_probe: %s: %s\n", o.port_file, strerror(errno));
			return EXIT_ERROR;
		}
		fprintf(f, "%u\n", ntohs(local.ss_family == AF_INET ?
					 ((struct sockaddr_in *)&local)->sin_port :
					 ((struct sockaddr_in6 *)&local)->sin6_port));
		fclose(f);
	}
	if (o.expect) {
		st.seen = calloc(o.expect, 1);
		if (!st.seen)
			return EXIT_ERROR;
	}
	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	st.ssrc = (uint32_t)rand() << 1 ^ (uint32_t)rand();
	st.seq = (uint16_t)rand();
	st.ts = (uint32_t)rand();

	start = now_ms();
	deadline = start + (uint64_t)o.limit_s * 1000;
	next_send = start;
	last_activity = start;
	sending = o.count || o.digits;
	next_digit = o.digits;
	memset(&dg, 0, sizeof(dg));
	dg.code = -1;
	pfd.fd = st.fd;
	pfd.events = POLLIN;
	for (;;) {
		now = now_ms();
		if (now >= deadline)
			break;
		/* Absolute schedule: packet k goes at start + k * interval. */
		while (sending && now >= next_send) {
			if (index < o.count) {
				send_probe(&st, &o, index++);
			} else if (dg.code >= 0 && send_digit_step(&st, &o, &dg)) {
				;
			} else if (next_digit && *next_digit) {
				dg.code = event_code(*next_digit++);
				dg.step = 0;
				dg.ts = st.ts;
				send_digit_step(&st, &o, &dg);
			} else {
				sending = false;
				break;
			}
			last_activity = now;
			next_send += o.interval_ms;
		}
		if (!sending && now >= last_activity + o.wait_ms)
			break;
		timeout = (int)((sending ? next_send : last_activity + o.wait_ms) - now);
		if (deadline - now < (uint64_t)timeout)
			timeout = (int)(deadline - now);
		if (poll(&pfd, 1, timeout < 0 ? 0 : timeout) > 0) {
			before = st.received + st.events + st.echoed;
			receive_all(&st, &o);
			if (st.received + st.events + st.echoed != before)
				last_activity = now_ms();
		}
	}

	if (st.seen) {
		unsigned i;

		for (i = 0; i < o.expect; i++)
			if (!st.seen[i])
				lost++;
	}
	ok = st.bad == 0 && (double)lost * 100.0 <= o.loss_pct * (double)o.expect;
	if (!o.quiet)
		printf("sent=%u received=%u expected=%u lost=%u dup=%u reordered=%u bad=%u "
		       "echoed=%u events=%u digits=%s from=%s\n",
		       st.sent, st.received, o.expect, lost, st.dup, st.reordered, st.bad,
		       st.echoed, st.events, st.ndigits ? st.digits : "-",
		       st.have_from ? addr_str(&st.from, from, sizeof(from)) : "-");
	free(st.seen);
	close(st.fd);
	return ok ? 0 : EXIT_CHECK;
}
