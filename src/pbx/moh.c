/*
 * moh.c - music on hold: classes' files decoded once, shared by every leg
 * that plays them (see moh.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "config/mohconf.h"
#include "media/prompt.h"
#include "pbx/moh.h"
#include "util/hash.h"
#include "util/list.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/vec.h"

#define MOH_MAX_FILES 1000      /* per directory: more are left out */

/* One class's audio in one codec: the directory as it was when read. */
struct mfile {
	char name[256];
	size_t base;                /* length of the name without extension */
	int rank;                   /* format preference for the codec */
	off_t size;
	struct timespec mtime;
};

typedef VEC(struct mfile) mfile_vec;

/* One class's audio in one codec: the directory as it was when read. */
struct moh_audio {
	struct list_node le;        /* moh->audios */
	char *dir;
	char class[80];             /* the class it was read for, for logs */
	enum cfg_moh_sort sort;
	enum cfg_codec codec;
	uint64_t sig;               /* of the files' names, sizes and mtimes */
	uint8_t *data;
	size_t n_frames;
	unsigned refs;              /* plays, until the relay let go */
	bool stale;                 /* a newer read replaced it, or no class
				     * uses it: freed at its last release */
	/* Decoded by a worker thread (uv_queue_work), not on the loop. */
	bool loading;
	bool orphan;                /* moh_free() came first: freed when the
				     * worker is done */
	int load_err;
	mfile_vec files;            /* what the worker decodes */
	struct list_node waiters;   /* plays waiting for it */
	uv_work_t work;
	struct moh *m;
};

struct moh_play {
	struct moh *m;
	struct moh_audio *a;
	struct rtp_leg *leg;
	uint8_t pt;
	bool pending;               /* on a->waiters until the audio is read */
	char class[80];
	struct list_node le;        /* a->waiters, or moh->releasing while
				     * waiting for the relay's sync */
};

struct moh {
	struct rtp_engine *rtp;
	uv_loop_t *loop;
	struct kv_config *const *current;   /* the PBX's configuration now */
	struct list_node audios;
	struct list_node releasing;
	unsigned plays;
	uint64_t loads;
};

struct moh *moh_alloc(struct rtp_engine *rtp, uv_loop_t *loop,
		      struct kv_config *const *current)
{
	struct moh *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->rtp = rtp;
	m->loop = loop;
	m->current = current;
	list_init(&m->audios);
	list_init(&m->releasing);
	return m;
}

static void audio_free(struct moh_audio *a)
{
	list_unlink(&a->le);
	vec_free(&a->files);
	free(a->data);
	free(a->dir);
	free(a);
}

void moh_free(struct moh *m)
{
	struct list_node *it, *tmp, *w, *wtmp;

	if (!m)
		return;
	list_foreach_safe(it, tmp, &m->releasing)
		free(list_entry(it, struct moh_play, le));
	list_foreach_safe(it, tmp, &m->audios) {
		struct moh_audio *a = list_entry(it, struct moh_audio, le);

		list_foreach_safe(w, wtmp, &a->waiters)
			free(list_entry(w, struct moh_play, le));
		if (a->loading) {
			/* The loop runs on until the worker is done. */
			list_unlink(&a->le);
			a->orphan = true;
			continue;
		}
		audio_free(a);
	}
	free(m);
}

/* As prompt.c prefers formats: the leg's law, the other law, WAV, GSM. */
static int format_rank(const char *ext, enum cfg_codec codec)
{
	bool alaw = codec == CFG_CODEC_PCMA;

	if (!strcasecmp(ext, ".ulaw"))
		return alaw ? 1 : 0;
	if (!strcasecmp(ext, ".alaw"))
		return alaw ? 0 : 1;
	if (!strcasecmp(ext, ".wav"))
		return 2;
	return 3;
}

