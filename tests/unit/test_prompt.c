/*
 * test_prompt.c - prompt lookup, decoding and caching (src/media/prompt.c).
 *
 * Each test builds a sounds tree in a fresh temporary directory with files
 * written by libsndfile (sine waves), so every supported format is read
 * back from a real file.  The installed Asterisk prompts are used too when
 * present (scripts/install-deps.sh installs them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/g711.h"
#include "media/prompt.h"
#include "util/log.h"

#define REAL_ROOT "/usr/share/asterisk/sounds"

struct fx {
	char dir[64];
	char root[96];
	char logpath[128];
	int logfd;
	struct prompt_cache *pc;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-prompt-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->root, sizeof(fx->root), "%s/sounds", fx->dir);
	assert_int_equal(mkdir(fx->root, 0755), 0);
	snprintf(fx->logpath, sizeof(fx->logpath), "%s/log", fx->dir);
	fx->logfd = open(fx->logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	assert_true(fx->logfd >= 0);
	log_set_fd(fx->logfd);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	prompt_cache_free(fx->pc);
	log_set_fd(STDOUT_FILENO);
	close(fx->logfd);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void mkdirs(struct fx *fx, const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", fx->root, rel);
	for (char *s = path + strlen(fx->root) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(path, 0755);
			*s = '/';
		}
	}
	mkdir(path, 0755);
}

static void rel_path(struct fx *fx, const char *rel, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", fx->root, rel);
}

static int16_t sine(size_t i, double freq, int rate)
{
	return (int16_t)lrint(12000.0 * sin(2.0 * M_PI * freq * (double)i / rate));
}

/* n samples per channel of a sine at freq, in any libsndfile format. */
static void write_snd(struct fx *fx, const char *rel, int format, int rate,
		      int channels, size_t n, double freq)
{
	char path[256];
	SF_INFO si;
	SNDFILE *sf;
	int16_t *buf = calloc(n * (size_t)channels + 1, sizeof(*buf));

	assert_non_null(buf);
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < channels; c++)
			buf[i * (size_t)channels + (size_t)c] = sine(i, freq, rate);
	rel_path(fx, rel, path, sizeof(path));
	memset(&si, 0, sizeof(si));
	si.samplerate = rate;
	si.channels = channels;
	si.format = format;
	sf = sf_open(path, SFM_WRITE, &si);
	if (!sf)
		fail_msg("sf_open(%s): %s", path, sf_strerror(NULL));
	assert_int_equal(sf_writef_short(sf, buf, (sf_count_t)n), (sf_count_t)n);
	sf_close(sf);
	free(buf);
}

