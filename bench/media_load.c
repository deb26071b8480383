/*
 * media_load.c - the phones of the media benchmark: G.711 streams into a
 * relay, counted on the way back, with the relay's CPU time measured.
 *
 * Reads MAPFILE ("portA portB" per call, from media_bench or media_fwd).
 * Every call has two flows, A into portA and B into portB, each 50
 * packets/s of 172 bytes (RTP header and 20 ms of G.711), with the flows'
 * send times spread evenly over the 20 ms.  What the relay sends back is
 * read and counted per flow: a flow's packets come out of the other leg.
 *
 * The phones share a few sockets (-g), each one standing for many
 * phones: a relay latches every leg on the socket that first sent to it,
 * and its work per packet is the same whichever socket it sends to.  The
 * generator's own cost stays small that way (sendmmsg() and recvmmsg()
 * over many flows at once), which matters on a two-core machine where it
 * runs next to the relay.
 *
 * Phases: warm-up (one packet per flow, so every leg latches, then a
 * pause), the measured run of -d seconds, and a drain of 500 ms.  The
 * relay's CPU time (-p PID: every thread, from schedstat) is read at the
 * start and the end of the measured run.  Prints one logfmt line:
 *   calls= sent= received= lost= loss_pct= rate_pps= relay_cpu_ms=
 *   ns_per_pkt= load_cpu_pct= late_ticks=
 * ns_per_pkt is relay CPU per packet received back, i.e. per packet the
 * relay forwarded; rate_pps is the rate actually sent (nominal: 100 per
 * call), lower when this process could not keep up; late_ticks counts
 * 1 ms ticks served more than 2 ms late.
 *
 * Built by `make build` (bench/CMakeLists.txt); by hand:
 *
 *   build/bench/media_load -m /tmp/map -d 20 -p $(pidof media_bench)
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define PERIOD_MS 20
#define PAYLOAD 160
#define HDR 12
#define PKT (HDR + PAYLOAD)
#define BATCH 64
#define GEN_MAX 256
#define MAGIC 0x4b564d4cu     /* "KVML" */
#define WARMUP 0xffffffffu

struct flow {
	uint16_t port;            /* relay leg it sends to */
	unsigned gen;             /* socket it sends from */
	uint32_t ssrc;
	uint32_t next;            /* index of the next packet */
	uint64_t sent, received;
};

struct gen {
	int fd;
	struct mmsghdr msg[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in to[BATCH];
	uint8_t buf[BATCH][PKT];
	unsigned n;
};

static struct flow *flows;
static unsigned nflows;
static struct gen *gens;
static unsigned ngens;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: media_load -m mapfile [-d secs] [-p relay_pid] [-g sockets]\n");
	exit(2);
}

/* CPU nanoseconds of every thread of pid. */
static uint64_t proc_cpu_ns(int pid)
{
	char path[256];
	DIR *d;
	struct dirent *de;
	uint64_t total = 0;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char p2[512];
		unsigned long long v;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p2, sizeof(p2), "/proc/%d/task/%s/schedstat", pid, de->d_name);
		f = fopen(p2, "r");
		if (!f)
			continue;
		if (fscanf(f, "%llu", &v) == 1)
			total += v;
		fclose(f);
	}
	closedir(d);
	return total;
}

static uint64_t self_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
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

static void gen_flush(struct gen *g)
{
	unsigned done = 0;
	int r;

	while (done < g->n) {
		r = sendmmsg(g->fd, g->msg + done, g->n - done, 0);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			break;
		}
		done += (unsigned)r;
	}
	g->n = 0;
}

/* Queues flow f's next packet; index WARMUP for the latching packet. */
static void flow_send(unsigned f, uint32_t index)
{
	struct flow *fl = &flows[f];
	struct gen *g = &gens[fl->gen];
	uint8_t *p;
	uint32_t seq = index == WARMUP ? 0 : index;

	if (g->n == BATCH)
		gen_flush(g);
	p = g->buf[g->n];
	p[0] = 0x80;
	p[1] = 0;                  /* PCMU */
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	put32(p + 4, seq * 160);
	put32(p + 8, fl->ssrc);
	put32(p + HDR, MAGIC);
	put32(p + HDR + 4, f);
	put32(p + HDR + 8, index);
	memset(p + HDR + 12, 0xff, PAYLOAD - 12);
	memset(&g->to[g->n], 0, sizeof(g->to[g->n]));
	g->to[g->n].sin_family = AF_INET;
	g->to[g->n].sin_port = htons(fl->port);
	g->to[g->n].sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g->n++;
	if (index != WARMUP)
		fl->sent++;
}

static void receive(int epfd, int timeout_ms, bool count)
{
	static uint8_t bufs[BATCH][PKT + 64];
	static struct mmsghdr msg[BATCH];
	static struct iovec iov[BATCH];
	struct epoll_event evs[GEN_MAX];
	int n, i, got, j;

	n = epoll_wait(epfd, evs, GEN_MAX, timeout_ms);
	for (i = 0; i < n; i++) {
		struct gen *g = evs[i].data.ptr;

		for (;;) {
			for (j = 0; j < BATCH; j++) {
				iov[j].iov_base = bufs[j];
				iov[j].iov_len = sizeof(bufs[j]);
				memset(&msg[j], 0, sizeof(msg[j]));
				msg[j].msg_hdr.msg_iov = &iov[j];
				msg[j].msg_hdr.msg_iovlen = 1;
			}
			got = recvmmsg(g->fd, msg, BATCH, MSG_DONTWAIT, NULL);
			if (got <= 0)
				break;
			for (j = 0; j < got; j++) {
				const uint8_t *p = bufs[j];
				uint32_t f, index;

				if (msg[j].msg_len != PKT || get32(p + HDR) != MAGIC)
					continue;
				f = get32(p + HDR + 4);
				index = get32(p + HDR + 8);
				if (f < nflows && index != WARMUP && count)
					flows[f].received++;
			}
			if (got < BATCH)
				break;
		}
	}
}

