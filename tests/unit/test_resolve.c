/*
 * test_resolve.c - RFC 3263 server location (src/sip/resolve.c) against
 * name servers on loopback that this test starts:
 *
 *  - dnsmasq (Debian's dnsmasq-base) on a free port, its records given on
 *    the command line (--host-record, --srv-host, --naptr-record,
 *    --cname): A/AAAA, CNAME, SRV order and weights, NAPTR -> SRV -> A,
 *    explicit port and transport, NXDOMAIN, an SRV target of ".", TTLs
 *    (dnsmasq is restarted on the same port with other data);
 *  - a server of our own on a UDP socket of the test's loop, for what
 *    dnsmasq will not say: nothing at all (timeouts), a CNAME loop (dnsmasq
 *    refuses one at start-up), an answer cut short, NXDOMAIN with an SOA.
 *
 * Waits are polls with a cap; no assertion depends on how long anything
 * took (the TTL checks wait at least a TTL, never at most).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sip/resolve.h"
#include "sip/sa.h"
#include "util/tmr.h"

#define WAIT_MS 8000             /* cap of every wait */

static uint64_t mono_ms(void)
{
	return uv_hrtime() / 1000000;
}

/* ---- dnsmasq ---- */

struct dnsmasq {
	pid_t pid;               /* the sh that holds it */
	int wfd;                 /* its lifeline: dnsmasq dies when this closes */
	uint16_t port;
	char dir[64];
};

static struct dnsmasq g_dm;

/* The records every test sees. */
static const char *const base_records[] = {
	"--host-record=a.test,192.0.2.1,2001:db8::1",
	"--cname=alias.test,a.test",
	/* SRV order: two of priority 10 (weights 60 and 40), one of 20. */
	"--srv-host=_sip._udp.srv.test,h1.test,5001,10,60",
	"--srv-host=_sip._udp.srv.test,h2.test,5002,10,40",
	"--srv-host=_sip._udp.srv.test,h3.test,5003,20,0",
	"--srv-host=_sip._tcp.srv.test,h4.test,5004,10,0",
	"--host-record=srv.test,192.0.2.20",
	"--host-record=h1.test,192.0.2.21",
	"--host-record=h2.test,192.0.2.22",
	"--host-record=h3.test,192.0.2.23",
	"--host-record=h4.test,192.0.2.24",
	/* NAPTR -> SRV -> A: TLS first (order 5), then TCP, then UDP. */
	"--naptr-record=naptr.test,5,50,s,SIPS+D2T,,_sips._tcp.p.test",
	"--naptr-record=naptr.test,10,50,s,SIP+D2T,,_sip._tcp.p.test",
	"--naptr-record=naptr.test,20,50,s,SIP+D2U,,_sip._udp.p.test",
	"--naptr-record=naptr.test,30,50,s,SIP+D2X,,_sip._x.p.test",
	"--srv-host=_sips._tcp.p.test,s1.test,5061,0,0",
	"--srv-host=_sip._tcp.p.test,t1.test,5070,0,0",
	"--srv-host=_sip._udp.p.test,u1.test,5080,0,0",
	/* What a client that skipped the NAPTR would find. */
	"--srv-host=_sip._udp.naptr.test,wrong.test,5999,0,0",
	"--host-record=wrong.test,192.0.2.99",
	"--host-record=s1.test,192.0.2.13",
	"--host-record=t1.test,192.0.2.11",
	"--host-record=u1.test,192.0.2.12",
	/* "." as the only SRV target: not available, no A fallback. */
	"--srv-host=_sip._udp.dead.test",
	"--host-record=dead.test,192.0.2.50",
	/* A NAPTR whose services this client does not speak: SRV next. */
	"--naptr-record=odd.test,10,50,s,SIP+D2X,,_sip._x.odd.test",
	"--srv-host=_sip._udp.odd.test,h1.test,5005,0,0",
	/* 40 addresses: more than 512 bytes, so the answer comes over TCP. */
	"--host-record=big.test,198.51.100.1", "--host-record=big.test,198.51.100.2",
	"--host-record=big.test,198.51.100.3", "--host-record=big.test,198.51.100.4",
	"--host-record=big.test,198.51.100.5", "--host-record=big.test,198.51.100.6",
	"--host-record=big.test,198.51.100.7", "--host-record=big.test,198.51.100.8",
	"--host-record=big.test,198.51.100.9", "--host-record=big.test,198.51.100.10",
	"--host-record=big.test,198.51.100.11", "--host-record=big.test,198.51.100.12",
	"--host-record=big.test,198.51.100.13", "--host-record=big.test,198.51.100.14",
	"--host-record=big.test,198.51.100.15", "--host-record=big.test,198.51.100.16",
	"--host-record=big.test,198.51.100.17", "--host-record=big.test,198.51.100.18",
	"--host-record=big.test,198.51.100.19", "--host-record=big.test,198.51.100.20",
	"--host-record=big.test,198.51.100.21", "--host-record=big.test,198.51.100.22",
	"--host-record=big.test,198.51.100.23", "--host-record=big.test,198.51.100.24",
	"--host-record=big.test,198.51.100.25", "--host-record=big.test,198.51.100.26",
	"--host-record=big.test,198.51.100.27", "--host-record=big.test,198.51.100.28",
	"--host-record=big.test,198.51.100.29", "--host-record=big.test,198.51.100.30",
	"--host-record=big.test,198.51.100.31", "--host-record=big.test,198.51.100.32",
	"--host-record=big.test,198.51.100.33", "--host-record=big.test,198.51.100.34",
	"--host-record=big.test,198.51.100.35", "--host-record=big.test,198.51.100.36",
	"--host-record=big.test,198.51.100.37", "--host-record=big.test,198.51.100.38",
	"--host-record=big.test,198.51.100.39", "--host-record=big.test,198.51.100.40",
	/* For the cache bound. */
	"--host-record=b0.test,192.0.2.100", "--host-record=b1.test,192.0.2.101",
	"--host-record=b2.test,192.0.2.102", "--host-record=b3.test,192.0.2.103",
	"--host-record=b4.test,192.0.2.104", "--host-record=b5.test,192.0.2.105",
	"--host-record=b6.test,192.0.2.106", "--host-record=b7.test,192.0.2.107",
};

