/*
 * vmstore.h - the voicemail spool, in Asterisk's layout so that its tools
 * and a migration read it as they read Asterisk's:
 *
 *   ASTSPOOLDIR/voicemail/CONTEXT/MAILBOX/{unavail,busy,greet,temp}.wav
 *   ASTSPOOLDIR/voicemail/CONTEXT/MAILBOX/FOLDER/msgNNNN.{wav,txt}
 *
 * FOLDER is INBOX, Old, Urgent...; the messages of a folder are numbered
 * from msg0000 without gaps (deleting or moving one renumbers the rest, as
 * app_voicemail does), and the .txt holds app_voicemail's [message]
 * metadata.  Replicas share the spool (a ReadWriteMany volume), so each
 * change of a folder holds an open-file-description lock on its ".lock"
 * file, the role app_voicemail's vm_lock_path() plays: two replicas, or
 * two threads of one, never take the same number.  Files are written
 * under a temporary name and renamed, so no reader sees half a message.
 *
 * Everything here blocks on the file system and on the lock: call it from
 * a worker thread (uv_queue_work), except the short reads of a count.
 * Errors are positive errno values.
 */
#ifndef KV_PBX_VMSTORE_H
#define KV_PBX_VMSTORE_H

#include <stddef.h>
#include <stdint.h>

#define VM_MAX_MSGS 10000         /* msg0000..msg9999 */

/* The [message] section of msgNNNN.txt. */
struct vm_msginfo {
	char origmailbox[80];
	char context[80];
	char macrocontext[80];
	char exten[80];
	char rdnis[80];
	unsigned priority;
	char callerchan[96];
	char callerid[200];
	char origdate[64];
	long long origtime;
	char category[32];
	char msg_id[64];
	char flag[16];
	unsigned duration;           /* seconds */
};

/* dir of a mailbox (folder NULL) or of one of its folders: 0 or
 * ENAMETOOLONG. */
int vm_path(char *buf, size_t size, const char *spool, const char *context,
	    const char *mailbox, const char *folder);

int vm_txt_write(const char *path, const struct vm_msginfo *mi);
/* Unknown keys are skipped; 0, ENOENT, EIO or EINVAL (no [message]). */
int vm_txt_read(const char *path, struct vm_msginfo *mi);

/* Messages of a folder (its msgNNNN.txt files); 0 when it does not exist. */
unsigned vm_folder_count(const char *dir);

/* New (INBOX), old (Old) and urgent (Urgent) messages of a mailbox, as
 * app_voicemail's inboxcount2() counts them for MWI. */
void vm_mailbox_counts(const char *spool, const char *context, const char *mailbox,
		       unsigned *new_msgs, unsigned *old_msgs, unsigned *urgent);

/*
 * Store a message: 8 kHz 16-bit samples as FOLDER/msgNNNN.wav and mi as
 * its .txt, NNNN the first free number of the folder, under its lock.
 * ENOSPC when the folder already holds maxmsg messages.
 */
int vm_store(const char *dir, unsigned maxmsg, const int16_t *samples, size_t n,
	     const struct vm_msginfo *mi, unsigned *msgnum);
/* Write a greeting (path without extension, ".wav" added). */
int vm_write_wav(const char *path, const int16_t *samples, size_t n);

/* Remove message n of the folder and renumber the ones after it. */
int vm_msg_delete(const char *dir, unsigned n);
/* Move message n of dir to the first free number of folder to (Old...),
 * renumbering dir; both are locked, in the order of their names.  ENOSPC
 * when to holds maxmsg messages, EINVAL when to is dir. */
int vm_msg_move(const char *dir, unsigned n, const char *to, unsigned maxmsg);

/* Asterisk's origdate: "Sun Dec  6 11:04:05 AM UTC 2026". */
void vm_origdate(long long t, char *buf, size_t size);

#endif