static int mfile_cmp(const void *x, const void *y)
{
	const struct mfile *a = x, *b = y;
	size_t n = a->base < b->base ? a->base : b->base;
	int c = strncmp(a->name, b->name, n);

	if (c)
		return c;
	if (a->base != b->base)
		return a->base < b->base ? -1 : 1;
	return a->rank - b->rank;
}

/*
 * The files a class plays, as Asterisk's moh_scan_files(): every sound
 * file of the directory, one per name without extension (the best format
 * for codec), sorted by name; and a signature that changes with them.
 */
static int scan(const char *dir, enum cfg_codec codec, mfile_vec *out,
		uint64_t *sig)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t keep = 0;
	uint64_t h = HASH_FNV_INIT;

	if (!d)
		return errno == ENOENT ? ENOENT : EIO;
	while ((de = readdir(d)) && out->n < MOH_MAX_FILES) {
		struct mfile f;
		char path[4096];
		struct stat st;
		size_t ext;

		if (!mohconf_playable(de->d_name, &ext) ||
		    strlen(de->d_name) >= sizeof(f.name))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path) || stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		memset(&f, 0, sizeof(f));
		memcpy(f.name, de->d_name, strlen(de->d_name) + 1);
		f.base = ext;
		f.rank = format_rank(de->d_name + ext, codec);
		f.size = st.st_size;
		f.mtime = st.st_mtim;
		if (vec_push(out, f)) {
			closedir(d);
			return ENOMEM;
		}
	}
	closedir(d);
	if (out->n)
		qsort(out->v, out->n, sizeof(out->v[0]), mfile_cmp);
	for (size_t i = 0; i < out->n; i++) {
		struct mfile *f = &out->v[i];

		if (keep && out->v[keep - 1].base == f->base &&
		    !strncmp(out->v[keep - 1].name, f->name, f->base))
			continue;
		out->v[keep++] = *f;
		h = hash_fnv_add(h, f->name, strlen(f->name) + 1);
		h = hash_fnv_add(h, &f->size, sizeof(f->size));
		h = hash_fnv_add(h, &f->mtime, sizeof(f->mtime));
	}
	out->n = keep;
	*sig = h;
	return 0;
}

/* sort=random and randstart, once per read (see moh.h). */
static void order(mfile_vec *files, enum cfg_moh_sort sort)
{
	size_t n = files->n;

	if (n < 2 || sort == CFG_MOH_SORT_ALPHA)
		return;
	if (sort == CFG_MOH_SORT_RANDOM) {
		for (size_t i = n - 1; i > 0; i--) {
			size_t j = (size_t)(rand_u64() % (i + 1));
			struct mfile t = files->v[i];

			files->v[i] = files->v[j];
			files->v[j] = t;
		}
		return;
	}
	for (size_t r = (size_t)(rand_u64() % n); r; r--) {
		struct mfile t = files->v[0];

		memmove(files->v, files->v + 1, (n - 1) * sizeof(files->v[0]));
		files->v[n - 1] = t;
	}
}

/* Decode every file into one buffer; a file that fails is left out. */
static int audio_decode(struct moh_audio *a, const mfile_vec *files)
{
	VEC(uint8_t) buf = {0};

	for (size_t i = 0; i < files->n; i++) {
		char path[4096];
		uint8_t *data;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s", a->dir, files->v[i].name);
		if (prompt_decode_file(path, a->codec, &data, &n))
			continue;       /* prompt.c logged why */
		if (vec_reserve(&buf, buf.n + n * PROMPT_FRAME_BYTES)) {
			free(data);
			vec_free(&buf);
			return ENOMEM;
		}
		memcpy(buf.v + buf.n, data, n * PROMPT_FRAME_BYTES);
		buf.n += n * PROMPT_FRAME_BYTES;
		free(data);
	}
	if (!buf.n) {
		vec_free(&buf);
		return ENOENT;
	}
	/* vec_reserve() doubled: give the spare room back. */
	a->data = realloc(buf.v, buf.n);
	if (!a->data)
		a->data = buf.v;
	a->n_frames = buf.n / PROMPT_FRAME_BYTES;
	return 0;
}