/* A raw A query for name to 127.0.0.1:port: answered within wait_ms? */
static bool dns_answers(uint16_t port, const char *name, unsigned wait_ms)
{
	unsigned char pkt[512] = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	size_t n = 12;
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 0, .tv_usec = (long)wait_ms * 1000 };
	const char *p = name;
	bool ok;
	int fd;

	while (*p) {
		const char *dot = strchr(p, '.');
		size_t l = dot ? (size_t)(dot - p) : strlen(p);

		pkt[n++] = (unsigned char)l;
		memcpy(pkt + n, p, l);
		n += l;
		p += l + (dot ? 1 : 0);
	}
	pkt[n++] = 0;
	pkt[n++] = 0;
	pkt[n++] = 1;
	pkt[n++] = 0;
	pkt[n++] = 1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ok = sendto(fd, pkt, n, 0, (struct sockaddr *)&sin, sizeof(sin)) == (ssize_t)n &&
	     recv(fd, pkt, sizeof(pkt), 0) > 12;
	close(fd);
	return ok;
}

/* A port free for both UDP and TCP on 127.0.0.1 now (the kernel's choice). */
static uint16_t free_port(void)
{
	for (;;) {
		struct sockaddr_in sin = { .sin_family = AF_INET };
		socklen_t len = sizeof(sin);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);
		bool ok;

		assert_true(u >= 0 && t >= 0);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(u, (struct sockaddr *)&sin, sizeof(sin)), 0);
		assert_int_equal(getsockname(u, (struct sockaddr *)&sin, &len), 0);
		ok = bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0;
		close(u);
		close(t);
		if (ok)
			return ntohs(sin.sin_port);
	}
}

/*
 * dnsmasq changes its capabilities at start-up, which clears a parent-death
 * signal: it would outlive a test that crashes.  So a shell holds it: a
 * subshell reads a pipe whose only writer is this process and kills
 * dnsmasq when the pipe closes (dm_stop(), or this process dying); the
 * shell itself exits when dnsmasq does, after reaping it, so the port is
 * free again once waitpid() returns.
 */
static const char dm_script[] =
	"d=$(command -v dnsmasq || echo /usr/sbin/dnsmasq); "
	"\"$d\" \"$@\" & p=$!; "
	"(read x <&3; kill -9 $p 2>/dev/null) & "
	"wait $p";

/* Start dnsmasq on g_dm.port with the base records and extra ones. */
static void dm_start(const char *const *extra, size_t extra_n)
{
	uint64_t end = mono_ms() + WAIT_MS;
	size_t nb = sizeof(base_records) / sizeof(base_records[0]);
	const char *argv[160];
	char port[32], log[128];
	size_t n = 0;
	int pfd[2];
	pid_t pid;

	snprintf(port, sizeof(port), "--port=%u", g_dm.port);
	snprintf(log, sizeof(log), "--log-facility=%s/dnsmasq.log", g_dm.dir);
	argv[n++] = "sh";
	argv[n++] = "-c";
	argv[n++] = dm_script;
	argv[n++] = "sh";
	argv[n++] = "--keep-in-foreground";
	argv[n++] = "--conf-file=/dev/null";
	argv[n++] = "--no-resolv";
	argv[n++] = "--no-hosts";
	argv[n++] = "--pid-file=";
	argv[n++] = port;
	argv[n++] = "--listen-address=127.0.0.1";
	argv[n++] = "--bind-interfaces";
	/* Every name is ours: NXDOMAIN for what is not here (the search
	 * list tries names outside .test). */
	argv[n++] = "--local=/#/";
	/* dnsmasq's own records have a TTL of 0 (never cached) otherwise. */
	argv[n++] = "--local-ttl=3600";
	argv[n++] = log;
	if (geteuid() == 0)
		argv[n++] = "--user=root";
	for (size_t i = 0; i < nb; i++)
		argv[n++] = base_records[i];
	for (size_t i = 0; i < extra_n; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	assert_true(n < sizeof(argv) / sizeof(argv[0]));

	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		/* dup2() onto itself would keep close-on-exec. */
		if (pfd[0] == 3)
			fcntl(3, F_SETFD, 0);
		else
			dup2(pfd[0], 3);
		/* A user's PATH may lack /usr/sbin (dm_script looks there). */
		execvp("sh", (char *const *)argv);
		_exit(127);
	}
	close(pfd[0]);
	g_dm.wfd = pfd[1];
	g_dm.pid = pid;
	while (!dns_answers(g_dm.port, "a.test", 100)) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			g_dm.pid = 0;
			close(g_dm.wfd);
			fail_msg("dnsmasq exited (status %d): is dnsmasq-base installed?", status);
		}
		assert_true(mono_ms() < end);
	}
}

