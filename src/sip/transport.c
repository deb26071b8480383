/*
 * transport.c - SIP over UDP and TCP, IPv4 and IPv6, on libuv
 * (RFC 3261 §18, RFC 5626 §3.5.1 keep-alives).
 *
 * UDP listeners read datagrams with recvmmsg() into one 64 KiB buffer per
 * datagram of a batch and decode them in place.  A listener bound to a
 * wildcard address also asks for IP_PKTINFO / IPV6_PKTINFO, so every
 * datagram comes with our address it was sent to, and a send to a peer
 * whose local address is known goes out with that address as its source
 * (sendmsg() with the same control message): a NAT, kube-proxy or a
 * multi-homed host passes only answers from the address that was asked.
 * UDP sends are ours, not libuv's, for that control message; what the
 * socket cannot take now waits in a bounded queue, sent in order when it
 * is writable.  TCP connections (accepted or outgoing) keep an
 * input buffer that grows up to TCP_MSG_MAX; messages are framed by
 * Content-Length, several per read or one split over many reads.  Framing
 * is lost on a malformed stream message, so the connection is closed after
 * the message is handed up (the stack may still answer 400 on it first).
 * Connections are found by id or by peer address through two hash tables
 * (addresses under a keyed hash: peers choose them); one repeating timer
 * closes idle connections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/transport.h"
#include "util/hash.h"
#include "util/rand.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/log.h"
#include "util/sbuf.h"
#include "util/vec.h"

enum {
	UDP_BUF_SIZE = 65536,            /* largest possible datagram */
	UDP_BATCH = 8,                   /* datagrams per recvmmsg() */
	TCP_BUF_INIT = 4096,
	TCP_MSG_MAX = 65536,             /* headers + body of one message */
	TCP_WQ_MAX = 1024 * 1024,        /* unread bytes before we give up */
	UDP_SOCKBUF = 4 * 1024 * 1024,   /* kernel buffer for bursts */
	UDP_WQ_MAX = 4 * 1024 * 1024,    /* queued beyond a full kernel buffer */
	CONN_BUCKETS_INIT = 64,
};

#define IDLE_DEFAULT_MS (600ULL * 1000)
#define MAX_CONNS_DEFAULT 10000U

/* Room for one IP_PKTINFO or IPV6_PKTINFO control message. */
union pktinfo_buf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
};

struct sip_listener {
	struct list_node le;             /* in tp->lsts, in binding order */
	struct sip_transport *tp;
	enum sip_proto proto;
	struct sockaddr_storage addr;
	union {
		uv_handle_t h;
		uv_udp_t udp;
		uv_tcp_t tcp;
	} u;
	char *rxbuf;                     /* UDP: UDP_BATCH datagrams */
	bool closing;
	/* UDP receive: recvmmsg() on a dup of the socket, watched by a
	 * uv_poll, because libuv's own loop makes one more recvmsg() per
	 * wake-up that only returns EAGAIN: a quarter of the system calls of
	 * a REGISTER.  The same poll waits for room when sends are queued;
	 * the uv_udp_t only owns the socket. */
	uv_poll_t rxpoll;
	int rxfd;
	bool polling;
	bool pktinfo;                    /* wildcard bind: datagrams say their
					  * destination address */
	unsigned handles;                /* open uv handles of this listener */
	struct list_node txq;            /* struct udp_out, oldest first */
	size_t txq_bytes;
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	struct sockaddr_storage from[UDP_BATCH];
	union pktinfo_buf ctl[UDP_BATCH];
};

struct sip_conn {
	struct sip_transport *tp;
	uv_tcp_t tcp;
	uv_connect_t creq;
	uv_shutdown_t sreq;
	uint64_t id;
	struct sockaddr_storage peer;
	struct sockaddr_storage local;   /* our end, once connected */
	struct sip_listener *lst;
	char *in;
	size_t inlen, incap;
	struct sbuf pending;             /* queued while connecting */
	size_t wq;                       /* bytes held by uv_write requests */
	uint64_t last_ms;
	int err;                         /* reported to closeh */
	bool connected, closing;
	/* listed: findable, counted, swept; only then in both tables */
	struct list_node le;
	struct hnode id_hn, addr_hn;
};

struct wreq {
	uv_write_t req;
	struct sip_conn *c;
	size_t len;
	char data[];
};

/* A datagram the socket could not take yet. */
struct udp_out {
	struct list_node le;
	struct sockaddr_storage to;
	struct sockaddr_storage from;    /* source address, or AF_UNSPEC */
	size_t len;
	char data[];
};

struct sip_transport {
	uv_loop_t *loop;
	sip_recv_h *recvh;
	sip_conn_close_h *closeh;
	void *arg;
	struct list_node lsts;
	struct list_node conns;          /* listed connections, newest first */
	struct htab byid, byaddr;
	struct hash_key key;             /* of byaddr */
	unsigned nconns;
	unsigned max_conns;
	uint64_t idle_ms;
	uint64_t next_id;
	uv_timer_t sweep;
	bool sweep_running;
	unsigned nhandles;               /* open uv handles; free at 0 */
	bool freeing;
	struct log_ratelimit rl;         /* of send errors peers can cause */
	struct sip_transport_stats stats;
};

static void conn_parse(struct sip_conn *c);
static void conn_close(struct sip_conn *c, int err, bool flush);

const char *sip_proto_name(enum sip_proto p)
{
	return p == SIP_PROTO_TCP ? "tcp" : "udp";
}

const char *sip_proto_upper(enum sip_proto p)
{
	return p == SIP_PROTO_TCP ? "TCP" : "UDP";
}

/* Peers choose their addresses and ports: the hash is keyed, so that
 * none can line its connections up in one chain. */
