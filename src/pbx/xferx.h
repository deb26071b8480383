/*
 * xferx.h - attended transfers across replicas: the call a REFER's
 * Replaces names may live on another replica of the cluster (each call is
 * where the front's Call-ID hash sent it), so the replica that took the
 * REFER sends an INVITE with that Replaces to every other live replica;
 * the one holding the dialog answers it as a phone's INVITE with
 * Replaces.  Such an INVITE carries no digest credentials: a MAC under
 * the cluster secret says it comes from a replica of this cluster.
 */
#ifndef KV_PBX_XFERX_H
#define KV_PBX_XFERX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sip/msg.h"
#include "state/state.h"

#define XFERX_AUTH_HDR    "X-KubeVox-Replaces-Auth"
#define XFERX_MAX_AGE_S   30    /* a signature older (or newer) is refused */

struct pbx;

/* The header line (with CRLF) that signs an INVITE of Call-ID callid
 * carrying Replaces value rep, made at now (unix seconds): 0 or ENOSPC. */
int xferx_sign(const char *secret, const char *callid, const char *rep, uint64_t now,
	       char *buf, size_t size);

enum xferx_check {
	XFERX_UNSIGNED,         /* no such header, or no Replaces: the usual
				 * authentication applies */
	XFERX_OK,               /* signed by a replica, fresh */
	XFERX_BAD,              /* signed wrongly or stale: 403 */
};
enum xferx_check xferx_verify(const char *secret, const struct sip_msg *req, uint64_t now);

/* The other live replicas that take SIP (advertise address set): at most
 * max, copied into out; how many. */
size_t xferx_replicas(struct state *st, struct state_replica *out, size_t max);

#endif
