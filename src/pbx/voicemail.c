/*
 * voicemail.c - app_voicemail on a call (see voicemail.h).
 *
 * VoiceMail(): the greeting (the mailbox's own unavail/busy/temp
 * recording, else vm-theperson, its digits or its recorded name, and
 * vm-isunavail/vm-isonphone), vm-intro, the beep, then the relay records
 * what the caller sends (media/record.h) until '#', silence, maxsecs or a
 * hang-up.  The buffer comes back once the relay has synced, and the
 * message is written on libuv's thread pool (vmstore.c takes the folder's
 * lock there), so the loop never waits for the disk or for another
 * replica.
 *
 * VoiceMailMain(): mailbox and password by DTMF, the counts announced as
 * vm_intro_en() says them, the main menu with app_voicemail's keys (1
 * listen, 2 change folder, 0 mailbox options, * help, # exit; in a message 4
 * previous, 5 repeat, 6 next, 7 delete/undelete, 9 save to a folder).  As
 * in Asterisk, deletions and the move of heard INBOX messages to Old
 * happen when the folder is closed (another folder, exit, hang-up), and
 * the folder is renumbered then.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "config/dpargs.h"
#include "config/vmconf.h"
#include "media/g711.h"
#include "pbx/say.h"
#include "pbx/vmstore.h"
#include "pbx/voicemail.h"
#include "util/list.h"
#include "util/log.h"
#include "util/rand.h"

#define VM_TARGETS_MAX  8          /* mailboxes of one VoiceMail() */
#define VM_PATH         1024
#define VM_DIGIT_MS     5000       /* between two keys of a number */
#define VM_RESPONSE_MS  10000      /* for the first key, after a prompt */
#define VM_LOGIN_TRIES  3          /* app_voicemail's maxlogins */
#define VM_MENU_REPEATS 3
/* Silence kept at the end of a message cut by silence, as
 * ast_play_and_record() keeps 200 ms of it. */
#define VM_SILENCE_KEEP 1600

/* app_voicemail's folders, by the key that chooses them. */
static const char *const folders[] = { "INBOX", "Old", "Work", "Family", "Friends" };
#define VM_FOLDERS (sizeof(folders) / sizeof(folders[0]))

struct vm {
	uv_loop_t *loop;
	vm_changed_h *h;
	void *arg;
	struct list_node jobs;
	bool closing;
};

enum job_kind { JOB_STORE, JOB_GREETING, JOB_EXPUNGE };
enum job_state { JOB_RECORDING, JOB_SYNCING, JOB_WORKING };

struct vm_target {
	char context[80];
	char mailbox[80];
	int err;
	unsigned msgnum;
};

struct vm_op {
	unsigned idx;
	int to;                        /* folder index, -1: delete */
};

struct vm_job {
	struct vm *vm;
	struct call *c;                /* NULL once the call is over */
	struct list_node le;
	enum job_kind kind;
	enum job_state state;
	uv_work_t work;
	/* the recording */
	struct rtp_rec rec;
	unsigned minsecs;
	int16_t *pcm;
	size_t n;
	unsigned duration;
	bool discarded;
	/* JOB_STORE */
	char spool[VM_PATH];
	unsigned maxmsg;
	struct vm_target t[VM_TARGETS_MAX];
	size_t tn;
	struct vm_msginfo mi;
	/* JOB_GREETING: the file, without ".wav"; JOB_EXPUNGE: the mailbox */
	char path[VM_PATH];
	unsigned folder;
	struct vm_op *ops;
	size_t nops;
	int err;
};

enum vm_step {
	/* VoiceMail() */
	ST_GREETING,      /* greeting and vm-intro */
	ST_BEEP,
	ST_RECORDING,
	ST_SAVING,
	ST_FAILING,       /* vm-mailboxfull, then FAILED */
	/* VoiceMailMain() */
	ST_LOGIN,         /* vm-login and the mailbox's digits */
	ST_PASSWORD,
	ST_INCORRECT,
	ST_MENU,          /* counts or instructions, then a key */
	ST_FOLDER,        /* 2: which folder */
	ST_MESSAGE,       /* a message and what follows it */
	ST_SAVEFOLDER,    /* 9: to which folder */
	ST_OPTIONS,       /* 0: mailbox options */
	ST_GREET_BEEP,
	ST_GREET_REC,
	ST_GREET_SAVING,
	ST_CLOSING,       /* the folder's changes going to the spool */
	ST_GOODBYE,
};

struct vm_call {
	enum vm_step step;
	bool main;
	struct vm_job *job;            /* a recording or a change in flight */
	const struct vm_mailbox *box;
	char spool[VM_PATH];           /* astspooldir, absolute */
	char boxdir[VM_PATH];
	/* VoiceMail() */
	struct vm_target t[VM_TARGETS_MAX];
	size_t tn;
	/* VoiceMailMain() */
	char context[80];
	char in[80];                   /* keys typed so far */
	size_t in_n;
	bool waiting;                  /* the prompt is over: keys time out */
	bool box_given;
	bool skip_pw;
	unsigned tries;
	unsigned repeats;
	unsigned folder;
	unsigned count;                /* messages of the folder opened */
	int cur;
	bool *heard, *deleted;
	int saved_to;                  /* 9: folder the current one goes to */
	int *save_to;                  /* per message, -1: stays */
	enum vm_step after_close;
	unsigned next_folder;
	int greeting;                  /* 1 unavail, 2 busy, 3 name, 4 temp */
};

static void job_synced(void *arg);

/* A path, cut at size (too long a path then names nothing there). */
static void pjoin(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void pjoin(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* ---- the module ---- */

int vm_alloc(struct vm **vp, uv_loop_t *loop)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm)
		return ENOMEM;
	vm->loop = loop;
	list_init(&vm->jobs);
	*vp = vm;
	return 0;
}

void vm_set_changed_handler(struct vm *vm, vm_changed_h *h, void *arg)
{
	vm->h = h;
	vm->arg = arg;
}

