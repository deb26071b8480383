/*
 * mwi.h - message waiting indication (RFC 3842), as res_pjsip_mwi does it.
 *
 * Unsolicited: an endpoint with mailboxes= gets an out-of-dialog NOTIFY
 * (Event: message-summary) on each registered contact of its aors when
 * the counts of its mailboxes change, and on each REGISTER that binds a
 * contact.  Solicited: a SUBSCRIBE to an aor with mailboxes= (or to the
 * endpoint, Request-URI without a user: every aor of it) makes a dialog
 * notified at once, on every change, on refresh and at its end.
 *
 * Where counts come from: the voicemail spool (mwibox.h).  Voicemail calls
 * mwi_mailbox_changed() after it changes a mailbox; voicemail.conf's
 * pollmailboxes looks at every mailbox each pollfreq seconds for changes
 * made elsewhere (another replica sharing the spool, a script); a reload
 * looks once.
 *
 * In a cluster: subscriptions live in the memory of the replica that took
 * the SUBSCRIBE (a phone refreshes them there: the dialog's route set),
 * and are lost if it goes away (the phone subscribes again when its
 * refresh fails).  An unsolicited NOTIFY goes to a phone from the replica
 * that holds its flow: with pollmailboxes every replica finds every change
 * and tells the phones whose flows it holds; without, the replica that
 * found a change (voicemail ran there, or it reloaded) tells every phone,
 * through the replica holding its flow (flowproxy.h).
 */
#ifndef KV_PBX_MWI_H
#define KV_PBX_MWI_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "sip/stack.h"
#include "state/state.h"

struct pbx;
struct mwi;

/* Reads pbx->cfg: counts every configured mailbox once, starts polling.
 * Counts into pbx->stats (mwi_*). */
int  mwi_alloc(struct mwi **mp, struct pbx *pbx);
/* Subscriptions end without a NOTIFY; NOTIFYs in flight are forgotten. */
void mwi_free(struct mwi *m);
/* pbx->cfg was replaced: mailboxes counted again (changes notified),
 * polling as the new voicemail.conf says. */
void mwi_reconfigure(struct mwi *m);

/* Draining (SIGTERM): every subscription ends with reason=deactivated,
 * which asks the phone to subscribe again at once (RFC 6665 §4.1.3), to
 * another replica; new SUBSCRIBEs get 503 with Retry-After. */
void mwi_drain(struct mwi *m);

/* Mailbox "MAILBOX@CONTEXT" may have changed: count it again and, when it
 * did change, notify every subscriber and endpoint concerned. */
void mwi_mailbox_changed(struct mwi *m, const char *mailbox);

/* A REGISTER of endpoint ep succeeded: contacts[0..n) are its aor's
 * bindings; those of this REGISTER (its Call-ID) get the endpoint's
 * message summary, as Asterisk sends on registration. */
void mwi_registered(struct mwi *m, const struct cfg_endpoint *ep,
		    const struct loc_contact *contacts, size_t n,
		    const struct pl *callid);

/* A SUBSCRIBE outside of any dialog: answered now or after authentication. */
void mwi_subscribe(struct mwi *m, struct sip_stx *stx, const struct sip_msg *req,
		   const struct sip_peer *src);
/* A request with a To tag: true when it belongs to a subscription's
 * dialog (and has been answered). */
bool mwi_in_dialog(struct mwi *m, struct sip_stx *stx, const struct sip_msg *req,
		   const struct sip_peer *src);

#endif
