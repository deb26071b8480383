/*
 * dppattern.h - extension names and patterns as Asterisk reads them
 * (pbx.c: ext_cmp() for their order, extension_match_core() for matching):
 * the one reading of their syntax, used by the loader to validate and
 * order extensions and by the matcher to find the one that runs.
 *
 * A key is an extension as stored: a plain name, or '_' and a pattern.
 * In a pattern X is 0-9, Z 1-9, N 2-9 (in either case), [a-c5] a set,
 * '.' one or more characters, '!' zero or more; '-' is ignored everywhere,
 * in names too.  Names compare byte by byte.
 */
#ifndef KV_CONFIG_DPPATTERN_H
#define KV_CONFIG_DPPATTERN_H

#include <stdbool.h>

/* Plain names: strcmp() order with every '-' skipped. */
int dp_plain_cmp(const char *a, const char *b);

/*
 * Asterisk's matching order: plain names first (dp_plain_cmp), then
 * patterns from the most specific, compared position by position: a
 * literal character before a set, a smaller set before a larger one, '.'
 * before '!', and anything before the end of a pattern.
 */
int dp_key_cmp(const char *a, const char *b);

/* Does key match data (an extension dialled, or a caller's number)?  A
 * pattern also matches itself written as data ("_1XX"), as a Goto to a
 * pattern does in Asterisk. */
bool dp_key_match(const char *key, const char *data);

/*
 * Asterisk's extension_match_core() with its modes: DP_MATCH is
 * dp_key_match(); DP_CANMATCH: data is key or the start of something key
 * matches; DP_MATCHMORE: more characters after data could still match.
 * 0 no, 1 yes, 2 an early match: the pattern reached a '!' (a search for
 * DP_MATCHMORE stops there, as pbx_find_extension() does).
 */
enum dp_match_mode { DP_MATCH, DP_CANMATCH, DP_MATCHMORE };

int dp_key_match_mode(const char *key, const char *data, enum dp_match_mode mode);

enum dp_pattern_fault {
	DP_PATTERN_OK,
	DP_PATTERN_UNTERMINATED,   /* a '[' without its ']' */
	DP_PATTERN_UNREACHABLE,    /* characters after '.' or '!' (*wild) */
};

/* What is wrong with the pattern key ("_..."), for the loader to report. */
enum dp_pattern_fault dp_pattern_check(const char *key, char *wild);

#endif
