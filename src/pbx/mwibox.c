/*
 * mwibox.c - counting a mailbox's messages in the voicemail spool and
 * printing the message-summary body (RFC 3842).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pbx/mwibox.h"

/* msgNNNN.txt: app_voicemail writes one per message, whatever the audio
 * formats; a .wav alone (being written, or left behind) is no message. */
static bool is_message(const char *name)
{
	size_t len = strlen(name);

	if (len < 8 || strncmp(name, "msg", 3) || strcmp(name + len - 4, ".txt"))
		return false;
	for (size_t i = 3; i < len - 4; i++)
		if (name[i] < '0' || name[i] > '9')
			return false;
	return true;
}

static unsigned count_folder(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	unsigned n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (is_message(e->d_name))
			n++;
	closedir(d);
	return n;
}

int mwibox_count(const char *spooldir, const char *mailbox, size_t len,
		 struct mwi_counts *out)
{
	const char *at = memchr(mailbox, '@', len);
	char path[1024];
	int base;

	memset(out, 0, sizeof(*out));
	if (!at || at == mailbox || at + 1 == mailbox + len)
		return EINVAL;
	base = snprintf(path, sizeof(path), "%s/voicemail/%.*s/%.*s/", spooldir,
			(int)(len - (size_t)(at + 1 - mailbox)), at + 1,
			(int)(at - mailbox), mailbox);
	if (base < 0 || (size_t)base + 8 >= sizeof(path))
		return ENAMETOOLONG;
	snprintf(path + base, sizeof(path) - (size_t)base, "INBOX");
	out->new_msgs = count_folder(path);
	snprintf(path + base, sizeof(path) - (size_t)base, "Old");
	out->old_msgs = count_folder(path);
	snprintf(path + base, sizeof(path) - (size_t)base, "Urgent");
	out->urgent_new = count_folder(path);
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
