/*
 * authn.h - digest authentication of any request from an endpoint
 * (REGISTER, INVITE, ...), with the same answers for unknown users as for
 * wrong passwords, stale-nonce handling, nonce-count replay checks in the
 * state backend, and the policy of failed-authentication bans (what a
 * failure counts against, what it bans; authn.c's comment says how).
 */
#ifndef KV_PBX_AUTHN_H
#define KV_PBX_AUTHN_H

#include "config/config.h"
#include "sip/stack.h"

struct pbx;

enum authn_result {
	AUTHN_OK,          /* authenticated, or the endpoint needs no auth */
	AUTHN_CHALLENGED,  /* 401 sent: no credentials for our realm yet */
	AUTHN_STALE,       /* 401 stale=true sent: right password, old nonce */
	AUTHN_FAILED,      /* 401 sent after wrong credentials (counted) */
	AUTHN_REJECTED,    /* 400 sent: digest uri is not the Request-URI */
};

/* The endpoint a request comes from: the registration whose Contact
 * (line=) it was sent to, else the identify section matching its source
 * address (written, or a match= host name's: pbx/idhosts), else the endpoint named like its From user, else the identify
 * section whose match_header one of its headers matches; NULL when there
 * is none (the request is then challenged like any other, and fails). */
const struct cfg_endpoint *authn_identify(const struct pbx *pbx,
					  const struct kv_config *cfg,
					  const struct sip_msg *req,
					  const struct sip_peer *src);

/* why: a short token for the log ("challenge", "auth_failed", ...). */
typedef void (authn_done_h)(enum authn_result res, const char *why, void *arg);

/*
 * Authenticate the request held by stx (sip_stx_request()), claimed to come
 * from endpoint ep (NULL when no such endpoint exists).  Everything but
 * AUTHN_OK has been answered already.  done is called exactly once, either
 * before authn_request() returns or later (nonce-count check); cfg must
 * stay referenced until then.
 */
void authn_request(struct pbx *pbx, const struct kv_config *cfg,
		   struct sip_stx *stx, const struct cfg_endpoint *ep,
		   const struct sip_peer *src, authn_done_h *done, void *arg);

/*
 * The nonce-count check, left to a caller that does it in the same step
 * as its own state write (the registrar: state_register() checks it, so a
 * REGISTER costs the Redis backend one round trip, not two).
 */
struct authn_nc {
	bool set;                      /* credentials with qop: check nc */
	struct pl nonce;               /* in the request the stx holds */
	uint32_t nc;
	uint64_t expires_at;           /* unix seconds */
	/* for authn_nc_replayed() */
	bool known;
	const char *realm;
	const enum cfg_digest_alg *algs;
	size_t algs_n;
};

/* authn_request(), except that AUTHN_OK comes without the nonce-count
 * check, which *nc describes (nc->set false: none needed). */
void authn_request_nc(struct pbx *pbx, const struct kv_config *cfg,
		      struct sip_stx *stx, const struct cfg_endpoint *ep,
		      const struct sip_peer *src, struct authn_nc *nc,
		      authn_done_h *done, void *arg);

/* The caller's check found the count used already: the failure is counted
 * and the request challenged again, as authn_request() would have. */
void authn_nc_replayed(struct pbx *pbx, const struct kv_config *cfg,
		       struct sip_stx *stx, const struct sip_peer *src,
		       const struct authn_nc *nc);

/*
 * Is the request refused because its source is banned ("ADDR" or "ADDR
 * FROMUSER")?  When it is, the ban's key goes to key (size bytes, for
 * the log).  Never waits: it reads the state backend's copy of the bans.
 */
bool authn_banned(struct pbx *pbx, const struct sip_msg *req,
		  const struct sip_peer *src, char *key, size_t size);

/* A new configuration: turning banning off (ban_failures=0) lifts every
 * ban and forgets every count; new thresholds apply to the next failure. */
void authn_reconfigure(struct pbx *pbx, const struct kv_config *old,
		       const struct kv_config *cfg);

#endif
