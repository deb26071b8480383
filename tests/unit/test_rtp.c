/*
 * test_rtp.c - the RTP relay engine (src/media/rtp*.c) over real UDP
 * sockets on loopback: relay both ways, symmetric RTP latching, RTCP,
 * echo, paced playback, RFC 4733 digits, timeouts, hold, port pool
 * limits, legs on two workers, and freeing legs while packets flow.
 * The pure parts (RTP header parsing, the DTMF detector, the worker
 * deadline heap) are tested directly first.
 *
 * Fake phones are plain non-blocking sockets.  Every wait polls the loop
 * against a 5 s safety deadline; nothing asserts how long anything took:
 * a test waits for a packet, an event or a counter, and checks counts and
 * contents.  "Not relayed" is checked after the engine's counters show
 * the packet was processed, and loopback delivery happens within the
 * sender's system call, so a packet that was sent is already queued.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "media/rtp.h"
#include "media/rtp_int.h"
#include "media/rtpdtmf.h"
#include "media/rtppkt.h"
#include "media/rtptimer.h"

#define DEADLINE_MS 5000
#define BLOCK 64
#define EV_MAX 64

struct evrec {
	struct rtp_leg *leg;
	struct rtp_event ev;
};

struct fx {
	uv_loop_t loop;
	struct rtp_engine *e;
	uint16_t base;              /* engine range: [base, base + BLOCK) */
	struct evrec evs[EV_MAX];
	unsigned nevs;              /* recorded, at most EV_MAX */
	unsigned syncs;
};

