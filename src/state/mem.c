/*
 * mem.c - the in-memory state backend: location store and nonce counts.
 *
 * Used on a single host.  AORs live in a chained hash table; each AOR owns
 * a list of contacts, and each contact is ONE allocation holding the
 * struct and all its strings.  Contact expiry runs on the shared timer
 * heap (a struct tmr embedded in every contact, no uv handle of its own);
 * lookups and registrations also drop contacts that the wall clock says
 * are expired, in case their timer has not fired yet.
 *
 * A REGISTER is applied in three phases so that it is all-or-nothing:
 * plan (locplan.c, the planner the Redis backend runs too: match bindings,
 * check Call-ID/CSeq ordering and max_contacts), allocate (every new
 * contact), then commit (which cannot fail).  Callbacks are called before
 * the operation returns; they must not modify the state themselves.
 *
 * Nonce counts live in an nctab (nctab.c): bounded
 * (state_mem_set_nonce_max(), default MEM_NONCE_MAX), no allocation or
 * timer per nonce.
 *
 * Failure counts and bans live in a failtab (failtab.c).  Whether an
 * address holds live registrations (fail_count's addr_registered) comes
 * from an index of the addresses registrations came from, each with the
 * latest expiry of a binding made from there, as the Redis backend keeps
 * it: a binding removed before its expiry still counts until then, which
 * errs on the side of banning a user rather than a whole office.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sip/msg.h"
#include "state/failtab.h"
#include "state/locplan.h"
#include "state/nctab.h"
#include "state/state.h"
#include "util/hash.h"
#include "util/rand.h"
#include "util/htab.h"
#include "util/list.h"

#define MEM_NONCE_MAX    1000000
#define MEM_HTAB_MIN     64
#define MEM_EXPORT_STACK 16
#define MEM_FAIL_MAX     65536   /* failure counts and bans tracked */
#define MEM_SRC_MAX      1048576 /* source addresses of registrations */

struct mem_state;

struct mem_aor {
	struct hnode node;
	struct mem_state *ms;
	struct mem_contact *contacts;
	uint32_t n;
	uint32_t namelen;
	char name[];
};

struct mem_contact {
	struct mem_contact *next;
	struct mem_aor *aor;
	struct tmr tmr;
	uint64_t expires_at;
	uint32_t cseq;
	int q;
	const char *uri;
	const char *path;
	const char *callid;
	const char *user_agent;
	const char *endpoint;
	const char *instance;
	struct loc_source src;
	char strs[];             /* the strings above, packed */
};

struct mem_state {
	struct state st;
	struct tmrq *q;
	state_clock_h *clock;
	void *clock_arg;

	struct htab aors;
	struct hash_key key;     /* of aors' hash, this backend's own */
	size_t contacts_n;

	struct nctab *nonces;

	struct failtab *fails;
	struct htab srcs;        /* struct mem_src, keyed with key */
	struct list_node srcs_lru;   /* most recently registered first */
};

/* An address registrations came from: one per phone when each has an
 * address of its own, so kept small (56 bytes; 64 per binding measured
 * with bench/locstore_mem, buckets included). */
#define MEM_SRC_ADDR 17          /* family (4 or 6) and 16 bytes */
struct mem_src {
	struct hnode hn;
	struct list_node le;     /* on srcs_lru */
	uint32_t until;          /* unix s: the latest expiry of a binding */
	uint8_t addr[MEM_SRC_ADDR];
};

static const struct state_ops mem_ops;

/* AOR names come from Request-URIs and To headers, which peers choose:
 * keyed, so that nobody can aim many names at one chain. */
static uint64_t aor_hash(const struct mem_state *ms, const struct pl *name)
{
	return hash_sip(&ms->key, name->p, name->l);
}

static uint64_t mem_now(const struct mem_state *ms)
{
	if (ms->clock)
		return ms->clock(ms->clock_arg);
	return (uint64_t)time(NULL);
}

/* ---- AORs and contacts ---- */

static struct mem_aor *aor_find(const struct mem_state *ms, const struct pl *name)
{
	uint64_t hash = aor_hash(ms, name);
	struct hnode *e;

	for (e = htab_bucket(&ms->aors, hash); e; e = e->next) {
		struct mem_aor *a = htab_entry(e, struct mem_aor, node);

		if (e->hash == hash && a->namelen == name->l &&
		    memcmp(a->name, name->p, name->l) == 0)
			return a;
	}
	return NULL;
}

