/*
 * msg.h - SIP message model and zero-copy parser (RFC 3261 §7, §20, §25).
 *
 * sip_msg_decode() does one pass over the buffer: start line, header lines
 * (unfolded logically, not copied), and the few headers every message needs
 * (top Via, From, To, Call-ID, CSeq, Max-Forwards, Content-Length).  All
 * other headers are only located; their values are parsed on demand with
 * the helpers below.  Every struct pl points into the caller's buffer.
 */
#ifndef KV_SIP_MSG_H
#define KV_SIP_MSG_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/pl.h"

enum sip_hdr_id {
	SIP_HDR_OTHER = 0,
	SIP_HDR_ACCEPT,
	SIP_HDR_ALLOW,
	SIP_HDR_AUTHORIZATION,
	SIP_HDR_CALL_ID,
	SIP_HDR_CONTACT,
	SIP_HDR_CONTENT_LENGTH,
	SIP_HDR_CONTENT_TYPE,
	SIP_HDR_CSEQ,
	SIP_HDR_EVENT,
	SIP_HDR_EXPIRES,
	SIP_HDR_FROM,
	SIP_HDR_MAX_FORWARDS,
	SIP_HDR_MIN_EXPIRES,
	SIP_HDR_PATH,
	SIP_HDR_PROXY_AUTHENTICATE,
	SIP_HDR_PROXY_AUTHORIZATION,
	SIP_HDR_PROXY_REQUIRE,
	SIP_HDR_RECORD_ROUTE,
	SIP_HDR_REQUIRE,
	SIP_HDR_ROUTE,
	SIP_HDR_SESSION_EXPIRES,
	SIP_HDR_MIN_SE,
	SIP_HDR_SUPPORTED,
	SIP_HDR_TO,
	SIP_HDR_UNSUPPORTED,
	SIP_HDR_USER_AGENT,
	SIP_HDR_VIA,
	SIP_HDR_WWW_AUTHENTICATE,
	SIP_HDR_CONTENT_ENCODING,
	SIP_HDR_SUBJECT,
	SIP_HDR_REFER_TO,
	SIP_HDR_COUNT
};

/* RFC 3261 §8.1.1.7: a branch that starts with it is unique and alone
 * identifies a transaction; without it (RFC 2543) the whole request does. */
#define SIP_MAGIC_COOKIE "z9hG4bK"
#define SIP_MAGIC_COOKIE_LEN (sizeof(SIP_MAGIC_COOKIE) - 1)

/* Defensive bound: a message with more header lines is rejected (400). */
#define SIP_MSG_MAX_HDRS 96

/* One header line: name as written (long or compact form), raw value with
 * LWS trimmed at both ends.  A folded value keeps its CRLF+WSP inside; all
 * value parsers treat CR and LF as white space. */
struct sip_hdr {
	enum sip_hdr_id id;
	struct pl name;
	struct pl val;
};

enum sip_uri_scheme { SIP_URI_SIP, SIP_URI_SIPS, SIP_URI_TEL };

struct sip_uri {
	enum sip_uri_scheme scheme;
	struct pl user;      /* may contain %-escapes, not decoded */
	struct pl password;
	struct pl host;      /* IPv6 reference without the brackets */
	bool host_ipv6;
	uint16_t port;       /* 0 when absent */
	struct pl params;    /* ";a=b;lr" including the leading ';' */
	struct pl headers;   /* "?a=b&c=d" without the '?' */
	struct pl whole;     /* the complete URI text */
};

/* name-addr or addr-spec, with header params (From, To, Contact, Route...). */
struct sip_addr {
	struct pl dname;     /* display name; quotes stripped, escapes kept */
	struct sip_uri uri;
	struct pl params;    /* header params after the URI, leading ';' */
	struct pl tag;       /* value of ;tag= if present */
	struct pl whole;     /* the complete value as written */
};

struct sip_via {
	struct pl proto;     /* "SIP/2.0/UDP" transport part only: "UDP" */
	struct pl sentby;    /* host[:port] as written */
	struct pl host;      /* without IPv6 brackets */
	bool host_ipv6;
	uint16_t port;       /* 0 when absent */
	struct pl params;    /* leading ';' */
	struct pl branch;
	struct pl received;
	struct pl maddr;
	bool rport;          /* ;rport present (with or without value) */
	struct pl rport_val;
	struct pl whole;     /* this via-parm as written */
};

struct sip_cseq {
	uint32_t num;
	struct pl method;
};

struct sip_msg {
	const char *buf;     /* whole message, not owned */
	size_t len;          /* message length, including body */

	bool req;
	/* request line */
	struct pl method;
	struct pl ruri_raw;
	struct sip_uri ruri;
	/* status line */
	uint16_t scode;
	struct pl reason;

	struct sip_hdr hdrv[SIP_MSG_MAX_HDRS];
	unsigned hdrc;

	/* parsed eagerly: every message must have them */
	struct sip_via via;          /* top-most Via value */
	struct sip_addr from;
	struct sip_addr to;
	struct pl callid;
	struct sip_cseq cseq;
	int32_t max_forwards;        /* -1 when absent */
	int64_t clen;                /* Content-Length, -1 when absent */

	struct pl body;
};

/* sip_msg_decode() results: 0 or a positive errno, as everywhere. */
enum {
	SIP_DECODE_OK = 0,
	SIP_DECODE_BAD = EBADMSG,      /* malformed, reason in *why */
	SIP_DECODE_PARTIAL = ENODATA,  /* stream: need more bytes */
};

