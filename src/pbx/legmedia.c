/*
 * legmedia.c - SDP and RTP for one leg of a call (see legmedia.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/legmedia.h"
#include "util/rand.h"

static const enum cfg_codec default_allow[] = {CFG_CODEC_PCMU, CFG_CODEC_PCMA};

int legmedia_init(struct leg_media *m, const struct legmedia_params *p)
{
	int err;

	memset(m, 0, sizeof(*m));
	m->te_pt = -1;
	m->cfg = p->cfg;
	m->stack = p->stack;
	m->dst = p->dst;
	m->no_te = p->ep && p->ep->dtmf_mode == CFG_DTMF_INFO;
	if (p->ep && p->ep->allow_n) {
		m->allow = p->ep->allow;
		m->allow_n = p->ep->allow_n;
	} else {
		m->allow = default_allow;
		m->allow_n = sizeof(default_allow) / sizeof(default_allow[0]);
	}
	if (p->near && p->near->rtp)
		err = rtp_leg_alloc_near(p->engine, &m->rtp, p->near->rtp, p->evh, p->arg);
	else
		err = rtp_leg_alloc(p->engine, &m->rtp, p->evh, p->arg);
	if (err)
		return err;
	/* RFC 4566: the session id is unique; a guessable one would help no
	 * one, but a repeated one across replicas confuses phones. */
	return sdp_origin_init(&m->origin, "KubeVox", rand_u64() >> 1);
}

void legmedia_free(struct leg_media *m)
{
	if (m->rtp)
		rtp_leg_free(m->rtp);
	m->rtp = NULL;
	free(m->sent);
	m->sent = NULL;
}

/* KubeVox's address toward the leg's phone, for c= and o=. */
static int media_addr(const struct leg_media *m, char *ip, size_t size, int *af)
{
	const struct kv_config *cfg = m->cfg;
	int family = m->dst->addr.ss_family;

	for (size_t i = 0; i < cfg->transports_n; i++) {
		const char *ext = cfg->transports[i].external_media_address;

		if (ext && cfg->transports[i].bind.ss_family == family) {
			snprintf(ip, size, "%s", ext);
			*af = family;
			return 0;
		}
	}
	*af = family;
	return sip_stack_local_addr(m->stack, m->dst, ip, size, NULL);
}

/* Our relay address and port into s. */
static int relay_addr(const struct leg_media *m, struct sdp_session *s)
{
	uint16_t ports[SDP_MAX_MEDIA] = {0};
	char ip[64];
	int af, idx, err;

	idx = sdp_audio_index(s);
	if (idx < 0)
		return ENOENT;
	ports[idx] = rtp_leg_port(m->rtp);
	err = media_addr(m, ip, sizeof(ip), &af);
	if (err)
		return err;
	return sdp_set_media_addr(s, ip, af, ports);
}

/* Our relay address and port into s, and its o= line for this leg; s is
 * what the phone is told next (kept for a re-INVITE without SDP). */
static int stamp(struct leg_media *m, struct sdp_session *s, bool offer)
{
	int err;

	if (m->no_te)
		sdp_drop_telephone_event(s);
	err = relay_addr(m, s);

	if (!err)
		err = sdp_origin_apply(&m->origin, s);
	if (err)
		return err;
	if (!m->sent) {
		m->sent = malloc(sizeof(*m->sent));
		if (!m->sent)
			return ENOMEM;
	}
	*m->sent = *s;
	m->sent_offer = offer;
	return 0;
}

/* The codec the phone of leg l receives: the first of what we send it. */
static void choose_codec(struct leg_media *m, const struct sdp_session *sent)
{
	struct sdp_codec_choice ch;
	int idx = sdp_audio_index(sent);

	if (idx < 0 || sdp_first_codec(sent, (unsigned)idx, &ch))
		return;
	m->codec = ch.codec;
	m->pt = ch.pt;
	m->te_pt = ch.te_pt;
}

/* An answer we send names our relay, and tells which codec the phone
 * will receive.  To a phone that made no offer it is an offer of that one
 * codec; built from the same callee's answer, the 183 preview and the 2xx
 * carry the same offer, as RFC 6337 §3.1 asks. */