static struct mem_aor *aor_alloc(struct mem_state *ms, const struct pl *name)
{
	struct mem_aor *a;

	if (name->l > UINT32_MAX)
		return NULL;
	a = malloc(sizeof(*a) + name->l + 1);
	if (!a)
		return NULL;
	a->node.next = NULL;
	a->node.hash = aor_hash(ms, name);
	a->ms = ms;
	a->contacts = NULL;
	a->n = 0;
	a->namelen = (uint32_t)name->l;
	memcpy(a->name, name->p, name->l);
	a->name[name->l] = '\0';
	return a;
}

static void aor_unlink_contact(struct mem_aor *a, struct mem_contact *c)
{
	struct mem_contact **pp = &a->contacts;

	while (*pp && *pp != c)
		pp = &(*pp)->next;
	if (!*pp)
		return;
	*pp = c->next;
	c->next = NULL;
	a->n--;
	a->ms->contacts_n--;
}

static size_t pack_len(const struct pl *pl)
{
	return pl_isset(pl) ? pl->l + 1 : 0;
}

/* Copies pl into *dst (advancing it); "" when pl is empty. */
static const char *pack_str(char **dst, const struct pl *pl)
{
	char *s = *dst;

	if (pl->l)
		memcpy(s, pl->p, pl->l);
	s[pl->l] = '\0';
	*dst += pl->l + 1;
	return s;
}

/* Same, but NULL (and no space) when pl is empty: optional fields. */
static const char *pack_opt(char **dst, const struct pl *pl)
{
	return pl_isset(pl) ? pack_str(dst, pl) : NULL;
}

static struct mem_contact *contact_alloc(const struct loc_register *r,
					 const struct loc_binding *b)
{
	struct mem_contact *c;
	size_t len;
	char *p;

	/* Call-ID and endpoint are never NULL for readers: always packed. */
	len = pack_len(&b->uri) + pack_len(&r->path) + r->callid.l + 1 +
	      pack_len(&r->user_agent) + r->endpoint.l + 1 +
	      pack_len(&b->instance);
	c = malloc(sizeof(*c) + len);
	if (!c)
		return NULL;
	c->next = NULL;
	c->aor = NULL;
	tmr_init(&c->tmr);
	c->expires_at = r->now + b->expires;
	c->cseq = r->cseq;
	c->q = b->q;
	p = c->strs;
	c->uri = pack_opt(&p, &b->uri);
	c->path = pack_opt(&p, &r->path);
	c->callid = pack_str(&p, &r->callid);
	c->user_agent = pack_opt(&p, &r->user_agent);
	c->endpoint = pack_str(&p, &r->endpoint);
	c->instance = pack_opt(&p, &b->instance);
	c->src = r->src;
	return c;
}

static void contact_export(const struct mem_contact *c, struct loc_contact *lc)
{
	lc->aor = c->aor->name;
	lc->uri = c->uri;
	lc->path = c->path;
	lc->callid = c->callid;
	lc->cseq = c->cseq;
	lc->q = c->q;
	lc->expires_at = c->expires_at;
	lc->user_agent = c->user_agent;
	lc->endpoint = c->endpoint;
	lc->instance = c->instance;
	lc->src = c->src;
}

static void contact_notify_expired(struct mem_state *ms, const struct mem_contact *c)
{
	struct loc_contact lc;

	if (!ms->st.expireh)
		return;
	contact_export(c, &lc);
	ms->st.expireh(&lc, ms->st.expire_arg);
}

/* The timer is authoritative: a contact whose timer fires was not
 * refreshed in time, whatever the wall clock says. */
static void contact_expire_h(void *arg)
{
	struct mem_contact *c = arg;
	struct mem_aor *a = c->aor;
	struct mem_state *ms = a->ms;
	bool empty;

	aor_unlink_contact(a, c);
	empty = a->n == 0;
	if (empty)
		htab_remove(&ms->aors, &a->node);
	contact_notify_expired(ms, c);
	free(c);
	if (empty)
		free(a);
}

static void contact_arm(struct mem_state *ms, struct mem_contact *c, uint64_t now)
{
	uint64_t secs = c->expires_at > now ? c->expires_at - now : 0;
	uint64_t ms_delay = secs > UINT64_MAX / 1000 ? UINT64_MAX : secs * 1000;

	tmr_start(ms->q, &c->tmr, ms_delay, contact_expire_h, c);
}

