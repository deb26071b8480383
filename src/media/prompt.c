/*
 * prompt.c - finding, decoding and caching sound prompts (see prompt.h).
 *
 * The slow part, reading and encoding a file, runs without the lock: two
 * threads missing the same prompt at once both read it and the second one
 * to finish drops its copy and takes the first.  The lock only guards the
 * hash table, the LRU list and the counters.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/g711.h"
#include "media/prompt.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/log.h"
#include "util/vec.h"

#define PROMPT_BUCKETS  64          /* to start with; the table grows */
#define PROMPT_RATE     8000
#define MAX_SAMPLES     ((size_t)PROMPT_MAX_SECONDS * PROMPT_RATE)
#define GSM_FRAME       33          /* bytes of one 20 ms GSM 6.10 frame */
#define GSM_MAGIC       0xD0        /* high nibble of every such frame */
#define MAX_LANG        32
#define READ_CHUNK      4096        /* samples per libsndfile read */

enum prompt_fmt { FMT_ULAW, FMT_ALAW, FMT_WAV, FMT_GSM };

static const char *const fmt_ext[] = {".ulaw", ".alaw", ".wav", ".gsm"};

struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct prompt_entry {
	struct prompt p;            /* first: prompt_release() casts back */
	struct hnode node;          /* in the cache's table while hashed */
	struct list_node lru;       /* on the cache's LRU only while refs == 0 */
	struct file_id id;
	unsigned refs;
	bool hashed;                /* false once a newer file replaced it */
	size_t bytes;
	char *path;
	uint8_t *data;
};

struct prompt_cache {
	pthread_mutex_t lock;
	char *root;
	size_t max_bytes;
	struct htab table;          /* (path, codec) -> struct prompt_entry */
	struct list_node lru;       /* first: released most recently */
	size_t bytes;
	uint64_t hits, loads, evictions;
};

struct found {
	char path[PATH_MAX];
	enum prompt_fmt fmt;
	struct stat st;
};

static void file_id_set(struct file_id *id, const struct stat *st)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static bool file_id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* Only files that exist under the sounds root become keys, so a caller
 * cannot flood the table whatever names it dials: FNV, mixed because the
 * table takes its buckets from the low bits. */
static uint64_t key_hash(const char *path, enum cfg_codec codec)
{
	uint8_t c = (uint8_t)codec;

	return hash_mix64(hash_fnv_add(hash_fnv_str(path), &c, 1));
}

/* Relative, no "", "." or ".." component, no control character. */
static bool name_valid(const char *name)
{
	size_t len, comp = 0;

	if (!name || !*name || name[0] == '/')
		return false;
	len = strlen(name);
	if (len > PROMPT_MAX_NAME)
		return false;
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '/' || c == '\0') {
			const char *start = name + i - comp;

			if (comp == 0 || (comp == 1 && start[0] == '.') ||
			    (comp == 2 && start[0] == '.' && start[1] == '.'))
				return false;
			comp = 0;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return false;
		comp++;
	}
	return true;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Language codes as Asterisk uses them: "en", "fr_CA", "pt-BR". */
static bool lang_valid(const char *lang)
{
	size_t len = strlen(lang);

	if (len == 0 || len > MAX_LANG || !is_alnum(lang[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!is_alnum(lang[i]) && lang[i] != '_' && lang[i] != '-')
			return false;
	}
	return true;
}

static int prompt_find(const struct prompt_cache *pc, const char *lang,
		       const char *name, enum cfg_codec codec, struct found *f)
{
	char dirs[4][MAX_LANG + 1];
	size_t ndirs = 0;
	enum prompt_fmt order[4] = {FMT_ULAW, FMT_ALAW, FMT_WAV, FMT_GSM};
	const char *us;
	bool toolong = false;

	if (codec == CFG_CODEC_PCMA) {
		order[0] = FMT_ALAW;
		order[1] = FMT_ULAW;
	}
	snprintf(dirs[ndirs++], sizeof(dirs[0]), "%s", lang);
	us = strchr(lang, '_');
	if (us)
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "%.*s", (int)(us - lang), lang);
	if (strcmp(dirs[ndirs - 1], "en") && strcmp(dirs[0], "en"))
		snprintf(dirs[ndirs++], sizeof(dirs[0]), "en");
	dirs[ndirs++][0] = '\0';

	for (size_t d = 0; d < ndirs; d++) {
		for (size_t i = 0; i < 4; i++) {
			int n = snprintf(f->path, sizeof(f->path), "%s/%s%s%s%s",
					 pc->root, dirs[d], dirs[d][0] ? "/" : "",
					 name, fmt_ext[order[i]]);

			if (n < 0 || (size_t)n >= sizeof(f->path)) {
				toolong = true;
				continue;
			}
			if (stat(f->path, &f->st) || !S_ISREG(f->st.st_mode))
				continue;
			f->fmt = order[i];
			return 0;
		}
	}
	return toolong ? ENAMETOOLONG : ENOENT;
}

