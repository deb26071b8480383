/*
 * rtp.c - the relay engine's main-loop side: legs, modes, events.
 *
 * The main loop keeps the authoritative settings of every leg (m.cfg).
 * Each API call changes them and posts a copy to the leg's worker (the
 * pend mailbox, linked on the worker's command list and signalled with its
 * eventfd); a worker posts back digits, timeouts, ends of plays and
 * detach confirmations (the note mailbox, one uv_async_send() per worker
 * pass).  Mailboxes are per leg, so nothing here allocates per command or
 * per event, and a burst of changes to one leg reaches its worker as one.
 *
 * Freeing and moving a leg are two-step: the worker is asked to detach it,
 * and only its confirmation lets the main loop close the sockets and free
 * the memory, or hand the leg to its new worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/rtp_int.h"
#include "util/rand.h"

#define TIMEOUT_MAX_S 86400u

static void engine_kick(struct rtp_engine *e)
{
	unsigned i;

	for (i = 0; i < e->nworkers; i++) {
		if (e->workers[i].kick) {
			e->workers[i].kick = false;
			rtp_worker_wake(&e->workers[i]);
		}
	}
}

/* Under lock: l has mail for worker w. */
static void cmd_link(struct rtp_worker *w, struct rtp_leg *l)
{
	if (!l->pend.queued) {
		l->pend.queued = true;
		l->pend.next = NULL;
		if (w->cmd_tail)
			w->cmd_tail->pend.next = l;
		else
			w->cmd_head = l;
		w->cmd_tail = l;
	}
	w->kick = true;
}

void rtp_note_link(struct rtp_engine *e, struct rtp_leg *l)
{
	if (l->note.queued)
		return;
	l->note.queued = true;
	l->note.next = NULL;
	if (e->note_tail)
		e->note_tail->note.next = l;
	else
		e->note_head = l;
	e->note_tail = l;
}

static struct rtp_worker *leg_target(const struct rtp_leg *l)
{
	return l->m.state == LEG_MOVING ? l->m.move_to : l->m.wk;
}

/* The worker may forward to the peer only once both run there. */
static struct rtp_leg *effective_peer(const struct rtp_leg *l)
{
	struct rtp_leg *p = l->m.cfg.peer;

	if (!p || p->m.state != LEG_ATTACHED || l->m.state != LEG_ATTACHED ||
	    p->m.wk != l->m.wk)
		return NULL;
	return p;
}

/* Under lock: send the leg's settings to its worker. */
static void leg_post(struct rtp_leg *l)
{
	if (l->m.state != LEG_ATTACHED)
		return;
	l->pend.cfg = l->m.cfg;
	l->pend.cfg.peer = effective_peer(l);
	l->pend.cfg_set = true;
	cmd_link(l->m.wk, l);
}

/* Under lock: l's peer (if any) loses it and goes idle. */
static void leg_unpeer(struct rtp_leg *l)
{
	struct rtp_leg *p = l->m.cfg.peer;

	if (!p)
		return;
	p->m.cfg.peer = NULL;
	p->m.cfg.mode = LEG_IDLE;
	leg_post(p);
	l->m.cfg.peer = NULL;
	if (l->m.cfg.mode == LEG_RELAY)
		l->m.cfg.mode = LEG_IDLE;
}

/* Under lock: l is to run on worker to. */
static void leg_move(struct rtp_leg *l, struct rtp_worker *to)
{
	if (l->m.state == LEG_MOVING) {
		l->m.move_to->nlegs--;
		l->m.move_to = to;
		to->nlegs++;
		return;
	}
	l->pend.detach = true;
	cmd_link(l->m.wk, l);
	l->m.wk->nlegs--;
	to->nlegs++;
	l->m.state = LEG_MOVING;
	l->m.move_to = to;
}

