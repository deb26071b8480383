/*
 * voicemail.h - app_voicemail's applications and functions on a call:
 * VoiceMail() (greeting, beep, recording, storing), VoiceMailMain() (login,
 * counts, listening, deleting, saving, greetings), MAILBOX_EXISTS() and
 * VM_INFO(), ${VMSTATUS}.  Part of the call engine (call_int.h); the
 * spool itself is vmstore.c's, run off the loop on libuv's thread pool.
 */
#ifndef KV_PBX_VOICEMAIL_H
#define KV_PBX_VOICEMAIL_H

#include <stdbool.h>
#include <uv.h>

#include "pbx/call_int.h"
#include "pbx/vmevents.h"
#include "util/sbuf.h"

int  vm_alloc(struct vm **vp, uv_loop_t *loop);
/* After rtp_engine_free(): recordings whose call ended meanwhile are
 * stored now (blocking), work still on the pool frees itself. */
void vm_free(struct vm *vm);

/* apps.c's hooks. */
enum dp_result vm_app(struct call *c, enum dp_app app, const char *args);
enum dp_result vm_play_over(struct call *c);    /* a list of prompts ended */
enum dp_result vm_key(struct call *c, char digit);
void vm_record_done(struct call *c);            /* RTP_EV_RECORD_DONE */
void vm_hangup(struct call *c);                 /* the caller is gone */
void vm_call_free(struct call *c);
/* MAILBOX_EXISTS(...), VM_INFO(...) */
bool vm_func_known(const char *name, size_t len);
int  vm_func(struct call *c, const char *name, size_t len, struct sbuf *out);

#endif