static uint64_t addr_hash(const struct sip_transport *tp, const struct sockaddr *sa)
{
	struct hash_sip_state h;

	hash_sip_init(&h, &tp->key);
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		hash_sip_add(&h, &in->sin_addr, sizeof(in->sin_addr));
		hash_sip_add(&h, &in->sin_port, sizeof(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		hash_sip_add(&h, &in6->sin6_addr, sizeof(in6->sin6_addr));
		hash_sip_add(&h, &in6->sin6_port, sizeof(in6->sin6_port));
	}
	return hash_sip_final(&h);
}

/* Ids are ours and sequential: they are their own hash. */
static struct sip_conn *conn_find_id(struct sip_transport *tp, uint64_t id)
{
	struct hnode *n;

	for (n = htab_bucket(&tp->byid, id); n; n = n->next) {
		struct sip_conn *c = htab_entry(n, struct sip_conn, id_hn);

		if (c->id == id)
			return c;
	}
	return NULL;
}

static struct sip_conn *conn_find_addr(struct sip_transport *tp,
				       const struct sockaddr *sa)
{
	uint64_t h = addr_hash(tp, sa);
	struct hnode *n;

	for (n = htab_bucket(&tp->byaddr, h); n; n = n->next) {
		struct sip_conn *c = htab_entry(n, struct sip_conn, addr_hn);

		if (n->hash == h && sip_sa_equal((struct sockaddr *)&c->peer, sa))
			return c;
	}
	return NULL;
}

static void tables_free(struct sip_transport *tp)
{
	htab_free(&tp->byid);
	htab_free(&tp->byaddr);
}

static void handle_closed(struct sip_transport *tp)
{
	tp->nhandles--;
	if (tp->freeing && !tp->nhandles) {
		tables_free(tp);
		free(tp);
	}
}

/* ---- idle sweep ---- */

static void sweep_cb(uv_timer_t *t)
{
	struct sip_transport *tp = t->data;
	uint64_t now = uv_now(tp->loop);
	struct list_node *it, *tmp;
	char a[64];

	/* last_ms moves with every byte either way, so a message that is
	 * still arriving keeps its connection; one stalled for the whole
	 * timeout is not being received any more. */
	list_foreach_safe(it, tmp, &tp->conns) {
		struct sip_conn *c = list_entry(it, struct sip_conn, le);

		if (now - c->last_ms < tp->idle_ms)
			continue;
		log_event(LOG_INFO, "tcp_idle_close", "conn=%" PRIu64 " peer=%s",
			  c->id, sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)));
		tp->stats.tcp_idle_closed++;
		conn_close(c, 0, false);
	}
}

/* A quarter of the timeout keeps the close within 125% of it. */
static void sweep_arm(struct sip_transport *tp)
{
	uint64_t every = tp->idle_ms / 4;

	if (every < 10)
		every = 10;
	if (every > 5000)
		every = 5000;
	uv_timer_start(&tp->sweep, sweep_cb, every, every);
	tp->sweep_running = true;
}

void sip_transport_set_idle_timeout(struct sip_transport *tp, uint64_t ms)
{
	tp->idle_ms = ms ? ms : IDLE_DEFAULT_MS;
	if (tp->sweep_running)
		sweep_arm(tp);
}

void sip_transport_set_max_conns(struct sip_transport *tp, unsigned n)
{
	tp->max_conns = n;
}

void sip_transport_set_close_handler(struct sip_transport *tp,
				     sip_conn_close_h *closeh)
{
	tp->closeh = closeh;
}

const struct sip_transport_stats *sip_transport_stats(const struct sip_transport *tp)
{
	return &tp->stats;
}

unsigned sip_transport_conn_count(const struct sip_transport *tp)
{
	return tp->nconns;
}

bool sip_transport_conn_alive(struct sip_transport *tp, uint64_t conn_id)
{
	return conn_id && conn_find_id(tp, conn_id) != NULL;
}

/* ---- allocation ---- */

int sip_transport_alloc(struct sip_transport **tpp, uv_loop_t *loop,
			sip_recv_h *recvh, void *arg)
{
	struct sip_transport *tp;
	int err;

	if (!tpp || !loop || !recvh)
		return EINVAL;
	tp = calloc(1, sizeof(*tp));
	if (!tp)
		return ENOMEM;
	tp->loop = loop;
	tp->recvh = recvh;
	tp->arg = arg;
	tp->idle_ms = IDLE_DEFAULT_MS;
	tp->max_conns = MAX_CONNS_DEFAULT;
	tp->next_id = 1;
	log_ratelimit_init(&tp->rl, 1, 5);
	list_init(&tp->lsts);
	list_init(&tp->conns);
	rand_hash_key(&tp->key);
	err = htab_init(&tp->byid, CONN_BUCKETS_INIT);
	if (!err)
		err = htab_init(&tp->byaddr, CONN_BUCKETS_INIT);
	if (!err)
		err = -uv_timer_init(loop, &tp->sweep);
	if (err) {
		tables_free(tp);
		free(tp);
		return err;
	}
	tp->sweep.data = tp;
	/* The sweep alone must not keep a loop alive. */
	uv_unref((uv_handle_t *)&tp->sweep);
	tp->nhandles = 1;
	*tpp = tp;
	return 0;
}

static void listener_close_cb(uv_handle_t *h)
{
	struct sip_listener *l = h->data;
	struct sip_transport *tp = l->tp;
	struct list_node *it, *tmp;

	if (--l->handles == 0) {
		/* Datagrams still waiting go with the socket. */
		list_foreach_safe(it, tmp, &l->txq)
			free(list_entry(it, struct udp_out, le));
		if (l->rxfd >= 0)
			close(l->rxfd);
		free(l->rxbuf);
		free(l);
	}
	handle_closed(tp);
}

static void listener_close(struct sip_listener *l)
{
	l->closing = true;
	uv_close(&l->u.h, listener_close_cb);
	if (l->polling) {
		l->polling = false;
		uv_close((uv_handle_t *)&l->rxpoll, listener_close_cb);
	}
}

