/*
 * vmstore.c - the voicemail spool: paths, the [message] .txt files, the
 * folder lock, storing, deleting and moving messages (see vmstore.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sndfile.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pbx/vmstore.h"
#include "util/pl.h"
#include "util/rand.h"

/* Audio formats app_voicemail may have left next to a .txt: all of them
 * move with it when the folder is renumbered. */
static const char *const msg_exts[] = {
	"wav", "WAV", "gsm", "ulaw", "alaw", "g722", "sln", NULL
};

int vm_path(char *buf, size_t size, const char *spool, const char *context,
	    const char *mailbox, const char *folder)
{
	int n;

	if (folder)
		n = snprintf(buf, size, "%s/voicemail/%s/%s/%s", spool, context,
			     mailbox, folder);
	else
		n = snprintf(buf, size, "%s/voicemail/%s/%s", spool, context, mailbox);
	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

static int mkdirs(const char *dir)
{
	char p[4096];
	size_t len = strlen(dir);

	if (len >= sizeof(p))
		return ENAMETOOLONG;
	memcpy(p, dir, len + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0770) < 0 && errno != EEXIST)
			return errno;
		*s = '/';
	}
	if (mkdir(p, 0770) < 0 && errno != EEXIST)
		return errno;
	return 0;
}

void vm_origdate(long long t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%a %b %e %r UTC %Y", &tm);
}

int vm_txt_write(const char *path, const struct vm_msginfo *mi)
{
	FILE *f = fopen(path, "w");
	int err = 0;

	if (!f)
		return errno;
	fprintf(f, ";\n; Message Information file\n;\n[message]\n"
		"origmailbox=%s\ncontext=%s\nmacrocontext=%s\nexten=%s\n"
		"rdnis=%s\npriority=%u\ncallerchan=%s\ncallerid=%s\n"
		"origdate=%s\norigtime=%lld\ncategory=%s\nmsg_id=%s\nflag=%s\n"
		"duration=%u\n",
		mi->origmailbox, mi->context, mi->macrocontext, mi->exten,
		mi->rdnis[0] ? mi->rdnis : "unknown", mi->priority, mi->callerchan,
		mi->callerid, mi->origdate, mi->origtime, mi->category, mi->msg_id,
		mi->flag, mi->duration);
	if (ferror(f))
		err = EIO;
	if (fclose(f) && !err)
		err = errno;
	return err;
}

static void set_str(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v);
}

int vm_txt_read(const char *path, struct vm_msginfo *mi)
{
	FILE *f = fopen(path, "r");
	char line[512];
	bool in_msg = false, seen = false;

	memset(mi, 0, sizeof(*mi));
	if (!f)
		return errno == ENOENT ? ENOENT : EIO;
	while (fgets(line, sizeof(line), f)) {
		char *k = str_trim(line), *v;

		if (!*k || *k == ';')
			continue;
		if (*k == '[') {
			in_msg = !strcasecmp(k, "[message]");
			seen |= in_msg;
			continue;
		}
		v = strchr(k, '=');
		if (!in_msg || !v)
			continue;
		*v++ = '\0';
		k = str_trim(k);
		/* Asterisk's config grammar also allows "=>". */
		if (*v == '>')
			v++;
		v = str_trim(v);
#define S(name) else if (!strcasecmp(k, #name)) set_str(mi->name, sizeof(mi->name), v)
		if (0) {
		}
		S(origmailbox); S(context); S(macrocontext); S(exten); S(rdnis);
		S(callerchan); S(callerid); S(origdate); S(category); S(msg_id);
		S(flag);
#undef S
		else if (!strcasecmp(k, "priority"))
			mi->priority = (unsigned)strtoul(v, NULL, 10);
		else if (!strcasecmp(k, "origtime"))
			mi->origtime = strtoll(v, NULL, 10);
		else if (!strcasecmp(k, "duration"))
			mi->duration = (unsigned)strtoul(v, NULL, 10);
	}
	fclose(f);
	return seen ? 0 : EINVAL;
}

/* msgNNNN.txt: N, or -1. */
static int msg_index(const char *name)
{
	if (strncmp(name, "msg", 3) || strlen(name) != 11 || strcmp(name + 7, ".txt"))
		return -1;
	for (int i = 3; i < 7; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
	}
	return (int)strtol(name + 3, NULL, 10);
}

/* The numbers present in dir (present[] of VM_MAX_MSGS); the count. */
static unsigned folder_scan(const char *dir, bool *present)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		int i = msg_index(de->d_name);

		if (i < 0)
			continue;
		if (present)
			present[i] = true;
		n++;
	}
	closedir(d);
	return n;
}

