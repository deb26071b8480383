/*
 * resolve.c - RFC 3263 server location with c-ares on the loop (see
 * resolve.h).
 *
 * c-ares runs on our loop, never on its own: ARES_OPT_SOCK_STATE_CB tells
 * us which sockets it opens and what it waits for, each gets a uv_poll
 * that calls ares_process_fd(), and one tmr follows ares_timeout() for
 * its retransmissions.  Node's cares_wrap does the same.
 *
 * A query moves through at most three stages, each a batch of DNS
 * lookups that run in parallel: NAPTR of the host, SRV of the chosen
 * service names, A/AAAA of the SRV targets (or of the host).  A stage ends
 * when its last lookup is answered (by the cache or by a name server) and
 * starts the next; the last one puts the query on the ready list, which a
 * zero-delay tmr delivers, so a callback never runs inside sip_resolve()
 * nor inside c-ares.
 *
 * Each lookup sent to c-ares has its own small request object, which
 * points back at its query.  Cancelling a query detaches its requests
 * (their back pointer becomes NULL) and frees the query at once; a
 * detached request's answer only fills the cache, so an answer that comes
 * after its asker left touches nothing that is gone.
 *
 * The cache keeps the raw answers, keyed by (name, type) with keyed
 * SipHash (names come from peers' URIs), and parses them again on use:
 * one code path for fresh and cached answers.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ares.h>
#include <arpa/nameser.h>

#include "sip/resolve.h"
#include "sip/sa.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/vec.h"

enum {
	NAME_MAX_LEN = 253,      /* a domain name, without the final dot */
	MAX_SRV_NAMES = 8,       /* SRV names asked per query (NAPTR or defaults) */
	MAX_PER_SRV = 8,         /* targets taken from one SRV name, the first */
	MAX_HOSTS = 24,          /* SRV targets resolved per query, the first */
	MAX_ADDRS = 8,           /* addresses taken per host and family */
	PORT_SIP = 5060,
	PORT_SIPS = 5061,
};

#define DEF_TIMEOUT_MS   1000
#define DEF_TRIES        3
/* Added to a DNS type: the name is a single-label URI host or derived
 * from one, asked through resolv.conf's search list (ares_search()). */
#define QT_SEARCH        0x10000

#define DEF_CACHE_MAX    1024
#define DEF_CACHE_BYTES  (1024 * 1024)
#define DEF_TTL_MAX      3600
#define DEF_NEG_TTL      30
#define DEF_NEG_TTL_MAX  300

/* What went wrong in a stage, worst last: the error a caller gets when
 * the stage leaves nothing to try. */
enum {
	FAIL_NOTFOUND = 1 << 0,
	FAIL_BAD = 1 << 1,
	FAIL_REFUSED = 1 << 2,
	FAIL_TIMEOUT = 1 << 3,
	FAIL_NOMEM = 1 << 4,
};

struct rsock {
	struct list_node le;     /* sip_resolver.socks */
	uv_poll_t poll;
	ares_socket_t fd;
	struct sip_resolver *r;
};

struct centry {
	struct hnode hn;
	struct list_node lru;    /* most recently used first */
	uint64_t expires;        /* loop time, ms */
	int status;              /* ARES_SUCCESS, ARES_ENOTFOUND, ARES_ENODATA */
	int type;
	unsigned char *abuf;     /* NULL for a negative answer */
	int alen;
	char name[];
};

struct sip_resolver {
	uv_loop_t *loop;
	struct tmrq *q;
	ares_channel ch;
	bool ares_up;
	struct ares_addr_port_node *sys_servers;   /* resolv.conf's */
	struct tmr tmo;          /* c-ares' next timeout */
	struct tmr kick;         /* deliver the ready list */
	struct list_node socks;
	struct list_node active; /* queries waiting for lookups */
	struct list_node ready;  /* answered, callback not yet run */
	bool closing;

	struct htab cache;
	struct list_node lru;
	struct hash_key key;
	size_t cache_max, cache_bytes_max, cache_bytes;
	uint32_t ttl_max, neg_ttl, neg_ttl_max;

	struct sip_resolver_stats st;
};

enum stage { ST_NAPTR, ST_SRV, ST_ADDR, ST_DONE };

struct srvname {
	char *name;
	enum sip_rproto proto;
	bool search;             /* from the URI's host: QT_SEARCH */
	bool found;              /* had records, even if only "." */
};

struct host {
	char *name;
	size_t from;             /* the SRV name it came from, for the order */
	bool search;             /* the URI's host: QT_SEARCH */
	uint16_t port;
	enum sip_rproto proto;
	union sip_sa a[MAX_ADDRS], aaaa[MAX_ADDRS];
	size_t a_n, aaaa_n;
};

struct sip_rquery {
	struct list_node le;     /* r->active, then r->ready */
	struct sip_resolver *r;
	sip_resolve_h *h;
	void *arg;
	struct list_node reqs;   /* struct dreq in flight */

	char *host;              /* lowercase, no brackets, no final dot */
	uint16_t port;
	bool has_proto, sips, tls_ok;
	bool search;             /* a single-label host: the search list */
	enum sip_rproto proto;
	int af;

	enum stage stage;
	unsigned pending;
	unsigned fails;          /* FAIL_* of the current stage */
	VEC(struct srvname) srv;
	VEC(struct host) hosts;

