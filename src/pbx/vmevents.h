/*
 * vmevents.h - what voicemail tells the rest of the PBX (MWI): a mailbox's
 * messages changed.
 *
 * The handler runs on the main loop after every message stored, deleted
 * or moved by this replica (another replica sharing the spool calls its
 * own); MWI reads the counts again from the spool (mwibox.h).
 */
#ifndef KV_PBX_VMEVENTS_H
#define KV_PBX_VMEVENTS_H

struct vm;

typedef void vm_changed_h(void *arg, const char *context, const char *mailbox);

/* One handler; h NULL removes it. */
void vm_set_changed_handler(struct vm *vm, vm_changed_h *h, void *arg);

#endif
