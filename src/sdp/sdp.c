/*
 * sdp.c - SDP parser and printer (RFC 8866), and the session builder.
 *
 * Decoding walks the body once, line by line.  Each line stores at most
 * one string in the pool, shorter than the line itself, so a body of
 * SDP_MAX_LEN bytes always fits in SDP_POOL_SIZE; the pool check is kept
 * anyway because the builder is public.  Printing follows the order of
 * RFC 8866 §5 whatever the input order was, so the output of sdp_encode()
 * decodes to the same session.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "sdp/sdp.h"
#include "util/pl.h"

void sdp_session_init(struct sdp_session *s)
{
	memset(s, 0, sizeof(*s));
	/* pool[0] is the shared empty string that offset 0 stands for */
	s->pool_len = 1;
}

bool sdp_is_token(const char *p, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool is_text(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\0' || p[i] == '\r' || p[i] == '\n')
			return false;
	}
	return true;
}

static int pool_add(struct sdp_session *s, const char *p, size_t n,
		    uint16_t *off)
{
	if (s->pool_len + n + 1 > sizeof(s->pool))
		return EMSGSIZE;
	memcpy(s->pool + s->pool_len, p, n);
	s->pool[s->pool_len + n] = '\0';
	*off = (uint16_t)s->pool_len;
	s->pool_len += n + 1;
	return 0;
}

