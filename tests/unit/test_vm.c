/*
 * test_vm.c - voicemail below the call engine: voicemail.conf
 * (config/vmconf.c), the spool's .txt metadata, storing, deleting and
 * moving messages with renumbering (pbx/vmstore.c), and the relay's
 * recording with silence detection (media/record.c).
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
#include <unistd.h>

#include "config/arena.h"
#include "config/astconf.h"
#include "config/vmconf.h"
#include "media/g711.h"
#include "media/record.h"
#include "pbx/vmstore.h"

struct fx {
	char dir[64];
	struct diag diag;
	struct astconf *ac;
	struct arena mem;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/kv-test-vm.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	diag_init(&fx->diag);
	arena_init(&fx->mem);
	*state = fx;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	astconf_free(fx->ac);
	diag_free(&fx->diag);
	arena_free(&fx->mem);
	free(fx);
	return 0;
}

static void put_conf(struct fx *fx, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/voicemail.conf", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	astconf_free(fx->ac);
	fx->ac = NULL;
	diag_free(&fx->diag);
	diag_init(&fx->diag);
	assert_int_equal(astconf_load(&fx->ac, fx->dir, "voicemail.conf", &fx->diag),
			 ASTCONF_OK);
}

static const char *msgs(struct fx *fx)
{
	static char out[4096];
	size_t off = 0;

	out[0] = '\0';
	for (size_t i = 0; i < fx->diag.n && off < sizeof(out); i++) {
		char line[512];

		diag_msg_format(&fx->diag.v[i], line, sizeof(line));
		off += (size_t)snprintf(out + off, sizeof(out) - off, "%s\n", line);
	}
	return out;
}

static void test_conf_defaults(void **state)
{
	struct fx *fx = *state;
	struct vm_config cfg;

	assert_int_equal(vm_config_parse(NULL, &fx->mem, &cfg, &fx->diag), 0);
	assert_false(cfg.present);
	assert_int_equal(cfg.maxmsg, 100);
	assert_int_equal(cfg.maxsecs, 0);
	assert_int_equal(cfg.minsecs, 0);
	assert_int_equal(cfg.maxsilence, 0);
	assert_int_equal(cfg.silencethreshold, 256);
	assert_int_equal(cfg.boxes_n, 0);
	assert_null(vm_config_mailbox(&cfg, "default", "1234"));
}

/* Lines of Asterisk's voicemail.conf.sample. */
static void test_conf_sample(void **state)
{
	struct fx *fx = *state;
	const struct vm_mailbox *b;
	struct vm_config cfg;

	put_conf(fx,
		 "[general]\n"
		 "format=wav\n"
		 "maxmsg=50\n"
		 "maxsecs=180\n"
		 "minsecs=3\n"
		 "maxsilence=10\n"
		 "silencethreshold=128\n"
		 "\n"
		 "[default]\n"
		 "1234 => 4242,Example Mailbox,root@localhost\n"
		 "4200 => -9855,Mark Spencer,markster@linux-support.net,mypager@digium.com\n"
		 "\n"
		 "[other]\n"
		 "1234 => 5678,Company2 User,root@localhost\n");
	assert_int_equal(vm_config_parse(fx->ac, &fx->mem, &cfg, &fx->diag), 0);
	assert_string_equal(msgs(fx), "");
	assert_true(cfg.present);
	assert_int_equal(cfg.maxmsg, 50);
	assert_int_equal(cfg.maxsecs, 180);
	assert_int_equal(cfg.minsecs, 3);
	assert_int_equal(cfg.maxsilence, 10);
	assert_int_equal(cfg.silencethreshold, 128);
	assert_int_equal(cfg.boxes_n, 3);
	b = vm_config_mailbox(&cfg, NULL, "1234");
	assert_non_null(b);
	assert_string_equal(b->password, "4242");
	assert_string_equal(b->fullname, "Example Mailbox");
	assert_string_equal(b->email, "root@localhost");
	assert_string_equal(b->pager, "");
	b = vm_config_mailbox(&cfg, "default", "4200");
	assert_non_null(b);
	assert_string_equal(b->password, "9855");   /* '-': not changeable */
	assert_string_equal(b->pager, "mypager@digium.com");
	b = vm_config_mailbox(&cfg, "other", "1234");
	assert_non_null(b);
	assert_string_equal(b->password, "5678");
	assert_string_equal(b->context, "other");
	assert_null(vm_config_mailbox(&cfg, "other", "4200"));
	/* maxmessage and minmessage: the older names. */
	put_conf(fx, "[general]\nmaxmessage=30\nminmessage=2\n");
	assert_int_equal(vm_config_parse(fx->ac, &fx->mem, &cfg, &fx->diag), 0);
	assert_int_equal(cfg.maxsecs, 30);
	assert_int_equal(cfg.minsecs, 2);
}

