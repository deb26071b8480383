/*
 * stats.h - the PBX's own counters: the modules of src/pbx count into
 * them (core.h), /metrics reads them (pbx.h's snapshot).
 */
#ifndef KV_PBX_STATS_H
#define KV_PBX_STATS_H

#include <stdint.h>

enum reg_result {
	REG_OK,            /* 200 */
	REG_CHALLENGED,    /* 401 without credentials or stale nonce */
	REG_AUTH_FAILED,   /* 401 after wrong credentials */
	REG_REJECTED,      /* 4xx other than 401 */
	REG_ERROR,         /* 5xx */
	REG_RESULT_COUNT
};

/* Counters since start, for /metrics. */
struct pbx_stats {
	uint64_t reg[REG_RESULT_COUNT];
	uint64_t auth_failures;
	uint64_t bans;
	uint64_t banned_requests;
	uint64_t contacts_expired;
	uint64_t requests_by_method_other;
	/* Call legs delivered to a phone through the replica that holds its
	 * flow (cluster mode: the INVITE goes to that replica's advertise
	 * address, which forwards it on the phone's flow). */
	uint64_t cross_replica;
	/* Message waiting (pbx/mwi.c): NOTIFYs sent (unsolicited and in
	 * subscriptions), those answered >= 300 or not at all, SUBSCRIBEs
	 * accepted (new, refreshes, removals), subscriptions active now. */
	uint64_t mwi_notify_sent;
	uint64_t mwi_notify_failed;
	uint64_t mwi_subscribes;
	uint64_t mwi_subscriptions;
};

#endif
