/*
 * hold.c - hold and music on hold of a call, as Asterisk does them with
 * direct_media=no.
 *
 * A phone that holds a bridged call (a re-INVITE whose audio is sendonly
 * or inactive, or c=0.0.0.0) is answered by KubeVox itself, recvonly or
 * inactive as RFC 3264 §6.1 says, and the other phone is not asked
 * anything: its leg plays the holding endpoint's moh_suggest class
 * (chan_pjsip queues the hold with it, and the bridge starts that class on
 * the peer).  Resuming (sendrecv) is answered sendrecv, the music stops
 * and the two legs are connected again.  Both phones may hold at once:
 * each hears music while the other holds.  While anything is held, every
 * re-INVITE with SDP is answered here, so the phone that is held is never
 * sent the holder's SDP.  The answers keep the codec the leg already
 * receives (the relay does not transcode).
 *
 * A phone that holds while the dialplan runs (no bridge) is answered by
 * call.c as any re-INVITE then; the music of MusicOnHold() plays on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pbx/call_int.h"
#include "pbx/moh.h"
#include "util/log.h"

static const char *suggest(const struct leg *holder)
{
	return holder->ep && holder->ep->moh_suggest ? holder->ep->moh_suggest
						     : "default";
}

/* x hears music while holder holds. */
static void music(struct call *c, struct leg *x, const struct leg *holder)
{
	bool want = holder->held;
	int err;

	if (want == (x->moh != NULL) || !x->m.rtp)
		return;
	if (!want) {
		moh_stop(x->moh);
		x->moh = NULL;
		return;
	}
	err = moh_start(c->pbx->moh, c->cfg, suggest(holder), x->m.rtp, x->m.codec,
			x->m.pt, &x->moh);
	if (err) {
		/* No music, as Asterisk without the class: silence. */
		rtp_leg_stop(x->m.rtp);
		log_event(LOG_WARN, "moh_failed", "uniqueid=%s channel=%s class=%s error=%d",
			  c->uniqueid, x->chan, suggest(holder), err);
		return;
	}
	log_event(LOG_INFO, "moh_start", "uniqueid=%s channel=%s class=%s",
		  c->uniqueid, x->chan, moh_play_class(x->moh));
}

static void apply(struct call *c)
{
	struct leg *a = &c->a, *b = c->peer;

	music(c, a, b);
	music(c, b, a);
	if (!a->held && !b->held && a->m.rtp && b->m.rtp)
		rtp_leg_connect(a->m.rtp, b->m.rtp);
}

bool hold_reinvite(struct call *c, struct leg *l, struct sip_stx *stx,
		   struct sdp_session **in)
{
	struct leg *o = l->uac ? &c->a : c->peer;
	struct sdp_session *out;
	bool hold;
	int idx;

	if (!o)
		return false;
	idx = sdp_audio_index(*in);
	hold = idx >= 0 && sdp_is_hold(*in, (unsigned)idx);
	if (!hold && !l->held && !o->held)
		return false;
	out = malloc(sizeof(*out));
	if (!out) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return true;
	}
	if (legmedia_answer_keep(&l->m, *in, out)) {
		sip_stx_reply(stx, 488, NULL, NULL, NULL, NULL, NULL);
		free(out);
		return true;
	}
	free(l->offer);
	l->offer = *in;
	*in = NULL;
	legmedia_remote(&l->m, l->offer);
	call_media_timeouts(c);
	call_reinvite_ok(c, l, stx, out);
	free(out);
	if (hold != l->held)
		log_event(LOG_INFO, hold ? "call_hold" : "call_unhold",
			  "uniqueid=%s channel=%s", c->uniqueid, l->chan);
	l->held = hold;
	apply(c);
	return true;
}

int hold_music_a(struct call *c, const char *class)
{
	struct leg *a = &c->a;
	int err;

	hold_music_a_off(c);
	err = moh_start(c->pbx->moh, c->cfg, class, a->m.rtp, a->m.codec, a->m.pt,
			&a->moh);
	if (err) {
		log_event(LOG_WARN, "moh_failed", "uniqueid=%s channel=%s class=%s error=%d",
			  c->uniqueid, a->chan, class && *class ? class : "default", err);
		return err;
	}
	log_event(LOG_INFO, "moh_start", "uniqueid=%s channel=%s class=%s",
		  c->uniqueid, a->chan, moh_play_class(a->moh));
	return 0;
}

int hold_dial_music(struct call *c, const char *class)
{
	/* app_dial's m: music on the caller's channel, which chan_pjsip
	 * carries as early media when it is not answered. */
	if (!c->answered && !c->early) {
		int err = apps_answer(c, 183);

		if (err)
			return err;
	}
	return hold_music_a(c, class);
}

void hold_leg_off(struct leg *l)
{
	if (!l->moh)
		return;
	moh_stop(l->moh);
	l->moh = NULL;
	log_event(LOG_INFO, "moh_stop", "uniqueid=%s channel=%s", l->call->uniqueid, l->chan);
}

void hold_music_a_off(struct call *c)
{
	hold_leg_off(&c->a);
}

void hold_leg_release(struct leg *l)
{
	moh_release(l->moh);
	l->moh = NULL;
}
