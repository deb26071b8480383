/*
 * media.c - SDP and RTP for the legs of a call.
 *
 * Every leg has its own relay port pair; the SDP KubeVox sends on a leg
 * always names that port and KubeVox's address toward the leg's phone (or
 * the transport's external_media_address), so media is anchored whatever
 * the phones do.  What the phone's SDP says goes to the relay as the
 * remote address until symmetric RTP latches on the real source.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/call_int.h"
#include "util/log.h"

static const enum cfg_codec default_allow[] = {CFG_CODEC_PCMU, CFG_CODEC_PCMA};

static void rtp_event(struct rtp_leg *rl, const struct rtp_event *ev, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;

	switch (ev->type) {
	case RTP_EV_PLAY_DONE:
		apps_play_done(c);
		break;
	case RTP_EV_DTMF:
		apps_dtmf(c, l, ev->digit);
		break;
	case RTP_EV_TIMEOUT:
		log_event(LOG_WARN, "rtp_timeout", "uniqueid=%s channel=%s",
			  c->uniqueid, l->chan);
		call_end(c, 16);
		break;
	}
}

int media_leg_init(struct leg *l, struct pbx *pbx)
{
	struct leg *near = l->uac ? &l->call->a : NULL;
	int err;

	if (near && near->rtp)
		err = rtp_leg_alloc_near(pbx->rtp, &l->rtp, near->rtp, rtp_event, l);
	else
		err = rtp_leg_alloc(pbx->rtp, &l->rtp, rtp_event, l);
	if (err)
		return err;
	sdp_origin_init(&l->origin, "KubeVox", ((uint64_t)rand() << 31) ^ (uint64_t)rand());
	l->te_pt = -1;
	return 0;
}

/* KubeVox's address toward the leg's phone, for c= and o=. */
static int media_addr(const struct leg *l, char *ip, size_t size, int *af)
{
	const struct kv_config *cfg = l->call->cfg;
	struct pbx *pbx = l->call->pbx;

	for (size_t i = 0; i < cfg->transports_n; i++) {
		const char *ext = cfg->transports[i].external_media_address;

		if (ext && cfg->transports[i].bind.ss_family == l->dst.addr.ss_family) {
			snprintf(ip, size, "%s", ext);
			*af = l->dst.addr.ss_family;
			return 0;
		}
	}
	*af = l->dst.addr.ss_family;
	return sip_stack_local_addr(pbx->stack, &l->dst, ip, size, NULL);
}

/* Our relay address and port into s, and its o= line for this leg. */
static int stamp(struct leg *l, struct sdp_session *s)
{
	uint16_t ports[SDP_MAX_MEDIA] = {0};
	char ip[64];
	int af, idx, err;

	idx = sdp_audio_index(s);
	if (idx < 0)
		return ENOENT;
	ports[idx] = rtp_leg_port(l->rtp);
	err = media_addr(l, ip, sizeof(ip), &af);
	if (err)
		return err;
	err = sdp_set_media_addr(s, ip, af, ports);
	if (err)
		return err;
	return sdp_origin_apply(&l->origin, s);
}

/* The codec the phone of leg l receives: the first of what we send it. */
static void choose_codec(struct leg *l, const struct sdp_session *sent)
{
	struct sdp_codec_choice ch;
	int idx = sdp_audio_index(sent);

	if (idx < 0 || sdp_first_codec(sent, (unsigned)idx, &ch))
		return;
	l->codec = ch.codec;
	l->pt = ch.pt;
	l->te_pt = ch.te_pt;
}

static void allow_of(const struct leg *l, const enum cfg_codec **allow, size_t *n)
{
	if (l->ep && l->ep->allow_n) {
		*allow = l->ep->allow;
		*n = l->ep->allow_n;
	} else {
		*allow = default_allow;
		*n = sizeof(default_allow) / sizeof(default_allow[0]);
	}
}

int media_offer_for(struct leg *to, const struct sdp_session *offer_in,
		    struct sdp_session *out)
{
	const enum cfg_codec *allow;
	size_t n;
	int err;

	allow_of(to, &allow, &n);
	err = sdp_offer_filter(offer_in, allow, n, out);
	if (err)
		return err;
	return stamp(to, out);
}

int media_answer_local(struct leg *a, struct sdp_session *out)
{
	const enum cfg_codec *allow;
	size_t n;
	int err;

	if (!a->offer)
		return ENOENT;
	allow_of(a, &allow, &n);
	err = sdp_offer_filter(a->offer, allow, n, out);
	if (err)
		return err;
	for (unsigned i = 0; i < out->media_n; i++) {
		err = sdp_media_set_dir(out, i, sdp_dir_answer(sdp_media_dir(a->offer, i)));
		if (err)
			return err;
	}
	err = stamp(a, out);
	if (err)
		return err;
	choose_codec(a, out);
	return 0;
}

int media_answer_relay(struct leg *to, const struct sdp_session *our_offer,
		       const struct sdp_session *answer_in, struct sdp_session *out)
{
	int err;

	err = sdp_answer_filter(our_offer, answer_in, out);
	if (err)
		return err;
	err = stamp(to, out);
	if (err)
		return err;
	choose_codec(to, out);
	return 0;
}

int media_remote_from(struct leg *l, const struct sdp_session *sdp)
{
	struct sockaddr_storage ss;
	struct sdp_codec_choice ch;
	int idx, err;

	idx = sdp_audio_index(sdp);
	if (idx < 0)
		return ENOENT;
	err = sdp_remote_rtp(sdp, (unsigned)idx, &ss);
	if (err)
		return err;
	err = rtp_leg_set_remote(l->rtp, (struct sockaddr *)&ss);
	if (err)
		return err;
	/* A re-INVITE may move the media: latch again on what comes next. */
	rtp_leg_relatch(l->rtp);
	rtp_leg_hold(l->rtp, sdp_is_hold(sdp, (unsigned)idx));
	if (!sdp_first_codec(sdp, (unsigned)idx, &ch))
		rtp_leg_set_dtmf_pt(l->rtp, ch.te_pt);
	return 0;
}

/*
 * A prompt whose play was cut short (hang-up during Playback) may still be
 * read by a relay worker until the engine has synced: release it then.
 * Whatever is still held when the engine stops (its workers joined) is
 * released by media_prompts_flush().
 */
struct prompt_hold {
	struct pbx *pbx;
	const struct prompt *p;
	struct prompt_hold *prev, *next;
};

static void hold_unlink(struct prompt_hold *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		h->pbx->prompt_holds = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

static void prompt_synced(void *arg)
{
	struct prompt_hold *h = arg;

	hold_unlink(h);
	prompt_release(h->pbx->prompts, h->p);
	free(h);
}

void media_prompt_release(struct pbx *pbx, const struct prompt *p)
{
	struct prompt_hold *h = calloc(1, sizeof(*h));

	if (!h) {
		/* Out of memory: keeping the prompt forever beats freeing
		 * audio a worker may still be sending. */
		return;
	}
	h->pbx = pbx;
	h->p = p;
	h->next = pbx->prompt_holds;
	if (h->next)
		h->next->prev = h;
	pbx->prompt_holds = h;
	if (rtp_engine_sync(pbx->rtp, prompt_synced, h))
		log_event(LOG_WARN, "prompt_release_deferred", "path=%s", p->path);
}

void media_prompts_flush(struct pbx *pbx)
{
	struct prompt_hold *h = pbx->prompt_holds, *next;

	pbx->prompt_holds = NULL;
	for (; h; h = next) {
		next = h->next;
		prompt_release(pbx->prompts, h->p);
		free(h);
	}
}
