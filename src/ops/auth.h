/*
 * auth.h - who may use the ops endpoints that reveal calls or change
 * state (/status, /reload, /debug/...), private to src/ops/.
 *
 * On a host network port 8088 is open on every address of the node, and
 * NetworkPolicies do not cover host-network pods.  So those endpoints need
 * the bearer token of kubevox.conf's [http] token ("Authorization: Bearer
 * TOKEN", RFC 6750), from every client, loopback included; without a
 * token configured they answer loopback clients only (127.0.0.0/8, ::1),
 * as on a laptop running `make run`.  /livez, /readyz and /metrics stay
 * open to the kubelet and Prometheus.
 *
 * Only a SHA-256 digest of the token is kept, and a presented token is
 * digested and compared with CRYPTO_memcmp(): the time taken says nothing
 * about the token, not even its length.
 */
#ifndef KV_OPS_AUTH_H
#define KV_OPS_AUTH_H

#include <stdbool.h>
#include <sys/socket.h>

#define OPS_TOKEN_DIGEST 32

struct ops_token {
	bool set;
	unsigned char digest[OPS_TOKEN_DIGEST];
};

enum ops_auth {
	OPS_AUTH_OK,
	OPS_AUTH_MISSING,        /* a token is configured, none was sent: 401 */
	OPS_AUTH_WRONG,          /* another token, or not a Bearer one: 401 */
	OPS_AUTH_NOT_LOOPBACK,   /* no token configured, remote client: 403 */
};

/* token NULL or "": none.  0, or EIO when libcrypto fails (t is then
 * left as it was). */
int  ops_token_set(struct ops_token *t, const char *token);
/* authorization: the Authorization header's value, NULL when absent;
 * peer: the client's address (NULL: unknown, never loopback). */
enum ops_auth ops_auth_check(const struct ops_token *t, const char *authorization,
			     const struct sockaddr *peer);
/* 127.0.0.0/8, ::1, or an IPv4-mapped 127.0.0.0/8 (dual-stack sockets). */
bool ops_addr_loopback(const struct sockaddr *sa);

#endif