/* Audio no class of the current configuration plays (a call keeps the
 * configuration it started with, but new plays use the current one's
 * classes) is let go once no leg plays it. */
static void sweep(struct moh *m)
{
	const struct kv_config *cfg = *m->current;
	struct list_node *it, *tmp;

	list_foreach_safe(it, tmp, &m->audios) {
		struct moh_audio *a = list_entry(it, struct moh_audio, le);
		bool used = false;

		for (size_t i = 0; !used && i < cfg->moh_classes_n; i++)
			used = !strcmp(cfg->moh_classes[i].directory, a->dir) &&
			       cfg->moh_classes[i].sort == a->sort;
		if (!used)
			a->stale = true;
		if (a->stale && !a->refs && !a->loading)
			audio_free(a);
	}
}

static int play(struct moh_play *p)
{
	struct rtp_frames f;

	f.data = p->a->data;
	f.size = PROMPT_FRAME_BYTES;
	f.count = p->a->n_frames;
	f.ts_step = 0;
	return rtp_leg_play(p->leg, &f, p->pt, true, true);
}

/* On a worker thread: prompt.c's decoding is thread-safe, and nothing
 * else touches the audio while it is loading. */
static void decode_work(uv_work_t *w)
{
	struct moh_audio *a = w->data;

	a->load_err = audio_decode(a, &a->files);
}

static void decode_done(uv_work_t *w, int status)
{
	struct moh_audio *a = w->data;
	struct list_node *it, *tmp;

	a->loading = false;
	if (status)
		a->load_err = ECANCELED;
	if (a->orphan) {
		audio_free(a);
		return;
	}
	vec_free(&a->files);
	if (a->load_err) {
		log_event(LOG_WARN, "moh_load_failed", "class=%s directory=%s error=%d",
			  a->class, a->dir, a->load_err);
		/* Its plays stay silent; the next start reads the files again. */
		a->stale = true;
	} else {
		a->m->loads++;
		log_event(LOG_INFO, "moh_loaded", "class=%s directory=%s seconds=%zu codec=%s",
			  a->class, a->dir, a->n_frames * PROMPT_FRAME_MS / 1000,
			  a->codec == CFG_CODEC_PCMA ? "alaw" : "ulaw");
	}
	list_foreach_safe(it, tmp, &a->waiters) {
		struct moh_play *p = list_entry(it, struct moh_play, le);

		list_unlink(&p->le);
		p->pending = false;
		if (!a->load_err && play(p))
			log_event(LOG_WARN, "moh_play_failed", "class=%s", p->class);
	}
	if (a->stale && !a->refs)
		audio_free(a);
}

static int audio_get(struct moh *m, const struct cfg_moh_class *cl,
		     enum cfg_codec codec, struct moh_audio **ap)
{
	mfile_vec files = {0};
	struct moh_audio *a = NULL;
	struct list_node *it;
	uint64_t sig = 0;
	int err;

	err = scan(cl->directory, codec, &files, &sig);
	if (err)
		goto out;
	list_foreach(it, &m->audios) {
		struct moh_audio *x = list_entry(it, struct moh_audio, le);

		if (x->stale || x->codec != codec || x->sort != cl->sort ||
		    strcmp(x->dir, cl->directory))
			continue;
		if (x->sig == sig) {
			*ap = x;
			goto out;
		}
		/* The files changed: read again; plays keep the old one. */
		x->stale = true;
	}
	a = calloc(1, sizeof(*a));
	if (!a || !(a->dir = strdup(cl->directory))) {
		err = ENOMEM;
		goto out;
	}
	if (!files.n) {
		err = ENOENT;
		goto out;
	}
	a->m = m;
	a->codec = codec;
	a->sort = cl->sort;
	a->sig = sig;
	snprintf(a->class, sizeof(a->class), "%s", cl->name);
	list_init(&a->waiters);
	order(&files, cl->sort);
	a->files = files;
	memset(&files, 0, sizeof(files));
	a->work.data = a;
	a->loading = true;
	err = uv_queue_work(m->loop, &a->work, decode_work, decode_done);
	if (err) {
		err = ENOMEM;
		a->loading = false;
		vec_free(&a->files);
		goto out;
	}
	list_push_back(&m->audios, &a->le);
	*ap = a;
	a = NULL;
 out:
	if (a) {
		free(a->dir);
		free(a);
	}
	vec_free(&files);
	return err;
}

