/*
 * stack.h - the SIP transaction layer (RFC 3261 §17) on top of transport.h.
 *
 * Server transactions absorb retransmitted requests and resend the last
 * response; client transactions retransmit requests and time out, with the
 * RFC 3261 timers (T1=500 ms, T2=4 s, T4=5 s; A/B/D/E/F/G/H/I/J/K).  The
 * layer also routes responses per RFC 3261 §18.2.2 and RFC 3581 (rport),
 * answers what needs no transaction user (400 for malformed requests whose
 * headers allow a response, drops with a rate-limited log line otherwise),
 * and passes everything else up to one request handler (the TU).
 */
#ifndef KV_SIP_STACK_H
#define KV_SIP_STACK_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "sip/msg.h"
#include "sip/transport.h"
#include "util/hash.h"
#include "util/sbuf.h"
#include "util/tmr.h"

struct sip_stack;
struct sip_stx;      /* server transaction */
struct sip_ctx;      /* client transaction */

/*
 * A new request (not a retransmission).  For every method but ACK, stx is
 * the new server transaction: the TU must eventually answer it with
 * sip_stx_reply() (now or later; the stx keeps its own copy of the request,
 * see sip_stx_request()).  For an ACK that matches no INVITE server
 * transaction (ACK to a 2xx), stx is NULL.
 */
typedef void (sip_request_h)(struct sip_stack *stack, struct sip_stx *stx,
			     const struct sip_msg *req,
			     const struct sip_peer *src, void *arg);

/* Response to a client transaction; resp NULL with err (ETIMEDOUT: timer
 * B/F fired, ECONNRESET: transport failure) when none came. Called for
 * every provisional and the final response; after a final one (or an
 * error) the transaction is over for the TU. */
typedef void (sip_response_h)(int err, const struct sip_msg *resp, void *arg);

/* Methods counted one by one in sip_stack_stats.rx_by_method. */
enum sip_stats_method {
	SIP_STATS_INVITE, SIP_STATS_ACK, SIP_STATS_BYE, SIP_STATS_CANCEL,
	SIP_STATS_REGISTER, SIP_STATS_OPTIONS, SIP_STATS_INFO, SIP_STATS_OTHER,
	SIP_STATS_METHODS
};

struct sip_stack_stats {
	uint64_t rx_requests, rx_responses, tx_requests, tx_responses;
	uint64_t retransmissions_absorbed;
	uint64_t parse_errors;
	uint64_t stx_active, ctx_active;
	/* For /metrics (h14-ops).  Requests as counted in rx_requests
	 * (retransmissions included); responses by class, index 1..6 for
	 * 1xx..6xx (index 0 unused), as counted in tx_/rx_responses. */
	uint64_t rx_by_method[SIP_STATS_METHODS];
	uint64_t tx_by_class[7];
	uint64_t rx_by_class[7];
};

/* "INVITE" ... "INFO", "other": the name of a SIP_STATS_* index. */
const char *sip_stats_method_name(unsigned m);

int  sip_stack_alloc(struct sip_stack **stp, uv_loop_t *loop, struct tmrq *q,
		     sip_request_h *reqh, void *arg);
void sip_stack_free(struct sip_stack *st);
struct sip_transport *sip_stack_transport(struct sip_stack *st);
const struct sip_stack_stats *sip_stack_stats(const struct sip_stack *st);

/* Shorter timers for tests (T1, T2, T4 in ms). */
void sip_stack_set_timers(struct sip_stack *st, uint32_t t1, uint32_t t2, uint32_t t4);
/*
 * Messages the TU passes on rather than handles (a proxy): called for
 * every well-formed request before transaction matching and for every
 * response before client transactions see it; true means consumed.  It
 * must be cheap for what it does not take (the registration path runs
 * through it).
 */
typedef bool (sip_proxy_h)(struct sip_stack *st, const struct sip_msg *m,
			   const struct sip_peer *src, void *arg);
void sip_stack_set_proxy_handler(struct sip_stack *st, sip_proxy_h *h, void *arg);

/* The key of the To tags the stack makes (sip_totag()): random until set;
 * the PBX sets the cluster's. */