static void sweep_close_cb(uv_handle_t *h)
{
	handle_closed(h->data);
}

void sip_transport_free(struct sip_transport *tp)
{
	struct list_node *it;

	if (!tp || tp->freeing)
		return;
	tp->freeing = true;
	while ((it = list_first(&tp->conns)))
		conn_close(list_entry(it, struct sip_conn, le), 0, false);
	while ((it = list_first(&tp->lsts))) {
		list_unlink(it);
		listener_close(list_entry(it, struct sip_listener, le));
	}
	uv_close((uv_handle_t *)&tp->sweep, sweep_close_cb);
}

/* ---- UDP ---- */

/* Keep-alives from NATed phones: CRLF pairs, or an empty datagram. */
static bool only_whitespace(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n' && p[i] != ' ' && p[i] != '\t' && p[i] != '\0')
			return false;
	}
	return true;
}

/*
 * Our address the datagram was sent to, with the listener's port.  A
 * specific bind is that address; a wildcard one reads the control
 * message.  IPv4 takes ipi_spec_dst, the local address the kernel would
 * answer from (the destination itself for unicast, ours for a broadcast);
 * an IPv6 multicast destination cannot be a source, so it stays unknown,
 * as does a wildcard address, which would name no source at all.
 * (A dual-stack v6 socket would report an IPv4 destination v4-mapped,
 * which IPV6_PKTINFO takes back as a source; ours are v6-only.)
 */
static void udp_local(const struct sip_listener *l, struct msghdr *h,
		      struct sockaddr_storage *local)
{
	const struct sockaddr *la = (const struct sockaddr *)&l->addr;
	uint16_t port = htons(sip_sa_port(la));
	struct cmsghdr *cm;

	if (!l->pktinfo) {
		if (!sip_sa_is_any(la))
			memcpy(local, la, sip_sa_len(la));
		return;
	}
	if (h->msg_flags & MSG_CTRUNC)
		return;
	for (cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct sockaddr_in *in = (struct sockaddr_in *)local;
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			if (pi.ipi_spec_dst.s_addr == htonl(INADDR_ANY))
				return;
			in->sin_family = AF_INET;
			in->sin_addr = pi.ipi_spec_dst;
			in->sin_port = port;
			return;
		}
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)local;
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			if (IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr) ||
			    IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr))
				return;
			in6->sin6_family = AF_INET6;
			in6->sin6_addr = pi.ipi6_addr;
			in6->sin6_port = port;
			/* A link-local source needs its interface back. */
			if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
				in6->sin6_scope_id = (uint32_t)pi.ipi6_ifindex;
			return;
		}
	}
}

static void udp_datagram(struct sip_listener *l, char *base, size_t nread,
			 const struct sockaddr *addr, struct msghdr *h)
{
	struct sip_transport *tp = l->tp;
	struct sip_peer peer;
	struct sip_msg msg;
	const char *why = NULL;
	int rc;

	if (!nread)
		return;
	if (h->msg_flags & MSG_TRUNC) {
		tp->stats.rx_errors++;
		return;
	}
	tp->stats.rx_bytes += (uint64_t)nread;
	if (only_whitespace(base, nread))
		return;

	memset(&peer, 0, sizeof(peer));
	memcpy(&peer.addr, addr, sip_sa_len(addr));
	udp_local(l, h, &peer.local);
	peer.proto = SIP_PROTO_UDP;
	peer.lst = l;

	memset(&msg, 0, sizeof(msg));
	rc = sip_msg_decode(&msg, base, nread, false, &why);
	if (rc != SIP_DECODE_OK) {
		tp->stats.rx_errors++;
		msg.buf = base;
		if (!msg.len || msg.len > nread)
			msg.len = nread;
		tp->recvh(EBADMSG, why ? why : "Malformed message", &msg, &peer, tp->arg);
		return;
	}
	tp->stats.rx_msgs++;
	tp->recvh(0, NULL, &msg, &peer, tp->arg);
}

static void udp_flush(struct sip_listener *l);

/* Read what is queued, UDP_BATCH datagrams per system call; a short batch
 * means the queue was empty, so no extra read just to see EAGAIN.  The
 * same poll reports room for queued sends. */
static void udp_poll_cb(uv_poll_t *h, int status, int events)
{
	struct sip_listener *l = h->data;
	struct sip_transport *tp = l->tp;

	if (events & UV_WRITABLE)
		udp_flush(l);
	if (!(events & UV_READABLE))
		return;
	for (int round = 0; round < 4; round++) {
		int n;

		for (int i = 0; i < UDP_BATCH; i++) {
			struct msghdr *mh = &l->mm[i].msg_hdr;

			l->iov[i].iov_base = l->rxbuf + (size_t)i * UDP_BUF_SIZE;
			l->iov[i].iov_len = UDP_BUF_SIZE;
			memset(mh, 0, sizeof(*mh));
			mh->msg_name = &l->from[i];
			mh->msg_namelen = sizeof(l->from[i]);
			mh->msg_iov = &l->iov[i];
			mh->msg_iovlen = 1;
			if (l->pktinfo) {
				mh->msg_control = &l->ctl[i];
				mh->msg_controllen = sizeof(l->ctl[i]);
			}
		}
		n = recvmmsg(l->rxfd, l->mm, UDP_BATCH, MSG_DONTWAIT, NULL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_event(LOG_DEBUG, "udp_recv_error", "err=%d", errno);
			return;
		}
		for (int i = 0; i < n; i++) {
			if (l->closing || tp->freeing)
				return;
			udp_datagram(l, l->iov[i].iov_base, l->mm[i].msg_len,
				     (const struct sockaddr *)&l->from[i], &l->mm[i].msg_hdr);
		}
		if (n < UDP_BATCH)
			return;
	}
}

/* Watch for room only while something is queued: a UDP socket is nearly
 * always writable. */