	int err;                 /* when done */
	struct sip_targets *out;
};

/* One lookup sent to c-ares. */
struct dreq {
	struct list_node le;     /* its query's reqs */
	struct sip_resolver *r;
	struct sip_rquery *q;    /* NULL once the query is gone */
	size_t idx;              /* which srvname or host */
	int type;                /* with QT_SEARCH */
	char name[];
};

struct sip_targets {
	size_t n, next;
	char **names;
	size_t names_n;
	struct sip_target v[];
};

const char *sip_rproto_name(enum sip_rproto p)
{
	switch (p) {
	case SIP_RPROTO_TCP: return "tcp";
	case SIP_RPROTO_TLS: return "tls";
	default: return "udp";
	}
}

/* ---- c-ares on the loop ---- */

static void arm(struct sip_resolver *r);

static void tmo_h(void *arg)
{
	struct sip_resolver *r = arg;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	arm(r);
}

static void arm(struct sip_resolver *r)
{
	struct timeval tv, *t;
	uint64_t ms;

	if (r->closing)
		return;
	t = ares_timeout(r->ch, NULL, &tv);
	if (!t) {
		tmr_cancel(r->q, &r->tmo);
		return;
	}
	ms = (uint64_t)t->tv_sec * 1000 + (uint64_t)(t->tv_usec + 999) / 1000;
	tmr_start(r->q, &r->tmo, ms, tmo_h, r);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	struct rsock *s = h->data;
	struct sip_resolver *r = s->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;

	/* An error on the socket: let c-ares read it and find out. */
	if (status < 0 || (events & UV_READABLE))
		rfd = s->fd;
	if (status < 0 || (events & UV_WRITABLE))
		wfd = s->fd;
	ares_process_fd(r->ch, rfd, wfd);
	arm(r);
}

static void rsock_close_cb(uv_handle_t *h)
{
	free(h->data);
}

static void rsock_close(struct rsock *s)
{
	list_unlink(&s->le);
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, rsock_close_cb);
}

/* c-ares opened, changed or is about to close one of its sockets. */
static void sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct sip_resolver *r = data;
	struct rsock *s = NULL;
	struct list_node *it;
	int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);

	list_foreach(it, &r->socks) {
		struct rsock *x = list_entry(it, struct rsock, le);

		if (x->fd == fd) {
			s = x;
			break;
		}
	}
	if (!events) {
		if (s)
			rsock_close(s);
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s)
			goto fail;
		if (uv_poll_init(r->loop, &s->poll, fd)) {
			free(s);
			goto fail;
		}
		s->fd = fd;
		s->r = r;
		s->poll.data = s;
		list_push_back(&r->socks, &s->le);
	}
	if (!uv_poll_start(&s->poll, events, poll_cb))
		return;
	rsock_close(s);
fail:
	/* The lookups on this socket time out (the tmr still runs). */
	log_event(LOG_WARN, "dns_socket_failed", "fd=%d", (int)fd);
}

/* ---- the cache ---- */

static uint64_t ckey(const struct sip_resolver *r, const char *name, int type)
{
	return hash_sip(&r->key, name, strlen(name)) ^ hash_mix64((uint64_t)type);
}

static void centry_free(struct sip_resolver *r, struct centry *e)
{
	htab_remove(&r->cache, &e->hn);
	list_unlink(&e->lru);
	r->cache_bytes -= (size_t)e->alen;
	free(e->abuf);
	free(e);
}

static struct centry *cache_find(struct sip_resolver *r, const char *name, int type)
{
	uint64_t h = ckey(r, name, type);

	for (struct hnode *n = htab_bucket(&r->cache, h); n; n = n->next) {
		struct centry *e = htab_entry(n, struct centry, hn);

		if (n->hash == h && e->type == type && !strcmp(e->name, name))
			return e;
	}
	return NULL;
}

static struct centry *cache_get(struct sip_resolver *r, const char *name, int type)
{
	struct centry *e = cache_find(r, name, type);

	if (!e)
		return NULL;
	if (uv_now(r->loop) >= e->expires) {
		centry_free(r, e);
		return NULL;
	}
	list_unlink(&e->lru);
	list_push_front(&r->lru, &e->lru);
	r->st.cache_hits++;
	return e;
}

/* Skips a (possibly compressed) name at p: the byte after it, or NULL. */
static const unsigned char *skip_name(const unsigned char *p, const unsigned char *end)
{
	while (p < end) {
		if ((*p & 0xc0) == 0xc0)
			return p + 2 <= end ? p + 2 : NULL;
		if (*p & 0xc0)
			return NULL;
		if (!*p)
			return p + 1;
		p += 1 + *p;
	}
	return NULL;
}

static unsigned rd16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * How long an answer may be kept, s: the least TTL of its answer records;
 * for a negative one the SOA of the authority section (the least of its
 * TTL and its MINIMUM, RFC 2308 §5), -1 when it has none.  -2 when the
 * message cannot be read.
 */
