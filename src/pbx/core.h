/*
 * core.h - the PBX's shared services, as the modules of src/pbx see them.
 *
 * pbx.c builds one struct pbx and hands it to the registrar, the
 * authentication, the call engine and the request router; each reads the
 * services it needs from here and calls only its own dependencies, never
 * back into pbx.c.  Nothing outside src/pbx includes this file: ops/ and
 * main.c go through pbx.h, where struct pbx is opaque.
 */
#ifndef KV_PBX_CORE_H
#define KV_PBX_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config/config.h"
#include "media/prompt.h"
#include "media/rtp.h"
#include "pbx/stats.h"
#include "sip/auth.h"
#include "sip/stack.h"
#include "state/state.h"
#include "util/log.h"
#include "util/tmr.h"

struct calls;
struct pbx_dns;
struct flowproxy;
struct idhosts;
struct mwi;
struct moh;
struct outregs;
struct prompt_holds;

/* The methods KubeVox answers, for every Allow header it sends (OPTIONS
 * answers, INVITEs, 2xx and in-dialog answers): one list, so a phone sees
 * the same capabilities whichever message it reads them from.  UPDATE is
 * answered within dialogs (RFC 4028 refreshes), SUBSCRIBE for message
 * waiting (PBX_ALLOW_EVENTS), REFER for transfers. */
#define PBX_ALLOW "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER, SUBSCRIBE, REFER"
#define PBX_ALLOW_EVENTS "message-summary"

struct pbx {
	uv_loop_t *loop;
	struct tmrq *tmrq;
	struct kv_config *cfg;          /* current; replaced on reload */
	struct sip_stack *stack;
	struct state *state;
	struct nonce_key nonce_key;
	struct pbx_stats stats;
	struct log_ratelimit ban_log;
	uint64_t (*now)(void);          /* wall clock, unix seconds */
	struct rtp_engine *rtp;         /* media relay */
	struct prompt_cache *prompts;   /* Playback() audio */
	struct prompt_holds *holds;     /* prompts the relay may still read */
	struct moh *moh;                /* music on hold, shared by calls */
	struct calls *calls;
	struct flowproxy *proxy;        /* requests for phones of other replicas */
	bool draining;                  /* SIGTERM: OPTIONS answer 503 */
	struct outregs *outregs;        /* registrations to providers */
	struct idhosts *idhosts;        /* identify match= host names */
	struct pbx_dns *dns;            /* the one resolver (pbx/dns.h) */
	struct mwi *mwi;                /* message waiting (RFC 3842) */
	struct vm *vm;                  /* voicemail's stores and events */
};

#endif