static void job_free(struct vm_job *j)
{
	list_unlink(&j->le);
	free(j->rec.buf);
	free(j->pcm);
	free(j->ops);
	free(j);
}

static void changed(struct vm *vm, const char *context, const char *mailbox)
{
	log_event(LOG_INFO, "vm_changed", "context=%s mailbox=%s", context, mailbox);
	if (vm->h && !vm->closing)
		vm->h(vm->arg, context, mailbox);
}

/* ---- the recording, into samples ---- */

/* What was recorded, decoded, its silent end cut; false when nothing is
 * to be kept (shorter than minsecs, or empty). */
static bool job_prepare(struct vm_job *j)
{
	struct rtp_rec *r = &j->rec;
	size_t n = r->len;

	if (r->end == REC_SILENCE && r->silent > VM_SILENCE_KEEP)
		n -= r->silent - VM_SILENCE_KEEP < n ? r->silent - VM_SILENCE_KEEP : n;
	j->duration = (unsigned)(n / 8000);
	if (!n || j->duration < j->minsecs)
		return false;
	j->pcm = malloc(n * sizeof(*j->pcm));
	if (!j->pcm)
		return false;
	if (r->alaw)
		g711_alaw_decode_buf(j->pcm, r->buf, n);
	else
		g711_ulaw_decode_buf(j->pcm, r->buf, n);
	j->n = n;
	j->mi.duration = j->duration;
	free(r->buf);
	r->buf = NULL;
	return true;
}

static void job_run(struct vm_job *j)
{
	char dir[VM_PATH];

	switch (j->kind) {
	case JOB_STORE:
		for (size_t i = 0; i < j->tn; i++) {
			struct vm_target *t = &j->t[i];

			t->err = vm_path(dir, sizeof(dir), j->spool, t->context, t->mailbox,
					 "INBOX");
			if (!t->err) {
				snprintf(j->mi.origmailbox, sizeof(j->mi.origmailbox), "%s",
					 t->mailbox);
				t->err = vm_store(dir, j->maxmsg, j->pcm, j->n, &j->mi,
						  &t->msgnum);
			}
		}
		j->err = j->t[0].err;
		break;
	case JOB_GREETING:
		j->err = vm_write_wav(j->path, j->pcm, j->n);
		break;
	case JOB_EXPUNGE: {
		char to[VM_PATH];
		unsigned gone = 0;

		pjoin(dir, sizeof(dir), "%s/%s", j->path, folders[j->folder]);
		for (size_t i = 0; i < j->nops; i++) {
			unsigned idx = j->ops[i].idx - gone;
			int err;

			if (j->ops[i].to < 0) {
				err = vm_msg_delete(dir, idx);
			} else {
				pjoin(to, sizeof(to), "%s/%s", j->path, folders[j->ops[i].to]);
				err = vm_msg_move(dir, idx, to, j->maxmsg);
			}
			if (err) {
				j->err = err;
				log_event(LOG_WARN, "vm_expunge_failed", "dir=%s msg=%u error=%d",
					  dir, idx, err);
			} else {
				gone++;
			}
		}
		break;
	}
	}
}

static void work_cb(uv_work_t *w)
{
	job_run(w->data);
}

static void resume(struct call *c, enum dp_result res);
static void job_done(struct vm_job *j);

static void after_cb(uv_work_t *w, int status)
{
	struct vm_job *j = w->data;
	struct vm *vm = j->vm;

	if (status)
		j->err = ECANCELED;
	job_done(j);
	if (vm->closing && list_empty(&vm->jobs))
		free(vm);
}

/* Off to the pool; false when it cannot be queued. */
static bool job_queue(struct vm_job *j)
{
	j->state = JOB_WORKING;
	j->work.data = j;
	return !uv_queue_work(j->vm->loop, &j->work, work_cb, after_cb);
}

static struct vm_job *job_alloc(struct vm *vm, struct call *c, enum job_kind kind)
{
	struct vm_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->vm = vm;
	j->c = c;
	j->kind = kind;
	list_push_back(&vm->jobs, &j->le);
	return j;
}

void vm_free(struct vm *vm)
{
	struct list_node *it, *tmp;
	bool working = false;

	if (!vm)
		return;
	vm->closing = true;
	/* The relay's workers are joined: its buffers are ours to read. */
	list_foreach_safe(it, tmp, &vm->jobs) {
		struct vm_job *j = list_entry(it, struct vm_job, le);

		if (j->state == JOB_WORKING) {
			working = true;
			continue;
		}
		j->c = NULL;
		if (job_prepare(j)) {
			job_run(j);
			for (size_t i = 0; j->kind == JOB_STORE && i < j->tn; i++)
				log_event(j->t[i].err ? LOG_WARN : LOG_INFO, "vm_stored_at_exit",
					  "context=%s mailbox=%s msg=%u error=%d",
					  j->t[i].context, j->t[i].mailbox, j->t[i].msgnum,
					  j->t[i].err);
		}
		job_free(j);
	}
	if (!working)
		free(vm);
}

/* ---- helpers on the call ---- */

static struct vm *vm_of(struct call *c)
{
	return c->pbx->vm;
}

static const char *lang_of(const struct call *c)
{
	return c->a.ep && c->a.ep->language ? c->a.ep->language : "en";
}

static void resume(struct call *c, enum dp_result res)
{
	call_resume(c, dp_chan_resume(c->dp, res));
}

static bool file_exists(const char *path_noext)
{
	char p[VM_PATH + 8];
	struct stat st;

	snprintf(p, sizeof(p), "%s.wav", path_noext);
	return !stat(p, &st) && S_ISREG(st.st_mode);
}

static void spool_abs(const struct call *c, char *buf, size_t size)
{
	const char *s = c->cfg->astspooldir;
	char cwd[VM_PATH];

	if (*s == '/' || !getcwd(cwd, sizeof(cwd)))
		pjoin(buf, size, "%s", s);
	else
		pjoin(buf, size, "%s/%s", cwd, s);
}