static int copy_token(char *dst, size_t size, const char *p, size_t n)
{
	if (!sdp_is_token(p, n))
		return EINVAL;
	if (n >= size)
		return EMSGSIZE;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static int copy_str_token(char *dst, size_t size, const char *str)
{
	if (!str)
		return EINVAL;
	return copy_token(dst, size, str, strlen(str));
}

static struct sdp_media *last_media(struct sdp_session *s)
{
	return s->media_n ? &s->media[s->media_n - 1] : NULL;
}

int sdp_origin_set(struct sdp_session *s, const char *user, const char *id,
		   const char *version, const char *addrtype, const char *addr)
{
	struct sdp_origin o;
	int err;

	memset(&o, 0, sizeof(o));
	err = copy_str_token(o.user, sizeof(o.user), user);
	if (!err)
		err = copy_str_token(o.id, sizeof(o.id), id);
	if (!err)
		err = copy_str_token(o.version, sizeof(o.version), version);
	if (!err)
		err = copy_str_token(o.nettype, sizeof(o.nettype), "IN");
	if (!err)
		err = copy_str_token(o.addrtype, sizeof(o.addrtype), addrtype);
	if (!err)
		err = copy_str_token(o.addr, sizeof(o.addr), addr);
	if (err)
		return err;
	s->origin = o;
	return 0;
}

int sdp_conn_set(struct sdp_conn *c, const char *addrtype, const char *addr)
{
	struct sdp_conn n;
	int err;

	memset(&n, 0, sizeof(n));
	n.set = true;
	err = copy_str_token(n.nettype, sizeof(n.nettype), "IN");
	if (!err)
		err = copy_str_token(n.addrtype, sizeof(n.addrtype), addrtype);
	if (!err)
		err = copy_str_token(n.addr, sizeof(n.addr), addr);
	if (err)
		return err;
	*c = n;
	return 0;
}

int sdp_name_set(struct sdp_session *s, const char *name)
{
	if (!name || !is_text(name, strlen(name)))
		return EINVAL;
	if (!*name) {
		s->name = 0;
		return 0;
	}
	return pool_add(s, name, strlen(name), &s->name);
}

static bool proto_is_rtp(const char *proto)
{
	/* RTP/AVP, RTP/SAVPF, UDP/TLS/RTP/SAVPF, TCP/RTP/AVP, ... */
	size_t n = strlen(proto);

	for (size_t i = 0; i + 4 <= n; i++) {
		if ((i == 0 || proto[i - 1] == '/') &&
		    strncasecmp(proto + i, "RTP/", 4) == 0)
			return true;
	}
	return false;
}

int sdp_media_add(struct sdp_session *s, const char *type, uint16_t port,
		  const char *proto, struct sdp_media **mp)
{
	struct sdp_media *m;
	int err;

	if (s->media_n >= SDP_MAX_MEDIA)
		return EMSGSIZE;
	m = &s->media[s->media_n];
	memset(m, 0, sizeof(*m));
	err = copy_str_token(m->type, sizeof(m->type), type);
	if (!err)
		err = copy_str_token(m->proto, sizeof(m->proto), proto);
	if (err)
		return err;
	m->port = port;
	m->rtp = proto_is_rtp(m->proto);
	m->line_first = s->lines_used;
	s->media_n++;
	if (mp)
		*mp = m;
	return 0;
}

int sdp_fmt_index(const struct sdp_media *m, unsigned pt)
{
	for (unsigned i = 0; i < m->fmt_n; i++) {
		if (m->fmt[i].pt == pt)
			return (int)i;
	}
	return -1;
}

int sdp_fmt_add(struct sdp_session *s, uint8_t pt, const char *enc,
		uint32_t clock, uint8_t channels, const char *fmtp)
{
	struct sdp_media *m = last_media(s);
	struct sdp_fmt f;
	int err;

	if (!m || !m->rtp || pt > 127 || sdp_fmt_index(m, pt) >= 0)
		return EINVAL;
	if (enc && (!sdp_is_token(enc, strlen(enc)) || strchr(enc, '/') || !clock))
		return EINVAL;
	if (fmtp && !is_text(fmtp, strlen(fmtp)))
		return EINVAL;
	if (m->fmt_n >= SDP_MAX_FMT)
		return EMSGSIZE;
	memset(&f, 0, sizeof(f));
	f.pt = pt;
	if (enc) {
		err = pool_add(s, enc, strlen(enc), &f.enc);
		if (err)
			return err;
		f.clock = clock;
		f.channels = channels;
	}
	/* parameters are printed after one space: keep them trimmed so
	 * that they decode back the same */
	if (fmtp) {
		struct pl v = pl_from_str(fmtp);

		pl_trim(&v);
		if (v.l) {
			err = pool_add(s, v.p, v.l, &f.fmtp);
			if (err)
				return err;
		}
	}
	m->fmt[m->fmt_n++] = f;
	return 0;
}

static bool line_type_ok(char type, bool media)
{
	if (media)
		return strchr("ibka", type) != NULL;
	return strchr("iuepbtrzka", type) != NULL;
}

static int line_add(struct sdp_session *s, char type, const char *p, size_t n)
{
	struct sdp_media *m = last_media(s);
	struct sdp_line *l;
	int err;

	if (!type || !line_type_ok(type, m != NULL) || !is_text(p, n))
		return EINVAL;
	if (s->lines_used >= SDP_MAX_LINES)
		return EMSGSIZE;
	l = &s->line[s->lines_used];
	l->type = type;
	l->text = 0;
	if (n) {
		err = pool_add(s, p, n, &l->text);
		if (err)
			return err;
	}
	s->lines_used++;
	if (m)
		m->line_n++;
	else
		s->line_n++;
	return 0;
}

int sdp_line_add(struct sdp_session *s, char type, const char *text)
{
	const char *colon;

	if (!text)
		return EINVAL;
	/* an attribute needs a name, or it would not decode again */
	if (type == 'a') {
		colon = strchr(text, ':');
		if (!sdp_is_token(text, colon ? (size_t)(colon - text) : strlen(text)))
			return EINVAL;
	}
	return line_add(s, type, text, strlen(text));
}

int sdp_fmt_raw_set(struct sdp_session *s, const char *fmts)
{
	struct sdp_media *m = last_media(s);
	size_t n;

	if (!m || m->rtp || !fmts)
		return EINVAL;
	n = strlen(fmts);
	if (!is_text(fmts, n) || (n && (fmts[0] == ' ' || fmts[n - 1] == ' ')))
		return EINVAL;
	m->fmt_raw = 0;
	return n ? pool_add(s, fmts, n, &m->fmt_raw) : 0;
}

int sdp_rtcp_set(struct sdp_session *s, uint16_t port, const char *addr)
{
	struct sdp_media *m = last_media(s);
	size_t n = addr ? strlen(addr) : 0;
	int err;

	if (!m || !is_text(addr ? addr : "", n) ||
	    (n && (addr[0] == ' ' || addr[n - 1] == ' ')))
		return EINVAL;
	m->rtcp_addr = 0;
	if (n) {
		err = pool_add(s, addr, n, &m->rtcp_addr);
		if (err)
			return err;
	}
	m->rtcp_port = port;
	m->rtcp_set = true;
	return 0;
}

const struct sdp_line *sdp_lines(const struct sdp_session *s,
				 const struct sdp_media *m, unsigned *n)
{
	if (m) {
		*n = m->line_n;
		return &s->line[m->line_first];
	}
	*n = s->line_n;
	return s->line;
}

bool sdp_media_is_audio(const struct sdp_media *m)
{
	return strcasecmp(m->type, "audio") == 0;
}

enum cfg_codec sdp_fmt_codec(const struct sdp_session *s,
			     const struct sdp_media *m, unsigned idx)
{
	static const struct {
		const char *name;
		uint32_t clock;    /* 0: any */
		enum cfg_codec codec;
	} names[] = {
		{"PCMU", 8000, CFG_CODEC_PCMU},
		{"PCMA", 8000, CFG_CODEC_PCMA},
		/* RFC 3551 §4.5.2: G.722 is samples at 16 kHz, clocked at 8 */
		{"G722", 8000, CFG_CODEC_G722},
		{"GSM", 8000, CFG_CODEC_GSM},
		{"opus", 48000, CFG_CODEC_OPUS},
		/* RFC 4733: events follow the clock of the audio codec */
		{"telephone-event", 0, CFG_CODEC_TELEPHONE_EVENT},
	};
	const struct sdp_fmt *f;
	const char *enc;

	if (!m->rtp || idx >= m->fmt_n)
		return CFG_CODEC_COUNT;
	f = &m->fmt[idx];
	if (f->enc) {
		enc = sdp_str(s, f->enc);
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcasecmp(enc, names[i].name) == 0 &&
			    (!names[i].clock || names[i].clock == f->clock))
				return names[i].codec;
		}
		return CFG_CODEC_COUNT;
	}
	switch (f->pt) {
	case 0: return CFG_CODEC_PCMU;
	case 3: return CFG_CODEC_GSM;
	case 8: return CFG_CODEC_PCMA;
	case 9: return CFG_CODEC_G722;
	default: return CFG_CODEC_COUNT;
	}
}

