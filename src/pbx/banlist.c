/*
 * banlist.c - per-source-IP failed-authentication counter and ban list.
 *
 * A fixed-size hash table of entries keyed by address, each entry also on
 * one of two lists: `idle` (counting failures, most recently failed first)
 * and `banned` (sorted by ban end, soonest first).  Both lists are ordered
 * by the time their entries stop mattering, so expiry and eviction only
 * ever take from one end of a list.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/banlist.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/rand.h"

struct ban_key {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];        /* IPv4 uses the first 4 bytes */
};

struct ban_entry {
	struct hnode hn;
	struct list_node le;     /* on idle or banned */
	uint64_t first_ms;       /* start of the current window */
	uint64_t last_ms;        /* latest failure */
	uint64_t until_ms;       /* end of the ban; 0 when not banned */
	unsigned count;
	struct ban_key key;
};

struct banlist {
	unsigned failures;
	uint64_t window_ms;
	uint64_t ban_ms;
	struct htab tab;
	struct list_node idle;   /* most recently failed first */
	struct list_node banned; /* soonest ban end first */
	size_t nbanned;
	uint64_t now_ms;         /* latest time seen */
	struct hash_key key;     /* sources are chosen (spoofed) by peers */
};

static struct ban_entry *entry_of(struct list_node *n)
{
	return n ? list_entry(n, struct ban_entry, le) : NULL;
}

/* Keeps `banned` sorted by until_ms; new bans nearly always end last, so
 * the walk from the tail stops at once. */
static void insert_sorted(struct list_node *l, struct ban_entry *e)
{
	struct list_node *after = l->prev;

	while (after != l && entry_of(after)->until_ms > e->until_ms)
		after = after->prev;
	list_insert_after(after, &e->le);
}

/* Times are caller-chosen: a clock near its end must not wrap a ban's end
 * to 0 (the "not banned" value) or to the past. */