static long answer_ttl(const unsigned char *abuf, int alen, bool negative)
{
	const unsigned char *p = abuf + HFIXEDSZ, *end = abuf + alen;
	unsigned qd, an, ns;
	long ttl = -1;

	if (alen < HFIXEDSZ)
		return -2;
	qd = rd16(abuf + 4);
	an = rd16(abuf + 6);
	ns = rd16(abuf + 8);
	for (unsigned i = 0; i < qd; i++) {
		p = skip_name(p, end);
		if (!p || end - p < QFIXEDSZ)
			return -2;
		p += QFIXEDSZ;
	}
	for (unsigned i = 0; i < an + ns; i++) {
		unsigned type, rdlen;
		uint32_t t;

		p = skip_name(p, end);
		if (!p || end - p < RRFIXEDSZ)
			return -2;
		type = rd16(p);
		t = rd32(p + 4);
		rdlen = rd16(p + 8);
		p += RRFIXEDSZ;
		if (end - p < (long)rdlen)
			return -2;
		if (t > INT32_MAX)
			t = 0;   /* RFC 2181 §8: a TTL with the top bit set is 0 */
		if (!negative && i < an) {
			if (ttl < 0 || (long)t < ttl)
				ttl = t;
		} else if (negative && i >= an && type == T_SOA) {
			const unsigned char *q = skip_name(p, p + rdlen);
			uint32_t min;

			q = q ? skip_name(q, p + rdlen) : NULL;
			if (!q || p + rdlen - q < 20)
				return -2;
			min = rd32(q + 16);
			ttl = min < t ? min : t;
		}
		p += rdlen;
	}
	return ttl;
}

static void cache_put(struct sip_resolver *r, const char *name, int type, int status,
		      const unsigned char *abuf, int alen)
{
	bool neg = status != ARES_SUCCESS;
	/* ares_search() gives no message with a negative answer: no SOA. */
	long ttl = abuf ? answer_ttl(abuf, alen, neg) : neg ? -1 : -2;
	size_t nlen = strlen(name);
	struct centry *e;

	if (ttl == -2 || r->cache_max == 0)
		return;
	if (neg) {
		if (ttl < 0)
			ttl = r->neg_ttl;
		if (ttl > (long)r->neg_ttl_max)
			ttl = r->neg_ttl_max;
	} else if (ttl > (long)r->ttl_max) {
		ttl = r->ttl_max;
	}
	e = cache_find(r, name, type);
	if (e)
		centry_free(r, e);
	if (ttl <= 0)
		return;
	if (!neg && (size_t)alen > r->cache_bytes_max / 8)
		return;
	while (r->cache.n >= r->cache_max ||
	       r->cache_bytes + (neg ? 0 : (size_t)alen) > r->cache_bytes_max) {
		struct list_node *last = list_last(&r->lru);

		if (!last)
			break;
		centry_free(r, list_entry(last, struct centry, lru));
		r->st.evictions++;
	}
	e = calloc(1, sizeof(*e) + nlen + 1);
	if (!e)
		return;
	if (!neg) {
		e->abuf = malloc((size_t)alen);
		if (!e->abuf) {
			free(e);
			return;
		}
		memcpy(e->abuf, abuf, (size_t)alen);
		e->alen = alen;
		r->cache_bytes += (size_t)alen;
	}
	memcpy(e->name, name, nlen + 1);
	e->type = type;
	e->status = status;
	e->expires = uv_now(r->loop) + (uint64_t)ttl * 1000;
	htab_insert(&r->cache, &e->hn, ckey(r, name, type));
	list_push_front(&r->lru, &e->lru);
}

void sip_resolver_flush(struct sip_resolver *r)
{
	struct list_node *n;

	while ((n = list_pop_front(&r->lru)))
		centry_free(r, list_entry(n, struct centry, lru));
}

/* ---- results ---- */

static void kick_h(void *arg);

static void targets_free(struct sip_targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->names_n; i++)
		free(t->names[i]);
	free(t->names);
	free(t);
}

void sip_targets_free(struct sip_targets *t)
{
	targets_free(t);
}

size_t sip_targets_count(const struct sip_targets *t)
{
	return t ? t->n : 0;
}

const struct sip_target *sip_targets_at(const struct sip_targets *t, size_t i)
{
	return t && i < t->n ? &t->v[i] : NULL;
}

const struct sip_target *sip_targets_next(struct sip_targets *t)
{
	if (!t || t->next >= t->n)
		return NULL;
	return &t->v[t->next++];
}

static void finish(struct sip_rquery *q, int err)
{
	struct sip_resolver *r = q->r;

	q->stage = ST_DONE;
	q->err = err;
	list_unlink(&q->le);
	list_push_back(&r->ready, &q->le);
	if (!tmr_running(&r->kick))
		tmr_start(r->q, &r->kick, 0, kick_h, r);
}

static int fail_err(unsigned fails)
{
	if (fails & FAIL_NOMEM)
		return ENOMEM;
	if (fails & FAIL_TIMEOUT)
		return ETIMEDOUT;
	if (fails & FAIL_REFUSED)
		return ECONNREFUSED;
	if (fails & FAIL_BAD)
		return EBADMSG;
	return ENOENT;
}

