/*
 * print.h - building outgoing SIP messages (responses and requests).
 */
#ifndef KV_SIP_PRINT_H
#define KV_SIP_PRINT_H

#include <stdint.h>

#include "sip/msg.h"
#include "util/hash.h"
#include "util/sbuf.h"

/* Standard reason phrase for a status code ("Unknown" if none). */
const char *sip_reason(uint16_t scode);

/*
 * Response to req (RFC 3261 §8.2.6): status line, every Via in order, From,
 * To (with totag appended when the request's To has no tag and totag is
 * non-NULL and scode > 100), Call-ID, CSeq, then extra (zero or more
 * complete "Name: value\r\n" lines, may be NULL), a Server header, then
 * Content-Length and body (may be NULL).  reason NULL means sip_reason().
 */
int sip_print_response(struct sbuf *sb, const struct sip_msg *req,
		       uint16_t scode, const char *reason, const char *totag,
		       const char *extra, const char *ctype,
		       const struct pl *body);

/*
 * Deterministic To-tag for a response to req: keyed SipHash of Call-ID,
 * From tag and top Via branch, so a retransmitted request gets the same
 * tag even when no transaction state remains, every replica sharing the
 * cluster secret computes the same, and nobody else can predict it (a
 * guessed tag helps forge in-dialog requests).  Writes at most size-1 hex
 * characters + NUL.
 */
void sip_totag(const struct hash_key *key, const struct sip_msg *req, char *buf,
	       size_t size);

/* The product token for Server/User-Agent headers. */
extern const char sip_server_name[];

#endif
