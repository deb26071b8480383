/*
 * kv_regclient.c - minimal SIP REGISTER client for protocol tests.
 *
 * Registers one contact with digest authentication (MD5 or SHA-256,
 * qop=auth) over UDP or TCP, prints the final status code, and can replay
 * its credentials to check that the registrar rejects a reused nonce-count.
 * It shares no parsing or hashing code with the daemon on purpose: it is
 * meant to check that code, not to agree with it.
 *
 * Exit: 0 on 2xx, 1 on another final response, 2 on timeout or error,
 * 3 when the requested algorithm is not offered.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#define MSG_MAX		65535
#define CHAL_MAX	8
#define EXIT_FINAL	1
#define EXIT_ERROR	2
#define EXIT_NOALG	3

struct opts {
	char server[256];	/* host:port as given, used in URIs */
	char host[256];
	char port[16];
	bool tcp;
	const char *user, *password, *realm, *alg;
	unsigned expires, contact_port, timeout_ms;
	bool nc_replay, print_chal, verbose;
};

struct chal {
	char realm[256], nonce[256], opaque[256], alg[256], qop[256];
};

struct resp {
	int code;
	unsigned long cseq;
	struct chal chals[CHAL_MAX];
	size_t chals_n;
	const char *lines[CHAL_MAX];	/* raw WWW-Authenticate lines */
	size_t lines_n;
};

struct conn {
	int fd;
	bool tcp;
	char lhost[64];
	unsigned lport;
	char rbuf[MSG_MAX + 1];
	size_t rlen;
};

static bool verbose;

static void logv(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rand_hex(char *out, size_t bytes)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[32];

	if (bytes > sizeof(b) || RAND_bytes(b, (int)bytes) != 1)
		abort();
	for (size_t i = 0; i < bytes; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 0x0f];
	}
	out[2 * bytes] = '\0';
}