static void entry_free(struct prompt_entry *e)
{
	if (!e)
		return;
	free(e->data);
	free(e->path);
	free(e);
}

/* n_samples of 8 kHz audio, already in the target law, become frames:
 * the buffer is sized to whole frames and the tail is set to silence. */
static void pad_frames(uint8_t *data, size_t n_samples, size_t n_frames,
		       enum cfg_codec codec)
{
	uint8_t silence = codec == CFG_CODEC_PCMA ? G711_ALAW_SILENCE
						  : G711_ULAW_SILENCE;

	memset(data + n_samples, silence, n_frames * PROMPT_FRAME_BYTES - n_samples);
}

static size_t frames_for(size_t n_samples)
{
	return (n_samples + PROMPT_FRAME_BYTES - 1) / PROMPT_FRAME_BYTES;
}

static int read_full(int fd, uint8_t *buf, size_t size, size_t *got)
{
	size_t n = 0;

	*got = 0;
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*got = n;
	return 0;
}

/* .ulaw and .alaw: the file is the audio. */
static int load_law(int fd, const struct stat *st, enum prompt_fmt fmt,
		    enum cfg_codec codec, struct prompt_entry *e, const char **why)
{
	size_t size = (size_t)st->st_size, n_frames, got;
	bool file_alaw = fmt == FMT_ALAW;
	int err;

	if (size == 0) {
		*why = "empty file";
		return EIO;
	}
	if (size > MAX_SAMPLES) {
		*why = "too long";
		return EFBIG;
	}
	n_frames = frames_for(size);
	e->data = malloc(n_frames * PROMPT_FRAME_BYTES);
	if (!e->data)
		return ENOMEM;
	err = read_full(fd, e->data, size, &got);
	if (err) {
		*why = "read error";
		return EIO;
	}
	/* The file may have shrunk since fstat(); keep what is there. */
	if (got == 0) {
		*why = "empty file";
		return EIO;
	}
	if (file_alaw != (codec == CFG_CODEC_PCMA)) {
		for (size_t i = 0; i < got; i++)
			e->data[i] = file_alaw ? g711_alaw_to_ulaw(e->data[i])
					       : g711_ulaw_to_alaw(e->data[i]);
	}
	n_frames = frames_for(got);
	pad_frames(e->data, got, n_frames, codec);
	e->p.n_frames = n_frames;
	return 0;
}

/* Asterisk's .gsm has no header, so libsndfile would take any bytes for
 * audio; the frame size and the magic nibble tell a real one apart. */
static int gsm_check(int fd, const struct stat *st, const char **why)
{
	uint8_t buf[GSM_FRAME * 64];
	size_t size = (size_t)st->st_size;
	off_t off = 0;

	if (size == 0 || size % GSM_FRAME) {
		*why = "not a GSM 6.10 file (size is not a multiple of 33)";
		return EIO;
	}
	if (size / GSM_FRAME * PROMPT_FRAME_BYTES > MAX_SAMPLES) {
		*why = "too long";
		return EFBIG;
	}
	while ((size_t)off < size) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || r % GSM_FRAME) {
			*why = "read error";
			return EIO;
		}
		for (ssize_t i = 0; i < r; i += GSM_FRAME) {
			if ((buf[i] & 0xF0) != GSM_MAGIC) {
				*why = "not a GSM 6.10 file (bad frame)";
				return EIO;
			}
		}
		off += r;
	}
	return 0;
}

