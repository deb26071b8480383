/*
 * uacauth.h - answering a provider's digest challenges (401 and 407) to
 * a request we send again and again with the same credentials: the
 * REGISTERs of one attempt (outreg.c), the INVITEs of a call to a trunk
 * (dial.c).
 *
 * A proxy's 407 and the server's 401 may both come within one attempt;
 * every challenge taken is answered in every later request of it, the
 * nonce-count growing, as pjsip does.
 */
#ifndef KV_PBX_UACAUTH_H
#define KV_PBX_UACAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "sip/msg.h"
#include "util/sbuf.h"

struct uac_chal {
	bool set;
	char realm[128], nonce[128], opaque[128];
	bool has_opaque;
	char alg[16];
	bool qop_auth;
	uint32_t nc;
};

struct uac_auth {
	struct uac_chal www, proxy;
	unsigned challenges;
};

/*
 * resp is a 401 or a 407 to a request sent with credentials a (NULL:
 * none): take its first challenge we can answer (RFC 8760 §2.4).  0, or
 * EACCES with *why set when we cannot or should not answer: no
 * credentials, no usable challenge, the same kind of challenge again
 * without stale=true (our credentials were refused), too many.
 */
int uac_auth_take(struct uac_auth *ua, const struct cfg_auth *a, const struct sip_msg *resp,
		  const char **why);
/* Append the credentials of every challenge taken for method and uri
 * (the Request-URI as sent).  0; ENOENT when a realm's H(A1) is unknown
 * (a stored digest for another realm); EINVAL, ENOMEM. */
int uac_auth_print(struct uac_auth *ua, const struct cfg_auth *a, const char *method,
		   const char *uri, struct sbuf *sb);

#endif