/* Closes the sockets and frees; the caller has unlinked l. */
static void leg_release(struct rtp_engine *e, struct rtp_leg *l)
{
	close(l->sock[0].fd);
	close(l->sock[1].fd);
	portpool_put(e->pool, l->port);
	e->legs_open--;
	free(l);
}

static void leg_destroy(struct rtp_engine *e, struct rtp_leg *l)
{
	list_unlink(&l->m.link);
	leg_release(e, l);
}

/* The worker has let go of l: free it, or give it to its new worker. */
static void leg_detached(struct rtp_engine *e, struct rtp_leg *l)
{
	if (l->m.state == LEG_FREEING) {
		leg_destroy(e, l);
		return;
	}
	if (l->m.state != LEG_MOVING)
		return;
	pthread_mutex_lock(&e->lock);
	l->m.wk = l->m.move_to;
	l->m.move_to = NULL;
	l->m.state = LEG_ATTACHED;
	l->pend.attach = true;
	leg_post(l);
	if (l->m.cfg.peer)
		leg_post(l->m.cfg.peer);
	pthread_mutex_unlock(&e->lock);
	engine_kick(e);
}

static bool leg_live(const struct rtp_engine *e, const struct rtp_leg *l)
{
	return !e->closing && l->m.state != LEG_FREEING;
}

static void leg_deliver(struct rtp_engine *e, struct rtp_leg *l, const struct leg_note *n)
{
	struct rtp_event ev;
	unsigned i;

	for (i = 0; i < n->ndtmf && leg_live(e, l); i++)
		if (l->m.evh)
			l->m.evh(l, &n->dtmf[i], l->m.arg);
	if (n->timeout && leg_live(e, l) && l->m.evh) {
		memset(&ev, 0, sizeof(ev));
		ev.type = RTP_EV_TIMEOUT;
		l->m.evh(l, &ev, l->m.arg);
	}
	/* Only the end of the play the caller last started counts; one
	 * that was replaced or stopped meanwhile is not reported. */
	if (n->play_done && leg_live(e, l) && l->m.playing &&
	    n->play_gen == l->m.cfg.play_gen) {
		l->m.playing = false;
		if (l->m.evh) {
			memset(&ev, 0, sizeof(ev));
			ev.type = RTP_EV_PLAY_DONE;
			l->m.evh(l, &ev, l->m.arg);
		}
	}
	if (n->rec_done && leg_live(e, l) && l->m.recording &&
	    n->rec_gen == l->m.cfg.rec_gen) {
		l->m.recording = false;
		if (l->m.evh) {
			memset(&ev, 0, sizeof(ev));
			ev.type = RTP_EV_RECORD_DONE;
			l->m.evh(l, &ev, l->m.arg);
		}
	}
	if (n->detached && !e->closing)
		leg_detached(e, l);
}

static void syncs_fire(struct rtp_engine *e)
{
	struct list_node *it, *tmp;
	uint64_t done = UINT64_MAX;
	unsigned i;

	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->nworkers; i++)
		if (e->workers[i].sync_done < done)
			done = e->workers[i].sync_done;
	pthread_mutex_unlock(&e->lock);
	/* In sequence order: the first one not done yet ends the walk. */
	list_foreach_safe(it, tmp, &e->syncs) {
		struct rtp_sync *s = list_entry(it, struct rtp_sync, link);

		if (s->seq > done)
			break;
		list_unlink(it);
		s->h(s->arg);
		free(s);
		/* The handler may have freed the engine, and tmp with it. */
		if (e->closing)
			break;
	}
}