struct phone {
	int fd;
	uint16_t port;
	struct sockaddr_in addr;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump(struct fx *fx)
{
	uv_run(&fx->loop, UV_RUN_NOWAIT);
	usleep(300);
}

#define WAIT_UNTIL(fx, cond) do {                                        \
		uint64_t end_ = now_ms() + DEADLINE_MS;                  \
		while (!(cond)) {                                        \
			if (now_ms() > end_)                             \
				fail_msg("timed out waiting for %s", #cond); \
			pump(fx);                                        \
		}                                                        \
	} while (0)

static struct sockaddr_in lo4(uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int udp_on(uint16_t port)
{
	struct sockaddr_in sin = lo4(port);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* An even port p such that [p, p + n) is free right now. */
static uint16_t free_block(unsigned n)
{
	unsigned tries, i, k;
	uint16_t base;
	int fds[BLOCK];

	for (tries = 0; tries < 200; tries++) {
		base = (uint16_t)(20000 + 2 * (rand() % 5000));
		for (k = 0; k < n; k++) {
			fds[k] = udp_on((uint16_t)(base + k));
			if (fds[k] < 0)
				break;
		}
		for (i = 0; i < k; i++)
			close(fds[i]);
		if (k == n)
			return base;
	}
	fail_msg("no free port block");
	return 0;
}

static void phone_open_at(struct phone *ph, uint16_t port)
{
	socklen_t len = sizeof(ph->addr);

	ph->fd = udp_on(port);
	assert_true(ph->fd >= 0);
	assert_int_equal(getsockname(ph->fd, (struct sockaddr *)&ph->addr, &len), 0);
	ph->port = ntohs(ph->addr.sin_port);
}

static void phone_open(struct phone *ph)
{
	phone_open_at(ph, 0);
}

static void phone_close(struct phone *ph)
{
	close(ph->fd);
	ph->fd = -1;
}

static void phone_send(struct phone *ph, uint16_t port, const void *p, size_t len)
{
	struct sockaddr_in to = lo4(port);

	assert_int_equal(sendto(ph->fd, p, len, 0, (struct sockaddr *)&to, sizeof(to)),
			 (ssize_t)len);
}

/* Non-blocking; -1 when nothing is queued. */
static ssize_t phone_try(struct phone *ph, void *buf, size_t size, uint16_t *from_port)
{
	struct sockaddr_in from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(ph->fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &len);

	if (n >= 0 && from_port)
		*from_port = ntohs(from.sin_port);
	return n;
}

static ssize_t phone_recv(struct fx *fx, struct phone *ph, void *buf, size_t size,
			  uint16_t *from_port)
{
	uint64_t end = now_ms() + DEADLINE_MS;
	ssize_t n;

	while ((n = phone_try(ph, buf, size, from_port)) < 0) {
		if (now_ms() > end)
			fail_msg("phone on port %u received nothing", ph->port);
		pump(fx);
	}
	return n;
}

static size_t mk_rtp(uint8_t *p, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
		     uint32_t ssrc, const void *payload, size_t n)
{
	rtp_hdr_write(p, pt, marker, seq, ts, ssrc);
	memcpy(p + RTP_HDR_LEN, payload, n);
	return RTP_HDR_LEN + n;
}

static size_t mk_voice(uint8_t *p, uint16_t seq, uint8_t fill)
{
	uint8_t pl[160];

	memset(pl, fill, sizeof(pl));
	return mk_rtp(p, 0, false, seq, (uint32_t)seq * 160, 0x11223344, pl, sizeof(pl));
}

static size_t mk_dtmf(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ts, uint8_t code,
		      bool end, uint16_t duration)
{
	uint8_t pl[4];

	pl[0] = code;
	pl[1] = (uint8_t)((end ? 0x80 : 0) | 10);
	pl[2] = (uint8_t)(duration >> 8);
	pl[3] = (uint8_t)duration;
	return mk_rtp(p, pt, false, seq, ts, 0xabcdef01, pl, sizeof(pl));
}

static struct rtp_stats stats(struct fx *fx)
{
	struct rtp_stats st;

	rtp_engine_stats(fx->e, &st);
	return st;
}

static uint64_t stat_rx(struct fx *fx)
{
	return stats(fx).rx_packets;
}

static void on_event(struct rtp_leg *l, const struct rtp_event *ev, void *arg)
{
	struct fx *fx = arg;

	/* The stress test makes more than fit; the others check counts
	 * well below EV_MAX. */
	if (fx->nevs == EV_MAX)
		return;
	fx->evs[fx->nevs].leg = l;
	fx->evs[fx->nevs].ev = *ev;
	fx->nevs++;
}

static unsigned count_events(struct fx *fx, struct rtp_leg *l, enum rtp_ev_type type)
{
	unsigned i, n = 0;

	for (i = 0; i < fx->nevs; i++)
		if (fx->evs[i].leg == l && fx->evs[i].ev.type == type)
			n++;
	return n;
}

static void on_sync(void *arg)
{
	struct fx *fx = arg;

	fx->syncs++;
}

/* Every change made so far has reached the workers. */
static void sync_wait(struct fx *fx)
{
	unsigned want = fx->syncs + 1;

	assert_int_equal(rtp_engine_sync(fx->e, on_sync, fx), 0);
	WAIT_UNTIL(fx, fx->syncs >= want);
}

static struct rtp_leg *leg_new(struct fx *fx)
{
	struct rtp_leg *l = NULL;

	assert_int_equal(rtp_leg_alloc(fx->e, &l, on_event, fx), 0);
	assert_non_null(l);
	return l;
}

static void set_remote(struct rtp_leg *l, const struct phone *ph)
{
	assert_int_equal(rtp_leg_set_remote(l, (const struct sockaddr *)&ph->addr), 0);
}

static int fx_setup_n(void **state, unsigned workers)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct sockaddr_in bind = lo4(0);

	assert_non_null(fx);
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	fx->base = free_block(BLOCK);
	assert_int_equal(rtp_engine_alloc(&fx->e, &fx->loop, (struct sockaddr *)&bind,
					  fx->base, (uint16_t)(fx->base + BLOCK - 1), workers), 0);
	*state = fx;
	return 0;
}

static int fx_setup(void **state)
{
	return fx_setup_n(state, 1);
}

static int fx_setup2(void **state)
{
	return fx_setup_n(state, 2);
}

static int fx_teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->e)
		rtp_engine_free(fx->e);
	uv_run(&fx->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	free(fx);
	return 0;
}

/* ---- pure parts ------------------------------------------------------ */

static void test_hdr_parse(void **state)
{
	uint8_t p[64];
	struct rtp_hdr h;

	memset(p, 0, sizeof(p));
	rtp_hdr_write(p, 101, true, 0xbeef, 0x01020304, 0xdeadbeef);
	assert_int_equal(rtp_hdr_parse(p, 16, &h), 0);
	assert_int_equal(h.pt, 101);
	assert_true(h.marker);
	assert_int_equal(h.seq, 0xbeef);
	assert_int_equal(h.ts, 0x01020304);
	assert_int_equal(h.ssrc, 0xdeadbeef);
	assert_int_equal(h.off, 12);
	assert_int_equal(h.plen, 4);

	/* Two CSRCs and a one-word extension. */
	p[0] = 0x80 | 0x10 | 2;
	p[12 + 8 + 2] = 0;
	p[12 + 8 + 3] = 1;
	assert_int_equal(rtp_hdr_parse(p, 12 + 8 + 4 + 4 + 4, &h), 0);
	assert_int_equal(h.off, 28);
	assert_int_equal(h.plen, 4);
	assert_int_equal(rtp_hdr_parse(p, 12 + 8 + 4 + 3, &h), EBADMSG);
	assert_int_equal(rtp_hdr_parse(p, 12 + 6, &h), EBADMSG);

	/* Padding: the last octet counts it. */
	p[0] = 0x80 | 0x20;
	p[15] = 2;
	assert_int_equal(rtp_hdr_parse(p, 16, &h), 0);
	assert_int_equal(h.plen, 2);
	p[15] = 5;
	assert_int_equal(rtp_hdr_parse(p, 16, &h), EBADMSG);
	p[15] = 0;
	assert_int_equal(rtp_hdr_parse(p, 16, &h), EBADMSG);

	/* Version and length. */
	p[0] = 0x40;
	assert_int_equal(rtp_hdr_parse(p, 16, &h), EBADMSG);
	p[0] = 0x80;
	assert_int_equal(rtp_hdr_parse(p, 11, &h), EBADMSG);
	assert_false(rtp_looks_valid(p, 7, RTCP_HDR_MIN));
	assert_true(rtp_looks_valid(p, 8, RTCP_HDR_MIN));
}

static int dtmf_feed(struct rtp_dtmf *d, uint32_t ssrc, uint32_t ts, uint8_t code,
		     bool end, uint16_t duration, struct rtp_event ev[2])
{
	uint8_t p[32];
	struct rtp_hdr h;
	size_t n = mk_dtmf(p, 101, 1, ts, code, end, duration);

	p[8] = (uint8_t)(ssrc >> 24);
	p[9] = (uint8_t)(ssrc >> 16);
	p[10] = (uint8_t)(ssrc >> 8);
	p[11] = (uint8_t)ssrc;
	assert_int_equal(rtp_hdr_parse(p, n, &h), 0);
	return rtp_dtmf_input(d, &h, p + h.off, ev);
}

static void test_dtmf_detector(void **state)
{
	struct rtp_dtmf d;
	struct rtp_event ev[2];
	struct rtp_hdr h;
	uint8_t p[16];

	rtp_dtmf_reset(&d);
	/* '5': updates, then three end packets: one report. */
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, false, 160, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, false, 320, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, true, 640, ev), 1);
	assert_int_equal(ev[0].type, RTP_EV_DTMF);
	assert_int_equal(ev[0].digit, '5');
	assert_int_equal(ev[0].code, 5);
	assert_int_equal(ev[0].duration, 640);
	assert_true(ev[0].end);
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, true, 640, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, true, 640, ev), 0);

	/* '#' loses its end packets; '1' starting reports it, cut short. */
	assert_int_equal(dtmf_feed(&d, 1, 3000, 11, false, 160, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 3000, 11, false, 480, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 5000, 1, true, 400, ev), 2);
	assert_int_equal(ev[0].digit, '#');
	assert_false(ev[0].end);
	assert_int_equal(ev[0].duration, 480);
	assert_int_equal(ev[1].digit, '1');
	assert_true(ev[1].end);

	/* A late end packet of an older event is ignored. */
	assert_int_equal(dtmf_feed(&d, 1, 3000, 11, true, 800, ev), 0);
	assert_int_equal(dtmf_feed(&d, 1, 1000, 5, true, 640, ev), 0);

	/* Timestamp wrap-around is a newer event, not an older one. */
	assert_int_equal(dtmf_feed(&d, 1, 0x80000000u, 9, true, 160, ev), 1);
	assert_int_equal(dtmf_feed(&d, 1, 0xffffff00u, 9, true, 160, ev), 1);
	assert_int_equal(dtmf_feed(&d, 1, 0x00000100u, 0, true, 160, ev), 1);
	assert_int_equal(ev[0].digit, '0');

	/* A new SSRC starts afresh even with an older timestamp. */
	assert_int_equal(dtmf_feed(&d, 2, 10, 12, true, 160, ev), 1);
	assert_int_equal(ev[0].digit, 'A');

	/* Tones that are not keys, and short payloads. */
	assert_int_equal(dtmf_feed(&d, 2, 20, 32, true, 160, ev), 0);
	assert_int_equal(dtmf_feed(&d, 2, 30, 16, true, 160, ev), 1);
	assert_int_equal(ev[0].digit, '!');
	rtp_hdr_write(p, 101, false, 1, 40, 2);
	assert_int_equal(rtp_hdr_parse(p, 15, &h), 0);
	assert_int_equal(rtp_dtmf_input(&d, &h, p + h.off, ev), 0);
	assert_int_equal(rtp_dtmf_digit(17), 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void test_timer_heap(void **state)
{
	enum { N = 500 };
	struct rtptimer t[N];
	struct rtptimer_heap h;
	uint64_t want[N], prev = 0;
	unsigned i, n = 0, round;

	rtptimer_heap_init(&h);
	for (i = 0; i < N; i++)
		rtptimer_init(&t[i], &t[i]);
	assert_null(rtptimer_min(&h));
	for (round = 0; round < 3; round++) {
		for (i = 0; i < N; i++)
			rtptimer_add(&h, &t[i], (uint64_t)(rand() % 100000));
		/* Re-adding moves, deleting anywhere keeps the heap whole. */
		for (i = 0; i < N; i += 3)
			rtptimer_add(&h, &t[i], (uint64_t)(rand() % 100000));
		for (i = 1; i < N; i += 7)
			rtptimer_del(&h, &t[i]);
		rtptimer_del(&h, &t[1]);
		n = 0;
		for (i = 0; i < N; i++)
			if (t[i].queued)
				want[n++] = t[i].due;
		assert_int_equal(h.n, n);
		qsort(want, n, sizeof(want[0]), cmp_u64);
		for (i = 0; i < n; i++) {
			struct rtptimer *m = rtptimer_min(&h);

			assert_non_null(m);
			assert_int_equal(m->due, want[i]);
			assert_true(m->due >= prev || i == 0);
			prev = m->due;
			rtptimer_del(&h, m);
		}
		assert_null(rtptimer_min(&h));
		assert_int_equal(h.n, 0);
	}
}

/* ---- engine ------------------------------------------------------------ */

static void test_engine_args(void **state)
{
	uv_loop_t loop;
	struct rtp_engine *e = NULL;
	struct sockaddr_in bind = lo4(0);
	struct sockaddr_un un;

	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(rtp_engine_alloc(&e, &loop, (struct sockaddr *)&bind, 30000, 30010, 0), EINVAL);
	assert_int_equal(rtp_engine_alloc(&e, &loop, (struct sockaddr *)&bind, 30000, 30010,
					  RTP_WORKERS_MAX + 1), EINVAL);
	assert_int_equal(rtp_engine_alloc(&e, &loop, (struct sockaddr *)&bind, 30010, 30000, 1), EINVAL);
	assert_int_equal(rtp_engine_alloc(&e, &loop, NULL, 30000, 30010, 1), EINVAL);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(rtp_engine_alloc(&e, &loop, (struct sockaddr *)&un, 30000, 30010, 1),
			 EAFNOSUPPORT);
	assert_null(e);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_relay_both_ways(void **state)
{
	struct fx *fx = *state;
	struct phone pa, pb;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx);
	uint8_t out[256], in[512];
	uint16_t from;
	ssize_t n;
	size_t len;
	struct rtp_stats st;

	assert_int_equal(rtp_leg_port(a) % 2, 0);
	assert_true(rtp_leg_port(a) >= fx->base && rtp_leg_port(a) < fx->base + BLOCK);
	assert_int_not_equal(rtp_leg_port(a), rtp_leg_port(b));
	phone_open(&pa);
	phone_open(&pb);
	set_remote(a, &pa);
	set_remote(b, &pb);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	sync_wait(fx);

	len = mk_voice(out, 1, 0x55);
	phone_send(&pa, rtp_leg_port(a), out, len);
	n = phone_recv(fx, &pb, in, sizeof(in), &from);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(from, rtp_leg_port(b));

	len = mk_voice(out, 7, 0x66);
	phone_send(&pb, rtp_leg_port(b), out, len);
	n = phone_recv(fx, &pa, in, sizeof(in), &from);
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(from, rtp_leg_port(a));

	/* A datagram as large as the engine takes goes through whole. */
	{
		uint8_t big[RTP_PKT_MAX];

		memset(big, 0xa5, sizeof(big));
		mk_voice(big, 9, 0xa5);
		phone_send(&pa, rtp_leg_port(a), big, sizeof(big));
		n = phone_recv(fx, &pb, big, sizeof(big), NULL);
		assert_int_equal(n, RTP_PKT_MAX);
	}

	WAIT_UNTIL(fx, stats(fx).relayed_packets == 3);
	st = stats(fx);
	assert_int_equal(st.rx_packets, 3);
	assert_int_equal(st.relayed_bytes, 2 * len + RTP_PKT_MAX);

	/* A burst longer than one batch arrives whole and in order. */
	{
		unsigned i;

		for (i = 0; i < 3 * RTP_BATCH + 5; i++) {
			len = mk_voice(out, (uint16_t)(1000 + i), (uint8_t)i);
			phone_send(&pa, rtp_leg_port(a), out, len);
		}
		for (i = 0; i < 3 * RTP_BATCH + 5; i++) {
			len = mk_voice(out, (uint16_t)(1000 + i), (uint8_t)i);
			n = phone_recv(fx, &pb, in, sizeof(in), NULL);
			assert_int_equal(n, (ssize_t)len);
			assert_memory_equal(in, out, len);
		}
		WAIT_UNTIL(fx, stats(fx).relayed_packets == 3 + 3 * RTP_BATCH + 5);
		len = mk_voice(out, 1, 0x55);
	}
	st = stats(fx);
	assert_int_equal(st.legs_active, 2);
	assert_int_equal(st.ports_in_use, 4);
	assert_int_equal(st.ports_total, BLOCK);
	assert_int_equal(st.workers, 1);
	assert_int_equal(st.drop_source + st.drop_nopeer + st.drop_send + st.drop_malformed, 0);

	/* Connecting again changes nothing; a leg cannot meet itself. */
	assert_int_equal(rtp_leg_connect(b, a), 0);
	assert_int_equal(rtp_leg_connect(a, a), EINVAL);
	assert_int_equal(rtp_leg_connect(a, NULL), EINVAL);
	sync_wait(fx);
	len = mk_voice(out, 2, 0x77);
	phone_send(&pa, rtp_leg_port(a), out, len);
	n = phone_recv(fx, &pb, in, sizeof(in), NULL);
	assert_memory_equal(in, out, len);

	rtp_leg_free(a);
	rtp_leg_free(b);
	sync_wait(fx);
	WAIT_UNTIL(fx, stats(fx).ports_in_use == 0);
	assert_int_equal(stats(fx).legs_active, 0);
	phone_close(&pa);
	phone_close(&pb);
}

static void test_latching(void **state)
{
	struct fx *fx = *state;
	struct phone pa, sdp, real, foreign;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx);
	uint8_t out[256], in[512];
	size_t len;
	uint64_t rx;

	phone_open(&pa);
	phone_open(&sdp);       /* where B's SDP says it is */
	phone_open(&real);      /* where B's packets really come from (NAT) */
	phone_open(&foreign);
	set_remote(a, &pa);
	set_remote(b, &sdp);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	sync_wait(fx);

	/* Before B has sent anything, the SDP address is all there is. */
	len = mk_voice(out, 1, 1);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &sdp, in, sizeof(in), NULL), (ssize_t)len);

	/* B's first packet, from another port, moves B's side there. */
	len = mk_voice(out, 2, 2);
	phone_send(&real, rtp_leg_port(b), out, len);
	assert_int_equal(phone_recv(fx, &pa, in, sizeof(in), NULL), (ssize_t)len);
	len = mk_voice(out, 3, 3);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &real, in, sizeof(in), NULL), (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_true(phone_try(&sdp, in, sizeof(in), NULL) < 0);

	/* Anyone else sending to B's port is dropped and counted. */
	rx = stat_rx(fx);
	len = mk_voice(out, 4, 4);
	phone_send(&foreign, rtp_leg_port(b), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_int_equal(stats(fx).drop_source, 1);
	assert_true(phone_try(&pa, in, sizeof(in), NULL) < 0);

	/* A re-INVITE moved B: relatch opens a new window, starting from
	 * the SDP address again. */
	rtp_leg_relatch(b);
	sync_wait(fx);
	len = mk_voice(out, 5, 5);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &sdp, in, sizeof(in), NULL), (ssize_t)len);
	len = mk_voice(out, 6, 6);
	phone_send(&foreign, rtp_leg_port(b), out, len);
	assert_int_equal(phone_recv(fx, &pa, in, sizeof(in), NULL), (ssize_t)len);
	len = mk_voice(out, 7, 7);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &foreign, in, sizeof(in), NULL), (ssize_t)len);
	/* and the old source is foreign now. */
	rx = stat_rx(fx);
	phone_send(&real, rtp_leg_port(b), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_int_equal(stats(fx).drop_source, 2);

	/* set_remote alone does not unlatch. */
	set_remote(b, &sdp);
	sync_wait(fx);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &foreign, in, sizeof(in), NULL), (ssize_t)len);

	rtp_leg_free(a);
	rtp_leg_free(b);
	phone_close(&pa);
	phone_close(&sdp);
	phone_close(&real);
	phone_close(&foreign);
}

