/*
 * idhosts.c - the host names of identify sections' match=, resolved on
 * the loop (see idhosts.h).
 *
 * Asterisk resolves them when the configuration is applied: with
 * srv_lookups=yes (the default) the SRV records of the name
 * (_sip._udp, _sip._tcp, _sips._tcp) and their targets' addresses, and
 * the name's own A/AAAA records only when there is no SRV record; with
 * srv_lookups=no the A/AAAA records alone.  sip/resolve locates a name
 * the same way (RFC 3263: NAPTR first when the zone has one, then SRV,
 * else A/AAAA), and a port makes it skip to A/AAAA, which is how
 * srv_lookups=no asks.  Unlike Asterisk, which resolves once per reload,
 * a name is asked again every IDHOSTS_POLL_MS: the resolver's cache
 * answers until the records' TTL ends, so DNS is asked again when it
 * has (within that period) and a provider that moves is followed.  A
 * name no server answers (a timeout, SERVFAIL) keeps the addresses it
 * had; one that no longer exists loses them.  A reload forgets the cache
 * and asks again at once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/cfgval.h"
#include "pbx/core.h"
#include "pbx/dns.h"
#include "pbx/idhosts.h"
#include "sip/resolve.h"
#include "util/log.h"
#include "util/tmr.h"

#define IDHOSTS_POLL_MS 5000

struct idhost {
	struct idhosts *set;
	char *identify;              /* the section's name */
	char *host;
	bool srv;                    /* srv_lookups */
	struct cfg_net *addrs;       /* one full-length network each */
	size_t addrs_n;
	int last_err;                /* of the last answer, to log changes once */
	struct sip_rquery *rq;
	struct tmr tmr;
};

struct idhosts {
	struct pbx *pbx;
	struct sip_resolver *resolver;  /* pbx/dns.h's, not ours to free */
	struct idhost **v;
	size_t n;
};

static void ask(struct idhost *h);

static void host_free(struct idhost *h)
{
	if (!h)
		return;
	sip_resolve_cancel(h->rq);
	tmr_cancel(h->set->pbx->tmrq, &h->tmr);
	free(h->identify);
	free(h->host);
	free(h->addrs);
	free(h);
}

static void poll_h(void *arg)
{
	ask(arg);
}

/* The same address (ports are not kept). */
static bool addr_eq(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return false;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)b)->sin6_addr,
			       sizeof(struct in6_addr));
	return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
	       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
}

static bool same_addrs(const struct idhost *h, const struct cfg_net *a, size_t n)
{
	if (n != h->addrs_n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!addr_eq(&a[i].addr, &h->addrs[i].addr))
			return false;
	}
	return true;
}

static void log_addrs(const struct idhost *h)
{
	char list[512] = "", ip[64];
	size_t off = 0;

	for (size_t i = 0; i < h->addrs_n && off < sizeof(list) - 1; i++) {
		const struct sockaddr_storage *ss = &h->addrs[i].addr;

		if (ss->ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, ip,
				  sizeof(ip));
		else
			inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, ip,
				  sizeof(ip));
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? "," : "", ip);
	}
	log_event(LOG_INFO, "identify_host_resolved", "identify=%s host=%s addrs=%s",
		  h->identify, h->host, list);
}

static void resolved(int err, struct sip_targets *t, void *arg)
{
	struct idhost *h = arg;
	struct cfg_net *a = NULL;
	size_t n = 0, cnt = sip_targets_count(t);

	h->rq = NULL;
	if (!err && cnt && !(a = calloc(cnt, sizeof(*a))))
		err = ENOMEM;
	for (size_t i = 0; !err && i < cnt; i++) {
		const struct sip_target *tg = sip_targets_at(t, i);
		struct cfg_net net;
		bool dup = false;

		memset(&net, 0, sizeof(net));
		net.addr = tg->addr;
		net.prefix = tg->addr.ss_family == AF_INET6 ? 128 : 32;
		/* the port does not count: only the address is matched */
		if (net.addr.ss_family == AF_INET6)
			((struct sockaddr_in6 *)&net.addr)->sin6_port = 0;
		else
			((struct sockaddr_in *)&net.addr)->sin_port = 0;
		for (size_t j = 0; j < n && !dup; j++)
			dup = addr_eq(&a[j].addr, &net.addr);
		if (!dup)
			a[n++] = net;
	}
	sip_targets_free(t);
	if (!err) {
		if (!same_addrs(h, a, n) || h->last_err) {
			free(h->addrs);
			h->addrs = a;
			h->addrs_n = n;
			a = NULL;
			log_addrs(h);
		}
	} else if (err == ENOENT) {
		/* the name is gone: so is what it identified */
		free(h->addrs);
		h->addrs = NULL;
		h->addrs_n = 0;
	}
	if (err && err != h->last_err)
		log_event(LOG_WARN, "identify_host_failed", "identify=%s host=%s error=%s "
			  "addrs_kept=%zu", h->identify, h->host,
			  err == ENOENT ? "no_such_name" : err == ETIMEDOUT ? "timeout" :
			  err == ECONNREFUSED ? "refused" : strerror(err), h->addrs_n);
	h->last_err = err;
	free(a);
	tmr_start(h->set->pbx->tmrq, &h->tmr, IDHOSTS_POLL_MS, poll_h, h);
}