static void test_conf_problems(void **state)
{
	struct fx *fx = *state;
	struct vm_config cfg;

	put_conf(fx,
		 "[general]\n"
		 "format=wav49|gsm|wav\n"
		 "maxmsg=0\n"
		 "maxsecs=forever\n"
		 "attach=yes\n"
		 "minsecs=20\n"
		 "maxsecs=10\n"
		 "[zonemessages]\n"
		 "eastern=America/New_York|'vm-received' Q 'digits/at' IMp\n"
		 "[default]\n"
		 "1001 => 1,A,,,attach=yes|tz=eastern\n"
		 "1001 => 2,B\n"
		 "a/b => 3,C\n"
		 "[..]\n"
		 "1 => 1\n");
	assert_int_equal(vm_config_parse(fx->ac, &fx->mem, &cfg, &fx->diag), EINVAL);
	assert_string_equal(msgs(fx),
		"voicemail.conf:2: warning: format 'wav49|gsm|wav' is not supported yet: messages are recorded as wav\n"
		"voicemail.conf:3: invalid maxmsg '0' (expected a number from 1 to 9999)\n"
		"voicemail.conf:4: invalid maxsecs 'forever' (expected a number from 0 to 600)\n"
		"voicemail.conf:5: warning: option 'attach' is not supported yet (ignored)\n"
		"voicemail.conf:1: warning: minsecs (20) is longer than maxsecs (10): every message would be discarded\n"
		"voicemail.conf:8: warning: [zonemessages] is not supported yet (ignored)\n"
		"voicemail.conf:11: warning: mailbox '1001': option 'attach' is not supported yet (ignored)\n"
		"voicemail.conf:11: warning: mailbox '1001': option 'tz' is not supported yet (ignored)\n"
		"voicemail.conf:12: warning: mailbox '1001' appears again in [default] (ignored)\n"
		"voicemail.conf:13: invalid mailbox 'a/b' in [default] (it names a directory of the spool)\n"
		"voicemail.conf:14: invalid voicemail context [..] (it names a directory of the spool)\n");
	/* The valid part is kept: the first 1001. */
	assert_int_equal(cfg.boxes_n, 1);
	assert_string_equal(vm_config_mailbox(&cfg, "default", "1001")->password, "1");
	assert_int_equal(cfg.maxmsg, 100);
	assert_true(vm_name_valid("1001"));
	assert_false(vm_name_valid(".."));
	assert_false(vm_name_valid(""));
	assert_false(vm_name_valid("a\nb"));
}

