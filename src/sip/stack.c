/*
 * stack.c - the SIP transaction layer (RFC 3261 §17, §18.2; RFC 3581
 * rport; RFC 6026 Accepted states): the stack object, its timers and
 * counters, branches, our own address and Via, and stateless sending.
 *
 * The transactions themselves are in strans.c (server) and ctrans.c
 * (client), the receive path in recv.c; stack_int.h is what they share.
 * Every timer is a struct tmr on the caller's heap.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sip/sa.h"
#include "sip/stack_int.h"
#include "util/rand.h"

#define HTAB_INIT 256

char *stack_pl_pack(struct pl **dst, const struct pl *src, size_t n,
		    size_t extra, char **extrap)
{
	size_t total = 1;
	char *buf, *p;

	for (size_t i = 0; i < n; i++)
		total += src[i].p ? src[i].l : 0;
	if (extra > SIZE_MAX - total)
		return NULL;
	buf = malloc(total + extra);
	if (!buf)
		return NULL;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		size_t l = src[i].p ? src[i].l : 0;

		if (l)
			memcpy(p, src[i].p, l);
		dst[i]->p = p;
		dst[i]->l = l;
		p += l;
	}
	*p = '\0';
	if (extrap)
		*extrap = p + 1;
	return buf;
}

/* The status code of a response we print ourselves: "SIP/2.0 NNN ...". */
static unsigned raw_scode(const char *buf, size_t len)
{
	const char *sp = memchr(buf, ' ', len);
	size_t off;

	if (!sp)
		return 0;
	off = (size_t)(sp - buf) + 1;
	if (len - off < 3 || !isdigit((unsigned char)buf[off]) ||
	    !isdigit((unsigned char)buf[off + 1]) || !isdigit((unsigned char)buf[off + 2]))
		return 0;
	return (unsigned)(buf[off] - '0') * 100 + (unsigned)(buf[off + 1] - '0') * 10 +
	       (unsigned)(buf[off + 2] - '0');
}

int sip_stack_alloc(struct sip_stack **stp, uv_loop_t *loop, struct tmrq *q,
		    sip_request_h *reqh, void *arg)
{
	struct sip_stack *st;
	int err;

	if (!stp || !loop || !q || !reqh)
		return EINVAL;
	st = calloc(1, sizeof(*st));
	if (!st)
		return ENOMEM;
	st->loop = loop;
	st->q = q;
	st->reqh = reqh;
	st->arg = arg;
	st->t1 = 500;
	st->t2 = 4000;
	st->t4 = 5000;
	log_ratelimit_init(&st->rl, 5, 20);
	sbuf_init(&st->scratch);
	list_init(&st->tcp_ctx);
	rand_hash_key(&st->hkey);
	rand_hash_key(&st->tag_key);
	err = htab_init(&st->stx, HTAB_INIT);
	if (!err)
		err = htab_init(&st->accepted, HTAB_INIT);
	if (!err)
		err = htab_init(&st->ctx, HTAB_INIT);
	if (!err)
		err = sip_transport_alloc(&st->tp, loop, stack_recv, st);
	if (err)
		goto out;
	sip_transport_set_close_handler(st->tp, ctrans_conn_closed);
	*stp = st;
out:
	if (err) {
		htab_free(&st->stx);
		htab_free(&st->accepted);
		htab_free(&st->ctx);
		free(st);
	}
	return err;
}

void sip_stack_free(struct sip_stack *st)
{
	if (!st)
		return;
	strans_flush(st);
	ctrans_flush(st);
	sip_transport_free(st->tp);
	htab_free(&st->stx);
	htab_free(&st->accepted);
	htab_free(&st->ctx);
	sbuf_free(&st->scratch);
	free(st);
}

struct sip_transport *sip_stack_transport(struct sip_stack *st)
{
	return st->tp;
}

const struct sip_stack_stats *sip_stack_stats(const struct sip_stack *st)
{
	return &st->stats;
}

void sip_stack_set_proxy_handler(struct sip_stack *st, sip_proxy_h *h, void *arg)
{
	st->proxyh = h;
	st->proxy_arg = arg;
}