static void contact_free(struct mem_state *ms, struct mem_contact *c)
{
	tmr_cancel(ms->q, &c->tmr);
	free(c);
}

/*
 * Drops the AOR's contacts that are expired by the wall clock.  Everything
 * is unlinked before the expire handler runs, so the handler sees a
 * consistent store.
 */
static void aor_purge(struct mem_state *ms, const struct pl *name, uint64_t now)
{
	struct mem_aor *a = aor_find(ms, name);
	struct mem_contact *expired = NULL, **pp, *c;
	bool empty;

	if (!a)
		return;
	pp = &a->contacts;
	while ((c = *pp) != NULL) {
		if (c->expires_at > now) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		a->n--;
		ms->contacts_n--;
		tmr_cancel(ms->q, &c->tmr);
		c->next = expired;
		expired = c;
	}
	if (!expired)
		return;
	empty = a->n == 0;
	if (empty)
		htab_remove(&ms->aors, &a->node);
	while (expired) {
		c = expired;
		expired = c->next;
		contact_notify_expired(ms, c);
		free(c);
	}
	if (empty)
		free(a);
}

/* Result lists: on the stack when small. */
static struct loc_contact *export_alloc(size_t n, struct loc_contact *stackbuf)
{
	if (n <= MEM_EXPORT_STACK)
		return stackbuf;
	if (n > SIZE_MAX / sizeof(struct loc_contact))
		return NULL;
	return malloc(n * sizeof(struct loc_contact));
}

static void export_free(struct loc_contact *v, struct loc_contact *stackbuf)
{
	if (v != stackbuf)
		free(v);
}

static size_t aor_export(const struct mem_aor *a, struct loc_contact *v)
{
	const struct mem_contact *c;
	size_t n = 0;

	if (!a)
		return 0;
	for (c = a->contacts; c; c = c->next)
		contact_export(c, &v[n++]);
	return n;
}

/* Answers with the AOR's current bindings. */
static void aor_reply(struct mem_state *ms, const struct pl *name, enum loc_result res,
		      loc_result_h *cb, void *arg)
{
	struct loc_contact stackbuf[MEM_EXPORT_STACK];
	struct mem_aor *a = aor_find(ms, name);
	size_t n = a ? a->n : 0;
	struct loc_contact *v = export_alloc(n, stackbuf);

	if (!v) {
		cb(LOC_FAILED, NULL, 0, arg);
		return;
	}
	n = aor_export(a, v);
	cb(res, n ? v : NULL, n, arg);
	export_free(v, stackbuf);
}

/*
 * Applies the shared plan (locplan.c) to the AOR's list.  Everything that
 * can fail happens before the first change.
 */
static enum loc_result reg_apply(struct mem_state *ms, const struct loc_register *r,
				 uint64_t now)
{
	struct loc_contact stackbuf[MEM_EXPORT_STACK];
	struct mem_contact *stackold[MEM_EXPORT_STACK] = { NULL };
	struct mem_contact *stacknext[LOCPLAN_STACK] = { NULL };
	struct mem_aor *a = aor_find(ms, &r->aor), *newaor = NULL;
	size_t cur_n = a ? a->n : 0, i;
	struct loc_contact *cur = export_alloc(cur_n, stackbuf);
	struct mem_contact **old = stackold, **next = stacknext, *c, **tail;
	struct locplan plan;
	enum loc_result res;

	if (cur_n > MEM_EXPORT_STACK)
		old = calloc(cur_n, sizeof(*old));
	if (!cur || !old) {
		res = LOC_FAILED;
		goto early;
	}
	aor_export(a, cur);
	i = 0;
	for (c = a ? a->contacts : NULL; c && i < cur_n; c = c->next)
		old[i++] = c;
	if (locplan_make(&plan, r, cur, cur_n)) {
		res = LOC_FAILED;
		goto early;
	}
	res = plan.res;
	if (res != LOC_OK || !plan.changed)
		goto out;

	/* Allocate: nothing has changed yet, so failing here is harmless. */
	if (plan.n > LOCPLAN_STACK)
		next = calloc(plan.n, sizeof(*next));
	if (!next || (!a && !(newaor = aor_alloc(ms, &r->aor)))) {
		res = LOC_FAILED;
		goto out;
	}
	for (i = 0; i < plan.n; i++) {
		const struct locplan_item *it = &plan.v[i];

		if (it->req >= 0) {
			next[i] = contact_alloc(r, &r->bindings[it->req]);
			if (!next[i]) {
				res = LOC_FAILED;
				goto out;
			}
			contact_arm(ms, next[i], now);
		} else if (it->cur >= 0 && (size_t)it->cur < cur_n) {
			next[i] = old[it->cur];
		}
	}

	/* Commit: cannot fail from here on. */
	if (newaor) {
		htab_insert(&ms->aors, &newaor->node, newaor->node.hash);
		a = newaor;
		newaor = NULL;
	}
	for (i = 0; i < plan.n; i++) {
		if (plan.v[i].req < 0 && plan.v[i].cur >= 0 && (size_t)plan.v[i].cur < cur_n)
			old[plan.v[i].cur] = NULL;
	}
	for (i = 0; i < cur_n; i++) {
		if (old[i])
			contact_free(ms, old[i]);
	}
	tail = &a->contacts;
	for (i = 0; i < plan.n; i++) {
		if (!next[i])
			continue;
		next[i]->aor = a;
		*tail = next[i];
		tail = &next[i]->next;
	}
	*tail = NULL;
	ms->contacts_n = ms->contacts_n - cur_n + plan.n;
	a->n = (uint32_t)plan.n;
	if (!a->n) {
		htab_remove(&ms->aors, &a->node);
		free(a);
	}
	plan.n = 0;      /* every new contact is in the list now */
out:
	for (i = 0; next && i < plan.n; i++) {
		if (plan.v[i].req >= 0 && next[i])
			contact_free(ms, next[i]);
	}
	if (next != stacknext)
		free(next);
	free(newaor);
	locplan_free(&plan);
early:
	if (old != stackold)
		free(old);
	export_free(cur, stackbuf);
	return res;
}

