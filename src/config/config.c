/*
 * config.c - load a configuration directory into an immutable,
 * reference-counted struct kv_config, and look things up in it.
 *
 * The files are read in a fixed order (asterisk.conf, pjsip.conf, rtp.conf,
 * kubevox.conf, http.conf, extensions.conf, cdr.conf, voicemail.conf,
 * musiconhold.conf); all messages are then sorted by file and line so that
 * --check reads like a compiler's
 * output.  Everything the configuration points to lives in one arena
 * owned by it.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/arena.h"
#include "config/astconf.h"
#include "config/cdrconf.h"
#include "config/cfgval.h"
#include "config/config.h"
#include "util/hash.h"
#include "config/extensions.h"
#include "config/load.h"
#include "config/mohconf.h"
#include "config/vmconf.h"

typedef void (*interpret_fn)(struct cfg_load *ld, const struct astconf *ac);

static void config_free(struct kv_config *cfg)
{
	if (!cfg)
		return;
	dialplan_unref(cfg->dialplan);
	for (size_t i = 0; cfg->identifies && i < cfg->identifies_n; i++) {
		if (cfg->identifies[i].match_header_re)
			regfree(cfg->identifies[i].match_header_re);
	}
	free(cfg->files);
	if (cfg->mem) {
		arena_free(cfg->mem);
		free(cfg->mem);
	}
	free(cfg);
}

static void extensions_load(struct cfg_load *ld, const struct astconf *ac)
{
	dialplan_load(ac, ld->diag, &ld->cfg->dialplan);
}

static void cdr_load(struct cfg_load *ld, const struct astconf *ac)
{
	cdr_config_parse(ac, &ld->cfg->cdr, ld->diag);
}

static void vm_load(struct cfg_load *ld, const struct astconf *ac)
{
	if (vm_config_parse(ac, ld->mem, &ld->cfg->vm, ld->diag) == ENOMEM)
		ld->oom = true;
}

static void defaults_set(struct cfg_load *ld)
{
	cdr_config_init(&ld->cfg->cdr);
	vm_config_init(&ld->cfg->vm);
	struct kv_config *cfg = ld->cfg;

	cfg->default_realm = load_strdup(ld, "asterisk");
	cfg->user_agent = load_strdup(ld, "KubeVox");
	cfg->default_algs[0] = CFG_ALG_MD5;
	cfg->default_algs_n = 1;
	cfg->rtpstart = 5000;
	cfg->rtpend = 31000;
	cfg->astlogdir = load_strdup(ld, "/var/log/asterisk");
	cfg->astspooldir = load_strdup(ld, "/var/spool/asterisk");
	/* Debian's astdatadir, where its moh and sounds packages install. */
	cfg->astdatadir = load_strdup(ld, "/usr/share/asterisk");
	cfg->security.ban_failures = 20;
	cfg->security.ban_window = 60;
	cfg->security.ban_time = 300;
	cfg->security.nonce_lifetime = 300;
	cfg->security.nonce_secret = NULL;
	/* http.conf: off, as in Asterisk; cfg->http.bind stays unset */
	cfg->http.enabled = false;
	cfg->drain_timeout = 3600;
	cfg->debug_freeze = false;
}

/* Read one file; interpret it only when its grammar is sound, so that a
 * broken line does not cause a cascade of meaningless errors. */
static void file_read(struct cfg_load *ld, const char *dir, const char *file,
		      bool required, interpret_fn fn)
{
	struct astconf *ac = NULL;

	switch (astconf_load(&ac, dir, file, ld->diag)) {
	case ASTCONF_MISSING:
		if (required)
			diag_add(ld->diag, DIAG_ERROR, file, 0,
				     "cannot open: No such file or directory");
		return;
	case ASTCONF_ERROR:
		return;
	case ASTCONF_OK:
		break;
	}
	if (!load_files(ld, ac) && fn)
		fn(ld, ac);
	astconf_free(ac);
}

/*
 * Without a configured nonce_secret, derive one from the configuration
 * itself: SHA-256 over every auth section's name, realm, user and
 * credentials.  Replicas that share a ConfigMap, and a restarted process,
 * derive the same secret and so accept each other's nonces, yet nobody
 * who lacks the credentials can compute it.  Changing any credential
 * changes the secret: outstanding nonces then fail once and clients are
 * simply challenged again.  Setting nonce_secret in kubevox.conf is still
 * better, since it also survives credential changes.
 */