void sip_stack_set_tag_key(struct sip_stack *st, const struct hash_key *key)
{
	st->tag_key = *key;
}

const struct hash_key *sip_stack_tag_key(const struct sip_stack *st)
{
	return &st->tag_key;
}

void sip_stack_set_timers(struct sip_stack *st, uint32_t t1, uint32_t t2, uint32_t t4)
{
	st->t1 = t1 ? t1 : 1;
	st->t2 = t2 >= st->t1 ? t2 : st->t1;
	st->t4 = t4;
}

/* Unique across processes, restarts and replicas (util/rand), as RFC
 * 3261 §8.1.1.7 asks of a branch, and unpredictable to peers. */
void sip_stack_new_branch(struct sip_stack *st, char *buf, size_t size)
{
	snprintf(buf, size, SIP_MAGIC_COOKIE "%016" PRIx64, rand_u64());
}

/* The local address the kernel would use toward dst (for wildcard binds). */
static int local_toward(const struct sockaddr_storage *dst, struct sockaddr_storage *out)
{
	struct sockaddr_storage to = *dst;
	socklen_t len = sizeof(*out);
	int fd, err = 0;

	/* On any failure the caller reads AF_UNSPEC, never stack garbage. */
	memset(out, 0, sizeof(*out));
	if (to.ss_family == AF_INET && !((struct sockaddr_in *)&to)->sin_port)
		sip_sa_set_port(&to, 5060);
	if (to.ss_family == AF_INET6 && !((struct sockaddr_in6 *)&to)->sin6_port)
		sip_sa_set_port(&to, 5060);
	fd = socket(to.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&to, to.ss_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)) ||
	    getsockname(fd, (struct sockaddr *)out, &len))
		err = errno;
	close(fd);
	return err;
}

int sip_stack_local_addr(struct sip_stack *st, const struct sip_peer *dst,
			 char *ip, size_t size, uint16_t *port)
{
	int af = dst->addr.ss_family;
	struct sockaddr_storage src;
	struct sip_listener *l;
	uint16_t unused;
	int err;

	if (af != AF_INET && af != AF_INET6)
		return EAFNOSUPPORT;
	/* The address the peer sees: the flow's, or the listener's own. */
	l = sip_transport_source(st->tp, dst, &src);
	if (!l)
		return EAFNOSUPPORT;
	if (src.ss_family == AF_UNSPEC) {
		err = local_toward(&dst->addr, &src);
		if (err)
			return err;
	}
	sip_sa_ip_port((struct sockaddr *)&src, ip, size, &unused);
	if (!ip[0])
		return EINVAL;
	if (port)
		*port = sip_sa_port(sip_listener_addr(l));
	return 0;
}

int sip_stack_print_via(struct sip_stack *st, struct sbuf *sb,
			const struct sip_peer *dst, const char *branch)
{
	char ip[INET6_ADDRSTRLEN];
	uint16_t port;
	int err;

	err = sip_stack_local_addr(st, dst, ip, sizeof(ip), &port);
	if (err)
		return err;
	if (dst->addr.ss_family == AF_INET6)
		sbuf_printf(sb, "Via: SIP/2.0/%s [%s]:%u;branch=%s;rport\r\n",
			    sip_proto_upper(dst->proto), ip, port, branch);
	else
		sbuf_printf(sb, "Via: SIP/2.0/%s %s:%u;branch=%s;rport\r\n",
			    sip_proto_upper(dst->proto), ip, port, branch);
	return sbuf_err(sb) ? ENOMEM : 0;
}

int sip_stack_send_raw(struct sip_stack *st, const struct sip_peer *dst,
		       const char *buf, size_t len)
{
	int err;

	if (!st || !dst || !buf)
		return EINVAL;
	err = sip_transport_send(st->tp, dst, buf, len);
	if (err)
		return err;
	if (len >= 4 && !memcmp(buf, "SIP/", 4)) {
		st->stats.tx_responses++;
		stack_stats_class(st->stats.tx_by_class, raw_scode(buf, len));
	} else {
		st->stats.tx_requests++;
	}
	return 0;
}