/* H(printf(fmt, ...)) as lowercase hex; sha selects SHA-256 over MD5. */
static void hash_hex(bool sha, char *out, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void hash_hex(bool sha, char *out, const char *fmt, ...)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char in[2048];
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(in, sizeof(in), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(in) ||
	    !EVP_Digest(in, (size_t)len, md, &n, sha ? EVP_sha256() : EVP_md5(),
			NULL))
		abort();
	for (unsigned int i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* --- transport --------------------------------------------------------- */

static int conn_open(struct conn *c, const struct opts *o)
{
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[16];
	int err;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = o->tcp ? SOCK_STREAM : SOCK_DGRAM;
	err = getaddrinfo(o->host, o->port, &hints, &ai);
	if (err) {
		fprintf(stderr, "kv_regclient: %s: %s\n", o->host,
			gai_strerror(err));
		return -1;
	}
	c->tcp = o->tcp;
	c->rlen = 0;
	c->fd = socket(ai->ai_family, ai->ai_socktype, 0);
	err = c->fd < 0;
	if (err)
		goto out;
	/* Over UDP the contact port is where the registrar would reach us. */
	if (!o->tcp && o->contact_port) {
		struct addrinfo *bi = NULL;

		hints.ai_family = ai->ai_family;
		hints.ai_flags = AI_PASSIVE;
		snprintf(port, sizeof(port), "%u", o->contact_port);
		err = getaddrinfo(NULL, port, &hints, &bi) ||
		      bind(c->fd, bi->ai_addr, bi->ai_addrlen) < 0;
		if (bi)
			freeaddrinfo(bi);
		if (err)
			goto out;
	}
	err = connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	      getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0 ||
	      getnameinfo((struct sockaddr *)&ss, sl, c->lhost,
			  sizeof(c->lhost), port, sizeof(port),
			  NI_NUMERICHOST | NI_NUMERICSERV) != 0;
	if (err)
		goto out;
	c->lport = (unsigned)atoi(port);
out:
	if (err)
		fprintf(stderr, "kv_regclient: %s:%s: %s\n", o->host, o->port,
			strerror(errno));
	freeaddrinfo(ai);
	return err ? -1 : 0;
}

static int conn_send(struct conn *c, const char *buf, size_t len)
{
	logv(">>> sent\n%.*s", (int)len, buf);
	while (len) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Length of the first complete message in a TCP stream buffer, or 0. */
static size_t stream_frame(const char *p, size_t len)
{
	const char *end = memmem(p, len, "\r\n\r\n", 4);
	const char *l = p;
	unsigned long clen = 0;

	if (!end)
		return 0;
	while (l < end) {
		const char *eol = memmem(l, (size_t)(end + 2 - l), "\r\n", 2);
		if (!strncasecmp(l, "Content-Length:", 15))
			clen = strtoul(l + 15, NULL, 10);
		else if (!strncasecmp(l, "l:", 2))
			clen = strtoul(l + 2, NULL, 10);
		l = eol + 2;
	}
	/* Never completes: the caller fails once the buffer is full. */
	if (clen > MSG_MAX)
		return 0;
	if ((size_t)(end + 4 - p) + clen > len)
		return 0;
	return (size_t)(end + 4 - p) + clen;
}

/* One message into out (NUL-terminated).  0 ok, 1 timeout, -1 error. */
static int conn_recv(struct conn *c, uint64_t deadline, char *out, size_t *outlen)
{
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		uint64_t now = now_ms();
		size_t n;
		ssize_t r;

		if (c->tcp) {
			/* Skip keep-alive CRLFs between messages. */
			while (c->rlen && (c->rbuf[0] == '\r' || c->rbuf[0] == '\n'))
				memmove(c->rbuf, c->rbuf + 1, --c->rlen);
			n = stream_frame(c->rbuf, c->rlen);
			if (n) {
				memcpy(out, c->rbuf, n);
				out[n] = '\0';
				*outlen = n;
				memmove(c->rbuf, c->rbuf + n, c->rlen - n);
				c->rlen -= n;
				return 0;
			}
			if (c->rlen == MSG_MAX)
				return -1;
		}
		if (now >= deadline)
			return 1;
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0)
			continue;
		if (!c->tcp) {
			r = recv(c->fd, out, MSG_MAX, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				return -1;
			out[r] = '\0';
			*outlen = (size_t)r;
			return 0;
		}
		r = recv(c->fd, c->rbuf + c->rlen, MSG_MAX - c->rlen, 0);
		if (r <= 0)
			return -1;	/* closed by the server, or failed */
		c->rlen += (size_t)r;
	}
}

/* --- response scanning ------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* qop-options is a quoted list like "auth,auth-int". */
static bool qop_has_auth(const char *qop)
{
	char buf[256], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", qop);
	for (tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (!strcasecmp(tok, "auth"))
			return true;
	}
	return false;
}

/* Digest challenge parameters; unknown ones are skipped. */
static int chal_parse(const char *v, struct chal *ch)
{
	memset(ch, 0, sizeof(*ch));
	v = skip_ws(v);
	if (strncasecmp(v, "Digest", 6) || (v[6] != ' ' && v[6] != '\t'))
		return -1;
	v += 6;
	while (*(v = skip_ws(v))) {
		char name[32], val[256];
		size_t n = 0, k = 0;

		while (*v && *v != '=' && *v != ' ' && *v != '\t' &&
		       n + 1 < sizeof(name))
			name[n++] = *v++;
		name[n] = '\0';
		v = skip_ws(v);
		if (*v++ != '=')
			return -1;
		v = skip_ws(v);
		if (*v == '"') {
			for (v++; *v && *v != '"'; v++) {
				if (*v == '\\' && v[1])
					v++;
				if (k + 1 >= sizeof(val))
					return -1;
				val[k++] = *v;
			}
			if (*v++ != '"')
				return -1;
		} else {
			while (*v && *v != ',' && *v != ' ' && *v != '\t') {
				if (k + 1 >= sizeof(val))
					return -1;
				val[k++] = *v++;
			}
		}
		val[k] = '\0';
		if (!strcasecmp(name, "realm"))
			snprintf(ch->realm, sizeof(ch->realm), "%s", val);
		else if (!strcasecmp(name, "nonce"))
			snprintf(ch->nonce, sizeof(ch->nonce), "%s", val);
		else if (!strcasecmp(name, "opaque"))
			snprintf(ch->opaque, sizeof(ch->opaque), "%s", val);
		else if (!strcasecmp(name, "algorithm"))
			snprintf(ch->alg, sizeof(ch->alg), "%s", val);
		else if (!strcasecmp(name, "qop"))
			snprintf(ch->qop, sizeof(ch->qop), "%s", val);
		v = skip_ws(v);
		if (*v == ',')
			v++;
		else if (*v)
			return -1;
	}
	return ch->nonce[0] ? 0 : -1;
}

/* Status, CSeq and challenges of a response; -1 if it is not one. */
static int resp_parse(char *msg, struct resp *r)
{
	char *end = strstr(msg, "\r\n\r\n"), *line, *next;

	memset(r, 0, sizeof(*r));
	if (!end || strncmp(msg, "SIP/2.0 ", 8))
		return -1;
	r->code = atoi(msg + 8);
	if (r->code < 100 || r->code > 699)
		return -1;
	end[2] = '\0';
	/* Unfold continuation lines in place so every header is one line. */
	for (char *p = msg; (p = strstr(p, "\r\n")); p += 2) {
		if (p[2] == ' ' || p[2] == '\t')
			p[0] = p[1] = ' ';
	}
	for (line = strstr(msg, "\r\n") + 2; *line; line = next + 2) {
		char *colon, *val;

		next = strstr(line, "\r\n");
		*next = '\0';
		colon = strchr(line, ':');
		if (!colon)
			continue;
		val = (char *)skip_ws(colon + 1);
		if (!strncasecmp(line, "CSeq", 4) &&
		    (line + 4 == colon || line[4] == ' ')) {
			r->cseq = strtoul(val, NULL, 10);
		} else if (!strncasecmp(line, "WWW-Authenticate", 16) &&
			   (line + 16 == colon || line[16] == ' ')) {
			if (r->lines_n < CHAL_MAX)
				r->lines[r->lines_n++] = line;
			if (r->chals_n < CHAL_MAX &&
			    !chal_parse(val, &r->chals[r->chals_n]))
				r->chals_n++;
		}
	}
	return 0;
}

/* --- requests ---------------------------------------------------------- */

static size_t register_print(char *buf, size_t size, const struct opts *o,
			     const struct conn *c, const char *callid,
			     const char *tag, unsigned long cseq,
			     const char *authz)
{
	char branch[17];
	int n;

	rand_hex(branch, 8);
	n = snprintf(buf, size,
		     "REGISTER sip:%s SIP/2.0\r\n"
		     "Via: SIP/2.0/%s %s:%u;rport;branch=z9hG4bK%s\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:%s@%s>;tag=%s\r\n"
		     "To: <sip:%s@%s>\r\n"
		     "Call-ID: %s\r\n"
		     "CSeq: %lu REGISTER\r\n"
		     "Contact: <sip:%s@127.0.0.1:%u%s>\r\n"
		     "Expires: %u\r\n"
		     "User-Agent: kv_regclient\r\n"
		     "%s%s%s"
		     "Content-Length: 0\r\n\r\n",
		     o->server, o->tcp ? "TCP" : "UDP", c->lhost, c->lport,
		     branch, o->user, o->server, tag, o->user, o->server,
		     callid, cseq, o->user,
		     o->contact_port ? o->contact_port : c->lport,
		     o->tcp ? ";transport=tcp" : "", o->expires,
		     authz ? "Authorization: " : "", authz ? authz : "",
		     authz ? "\r\n" : "");
	if (n < 0 || (size_t)n >= size)
		abort();
	return (size_t)n;
}

/*
 * Sends req and waits for its final response (matching CSeq), resending
 * over UDP with RFC 3261 timer A backoff.  0 ok, 1 timeout, -1 error.
 */
static int transaction(struct conn *c, const struct opts *o, const char *req,
		       size_t len, unsigned long cseq, struct resp *r)
{
	static char msg[MSG_MAX + 1];
	uint64_t deadline = now_ms() + o->timeout_ms, resend;
	unsigned t = 500;
	size_t n;
	int err;

	if (conn_send(c, req, len))
		return -1;
	resend = now_ms() + t;
	for (;;) {
		uint64_t wait = c->tcp || resend > deadline ? deadline : resend;

		err = conn_recv(c, wait, msg, &n);
		if (err < 0)
			return -1;
		if (err && wait == deadline)
			return 1;
		if (err) {
			t = t * 2 > 4000 ? 4000 : t * 2;
			resend = now_ms() + t;
			if (conn_send(c, req, len))
				return -1;
			continue;
		}
		logv("<<< received\n%s", msg);
		if (resp_parse(msg, r) || r->cseq != cseq || r->code < 200)
			continue;
		for (size_t i = 0; o->print_chal && i < r->lines_n; i++)
			printf("%s\n", r->lines[i]);
		return 0;
	}
}

/* The challenge to answer, or NULL when the wanted one is not offered. */
static const struct chal *chal_pick(const struct resp *r, const struct opts *o)
{
	for (size_t i = 0; i < r->chals_n; i++) {
		const struct chal *ch = &r->chals[i];
		bool md5 = !ch->alg[0] || !strcasecmp(ch->alg, "MD5");
		bool sha = !strcasecmp(ch->alg, "SHA-256");

		if (o->realm && strcmp(o->realm, ch->realm))
			continue;
		if ((md5 && strcasecmp(o->alg, "sha-256")) ||
		    (sha && strcasecmp(o->alg, "md5")))
			return ch;
	}
	return NULL;
}

static void authz_print(char *buf, size_t size, const struct opts *o,
			const struct chal *ch)
{
	bool sha = !strcasecmp(ch->alg, "SHA-256");
	bool qop = qop_has_auth(ch->qop);
	char ha1[65], ha2[65], resp[65], cnonce[17];
	int n;

	rand_hex(cnonce, 8);
	hash_hex(sha, ha1, "%s:%s:%s", o->user, ch->realm, o->password);
	hash_hex(sha, ha2, "REGISTER:sip:%s", o->server);
	if (qop)
		hash_hex(sha, resp, "%s:%s:00000001:%s:auth:%s", ha1,
			 ch->nonce, cnonce, ha2);
	else
		hash_hex(sha, resp, "%s:%s:%s", ha1, ch->nonce, ha2);
	n = snprintf(buf, size,
		     "Digest username=\"%s\",realm=\"%s\",nonce=\"%s\","
		     "uri=\"sip:%s\",response=\"%s\"%s%s",
		     o->user, ch->realm, ch->nonce, o->server, resp,
		     ch->alg[0] ? ",algorithm=" : "", ch->alg);
	if (qop)
		n += snprintf(buf + n, size - (size_t)n,
			      ",cnonce=\"%s\",qop=auth,nc=00000001", cnonce);
	if (ch->opaque[0])
		snprintf(buf + n, size - (size_t)n, ",opaque=\"%s\"",
			 ch->opaque);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: kv_regclient --server HOST:PORT [--tcp] --user U "
		"--password P\n"
		"       [--realm R] [--alg sha-256|md5|any] [--expires S]\n"
		"       [--contact-port N] [--timeout-ms MS] [--nc-replay]\n"
		"       [--print-challenges] [-v]\n"
		"--realm only answers a challenge for that realm; "
		"--print-challenges\nprints every WWW-Authenticate line "
		"received, then goes on as usual.\n");
	exit(EXIT_ERROR);
}

static void opts_parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"server", 1, NULL, 's'}, {"tcp", 0, NULL, 't'},
		{"user", 1, NULL, 'u'}, {"password", 1, NULL, 'p'},
		{"realm", 1, NULL, 'r'}, {"alg", 1, NULL, 'a'},
		{"expires", 1, NULL, 'e'}, {"contact-port", 1, NULL, 'c'},
		{"timeout-ms", 1, NULL, 'T'}, {"nc-replay", 0, NULL, 'R'},
		{"print-challenges", 0, NULL, 'P'}, {"verbose", 0, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	const char *colon;
	int ch;

	memset(o, 0, sizeof(*o));
	o->alg = "any";
	o->expires = 60;
	o->timeout_ms = 5000;
	while ((ch = getopt_long(argc, argv, "v", lo, NULL)) != -1) {
		switch (ch) {
		case 's': snprintf(o->server, sizeof(o->server), "%s", optarg); break;
		case 't': o->tcp = true; break;
		case 'u': o->user = optarg; break;
		case 'p': o->password = optarg; break;
		case 'r': o->realm = optarg; break;
		case 'a': o->alg = optarg; break;
		case 'e': o->expires = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': o->contact_port = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': o->timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'R': o->nc_replay = true; break;
		case 'P': o->print_chal = true; break;
		case 'v': o->verbose = true; break;
		default: usage();
		}
	}
	colon = strrchr(o->server, ':');
	if (optind != argc || !o->user || !o->password || !colon ||
	    colon == o->server || !colon[1] || strlen(colon + 1) >= sizeof(o->port) ||
	    (strcasecmp(o->alg, "md5") && strcasecmp(o->alg, "sha-256") &&
	     strcasecmp(o->alg, "any")) || o->contact_port > 65535 ||
	    !o->timeout_ms)
		usage();
	/* [v6addr]:port */
	if (o->server[0] == '[' && colon[-1] == ']')
		snprintf(o->host, sizeof(o->host), "%.*s",
			 (int)(colon - o->server - 2), o->server + 1);
	else
		snprintf(o->host, sizeof(o->host), "%.*s",
			 (int)(colon - o->server), o->server);
	snprintf(o->port, sizeof(o->port), "%s", colon + 1);
}