/* The hosts' addresses, in order, as the result. */
static void finish_hosts(struct sip_rquery *q)
{
	size_t n = 0, k = 0;
	struct sip_targets *t;

	for (size_t i = 0; i < q->hosts.n; i++)
		n += q->hosts.v[i].a_n + q->hosts.v[i].aaaa_n;
	if (!n) {
		finish(q, fail_err(q->fails));
		return;
	}
	t = calloc(1, sizeof(*t) + n * sizeof(t->v[0]));
	if (t)
		t->names = calloc(q->hosts.n, sizeof(*t->names));
	if (!t || !t->names) {
		targets_free(t);
		finish(q, ENOMEM);
		return;
	}
	for (size_t i = 0; i < q->hosts.n; i++) {
		struct host *h = &q->hosts.v[i];
		const char *name;

		if (!h->a_n && !h->aaaa_n)
			continue;
		/* The names move from the query to the result. */
		t->names[t->names_n++] = h->name;
		name = h->name;
		h->name = NULL;
		for (size_t j = 0; j < h->a_n + h->aaaa_n; j++) {
			struct sip_target *x = &t->v[k++];

			x->proto = h->proto;
			sip_sa_unpack(&x->addr, j < h->a_n ? &h->a[j] : &h->aaaa[j - h->a_n]);
			x->host = name;
		}
	}
	t->n = k;
	q->out = t;
	finish(q, 0);
}

/* ---- lookups ---- */

static void stage_done(struct sip_rquery *q);
static void answer(struct sip_rquery *q, size_t idx, int type, int status,
		   const unsigned char *abuf, int alen);

static void lookup_done(struct sip_rquery *q)
{
	if (--q->pending == 0)
		stage_done(q);
}

static void dns_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dreq *d = arg;
	struct sip_resolver *r = d->r;
	struct sip_rquery *q = d->q;

	r->st.inflight--;
	if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
		list_unlink(&d->le);
		free(d);
		return;
	}
	if (status == ARES_ETIMEOUT)
		r->st.timeouts++;
	else
		r->st.answers++;
	if (status == ARES_SUCCESS || status == ARES_ENOTFOUND || status == ARES_ENODATA)
		cache_put(r, d->name, d->type, status, abuf, alen);
	list_unlink(&d->le);
	if (q) {
		answer(q, d->idx, d->type, status, abuf, alen);
		lookup_done(q);
	}
	free(d);
	arm(r);
}

/* Ask for (name, type) on behalf of q's entry idx; the answer goes to
 * answer(), now from the cache or later from c-ares. */
static void lookup(struct sip_rquery *q, const char *name, int type, size_t idx)
{
	struct sip_resolver *r = q->r;
	struct centry *e = cache_get(r, name, type);
	size_t nlen = strlen(name);
	struct dreq *d;

	q->pending++;
	if (e) {
		answer(q, idx, type, e->status, e->abuf, e->alen);
		lookup_done(q);
		return;
	}
	d = calloc(1, sizeof(*d) + nlen + 1);
	if (!d) {
		q->fails |= FAIL_NOMEM;
		lookup_done(q);
		return;
	}
	d->r = r;
	d->q = q;
	d->idx = idx;
	d->type = type;
	memcpy(d->name, name, nlen + 1);
	list_push_back(&q->reqs, &d->le);
	r->st.queries++;
	r->st.inflight++;
	if (type & QT_SEARCH)
		ares_search(r->ch, name, C_IN, type & ~QT_SEARCH, dns_cb, d);
	else
		ares_query(r->ch, name, C_IN, type, dns_cb, d);
	arm(r);
}

static unsigned status_fail(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 0;
	case ARES_ENOTFOUND:
	case ARES_ENODATA:
		return FAIL_NOTFOUND;
	case ARES_ETIMEOUT:
		return FAIL_TIMEOUT;
	case ARES_ESERVFAIL:
	case ARES_EREFUSED:
	case ARES_ECONNREFUSED:
		return FAIL_REFUSED;
	case ARES_ENOMEM:
		return FAIL_NOMEM;
	default:
		return FAIL_BAD;
	}
}

static char *lower_dup(const char *s)
{
	size_t n = strlen(s);
	char *d;

	while (n && s[n - 1] == '.')
		n--;
	d = malloc(n + 1);
	if (!d)
		return NULL;
	for (size_t i = 0; i < n; i++)
		d[i] = (char)tolower((unsigned char)s[i]);
	d[n] = '\0';
	return d;
}

static int srv_add(struct sip_rquery *q, const char *name, enum sip_rproto proto,
		   bool search)
{
	struct srvname s = { .proto = proto, .search = search };

	if (q->srv.n >= MAX_SRV_NAMES)
		return 0;
	s.name = lower_dup(name);
	if (!s.name || vec_push(&q->srv, s)) {
		free(s.name);
		return ENOMEM;
	}
	return 0;
}

static int host_add(struct sip_rquery *q, const char *name, uint16_t port,
		    enum sip_rproto proto, bool search)
{
	struct host h = { .port = port, .proto = proto, .search = search };

	h.name = lower_dup(name);
	if (!h.name || vec_push(&q->hosts, h)) {
		free(h.name);
		return ENOMEM;
	}
	return 0;
}

static const char *srv_prefix(enum sip_rproto p)
{
	switch (p) {
	case SIP_RPROTO_TCP: return "_sip._tcp.";
	case SIP_RPROTO_TLS: return "_sips._tcp.";
	default: return "_sip._udp.";
	}
}

static int srv_add_proto(struct sip_rquery *q, enum sip_rproto p)
{
	char name[NAME_MAX_LEN + 16];

	snprintf(name, sizeof(name), "%s%s", srv_prefix(p), q->host);
	return srv_add(q, name, p, q->search);
}

/* No usable NAPTR: the SRV names of every transport the caller speaks,
 * in its order of preference (RFC 3263 §4.1). */
