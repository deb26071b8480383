/*
 * test_httpconf.c - http.conf as Asterisk reads it (enabled, bindaddr,
 * bindport, the options KubeVox ignores) and KubeVox's own ops settings
 * in kubevox.conf ([general] drain_timeout, [debug] allow_freeze), with
 * the exact text of every diagnostic.
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

#include "config/config.h"

#ifndef KV_SOURCE_DIR
#define KV_SOURCE_DIR "."
#endif

struct fx {
	char dir[64];
	struct diag diag;
	struct kv_config *cfg;
	char msgs[8192];
};

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void put(struct fx *fx, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/kv-httpconf-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	put(fx, "pjsip.conf", "[t]\ntype=transport\n");
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

/* Load fx->dir; returns config_load()'s result, messages in fx->msgs. */
static int load(struct fx *fx)
{
	size_t off = 0;
	int rc;

	config_unref(fx->cfg);
	fx->cfg = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
	rc = config_load(fx->dir, &fx->cfg, &fx->diag);
	fx->msgs[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(fx->msgs); i++) {
		char line[1024];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(fx->msgs + off, sizeof(fx->msgs) - off, "%s\n", line);
	}
	if (rc)
		assert_null(fx->cfg);
	else
		assert_non_null(fx->cfg);
	return rc;
}

static void assert_bind4(const struct cfg_http *h, const char *ip, uint16_t port)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&h->bind;
	char buf[INET_ADDRSTRLEN];

	assert_int_equal(h->bind.ss_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf)));
	assert_string_equal(buf, ip);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void test_defaults(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_false(fx->cfg->http.enabled);
	assert_int_equal(fx->cfg->http.bind.ss_family, 0);
	assert_int_equal(fx->cfg->drain_timeout, 3600);
	assert_false(fx->cfg->debug_freeze);
}

static void test_shipped(void **state)
{
	struct fx *fx = *state;

	config_unref(fx->cfg);
	fx->cfg = NULL;
	assert_int_equal(config_load(KV_SOURCE_DIR "/asterisk_config", &fx->cfg, &fx->diag), 0);
	assert_int_equal(fx->diag.n, 0);
	assert_true(fx->cfg->http.enabled);
	assert_bind4(&fx->cfg->http, "0.0.0.0", 8088);
	assert_int_equal(fx->cfg->drain_timeout, 3600);
	assert_false(fx->cfg->debug_freeze);
}

