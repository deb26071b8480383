/*
 * rtp.h - the RTP relay engine: media ports, relay legs, worker threads.
 *
 * A leg is one RTP/RTCP port pair (even/odd) facing one phone or trunk.
 * The call engine, on the main libuv loop, allocates legs, gives them the
 * remote address from SDP and one mode at a time: relayed to another leg,
 * echo, or playing pre-encoded frames.  Packets never reach the main loop:
 * worker threads read them with recvmmsg() and send them on with
 * sendmmsg() straight from the receive buffers, untouched.  What the call
 * engine must hear about (a DTMF digit, silence on a leg, the end of a
 * prompt) comes back as events on the main loop.
 *
 * Symmetric RTP (RFC 4961 behaviour, what Asterisk calls nat=yes): the
 * first RTP packet a leg receives fixes where it sends to, whatever SDP
 * said, because a phone behind NAT sends from an address it cannot know.
 * Once latched, packets from any other source are dropped until
 * rtp_leg_relatch().  RTCP latches on its own the same way.
 *
 * Every function here must be called from the thread running the loop
 * given to rtp_engine_alloc().  Changes reach the workers shortly after
 * the call returns; rtp_engine_sync() tells when they all have.
 */
#ifndef KV_MEDIA_RTP_H
#define KV_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "media/record.h"

struct rtp_engine;
struct rtp_leg;

/* Largest datagram relayed; longer ones are dropped as malformed. */
#define RTP_PKT_MAX 2048
/* Playback sends one frame every 20 ms. */
#define RTP_PTIME_MS 20
#define RTP_WORKERS_MAX 64

enum rtp_ev_type {
	RTP_EV_DTMF,         /* an RFC 4733 digit, once per key press */
	RTP_EV_TIMEOUT,      /* no RTP for the leg's timeout; once per silence */
	RTP_EV_PLAY_DONE,    /* every frame of rtp_leg_play() has been sent */
	RTP_EV_RECORD_DONE,  /* rtp_leg_record() ended by itself: rec->end */
};

struct rtp_event {
	enum rtp_ev_type type;
	/* RTP_EV_DTMF */
	char digit;          /* '0'-'9', '*', '#', 'A'-'D', '!' (flash) */
	uint8_t code;        /* RFC 4733 event code, 0-16 */
	uint16_t duration;   /* in RTP timestamp units (8 per ms at 8 kHz) */
	bool end;            /* false: the end packets were lost and a newer
	                      * event (or a new SSRC) cut this one short */
};

/* Called on the main loop.  The handler may free the leg (or any other). */
typedef void (rtp_event_h)(struct rtp_leg *l, const struct rtp_event *ev, void *arg);
typedef void (rtp_sync_h)(void *arg);

/*
 * Pre-encoded audio for rtp_leg_play(): count frames of size bytes each,
 * back to back, each one RTP_PTIME_MS long.  The struct is copied, data
 * is not: it must stay valid until RTP_EV_PLAY_DONE or, when the play is
 * cut short by another mode or by rtp_leg_free(), until an
 * rtp_engine_sync() started after that call has completed.
 */
struct rtp_frames {
	const uint8_t *data;
	size_t size;         /* bytes per frame: 160 for G.711 at 20 ms */
	size_t count;
	uint32_t ts_step;    /* RTP timestamp units per frame; 0 means 160 */
};

struct rtp_stats {
	uint64_t rx_packets, rx_bytes;           /* all datagrams received */
	uint64_t relayed_packets, relayed_bytes; /* sent on to the peer leg */
	uint64_t echoed_packets;
	uint64_t played_packets;
	uint64_t drop_nopeer;     /* idle leg, no peer, or nowhere to send yet */
	uint64_t drop_held;       /* peer leg on hold */
	uint64_t drop_source;     /* not from the latched source */
	uint64_t drop_malformed;  /* not RTP/RTCP version 2, or truncated */
	uint64_t drop_send;       /* sendmmsg() failed (buffer full, no route) */
	uint64_t dtmf_events;
	uint64_t timeouts;
	unsigned legs_active;     /* allocated and not yet freed */
	unsigned ports_in_use;    /* two per leg, until its sockets close */
	unsigned ports_total;     /* in the current range */
	unsigned workers;
};

/*
 * Ports are taken in even/odd pairs from [port_start, port_end] (Asterisk's
 * rtpstart/rtpend) on bind_ip (its port is ignored), round robin, skipping
 * ports something else holds.  workers: 1..RTP_WORKERS_MAX threads.
 * EINVAL for a bad range or count, EAFNOSUPPORT for a non-IP address.
 */
int  rtp_engine_alloc(struct rtp_engine **ep, uv_loop_t *loop,
		      const struct sockaddr *bind_ip, uint16_t port_start,
		      uint16_t port_end, unsigned workers);