static size_t mk_rtcp(uint8_t *p, uint8_t fill)
{
	/* A receiver report with no blocks, padded out with an APP-ish
	 * tail so that the content is recognisable. */
	memset(p, fill, 32);
	p[0] = 0x80;
	p[1] = 201;
	p[2] = 0;
	p[3] = 7;
	return 32;
}

static void test_rtcp_relay(void **state)
{
	struct fx *fx = *state;
	uint16_t pbase = free_block(4);
	struct phone pa, pa_rtcp, pb, pb_rtcp;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx);
	uint8_t out[64], in[128];
	uint16_t from;
	size_t len;
	uint64_t rx;

	/* A's RTCP is at its RTP port + 1 (the default); B announces its
	 * own (a=rtcp). */
	phone_open_at(&pa, pbase);
	phone_open_at(&pa_rtcp, (uint16_t)(pbase + 1));
	phone_open(&pb);
	phone_open(&pb_rtcp);
	set_remote(a, &pa);
	set_remote(b, &pb);
	assert_int_equal(rtp_leg_set_remote_rtcp(b, (struct sockaddr *)&pb_rtcp.addr), 0);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	sync_wait(fx);

	/* B to A first, so that A's side is not latched yet and the
	 * default (port + 1) is what is used. */
	len = mk_rtcp(out, 0x32);
	phone_send(&pb_rtcp, rtp_leg_port(b) + 1, out, len);
	assert_int_equal(phone_recv(fx, &pa_rtcp, in, sizeof(in), &from), (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(from, rtp_leg_port(a) + 1);

	len = mk_rtcp(out, 0x31);
	phone_send(&pa_rtcp, rtp_leg_port(a) + 1, out, len);
	assert_int_equal(phone_recv(fx, &pb_rtcp, in, sizeof(in), &from), (ssize_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(from, rtp_leg_port(b) + 1);

	/* RTCP latches on its own: another source on B's RTCP port is
	 * dropped, RTP is not affected. */
	rx = stat_rx(fx);
	phone_send(&pb, rtp_leg_port(b) + 1, out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_int_equal(stats(fx).drop_source, 1);
	assert_true(phone_try(&pa_rtcp, in, sizeof(in), NULL) < 0);

	/* Junk: too short for RTCP, wrong version. */
	rx = stat_rx(fx);
	phone_send(&pa_rtcp, rtp_leg_port(a) + 1, out, 4);
	out[0] = 0x40;
	phone_send(&pa_rtcp, rtp_leg_port(a) + 1, out, len);
	phone_send(&pa, rtp_leg_port(a), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 3);
	assert_int_equal(stats(fx).drop_malformed, 3);
	assert_true(phone_try(&pb_rtcp, in, sizeof(in), NULL) < 0);
	assert_true(phone_try(&pb, in, sizeof(in), NULL) < 0);

	rtp_leg_free(a);
	rtp_leg_free(b);
	phone_close(&pa);
	phone_close(&pa_rtcp);
	phone_close(&pb);
	phone_close(&pb_rtcp);
}

static void test_echo(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx);
	uint8_t out[256], in[512], rtcp[64];
	uint16_t from;
	size_t len;
	unsigned i;
	uint64_t rx;

	phone_open(&ph);
	/* No SDP address at all: echo answers whoever latched. */
	rtp_leg_echo(l);
	sync_wait(fx);
	for (i = 0; i < 3; i++) {
		len = mk_voice(out, (uint16_t)(100 + i), (uint8_t)(0x10 + i));
		phone_send(&ph, rtp_leg_port(l), out, len);
		assert_int_equal(phone_recv(fx, &ph, in, sizeof(in), &from), (ssize_t)len);
		assert_memory_equal(in, out, len);
		assert_int_equal(from, rtp_leg_port(l));
	}
	/* RTCP is not echoed. */
	rx = stat_rx(fx);
	phone_send(&ph, rtp_leg_port(l) + 1, rtcp, mk_rtcp(rtcp, 1));
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_true(phone_try(&ph, in, sizeof(in), NULL) < 0);
	assert_int_equal(stats(fx).echoed_packets, 3);

	/* Stopped: nothing comes back. */
	rtp_leg_stop(l);
	sync_wait(fx);
	rx = stat_rx(fx);
	phone_send(&ph, rtp_leg_port(l), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_true(phone_try(&ph, in, sizeof(in), NULL) < 0);
	assert_int_equal(stats(fx).drop_nopeer, 1);

	rtp_leg_free(l);
	phone_close(&ph);
}

#define FRAMES 10

static void frames_make(uint8_t *buf, struct rtp_frames *f, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		memset(buf + i * 160, (int)(i + 1), 160);
	memset(f, 0, sizeof(*f));
	f->data = buf;
	f->size = 160;
	f->count = count;
}

/* Receives n played packets and checks them against the frames. */
static void play_check(struct fx *fx, struct phone *ph, const struct rtp_frames *f,
		       unsigned n, uint8_t pt, bool marker_first, struct rtp_hdr *first,
		       struct rtp_hdr *last)
{
	uint8_t in[512];
	struct rtp_hdr h, prev;
	unsigned i;
	ssize_t len;

	for (i = 0; i < n; i++) {
		len = phone_recv(fx, ph, in, sizeof(in), NULL);
		assert_int_equal(len, RTP_HDR_LEN + 160);
		assert_int_equal(rtp_hdr_parse(in, (size_t)len, &h), 0);
		assert_int_equal(h.pt, pt);
		assert_memory_equal(in + RTP_HDR_LEN, f->data + (i % f->count) * 160, 160);
		if (i == 0) {
			assert_int_equal(h.marker, marker_first);
			*first = h;
		} else {
			assert_false(h.marker);
			assert_int_equal(h.ssrc, prev.ssrc);
			assert_int_equal((uint16_t)(prev.seq + 1), h.seq);
			assert_int_equal((uint32_t)(prev.ts + 160), h.ts);
		}
		prev = h;
	}
	*last = prev;
}

static void test_play(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx);
	static uint8_t buf[FRAMES * 160];
	struct rtp_frames f;
	struct rtp_hdr first, last, first2, last2;
	uint8_t in[512];

	frames_make(buf, &f, FRAMES);
	phone_open(&ph);
	set_remote(l, &ph);
	assert_int_equal(rtp_leg_play(l, &f, 8, true, false), 0);
	play_check(fx, &ph, &f, FRAMES, 8, true, &first, &last);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == 1);
	sync_wait(fx);
	assert_true(phone_try(&ph, in, sizeof(in), NULL) < 0);
	assert_int_equal(stats(fx).played_packets, FRAMES);

	/* The next prompt continues the leg's stream: same SSRC, next
	 * sequence number, timestamp moved on by at least a frame. */
	assert_int_equal(rtp_leg_play(l, &f, 8, false, false), 0);
	play_check(fx, &ph, &f, FRAMES, 8, false, &first2, &last2);
	assert_int_equal(first2.ssrc, first.ssrc);
	assert_int_equal(first2.seq, (uint16_t)(last.seq + 1));
	assert_true((int32_t)(first2.ts - last.ts) >= 160);
	assert_int_equal((first2.ts - last.ts) % 160, 0);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == 2);

	/* Looping: more packets than frames, and no end. */
	assert_int_equal(rtp_leg_play(l, &f, 0, true, true), 0);
	play_check(fx, &ph, &f, 2 * FRAMES + 3, 0, true, &first, &last);
	rtp_leg_stop(l);
	sync_wait(fx);
	while (phone_try(&ph, in, sizeof(in), NULL) >= 0)
		;
	sync_wait(fx);
	assert_true(phone_try(&ph, in, sizeof(in), NULL) < 0);
	assert_int_equal(count_events(fx, l, RTP_EV_PLAY_DONE), 2);

	/* Bad arguments. */
	assert_int_equal(rtp_leg_play(l, NULL, 0, false, false), EINVAL);
	f.count = 0;
	assert_int_equal(rtp_leg_play(l, &f, 0, false, false), EINVAL);
	f.count = 1;
	f.size = RTP_PKT_MAX;
	assert_int_equal(rtp_leg_play(l, &f, 0, false, false), EINVAL);
	f.size = 160;
	assert_int_equal(rtp_leg_play(l, &f, 128, false, false), EINVAL);

	rtp_leg_free(l);
	phone_close(&ph);
}

/* D()'s digits: one event per play, every packet on the event's
 * timestamp, the first marked, growing durations, three end packets; a
 * receiver's detector reads each key once. */
static void test_play_event(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx);
	struct rtp_frames f;
	struct rtp_dtmf det;
	struct rtp_event ev[2];
	struct rtp_hdr h, first = { 0 };
	uint8_t in[512];
	const char keys[] = "5#";
	uint32_t prev_ts = 0;
	char got[4] = "";
	size_t ngot = 0;

	assert_int_equal(rtp_dtmf_frames('x', &f), EINVAL);
	assert_int_equal(rtp_dtmf_frames('w', &f), EINVAL);
	assert_int_equal(rtp_dtmf_frames('d', &f), 0);
	assert_int_equal(f.data[0], 15);
	rtp_dtmf_reset(&det);
	phone_open(&ph);
	set_remote(l, &ph);
	for (int k = 0; k < 2; k++) {
		uint16_t dur = 0;
		unsigned ends = 0;

		assert_int_equal(rtp_dtmf_frames(keys[k], &f), 0);
		assert_int_equal(rtp_leg_play_event(l, &f, 101), 0);
		for (size_t i = 0; i < f.count; i++) {
			ssize_t len = phone_recv(fx, &ph, in, sizeof(in), NULL);
			uint16_t d;
			int n;

			assert_int_equal(len, RTP_HDR_LEN + 4);
			assert_int_equal(rtp_hdr_parse(in, (size_t)len, &h), 0);
			assert_int_equal(h.pt, 101);
			assert_int_equal(h.marker, i == 0);
			if (i == 0) {
				if (k)
					assert_true((int32_t)(h.ts - prev_ts) > 0);
				first = h;
			}
			assert_int_equal(h.ts, first.ts);
			assert_int_equal(in[RTP_HDR_LEN], k ? 11 : 5);
			d = (uint16_t)(in[RTP_HDR_LEN + 2] << 8 | in[RTP_HDR_LEN + 3]);
			assert_true(d >= dur);
			dur = d;
			if (in[RTP_HDR_LEN + 1] & 0x80)
				ends++;
			n = rtp_dtmf_input(&det, &h, in + RTP_HDR_LEN, ev);
			for (int e = 0; e < n; e++)
				got[ngot++] = ev[e].digit;
		}
		assert_int_equal(ends, 3);
		assert_int_equal(dur, RTP_DTMF_EVENT_MS * 8);
		prev_ts = first.ts;
		WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == (unsigned)k + 1);
	}
	assert_int_equal(ngot, 2);
	assert_memory_equal(got, "5#", 2);
	rtp_leg_free(l);
	phone_close(&ph);
}