/* "mailbox[@context]" into its parts; false when it is not one. */
static bool box_split(const char *s, char *box, size_t bs, char *ctx, size_t cs)
{
	const char *at = strchr(s, '@');
	size_t bl = at ? (size_t)(at - s) : strlen(s);

	if (!bl || bl >= bs)
		return false;
	memcpy(box, s, bl);
	box[bl] = '\0';
	snprintf(ctx, cs, "%s", at && at[1] ? at + 1 : "default");
	return vm_name_valid(box) && vm_name_valid(ctx);
}

/* A fresh state for the application starting (a second VoiceMail() in
 * the same call starts from nothing too). */
static struct vm_call *vc_alloc(struct call *c)
{
	vm_call_free(c);
	c->vm = calloc(1, sizeof(*c->vm));
	return c->vm;
}

/* One more file of a list ('&'-separated, as say.c builds them too). */
static void add(struct sbuf *out, const char *name)
{
	if (out->len)
		sbuf_append_str(out, "&");
	sbuf_append_str(out, name);
}

static void set_status(struct call *c, const char *status)
{
	dp_chan_var_set(c->dp, "VMSTATUS", status);
}

static void wait_key_tmr(void *arg);

/* The prompt is over: wait for a key (ms), then wait_key_tmr. */
static enum dp_result wait_key(struct call *c, uint64_t ms)
{
	c->vm->waiting = true;
	c->ivr.state = IVR_VM;
	tmr_start(c->pbx->tmrq, &c->app_tmr, ms, wait_key_tmr, c);
	return DP_ASYNC;
}

static enum dp_result play(struct call *c, const char *files)
{
	c->vm->waiting = false;
	c->ivr.state = IVR_VM;
	return apps_play(c, files);
}

/* ---- VoiceMail() ---- */

static void msginfo_fill(struct call *c, struct vm_msginfo *mi)
{
	struct timeval now;

	gettimeofday(&now, NULL);
	memset(mi, 0, sizeof(*mi));
	snprintf(mi->context, sizeof(mi->context), "%s", dp_chan_context(c->dp));
	snprintf(mi->exten, sizeof(mi->exten), "%s", dp_chan_exten(c->dp));
	snprintf(mi->rdnis, sizeof(mi->rdnis), "unknown");
	mi->priority = (unsigned)dp_chan_priority(c->dp);
	snprintf(mi->callerchan, sizeof(mi->callerchan), "%s", c->a.chan);
	/* ast_callerid_merge() */
	if (c->caller_name[0] && c->caller_num[0])
		snprintf(mi->callerid, sizeof(mi->callerid), "\"%s\" <%s>",
			 c->caller_name, c->caller_num);
	else if (c->caller_name[0] || c->caller_num[0])
		snprintf(mi->callerid, sizeof(mi->callerid), "%s",
			 c->caller_name[0] ? c->caller_name : c->caller_num);
	else
		snprintf(mi->callerid, sizeof(mi->callerid), "Unknown");
	mi->origtime = (long long)now.tv_sec;
	vm_origdate(mi->origtime, mi->origdate, sizeof(mi->origdate));
	snprintf(mi->msg_id, sizeof(mi->msg_id), "%lld-%08x", mi->origtime,
		 (unsigned)rand_u64());
}

static void rec_guard(void *arg);

/* Start recording into a new job (STORE or GREETING). */
static enum dp_result record_start(struct call *c, enum job_kind kind)
{
	const struct vm_config *vc = &c->cfg->vm;
	unsigned secs = vc->maxsecs ? vc->maxsecs : VM_MAXSECS_CAP;
	struct vm_job *j;

	if (!c->a.m.rtp ||
	    (c->a.m.codec != CFG_CODEC_PCMU && c->a.m.codec != CFG_CODEC_PCMA)) {
		log_event(LOG_WARN, "vm_record_failed", "uniqueid=%s error=\"no G.711 media\"",
			  c->uniqueid);
		return DP_HANGUP;
	}
	j = job_alloc(vm_of(c), c, kind);
	if (!j)
		return DP_HANGUP;
	j->rec.cap = (size_t)secs * 8000;
	j->rec.buf = malloc(j->rec.cap);
	if (!j->rec.buf) {
		job_free(j);
		return DP_HANGUP;
	}
	j->rec.pt = c->a.m.pt;
	j->rec.alaw = c->a.m.codec == CFG_CODEC_PCMA;
	j->rec.silence_ms = vc->maxsilence * 1000;
	j->rec.threshold = vc->silencethreshold;
	j->minsecs = kind == JOB_STORE ? vc->minsecs : 0;
	j->maxmsg = vc->maxmsg;
	if (rtp_leg_record(c->a.m.rtp, &j->rec)) {
		job_free(j);
		return DP_HANGUP;
	}
	j->state = JOB_RECORDING;
	c->vm->job = j;
	c->vm->waiting = false;
	c->ivr.state = IVR_VM;
	/* The relay counts only what arrives: a phone that stops sending
	 * must not keep the recording open forever. */
	tmr_start(c->pbx->tmrq, &c->app_tmr, (uint64_t)secs * 1000 + 2000, rec_guard, c);
	log_event(LOG_INFO, "vm_record_start", "uniqueid=%s maxsecs=%u", c->uniqueid, secs);
	return DP_ASYNC;
}

/* The recording is over (a key, silence, full, a hang-up): once the
 * relay has let go of the buffer, the job goes on. */
static void record_finish(struct call *c, bool hangup)
{
	struct vm_job *j = c->vm ? c->vm->job : NULL;

	if (!j || j->state != JOB_RECORDING)
		return;
	tmr_cancel(c->pbx->tmrq, &c->app_tmr);
	c->ivr.state = IVR_NONE;
	if (c->a.m.rtp)
		rtp_leg_stop(c->a.m.rtp);
	j->state = JOB_SYNCING;
	if (hangup) {
		j->c = NULL;
		c->vm->job = NULL;
	}
	c->vm->step = c->vm->main ? ST_GREET_SAVING : ST_SAVING;
	if (rtp_engine_sync(c->pbx->rtp, job_synced, j))
		log_event(LOG_WARN, "vm_record_deferred", "uniqueid=%s", c->uniqueid);
}

