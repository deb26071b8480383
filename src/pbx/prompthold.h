/*
 * prompthold.h - prompts released only once the relay has let go of them.
 *
 * A Playback() cut short (hang-up, a key) may leave a relay worker reading
 * the prompt's frames until the engine has synced; the prompt goes back to
 * the cache then.  Whatever is still held when the engine stops (its
 * workers joined) is released by prompt_holds_free().
 */
#ifndef KV_PBX_PROMPTHOLD_H
#define KV_PBX_PROMPTHOLD_H

#include "media/prompt.h"
#include "media/rtp.h"

struct prompt_holds;

/* NULL on allocation failure. */
struct prompt_holds *prompt_holds_alloc(struct rtp_engine *rtp,
					struct prompt_cache *prompts);
/* Give p back to the cache once every relay worker is past it. */
void prompt_holds_release(struct prompt_holds *h, const struct prompt *p);
/* After rtp_engine_free(): releases what is still held. */
void prompt_holds_free(struct prompt_holds *h);

#endif