static void write_bytes(struct fx *fx, const char *rel, const void *p, size_t n)
{
	char path[256];
	FILE *fp;

	rel_path(fx, rel, path, sizeof(path));
	fp = fopen(path, "wb");
	assert_non_null(fp);
	if (n)
		assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

/* What libsndfile decodes from a file, as the reference for prompt.c. */
static int16_t *read_snd(const char *path, int format, size_t *n)
{
	SF_INFO si;
	SNDFILE *sf;
	int16_t *buf;

	memset(&si, 0, sizeof(si));
	if (format) {
		si.samplerate = 8000;
		si.channels = 1;
		si.format = format;
	}
	sf = sf_open(path, SFM_READ, &si);
	assert_non_null(sf);
	assert_int_equal(si.channels, 1);
	buf = calloc((size_t)si.frames + 1, sizeof(*buf));
	assert_non_null(buf);
	*n = (size_t)sf_readf_short(sf, buf, si.frames);
	assert_int_equal(*n, (size_t)si.frames);
	sf_close(sf);
	return buf;
}

static struct prompt_cache *cache(struct fx *fx, size_t max_bytes)
{
	prompt_cache_free(fx->pc);
	fx->pc = prompt_cache_alloc(fx->root, max_bytes);
	assert_non_null(fx->pc);
	return fx->pc;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static void assert_padded(const struct prompt *p, size_t samples)
{
	uint8_t silence = p->codec == CFG_CODEC_PCMA ? G711_ALAW_SILENCE : G711_ULAW_SILENCE;
	size_t total = p->n_frames * p->frame_bytes;

	assert_int_equal(p->frame_bytes, PROMPT_FRAME_BYTES);
	assert_int_equal(p->n_frames, (samples + 159) / 160);
	for (size_t i = samples; i < total; i++)
		assert_int_equal(p->frames[i], silence);
}

static void stats(struct fx *fx, struct prompt_stats *st)
{
	prompt_cache_stats(fx->pc, st);
}

/* One second of 8 kHz 16-bit WAV is 50 frames whose decoded audio is the
 * sine within G.711 quantisation error, in both laws. */
static void test_wav_pcm16(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;

	mkdirs(fx, "en");
	write_snd(fx, "en/sine.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000, 440);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "sine", CFG_CODEC_PCMU, &p), 0);
	assert_int_equal(p->codec, CFG_CODEC_PCMU);
	assert_int_equal(p->n_frames, 50);
	assert_int_equal(p->frame_bytes, 160);
	assert_true(ends_with(p->path, "/sounds/en/sine.wav"));
	for (size_t i = 0; i < 8000; i++) {
		int want = sine(i, 440, 8000);
		int got = g711_ulaw_decode(p->frames[i]);

		assert_true(abs(got - want) <= (abs(want) + 132) / 32);
	}
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "en", "sine", CFG_CODEC_PCMA, &p), 0);
	assert_int_equal(p->codec, CFG_CODEC_PCMA);
	assert_int_equal(p->n_frames, 50);
	for (size_t i = 0; i < 8000; i++)
		assert_int_equal(p->frames[i], g711_alaw_encode(sine(i, 440, 8000)));
	prompt_release(fx->pc, p);
}

/* prompt_decode_file(): a path as it is, the format by its extension,
 * decoded as prompt_get() decodes, outside the cache. */
static void test_decode_file(void **state)
{
	struct fx *fx = *state;
	struct prompt_stats st;
	char path[256];
	uint8_t *data;
	size_t n;

	mkdirs(fx, "moh");
	write_snd(fx, "moh/song.WAV", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8100, 440);
	write_bytes(fx, "moh/notes.txt", "x", 1);
	cache(fx, 0);
	rel_path(fx, "moh/song.WAV", path, sizeof(path));
	assert_int_equal(prompt_decode_file(path, CFG_CODEC_PCMA, &data, &n), 0);
	assert_int_equal(n, 51);                /* 8100 samples, rounded up */
	for (size_t i = 0; i < 8100; i++)
		assert_int_equal(data[i], g711_alaw_encode(sine(i, 440, 8000)));
	for (size_t i = 8100; i < n * 160; i++)
		assert_int_equal(data[i], G711_ALAW_SILENCE);
	free(data);
	stats(fx, &st);
	assert_int_equal(st.entries, 0);        /* the cache is not involved */
	assert_int_equal(prompt_decode_file(path, CFG_CODEC_OPUS, &data, &n), ENOTSUP);
	rel_path(fx, "moh/notes.txt", path, sizeof(path));
	assert_int_equal(prompt_decode_file(path, CFG_CODEC_PCMU, &data, &n), EINVAL);
	assert_null(data);
	rel_path(fx, "moh/none.wav", path, sizeof(path));
	assert_int_equal(prompt_decode_file(path, CFG_CODEC_PCMU, &data, &n), ENOENT);
}

/* Frame count is duration / 20 ms rounded up; the tail is silence. */
static void test_partial_last_frame(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;

	mkdirs(fx, "en");
	write_snd(fx, "en/short.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1010, 300);
	write_snd(fx, "en/one.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1, 300);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "short", CFG_CODEC_PCMU, &p), 0);
	assert_int_equal(p->n_frames, 7);
	assert_padded(p, 1010);
	prompt_release(fx->pc, p);
	assert_int_equal(prompt_get(fx->pc, "en", "short", CFG_CODEC_PCMA, &p), 0);
	assert_padded(p, 1010);
	prompt_release(fx->pc, p);
	assert_int_equal(prompt_get(fx->pc, "en", "one", CFG_CODEC_PCMA, &p), 0);
	assert_int_equal(p->n_frames, 1);
	assert_padded(p, 1);
	prompt_release(fx->pc, p);
}

/* Headerless mu-law and A-law: the bytes are the audio, converted to the
 * other law when needed. */
static void test_raw_laws(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;
	uint8_t u[400], a[400];

	mkdirs(fx, "en");
	for (size_t i = 0; i < sizeof(u); i++) {
		u[i] = g711_ulaw_encode(sine(i, 1000, 8000));
		a[i] = g711_alaw_encode(sine(i, 1000, 8000));
	}
	write_bytes(fx, "en/u.ulaw", u, sizeof(u));
	write_bytes(fx, "en/a.alaw", a, sizeof(a));
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "u", CFG_CODEC_PCMU, &p), 0);
	assert_int_equal(p->n_frames, 3);
	assert_memory_equal(p->frames, u, sizeof(u));
	assert_padded(p, sizeof(u));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "en", "u", CFG_CODEC_PCMA, &p), 0);
	for (size_t i = 0; i < sizeof(u); i++)
		assert_int_equal(p->frames[i], g711_ulaw_to_alaw(u[i]));
	assert_padded(p, sizeof(u));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "en", "a", CFG_CODEC_PCMA, &p), 0);
	assert_memory_equal(p->frames, a, sizeof(a));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "en", "a", CFG_CODEC_PCMU, &p), 0);
	for (size_t i = 0; i < sizeof(a); i++)
		assert_int_equal(p->frames[i], g711_alaw_to_ulaw(a[i]));
	assert_padded(p, sizeof(a));
	prompt_release(fx->pc, p);
}