static int udp_poll_update(struct sip_listener *l)
{
	int events = UV_READABLE;

	if (!l->polling)
		return 0;
	if (!list_empty(&l->txq))
		events |= UV_WRITABLE;
	return -uv_poll_start(&l->rxpoll, events, udp_poll_cb);
}

/*
 * A wildcard listener learns the destination of every datagram.  Without
 * it answers leave from whatever address the kernel picks, which is how
 * it was before: worth a warning, not a refusal to start.
 */
static void udp_pktinfo_enable(struct sip_listener *l)
{
	const struct sockaddr *la = (const struct sockaddr *)&l->addr;
	int on = 1, rc;
	char a[64];

	if (!sip_sa_is_any(la))
		return;
	if (la->sa_family == AF_INET)
		rc = setsockopt(l->rxfd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
	else
		rc = setsockopt(l->rxfd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
	if (rc) {
		log_event(LOG_WARN, "udp_pktinfo_failed",
			  "addr=%s err=%d effect=\"answers leave from the address the kernel picks\"",
			  sip_sockaddr_str(la, a, sizeof(a)), errno);
		return;
	}
	l->pktinfo = true;
}

/* 0 or a positive errno (libuv's codes are negated errno values). */
static int udp_poll_start(struct sip_transport *tp, struct sip_listener *l)
{
	uv_os_fd_t fd;
	int rc;

	rc = uv_fileno(&l->u.h, &fd);
	if (rc)
		return -rc;
	l->rxfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (l->rxfd < 0)
		return errno;
	udp_pktinfo_enable(l);
	rc = uv_poll_init(tp->loop, &l->rxpoll, l->rxfd);
	if (rc)
		return -rc;
	l->rxpoll.data = l;
	l->polling = true;
	l->handles++;
	tp->nhandles++;
	return udp_poll_update(l);
}

/* 2: l is bound to local; 1: l is a wildcard bind of local's family and
 * port, which sends from local with IP_PKTINFO; 0: l cannot send from it. */
static int udp_from_match(const struct sip_listener *l, const struct sockaddr *local)
{
	const struct sockaddr *la = (const struct sockaddr *)&l->addr;

	if (l->proto != SIP_PROTO_UDP || l->closing || la->sa_family != local->sa_family ||
	    sip_sa_port(la) != sip_sa_port(local))
		return 0;
	if (sip_sa_addr_equal(la, local))
		return 2;
	return sip_sa_is_any(la) ? 1 : 0;
}

/* The listener that sends from local: hint (the one the flow came in on)
 * when it can, else one bound to local, else a wildcard one. */
static struct sip_listener *udp_listener_at(struct sip_transport *tp,
					    struct sip_listener *hint,
					    const struct sockaddr *local)
{
	struct sip_listener *any = NULL;
	struct list_node *it;

	if (hint && udp_from_match(hint, local))
		return hint;
	list_foreach(it, &tp->lsts) {
		struct sip_listener *l = list_entry(it, struct sip_listener, le);
		int m = udp_from_match(l, local);

		if (m == 2)
			return l;
		if (m == 1 && !any)
			any = l;
	}
	return any;
}

/*
 * The listener a datagram to dst leaves through and, in *from, the source
 * address the kernel must be told (AF_UNSPEC: none to tell, the socket's
 * own bind or the kernel's choice).  dst->local when a listener can send
 * from it; else dst->lst, else the first listener of the family.
 */
static struct sip_listener *udp_route(struct sip_transport *tp,
				      const struct sip_peer *dst,
				      struct sockaddr_storage *from)
{
	int af = dst->addr.ss_family;
	struct sip_listener *l = dst->lst;

	from->ss_family = AF_UNSPEC;
	if (dst->local.ss_family == af && sip_sa_len((const struct sockaddr *)&dst->local)) {
		l = udp_listener_at(tp, l, (const struct sockaddr *)&dst->local);
		if (l) {
			if (sip_sa_is_any((struct sockaddr *)&l->addr))
				*from = dst->local;
			return l;
		}
		l = dst->lst;
	}
	if (l && !l->closing && l->proto == SIP_PROTO_UDP && l->addr.ss_family == af)
		return l;
	return sip_transport_find_listener(tp, SIP_PROTO_UDP, af);
}

/* mh's one control message: level/type with size bytes of data. */
static void cmsg_set(struct msghdr *mh, union pktinfo_buf *ctl, int level, int type,
		     const void *data, size_t size)
{
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl;
	mh->msg_controllen = CMSG_SPACE(size);
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(size);
	memcpy(CMSG_DATA(cm), data, size);
}

/* One sendmsg(), with from as the source when set: 0 or a positive errno.
 * No interface is named (index 0) but for a link-local IPv6 source. */
static int udp_sendmsg(struct sip_listener *l, const struct sockaddr *to,
		       const struct sockaddr_storage *from, const void *buf, size_t len)
{
	union pktinfo_buf ctl;
	struct iovec iov = {(void *)buf, len};
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_name = (void *)to;
	mh.msg_namelen = sip_sa_len(to);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (from && from->ss_family == AF_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi_spec_dst = ((const struct sockaddr_in *)from)->sin_addr;
		cmsg_set(&mh, &ctl, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (from && from->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)from;
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		pi.ipi6_addr = in6->sin6_addr;
		pi.ipi6_ifindex = in6->sin6_scope_id;
		cmsg_set(&mh, &ctl, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	}
	for (;;) {
		if (sendmsg(l->rxfd, &mh, MSG_DONTWAIT) >= 0)
			return 0;
		if (errno != EINTR)
			return errno == EWOULDBLOCK ? EAGAIN : errno;
	}
}

/*
 * Sends one datagram from from (when set).  A source that is not ours any
 * more (an address removed from the host, a flow recorded elsewhere) is
 * refused by the kernel: the datagram then leaves from the kernel's
 * choice, as it would without a source, rather than not at all.
 */
static int udp_out(struct sip_listener *l, const struct sockaddr_storage *to,
		   const struct sockaddr_storage *from, const void *buf, size_t len)
{
	struct sip_transport *tp = l->tp;
	uint64_t suppressed = 0;
	char a[64], b[64];
	int err;

	err = udp_sendmsg(l, (const struct sockaddr *)to, from, buf, len);
	if (!err) {
		tp->stats.tx_bytes += len;
		return 0;
	}
	/* Linux: ENETUNREACH (IPv4), EINVAL (IPv6). */
	if (from->ss_family == AF_UNSPEC ||
	    (err != EINVAL && err != EADDRNOTAVAIL && err != ENETUNREACH))
		return err;
	if (log_ratelimit_allow(&tp->rl, uv_now(tp->loop), &suppressed))
		log_event(LOG_INFO, "udp_source_refused", "src=%s dst=%s err=%d suppressed=%" PRIu64,
			  sip_sockaddr_str((const struct sockaddr *)from, a, sizeof(a)),
			  sip_sockaddr_str((const struct sockaddr *)to, b, sizeof(b)), err,
			  suppressed);
	err = udp_sendmsg(l, (const struct sockaddr *)to, NULL, buf, len);
	if (!err)
		tp->stats.tx_bytes += len;
	return err;
}

/* Room in the socket again: send what waited, in order. */
static void udp_flush(struct sip_listener *l)
{
	struct list_node *it;
	char a[64];

	while ((it = list_first(&l->txq))) {
		struct udp_out *o = list_entry(it, struct udp_out, le);
		int err = udp_out(l, &o->to, &o->from, o->data, o->len);

		if (err == EAGAIN)
			return;
		if (err)
			log_event(LOG_DEBUG, "udp_send_error", "dst=%s err=%d",
				  sip_sockaddr_str((struct sockaddr *)&o->to, a, sizeof(a)), err);
		list_unlink(it);
		l->txq_bytes -= o->len;
		free(o);
	}
	udp_poll_update(l);
}

static int udp_enqueue(struct sip_listener *l, const struct sockaddr_storage *to,
		       const struct sockaddr_storage *from, const void *buf, size_t len)
{
	struct udp_out *o;
	bool first = list_empty(&l->txq);
	int err;

	if (l->txq_bytes + len > UDP_WQ_MAX)
		return ENOBUFS;
	o = malloc(sizeof(*o) + len);
	if (!o)
		return ENOMEM;
	o->to = *to;
	o->from = *from;
	o->len = len;
	memcpy(o->data, buf, len);
	list_push_back(&l->txq, &o->le);
	l->txq_bytes += len;
	l->tp->stats.udp_queued++;
	if (first) {
		err = udp_poll_update(l);
		if (err) {
			list_unlink(&o->le);
			l->txq_bytes -= len;
			free(o);
			return err;
		}
	}
	return 0;
}

static int udp_send(struct sip_transport *tp, const struct sip_peer *dst,
		    const void *buf, size_t len)
{
	struct sockaddr_storage from;
	struct sip_listener *l = udp_route(tp, dst, &from);
	int err;

	if (!l)
		return EAFNOSUPPORT;
	if (len > UDP_BUF_SIZE - 8 - 40)
		return EMSGSIZE;
	/* Behind what waits, to keep the order. */
	if (list_empty(&l->txq)) {
		err = udp_out(l, &dst->addr, &from, buf, len);
		if (err != EAGAIN)
			return err;
	}
	return udp_enqueue(l, &dst->addr, &from, buf, len);
}

/* ---- TCP connections ---- */

static void conn_close_cb(uv_handle_t *h)
{
	struct sip_conn *c = h->data;
	struct sip_transport *tp = c->tp;

	if (c->id && tp->closeh && !tp->freeing)
		tp->closeh(c->id, c->err, tp->arg);
	sbuf_free(&c->pending);
	free(c->in);
	free(c);
	handle_closed(tp);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
	struct sip_conn *c = req->data;

	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

/*
 * Takes c out of every table at once, so nothing sends on it any more.
 * flush: send a FIN after what was written (a 400 for a malformed
 * message).  Only when nothing is left queued in user space, so the
 * shutdown completes at once and a peer that does not read cannot keep
 * the connection half-closed forever.
 */
static void conn_close(struct sip_conn *c, int err, bool flush)
{
	struct sip_transport *tp = c->tp;
	char a[64];

	if (c->closing)
		return;
	c->closing = true;
	c->err = err;
	if (list_linked(&c->le)) {
		htab_remove(&tp->byid, &c->id_hn);
		htab_remove(&tp->byaddr, &c->addr_hn);
		list_unlink(&c->le);
		tp->nconns--;
		tp->stats.tcp_closed++;
		log_event(err ? LOG_INFO : LOG_DEBUG, "tcp_close",
			  "conn=%" PRIu64 " peer=%s err=%d", c->id,
			  sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)), err);
	}
	if (list_empty(&tp->conns) && tp->sweep_running) {
		uv_timer_stop(&tp->sweep);
		tp->sweep_running = false;
	}
	if (flush && c->connected && !c->wq && !tp->freeing) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->sreq.data = c;
		if (!uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, conn_shutdown_cb))
			return;
	}
	uv_close((uv_handle_t *)&c->tcp, conn_close_cb);
}

static int conn_new(struct sip_transport *tp, struct sip_conn **cp)
{
	struct sip_conn *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return ENOMEM;
	err = -uv_tcp_init(tp->loop, &c->tcp);
	if (err) {
		free(c);
		return err;
	}
	c->tp = tp;
	c->tcp.data = c;
	c->last_ms = uv_now(tp->loop);
	list_node_init(&c->le);
	sbuf_init(&c->pending);
	tp->nhandles++;
	*cp = c;
	return 0;
}

/* Makes c findable by id and address, and starts the idle sweep. */
static void conn_list(struct sip_transport *tp, struct sip_conn *c)
{
	c->id = tp->next_id++;
	list_push_front(&tp->conns, &c->le);
	tp->nconns++;
	htab_insert(&tp->byid, &c->id_hn, c->id);
	htab_insert(&tp->byaddr, &c->addr_hn, addr_hash(tp, (struct sockaddr *)&c->peer));
	if (!tp->sweep_running)
		sweep_arm(tp);
}

static void conn_write_cb(uv_write_t *req, int status)
{
	struct wreq *w = req->data;
	struct sip_conn *c = w->c;

	c->wq -= w->len;
	free(w);
	if (status == UV_ECANCELED)
		return;
	if (status) {
		conn_close(c, -status, false);
		return;
	}
	c->last_ms = uv_now(c->tp->loop);
}

static int conn_write(struct sip_conn *c, const void *buf, size_t len)
{
	struct sip_transport *tp = c->tp;
	const char *p = buf;
	struct wreq *w;
	uv_buf_t b;
	int rc;

	if (c->closing)
		return ECONNRESET;
	if (!c->connected) {
		if (c->pending.len + len > TCP_WQ_MAX)
			return ENOBUFS;
		sbuf_append(&c->pending, buf, len);
		return sbuf_err(&c->pending) ? ENOMEM : 0;
	}
	/* An empty send (buf may be NULL) is only activity: it must reach
	 * neither the write queue nor memcpy(). */
	if (!len) {
		c->last_ms = uv_now(tp->loop);
		return 0;
	}

	b = uv_buf_init((char *)p, (unsigned)len);
	rc = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
	if (rc >= 0) {
		tp->stats.tx_bytes += (uint64_t)rc;
		c->last_ms = uv_now(tp->loop);
		p += rc;
		len -= (size_t)rc;
		if (!len)
			return 0;
	} else if (rc != UV_EAGAIN && rc != UV_ENOSYS) {
		conn_close(c, -rc, false);
		return -rc;
	}

	if (c->wq + len > TCP_WQ_MAX) {
		char a[64];

		log_event(LOG_WARN, "tcp_write_overflow", "conn=%" PRIu64 " peer=%s queued=%zu",
			  c->id, sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)), c->wq);
		tp->stats.tcp_overflow_closed++;
		conn_close(c, ENOBUFS, false);
		return ENOBUFS;
	}
	w = malloc(sizeof(*w) + len);
	if (!w)
		return ENOMEM;
	memcpy(w->data, p, len);
	w->c = c;
	w->len = len;
	w->req.data = w;
	b = uv_buf_init(w->data, (unsigned)len);
	rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, conn_write_cb);
	if (rc) {
		free(w);
		conn_close(c, -rc, false);
		return -rc;
	}
	c->wq += len;
	tp->stats.tx_bytes += len;
	return 0;
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct sip_conn *c = h->data;

	/* Doubles from TCP_BUF_INIT up to TCP_MSG_MAX (powers of two); a
	 * failed growth keeps the buffer, which only reads less at once. */
	if (c->incap - c->inlen < TCP_BUF_INIT / 4 && c->incap < TCP_MSG_MAX)
		vec_reserve_raw(&c->in, &c->incap, 1, c->incap + 1, TCP_BUF_INIT);
	/* A zero-length buffer makes libuv report UV_ENOBUFS. */
	buf->base = c->in ? c->in + c->inlen : NULL;
	buf->len = c->in ? c->incap - c->inlen : 0;
}

