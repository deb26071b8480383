/*
 * sdp.h - SDP session descriptions (RFC 8866, formerly RFC 4566): the
 * model, the parser and the printer.
 *
 * A struct sdp_session owns all of its data, so it outlives the message it
 * was decoded from.  Short fixed-size fields (origin, addresses, media
 * type and protocol) are arrays; variable text (session name, encoding
 * names, fmtp parameters, lines kept verbatim) lives in a pool inside the
 * session and is referred to by offset, never by pointer, so a session can
 * be copied with a plain assignment.  Offset 0 is the empty string and
 * means "absent"; sdp_str() turns an offset into a C string.
 *
 * What the B2BUA rewrites or needs to understand is decoded into fields:
 * o=, s=, c=, m=, rtpmap, fmtp, direction, rtcp, ptime and maxptime.  Every
 * other i=, u=, e=, p=, b=, t=, r=, z=, k= and a= line is kept verbatim and
 * printed again in RFC order, so unknown attributes pass through.  Lines of
 * an unknown type are dropped (see sdp_decode()).
 *
 * The negotiation (RFC 3264 offer/answer, relay addresses, o= versioning)
 * is in offer.h.
 */
#ifndef KV_SDP_SDP_H
#define KV_SDP_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/types.h"
#include "util/sbuf.h"

#define SDP_MAX_LEN    8192   /* larger bodies are refused */
#define SDP_MAX_MEDIA  16     /* m= sections */
#define SDP_MAX_FMT    32     /* formats of one m= line */
#define SDP_MAX_LINES  256    /* verbatim lines, all sections together */
#define SDP_ADDR_MAX   128    /* connection and origin address, with NUL */
/* A decoded body stores less text than its own length (see sdp.c). */
#define SDP_POOL_SIZE  (SDP_MAX_LEN + 16)

enum sdp_dir {
	SDP_DIR_UNSET,      /* no attribute: the session's, else sendrecv */
	SDP_DIR_SENDRECV,
	SDP_DIR_SENDONLY,
	SDP_DIR_RECVONLY,
	SDP_DIR_INACTIVE,
};

struct sdp_conn {                   /* c=<nettype> <addrtype> <address> */
	bool set;
	char nettype[8];            /* "IN" */
	char addrtype[8];           /* "IP4", "IP6" */
	char addr[SDP_ADDR_MAX];    /* as written: address, FQDN, multicast */
};

struct sdp_origin {                 /* o= */
	char user[64];
	char id[32];
	char version[32];
	char nettype[8];
	char addrtype[8];
	char addr[SDP_ADDR_MAX];
};

struct sdp_fmt {
	uint8_t pt;                 /* payload type 0..127 */
	uint8_t channels;           /* rtpmap encoding parameters, 0 = none */
	uint16_t enc;               /* rtpmap encoding name, 0 = no rtpmap */
	uint16_t fmtp;              /* fmtp parameters, 0 = none */
	uint32_t clock;             /* rtpmap clock rate */
};

struct sdp_line {                   /* a line kept verbatim */
	char type;                  /* 'a', 'b', 't', ... */
	uint16_t text;              /* what follows "x=" */
};

struct sdp_media {
	char type[16];              /* "audio", "video", ... */
	uint16_t port;              /* 0 = stream rejected or disabled */
	uint16_t nports;            /* "/n" after the port, 0 = not written */
	char proto[32];             /* "RTP/AVP", "RTP/SAVP", "udptl", ... */
	bool rtp;                   /* formats are RTP payload types */
	struct sdp_fmt fmt[SDP_MAX_FMT];   /* rtp: in m= line order */
	unsigned fmt_n;
	uint16_t fmt_raw;           /* !rtp: the format list as written */
	struct sdp_conn conn;       /* media-level c=, if any */
	enum sdp_dir dir;
	bool rtcp_set;              /* a=rtcp (RFC 3605) */
	uint16_t rtcp_port;
	uint16_t rtcp_addr;         /* "IN IP4 addr" after the port, if any */
	uint32_t ptime;             /* ms, 0 = absent */
	uint32_t maxptime;          /* ms, 0 = absent */
	unsigned line_first;        /* verbatim lines: s->line[first..first+n) */
	unsigned line_n;
};