static void rec_guard(void *arg)
{
	record_finish(arg, false);
}

void vm_record_done(struct call *c)
{
	if (c->vm && c->vm->job && c->vm->job->state == JOB_RECORDING) {
		log_event(LOG_INFO, "vm_record_end", "uniqueid=%s reason=%s", c->uniqueid,
			  c->vm->job->rec.end == REC_SILENCE ? "silence" : "maxsecs");
		record_finish(c, false);
	}
}

static void job_synced(void *arg)
{
	struct vm_job *j = arg;

	j->discarded = !job_prepare(j);
	if (j->discarded) {
		log_event(LOG_INFO, "vm_record_discarded", "duration=%u minsecs=%u",
			  j->duration, j->minsecs);
		j->err = EAGAIN;
		job_done(j);
		return;
	}
	if (!job_queue(j)) {
		j->err = ENOMEM;
		job_done(j);
	}
}

static enum dp_result main_after_greeting(struct call *c, int err);

/* The job is over; the call (if still there) goes on. */
static void job_done(struct vm_job *j)
{
	struct call *c = j->c;
	struct vm *vm = j->vm;
	enum dp_result res = DP_CONTINUE;

	if (j->kind == JOB_STORE) {
		for (size_t i = 0; i < j->tn; i++) {
			if (j->discarded)
				break;
			if (j->t[i].err) {
				log_event(LOG_WARN, "vm_store_failed", "context=%s mailbox=%s error=%d",
					  j->t[i].context, j->t[i].mailbox, j->t[i].err);
				continue;
			}
			log_event(LOG_INFO, "vm_stored",
				  "context=%s mailbox=%s msg=%u duration=%u",
				  j->t[i].context, j->t[i].mailbox, j->t[i].msgnum, j->duration);
			changed(vm, j->t[i].context, j->t[i].mailbox);
		}
	} else if (j->kind == JOB_EXPUNGE && j->c && j->c->vm && j->c->vm->box) {
		changed(vm, j->c->vm->box->context, j->c->vm->box->mailbox);
	} else if (j->kind == JOB_EXPUNGE && j->nops) {
		/* path is .../voicemail/CONTEXT/MAILBOX */
		char *box = strrchr(j->path, '/'), *ctx;

		if (box) {
			*box++ = '\0';
			ctx = strrchr(j->path, '/');
			if (ctx)
				changed(vm, ctx + 1, box);
		}
	}
	if (c && c->vm && c->vm->job == j) {
		c->vm->job = NULL;
		if (j->kind == JOB_STORE) {
			set_status(c, j->err ? "FAILED" : "SUCCESS");
			c->ivr.state = IVR_NONE;
		} else {
			res = main_after_greeting(c, j->err);
		}
		job_free(j);
		resume(c, res);
		return;
	}
	job_free(j);
}

static enum dp_result vm_leave(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : "");
	struct vm_call *v = vc_alloc(c);
	struct dp_report rep = { .warn = NULL };
	struct dp_voicemail a;
	bool busy, unavail, silent;
	struct sbuf files;
	char p[VM_PATH];
	enum dp_result res;

	if (!buf || !v) {
		free(buf);
		return DP_HANGUP;
	}
	dp_voicemail_parse(buf, &a, &rep);
	busy = a.busy;
	unavail = a.unavail;
	silent = a.silent;
	for (unsigned i = 0; i < a.n && v->tn < VM_TARGETS_MAX; i++) {
		struct vm_target *t = &v->t[v->tn];

		if (!box_split(a.boxes[i], t->mailbox, sizeof(t->mailbox), t->context,
			       sizeof(t->context)) ||
		    !vm_config_mailbox(&c->cfg->vm, t->context, t->mailbox)) {
			/* leave_voicemail(): "No entry in voicemail config file" */
			log_event(LOG_WARN, "vm_no_mailbox", "uniqueid=%s mailbox=%s",
				  c->uniqueid, a.boxes[i]);
			continue;
		}
		v->tn++;
	}
	free(buf);
	if (!v->tn) {
		set_status(c, "FAILED");
		return DP_CONTINUE;
	}
	v->box = vm_config_mailbox(&c->cfg->vm, v->t[0].context, v->t[0].mailbox);
	spool_abs(c, v->spool, sizeof(v->spool));
	if (vm_path(v->boxdir, sizeof(v->boxdir), v->spool, v->t[0].context,
		    v->t[0].mailbox, NULL) ||
	    apps_play_answer(c))
		return DP_HANGUP;

	pjoin(p, sizeof(p), "%s/INBOX", v->boxdir);
	if (vm_folder_count(p) >= c->cfg->vm.maxmsg) {
		log_event(LOG_WARN, "vm_mailbox_full", "uniqueid=%s mailbox=%s@%s",
			  c->uniqueid, v->t[0].mailbox, v->t[0].context);
		v->step = ST_FAILING;
		return play(c, "vm-mailboxfull");
	}

	/* The greeting: a temporary one wins, then the one asked for, else
	 * the mailbox said ("the person at extension 1234" or its name). */
	sbuf_init(&files);
	pjoin(p, sizeof(p), "%s/temp", v->boxdir);
	if (file_exists(p)) {
		add(&files, p);
	} else if (busy || unavail) {
		pjoin(p, sizeof(p), "%s/%s", v->boxdir, busy ? "busy" : "unavail");
		if (file_exists(p)) {
			add(&files, p);
		} else {
			pjoin(p, sizeof(p), "%s/greet", v->boxdir);
			if (file_exists(p)) {
				add(&files, p);
			} else {
				add(&files, "vm-theperson");
				say_digits(v->t[0].mailbox, &files);
			}
			add(&files, busy ? "vm-isonphone" : "vm-isunavail");
		}
	}
	if (!silent)
		add(&files, "vm-intro");
	if (sbuf_err(&files)) {
		sbuf_free(&files);
		return DP_HANGUP;
	}
	if (!files.len) {
		sbuf_free(&files);
		v->step = ST_BEEP;
		return play(c, "beep");
	}
	v->step = ST_GREETING;
	res = play(c, sbuf_cstr(&files));
	sbuf_free(&files);
	return res;
}