int main(int argc, char **argv)
{
	static char req[8192];
	static struct conn c;
	struct opts o;
	struct resp r;
	const struct chal *ch;
	char callid[33], tag[17], authz[2048];
	unsigned long cseq = 1;
	bool authed = false;
	size_t len;
	int err, rc;

	opts_parse(&o, argc, argv);
	verbose = o.verbose;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (conn_open(&c, &o))
		return EXIT_ERROR;
	rand_hex(callid, 16);
	rand_hex(tag, 8);

	len = register_print(req, sizeof(req), &o, &c, callid, tag, cseq, NULL);
	err = transaction(&c, &o, req, len, cseq, &r);
	if (err)
		goto fail;
	if (r.code == 401) {
		ch = chal_pick(&r, &o);
		if (!ch) {
			fprintf(stderr, "kv_regclient: no challenge for alg=%s "
				"realm=%s\n", o.alg, o.realm ? o.realm : "*");
			rc = EXIT_NOALG;
			goto out;
		}
		authz_print(authz, sizeof(authz), &o, ch);
		authed = true;
		cseq++;
		len = register_print(req, sizeof(req), &o, &c, callid, tag,
				     cseq, authz);
		err = transaction(&c, &o, req, len, cseq, &r);
		if (err)
			goto fail;
	}
	printf("%d\n", r.code);
	rc = r.code / 100 == 2 ? 0 : EXIT_FINAL;
	if (rc || !o.nc_replay)
		goto out;
	if (!authed) {
		fprintf(stderr, "kv_regclient: not challenged, nothing to "
			"replay\n");
		rc = EXIT_FINAL;
		goto out;
	}

	/* Same Authorization (nonce, nc, cnonce) in a new request. */
	cseq++;
	len = register_print(req, sizeof(req), &o, &c, callid, tag, cseq,
			     authz);
	err = transaction(&c, &o, req, len, cseq, &r);
	if (err)
		goto fail;
	printf("%d\n", r.code);
	rc = r.code == 401 ? 0 : EXIT_FINAL;
out:
	close(c.fd);
	return rc;

fail:
	fprintf(stderr, "kv_regclient: %s\n", err > 0 ? "timeout" : "error");
	close(c.fd);
	return EXIT_ERROR;
}