static void ask(struct idhost *h)
{
	struct sip_rdest d;
	int err;

	memset(&d, 0, sizeof(d));
	d.host = pl_from_str(h->host);
	/* A port makes the resolver skip NAPTR and SRV: srv_lookups=no. */
	d.port = h->srv ? 0 : 5060;
	d.af = AF_UNSPEC;
	err = sip_resolve(h->set->resolver, &d, resolved, h, &h->rq);
	if (err) {
		if (err != h->last_err)
			log_event(LOG_WARN, "identify_host_failed", "identify=%s host=%s "
				  "error=%s", h->identify, h->host, strerror(err));
		h->last_err = err;
		tmr_start(h->set->pbx->tmrq, &h->tmr, IDHOSTS_POLL_MS, poll_h, h);
	}
}

/* The entry of old for (identify, host), taken out of it, or NULL. */
static struct idhost *take(struct idhost **old, size_t old_n, const char *identify,
			   const char *host, bool srv)
{
	for (size_t i = 0; i < old_n; i++) {
		struct idhost *h = old[i];

		if (h && h->srv == srv && !strcmp(h->identify, identify) &&
		    !strcasecmp(h->host, host)) {
			old[i] = NULL;
			return h;
		}
	}
	return NULL;
}

/* The entries for cfg, reusing old ones (their addresses stand until the
 * new answer); every entry is asked now. */
static int build(struct idhosts *ih, const struct kv_config *cfg)
{
	struct idhost **old = ih->v;
	size_t old_n = ih->n, n = 0, want = 0;
	int err = 0;

	for (size_t i = 0; i < cfg->identifies_n; i++)
		want += cfg->identifies[i].match_hosts_n;
	ih->v = want ? calloc(want, sizeof(*ih->v)) : NULL;
	ih->n = 0;
	if (want && !ih->v) {
		err = ENOMEM;
		goto out;
	}
	/* Asked for at the first name: a configuration without any needs no
	 * resolv.conf. */
	if (want && !ih->resolver)
		err = pbx_dns_resolver(ih->pbx->dns, cfg, &ih->resolver);
	if (err)
		goto out;
	for (size_t i = 0; i < cfg->identifies_n; i++) {
		const struct cfg_identify *id = &cfg->identifies[i];

		for (size_t j = 0; j < id->match_hosts_n && n < want; j++) {
			struct idhost *h = take(old, old_n, id->name, id->match_hosts[j],
						id->srv_lookups);

			if (h) {
				sip_resolve_cancel(h->rq);
				h->rq = NULL;
				tmr_cancel(ih->pbx->tmrq, &h->tmr);
			} else {
				h = calloc(1, sizeof(*h));
				if (!h || !(h->identify = strdup(id->name)) ||
				    !(h->host = strdup(id->match_hosts[j]))) {
					if (h) {
						free(h->identify);
						free(h);
					}
					err = ENOMEM;
					goto out;
				}
				h->set = ih;
				h->srv = id->srv_lookups;
				tmr_init(&h->tmr);
			}
			ih->v[n++] = h;
			ih->n = n;
		}
	}
 out:
	for (size_t i = 0; i < old_n; i++)
		host_free(old[i]);
	free(old);
	for (size_t i = 0; i < ih->n; i++)
		ask(ih->v[i]);
	return err;
}

int idhosts_alloc(struct idhosts **ihp, struct pbx *pbx, const struct kv_config *cfg)
{
	struct idhosts *ih = calloc(1, sizeof(*ih));
	int err;

	if (!ih)
		return ENOMEM;
	ih->pbx = pbx;
	err = build(ih, cfg);
	if (err) {
		idhosts_free(ih);
		return err;
	}
	*ihp = ih;
	return 0;
}

void idhosts_free(struct idhosts *ih)
{
	if (!ih)
		return;
	for (size_t i = 0; i < ih->n; i++)
		host_free(ih->v[i]);
	free(ih->v);
	free(ih);
}

void idhosts_reconfigure(struct idhosts *ih, const struct kv_config *cfg)
{
	int err;

	if (!ih)
		return;
	err = build(ih, cfg);
	if (err)
		log_event(LOG_WARN, "identify_hosts_reload", "error=%s", strerror(err));
}

const struct cfg_endpoint *idhosts_match(const struct idhosts *ih,
					 const struct kv_config *cfg,
					 const struct sockaddr *sa)
{
	if (!ih || !sa)
		return NULL;
	for (size_t i = 0; i < ih->n; i++) {
		const struct idhost *h = ih->v[i];

		for (size_t j = 0; j < h->addrs_n; j++) {
			if (!cfgval_net_match(&h->addrs[j], sa))
				continue;
			for (size_t k = 0; k < cfg->identifies_n; k++) {
				if (!strcmp(cfg->identifies[k].name, h->identify))
					return cfg->identifies[k].endpoint;
			}
		}
	}
	return NULL;
}