static int mem_reg(struct state *st, const struct loc_register *r,
		   loc_result_h *cb, void *arg)
{
	struct mem_state *ms = (struct mem_state *)st;
	enum loc_result res;
	uint64_t now;

	if (!ms || !cb || locplan_check(r))
		return EINVAL;

	now = mem_now(ms);
	if (pl_isset(&r->nonce) &&
	    !nctab_use(ms->nonces, &r->nonce, r->nc, r->nonce_expires, now)) {
		cb(LOC_REPLAY, NULL, 0, arg);
		return 0;
	}
	aor_purge(ms, &r->aor, now);
	res = reg_apply(ms, r, now);
	if (res == LOC_FAILED)
		cb(LOC_FAILED, NULL, 0, arg);
	else
		aor_reply(ms, &r->aor, res, cb, arg);
	return 0;
}

static int mem_lookup(struct state *st, const struct pl *aor,
		      loc_result_h *cb, void *arg)
{
	struct mem_state *ms = (struct mem_state *)st;

	if (!ms || !aor || !cb || !pl_isset(aor))
		return EINVAL;
	aor_purge(ms, aor, mem_now(ms));
	aor_reply(ms, aor, LOC_OK, cb, arg);
	return 0;
}

/* ---- nonces ---- */

static int mem_nonce_use(struct state *st, const struct pl *nonce, uint32_t nc,
			 uint64_t expires_at, nonce_result_h *cb, void *arg)
{
	struct mem_state *ms = (struct mem_state *)st;
	uint64_t now;
	bool ok;

	if (!ms || !nonce || !cb || !pl_isset(nonce))
		return EINVAL;
	now = mem_now(ms);
	ok = nctab_use(ms->nonces, nonce, nc, expires_at, now);
	cb(ok, arg);
	return 0;
}

/* ---- failed authentications and bans ---- */

static uint64_t mem_now_ms(const struct mem_state *ms)
{
	struct timespec ts;

	if (ms->clock)
		return ms->clock(ms->clock_arg) * 1000;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The address of sa without port, an IPv4-mapped IPv6 address as its
 * IPv4 address (as failtab_key() writes them); false for another family. */
static bool src_addr(const struct sockaddr *sa, uint8_t out[MEM_SRC_ADDR])
{
	const uint8_t *a6;

	memset(out, 0, MEM_SRC_ADDR);
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		out[0] = 4;
		memcpy(out + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	a6 = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a6)) {
		out[0] = 4;
		memcpy(out + 1, a6 + 12, 4);
	} else {
		out[0] = 6;
		memcpy(out + 1, a6, 16);
	}
	return true;
}