static void test_enabled(void **state)
{
	struct fx *fx = *state;

	put(fx, "http.conf", "[general]\nservername=Asterisk\nenabled=yes\n"
	    "bindaddr=127.0.0.1\nbindport=8099\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_true(fx->cfg->http.enabled);
	assert_bind4(&fx->cfg->http, "127.0.0.1", 8099);

	/* As in Asterisk: a port in bindaddr wins over bindport, in any order. */
	put(fx, "http.conf", "[general]\nenabled=yes\nbindaddr=10.1.2.3:9000\nbindport=8099\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_bind4(&fx->cfg->http, "10.1.2.3", 9000);

	put(fx, "http.conf", "[general]\nenabled=yes\nbindaddr=::\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_true(fx->cfg->http.enabled);
	assert_int_equal(fx->cfg->http.bind.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&fx->cfg->http.bind)->sin6_port), 8088);

	put(fx, "http.conf", "[general]\nenabled=no\nbindaddr=127.0.0.1\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_false(fx->cfg->http.enabled);
}

static void test_no_bindaddr(void **state)
{
	struct fx *fx = *state;

	put(fx, "http.conf", "[general]\nenabled=yes\nbindport=8088\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs,
		"http.conf:2: warning: enabled=yes without bindaddr: the HTTP server "
		"does not run (Asterisk has no default bind address)\n");
	assert_false(fx->cfg->http.enabled);

	/* Not enabled: nothing to warn about. */
	put(fx, "http.conf", "[general]\nbindport=8088\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_false(fx->cfg->http.enabled);
}

static void test_bad_values(void **state)
{
	struct fx *fx = *state;

	put(fx, "http.conf", "[general]\nenabled=perhaps\nbindaddr=localhost\n"
	    "bindport=70000\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(fx->msgs,
		"http.conf:2: invalid enabled 'perhaps' (expected yes or no)\n"
		"http.conf:3: invalid bindaddr 'localhost' (expected an IP address, "
		"optionally with :port)\n"
		"http.conf:4: invalid bindport '70000' (expected a number from 1 to 65535)\n");

	put(fx, "http.conf", "[general]\nenabled=yes\nbindaddr=127.0.0.1:0\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(fx->msgs, "http.conf:3: invalid port in bindaddr '127.0.0.1:0'\n");
}

static void test_unsupported(void **state)
{
	struct fx *fx = *state;

	/* Harmless as written: no message. */
	put(fx, "http.conf", "[general]\nenabled=yes\nbindaddr=127.0.0.1\n"
	    "servername=\nprefix=\nenablestatic=no\ntlsenable=no\nsslenable=false\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");

	put(fx, "http.conf", "[general]\nenabled=yes\nbindaddr=127.0.0.1\n"
	    "prefix=asterisk\nsessionlimit=100\ntlsenable=yes\n"
	    "tlsbindaddr=0.0.0.0:8089\nenablestatic=yes\nredirect = / /static/index.html\n"
	    "session_keep_alive=15000\nbogus=1\n"
	    "[post_mappings]\nuploads = /var/lib/asterisk/uploads/\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs,
		"http.conf:4: warning: option 'prefix' is not supported (ignored)\n"
		"http.conf:5: warning: option 'sessionlimit' is not supported (ignored)\n"
		"http.conf:6: warning: option 'tlsenable' is not supported (ignored)\n"
		"http.conf:7: warning: option 'tlsbindaddr' is not supported (ignored)\n"
		"http.conf:8: warning: option 'enablestatic' is not supported (ignored)\n"
		"http.conf:9: warning: option 'redirect' is not supported (ignored)\n"
		"http.conf:10: warning: option 'session_keep_alive' is not supported (ignored)\n"
		"http.conf:11: warning: option 'bogus' is not supported (ignored)\n"
		"http.conf:12: warning: section [post_mappings] is not supported (ignored)\n");
	/* Warnings do not stop the server. */
	assert_true(fx->cfg->http.enabled);
}

static void test_kubevox(void **state)
{
	struct fx *fx = *state;

	put(fx, "kubevox.conf", "[general]\ndrain_timeout=120\n[debug]\nallow_freeze=yes\n"
	    "[security]\nban_time=60\n");
	assert_int_equal(load(fx), 0);
	assert_string_equal(fx->msgs, "");
	assert_int_equal(fx->cfg->drain_timeout, 120);
	assert_true(fx->cfg->debug_freeze);
	assert_int_equal(fx->cfg->security.ban_time, 60);

	put(fx, "kubevox.conf", "[general]\ndrain_timeout=0\n[debug]\nallow_freeze=no\n");
	assert_int_equal(load(fx), 0);
	assert_int_equal(fx->cfg->drain_timeout, 0);
	assert_false(fx->cfg->debug_freeze);

	put(fx, "kubevox.conf", "[general]\ndrain_timeout=soon\ndrain=1\n"
	    "[debug]\nallow_freeze=maybe\nfreeze=yes\n[other]\n");
	assert_int_equal(load(fx), EINVAL);
	assert_string_equal(fx->msgs,
		"kubevox.conf:2: invalid drain_timeout 'soon' (expected a number from 0 to 604800)\n"
		"kubevox.conf:3: unknown option 'drain' in [general]\n"
		"kubevox.conf:5: invalid allow_freeze 'maybe' (expected yes or no)\n"
		"kubevox.conf:6: unknown option 'freeze' in [debug]\n"
		"kubevox.conf:7: unknown section [other]\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enabled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_bindaddr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kubevox, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
