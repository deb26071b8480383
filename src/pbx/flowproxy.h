/*
 * flowproxy.h - any replica reaches any phone, through the replica that
 * holds the phone's flow.
 *
 * A phone behind NAT can only be reached from the address and port it
 * registered to (its pinhole), and a TCP phone only over its connection:
 * the replica that received the REGISTER holds the flow.  Replica B, whose
 * call engine dials a contact held by replica A, sends the INVITE to A's
 * advertise address with a Route naming A and the flow:
 *
 *     Route: <sip:A_ADDR:PORT;lr;kvr=A;kvf=TOKEN>
 *
 * TOKEN is the flow (transport, the phone's address, our local address,
 * the TCP connection) with a MAC under the cluster secret, so A forwards
 * only for replicas of its own cluster.  A is a stateless proxy for such
 * requests (RFC 3261 §16.11): it pops its Routes, adds a Via whose branch
 * is derived from the incoming one (so a CANCEL or the ACK of a non-2xx
 * matches the INVITE at the phone), Record-Routes twice (RFC 5658: one
 * entry the phone uses, one B uses, which carries the token) and sends the
 * request on the flow.  Responses come back by Via; requests of the
 * dialog from the phone follow the Record-Route to A, which loose-routes
 * them to B.  B stays the B2BUA: media is anchored there, and A keeps no
 * state per call.
 */
#ifndef KV_PBX_FLOWPROXY_H
#define KV_PBX_FLOWPROXY_H

#include <stdbool.h>
#include <stddef.h>

#include "sip/stack.h"
#include "state/state.h"
#include "util/hash.h"

struct flowproxy;

/* Counters, for /metrics. */
struct flowproxy_stats {
	uint64_t requests;        /* forwarded toward a phone or a replica */
	uint64_t responses;       /* forwarded back */
	uint64_t refused;         /* bad token, loop, no flow */
};

/* replica: this replica's name (copied); key: the cluster's flow key
 * (flowproxy_key()). */
int  flowproxy_alloc(struct flowproxy **fpp, struct sip_stack *stack,
		     const char *replica, const struct hash_key *key);
void flowproxy_free(struct flowproxy *fp);
/* A new cluster secret (reload). */
void flowproxy_set_key(struct flowproxy *fp, const struct hash_key *key);
const struct flowproxy_stats *flowproxy_stats(const struct flowproxy *fp);

/* The key of flow tokens, derived from the cluster secret. */
void flowproxy_key(const char *secret, struct hash_key *key);

/*
 * The Route header (without "Route: " and CRLF) that sends a request for
 * a contact on flow through replica r, and where to send it (r's
 * advertise address, UDP).  ENOENT when r has no advertise address.
 */
int  flowproxy_route(const struct flowproxy *fp, const struct state_replica *r,
		     const struct loc_source *flow, char *buf, size_t size,
		     struct sip_peer *next_hop);

/*
 * The stack's proxy hook (sip_stack_set_proxy_handler()): true when m was
 * a request routed through this replica or a response to one, and has
 * been forwarded or answered here.
 */
bool flowproxy_handle(struct sip_stack *st, const struct sip_msg *m,
		      const struct sip_peer *src, void *arg);

#endif