static enum dp_result leave_record(struct call *c)
{
	struct vm_call *v = c->vm;
	enum dp_result res = record_start(c, JOB_STORE);

	if (res != DP_ASYNC)
		return res;
	v->step = ST_RECORDING;
	v->job->tn = v->tn;
	memcpy(v->job->t, v->t, sizeof(v->t));
	snprintf(v->job->spool, sizeof(v->job->spool), "%s", v->spool);
	msginfo_fill(c, &v->job->mi);
	return DP_ASYNC;
}

/* ---- VoiceMailMain() ---- */

static enum dp_result main_menu(struct call *c);
static enum dp_result main_intro(struct call *c);
static enum dp_result options_menu(struct call *c);
static void instructions(struct call *c, struct sbuf *files);

static void say_num(struct call *c, unsigned n, struct sbuf *out)
{
	say_number((int)n, lang_of(c), "", out);
}

/* Open folder f: its count, fresh flags. */
static bool folder_open(struct call *c, unsigned f)
{
	struct vm_call *v = c->vm;
	char p[VM_PATH];

	pjoin(p, sizeof(p), "%s/%s", v->boxdir, folders[f]);
	v->folder = f;
	v->count = vm_folder_count(p);
	v->cur = 0;
	free(v->heard);
	free(v->deleted);
	free(v->save_to);
	v->heard = calloc(v->count + 1, sizeof(*v->heard));
	v->deleted = calloc(v->count + 1, sizeof(*v->deleted));
	v->save_to = calloc(v->count + 1, sizeof(*v->save_to));
	if (!v->heard || !v->deleted || !v->save_to)
		return false;
	for (unsigned i = 0; i < v->count; i++)
		v->save_to[i] = -1;
	return true;
}

/* close_mailbox(): deletions, saves and (INBOX) heard messages to Old,
 * off the loop; then the step after_close.  False: nothing to do. */
static bool folder_close(struct call *c, bool hangup)
{
	struct vm_call *v = c->vm;
	struct vm_job *j;
	size_t n = 0;

	if (!v->heard)
		return false;
	for (unsigned i = 0; i < v->count; i++) {
		if (v->deleted[i] || v->save_to[i] >= 0 ||
		    (v->folder == 0 && v->heard[i]))
			n++;
	}
	if (!n)
		return false;
	j = job_alloc(vm_of(c), hangup ? NULL : c, JOB_EXPUNGE);
	if (!j || !(j->ops = calloc(n, sizeof(*j->ops)))) {
		if (j)
			job_free(j);
		return false;
	}
	for (unsigned i = 0; i < v->count; i++) {
		struct vm_op *op = &j->ops[j->nops];

		if (v->deleted[i])
			op->to = -1;
		else if (v->save_to[i] >= 0)
			op->to = v->save_to[i];
		else if (v->folder == 0 && v->heard[i])
			op->to = 1;
		else
			continue;
		if (op->to == (int)v->folder)
			continue;
		op->idx = i;
		j->nops++;
	}
	snprintf(j->path, sizeof(j->path), "%s", v->boxdir);
	j->folder = v->folder;
	j->maxmsg = c->cfg->vm.maxmsg;
	free(v->heard);
	v->heard = NULL;
	if (!j->nops || !job_queue(j)) {
		job_free(j);
		return false;
	}
	if (!hangup) {
		v->job = j;
		v->step = ST_CLOSING;
	}
	return true;
}

static enum dp_result goodbye(struct call *c)
{
	c->vm->step = ST_GOODBYE;
	return play(c, "vm-goodbye");
}

/* After the folder is closed: the menu of the new folder, or goodbye. */
static enum dp_result after_close(struct call *c)
{
	struct vm_call *v = c->vm;

	if (v->after_close == ST_GOODBYE)
		return goodbye(c);
	if (!folder_open(c, v->next_folder))
		return DP_HANGUP;
	v->repeats = 0;
	/* "vm-INBOX vm-messages": the folder it changed to */
	v->step = ST_MENU;
	{
		char files[64];

		snprintf(files, sizeof(files), "vm-%s&vm-messages", folders[v->folder]);
		return play(c, files);
	}
}

static enum dp_result close_then(struct call *c, enum vm_step next, unsigned folder)
{
	c->vm->after_close = next;
	c->vm->next_folder = folder;
	if (folder_close(c, false))
		return DP_ASYNC;
	return after_close(c);
}

static enum dp_result main_after_greeting(struct call *c, int err)
{
	struct vm_call *v = c->vm;

	if (v->step == ST_CLOSING)
		return after_close(c);
	/* A greeting was recorded (or was too short to keep). */
	v->step = ST_OPTIONS;
	return play(c, err ? "vm-sorry&vm-options" : "vm-msgsaved&vm-options");
}

static enum dp_result ask_password(struct call *c)
{
	struct vm_call *v = c->vm;

	v->in_n = 0;
	if (v->skip_pw)
		return main_intro(c);
	v->step = ST_PASSWORD;
	return play(c, "vm-password");
}

static enum dp_result login_check(struct call *c)
{
	struct vm_call *v = c->vm;
	char box[80];

	v->in[v->in_n] = '\0';
	if (v->step == ST_LOGIN) {
		snprintf(box, sizeof(box), "%s", v->in);
		v->box = vm_name_valid(box) ? vm_config_mailbox(&c->cfg->vm, v->context, box)
					    : NULL;
		/* A mailbox that does not exist still asks the password, so
		 * that a caller cannot tell which ones do. */
		if (!v->box)
			snprintf(v->t[0].mailbox, sizeof(v->t[0].mailbox), "%s", box);
		v->in_n = 0;
		v->step = ST_PASSWORD;
		return play(c, "vm-password");
	}
	if (v->box && !strcmp(v->in, v->box->password))
		return main_intro(c);
	log_event(LOG_WARN, "vm_login_failed", "uniqueid=%s mailbox=%s", c->uniqueid,
		  v->box ? v->box->mailbox : v->t[0].mailbox);
	if (++v->tries >= VM_LOGIN_TRIES)
		return goodbye(c);
	v->in_n = 0;
	if (v->box_given) {
		v->step = ST_PASSWORD;
		return play(c, "vm-incorrect&vm-password");
	}
	v->step = ST_LOGIN;
	return play(c, "vm-incorrect-mailbox&vm-login");
}