const char *sdp_dir_name(enum sdp_dir d)
{
	switch (d) {
	case SDP_DIR_SENDRECV: return "sendrecv";
	case SDP_DIR_SENDONLY: return "sendonly";
	case SDP_DIR_RECVONLY: return "recvonly";
	case SDP_DIR_INACTIVE: return "inactive";
	default: return "";
	}
}

/* --- decoding ------------------------------------------------------- */

/*
 * A line holds neither LF (the separator) nor CR (refused), so pl_trim()
 * only takes the SP and HT that sloppy peers leave around a value.
 */

struct dec {
	struct sdp_session *s;
	const char *why;
	bool seen_v, seen_o, seen_s, seen_t;
};

static int bad(struct dec *d, const char *why)
{
	d->why = why;
	return EBADMSG;
}

static int big(struct dec *d, const char *why)
{
	d->why = why;
	return EMSGSIZE;
}

/* Split off the next token (separated by one or more spaces). */
static bool next_token(struct pl *rest, struct pl *tok)
{
	while (rest->l && rest->p[0] == ' ') {
		rest->p++;
		rest->l--;
	}
	if (!rest->l)
		return false;
	tok->p = rest->p;
	tok->l = 0;
	while (rest->l && rest->p[0] != ' ') {
		rest->p++;
		rest->l--;
		tok->l++;
	}
	return true;
}