static void on_async(uv_async_t *h)
{
	struct rtp_engine *e = h->data;
	struct rtp_leg *l, *next;
	struct leg_note n;

	if (e->closing)
		return;
	pthread_mutex_lock(&e->lock);
	l = e->note_head;
	e->note_head = e->note_tail = NULL;
	pthread_mutex_unlock(&e->lock);

	for (; l; l = next) {
		/* Read next and reset the mailbox in one go: once queued is
		 * false a worker may link the leg again. */
		pthread_mutex_lock(&e->lock);
		next = l->note.next;
		n = l->note;
		l->note.ndtmf = 0;
		l->note.timeout = l->note.play_done = l->note.detached = false;
		l->note.rec_done = false;
		l->note.queued = false;
		l->note.next = NULL;
		pthread_mutex_unlock(&e->lock);
		leg_deliver(e, l, &n);
		if (e->closing)
			return;
	}
	syncs_fire(e);
}

int rtp_engine_alloc(struct rtp_engine **ep, uv_loop_t *loop,
		     const struct sockaddr *bind_ip, uint16_t port_start,
		     uint16_t port_end, unsigned workers)
{
	struct rtp_engine *e;
	unsigned i;
	int err;

	if (!ep || !loop || !bind_ip || workers == 0 || workers > RTP_WORKERS_MAX)
		return EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	e->loop = loop;
	e->family = bind_ip->sa_family;
	list_init(&e->legs);
	list_init(&e->syncs);
	err = pthread_mutex_init(&e->lock, NULL);
	if (err) {
		free(e);
		return err;
	}
	err = portpool_alloc(&e->pool, bind_ip, port_start, port_end);
	if (err)
		goto out;
	e->workers = calloc(workers, sizeof(*e->workers));
	if (!e->workers) {
		err = ENOMEM;
		goto out;
	}
	e->nworkers = workers;
	for (i = 0; i < workers; i++)
		e->workers[i].epfd = e->workers[i].evfd = e->workers[i].tfd = -1;
	for (i = 0; i < workers; i++) {
		err = rtp_worker_init(&e->workers[i], e);
		if (err)
			goto out;
	}
	/* Workers signal the async handle only for legs and syncs, none of
	 * which exist before this function returns. */
	for (i = 0; i < workers; i++) {
		err = rtp_worker_start(&e->workers[i]);
		if (err)
			goto out;
	}
	err = uv_async_init(loop, &e->async, on_async);
	if (err) {
		err = -err;
		goto out;
	}
	e->async.data = e;
	*ep = e;
	return 0;

out:
	for (i = 0; e->workers && i < e->nworkers; i++)
		rtp_worker_stop(&e->workers[i]);
	for (i = 0; e->workers && i < e->nworkers; i++)
		rtp_worker_close(&e->workers[i]);
	free(e->workers);
	portpool_free(e->pool);
	pthread_mutex_destroy(&e->lock);
	free(e);
	return err;
}

static void on_close(uv_handle_t *h)
{
	struct rtp_engine *e = h->data;

	free(e->workers);
	free(e);
}

void rtp_engine_free(struct rtp_engine *e)
{
	struct list_node *it, *tmp;
	unsigned i;

	if (!e || e->closing)
		return;
	e->closing = true;
	for (i = 0; i < e->nworkers; i++)
		rtp_worker_stop(&e->workers[i]);
	list_foreach_safe(it, tmp, &e->legs)
		leg_release(e, list_entry(it, struct rtp_leg, m.link));
	list_init(&e->legs);
	for (i = 0; i < e->nworkers; i++)
		rtp_worker_close(&e->workers[i]);
	portpool_free(e->pool);
	e->pool = NULL;
	list_foreach_safe(it, tmp, &e->syncs)
		free(list_entry(it, struct rtp_sync, link));
	list_init(&e->syncs);
	pthread_mutex_destroy(&e->lock);
	uv_close((uv_handle_t *)&e->async, on_close);
}

int rtp_engine_set_range(struct rtp_engine *e, uint16_t port_start, uint16_t port_end)
{
	return portpool_set_range(e->pool, port_start, port_end);
}

