/*
 * resolve.h - locating SIP servers (RFC 3263 §4) with c-ares on the loop.
 *
 * A SIP URI's host, port and transport become an ordered list of targets
 * (transport, address, port) that a client tries one after the other when
 * a target times out or answers 503 (§4.3).  The rules, as RFC 3263 §4.1
 * and §4.2 give them:
 *   - a numeric IP is the only target (port 5060, 5061 for TLS);
 *   - an explicit port: A/AAAA of the host;
 *   - an explicit transport and no port: SRV of that transport, else
 *     A/AAAA with the default port;
 *   - otherwise NAPTR (SIP+D2U, SIP+D2T; SIPS+D2T only when the caller
 *     speaks TLS), in order and preference, each to its SRV name; without
 *     a usable NAPTR, SRV of _sip._udp, _sip._tcp (and _sips._tcp with
 *     TLS); without SRV, A/AAAA on port 5060 over UDP (TLS and 5061 for a
 *     sips: URI).
 * SRV records are ordered by priority and, among equal priorities, by
 * RFC 2782's weighted random choice; every SRV target's addresses follow
 * in place.  CNAMEs are followed (c-ares reads the chain in the answer).
 * A NAPTR or SRV step that no server answers ends the query (ETIMEDOUT):
 * the next step would wait as long on the same servers.  One that is
 * refused or unreadable falls through to the next step, as no records do.
 *
 * Answers are cached per (name, type) for their TTL (the least TTL of the
 * answer's records, at most ttl_max), and negative answers (no such name,
 * no such record) for the SOA's negative TTL (RFC 2308), else neg_ttl, at
 * most neg_ttl_max.  The cache holds at most cache_max answers and
 * cache_bytes of them, and drops the least recently used.
 *
 * The loop never waits: c-ares' sockets are watched by one uv_poll each
 * and its retransmissions run from a timer of the stack's tmrq.  The name
 * servers and the search list are resolv.conf's (c-ares reads it) unless
 * the caller names others.  A host of one label ("provider", a Kubernetes
 * Service) goes through the search list, and so do the NAPTR and SRV
 * names made from it ("_sip._udp.provider" finds a Service's named port);
 * any other name is asked as written, as are the names DNS itself gives
 * (NAPTR replacements, SRV targets), which are absolute.
 */
#ifndef KV_SIP_RESOLVE_H
#define KV_SIP_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <uv.h>

#include "util/pl.h"
#include "util/tmr.h"

enum sip_rproto { SIP_RPROTO_UDP, SIP_RPROTO_TCP, SIP_RPROTO_TLS };

/* "udp", "tcp", "tls". */
const char *sip_rproto_name(enum sip_rproto p);

struct sip_resolver_opts {
	/* Name servers to ask instead of resolv.conf's (each with its port;
	 * a port of 0 is 53).  NULL/0: resolv.conf. */
	const struct sockaddr_storage *servers;
	size_t servers_n;
	/* Search domains instead of resolv.conf's. */
	const char *const *search;
	size_t search_n;
	unsigned timeout_ms;     /* first try's timeout, doubled per try (1000) */
	unsigned tries;          /* per name server (3) */
	size_t cache_max;        /* answers kept (1024) */
	size_t cache_bytes;      /* their bytes, at most (1 MiB); an answer
				  * larger than an eighth of it is not kept */
	uint32_t ttl_max;        /* s, longest a positive answer is kept (3600) */
	uint32_t neg_ttl;        /* s, a negative answer without SOA (30) */
	uint32_t neg_ttl_max;    /* s, longest a negative answer is kept (300) */
};

struct sip_resolver;

/* opts may be NULL (every default).  0, ENOMEM, or EINVAL when c-ares
 * refuses (a bad server address, no resolv.conf it can use). */
int  sip_resolver_alloc(struct sip_resolver **rp, uv_loop_t *loop, struct tmrq *q,
			const struct sip_resolver_opts *opts);
/* Queries in flight are cancelled (their callbacks never run).  Not from
 * inside a sip_resolve_h.  The loop must turn once more to close the
 * sockets' handles. */
void sip_resolver_free(struct sip_resolver *r);
/* Replace the name servers (a reload); n == 0 goes back to resolv.conf's
 * as read at sip_resolver_alloc().  Queries in flight may still use the
 * old ones. */
int  sip_resolver_set_servers(struct sip_resolver *r, const struct sockaddr_storage *ss,
			      size_t n);
/* Forget every cached answer. */
void sip_resolver_flush(struct sip_resolver *r);

struct sip_resolver_stats {
	uint64_t queries;        /* sent to a name server */
	uint64_t answers;        /* ... that came back (any status) */
	uint64_t timeouts;       /* ... that no server answered */
	uint64_t cache_hits;
	uint64_t evictions;      /* answers dropped to stay within the bounds */
	size_t cached;           /* answers in the cache now */
	size_t cached_bytes;     /* ... their bytes */
	size_t inflight;         /* queries sent and not yet back */
};

void sip_resolver_stats(const struct sip_resolver *r, struct sip_resolver_stats *st);

/* One place to send to. */
struct sip_target {
	enum sip_rproto proto;
	struct sockaddr_storage addr;    /* with its port */
	const char *host;        /* the name it came from (the SRV target or the
				  * URI's host): TLS names, logs */
};

/* The ordered list of one resolution, owned by whoever got it. */
struct sip_targets;

size_t sip_targets_count(const struct sip_targets *t);
const struct sip_target *sip_targets_at(const struct sip_targets *t, size_t i);
/* The next target to try: the first on the first call, then the one
 * after the last returned; NULL when every one has been tried. */
const struct sip_target *sip_targets_next(struct sip_targets *t);
void sip_targets_free(struct sip_targets *t);

/* What to locate: the parts of a SIP or SIPS URI that RFC 3263 reads. */
struct sip_rdest {
	struct pl host;          /* a name, an IPv4 or an IPv6 (brackets or not) */
	uint16_t port;           /* 0: none in the URI */
	bool has_proto;          /* a transport= parameter */
	enum sip_rproto proto;   /* ... its value */
	bool sips;               /* sips: URI, TLS only */
	bool tls_ok;             /* the caller can send over TLS */
	int af;                  /* AF_INET or AF_INET6 only; AF_UNSPEC both,
				  * IPv4 first */
};

/*
 * The answer: err 0 and t (never empty; the callback owns it and frees it
 * with sip_targets_free()), or err and t NULL:
 *   ENOENT        no such name, or no record that leads to an address
 *                 (NXDOMAIN, no data, an SRV target of ".")
 *   ETIMEDOUT     no name server answered
 *   ECONNREFUSED  the name servers refused or failed (SERVFAIL, REFUSED)
 *   EBADMSG       an answer that could not be read
 *   ENOMEM
 */
typedef void (sip_resolve_h)(int err, struct sip_targets *t, void *arg);

struct sip_rquery;

/*
 * Start locating d.  The callback always runs later from the loop, never
 * inside this call, even when the answer is known now (a numeric host, the
 * cache).  *qp (may be NULL) is the query, valid until its callback runs
 * or it is cancelled.  0; EINVAL for a host that is no domain name or a
 * sips: URI without tls_ok; ENOMEM.
 */
int  sip_resolve(struct sip_resolver *r, const struct sip_rdest *d, sip_resolve_h *h,
		 void *arg, struct sip_rquery **qp);
/* The callback will not run; answers still on their way only fill the
 * cache.  q may be NULL. */
void sip_resolve_cancel(struct sip_rquery *q);

#endif