static int srv_defaults(struct sip_rquery *q)
{
	int err = 0;

	if (q->sips)
		return srv_add_proto(q, SIP_RPROTO_TLS);
	err = srv_add_proto(q, SIP_RPROTO_UDP);
	if (!err)
		err = srv_add_proto(q, SIP_RPROTO_TCP);
	if (!err && q->tls_ok)
		err = srv_add_proto(q, SIP_RPROTO_TLS);
	return err;
}

static int naptr_cmp(const void *a, const void *b)
{
	const struct ares_naptr_reply *x = *(struct ares_naptr_reply *const *)a;
	const struct ares_naptr_reply *y = *(struct ares_naptr_reply *const *)b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	if (x->preference != y->preference)
		return x->preference < y->preference ? -1 : 1;
	return 0;
}

static bool naptr_service(const struct sip_rquery *q, const char *svc,
			  enum sip_rproto *p)
{
	if (!strcasecmp(svc, "SIPS+D2T") && (q->sips || q->tls_ok)) {
		*p = SIP_RPROTO_TLS;
		return true;
	}
	if (q->sips)
		return false;
	if (!strcasecmp(svc, "SIP+D2U")) {
		*p = SIP_RPROTO_UDP;
		return true;
	}
	if (!strcasecmp(svc, "SIP+D2T")) {
		*p = SIP_RPROTO_TCP;
		return true;
	}
	return false;
}

/* The NAPTR records this client can use, in order and preference, each
 * to its SRV name ("s" flag, RFC 3263 §4.1). */
static void naptr_answer(struct sip_rquery *q, const unsigned char *abuf, int alen)
{
	struct ares_naptr_reply *list = NULL, *v[32];
	size_t n = 0;
	int st = ares_parse_naptr_reply(abuf, alen, &list);

	if (st != ARES_SUCCESS) {
		q->fails |= status_fail(st);
		return;
	}
	for (struct ares_naptr_reply *x = list; x && n < 32; x = x->next)
		v[n++] = x;
	qsort(v, n, sizeof(v[0]), naptr_cmp);
	for (size_t i = 0; i < n; i++) {
		enum sip_rproto p;

		if (strcasecmp((const char *)v[i]->flags, "s") ||
		    !naptr_service(q, (const char *)v[i]->service, &p) ||
		    !v[i]->replacement[0] || !strcmp(v[i]->replacement, "."))
			continue;
		if (srv_add(q, v[i]->replacement, p, false))
			q->fails |= FAIL_NOMEM;
	}
	ares_free_data(list);
}

/* RFC 2782: by priority; among equal priorities, a weighted random order
 * (weight 0 first in the running sum, so it is chosen rarely). */
static int srv_prio_cmp(const void *a, const void *b)
{
	const struct ares_srv_reply *x = *(struct ares_srv_reply *const *)a;
	const struct ares_srv_reply *y = *(struct ares_srv_reply *const *)b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	/* weight 0 before the others, as the RFC asks */
	return (x->weight != 0) - (y->weight != 0);
}

static void srv_order(struct ares_srv_reply **v, size_t n)
{
	qsort(v, n, sizeof(v[0]), srv_prio_cmp);
	for (size_t i = 0; i < n;) {
		size_t end = i;

		while (end < n && v[end]->priority == v[i]->priority)
			end++;
		/* Pick one of [i, end) by weight, move it to i, go on. */
		for (; i < end; i++) {
			uint64_t sum = 0, run = 0, pick;
			size_t j;

			for (j = i; j < end; j++)
				sum += v[j]->weight;
			pick = rand_u64() % (sum + 1);
			for (j = i; j < end; j++) {
				run += v[j]->weight;
				if (run >= pick)
					break;
			}
			if (j == end)
				j = end - 1;
			if (j != i) {
				struct ares_srv_reply *t = v[j];

				memmove(&v[i + 1], &v[i], (j - i) * sizeof(v[0]));
				v[i] = t;
			}
		}
	}
}

static void srv_answer(struct sip_rquery *q, size_t idx, const unsigned char *abuf,
		       int alen)
{
	struct srvname *s = &q->srv.v[idx];
	struct ares_srv_reply *list = NULL, *v[32];
	size_t n = 0;
	int st = ares_parse_srv_reply(abuf, alen, &list);

	if (st != ARES_SUCCESS) {
		q->fails |= status_fail(st);
		return;
	}
	for (struct ares_srv_reply *x = list; x && n < 32; x = x->next)
		v[n++] = x;
	s->found = n > 0;
	srv_order(v, n);
	for (size_t i = 0, taken = 0; i < n && taken < MAX_PER_SRV; i++) {
		/* "." (an empty name): the service is not offered here. */
		if (!v[i]->host[0] || !strcmp(v[i]->host, "."))
			continue;
		if (host_add(q, v[i]->host, v[i]->port, s->proto, false)) {
			q->fails |= FAIL_NOMEM;
			break;
		}
		q->hosts.v[q->hosts.n - 1].from = idx;
		taken++;
	}
	ares_free_data(list);
}

