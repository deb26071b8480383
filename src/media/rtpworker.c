/*
 * rtpworker.c - the RTP fast path: one thread, one epoll set, many legs.
 *
 * Each pass of the loop reads every readable socket with one recvmmsg()
 * into preallocated buffers, checks each datagram (version, latched
 * source, DTMF), and sends what is left on with one sendmmsg() straight
 * from those buffers; nothing is allocated or locked per packet.  After
 * the sockets come the main loop's commands (an eventfd says there are
 * some) and then the deadlines: playback frames and silence timeouts, in
 * a heap behind one timerfd armed at the earliest deadline.  Counters are
 * plain per-thread numbers published once per pass with relaxed stores.
 *
 * Playback is scheduled by absolute time: frame n is due at start + n x
 * 20 ms, whatever time the previous one went out, so the stream does not
 * drift; a worker that fell far behind starts a fresh schedule rather
 * than sending a burst.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "media/rtp_int.h"
#include "media/rtppkt.h"
#include "util/log.h"

#define NS_PER_MS 1000000ull
#define PTIME_NS ((uint64_t)RTP_PTIME_MS * NS_PER_MS)
/* Deadlines this close are served now: one wake-up for several legs. */
#define TIMER_SLACK_NS (NS_PER_MS / 2)
/* Further behind than this, playback restarts its schedule. */
#define PLAY_LATE_NS (100 * NS_PER_MS)
#define EPOLL_EVENTS 128

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static socklen_t addr_len(const union rtp_addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (a->sa.sa_family == AF_INET6)
		return sizeof(struct sockaddr_in6);
	return 0;
}

static bool addr_eq(const union rtp_addr *a, const union rtp_addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr,
			      sizeof(a->in6.sin6_addr)) == 0;
	return false;
}

static uint16_t addr_port(const union rtp_addr *a)
{
	return ntohs(a->sa.sa_family == AF_INET ? a->in.sin_port : a->in6.sin6_port);
}