static void test_play_replaced_and_stopped(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx);
	static uint8_t buf[FRAMES * 160];
	struct rtp_frames f, longf;

	frames_make(buf, &f, FRAMES);
	phone_open(&ph);
	set_remote(l, &ph);

	/* A long prompt replaced by a short one: only the short one's end
	 * is reported. */
	memset(&longf, 0, sizeof(longf));
	longf.data = buf;
	longf.size = 16;
	longf.count = FRAMES * 10;
	assert_int_equal(rtp_leg_play(l, &longf, 0, false, false), 0);
	f.count = 3;
	assert_int_equal(rtp_leg_play(l, &f, 0, false, false), 0);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == 1);
	sync_wait(fx);

	/* Stopped before its end: no report. */
	assert_int_equal(rtp_leg_play(l, &longf, 0, false, false), 0);
	sync_wait(fx);
	rtp_leg_stop(l);
	sync_wait(fx);
	/* A later, complete play is the second report. */
	f.count = 2;
	assert_int_equal(rtp_leg_play(l, &f, 0, false, false), 0);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == 2);

	/* Played to nowhere: frames are counted as dropped, the play still
	 * ends. */
	assert_int_equal(rtp_leg_set_remote(l, NULL), 0);
	assert_int_equal(rtp_leg_play(l, &f, 0, false, false), 0);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_PLAY_DONE) == 3);
	assert_true(stats(fx).drop_nopeer >= 2);

	rtp_leg_free(l);
	phone_close(&ph);
}

