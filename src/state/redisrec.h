/*
 * redisrec.h - a binding as the Redis backend stores it: one text record
 * per contact in the AOR's hash (the hash field is the contact URI).
 *
 * Fields are separated by TAB; TAB, '%', CR, LF and NUL inside a value are
 * percent-escaped (%09, %25, %0D, %0A, %00):
 *
 *   1 expires_at cseq q proto conn_id src local replica callid path
 *   user_agent endpoint instance
 *
 * The leading "1" is the record's version: a record of another version,
 * or one that does not decode, is skipped by its reader, never trusted.
 * The Lua scripts read the expiry (field 2) and the replica (field 9) of a
 * record without decoding the rest.  An empty optional value is absent.
 */
#ifndef KV_STATE_REDISREC_H
#define KV_STATE_REDISREC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "state/state.h"
#include "util/pl.h"
#include "util/sbuf.h"

enum rrec_field {
	RREC_F_VERSION = 1,      /* "1" */
	RREC_F_EXPIRES,          /* expires_at, unix seconds */
	RREC_F_CSEQ,
	RREC_F_Q,                /* q * 1000, or -1 */
	RREC_F_PROTO,            /* u | t */
	RREC_F_CONN,             /* TCP connection id on its replica, 0 for UDP */
	RREC_F_SRC,              /* the phone's address, ADDR:PORT */
	RREC_F_LOCAL,            /* ours it sent to, ADDR:PORT, or empty */
	RREC_F_REPLICA,          /* the replica that holds the flow */
	RREC_F_CALLID,
	RREC_F_PATH,             /* optional */
	RREC_F_USER_AGENT,       /* optional */
	RREC_F_ENDPOINT,
	RREC_F_INSTANCE,         /* optional */
	RREC_FIELDS = RREC_F_INSTANCE
};

/* Appends the record of c (c->aor and c->uri are not part of it). */
void rrec_encode(struct sbuf *sb, const struct loc_contact *c);

/*
 * Decodes the record rec[0..len): the strings of *c are written to buf,
 * which has room for len + 1 bytes; c->aor and c->uri are left as they
 * are (the caller's).  0, or EINVAL for anything that is not a record of
 * this version.
 */
int rrec_decode(const char *rec, size_t len, char *buf, struct loc_contact *c);

/* Field f as stored (still escaped): 0 or EINVAL. */
int rrec_field(const char *rec, size_t len, enum rrec_field f, struct pl *out);

/* The expiry alone, without decoding the rest: 0 or EINVAL. */
int rrec_expires(const char *rec, size_t len, uint64_t *expires_at);

/* An address as "192.0.2.1:5060" or "[2001:db8::1]:5060"; nothing for
 * AF_UNSPEC. */
void rrec_addr_print(struct sbuf *sb, const struct sockaddr_storage *ss);
/* The reverse; "" is AF_UNSPEC.  0 or EINVAL. */
int rrec_addr_parse(const struct pl *s, struct sockaddr_storage *ss);

/* Decimal without sign, at most max: 0 or EINVAL. */
int rrec_u64(const struct pl *s, uint64_t max, uint64_t *v);

#endif
