/*
 * dialog.h - SIP dialogs (RFC 3261 §12): the state two user agents share
 * for one call leg, and the requests sent within it.
 *
 * A dialog keeps the From/To values of both sides exactly as they appear
 * on the wire (tags included), the remote target, the route set and both
 * CSeq spaces.  In-dialog requests go through the route set when there is
 * one; otherwise to the address the peer's messages come from, which is
 * what a phone behind NAT needs (its Contact is often unreachable), and
 * from our address the peer reached us on (the peer's local).
 */
#ifndef KV_SIP_DIALOG_H
#define KV_SIP_DIALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "sip/msg.h"
#include "sip/stack.h"
#include "util/sbuf.h"

struct sip_dialog {
	char *callid;
	char *ltag;
	char *rtag;          /* NULL until the remote side has tagged */
	char *lhdr;          /* our From (UAC) or To (UAS) value, with tag */
	char *rhdr;          /* the peer's, with its tag when it has one */
	char *target;        /* remote target URI (its Contact) */
	char *route;         /* Route header value (comma-separated), or NULL */
	char *lcontact;      /* our Contact URI */
	uint32_t lcseq;      /* last CSeq we used */
	uint32_t rcseq;      /* last CSeq the peer used */
	bool rcseq_valid;
	bool uac;
	struct sip_peer peer;   /* where requests of this dialog go */
};

/* As UAS, from the dialog-creating request (INVITE) and our tag. */
int  sip_dialog_uas_alloc(struct sip_dialog **dp, const struct sip_msg *req,
			  const struct sip_peer *src, const char *ltag,
			  const char *lcontact);
/* As UAC, before any response: our From value (with tag), the To value,
 * the Request-URI and the CSeq of the INVITE we send. */
int  sip_dialog_uac_alloc(struct sip_dialog **dp, const char *callid,
			  const char *ltag, const char *lhdr, const char *rhdr,
			  const char *target, uint32_t cseq,
			  const struct sip_peer *dst, const char *lcontact);
/* A UAC dialog learns the peer's tag, target and route set from a 1xx with
 * a To tag or a 2xx (RFC 3261 §12.1.2); the 2xx refreshes the target. */
int  sip_dialog_uac_update(struct sip_dialog *d, const struct sip_msg *resp);
void sip_dialog_free(struct sip_dialog *d);

/* Does req belong to this dialog (Call-ID and both tags)? */
bool sip_dialog_match(const struct sip_dialog *d, const struct sip_msg *req);

/* RFC 3261 §12.2.2: a request with a CSeq lower than the last one is out
 * of order (500).  ACK and CANCEL carry the INVITE's CSeq and are exempt.
 * Also refreshes the target from a target-refresh request's Contact. */
bool sip_dialog_accept_request(struct sip_dialog *d, const struct sip_msg *req);

/*
 * Print a request within the dialog into sb and set *dst to where it goes.
 * cseq 0 takes the next local CSeq; ACK passes the INVITE's.  branch must
 * come from sip_stack_new_branch().  extra: complete header lines or NULL.
 */
int sip_dialog_request(struct sip_dialog *d, struct sip_stack *st,
		       const char *method, uint32_t cseq, const char *branch,
		       const char *extra, const char *ctype,
		       const struct pl *body, struct sbuf *sb,
		       struct sip_peer *dst);

#endif
