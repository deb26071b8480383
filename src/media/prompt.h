/*
 * prompt.h - sound prompts for Playback, loaded once and shared.
 *
 * prompt_get() finds a prompt the way Asterisk does (file.c,
 * fileexists_core()): for language "fr_CA" and name "digits/1" it tries
 *
 *   <root>/fr_CA/digits/1   <root>/fr/digits/1   <root>/en/digits/1
 *   <root>/digits/1
 *
 * and in each place the formats .ulaw, .alaw, .wav, .gsm, except that the
 * law of the requested codec comes first (.alaw before .ulaw for PCMA), as
 * Asterisk prefers the format that needs the cheapest translation.
 *
 *   .ulaw .alaw   headerless 8 kHz G.711, Asterisk's formats
 *   .wav          any WAV libsndfile reads (PCM, G.711, GSM 6.10), which
 *                 must be 8 kHz mono: other rates are refused, not resampled
 *   .gsm          headerless GSM 6.10 frames of 33 bytes, Asterisk's format
 *
 * The audio is encoded once to PCMU or PCMA and cut into 20 ms frames of
 * 160 bytes, the last one padded with silence.  Names are relative: an
 * absolute name, a ".." or "." component, an empty component or a control
 * character is refused, so a dialplan argument can never reach a file
 * outside the sounds root.
 *
 * The cache is keyed by (file, codec).  A prompt is immutable and
 * reference counted: any thread may read frames without locking until it
 * calls prompt_release().  The cache keeps at most max_bytes of audio,
 * evicting the prompt released longest ago first; prompts in use are never
 * evicted, so the total exceeds the bound only while they alone do.  A
 * file changed on disk (inode, size or mtime) is read again on the next
 * prompt_get(); holders of the old version keep it until they release it.
 */
#ifndef KV_MEDIA_PROMPT_H
#define KV_MEDIA_PROMPT_H

#include <stddef.h>
#include <stdint.h>

#include "config/types.h"

#define PROMPT_DEFAULT_ROOT  "/usr/share/asterisk/sounds"
#define PROMPT_DEFAULT_BYTES (32u << 20)
#define PROMPT_FRAME_MS      20
#define PROMPT_FRAME_BYTES   160      /* 20 ms at 8 kHz, one byte a sample */
#define PROMPT_MAX_SECONDS   600      /* longer files are refused (EFBIG) */
#define PROMPT_MAX_NAME      255

struct prompt {
	enum cfg_codec codec;         /* CFG_CODEC_PCMU or CFG_CODEC_PCMA */
	const uint8_t *frames;        /* n_frames * frame_bytes bytes */
	size_t n_frames;
	size_t frame_bytes;           /* PROMPT_FRAME_BYTES */
	const char *path;             /* the file it was read from */
};

struct prompt_cache;

struct prompt_stats {
	size_t entries;               /* prompts in the cache */
	size_t bytes;                 /* audio held, including prompts in use */
	uint64_t hits;                /* prompt_get() served from memory */
	uint64_t loads;               /* files read and encoded */
	uint64_t evictions;
};

/* root NULL: PROMPT_DEFAULT_ROOT; max_bytes 0: PROMPT_DEFAULT_BYTES.
 * NULL on allocation failure. */
struct prompt_cache *prompt_cache_alloc(const char *root, size_t max_bytes);
/* Every prompt must have been released. */
void prompt_cache_free(struct prompt_cache *pc);

/*
 * lang NULL or "" means "en".  On success *pp holds a reference.  Errors:
 * EINVAL bad name or language, ENOTSUP codec other than PCMU/PCMA or audio
 * that is not 8 kHz mono, ENOENT no such prompt, EIO unreadable, corrupt
 * or empty file, EFBIG longer than PROMPT_MAX_SECONDS, ENAMETOOLONG,
 * ENOMEM.  Load failures are logged with the path and the reason.
 */
int prompt_get(struct prompt_cache *pc, const char *lang, const char *name,
	       enum cfg_codec codec, const struct prompt **pp);
/*
 * The WAV file path + ".wav", an absolute path chosen by KubeVox itself
 * (a voicemail message or greeting, never a dialplan argument), cached
 * and released like any prompt.  Errors as prompt_get().
 */
int prompt_get_file(struct prompt_cache *pc, const char *path,
		    enum cfg_codec codec, const struct prompt **pp);
/* p may be NULL. */
void prompt_release(struct prompt_cache *pc, const struct prompt *p);

void prompt_cache_stats(struct prompt_cache *pc, struct prompt_stats *st);

/*
 * One file decoded as prompt_get() decodes, but outside the cache, for
 * audio its caller keeps whole and shares itself (music on hold): path is
 * used as it is, its format told by its extension (.ulaw .alaw .wav
 * .gsm).  On success *data (malloc'ed, the caller frees it) holds
 * *n_frames frames of PROMPT_FRAME_BYTES.  Errors as prompt_get(), and
 * EINVAL for another extension.
 */
int prompt_decode_file(const char *path, enum cfg_codec codec, uint8_t **data,
		       size_t *n_frames);

#endif