static void conn_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct sip_conn *c = s->data;
	struct sip_transport *tp = c->tp;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		if (nread == UV_EOF) {
			conn_close(c, 0, false);
		} else if (nread == UV_ENOBUFS) {
			tp->stats.tcp_overflow_closed++;
			conn_close(c, EMSGSIZE, false);
		} else {
			conn_close(c, (int)-nread, false);
		}
		return;
	}
	c->inlen += (size_t)nread;
	c->last_ms = uv_now(tp->loop);
	tp->stats.rx_bytes += (uint64_t)nread;
	conn_parse(c);
}

static void conn_peer(const struct sip_conn *c, struct sip_peer *peer)
{
	memset(peer, 0, sizeof(*peer));
	peer->addr = c->peer;
	peer->local = c->local;
	peer->proto = SIP_PROTO_TCP;
	peer->conn_id = c->id;
	peer->lst = c->lst;
}

/*
 * Frames every complete message in the input buffer.  Between messages,
 * CRLFCRLF is a keep-alive ping (answered with CRLF) and a lone CRLF is
 * skipped; a CRLF at the very end is kept, it may be half a ping.
 */
static void conn_parse(struct sip_conn *c)
{
	struct sip_transport *tp = c->tp;
	struct sip_peer peer;
	struct sip_msg msg;
	size_t off = 0;

	conn_peer(c, &peer);
	while (!c->closing && !tp->freeing && off < c->inlen) {
		const char *p = c->in + off;
		size_t n = c->inlen - off;
		const char *why = NULL;
		int rc;

		if (p[0] == '\r' || p[0] == '\n') {
			if (n >= 4 && !memcmp(p, "\r\n\r\n", 4)) {
				tp->stats.tcp_pings++;
				conn_write(c, "\r\n", 2);
				off += 4;
				continue;
			}
			if (n < 4 && !memcmp(p, "\r\n\r\n", n))
				break;
			off += (n >= 2 && p[0] == '\r' && p[1] == '\n') ? 2 : 1;
			continue;
		}

		memset(&msg, 0, sizeof(msg));
		rc = sip_msg_decode(&msg, p, n, true, &why);
		if (rc == SIP_DECODE_PARTIAL)
			break;
		if (rc != SIP_DECODE_OK) {
			char a[64];

			tp->stats.rx_errors++;
			msg.buf = p;
			if (!msg.len || msg.len > n)
				msg.len = n;
			log_event(LOG_INFO, "tcp_bad_message", "conn=%" PRIu64 " peer=%s",
				  c->id, sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)));
			tp->recvh(EBADMSG, why ? why : "Malformed message", &msg, &peer, tp->arg);
			conn_close(c, 0, true);
			return;
		}
		if (!msg.len || msg.len > n) {
			/* A decoder that consumed nothing would spin forever. */
			conn_close(c, EPROTO, false);
			return;
		}
		tp->stats.rx_msgs++;
		off += msg.len;
		tp->recvh(0, NULL, &msg, &peer, tp->arg);
	}
	if (c->closing || tp->freeing)
		return;
	if (off) {
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
	}
	if (c->inlen >= TCP_MSG_MAX) {
		char a[64];

		log_event(LOG_WARN, "tcp_message_too_large", "conn=%" PRIu64 " peer=%s",
			  c->id, sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)));
		tp->stats.tcp_overflow_closed++;
		conn_close(c, EMSGSIZE, false);
		return;
	}
	/* Idle connections should not each pin a grown buffer. */
	if (!c->inlen && c->incap > TCP_BUF_INIT) {
		free(c->in);
		c->in = NULL;
		c->incap = 0;
	}
}

