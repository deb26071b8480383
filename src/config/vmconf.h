/*
 * vmconf.h - voicemail.conf, read as app_voicemail reads it: [general]
 * format (wav only; others are a warning), maxmsg, maxsecs (maxmessage),
 * minsecs (minmessage), maxsilence, silencethreshold; [zonemessages] is
 * ignored with a warning; every other section is a context of mailboxes,
 * "mailbox => password,full name,email,pager,options".  Mailbox and
 * context names become directories of the spool, so anything that could
 * leave it ('/', "..", control characters) is an error.
 */
#ifndef KV_CONFIG_VMCONF_H
#define KV_CONFIG_VMCONF_H

#include "config/arena.h"
#include "config/astconf.h"
#include "config/config.h"

/* Recordings never last longer than this, whatever maxsecs says (0 in
 * Asterisk means no limit; here a message is held in memory). */
#define VM_MAXSECS_CAP 600

/* Asterisk's defaults with no voicemail.conf: no mailboxes. */
void vm_config_init(struct vm_config *cfg);

/*
 * ac is voicemail.conf as astconf_load() read it, or NULL when there is
 * none; strings are copied into mem.  Returns 0, EINVAL when errors were
 * added to diag (*out then holds the valid part), or ENOMEM.
 */
int vm_config_parse(const struct astconf *ac, struct arena *mem,
		    struct vm_config *out, struct diag *diag);

/* The mailbox, or NULL; context NULL or "" is "default". */
const struct vm_mailbox *vm_config_mailbox(const struct vm_config *cfg,
					   const char *context, const char *mailbox);

/* A name that can be a directory of the spool. */
bool vm_name_valid(const char *s);

#endif