int moh_start(struct moh *m, const struct kv_config *cfg, const char *class,
	      struct rtp_leg *leg, enum cfg_codec codec, uint8_t pt,
	      struct moh_play **pp)
{
	const struct cfg_moh_class *cl;
	struct moh_audio *a = NULL;
	struct moh_play *p;
	int err;

	*pp = NULL;
	if (!class || !*class)
		class = "default";
	cl = config_moh_class(cfg, class);
	if (!cl)
		cl = config_moh_class(cfg, "default");
	if (!cl)
		return ENOENT;
	if (codec != CFG_CODEC_PCMU && codec != CFG_CODEC_PCMA)
		return ENOTSUP;
	p = calloc(1, sizeof(*p));
	if (!p)
		return ENOMEM;
	list_node_init(&p->le);
	err = audio_get(m, cl, codec, &a);
	if (!err) {
		p->m = m;
		p->a = a;
		p->leg = leg;
		p->pt = pt;
		snprintf(p->class, sizeof(p->class), "%s", cl->name);
		if (a->loading) {
			/* Silence until the worker is done: the leg must not go
			 * on relaying what the holder sends. */
			rtp_leg_stop(leg);
			p->pending = true;
			list_push_back(&a->waiters, &p->le);
		} else {
			err = play(p);
		}
	}
	if (!err) {
		a->refs++;
		m->plays++;
		*pp = p;
	} else {
		free(p);
	}
	/* After the play took its reference: what it plays stays. */
	sweep(m);
	return err;
}

static void synced(void *arg)
{
	struct moh_play *p = arg;
	struct moh_audio *a = p->a;

	list_unlink(&p->le);
	if (--a->refs == 0 && a->stale)
		audio_free(a);
	free(p);
}

void moh_release(struct moh_play *p)
{
	struct moh *m;

	if (!p)
		return;
	m = p->m;
	m->plays--;
	p->leg = NULL;
	if (p->pending) {
		/* Never played: nothing for the relay to let go of. */
		struct moh_audio *a = p->a;

		list_unlink(&p->le);
		a->refs--;
		free(p);
		if (a->stale && !a->refs && !a->loading)
			audio_free(a);
		return;
	}
	list_push_back(&m->releasing, &p->le);
	/* Out of memory for the sync: the audio stays for good, rather than
	 * freeing frames a worker may still send. */
	if (rtp_engine_sync(m->rtp, synced, p))
		log_event(LOG_WARN, "moh_release_deferred", "class=%s", p->class);
}

void moh_stop(struct moh_play *p)
{
	if (!p)
		return;
	if (p->leg)
		rtp_leg_stop(p->leg);
	moh_release(p);
}

const char *moh_play_class(const struct moh_play *p)
{
	return p->class;
}

void moh_get_stats(const struct moh *m, struct moh_stats *st)
{
	const struct list_node *it;

	memset(st, 0, sizeof(*st));
	list_foreach(it, &m->audios) {
		const struct moh_audio *a = list_entry(it, const struct moh_audio, le);

		st->classes++;
		st->bytes += a->n_frames * PROMPT_FRAME_BYTES;
	}
	st->plays = m->plays;
	st->loads = m->loads;
}