/*
 * Parse one message held in buf[0..len).  On success *msg describes it and
 * msg->len is the number of bytes it occupies (for streams, where more
 * messages may follow).  On SIP_DECODE_BAD, *why is a short static reason
 * usable in a 400 response phrase, and msg fields decoded so far (start
 * line, Via, Call-ID, CSeq, From, To) are kept so a 400 can still be sent
 * when they are present.
 *
 * stream=false (datagram): Content-Length absent means "rest of datagram";
 * a Content-Length larger than the remaining bytes is an error; bytes after
 * the body are ignored.
 * stream=true: Content-Length is mandatory; returns SIP_DECODE_PARTIAL until
 * the headers and the whole body are in the buffer.
 *
 * Leading CRLFs: CR and LF bytes before the start line (RFC 3261 §7.5,
 * RFC 5626 keep-alives) are skipped on both transports and counted in
 * msg->len.  On SIP_DECODE_PARTIAL, msg->len is the number of such leading
 * bytes (possibly 0): the caller may drop them (answering a CRLFCRLF
 * ping with CRLF) and must keep the rest.  A datagram holding only CR/LF is
 * SIP_DECODE_BAD with why "Empty message" (a keep-alive: drop it quietly).
 *
 * Line endings: CRLF, or a bare LF anywhere CRLF is expected (liberal
 * receive); a CR not followed by LF in the headers is an error.  A
 * datagram whose header section runs to the end of the data without the
 * empty line is accepted with an empty body.
 *
 * On SIP_DECODE_BAD, msg->len is the framed message length when framing
 * was possible (headers complete, Content-Length valid and body present),
 * else len: a stream caller may answer 400 and skip msg->len bytes, but
 * closing the connection is always safe.  An eager header that failed to
 * decode keeps only its raw value in .whole (via, from, to); callid and
 * cseq are set only when valid.
 */
int sip_msg_decode(struct sip_msg *msg, const char *buf, size_t len,
		   bool stream, const char **why);

/*
 * Copy a decoded message to a new buffer: memcpy src->buf[0..len) into
 * newbuf (caller-owned, at least src->len bytes) and make every slice of
 * *dst point into it.  Used when a transaction outlives the receive buffer.
 */
void sip_msg_rebase(struct sip_msg *dst, const struct sip_msg *src, char *newbuf);

/* Compact/long header name to id. */
enum sip_hdr_id sip_hdr_lookup(const struct pl *name);

/* First header line with this id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdr_id id);
/* First header line with this name (case-insensitive, compact forms known). */
const struct sip_hdr *sip_msg_hdr_name(const struct sip_msg *msg, const char *name);
/* Is h named name (case-insensitive, compact forms known)? */
bool sip_hdr_named(const struct sip_hdr *h, const char *name);

/* The next comma-separated value of one header value, split as
 * sip_msg_hdr_next() splits them (for headers it has no id for, such as
 * P-Asserted-Identity).  Start with *off = 0. */
bool sip_value_next(const struct pl *v, size_t *off, struct pl *out);

/*
 * Iterate over the comma-separated values of every header line with this id,
 * in message order.  Commas inside quoted strings and <...> do not split.
 * Start with *it = 0; returns true and sets *val (trimmed) for each value.
 * Not for headers whose grammar contains unquoted commas (auth headers).
 */
bool sip_msg_hdr_next(const struct sip_msg *msg, enum sip_hdr_id id,
		      unsigned *it, struct pl *val);

/* Number of values (over all lines) of a comma-separated header. */
unsigned sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdr_id id);

/* Is token present in a comma-separated option-tag header (Require...)? */
bool sip_msg_hdr_has_token(const struct sip_msg *msg, enum sip_hdr_id id,
			   const char *token);

bool sip_msg_is_method(const struct sip_msg *msg, const char *method);

/* Value parsers, usable on any slice (header value, Request-URI...):
 * 0 or EINVAL.  sip_uri_decode() fails for a URI of a scheme other than sip/sips/tel;
 * when that URI is otherwise well formed it still sets uri->whole (and
 * nothing else), as sip_msg_decode() does for such a Request-URI (the TU
 * answers 416).  sip_addr_decode() accepts such URIs the same way. */
int sip_uri_decode(struct sip_uri *uri, const struct pl *pl);
int sip_addr_decode(struct sip_addr *addr, const struct pl *pl);
int sip_via_decode(struct sip_via *via, const struct pl *pl);

/* ";name=value" or ";name" lookup in a parameter list (case-insensitive
 * name).  Returns true when present; *val is empty for a flag param and a
 * quoted value is returned without its quotes (escapes kept). */
bool sip_param_get(const struct pl *params, const char *name, struct pl *val);

/* Compare two URIs per RFC 3261 §19.1.4 (scheme, user, password case-
 * sensitive after unescaping, host case-insensitive, port, params). */
bool sip_uri_equal(const struct sip_uri *a, const struct sip_uri *b);

/* Strict decimal parse of a delta-seconds value (Expires, expires param):
 * 1*DIGIT with surrounding LWS; above 2^32-1 is malformed (EINVAL,
 * RFC 3261 §20.19), so the caller applies its default. */
int sip_delta_seconds(const struct pl *pl, uint32_t *v);

#endif