static void addr_set_port(union rtp_addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

/* Where packets toward the phone go: the latched source, else what SDP
 * said; RTCP defaults to the RTP address with port + 1. */
static void leg_dst_update(struct rtp_leg *l)
{
	struct leg_work *lw = &l->w;

	if (lw->is_latched[0])
		lw->dst[0] = lw->latched[0];
	else
		lw->dst[0] = lw->cfg.remote;
	lw->dstlen[0] = addr_len(&lw->dst[0]);

	if (lw->is_latched[1]) {
		lw->dst[1] = lw->latched[1];
	} else if (lw->cfg.remote_rtcp.sa.sa_family) {
		lw->dst[1] = lw->cfg.remote_rtcp;
	} else {
		lw->dst[1] = lw->dst[0];
		if (lw->dstlen[0] && addr_port(&lw->dst[0]) < 65535)
			addr_set_port(&lw->dst[1], (uint16_t)(addr_port(&lw->dst[0]) + 1));
		else
			lw->dst[1].sa.sa_family = 0;
	}
	lw->dstlen[1] = addr_len(&lw->dst[1]);
}

/* --- notes to the main loop (rare: digits, timeouts, ends of plays) --- */

static void note_dtmf(struct rtp_worker *w, struct rtp_leg *l, const struct rtp_event *ev)
{
	struct rtp_engine *e = w->e;

	pthread_mutex_lock(&e->lock);
	if (l->note.ndtmf < LEG_DTMF_QUEUE)
		l->note.dtmf[l->note.ndtmf++] = *ev;
	rtp_note_link(e, l);
	pthread_mutex_unlock(&e->lock);
	w->notify = true;
}

static void note_timeout(struct rtp_worker *w, struct rtp_leg *l)
{
	struct rtp_engine *e = w->e;

	pthread_mutex_lock(&e->lock);
	l->note.timeout = true;
	rtp_note_link(e, l);
	pthread_mutex_unlock(&e->lock);
	w->notify = true;
}

static void note_play_done(struct rtp_worker *w, struct rtp_leg *l, uint32_t gen)
{
	struct rtp_engine *e = w->e;

	pthread_mutex_lock(&e->lock);
	l->note.play_done = true;
	l->note.play_gen = gen;
	rtp_note_link(e, l);
	pthread_mutex_unlock(&e->lock);
	w->notify = true;
}

static void note_rec_done(struct rtp_worker *w, struct rtp_leg *l, uint32_t gen)
{
	struct rtp_engine *e = w->e;

	pthread_mutex_lock(&e->lock);
	l->note.rec_done = true;
	l->note.rec_gen = gen;
	rtp_note_link(e, l);
	pthread_mutex_unlock(&e->lock);
	w->notify = true;
}

/* --- timers ----------------------------------------------------------- */

static void idle_arm(struct rtp_worker *w, struct rtp_leg *l)
{
	struct leg_work *lw = &l->w;

	if (lw->cfg.timeout_ms && !lw->timed_out)
		rtptimer_add(&w->timers, &lw->idle_t,
			     lw->last_rx + (uint64_t)lw->cfg.timeout_ms * NS_PER_MS);
	else
		rtptimer_del(&w->timers, &lw->idle_t);
}

static void idle_tick(struct rtp_worker *w, struct rtp_leg *l)
{
	struct leg_work *lw = &l->w;
	uint64_t due = lw->last_rx + (uint64_t)lw->cfg.timeout_ms * NS_PER_MS;

	/* Packets arriving only move last_rx; the deadline catches up here,
	 * once per timeout period instead of once per packet. */
	if (due > w->now + TIMER_SLACK_NS) {
		rtptimer_add(&w->timers, &lw->idle_t, due);
		return;
	}
	rtptimer_del(&w->timers, &lw->idle_t);
	lw->timed_out = true;
	w->cnt[C_TIMEOUT]++;
	note_timeout(w, l);
}

static void play_send(struct rtp_worker *w, struct rtp_leg *l, uint64_t due)
{
	struct leg_work *lw = &l->w;
	const struct rtp_frames *f = &lw->cfg.frames;
	uint8_t hdr[RTP_HDR_LEN];
	struct iovec iov[2];
	struct msghdr mh;
	uint64_t gap;

	lw->seq++;
	if (lw->play_first && lw->last_play) {
		/* A new play continues the leg's timeline: the timestamp
		 * jumps by the time that passed since the last frame. */
		gap = (due - lw->last_play) / PTIME_NS;
		lw->ts += f->ts_step * (uint32_t)(gap ? gap : 1);
	} else if (!lw->play_first && !lw->cfg.event) {
		lw->ts += f->ts_step;
	}
	lw->play_first = false;
	lw->last_play = due;
	rtp_hdr_write(hdr, lw->cfg.pt, lw->marker, lw->seq, lw->ts, lw->ssrc);
	lw->marker = false;

	if (!lw->dstlen[0]) {
		w->cnt[C_DROP_NOPEER]++;
		return;
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)(f->data + lw->play_idx * f->size);
	iov[1].iov_len = f->size;
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = &lw->dst[0];
	mh.msg_namelen = lw->dstlen[0];
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (sendmsg(l->sock[0].fd, &mh, MSG_DONTWAIT) < 0)
		w->cnt[C_DROP_SEND]++;
	else
		w->cnt[C_PLAY]++;
}

static void play_tick(struct rtp_worker *w, struct rtp_leg *l)
{
	struct leg_work *lw = &l->w;
	uint64_t due = lw->play_t.due, next;

	play_send(w, l, due);
	if (++lw->play_idx >= lw->cfg.frames.count) {
		if (!lw->cfg.loop) {
			rtptimer_del(&w->timers, &lw->play_t);
			lw->playing = false;
			note_play_done(w, l, lw->cfg.play_gen);
			return;
		}
		lw->play_idx = 0;
	}
	next = due + PTIME_NS;
	if (next + PLAY_LATE_NS < w->now)
		next = w->now;
	rtptimer_add(&w->timers, &lw->play_t, next);
}

static void play_start(struct rtp_worker *w, struct rtp_leg *l)
{
	struct leg_work *lw = &l->w;

	lw->playing = true;
	lw->play_first = true;
	lw->play_idx = 0;
	lw->marker = lw->cfg.marker_first;
	rtptimer_add(&w->timers, &lw->play_t, w->now);
}

static void play_stop(struct rtp_worker *w, struct rtp_leg *l)
{
	rtptimer_del(&w->timers, &l->w.play_t);
	l->w.playing = false;
}

static void timers_run(struct rtp_worker *w)
{
	struct rtptimer *t;
	struct rtp_leg *l;
	struct itimerspec its;
	uint64_t want;

	w->now = mono_ns();
	while ((t = rtptimer_min(&w->timers)) && t->due <= w->now + TIMER_SLACK_NS) {
		l = t->arg;
		if (t == &l->w.play_t)
			play_tick(w, l);
		else
			idle_tick(w, l);
	}
	t = rtptimer_min(&w->timers);
	want = t ? t->due : 0;
	if (want == w->armed)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(want / 1000000000ull);
	its.it_value.tv_nsec = (long)(want % 1000000000ull);
	if (timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		w->armed = want;
}

/* --- the fast path ------------------------------------------------------ */

/* First valid packet latches; afterwards only that source is accepted. */
static bool latch_accept(struct rtp_leg *l, unsigned k, const union rtp_addr *src)
{
	struct leg_work *lw = &l->w;

	if (lw->is_latched[k])
		return addr_eq(&lw->latched[k], src);
	lw->latched[k] = *src;
	lw->is_latched[k] = true;
	leg_dst_update(l);
	return true;
}

static void dtmf_check(struct rtp_worker *w, struct rtp_leg *l, const uint8_t *p, size_t len)
{
	struct rtp_event ev[2];
	struct rtp_hdr h;
	int i, n;

	if (rtp_hdr_parse(p, len, &h))
		return;
	n = rtp_dtmf_input(&l->w.dtmf, &h, p + h.off, ev);
	for (i = 0; i < n; i++) {
		w->cnt[C_DTMF]++;
		note_dtmf(w, l, &ev[i]);
	}
}

/* Sends the first n entries of w->txiov from fd to dst; returns how many
 * went out and their bytes in *bytes.  The rest count as send drops. */
static int send_batch(struct rtp_worker *w, int fd, union rtp_addr *dst,
		      socklen_t dstlen, int n, uint64_t *bytes)
{
	int i, r, sent = 0;

	for (i = 0; i < n; i++) {
		w->tx[i].msg_hdr.msg_name = dst;
		w->tx[i].msg_hdr.msg_namelen = dstlen;
	}
	while (sent < n) {
		r = sendmmsg(fd, w->tx + sent, (unsigned)(n - sent), MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sent += r;
	}
	*bytes = 0;
	for (i = 0; i < sent; i++)
		*bytes += w->txiov[i].iov_len;
	w->cnt[C_DROP_SEND] += (uint64_t)(n - sent);
	return sent;
}

/* The batch's audio into the leg's recording (DTMF and comfort noise
 * have other payload types and are left out). */
static void record_batch(struct rtp_worker *w, struct rtp_leg *l, int n)
{
	struct rtp_rec *rec = l->w.cfg.rec;
	struct rtp_hdr h;

	for (int i = 0; i < n; i++) {
		const uint8_t *p = w->txiov[i].iov_base;

		if (rtp_hdr_parse(p, w->txiov[i].iov_len, &h) || h.pt != rec->pt)
			continue;
		if (rec_input(rec, p + h.off, h.plen)) {
			note_rec_done(w, l, l->w.cfg.rec_gen);
			break;
		}
	}
}

static void sock_read(struct rtp_worker *w, struct rtp_sock *s)
{
	struct rtp_leg *l = s->leg, *p;
	struct leg_work *lw = &l->w;
	unsigned k = s->rtcp;
	bool rtp_seen = false;
	uint64_t bytes;
	int i, n, sent, out = 0;

	n = recvmmsg(s->fd, w->rx, RTP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	for (i = 0; i < n; i++) {
		struct msghdr *mh = &w->rx[i].msg_hdr;
		uint8_t *pkt = w->rxiov[i].iov_base;
		size_t len = w->rx[i].msg_len;
		bool bad;

		w->cnt[C_RX_PKT]++;
		w->cnt[C_RX_BYTES] += len;
		bad = (mh->msg_flags & MSG_TRUNC) ||
		      !rtp_looks_valid(pkt, len, k ? RTCP_HDR_MIN : RTP_HDR_LEN);
		/* Value-result: the next recvmmsg() needs room again. */
		mh->msg_namelen = sizeof(union rtp_addr);
		if (bad) {
			w->cnt[C_DROP_MALFORMED]++;
			continue;
		}
		if (!latch_accept(l, k, &w->rxsrc[i])) {
			w->cnt[C_DROP_SOURCE]++;
			continue;
		}
		if (!k) {
			rtp_seen = true;
			if (lw->cfg.dtmf_pt >= 0 && (pkt[1] & 0x7f) == lw->cfg.dtmf_pt)
				dtmf_check(w, l, pkt, len);
		}
		w->txiov[out].iov_base = pkt;
		w->txiov[out].iov_len = len;
		out++;
	}
	if (rtp_seen) {
		lw->last_rx = w->now;
		if (lw->timed_out) {
			lw->timed_out = false;
			idle_arm(w, l);
		}
	}
	if (!out)
		return;

	switch (lw->cfg.mode) {
	case LEG_RELAY:
		p = lw->cfg.peer;
		if (!p || !p->w.dstlen[k])
			w->cnt[C_DROP_NOPEER] += (uint64_t)out;
		else if (p->w.cfg.hold)
			w->cnt[C_DROP_HELD] += (uint64_t)out;
		else {
			sent = send_batch(w, p->sock[k].fd, &p->w.dst[k],
					  p->w.dstlen[k], out, &bytes);
			w->cnt[C_RELAY_PKT] += (uint64_t)sent;
			w->cnt[C_RELAY_BYTES] += bytes;
		}
		break;
	case LEG_ECHO:
		/* RTCP is not echoed: a sender reading its own reports back
		 * would take them for a looped stream. */
		if (!k) {
			sent = send_batch(w, s->fd, &lw->dst[0], lw->dstlen[0],
					  out, &bytes);
			w->cnt[C_ECHO] += (uint64_t)sent;
		}
		break;
	case LEG_RECORD:
		if (!k && lw->cfg.rec)
			record_batch(w, l, out);
		break;
	case LEG_PLAY:
		break;
	case LEG_IDLE:
		w->cnt[C_DROP_NOPEER] += (uint64_t)out;
		break;
	}
}

/* --- commands from the main loop --------------------------------------- */

static void leg_attach(struct rtp_worker *w, struct rtp_leg *l)
{
	struct epoll_event ev;
	int i;

	for (i = 0; i < 2; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &l->sock[i];
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, l->sock[i].fd, &ev) < 0)
			log_event(LOG_ERROR, "rtp_attach_failed", "port=%u err=%d",
				  (unsigned)(l->port + i), errno);
	}
	l->w.attached = true;
	if (l->w.playing)
		rtptimer_add(&w->timers, &l->w.play_t,
			     l->w.play_t.due > w->now ? l->w.play_t.due : w->now);
	idle_arm(w, l);
}

static void leg_detach(struct rtp_worker *w, struct rtp_leg *l)
{
	struct rtp_leg *p = l->w.cfg.peer;
	int i;

	for (i = 0; i < 2; i++)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, l->sock[i].fd, NULL);
	rtptimer_del(&w->timers, &l->w.play_t);
	rtptimer_del(&w->timers, &l->w.idle_t);
	/* The main loop sends the peer its own change in the same batch;
	 * this only makes the order of the two not matter. */
	if (p && p->w.cfg.peer == l)
		p->w.cfg.peer = NULL;
	l->w.cfg.peer = NULL;
	l->w.attached = false;
}

static void leg_apply(struct rtp_worker *w, struct rtp_leg *l, const struct rtp_cfg *cfg)
{
	struct leg_work *lw = &l->w;
	bool new_play, new_latch, new_timeout, new_dtmf;

	new_play = cfg->mode == LEG_PLAY &&
		   (lw->cfg.mode != LEG_PLAY || lw->cfg.play_gen != cfg->play_gen);
	new_latch = cfg->latch_gen != lw->cfg.latch_gen;
	new_timeout = cfg->timeout_gen != lw->cfg.timeout_gen;
	new_dtmf = cfg->dtmf_pt != lw->cfg.dtmf_pt;
	lw->cfg = *cfg;

	if (new_latch)
		lw->is_latched[0] = lw->is_latched[1] = false;
	leg_dst_update(l);
	if (cfg->mode != LEG_PLAY || new_play)
		play_stop(w, l);
	if (new_play)
		play_start(w, l);
	if (new_timeout) {
		lw->last_rx = w->now;
		lw->timed_out = false;
		idle_arm(w, l);
	}
	if (new_dtmf)
		rtp_dtmf_reset(&lw->dtmf);
}

/* Returns true when the leg was detached. */
static bool leg_command(struct rtp_worker *w, struct rtp_leg *l, const struct leg_pend *p)
{
	if (p->attach)
		leg_attach(w, l);
	if (p->cfg_set)
		leg_apply(w, l, &p->cfg);
	if (p->detach) {
		leg_detach(w, l);
		return true;
	}
	return false;
}

/*
 * Apply every queued command.  Returns true when the thread is to exit.
 * Legs detached here are returned in *detached; the main loop hears of
 * them only from worker_publish(), after this batch's packets have been
 * read, so that it frees nothing a pending socket event still names.
 */
static bool worker_commands(struct rtp_worker *w, struct rtp_leg **detached)
{
	struct rtp_engine *e = w->e;
	struct rtp_leg *l, *next;
	struct leg_pend p;
	uint64_t v;

	while (read(w->evfd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	w->now = mono_ns();
	pthread_mutex_lock(&e->lock);
	if (w->stop) {
		pthread_mutex_unlock(&e->lock);
		return true;
	}
	l = w->cmd_head;
	w->cmd_head = w->cmd_tail = NULL;
	w->sync_seen = w->sync_want;
	pthread_mutex_unlock(&e->lock);

	while (l) {
		pthread_mutex_lock(&e->lock);
		next = l->pend.next;
		p = l->pend;
		l->pend.cfg_set = l->pend.attach = l->pend.detach = false;
		l->pend.queued = false;
		l->pend.next = NULL;
		pthread_mutex_unlock(&e->lock);
		if (leg_command(w, l, &p)) {
			l->w.dnext = *detached;
			*detached = l;
		}
		l = next;
	}
	return false;
}

/* Tell the main loop which legs are detached and which syncs are done. */
static void worker_publish(struct rtp_worker *w, struct rtp_leg *detached)
{
	struct rtp_engine *e = w->e;
	struct rtp_leg *l, *next;

	pthread_mutex_lock(&e->lock);
	for (l = detached; l; l = next) {
		next = l->w.dnext;
		l->w.dnext = NULL;
		l->note.detached = true;
		rtp_note_link(e, l);
		w->notify = true;
	}
	if (w->sync_seen > w->sync_done) {
		w->sync_done = w->sync_seen;
		w->notify = true;
	}
	pthread_mutex_unlock(&e->lock);
}

static void counters_publish(struct rtp_worker *w)
{
	int i;

	for (i = 0; i < C_MAX; i++)
		atomic_store_explicit(&w->pub[i], w->cnt[i], memory_order_relaxed);
}

static void *worker_main(void *arg)
{
	struct rtp_worker *w = arg;
	struct epoll_event evs[EPOLL_EVENTS];
	struct rtp_leg *detached;
	uint64_t v;
	int i, n;

	for (;;) {
		n = epoll_wait(w->epfd, evs, EPOLL_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_event(LOG_ERROR, "rtp_worker_failed", "err=%d", errno);
			break;
		}
		w->now = mono_ns();
		detached = NULL;
		/* Commands first: a packet that arrives with the command that
		 * gives its leg a mode (echo right after answer) is not lost. */
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &w->evfd && worker_commands(w, &detached))
				goto out;
		}
		for (i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			struct rtp_sock *sk = tag;

			if (tag == &w->evfd)
				continue;
			if (tag == &w->tfd) {
				while (read(w->tfd, &v, sizeof(v)) < 0 && errno == EINTR)
					;
				w->armed = 0;
			} else if (sk->leg->w.attached) {
				sock_read(w, sk);
			}
		}
		worker_publish(w, detached);
		timers_run(w);
		counters_publish(w);
		if (w->notify) {
			w->notify = false;
			uv_async_send(&w->e->async);
		}
	}
 out:
	counters_publish(w);
	return NULL;
}

/* --- life cycle (main loop) --------------------------------------------- */

static int epoll_add_tag(int epfd, int fd, void *tag)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = tag;
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? errno : 0;
}

