/*
 * reach.c - the next hop and the Route of a request for a registered
 * contact (reach.h says which rule).
 */
#include <stdio.h>
#include <string.h>

#include "pbx/core.h"
#include "pbx/flowproxy.h"
#include "pbx/reach.h"

enum reach_how reach_contact(struct pbx *pbx, const struct loc_contact *ct,
			     char *route, size_t size, struct sip_peer *dst)
{
	const char *self = pbx->cfg->cluster.replica;
	struct state_replica r;

	route[0] = '\0';
	memset(dst, 0, sizeof(*dst));
	loc_addr_get(&ct->src.addr, &dst->addr);
	loc_addr_get(&ct->src.local, &dst->local);
	dst->proto = ct->src.proto == LOC_PROTO_TCP ? SIP_PROTO_TCP : SIP_PROTO_UDP;
	dst->conn_id = ct->src.conn_id;
	if (ct->src.replica[0] && strcmp(ct->src.replica, self)) {
		/* Another replica's flow: our TCP connection ids and local
		 * addresses mean nothing here. */
		dst->conn_id = 0;
		memset(&dst->local, 0, sizeof(dst->local));
	}
	if (ct->path && *ct->path) {
		snprintf(route, size, "%s", ct->path);
		return REACH_PATH;
	}
	if (!ct->src.replica[0] || !strcmp(ct->src.replica, self))
		return REACH_OWN_FLOW;
	if (!state_replica(pbx->state, ct->src.replica, &r) && r.alive &&
	    !flowproxy_route(pbx->proxy, &r, &ct->src, route, size, dst))
		return REACH_REPLICA;
	route[0] = '\0';
	return REACH_REPLICA_DEAD;
}