/* Asterisk's raw .gsm, and WAV files holding GSM 6.10 or G.711: the
 * prompt is exactly what libsndfile decodes, G.711-encoded. */
static void test_gsm_and_wav_codecs(void **state)
{
	struct fx *fx = *state;
	static const struct {
		const char *rel, *name;
		int format;
		int raw;            /* format needed to read it back */
	} files[] = {
		{"en/g.gsm", "g", SF_FORMAT_RAW | SF_FORMAT_GSM610, 1},
		{"en/w49.wav", "w49", SF_FORMAT_WAV | SF_FORMAT_GSM610, 0},
		{"en/wu.wav", "wu", SF_FORMAT_WAV | SF_FORMAT_ULAW, 0},
		{"en/wa.wav", "wa", SF_FORMAT_WAV | SF_FORMAT_ALAW, 0},
		{"en/wf.wav", "wf", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0},
	};

	mkdirs(fx, "en");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		write_snd(fx, files[i].rel, files[i].format, 8000, 1, 4000, 500);
	cache(fx, 0);

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[256];
		size_t n;
		int16_t *ref;
		const struct prompt *p;

		rel_path(fx, files[i].rel, path, sizeof(path));
		ref = read_snd(path, files[i].raw ? files[i].format : 0, &n);
		assert_true(n >= 4000);
		assert_int_equal(prompt_get(fx->pc, "en", files[i].name, CFG_CODEC_PCMU, &p), 0);
		assert_int_equal(p->n_frames, (n + 159) / 160);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(p->frames[k], g711_ulaw_encode(ref[k]));
		assert_padded(p, n);
		assert_true(ends_with(p->path, files[i].rel));
		prompt_release(fx->pc, p);
		free(ref);
	}
}

/* In one directory the codec's own law comes first, then the other law,
 * .wav, .gsm. */
static void test_format_order(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;
	uint8_t b[160];

	mkdirs(fx, "en");
	memset(b, 0x55, sizeof(b));
	write_snd(fx, "en/x.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 800, 500);
	write_snd(fx, "en/x.gsm", SF_FORMAT_RAW | SF_FORMAT_GSM610, 8000, 1, 800, 500);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/en/x.wav"));
	prompt_release(fx->pc, p);

	write_bytes(fx, "en/x.alaw", b, sizeof(b));
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/en/x.alaw"));
	prompt_release(fx->pc, p);

	write_bytes(fx, "en/x.ulaw", b, sizeof(b));
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/en/x.ulaw"));
	prompt_release(fx->pc, p);
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_PCMA, &p), 0);
	assert_true(ends_with(p->path, "/en/x.alaw"));
	prompt_release(fx->pc, p);
}