static bool no_more(struct pl *rest)
{
	struct pl tok;
	return !next_token(rest, &tok);
}

static int dec_tok(struct dec *d, char *dst, size_t size, const struct pl *tok,
		   const char *why)
{
	int err = copy_token(dst, size, tok->p, tok->l);

	if (err == EMSGSIZE)
		return big(d, why);
	if (err)
		return bad(d, why);
	return 0;
}

static int dec_origin(struct dec *d, struct pl v)
{
	struct sdp_origin *o = &d->s->origin;
	struct pl t[6];
	int err = 0;

	if (d->seen_o)
		return bad(d, "duplicate o= line");
	d->seen_o = true;
	for (int i = 0; i < 6; i++) {
		if (!next_token(&v, &t[i]))
			return bad(d, "bad o= line");
	}
	if (!no_more(&v))
		return bad(d, "bad o= line");
	err = dec_tok(d, o->user, sizeof(o->user), &t[0], "bad o= username");
	if (!err)
		err = dec_tok(d, o->id, sizeof(o->id), &t[1], "bad o= sess-id");
	if (!err)
		err = dec_tok(d, o->version, sizeof(o->version), &t[2],
			      "bad o= sess-version");
	if (!err)
		err = dec_tok(d, o->nettype, sizeof(o->nettype), &t[3],
			      "bad o= nettype");
	if (!err)
		err = dec_tok(d, o->addrtype, sizeof(o->addrtype), &t[4],
			      "bad o= addrtype");
	if (!err)
		err = dec_tok(d, o->addr, sizeof(o->addr), &t[5], "bad o= address");
	return err;
}

static int dec_conn(struct dec *d, struct sdp_conn *c, struct pl v)
{
	struct pl t[3];
	int err;

	if (c->set)
		return bad(d, "duplicate c= line");
	for (int i = 0; i < 3; i++) {
		if (!next_token(&v, &t[i]))
			return bad(d, "bad c= line");
	}
	if (!no_more(&v))
		return bad(d, "bad c= line");
	err = dec_tok(d, c->nettype, sizeof(c->nettype), &t[0], "bad c= nettype");
	if (!err)
		err = dec_tok(d, c->addrtype, sizeof(c->addrtype), &t[1],
			      "bad c= addrtype");
	if (!err)
		err = dec_tok(d, c->addr, sizeof(c->addr), &t[2], "bad c= address");
	if (!err)
		c->set = true;
	return err;
}

