/*
 * rtp_int.h - what the relay engine's main-loop side (rtp.c) and its
 * worker threads (rtpworker.c) share.  Not for other modules.
 *
 * Every field of a leg has one owner.  `m` belongs to the main loop, `w`
 * to the worker that currently runs the leg, and `pend` (main to worker)
 * and `note` (worker to main) are mailboxes guarded by the engine lock.
 * A leg changes worker only through the main loop: the old worker
 * detaches it and says so in a note, and only then does the main loop
 * hand it to the new one, so `w` never has two owners at once and the
 * lock orders every hand-over.  The same detach note is what makes
 * rtp_leg_free() safe: the leg's memory is released only after its worker
 * has let go of it.
 *
 * A leg forwards only to a peer on its own worker (`rtp_cfg.peer` is set
 * for the worker only then), so the fast path reads nothing that another
 * thread writes; connecting legs of two workers first moves one of them.
 */
#ifndef KV_MEDIA_RTP_INT_H
#define KV_MEDIA_RTP_INT_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "media/portpool.h"
#include "media/rtp.h"
#include "media/rtpdtmf.h"
#include "media/rtptimer.h"
#include "util/list.h"

/* Datagrams read (and sent) per system call. */
#define RTP_BATCH 32
/* Digits a leg can hold for the main loop before it drops new ones. */
#define LEG_DTMF_QUEUE 8

union rtp_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

enum leg_mode { LEG_IDLE, LEG_RELAY, LEG_ECHO, LEG_PLAY, LEG_RECORD };

/* A leg's settings, as the main loop wants them.  Changes are sent to the
 * worker as a whole copy; the *_gen counters turn one-off actions (forget
 * the latch, restart the timeout, start a play) into state the worker
 * compares with what it applied last. */
struct rtp_cfg {
	union rtp_addr remote;       /* family 0: none */
	union rtp_addr remote_rtcp;  /* family 0: remote's port + 1 */
	enum leg_mode mode;
	struct rtp_leg *peer;        /* LEG_RELAY */
	bool hold;
	int dtmf_pt;                 /* -1: none */
	uint32_t timeout_ms;         /* 0: none */
	uint32_t latch_gen;
	uint32_t timeout_gen;
	uint32_t play_gen;
	struct rtp_frames frames;    /* LEG_PLAY */
	uint8_t pt;
	bool marker_first;
	bool loop;
	bool event;                  /* every frame one RFC 4733 event: one
				      * timestamp for all */
	struct rtp_rec *rec;         /* LEG_RECORD */
	uint32_t rec_gen;
};

enum leg_state {
	LEG_ATTACHED,   /* on m.wk (or about to be, once it reads its mail) */
	LEG_MOVING,     /* detach asked of m.wk; goes to m.move_to next */
	LEG_FREEING,    /* detach asked; freed when the worker confirms */
};

struct leg_main {
	enum leg_state state;
	struct rtp_worker *wk;
	struct rtp_worker *move_to;
	struct rtp_cfg cfg;          /* cfg.peer: the peer, wherever it runs */
	bool playing;                /* a play whose end is to be reported */
	bool recording;              /* the same for a recording */
	rtp_event_h *evh;
	void *arg;
	struct list_node link;       /* on e->legs: every leg of the engine */
};

struct leg_pend {
	struct rtp_cfg cfg;
	bool cfg_set;
	bool attach;
	bool detach;
	bool queued;
	struct rtp_leg *next;        /* worker's command list */
};

struct leg_note {
	struct rtp_event dtmf[LEG_DTMF_QUEUE];
	unsigned ndtmf;
	bool timeout;
	bool play_done;
	uint32_t play_gen;           /* of the play that ended */
	bool rec_done;
	uint32_t rec_gen;            /* of the recording that ended */
	bool detached;
	bool queued;
	struct rtp_leg *next;        /* engine's note list */
};