struct sdp_session {
	struct sdp_origin origin;
	uint16_t name;              /* s= */
	struct sdp_conn conn;       /* session-level c= */
	enum sdp_dir dir;           /* session-level direction attribute */
	unsigned line_n;            /* session lines: line[0..line_n) */
	struct sdp_media media[SDP_MAX_MEDIA];
	unsigned media_n;
	struct sdp_line line[SDP_MAX_LINES];
	unsigned lines_used;        /* session and media lines together */
	size_t pool_len;
	char pool[SDP_POOL_SIZE];
};

/* Empty session: no origin, no name, no media.  ~20 KiB: do not put many
 * on a thread's stack. */
void sdp_session_init(struct sdp_session *s);

static inline const char *sdp_str(const struct sdp_session *s, uint16_t off)
{
	return s->pool + off;
}

/*
 * Decode buf (need not be NUL-terminated) into s, replacing its contents.
 * Lines end in CRLF or LF; "v=0" comes first; o= and s= are required once;
 * a missing t= reads as "t=0 0"; empty lines are skipped; lines of an unknown type letter are dropped
 * (RFC 8866 §5 allows ignoring the whole description instead: losing a
 * call over an unused extension is worse).  rtpmap/fmtp lines of payload
 * types absent from their m= line are dropped.  Returns 0, EMSGSIZE (too
 * long, too many media/formats/lines) or EBADMSG; *why (if why) says why.
 */
int sdp_decode(struct sdp_session *s, const char *buf, size_t len,
	       const char **why);

/* Append the description to sb with CRLF line ends, in RFC 8866 order.
 * "t=0 0" is added when s has no t= line.  0, ENOMEM, or EINVAL when s
 * would not print as a valid description (no origin, an active m= line
 * without formats). */
int sdp_encode(struct sbuf *sb, const struct sdp_session *s);

/*
 * Building a session (the decoder and the filters use these too).  Text
 * arguments must be tokens (no space or control character) except where
 * said; every function returns 0, EINVAL (bad argument) or EMSGSIZE (a
 * limit is reached).  Lines belong to the last media added, or to the
 * session before the first media.
 */
int sdp_origin_set(struct sdp_session *s, const char *user, const char *id,
		   const char *version, const char *addrtype, const char *addr);
int sdp_conn_set(struct sdp_conn *c, const char *addrtype, const char *addr);
/* name: free text without CR, LF or NUL; "" prints as "s= ". */
int sdp_name_set(struct sdp_session *s, const char *name);
int sdp_media_add(struct sdp_session *s, const char *type, uint16_t port,
		  const char *proto, struct sdp_media **mp);
/* The last media must be RTP.  enc NULL: no rtpmap; fmtp NULL: none. */
int sdp_fmt_add(struct sdp_session *s, uint8_t pt, const char *enc,
		uint32_t clock, uint8_t channels, const char *fmtp);
/* The last media must not be RTP: its format list, as written. */
int sdp_fmt_raw_set(struct sdp_session *s, const char *fmts);
/* a=rtcp of the last media; addr NULL or e.g. "IN IP4 192.0.2.1". */
int sdp_rtcp_set(struct sdp_session *s, uint16_t port, const char *addr);
/* type: i u e p b t r z k a at session level, i b k a in a media; text
 * free (no CR, LF, NUL), but an attribute starts with a name. */
int sdp_line_add(struct sdp_session *s, char type, const char *text);

/* Verbatim lines of a media, or of the session with m NULL. */
const struct sdp_line *sdp_lines(const struct sdp_session *s,
				 const struct sdp_media *m, unsigned *n);

bool sdp_media_is_audio(const struct sdp_media *m);

/* p[0..n) is one field as the builder takes it: not empty, no space or
 * control character. */
bool sdp_is_token(const char *p, size_t n);

/* Index in m->fmt of payload type pt, -1 when m does not list it. */
int sdp_fmt_index(const struct sdp_media *m, unsigned pt);

/*
 * Codec of format idx: by rtpmap name and clock rate (case-insensitive:
 * PCMU/8000, PCMA/8000, G722/8000, GSM/8000, opus/48000, telephone-event
 * at any rate), else by static payload type (0, 8, 9, 3).  CFG_CODEC_COUNT
 * when unknown or idx is out of range.
 */
enum cfg_codec sdp_fmt_codec(const struct sdp_session *s,
			     const struct sdp_media *m, unsigned idx);

const char *sdp_dir_name(enum sdp_dir d);

#endif
