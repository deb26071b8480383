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
#include <sys/random.h>
#include <time.h>

#include "pbx/banlist.h"

#define BANLIST_BUCKETS (2 * BANLIST_MAX_ENTRIES)

struct ban_key {
	uint8_t family;          /* AF_INET or AF_INET6 */
	uint8_t addr[16];        /* IPv4 uses the first 4 bytes */
};

struct ban_entry {
	struct ban_entry *hnext;
	struct ban_entry *prev, *next;
	uint64_t first_ms;       /* start of the current window */
	uint64_t last_ms;        /* latest failure */
	uint64_t until_ms;       /* end of the ban; 0 when not banned */
	unsigned count;
	struct ban_key key;
};

struct ban_list {
	struct ban_entry *head, *tail;
};

struct banlist {
	unsigned failures;
	uint64_t window_ms;
	uint64_t ban_ms;
	struct ban_entry **buckets;
	struct ban_list idle;
	struct ban_list banned;
	size_t entries;
	size_t nbanned;
	uint64_t now_ms;         /* latest time seen */
	uint64_t seed[2];
};

static void list_unlink(struct ban_list *l, struct ban_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = NULL;
	e->next = NULL;
}

static struct ban_entry *list_pop_head(struct ban_list *l)
{
	struct ban_entry *e = l->head;

	if (!e)
		return NULL;
	l->head = e->next;
	if (l->head)
		l->head->prev = NULL;
	else
		l->tail = NULL;
	e->next = NULL;
	return e;
}

static struct ban_entry *list_pop_tail(struct ban_list *l)
{
	struct ban_entry *e = l->tail;

	if (!e)
		return NULL;
	l->tail = e->prev;
	if (l->tail)
		l->tail->next = NULL;
	else
		l->head = NULL;
	e->prev = NULL;
	return e;
}

static void list_push_head(struct ban_list *l, struct ban_entry *e)
{
	e->prev = NULL;
	e->next = l->head;
	if (l->head)
		l->head->prev = e;
	else
		l->tail = e;
	l->head = e;
}

/* Keeps `banned` sorted by until_ms; new bans nearly always end last, so
 * the walk from the tail stops at once. */
static void list_insert_sorted(struct ban_list *l, struct ban_entry *e)
{
	struct ban_entry *after = l->tail;

	while (after && after->until_ms > e->until_ms)
		after = after->prev;
	if (!after) {
		list_push_head(l, e);
		return;
	}
	e->prev = after;
	e->next = after->next;
	if (after->next)
		after->next->prev = e;
	else
		l->tail = e;
	after->next = e;
}

/* Times are caller-chosen: a clock near its end must not wrap a ban's end
 * to 0 (the "not banned" value) or to the past. */
static uint64_t time_add(uint64_t t, uint64_t d)
{
	return t > UINT64_MAX - d ? UINT64_MAX : t + d;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Seeded so that spoofed sources cannot be chosen to share one bucket. */
static size_t key_bucket(const struct banlist *bl, const struct ban_key *k)
{
	uint64_t w0, w1, h;

	memcpy(&w0, k->addr, 8);
	memcpy(&w1, k->addr + 8, 8);
	h = mix64(bl->seed[0] ^ w0);
	h = mix64(h ^ w1 ^ bl->seed[1]);
	h = mix64(h ^ k->family);
	return (size_t)(h % BANLIST_BUCKETS);
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
	struct ban_entry *e = bl->buckets[key_bucket(bl, k)];

	while (e && memcmp(&e->key, k, sizeof(*k)) != 0)
		e = e->hnext;
	return e;
}

/* Takes e, already off its list, out of the table and frees it. */
static void entry_free(struct banlist *bl, struct ban_entry *e)
{
	struct ban_entry **pp = &bl->buckets[key_bucket(bl, &e->key)];

	while (*pp && *pp != e)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = e->hnext;
	bl->entries--;
	free(e);
}

/*
 * Entries leave only from the list ends that expire first, and the caller
 * names the list: which list an entry is on is never inferred from its
 * fields, so a wrong until_ms cannot leave a list pointing at freed memory.
 */
static void ban_drop_first(struct banlist *bl)
{
	struct ban_entry *e = list_pop_head(&bl->banned);

	if (!e)
		return;
	bl->nbanned--;
	entry_free(bl, e);
}

static void idle_drop_oldest(struct banlist *bl)
{
	struct ban_entry *e = list_pop_tail(&bl->idle);

	if (e)
		entry_free(bl, e);
}

static void banlist_clear(struct banlist *bl)
{
	while (bl->banned.head)
		ban_drop_first(bl);
	while (bl->idle.tail)
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
	while (bl->banned.head && bl->banned.head->until_ms <= now_ms)
		ban_drop_first(bl);
	while (bl->idle.tail && time_add(bl->idle.tail->last_ms, bl->window_ms) <= now_ms)
		idle_drop_oldest(bl);
}

static void banlist_seed(struct banlist *bl)
{
	struct timespec ts;

	if (getrandom(bl->seed, sizeof(bl->seed), GRND_NONBLOCK) == sizeof(bl->seed))
		return;
	/* No entropy yet (early boot): weaker, but still not a constant. */
	clock_gettime(CLOCK_REALTIME, &ts);
	bl->seed[0] = mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32));
	bl->seed[1] = mix64(bl->seed[0] ^ (uint64_t)(uintptr_t)bl);
}

struct banlist *banlist_alloc(unsigned failures, unsigned window_s, unsigned ban_s)
{
	struct banlist *bl = calloc(1, sizeof(*bl));

	if (!bl)
		return NULL;
	bl->buckets = calloc(BANLIST_BUCKETS, sizeof(*bl->buckets));
	if (!bl->buckets) {
		free(bl);
		return NULL;
	}
	banlist_seed(bl);
	banlist_configure(bl, failures, window_s, ban_s);
	return bl;
}

void banlist_free(struct banlist *bl)
{
	if (!bl)
		return;
	banlist_clear(bl);
	free(bl->buckets);
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
		if (bl->entries >= BANLIST_MAX_ENTRIES) {
			if (bl->idle.tail)
				idle_drop_oldest(bl);
			else
				ban_drop_first(bl);
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return false;
		e->key = k;
		e->first_ms = now_ms;
		e->hnext = bl->buckets[key_bucket(bl, &k)];
		bl->buckets[key_bucket(bl, &k)] = e;
		bl->entries++;
	} else {
		list_unlink(&bl->idle, e);
		if (now_ms < e->first_ms || now_ms - e->first_ms >= bl->window_ms) {
			e->first_ms = now_ms;
			e->count = 0;
		}
	}
	e->count++;
	e->last_ms = now_ms;

	if (e->count < bl->failures) {
		list_push_head(&bl->idle, e);
		return false;
	}
	/* Never 0: banlist_enabled() means ban_ms > 0. */
	e->until_ms = time_add(now_ms, bl->ban_ms);
	list_insert_sorted(&bl->banned, e);
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
	return bl ? bl->entries : 0;
}

void banlist_sweep(struct banlist *bl, uint64_t now_ms)
{
	if (!bl)
		return;
	banlist_expire(bl, now_ms);
}