/* vm_intro_en(): "you have N new and M old messages", then the menu. */
static enum dp_result main_intro(struct call *c)
{
	struct vm_call *v = c->vm;
	struct sbuf files;
	unsigned nnew, nold;
	char p[VM_PATH];
	enum dp_result res;

	spool_abs(c, v->spool, sizeof(v->spool));
	if (vm_path(v->boxdir, sizeof(v->boxdir), v->spool, v->box->context,
		    v->box->mailbox, NULL))
		return DP_HANGUP;
	log_event(LOG_INFO, "vm_login", "uniqueid=%s mailbox=%s@%s", c->uniqueid,
		  v->box->mailbox, v->box->context);
	pjoin(p, sizeof(p), "%s/INBOX", v->boxdir);
	nnew = vm_folder_count(p);
	pjoin(p, sizeof(p), "%s/Old", v->boxdir);
	nold = vm_folder_count(p);
	/* The folder the menu starts in: INBOX, or Old when INBOX is empty. */
	if (!folder_open(c, nnew || !nold ? 0 : 1))
		return DP_HANGUP;
	sbuf_init(&files);
	add(&files, "vm-youhave");
	if (nnew) {
		say_num(c, nnew, &files);
		add(&files, "vm-INBOX");
		if (nold)
			add(&files, "vm-and");
		else
			add(&files, nnew == 1 ? "vm-message" : "vm-messages");
	}
	if (nold) {
		say_num(c, nold, &files);
		add(&files, "vm-Old");
		add(&files, nold == 1 ? "vm-message" : "vm-messages");
	}
	if (!nnew && !nold)
		add(&files, "vm-no&vm-messages");
	instructions(c, &files);
	if (sbuf_err(&files)) {
		sbuf_free(&files);
		return DP_HANGUP;
	}
	log_event(LOG_INFO, "vm_counts", "uniqueid=%s new=%u old=%u", c->uniqueid,
		  nnew, nold);
	v->step = ST_MENU;
	v->repeats = 0;
	res = play(c, sbuf_cstr(&files));
	sbuf_free(&files);
	return res;
}

/* vm_instructions_en(), the short form: "press 1 for INBOX messages",
 * then vm-opts (2 folders, 0 mailbox options, * help, # exit). */
static void instructions(struct call *c, struct sbuf *files)
{
	struct vm_call *v = c->vm;

	if (v->count) {
		add(files, "vm-onefor");
		sbuf_printf(files, "&vm-%s", folders[v->folder]);
		add(files, "vm-messages");
	}
	add(files, "vm-opts");
}

static enum dp_result main_menu(struct call *c)
{
	struct vm_call *v = c->vm;
	struct sbuf files;
	enum dp_result res;

	v->step = ST_MENU;
	if (++v->repeats > VM_MENU_REPEATS)
		return close_then(c, ST_GOODBYE, 0);
	sbuf_init(&files);
	instructions(c, &files);
	res = sbuf_err(&files) ? DP_HANGUP : play(c, sbuf_cstr(&files));
	sbuf_free(&files);
	return res;
}

static enum dp_result message_play(struct call *c)
{
	struct vm_call *v = c->vm;
	struct sbuf files;
	enum dp_result res;

	v->step = ST_MESSAGE;
	v->heard[v->cur] = true;
	sbuf_init(&files);
	if (v->cur == 0)
		add(&files, "vm-first");
	else if (v->cur == (int)v->count - 1)
		add(&files, "vm-last");
	add(&files, "vm-message");
	say_num(c, (unsigned)v->cur + 1, &files);
	sbuf_printf(&files, "&%s/%s/msg%04d", v->boxdir, folders[v->folder], v->cur);
	if (sbuf_err(&files)) {
		sbuf_free(&files);
		return DP_HANGUP;
	}
	log_event(LOG_INFO, "vm_play_message", "uniqueid=%s folder=%s msg=%d",
		  c->uniqueid, folders[v->folder], v->cur);
	res = play(c, sbuf_cstr(&files));
	sbuf_free(&files);
	return res;
}

static enum dp_result menu_key(struct call *c, char d)
{
	struct vm_call *v = c->vm;

	switch (d) {
	case '1':
		if (!v->count) {
			v->step = ST_MENU;
			return play(c, "vm-youhave&vm-no&vm-messages");
		}
		v->cur = 0;
		return message_play(c);
	case '2':
		v->step = ST_FOLDER;
		return play(c, "vm-changeto");
	case '0':
		return options_menu(c);
	case '#':
		return close_then(c, ST_GOODBYE, 0);
	default:
		/* '*' is help: the instructions again, as any other key. */
		v->repeats = 0;
		return main_menu(c);
	}
}

static enum dp_result message_key(struct call *c, char d)
{
	struct vm_call *v = c->vm;

	switch (d) {
	case '4':
		if (v->cur == 0)
			return play(c, "vm-nomore");
		v->cur--;
		return message_play(c);
	case '5':
		return message_play(c);
	case '6':
		if (v->cur + 1 >= (int)v->count)
			return play(c, "vm-nomore");
		v->cur++;
		return message_play(c);
	case '7':
		v->deleted[v->cur] = !v->deleted[v->cur];
		log_event(LOG_INFO, "vm_delete_mark", "uniqueid=%s msg=%d deleted=%d",
			  c->uniqueid, v->cur, v->deleted[v->cur]);
		return play(c, v->deleted[v->cur] ? "vm-deleted" : "vm-undeleted");
	case '9':
		v->step = ST_SAVEFOLDER;
		return play(c, "vm-savefolder");
	default:
		return menu_key(c, d);
	}
}