unsigned vm_folder_count(const char *dir)
{
	return folder_scan(dir, NULL);
}

void vm_mailbox_counts(const char *spool, const char *context, const char *mailbox,
		       unsigned *new_msgs, unsigned *old_msgs, unsigned *urgent)
{
	char dir[4096];

	*new_msgs = *old_msgs = *urgent = 0;
	if (!vm_path(dir, sizeof(dir), spool, context, mailbox, "INBOX"))
		*new_msgs = vm_folder_count(dir);
	if (!vm_path(dir, sizeof(dir), spool, context, mailbox, "Old"))
		*old_msgs = vm_folder_count(dir);
	if (!vm_path(dir, sizeof(dir), spool, context, mailbox, "Urgent"))
		*urgent = vm_folder_count(dir);
}

/* The folder's lock, taken (blocking): an open-file-description lock,
 * so it excludes other threads of this process as well as other
 * processes, on a local disk or an NFS volume alike. */
static int folder_lock(const char *dir, int *fdp)
{
	struct flock fl;
	char p[4096];
	int fd;

	if (snprintf(p, sizeof(p), "%s/.lock", dir) >= (int)sizeof(p))
		return ENAMETOOLONG;
	fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0)
		return errno;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	while (fcntl(fd, F_OFD_SETLKW, &fl) < 0) {
		int err = errno;

		if (err != EINTR) {
			close(fd);
			return err;
		}
	}
	*fdp = fd;
	return 0;
}

static void folder_unlock(int fd)
{
	close(fd);
}

static int wav_write(const char *path, const int16_t *samples, size_t n)
{
	SF_INFO info;
	SNDFILE *sf;
	int err = 0;

	memset(&info, 0, sizeof(info));
	info.samplerate = 8000;
	info.channels = 1;
	info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	sf = sf_open(path, SFM_WRITE, &info);
	if (!sf)
		return EIO;
	if (sf_write_short(sf, samples, (sf_count_t)n) != (sf_count_t)n)
		err = EIO;
	if (sf_close(sf) && !err)
		err = EIO;
	return err;
}

