/*
 * failtab.h - failed-authentication counts and bans, by key, in this
 * process's memory: the memory backend's whole store, and the Redis
 * backend's copy of the cluster's bans (read on every request).
 *
 * A key is a short string ("ADDR" or "ADDR USER", see state.h).  A count
 * runs in a fixed window that opens at the key's first failure; a ban
 * lasts until its end time.  Memory is bounded against floods of spoofed
 * sources: at most max entries; when full, the entry whose last failure is
 * the oldest among those not banned goes first, and only when every entry
 * is banned does the ban that ends first go.  Keys are hashed with keyed
 * SipHash (peers choose them).  Time is passed in (milliseconds), nothing
 * here runs timers.
 */
#ifndef KV_STATE_FAILTAB_H
#define KV_STATE_FAILTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/pl.h"

#define FAILTAB_KEY_MAX 96       /* bytes of a key */

struct failtab;

/* NULL on allocation failure. */
struct failtab *failtab_alloc(size_t max_entries);
void failtab_free(struct failtab *ft);

/* Count one failure of key at now_ms in a window of window_ms: the
 * failure's rank in the window (1 for the first), 0 when key is too long
 * or memory ran out.  A banned key is still counted. */
uint32_t failtab_count(struct failtab *ft, const struct pl *key, uint64_t now_ms,
		       uint64_t window_ms);
/* Ban key until until_ms (a later end wins over an earlier one).
 * 0, EINVAL (key too long) or ENOMEM. */
int  failtab_ban(struct failtab *ft, const struct pl *key, uint64_t until_ms);
bool failtab_banned(struct failtab *ft, const struct pl *key, uint64_t now_ms);
/* Bans in force at now_ms; entries tracked. */
size_t failtab_bans(struct failtab *ft, uint64_t now_ms);
size_t failtab_entries(const struct failtab *ft);
/* Forget everything (banning turned off). */
void failtab_clear(struct failtab *ft);

/*
 * The key of an address (user NULL or empty) or of an address and a user:
 * "ADDR" or "ADDR USER", ADDR the address as text without port, an
 * IPv4-mapped IPv6 address as its IPv4 address.  Written to buf (size
 * FAILTAB_KEY_MAX + 1 is always enough), *key points there.  0, EINVAL
 * (not an IP address) or ENOSPC (too long for a key).
 */
int failtab_key(struct pl *key, char *buf, size_t size, const struct sockaddr *sa,
		const struct pl *user);

#endif