/* Our end of the connection; on failure it stays unknown (AF_UNSPEC). */
static void conn_local(struct sip_conn *c)
{
	int len = sizeof(c->local);

	if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&c->local, &len))
		memset(&c->local, 0, sizeof(c->local));
}

static void conn_connect_cb(uv_connect_t *req, int status)
{
	struct sip_conn *c = req->data;
	struct sip_transport *tp = c->tp;
	struct sbuf out;
	char a[64];
	int rc;

	if (status == UV_ECANCELED || c->closing)
		return;
	if (status) {
		log_event(LOG_WARN, "tcp_connect_failed", "conn=%" PRIu64 " peer=%s err=%s dropped=%zu",
			  c->id, sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)),
			  uv_err_name(status), c->pending.len);
		conn_close(c, -status, false);
		return;
	}
	c->connected = true;
	c->last_ms = uv_now(tp->loop);
	conn_local(c);
	tp->stats.tcp_connected++;
	log_event(LOG_DEBUG, "tcp_connected", "conn=%" PRIu64 " peer=%s", c->id,
		  sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)));
	uv_tcp_nodelay(&c->tcp, 1);
	rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
	if (rc) {
		conn_close(c, -rc, false);
		return;
	}
	out = c->pending;
	sbuf_init(&c->pending);
	if (out.len)
		conn_write(c, out.p, out.len);
	sbuf_free(&out);
}