/* lang, then lang without its country, then en, then the root. */
static void test_language_fallback(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;

	mkdirs(fx, "en/digits");
	mkdirs(fx, "fr/digits");
	mkdirs(fx, "fr_CA");
	write_snd(fx, "en/both.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	write_snd(fx, "fr/both.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 320, 500);
	write_snd(fx, "fr_CA/ca.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	write_snd(fx, "en/enonly.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	write_snd(fx, "en/digits/1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	write_snd(fx, "fr/digits/1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 480, 500);
	write_snd(fx, "top.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "fr", "both", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/fr/both.wav"));
	assert_int_equal(p->n_frames, 2);
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "fr_CA", "both", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/fr/both.wav"));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "fr_CA", "ca", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/fr_CA/ca.wav"));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "fr", "enonly", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/en/enonly.wav"));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "de", "top", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/top.wav"));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "fr", "digits/1", CFG_CODEC_PCMA, &p), 0);
	assert_true(ends_with(p->path, "/sounds/fr/digits/1.wav"));
	assert_int_equal(p->n_frames, 3);
	prompt_release(fx->pc, p);

	/* No language means English. */
	assert_int_equal(prompt_get(fx->pc, NULL, "both", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/en/both.wav"));
	prompt_release(fx->pc, p);
	assert_int_equal(prompt_get(fx->pc, "", "digits/1", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/en/digits/1.wav"));
	prompt_release(fx->pc, p);

	assert_int_equal(prompt_get(fx->pc, "fr", "missing", CFG_CODEC_PCMU, &p), ENOENT);
	assert_null(p);
	assert_int_equal(prompt_get(fx->pc, "fr", "digits/2", CFG_CODEC_PCMU, &p), ENOENT);
}

/* Nothing outside the root is reachable, whatever the name. */
static void test_bad_names(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p = (const struct prompt *)fx;
	static const char *const names[] = {
		"../outside", "en/../../outside", "digits/../x", "/etc/passwd", "",
		"a//b", "./x", "x/.", "digits/", "x\n", "x\ty", "..",
	};
	static const char *const langs[] = {"../en", "en/..", "e n", "_en", "-x", ".",
					    "abcdefghijklmnopqrstuvwxyz0123456789"};
	char longname[PROMPT_MAX_NAME + 2];

	mkdirs(fx, "en");
	write_snd(fx, "../outside.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	write_snd(fx, "en/x.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	cache(fx, 0);

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		p = (const struct prompt *)fx;
		if (prompt_get(fx->pc, "en", names[i], CFG_CODEC_PCMU, &p) != EINVAL)
			fail_msg("name '%s' accepted", names[i]);
		assert_null(p);
	}
	for (size_t i = 0; i < sizeof(langs) / sizeof(langs[0]); i++)
		assert_int_equal(prompt_get(fx->pc, langs[i], "x", CFG_CODEC_PCMU, &p), EINVAL);
	assert_int_equal(prompt_get(fx->pc, "en", NULL, CFG_CODEC_PCMU, &p), EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(prompt_get(fx->pc, "en", longname, CFG_CODEC_PCMU, &p), EINVAL);
	assert_int_equal(prompt_get(NULL, "en", "x", CFG_CODEC_PCMU, &p), EINVAL);
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_PCMU, NULL), EINVAL);

	/* Only G.711 prompts are made. */
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_G722, &p), ENOTSUP);
	assert_int_equal(prompt_get(fx->pc, "en", "x", CFG_CODEC_GSM, &p), ENOTSUP);

	/* Names with dots inside components are fine. */
	write_snd(fx, "en/a..b.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	assert_int_equal(prompt_get(fx->pc, "en", "a..b", CFG_CODEC_PCMU, &p), 0);
	prompt_release(fx->pc, p);
	prompt_release(fx->pc, NULL);
}

static char *read_log(struct fx *fx)
{
	static char buf[8192];
	int fd = open(fx->logpath, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* Wrong rates and channel counts are refused with a message saying why;
 * damaged files are errors, never crashes; directories and FIFOs that
 * carry a prompt's name are not prompts. */
static void test_bad_files(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;
	char path[256];
	uint8_t junk[1000];
	uint8_t gsm[66];

	mkdirs(fx, "en");
	write_snd(fx, "en/wide.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1, 1600, 500);
	write_snd(fx, "en/stereo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, 800, 500);
	write_snd(fx, "en/good.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000, 500);
	write_snd(fx, "en/aiff.wav", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 8000, 1, 800, 500);
	write_snd(fx, "en/nodata.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0, 500);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 7 + 3);
	write_bytes(fx, "en/junk.wav", junk, sizeof(junk));
	write_bytes(fx, "en/empty.ulaw", NULL, 0);
	write_bytes(fx, "en/empty.gsm", NULL, 0);
	write_bytes(fx, "en/odd.gsm", junk, 34);
	memset(gsm, 0xD8, sizeof(gsm));
	gsm[33] = 0x18;             /* second frame without the magic */
	write_bytes(fx, "en/badframe.gsm", gsm, sizeof(gsm));
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "wide", CFG_CODEC_PCMU, &p), ENOTSUP);
	assert_null(p);
	assert_non_null(strstr(read_log(fx), "only 8000 Hz mono is supported"));
	assert_non_null(strstr(read_log(fx), "/en/wide.wav"));
	assert_non_null(strstr(read_log(fx), "audio is 16000 Hz"));
	assert_int_equal(prompt_get(fx->pc, "en", "stereo", CFG_CODEC_PCMU, &p), ENOTSUP);
	assert_int_equal(prompt_get(fx->pc, "en", "aiff", CFG_CODEC_PCMU, &p), EIO);
	assert_int_equal(prompt_get(fx->pc, "en", "nodata", CFG_CODEC_PCMU, &p), EIO);
	assert_int_equal(prompt_get(fx->pc, "en", "junk", CFG_CODEC_PCMU, &p), EIO);
	assert_int_equal(prompt_get(fx->pc, "en", "empty", CFG_CODEC_PCMU, &p), EIO);
	assert_int_equal(prompt_get(fx->pc, "en", "odd", CFG_CODEC_PCMU, &p), EIO);
	assert_int_equal(prompt_get(fx->pc, "en", "badframe", CFG_CODEC_PCMU, &p), EIO);

	/* A WAV cut short: the header alone, then half the data. */
	rel_path(fx, "en/good.wav", path, sizeof(path));
	assert_int_equal(truncate(path, 20), 0);
	assert_int_equal(prompt_get(fx->pc, "en", "good", CFG_CODEC_PCMU, &p), EIO);
	write_snd(fx, "en/good.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000, 500);
	assert_int_equal(truncate(path, 44 + 8000), 0);
	assert_int_equal(prompt_get(fx->pc, "en", "good", CFG_CODEC_PCMU, &p), 0);
	assert_int_equal(p->n_frames, 25);
	prompt_release(fx->pc, p);

	/* Not regular files: skipped, the lookup goes on. */
	mkdirs(fx, "en/dir.wav");
	assert_int_equal(prompt_get(fx->pc, "en", "dir", CFG_CODEC_PCMU, &p), ENOENT);
	rel_path(fx, "en/fifo.wav", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0644), 0);
	assert_int_equal(prompt_get(fx->pc, "en", "fifo", CFG_CODEC_PCMU, &p), ENOENT);
	write_snd(fx, "fifo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
	assert_int_equal(prompt_get(fx->pc, "en", "fifo", CFG_CODEC_PCMU, &p), 0);
	assert_true(ends_with(p->path, "/sounds/fifo.wav"));
	prompt_release(fx->pc, p);

	/* Unreadable. */
	if (geteuid() != 0) {
		write_snd(fx, "en/locked.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 160, 500);
		rel_path(fx, "en/locked.wav", path, sizeof(path));
		assert_int_equal(chmod(path, 0), 0);
		assert_int_equal(prompt_get(fx->pc, "en", "locked", CFG_CODEC_PCMU, &p), EIO);
	}

	/* Failures are not cached; a fixed file loads. */
	write_snd(fx, "en/wide.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1600, 500);
	assert_int_equal(prompt_get(fx->pc, "en", "wide", CFG_CODEC_PCMU, &p), 0);
	assert_int_equal(p->n_frames, 10);
	prompt_release(fx->pc, p);
}

/* Longer than PROMPT_MAX_SECONDS: refused before it is decoded. */
static void test_too_long(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p;
	size_t n = (size_t)PROMPT_MAX_SECONDS * 8000;
	uint8_t *buf = malloc(n + 1);

	assert_non_null(buf);
	memset(buf, 0xFF, n + 1);
	mkdirs(fx, "en");
	write_bytes(fx, "en/max.ulaw", buf, n);
	write_bytes(fx, "en/over.ulaw", buf, n + 1);
	free(buf);
	write_snd(fx, "en/over.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, n + 1, 500);
	write_snd(fx, "en/wover.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, n + 1, 500);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "over", CFG_CODEC_PCMU, &p), EFBIG);
	assert_int_equal(prompt_get(fx->pc, "en", "wover", CFG_CODEC_PCMU, &p), EFBIG);
	assert_int_equal(prompt_get(fx->pc, "en", "max", CFG_CODEC_PCMA, &p), 0);
	assert_int_equal(p->n_frames, (size_t)PROMPT_MAX_SECONDS * 50);
	prompt_release(fx->pc, p);
}

/* One file, one codec: one copy, whichever language asked for it. */
static void test_cache_sharing(void **state)
{
	struct fx *fx = *state;
	const struct prompt *a, *b, *c, *d;
	struct prompt_stats st;

	mkdirs(fx, "en");
	mkdirs(fx, "fr");
	write_snd(fx, "en/s.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000, 500);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "s", CFG_CODEC_PCMU, &a), 0);
	assert_int_equal(prompt_get(fx->pc, "fr", "s", CFG_CODEC_PCMU, &b), 0);
	assert_ptr_equal(a, b);
	assert_int_equal(prompt_get(fx->pc, "en", "s", CFG_CODEC_PCMA, &c), 0);
	assert_ptr_not_equal(a, c);
	stats(fx, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.loads, 2);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.bytes, 16000);

	/* Released and asked again: still cached. */
	prompt_release(fx->pc, a);
	prompt_release(fx->pc, b);
	assert_int_equal(prompt_get(fx->pc, "en", "s", CFG_CODEC_PCMU, &d), 0);
	assert_ptr_equal(a, d);
	stats(fx, &st);
	assert_int_equal(st.loads, 2);
	assert_int_equal(st.hits, 2);
	prompt_release(fx->pc, c);
	prompt_release(fx->pc, d);
}

/* Over the byte budget, the prompt released longest ago goes first; those
 * in use are never evicted. */
static void test_cache_eviction(void **state)
{
	struct fx *fx = *state;
	const struct prompt *p[4], *q;
	struct prompt_stats st;
	static const char *const names[] = {"a", "b", "c", "d"};

	mkdirs(fx, "en");
	for (size_t i = 0; i < 4; i++) {
		char rel[32];

		snprintf(rel, sizeof(rel), "en/%s.wav", names[i]);
		write_snd(fx, rel, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 8000, 300 + 100 * i);
	}
	cache(fx, 3 * 8000);        /* three one-second prompts */

	for (size_t i = 0; i < 3; i++)
		assert_int_equal(prompt_get(fx->pc, "en", names[i], CFG_CODEC_PCMU, &p[i]), 0);
	prompt_release(fx->pc, p[1]);
	prompt_release(fx->pc, p[0]);
	prompt_release(fx->pc, p[2]);
	stats(fx, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 0);

	/* d pushes out b, released first. */
	assert_int_equal(prompt_get(fx->pc, "en", "d", CFG_CODEC_PCMU, &p[3]), 0);
	stats(fx, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.bytes, 3 * 8000);
	assert_int_equal(prompt_get(fx->pc, "en", "a", CFG_CODEC_PCMU, &q), 0);
	prompt_release(fx->pc, q);
	assert_int_equal(prompt_get(fx->pc, "en", "c", CFG_CODEC_PCMU, &q), 0);
	prompt_release(fx->pc, q);
	stats(fx, &st);
	assert_int_equal(st.loads, 4);
	assert_int_equal(prompt_get(fx->pc, "en", "b", CFG_CODEC_PCMU, &q), 0);
	stats(fx, &st);
	assert_int_equal(st.loads, 5);
	assert_int_equal(st.evictions, 2);  /* a was the oldest released */
	prompt_release(fx->pc, q);
	prompt_release(fx->pc, p[3]);

	/* Everything held: over budget, nothing evicted; on release the
	 * cache shrinks back. */
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(prompt_get(fx->pc, "en", names[i], CFG_CODEC_PCMU, &p[i]), 0);
	stats(fx, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(st.bytes, 4 * 8000);
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < 8000; k++)
			assert_int_equal(p[i]->frames[k],
					 g711_ulaw_encode(sine(k, 300 + 100 * (double)i, 8000)));
	for (size_t i = 0; i < 4; i++)
		prompt_release(fx->pc, p[i]);
	stats(fx, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.bytes, 3 * 8000);

	/* A prompt bigger than the whole budget is served, then dropped. */
	cache(fx, 1000);
	assert_int_equal(prompt_get(fx->pc, "en", "a", CFG_CODEC_PCMU, &q), 0);
	assert_int_equal(q->n_frames, 50);
	prompt_release(fx->pc, q);
	stats(fx, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
}

/* A file replaced on disk is read again; the old copy stays valid for
 * those who hold it. */
static void test_file_changed(void **state)
{
	struct fx *fx = *state;
	const struct prompt *old, *cur, *again;
	struct prompt_stats st;

	mkdirs(fx, "en");
	write_snd(fx, "en/v.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 1600, 500);
	cache(fx, 0);

	assert_int_equal(prompt_get(fx->pc, "en", "v", CFG_CODEC_PCMU, &old), 0);
	assert_int_equal(old->n_frames, 10);
	write_snd(fx, "en/v.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 3200, 700);
	assert_int_equal(prompt_get(fx->pc, "en", "v", CFG_CODEC_PCMU, &cur), 0);
	assert_ptr_not_equal(old, cur);
	assert_int_equal(cur->n_frames, 20);
	assert_int_equal(old->n_frames, 10);
	for (size_t k = 0; k < 1600; k++)
		assert_int_equal(old->frames[k], g711_ulaw_encode(sine(k, 500, 8000)));
	stats(fx, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 30 * 160);
	prompt_release(fx->pc, old);
	stats(fx, &st);
	assert_int_equal(st.bytes, 20 * 160);

	/* Replaced while unused: the stale copy goes at once. */
	prompt_release(fx->pc, cur);
	write_snd(fx, "en/v.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 800, 700);
	assert_int_equal(prompt_get(fx->pc, "en", "v", CFG_CODEC_PCMU, &again), 0);
	assert_int_equal(again->n_frames, 5);
	stats(fx, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, 5 * 160);
	assert_int_equal(st.loads, 3);
	prompt_release(fx->pc, again);

	/* Removed: gone from the lookup, whatever the cache holds. */
	{
		char path[256];

		rel_path(fx, "en/v.wav", path, sizeof(path));
		assert_int_equal(unlink(path), 0);
		assert_int_equal(prompt_get(fx->pc, "en", "v", CFG_CODEC_PCMU, &again), ENOENT);
	}
}

struct worker {
	struct prompt_cache *pc;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	static const char *const names[] = {"t0", "t1", "t2"};

	for (int i = 0; i < 300; i++) {
		const struct prompt *p;
		enum cfg_codec codec = (i & 1) ? CFG_CODEC_PCMA : CFG_CODEC_PCMU;
		uint8_t silence = (i & 1) ? G711_ALAW_SILENCE : G711_ULAW_SILENCE;

		if (prompt_get(w->pc, "en", names[i % 3], codec, &p)) {
			w->failures++;
			continue;
		}
		/* Read the whole prompt, as a media worker would. */
		if (p->n_frames != 3 || p->codec != codec || p->frames[479] != silence)
			w->failures++;
		prompt_release(w->pc, p);
	}
	return NULL;
}

/* Concurrent readers share the prompts; each file is loaded once per
 * codec whatever the interleaving. */
static void test_threads(void **state)
{
	struct fx *fx = *state;
	struct worker w[4];
	pthread_t t[4];
	struct prompt_stats st;

	mkdirs(fx, "en");
	write_snd(fx, "en/t0.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 400, 300);
	write_snd(fx, "en/t1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 400, 400);
	write_snd(fx, "en/t2.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 400, 500);
	cache(fx, 0);

	for (int i = 0; i < 4; i++) {
		w[i].pc = fx->pc;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(w[i].failures, 0);
	}
	stats(fx, &st);
	assert_int_equal(st.loads, 6);
	assert_int_equal(st.entries, 6);
	assert_int_equal(st.hits, 4 * 300 - 6);
}

/* The Asterisk prompts installed by scripts/install-deps.sh. */
static void test_real_prompts(void **state)
{
	struct fx *fx = *state;
	struct prompt_cache *pc;
	const struct prompt *p;
	int16_t *ref;
	size_t n;

	if (access(REAL_ROOT "/en/hello-world.wav", R_OK)) {
		printf("note: %s/en/hello-world.wav not installed, skipped "
		       "(scripts/install-deps.sh installs it)\n", REAL_ROOT);
		skip();
	}
	pc = prompt_cache_alloc(NULL, 0);
	assert_non_null(pc);

	ref = read_snd(REAL_ROOT "/en/hello-world.wav", 0, &n);
	assert_int_equal(prompt_get(pc, "en", "hello-world", CFG_CODEC_PCMU, &p), 0);
	assert_string_equal(p->path, REAL_ROOT "/en/hello-world.wav");
	assert_int_equal(p->n_frames, (n + 159) / 160);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(p->frames[k], g711_ulaw_encode(ref[k]));
	prompt_release(pc, p);
	free(ref);

	assert_int_equal(prompt_get(pc, "en", "digits/1", CFG_CODEC_PCMA, &p), 0);
	assert_true(p->n_frames > 0);
	prompt_release(pc, p);

	if (!access(REAL_ROOT "/fr/hello-world.wav", R_OK)) {
		assert_int_equal(prompt_get(pc, "fr", "hello-world", CFG_CODEC_PCMA, &p), 0);
		assert_string_equal(p->path, REAL_ROOT "/fr/hello-world.wav");
		prompt_release(pc, p);
		/* Recorded in English only: French callers hear it in English. */
		if (access(REAL_ROOT "/fr/basic-pbx-ivr-main.wav", F_OK) &&
		    !access(REAL_ROOT "/en/basic-pbx-ivr-main.wav", R_OK)) {
			assert_int_equal(prompt_get(pc, "fr_CA", "basic-pbx-ivr-main",
						    CFG_CODEC_PCMU, &p), 0);
			assert_string_equal(p->path, REAL_ROOT "/en/basic-pbx-ivr-main.wav");
			prompt_release(pc, p);
		}
	} else {
		printf("note: French prompts not installed, fr cases skipped\n");
	}
	prompt_cache_free(pc);
	(void)fx;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wav_pcm16, setup, teardown),
		cmocka_unit_test_setup_teardown(test_decode_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_last_frame, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_laws, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gsm_and_wav_codecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_format_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_language_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_sharing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_eviction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_prompts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
