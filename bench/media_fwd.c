/*
 * media_fwd.c - the reference of the media benchmark: the least a UDP
 * relay can do.
 *
 * Two sockets per call on 127.0.0.1; whatever arrives on one is sent out
 * of the other, to the address the other one last heard from.  One
 * thread, one epoll set, recvmmsg() and sendmmsg() of up to 32 datagrams,
 * as kubevox's engine does, but no validation, no latching rules, no
 * counters, no timers, no modes: the cost of the system calls and little
 * else.  Writes the ports to MAPFILE like media_bench ("portA portB" per
 * call) and runs until SIGINT or SIGTERM, then prints how many datagrams
 * it forwarded.  Built by `make build` (bench/CMakeLists.txt), driven by
 * bench/media.sh; by hand:
 *
 *   build/bench/media_fwd -n 1000 -m /tmp/map
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#define BATCH 32
#define PKT_MAX 2048

struct fsock {
	int fd;
	uint16_t port;
	struct sockaddr_in peer;      /* family 0 until something arrives */
	struct fsock *pair;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: media_fwd -n calls -m mapfile\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	struct mmsghdr rx[BATCH], tx[BATCH];
	struct iovec rxiov[BATCH], txiov[BATCH];
	struct sockaddr_in src[BATCH];
	struct epoll_event evs[128];
	struct sigaction sa;
	struct rlimit rl;
	struct fsock *socks;
	unsigned calls = 0, i, n;
	const char *map = NULL;
	char tmp[4096];
	unsigned long long forwarded = 0;
	FILE *f;
	int c, epfd, ne, k, r;

	while ((c = getopt(argc, argv, "n:m:")) != -1) {
		switch (c) {
		case 'n': calls = (unsigned)atoi(optarg); break;
		case 'm': map = optarg; break;
		default: usage();
		}
	}
	if (!calls || !map)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	n = 2 * calls;
	socks = calloc(n, sizeof(*socks));
	epfd = epoll_create1(0);
	if (!socks || epfd < 0)
		return 2;
	for (i = 0; i < n; i++) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		struct epoll_event ev;

		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socks[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (socks[i].fd < 0 || bind(socks[i].fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(socks[i].fd, (struct sockaddr *)&sin, &sl) < 0) {
			fprintf(stderr, "media_fwd: socket %u: %s\n", i, strerror(errno));
			return 2;
		}
		socks[i].port = ntohs(sin.sin_port);
		socks[i].pair = &socks[i ^ 1];
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &socks[i];
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, socks[i].fd, &ev) < 0)
			return 2;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", map);
	f = fopen(tmp, "w");
	if (!f)
		return 2;
	for (i = 0; i < calls; i++)
		fprintf(f, "%u %u\n", socks[2 * i].port, socks[2 * i + 1].port);
	if (fclose(f) || rename(tmp, map))
		return 2;

	memset(rx, 0, sizeof(rx));
	memset(tx, 0, sizeof(tx));
	for (k = 0; k < BATCH; k++) {
		rxiov[k].iov_base = bufs[k];
		rxiov[k].iov_len = PKT_MAX;
		rx[k].msg_hdr.msg_iov = &rxiov[k];
		rx[k].msg_hdr.msg_iovlen = 1;
		rx[k].msg_hdr.msg_name = &src[k];
		rx[k].msg_hdr.msg_namelen = sizeof(src[k]);
		txiov[k].iov_base = bufs[k];
		tx[k].msg_hdr.msg_iov = &txiov[k];
		tx[k].msg_hdr.msg_iovlen = 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!stop) {
		ne = epoll_wait(epfd, evs, 128, -1);
		for (k = 0; k < ne; k++) {
			struct fsock *s = evs[k].data.ptr, *p = s->pair;
			int got = recvmmsg(s->fd, rx, BATCH, MSG_DONTWAIT, NULL), j;

			if (got <= 0)
				continue;
			s->peer = src[got - 1];
			for (j = 0; j < got; j++) {
				txiov[j].iov_len = rx[j].msg_len;
				rx[j].msg_hdr.msg_namelen = sizeof(src[j]);
				tx[j].msg_hdr.msg_name = &p->peer;
				tx[j].msg_hdr.msg_namelen = sizeof(p->peer);
			}
			if (!p->peer.sin_family)
				continue;
			r = sendmmsg(p->fd, tx, (unsigned)got, MSG_DONTWAIT);
			if (r > 0)
				forwarded += (unsigned long long)r;
		}
	}
	printf("forwarded=%llu\n", forwarded);
	return 0;
}