static void dm_stop(void)
{
	if (g_dm.pid > 0) {
		close(g_dm.wfd);
		waitpid(g_dm.pid, NULL, 0);
	}
	g_dm.pid = 0;
}

static int group_setup(void **state)
{
	snprintf(g_dm.dir, sizeof(g_dm.dir), "/tmp/kv_dns_XXXXXX");
	assert_non_null(mkdtemp(g_dm.dir));
	g_dm.port = free_port();
	dm_start(NULL, 0);
	return 0;
}

static int group_teardown(void **state)
{
	char path[128];

	dm_stop();
	snprintf(path, sizeof(path), "%s/dnsmasq.log", g_dm.dir);
	unlink(path);
	rmdir(g_dm.dir);
	return 0;
}

/* ---- a name server of our own ---- */

enum fake_mode { FAKE_SILENT, FAKE_CNAME_LOOP, FAKE_CUT, FAKE_NX_SOA };

struct fake {
	int fd;
	uint16_t port;
	uv_poll_t poll;
	enum fake_mode mode;
	unsigned queries;
};

static size_t put_name(unsigned char *b, const char *name)
{
	size_t n = 0;

	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);

		b[n++] = (unsigned char)l;
		memcpy(b + n, name, l);
		n += l;
		name += l + (dot ? 1 : 0);
	}
	b[n++] = 0;
	return n;
}

static size_t put16(unsigned char *b, unsigned v)
{
	b[0] = (unsigned char)(v >> 8);
	b[1] = (unsigned char)v;
	return 2;
}

static size_t put32(unsigned char *b, uint32_t v)
{
	put16(b, v >> 16);
	put16(b + 2, v & 0xffff);
	return 4;
}

static void fake_cb(uv_poll_t *h, int status, int events)
{
	struct fake *fk = h->data;
	unsigned char in[512], out[1024];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t len = recvfrom(fk->fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
	size_t qend = 12, n, rd;

	if (len < 17)
		return;
	fk->queries++;
	while (qend < (size_t)len && in[qend])
		qend += 1u + in[qend];
	qend += 5;                   /* the root label, type, class */
	if (qend > (size_t)len || fk->mode == FAKE_SILENT)
		return;
	memcpy(out, in, qend);       /* id, question */
	out[2] = 0x81;               /* response, RD */
	out[3] = 0x80;               /* RA, NOERROR */
	memset(out + 6, 0, 6);
	n = qend;
	switch (fk->mode) {
	case FAKE_CNAME_LOOP:
		/* NAME CNAME loop2.test; loop2.test CNAME NAME */
		put16(out + 6, 2);
		n += put16(out + n, 0xc00c);
		n += put16(out + n, 5);
		n += put16(out + n, 1);
		n += put32(out + n, 60);
		rd = n;
		n += 2;
		n += put_name(out + n, "loop2.test");
		put16(out + rd, (unsigned)(n - rd - 2));
		n += put_name(out + n, "loop2.test");
		n += put16(out + n, 5);
		n += put16(out + n, 1);
		n += put32(out + n, 60);
		n += put16(out + n, 2);
		n += put16(out + n, 0xc00c);
		break;
	case FAKE_CUT:
		/* One answer announced, half of it sent. */
		put16(out + 6, 1);
		n += put16(out + n, 0xc00c);
		n += put16(out + n, 1);
		break;
	case FAKE_NX_SOA:
		out[3] = 0x83;       /* NXDOMAIN */
		put16(out + 8, 1);
		n += put_name(out + n, "test");
		n += put16(out + n, 6);
		n += put16(out + n, 1);
		n += put32(out + n, 3600);
		rd = n;
		n += 2;
		n += put_name(out + n, "ns.test");
		n += put_name(out + n, "hostmaster.test");
		n += put32(out + n, 1);
		n += put32(out + n, 3600);
		n += put32(out + n, 600);
		n += put32(out + n, 86400);
		n += put32(out + n, 3600);  /* MINIMUM: the negative TTL */
		put16(out + rd, (unsigned)(n - rd - 2));
		break;
	default:
		return;
	}
	sendto(fk->fd, out, n, 0, (struct sockaddr *)&from, flen);
}

static void fake_start(struct fake *fk, uv_loop_t *loop, enum fake_mode mode)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);

	memset(fk, 0, sizeof(*fk));
	fk->mode = mode;
	fk->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	assert_true(fk->fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fk->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fk->fd, (struct sockaddr *)&sin, &len), 0);
	fk->port = ntohs(sin.sin_port);
	assert_int_equal(uv_poll_init(loop, &fk->poll, fk->fd), 0);
	fk->poll.data = fk;
	assert_int_equal(uv_poll_start(&fk->poll, UV_READABLE, fake_cb), 0);
}

static void fake_stop(struct fake *fk)
{
	uv_close((uv_handle_t *)&fk->poll, NULL);
}

/* ---- fixture ---- */

