/*
 * redislua.c - the Lua scripts of the Redis backend (see redislua.h for
 * the keys).  Each script's arguments are documented above it; numbers
 * leave Lua through string.format('%d') so that they never turn into
 * floating-point notation.  Times come from the caller's clock (ARGV), and
 * expiries given to Redis are relative to it, so that replicas and Redis
 * need not agree on the time; a hash outlives its last contact by 600 s,
 * for the day no replica sweeps.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "state/redislua.h"

/*
 * A REGISTER's compare-and-set.
 * KEYS: aor hash, kv:exp, kv:ver, kv:epoch, kv:cnt, kv:nc:NONCE
 * ARGV: 1 epoch known, 2 epoch to set when missing, 3 expected version
 *       ("0": no hash), 4 "1" to write (else only check), 5 AOR, 6 now ms,
 *       7 source IP of the new bindings (or ""), 8 their latest expiry (s),
 *       9 n records, 10 m replica-set changes, 11 the credentials' nonce
 *       count ("0": none to check), 12 the nonce's lifetime left (ms),
 *       then n x (contact URI, record, expires_at), m x ("+"|"-", replica)
 * Returns {"E", epoch} (the epoch changed: Redis lost data), {"C", HGETALL}
 * (another version: plan again), {"R", "0"} (the nonce count was used:
 * nothing written) or {"K", version now}.  The nonce count is taken only
 * with a write that goes through, so a plan made again can still use it.
 */
static const char lua_write[] =
	"local ep = redis.call('GET', KEYS[4])\n"
	"if ep ~= ARGV[1] then\n"
	"  if not ep then\n"
	"    ep = ARGV[2]\n"
	"    redis.call('SET', KEYS[4], ep)\n"
	"  end\n"
	"  return {'E', ep}\n"
	"end\n"
	"local cur = redis.call('HGET', KEYS[1], '#v') or '0'\n"
	"if cur ~= ARGV[3] then\n"
	"  return {'C', redis.call('HGETALL', KEYS[1])}\n"
	"end\n"
	"if ARGV[11] ~= '0' then\n"
	"  local seen = tonumber(redis.call('GET', KEYS[6]) or '0') or 0\n"
	"  if tonumber(ARGV[11]) <= seen then return {'R', '0'} end\n"
	"  redis.call('SET', KEYS[6], ARGV[11], 'PX', ARGV[12])\n"
	"end\n"
	"if ARGV[4] ~= '1' then\n"
	"  return {'K', cur}\n"
	"end\n"
	"local old = redis.call('HLEN', KEYS[1])\n"
	"if old > 0 then old = old - 1 end\n"
	"redis.call('DEL', KEYS[1])\n"
	"local n = tonumber(ARGV[9])\n"
	"local m = tonumber(ARGV[10])\n"
	"local ver = '0'\n"
	"if n > 0 then\n"
	"  local lo, hi\n"
	"  for i = 0, n - 1 do\n"
	"    local b = 13 + 3 * i\n"
	"    local e = tonumber(ARGV[b + 2])\n"
	"    redis.call('HSET', KEYS[1], ARGV[b], ARGV[b + 1])\n"
	"    if not lo or e < lo then lo = e end\n"
	"    if not hi or e > hi then hi = e end\n"
	"  end\n"
	"  ver = string.format('%d', redis.call('INCR', KEYS[3]))\n"
	"  redis.call('HSET', KEYS[1], '#v', ver)\n"
	"  redis.call('PEXPIRE', KEYS[1], string.format('%d', (hi + 600) * 1000 - tonumber(ARGV[6])))\n"
	"  redis.call('ZADD', KEYS[2], string.format('%d', lo), ARGV[5])\n"
	"else\n"
	"  redis.call('ZREM', KEYS[2], ARGV[5])\n"
	"end\n"
	"for i = 0, m - 1 do\n"
	"  local b = 13 + 3 * n + 2 * i\n"
	"  local k = 'kv:rep:' .. ARGV[b + 1]\n"
	"  if ARGV[b] == '+' then\n"
	"    redis.call('SADD', k, ARGV[5])\n"
	"  else\n"
	"    redis.call('SREM', k, ARGV[5])\n"
	"  end\n"
	"end\n"
	"if n ~= old then redis.call('INCRBY', KEYS[5], n - old) end\n"
	"if ARGV[7] ~= '' then\n"
	"  local k = 'kv:regsrc:' .. ARGV[7]\n"
	"  local px = tonumber(ARGV[8]) * 1000 - tonumber(ARGV[6])\n"
	"  if px > 0 and redis.call('PTTL', k) < px then\n"
	"    redis.call('SET', k, '1', 'PX', string.format('%d', px))\n"
	"  end\n"
	"end\n"
	"return {'K', ver}\n";

