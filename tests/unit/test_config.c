/*
 * test_config.c - configuration semantics: pjsip.conf objects, defaults,
 * references, every diagnostic with its exact text, the small files, the
 * shipped default configuration, lookups and --check output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/cfgval.h"
#include "config/config.h"
#include "config/mohconf.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif

/* The minimal valid pjsip.conf most tests start from. */
#define TRANSPORT "[t]\ntype=transport\n"

struct fx {
	char dir[64];
	struct diag diag;
	struct kv_config *cfg;
	int rc;
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-config-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	config_unref(fx->cfg);
	diag_free(&fx->diag);
	nftw(fx->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void put(struct fx *fx, const char *name, const char *text)
{
	char path[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	for (slash = strchr(path + strlen(fx->dir) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(path, 0755);
		*slash = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load_dir(struct fx *fx, const char *dir)
{
	config_unref(fx->cfg);
	fx->cfg = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
	fx->rc = config_load(dir, &fx->cfg, &fx->diag);
	if (fx->rc)
		assert_null(fx->cfg);
	else
		assert_non_null(fx->cfg);
	return fx->rc;
}

static int load(struct fx *fx)
{
	return load_dir(fx, fx->dir);
}

static const char *msgs(struct fx *fx)
{
	static char out[16384];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(out); i++) {
		char line[1024];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	return out;
}

/* Load a pjsip.conf alone and return its messages. */
static const char *pjsip(struct fx *fx, const char *text)
{
	put(fx, "pjsip.conf", text);
	load(fx);
	return msgs(fx);
}

static struct cfg_endpoint *ep(struct fx *fx, const char *name)
{
	return config_endpoint(fx->cfg, name, strlen(name));
}

/* The entry of cfg->files whose path ends with suffix, or NULL. */
static const char *shipped_file(const struct kv_config *cfg, const char *suffix)
{
	size_t n = strlen(suffix);

	for (size_t i = 0; i < cfg->files_n; i++) {
		size_t len = strlen(cfg->files[i]);

		if (len >= n && !strcmp(cfg->files[i] + len - n, suffix))
			return cfg->files[i];
	}
	return NULL;
}

static void test_shipped(void **state)
{
	struct fx *fx = *state;
	struct kv_config *cfg;
	char secret[80];

	assert_int_equal(load_dir(fx, KV_SOURCE_DIR "/asterisk_config"), 0);
	assert_string_equal(msgs(fx), "");
	assert_int_equal(fx->diag.errors, 0);
	assert_int_equal(fx->diag.warnings, 0);
	cfg = fx->cfg;

	assert_int_equal(cfg->endpoints_n, 3);
	assert_int_equal(cfg->auths_n, 3);
	assert_int_equal(cfg->aors_n, 3);
	assert_int_equal(cfg->transports_n, 2);
	assert_int_equal(cfg->transports[0].proto, CFG_PROTO_UDP);
	assert_int_equal(cfg->transports[1].proto, CFG_PROTO_TCP);
	for (int i = 1; i <= 3; i++) {
		char name[8], pw[16];
		struct cfg_endpoint *e;

		snprintf(name, sizeof(name), "100%d", i);
		snprintf(pw, sizeof(pw), "kubevox100%d", i);
		e = ep(fx, name);
		assert_non_null(e);
		assert_string_equal(e->context, "from-internal");
		assert_int_equal(e->allow_n, 2);
		assert_int_equal(e->allow[0], CFG_CODEC_PCMU);
		assert_int_equal(e->allow[1], CFG_CODEC_PCMA);
		assert_non_null(e->auth);
		assert_string_equal(e->auth->username, name);
		assert_string_equal(e->auth->password, pw);
		assert_string_equal(e->auth->realm, "asterisk");
		assert_int_equal(e->auth->algs_n, 1);
		assert_int_equal(e->auth->algs[0], CFG_ALG_MD5);
		assert_int_equal(e->aors_n, 1);
		assert_string_equal(e->aors[0]->name, name);
		assert_int_equal(e->aors[0]->max_contacts, 3);
		assert_true(e->aors[0]->remove_existing);
		assert_null(e->transport);
		assert_non_null(e->callerid);
	}
	assert_int_equal(cfg->rtpstart, 10000);
	assert_int_equal(cfg->rtpend, 20000);
	assert_string_equal(cfg->astlogdir, "/var/log/kubevox");
	assert_string_equal(cfg->user_agent, "KubeVox");
	/* pjsip_auth.conf, included by pjsip.conf, is one of them: a change of
	 * password (a Kubernetes Secret update) must trigger a reload too. */
	assert_int_equal(cfg->files_n, 10);
	assert_non_null(shipped_file(cfg, "/asterisk_config/pjsip_auth.conf"));
	/* Music on hold: Debian's opsound files under astdatadir. */
	assert_non_null(shipped_file(cfg, "/asterisk_config/musiconhold.conf"));
	assert_int_equal(cfg->moh_classes_n, 1);
	assert_string_equal(cfg->moh_classes[0].name, "default");
	assert_string_equal(cfg->moh_classes[0].directory, "/usr/share/asterisk/moh");
	assert_string_equal(ep(fx, "1001")->moh_suggest, "default");
	/* CDRs go to cdr-csv/Master.csv, as Asterisk's default cdr.conf. */
	assert_non_null(shipped_file(cfg, "/asterisk_config/cdr.conf"));
	assert_true(cfg->cdr.enabled);
	assert_true(cfg->cdr.csv);
	/* A mailbox per phone, as VoiceMail(${EXTEN}@default) wants. */
	assert_non_null(shipped_file(cfg, "/asterisk_config/voicemail.conf"));
	assert_int_equal(cfg->vm.boxes_n, 3);
	assert_int_equal(cfg->vm.maxsecs, 180);

	/* The derived nonce secret is the same on every load. */
	assert_non_null(cfg->security.nonce_secret);
	assert_int_equal(strlen(cfg->security.nonce_secret), 64);
	snprintf(secret, sizeof(secret), "%s", cfg->security.nonce_secret);
	assert_int_equal(load_dir(fx, KV_SOURCE_DIR "/asterisk_config"), 0);
	assert_string_equal(fx->cfg->security.nonce_secret, secret);
}

static void test_defaults(void **state)
{
	struct fx *fx = *state;
	struct kv_config *cfg;
	const struct sockaddr_in *sin;

	assert_string_equal(pjsip(fx,
		"[transport-udp]\ntype=transport\n"
		"[1001]\ntype=endpoint\nauth=1001\naors=1001\n"
		"[1001]\ntype=auth\nusername=1001\npassword=secret1001\n"
		"[1001]\ntype=aor\n"), "");
	cfg = fx->cfg;
	assert_string_equal(cfg->default_realm, "asterisk");
	assert_string_equal(cfg->user_agent, "KubeVox");
	assert_int_equal(cfg->default_algs_n, 1);
	assert_int_equal(cfg->default_algs[0], CFG_ALG_MD5);
	assert_int_equal(cfg->rtpstart, 5000);
	assert_int_equal(cfg->rtpend, 31000);
	assert_string_equal(cfg->astlogdir, "/var/log/asterisk");
	assert_string_equal(cfg->astspooldir, "/var/spool/asterisk");
	assert_int_equal(cfg->security.ban_failures, 20);
	assert_int_equal(cfg->security.ban_window, 60);
	assert_int_equal(cfg->security.ban_time, 300);
	assert_int_equal(cfg->security.nonce_lifetime, 300);
	assert_non_null(cfg->security.nonce_secret);

	sin = (const struct sockaddr_in *)&cfg->transports[0].bind;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5060);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(cfg->transports[0].proto, CFG_PROTO_UDP);
	assert_null(cfg->transports[0].external_signaling_address);
	assert_int_equal(cfg->transports[0].external_signaling_port, 0);

	assert_string_equal(ep(fx, "1001")->context, "default");
	assert_int_equal(ep(fx, "1001")->allow_n, 0);
	assert_string_equal(cfg->aors[0].name, "1001");
	assert_int_equal(cfg->aors[0].max_contacts, 0);
	assert_false(cfg->aors[0].remove_existing);
	assert_int_equal(cfg->aors[0].minimum_expiration, 60);
	assert_int_equal(cfg->aors[0].maximum_expiration, 7200);
	assert_int_equal(cfg->aors[0].default_expiration, 3600);
	assert_int_equal(cfg->aors[0].qualify_frequency, 0);
	assert_string_equal(cfg->auths[0].realm, "asterisk");
	assert_string_equal(cfg->auths[0].file, "pjsip.conf");
	assert_int_equal(cfg->auths[0].line, 7);
	assert_int_equal(cfg->refs, 1);
	assert_ptr_equal(config_ref(cfg), cfg);
	assert_int_equal(cfg->refs, 2);
	config_unref(cfg);
	assert_int_equal(cfg->refs, 1);
}

static void test_values(void **state)
{
	struct fx *fx = *state;
	struct cfg_transport *t;
	struct cfg_auth *a;
	struct cfg_aor *aor;
	struct cfg_endpoint *e;
	const struct sockaddr_in6 *s6;

	assert_string_equal(pjsip(fx,
		"[global]\ntype=global\ndefault_realm=example.com\nuser_agent=PBX 1\n"
		"default_auth_algorithms_uas=sha-256, MD5\n"
		"[t6]\ntype=transport\nprotocol=TCP\nbind=[::1]:5070\n"
		"external_signaling_address=sip.example.com\nexternal_signaling_port=5080\n"
		"external_media_address=203.0.113.1\nlocal_net=10.0.0.0/8,192.168.0.0/255.255.0.0\n"
		"local_net=fd00::/8\n"
		"[a]\ntype=auth\nauth_type=digest\nusername=u\npassword=p\nrealm=r\n"
		"supported_algorithms_uas=md5\n"
		"[b]\ntype=auth\nauth_type=md5\nusername=u\npassword=ignored\n"
		"md5_cred=0123456789ABCDEF0123456789abcdef\nsupported_algorithms_uas=md5\n"
		"[c]\ntype=auth\nusername=u\n"
		"password_digest=SHA-256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		"password_digest=MD5:0123456789abcdef0123456789abcdef\n"
		"[x]\ntype=aor\nmax_contacts=5\nremove_existing=on\nminimum_expiration=2\n"
		"default_expiration=60\nmaximum_expiration=3600\n"
		"contact=sip:a@192.0.2.1:5060, sips:b@example.com\ncontact=sip:c@h\n"
		"[e]\ntype=endpoint\ntransport=t6\ncontext=ctx\ncallerid=\"Al\" <100>\n"
		"aors=x,x\naors=x\nallow=all\ndisallow=alaw\nallow=!gsm\n"), "");

	assert_string_equal(fx->cfg->default_realm, "example.com");
	assert_string_equal(fx->cfg->user_agent, "PBX 1");
	t = &fx->cfg->transports[0];
	assert_int_equal(t->proto, CFG_PROTO_TCP);
	s6 = (const struct sockaddr_in6 *)&t->bind;
	assert_int_equal(s6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(s6->sin6_port), 5070);
	assert_string_equal(t->external_signaling_address, "sip.example.com");
	assert_int_equal(t->external_signaling_port, 5080);
	assert_string_equal(t->external_media_address, "203.0.113.1");
	assert_int_equal(t->local_net_n, 3);
	assert_int_equal(t->local_net[1].prefix, 16);
	assert_int_equal(t->local_net[2].prefix, 8);

	a = config_auth(fx->cfg, "a", 1);
	assert_string_equal(a->realm, "r");
	assert_int_equal(a->algs_n, 1);
	assert_int_equal(a->algs[0], CFG_ALG_MD5);
	a = config_auth(fx->cfg, "b", 1);
	assert_null(a->password);
	assert_string_equal(a->password_digest, "0123456789abcdef0123456789abcdef");
	assert_string_equal(a->realm, "example.com");
	a = config_auth(fx->cfg, "c", 1);
	assert_int_equal(a->algs_n, 2);
	assert_int_equal(a->algs[0], CFG_ALG_SHA256);
	assert_int_equal(a->algs[1], CFG_ALG_MD5);
	assert_non_null(a->password_digest_sha256);
	assert_non_null(a->password_digest);

	aor = config_aor(fx->cfg, "x", 1);
	assert_int_equal(aor->max_contacts, 5);
	assert_true(aor->remove_existing);
	assert_int_equal(aor->minimum_expiration, 2);
	assert_int_equal(aor->contact_n, 3);
	assert_string_equal(aor->contact[1], "sips:b@example.com");

	e = ep(fx, "e");
	assert_ptr_equal(e->transport, t);
	assert_string_equal(e->context, "ctx");
	assert_string_equal(e->callerid, "\"Al\" <100>");
	assert_int_equal(e->aors_n, 1);
	assert_ptr_equal(e->aors[0], aor);
	assert_null(e->auth);
	/* all, minus alaw, minus gsm: in canonical order. */
	assert_int_equal(e->allow_n, 3);
	assert_int_equal(e->allow[0], CFG_CODEC_PCMU);
	assert_int_equal(e->allow[1], CFG_CODEC_G722);
	assert_int_equal(e->allow[2], CFG_CODEC_OPUS);
}

static void test_codecs(void **state)
{
	struct fx *fx = *state;
	struct cfg_endpoint *e;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[e]\ntype=endpoint\nallow=g722\nallow=ulaw,alaw\ndisallow=all\n"
		"allow=alaw, g729 ,ulaw:20,opus,g722\n"),
		"pjsip.conf:8: warning: endpoint 'e': codec 'g729' is not supported (ignored)\n"
		"pjsip.conf:8: warning: endpoint 'e': packetisation ':20' of codec 'ulaw' "
		"is not supported yet (ignored)\n");
	e = ep(fx, "e");
	assert_int_equal(e->allow_n, 4);
	assert_int_equal(e->allow[0], CFG_CODEC_PCMA);
	assert_int_equal(e->allow[1], CFG_CODEC_PCMU);
	assert_int_equal(e->allow[2], CFG_CODEC_OPUS);
	assert_int_equal(e->allow[3], CFG_CODEC_G722);
}

static void test_missing_pjsip(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "pjsip.conf: cannot open: No such file or directory\n");
}

static void test_transport_errors(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx,
		"[t1]\ntype=transport\nprotocol=tls\nbind=0.0.0.0:5061\n"    /* 3 */
		"[t2]\ntype=transport\nprotocol=sctp\nbind=0.0.0.0:5062\n"   /* 7 */
		"[t3]\ntype=transport\nbind=127.0.0.1:99999\n"                /* 11 */
		"[t4]\ntype=transport\nbind=localhost\n"                      /* 14 */
		"[t5]\ntype=transport\nbind=0.0.0.0\n"                        /* 17 */
		"[t6]\ntype=transport\nbind=0.0.0.0:5060\n"                   /* 20: as t5 */
		"[t7]\ntype=transport\nbind=10.0.0.1\nexternal_signaling_port=x\n"
		"local_net=10.0.0.0/33\n"                                      /* 25 */
		"[t8]\ntype=transport\nprotocol=wss\nbind=[::1\n"),           /* 28 */
		"pjsip.conf:3: transport 't1': protocol tls is not supported\n"
		"pjsip.conf:7: transport 't2': invalid protocol 'sctp' (expected udp or tcp)\n"
		"pjsip.conf:11: transport 't3': invalid port in bind '127.0.0.1:99999' "
		"(expected 1 to 65535)\n"
		"pjsip.conf:14: transport 't4': invalid bind address 'localhost' (expected an "
		"IP address, optionally with :port)\n"
		"pjsip.conf:20: transport 't6': udp 0.0.0.0:5060 is already bound by transport 't5'\n"
		"pjsip.conf:24: transport 't7': invalid external_signaling_port 'x' (expected a "
		"number from 0 to 65535)\n"
		"pjsip.conf:25: transport 't7': invalid local_net '10.0.0.0/33' (expected an IP "
		"address or network such as 192.168.0.0/16; hostnames are not supported)\n"
		"pjsip.conf:28: transport 't8': protocol wss is not supported\n"
		"pjsip.conf:29: transport 't8': invalid bind address '[::1' (expected an IP "
		"address, optionally with :port)\n");
	assert_int_equal(fx->rc, EINVAL);

