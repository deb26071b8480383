/*
 * test_mwi.c - message waiting: counting a mailbox in app_voicemail's
 * spool layout and the RFC 3842 body (src/pbx/mwibox.c), and the
 * configuration MWI reads: pjsip.conf mailboxes= (endpoint and aor),
 * mwi_subscribe_replaces_unsolicited, mwi_from_user, voicemail.conf
 * pollmailboxes and pollfreq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config.h"
#include "pbx/mwibox.h"

static char dir[64];

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/kv-mwi-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* Create dir/rel, its parent directories included. */
static void touch(const char *rel)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	for (char *s = strchr(path + strlen(dir) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

static struct mwi_counts count(const char *mbox, int want)
{
	struct mwi_counts c;

	assert_int_equal(mwibox_count(dir, mbox, strlen(mbox), &c), want);
	return c;
}

static void test_count(void **state)
{
	struct mwi_counts c;

	(void)state;
	/* No directory at all: an empty mailbox. */
	c = count("1001@default", 0);
	assert_int_equal(c.new_msgs + c.old_msgs + c.urgent_new, 0);

	touch("voicemail/default/1001/INBOX/msg0000.txt");
	touch("voicemail/default/1001/INBOX/msg0000.wav");
	touch("voicemail/default/1001/INBOX/msg0001.txt");
	touch("voicemail/default/1001/INBOX/msg0001.wav");
	/* Not messages: audio alone, a greeting, a lock, a stray name. */
	touch("voicemail/default/1001/INBOX/msg0002.wav");
	touch("voicemail/default/1001/INBOX/msg00x3.txt");
	touch("voicemail/default/1001/INBOX/.lock");
	touch("voicemail/default/1001/unavail.wav");
	touch("voicemail/default/1001/Old/msg0000.txt");
	touch("voicemail/default/1001/Urgent/msg0000.txt");
	touch("voicemail/sales/1001/INBOX/msg0000.txt");

	c = count("1001@default", 0);
	assert_int_equal(c.new_msgs, 3);      /* INBOX 2 + Urgent 1 */
	assert_int_equal(c.old_msgs, 1);
	assert_int_equal(c.urgent_new, 1);
	assert_int_equal(c.urgent_old, 0);

	c = count("1001@sales", 0);
	assert_int_equal(c.new_msgs, 1);
	assert_int_equal(c.old_msgs, 0);

	count("1001", EINVAL);
	count("@default", EINVAL);
	count("1001@", EINVAL);
}

static void test_body(void **state)
{
	struct mwi_counts a = { 2, 1, 1, 0 }, b = { 0, 3, 0, 0 }, z = { 0, 0, 0, 0 };
	struct sbuf sb;

	(void)state;
	sbuf_init(&sb);
	mwibox_body(&sb, &a, "sip:1001@example.com");
	assert_string_equal(sbuf_cstr(&sb), "Messages-Waiting: yes\r\n"
			    "Message-Account: sip:1001@example.com\r\n"
			    "Voice-Message: 2/1 (1/0)\r\n");
	sbuf_reset(&sb);
	mwibox_body(&sb, &b, NULL);
	assert_string_equal(sbuf_cstr(&sb), "Messages-Waiting: no\r\n"
			    "Voice-Message: 0/3 (0/0)\r\n");
	mwibox_add(&z, &a);
	mwibox_add(&z, &b);
	assert_int_equal(z.new_msgs, 2);
	assert_int_equal(z.old_msgs, 4);
	assert_int_equal(z.urgent_new, 1);
	assert_false(mwibox_equal(&z, &a));
	assert_true(mwibox_equal(&a, &a));
	sbuf_free(&sb);
}

static void put(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *load(struct kv_config **cfg, int want)
{
	static char out[4096];
	struct diag d;
	size_t off = 0;

	diag_init(&d);
	assert_int_equal(config_load(dir, cfg, &d), want);
	out[0] = '\0';
	for (size_t i = 0; i < d.n; i++) {
		char line[512];

		diag_msg_format(&d.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	diag_free(&d);
	return out;
}

static void test_config(void **state)
{
	struct kv_config *cfg = NULL;
	const struct cfg_endpoint *e;
	const struct cfg_aor *a;

	(void)state;
	put("pjsip.conf", "[t]\ntype=transport\n"
	    "[1001]\ntype=aor\nmax_contacts=1\nmailboxes=1001, 2000@sales\n"
	    "[1001]\ntype=endpoint\naors=1001\nmailboxes=1001@default\n"
	    "mwi_subscribe_replaces_unsolicited=yes\nmwi_from_user=vm\n"
	    "[1002]\ntype=endpoint\n");
	assert_string_equal(load(&cfg, 0), "");
	e = config_endpoint(cfg, "1001", 4);
	a = config_aor(cfg, "1001", 4);
	assert_string_equal(a->mailboxes, "1001@default,2000@sales");
	assert_string_equal(e->mailboxes, "1001@default");
	assert_true(e->mwi_subscribe_replaces_unsolicited);
	assert_string_equal(e->mwi_from_user, "vm");
	e = config_endpoint(cfg, "1002", 4);
	assert_null(e->mailboxes);
	assert_false(e->mwi_subscribe_replaces_unsolicited);
	assert_null(e->mwi_from_user);
	/* No voicemail.conf: app_voicemail's defaults. */
	assert_false(cfg->vm.pollmailboxes);
	assert_int_equal(cfg->vm.pollfreq, 30);
	config_unref(cfg);

	put("voicemail.conf", "[general]\nformat=wav\npollmailboxes=yes\npollfreq=2\n"
	    "[default]\n1001 => 1234,Alice\n");
	assert_string_equal(load(&cfg, 0), "");
	assert_true(cfg->vm.pollmailboxes);
	assert_int_equal(cfg->vm.pollfreq, 2);
	config_unref(cfg);

	/* A name that would leave the spool directory is refused. */
	put("pjsip.conf", "[t]\ntype=transport\n"
	    "[1001]\ntype=endpoint\nmailboxes=../etc@default,1001@..\n"
	    "mwi_subscribe_replaces_unsolicited=maybe\n");
	put("voicemail.conf", "[general]\npollmailboxes=often\npollfreq=0\n");
	assert_string_equal(load(&cfg, EINVAL),
		"pjsip.conf:5: endpoint '1001': invalid mailbox '../etc@default' (expected "
		"mailbox[@context], letters, digits, '_', '-', '.', '+')\n"
		"pjsip.conf:5: endpoint '1001': invalid mailbox '1001@..' (expected "
		"mailbox[@context], letters, digits, '_', '-', '.', '+')\n"
		"pjsip.conf:6: endpoint '1001': invalid mwi_subscribe_replaces_unsolicited "
		"'maybe' (expected yes or no)\n"
		"voicemail.conf:2: invalid pollmailboxes 'often' (expected yes or no)\n"
		"voicemail.conf:3: invalid pollfreq '0' (expected a number from 1 to 86400)\n");
	assert_null(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test(test_body),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