static void nonce_secret_derive(struct cfg_load *ld)
{
	static const char tag[] = "kubevox nonce secret v1";
	struct kv_config *cfg = ld->cfg;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	EVP_MD_CTX *ctx;
	int ok;

	ctx = EVP_MD_CTX_new();
	if (!ctx) {
		ld->oom = true;
		return;
	}
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(ctx, tag, sizeof(tag));
	for (size_t i = 0; ok && i < cfg->auths_n; i++) {
		const struct cfg_auth *a = &cfg->auths[i];
		const char *fields[] = { a->name, a->realm, a->username, a->password,
					 a->password_digest, a->password_digest_sha256 };

		for (size_t j = 0; ok && j < sizeof(fields) / sizeof(fields[0]); j++) {
			const char *f = fields[j] ? fields[j] : "";
			/* The NUL separates fields: "ab"+"c" != "a"+"bc". */
			ok = EVP_DigestUpdate(ctx, f, strlen(f) + 1);
		}
	}
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		diag_add(ld->diag, DIAG_ERROR, "kubevox.conf", 0,
			     "cannot derive nonce_secret: SHA-256 failed");
		return;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	cfg->security.nonce_secret = load_strdup(ld, hex);
}

struct msg_order {
	struct diag_msg m;
	size_t file_rank;
	size_t idx;
};

static int msg_cmp(const void *a, const void *b)
{
	const struct msg_order *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->m.line != y->m.line)
		return x->m.line < y->m.line ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sort messages first..n by file (in order of first mention), then line. */
static void msgs_sort(struct diag *d, size_t first)
{
	size_t n = d->n - first, files_n = 0;
	struct msg_order *v;
	const char **files;

	if (n < 2)
		return;
	v = calloc(n, sizeof(*v));
	files = calloc(n, sizeof(*files));
	if (!v || !files)
		goto out;
	for (size_t i = 0; i < n; i++) {
		size_t rank;

		v[i].m = d->v[first + i];
		v[i].idx = i;
		for (rank = 0; rank < files_n && strcmp(files[rank], v[i].m.file); rank++)
			;
		if (rank == files_n)
			files[files_n++] = v[i].m.file;
		v[i].file_rank = rank;
	}
	qsort(v, n, sizeof(*v), msg_cmp);
	for (size_t i = 0; i < n; i++)
		d->v[first + i] = v[i].m;
out:
	free(files);
	free(v);
}

int config_load(const char *dir, struct kv_config **cfgp, struct diag *diag)
{
	unsigned errors = diag->errors;
	size_t first = diag->n;
	struct kv_config *cfg;
	struct cfg_load ld;

	*cfgp = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg || !(cfg->mem = malloc(sizeof(struct arena)))) {
		free(cfg);
		diag_add(diag, DIAG_ERROR, "pjsip.conf", 0, "out of memory");
		return ENOMEM;
	}
	arena_init(cfg->mem);
	cfg->refs = 1;
	load_init(&ld, cfg, cfg->mem, diag);
	cfg->dir = load_strdup(&ld, dir);
	defaults_set(&ld);

	file_read(&ld, dir, "asterisk.conf", false, sysconf_asterisk);
	file_read(&ld, dir, "pjsip.conf", true, pjsip_load);
	file_read(&ld, dir, "rtp.conf", false, sysconf_rtp);
	file_read(&ld, dir, "kubevox.conf", false, sysconf_kubevox);
	file_read(&ld, dir, "http.conf", false, sysconf_http);
	file_read(&ld, dir, "extensions.conf", false, extensions_load);
	file_read(&ld, dir, "cdr.conf", false, cdr_load);
	file_read(&ld, dir, "voicemail.conf", false, vm_load);
	file_read(&ld, dir, "musiconhold.conf", false, mohconf_load);
	/* No extensions.conf is an empty dialplan: every call gets 404. */
	if (!cfg->dialplan)
		dialplan_load(NULL, diag, &cfg->dialplan);

	sysconf_cluster_finish(&ld);
	/* One machine's nonce_secret is the cluster's secret; set both and
	 * nonce_secret wins (it signs nonces, the secret the rest). */
	if (!cfg->security.nonce_secret)
		cfg->security.nonce_secret = cfg->cluster.secret;
	if (!ld.oom && !cfg->security.nonce_secret && diag->errors == errors)
		nonce_secret_derive(&ld);
	if (!cfg->cluster.secret)
		cfg->cluster.secret = cfg->security.nonce_secret;
	if (ld.oom)
		diag_add(diag, DIAG_ERROR, "pjsip.conf", 0, "out of memory");
	load_done(&ld);
	msgs_sort(diag, first);

	if (diag->errors != errors) {
		config_free(cfg);
		return EINVAL;
	}
	*cfgp = cfg;
	return 0;
}