	assert_string_equal(pjsip(fx, "[g]\ntype=global\n"),
			    "pjsip.conf: no transport defined\n");
	/* UDP and TCP may share an address; two UDP without bind= may not. */
	assert_string_equal(pjsip(fx,
		"[u]\ntype=transport\nbind=0.0.0.0:5060\n"
		"[t]\ntype=transport\nprotocol=tcp\nbind=0.0.0.0:5060\n"), "");
	assert_string_equal(pjsip(fx,
		"[u]\ntype=transport\n[v]\ntype=transport\n"),
		"pjsip.conf:3: transport 'v': udp 0.0.0.0:5060 is already bound by transport 'u'\n");
}

static void test_auth_errors(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[a1]\ntype=auth\nauth_type=plain\nusername=u\npassword=p\n"          /* 3 */
		"[a2]\ntype=auth\npassword=p\n"                                        /* 8 */
		"[a3]\ntype=auth\nusername=u\n"                                        /* 11 */
		"[a4]\ntype=auth\nauth_type=md5\nusername=u\npassword=p\n"             /* 14 */
		"[a5]\ntype=auth\nauth_type=md5\nusername=u\nmd5_cred=abc\n"           /* 19 */
		"[a6]\ntype=auth\nusername=u\npassword=p\nsupported_algorithms_uas=md5,sha-1\n"
		"[a7]\ntype=auth\nusername=u\npassword=p\nsupported_algorithms_uas=sha-512-256\n"
		"[a8]\ntype=auth\nusername=u\npassword_digest=0123456789abcdef0123456789abcdef\n"
		"supported_algorithms_uas=sha-256,md5\n"                               /* 38 */
		"[a9]\ntype=auth\nusername=u\npassword=p\nauth_type=google_oauth\n"
		"password_digest=SHA-1:00\n"                                           /* 44 */
		"[a10]\ntype=auth\nusername=u\npassword=p\n"
		"supported_algorithms_uas=sha-512-256,sha-256\n"),
		"pjsip.conf:5: auth 'a1': invalid auth_type 'plain' (expected userpass, digest or md5)\n"
		"pjsip.conf:8: auth 'a2': username is required\n"
		"pjsip.conf:11: auth 'a3': a password or password_digest is required\n"
		"pjsip.conf:14: auth 'a4': auth_type=md5 needs md5_cred or password_digest\n"
		"pjsip.conf:19: auth 'a5': auth_type=md5 needs md5_cred or password_digest\n"
		"pjsip.conf:23: auth 'a5': invalid md5_cred (expected 32 hex digits)\n"
		"pjsip.conf:28: auth 'a6': unknown algorithm 'sha-1' in supported_algorithms_uas "
		"(expected md5 or sha-256)\n"
		"pjsip.conf:33: warning: auth 'a7': algorithm 'sha-512-256' is not supported (ignored)\n"
		"pjsip.conf:33: auth 'a7': supported_algorithms_uas has no supported algorithm\n"
		"pjsip.conf:34: auth 'a8': algorithm SHA-256 needs a password or a SHA-256 "
		"password_digest\n"
		"pjsip.conf:43: auth 'a9': auth_type google_oauth is not supported\n"
		"pjsip.conf:44: auth 'a9': unknown algorithm 'SHA-1' in password_digest "
		"(expected MD5 or SHA-256)\n"
		"pjsip.conf:49: warning: auth 'a10': algorithm 'sha-512-256' is not supported "
		"(ignored)\n");
	assert_int_equal(fx->rc, EINVAL);
}