static void addr_answer(struct sip_rquery *q, size_t idx, int type,
			const unsigned char *abuf, int alen)
{
	struct host *h = &q->hosts.v[idx];
	int n = MAX_ADDRS, st;

	if (type == T_A) {
		struct ares_addrttl at[MAX_ADDRS];

		st = ares_parse_a_reply(abuf, alen, NULL, at, &n);
		if (st == ARES_SUCCESS) {
			for (int i = 0; i < n; i++) {
				struct sockaddr_in *in = &h->a[i].in;

				memset(&h->a[i], 0, sizeof(h->a[i]));
				in->sin_family = AF_INET;
				in->sin_addr = at[i].ipaddr;
				in->sin_port = htons(h->port);
			}
			h->a_n = (size_t)n;
		}
	} else {
		struct ares_addr6ttl at[MAX_ADDRS];

		st = ares_parse_aaaa_reply(abuf, alen, NULL, at, &n);
		if (st == ARES_SUCCESS) {
			for (int i = 0; i < n; i++) {
				struct sockaddr_in6 *in6 = &h->aaaa[i].in6;

				memset(&h->aaaa[i], 0, sizeof(h->aaaa[i]));
				in6->sin6_family = AF_INET6;
				memcpy(&in6->sin6_addr, &at[i].ip6addr, 16);
				in6->sin6_port = htons(h->port);
			}
			h->aaaa_n = (size_t)n;
		}
	}
	if (st != ARES_SUCCESS || n == 0)
		q->fails |= st == ARES_SUCCESS ? FAIL_NOTFOUND : status_fail(st);
}

static void answer(struct sip_rquery *q, size_t idx, int type, int status,
		   const unsigned char *abuf, int alen)
{
	if (status != ARES_SUCCESS || !abuf) {
		q->fails |= status == ARES_SUCCESS ? FAIL_BAD : status_fail(status);
		return;
	}
	switch (type & ~QT_SEARCH) {
	case T_NAPTR:
		naptr_answer(q, abuf, alen);
		break;
	case T_SRV:
		srv_answer(q, idx, abuf, alen);
		break;
	default:
		addr_answer(q, idx, type & ~QT_SEARCH, abuf, alen);
		break;
	}
}

/* ---- stages ---- */

static void start_addr(struct sip_rquery *q)
{
	q->stage = ST_ADDR;
	q->fails = 0;
	q->pending = 1;
	for (size_t i = 0; i < q->hosts.n; i++) {
		int qs = q->hosts.v[i].search ? QT_SEARCH : 0;

		if (q->af != AF_INET6)
			lookup(q, q->hosts.v[i].name, T_A | qs, i);
		if (q->af != AF_INET)
			lookup(q, q->hosts.v[i].name, T_AAAA | qs, i);
	}
	lookup_done(q);
}

static void start_srv(struct sip_rquery *q)
{
	q->stage = ST_SRV;
	q->fails = 0;
	q->pending = 1;
	for (size_t i = 0; i < q->srv.n; i++)
		lookup(q, q->srv.v[i].name, T_SRV | (q->srv.v[i].search ? QT_SEARCH : 0), i);
	lookup_done(q);
}

/* Stable order of the SRV targets by the SRV name they came from (their
 * order within one name is already RFC 2782's). */
static void hosts_by_srvname(struct sip_rquery *q)
{
	size_t n = q->hosts.n;

	for (size_t i = 1; i < n; i++) {
		struct host h = q->hosts.v[i];
		size_t j = i;

		while (j > 0 && q->hosts.v[j - 1].from > h.from) {
			q->hosts.v[j] = q->hosts.v[j - 1];
			j--;
		}
		q->hosts.v[j] = h;
	}
}

/* The transport the URI asks for: TLS for sips:, else its transport
 * parameter, else UDP (RFC 3263 §4.1). */
static enum sip_rproto uri_proto(const struct sip_rquery *q)
{
	return q->sips ? SIP_RPROTO_TLS : q->has_proto ? q->proto : SIP_RPROTO_UDP;
}

static uint16_t default_port(enum sip_rproto p)
{
	return p == SIP_RPROTO_TLS ? PORT_SIPS : PORT_SIP;
}

static void stage_done(struct sip_rquery *q)
{
	bool found = false;

	if (q->fails & FAIL_NOMEM) {
		finish(q, ENOMEM);
		return;
	}
	switch (q->stage) {
	case ST_NAPTR:
		/* A timeout ends here: the SRV and A queries would wait as long
		 * again on the same servers.  Anything else without a usable
		 * record falls back to SRV. */
		if (!q->srv.n && (q->fails & FAIL_TIMEOUT)) {
			finish(q, ETIMEDOUT);
			return;
		}
		if (!q->srv.n && srv_defaults(q)) {
			finish(q, ENOMEM);
			return;
		}
		start_srv(q);
		return;
	case ST_SRV:
		for (size_t i = 0; i < q->srv.n; i++)
			found |= q->srv.v[i].found;
		/* As after NAPTR, a timeout ends here; a refusal or an answer
		 * that cannot be read falls back to A/AAAA, as no records do. */
		if (q->hosts.n) {
			hosts_by_srvname(q);
			while (q->hosts.n > MAX_HOSTS)
				free(q->hosts.v[--q->hosts.n].name);
		} else if (q->fails & FAIL_TIMEOUT) {
			finish(q, ETIMEDOUT);
			return;
		} else if (found) {
			/* Only "." targets: decidedly not available (RFC 2782). */
			finish(q, ENOENT);
			return;
		} else {
			enum sip_rproto p = uri_proto(q);

			if (host_add(q, q->host, default_port(p), p, q->search)) {
				finish(q, ENOMEM);
				return;
			}
		}
		start_addr(q);
		return;
	case ST_ADDR:
		finish_hosts(q);
		return;
	case ST_DONE:
		return;
	}
}