static uint64_t time_add(uint64_t t, uint64_t d)
{
	return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

static uint64_t key_hash(const struct banlist *bl, const struct ban_key *k)
{
	return hash_sip(&bl->key, k, sizeof(*k));
}

static bool key_from_sa(struct ban_key *k, const struct sockaddr *sa)
{
	memset(k, 0, sizeof(*k));
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		k->family = AF_INET;
		memcpy(k->addr, &sin->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		/* A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			k->family = AF_INET;
			memcpy(k->addr, sin6->sin6_addr.s6_addr + 12, 4);
			return true;
		}
		k->family = AF_INET6;
		memcpy(k->addr, &sin6->sin6_addr, 16);
		return true;
	}
	return false;
}

static struct ban_entry *entry_find(const struct banlist *bl, const struct ban_key *k)
{
	uint64_t h = key_hash(bl, k);

	for (struct hnode *n = htab_bucket(&bl->tab, h); n; n = n->next) {
		struct ban_entry *e = htab_entry(n, struct ban_entry, hn);

		if (n->hash == h && !memcmp(&e->key, k, sizeof(*k)))
			return e;
	}
	return NULL;
}

/* Takes e, already off its list, out of the table and frees it. */
static void entry_free(struct banlist *bl, struct ban_entry *e)
{
	htab_remove(&bl->tab, &e->hn);
	free(e);
}

/*
 * Entries leave only from the list ends that expire first, and the caller
 * names the list: which list an entry is on is never inferred from its
 * fields, so a wrong until_ms cannot leave a list pointing at freed memory.
 */
static void ban_drop_first(struct banlist *bl)
{
	struct ban_entry *e = entry_of(list_first(&bl->banned));

	if (!e)
		return;
	list_unlink(&e->le);
	bl->nbanned--;
	entry_free(bl, e);
}

static void idle_drop_oldest(struct banlist *bl)
{
	struct ban_entry *e = entry_of(list_last(&bl->idle));

	if (!e)
		return;
	list_unlink(&e->le);
	entry_free(bl, e);
}

static void banlist_clear(struct banlist *bl)
{
	while (!list_empty(&bl->banned))
		ban_drop_first(bl);
	while (!list_empty(&bl->idle))
		idle_drop_oldest(bl);
}

static bool banlist_enabled(const struct banlist *bl)
{
	return bl && bl->failures > 0 && bl->ban_ms > 0;
}

static void banlist_expire(struct banlist *bl, uint64_t now_ms)
{
	if (now_ms > bl->now_ms)
		bl->now_ms = now_ms;
	now_ms = bl->now_ms;
	while (!list_empty(&bl->banned) &&
	       entry_of(list_first(&bl->banned))->until_ms <= now_ms)
		ban_drop_first(bl);
	while (!list_empty(&bl->idle) &&
	       time_add(entry_of(list_last(&bl->idle))->last_ms, bl->window_ms) <= now_ms)
		idle_drop_oldest(bl);
}

struct banlist *banlist_alloc(unsigned failures, unsigned window_s, unsigned ban_s)
{
	struct banlist *bl = calloc(1, sizeof(*bl));

	if (!bl)
		return NULL;
	if (htab_init(&bl->tab, 64)) {
		free(bl);
		return NULL;
	}
	list_init(&bl->idle);
	list_init(&bl->banned);
	rand_hash_key(&bl->key);
	banlist_configure(bl, failures, window_s, ban_s);
	return bl;
}

void banlist_free(struct banlist *bl)
{
	if (!bl)
		return;
	banlist_clear(bl);
	htab_free(&bl->tab);
	free(bl);
}

void banlist_configure(struct banlist *bl, unsigned failures, unsigned window_s,
		       unsigned ban_s)
{
	if (!bl)
		return;
	bl->failures = failures;
	bl->window_ms = (uint64_t)window_s * 1000;
	bl->ban_ms = (uint64_t)ban_s * 1000;
	if (!banlist_enabled(bl))
		banlist_clear(bl);
}

bool banlist_fail(struct banlist *bl, const struct sockaddr *sa, uint64_t now_ms)
{
	struct ban_key k;
	struct ban_entry *e;

	if (!banlist_enabled(bl) || !key_from_sa(&k, sa))
		return false;
	banlist_expire(bl, now_ms);

	e = entry_find(bl, &k);
	if (e && e->until_ms)
		return false;
	if (!e) {
		if (bl->tab.n >= BANLIST_MAX_ENTRIES) {
			if (!list_empty(&bl->idle))
				idle_drop_oldest(bl);
			else
				ban_drop_first(bl);
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return false;
		e->key = k;
		e->first_ms = now_ms;
		list_node_init(&e->le);
		htab_insert(&bl->tab, &e->hn, key_hash(bl, &k));
	} else {
		list_unlink(&e->le);
		if (now_ms < e->first_ms || now_ms - e->first_ms >= bl->window_ms) {
			e->first_ms = now_ms;
			e->count = 0;
		}
	}
	e->count++;
	e->last_ms = now_ms;

	if (e->count < bl->failures) {
		list_push_front(&bl->idle, &e->le);
		return false;
	}
	/* Never 0: banlist_enabled() means ban_ms > 0. */
	e->until_ms = time_add(now_ms, bl->ban_ms);
	insert_sorted(&bl->banned, e);
	bl->nbanned++;
	return true;
}

bool banlist_banned(struct banlist *bl, const struct sockaddr *sa, uint64_t now_ms)
{
	struct ban_key k;
	struct ban_entry *e;

	if (!banlist_enabled(bl) || !key_from_sa(&k, sa))
		return false;
	banlist_expire(bl, now_ms);
	e = entry_find(bl, &k);
	return e && e->until_ms > now_ms;
}

size_t banlist_count(const struct banlist *bl)
{
	return bl ? bl->nbanned : 0;
}

size_t banlist_entries(const struct banlist *bl)
{
	return bl ? bl->tab.n : 0;
}

void banlist_sweep(struct banlist *bl, uint64_t now_ms)
{
	if (!bl)
		return;
	banlist_expire(bl, now_ms);
}