static struct mem_src *src_find(const struct mem_state *ms,
				const uint8_t addr[MEM_SRC_ADDR], uint64_t hash)
{
	for (struct hnode *e = htab_bucket(&ms->srcs, hash); e; e = e->next) {
		struct mem_src *s = htab_entry(e, struct mem_src, hn);

		if (e->hash == hash && !memcmp(s->addr, addr, MEM_SRC_ADDR))
			return s;
	}
	return NULL;
}

static void src_drop_oldest(struct mem_state *ms)
{
	struct list_node *n = list_pop_back(&ms->srcs_lru);
	struct mem_src *s;

	if (!n)
		return;
	s = list_entry(n, struct mem_src, le);
	htab_remove(&ms->srcs, &s->hn);
	free(s);
}

/* The least recently registered address ends soonest but for the
 * differences between expiries (bounded by maximum_expiration): popping
 * from that end keeps the index near the live addresses. */
static void srcs_expire(struct mem_state *ms, uint64_t now)
{
	struct list_node *n;

	while ((n = list_last(&ms->srcs_lru)) &&
	       list_entry(n, struct mem_src, le)->until <= now)
		src_drop_oldest(ms);
}

static void src_note(struct mem_state *ms, const struct sockaddr *sa, uint64_t until,
		     uint64_t now)
{
	uint8_t addr[MEM_SRC_ADDR];
	struct mem_src *s;
	uint64_t hash;

	if (until <= now || !src_addr(sa, addr))
		return;
	if (until > UINT32_MAX)
		until = UINT32_MAX;
	srcs_expire(ms, now);
	hash = hash_sip(&ms->key, addr, sizeof(addr));
	s = src_find(ms, addr, hash);
	if (!s) {
		if (ms->srcs.n >= MEM_SRC_MAX)
			src_drop_oldest(ms);
		s = malloc(sizeof(*s));
		if (!s)
			return;
		list_node_init(&s->le);
		s->until = 0;
		memcpy(s->addr, addr, sizeof(addr));
		htab_insert(&ms->srcs, &s->hn, hash);
	}
	if (until > s->until)
		s->until = (uint32_t)until;
	list_unlink(&s->le);
	list_push_front(&ms->srcs_lru, &s->le);
}

static bool src_live(struct mem_state *ms, const struct sockaddr *sa, uint64_t now)
{
	uint8_t addr[MEM_SRC_ADDR];
	const struct mem_src *s;

	if (!src_addr(sa, addr))
		return false;
	srcs_expire(ms, now);
	s = src_find(ms, addr, hash_sip(&ms->key, addr, sizeof(addr)));
	return s && s->until > now;
}

static int srcs_init(struct mem_state *ms)
{
	list_init(&ms->srcs_lru);
	ms->fails = failtab_alloc(MEM_FAIL_MAX);
	if (!ms->fails)
		return ENOMEM;
	if (htab_init(&ms->srcs, MEM_HTAB_MIN)) {
		failtab_free(ms->fails);
		return ENOMEM;
	}
	return 0;
}

static void srcs_free(struct mem_state *ms)
{
	while (!list_empty(&ms->srcs_lru))
		src_drop_oldest(ms);
	htab_free(&ms->srcs);
}

/* Registrations, as mem_reg() makes them, noting where bindings come
 * from (mem_reg() answers before it returns, so rn may live here). */
struct reg_note {
	struct mem_state *ms;
	loc_result_h *cb;
	void *arg;
};

static void reg_noted(enum loc_result res, const struct loc_contact *contacts,
		      size_t n, void *arg)
{
	const struct reg_note *rn = arg;

	if (res == LOC_OK) {
		uint64_t now = mem_now(rn->ms);

		for (size_t i = 0; i < n; i++)
			src_note(rn->ms, (const struct sockaddr *)&contacts[i].src.addr,
				 contacts[i].expires_at, now);
	}
	rn->cb(res, contacts, n, rn->arg);
}

static int mem_reg_noting(struct state *st, const struct loc_register *r,
			  loc_result_h *cb, void *arg)
{
	struct reg_note rn = {(struct mem_state *)st, cb, arg};

	if (!cb)
		return EINVAL;
	return mem_reg(st, r, reg_noted, &rn);
}

static int mem_fail_count(struct state *st, const struct pl *key,
			  const struct sockaddr *addr, uint32_t window_s,
			  fail_count_h *cb, void *arg)
{
	struct mem_state *ms = (struct mem_state *)st;
	uint32_t count;

	if (!ms || !cb || !pl_isset(key) || key->l > FAILTAB_KEY_MAX)
		return EINVAL;
	count = failtab_count(ms->fails, key, mem_now_ms(ms), (uint64_t)window_s * 1000);
	cb(count ? 0 : ENOMEM, count, src_live(ms, addr, mem_now(ms)), arg);
	return 0;
}

