/*
 * cfgval.h - parsing of single configuration values: Asterisk booleans,
 * bounded numbers, addresses with ports, networks (CIDR), comma lists.
 *
 * Every parser is strict: the whole text must be consumed, nothing is
 * guessed, and failure leaves the output untouched.
 */
#ifndef KV_CONFIG_CFGVAL_H
#define KV_CONFIG_CFGVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"

/*
 * Blank as Asterisk's configuration reader sees it (ast_strip(),
 * ast_skip_blanks()): every byte below 33, not only util/pl's SP, HT, CR
 * and LF, so that a form feed or a stray control byte around a value reads
 * as it does in Asterisk.
 */
static inline bool cfgval_is_blank(char c)
{
	return (unsigned char)c < 33 && c != '\0';
}

/* ast_strip(): the blanks above off both ends, in place; returns the
 * first byte kept, inside s. */
char *cfgval_strip(char *s);

/* ast_true()/ast_false(): yes/true/y/t/1/on, no/false/n/f/0/off.  0 or
 * EINVAL, as every parser here. */
int cfgval_bool(const char *s, bool *out);

/* Decimal, digits only, within [min, max]. */
int cfgval_uint(const char *s, uint32_t min, uint32_t max, uint32_t *out);

enum cfgval_addr_err { CFGVAL_ADDR_OK = 0, CFGVAL_ADDR_BAD = 1, CFGVAL_ADDR_PORT = 2 };

/*
 * "1.2.3.4", "1.2.3.4:5060", "::1", "[::1]", "[::1]:5060".  The port must
 * be 1..65535; defport is used when there is none.
 */
enum cfgval_addr_err cfgval_addr(const char *s, uint16_t defport,
				 struct sockaddr_storage *ss);

/* The port of an address (0 when none), and whether it is the wildcard
 * address (0.0.0.0 or ::). */
uint16_t cfgval_addr_port(const struct sockaddr_storage *ss);
bool cfgval_addr_any(const struct sockaddr_storage *ss);

/* "1.2.3.4", "10.0.0.0/8", "10.0.0.0/255.0.0.0", "fd00::/8", "::1". */
int cfgval_net(const char *s, struct cfg_net *net);

/* Does sa (any port) fall inside net?  IPv4-mapped IPv6 counts as IPv4. */
bool cfgval_net_match(const struct cfg_net *net, const struct sockaddr *sa);

/* Exactly len hex digits, either case. */
bool cfgval_is_hex(const char *s, size_t len);

/*
 * Comma-separated items, blanks around them trimmed, empty ones skipped.
 * Call with *pos = s first; returns false at the end.
 */
bool cfgval_list_next(const char **pos, const char **item, size_t *len);

/* "1.2.3.4:5060" or "[::1]:5060" into buf. */
void cfgval_addr_print(const struct sockaddr_storage *ss, char *buf, size_t size);

#endif
