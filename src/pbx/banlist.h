/*
 * banlist.h - per-source-IP failed-authentication counter and ban list.
 *
 * After `failures` failed authentications from one IP address within a
 * window of `window_s` seconds (a fixed window that opens at the first
 * failure), that address is banned for `ban_s` seconds; once the ban ends
 * it starts with a clean record.  The key is the address only, never the
 * port; an IPv4-mapped IPv6 address counts as its IPv4 address.
 *
 * Memory is bounded against floods of spoofed sources: at most
 * BANLIST_MAX_ENTRIES addresses are tracked.  When full, the address whose
 * last failure is the oldest among those not banned is forgotten; only when
 * every tracked address is banned does the ban that ends first go.
 *
 * Time is passed in (milliseconds, any monotonic origin) so callers and
 * tests decide the clock; nothing here runs timers.
 */
#ifndef KV_PBX_BANLIST_H
#define KV_PBX_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define BANLIST_MAX_ENTRIES 65536

struct banlist;

/* failures=0 disables banning.  NULL on allocation failure. */
struct banlist *banlist_alloc(unsigned failures, unsigned window_s, unsigned ban_s);
void banlist_free(struct banlist *bl);

/* Live configuration change.  Running bans keep their end time; failure
 * counts carry over.  failures=0 lifts every ban and forgets everything. */
void banlist_configure(struct banlist *bl, unsigned failures, unsigned window_s,
		       unsigned ban_s);

/* Count one failed authentication from sa.  True when this very failure
 * starts a ban (for a single log line and a counter).  Failures from an
 * address that is already banned are not counted and return false. */
bool banlist_fail(struct banlist *bl, const struct sockaddr *sa, uint64_t now_ms);

/* Is sa banned at now_ms? */
bool banlist_banned(struct banlist *bl, const struct sockaddr *sa, uint64_t now_ms);

/* Addresses banned as of the latest time passed to any banlist call. */
size_t banlist_count(const struct banlist *bl);

/* Addresses tracked (banned or counting failures), at most
 * BANLIST_MAX_ENTRIES. */
size_t banlist_entries(const struct banlist *bl);

/* Drop ended bans and failure records whose window has passed; cheap,
 * meant for a periodic timer so banlist_count() stays exact when idle. */
void banlist_sweep(struct banlist *bl, uint64_t now_ms);

#endif