static int dec_port(const struct pl *pl, uint16_t *port)
{
	uint32_t v;

	if (pl_u32(pl, 65535, &v))
		return EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int dec_media(struct dec *d, struct pl v)
{
	struct sdp_session *s = d->s;
	struct pl type, port, proto, fmt, nports = PL_INIT;
	char tbuf[sizeof(s->media[0].type)], pbuf[sizeof(s->media[0].proto)];
	const char *slash;
	struct sdp_media *m;
	uint16_t pn;
	uint32_t pt;
	int err;

	if (!next_token(&v, &type) || !next_token(&v, &port) ||
	    !next_token(&v, &proto))
		return bad(d, "bad m= line");
	err = dec_tok(d, tbuf, sizeof(tbuf), &type, "bad m= media type");
	if (!err)
		err = dec_tok(d, pbuf, sizeof(pbuf), &proto, "bad m= protocol");
	if (err)
		return err;
	slash = pl_chr(&port, '/');
	if (slash) {
		nports.p = slash + 1;
		nports.l = port.l - (size_t)(nports.p - port.p);
		port.l = (size_t)(slash - port.p);
	}
	if (dec_port(&port, &pn))
		return bad(d, "bad m= port");
	if (s->media_n >= SDP_MAX_MEDIA)
		return big(d, "too many m= lines");
	err = sdp_media_add(s, tbuf, pn, pbuf, &m);
	if (err)
		return bad(d, "bad m= line");
	if (slash && (dec_port(&nports, &m->nports) || !m->nports))
		return bad(d, "bad m= port count");
	pl_trim(&v);
	if (!m->rtp) {
		if (!v.l && m->port)
			return bad(d, "m= line without formats");
		if (v.l && pool_add(s, v.p, v.l, &m->fmt_raw))
			return big(d, "SDP too long");
		return 0;
	}
	while (next_token(&v, &fmt)) {
		if (pl_u32(&fmt, 127, &pt))
			return bad(d, "bad payload type");
		if (sdp_fmt_index(m, pt) >= 0)
			return bad(d, "duplicate payload type");
		if (m->fmt_n >= SDP_MAX_FMT)
			return big(d, "too many formats");
		err = sdp_fmt_add(s, (uint8_t)pt, NULL, 0, 0, NULL);
		if (err)
			return bad(d, "bad payload type");
	}
	if (!m->fmt_n && m->port)
		return bad(d, "m= line without formats");
	return 0;
}

static int verbatim(struct dec *d, char type, const struct pl *v)
{
	int err = line_add(d->s, type, v->p, v->l);

	if (err == EMSGSIZE)
		return big(d, "too many lines");
	if (err)
		return bad(d, "bad line");
	return 0;
}

/*
 * RFC 8866 requires a t= line; when the session section ends without one
 * the decoder records the "t=0 0" the printer would add, so that printing
 * never adds a line the line limit did not count.
 */
static int dec_session_end(struct dec *d)
{
	static const struct pl t00 = {"0 0", 3};

	if (d->seen_t)
		return 0;
	d->seen_t = true;
	return verbatim(d, 't', &t00);
}

static int dec_rtpmap(struct dec *d, struct sdp_media *m, struct pl v)
{
	struct pl ptl, enc, clock, ch = PL_INIT;
	struct sdp_fmt *f;
	const char *slash;
	uint32_t pt, cl, chv = 0;
	int idx;

	if (!next_token(&v, &ptl) || pl_u32(&ptl, 127, &pt))
		return bad(d, "bad rtpmap payload type");
	pl_trim(&v);
	enc = v;
	slash = pl_chr(&enc, '/');
	if (!slash)
		return bad(d, "bad rtpmap");
	enc.l = (size_t)(slash - v.p);
	clock.p = slash + 1;
	clock.l = v.l - enc.l - 1;
	slash = pl_chr(&clock, '/');
	if (slash) {
		ch.p = slash + 1;
		ch.l = clock.l - (size_t)(ch.p - clock.p);
		clock.l = (size_t)(slash - clock.p);
		if (pl_u32(&ch, 255, &chv) || !chv)
			return bad(d, "bad rtpmap channels");
	}
	if (!sdp_is_token(enc.p, enc.l) || pl_u32(&clock, UINT32_MAX, &cl) || !cl)
		return bad(d, "bad rtpmap");
	idx = sdp_fmt_index(m, pt);
	if (idx < 0)
		return 0;
	f = &m->fmt[idx];
	if (f->enc)
		return bad(d, "duplicate rtpmap");
	if (pool_add(d->s, enc.p, enc.l, &f->enc))
		return big(d, "SDP too long");
	f->clock = cl;
	f->channels = (uint8_t)chv;
	return 0;
}

static int dec_fmtp(struct dec *d, struct sdp_media *m, struct pl v)
{
	struct pl ptl;
	uint32_t pt;
	int idx;

	if (!next_token(&v, &ptl) || pl_u32(&ptl, 127, &pt))
		return bad(d, "bad fmtp payload type");
	pl_trim(&v);
	idx = sdp_fmt_index(m, pt);
	if (idx < 0 || !v.l)
		return 0;
	if (m->fmt[idx].fmtp)
		return bad(d, "duplicate fmtp");
	if (pool_add(d->s, v.p, v.l, &m->fmt[idx].fmtp))
		return big(d, "SDP too long");
	return 0;
}

static int dec_rtcp(struct dec *d, struct sdp_media *m, struct pl v)
{
	struct pl port;

	if (!next_token(&v, &port) || dec_port(&port, &m->rtcp_port))
		return bad(d, "bad rtcp port");
	pl_trim(&v);
	m->rtcp_addr = 0;
	if (v.l && pool_add(d->s, v.p, v.l, &m->rtcp_addr))
		return big(d, "SDP too long");
	m->rtcp_set = true;
	return 0;
}

/* ptime and maxptime: a value we cannot read stays a verbatim line. */
static bool dec_ms(struct pl v, uint32_t *ms)
{
	pl_trim(&v);
	return pl_u32(&v, 60000, ms) == 0 && *ms > 0;
}

static enum sdp_dir dir_lookup(const struct pl *name)
{
	if (pl_eqcase_str(name, "sendrecv"))
		return SDP_DIR_SENDRECV;
	if (pl_eqcase_str(name, "sendonly"))
		return SDP_DIR_SENDONLY;
	if (pl_eqcase_str(name, "recvonly"))
		return SDP_DIR_RECVONLY;
	if (pl_eqcase_str(name, "inactive"))
		return SDP_DIR_INACTIVE;
	return SDP_DIR_UNSET;
}

static int dec_attr(struct dec *d, const struct pl *line)
{
	struct sdp_media *m = last_media(d->s);
	struct pl name = *line, val = PL_INIT;
	const char *colon = pl_chr(line, ':');
	enum sdp_dir dir;
	uint32_t ms;

	if (colon) {
		name.l = (size_t)(colon - line->p);
		val.p = colon + 1;
		val.l = line->l - name.l - 1;
	}
	if (!sdp_is_token(name.p, name.l))
		return bad(d, "bad attribute name");
	if (!colon) {
		dir = dir_lookup(&name);
		if (dir != SDP_DIR_UNSET) {
			if (m)
				m->dir = dir;
			else
				d->s->dir = dir;
			return 0;
		}
	}
	if (!m || !colon)
		return verbatim(d, 'a', line);
	if (m->rtp && pl_eqcase_str(&name, "rtpmap"))
		return dec_rtpmap(d, m, val);
	if (m->rtp && pl_eqcase_str(&name, "fmtp"))
		return dec_fmtp(d, m, val);
	if (pl_eqcase_str(&name, "rtcp"))
		return dec_rtcp(d, m, val);
	if (pl_eqcase_str(&name, "ptime") && dec_ms(val, &ms)) {
		m->ptime = ms;
		return 0;
	}
	if (pl_eqcase_str(&name, "maxptime") && dec_ms(val, &ms)) {
		m->maxptime = ms;
		return 0;
	}
	return verbatim(d, 'a', line);
}

static int dec_line(struct dec *d, char type, const struct pl *v)
{
	struct sdp_session *s = d->s;
	struct sdp_media *m = last_media(s);

	if (!d->seen_v) {
		if (type != 'v')
			return bad(d, "first line is not v=");
		if (!pl_eq_str(v, "0"))
			return bad(d, "unsupported SDP version");
		d->seen_v = true;
		return 0;
	}
	switch (type) {
	case 'v':
		return bad(d, "duplicate v= line");
	case 'o':
		if (m)
			return bad(d, "o= line in a media section");
		return dec_origin(d, *v);
	case 's':
		if (m)
			return bad(d, "s= line in a media section");
		if (d->seen_s)
			return bad(d, "duplicate s= line");
		d->seen_s = true;
		if (v->l && pool_add(s, v->p, v->l, &s->name))
			return big(d, "SDP too long");
		return 0;
	case 'c':
		return dec_conn(d, m ? &m->conn : &s->conn, *v);
	case 'm':
		if (!d->seen_o || !d->seen_s)
			return bad(d, "m= line before o= and s=");
		if (!m) {
			int err = dec_session_end(d);
			if (err)
				return err;
		}
		return dec_media(d, *v);
	case 'a':
		return dec_attr(d, v);
	case 'i': case 'b': case 'k':
		return verbatim(d, type, v);
	case 'u': case 'e': case 'p': case 't': case 'r': case 'z':
		if (m)
			return bad(d, "session line in a media section");
		if (type == 't')
			d->seen_t = true;
		return verbatim(d, type, v);
	default:
		return 0;
	}
}

int sdp_decode(struct sdp_session *s, const char *buf, size_t len,
	       const char **why)
{
	struct dec d = {.s = s};
	const char *p = buf, *end = buf + len, *nl;
	struct pl v;
	size_t n;
	int err = 0;

	sdp_session_init(s);
	if (!buf || !len) {
		err = bad(&d, "empty SDP");
		goto out;
	}
	if (len > SDP_MAX_LEN) {
		err = big(&d, "SDP too long");
		goto out;
	}
	if (memchr(buf, '\0', len)) {
		err = bad(&d, "NUL byte in SDP");
		goto out;
	}
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (memchr(p, '\r', n)) {
			err = bad(&d, "stray CR");
			goto out;
		}
		if (n) {
			if (n < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z') {
				err = bad(&d, "malformed line");
				goto out;
			}
			v.p = p + 2;
			v.l = n - 2;
			err = dec_line(&d, p[0], &v);
			if (err)
				goto out;
		}
		p = nl ? nl + 1 : end;
	}
	if (!d.seen_v)
		err = bad(&d, "first line is not v=");
	else if (!d.seen_o)
		err = bad(&d, "missing o= line");
	else if (!d.seen_s)
		err = bad(&d, "missing s= line");
	else if (!s->media_n)
		err = dec_session_end(&d);
out:
	if (why)
		*why = err ? d.why : NULL;
	return err;
}