void sip_stack_set_tag_key(struct sip_stack *st, const struct hash_key *key);
const struct hash_key *sip_stack_tag_key(const struct sip_stack *st);

/* ---- server transactions ---- */

/* Reply within a server transaction.  Builds the response with
 * sip_print_response() (To-tag from sip_totag() unless totag given), sends
 * it to the right place and drives the state machine.  extra: complete
 * header lines or NULL.  Fails with EINVAL after a final response. */
int sip_stx_reply(struct sip_stx *stx, uint16_t scode, const char *reason,
		  const char *totag, const char *extra, const char *ctype,
		  const struct pl *body);
/* The stack's copy of the request; valid until the final reply is sent. */
const struct sip_msg *sip_stx_request(const struct sip_stx *stx);
const struct sip_peer *sip_stx_peer(const struct sip_stx *stx);
/* The TU is notified when the transaction ends without a final reply
 * having been sent by it (e.g. CANCEL handling later) - set per stx. */
void sip_stx_set_arg(struct sip_stx *stx, void *tu_arg);
void *sip_stx_arg(const struct sip_stx *stx);
/* The INVITE server transaction a CANCEL targets (RFC 3261 §9.2), or NULL.
 * Use it only during the current callback; sip_stx_reply() on it fails
 * with EINVAL once the INVITE has its final response. */
struct sip_stx *sip_stack_cancel_target(struct sip_stack *st,
					const struct sip_msg *cancel);

/* ---- client transactions ---- */

/*
 * Send a request in a new client transaction.  req is a complete request
 * whose top Via has the branch from sip_stack_new_branch() and the sent-by
 * from sip_stack_print_via(); it is copied.  INVITE gets INVITE client
 * transaction rules (ACK for non-2xx is generated by the stack).
 */
int sip_ctx_send(struct sip_stack *st, struct sip_ctx **ctxp,
		 const struct sip_peer *dst, const char *req, size_t len,
		 sip_response_h *resph, void *arg);
/* CANCEL this INVITE client transaction (RFC 3261 §9.1), in a client
 * transaction of its own whose answer nobody needs: what counts is the
 * INVITE's final response (487), reported as usual.  Send it only once a
 * provisional response has arrived. */
int sip_ctx_cancel(struct sip_ctx *ctx);
/* Stop reporting to the TU (the transaction still finishes its timers). */
void sip_ctx_abandon(struct sip_ctx *ctx);
/*
 * Send the TU's ACK for a 2xx to this INVITE (RFC 3261 §13.2.2.4) and let
 * the transaction resend it whenever that 2xx is retransmitted during the
 * next 64*T1 (RFC 6026 Accepted state).  Call it from the resph callback
 * that reported the 2xx (the ctx is valid there).
 */
int sip_ctx_ack(struct sip_ctx *ctx, const struct sip_peer *dst,
		const char *ack, size_t len);

/* ---- addressing and stateless sending ---- */

/* "z9hG4bK" + unique suffix, NUL-terminated; size >= 40. */
void sip_stack_new_branch(struct sip_stack *st, char *buf, size_t size);
/* Prints "Via: SIP/2.0/UDP addr:port;branch=B;rport\r\n" for a request to
 * dst, with the address sip_stack_local_addr() gives. */
int sip_stack_print_via(struct sip_stack *st, struct sbuf *sb,
			const struct sip_peer *dst, const char *branch);

/* The address of this host that dst sees (IPv6 without brackets) and the
 * port of the listener that would send to it, for Via, Contact and SDP:
 * dst->local when the transport can send from it (the address the flow
 * arrived on), else a specific listener's address, else the kernel's
 * choice toward dst. */
int sip_stack_local_addr(struct sip_stack *st, const struct sip_peer *dst,
			 char *ip, size_t size, uint16_t *port);

/* Send a response or request statelessly (no transaction). */
int sip_stack_send_raw(struct sip_stack *st, const struct sip_peer *dst,
		       const char *buf, size_t len);
/* Where a response to req must go (RFC 3261 §18.2.2, RFC 3581). */
void sip_stack_response_dest(const struct sip_msg *req,
			     const struct sip_peer *src, struct sip_peer *dst);

#endif