static void test_aor_errors(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[x1]\ntype=aor\nmax_contacts=-1\nremove_existing=maybe\n"          /* 3 */
		"[x2]\ntype=aor\nminimum_expiration=100\nmaximum_expiration=50\n"   /* 7 */
		"[x3]\ntype=aor\ndefault_expiration=30\n"                           /* 11 */
		"[x4]\ntype=aor\ncontact=192.0.2.1\nqualify_frequency=60\n"         /* 14 */
		"[x5]\ntype=aor\ndefault_expiration=99999999999\n"),                /* 18 */
		"pjsip.conf:5: aor 'x1': invalid max_contacts '-1' (expected a number from 0 to 65535)\n"
		"pjsip.conf:6: aor 'x1': invalid remove_existing 'maybe' (expected yes or no)\n"
		"pjsip.conf:7: aor 'x2': minimum_expiration (100) is greater than "
		"maximum_expiration (50)\n"
		"pjsip.conf:11: aor 'x3': default_expiration (30) must be between "
		"minimum_expiration (60) and maximum_expiration (7200)\n"
		"pjsip.conf:16: aor 'x4': invalid contact '192.0.2.1' (expected a sip: or sips: URI)\n"
		"pjsip.conf:17: warning: aor 'x4': option 'qualify_frequency' is not supported "
		"yet (contacts are not qualified)\n"
		"pjsip.conf:20: aor 'x5': invalid default_expiration '99999999999' (expected a "
		"number from 0 to 2147483647)\n");
}

static void test_reference_errors(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[1001]\ntype=endpoint\n"  /* 3 */
		"auth=nope\n"              /* 5 */
		"aors=1001,missing\n"      /* 6 */
		"transport=tx\n"           /* 7 */
		"[1002]\ntype=endpoint\nauth=a,b\n"   /* 10 */
		"[1001]\ntype=aor\n"
		"[a]\ntype=auth\nusername=a\npassword=a\n"
		"[b]\ntype=auth\nusername=b\npassword=b\n"
		"[id]\ntype=identify\nendpoint=ghost\nmatch=192.0.2.1\n"   /* 21 */
		"[id2]\ntype=identify\nmatch=999.1.2.3, sip.example.com\n"   /* 25 */
		"[id3]\ntype=identify\nendpoint=1001\n"),                    /* 28 */
		"pjsip.conf:5: endpoint '1001': auth 'nope' is not defined\n"
		"pjsip.conf:6: endpoint '1001': aor 'missing' is not defined\n"
		"pjsip.conf:7: endpoint '1001': transport 'tx' is not defined\n"
		"pjsip.conf:10: endpoint '1002': several auth sections per endpoint are not "
		"supported yet\n"
		"pjsip.conf:23: identify 'id': endpoint 'ghost' is not defined\n"
		"pjsip.conf:25: identify 'id2': endpoint is required\n"
		"pjsip.conf:27: identify 'id2': invalid match '999.1.2.3' (expected an IP "
		"address, a network such as 192.168.0.0/16, or a host name)\n"
		"pjsip.conf:28: identify 'id3': match or match_header is required\n");
	assert_int_equal(fx->rc, EINVAL);
}

static void test_types(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[pub]\ntype=outbound-publish\nserver_uri=sip:x\n" /* 3 */
		"[sys]\ntype=system\ntimer_t1=500\n"                /* 6 */
		"[notype]\ncontext=x\n"                             /* 9 */
		"[odd]\ntype=Endpoint\n"                            /* 11 */
		"[tpl](!)\nfoo=bar\n"),                             /* templates are not objects */
		"pjsip.conf:3: warning: type=outbound-publish is not supported yet; section ignored\n"
		"pjsip.conf:6: warning: type=system is not supported yet; section ignored\n"
		"pjsip.conf:9: section 'notype': no type= option\n"
		"pjsip.conf:12: section 'odd': unknown type 'Endpoint'\n");
}

/* Transfers (issue #12 item 5): allow_transfer, transfer_context and
 * refer_blind_progress with res_pjsip's defaults, no warning. */
static void test_endpoint_transfer(void **state)
{
	struct fx *fx = *state;
	const struct cfg_endpoint *e;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[a]\ntype=endpoint\nallow_transfer=no\ntransfer_context=xfer\n"
		"refer_blind_progress=no\n"
		"[b]\ntype=endpoint\n"), "");
	assert_int_equal(fx->rc, 0);
	e = config_endpoint(fx->cfg, "a", 1);
	assert_non_null(e);
	assert_false(e->allow_transfer);
	assert_string_equal(e->transfer_context, "xfer");
	assert_false(e->refer_blind_progress);
	e = config_endpoint(fx->cfg, "b", 1);
	assert_non_null(e);
	assert_true(e->allow_transfer);
	assert_null(e->transfer_context);
	assert_true(e->refer_blind_progress);

	assert_string_equal(pjsip(fx, TRANSPORT
		"[x]\ntype=endpoint\nallow_transfer=sometimes\n"),
		"pjsip.conf:5: endpoint 'x': invalid allow_transfer 'sometimes' (expected yes or no)\n");
	assert_int_equal(fx->rc, EINVAL);
}

/* An endpoint's options for the calls KubeVox makes to it (a trunk:
 * issue #11 item 2), with res_pjsip's names and defaults. */
static void test_endpoint_outbound(void **state)
{
	struct fx *fx = *state;
	const struct cfg_endpoint *e;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[prov]\ntype=auth\nauth_type=userpass\nusername=u\npassword=p\n"
		"[itsp]\ntype=endpoint\noutbound_auth=prov\nfrom_user=+4420001\n"
		"from_domain=sip.example.com\noutbound_proxy=sip:proxy.example.com:5070\\;lr\n"
		"send_pai=yes\nsend_rpid=yes\ntrust_id_outbound=yes\n"
		"[plain]\ntype=endpoint\n"), "");
	assert_int_equal(fx->rc, 0);
	e = config_endpoint(fx->cfg, "itsp", 4);
	assert_non_null(e);
	assert_string_equal(e->outbound_auth->username, "u");
	assert_string_equal(e->from_user, "+4420001");
	assert_string_equal(e->from_domain, "sip.example.com");
	assert_string_equal(e->outbound_proxy, "sip:proxy.example.com:5070;lr");
	assert_true(e->send_pai);
	assert_true(e->send_rpid);
	assert_true(e->trust_id_outbound);
	e = config_endpoint(fx->cfg, "plain", 5);
	assert_non_null(e);
	assert_null(e->outbound_auth);
	assert_null(e->from_user);
	assert_null(e->from_domain);
	assert_null(e->outbound_proxy);
	assert_false(e->send_pai);
	assert_false(e->send_rpid);
	assert_false(e->trust_id_outbound);

	assert_string_equal(pjsip(fx, TRANSPORT
		"[x]\ntype=endpoint\noutbound_auth=nope\nfrom_user=a@b\n"
		"from_domain=exa mple\noutbound_proxy=http://p\nsend_pai=maybe\n"),
		"pjsip.conf:5: endpoint 'x': auth 'nope' is not defined\n"
		"pjsip.conf:6: endpoint 'x': invalid from_user 'a@b' (a user part, without '@', "
		"spaces or quotes)\n"
		"pjsip.conf:7: endpoint 'x': invalid from_domain 'exa mple' (a host name or "
		"address)\n"
		"pjsip.conf:8: endpoint 'x': invalid outbound_proxy 'http://p' (expected a sip: "
		"URI)\n"
		"pjsip.conf:9: endpoint 'x': invalid send_pai 'maybe' (expected yes or no)\n");
	assert_int_equal(fx->rc, EINVAL);
}