static int conn_connect(struct sip_transport *tp, const struct sockaddr *sa,
			const struct sockaddr_storage *local, struct sip_conn **cp)
{
	struct sip_listener *l;
	struct sip_conn *c;
	int err;

	if (!sip_sa_len(sa))
		return EAFNOSUPPORT;
	if (tp->nconns >= tp->max_conns)
		return EMFILE;
	err = conn_new(tp, &c);
	if (err)
		return err;
	memcpy(&c->peer, sa, sip_sa_len(sa));
	l = sip_transport_find_listener(tp, SIP_PROTO_TCP, sa->sa_family);
	c->lst = l;
	conn_list(tp, c);

	/* Leave from the flow's address, else from the listener's when it is
	 * a specific one, so the peer sees the address our Via advertises.
	 * An address that is not ours any more fails to bind: the kernel
	 * then picks one, as it does for a wildcard listener. */
	if (local->ss_family == sa->sa_family ||
	    (l && !sip_sa_is_any((struct sockaddr *)&l->addr))) {
		struct sockaddr_storage src = local->ss_family == sa->sa_family ? *local : l->addr;

		sip_sa_set_port(&src, 0);
		uv_tcp_bind(&c->tcp, (struct sockaddr *)&src, 0);
	}
	c->creq.data = c;
	err = -uv_tcp_connect(&c->creq, &c->tcp, sa, conn_connect_cb);
	if (err) {
		conn_close(c, err, false);
		return err;
	}
	*cp = c;
	return 0;
}

static void tcp_accept_cb(uv_stream_t *server, int status)
{
	struct sip_listener *l = server->data;
	struct sip_transport *tp = l->tp;
	struct sip_conn *c;
	int len = sizeof(struct sockaddr_storage);
	char a[64];
	int rc;

	if (status < 0) {
		log_event(LOG_WARN, "tcp_accept_error", "err=%s", uv_err_name(status));
		return;
	}
	if (conn_new(tp, &c))
		return;
	rc = uv_accept(server, (uv_stream_t *)&c->tcp);
	if (rc) {
		conn_close(c, 0, false);
		return;
	}
	if (tp->nconns >= tp->max_conns || tp->freeing) {
		tp->stats.tcp_rejected++;
		log_event(LOG_WARN, "tcp_reject", "reason=max_conns max=%u", tp->max_conns);
		conn_close(c, 0, false);
		return;
	}
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len)) {
		conn_close(c, 0, false);
		return;
	}
	c->lst = l;
	c->connected = true;
	conn_local(c);
	conn_list(tp, c);
	tp->stats.tcp_accepted++;
	log_event(LOG_DEBUG, "tcp_accept", "conn=%" PRIu64 " peer=%s", c->id,
		  sip_sockaddr_str((struct sockaddr *)&c->peer, a, sizeof(a)));
	uv_tcp_nodelay(&c->tcp, 1);
	rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb);
	if (rc)
		conn_close(c, -rc, false);
}

/* ---- listeners ---- */