static enum dp_result options_menu(struct call *c)
{
	c->vm->step = ST_OPTIONS;
	return play(c, "vm-options");
}

static enum dp_result options_key(struct call *c, char d)
{
	static const char *const names[] = { NULL, "unavail", "busy", "greet", "temp" };
	static const char *const prompts[] = { NULL, "vm-rec-unv", "vm-rec-busy",
					       "vm-rec-name", "vm-rec-temp" };
	struct vm_call *v = c->vm;

	if (d >= '1' && d <= '4') {
		v->greeting = d - '0';
		v->step = ST_GREET_BEEP;
		log_event(LOG_INFO, "vm_record_greeting", "uniqueid=%s greeting=%s",
			  c->uniqueid, names[v->greeting]);
		{
			char files[64];

			snprintf(files, sizeof(files), "%s&beep", prompts[v->greeting]);
			return play(c, files);
		}
	}
	if (d == '*' || d == '#') {
		v->repeats = 0;
		return main_menu(c);
	}
	return options_menu(c);
}

static enum dp_result greeting_record(struct call *c)
{
	static const char *const names[] = { NULL, "unavail", "busy", "greet", "temp" };
	struct vm_call *v = c->vm;
	enum dp_result res = record_start(c, JOB_GREETING);

	if (res != DP_ASYNC)
		return res;
	v->step = ST_GREET_REC;
	pjoin(v->job->path, sizeof(v->job->path), "%s/%s", v->boxdir,
		 names[v->greeting]);
	return DP_ASYNC;
}

static enum dp_result vm_main(struct call *c, const char *args)
{
	char *buf = strdup(args ? args : "");
	struct vm_call *v = vc_alloc(c);
	struct dp_voicemailmain a;
	char box[80], ctx[80];

	if (!buf || !v) {
		free(buf);
		return DP_HANGUP;
	}
	v->main = true;
	dp_voicemailmain_parse(buf, &a, NULL);
	v->skip_pw = a.skip_password;
	snprintf(v->context, sizeof(v->context), "default");
	if (*a.box == '@') {
		/* "@context": the mailbox is asked for, in that context. */
		if (!vm_name_valid(a.box + 1)) {
			free(buf);
			return DP_HANGUP;
		}
		snprintf(v->context, sizeof(v->context), "%s", a.box + 1);
	} else if (*a.box) {
		if (!box_split(a.box, box, sizeof(box), ctx, sizeof(ctx))) {
			free(buf);
			return DP_HANGUP;
		}
		snprintf(v->context, sizeof(v->context), "%s", ctx);
		snprintf(v->t[0].mailbox, sizeof(v->t[0].mailbox), "%s", box);
		v->box = vm_config_mailbox(&c->cfg->vm, ctx, box);
		v->box_given = true;
	}
	free(buf);
	if (apps_play_answer(c))
		return DP_HANGUP;
	if (!v->box_given) {
		v->step = ST_LOGIN;
		return play(c, "vm-login");
	}
	if (!v->box) {
		/* vm_execmain(): a mailbox given that does not exist is asked
		 * for again. */
		v->box_given = false;
		v->step = ST_LOGIN;
		return play(c, "vm-login");
	}
	return ask_password(c);
}

/* ---- apps.c's hooks ---- */

enum dp_result vm_app(struct call *c, enum dp_app app, const char *args)
{
	if (app == DP_APP_VOICEMAIL)
		return vm_leave(c, args);
	return vm_main(c, args);
}

static enum dp_result collect_key(struct call *c, char d)
{
	struct vm_call *v = c->vm;

	if (d == '#' || (d == '*' && !v->in_n))
		return login_check(c);
	if (v->in_n < sizeof(v->in) - 1)
		v->in[v->in_n++] = d;
	return wait_key(c, VM_DIGIT_MS);
}

enum dp_result vm_key(struct call *c, char d)
{
	struct vm_call *v = c->vm;

	if (!v)
		return DP_ASYNC;
	switch (v->step) {
	case ST_GREETING:
	case ST_LOGIN:
	case ST_PASSWORD:
	case ST_MENU:
	case ST_MESSAGE:
	case ST_FOLDER:
	case ST_SAVEFOLDER:
	case ST_OPTIONS:
		if (v->step == ST_GREETING && d != '#' && d != '*' && d != '0')
			return DP_ASYNC;
		tmr_cancel(c->pbx->tmrq, &c->app_tmr);
		if (c->play_list)
			apps_play_cut(c);
		break;
	default:
		break;
	}
	switch (v->step) {
	case ST_GREETING:
		if (d == '#') {
			v->step = ST_BEEP;
			return play(c, "beep");
		}
		if (d == '*' || d == '0') {
			const char *exten = d == '*' ? "a" : "o";

			if (dp_chan_match(c->dp, NULL, exten, DP_MATCH)) {
				set_status(c, "USEREXIT");
				c->ivr.state = IVR_NONE;
				if (dp_chan_goto(c->dp, NULL, exten, 1))
					return DP_HANGUP;
				return DP_JUMPED;
			}
		}
		/* app_voicemail without an 'a' or 'o' extension: the key is
		 * dropped, and so is the rest of the greeting. */
		v->step = ST_BEEP;
		return play(c, "beep");
	case ST_RECORDING:
	case ST_GREET_REC:
		if (d == '#')
			record_finish(c, false);
		return DP_ASYNC;
	case ST_LOGIN:
	case ST_PASSWORD:
		return collect_key(c, d);
	case ST_INCORRECT:
		return DP_ASYNC;
	case ST_MENU:
		return menu_key(c, d);
	case ST_MESSAGE:
		return message_key(c, d);
	case ST_FOLDER:
	case ST_SAVEFOLDER:
		if (d >= '0' && d < (char)('0' + VM_FOLDERS)) {
			unsigned f = (unsigned)(d - '0');

			if (v->step == ST_FOLDER)
				return close_then(c, ST_MENU, f);
			v->save_to[v->cur] = (int)f;
			v->step = ST_MESSAGE;
			{
				char files[64];

				snprintf(files, sizeof(files), "vm-message&vm-savedto&vm-%s",
					 folders[f]);
				return play(c, files);
			}
		}
		if (v->step == ST_FOLDER)
			return main_menu(c);
		v->step = ST_MESSAGE;
		return message_play(c);
	case ST_OPTIONS:
		return options_key(c, d);
	default:
		return DP_ASYNC;
	}
}