/* type=registration: Asterisk's options, defaults and references. */
static void test_registration(void **state)
{
	struct fx *fx = *state;
	const struct cfg_registration *r;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[prov]\ntype=auth\nauth_type=userpass\nusername=u\npassword=p\n"
		"[trunk]\ntype=endpoint\n"
		"[reg]\ntype=registration\nserver_uri=sip:sip.example.com\n"
		"client_uri=sip:1234@sip.example.com\n"
		"[full]\ntype=registration\nserver_uri=sip:127.0.0.1:5080;transport=tcp\n"
		"client_uri=sip:u@example.com\ncontact_user=in\noutbound_auth=prov\n"
		"expiration=120\nretry_interval=5\nforbidden_retry_interval=30\n"
		"fatal_retry_interval=7\nmax_retries=3\nmax_random_initial_delay=0\n"
		"auth_rejection_permanent=no\ntransport=t\nline=yes\nendpoint=trunk\n"
		"contact_header_params=x=1\nsupport_path=yes\n"),
		"pjsip.conf:31: warning: registration 'full': option 'support_path' is "
		"not supported yet (ignored)\n");
	assert_int_equal(fx->rc, 0);
	assert_int_equal(fx->cfg->registrations_n, 2);
	r = &fx->cfg->registrations[0];
	assert_string_equal(r->name, "reg");
	assert_string_equal(r->server_uri, "sip:sip.example.com");
	assert_string_equal(r->client_uri, "sip:1234@sip.example.com");
	assert_string_equal(r->contact_user, "s");
	assert_null(r->outbound_auth);
	assert_null(r->transport);
	assert_int_equal(r->expiration, 3600);
	assert_int_equal(r->retry_interval, 60);
	assert_int_equal(r->forbidden_retry_interval, 0);
	assert_int_equal(r->fatal_retry_interval, 0);
	assert_int_equal(r->max_retries, 10);
	assert_int_equal(r->max_random_initial_delay, 10);
	assert_true(r->auth_rejection_permanent);
	assert_false(r->line);
	r = &fx->cfg->registrations[1];
	assert_string_equal(r->contact_user, "in");
	assert_string_equal(r->outbound_auth->username, "u");
	assert_string_equal(r->transport->name, "t");
	assert_string_equal(r->endpoint->name, "trunk");
	assert_string_equal(r->contact_header_params, "x=1");
	assert_int_equal(r->expiration, 120);
	assert_int_equal(r->retry_interval, 5);
	assert_int_equal(r->forbidden_retry_interval, 30);
	assert_int_equal(r->fatal_retry_interval, 7);
	assert_int_equal(r->max_retries, 3);
	assert_int_equal(r->max_random_initial_delay, 0);
	assert_false(r->auth_rejection_permanent);
	assert_true(r->line);

	assert_string_equal(pjsip(fx, TRANSPORT
		"[a]\ntype=registration\n"                                   /* 3 */
		"[b]\ntype=registration\nserver_uri=http://x\nclient_uri=sip:u@x\n" /* 5 */
		"[c]\ntype=registration\nserver_uri=sips:x\nclient_uri=sip:u@x:99999\n" /* 9 */
		"[d]\ntype=registration\nserver_uri=sip:x\nclient_uri=sip:u@x\n" /* 13 */
		"outbound_auth=nope\ntransport=nope\nendpoint=nope\nexpiration=0\n"
		"[e]\ntype=registration\nserver_uri=sip:[::1\nclient_uri=sip:u@x\n" /* 21 */
		"line=yes\nbogus=1\ncontact_user=a@b\n"
		"[d]\ntype=registration\nserver_uri=sip:y\nclient_uri=sip:u@y\n"), /* 28 */
		"pjsip.conf:3: registration 'a': server_uri is required\n"
		"pjsip.conf:3: registration 'a': client_uri is required\n"
		"pjsip.conf:7: registration 'b': invalid server_uri 'http://x': expected a sip: URI\n"
		"pjsip.conf:11: registration 'c': invalid server_uri 'sips:x': sips: needs TLS, "
		"which is not supported\n"
		"pjsip.conf:12: registration 'c': invalid client_uri 'sip:u@x:99999': invalid "
		"port (expected 1 to 65535)\n"
		"pjsip.conf:17: registration 'd': auth 'nope' is not defined\n"
		"pjsip.conf:18: registration 'd': transport 'nope' is not defined\n"
		"pjsip.conf:19: registration 'd': endpoint 'nope' is not defined\n"
		"pjsip.conf:20: registration 'd': invalid expiration '0' (expected a number "
		"from 1 to 2147483647)\n"
		"pjsip.conf:23: registration 'e': invalid server_uri 'sip:[::1': an IPv6 host "
		"is written [address]\n"
		"pjsip.conf:25: registration 'e': line=yes needs endpoint= (the endpoint "
		"that calls through this registration belong to)\n"
		"pjsip.conf:26: registration 'e': unknown option 'bogus' for type=registration\n"
		"pjsip.conf:27: registration 'e': invalid contact_user 'a@b' (a user part, "
		"without @, :, ; or spaces)\n"
		"pjsip.conf:28: duplicate registration 'd' (first defined at pjsip.conf:13)\n");
	assert_int_equal(fx->rc, EINVAL);
}

/* dtmf_mode: res_pjsip's values; inband is not supported. */
static void test_dtmf_mode(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[a]\ntype=endpoint\n"
		"[b]\ntype=endpoint\ndtmf_mode=info\n"
		"[c]\ntype=endpoint\ndtmf_mode=AUTO\n"
		"[d]\ntype=endpoint\ndtmf_mode=auto_info\n"
		"[e]\ntype=endpoint\ndtmf_mode=rfc4733\n"), "");
	assert_int_equal(ep(fx, "a")->dtmf_mode, CFG_DTMF_RFC4733);
	assert_int_equal(ep(fx, "b")->dtmf_mode, CFG_DTMF_INFO);
	assert_int_equal(ep(fx, "c")->dtmf_mode, CFG_DTMF_AUTO);
	assert_int_equal(ep(fx, "d")->dtmf_mode, CFG_DTMF_AUTO_INFO);
	assert_int_equal(ep(fx, "e")->dtmf_mode, CFG_DTMF_RFC4733);
	assert_string_equal(pjsip(fx, TRANSPORT "[a]\ntype=endpoint\ndtmf_mode=sip\n"),
		"pjsip.conf:5: endpoint 'a': invalid dtmf_mode 'sip' (expected rfc4733, info, "
		"auto or auto_info)\n");
}

static void test_options(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[1001]\ntype=endpoint\ndirect_media=no\nfoo=bar\nDTMF_MODE=inband\n"    /* 3 */
		"[g]\ntype=global\nendpoint_identifier_order=ip\nbogus=1\n"               /* 8 */
		"[a]\ntype=auth\nusername=u\npassword=p\nnonce_lifetime=32\n"             /* 12 */
		"[id]\ntype=identify\nendpoint=1001\nmatch=10.0.0.1\nmatch_request_uri=x\n"
		"[t2]\ntype=transport\nbind=0.0.0.0:5070\ntos=cs3\ncert_file=x\n"),
		"pjsip.conf:5: warning: endpoint '1001': option 'direct_media' is not supported "
		"yet (ignored)\n"
		"pjsip.conf:6: endpoint '1001': unknown option 'foo' for type=endpoint\n"
		"pjsip.conf:7: warning: endpoint '1001': dtmf_mode 'inband' is not supported "
		"(rfc4733 used)\n"
		"pjsip.conf:10: warning: global 'g': option 'endpoint_identifier_order' is not "
		"supported yet (ignored)\n"
		"pjsip.conf:11: global 'g': unknown option 'bogus' for type=global\n"
		"pjsip.conf:16: warning: auth 'a': option 'nonce_lifetime' is not supported yet "
		"(ignored)\n"
		"pjsip.conf:21: warning: identify 'id': option 'match_request_uri' is not "
		"supported yet (ignored)\n"
		"pjsip.conf:25: warning: transport 't2': option 'tos' is not supported yet "
		"(ignored)\n"
		"pjsip.conf:26: warning: transport 't2': option 'cert_file' is not supported "
		"yet (ignored)\n");
}

/* A problem on a template line is reported once, naming the template. */
static void test_template_once(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[ep](!)\ntype=endpoint\ndirect_media=no\nauth=shared\n"   /* 3 */
		"[1](ep)\n[2](ep)\n[3](ep)\n"),
		"pjsip.conf:5: warning: endpoint 'ep': option 'direct_media' is not supported "
		"yet (ignored)\n"
		"pjsip.conf:6: endpoint 'ep': auth 'shared' is not defined\n");
	assert_int_equal(fx->diag.warnings, 1);
	assert_int_equal(fx->diag.errors, 1);
}

static void test_duplicates(void **state)
{
	struct fx *fx = *state;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[e]\ntype=endpoint\n"            /* 3 */
		"[e]\ntype=endpoint\n"            /* 5 */
		"[t]\ntype=transport\nbind=0.0.0.0:5070\n"
		"[g]\ntype=global\n"              /* 10 */
		"[g2]\ntype=global\n"),           /* 12 */
		"pjsip.conf:5: duplicate endpoint 'e' (first defined at pjsip.conf:3)\n"
		"pjsip.conf:7: duplicate transport 't' (first defined at pjsip.conf:1)\n"
		"pjsip.conf:12: global 'g2': a second type=global section (the first is at "
		"pjsip.conf:10)\n");
}

