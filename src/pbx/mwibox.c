/*
 * mwibox.c - counting a mailbox's messages in the voicemail spool and
 * printing the message-summary body (RFC 3842).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx/mwibox.h"
#include "pbx/vmstore.h"

int mwibox_count(const char *spooldir, const char *mailbox, size_t len,
		 struct mwi_counts *out)
{
	const char *at = memchr(mailbox, '@', len);
	char box[256], ctx[256];
	size_t bl, cl;

	memset(out, 0, sizeof(*out));
	if (!at || at == mailbox || at + 1 == mailbox + len)
		return EINVAL;
	bl = (size_t)(at - mailbox);
	cl = len - bl - 1;
	if (bl >= sizeof(box) || cl >= sizeof(ctx))
		return ENAMETOOLONG;
	memcpy(box, mailbox, bl);
	box[bl] = '\0';
	memcpy(ctx, at + 1, cl);
	ctx[cl] = '\0';
	/* Voicemail's own count (msgNNNN.txt: a .wav alone, being written or
	 * left behind, is no message). */
	vm_mailbox_counts(spooldir, ctx, box, &out->new_msgs, &out->old_msgs,
			  &out->urgent_new);
	out->new_msgs += out->urgent_new;
	return 0;
}

void mwibox_add(struct mwi_counts *a, const struct mwi_counts *b)
{
	a->new_msgs += b->new_msgs;
	a->old_msgs += b->old_msgs;
	a->urgent_new += b->urgent_new;
	a->urgent_old += b->urgent_old;
}

bool mwibox_equal(const struct mwi_counts *a, const struct mwi_counts *b)
{
	return a->new_msgs == b->new_msgs && a->old_msgs == b->old_msgs &&
	       a->urgent_new == b->urgent_new && a->urgent_old == b->urgent_old;
}

void mwibox_body(struct sbuf *sb, const struct mwi_counts *c, const char *account)
{
	sbuf_printf(sb, "Messages-Waiting: %s\r\n", c->new_msgs ? "yes" : "no");
	if (account)
		sbuf_printf(sb, "Message-Account: %s\r\n", account);
	sbuf_printf(sb, "Voice-Message: %u/%u (%u/%u)\r\n", c->new_msgs, c->old_msgs,
		    c->urgent_new, c->urgent_old);
}