/*
 * Write-back of this replica's bindings after Redis lost them: a record
 * goes in only where the hash has none for that contact, an expired or
 * undecodable one, or one of this replica's that expires sooner (a
 * refresh that a lagging replica missed before Sentinel promoted it);
 * anything else was written since, and is newer.
 * KEYS: aor hash, kv:exp, kv:ver, kv:cnt
 * ARGV: 1 now (s), 2 now ms, 3 AOR, 4 this replica, 5 source IP (or ""),
 *       6 n, then n x (contact URI, record, expires_at)
 * Returns {records written, HGETALL}.
 */
static const char lua_merge[] =
	"local now = tonumber(ARGV[1])\n"
	"local n = tonumber(ARGV[6])\n"
	"local written, added, top = 0, 0, 0\n"
	"for i = 0, n - 1 do\n"
	"  local b = 7 + 3 * i\n"
	"  local e = tonumber(ARGV[b + 2])\n"
	"  local old = redis.call('HGET', KEYS[1], ARGV[b])\n"
	"  local oe = old and tonumber(string.match(old, '^1\\t(%d+)\\t'))\n"
	"  local orep = old and string.match(old, '^1\\t%d+' .. string.rep('\\t[^\\t]*', 6) ..\n"
	"                                         '\\t([^\\t]*)\\t')\n"
	"  if e > now and (not oe or oe <= now or (oe < e and orep == ARGV[4])) then\n"
	"    redis.call('HSET', KEYS[1], ARGV[b], ARGV[b + 1])\n"
	"    written = written + 1\n"
	"    if not old then added = added + 1 end\n"
	"    if e > top then top = e end\n"
	"  end\n"
	"end\n"
	"if written > 0 then\n"
	"  redis.call('HSET', KEYS[1], '#v', string.format('%d', redis.call('INCR', KEYS[3])))\n"
	"  local h = redis.call('HGETALL', KEYS[1])\n"
	"  local lo, hi = nil, 0\n"
	"  for i = 1, #h, 2 do\n"
	"    local e = h[i] ~= '#v' and tonumber(string.match(h[i + 1], '^1\\t(%d+)\\t'))\n"
	"    if e then\n"
	"      if not lo or e < lo then lo = e end\n"
	"      if e > hi then hi = e end\n"
	"    end\n"
	"  end\n"
	"  redis.call('ZADD', KEYS[2], string.format('%d', lo), ARGV[3])\n"
	"  redis.call('PEXPIRE', KEYS[1], string.format('%d', (hi + 600) * 1000 - tonumber(ARGV[2])))\n"
	"  redis.call('SADD', 'kv:rep:' .. ARGV[4], ARGV[3])\n"
	"  if added > 0 then redis.call('INCRBY', KEYS[4], added) end\n"
	"  if ARGV[5] ~= '' then\n"
	"    local k = 'kv:regsrc:' .. ARGV[5]\n"
	"    local px = top * 1000 - tonumber(ARGV[2])\n"
	"    if px > 0 and redis.call('PTTL', k) < px then\n"
	"      redis.call('SET', k, '1', 'PX', string.format('%d', px))\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {written, redis.call('HGETALL', KEYS[1])}\n";