/* ---- queries ---- */

static void query_free(struct sip_rquery *q)
{
	struct list_node *it;

	/* Requests in flight stay with c-ares; their answers find no query. */
	while ((it = list_pop_front(&q->reqs)))
		list_entry(it, struct dreq, le)->q = NULL;
	list_unlink(&q->le);
	for (size_t i = 0; i < q->srv.n; i++)
		free(q->srv.v[i].name);
	vec_free(&q->srv);
	for (size_t i = 0; i < q->hosts.n; i++)
		free(q->hosts.v[i].name);
	vec_free(&q->hosts);
	targets_free(q->out);
	free(q->host);
	free(q);
}

void sip_resolve_cancel(struct sip_rquery *q)
{
	if (q)
		query_free(q);
}

static void kick_h(void *arg)
{
	struct sip_resolver *r = arg;
	struct list_node *it;

	while ((it = list_pop_front(&r->ready))) {
		struct sip_rquery *q = list_entry(it, struct sip_rquery, le);
		struct sip_targets *t = q->out;
		sip_resolve_h *h = q->h;
		void *harg = q->arg;
		int err = q->err;

		q->out = NULL;
		if (q->host && log_enabled(LOG_DEBUG))
			log_event(LOG_DEBUG, "dns_resolved", "host=%s targets=%zu error=%d",
				  q->host, sip_targets_count(t), err);
		query_free(q);
		h(err, t, harg);
	}
}

/* A host name: letters, digits, '-', '_' (SRV-style labels) and dots,
 * no empty label, at most 253 characters. */