static int read_samples(SNDFILE *sf, int16_t **pcmp, size_t *np, const char **why,
			char *whybuf, size_t whysize)
{
	VEC(int16_t) pcm = {0};
	int err = 0;

	for (;;) {
		sf_count_t r;

		/* Read on past the limit, to tell "too long" apart. */
		if (pcm.n > MAX_SAMPLES) {
			*why = "too long";
			err = EFBIG;
			goto out;
		}
		err = vec_reserve(&pcm, pcm.n + READ_CHUNK);
		if (err)
			goto out;
		r = sf_readf_short(sf, pcm.v + pcm.n, READ_CHUNK);
		if (r <= 0)
			break;
		pcm.n += (size_t)r;
	}
	if (sf_error(sf) != SF_ERR_NO_ERROR) {
		/* Copied: the text lives in sf, closed before it is logged. */
		snprintf(whybuf, whysize, "%s", sf_strerror(sf));
		*why = whybuf;
		err = EIO;
		goto out;
	}
	if (pcm.n == 0) {
		*why = "no audio";
		err = EIO;
		goto out;
	}
out:
	if (err) {
		vec_free(&pcm);
		return err;
	}
	*pcmp = pcm.v;
	*np = pcm.n;
	return 0;
}

/* .wav and .gsm, through libsndfile. */
static int load_sndfile(int fd, const struct stat *st, enum prompt_fmt fmt,
			enum cfg_codec codec, struct prompt_entry *e,
			const char **why, char *whybuf, size_t whysize)
{
	SF_INFO si;
	SNDFILE *sf = NULL;
	int16_t *pcm = NULL;
	size_t n = 0, n_frames;
	int type, err;

	memset(&si, 0, sizeof(si));
	if (fmt == FMT_GSM) {
		err = gsm_check(fd, st, why);
		if (err)
			goto out;
		si.samplerate = PROMPT_RATE;
		si.channels = 1;
		si.format = SF_FORMAT_RAW | SF_FORMAT_GSM610;
	}
	sf = sf_open_fd(fd, SFM_READ, &si, SF_FALSE);
	if (!sf) {
		snprintf(whybuf, whysize, "%s", sf_strerror(NULL));
		*why = whybuf;
		err = EIO;
		goto out;
	}
	type = si.format & SF_FORMAT_TYPEMASK;
	if (fmt == FMT_WAV && type != SF_FORMAT_WAV && type != SF_FORMAT_WAVEX) {
		*why = "not a WAV file";
		err = EIO;
		goto out;
	}
	if (si.samplerate != PROMPT_RATE || si.channels != 1) {
		snprintf(whybuf, whysize, "audio is %d Hz, %d channel(s): "
			 "only 8000 Hz mono is supported", si.samplerate, si.channels);
		*why = whybuf;
		err = ENOTSUP;
		goto out;
	}
	if (si.frames > (sf_count_t)MAX_SAMPLES) {
		*why = "too long";
		err = EFBIG;
		goto out;
	}
	err = read_samples(sf, &pcm, &n, why, whybuf, whysize);
	if (err)
		goto out;
	n_frames = frames_for(n);
	e->data = malloc(n_frames * PROMPT_FRAME_BYTES);
	if (!e->data) {
		err = ENOMEM;
		goto out;
	}
	if (codec == CFG_CODEC_PCMA)
		g711_alaw_encode_buf(e->data, pcm, n);
	else
		g711_ulaw_encode_buf(e->data, pcm, n);
	pad_frames(e->data, n, n_frames, codec);
	e->p.n_frames = n_frames;
out:
	if (sf)
		sf_close(sf);
	free(pcm);
	return err;
}

static int entry_load(const struct found *f, enum cfg_codec codec,
		      struct prompt_entry **ep)
{
	struct prompt_entry *e;
	struct stat st;
	const char *why = NULL;
	char whybuf[160];
	int fd = -1, err;

	e = calloc(1, sizeof(*e));
	if (!e)
		return ENOMEM;
	list_node_init(&e->lru);
	e->path = strdup(f->path);
	if (!e->path) {
		err = ENOMEM;
		goto out;
	}
	/* O_NONBLOCK: a FIFO swapped in after stat() must not hang us. */
	fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		err = errno;
		why = strerror(err);
		if (err != ENOENT)
			err = EIO;
		goto out;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		why = "not a regular file";
		err = EIO;
		goto out;
	}
	file_id_set(&e->id, &st);
	if (f->fmt == FMT_ULAW || f->fmt == FMT_ALAW)
		err = load_law(fd, &st, f->fmt, codec, e, &why);
	else
		err = load_sndfile(fd, &st, f->fmt, codec, e, &why, whybuf,
				   sizeof(whybuf));
	if (err)
		goto out;
	e->p.codec = codec;
	e->p.frames = e->data;
	e->p.frame_bytes = PROMPT_FRAME_BYTES;
	e->p.path = e->path;
	e->bytes = e->p.n_frames * PROMPT_FRAME_BYTES;
