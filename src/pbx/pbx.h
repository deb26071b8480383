/*
 * pbx.h - the PBX core: owns the running configuration, the SIP stack, the
 * shared state backend and the security state, and routes every new SIP
 * request to the module that handles its method.
 */
#ifndef KV_PBX_PBX_H
#define KV_PBX_PBX_H

#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "media/prompt.h"
#include "media/rtp.h"
#include "pbx/call.h"
#include "pbx/banlist.h"
#include "sip/auth.h"
#include "sip/stack.h"
#include "state/state.h"
#include "util/log.h"
#include "util/tmr.h"

enum reg_result {
	REG_OK,            /* 200 */
	REG_CHALLENGED,    /* 401 without credentials or stale nonce */
	REG_AUTH_FAILED,   /* 401 after wrong credentials */
	REG_REJECTED,      /* 4xx other than 401 */
	REG_ERROR,         /* 5xx */
	REG_RESULT_COUNT
};

struct pbx_stats {
	uint64_t reg[REG_RESULT_COUNT];
	uint64_t auth_failures;
	uint64_t bans;
	uint64_t banned_requests;
	uint64_t contacts_expired;
	uint64_t requests_by_method_other;
	/* ops: reloads and drain (src/ops/) */
	uint64_t reloads_ok, reloads_failed;
	bool draining;
	uint64_t drain_started;         /* unix seconds, 0 when not draining */
	uint64_t drain_forced_hangups;  /* calls ended by the drain timeout */
	uint64_t start_time;            /* unix seconds, process start */
};

struct pbx {
	uv_loop_t *loop;
	struct tmrq *tmrq;
	struct kv_config *cfg;          /* current; replaced on reload */
	struct sip_stack *stack;
	struct state *state;
	struct banlist *bans;
	struct nonce_key nonce_key;
	struct pbx_stats stats;
	struct log_ratelimit ban_log;
	uint64_t (*now)(void);          /* wall clock, unix seconds */
	struct rtp_engine *rtp;         /* media relay */
	struct prompt_cache *prompts;   /* Playback() audio */
	struct calls *calls;
	struct prompt_hold *prompt_holds;   /* see media_prompt_release() */
};

/* Build the PBX on loop with cfg (a reference is taken): the SIP stack with
 * one listener per configured transport, the in-memory state backend. */
int  pbx_alloc(struct pbx **pbxp, uv_loop_t *loop, struct tmrq *q,
	       struct kv_config *cfg);
/* Switch to a new, validated configuration (a reference is taken).  New
 * requests see it at once; calls in progress keep the one they started
 * with.  Transports are not rebound (as in Asterisk): a change to them is
 * logged and takes effect at the next start. */
void pbx_reconfigure(struct pbx *pbx, struct kv_config *cfg);
void pbx_free(struct pbx *pbx);

/* Request entry point (the SIP stack's TU handler). */
void pbx_request(struct sip_stack *stack, struct sip_stx *stx,
		 const struct sip_msg *req, const struct sip_peer *src,
		 void *arg);

/* Methods the PBX answers, for Allow headers. */
extern const char pbx_allow[];

/* The endpoint a request comes from: the identify section matching its
 * source address, else the endpoint named like its From user; NULL when
 * there is none (the request is then challenged like any other). */
const struct cfg_endpoint *pbx_identify(const struct kv_config *cfg,
					const struct sip_msg *req,
					const struct sip_peer *src);

/* media.c: prompts held until the relay has let go of them. */
void media_prompts_flush(struct pbx *pbx);

/* registrar.c */
void registrar_request(struct pbx *pbx, struct sip_stx *stx,
		       const struct sip_msg *req, const struct sip_peer *src);

#endif