static void wait_key_tmr(void *arg)
{
	struct call *c = arg;
	struct vm_call *v = c->vm;
	enum dp_result res;

	switch (v->step) {
	case ST_LOGIN:
	case ST_PASSWORD:
		/* No '#': what was typed is the answer. */
		res = login_check(c);
		break;
	case ST_MENU:
	case ST_MESSAGE:
	case ST_FOLDER:
	case ST_SAVEFOLDER:
		res = main_menu(c);
		break;
	case ST_OPTIONS:
		res = ++v->repeats > VM_MENU_REPEATS ? main_menu(c) : options_menu(c);
		break;
	default:
		res = DP_HANGUP;
		break;
	}
	if (res != DP_ASYNC)
		resume(c, res);
}

enum dp_result vm_play_over(struct call *c)
{
	struct vm_call *v = c->vm;

	if (!v)
		return DP_CONTINUE;
	switch (v->step) {
	case ST_GREETING:
		v->step = ST_BEEP;
		return play(c, "beep");
	case ST_BEEP:
		return leave_record(c);
	case ST_FAILING:
		set_status(c, "FAILED");
		c->ivr.state = IVR_NONE;
		return DP_CONTINUE;
	case ST_LOGIN:
	case ST_PASSWORD:
	case ST_MENU:
	case ST_MESSAGE:
	case ST_FOLDER:
	case ST_SAVEFOLDER:
	case ST_OPTIONS:
		return wait_key(c, VM_RESPONSE_MS);
	case ST_GREET_BEEP:
		return greeting_record(c);
	case ST_GOODBYE:
		/* vm_execmain() returns 0 after vm-goodbye: the dialplan goes
		 * on (Asterisk's samples then hang up). */
		c->ivr.state = IVR_NONE;
		return DP_CONTINUE;
	default:
		return DP_ASYNC;
	}
}

void vm_hangup(struct call *c)
{
	struct vm_call *v = c->vm;

	if (!v)
		return;
	if (v->job && v->job->state == JOB_RECORDING) {
		record_finish(c, true);
	} else if (v->job) {
		/* Saving or closing: it goes on without the call. */
		v->job->c = NULL;
		v->job = NULL;
	} else if (v->main && v->heard) {
		folder_close(c, true);
	}
}

void vm_call_free(struct call *c)
{
	struct vm_call *v = c->vm;

	if (!v)
		return;
	if (v->job)
		v->job->c = NULL;
	free(v->heard);
	free(v->deleted);
	free(v->save_to);
	free(v);
	c->vm = NULL;
}

/* ---- MAILBOX_EXISTS(), VM_INFO() ---- */

bool vm_func_known(const char *name, size_t len)
{
	return (len > 16 && !strncmp(name, "MAILBOX_EXISTS(", 15) && name[len - 1] == ')') ||
	       (len > 9 && !strncmp(name, "VM_INFO(", 8) && name[len - 1] == ')');
}

int vm_func(struct call *c, const char *name, size_t len, struct sbuf *out)
{
	bool exists_fn = name[0] == 'M';
	size_t skip = exists_fn ? 15 : 8;
	char *buf = strndup(name + skip, len - skip - 1), *argv[3] = { NULL, NULL, NULL };
	const struct vm_mailbox *b = NULL;
	char box[80], ctx[80];
	int argc, err = 0;

	if (!buf)
		return ENOMEM;
	argc = dp_args_split(buf, argv, 3);
	if (argc > 0 && box_split(str_trim(argv[0]), box, sizeof(box), ctx, sizeof(ctx)))
		b = vm_config_mailbox(&c->cfg->vm, ctx, box);
	if (exists_fn) {
		sbuf_append_str(out, b ? "1" : "0");
		goto out;
	}
	if (argc < 2) {
		log_event(LOG_WARN, "vm_info_bad_args", "uniqueid=%s", c->uniqueid);
		err = EINVAL;
		goto out;
	}
	{
		const char *attr = str_trim(argv[1]);

		if (!strcasecmp(attr, "exists")) {
			sbuf_append_str(out, b ? "1" : "0");
		} else if (!b) {
			/* acf_vm_info(): nothing for a mailbox that is not there */
		} else if (!strcasecmp(attr, "count")) {
			const char *folder = argc > 2 && *str_trim(argv[2]) ? str_trim(argv[2])
									     : "INBOX";
			char p[VM_PATH], spool[VM_PATH];

			if (!vm_name_valid(folder)) {
				err = EINVAL;
				goto out;
			}
			spool_abs(c, spool, sizeof(spool));
			if (vm_path(p, sizeof(p), spool, b->context, b->mailbox, folder)) {
				err = ENAMETOOLONG;
				goto out;
			}
			sbuf_printf(out, "%u", vm_folder_count(p));
		} else if (!strcasecmp(attr, "email")) {
			sbuf_append_str(out, b->email);
		} else if (!strcasecmp(attr, "fullname")) {
			sbuf_append_str(out, b->fullname);
		} else if (!strcasecmp(attr, "pager")) {
			sbuf_append_str(out, b->pager);
		} else if (!strcasecmp(attr, "password")) {
			sbuf_append_str(out, b->password);
		} else if (!strcasecmp(attr, "language")) {
			sbuf_append_str(out, lang_of(c));
		} else {
			log_event(LOG_WARN, "vm_info_unknown", "uniqueid=%s attribute=%s",
				  c->uniqueid, attr);
			err = EINVAL;
		}
	}
 out:
	free(buf);
	return err;
}