out:
	if (fd >= 0)
		close(fd);
	if (err) {
		char qp[PATH_MAX + 8], qw[256];

		log_event(LOG_WARN, "prompt_load_failed", "path=%s error=%s",
			  log_q(qp, sizeof(qp), f->path, strlen(f->path)),
			  log_q(qw, sizeof(qw), why ? why : strerror(err),
				strlen(why ? why : strerror(err))));
		entry_free(e);
		return err;
	}
	*ep = e;
	return 0;
}

static struct prompt_entry *cache_lookup(struct prompt_cache *pc, const char *path,
					 enum cfg_codec codec, uint64_t hash)
{
	struct hnode *n;

	for (n = htab_bucket(&pc->table, hash); n; n = n->next) {
		struct prompt_entry *e = htab_entry(n, struct prompt_entry, node);

		if (n->hash == hash && e->p.codec == codec && !strcmp(e->path, path))
			return e;
	}
	return NULL;
}

static void cache_unhash(struct prompt_cache *pc, struct prompt_entry *e)
{
	htab_remove(&pc->table, &e->node);
	e->hashed = false;
}

/* Drop an unused entry for good. */
static void cache_drop(struct prompt_cache *pc, struct prompt_entry *e)
{
	if (e->hashed)
		cache_unhash(pc, e);
	list_unlink(&e->lru);
	pc->bytes -= e->bytes;
	entry_free(e);
}

static void cache_trim(struct prompt_cache *pc)
{
	struct list_node *oldest;

	while (pc->bytes > pc->max_bytes && (oldest = list_pop_back(&pc->lru))) {
		cache_drop(pc, list_entry(oldest, struct prompt_entry, lru));
		pc->evictions++;
	}
}

static void cache_take(struct prompt_cache *pc, struct prompt_entry *e)
{
	if (e->refs++ == 0)
		list_unlink(&e->lru);
}

struct prompt_cache *prompt_cache_alloc(const char *root, size_t max_bytes)
{
	struct prompt_cache *pc = calloc(1, sizeof(*pc));

	if (!pc)
		return NULL;
	pc->root = strdup(root ? root : PROMPT_DEFAULT_ROOT);
	if (!pc->root || htab_init(&pc->table, PROMPT_BUCKETS)) {
		free(pc->root);
		free(pc);
		return NULL;
	}
	list_init(&pc->lru);
	/* "/" would make every path start with "//"; harmless, but ugly in
	 * logs, so drop trailing slashes (keeping a lone "/"). */
	for (size_t n = strlen(pc->root); n > 1 && pc->root[n - 1] == '/'; n--)
		pc->root[n - 1] = '\0';
	pc->max_bytes = max_bytes ? max_bytes : PROMPT_DEFAULT_BYTES;
	pthread_mutex_init(&pc->lock, NULL);
	return pc;
}

void prompt_cache_free(struct prompt_cache *pc)
{
	struct hnode *n;

	if (!pc)
		return;
	while ((n = htab_pop(&pc->table)) != NULL)
		entry_free(htab_entry(n, struct prompt_entry, node));
	htab_free(&pc->table);
	pthread_mutex_destroy(&pc->lock);
	free(pc->root);
	free(pc);
}

static int cache_get(struct prompt_cache *pc, const struct found *fp,
		     enum cfg_codec codec, const struct prompt **pp);

int prompt_get(struct prompt_cache *pc, const char *lang, const char *name,
	       enum cfg_codec codec, const struct prompt **pp)
{
	struct found f;
	int err;

	if (!pp)
		return EINVAL;
	*pp = NULL;
	if (!pc)
		return EINVAL;
	if (codec != CFG_CODEC_PCMU && codec != CFG_CODEC_PCMA)
		return ENOTSUP;
	if (!lang || !*lang)
		lang = "en";
	if (!name_valid(name) || !lang_valid(lang))
		return EINVAL;
	err = prompt_find(pc, lang, name, codec, &f);
	if (err)
		return err;
	return cache_get(pc, &f, codec, pp);
}

int prompt_get_file(struct prompt_cache *pc, const char *path,
		    enum cfg_codec codec, const struct prompt **pp)
{
	struct found f;
	int n;

