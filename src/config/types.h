/*
 * types.h - the plain enums of the configuration that lower-level code
 * speaks too: digest algorithms (sip/auth) and codecs (sdp, media).  They
 * include this instead of the whole configuration model.
 */
#ifndef KV_CONFIG_TYPES_H
#define KV_CONFIG_TYPES_H

/* pjsip.conf auth: supported_algorithms_uas / default_auth_algorithms_uas. */
enum cfg_digest_alg { CFG_ALG_MD5 = 1, CFG_ALG_SHA256 = 2 };
#define CFG_MAX_ALGS 2

/* pjsip.conf endpoint allow/disallow. */
enum cfg_codec { CFG_CODEC_PCMU, CFG_CODEC_PCMA, CFG_CODEC_G722, CFG_CODEC_GSM,
		 CFG_CODEC_OPUS, CFG_CODEC_TELEPHONE_EVENT, CFG_CODEC_COUNT };

#endif