static int mem_ban_set(struct state *st, const struct pl *key, uint64_t until_ms)
{
	return failtab_ban(((struct mem_state *)st)->fails, key, until_ms);
}

static bool mem_banned(struct state *st, const struct pl *key, uint64_t now_ms)
{
	return failtab_banned(((struct mem_state *)st)->fails, key, now_ms);
}

static size_t mem_bans_count(struct state *st, uint64_t now_ms)
{
	return failtab_bans(((struct mem_state *)st)->fails, now_ms);
}

static void mem_bans_clear(struct state *st)
{
	failtab_clear(((struct mem_state *)st)->fails);
}

/* ---- the rest of the interface ---- */

static size_t mem_contacts_count(struct state *st)
{
	return ((struct mem_state *)st)->contacts_n;
}

static bool mem_healthy(struct state *st)
{
	return true;
}

static void mem_free(struct state *st)
{
	struct mem_state *ms = (struct mem_state *)st;
	struct hnode *e;

	if (!ms)
		return;
	while ((e = htab_pop(&ms->aors)) != NULL) {
		struct mem_aor *a = htab_entry(e, struct mem_aor, node);
		struct mem_contact *c;

		while ((c = a->contacts) != NULL) {
			a->contacts = c->next;
			contact_free(ms, c);
		}
		free(a);
	}
	nctab_free(ms->nonces);
	htab_free(&ms->aors);
	srcs_free(ms);
	failtab_free(ms->fails);
	free(ms);
}

/* One process is the whole cluster: there are no other replicas. */
static int mem_replica(struct state *st, const char *name, struct state_replica *out)
{
	return ENOENT;
}

static void mem_replicas_foreach(struct state *st,
				 void (*fn)(const struct state_replica *r, void *arg),
				 void *arg)
{
}

static void mem_stats(struct state *st, struct state_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->backend = "memory";
	out->healthy = true;
}

/* One process is the whole cluster: it holds every lease. */
static int mem_lease_take(struct state *st, const char *name, uint32_t ttl_ms,
			  lease_h *cb, void *arg)
{
	if (!name || !*name || strlen(name) >= STATE_LEASE_NAME_MAX || !ttl_ms || !cb)
		return EINVAL;
	cb(0, true, "", arg);
	return 0;
}

static void mem_lease_release(struct state *st, const char *name)
{
}

static const struct state_ops mem_ops = {
	.name = "memory",
	.lease_take = mem_lease_take,
	.lease_release = mem_lease_release,
	.replica = mem_replica,
	.replicas_foreach = mem_replicas_foreach,
	.stats = mem_stats,
	.fail_count = mem_fail_count,
	.ban_set = mem_ban_set,
	.banned = mem_banned,
	.bans_count = mem_bans_count,
	.bans_clear = mem_bans_clear,
	.reg = mem_reg_noting,
	.lookup = mem_lookup,
	.nonce_use = mem_nonce_use,
	.contacts_count = mem_contacts_count,
	.healthy = mem_healthy,
	.free = mem_free,
};

int state_mem_alloc(struct state **stp, struct tmrq *q,
		    state_clock_h *clock, void *clock_arg)
{
	struct mem_state *ms;
	int err;

	if (!stp || !q)
		return EINVAL;
	ms = calloc(1, sizeof(*ms));
	if (!ms)
		return ENOMEM;
	ms->st.ops = &mem_ops;
	ms->q = q;
	ms->clock = clock;
	ms->clock_arg = clock_arg;
	rand_hash_key(&ms->key);
	err = htab_init(&ms->aors, MEM_HTAB_MIN);
	if (err)
		goto out;
	err = nctab_alloc(&ms->nonces, MEM_NONCE_MAX);
	if (err)
		goto out;
	err = srcs_init(ms);
	if (err)
		goto out;
	*stp = &ms->st;
	return 0;
out:
	nctab_free(ms->nonces);
	htab_free(&ms->aors);
	free(ms);
	return err;
}

int state_mem_set_nonce_max(struct state *st, size_t max)
{
	struct mem_state *ms = (struct mem_state *)st;

	if (!st || st->ops != &mem_ops || max == 0)
		return EINVAL;
	return nctab_set_max(ms->nonces, max);
}
