/*
 * idhosts.h - the host names of identify sections' match= (Asterisk's
 * res_pjsip_endpoint_identifier_ip), resolved on the loop: every address
 * a name gives identifies its section's endpoint like an address written
 * in match=.
 */
#ifndef KV_PBX_IDHOSTS_H
#define KV_PBX_IDHOSTS_H

#include <sys/socket.h>

#include "config/config.h"

struct pbx;
struct idhosts;

/* Start resolving every host name of cfg's identify sections.  0 or
 * ENOMEM (or the resolver's error). */
int  idhosts_alloc(struct idhosts **ihp, struct pbx *pbx, const struct kv_config *cfg);
void idhosts_free(struct idhosts *ih);
/* A reload: the names of cfg are asked afresh (the cache is forgotten);
 * a name kept from the old configuration keeps its addresses until then. */
void idhosts_reconfigure(struct idhosts *ih, const struct kv_config *cfg);
/* The endpoint of cfg whose identify section lists a host name that
 * resolved to sa's address (any port), or NULL.  Never waits. */
const struct cfg_endpoint *idhosts_match(const struct idhosts *ih,
					 const struct kv_config *cfg,
					 const struct sockaddr *sa);

#endif