	if (!pp)
		return EINVAL;
	*pp = NULL;
	if (!pc || !path || *path != '/')
		return EINVAL;
	if (codec != CFG_CODEC_PCMU && codec != CFG_CODEC_PCMA)
		return ENOTSUP;
	n = snprintf(f.path, sizeof(f.path), "%s.wav", path);
	if (n < 0 || (size_t)n >= sizeof(f.path))
		return ENAMETOOLONG;
	f.fmt = FMT_WAV;
	if (stat(f.path, &f.st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? ENOENT : EIO;
	return cache_get(pc, &f, codec, pp);
}

/* The prompt of a file found: from the cache while the file is the one
 * it read, else read now. */
static int cache_get(struct prompt_cache *pc, const struct found *fp,
		     enum cfg_codec codec, const struct prompt **pp)
{
	struct prompt_entry *e, *fresh = NULL;
	const struct found f = *fp;
	struct file_id id;
	uint64_t hash;
	int err;

	file_id_set(&id, &f.st);
	hash = key_hash(f.path, codec);

	pthread_mutex_lock(&pc->lock);
	e = cache_lookup(pc, f.path, codec, hash);
	if (e && file_id_eq(&e->id, &id)) {
		cache_take(pc, e);
		pc->hits++;
		pthread_mutex_unlock(&pc->lock);
		*pp = &e->p;
		return 0;
	}
	pthread_mutex_unlock(&pc->lock);

	err = entry_load(&f, codec, &fresh);
	if (err)
		return err;

	pthread_mutex_lock(&pc->lock);
	e = cache_lookup(pc, f.path, codec, hash);
	if (e && file_id_eq(&e->id, &fresh->id)) {
		/* Another thread read the same file meanwhile. */
		cache_take(pc, e);
		pc->hits++;
		pthread_mutex_unlock(&pc->lock);
		entry_free(fresh);
		*pp = &e->p;
		return 0;
	}
	if (e) {
		if (e->refs)
			cache_unhash(pc, e);    /* freed by its last release */
		else
			cache_drop(pc, e);
	}
	fresh->refs = 1;
	fresh->hashed = true;
	htab_insert(&pc->table, &fresh->node, hash);
	pc->bytes += fresh->bytes;
	pc->loads++;
	cache_trim(pc);
	pthread_mutex_unlock(&pc->lock);
	*pp = &fresh->p;
	return 0;
}

void prompt_release(struct prompt_cache *pc, const struct prompt *p)
{
	struct prompt_entry *e = (struct prompt_entry *)p;

	if (!pc || !p)
		return;
	pthread_mutex_lock(&pc->lock);
	if (--e->refs == 0) {
		if (e->hashed) {
			list_push_front(&pc->lru, &e->lru);
			cache_trim(pc);
		} else {
			pc->bytes -= e->bytes;
			entry_free(e);
		}
	}
	pthread_mutex_unlock(&pc->lock);
}

int prompt_decode_file(const char *path, enum cfg_codec codec, uint8_t **data,
		       size_t *n_frames)
{
	const char *dot = strrchr(path, '.');
	struct prompt_entry *e = NULL;
	struct found f;
	size_t i;
	int err;

	*data = NULL;
	*n_frames = 0;
	if (codec != CFG_CODEC_PCMU && codec != CFG_CODEC_PCMA)
		return ENOTSUP;
	for (i = 0; dot && i < sizeof(fmt_ext) / sizeof(fmt_ext[0]); i++) {
		if (!strcasecmp(dot, fmt_ext[i]))
			break;
	}
	if (!dot || i == sizeof(fmt_ext) / sizeof(fmt_ext[0]))
		return EINVAL;
	if (snprintf(f.path, sizeof(f.path), "%s", path) >= (int)sizeof(f.path))
		return ENAMETOOLONG;
	f.fmt = (enum prompt_fmt)i;
	if (stat(f.path, &f.st))
		return errno == ENOENT ? ENOENT : EIO;
	err = entry_load(&f, codec, &e);
	if (err)
		return err;
	*data = e->data;
	*n_frames = e->p.n_frames;
	e->data = NULL;
	entry_free(e);
	return 0;
}

void prompt_cache_stats(struct prompt_cache *pc, struct prompt_stats *st)
{
	pthread_mutex_lock(&pc->lock);
	st->entries = pc->table.n;
	st->bytes = pc->bytes;
	st->hits = pc->hits;
	st->loads = pc->loads;
	st->evictions = pc->evictions;
	pthread_mutex_unlock(&pc->lock);
}