static void test_dtmf_events(void **state)
{
	struct fx *fx = *state;
	struct phone pa, pb;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx);
	uint8_t out[64], in[512];
	uint16_t seq = 10;
	unsigned i, got = 0;
	size_t len;

	phone_open(&pa);
	phone_open(&pb);
	set_remote(a, &pa);
	set_remote(b, &pb);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	rtp_leg_set_dtmf_pt(a, 101);
	sync_wait(fx);

	/* '5': three updates, then the end packet three times. */
	for (i = 0; i < 3; i++) {
		len = mk_dtmf(out, 101, seq++, 8000, 5, false, (uint16_t)(160 * (i + 1)));
		if (i == 0)
			out[1] |= 0x80;
		phone_send(&pa, rtp_leg_port(a), out, len);
	}
	for (i = 0; i < 3; i++) {
		len = mk_dtmf(out, 101, seq++, 8000, 5, true, 800);
		phone_send(&pa, rtp_leg_port(a), out, len);
	}
	/* Relayed untouched to B as well. */
	for (i = 0; i < 6; i++) {
		assert_int_equal(phone_recv(fx, &pb, in, sizeof(in), NULL), RTP_HDR_LEN + 4);
		got++;
	}
	assert_int_equal(got, 6);
	WAIT_UNTIL(fx, count_events(fx, a, RTP_EV_DTMF) == 1);
	sync_wait(fx);
	assert_int_equal(fx->nevs, 1);
	assert_int_equal(fx->evs[0].ev.digit, '5');
	assert_int_equal(fx->evs[0].ev.code, 5);
	assert_int_equal(fx->evs[0].ev.duration, 800);
	assert_true(fx->evs[0].ev.end);

	/* B's leg does not watch for digits. */
	len = mk_dtmf(out, 101, 1, 9000, 7, true, 800);
	phone_send(&pb, rtp_leg_port(b), out, len);
	assert_int_equal(phone_recv(fx, &pa, in, sizeof(in), NULL), (ssize_t)len);
	/* Another payload type is not a digit either. */
	len = mk_dtmf(out, 100, seq++, 16000, 8, true, 800);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &pb, in, sizeof(in), NULL), (ssize_t)len);

	/* '#' whose end packets are all lost, then '1'. */
	len = mk_dtmf(out, 101, seq++, 24000, 11, false, 160);
	phone_send(&pa, rtp_leg_port(a), out, len);
	len = mk_dtmf(out, 101, seq++, 32000, 1, true, 400);
	phone_send(&pa, rtp_leg_port(a), out, len);
	WAIT_UNTIL(fx, count_events(fx, a, RTP_EV_DTMF) == 3);
	assert_int_equal(fx->evs[1].ev.digit, '#');
	assert_false(fx->evs[1].ev.end);
	assert_int_equal(fx->evs[2].ev.digit, '1');
	assert_true(fx->evs[2].ev.end);
	assert_int_equal(stats(fx).dtmf_events, 3);
	assert_int_equal(count_events(fx, b, RTP_EV_DTMF), 0);

	/* A digit noted by the worker but not yet delivered when its leg is
	 * freed is never delivered. */
	len = mk_dtmf(out, 101, seq++, 40000, 9, true, 400);
	phone_send(&pa, rtp_leg_port(a), out, len);
	{
		uint64_t end = now_ms() + DEADLINE_MS;

		/* Counters only: the loop must not run before the free. */
		while (stats(fx).dtmf_events < 4) {
			assert_true(now_ms() < end);
			usleep(500);
		}
	}
	rtp_leg_free(a);
	sync_wait(fx);
	assert_int_equal(count_events(fx, a, RTP_EV_DTMF), 3);

	rtp_leg_free(b);
	phone_close(&pa);
	phone_close(&pb);
}

