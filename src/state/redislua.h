/*
 * redislua.h - the Lua scripts of the Redis backend: every change to
 * shared state that must be atomic is one script, so that it costs one
 * round trip and no other replica sees it half done.
 *
 * Key names (no KEYS or SCAN anywhere; scripts build the keys of other
 * replicas' sets themselves, so this is for a single Redis, not Redis
 * Cluster):
 *   kv:aor:AOR        HASH  contact URI -> record (redisrec.h), "#v" -> version
 *   kv:ver            STRING the global version counter (INCR: never reused)
 *   kv:exp            ZSET  AOR scored by the earliest expiry of its contacts
 *   kv:cnt            STRING contacts stored, cluster-wide
 *   kv:rep:REPLICA    SET   AORs with a contact held by REPLICA
 *   kv:replicas       HASH  replica -> "HEARTBEAT_MS ADVERTISE"
 *   kv:epoch          STRING random, set by whoever finds it missing
 *   kv:nc:NONCE       STRING highest nonce-count seen
 *   kv:bf:KEY         STRING failed authentications in the window
 *   kv:bans           ZSET  KEY scored by the ban's end (ms)
 *   kv:regsrc:IP      STRING exists while IP holds live registrations
 *   kv:lease:NAME     STRING the replica holding lease NAME, with its expiry
 */
#ifndef KV_STATE_REDISLUA_H
#define KV_STATE_REDISLUA_H

#include <stddef.h>

#define RKEY_AOR      "kv:aor:"
#define RKEY_VER      "kv:ver"
#define RKEY_EXP      "kv:exp"
#define RKEY_CNT      "kv:cnt"
#define RKEY_REP      "kv:rep:"
#define RKEY_REPLICAS "kv:replicas"
#define RKEY_EPOCH    "kv:epoch"
#define RKEY_NC       "kv:nc:"
#define RKEY_BF       "kv:bf:"
#define RKEY_BANS     "kv:bans"
#define RKEY_REGSRC   "kv:regsrc:"
#define RKEY_LEASE    "kv:lease:"


enum rlua {
	RLUA_WRITE,              /* a REGISTER's compare-and-set */
	RLUA_MERGE,              /* write-back after a data loss */
	RLUA_SWEEP,              /* expired contacts, once in the cluster */
	RLUA_HEARTBEAT,          /* heartbeat, epoch, replica table, count */
	RLUA_NONCE,              /* nonce-count compare-and-set */
	RLUA_FAIL,               /* count one failed authentication */
	RLUA_BAN,                /* share a ban */
	RLUA_LEASE,              /* take or renew a lease */
	RLUA_UNLEASE,            /* give up a lease held */
	RLUA_N
};

struct rscript {
	const char *name;
	const char *body;
	size_t len;
	char sha[41];            /* SHA1 of body, hex: what EVALSHA names */
};

/* The scripts with their SHA1s: 0 or ENOMEM. */
int rlua_load(struct rscript out[RLUA_N]);

#endif
