/*
 * lex.h - character classes and small lexers shared by the SIP parser
 * (msg.c: framing and header lines; uri.c: URIs, name-addr, Via, params)
 * and the digest credential parser (auth.c).
 *
 * Private to src/sip/; not a public API.
 */
#ifndef KV_SIP_LEX_H
#define KV_SIP_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	LEX_TOKEN  = 1 << 0,   /* RFC 3261 token */
	LEX_LWS    = 1 << 1,   /* SP HT CR LF */
	LEX_DIGIT  = 1 << 2,
	LEX_HEX    = 1 << 3,
	LEX_ALPHA  = 1 << 4,
	LEX_HOST   = 1 << 5,   /* hostname / IPv4: alnum - . _ */
	LEX_USER   = 1 << 6,   /* unreserved escaped user-unreserved */
	LEX_PASS   = 1 << 7,   /* unreserved escaped & = + $ , */
	LEX_PARAM  = 1 << 8,   /* unreserved escaped param-unreserved */
	LEX_HNV    = 1 << 9,   /* unreserved escaped hnv-unreserved */
	LEX_URIC   = 1 << 10,  /* uric: reserved unreserved escaped */
	LEX_SCHEME = 1 << 11,  /* ALPHA DIGIT + - . */
	LEX_TEL    = 1 << 12,  /* tel number: HEXDIG * # + - . ( ) */
	LEX_V6     = 1 << 13,  /* IPv6 reference body: HEXDIG : . */
};

extern const uint16_t sip_lex_ctype[256];

static inline bool lex_is(char c, unsigned cls)
{
	return (sip_lex_ctype[(unsigned char)c] & cls) != 0;
}

static inline char lex_lower(char c)
{
	return (char)(c | ((c >= 'A' && c <= 'Z') << 5));
}

/* Length of the run of bytes in class cls at p[0..n). */
static inline size_t lex_span(const char *p, size_t n, unsigned cls)
{
	size_t i = 0;

	while (i < n && lex_is(p[i], cls))
		i++;
	return i;
}

/*
 * p[0] is '"': length of the quoted-string including both quotes, or 0
 * when it is unterminated or a backslash escapes CR or LF.
 */
size_t sip_lex_quoted(const char *p, size_t n);

#endif
