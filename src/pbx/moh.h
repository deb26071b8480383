/*
 * moh.h - music on hold: a musiconhold.conf class's files decoded once and
 * played in a loop to any number of relay legs at once.
 *
 * A class's audio (mode=files) is every sound file of its directory, one
 * per name (the format of the leg's law first, as Asterisk picks the
 * cheapest translation), in sort order, decoded by prompt.c into one
 * buffer of 20 ms G.711 frames per codec.  Every leg that plays the class
 * sends from that one buffer (rtp_leg_play(), loop), so the memory of music
 * on hold does not grow with the calls that hear it: each play costs a
 * small handle.
 *
 * The files are decoded on a worker thread of loop (uv_queue_work), not on
 * the loop itself, which answers SIP meanwhile: a leg whose class is still
 * being read is silent until it is, then plays from the first frame.
 *
 * The buffer is reference counted: each play holds it until the relay has
 * let go of it (an rtp_engine_sync() after the play ended), so a reload
 * that changes the class, or new files in its directory, never frees audio
 * a worker is still sending.  Unused audio stays loaded while its class
 * exists and its files are unchanged: it is decoded once.
 *
 * sort=random shuffles the files once, when they are loaded, and
 * randstart starts the sorted list at a random file then: every call
 * shares the one buffer, so they all hear the same order (Asterisk
 * shuffles per call).
 *
 * API for the call engine (hold, MusicOnHold(), Dial()'s m option):
 *
 *	moh_start(moh, cfg, class, leg, codec, pt, &play)   music on leg
 *	moh_stop(play)      the leg goes idle; the audio is let go later
 *	moh_release(play)   the same, for a leg given another mode already
 *	                    (rtp_leg_connect(), a prompt) or freed
 *
 * All on the loop thread that runs the relay's engine.
 */
#ifndef KV_PBX_MOH_H
#define KV_PBX_MOH_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "config/config.h"
#include "media/rtp.h"

struct moh;
struct moh_play;

struct moh_stats {
	size_t classes;       /* audio buffers loaded (class and codec) */
	size_t bytes;         /* their audio */
	unsigned plays;       /* legs playing music now */
	uint64_t loads;       /* directories decoded */
};

/* current: where the PBX keeps its configuration (reloads replace it),
 * whose classes decide which audio stays loaded.  NULL on allocation
 * failure. */
struct moh *moh_alloc(struct rtp_engine *rtp, uv_loop_t *loop,
		      struct kv_config *const *current);
/* After rtp_engine_free() (its workers joined): frees everything; audio a
 * worker is still decoding goes when it is done (the loop must run on). */
void moh_free(struct moh *m);

/*
 * Music of class (NULL or "": "default") on leg, in codec (PCMU or PCMA)
 * with payload type pt, from the first frame of the class's first file.
 * A class cfg does not have falls back to "default", as Asterisk's
 * local_ast_moh_start().  0 and *pp; ENOENT (no such class, or no sound
 * file in its directory), ENOTSUP (another codec), ENOMEM, or
 * rtp_leg_play()'s error.  Files that do not decode are left out (logged);
 * when none does, the play stays silent.
 */
int  moh_start(struct moh *m, const struct kv_config *cfg, const char *class,
	       struct rtp_leg *leg, enum cfg_codec codec, uint8_t pt,
	       struct moh_play **pp);
/* Stop the music: the leg goes idle (rtp_leg_stop()).  p may be NULL. */
void moh_stop(struct moh_play *p);
/* The leg plays no more (another mode, or rtp_leg_free()): only the audio
 * is let go, once the relay has synced.  p may be NULL. */
void moh_release(struct moh_play *p);
/* The class a play is of. */
const char *moh_play_class(const struct moh_play *p);

void moh_get_stats(const struct moh *m, struct moh_stats *st);

#endif
