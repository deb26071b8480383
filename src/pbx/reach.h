/*
 * reach.h - where a request for a registered contact goes: the one rule
 * for every request KubeVox starts toward a phone (the INVITEs of Dial(),
 * unsolicited NOTIFYs of message waiting).
 *
 * Through the Path the phone registered with (a front proxy holds its
 * flow, RFC 3327), else to the phone on its own flow when this replica
 * holds it, else through the replica that does (flowproxy.h), else (that
 * replica is dead) straight to the address the phone registered from.
 */
#ifndef KV_PBX_REACH_H
#define KV_PBX_REACH_H

#include <stddef.h>

#include "sip/stack.h"
#include "state/state.h"

struct pbx;

enum reach_how {
	REACH_OWN_FLOW,        /* this replica holds the flow */
	REACH_PATH,            /* through the Path's proxy */
	REACH_REPLICA,         /* through the replica that holds the flow */
	REACH_REPLICA_DEAD,    /* its replica is dead: to its address */
};

/* route: the Route header value to add ("" for none), size bytes; *dst:
 * the next hop.  A request that goes anywhere but to a flow of ours
 * should hear back within a few seconds (the phone may be gone). */
enum reach_how reach_contact(struct pbx *pbx, const struct loc_contact *ct,
			     char *route, size_t size, struct sip_peer *dst);

#endif