static void test_timeout(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx), *quiet = leg_new(fx);
	uint8_t out[256];
	size_t len;

	phone_open(&ph);
	rtp_leg_set_timeout(l, 1);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_TIMEOUT) == 1);
	assert_int_equal(stats(fx).timeouts, 1);

	/* Traffic again, then silence again: a second event. */
	len = mk_voice(out, 1, 1);
	phone_send(&ph, rtp_leg_port(l), out, len);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_TIMEOUT) == 2);
	assert_int_equal(stats(fx).timeouts, 2);

	/* Turned off: the other leg, never given a timeout, has had no
	 * event all along, and neither has this one once it is off. */
	rtp_leg_set_timeout(l, 0);
	sync_wait(fx);
	assert_int_equal(count_events(fx, quiet, RTP_EV_TIMEOUT), 0);
	assert_int_equal(count_events(fx, l, RTP_EV_TIMEOUT), 2);

	rtp_leg_free(l);
	rtp_leg_free(quiet);
	phone_close(&ph);
}

/* Record mode: the phone's audio of one payload type, in order, into the
 * buffer; full is an event, a stop is not, and after either the buffer
 * is left alone. */
static void test_record(void **state)
{
	struct fx *fx = *state;
	struct phone ph;
	struct rtp_leg *l = leg_new(fx);
	uint8_t buf[800], big[8000], out[256], other[160];
	struct rtp_rec rec, rec2;
	uint64_t rx;
	size_t len;

	phone_open(&ph);
	set_remote(l, &ph);
	rtp_leg_set_dtmf_pt(l, 101);
	memset(&rec, 0, sizeof(rec));
	assert_int_equal(rtp_leg_record(l, &rec), EINVAL);
	rec.buf = buf;
	rec.cap = sizeof(buf);
	rec.pt = 0;
	assert_int_equal(rtp_leg_record(l, &rec), 0);
	sync_wait(fx);
	memset(other, 0x55, sizeof(other));
	for (uint16_t i = 1; i <= 6; i++) {
		rx = stat_rx(fx);
		len = mk_voice(out, i, (uint8_t)i);
		phone_send(&ph, rtp_leg_port(l), out, len);
		/* A key and an A-law packet between: not audio of the call's
		 * codec, not recorded. */
		len = mk_dtmf(out, 101, (uint16_t)(100 + i), 1000, 1, false, 160);
		phone_send(&ph, rtp_leg_port(l), out, len);
		len = mk_rtp(out, 8, false, (uint16_t)(200 + i), 0, 0x11223344, other, 160);
		phone_send(&ph, rtp_leg_port(l), out, len);
		WAIT_UNTIL(fx, stat_rx(fx) >= rx + 3);
	}
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_RECORD_DONE) == 1);
	sync_wait(fx);
	assert_int_equal(rec.end, REC_FULL);
	assert_int_equal(rec.len, 800);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(buf[i * 160], i + 1);
		assert_int_equal(buf[i * 160 + 159], i + 1);
	}
	/* Keys are still heard while recording. */
	len = mk_dtmf(out, 101, 120, 1000, 1, true, 640);
	phone_send(&ph, rtp_leg_port(l), out, len);
	WAIT_UNTIL(fx, count_events(fx, l, RTP_EV_DTMF) == 1);

	/* Stopped by the main loop: no event, and nothing more written. */
	memset(&rec2, 0, sizeof(rec2));
	rec2.buf = big;
	rec2.cap = sizeof(big);
	assert_int_equal(rtp_leg_record(l, &rec2), 0);
	sync_wait(fx);
	for (uint16_t i = 10; i < 12; i++) {
		rx = stat_rx(fx);
		len = mk_voice(out, i, 9);
		phone_send(&ph, rtp_leg_port(l), out, len);
		WAIT_UNTIL(fx, stat_rx(fx) >= rx + 1);
	}
	rtp_leg_stop(l);
	sync_wait(fx);
	assert_int_equal(rec2.len, 320);
	rx = stat_rx(fx);
	len = mk_voice(out, 12, 9);
	phone_send(&ph, rtp_leg_port(l), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) >= rx + 1);
	sync_wait(fx);
	assert_int_equal(rec2.len, 320);
	assert_int_equal(rec2.end, REC_RUNNING);
	assert_int_equal(count_events(fx, l, RTP_EV_RECORD_DONE), 1);

	rtp_leg_free(l);
	phone_close(&ph);
}

static void test_hold(void **state)
{
	struct fx *fx = *state;
	struct phone pa, pb;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx);
	uint8_t out[256], in[512];
	size_t len;
	uint64_t rx;

	phone_open(&pa);
	phone_open(&pb);
	set_remote(a, &pa);
	set_remote(b, &pb);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	rtp_leg_hold(b, true);
	sync_wait(fx);

	rx = stat_rx(fx);
	len = mk_voice(out, 1, 1);
	phone_send(&pa, rtp_leg_port(a), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_int_equal(stats(fx).drop_held, 1);
	assert_true(phone_try(&pb, in, sizeof(in), NULL) < 0);
	/* The held side is still heard. */
	phone_send(&pb, rtp_leg_port(b), out, len);
	assert_int_equal(phone_recv(fx, &pa, in, sizeof(in), NULL), (ssize_t)len);

	rtp_leg_hold(b, false);
	sync_wait(fx);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &pb, in, sizeof(in), NULL), (ssize_t)len);

	/* Stopping one side disconnects both. */
	rtp_leg_stop(a);
	sync_wait(fx);
	rx = stat_rx(fx);
	phone_send(&pb, rtp_leg_port(b), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_true(phone_try(&pa, in, sizeof(in), NULL) < 0);

	rtp_leg_free(a);
	rtp_leg_free(b);
	phone_close(&pa);
	phone_close(&pb);
}

static void test_reconnect_and_free_peer(void **state)
{
	struct fx *fx = *state;
	struct phone pa, pb, pc;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx), *c = leg_new(fx);
	uint8_t out[256], in[512];
	size_t len;
	uint64_t rx;

	phone_open(&pa);
	phone_open(&pb);
	phone_open(&pc);
	set_remote(a, &pa);
	set_remote(b, &pb);
	set_remote(c, &pc);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	/* A transfer: A now talks to C, B is left idle. */
	assert_int_equal(rtp_leg_connect(a, c), 0);
	sync_wait(fx);
	len = mk_voice(out, 1, 1);
	phone_send(&pa, rtp_leg_port(a), out, len);
	assert_int_equal(phone_recv(fx, &pc, in, sizeof(in), NULL), (ssize_t)len);
	rx = stat_rx(fx);
	phone_send(&pb, rtp_leg_port(b), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_true(phone_try(&pa, in, sizeof(in), NULL) < 0);

	/* Freeing C stops A's forwarding at once. */
	rtp_leg_free(c);
	sync_wait(fx);
	rx = stat_rx(fx);
	phone_send(&pa, rtp_leg_port(a), out, len);
	WAIT_UNTIL(fx, stat_rx(fx) == rx + 1);
	assert_true(phone_try(&pc, in, sizeof(in), NULL) < 0);
	assert_int_equal(stats(fx).drop_nopeer, 2);

	rtp_leg_free(a);
	rtp_leg_free(b);
	phone_close(&pa);
	phone_close(&pb);
	phone_close(&pc);
}