struct fx {
	uv_loop_t loop;
	struct tmrq q;
	struct sip_resolver *r;
	struct fake fake;
	bool fake_on;
};

struct res {
	bool done;
	int err;
	struct sip_targets *t;
};

static void res_h(int err, struct sip_targets *t, void *arg)
{
	struct res *rs = arg;

	assert_false(rs->done);
	rs->done = true;
	rs->err = err;
	rs->t = t;
	assert_true(err ? t == NULL : t != NULL);
}

static void tick_h(uv_timer_t *t)
{
}

/* Turns the loop until done(arg) or for ms, whichever comes first; a
 * ticking timer keeps uv_run() from sleeping past either (a timer that
 * fires before the poll does not end UV_RUN_ONCE's wait). */
static bool run_while(struct fx *f, bool (*done)(void *), void *arg, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	uv_timer_t t;
	bool ok;

	uv_timer_init(&f->loop, &t);
	uv_timer_start(&t, tick_h, 10, 10);
	while (!(ok = done && done(arg)) && mono_ms() < end)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	return ok;
}

static bool flag_set(void *arg)
{
	return *(const bool *)arg;
}

/* Turns the loop until *flag is set, at most WAIT_MS. */
static bool run_until(struct fx *f, const bool *flag)
{
	return run_while(f, flag_set, (void *)flag, WAIT_MS);
}

/* Turns the loop for ms, whatever happens. */
static void run_for(struct fx *f, unsigned ms)
{
	run_while(f, NULL, NULL, ms);
}

static bool idle(void *arg)
{
	struct sip_resolver_stats st;

	sip_resolver_stats(arg, &st);
	return st.inflight == 0;
}

static struct sip_resolver *resolver_on(struct fx *f, uint16_t port,
					const struct sip_resolver_opts *base)
{
	struct sip_resolver_opts o = {0};
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sip_resolver *r;

	if (base)
		o = *base;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
	o.servers = &ss;
	o.servers_n = 1;
	assert_int_equal(sip_resolver_alloc(&r, &f->loop, &f->q, &o), 0);
	return r;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	f->r = resolver_on(f, g_dm.port, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	sip_resolver_free(f->r);
	if (f->fake_on)
		fake_stop(&f->fake);
	tmrq_close(&f->q);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	if (f->fake_on)
		close(f->fake.fd);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static struct sip_rdest dest(const char *host, uint16_t port)
{
	struct sip_rdest d = { .host = { host, strlen(host) }, .port = port,
			       .af = AF_UNSPEC };

	return d;
}

/* Resolve d on r and wait for the answer: the error, *tp the targets. */
static int resolve_on(struct fx *f, struct sip_resolver *r, const struct sip_rdest *d,
		      struct sip_targets **tp)
{
	struct res rs = {0};

	assert_int_equal(sip_resolve(r, d, res_h, &rs, NULL), 0);
	assert_false(rs.done);       /* never inside sip_resolve() */
	assert_true(run_until(f, &rs.done));
	*tp = rs.t;
	return rs.err;
}

static int resolve(struct fx *f, const struct sip_rdest *d, struct sip_targets **tp)
{
	return resolve_on(f, f->r, d, tp);
}

/* Is target i proto, ip, port? */
static void assert_target(const struct sip_targets *t, size_t i, enum sip_rproto proto,
			  const char *ip, uint16_t port)
{
	const struct sip_target *x = sip_targets_at(t, i);
	char buf[64], want[64];

	assert_non_null(x);
	sip_sockaddr_str((const struct sockaddr *)&x->addr, buf, sizeof(buf));
	if (strchr(ip, ':'))
		snprintf(want, sizeof(want), "[%s]:%u", ip, port);
	else
		snprintf(want, sizeof(want), "%s:%u", ip, port);
	assert_string_equal(buf, want);
	assert_int_equal(x->proto, proto);
}

static const char *target_ip(const struct sip_targets *t, size_t i, char *buf, size_t size)
{
	uint16_t port;

	sip_sa_ip_port((const struct sockaddr *)&sip_targets_at(t, i)->addr, buf, size, &port);
	return buf;
}

/* ---- the tests ---- */

/* No NAPTR, no SRV: A and AAAA on 5060 over UDP, IPv4 first. */
static void test_a_aaaa(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("a.test", 0);
	struct sip_targets *t;

	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 2);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.1", 5060);
	assert_target(t, 1, SIP_RPROTO_UDP, "2001:db8::1", 5060);
	assert_string_equal(sip_targets_at(t, 0)->host, "a.test");
	sip_targets_free(t);

	/* One family only, and a name written in capitals with a final dot. */
	d = dest("A.Test.", 0);
	d.af = AF_INET6;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "2001:db8::1", 5060);
	sip_targets_free(t);

	/* sips: TLS on 5061. */
	d = dest("a.test", 0);
	d.sips = d.tls_ok = true;
	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TLS, "192.0.2.1", 5061);
	sip_targets_free(t);
}

/* A truncated UDP answer is asked again over TCP (c-ares' own socket,
 * watched for writing while it connects); 8 addresses are taken. */
static void test_tcp_fallback(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("big.test", 5060);
	struct sip_targets *t;

	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 8);
	for (size_t i = 0; i < 8; i++) {
		char ip[64];

		assert_int_equal(strncmp(target_ip(t, i, ip, sizeof(ip)), "198.51.100.", 11), 0);
	}
	sip_targets_free(t);
}

