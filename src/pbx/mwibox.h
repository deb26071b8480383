/*
 * mwibox.h - what a mailbox holds, read from app_voicemail's spool, and
 * the RFC 3842 message-summary body that tells a phone.
 *
 * The spool is Asterisk's: ASTSPOOLDIR/voicemail/CONTEXT/MAILBOX/ with
 * INBOX (new), Old and Urgent (urgent new), one msgNNNN.txt per message
 * (its .wav and other formats beside it).  The counting reads directory
 * entries only, so it is the same whichever replica or tool wrote them.
 */
#ifndef KV_PBX_MWIBOX_H
#define KV_PBX_MWIBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "util/sbuf.h"

struct mwi_counts {
	unsigned new_msgs;       /* INBOX + Urgent, as app_voicemail tells MWI */
	unsigned old_msgs;       /* Old */
	unsigned urgent_new;     /* Urgent */
	unsigned urgent_old;     /* always 0: Asterisk has no urgent Old */
};

/*
 * Count the messages of mailbox "MAILBOX@CONTEXT" under spooldir (the
 * astspooldir).  A mailbox or folder that does not exist holds nothing
 * (0, counts zero).  EINVAL for a name that is not MAILBOX@CONTEXT.
 */
int  mwibox_count(const char *spooldir, const char *mailbox, size_t len,
		  struct mwi_counts *out);

/* Add b's counts to a (several mailboxes notified as one). */
void mwibox_add(struct mwi_counts *a, const struct mwi_counts *b);
bool mwibox_equal(const struct mwi_counts *a, const struct mwi_counts *b);

/*
 * The application/simple-message-summary body (RFC 3842 §5.2):
 * Messages-Waiting, Message-Account when account is not NULL, and the
 * Voice-Message line "new/old (urgent_new/urgent_old)".
 */
void mwibox_body(struct sbuf *sb, const struct mwi_counts *c, const char *account);

#endif