/*
 * Removes the contacts expired at now from the AORs that are due, and
 * returns them: the replica whose sweep removed a contact is the one that
 * reports its expiry.  Undecodable records are left alone (a write
 * replaces them).
 * KEYS: kv:exp, kv:ver, kv:cnt
 * ARGV: 1 now (s), 2 most AORs
 * Returns {1 if more AORs may be due else 0, then (AOR, URI, record)...}.
 */
static const char lua_sweep[] =
	"local now = tonumber(ARGV[1])\n"
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])\n"
	"local out = {#due >= tonumber(ARGV[2]) and 1 or 0}\n"
	"local pat = '^1\\t[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t[^\\t]*\\t([^\\t]*)\\t'\n"
	"for _, aor in ipairs(due) do\n"
	"  local k = 'kv:aor:' .. aor\n"
	"  local h = redis.call('HGETALL', k)\n"
	"  local gone, kept, left, n = {}, {}, 0, 0\n"
	"  local lo, hi\n"
	"  for i = 1, #h, 2 do\n"
	"    local f, v = h[i], h[i + 1]\n"
	"    if f ~= '#v' then\n"
	"      local e = tonumber(string.match(v, '^1\\t(%d+)\\t'))\n"
	"      local r = string.match(v, pat)\n"
	"      if e and e <= now then\n"
	"        redis.call('HDEL', k, f)\n"
	"        n = n + 1\n"
	"        out[#out + 1] = aor\n"
	"        out[#out + 1] = f\n"
	"        out[#out + 1] = v\n"
	"        if r then gone[r] = true end\n"
	"      else\n"
	"        left = left + 1\n"
	"        if r then kept[r] = true end\n"
	"        if e and (not lo or e < lo) then lo = e end\n"
	"        if e and (not hi or e > hi) then hi = e end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"  if n > 0 then\n"
	"    redis.call('INCRBY', KEYS[3], -n)\n"
	"    for r in pairs(gone) do\n"
	"      if not kept[r] then redis.call('SREM', 'kv:rep:' .. r, aor) end\n"
	"    end\n"
	"  end\n"
	"  if left == 0 then\n"
	"    redis.call('DEL', k)\n"
	"    redis.call('ZREM', KEYS[1], aor)\n"
	"  else\n"
	"    if n > 0 then\n"
	"      redis.call('HSET', k, '#v', string.format('%d', redis.call('INCR', KEYS[2])))\n"
	"    end\n"
	"    if lo then\n"
	"      redis.call('ZADD', KEYS[1], string.format('%d', lo), aor)\n"
	"      redis.call('PEXPIRE', k, string.format('%d', (hi + 600 - now) * 1000))\n"
	"    else\n"
	"      redis.call('ZREM', KEYS[1], aor)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return out\n";

/*
 * This replica's heartbeat by Redis's clock, the epoch (set when
 * missing: Redis lost its data), the replica table (entries silent for
 * longer than ARGV[4] ms are forgotten) and the contact count.
 * KEYS: kv:replicas, kv:epoch, kv:cnt
 * ARGV: 1 replica, 2 advertise ADDR:PORT (or ""), 3 epoch to set when
 *       missing, 4 forget after (ms)
 * Returns {now ms, epoch, contacts, {replica, "HEARTBEAT_MS ADVERTISE"...}}.
 */
static const char lua_heartbeat[] =
	"redis.replicate_commands()\n"
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local nows = string.format('%d', now)\n"
	"redis.call('HSET', KEYS[1], ARGV[1], nows .. ' ' .. ARGV[2])\n"
	"local ep = redis.call('GET', KEYS[2])\n"
	"if not ep then\n"
	"  ep = ARGV[3]\n"
	"  redis.call('SET', KEYS[2], ep)\n"
	"end\n"
	"local all = redis.call('HGETALL', KEYS[1])\n"
	"local live = {}\n"
	"for i = 1, #all, 2 do\n"
	"  local hb = tonumber(string.match(all[i + 1], '^(%d+)'))\n"
	"  if hb and now - hb <= tonumber(ARGV[4]) then\n"
	"    live[#live + 1] = all[i]\n"
	"    live[#live + 1] = all[i + 1]\n"
	"  else\n"
	"    redis.call('HDEL', KEYS[1], all[i])\n"
	"  end\n"
	"end\n"
	"return {nows, ep, redis.call('GET', KEYS[3]) or '0', live}\n";

