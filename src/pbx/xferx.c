/*
 * xferx.c - the signature of an INVITE with Replaces that one replica
 * sends another to complete an attended transfer across replicas
 * (xferx.h), and the replicas to send it to.
 *
 * The INVITE has no credentials of the phone (the phone never sent it),
 * and the replica that receives it must not take it from anyone: a MAC
 * under the cluster's flow key (flowproxy_key(), the key replicas already
 * share) over the Call-ID, the Replaces value and the time it was made.
 * The time bounds a replay to XFERX_MAX_AGE_S; a replay within that
 * window could only replace the same dialog with the same Call-ID, which
 * the transaction layer or the dialog table refuses anyway.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/flowproxy.h"
#include "pbx/xferx.h"
#include "util/hash.h"

static uint64_t mac(const char *secret, const char *callid, size_t cl, const char *rep,
		    size_t rl, uint64_t ts)
{
	static const char label[] = "kubevox replaces";
	struct hash_sip_state st;
	struct hash_key key;
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRIu64, ts);

	flowproxy_key(secret, &key);
	hash_sip_init(&st, &key);
	/* A flow token's MAC and this one share the key: the label keeps
	 * one from standing for the other. */
	hash_sip_part(&st, label, sizeof(label) - 1, false);
	hash_sip_part(&st, callid, cl, false);
	hash_sip_part(&st, rep, rl, false);
	hash_sip_part(&st, t, (size_t)n, false);
	return hash_sip_final(&st);
}

int xferx_sign(const char *secret, const char *callid, const char *rep, uint64_t now,
	       char *buf, size_t size)
{
	uint64_t m = mac(secret, callid, strlen(callid), rep, strlen(rep), now);
	int n = snprintf(buf, size, XFERX_AUTH_HDR ": ts=%" PRIu64 ";mac=%016" PRIx64 "\r\n",
			 now, m);

	return n < 0 || (size_t)n >= size ? ENOSPC : 0;
}

enum xferx_check xferx_verify(const char *secret, const struct sip_msg *req, uint64_t now)
{
	const struct sip_hdr *a = sip_msg_hdr_name(req, XFERX_AUTH_HDR);
	const struct sip_hdr *r = sip_msg_hdr_name(req, "Replaces");
	char v[80], *end, *hex;
	unsigned long long ts, m;

	if (!a || !r || !pl_eq_str(&req->method, "INVITE"))
		return XFERX_UNSIGNED;
	if (a->val.l >= sizeof(v) || pl_strcpy(&a->val, v, sizeof(v)) ||
	    strncmp(v, "ts=", 3))
		return XFERX_BAD;
	errno = 0;
	ts = strtoull(v + 3, &end, 10);
	if (errno || end == v + 3 || strncmp(end, ";mac=", 5))
		return XFERX_BAD;
	hex = end + 5;
	m = strtoull(hex, &end, 16);
	if (errno || *end || end == hex)
		return XFERX_BAD;
	/* Both ways: the replicas' clocks are not exactly alike. */
	if (ts + XFERX_MAX_AGE_S < now || ts > now + XFERX_MAX_AGE_S)
		return XFERX_BAD;
	if (mac(secret, req->callid.p, req->callid.l, r->val.p, r->val.l, ts) != m)
		return XFERX_BAD;
	return XFERX_OK;
}

struct collect {
	struct state_replica *out;
	size_t max, n;
};

static void collect_one(const struct state_replica *r, void *arg)
{
	struct collect *k = arg;

	if (r->self || !r->alive || r->advertise.ss_family == AF_UNSPEC || k->n == k->max)
		return;
	k->out[k->n++] = *r;
}

size_t xferx_replicas(struct state *st, struct state_replica *out, size_t max)
{
	struct collect k = { out, max, 0 };

	state_replicas_foreach(st, collect_one, &k);
	return k.n;
}