static int stamp_answer(struct leg_media *m, struct sdp_session *out)
{
	struct sdp_session *one;
	int err;

	if (m->late) {
		one = malloc(sizeof(*one));
		if (!one)
			return ENOMEM;
		err = sdp_offer_narrow(out, NULL, 0, one);
		if (!err)
			*out = *one;
		free(one);
		if (err)
			return err;
	}
	err = stamp(m, out, m->late);
	if (err)
		return err;
	choose_codec(m, out);
	return 0;
}

int legmedia_offer(struct leg_media *m, const struct sdp_session *offer_in,
		   struct sdp_session *out)
{
	int err = sdp_offer_filter(offer_in, m->allow, m->allow_n, out);

	if (err)
		return err;
	return stamp(m, out, true);
}

int legmedia_answer_local(struct leg_media *m, const struct sdp_session *offer,
			  struct sdp_session *out)
{
	int err;

	if (!offer)
		return ENOENT;
	err = sdp_offer_filter(offer, m->allow, m->allow_n, out);
	if (err)
		return err;
	for (unsigned i = 0; i < out->media_n; i++) {
		err = sdp_media_set_dir(out, i, sdp_dir_answer(sdp_media_dir(offer, i)));
		if (err)
			return err;
	}
	return stamp_answer(m, out);
}

int legmedia_answer_keep(struct leg_media *m, const struct sdp_session *offer,
			 struct sdp_session *out)
{
	const enum cfg_codec *allow = m->allow;
	size_t allow_n = m->allow_n;
	enum cfg_codec one = m->codec;
	int err;

	if (m->sent) {
		m->allow = &one;
		m->allow_n = 1;
		err = legmedia_answer_local(m, offer, out);
		m->allow = allow;
		m->allow_n = allow_n;
		if (err != ENOENT)
			return err;
	}
	return legmedia_answer_local(m, offer, out);
}

int legmedia_answer_relay(struct leg_media *m, const struct sdp_session *our_offer,
			  const struct sdp_session *answer_in, struct sdp_session *out)
{
	int err;

	err = sdp_answer_filter(our_offer, answer_in, out);
	if (err)
		return err;
	return stamp_answer(m, out);
}

int legmedia_offer_local(struct leg_media *m, struct sdp_session *out)
{
	int err = sdp_offer_local(m->allow, m->allow_n, out);

	if (err)
		return err;
	return relay_addr(m, out);
}

int legmedia_reoffer(struct leg_media *m, struct sdp_session *out)
{
	int err;

	if (!m->sent)
		return ENOENT;
	err = sdp_offer_narrow(m->sent, m->heard, m->heard_n, out);
	if (err)
		return err;
	/* An answer's direction answered the phone's last offer (its own
	 * hold): ours says what KubeVox wants, which is media. */
	if (!m->sent_offer) {
		out->dir = SDP_DIR_UNSET;
		for (unsigned i = 0; i < out->media_n; i++) {
			if (out->media[i].port)
				out->media[i].dir = SDP_DIR_SENDRECV;
		}
	}
	err = stamp(m, out, true);
	if (err)
		return err;
	choose_codec(m, out);
	return 0;
}

int legmedia_remote(struct leg_media *m, const struct sdp_session *sdp)
{
	struct sockaddr_storage ss;
	struct sdp_codec_choice ch;
	const struct sdp_media *am;
	int idx, err;

	idx = sdp_audio_index(sdp);
	if (idx < 0)
		return ENOENT;
	am = &sdp->media[idx];
	m->heard_n = 0;
	for (unsigned i = 0; am->rtp && i < am->fmt_n; i++)
		m->heard[m->heard_n++] = sdp_fmt_codec(sdp, am, i);
	err = sdp_remote_rtp(sdp, (unsigned)idx, &ss);
	if (err)
		return err;
	err = rtp_leg_set_remote(m->rtp, (struct sockaddr *)&ss);
	if (err)
		return err;
	/* A re-INVITE may move the media: latch again on what comes next. */
	rtp_leg_relatch(m->rtp);
	rtp_leg_hold(m->rtp, sdp_is_hold(sdp, (unsigned)idx));
	if (!sdp_first_codec(sdp, (unsigned)idx, &ch)) {
		rtp_leg_set_dtmf_pt(m->rtp, ch.te_pt);
		/* The phone's answer to our offer names what it receives: the
		 * relay sends it what the other leg sends in that codec, and
		 * KubeVox's own audio (music on hold) must match. */
		if (m->sent_offer) {
			m->codec = ch.codec;
			m->pt = ch.pt;
			m->te_pt = ch.te_pt;
		}
	}
	return 0;
}
