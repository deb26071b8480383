/*
 * dns.h - the PBX's one DNS resolver, shared by the call engine (trunks'
 * hosts), outbound registrations and identify's host names, so that they
 * share one cache and one set of name servers, and a reload that names
 * other servers reaches all three.
 *
 * The resolver is made at the first name to locate: a configuration
 * without any host name needs no resolv.conf.
 */
#ifndef KV_PBX_DNS_H
#define KV_PBX_DNS_H

#include <uv.h>

#include "config/config.h"
#include "sip/resolve.h"
#include "util/tmr.h"

struct pbx_dns;

int  pbx_dns_alloc(struct pbx_dns **dp, uv_loop_t *loop, struct tmrq *q);
/* After everything that asked it has cancelled its queries. */
void pbx_dns_free(struct pbx_dns *d);
/* The resolver, asking cfg's [dns] nameservers (resolv.conf's when none):
 * 0, or why there is none. */
int  pbx_dns_resolver(struct pbx_dns *d, const struct kv_config *cfg,
		      struct sip_resolver **rp);
/* A reload: cfg's name servers from now on, and every cached answer
 * forgotten, so that names are asked again where the new servers say. */
void pbx_dns_reconfigure(struct pbx_dns *d, const struct kv_config *cfg);

#endif