static bool host_ok(const char *p, size_t n)
{
	size_t label = 0;

	if (!n || n > NAME_MAX_LEN + 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.') {
			if (!label)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static int numeric(struct sip_rquery *q, const struct pl *host)
{
	struct sockaddr_storage ss;
	enum sip_rproto p = uri_proto(q);
	uint16_t port = q->port ? q->port : default_port(p);
	struct sip_targets *t;

	if (sip_sa_from_host(&ss, host, port))
		return EINVAL;
	t = calloc(1, sizeof(*t) + sizeof(t->v[0]));
	if (t)
		t->names = calloc(1, sizeof(*t->names));
	if (!t || !t->names) {
		targets_free(t);
		return ENOMEM;
	}
	t->names[0] = strndup(host->p, host->l);
	if (!t->names[0]) {
		targets_free(t);
		return ENOMEM;
	}
	t->names_n = 1;
	t->n = 1;
	t->v[0].proto = p;
	t->v[0].addr = ss;
	t->v[0].host = t->names[0];
	q->out = t;
	finish(q, 0);
	return 0;
}

int sip_resolve(struct sip_resolver *r, const struct sip_rdest *d, sip_resolve_h *h,
		void *arg, struct sip_rquery **qp)
{
	struct pl host = d->host;
	struct sip_rquery *q;
	bool bracket = false;
	int err;

	if (qp)
		*qp = NULL;
	/* [IPv6] as a URI writes it; nothing else goes in brackets. */
	if (host.l >= 2 && host.p[0] == '[' && host.p[host.l - 1] == ']') {
		host.p++;
		host.l -= 2;
		bracket = true;
	}
	if (!host.l || ((d->sips || (d->has_proto && d->proto == SIP_RPROTO_TLS)) &&
			!d->tls_ok))
		return EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return ENOMEM;
	q->r = r;
	q->h = h;
	q->arg = arg;
	list_init(&q->reqs);
	list_node_init(&q->le);
	list_push_back(&r->active, &q->le);
	q->port = d->port;
	q->has_proto = d->has_proto;
	q->proto = d->proto;
	q->sips = d->sips;
	q->tls_ok = d->tls_ok;
	q->af = d->af;

	/* A numeric IP: no DNS (RFC 3263 §4.2). */
	err = numeric(q, &host);
	if (err != EINVAL)
		goto out;
	if (bracket || !host_ok(host.p, host.l)) {
		err = EINVAL;
		goto out;
	}
	/* A single label (no dot, not even a final one): a short name that
	 * only the search list completes, as a Kubernetes Service name. */
	q->search = !memchr(host.p, '.', host.l);
	q->host = strndup(host.p, host.l);
	if (!q->host) {
		err = ENOMEM;
		goto out;
	}
	{
		char *low = lower_dup(q->host);

		free(q->host);
		q->host = low;
		if (!low) {
			err = ENOMEM;
			goto out;
		}
	}
	err = 0;
	if (q->port) {
		/* An explicit port: A/AAAA only. */
		err = host_add(q, q->host, q->port, uri_proto(q), q->search);
		if (!err)
			start_addr(q);
	} else if (q->has_proto) {
		/* An explicit transport: its SRV, then A/AAAA. */
		err = srv_add_proto(q, uri_proto(q));
		if (!err)
			start_srv(q);
	} else {
		q->stage = ST_NAPTR;
		q->pending = 1;
		lookup(q, q->host, T_NAPTR | (q->search ? QT_SEARCH : 0), 0);
		lookup_done(q);
	}
out:
	if (err) {
		query_free(q);
		return err;
	}
	if (qp)
		*qp = q;
	return 0;
}

/* ---- the resolver ---- */

static void servers_free(struct ares_addr_port_node *n)
{
	while (n) {
		struct ares_addr_port_node *next = n->next;

		free(n);
		n = next;
	}
}

int sip_resolver_set_servers(struct sip_resolver *r, const struct sockaddr_storage *ss,
			     size_t n)
{
	struct ares_addr_port_node *head = NULL, **tail = &head;
	int st, err = 0;

	if (!n)
		return ares_set_servers_ports(r->ch, r->sys_servers) == ARES_SUCCESS ? 0 : EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct ares_addr_port_node *x = calloc(1, sizeof(*x));
		uint16_t port = sip_sa_port((const struct sockaddr *)&ss[i]);

		if (!x) {
			err = ENOMEM;
			goto out;
		}
		*tail = x;
		tail = &x->next;
		x->family = ss[i].ss_family;
		if (ss[i].ss_family == AF_INET) {
			x->addr.addr4 = ((const struct sockaddr_in *)&ss[i])->sin_addr;
		} else if (ss[i].ss_family == AF_INET6) {
			memcpy(&x->addr.addr6, &((const struct sockaddr_in6 *)&ss[i])->sin6_addr, 16);
		} else {
			err = EINVAL;
			goto out;
		}
		x->udp_port = x->tcp_port = port ? port : 53;
	}
	st = ares_set_servers_ports(r->ch, head);
	if (st != ARES_SUCCESS)
		err = st == ARES_ENOMEM ? ENOMEM : EINVAL;
out:
	servers_free(head);
	return err;
}

int sip_resolver_alloc(struct sip_resolver **rp, uv_loop_t *loop, struct tmrq *q,
		       const struct sip_resolver_opts *opts)
{
	static const struct sip_resolver_opts defaults = {0};
	struct ares_options ao;
	struct sip_resolver *r;
	int err, st, optmask;

	if (!opts)
		opts = &defaults;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	r->loop = loop;
	r->q = q;
	tmr_init(&r->tmo);
	tmr_init(&r->kick);
	list_init(&r->socks);
	list_init(&r->active);
	list_init(&r->ready);
	list_init(&r->lru);
	rand_hash_key(&r->key);
	r->cache_max = opts->cache_max ? opts->cache_max : DEF_CACHE_MAX;
	r->cache_bytes_max = opts->cache_bytes ? opts->cache_bytes : DEF_CACHE_BYTES;
	r->ttl_max = opts->ttl_max ? opts->ttl_max : DEF_TTL_MAX;
	r->neg_ttl = opts->neg_ttl ? opts->neg_ttl : DEF_NEG_TTL;
	r->neg_ttl_max = opts->neg_ttl_max ? opts->neg_ttl_max : DEF_NEG_TTL_MAX;
	err = htab_init(&r->cache, 64);
	if (err)
		goto fail;

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS) {
		err = ENOMEM;
		goto fail;
	}
	memset(&ao, 0, sizeof(ao));
	ao.sock_state_cb = sock_state_cb;
	ao.sock_state_cb_data = r;
	ao.timeout = (int)(opts->timeout_ms ? opts->timeout_ms : DEF_TIMEOUT_MS);
	ao.tries = (int)(opts->tries ? opts->tries : DEF_TRIES);
	optmask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	if (opts->search_n) {
		/* c-ares copies them. */
		ao.domains = (char **)opts->search;
		ao.ndomains = (int)opts->search_n;
		optmask |= ARES_OPT_DOMAINS;
	}
	st = ares_init_options(&r->ch, &ao, optmask);
	if (st != ARES_SUCCESS) {
		ares_library_cleanup();
		err = st == ARES_ENOMEM ? ENOMEM : EINVAL;
		goto fail;
	}
	r->ares_up = true;
	if (ares_get_servers_ports(r->ch, &r->sys_servers) != ARES_SUCCESS)
		r->sys_servers = NULL;
	if (opts->servers_n) {
		err = sip_resolver_set_servers(r, opts->servers, opts->servers_n);
		if (err)
			goto fail;
	}
	*rp = r;
	return 0;
fail:
	sip_resolver_free(r);
	return err;
}

void sip_resolver_free(struct sip_resolver *r)
{
	struct list_node *it;

	if (!r)
		return;
	while ((it = list_pop_front(&r->active)))
		query_free(list_entry(it, struct sip_rquery, le));
	while ((it = list_pop_front(&r->ready)))
		query_free(list_entry(it, struct sip_rquery, le));
	tmr_cancel(r->q, &r->tmo);
	tmr_cancel(r->q, &r->kick);
	r->closing = true;
	if (r->ares_up) {
		/* Runs every lookup's callback (ARES_EDESTRUCTION) and closes
		 * the sockets through sock_state_cb, so it needs r. */
		ares_destroy(r->ch);
		ares_free_data(r->sys_servers);
		ares_library_cleanup();
	}
	while ((it = list_pop_front(&r->socks)))
		rsock_close(list_entry(it, struct rsock, le));
	sip_resolver_flush(r);
	htab_free(&r->cache);
	free(r);
}

void sip_resolver_stats(const struct sip_resolver *r, struct sip_resolver_stats *st)
{
	*st = r->st;
	st->cached = r->cache.n;
	st->cached_bytes = r->cache_bytes;
}