/*
 * Nonce-count replay check: nc must be higher than any seen.
 * KEYS: kv:nc:NONCE   ARGV: 1 nc, 2 lifetime left (ms)
 * Returns 1 (accepted) or 0.
 */
static const char lua_nonce[] =
	"local cur = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
	"if tonumber(ARGV[1]) <= cur then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])\n"
	"return 1\n";

/*
 * One failed authentication in a window that opens at the first.
 * KEYS: kv:bf:KEY, kv:regsrc:IP   ARGV: 1 window (ms)
 * Returns {failures in the window, 1 if IP holds live registrations}.
 */
static const char lua_fail[] =
	"local n = redis.call('INCR', KEYS[1])\n"
	"if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then\n"
	"  redis.call('PEXPIRE', KEYS[1], ARGV[1])\n"
	"end\n"
	"return {n, redis.call('EXISTS', KEYS[2])}\n";

/*
 * A ban, keeping the later end of two; ended bans are dropped here.
 * KEYS: kv:bans   ARGV: 1 key, 2 end (ms), 3 now (ms)
 */
static const char lua_ban[] =
	"local s = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0') or 0\n"
	"if s < tonumber(ARGV[2]) then redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1]) end\n"
	"redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])\n"
	"return 1\n";

/*
 * Take a lease that nobody holds (SET NX PX), or renew it when the caller
 * holds it (compare-and-PEXPIRE): one script, so that the answer can name
 * the holder in the same round trip.
 * KEYS: kv:lease:NAME   ARGV: 1 replica, 2 lease time (ms)
 * Returns the holder after the call (ARGV[1] when the caller holds it).
 */
static const char lua_lease[] =
	"local h = redis.call('GET', KEYS[1])\n"
	"if not h then\n"
	"  redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])\n"
	"  return ARGV[1]\n"
	"end\n"
	"if h == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\n"
	"return h\n";

/*
 * Give a lease up, only when the caller holds it (compare-and-delete).
 * KEYS: kv:lease:NAME   ARGV: 1 replica
 */
static const char lua_unlease[] =
	"if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end\n"
	"return 1\n";

static int sha1_hex(const char *body, size_t len, char out[41])
{
	static const char hexdig[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(body, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return ENOMEM;
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hexdig[md[i] >> 4];
		out[2 * i + 1] = hexdig[md[i] & 15];
	}
	out[40] = '\0';
	return 0;
}

int rlua_load(struct rscript out[RLUA_N])
{
	static const struct { const char *name, *body; size_t len; } all[RLUA_N] = {
		[RLUA_WRITE]     = { "write", lua_write, sizeof(lua_write) - 1 },
		[RLUA_MERGE]     = { "merge", lua_merge, sizeof(lua_merge) - 1 },
		[RLUA_SWEEP]     = { "sweep", lua_sweep, sizeof(lua_sweep) - 1 },
		[RLUA_HEARTBEAT] = { "heartbeat", lua_heartbeat, sizeof(lua_heartbeat) - 1 },
		[RLUA_NONCE]     = { "nonce", lua_nonce, sizeof(lua_nonce) - 1 },
		[RLUA_FAIL]      = { "fail", lua_fail, sizeof(lua_fail) - 1 },
		[RLUA_BAN]       = { "ban", lua_ban, sizeof(lua_ban) - 1 },
		[RLUA_LEASE]     = { "lease", lua_lease, sizeof(lua_lease) - 1 },
		[RLUA_UNLEASE]   = { "unlease", lua_unlease, sizeof(lua_unlease) - 1 },
	};
	int i, err;

	for (i = 0; i < RLUA_N; i++) {
		out[i].name = all[i].name;
		out[i].body = all[i].body;
		out[i].len = all[i].len;
		err = sha1_hex(all[i].body, all[i].len, out[i].sha);
		if (err)
			return err;
	}
	return 0;
}