int sip_transport_listen(struct sip_transport *tp, enum sip_proto proto,
			 const struct sockaddr *bind, struct sip_listener **lp)
{
	struct sip_listener *l;
	int af, len = sizeof(struct sockaddr_storage);
	char a[64];
	int rc, err;

	if (!tp || !bind || tp->freeing || !sip_sa_len(bind))
		return EINVAL;
	af = bind->sa_family;
	l = calloc(1, sizeof(*l));
	if (!l)
		return ENOMEM;
	l->tp = tp;
	l->proto = proto;
	list_node_init(&l->le);
	list_init(&l->txq);

	if (proto == SIP_PROTO_UDP) {
		l->rxbuf = malloc((size_t)UDP_BATCH * UDP_BUF_SIZE);
		if (!l->rxbuf) {
			free(l);
			return ENOMEM;
		}
		rc = uv_udp_init_ex(tp->loop, &l->u.udp, (unsigned)af);
	} else {
		rc = uv_tcp_init_ex(tp->loop, &l->u.tcp, (unsigned)af);
	}
	if (rc) {
		free(l->rxbuf);
		free(l);
		return -rc;
	}
	l->u.h.data = l;
	l->rxfd = -1;
	l->handles = 1;
	tp->nhandles++;

	/* v6 sockets stay v6-only so a v4 and a v6 listener share a port. */
	if (proto == SIP_PROTO_UDP) {
		rc = uv_udp_bind(&l->u.udp, bind, af == AF_INET6 ? UV_UDP_IPV6ONLY : 0);
		if (!rc) {
			int size = UDP_SOCKBUF;

			/* Best effort: the kernel may cap it. */
			uv_recv_buffer_size(&l->u.h, &size);
			size = UDP_SOCKBUF;
			uv_send_buffer_size(&l->u.h, &size);
			rc = uv_udp_getsockname(&l->u.udp, (struct sockaddr *)&l->addr, &len);
		}
		err = -rc;
		if (!err)
			err = udp_poll_start(tp, l);
	} else {
		rc = uv_tcp_bind(&l->u.tcp, bind, af == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
		if (!rc)
			rc = uv_listen((uv_stream_t *)&l->u.tcp, 511, tcp_accept_cb);
		if (!rc)
			rc = uv_tcp_getsockname(&l->u.tcp, (struct sockaddr *)&l->addr, &len);
		err = -rc;
	}
	if (err) {
		log_event(LOG_ERROR, "listen_failed", "proto=%s addr=%s err=%s",
			  sip_proto_name(proto), sip_sockaddr_str(bind, a, sizeof(a)),
			  uv_err_name(-err));
		listener_close(l);
		return err;
	}
	/* Keep binding order: the first listener bound is found first. */
	list_push_back(&tp->lsts, &l->le);
	log_event(LOG_INFO, "listen", "proto=%s addr=%s", sip_proto_name(proto),
		  sip_sockaddr_str((struct sockaddr *)&l->addr, a, sizeof(a)));
	if (lp)
		*lp = l;
	return 0;
}

const struct sockaddr *sip_listener_addr(const struct sip_listener *l)
{
	return (const struct sockaddr *)&l->addr;
}

enum sip_proto sip_listener_proto(const struct sip_listener *l)
{
	return l->proto;
}

struct sip_listener *sip_transport_find_listener(struct sip_transport *tp,
						 enum sip_proto proto, int af)
{
	struct list_node *it;

	list_foreach(it, &tp->lsts) {
		struct sip_listener *l = list_entry(it, struct sip_listener, le);

		if (l->proto == proto && l->addr.ss_family == af && !l->closing)
			return l;
	}
	return NULL;
}

struct sip_listener *sip_transport_source(struct sip_transport *tp,
					  const struct sip_peer *dst,
					  struct sockaddr_storage *src)
{
	int af = dst->addr.ss_family;
	struct sip_listener *l;
	struct sockaddr_storage from;

	memset(src, 0, sizeof(*src));
	if (dst->proto == SIP_PROTO_UDP) {
		l = udp_route(tp, dst, &from);
		if (l && from.ss_family != AF_UNSPEC)
			*src = from;
	} else {
		l = dst->lst;
		if (!l || l->closing || l->proto != dst->proto || l->addr.ss_family != af)
			l = sip_transport_find_listener(tp, dst->proto, af);
		/* An outgoing connection's own port is not where we listen:
		 * the address is the flow's, the port the listener's. */
		if (l && dst->local.ss_family == af)
			*src = dst->local;
	}
	if (!l)
		return NULL;
	if (src->ss_family == AF_UNSPEC && !sip_sa_is_any((struct sockaddr *)&l->addr))
		*src = l->addr;
	if (src->ss_family != AF_UNSPEC)
		sip_sa_set_port(src, sip_sa_port((struct sockaddr *)&l->addr));
	return l;
}

/* ---- sending ---- */

int sip_transport_send_conn(struct sip_transport *tp, const struct sip_peer *dst,
			    const void *buf, size_t len, uint64_t *conn_id)
{
	struct sip_conn *c = NULL;
	int err;

	/* conn_id may point into dst (a caller updating its own peer), so it
	 * is written only once dst->conn_id has been used. */
	if (!tp || !dst || (!buf && len))
		return EINVAL;
	if (tp->freeing)
		return ESHUTDOWN;
	if (dst->proto == SIP_PROTO_UDP) {
		if (conn_id)
			*conn_id = 0;
		return len ? udp_send(tp, dst, buf, len) : 0;
	}

	if (dst->conn_id)
		c = conn_find_id(tp, dst->conn_id);
	if (!c && sip_sa_len((const struct sockaddr *)&dst->addr))
		c = conn_find_addr(tp, (const struct sockaddr *)&dst->addr);
	if (!c) {
		err = conn_connect(tp, (const struct sockaddr *)&dst->addr, &dst->local, &c);
		if (err)
			return err;
	}
	if (conn_id)
		*conn_id = c->id;
	return conn_write(c, buf, len);
}

int sip_transport_send(struct sip_transport *tp, const struct sip_peer *dst,
		       const void *buf, size_t len)
{
	return sip_transport_send_conn(tp, dst, buf, len, NULL);
}