/* A name in dir nobody else writes: "tmp-<random>.ext". */
static int tmp_name(char *buf, size_t size, const char *dir, const char *ext)
{
	int n = snprintf(buf, size, "%s/tmp-%016llx.%s", dir,
			 (unsigned long long)rand_u64(), ext);

	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

static int msg_file(char *buf, size_t size, const char *dir, unsigned n, const char *ext)
{
	int len = snprintf(buf, size, "%s/msg%04u.%s", dir, n, ext);

	return len < 0 || (size_t)len >= size ? ENAMETOOLONG : 0;
}

int vm_write_wav(const char *path, const int16_t *samples, size_t n)
{
	char tmp[4096], dst[4096], dir[4096];
	const char *slash = strrchr(path, '/');
	int err;

	if (!slash || (size_t)(slash - path) >= sizeof(dir))
		return EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if ((err = mkdirs(dir)) || (err = tmp_name(tmp, sizeof(tmp), dir, "wav")))
		return err;
	if (snprintf(dst, sizeof(dst), "%s.wav", path) >= (int)sizeof(dst))
		return ENAMETOOLONG;
	err = wav_write(tmp, samples, n);
	if (!err && rename(tmp, dst) < 0)
		err = errno;
	if (err)
		unlink(tmp);
	return err;
}

/* The first number without a message; VM_MAX_MSGS when none is free. */
static unsigned first_free(const bool *present)
{
	unsigned i;

	for (i = 0; i < VM_MAX_MSGS && present[i]; i++)
		;
	return i;
}

int vm_store(const char *dir, unsigned maxmsg, const int16_t *samples, size_t n,
	     const struct vm_msginfo *mi, unsigned *msgnum)
{
	char wtmp[4096], ttmp[4096], wdst[4096], tdst[4096];
	bool *present = NULL;
	unsigned count, num;
	int fd = -1, err;

	wtmp[0] = ttmp[0] = '\0';
	if ((err = mkdirs(dir)) || (err = folder_lock(dir, &fd)))
		return err;
	present = calloc(VM_MAX_MSGS, sizeof(*present));
	if (!present) {
		err = ENOMEM;
		goto out;
	}
	count = folder_scan(dir, present);
	num = first_free(present);
	if (count >= maxmsg || num >= VM_MAX_MSGS) {
		err = ENOSPC;
		goto out;
	}
	if ((err = tmp_name(wtmp, sizeof(wtmp), dir, "wav")) ||
	    (err = tmp_name(ttmp, sizeof(ttmp), dir, "txt")) ||
	    (err = msg_file(wdst, sizeof(wdst), dir, num, "wav")) ||
	    (err = msg_file(tdst, sizeof(tdst), dir, num, "txt")))
		goto out;
	if ((err = wav_write(wtmp, samples, n)) || (err = vm_txt_write(ttmp, mi)))
		goto out;
	/* The .txt makes the message: it goes last. */
	if (rename(wtmp, wdst) < 0 || rename(ttmp, tdst) < 0) {
		err = errno;
		unlink(wdst);
		goto out;
	}
	wtmp[0] = ttmp[0] = '\0';
	*msgnum = num;
 out:
	if (wtmp[0])
		unlink(wtmp);
	if (ttmp[0])
		unlink(ttmp);
	free(present);
	if (fd >= 0)
		folder_unlock(fd);
	return err;
}

/* Every file of message from in dir becomes message to of dir to; the
 * .txt last, so that the message appears whole. */
static int msg_rename(const char *dir, unsigned from, const char *todir, unsigned to)
{
	char a[4096], b[4096];
	int err;

	for (size_t i = 0; msg_exts[i]; i++) {
		if ((err = msg_file(a, sizeof(a), dir, from, msg_exts[i])) ||
		    (err = msg_file(b, sizeof(b), todir, to, msg_exts[i])))
			return err;
		if (rename(a, b) < 0 && errno != ENOENT)
			return errno;
	}
	if ((err = msg_file(a, sizeof(a), dir, from, "txt")) ||
	    (err = msg_file(b, sizeof(b), todir, to, "txt")))
		return err;
	return rename(a, b) < 0 ? errno : 0;
}

/* app_voicemail's resequence_mailbox(): close the gaps.  Under the lock. */
static int folder_compact(const char *dir, bool *present)
{
	unsigned to = 0;
	int err;

	memset(present, 0, VM_MAX_MSGS * sizeof(*present));
	folder_scan(dir, present);
	for (unsigned i = 0; i < VM_MAX_MSGS; i++) {
		if (!present[i])
			continue;
		if (i != to && (err = msg_rename(dir, i, dir, to)))
			return err;
		to++;
	}
	return 0;
}

static int msg_unlink(const char *dir, unsigned n)
{
	char p[4096];
	int err;

	/* The .txt first: the message is gone at once, its audio after. */
	if ((err = msg_file(p, sizeof(p), dir, n, "txt")))
		return err;
	if (unlink(p) < 0)
		return errno;
	for (size_t i = 0; msg_exts[i]; i++) {
		if (!msg_file(p, sizeof(p), dir, n, msg_exts[i]))
			unlink(p);
	}
	return 0;
}

int vm_msg_delete(const char *dir, unsigned n)
{
	bool *present = calloc(VM_MAX_MSGS, sizeof(*present));
	int fd = -1, err;

	if (!present)
		return ENOMEM;
	err = folder_lock(dir, &fd);
	if (!err)
		err = msg_unlink(dir, n);
	if (!err)
		err = folder_compact(dir, present);
	if (fd >= 0)
		folder_unlock(fd);
	free(present);
	return err;
}

int vm_msg_move(const char *dir, unsigned n, const char *to, unsigned maxmsg)
{
	bool *present = calloc(VM_MAX_MSGS, sizeof(*present));
	int fd = -1, tfd = -1, err;
	unsigned num;

	if (!present)
		return ENOMEM;
	if (!strcmp(dir, to)) {
		free(present);
		return EINVAL;
	}
	/* Both folders, always in the order of their names: moves between
	 * any folders in any direction, by any replica, cannot deadlock
	 * (OFD locks have no deadlock detection). */
	if ((err = mkdirs(to)))
		goto out;
	if (strcmp(dir, to) < 0) {
		err = folder_lock(dir, &fd);
		if (!err)
			err = folder_lock(to, &tfd);
	} else {
		err = folder_lock(to, &tfd);
		if (!err)
			err = folder_lock(dir, &fd);
	}
	if (err)
		goto out;
	if (folder_scan(to, present) >= maxmsg) {
		err = ENOSPC;
		goto out;
	}
	num = first_free(present);
	if (num >= VM_MAX_MSGS) {
		err = ENOSPC;
		goto out;
	}
	if ((err = msg_rename(dir, n, to, num)))
		goto out;
	folder_unlock(tfd);
	tfd = -1;
	err = folder_compact(dir, present);
 out:
	if (tfd >= 0)
		folder_unlock(tfd);
	if (fd >= 0)
		folder_unlock(fd);
	free(present);
	return err;
}