void rtp_engine_stats(const struct rtp_engine *e, struct rtp_stats *st)
{
	uint64_t c[C_MAX];
	unsigned i, j;

	memset(c, 0, sizeof(c));
	for (i = 0; i < e->nworkers; i++)
		for (j = 0; j < C_MAX; j++)
			c[j] += atomic_load_explicit(&e->workers[i].pub[j],
						     memory_order_relaxed);
	memset(st, 0, sizeof(*st));
	st->rx_packets = c[C_RX_PKT];
	st->rx_bytes = c[C_RX_BYTES];
	st->relayed_packets = c[C_RELAY_PKT];
	st->relayed_bytes = c[C_RELAY_BYTES];
	st->echoed_packets = c[C_ECHO];
	st->played_packets = c[C_PLAY];
	st->drop_nopeer = c[C_DROP_NOPEER];
	st->drop_held = c[C_DROP_HELD];
	st->drop_source = c[C_DROP_SOURCE];
	st->drop_malformed = c[C_DROP_MALFORMED];
	st->drop_send = c[C_DROP_SEND];
	st->dtmf_events = c[C_DTMF];
	st->timeouts = c[C_TIMEOUT];
	st->legs_active = e->legs_active;
	st->ports_in_use = 2 * e->legs_open;
	st->ports_total = e->pool ? 2 * portpool_pairs(e->pool) : 0;
	st->workers = e->nworkers;
}

int rtp_engine_sync(struct rtp_engine *e, rtp_sync_h *h, void *arg)
{
	struct rtp_sync *s;
	unsigned i;

	if (!e || !h || e->closing)
		return EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return ENOMEM;
	s->seq = ++e->sync_seq;
	s->h = h;
	s->arg = arg;
	list_push_back(&e->syncs, &s->link);
	pthread_mutex_lock(&e->lock);
	for (i = 0; i < e->nworkers; i++) {
		e->workers[i].sync_want = s->seq;
		e->workers[i].kick = true;
	}
	pthread_mutex_unlock(&e->lock);
	engine_kick(e);
	return 0;
}

/* Values a receiver cannot predict (RFC 3550 §5.1). */
static void leg_random(struct rtp_leg *l)
{
	uint64_t a = rand_u64(), b = rand_u64();

	l->w.ssrc = (uint32_t)a;
	l->w.ts = (uint32_t)(a >> 32);
	l->w.seq = (uint16_t)b;
}

static struct rtp_worker *least_loaded(struct rtp_engine *e)
{
	struct rtp_worker *best = &e->workers[0];
	unsigned i;

	for (i = 1; i < e->nworkers; i++)
		if (e->workers[i].nlegs < best->nlegs)
			best = &e->workers[i];
	return best;
}

int rtp_leg_alloc_near(struct rtp_engine *e, struct rtp_leg **lp,
		       struct rtp_leg *near, rtp_event_h *evh, void *arg)
{
	struct rtp_leg *l;
	struct rtp_worker *wk;
	int fds[2], err;
	uint16_t port;
	unsigned i;

	if (!e || !lp || e->closing)
		return EINVAL;
	if (near && (near->e != e || near->m.state == LEG_FREEING))
		return EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	err = portpool_take(e->pool, fds, &port);
	if (err) {
		free(l);
		return err;
	}
	l->e = e;
	l->port = port;
	for (i = 0; i < 2; i++) {
		l->sock[i].leg = l;
		l->sock[i].fd = fds[i];
		l->sock[i].rtcp = i;
	}
	l->m.cfg.mode = LEG_IDLE;
	l->m.cfg.dtmf_pt = -1;
	l->m.evh = evh;
	l->m.arg = arg;
	/* The worker starts from the same settings, so its first copy
	 * changes nothing it has not been told. */
	l->w.cfg = l->m.cfg;
	rtptimer_init(&l->w.play_t, l);
	rtptimer_init(&l->w.idle_t, l);
	rtp_dtmf_reset(&l->w.dtmf);
	leg_random(l);

