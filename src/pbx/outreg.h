/*
 * outreg.h - outbound registrations (pjsip.conf type=registration, as
 * Asterisk's res_pjsip_outbound_registration): KubeVox registers to a
 * provider as a phone registers to it.
 *
 * One client per registration section (RFC 3261 §10.2): REGISTER to
 * server_uri with To and From = client_uri and Contact
 * sip:contact_user@<our address on the transport>; digest answers to 401
 * and 407 (MD5, SHA-256) with the outbound_auth section; a refresh before
 * the granted expiry; retries after failures with retry_interval,
 * forbidden_retry_interval (403) and fatal_retry_interval, at most
 * max_retries, a timeout counting as a failure; server_uri's host located
 * by RFC 3263 (sip/resolve), the next target tried on timeout or 503.
 * Requests leave from the transport's listening socket, which providers
 * latch on.
 *
 * In a cluster one replica at a time registers each trunk: it holds the
 * registration's lease in the state backend (kv:lease:reg:NAME, a few
 * seconds, renewed at a third of it); another takes over once the lease
 * lapses or is released (a draining replica releases its leases at once).
 * With the memory backend the one process always holds them.
 */
#ifndef KV_PBX_OUTREG_H
#define KV_PBX_OUTREG_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "pbx/pbx.h"
#include "sip/transport.h"

struct outregs;

/* Lease time: another replica registers at most this long (plus a third
 * of it) after the holder died. */
#define OUTREG_LEASE_MS 6000
/* How long an exit waits for the removals (REGISTER Expires: 0). */
#define OUTREG_STOP_MS  4000

/* Every registration of cfg, started on the PBX's loop (cfg is read at
 * this call and on outregs_reconfigure() only). */
int  outregs_alloc(struct outregs **op, struct pbx *pbx, const struct kv_config *cfg);
/* Registrations are abandoned (no removal sent).  Before the stack and
 * the state backend are freed. */
void outregs_free(struct outregs *o);
/* The listener of transport name: REGISTERs over it leave from it. */
void outregs_set_listener(struct outregs *o, const char *name, struct sip_listener *l);
/* Start registering (once the listeners are set). */
void outregs_start(struct outregs *o);
/* A new configuration: registrations whose section did not change go on;
 * the others are removed (Expires: 0) and started again as written. */
void outregs_reconfigure(struct outregs *o, const struct kv_config *cfg);
/* Draining: in a cluster, give every lease up so that another replica
 * registers at once; no new lease is taken.  (One process alone keeps
 * its registrations until it exits.) */
void outregs_drain(struct outregs *o);
/* Exiting: remove every registration this replica holds (in a cluster:
 * that it can take the lease of, as nobody else registered it), then
 * done(arg) from the loop, at most OUTREG_STOP_MS later. */
void outregs_stop(struct outregs *o, void (*done)(void *arg), void *arg);
/* The state of each, in configuration order, for a snapshot. */
void outregs_snapshot(const struct outregs *o, struct pbx_snapshot *out);

#endif