/* Stops the workers, frees every leg still allocated (without events) and
 * then the engine itself once the loop has closed its handle. */
void rtp_engine_free(struct rtp_engine *e);
/* New legs take ports from the new range; live legs keep theirs. */
int  rtp_engine_set_range(struct rtp_engine *e, uint16_t port_start, uint16_t port_end);
void rtp_engine_stats(const struct rtp_engine *e, struct rtp_stats *st);
/* h(arg) runs on the loop once every worker has applied every change made
 * before this call (legs freed before it have stopped sending).  Pending
 * syncs are dropped, without a call, by rtp_engine_free(). */
int  rtp_engine_sync(struct rtp_engine *e, rtp_sync_h *h, void *arg);

/*
 * A new idle leg.  ENOSPC when every port pair of the range is taken (the
 * caller answers 503); EMFILE and the like when sockets cannot be had.
 * evh may be NULL.  rtp_leg_alloc_near() puts the leg on the same worker
 * as near, which spares moving it when the two are connected.
 */
int  rtp_leg_alloc(struct rtp_engine *e, struct rtp_leg **lp,
		   rtp_event_h *evh, void *arg);
int  rtp_leg_alloc_near(struct rtp_engine *e, struct rtp_leg **lp,
			struct rtp_leg *near, rtp_event_h *evh, void *arg);
/* The leg's peer (if connected) stops receiving from it at once and goes
 * idle.  No event for this leg is delivered after this call. */
void rtp_leg_free(struct rtp_leg *l);
uint16_t rtp_leg_port(const struct rtp_leg *l);   /* RTP; RTCP is +1 */
/* The argument of the leg's events from now on (its owner moved). */
void rtp_leg_set_arg(struct rtp_leg *l, void *arg);

/*
 * Where to send before anything is latched (SDP c= and m= port).  RTCP
 * goes to port + 1 unless rtp_leg_set_remote_rtcp() (a=rtcp, RFC 3605)
 * says otherwise.  NULL clears.  EAFNOSUPPORT when the family differs
 * from the engine's.  Neither changes a latched address: call
 * rtp_leg_relatch() when a re-INVITE moves the media.
 */
int  rtp_leg_set_remote(struct rtp_leg *l, const struct sockaddr *rtp);
int  rtp_leg_set_remote_rtcp(struct rtp_leg *l, const struct sockaddr *rtcp);
/* Forget the latched sources: send to the SDP address again and latch on
 * the next packet received. */
void rtp_leg_relatch(struct rtp_leg *l);

/* Modes.  Each one replaces the previous one; connecting, echo and play
 * first disconnect the leg (and its former peer goes idle). */
int  rtp_leg_connect(struct rtp_leg *a, struct rtp_leg *b);
void rtp_leg_echo(struct rtp_leg *l);
/* Sends f's frames with payload type pt, its own SSRC and sequence, the
 * timestamp stepping by f->ts_step, one frame every RTP_PTIME_MS by
 * absolute schedule; the first has the marker bit when marker_first.
 * loop: start over after the last frame, and no RTP_EV_PLAY_DONE.
 * EINVAL for empty frames, frames over RTP_PKT_MAX - 12 bytes or pt > 127. */
int  rtp_leg_play(struct rtp_leg *l, const struct rtp_frames *f, uint8_t pt,
		  bool marker_first, bool loop);
/* One RFC 4733 event (rtp_dtmf_frames()): like rtp_leg_play(), once, the
 * first frame marked, but every frame carries the timestamp of the
 * first (RFC 4733 §2.5.1.2: an event's packets share its start time). */
int  rtp_leg_play_event(struct rtp_leg *l, const struct rtp_frames *f, uint8_t pt);
/* Keeps what the phone sends with payload type rec->pt in rec (see
 * record.h for who owns it when); nothing is sent to the phone.  Ends by
 * itself (RTP_EV_RECORD_DONE) when rec is full or silence lasted, or when
 * another mode replaces it.  EINVAL for a bad rec. */
int  rtp_leg_record(struct rtp_leg *l, struct rtp_rec *rec);
/* Idle: nothing is sent from the leg; a peer is disconnected (idle too). */
void rtp_leg_stop(struct rtp_leg *l);
/* On hold, nothing is relayed toward the leg (its phone is sendonly or
 * inactive); what it sends is still relayed, and play and echo still work. */
void rtp_leg_hold(struct rtp_leg *l, bool on);

/* RFC 4733 payload type to watch for (-1: none).  Detection works in every
 * mode, and the packets are relayed as they are. */
void rtp_leg_set_dtmf_pt(struct rtp_leg *l, int pt);
/* RTP_EV_TIMEOUT after seconds (at most 86400) without an RTP packet
 * from the leg's source (0: never).  The count starts again at each call;
 * after an event the next one needs RTP to flow and stop again. */
void rtp_leg_set_timeout(struct rtp_leg *l, unsigned seconds);

#endif
