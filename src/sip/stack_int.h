/*
 * stack_int.h - what the files of the transaction layer share, and
 * nobody else: the stack object and the calls between them.
 *
 *   stack.c   the object: set-up, timers, counters, branches, our own
 *             address and Via, stateless sending
 *   recv.c    the receive path: checks, 400/505 for malformed requests,
 *             dispatch to the transactions and the TU
 *   strans.c  server transactions, and where responses go (§18.2.2)
 *   ctrans.c  client transactions, with their ACK and CANCEL
 *
 * Private to src/sip/ (the layer's API is stack.h), as libre's sip.h is
 * to its strans.c and ctrans.c.
 */
#ifndef KV_SIP_STACK_INT_H
#define KV_SIP_STACK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "sip/stack.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/log.h"

struct sip_stack {
	uv_loop_t *loop;
	struct tmrq *q;
	struct sip_transport *tp;
	sip_request_h *reqh;
	void *arg;
	uint32_t t1, t2, t4;
	struct htab stx;           /* by branch+sent-by, or RFC 2543 key */
	struct htab accepted;      /* INVITE stx after a 2xx, by dialog key */
	struct htab ctx;           /* by branch */
	struct list_node tcp_ctx;  /* client transactions over TCP */
	struct sip_stack_stats stats;
	struct log_ratelimit rl;
	struct sbuf scratch;       /* responses are printed here, then copied */
	/* Branches, Call-IDs and tags are chosen by peers: the transaction
	 * tables hash them under a secret key so none can flood a chain. */
	struct hash_key hkey;
	/* To tags (sip_totag()): the cluster's key, so every replica and a
	 * restarted process answer a retransmission with the same tag. */
	struct hash_key tag_key;
	sip_proxy_h *proxyh;       /* messages we only pass on (NULL: none) */
	void *proxy_arg;
};

static inline bool stack_has_cookie(const struct pl *branch)
{
	return branch->p && branch->l > SIP_MAGIC_COOKIE_LEN &&
	       !memcmp(branch->p, SIP_MAGIC_COOKIE, SIP_MAGIC_COOKIE_LEN);
}

/* One field of a transaction key (fold: compared case-insensitively). */
static inline void stack_hash_pl(struct hash_sip_state *h, const struct pl *pl,
				 bool fold)
{
	hash_sip_part(h, pl->p, pl->p ? pl->l : 0, fold);
}

/* Responses by class, index 1..6 for 1xx..6xx. */
static inline void stack_stats_class(uint64_t by_class[7], unsigned scode)
{
	if (scode >= 100 && scode < 700)
		by_class[scode / 100]++;
}

/* stack.c: copies n slices into one allocation (NUL-terminated, then
 * extra free bytes at *extrap) and points dst[i] at the copies. */
char *stack_pl_pack(struct pl **dst, const struct pl *src, size_t n,
		    size_t extra, char **extrap);

/* recv.c: the transport's receive handler. */
void stack_recv(int err, const char *why, struct sip_msg *msg,
		const struct sip_peer *src, void *arg);

/* strans.c.  A request that belongs to a server transaction: true when
 * the transaction absorbed it (a retransmission, the ACK of a non-2xx),
 * false when the TU must see it (a new request, the ACK of a 2xx). */
bool strans_recv(struct sip_stack *st, const struct sip_msg *m);
int  strans_create(struct sip_stack *st, const struct sip_msg *m,
		   const struct sip_peer *src, struct sip_stx **tp);
/* RFC 3261 §17.2.1: 100 Trying for an INVITE the TU has not answered. */
void strans_trying(struct sip_stx *t);
void strans_flush(struct sip_stack *st);

/* ctrans.c */
void ctrans_recv(struct sip_stack *st, const struct sip_msg *m);
/* The transport's close handler: a failed TCP connection fails the
 * client transactions waiting on it. */
void ctrans_conn_closed(uint64_t conn_id, int err, void *arg);
void ctrans_flush(struct sip_stack *st);

#endif