int rtp_worker_init(struct rtp_worker *w, struct rtp_engine *e)
{
	int i, err;

	w->e = e;
	w->epfd = w->evfd = w->tfd = -1;
	rtptimer_heap_init(&w->timers);
	w->buf = malloc((size_t)RTP_BATCH * RTP_PKT_MAX);
	if (!w->buf)
		return ENOMEM;
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (w->epfd < 0 || w->evfd < 0 || w->tfd < 0)
		return errno;
	err = epoll_add_tag(w->epfd, w->evfd, &w->evfd);
	if (err)
		return err;
	err = epoll_add_tag(w->epfd, w->tfd, &w->tfd);
	if (err)
		return err;
	for (i = 0; i < RTP_BATCH; i++) {
		w->rxiov[i].iov_base = w->buf + (size_t)i * RTP_PKT_MAX;
		w->rxiov[i].iov_len = RTP_PKT_MAX;
		memset(&w->rx[i], 0, sizeof(w->rx[i]));
		w->rx[i].msg_hdr.msg_name = &w->rxsrc[i];
		w->rx[i].msg_hdr.msg_namelen = sizeof(w->rxsrc[i]);
		w->rx[i].msg_hdr.msg_iov = &w->rxiov[i];
		w->rx[i].msg_hdr.msg_iovlen = 1;
		memset(&w->tx[i], 0, sizeof(w->tx[i]));
		w->tx[i].msg_hdr.msg_iov = &w->txiov[i];
		w->tx[i].msg_hdr.msg_iovlen = 1;
	}
	for (i = 0; i < C_MAX; i++)
		atomic_init(&w->pub[i], 0);
	return 0;
}

int rtp_worker_start(struct rtp_worker *w)
{
	sigset_t all, old;
	char name[16];
	int err;

	/* Signals are the main loop's business. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		return err;
	/* Shows in top -H and in core dumps. */
	snprintf(name, sizeof(name), "kv-rtp%u", (unsigned)(w - w->e->workers));
	pthread_setname_np(w->thread, name);
	w->started = true;
	return 0;
}

void rtp_worker_wake(struct rtp_worker *w)
{
	uint64_t one = 1;

	/* EAGAIN means the counter is already non-zero: the worker will
	 * wake anyway. */
	while (write(w->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void rtp_worker_stop(struct rtp_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->e->lock);
	w->stop = true;
	pthread_mutex_unlock(&w->e->lock);
	rtp_worker_wake(w);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void rtp_worker_close(struct rtp_worker *w)
{
	if (w->tfd >= 0)
		close(w->tfd);
	if (w->evfd >= 0)
		close(w->evfd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->tfd = w->evfd = w->epfd = -1;
	free(w->buf);
	w->buf = NULL;
}