/* --- encoding ------------------------------------------------------- */

static void enc_lines(struct sbuf *sb, const struct sdp_session *s,
		      const struct sdp_line *l, unsigned n, const char *types)
{
	for (unsigned i = 0; i < n; i++) {
		if (strchr(types, l[i].type))
			sbuf_printf(sb, "%c=%s\r\n", l[i].type,
				    sdp_str(s, l[i].text));
	}
}

static void enc_conn(struct sbuf *sb, const struct sdp_conn *c)
{
	if (c->set)
		sbuf_printf(sb, "c=%s %s %s\r\n", c->nettype, c->addrtype,
			    c->addr);
}

static void enc_dir(struct sbuf *sb, enum sdp_dir dir)
{
	if (dir != SDP_DIR_UNSET)
		sbuf_printf(sb, "a=%s\r\n", sdp_dir_name(dir));
}

static void enc_media(struct sbuf *sb, const struct sdp_session *s,
		      const struct sdp_media *m)
{
	const struct sdp_line *l;
	const struct sdp_fmt *f;
	unsigned n;

	sbuf_printf(sb, "m=%s %u", m->type, (unsigned)m->port);
	if (m->nports)
		sbuf_printf(sb, "/%u", (unsigned)m->nports);
	sbuf_printf(sb, " %s", m->proto);
	if (m->rtp) {
		for (unsigned i = 0; i < m->fmt_n; i++)
			sbuf_printf(sb, " %u", (unsigned)m->fmt[i].pt);
	} else if (m->fmt_raw) {
		sbuf_printf(sb, " %s", sdp_str(s, m->fmt_raw));
	}
	sbuf_append_str(sb, "\r\n");
	l = sdp_lines(s, m, &n);
	enc_lines(sb, s, l, n, "i");
	enc_conn(sb, &m->conn);
	enc_lines(sb, s, l, n, "b");
	enc_lines(sb, s, l, n, "k");
	for (unsigned i = 0; i < m->fmt_n; i++) {
		f = &m->fmt[i];
		if (f->enc) {
			sbuf_printf(sb, "a=rtpmap:%u %s/%u", (unsigned)f->pt,
				    sdp_str(s, f->enc), (unsigned)f->clock);
			if (f->channels)
				sbuf_printf(sb, "/%u", (unsigned)f->channels);
			sbuf_append_str(sb, "\r\n");
		}
		if (f->fmtp)
			sbuf_printf(sb, "a=fmtp:%u %s\r\n", (unsigned)f->pt,
				    sdp_str(s, f->fmtp));
	}
	if (m->rtcp_set) {
		sbuf_printf(sb, "a=rtcp:%u", (unsigned)m->rtcp_port);
		if (m->rtcp_addr)
			sbuf_printf(sb, " %s", sdp_str(s, m->rtcp_addr));
		sbuf_append_str(sb, "\r\n");
	}
	if (m->ptime)
		sbuf_printf(sb, "a=ptime:%u\r\n", (unsigned)m->ptime);
	if (m->maxptime)
		sbuf_printf(sb, "a=maxptime:%u\r\n", (unsigned)m->maxptime);
	enc_dir(sb, m->dir);
	enc_lines(sb, s, l, n, "a");
}