static void test_pool_exhaustion(void **state)
{
	struct fx *fx = *state;
	struct rtp_leg *legs[BLOCK / 2], *l = NULL;
	struct phone ph;
	uint8_t out[256], in[512];
	unsigned i;
	size_t len;

	for (i = 0; i < BLOCK / 2; i++)
		legs[i] = leg_new(fx);
	assert_int_equal(rtp_leg_alloc(fx->e, &l, NULL, NULL), ENOSPC);
	assert_int_equal(stats(fx).ports_in_use, BLOCK);

	/* Live legs are not affected. */
	phone_open(&ph);
	rtp_leg_echo(legs[3]);
	sync_wait(fx);
	len = mk_voice(out, 1, 1);
	phone_send(&ph, rtp_leg_port(legs[3]), out, len);
	assert_int_equal(phone_recv(fx, &ph, in, sizeof(in), NULL), (ssize_t)len);

	/* The port comes back once the worker has let the leg go. */
	rtp_leg_free(legs[5]);
	sync_wait(fx);
	WAIT_UNTIL(fx, stats(fx).ports_in_use == BLOCK - 2);
	assert_int_equal(rtp_leg_alloc(fx->e, &legs[5], NULL, NULL), 0);
	assert_int_equal(rtp_leg_alloc(fx->e, &l, NULL, NULL), ENOSPC);

	for (i = 0; i < BLOCK / 2; i++)
		rtp_leg_free(legs[i]);
	phone_close(&ph);
}

static void test_set_range(void **state)
{
	struct fx *fx = *state;
	uint16_t nb = free_block(8);
	struct rtp_leg *old = leg_new(fx), *l;
	struct phone ph;
	uint8_t out[256], in[512];
	size_t len;

	assert_int_equal(rtp_engine_set_range(fx->e, nb, (uint16_t)(nb + 3)), 0);
	assert_int_equal(stats(fx).ports_total, 4);
	l = leg_new(fx);
	assert_true(rtp_leg_port(l) == nb || rtp_leg_port(l) == nb + 2);
	assert_true(rtp_leg_port(old) >= fx->base && rtp_leg_port(old) < fx->base + BLOCK);
	assert_int_equal(rtp_engine_set_range(fx->e, 10, 5), EINVAL);
	assert_int_equal(stats(fx).ports_total, 4);

	/* The old leg keeps working on its old port. */
	phone_open(&ph);
	rtp_leg_echo(old);
	sync_wait(fx);
	len = mk_voice(out, 1, 1);
	phone_send(&ph, rtp_leg_port(old), out, len);
	assert_int_equal(phone_recv(fx, &ph, in, sizeof(in), NULL), (ssize_t)len);

	rtp_leg_free(old);
	rtp_leg_free(l);
	phone_close(&ph);
}

static void test_two_workers(void **state)
{
	struct fx *fx = *state;
	struct phone pa, pb, pc;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx), *c;
	uint8_t out[256], in[512];
	size_t len;
	unsigned i;

	/* Spread over both workers, then connected: one has to move. */
	assert_ptr_not_equal(a->m.wk, b->m.wk);
	assert_int_equal(rtp_leg_alloc_near(fx->e, &c, b, on_event, fx), 0);
	assert_ptr_equal(c->m.wk, b->m.wk);
	phone_open(&pa);
	phone_open(&pb);
	phone_open(&pc);
	set_remote(a, &pa);
	set_remote(b, &pb);
	set_remote(c, &pc);
	rtp_leg_set_timeout(b, 3600);
	rtp_leg_set_dtmf_pt(b, 101);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	/* Changes made while the leg is on its way are not lost. */
	rtp_leg_hold(b, false);
	sync_wait(fx);
	WAIT_UNTIL(fx, b->m.state == LEG_ATTACHED && b->m.wk == a->m.wk);
	sync_wait(fx);

	for (i = 0; i < 5; i++) {
		len = mk_voice(out, (uint16_t)i, (uint8_t)i);
		phone_send(&pa, rtp_leg_port(a), out, len);
		assert_int_equal(phone_recv(fx, &pb, in, sizeof(in), NULL), (ssize_t)len);
		assert_memory_equal(in, out, len);
		phone_send(&pb, rtp_leg_port(b), out, len);
		assert_int_equal(phone_recv(fx, &pa, in, sizeof(in), NULL), (ssize_t)len);
	}
	len = mk_dtmf(out, 101, 1, 800, 3, true, 400);
	phone_send(&pb, rtp_leg_port(b), out, len);
	WAIT_UNTIL(fx, count_events(fx, b, RTP_EV_DTMF) == 1);

	/* Back the other way: C stays, B follows it. */
	assert_int_equal(rtp_leg_connect(c, b), 0);
	sync_wait(fx);
	WAIT_UNTIL(fx, b->m.state == LEG_ATTACHED && b->m.wk == c->m.wk);
	sync_wait(fx);
	len = mk_voice(out, 9, 9);
	phone_send(&pc, rtp_leg_port(c), out, len);
	assert_int_equal(phone_recv(fx, &pb, in, sizeof(in), NULL), (ssize_t)len);
	phone_send(&pb, rtp_leg_port(b), out, len);
	assert_int_equal(phone_recv(fx, &pc, in, sizeof(in), NULL), (ssize_t)len);

	/* Freed while moving. */
	assert_int_equal(rtp_leg_connect(a, b), 0);
	rtp_leg_free(b);
	rtp_leg_free(a);
	rtp_leg_free(c);
	sync_wait(fx);
	WAIT_UNTIL(fx, stats(fx).ports_in_use == 0);
	assert_int_equal(stats(fx).workers, 2);
	phone_close(&pa);
	phone_close(&pb);
	phone_close(&pc);
}

/* ---- stress: legs come and go while packets pour in --------------------- */

struct blaster {
	uint16_t base;
	atomic_bool stop;
	atomic_ulong sent;
	int fds[8];
};

static void *blast(void *arg)
{
	struct blaster *bl = arg;
	uint8_t out[256], in[2048];
	unsigned i = 0, k;
	size_t len;

	while (!atomic_load(&bl->stop)) {
		for (k = 0; k < 8; k++) {
			uint16_t port = (uint16_t)(bl->base + (i++ % BLOCK));
			struct sockaddr_in to = lo4(port);

			len = mk_voice(out, (uint16_t)i, (uint8_t)k);
			if (port & 1)
				len = mk_rtcp(out, (uint8_t)k);
			if (sendto(bl->fds[k], out, len, 0, (struct sockaddr *)&to, sizeof(to)) > 0)
				atomic_fetch_add(&bl->sent, 1);
			while (recv(bl->fds[k], in, sizeof(in), MSG_DONTWAIT) > 0)
				;
		}
		if (i % 64 == 0)
			usleep(50);
	}
	return NULL;
}

