/*
 * vmevents.h - what voicemail tells the rest of the PBX (MWI): a mailbox's
 * messages changed, and how many there are.
 *
 * The handler runs on the main loop after every message stored, deleted
 * or moved by this replica (another replica sharing the spool calls its
 * own); it reads the counts again with vm_counts(), which reads the spool.
 */
#ifndef KV_PBX_VMEVENTS_H
#define KV_PBX_VMEVENTS_H

#include "config/config.h"

struct vm;

typedef void vm_changed_h(void *arg, const char *context, const char *mailbox);

/* One handler; h NULL removes it. */
void vm_set_changed_handler(struct vm *vm, vm_changed_h *h, void *arg);

/* New (INBOX), old (Old) and urgent (Urgent) messages of a mailbox in
 * cfg's spool (astspooldir), as app_voicemail's inboxcount2() counts them.
 * Reads a few directories: cheap, but file-system I/O. */
void vm_counts(const struct kv_config *cfg, const char *context, const char *mailbox,
	       unsigned *new_msgs, unsigned *old_msgs, unsigned *urgent);

#endif