static void test_cname(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("alias.test", 5070);
	struct sip_targets *t;

	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.1", 5070);
	sip_targets_free(t);
}

/* Priority first; both of one priority; the weights decide who leads. */
static void test_srv_order(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("srv.test", 0);
	unsigned first21 = 0, first22 = 0;
	struct sip_targets *t;
	char ip[64], ip2[64];

	d.af = AF_INET;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(resolve(f, &d, &t), 0);
		/* UDP by priority, then TCP (no NAPTR: UDP before TCP). */
		assert_int_equal(sip_targets_count(t), 4);
		target_ip(t, 0, ip, sizeof(ip));
		target_ip(t, 1, ip2, sizeof(ip2));
		if (!strcmp(ip, "192.0.2.21")) {
			first21++;
			assert_target(t, 1, SIP_RPROTO_UDP, "192.0.2.22", 5002);
		} else {
			first22++;
			assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.22", 5002);
			assert_target(t, 1, SIP_RPROTO_UDP, "192.0.2.21", 5001);
		}
		assert_target(t, 2, SIP_RPROTO_UDP, "192.0.2.23", 5003);
		assert_target(t, 3, SIP_RPROTO_TCP, "192.0.2.24", 5004);
		assert_string_equal(sip_targets_at(t, 3)->host, "h4.test");
		sip_targets_free(t);
	}
	/* Weights 60 and 40: each leads sometimes (both missing from 64
	 * draws has a probability under 1e-14). */
	assert_true(first21 > 0);
	assert_true(first22 > 0);
}

/* next() walks the list once, in order. */
static void test_next(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("srv.test", 0);
	struct sip_targets *t;
	const struct sip_target *x;
	size_t n = 0;

	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	while ((x = sip_targets_next(t))) {
		assert_ptr_equal(x, sip_targets_at(t, n));
		n++;
	}
	assert_int_equal(n, 4);
	assert_null(sip_targets_next(t));
	sip_targets_free(t);
}

static void test_explicit_port_and_transport(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("srv.test", 5099);
	struct sip_targets *t;

	/* A port: the host's own address, no SRV. */
	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.20", 5099);
	sip_targets_free(t);

	/* A port and a transport. */
	d.has_proto = true;
	d.proto = SIP_RPROTO_TCP;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TCP, "192.0.2.20", 5099);
	sip_targets_free(t);

	/* A transport without port: that transport's SRV only. */
	d.port = 0;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TCP, "192.0.2.24", 5004);
	sip_targets_free(t);

	/* A transport without SRV: A on the default port. */
	d = dest("a.test", 0);
	d.af = AF_INET;
	d.has_proto = true;
	d.proto = SIP_RPROTO_TCP;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TCP, "192.0.2.1", 5060);
	sip_targets_free(t);
}

static void test_naptr(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("naptr.test", 0);
	struct sip_targets *t;

	/* Without TLS: SIP+D2T (order 10) before SIP+D2U (20). */
	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 2);
	assert_target(t, 0, SIP_RPROTO_TCP, "192.0.2.11", 5070);
	assert_target(t, 1, SIP_RPROTO_UDP, "192.0.2.12", 5080);
	assert_string_equal(sip_targets_at(t, 0)->host, "t1.test");
	sip_targets_free(t);

	/* With TLS: SIPS+D2T leads. */
	d.tls_ok = true;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 3);
	assert_target(t, 0, SIP_RPROTO_TLS, "192.0.2.13", 5061);
	assert_target(t, 1, SIP_RPROTO_TCP, "192.0.2.11", 5070);
	assert_target(t, 2, SIP_RPROTO_UDP, "192.0.2.12", 5080);
	sip_targets_free(t);

	/* sips: only SIPS+D2T. */
	d.sips = true;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TLS, "192.0.2.13", 5061);
	sip_targets_free(t);

	/* NAPTR of services we do not speak: the SRV of our own. */
	d = dest("odd.test", 0);
	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.21", 5005);
	sip_targets_free(t);
}

static void test_numeric(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_stats before, after;
	struct sip_rdest d = dest("192.0.2.77", 0);
	struct sip_targets *t;

	sip_resolver_stats(f->r, &before);
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.77", 5060);
	sip_targets_free(t);

	d = dest("[2001:db8::7]", 5070);
	d.has_proto = true;
	d.proto = SIP_RPROTO_TCP;
	assert_int_equal(resolve(f, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_TCP, "2001:db8::7", 5070);
	sip_targets_free(t);
	sip_resolver_stats(f->r, &after);
	assert_int_equal(after.queries, before.queries);
}

static void test_bad_input(void **state)
{
	struct fx *f = *state;
	struct res rs = {0};
	static const char *const bad[] = { "", "a..test", "a b.test", "[x]", ".test",
		"a.test\"", "%00.test" };
	struct sip_rdest d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		d = dest(bad[i], 0);
		assert_int_equal(sip_resolve(f->r, &d, res_h, &rs, NULL), EINVAL);
	}
	/* sips: without TLS */
	d = dest("a.test", 0);
	d.sips = true;
	assert_int_equal(sip_resolve(f->r, &d, res_h, &rs, NULL), EINVAL);
	run_for(f, 20);
	assert_false(rs.done);
}