struct kv_config *config_ref(struct kv_config *cfg)
{
	if (cfg)
		__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
	return cfg;
}

void config_unref(struct kv_config *cfg)
{
	if (cfg && __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) == 0)
		config_free(cfg);
}

int config_check(const char *dir, FILE *fp)
{
	struct kv_config *cfg = NULL;
	struct diag diag;
	int err;

	diag_init(&diag);
	err = config_load(dir, &cfg, &diag);
	diag_print(&diag, fp);
	fflush(fp);
	config_unref(cfg);
	diag_free(&diag);
	return err ? 1 : 0;
}

/* Order of strcmp() between a (name, len) key and a C string. */
static int key_cmp(const char *key, size_t len, const char *name)
{
	size_t n = strlen(name);
	int c = memcmp(key, name, len < n ? len : n);

	if (c)
		return c;
	return (len > n) - (len < n);
}

/* The arrays are sorted by name (strcmp), without duplicates. */
#define BSEARCH(arr, count, key, len)                                    \
	do {                                                             \
		size_t lo = 0, hi = (count);                             \
		while (lo < hi) {                                        \
			size_t mid = lo + (hi - lo) / 2;                 \
			int c = key_cmp((key), (len), (arr)[mid].name);  \
			if (c == 0)                                      \
				return &(arr)[mid];                      \
			if (c < 0)                                       \
				hi = mid;                                \
			else                                             \
				lo = mid + 1;                            \
		}                                                        \
		return NULL;                                             \
	} while (0)

struct cfg_endpoint *config_endpoint(const struct kv_config *cfg, const char *name, size_t len)
{
	if (!cfg || !name)
		return NULL;
	BSEARCH(cfg->endpoints, cfg->endpoints_n, name, len);
}

void config_registration_line(const struct kv_config *cfg,
			      const struct cfg_registration *r, char out[17])
{
	static const char hex[] = "0123456789abcdef";
	const char *secret = cfg->cluster.secret ? cfg->cluster.secret : "";
	struct hash_key k;
	uint64_t h;

	hash_key_from(&k, secret, strlen(secret));
	h = hash_sip(&k, r->name, strlen(r->name));
	for (int i = 0; i < 16; i++)
		out[i] = hex[(h >> (60 - 4 * i)) & 0xf];
	out[16] = '\0';
}

const struct cfg_registration *config_registration_by_line(const struct kv_config *cfg,
							   const char *line, size_t len)
{
	char want[17];

	if (!cfg || !line || len != 16)
		return NULL;
	for (size_t i = 0; i < cfg->registrations_n; i++) {
		const struct cfg_registration *r = &cfg->registrations[i];

		if (!r->line)
			continue;
		config_registration_line(cfg, r, want);
		if (!memcmp(want, line, 16))
			return r;
	}
	return NULL;
}

struct cfg_aor *config_aor(const struct kv_config *cfg, const char *name, size_t len)
{
	if (!cfg || !name)
		return NULL;
	BSEARCH(cfg->aors, cfg->aors_n, name, len);
}

struct cfg_auth *config_auth(const struct kv_config *cfg, const char *name, size_t len)
{
	if (!cfg || !name)
		return NULL;
	BSEARCH(cfg->auths, cfg->auths_n, name, len);
}

/*
 * The most specific match wins (longest prefix), then the first in the
 * file: Asterisk leaves overlapping identify sections unordered, and the
 * most specific network is what an administrator means.
 */
struct cfg_endpoint *config_identify(const struct kv_config *cfg, const struct sockaddr *sa)
{
	struct cfg_endpoint *best = NULL;
	unsigned best_prefix = 0;

	if (!cfg || !sa)
		return NULL;
	for (size_t i = 0; i < cfg->identifies_n; i++) {
		const struct cfg_identify *id = &cfg->identifies[i];

		for (size_t j = 0; j < id->match_n; j++) {
			const struct cfg_net *net = &id->match[j];
			/* Compare IPv4 and IPv6 prefixes on one scale. */
			unsigned prefix = net->prefix +
				(net->addr.ss_family == AF_INET ? 96 : 0);

			if ((!best || prefix > best_prefix) && cfgval_net_match(net, sa)) {
				best = id->endpoint;
				best_prefix = prefix;
			}
		}
	}
	return best;
}
