/*
 * dns.c - the PBX's one DNS resolver (see dns.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/dns.h"
#include "util/log.h"

struct pbx_dns {
	uv_loop_t *loop;
	struct tmrq *tmrq;
	struct sip_resolver *resolver;   /* NULL until the first name */
};

int pbx_dns_alloc(struct pbx_dns **dp, uv_loop_t *loop, struct tmrq *q)
{
	struct pbx_dns *d = calloc(1, sizeof(*d));

	if (!d)
		return ENOMEM;
	d->loop = loop;
	d->tmrq = q;
	*dp = d;
	return 0;
}

void pbx_dns_free(struct pbx_dns *d)
{
	if (!d)
		return;
	if (d->resolver)
		sip_resolver_free(d->resolver);
	free(d);
}

int pbx_dns_resolver(struct pbx_dns *d, const struct kv_config *cfg,
		     struct sip_resolver **rp)
{
	if (!d->resolver) {
		struct sip_resolver_opts opts;
		int err;

		memset(&opts, 0, sizeof(opts));
		opts.servers = cfg->dns.nameservers;
		opts.servers_n = cfg->dns.nameservers_n;
		err = sip_resolver_alloc(&d->resolver, d->loop, d->tmrq, &opts);
		if (err)
			return err;
	}
	*rp = d->resolver;
	return 0;
}

void pbx_dns_reconfigure(struct pbx_dns *d, const struct kv_config *cfg)
{
	int err;

	if (!d->resolver)
		return;
	err = sip_resolver_set_servers(d->resolver, cfg->dns.nameservers,
				       cfg->dns.nameservers_n);
	if (err)
		log_event(LOG_WARN, "dns_servers", "applied=no error=%s", strerror(err));
	sip_resolver_flush(d->resolver);
}