static void test_nxdomain(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("nope.test", 0);
	struct sip_targets *t;

	assert_int_equal(resolve(f, &d, &t), ENOENT);
	d.port = 5060;
	assert_int_equal(resolve(f, &d, &t), ENOENT);
}

/* An SRV target of ".": not available, and no fall-back to A. */
static void test_srv_dot(void **state)
{
	struct fx *f = *state;
	struct sip_rdest d = dest("dead.test", 0);
	struct sip_targets *t;

	d.af = AF_INET;
	assert_int_equal(resolve(f, &d, &t), ENOENT);
}

/* A server that never answers: ETIMEDOUT, within c-ares' tries. */
static void test_timeout(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .timeout_ms = 100, .tries = 2 };
	struct sip_rdest d = dest("a.test", 0);
	struct sip_resolver_stats st;
	struct sip_resolver *r;
	struct sip_targets *t;

	fake_start(&f->fake, &f->loop, FAKE_SILENT);
	f->fake_on = true;
	r = resolver_on(f, f->fake.port, &o);
	/* NAPTR times out: the query ends there. */
	assert_int_equal(resolve_on(f, r, &d, &t), ETIMEDOUT);
	d.port = 5060;
	assert_int_equal(resolve_on(f, r, &d, &t), ETIMEDOUT);
	sip_resolver_stats(r, &st);
	assert_int_equal(st.timeouts, st.queries);
	assert_true(st.timeouts >= 2);
	assert_true(f->fake.queries >= 2);
	sip_resolver_free(r);
}

/* Cancelled before the answer: the callback never runs, the answer still
 * comes (and is cached), nothing freed is touched (ASan). */
static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .timeout_ms = 50, .tries = 1 };
	struct sip_rdest d = dest("b0.test", 5060);
	struct sip_resolver_stats st;
	struct sip_rquery *q;
	struct sip_resolver *r;
	struct res rs = {0};

	d.af = AF_INET;
	assert_int_equal(sip_resolve(f->r, &d, res_h, &rs, &q), 0);
	assert_non_null(q);
	sip_resolve_cancel(q);
	sip_resolver_stats(f->r, &st);
	assert_int_equal(st.inflight, 1);
	assert_true(run_while(f, idle, f->r, WAIT_MS));
	sip_resolver_stats(f->r, &st);
	assert_int_equal(st.answers, 1);
	assert_int_equal(st.cached, 1);
	run_for(f, 20);
	assert_false(rs.done);

	/* The same on a server that never answers: c-ares gives up later. */
	fake_start(&f->fake, &f->loop, FAKE_SILENT);
	f->fake_on = true;
	r = resolver_on(f, f->fake.port, &o);
	assert_int_equal(sip_resolve(r, &d, res_h, &rs, &q), 0);
	sip_resolve_cancel(q);
	assert_true(run_while(f, idle, r, WAIT_MS));
	sip_resolver_stats(r, &st);
	assert_int_equal(st.timeouts, 1);
	assert_false(rs.done);

	/* A numeric answer waiting for the loop, cancelled. */
	d = dest("192.0.2.1", 0);
	assert_int_equal(sip_resolve(r, &d, res_h, &rs, &q), 0);
	sip_resolve_cancel(q);
	run_for(f, 20);
	assert_false(rs.done);

	/* The resolver freed with a query in flight. */
	d = dest("b1.test", 5060);
	assert_int_equal(sip_resolve(r, &d, res_h, &rs, &q), 0);
	sip_resolver_free(r);
	run_for(f, 150);
	assert_false(rs.done);
}