static void test_txt_roundtrip(void **state)
{
	struct fx *fx = *state;
	struct vm_msginfo mi, back;
	char path[128], text[1024];
	FILE *f;
	size_t n;

	memset(&mi, 0, sizeof(mi));
	snprintf(mi.origmailbox, sizeof(mi.origmailbox), "1002");
	snprintf(mi.context, sizeof(mi.context), "from-internal");
	snprintf(mi.exten, sizeof(mi.exten), "8001");
	mi.priority = 2;
	snprintf(mi.callerchan, sizeof(mi.callerchan), "PJSIP/1001-00000001");
	snprintf(mi.callerid, sizeof(mi.callerid), "\"Alice\" <1001>");
	mi.origtime = 1700000000;
	vm_origdate(mi.origtime, mi.origdate, sizeof(mi.origdate));
	snprintf(mi.msg_id, sizeof(mi.msg_id), "1700000000-00000001");
	mi.duration = 7;
	snprintf(path, sizeof(path), "%s/msg0000.txt", fx->dir);
	assert_int_equal(vm_txt_write(path, &mi), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	/* app_voicemail's layout, line for line. */
	assert_string_equal(text,
		";\n; Message Information file\n;\n[message]\n"
		"origmailbox=1002\ncontext=from-internal\nmacrocontext=\nexten=8001\n"
		"rdnis=unknown\npriority=2\ncallerchan=PJSIP/1001-00000001\n"
		"callerid=\"Alice\" <1001>\norigdate=Tue Nov 14 10:13:20 PM UTC 2023\n"
		"origtime=1700000000\ncategory=\nmsg_id=1700000000-00000001\nflag=\n"
		"duration=7\n");
	assert_int_equal(vm_txt_read(path, &back), 0);
	assert_string_equal(back.origmailbox, "1002");
	assert_string_equal(back.callerid, "\"Alice\" <1001>");
	assert_string_equal(back.origdate, mi.origdate);
	assert_int_equal(back.origtime, 1700000000);
	assert_int_equal(back.priority, 2);
	assert_int_equal(back.duration, 7);

	/* As Asterisk 1.8 wrote it, with another section and "=>" lines. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[other]\nduration=99\n[message]\norigmailbox => 1234\n"
	      "callerid=Unknown\nduration=12\nunknownkey=1\n", f);
	fclose(f);
	assert_int_equal(vm_txt_read(path, &back), 0);
	assert_string_equal(back.origmailbox, "1234");
	assert_string_equal(back.callerid, "Unknown");
	assert_int_equal(back.duration, 12);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("duration=1\n", f);
	fclose(f);
	assert_int_equal(vm_txt_read(path, &back), EINVAL);
	snprintf(path, sizeof(path), "%s/none.txt", fx->dir);
	assert_int_equal(vm_txt_read(path, &back), ENOENT);
}

static void store(const char *dir, unsigned maxmsg, int16_t mark, unsigned want, int err)
{
	int16_t samples[800];
	struct vm_msginfo mi;
	unsigned num = 9999;

	for (size_t i = 0; i < 800; i++)
		samples[i] = mark;
	memset(&mi, 0, sizeof(mi));
	mi.duration = (unsigned)mark;
	assert_int_equal(vm_store(dir, maxmsg, samples, 800, &mi, &num), err);
	if (!err)
		assert_int_equal(num, want);
}

/* The duration written marks which message a file is. */
static unsigned mark_of(const char *dir, unsigned n)
{
	struct vm_msginfo mi;
	char p[256];

	snprintf(p, sizeof(p), "%s/msg%04u.txt", dir, n);
	assert_int_equal(vm_txt_read(p, &mi), 0);
	return mi.duration;
}

static void test_store_delete_move(void **state)
{
	struct fx *fx = *state;
	char inbox[128], old[128], p[256];
	unsigned n, o, u;
	struct stat st;

	assert_int_equal(vm_path(inbox, sizeof(inbox), fx->dir, "default", "1002", "INBOX"), 0);
	assert_int_equal(vm_path(old, sizeof(old), fx->dir, "default", "1002", "Old"), 0);
	assert_int_equal(vm_path(p, 10, fx->dir, "default", "1002", "INBOX"), ENAMETOOLONG);
	assert_int_equal(vm_folder_count(inbox), 0);
	for (unsigned i = 0; i < 4; i++)
		store(inbox, 4, (int16_t)(10 + i), i, 0);
	store(inbox, 4, 99, 0, ENOSPC);
	assert_int_equal(vm_folder_count(inbox), 4);
	snprintf(p, sizeof(p), "%s/msg0003.wav", inbox);
	assert_int_equal(stat(p, &st), 0);
	assert_true(st.st_size > 1600);

	/* Delete msg0001: 2 and 3 move down. */
	assert_int_equal(vm_msg_delete(inbox, 1), 0);
	assert_int_equal(vm_folder_count(inbox), 3);
	assert_int_equal(mark_of(inbox, 0), 10);
	assert_int_equal(mark_of(inbox, 1), 12);
	assert_int_equal(mark_of(inbox, 2), 13);
	snprintf(p, sizeof(p), "%s/msg0002.wav", inbox);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/msg0003.wav", inbox);
	assert_int_equal(stat(p, &st), -1);

	/* Move msg0000 to Old: Old gets msg0000, INBOX closes the gap. */
	assert_int_equal(vm_msg_move(inbox, 0, old, 100), 0);
	assert_int_equal(mark_of(old, 0), 10);
	assert_int_equal(mark_of(inbox, 0), 12);
	assert_int_equal(mark_of(inbox, 1), 13);
	assert_int_equal(vm_msg_move(inbox, 1, old, 100), 0);
	assert_int_equal(mark_of(old, 1), 13);
	assert_int_equal(vm_msg_move(inbox, 0, old, 2), ENOSPC);
	assert_int_equal(vm_msg_move(inbox, 0, inbox, 100), EINVAL);
	/* Back the other way (locks taken in the other order of the
	 * arguments, the same order of names). */
	assert_int_equal(vm_msg_move(old, 1, inbox, 100), 0);
	assert_int_equal(mark_of(inbox, 1), 13);
	assert_int_equal(vm_msg_move(inbox, 1, old, 100), 0);
	vm_mailbox_counts(fx->dir, "default", "1002", &n, &o, &u);
	assert_int_equal(n, 1);
	assert_int_equal(o, 2);
	assert_int_equal(u, 0);
	/* A new message takes the first free number again. */
	store(inbox, 4, 20, 1, 0);
	assert_int_equal(vm_msg_delete(inbox, 7), ENOENT);
}

static void test_record(void **state)
{
	uint8_t buf[8000], loud[160], quiet[160];
	struct rtp_rec r;

	for (int i = 0; i < 160; i++) {
		loud[i] = g711_ulaw_encode((int16_t)(i % 2 ? 8000 : -8000));
		quiet[i] = g711_ulaw_encode((int16_t)(i % 2 ? 20 : -20));
	}
	assert_true(rec_energy(loud, 160, false) > 7000);
	assert_true(rec_energy(quiet, 160, false) < 30);

	/* Silence: 300 ms (2400 samples) after some sound. */
	memset(&r, 0, sizeof(r));
	r.buf = buf;
	r.cap = sizeof(buf);
	r.silence_ms = 300;
	r.threshold = 256;
	assert_false(rec_input(&r, loud, 160));
	for (int i = 0; i < 14; i++)
		assert_false(rec_input(&r, quiet, 160));
	assert_false(rec_input(&r, loud, 160));   /* sound: the count restarts */
	for (int i = 0; i < 14; i++)
		assert_false(rec_input(&r, quiet, 160));
	assert_true(rec_input(&r, quiet, 160));
	assert_int_equal(r.end, REC_SILENCE);
	assert_int_equal(r.silent, 2400);
	assert_int_equal(r.len, 31 * 160);
	assert_false(rec_input(&r, loud, 160));   /* over: nothing more */
	assert_int_equal(r.len, 31 * 160);

	/* Full: the last packet is cut to what fits. */
	memset(&r, 0, sizeof(r));
	r.buf = buf;
	r.cap = 400;
	assert_false(rec_input(&r, loud, 160));
	assert_false(rec_input(&r, quiet, 160));
	assert_true(rec_input(&r, loud, 160));
	assert_int_equal(r.end, REC_FULL);
	assert_int_equal(r.len, 400);
	assert_memory_equal(buf + 320, loud, 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_conf_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_sample, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_problems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_txt_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_delete_move, setup, teardown),
		cmocka_unit_test(test_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