	wk = near ? leg_target(near) : least_loaded(e);
	wk->nlegs++;
	l->m.wk = wk;
	l->m.state = LEG_ATTACHED;
	list_push_front(&e->legs, &l->m.link);
	e->legs_active++;
	e->legs_open++;

	pthread_mutex_lock(&e->lock);
	l->pend.attach = true;
	leg_post(l);
	pthread_mutex_unlock(&e->lock);
	engine_kick(e);
	*lp = l;
	return 0;
}

int rtp_leg_alloc(struct rtp_engine *e, struct rtp_leg **lp,
		  rtp_event_h *evh, void *arg)
{
	return rtp_leg_alloc_near(e, lp, NULL, evh, arg);
}

void rtp_leg_free(struct rtp_leg *l)
{
	struct rtp_engine *e;

	if (!l || l->m.state == LEG_FREEING)
		return;
	e = l->e;
	pthread_mutex_lock(&e->lock);
	leg_unpeer(l);
	l->m.playing = false;
	l->m.recording = false;
	leg_target(l)->nlegs--;
	if (l->m.state == LEG_ATTACHED) {
		l->pend.detach = true;
		cmd_link(l->m.wk, l);
	}
	/* A moving leg's detach is already on its way. */
	l->m.state = LEG_FREEING;
	pthread_mutex_unlock(&e->lock);
	engine_kick(e);
	e->legs_active--;
}

uint16_t rtp_leg_port(const struct rtp_leg *l)
{
	return l->port;
}

/* Events are delivered on the loop, from the main-loop side's copy: no
 * worker reads it. */
void rtp_leg_set_arg(struct rtp_leg *l, void *arg)
{
	l->m.arg = arg;
}

static int addr_copy(const struct rtp_leg *l, union rtp_addr *dst, const struct sockaddr *sa)
{
	memset(dst, 0, sizeof(*dst));
	if (!sa)
		return 0;
	if (sa->sa_family != l->e->family)
		return EAFNOSUPPORT;
	if (sa->sa_family == AF_INET)
		memcpy(&dst->in, sa, sizeof(dst->in));
	else
		memcpy(&dst->in6, sa, sizeof(dst->in6));
	return 0;
}

/* Runs a change of l's settings past its worker. */
static void leg_changed(struct rtp_leg *l)
{
	pthread_mutex_lock(&l->e->lock);
	leg_post(l);
	pthread_mutex_unlock(&l->e->lock);
	engine_kick(l->e);
}

int rtp_leg_set_remote(struct rtp_leg *l, const struct sockaddr *rtp)
{
	union rtp_addr a;
	int err = addr_copy(l, &a, rtp);

	if (err)
		return err;
	l->m.cfg.remote = a;
	leg_changed(l);
	return 0;
}

int rtp_leg_set_remote_rtcp(struct rtp_leg *l, const struct sockaddr *rtcp)
{
	union rtp_addr a;
	int err = addr_copy(l, &a, rtcp);

	if (err)
		return err;
	l->m.cfg.remote_rtcp = a;
	leg_changed(l);
	return 0;
}

void rtp_leg_relatch(struct rtp_leg *l)
{
	l->m.cfg.latch_gen++;
	leg_changed(l);
}

int rtp_leg_connect(struct rtp_leg *a, struct rtp_leg *b)
{
	struct rtp_engine *e;
	struct rtp_worker *to;

	if (!a || !b || a == b || a->e != b->e)
		return EINVAL;
	if (a->m.state == LEG_FREEING || b->m.state == LEG_FREEING)
		return EINVAL;
	e = a->e;
	pthread_mutex_lock(&e->lock);
	if (a->m.cfg.peer != b) {
		leg_unpeer(a);
		leg_unpeer(b);
	}
	a->m.playing = b->m.playing = false;
	a->m.recording = b->m.recording = false;
	a->m.cfg.rec = b->m.cfg.rec = NULL;
	a->m.cfg.mode = b->m.cfg.mode = LEG_RELAY;
	a->m.cfg.peer = b;
	b->m.cfg.peer = a;
	to = leg_target(a);
	if (leg_target(b) != to)
		leg_move(b, to);
	leg_post(a);
	leg_post(b);
	pthread_mutex_unlock(&e->lock);
	engine_kick(e);
	return 0;
}