/* Answers are cached for their TTL; a short TTL is asked again. */
static void test_ttl(void **state)
{
	struct fx *f = *state;
	static const char *const gen1[] = {
		"--host-record=keep.test,192.0.2.40,3600",
		"--host-record=short.test,192.0.2.41,1",
	};
	static const char *const gen2[] = {
		"--host-record=keep.test,192.0.2.60,3600",
		"--host-record=short.test,192.0.2.61,1",
		"--host-record=neg.test,192.0.2.62",
	};
	struct sip_resolver_opts shortneg = { .neg_ttl = 1 }, capped = { .ttl_max = 1 };
	struct sip_resolver *r2 = resolver_on(f, g_dm.port, &shortneg);
	struct sip_resolver *r3 = resolver_on(f, g_dm.port, &capped);
	struct sip_rdest keep = dest("keep.test", 5060), shrt = dest("short.test", 5060),
			 neg = dest("neg.test", 5060);
	struct sip_resolver_stats st;
	struct sip_targets *t;
	uint64_t end;
	int err;

	keep.af = shrt.af = neg.af = AF_INET;
	dm_stop();
	dm_start(gen1, 2);
	assert_int_equal(resolve(f, &keep, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.40", 5060);
	sip_targets_free(t);
	assert_int_equal(resolve_on(f, r3, &keep, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.40", 5060);
	sip_targets_free(t);
	assert_int_equal(resolve(f, &shrt, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.41", 5060);
	sip_targets_free(t);
	assert_int_equal(resolve(f, &neg, &t), ENOENT);
	assert_int_equal(resolve_on(f, r2, &neg, &t), ENOENT);

	dm_stop();
	dm_start(gen2, 3);
	/* Within 3600 s: the old address, from the cache. */
	sip_resolver_stats(f->r, &st);
	assert_int_equal(resolve(f, &keep, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.40", 5060);
	sip_targets_free(t);
	/* Negative answers too (30 s without SOA). */
	assert_int_equal(resolve(f, &neg, &t), ENOENT);
	/* After 1 s: asked again, the new address. */
	for (end = mono_ms() + WAIT_MS;;) {
		char ip[64];

		assert_int_equal(resolve(f, &shrt, &t), 0);
		target_ip(t, 0, ip, sizeof(ip));
		sip_targets_free(t);
		if (!strcmp(ip, "192.0.2.61"))
			break;
		assert_string_equal(ip, "192.0.2.41");
		assert_true(mono_ms() < end);
		run_for(f, 100);
	}
	/* A negative TTL of 1 s: asked again, found. */
	for (end = mono_ms() + WAIT_MS; (err = resolve_on(f, r2, &neg, &t)) == ENOENT;) {
		assert_true(mono_ms() < end);
		run_for(f, 100);
	}
	assert_int_equal(err, 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.62", 5060);
	sip_targets_free(t);
	/* ttl_max of 1 s: a TTL of 3600 is kept 1 s only. */
	for (end = mono_ms() + WAIT_MS;;) {
		char ip[64];

		assert_int_equal(resolve_on(f, r3, &keep, &t), 0);
		target_ip(t, 0, ip, sizeof(ip));
		sip_targets_free(t);
		if (!strcmp(ip, "192.0.2.60"))
			break;
		assert_string_equal(ip, "192.0.2.40");
		assert_true(mono_ms() < end);
		run_for(f, 100);
	}
	sip_resolver_free(r2);
	sip_resolver_free(r3);

	dm_stop();
	dm_start(NULL, 0);
}

/* NXDOMAIN with an SOA: kept for the SOA's negative TTL, not neg_ttl. */
static void test_negative_soa(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .neg_ttl = 1 };
	struct sip_rdest d = dest("gone.test", 5060);
	struct sip_resolver *r;
	struct sip_targets *t;
	unsigned asked;

	d.af = AF_INET;
	fake_start(&f->fake, &f->loop, FAKE_NX_SOA);
	f->fake_on = true;
	r = resolver_on(f, f->fake.port, &o);
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	asked = f->fake.queries;
	assert_int_equal(asked, 1);
	/* Longer than neg_ttl: still from the cache. */
	run_for(f, 1100);
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	assert_int_equal(f->fake.queries, asked);
	sip_resolver_free(r);

	/* neg_ttl_max bounds the SOA's 3600 s. */
	o.neg_ttl_max = 1;
	r = resolver_on(f, f->fake.port, &o);
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	assert_int_equal(f->fake.queries, asked + 1);
	run_for(f, 1100);
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	assert_int_equal(f->fake.queries, asked + 2);
	sip_resolver_free(r);
}

/* The cache holds cache_max answers and drops the least recently used. */
static void test_cache_bound(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .cache_max = 4 };
	struct sip_resolver *r = resolver_on(f, g_dm.port, &o);
	struct sip_resolver_stats st;
	struct sip_targets *t;
	uint64_t q;

	for (int i = 0; i < 8; i++) {
		char name[16];
		struct sip_rdest d;

		snprintf(name, sizeof(name), "b%d.test", i);
		d = dest(name, 5060);
		d.af = AF_INET;
		assert_int_equal(resolve_on(f, r, &d, &t), 0);
		sip_targets_free(t);
		sip_resolver_stats(r, &st);
		assert_true(st.cached <= 4);
	}
	assert_int_equal(st.cached, 4);
	assert_int_equal(st.evictions, 4);
	q = st.queries;
	{
		/* b7 is cached, b0 was dropped. */
		struct sip_rdest d = dest("b7.test", 5060);

		d.af = AF_INET;
		assert_int_equal(resolve_on(f, r, &d, &t), 0);
		sip_targets_free(t);
		sip_resolver_stats(r, &st);
		assert_int_equal(st.queries, q);
		d = dest("b0.test", 5060);
		d.af = AF_INET;
		assert_int_equal(resolve_on(f, r, &d, &t), 0);
		assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.100", 5060);
		sip_targets_free(t);
		sip_resolver_stats(r, &st);
		assert_int_equal(st.queries, q + 1);
	}
	sip_resolver_free(r);
}

static void resolve_a(struct fx *f, struct sip_resolver *r, const char *name)
{
	struct sip_rdest d = dest(name, 5060);
	struct sip_targets *t;

	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	sip_targets_free(t);
}

/* ... and at most cache_bytes of them. */
static void test_cache_bytes(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = {0};
	struct sip_resolver_stats st;
	struct sip_resolver *r;
	size_t one;

	/* The size of one answer, as dnsmasq writes it. */
	resolve_a(f, f->r, "b0.test");
	sip_resolver_stats(f->r, &st);
	assert_int_equal(st.cached, 1);
	one = st.cached_bytes;
	assert_true(one > 12);

	o.cache_bytes = 8 * one + one / 2;
	r = resolver_on(f, g_dm.port, &o);
	for (int i = 0; i < 8; i++) {
		char name[16];

		snprintf(name, sizeof(name), "b%d.test", i);
		resolve_a(f, r, name);
	}
	sip_resolver_stats(r, &st);
	assert_int_equal(st.cached, 8);
	assert_int_equal(st.cached_bytes, 8 * one);
	assert_int_equal(st.evictions, 0);
	/* One more does not fit: the oldest goes. */
	resolve_a(f, r, "a.test");
	sip_resolver_stats(r, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.cached, 8);
	assert_true(st.cached_bytes <= o.cache_bytes);
	sip_resolver_free(r);

	/* An answer larger than an eighth of the bound is not kept. */
	o.cache_bytes = 8 * one - 8;
	r = resolver_on(f, g_dm.port, &o);
	resolve_a(f, r, "b1.test");
	sip_resolver_stats(r, &st);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.cached_bytes, 0);
	sip_resolver_free(r);
}

/* Bad answers: an error, not a crash. */
static void test_bad_answers(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .timeout_ms = 200, .tries = 1 };
	struct sip_rdest d = dest("loop.test", 5060);
	struct sip_resolver *r;
	struct sip_targets *t;
	int err;

	d.af = AF_INET;
	fake_start(&f->fake, &f->loop, FAKE_CNAME_LOOP);
	f->fake_on = true;
	r = resolver_on(f, f->fake.port, &o);
	err = resolve_on(f, r, &d, &t);
	assert_true(err == ENOENT || err == EBADMSG);
	/* The whole RFC 3263 path through the same loop. */
	d.port = 0;
	err = resolve_on(f, r, &d, &t);
	assert_true(err == ENOENT || err == EBADMSG);

	f->fake.mode = FAKE_CUT;
	sip_resolver_flush(r);
	d.port = 5060;
	assert_int_equal(resolve_on(f, r, &d, &t), EBADMSG);
	sip_resolver_free(r);
}

/* A one-label host goes through the search list, and so do the SRV and
 * NAPTR names made from it; what DNS names (SRV targets) does not. */
static void test_search(void **state)
{
	struct fx *f = *state;
	static const char *const domains[] = { "nowhere.invalid", "test" };
	struct sip_resolver_opts o = { .search = domains, .search_n = 2 };
	struct sip_resolver *r = resolver_on(f, g_dm.port, &o);
	struct sip_rdest d = dest("a", 5060);
	struct sip_resolver_stats st;
	struct sip_targets *t;
	uint64_t q;

	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 1);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.1", 5060);
	sip_targets_free(t);

	/* _sip._udp.srv -> _sip._udp.srv.test */
	d = dest("srv", 0);
	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 4);
	assert_target(t, 2, SIP_RPROTO_UDP, "192.0.2.23", 5003);
	assert_target(t, 3, SIP_RPROTO_TCP, "192.0.2.24", 5004);
	sip_targets_free(t);

	/* naptr -> naptr.test's NAPTR -> _sip._tcp.p.test, as written */
	d = dest("naptr", 0);
	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	assert_int_equal(sip_targets_count(t), 2);
	assert_target(t, 0, SIP_RPROTO_TCP, "192.0.2.11", 5070);
	assert_target(t, 1, SIP_RPROTO_UDP, "192.0.2.12", 5080);
	sip_targets_free(t);

	/* Not found anywhere; then from the cache (no message to read an
	 * SOA from: neg_ttl). */
	d = dest("nope", 5060);
	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	sip_resolver_stats(r, &st);
	q = st.queries;
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	sip_resolver_stats(r, &st);
	assert_int_equal(st.queries, q);

	/* A final dot: absolute, no search. */
	d = dest("a.", 5060);
	d.af = AF_INET;
	assert_int_equal(resolve_on(f, r, &d, &t), ENOENT);
	sip_resolver_free(r);
}

/* The name servers can be replaced (a reload). */
static void test_set_servers(void **state)
{
	struct fx *f = *state;
	struct sip_resolver_opts o = { .timeout_ms = 100, .tries = 1 };
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sip_rdest d = dest("a.test", 5060);
	struct sip_resolver *r;
	struct sip_targets *t;

	d.af = AF_INET;
	fake_start(&f->fake, &f->loop, FAKE_SILENT);
	f->fake_on = true;
	r = resolver_on(f, f->fake.port, &o);
	assert_int_equal(resolve_on(f, r, &d, &t), ETIMEDOUT);
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(g_dm.port);
	assert_int_equal(sip_resolver_set_servers(r, &ss, 1), 0);
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.1", 5060);
	sip_targets_free(t);
	ss.ss_family = AF_UNIX;
	assert_int_equal(sip_resolver_set_servers(r, &ss, 1), EINVAL);
	/* Back to resolv.conf's. */
	assert_int_equal(sip_resolver_set_servers(r, NULL, 0), 0);
	sip_resolver_free(r);

	/* Every default, resolv.conf's servers: a numeric host needs none. */
	assert_int_equal(sip_resolver_alloc(&r, &f->loop, &f->q, NULL), 0);
	d = dest("192.0.2.5", 0);
	assert_int_equal(resolve_on(f, r, &d, &t), 0);
	assert_target(t, 0, SIP_RPROTO_UDP, "192.0.2.5", 5060);
	sip_targets_free(t);
	sip_resolver_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_a_aaaa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_port_and_transport, setup, teardown),
		cmocka_unit_test_setup_teardown(test_naptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numeric, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nxdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_soa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_servers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