static bool conn_ok(const struct sdp_conn *c)
{
	return !c->set || (c->nettype[0] && c->addrtype[0] && c->addr[0]);
}

/* Fields are public: refuse what would print as an undecodable body. */
static bool session_ok(const struct sdp_session *s)
{
	const struct sdp_origin *o = &s->origin;
	const struct sdp_media *m;

	if (!o->user[0] || !o->id[0] || !o->version[0] || !o->nettype[0] ||
	    !o->addrtype[0] || !o->addr[0] || !conn_ok(&s->conn) ||
	    s->dir > SDP_DIR_INACTIVE || s->media_n > SDP_MAX_MEDIA)
		return false;
	for (unsigned i = 0; i < s->media_n; i++) {
		m = &s->media[i];
		if (!m->type[0] || !m->proto[0] || !conn_ok(&m->conn) ||
		    m->dir > SDP_DIR_INACTIVE || m->fmt_n > SDP_MAX_FMT)
			return false;
		if (m->port && !(m->rtp ? m->fmt_n : m->fmt_raw))
			return false;
	}
	return true;
}

int sdp_encode(struct sbuf *sb, const struct sdp_session *s)
{
	const struct sdp_origin *o = &s->origin;
	const struct sdp_line *l;
	bool has_t = false;
	unsigned n;

	if (!session_ok(s))
		return EINVAL;
	l = sdp_lines(s, NULL, &n);
	sbuf_append_str(sb, "v=0\r\n");
	sbuf_printf(sb, "o=%s %s %s %s %s %s\r\n", o->user, o->id, o->version,
		    o->nettype, o->addrtype, o->addr);
	/* RFC 8866 §5.3: a single space when there is no name */
	sbuf_printf(sb, "s=%s\r\n", s->name ? sdp_str(s, s->name) : " ");
	enc_lines(sb, s, l, n, "iuep");
	enc_conn(sb, &s->conn);
	enc_lines(sb, s, l, n, "b");
	for (unsigned i = 0; i < n; i++)
		has_t = has_t || l[i].type == 't';
	if (has_t)
		enc_lines(sb, s, l, n, "tr");
	else
		sbuf_append_str(sb, "t=0 0\r\n");
	enc_lines(sb, s, l, n, "zk");
	enc_dir(sb, s->dir);
	enc_lines(sb, s, l, n, "a");
	for (unsigned i = 0; i < s->media_n; i++)
		enc_media(sb, s, &s->media[i]);
	return sbuf_err(sb) ? ENOMEM : 0;
}
