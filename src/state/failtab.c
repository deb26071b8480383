/*
 * failtab.c - failed-authentication counts and bans, by key.
 *
 * A hash table of entries keyed by string, each entry also on one of two
 * lists: `idle` (counting failures, most recently failed first) and
 * `banned` (sorted by ban end, soonest first).  Both lists are ordered by
 * the time their entries stop mattering, so expiry and eviction only ever
 * take from one end of a list.  Which list an entry is on is told by
 * until_ms (0: idle), which is never 0 for a ban.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "state/failtab.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/rand.h"

struct ft_entry {
	struct hnode hn;
	struct list_node le;     /* on idle or banned */
	uint64_t first_ms;       /* start of the current window */
	uint64_t win_end_ms;     /* first_ms + the window: the count ends */
	uint64_t until_ms;       /* end of the ban; 0 when not banned */
	uint32_t count;
	uint8_t keylen;
	char key[];
};

struct failtab {
	size_t max;
	struct htab tab;
	struct list_node idle;   /* most recently failed first */
	struct list_node banned; /* soonest ban end first */
	size_t nbanned;
	uint64_t now_ms;         /* latest time seen */
	struct hash_key hkey;    /* keys hold addresses and names peers chose */
};

static struct ft_entry *entry_of(struct list_node *n)
{
	return n ? list_entry(n, struct ft_entry, le) : NULL;
}

/* Times are caller-chosen: a clock near its end must not wrap a ban's end
 * to 0 (the "not banned" value) or to the past. */