/* Under lock: l leaves its peer and its play for a new mode. */
static void leg_set_mode(struct rtp_leg *l, enum leg_mode mode)
{
	leg_unpeer(l);
	l->m.playing = false;
	l->m.recording = false;
	l->m.cfg.mode = mode;
	l->m.cfg.rec = NULL;
}

void rtp_leg_echo(struct rtp_leg *l)
{
	pthread_mutex_lock(&l->e->lock);
	leg_set_mode(l, LEG_ECHO);
	leg_post(l);
	pthread_mutex_unlock(&l->e->lock);
	engine_kick(l->e);
}

static int leg_play(struct rtp_leg *l, const struct rtp_frames *f, uint8_t pt,
		    bool marker_first, bool loop, bool event)
{
	if (!f || !f->data || !f->count || !f->size ||
	    f->size > RTP_PKT_MAX - 12 || pt > 127)
		return EINVAL;
	pthread_mutex_lock(&l->e->lock);
	leg_set_mode(l, LEG_PLAY);
	l->m.cfg.frames = *f;
	l->m.cfg.event = event;
	if (!l->m.cfg.frames.ts_step)
		l->m.cfg.frames.ts_step = 160;
	l->m.cfg.pt = pt;
	l->m.cfg.marker_first = marker_first;
	l->m.cfg.loop = loop;
	l->m.cfg.play_gen++;
	l->m.playing = !loop;
	leg_post(l);
	pthread_mutex_unlock(&l->e->lock);
	engine_kick(l->e);
	return 0;
}

int rtp_leg_play(struct rtp_leg *l, const struct rtp_frames *f, uint8_t pt,
		 bool marker_first, bool loop)
{
	return leg_play(l, f, pt, marker_first, loop, false);
}

int rtp_leg_play_event(struct rtp_leg *l, const struct rtp_frames *f, uint8_t pt)
{
	return leg_play(l, f, pt, true, false, true);
}

int rtp_leg_record(struct rtp_leg *l, struct rtp_rec *rec)
{
	if (!rec || !rec->buf || !rec->cap || rec->pt > 127)
		return EINVAL;
	rec->len = rec->silent = 0;
	rec->end = REC_RUNNING;
	pthread_mutex_lock(&l->e->lock);
	leg_set_mode(l, LEG_RECORD);
	l->m.cfg.rec = rec;
	l->m.cfg.rec_gen++;
	l->m.recording = true;
	leg_post(l);
	pthread_mutex_unlock(&l->e->lock);
	engine_kick(l->e);
	return 0;
}

void rtp_leg_stop(struct rtp_leg *l)
{
	pthread_mutex_lock(&l->e->lock);
	leg_set_mode(l, LEG_IDLE);
	leg_post(l);
	pthread_mutex_unlock(&l->e->lock);
	engine_kick(l->e);
}

void rtp_leg_hold(struct rtp_leg *l, bool on)
{
	l->m.cfg.hold = on;
	leg_changed(l);
}

void rtp_leg_set_dtmf_pt(struct rtp_leg *l, int pt)
{
	l->m.cfg.dtmf_pt = pt >= 0 && pt <= 127 ? pt : -1;
	leg_changed(l);
}

void rtp_leg_set_timeout(struct rtp_leg *l, unsigned seconds)
{
	if (seconds > TIMEOUT_MAX_S)
		seconds = TIMEOUT_MAX_S;
	l->m.cfg.timeout_ms = seconds * 1000u;
	l->m.cfg.timeout_gen++;
	leg_changed(l);
}