static void test_rtp(void **state)
{
	struct fx *fx = *state;

	put(fx, "pjsip.conf", TRANSPORT);
	put(fx, "rtp.conf", "[general]\nrtpstart=20000\nrtpend=10000\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "rtp.conf:3: rtpstart (20000) must be lower than rtpend (10000)\n");

	put(fx, "rtp.conf", "[general]\nrtpstart=40000\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "rtp.conf:2: rtpstart (40000) must be lower than rtpend (31000)\n");

	put(fx, "rtp.conf", "[general]\nrtpstart=0\nrtpend=70000\nstrictrtp=yes\n[ice_host_candidates]\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"rtp.conf:2: invalid rtpstart '0' (expected a number from 1 to 65535)\n"
		"rtp.conf:3: invalid rtpend '70000' (expected a number from 1 to 65535)\n"
		"rtp.conf:4: warning: option 'strictrtp' is not supported yet (ignored)\n"
		"rtp.conf:5: warning: section [ice_host_candidates] is not supported yet (ignored)\n");

	put(fx, "rtp.conf", "[general]\nrtpstart=10000\nrtpend=10100\n");
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->rtpstart, 10000);
	assert_int_equal(fx->cfg->rtpend, 10100);
}

static void test_kubevox_conf(void **state)
{
	struct fx *fx = *state;

	put(fx, "pjsip.conf", TRANSPORT);
	put(fx, "kubevox.conf", "[security]\nban_failures=5\nban_window=30\nban_time=600\n"
	    "nonce_lifetime=120\nnonce_secret=0123456789abcdef0123\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	assert_int_equal(fx->cfg->security.ban_failures, 5);
	assert_int_equal(fx->cfg->security.ban_window, 30);
	assert_int_equal(fx->cfg->security.ban_time, 600);
	assert_int_equal(fx->cfg->security.nonce_lifetime, 120);
	assert_string_equal(fx->cfg->security.nonce_secret, "0123456789abcdef0123");

	put(fx, "kubevox.conf", "[security]\nban_window=0\nnonce_secret=short\nbanfailures=3\n"
	    "[redis]\nhost=x\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"kubevox.conf:2: invalid ban_window '0' (expected a number from 1 to 86400)\n"
		"kubevox.conf:3: warning: nonce_secret is short (use at least 16 random characters)\n"
		"kubevox.conf:4: unknown option 'banfailures' in [security]\n"
		"kubevox.conf:5: unknown section [redis]\n");
}

static int check(const char *dir, char *out, size_t size);

/* [dns] nameservers: ADDR[:PORT] lists that add up; --check names the
 * bad item with its line. */
static void test_dns_conf(void **state)
{
	struct fx *fx = *state;
	const struct cfg_dns *dns;
	char addr[64], out[1024];

	put(fx, "pjsip.conf", TRANSPORT);
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->dns.nameservers_n, 0);
	assert_null(fx->cfg->dns.nameservers);

	put(fx, "kubevox.conf", "[dns]\nnameservers = 127.0.0.1:5353, 10.96.0.10\n"
	    "nameservers = [fd00::a]:54\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	dns = &fx->cfg->dns;
	assert_int_equal(dns->nameservers_n, 3);
	cfgval_addr_print(&dns->nameservers[0], addr, sizeof(addr));
	assert_string_equal(addr, "127.0.0.1:5353");
	cfgval_addr_print(&dns->nameservers[1], addr, sizeof(addr));
	assert_string_equal(addr, "10.96.0.10:53");
	cfgval_addr_print(&dns->nameservers[2], addr, sizeof(addr));
	assert_string_equal(addr, "[fd00::a]:54");

	put(fx, "kubevox.conf", "[dns]\nnameservers = 10.0.0.1, dns.example.com, 10.0.0.2:0\n"
	    "nameservers =\nnameservers = 0.0.0.0\nservers = 10.0.0.1\n");
	assert_int_equal(check(fx->dir, out, sizeof(out)), 1);
	assert_string_equal(out,
		"kubevox.conf:2: invalid nameservers item 'dns.example.com' (expected "
		"ADDR[:PORT] such as 10.96.0.10 or [fd00::a]:53)\n"
		"kubevox.conf:2: invalid nameservers item '10.0.0.2:0' (expected "
		"ADDR[:PORT] such as 10.96.0.10 or [fd00::a]:53)\n"
		"kubevox.conf:3: nameservers is empty\n"
		"kubevox.conf:4: invalid nameservers item '0.0.0.0' (expected "
		"ADDR[:PORT] such as 10.96.0.10 or [fd00::a]:53)\n"
		"kubevox.conf:5: unknown option 'servers' in [dns]\n");
}

/* Issue #9's contract: [state], [cluster], [http] token, ban_exempt. */
static void test_cluster_conf(void **state)
{
	struct fx *fx = *state;
	const struct cfg_state *st;
	const struct cfg_cluster *cl;
	char addr[64];

	unsetenv("KUBEVOX_REPLICA");
	unsetenv("KUBEVOX_ADVERTISE");
	put(fx, "pjsip.conf", "[t]\ntype=transport\nprotocol=udp\nbind=127.0.0.7:5070\n");
	/* Defaults: memory, the host name, the UDP transport, the nonce
	 * secret derived from the credentials. */
	assert_int_equal(load(fx), 0);
	st = &fx->cfg->state;
	cl = &fx->cfg->cluster;
	assert_int_equal(st->backend, CFG_STATE_MEMORY);
	assert_non_null(cl->replica);
	assert_true(strlen(cl->replica) > 0);
	cfgval_addr_print(&cl->advertise, addr, sizeof(addr));
	assert_string_equal(addr, "127.0.0.7:5070");
	assert_non_null(cl->secret);
	assert_string_equal(cl->secret, fx->cfg->security.nonce_secret);
	assert_null(fx->cfg->ops_auth.token);

	/* The environment of the Deployment (downward API). */
	setenv("KUBEVOX_REPLICA", "node-a", 1);
	setenv("KUBEVOX_ADVERTISE", "10.1.2.3:5060", 1);
	put(fx, "kubevox.conf", "[state]\nbackend=redis\nurl=redis://10.0.0.5:6380/2\n"
	    "#include redis_secret.conf\n"
	    "[cluster]\n#include cluster_secret.conf\n"
	    "[http]\ntoken=abcdefabcdefabcdef12\n"
	    "[security]\nban_exempt=10.0.0.0/8, 192.168.1.5\nban_exempt=fd00::/8\n");
	put(fx, "redis_secret.conf", "password=redis-password-0123\n");
	put(fx, "cluster_secret.conf", "secret=cluster-secret-0123456789\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	st = &fx->cfg->state;
	cl = &fx->cfg->cluster;
	assert_int_equal(st->backend, CFG_STATE_REDIS);
	assert_string_equal(st->host, "10.0.0.5");
	assert_int_equal(st->port, 6380);
	assert_int_equal(st->db, 2);
	assert_null(st->unix_path);
	assert_string_equal(st->password, "redis-password-0123");
	assert_string_equal(cl->replica, "node-a");
	/* A long node name: shortened the same way every time, and two
	 * names that differ only at the end stay apart. */
	{
		char first[CFG_REPLICA_MAX + 1];

		setenv("KUBEVOX_REPLICA", "aks-nodepool1-12345678-vmss000000-with-a-very-long-suffix-for-this-test-0", 1);
		assert_int_equal(load(fx), 0);
		assert_int_equal(strlen(fx->cfg->cluster.replica), CFG_REPLICA_MAX);
		assert_memory_equal(fx->cfg->cluster.replica, "aks-nodepool1-12345678-vmss000000-with-a-v", 42);
		snprintf(first, sizeof(first), "%s", fx->cfg->cluster.replica);
		assert_int_equal(load(fx), 0);
		assert_string_equal(fx->cfg->cluster.replica, first);
		setenv("KUBEVOX_REPLICA", "aks-nodepool1-12345678-vmss000000-with-a-very-long-suffix-for-this-test-1", 1);
		assert_int_equal(load(fx), 0);
		assert_string_not_equal(fx->cfg->cluster.replica, first);
		setenv("KUBEVOX_REPLICA", "node-a", 1);
		assert_int_equal(load(fx), 0);
		st = &fx->cfg->state;
		cl = &fx->cfg->cluster;
	}
	cfgval_addr_print(&cl->advertise, addr, sizeof(addr));
	assert_string_equal(addr, "10.1.2.3:5060");
	/* The cluster secret signs nonces when nonce_secret is unset. */
	assert_string_equal(cl->secret, "cluster-secret-0123456789");
	assert_string_equal(fx->cfg->security.nonce_secret, "cluster-secret-0123456789");
	assert_string_equal(fx->cfg->ops_auth.token, "abcdefabcdefabcdef12");
	assert_int_equal(fx->cfg->security.ban_exempt_n, 3);
	assert_int_equal(fx->cfg->security.ban_exempt[0].prefix, 8);
	assert_int_equal(fx->cfg->security.ban_exempt[1].prefix, 32);
	assert_int_equal(fx->cfg->security.ban_exempt[2].addr.ss_family, AF_INET6);

	/* The file wins over the environment; nonce_secret wins over the
	 * secret for nonces; a host name and a socket. */
	put(fx, "kubevox.conf", "[state]\nbackend=redis\nurl=redis://redis.kubevox.svc\n"
	    "[cluster]\nreplica=r1\nadvertise=[::1]:5062\nsecret=cluster-secret-0123456789\n"
	    "[security]\nnonce_secret=nonce-secret-0123456789\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->cfg->state.host, "redis.kubevox.svc");
	assert_int_equal(fx->cfg->state.port, 6379);
	assert_int_equal(fx->cfg->state.db, 0);
	assert_string_equal(fx->cfg->cluster.replica, "r1");
	cfgval_addr_print(&fx->cfg->cluster.advertise, addr, sizeof(addr));
	assert_string_equal(addr, "[::1]:5062");
	assert_string_equal(fx->cfg->security.nonce_secret, "nonce-secret-0123456789");
	assert_string_equal(fx->cfg->cluster.secret, "cluster-secret-0123456789");
	put(fx, "kubevox.conf", "[state]\nbackend=redis\nurl=unix:/run/redis/redis.sock\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->cfg->state.unix_path, "/run/redis/redis.sock");
	assert_null(fx->cfg->state.host);

	/* Every mistake with its line. */
	put(fx, "kubevox.conf", "[state]\nbackend=etcd\nurl=http://x\npassword=\nhost=x\n"
	    "[cluster]\nreplica=a b\nadvertise=10.0.0.1\nsecret=short\nname=x\n"
	    "[state]\nurl=redis://:pw@10.0.0.1\nurl=redis://10.0.0.1:99999\n"
	    "url=redis://10.0.0.1/x\n[http]\ntoken=\n[security]\nban_exempt=10.0.0.0/33\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"kubevox.conf:2: invalid backend 'etcd' (expected memory or redis)\n"
		"kubevox.conf:3: invalid url 'http://x' (expected redis://HOST:PORT[/DB], unix:PATH "
		"or redis-sentinel://HOST:PORT,.../MASTERNAME)\n"
		"kubevox.conf:4: password is empty\n"
		"kubevox.conf:5: unknown option 'host' in [state]\n"
		"kubevox.conf:7: invalid replica 'a b' (1 to 63 characters, no blanks, quotes, ';' or ',')\n"
		"kubevox.conf:8: invalid advertise '10.0.0.1' (expected ADDR:PORT, an IP address and a port)\n"
		"kubevox.conf:9: warning: secret is short (use at least 16 random characters)\n"
		"kubevox.conf:10: unknown option 'name' in [cluster]\n"
		"kubevox.conf:12: url 'redis://:pw@10.0.0.1' holds a password: put it in 'password' "
		"(from a Secret), not in the ConfigMap\n"
		"kubevox.conf:13: invalid port in url 'redis://10.0.0.1:99999'\n"
		"kubevox.conf:14: invalid database 'x' in url 'redis://10.0.0.1/x' (expected a number)\n"
		"kubevox.conf:16: token is empty\n"
		"kubevox.conf:18: invalid ban_exempt '10.0.0.0/33' (expected an IP address or network "
		"such as 192.168.0.0/16)\n");
	put(fx, "kubevox.conf", "[state]\nbackend=redis\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "kubevox.conf:2: backend = redis needs a url "
			    "(redis://HOST:PORT[/DB], unix:PATH or "
			    "redis-sentinel://HOST:PORT,.../MASTERNAME)\n");

	/* Sentinel: addresses, names, IPv6, default ports; the master's
	 * name; the password (in its own option) is for both. */
	put(fx, "kubevox.conf", "[state]\nbackend=redis\npassword=pw-0123456789abcdef\n"
	    "url=redis-sentinel://10.0.0.1:26380,redis-sentinel-1.kubevox.svc,"
	    "[fd00::7]:5000,[fd00::8],s4:1/kubevox-master.1\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	st = &fx->cfg->state;
	assert_int_equal(st->sentinels_n, 5);
	assert_string_equal(st->sentinels[0].host, "10.0.0.1");
	assert_int_equal(st->sentinels[0].port, 26380);
	assert_string_equal(st->sentinels[1].host, "redis-sentinel-1.kubevox.svc");
	assert_int_equal(st->sentinels[1].port, 26379);
	assert_string_equal(st->sentinels[2].host, "fd00::7");
	assert_int_equal(st->sentinels[2].port, 5000);
	assert_string_equal(st->sentinels[3].host, "fd00::8");
	assert_int_equal(st->sentinels[3].port, 26379);
	assert_string_equal(st->sentinels[4].host, "s4");
	assert_int_equal(st->sentinels[4].port, 1);
	assert_string_equal(st->master, "kubevox-master.1");
	assert_null(st->host);
	assert_null(st->unix_path);
	assert_string_equal(st->password, "pw-0123456789abcdef");
	/* One sentinel is a list too; a later url replaces it all. */
	put(fx, "kubevox.conf", "[state]\nbackend=redis\nurl=redis-sentinel://127.0.0.1/m\n"
	    "url=REDIS-SENTINEL://a:1/m2\n");
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->state.sentinels_n, 1);
	assert_string_equal(fx->cfg->state.sentinels[0].host, "a");
	assert_string_equal(fx->cfg->state.master, "m2");
	put(fx, "kubevox.conf", "[state]\nbackend=redis\nurl=redis-sentinel://127.0.0.1/m\n"
	    "url=redis://10.0.0.2:7000/2\n");
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->state.sentinels_n, 0);
	assert_null(fx->cfg->state.master);
	assert_string_equal(fx->cfg->state.host, "10.0.0.2");
	assert_int_equal(fx->cfg->state.port, 7000);
	assert_int_equal(fx->cfg->state.db, 2);

	/* Every mistake of a sentinel url, with its line. */
	put(fx, "kubevox.conf", "[state]\n"
	    "url=redis-sentinel://a:1,b:2\n"
	    "url=redis-sentinel://a:1,b:2/\n"
	    "url=redis-sentinel://a:1/two words\n"
	    "url=redis-sentinel://a:1/m/0\n"
	    "url=redis-sentinel:///m\n"
	    "url=redis-sentinel://a,,b/m\n"
	    "url=redis-sentinel://a,b,/m\n"
	    "url=redis-sentinel://a:0/m\n"
	    "url=redis-sentinel://a:b:c/m\n"
	    "url=redis-sentinel://[fd00::1/m\n"
	    "url=redis-sentinel://:pw@a:1/m\n"
	    "url=redis-sentinel://1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17/m\n"
	    "url=redis-sentinel:/a/m\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"kubevox.conf:2: invalid url 'redis-sentinel://a:1,b:2' (expected redis-sentinel://"
		"HOST:PORT,HOST:PORT,.../MASTERNAME, the master's name one word)\n"
		"kubevox.conf:3: invalid url 'redis-sentinel://a:1,b:2/' (expected redis-sentinel://"
		"HOST:PORT,HOST:PORT,.../MASTERNAME, the master's name one word)\n"
		"kubevox.conf:4: invalid url 'redis-sentinel://a:1/two words' (expected "
		"redis-sentinel://HOST:PORT,HOST:PORT,.../MASTERNAME, the master's name one word)\n"
		"kubevox.conf:5: invalid url 'redis-sentinel://a:1/m/0' (expected "
		"redis-sentinel://HOST:PORT,HOST:PORT,.../MASTERNAME, the master's name one word)\n"
		"kubevox.conf:6: invalid url 'redis-sentinel:///m' (a sentinel without a host)\n"
		"kubevox.conf:7: invalid url 'redis-sentinel://a,,b/m' (a sentinel without a host)\n"
		"kubevox.conf:8: invalid url 'redis-sentinel://a,b,/m' (a sentinel without a host)\n"
		"kubevox.conf:9: invalid port in url 'redis-sentinel://a:0/m'\n"
		"kubevox.conf:10: invalid port in url 'redis-sentinel://a:b:c/m'\n"
		"kubevox.conf:11: invalid host in url 'redis-sentinel://[fd00::1/m'\n"
		"kubevox.conf:12: url 'redis-sentinel://:pw@a:1/m' holds a password: put it in "
		"'password' (from a Secret), not in the ConfigMap\n"
		"kubevox.conf:13: url 'redis-sentinel://1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17/m' "
		"names 17 sentinels (at most 16)\n"
		"kubevox.conf:14: invalid url 'redis-sentinel:/a/m' (expected redis://HOST:PORT[/DB], "
		"unix:PATH or redis-sentinel://HOST:PORT,.../MASTERNAME)\n");
	unsetenv("KUBEVOX_REPLICA");
	unsetenv("KUBEVOX_ADVERTISE");
}

static void test_asterisk_conf(void **state)
{
	struct fx *fx = *state;

	put(fx, "pjsip.conf", TRANSPORT);
	put(fx, "asterisk.conf", "[directories](!)\nastlogdir => /tpl\n"
	    "[options]\nverbose=3\n[directories]\nastspooldir => /spool\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	assert_string_equal(fx->cfg->astlogdir, "/var/log/asterisk");
	assert_string_equal(fx->cfg->astspooldir, "/spool");
	assert_null(fx->cfg->systemname);
	config_unref(fx->cfg);
	fx->cfg = NULL;

	/* systemname: the start of every uniqueid, so only what a CSV column
	 * and a log value carry as they are. */
	put(fx, "asterisk.conf", "[options]\nsystemname=pbx-paris.1\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->cfg->systemname, "pbx-paris.1");
	config_unref(fx->cfg);
	fx->cfg = NULL;
	put(fx, "asterisk.conf", "[options]\nsystemname=pbx paris\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "asterisk.conf:2: invalid systemname 'pbx paris' "
			    "(letters, digits, '.', '_', '-'; at most 63)\n");
}

/* musiconhold.conf: classes of mode=files, a relative directory under
 * astdatadir, every broken class an error with its line, what KubeVox
 * does not do a warning; moh_suggest on endpoints. */
static void test_moh_conf(void **state)
{
	struct fx *fx = *state;
	const struct cfg_moh_class *cl;
	char text[1024];

	put(fx, "pjsip.conf", TRANSPORT "[1001]\ntype=endpoint\nmoh_suggest=jazz\n"
	    "[1002]\ntype=endpoint\n");
	put(fx, "data/moh/a.wav", "x");
	put(fx, "data/jazz/b.gsm", "x");
	put(fx, "data/empty/readme.txt", "x");
	snprintf(text, sizeof(text), "[directories]\nastdatadir => %s/data\n", fx->dir);
	put(fx, "asterisk.conf", text);
	put(fx, "musiconhold.conf", "[general]\npreferchannelclass=no\n"
	    "[default]\nmode=files\ndirectory=moh\n"
	    "[Jazz]\nmode=files\ndirectory=jazz\nsort=randstart\nannouncement=x\n"
	    "[quiet]\nmode=files\ndirectory=empty\n"
	    "[radio]\nmode=mp3\ndirectory=moh\n"
	    "[default]\nmode=files\ndirectory=jazz\n");
	assert_int_equal(load(fx), 0);
	{
		char want[2048];

		snprintf(want, sizeof(want),
			 "musiconhold.conf:2: warning: option 'preferchannelclass' is not "
			 "supported yet (ignored)\n"
			 "musiconhold.conf:10: warning: option 'announcement' is not supported "
			 "yet (ignored)\n"
			 "musiconhold.conf:13: warning: no sound file (.ulaw .alaw .wav .gsm) "
			 "in '%s/data/empty': the class plays nothing\n"
			 "musiconhold.conf:15: warning: mode 'mp3' is not supported (only "
			 "files): class [radio] ignored\n"
			 "musiconhold.conf:17: warning: music on hold class [default] appears "
			 "again (ignored)\n", fx->dir);
		assert_string_equal(msgs(fx), want);
	}
	assert_int_equal(fx->cfg->moh_classes_n, 3);
	cl = config_moh_class(fx->cfg, "jazz");
	assert_non_null(cl);
	assert_string_equal(cl->name, "Jazz");
	assert_int_equal(cl->sort, CFG_MOH_SORT_RANDSTART);
	snprintf(text, sizeof(text), "%s/data/jazz", fx->dir);
	assert_string_equal(cl->directory, text);
	cl = config_moh_class(fx->cfg, "default");
	snprintf(text, sizeof(text), "%s/data/moh", fx->dir);
	assert_string_equal(cl->directory, text);
	assert_int_equal(cl->sort, CFG_MOH_SORT_ALPHA);
	assert_null(config_moh_class(fx->cfg, "radio"));
	assert_string_equal(ep(fx, "1001")->moh_suggest, "jazz");
	assert_string_equal(ep(fx, "1002")->moh_suggest, "default");

	put(fx, "musiconhold.conf", "[default]\nmode=files\ndirectory=/nonexistent\n"
	    "[nomode]\ndirectory=moh\n[nodir]\nmode=files\n"
	    "[badsort]\nmode=files\ndirectory=moh\nsort=shuffle\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"musiconhold.conf:3: cannot open music on hold directory '/nonexistent': "
		"No such file or directory\n"
		"musiconhold.conf:4: music on hold class [nomode] has no mode (mode=files)\n"
		"musiconhold.conf:6: music on hold class [nodir] has no directory\n"
		"musiconhold.conf:11: invalid sort 'shuffle' (expected alpha, random or randstart)\n");
}

/* Grammar errors of any file fail the load, reported per file. */
static void test_grammar_errors(void **state)
{
	struct fx *fx = *state;

	put(fx, "pjsip.conf", TRANSPORT "#include users/*.conf\n");
	put(fx, "users/a.conf", "[1001]\ntype=endpoint\nauth=none\n");
	put(fx, "extensions.conf", "[from-internal]\nexten => 1,1,Answer()\nbroken line\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx),
		"users/a.conf:3: endpoint '1001': auth 'none' is not defined\n"
		"extensions.conf:3: no '=' in line\n");

	/* A file with a grammar error is not interpreted further. */
	put(fx, "extensions.conf", "[x]\n");
	put(fx, "pjsip.conf", TRANSPORT "#exec /bin/true\n[e]\ntype=endpoint\nauth=none\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(msgs(fx), "pjsip.conf:3: #exec is not supported\n");
}

static void test_files_list(void **state)
{
	struct fx *fx = *state;
	size_t n = 0;

	put(fx, "pjsip.conf", TRANSPORT "#include a.conf\n#include a.conf\n");
	put(fx, "a.conf", "; nothing\n");
	put(fx, "rtp.conf", "[general]\n");
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->files_n, 3);
	for (size_t i = 0; i < fx->cfg->files_n; i++) {
		assert_non_null(strstr(fx->cfg->files[i], fx->dir));
		n += strstr(fx->cfg->files[i], "/a.conf") != NULL;
	}
	assert_int_equal(n, 1);
}

static void test_identify(void **state)
{
	struct fx *fx = *state;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[trunk]\ntype=endpoint\n[office]\ntype=endpoint\n[v6]\ntype=endpoint\n"
		"[i1]\ntype=identify\nendpoint=trunk\nmatch=198.51.100.0/24\n"
		"[i2]\ntype=identify\nendpoint=office\nmatch=198.51.100.7, 192.0.2.0/255.255.255.0\n"
		"[i3]\ntype=identify\nendpoint=v6\nmatch=2001:db8::/32\n"), "");
	assert_int_equal(fx->cfg->identifies_n, 3);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(5060);
	inet_pton(AF_INET, "198.51.100.9", &sin.sin_addr);
	assert_ptr_equal(config_identify(fx->cfg, (struct sockaddr *)&sin), ep(fx, "trunk"));
	/* The most specific match wins. */
	inet_pton(AF_INET, "198.51.100.7", &sin.sin_addr);
	assert_ptr_equal(config_identify(fx->cfg, (struct sockaddr *)&sin), ep(fx, "office"));
	inet_pton(AF_INET, "192.0.2.200", &sin.sin_addr);
	assert_ptr_equal(config_identify(fx->cfg, (struct sockaddr *)&sin), ep(fx, "office"));
	inet_pton(AF_INET, "203.0.113.1", &sin.sin_addr);
	assert_null(config_identify(fx->cfg, (struct sockaddr *)&sin));

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::5", &sin6.sin6_addr);
	assert_ptr_equal(config_identify(fx->cfg, (struct sockaddr *)&sin6), ep(fx, "v6"));
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &sin6.sin6_addr);
	assert_ptr_equal(config_identify(fx->cfg, (struct sockaddr *)&sin6), ep(fx, "trunk"));
	inet_pton(AF_INET6, "2001:db9::5", &sin6.sin6_addr);
	assert_null(config_identify(fx->cfg, (struct sockaddr *)&sin6));
}

/* match_header: "Name: value" split and trimmed, a /regex/ compiled;
 * srv_lookups and the endpoint's trust_id_inbound read. */
static void test_identify_header(void **state)
{
	struct fx *fx = *state;
	const struct cfg_identify *id;

	assert_string_equal(pjsip(fx, TRANSPORT
		"[trunk]\ntype=endpoint\ntrust_id_inbound=yes\n"
		"[i1]\ntype=identify\nendpoint=trunk\nmatch_header = X-Id :  acme 7 \n"
		"srv_lookups=no\n"
		"[i2]\ntype=identify\nendpoint=trunk\nmatch_header=X-Carrier: /^v[0-9]+$/\n"
		"[i3]\ntype=identify\nendpoint=trunk\nmatch_header=X-Slash: //\n"
		"match=192.0.2.1, sip.Example-1.test,edge\n"), "");
	assert_true(ep(fx, "trunk")->trust_id_inbound);
	assert_int_equal(fx->cfg->identifies_n, 3);
	id = &fx->cfg->identifies[0];
	assert_string_equal(id->match_header_name, "X-Id");
	assert_string_equal(id->match_header_value, "acme 7");
	assert_null(id->match_header_re);
	assert_false(id->srv_lookups);
	id = &fx->cfg->identifies[1];
	assert_string_equal(id->match_header_value, "^v[0-9]+$");
	assert_non_null(id->match_header_re);
	assert_int_equal(regexec(id->match_header_re, "v42", 0, NULL, 0), 0);
	assert_int_not_equal(regexec(id->match_header_re, "xv42", 0, NULL, 0), 0);
	assert_true(id->srv_lookups);
	/* "//" is too short to be a regex: the value itself */
	id = &fx->cfg->identifies[2];
	assert_string_equal(id->match_header_value, "//");
	assert_null(id->match_header_re);
	/* host names beside addresses, for pbx/idhosts */
	assert_int_equal(id->match_n, 1);
	assert_int_equal(id->match_hosts_n, 2);
	assert_string_equal(id->match_hosts[0], "sip.Example-1.test");
	assert_string_equal(id->match_hosts[1], "edge");
}

static void test_lookups(void **state)
{
	struct fx *fx = *state;
	const char key[] = "1002xyz";

	assert_string_equal(pjsip(fx, TRANSPORT
		"[1002]\ntype=endpoint\n[100]\ntype=endpoint\n[10021]\ntype=endpoint\n"
		"[Alice]\ntype=endpoint\n"), "");
	/* The key need not be NUL-terminated. */
	assert_string_equal(config_endpoint(fx->cfg, key, 4)->name, "1002");
	assert_string_equal(config_endpoint(fx->cfg, key, 3)->name, "100");
	assert_null(config_endpoint(fx->cfg, key, 5));
	assert_null(config_endpoint(fx->cfg, "alice", 5));
	assert_non_null(config_endpoint(fx->cfg, "Alice", 5));
	assert_null(config_endpoint(fx->cfg, "", 0));
	assert_null(config_aor(fx->cfg, "1002", 4));
	assert_null(config_auth(fx->cfg, "1002", 4));
	assert_null(config_endpoint(NULL, "x", 1));
}

/* 10,000 users from templates: loads, and every one can be found. */
static void test_many_users(void **state)
{
	struct fx *fx = *state;
	size_t cap = 10000 * 160 + 1024, n = 0;
	char *buf = malloc(cap);
	char path[256];
	FILE *f;

	assert_non_null(buf);
	n += (size_t)snprintf(buf + n, cap - n, TRANSPORT
			      "[ep](!)\ntype=endpoint\ncontext=users\nallow=ulaw\n"
			      "[au](!)\ntype=auth\nauth_type=userpass\n"
			      "[ao](!)\ntype=aor\nmax_contacts=1\n");
	for (int i = 0; i < 10000; i++)
		n += (size_t)snprintf(buf + n, cap - n,
				      "[u%d](ep)\nauth=u%d\naors=u%d\n[u%d](au)\nusername=u%d\n"
				      "password=pw%d\n[u%d](ao)\n", i, i, i, i, i, i, i);
	snprintf(path, sizeof(path), "%s/pjsip.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	fclose(f);
	free(buf);

	assert_int_equal(load(fx), 0);
	assert_string_equal(msgs(fx), "");
	assert_int_equal(fx->cfg->endpoints_n, 10000);
	assert_int_equal(fx->cfg->auths_n, 10000);
	assert_int_equal(fx->cfg->aors_n, 10000);
	for (int i = 0; i < 10000; i += 7) {
		char name[16], pw[16];
		struct cfg_endpoint *e;

		snprintf(name, sizeof(name), "u%d", i);
		snprintf(pw, sizeof(pw), "pw%d", i);
		e = ep(fx, name);
		assert_non_null(e);
		assert_string_equal(e->auth->password, pw);
		assert_string_equal(e->aors[0]->name, name);
		assert_string_equal(e->context, "users");
	}
}

/* `kubevoxd --check dir`: its exit status, and what it printed in out. */
static int check(const char *dir, char *out, size_t size)
{
	FILE *f = tmpfile();
	size_t n;
	int rc;

	assert_non_null(f);
	rc = config_check(dir, f);
	rewind(f);
	n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
	return rc;
}

static void test_check_output(void **state)
{
	struct fx *fx = *state;
	char out[2048];

	put(fx, "pjsip.conf", TRANSPORT "[e]\ntype=endpoint\nauth=x\ndirect_media=no\n");
	put(fx, "rtp.conf", "[general]\nrtpstart=20000\nrtpend=10000\n");
	assert_int_equal(check(fx->dir, out, sizeof(out)), 1);
	assert_string_equal(out,
		"pjsip.conf:5: endpoint 'e': auth 'x' is not defined\n"
		"pjsip.conf:6: warning: endpoint 'e': option 'direct_media' is not supported "
		"yet (ignored)\n"
		"rtp.conf:3: rtpstart (20000) must be lower than rtpend (10000)\n");

	assert_int_equal(check(KV_SOURCE_DIR "/asterisk_config", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* --check on the Dial() line of issue #8, and with a destination left out. */
static void test_check_dial_spaces(void **state)
{
	struct fx *fx = *state;
	char out[1024];

	put(fx, "pjsip.conf", TRANSPORT "[1002]\ntype=endpoint\n");
	put(fx, "extensions.conf",
	    "[from-internal]\nexten => 5,1,Dial(PJSIP/1002 & PJSIP/1002,20)\n");
	assert_int_equal(check(fx->dir, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	put(fx, "extensions.conf",
	    "[from-internal]\nexten => 5,1,Dial(PJSIP/1002 & ,20)\n");
	assert_int_equal(check(fx->dir, out, sizeof(out)), 1);
	assert_string_equal(out,
		"extensions.conf:2: Dial: empty destination in 'PJSIP/1002 &'\n");
}

/* The fixture used by the --check protocol test prints expected.txt. */
static void test_check_fixture(void **state)
{
	char out[4096], want[4096];
	size_t m;
	FILE *e;

	assert_int_equal(check(KV_SOURCE_DIR "/tests/config/broken", out, sizeof(out)), 1);
	e = fopen(KV_SOURCE_DIR "/tests/config/broken/expected.txt", "r");
	assert_non_null(e);
	m = fread(want, 1, sizeof(want) - 1, e);
	want[m] = '\0';
	fclose(e);
	assert_string_equal(out, want);
}

/*
 * Random configurations.  Odd rounds mix real option lines with good and
 * bad values: whatever the mix, loading never crashes or leaks, and fails
 * only with errors.  Even rounds use only valid lines in random order and
 * number: they must load, with every reference resolved.
 */
static void test_random_configs(void **state)
{
	static const char *const headers[] = {
		"[a]", "[b]", "[1001]", "[t]", "[x](!)", "[y](x)", "[a](+)", "[b](+type=aor)",
	};
	static const char *const lines[] = {
		"type=endpoint", "type=auth", "type=aor", "type=transport", "type=identify",
		"type=global", "type=registration", "type=bogus", "auth=a", "auth=b",
		"aors=a,b", "aors=1001", "transport=t", "context=c", "allow=all",
		"disallow=ulaw", "allow=!alaw,g729:30", "callerid=\"x\" <1>", "username=u",
		"password=p", "password_digest=MD5:0123456789abcdef0123456789abcdef",
		"md5_cred=zz", "auth_type=md5", "auth_type=digest", "realm=r",
		"supported_algorithms_uas=sha-256", "supported_algorithms_uas=md5,sha-512-256",
		"max_contacts=3", "max_contacts=x", "remove_existing=yes", "minimum_expiration=99999",
		"default_expiration=10", "contact=sip:a@b", "contact=nope", "protocol=tcp",
		"protocol=tls", "bind=127.0.0.1:5070", "bind=[::1]:5071", "bind=x", "local_net=10.0.0.0/8",
		"endpoint=1001", "endpoint=a", "match=192.0.2.0/24", "match=host", "direct_media=no",
		"foo=bar", "default_realm=", "default_auth_algorithms_uas=sha-256,md5", "qualify_frequency=5",
	};
	static const char *const good_types[] = { "endpoint", "auth", "aor", "identify" };
	/* What makes each type valid whichever options follow. */
	static const char *const preamble[] = {
		"", "username=u\npassword=p", "minimum_expiration=1\nmaximum_expiration=99999",
		"endpoint=e0\nmatch=192.0.2.1",
	};
	static const char *const good[][6] = {
		{ "context=c", "allow=all", "disallow=ulaw", "auth=1001", "aors=1001, a0",
		  "transport=t" },
		{ "username=u", "password=p", "realm=r", "supported_algorithms_uas=sha-256,md5",
		  "auth_type=digest", "password_digest=MD5:0123456789abcdef0123456789abcdef" },
		{ "max_contacts=2", "remove_existing=yes", "contact=sip:a@b", "minimum_expiration=1",
		  "maximum_expiration=99999", "default_expiration=30" },
		{ "endpoint=e0", "match=192.0.2.0/24", "match=2001:db8::1", "endpoint=1001",
		  "match=10.0.0.0/255.0.0.0", "match=10.1.0.0/16" },
	};
	struct fx *fx = *state;
	uint32_t seed = 42;
	unsigned loaded = 0;

	for (int round = 0; round < 400; round++) {
		char text[16384];
		size_t n = 0;
		int sections = 1 + round % 12;

		if (round % 2 == 0) {
			n += (size_t)snprintf(text + n, sizeof(text) - n, TRANSPORT
					      "[1001]\ntype=endpoint\n[e0]\ntype=endpoint\n"
					      "[1001]\ntype=auth\nusername=u\npassword=p\n"
					      "[1001]\ntype=aor\n[a0]\ntype=aor\n");
		}
		for (int i = 0; i < sections; i++) {
			seed = seed * 1103515245u + 12345u;
			if (round % 2) {
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n",
						      headers[(seed >> 16) % (sizeof(headers) / sizeof(headers[0]))]);
			} else {
				unsigned type = (seed >> 16) % 4;

				n += (size_t)snprintf(text + n, sizeof(text) - n, "[s%d]\ntype=%s\n%s\n",
						      i, good_types[type], preamble[type]);
				for (int j = 0; j < 4; j++) {
					seed = seed * 1103515245u + 12345u;
					n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n",
							      good[type][(seed >> 16) % 6]);
				}
				continue;
			}
			for (int j = 0; j < 5; j++) {
				seed = seed * 1103515245u + 12345u;
				n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\n",
						      lines[(seed >> 16) % (sizeof(lines) / sizeof(lines[0]))]);
			}
		}
		put(fx, "pjsip.conf", text);
		if (load(fx) != 0) {
			if (round % 2 == 0)
				fail_msg("valid configuration refused:\n%s\n%s", text, msgs(fx));
			assert_true(fx->diag.errors > 0);
			continue;
		}
		loaded++;
		assert_int_equal(fx->diag.errors, 0);
		assert_true(fx->cfg->transports_n > 0);
		for (size_t i = 0; i < fx->cfg->endpoints_n; i++) {
			const struct cfg_endpoint *e = &fx->cfg->endpoints[i];

			assert_non_null(e->context);
			for (size_t j = 0; j < e->aors_n; j++)
				assert_ptr_equal(config_aor(fx->cfg, e->aors[j]->name,
							    strlen(e->aors[j]->name)), e->aors[j]);
			if (e->auth)
				assert_non_null(e->auth->username);
		}
		for (size_t i = 0; i < fx->cfg->identifies_n; i++)
			assert_non_null(fx->cfg->identifies[i].endpoint);
		for (size_t i = 0; i < fx->cfg->auths_n; i++)
			assert_true(fx->cfg->auths[i].algs_n > 0);
	}
	assert_true(loaded >= 200);
}

static void test_msg_format(void **state)
{
	struct diag d;
	char buf[64];

	diag_init(&d);
	diag_add(&d, DIAG_ERROR, "a.conf", 3, "bad %s", "thing");
	diag_add(&d, DIAG_WARNING, "b.conf", 0, "odd");
	assert_int_equal(d.errors, 1);
	assert_int_equal(d.warnings, 1);
	assert_int_equal(diag_msg_format(&d.v[0], buf, sizeof(buf)), 19);
	assert_string_equal(buf, "a.conf:3: bad thing");
	diag_msg_format(&d.v[1], buf, sizeof(buf));
	assert_string_equal(buf, "b.conf: warning: odd");
	/* Truncation still terminates and reports the full length. */
	assert_int_equal(diag_msg_format(&d.v[0], buf, 5), 19);
	assert_string_equal(buf, "a.co");
	diag_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_shipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_codecs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_pjsip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_outbound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transport_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auth_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aor_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reference_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dtmf_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_template_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rtp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubevox_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cluster_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dns_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_asterisk_conf, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grammar_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_identify_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_output, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_dial_spaces, setup, teardown),
		cmocka_unit_test_setup_teardown(test_moh_conf, setup, teardown),
		cmocka_unit_test(test_check_fixture),
		cmocka_unit_test_setup_teardown(test_random_configs, setup, teardown),
		cmocka_unit_test(test_msg_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