static uint64_t time_add(uint64_t t, uint64_t d)
{
	return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

static bool key_ok(const struct pl *key)
{
	return pl_isset(key) && key->l <= FAILTAB_KEY_MAX;
}

static uint64_t key_hash(const struct failtab *ft, const struct pl *key)
{
	return hash_sip(&ft->hkey, key->p, key->l);
}

static struct ft_entry *entry_find(const struct failtab *ft, const struct pl *key)
{
	uint64_t h = key_hash(ft, key);

	for (struct hnode *n = htab_bucket(&ft->tab, h); n; n = n->next) {
		struct ft_entry *e = htab_entry(n, struct ft_entry, hn);

		if (n->hash == h && e->keylen == key->l && !memcmp(e->key, key->p, key->l))
			return e;
	}
	return NULL;
}

/* Takes e, already off its list, out of the table and frees it. */
static void entry_free(struct failtab *ft, struct ft_entry *e)
{
	htab_remove(&ft->tab, &e->hn);
	free(e);
}

/*
 * Entries leave only from the list ends that expire first, and the caller
 * names the list, so a wrong field can never leave a list pointing at
 * freed memory.
 */
static void ban_drop_first(struct failtab *ft)
{
	struct ft_entry *e = entry_of(list_pop_front(&ft->banned));

	if (!e)
		return;
	ft->nbanned--;
	entry_free(ft, e);
}

static void idle_drop_oldest(struct failtab *ft)
{
	struct ft_entry *e = entry_of(list_pop_back(&ft->idle));

	if (e)
		entry_free(ft, e);
}

/* Keeps `banned` sorted by until_ms; bans nearly always end last (one
 * ban_time for all), so the walk from the tail stops at once. */
static void insert_sorted(struct failtab *ft, struct ft_entry *e)
{
	struct list_node *after = ft->banned.prev;

	while (after != &ft->banned && entry_of(after)->until_ms > e->until_ms)
		after = after->prev;
	list_insert_after(after, &e->le);
}

static void expire(struct failtab *ft, uint64_t now_ms)
{
	struct ft_entry *e;

	if (now_ms > ft->now_ms)
		ft->now_ms = now_ms;
	now_ms = ft->now_ms;
	while ((e = entry_of(list_first(&ft->banned))) && e->until_ms <= now_ms)
		ban_drop_first(ft);
	while ((e = entry_of(list_last(&ft->idle))) && e->win_end_ms <= now_ms)
		idle_drop_oldest(ft);
}

/* A new entry in the table, on no list; the oldest idle entry (or the ban
 * that ends first) makes room when the table is full. */
static struct ft_entry *entry_new(struct failtab *ft, const struct pl *key)
{
	struct ft_entry *e;

	if (ft->tab.n >= ft->max) {
		if (!list_empty(&ft->idle))
			idle_drop_oldest(ft);
		else
			ban_drop_first(ft);
	}
	e = calloc(1, sizeof(*e) + key->l);
	if (!e)
		return NULL;
	list_node_init(&e->le);
	e->keylen = (uint8_t)key->l;
	memcpy(e->key, key->p, key->l);
	htab_insert(&ft->tab, &e->hn, key_hash(ft, key));
	return e;
}

struct failtab *failtab_alloc(size_t max_entries)
{
	struct failtab *ft;

	if (!max_entries)
		return NULL;
	ft = calloc(1, sizeof(*ft));
	if (!ft)
		return NULL;
	if (htab_init(&ft->tab, 64)) {
		free(ft);
		return NULL;
	}
	ft->max = max_entries;
	list_init(&ft->idle);
	list_init(&ft->banned);
	rand_hash_key(&ft->hkey);
	return ft;
}

void failtab_clear(struct failtab *ft)
{
	if (!ft)
		return;
	while (!list_empty(&ft->banned))
		ban_drop_first(ft);
	while (!list_empty(&ft->idle))
		idle_drop_oldest(ft);
}

void failtab_free(struct failtab *ft)
{
	if (!ft)
		return;
	failtab_clear(ft);
	htab_free(&ft->tab);
	free(ft);
}

uint32_t failtab_count(struct failtab *ft, const struct pl *key, uint64_t now_ms,
		       uint64_t window_ms)
{
	struct ft_entry *e;

	if (!ft || !key_ok(key))
		return 0;
	expire(ft, now_ms);
	e = entry_find(ft, key);
	if (!e) {
		e = entry_new(ft, key);
		if (!e)
			return 0;
		e->first_ms = now_ms;
		e->win_end_ms = time_add(now_ms, window_ms);
	} else if (now_ms < e->first_ms || now_ms >= e->win_end_ms) {
		e->first_ms = now_ms;
		e->win_end_ms = time_add(now_ms, window_ms);
		e->count = 0;
	}
	if (e->count < UINT32_MAX)
		e->count++;
	if (!e->until_ms) {
		list_unlink(&e->le);
		list_push_front(&ft->idle, &e->le);
	}
	return e->count;
}

int failtab_ban(struct failtab *ft, const struct pl *key, uint64_t until_ms)
{
	struct ft_entry *e;

	if (!ft || !key_ok(key))
		return EINVAL;
	/* Over already (or the "not banned" value): nothing to keep. */
	if (until_ms <= ft->now_ms)
		return 0;
	e = entry_find(ft, key);
	if (e && e->until_ms >= until_ms)
		return 0;
	if (!e) {
		e = entry_new(ft, key);
		if (!e)
			return ENOMEM;
		e->first_ms = e->win_end_ms = ft->now_ms;
	}
	list_unlink(&e->le);
	if (!e->until_ms)
		ft->nbanned++;
	e->until_ms = until_ms;
	insert_sorted(ft, e);
	return 0;
}

bool failtab_banned(struct failtab *ft, const struct pl *key, uint64_t now_ms)
{
	const struct ft_entry *e;

	if (!ft || !key_ok(key))
		return false;
	expire(ft, now_ms);
	if (!ft->nbanned)
		return false;
	e = entry_find(ft, key);
	return e && e->until_ms > now_ms;
}

size_t failtab_bans(struct failtab *ft, uint64_t now_ms)
{
	if (!ft)
		return 0;
	expire(ft, now_ms);
	return ft->nbanned;
}

size_t failtab_entries(const struct failtab *ft)
{
	return ft ? ft->tab.n : 0;
}

int failtab_key(struct pl *key, char *buf, size_t size, const struct sockaddr *sa,
		const struct pl *user)
{
	char ip[INET6_ADDRSTRLEN];
	const void *src;
	int af;
	size_t iplen, len;

	if (!key || !buf || !sa)
		return EINVAL;
	if (sa->sa_family == AF_INET) {
		af = AF_INET;
		src = &((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		/* A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d. */
		af = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
		src = af == AF_INET ? (const void *)(a6->s6_addr + 12) : (const void *)a6;
	} else {
		return EINVAL;
	}
	if (!inet_ntop(af, src, ip, sizeof(ip)))
		return EINVAL;
	iplen = strlen(ip);
	len = pl_isset(user) ? iplen + 1 + user->l : iplen;
	if (len > FAILTAB_KEY_MAX || len >= size)
		return ENOSPC;
	memcpy(buf, ip, iplen);
	if (pl_isset(user)) {
		buf[iplen] = ' ';
		memcpy(buf + iplen + 1, user->p, user->l);
	}
	buf[len] = '\0';
	key->p = buf;
	key->l = len;
	return 0;
}