struct leg_work {
	struct rtp_cfg cfg;          /* as applied */
	bool attached;
	union rtp_addr latched[2];   /* [0] RTP, [1] RTCP */
	bool is_latched[2];
	union rtp_addr dst[2];       /* where packets toward the phone go */
	socklen_t dstlen[2];         /* 0: nowhere yet */
	/* playback */
	bool playing;
	bool play_first;
	bool marker;
	size_t play_idx;
	uint32_t ssrc;
	uint32_t ts;                 /* of the last frame sent */
	uint16_t seq;                /* of the last frame sent */
	uint64_t last_play;          /* schedule time of that frame, 0: none */
	struct rtptimer play_t;
	/* silence */
	uint64_t last_rx;
	bool timed_out;
	struct rtptimer idle_t;
	struct rtp_dtmf dtmf;
	struct rtp_leg *dnext;       /* worker's list of legs just detached */
};

struct rtp_sock {
	struct rtp_leg *leg;
	int fd;
	unsigned rtcp;               /* index into the per-leg arrays */
};

struct rtp_leg {
	struct rtp_engine *e;
	uint16_t port;
	struct rtp_sock sock[2];
	struct leg_main m;
	struct leg_work w;
	struct leg_pend pend;
	struct leg_note note;
};

enum rtp_counter {
	C_RX_PKT, C_RX_BYTES, C_RELAY_PKT, C_RELAY_BYTES, C_ECHO, C_PLAY,
	C_DROP_NOPEER, C_DROP_HELD, C_DROP_SOURCE, C_DROP_MALFORMED,
	C_DROP_SEND, C_DTMF, C_TIMEOUT, C_MAX
};

struct rtp_worker {
	struct rtp_engine *e;
	pthread_t thread;
	bool started;                /* main only */
	bool kick;                   /* main only: eventfd write owed */
	unsigned nlegs;              /* main only: legs placed here */
	int epfd, evfd, tfd;
	/* under e->lock */
	struct rtp_leg *cmd_head, *cmd_tail;
	bool stop;
	uint64_t sync_want, sync_done;
	uint64_t sync_seen;          /* worker: sync_want of the last batch */
	/* the worker thread's own */
	uint64_t now;
	uint64_t armed;              /* timerfd deadline, 0: disarmed */
	bool notify;                 /* uv_async_send() owed */
	struct rtptimer_heap timers;
	uint64_t cnt[C_MAX];
	struct mmsghdr rx[RTP_BATCH];
	struct iovec rxiov[RTP_BATCH];
	union rtp_addr rxsrc[RTP_BATCH];
	struct mmsghdr tx[RTP_BATCH];
	struct iovec txiov[RTP_BATCH];
	uint8_t *buf;                /* RTP_BATCH x RTP_PKT_MAX */
	/* written by the worker, read by rtp_engine_stats() */
	_Atomic uint64_t pub[C_MAX];
};

struct rtp_sync {
	uint64_t seq;
	rtp_sync_h *h;
	void *arg;
	struct list_node link;       /* on rtp_engine.syncs */
};

struct rtp_engine {
	uv_loop_t *loop;
	uv_async_t async;
	pthread_mutex_t lock;
	struct portpool *pool;
	int family;
	unsigned nworkers;
	struct rtp_worker *workers;
	/* main only */
	struct list_node legs;       /* of struct rtp_leg, by m.link */
	unsigned legs_active;        /* allocated, not freed by the caller */
	unsigned legs_open;          /* sockets still open */
	struct list_node syncs;      /* of struct rtp_sync, oldest first */
	uint64_t sync_seq;
	bool closing;
	/* under lock */
	struct rtp_leg *note_head, *note_tail;
};

/* rtpworker.c */
int  rtp_worker_init(struct rtp_worker *w, struct rtp_engine *e);
int  rtp_worker_start(struct rtp_worker *w);
/* Asks the thread to exit and joins it. */
void rtp_worker_stop(struct rtp_worker *w);
void rtp_worker_close(struct rtp_worker *w);
/* Wakes the thread to read its commands. */
void rtp_worker_wake(struct rtp_worker *w);

/* rtp.c, called by a worker with e->lock held: queue l for the main loop. */
void rtp_note_link(struct rtp_engine *e, struct rtp_leg *l);

#endif
