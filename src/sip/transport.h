/*
 * transport.h - SIP transports: UDP and TCP over IPv4 and IPv6 (RFC 3261 §18).
 *
 * The transport owns the sockets.  It reads datagrams and TCP streams,
 * frames stream messages by Content-Length, decodes each message once with
 * sip_msg_decode() and hands it up with the peer it came from.  It sends
 * bytes to a peer: over UDP from the listener the peer talks to, over TCP on
 * the connection the peer used (or a new outgoing one when that is gone).
 * A CRLF keep-alive ping on TCP is answered (RFC 5626 §3.5.1).
 *
 * Every message arrives with our own address it was sent to (a UDP
 * listener bound to a wildcard address learns it per datagram from
 * IP_PKTINFO / IPV6_PKTINFO), and whatever goes back to that peer leaves
 * from that address and port (RFC 3261 §18.2.2, RFC 3581 §4): NAT
 * pinholes, kube-proxy's NodePort translation and hosts with several
 * addresses only let through answers from the address that was asked.
 */
#ifndef KV_SIP_TRANSPORT_H
#define KV_SIP_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "sip/msg.h"
#include "sip/sa.h"

enum sip_proto { SIP_PROTO_UDP = 0, SIP_PROTO_TCP = 1 };

struct sip_listener;
struct sip_transport;

/* Where a message came from / goes to. */
struct sip_peer {
	struct sockaddr_storage addr;   /* remote address */
	/* Our address and port the flow arrives on: received messages carry
	 * it (UDP: the datagram's destination; TCP: the connection's local
	 * end); a UDP send with it set leaves from it.  AF_UNSPEC (a zeroed
	 * peer): unknown, the listener's address or the kernel's choice.
	 * Only for flows this host received: another host's address is
	 * refused as a source (the datagram then leaves from the kernel's
	 * choice) yet would be named in Via and Contact. */
	struct sockaddr_storage local;
	enum sip_proto proto;
	uint64_t conn_id;               /* TCP connection (0: none / open new) */
	struct sip_listener *lst;       /* listener it arrived on, or NULL */
};

/*
 * A received message.  err == 0: msg is fully decoded.  err != 0: the
 * message was malformed; why says how, and msg holds what could be decoded
 * (msg->buf/len always set) so the stack can still answer 400 when it has
 * Via/From/To/Call-ID/CSeq.  msg and its buffer are valid only during the
 * call.
 */
typedef void (sip_recv_h)(int err, const char *why, struct sip_msg *msg,
			  const struct sip_peer *peer, void *arg);

int  sip_transport_alloc(struct sip_transport **tpp, uv_loop_t *loop,
			 sip_recv_h *recvh, void *arg);
/* Closes every socket and connection, then frees tp (asynchronously, on
 * the loop; the loop must run for the handles to close). */
void sip_transport_free(struct sip_transport *tp);

/* Bind a listener.  Port 0 picks a free port (tests); see
 * sip_listener_addr() for the actual address. */
int sip_transport_listen(struct sip_transport *tp, enum sip_proto proto,
			 const struct sockaddr *bind, struct sip_listener **lp);
const struct sockaddr *sip_listener_addr(const struct sip_listener *l);
enum sip_proto sip_listener_proto(const struct sip_listener *l);

/* Idle TCP connections (no bytes either way) are closed after ms
 * (default 600 s, and never while a message is being received). */
void sip_transport_set_idle_timeout(struct sip_transport *tp, uint64_t ms);
/* Upper bound on TCP connections at once (default 10000); past it new
 * connections are accepted and closed at once. */
void sip_transport_set_max_conns(struct sip_transport *tp, unsigned n);

/*
 * Send buf to dst.  UDP: from dst->local when set and a listener has that
 * address (or a wildcard one) and port, else from dst->lst when set, else
 * from a listener of the same address family; bytes the socket cannot
 * take now are queued, in order (ENOBUFS past 4 MiB).  TCP: on
 * dst->conn_id when that connection is open, else on an open connection
 * to dst->addr, else a new connection to dst->addr from dst->local's
 * address when set (bytes are queued until it is up).  The buffer is
 * copied.
 */
int sip_transport_send(struct sip_transport *tp, const struct sip_peer *dst,
		       const void *buf, size_t len);

/* Is this TCP connection still open? */
bool sip_transport_conn_alive(struct sip_transport *tp, uint64_t conn_id);
unsigned sip_transport_conn_count(const struct sip_transport *tp);

/* First listener with this protocol and address family, or NULL. */
struct sip_listener *sip_transport_find_listener(struct sip_transport *tp,
						 enum sip_proto proto, int af);

/*
 * Where a send to dst leaves from, as sip_transport_send() would choose:
 * the listener (NULL: none for dst's protocol and family) and, in *src,
 * our address the peer sees with that listener's port, or AF_UNSPEC when
 * the kernel picks it (a wildcard listener and no usable dst->local).
 * For Via and Contact.
 */
struct sip_listener *sip_transport_source(struct sip_transport *tp,
					  const struct sip_peer *dst,
					  struct sockaddr_storage *src);

/* "udp"/"tcp" and "UDP"/"TCP". */
const char *sip_proto_name(enum sip_proto p);
const char *sip_proto_upper(enum sip_proto p);

/* What the transaction layer needs besides. */

/* Like sip_transport_send(); *conn_id (may be NULL) gets the TCP
 * connection the bytes went to or were queued on (0 for UDP). */
int sip_transport_send_conn(struct sip_transport *tp, const struct sip_peer *dst,
			    const void *buf, size_t len, uint64_t *conn_id);

/* A TCP connection is gone.  err 0: orderly (EOF, idle, framing error);
 * else a positive errno (ECONNREFUSED, ECONNRESET, ENOBUFS for a peer
 * that does not read...).  Called from a loop callback, never from inside
 * sip_transport_send(), and not for connections closed by
 * sip_transport_free().  One handler per transport: sip_stack_alloc()
 * installs the stack's. */
typedef void (sip_conn_close_h)(uint64_t conn_id, int err, void *arg);
void sip_transport_set_close_handler(struct sip_transport *tp,
				     sip_conn_close_h *closeh);

struct sip_transport_stats {
	uint64_t rx_msgs, rx_bytes, tx_bytes, rx_errors;
	uint64_t udp_queued;             /* datagrams the socket took later */
	uint64_t tcp_accepted, tcp_connected, tcp_rejected, tcp_closed;
	uint64_t tcp_idle_closed, tcp_overflow_closed, tcp_pings;
};
const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *tp);

#endif