static void stress(struct fx *fx, unsigned rounds)
{
	struct blaster bl;
	struct rtp_leg *legs[16];
	static uint8_t buf[4 * 160];
	struct rtp_frames f;
	pthread_t th;
	unsigned r, i, j, k;

	frames_make(buf, &f, 4);
	memset(legs, 0, sizeof(legs));
	memset(&bl, 0, sizeof(bl));
	bl.base = fx->base;
	for (i = 0; i < 8; i++) {
		bl.fds[i] = udp_on(0);
		assert_true(bl.fds[i] >= 0);
	}
	assert_int_equal(pthread_create(&th, NULL, blast, &bl), 0);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < 16; i++) {
			j = (unsigned)rand() % 16;
			if (legs[j]) {
				rtp_leg_free(legs[j]);
				legs[j] = NULL;
				continue;
			}
			if (rtp_leg_alloc(fx->e, &legs[j], on_event, fx))
				continue;
			rtp_leg_set_dtmf_pt(legs[j], 0);
			rtp_leg_set_timeout(legs[j], 1);
			switch (rand() % 4) {
			case 0:
				rtp_leg_echo(legs[j]);
				break;
			case 1:
				rtp_leg_play(legs[j], &f, 0, true, rand() % 2);
				break;
			default:
				for (k = 0; k < 16; k++)
					if (legs[k] && k != j && rand() % 2) {
						rtp_leg_connect(legs[j], legs[k]);
						break;
					}
				break;
			}
		}
		fx->nevs = 0;
		pump(fx);
	}
	atomic_store(&bl.stop, true);
	pthread_join(th, NULL);
	for (i = 0; i < 16; i++)
		if (legs[i])
			rtp_leg_free(legs[i]);
	sync_wait(fx);
	WAIT_UNTIL(fx, stats(fx).ports_in_use == 0);
	assert_true(atomic_load(&bl.sent) > 0);
	assert_true(stats(fx).rx_packets > 0);
	for (i = 0; i < 8; i++)
		close(bl.fds[i]);
}

static void test_free_while_traffic(void **state)
{
	stress(*state, 300);
}

static void test_free_while_traffic_two_workers(void **state)
{
	stress(*state, 300);
}

static void test_engine_free_with_live_legs(void **state)
{
	struct fx *fx = *state;
	struct rtp_leg *a = leg_new(fx), *b = leg_new(fx), *c = leg_new(fx);
	static uint8_t buf[4 * 160];
	struct rtp_frames f;
	struct phone ph;

	frames_make(buf, &f, 4);
	phone_open(&ph);
	set_remote(c, &ph);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	assert_int_equal(rtp_leg_play(c, &f, 0, false, true), 0);
	rtp_leg_set_timeout(a, 1);
	assert_int_equal(rtp_engine_sync(fx->e, on_sync, fx), 0);
	/* Freed with legs, a pending sync and maybe pending events: the
	 * teardown frees everything (LeakSanitizer checks). */
	rtp_engine_free(fx->e);
	fx->e = NULL;
	phone_close(&ph);
}

/* Event handlers may free legs, their own and others. */
static void free_on_timeout(struct rtp_leg *l, const struct rtp_event *ev, void *arg)
{
	struct rtp_leg **other = arg;

	if (ev->type != RTP_EV_TIMEOUT)
		return;
	rtp_leg_free(l);
	if (*other) {
		rtp_leg_free(*other);
		*other = NULL;
	}
}

static void test_free_from_handler(void **state)
{
	struct fx *fx = *state;
	struct rtp_leg *a, *b = NULL, *none = NULL;

	assert_int_equal(rtp_leg_alloc(fx->e, &a, free_on_timeout, &b), 0);
	assert_int_equal(rtp_leg_alloc(fx->e, &b, free_on_timeout, &none), 0);
	assert_int_equal(rtp_leg_connect(a, b), 0);
	rtp_leg_set_timeout(a, 1);
	WAIT_UNTIL(fx, stats(fx).legs_active == 0);
	assert_null(b);
	WAIT_UNTIL(fx, stats(fx).ports_in_use == 0);
}

/* And the engine itself, from a handler. */
static void free_engine(struct rtp_leg *l, const struct rtp_event *ev, void *arg)
{
	struct fx *fx = arg;

	rtp_engine_free(fx->e);
	fx->e = NULL;
}

static void test_free_engine_from_handler(void **state)
{
	struct fx *fx = *state;
	struct rtp_leg *a, *b;

	assert_int_equal(rtp_leg_alloc(fx->e, &a, free_engine, fx), 0);
	assert_int_equal(rtp_leg_alloc(fx->e, &b, free_engine, fx), 0);
	rtp_leg_set_timeout(a, 1);
	rtp_leg_set_timeout(b, 1);
	WAIT_UNTIL(fx, fx->e == NULL);
}

static void test_ipv6_relay(void **state)
{
	uv_loop_t loop;
	struct rtp_engine *e;
	struct rtp_leg *a, *b;
	struct sockaddr_in6 bind6, pa, pb;
	socklen_t sl = sizeof(pa);
	int fa, fb;
	uint8_t out[256], in[512];
	size_t len;
	ssize_t n = -1;
	uint64_t end;
	struct sockaddr_in v4 = lo4(1234);

	memset(&bind6, 0, sizeof(bind6));
	bind6.sin6_family = AF_INET6;
	bind6.sin6_addr = in6addr_loopback;
	fa = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fa < 0 || bind(fa, (struct sockaddr *)&bind6, sizeof(bind6)) < 0) {
		if (fa >= 0)
			close(fa);
		skip();
	}
	fb = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_int_equal(bind(fb, (struct sockaddr *)&bind6, sizeof(bind6)), 0);
	assert_int_equal(getsockname(fa, (struct sockaddr *)&pa, &sl), 0);
	sl = sizeof(pb);
	assert_int_equal(getsockname(fb, (struct sockaddr *)&pb, &sl), 0);

	assert_int_equal(uv_loop_init(&loop), 0);
	{
		uint16_t base = free_block(8);

		assert_int_equal(rtp_engine_alloc(&e, &loop, (struct sockaddr *)&bind6,
						  base, (uint16_t)(base + 7), 1), 0);
	}
	assert_int_equal(rtp_leg_alloc(e, &a, NULL, NULL), 0);
	assert_int_equal(rtp_leg_alloc(e, &b, NULL, NULL), 0);
	assert_int_equal(rtp_leg_set_remote(a, (struct sockaddr *)&v4), EAFNOSUPPORT);
	assert_int_equal(rtp_leg_set_remote(b, (struct sockaddr *)&pb), 0);
	assert_int_equal(rtp_leg_connect(a, b), 0);

	len = mk_voice(out, 1, 0x61);
	end = now_ms() + DEADLINE_MS;
	/* The first packets may beat the settings to the worker; keep
	 * sending until one comes through. */
	while (n < 0) {
		struct sockaddr_in6 to = bind6;

		assert_true(now_ms() < end);
		to.sin6_port = htons(rtp_leg_port(a));
		sendto(fa, out, len, 0, (struct sockaddr *)&to, sizeof(to));
		uv_run(&loop, UV_RUN_NOWAIT);
		usleep(1000);
		n = recv(fb, in, sizeof(in), MSG_DONTWAIT);
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(in, out, len);

	rtp_leg_free(a);
	rtp_leg_free(b);
	rtp_engine_free(e);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	close(fa);
	close(fb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hdr_parse),
		cmocka_unit_test(test_dtmf_detector),
		cmocka_unit_test(test_timer_heap),
		cmocka_unit_test(test_engine_args),
		cmocka_unit_test_setup_teardown(test_relay_both_ways, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_latching, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rtcp_relay, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_echo, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_play, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_play_event, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_play_replaced_and_stopped, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dtmf_events, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_timeout, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_hold, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_record, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_and_free_peer, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pool_exhaustion, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_set_range, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_two_workers, fx_setup2, fx_teardown),
		cmocka_unit_test_setup_teardown(test_free_while_traffic, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_free_while_traffic_two_workers, fx_setup2, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_free_with_live_legs, fx_setup2, fx_teardown),
		cmocka_unit_test_setup_teardown(test_free_from_handler, fx_setup2, fx_teardown),
		cmocka_unit_test_setup_teardown(test_free_engine_from_handler, fx_setup2, fx_teardown),
		cmocka_unit_test(test_ipv6_relay),
	};

	srand((unsigned)time(NULL) ^ (unsigned)getpid());
	return cmocka_run_group_tests(tests, NULL, NULL);
}
