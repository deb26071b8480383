/*
 * registrar.h - REGISTER (RFC 3261 §10.3, RFC 3327 Path): authentication,
 * then one atomic update of the AOR's bindings in the state backend.
 */
#ifndef KV_PBX_REGISTRAR_H
#define KV_PBX_REGISTRAR_H

#include "sip/stack.h"

struct pbx;

/* A REGISTER: answered now or once the state backend has answered. */
void registrar_request(struct pbx *pbx, struct sip_stx *stx,
		       const struct sip_msg *req, const struct sip_peer *src);

#endif