int main(int argc, char **argv)
{
	const char *map = NULL;
	unsigned secs = 20, want_gens = 8, i, a, b, calls = 0, cap = 0;
	int pid = 0, c, epfd, rcvbuf = 4 << 20;
	uint64_t t0, tick, ticks, k, relay0, relay1, self0, self1, late = 0;
	uint64_t sent = 0, received = 0, end, wall;
	FILE *f;

	while ((c = getopt(argc, argv, "m:d:p:g:")) != -1) {
		switch (c) {
		case 'm': map = optarg; break;
		case 'd': secs = (unsigned)atoi(optarg); break;
		case 'p': pid = atoi(optarg); break;
		case 'g': want_gens = (unsigned)atoi(optarg); break;
		default: usage();
		}
	}
	if (!map || !secs || !want_gens || want_gens > GEN_MAX)
		usage();
	f = fopen(map, "r");
	if (!f) {
		fprintf(stderr, "media_load: %s: %s\n", map, strerror(errno));
		return 2;
	}
	while (fscanf(f, "%u %u", &a, &b) == 2) {
		if (nflows + 2 > cap) {
			cap = cap ? 2 * cap : 1024;
			flows = realloc(flows, cap * sizeof(*flows));
			if (!flows)
				return 2;
		}
		memset(&flows[nflows], 0, 2 * sizeof(*flows));
		flows[nflows++].port = (uint16_t)a;
		flows[nflows++].port = (uint16_t)b;
		calls++;
	}
	fclose(f);
	if (!calls)
		return 2;

	ngens = want_gens < nflows ? want_gens : nflows;
	gens = calloc(ngens, sizeof(*gens));
	epfd = epoll_create1(0);
	if (!gens || epfd < 0)
		return 2;
	for (i = 0; i < ngens; i++) {
		struct sockaddr_in sin;
		struct epoll_event ev;
		unsigned j;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		gens[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (gens[i].fd < 0 || bind(gens[i].fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			return 2;
		/* Forced past rmem_max when root; a plain request otherwise. */
		if (setsockopt(gens[i].fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
			setsockopt(gens[i].fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		for (j = 0; j < BATCH; j++) {
			gens[i].iov[j].iov_base = gens[i].buf[j];
			gens[i].iov[j].iov_len = PKT;
			gens[i].msg[j].msg_hdr.msg_iov = &gens[i].iov[j];
			gens[i].msg[j].msg_hdr.msg_iovlen = 1;
			gens[i].msg[j].msg_hdr.msg_name = &gens[i].to[j];
			gens[i].msg[j].msg_hdr.msg_namelen = sizeof(gens[i].to[j]);
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &gens[i];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, gens[i].fd, &ev) < 0)
			return 2;
	}
	srand((unsigned)getpid());
	for (i = 0; i < nflows; i++) {
		flows[i].gen = i % ngens;
		flows[i].ssrc = (uint32_t)rand();
	}

	/* Warm-up: every leg latches on its flow's socket. */
	for (i = 0; i < nflows; i++)
		flow_send(i, WARMUP);
	for (i = 0; i < ngens; i++)
		gen_flush(&gens[i]);
	end = now_ns() + 1000000000ull;
	while (now_ns() < end)
		receive(epfd, 50, false);

	/* Measured run: 1 ms ticks on an absolute schedule; flow i sends
	 * on ticks where tick % 20 == i % 20. */
	relay0 = proc_cpu_ns(pid);
	self0 = self_cpu_ns();
	t0 = now_ns();
	ticks = (uint64_t)secs * 1000;
	for (tick = 0; tick < ticks; tick++) {
		uint64_t due = t0 + tick * 1000000ull, now;

		for (;;) {
			now = now_ns();
			if (now >= due)
				break;
			receive(epfd, (int)((due - now) / 1000000ull), true);
		}
		if (now - due > 2000000ull)
			late++;
		for (k = tick % PERIOD_MS; k < nflows; k += PERIOD_MS)
			flow_send((unsigned)k, flows[k].next++);
		for (i = 0; i < ngens; i++)
			gen_flush(&gens[i]);
		receive(epfd, 0, true);
	}
	wall = now_ns() - t0;
	end = now_ns() + 500000000ull;
	while (now_ns() < end)
		receive(epfd, 50, true);
	relay1 = proc_cpu_ns(pid);
	self1 = self_cpu_ns();

	for (i = 0; i < nflows; i++) {
		sent += flows[i].sent;
		received += flows[i].received;
	}
	printf("calls=%u sent=%llu received=%llu lost=%lld loss_pct=%.4f rate_pps=%.0f "
	       "relay_cpu_ms=%.1f ns_per_pkt=%.0f load_cpu_pct=%.0f late_ticks=%llu\n",
	       calls, (unsigned long long)sent, (unsigned long long)received,
	       (long long)(sent - received),
	       sent ? (double)(sent - received) * 100.0 / (double)sent : 0.0,
	       (double)sent * 1e9 / (double)wall,
	       (double)(relay1 - relay0) / 1e6,
	       received ? (double)(relay1 - relay0) / (double)received : 0.0,
	       (double)(self1 - self0) * 100.0 / ((double)wall + 5e8),
	       (unsigned long long)late);
	return 0;
}
