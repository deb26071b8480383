/*
 * offer.c - RFC 3264 offer/answer between the two legs of a B2BUA call:
 * codec filtering, answer validation, relay addresses, o= versioning,
 * directions and the facts the RTP relay needs (peer address, codec).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sdp/offer.h"
#include "util/hash.h"

/*
 * Attributes bound to the transport of one hop.  KubeVox terminates RTP on
 * both legs, so relaying them would announce ICE candidates, keys or a
 * multiplexing that the relay does not provide.
 */
static const char *const hop_attrs[] = {
	"candidate", "remote-candidates", "end-of-candidates",
	"crypto", "fingerprint", "setup", "connection", "tls-id",
	"key-mgmt", "zrtp-hash",
	"group", "mid", "rtcp-mux", "rtcp-mux-only",
};

static bool attr_name_is(const char *text, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(text, name, n) == 0 &&
	       (text[n] == '\0' || text[n] == ':');
}

static bool hop_attr(const char *text)
{
	if (strncasecmp(text, "ice-", 4) == 0)
		return true;
	for (size_t i = 0; i < sizeof(hop_attrs) / sizeof(hop_attrs[0]); i++) {
		if (attr_name_is(text, hop_attrs[i]))
			return true;
	}
	return false;
}

/* rtcp-fb:<pt> of a format that was filtered out describes nothing. */
static bool fb_of_dropped(const struct sdp_media *m, const bool *keep,
			  const char *text)
{
	const char *p = text + 8;
	unsigned pt = 0, digits = 0;
	int idx;

	if (!keep || !attr_name_is(text, "rtcp-fb") || text[7] != ':')
		return false;
	/* "rtcp-fb:* nack" applies to every format: keep it */
	for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
		pt = pt * 10 + (unsigned)(*p - '0');
	if (!digits || digits > 3)
		return false;
	idx = sdp_fmt_index(m, pt);
	return idx < 0 || !keep[idx];
}

static uint32_t fmt_clock(const struct sdp_fmt *f);

static int copy_lines(const struct sdp_session *in, const struct sdp_media *m,
		      const bool *keep, struct sdp_session *out)
{
	const struct sdp_line *l;
	const char *text;
	unsigned n;
	int err;

	l = sdp_lines(in, m, &n);
	for (unsigned i = 0; i < n; i++) {
		text = sdp_str(in, l[i].text);
		if (l[i].type == 'a' &&
		    (hop_attr(text) || (m && fb_of_dropped(m, keep, text))))
			continue;
		err = sdp_line_add(out, l[i].type, text);
		if (err)
			return err;
	}
	return 0;
}

static int copy_head(const struct sdp_session *in, struct sdp_session *out)
{
	int err;

	sdp_session_init(out);
	out->origin = in->origin;
	out->conn = in->conn;
	out->dir = in->dir;
	err = sdp_name_set(out, sdp_str(in, in->name));
	if (err)
		return err;
	return copy_lines(in, NULL, NULL, out);
}

/* RFC 3264 §8.2: a rejected stream keeps its m= line, formats only. */
static int copy_rejected(const struct sdp_session *in,
			 const struct sdp_media *m, struct sdp_session *out)
{
	int err;

	err = sdp_media_add(out, m->type, 0, m->proto, NULL);
	if (err)
		return err;
	if (!m->rtp)
		return sdp_fmt_raw_set(out, sdp_str(in, m->fmt_raw));
	for (unsigned i = 0; i < m->fmt_n; i++) {
		err = sdp_fmt_add(out, m->fmt[i].pt, NULL, 0, 0, NULL);
		if (err)
			return err;
	}
	return 0;
}

static const struct sdp_conn *media_conn(const struct sdp_session *s,
					 const struct sdp_media *m)
{
	if (m->conn.set)
		return &m->conn;
	return s->conn.set ? &s->conn : NULL;
}

static enum sdp_dir effective_dir(const struct sdp_session *s,
				  const struct sdp_media *m)
{
	if (m->dir != SDP_DIR_UNSET)
		return m->dir;
	if (s->dir != SDP_DIR_UNSET)
		return s->dir;
	return SDP_DIR_SENDRECV;
}

static bool conn_is_null(const struct sdp_conn *c)
{
	return c && strcasecmp(c->addrtype, "IP4") == 0 &&
	       strcmp(c->addr, "0.0.0.0") == 0;
}

/*
 * c=0.0.0.0 (RFC 2543 hold) asks the peer not to send.  The address is
 * about to be replaced by the relay's, so say the same with a direction
 * (RFC 3264 §8.4).
 */
static enum sdp_dir relayed_dir(const struct sdp_session *in,
				const struct sdp_media *m)
{
	enum sdp_dir dir = effective_dir(in, m);

	if (!conn_is_null(media_conn(in, m)))
		return m->dir;
	if (dir == SDP_DIR_SENDRECV)
		return SDP_DIR_SENDONLY;
	if (dir == SDP_DIR_RECVONLY)
		return SDP_DIR_INACTIVE;
	return dir;
}

/* An accepted stream, with the formats that keep[] marks (all if NULL). */
static int copy_media(const struct sdp_session *in, const struct sdp_media *m,
		      const bool *keep, struct sdp_session *out)
{
	const struct sdp_fmt *f;
	struct sdp_media *om;
	int err;

	err = sdp_media_add(out, m->type, m->port, m->proto, &om);
	if (err)
		return err;
	om->nports = m->nports;
	om->conn = m->conn;
	om->dir = relayed_dir(in, m);
	om->ptime = m->ptime;
	om->maxptime = m->maxptime;
	if (m->rtp) {
		for (unsigned i = 0; i < m->fmt_n; i++) {
			f = &m->fmt[i];
			if (keep && !keep[i])
				continue;
			err = sdp_fmt_add(out, f->pt,
					  f->enc ? sdp_str(in, f->enc) : NULL,
					  f->clock, f->channels,
					  f->fmtp ? sdp_str(in, f->fmtp) : NULL);
			if (err)
				return err;
		}
	} else {
		err = sdp_fmt_raw_set(out, sdp_str(in, m->fmt_raw));
		if (err)
			return err;
	}
	if (m->rtcp_set) {
		err = sdp_rtcp_set(out, m->rtcp_port,
				   m->rtcp_addr ? sdp_str(in, m->rtcp_addr) : NULL);
		if (err)
			return err;
	}
	return copy_lines(in, m, keep, out);
}

/* The profiles the relay forwards as they are; SRTP needs keys it has not. */
static bool plain_rtp(const struct sdp_media *m)
{
	return strcasecmp(m->proto, "RTP/AVP") == 0 ||
	       strcasecmp(m->proto, "RTP/AVPF") == 0;
}

static bool allowed(enum cfg_codec c, const enum cfg_codec *allow, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (allow[i] == c)
			return true;
	}
	return false;
}

int sdp_offer_filter(const struct sdp_session *in, const enum cfg_codec *allow,
		     size_t allow_n, struct sdp_session *out)
{
	bool keep[SDP_MAX_FMT];
	const struct sdp_media *m;
	unsigned active = 0, codecs;
	enum cfg_codec c;
	int err;

	if (!in || !out || (allow_n && !allow))
		return EINVAL;
	err = copy_head(in, out);
	if (err)
		goto out;
	for (unsigned i = 0; i < in->media_n; i++) {
		m = &in->media[i];
		codecs = 0;
		if (sdp_media_is_audio(m) && m->port && plain_rtp(m)) {
			for (unsigned j = 0; j < m->fmt_n; j++) {
				c = sdp_fmt_codec(in, m, j);
				keep[j] = c == CFG_CODEC_TELEPHONE_EVENT ||
					  (c != CFG_CODEC_COUNT &&
					   allowed(c, allow, allow_n));
				if (keep[j] && c != CFG_CODEC_TELEPHONE_EVENT)
					codecs++;
			}
		}
		if (codecs) {
			err = copy_media(in, m, keep, out);
			active++;
		} else {
			err = copy_rejected(in, m, out);
		}
		if (err)
			goto out;
	}
	if (!active)
		err = ENOENT;
out:
	return err;
}

static bool same_codec(const struct sdp_session *sa, const struct sdp_fmt *a,
		       const struct sdp_session *sb, const struct sdp_fmt *b)
{
	/* without an rtpmap only a static payload type says what it is */
	if (!a->enc || !b->enc)
		return a->pt == b->pt && a->pt < 96;
	return strcasecmp(sdp_str(sa, a->enc), sdp_str(sb, b->enc)) == 0 &&
	       a->clock == b->clock &&
	       (a->channels ? a->channels : 1) == (b->channels ? b->channels : 1);
}

static bool was_offered(const struct sdp_session *os, const struct sdp_media *om,
			const struct sdp_session *as, const struct sdp_fmt *af)
{
	for (unsigned i = 0; i < om->fmt_n; i++) {
		if (same_codec(os, &om->fmt[i], as, af))
			return true;
	}
	return false;
}

static bool same_proto(const struct sdp_media *a, const struct sdp_media *b)
{
	/* RFC 4585 §4.5: AVPF and AVP interwork, some answer one to the other */
	return strcasecmp(a->proto, b->proto) == 0 ||
	       (plain_rtp(a) && plain_rtp(b));
}

int sdp_answer_filter(const struct sdp_session *offer,
		      const struct sdp_session *answer,
		      struct sdp_session *out)
{
	bool keep[SDP_MAX_FMT];
	const struct sdp_media *om, *am;
	unsigned codecs;
	int err;

	if (!offer || !answer || !out)
		return EINVAL;
	if (answer->media_n != offer->media_n)
		return EPROTO;
	err = copy_head(answer, out);
	if (err)
		goto out;
	for (unsigned i = 0; i < answer->media_n; i++) {
		om = &offer->media[i];
		am = &answer->media[i];
		if (strcasecmp(om->type, am->type) != 0) {
			err = EPROTO;
			goto out;
		}
		if (!am->port) {
			err = copy_rejected(answer, am, out);
			if (err)
				goto out;
			continue;
		}
		if (!om->port || !same_proto(om, am) || om->rtp != am->rtp) {
			err = EPROTO;
			goto out;
		}
		codecs = am->rtp ? 0 : 1;
		for (unsigned j = 0; am->rtp && j < am->fmt_n; j++) {
			keep[j] = was_offered(offer, om, answer, &am->fmt[j]);
			if (keep[j] && sdp_fmt_codec(answer, am, j) !=
				       CFG_CODEC_TELEPHONE_EVENT)
				codecs++;
		}
		if (!codecs) {
			err = EPROTO;
			goto out;
		}
		err = copy_media(answer, am, am->rtp ? keep : NULL, out);
		if (err)
			goto out;
	}
out:
	return err;
}

/* The payload types KubeVox offers when it makes the offer: RFC 3551's
 * static ones, and Asterisk's dynamic choices for the others. */
static const struct {
	enum cfg_codec codec;
	uint8_t pt;
	const char *enc;
	uint32_t clock;
	uint8_t channels;
	const char *fmtp;
} local_fmts[] = {
	{CFG_CODEC_PCMU, 0, "PCMU", 8000, 0, NULL},
	{CFG_CODEC_PCMA, 8, "PCMA", 8000, 0, NULL},
	{CFG_CODEC_G722, 9, "G722", 8000, 0, NULL},
	{CFG_CODEC_GSM, 3, "GSM", 8000, 0, NULL},
	{CFG_CODEC_OPUS, 107, "opus", 48000, 2, "useinbandfec=1"},
};

int sdp_offer_local(const enum cfg_codec *allow, size_t allow_n,
		    struct sdp_session *out)
{
	bool added[CFG_CODEC_COUNT] = {false};
	struct sdp_media *om;
	unsigned codecs = 0;
	int err;

	if (!out || (allow_n && !allow))
		return EINVAL;
	sdp_session_init(out);
	err = sdp_origin_set(out, "-", "0", "0", "IP4", "0.0.0.0");
	if (!err)
		err = sdp_name_set(out, "KubeVox");
	if (!err)
		err = sdp_conn_set(&out->conn, "IP4", "0.0.0.0");
	if (!err)
		err = sdp_media_add(out, "audio", 9, "RTP/AVP", &om);
	if (err)
		return err;
	om->ptime = 20;
	om->dir = SDP_DIR_SENDRECV;
	for (size_t i = 0; i < allow_n; i++) {
		for (size_t k = 0; k < sizeof(local_fmts) / sizeof(local_fmts[0]); k++) {
			if (local_fmts[k].codec != allow[i] || added[allow[i]])
				continue;
			err = sdp_fmt_add(out, local_fmts[k].pt, local_fmts[k].enc,
					  local_fmts[k].clock, local_fmts[k].channels,
					  local_fmts[k].fmtp);
			if (err)
				return err;
			added[allow[i]] = true;
			codecs++;
		}
	}
	if (!codecs)
		return ENOENT;
	/* RFC 4733 §2.1: events at the clock rate of the codecs offered */
	err = sdp_fmt_add(out, 101, "telephone-event", 8000, 0, "0-16");
	if (!err && added[CFG_CODEC_OPUS])
		err = sdp_fmt_add(out, 102, "telephone-event", 48000, 0, "0-16");
	return err;
}

static bool listed(enum cfg_codec c, const enum cfg_codec *prefer, size_t n)
{
	return c != CFG_CODEC_COUNT && allowed(c, prefer, n);
}

int sdp_offer_narrow(const struct sdp_session *in, const enum cfg_codec *prefer,
		     size_t prefer_n, struct sdp_session *out)
{
	bool keep[SDP_MAX_FMT];
	const struct sdp_media *m;
	unsigned active = 0;
	enum cfg_codec c;
	int first, err;
	bool te;

	if (!in || !out || (prefer_n && !prefer))
		return EINVAL;
	err = copy_head(in, out);
	if (err)
		return err;
	for (unsigned i = 0; i < in->media_n; i++) {
		m = &in->media[i];
		first = -1;
		if (sdp_media_is_audio(m) && m->port && m->rtp) {
			for (unsigned j = 0; j < m->fmt_n; j++) {
				c = sdp_fmt_codec(in, m, j);
				if (c == CFG_CODEC_TELEPHONE_EVENT)
					continue;
				if (first < 0)
					first = (int)j;
				if (listed(c, prefer, prefer_n)) {
					first = (int)j;
					break;
				}
			}
		}
		if (first < 0) {
			err = m->port ? copy_media(in, m, NULL, out) :
					copy_rejected(in, m, out);
			if (err)
				return err;
			continue;
		}
		/* one telephone-event, at the codec's clock (RFC 4733 §2.1) */
		te = false;
		for (unsigned j = 0; j < m->fmt_n; j++) {
			keep[j] = (int)j == first;
			if (!te && sdp_fmt_codec(in, m, j) == CFG_CODEC_TELEPHONE_EVENT &&
			    fmt_clock(&m->fmt[j]) == fmt_clock(&m->fmt[first]))
				te = keep[j] = true;
		}
		err = copy_media(in, m, keep, out);
		if (err)
			return err;
		active++;
	}
	return active ? 0 : ENOENT;
}

int sdp_set_media_addr(struct sdp_session *s, const char *addr, int af,
		       const uint16_t *ports)
{
	struct in6_addr buf;
	const char *addrtype;
	struct sdp_media *m;
	int err;

	if (!s || !addr || (s->media_n && !ports))
		return EINVAL;
	if (af == AF_INET)
		addrtype = "IP4";
	else if (af == AF_INET6)
		addrtype = "IP6";
	else
		return EINVAL;
	if (inet_pton(af, addr, &buf) != 1)
		return EINVAL;
	err = sdp_conn_set(&s->conn, addrtype, addr);
	if (err)
		return err;
	/* o= names the host that made the description: now KubeVox */
	snprintf(s->origin.nettype, sizeof(s->origin.nettype), "IN");
	snprintf(s->origin.addrtype, sizeof(s->origin.addrtype), "%s", addrtype);
	snprintf(s->origin.addr, sizeof(s->origin.addr), "%s", s->conn.addr);
	for (unsigned i = 0; i < s->media_n; i++) {
		m = &s->media[i];
		m->conn.set = false;
		if (!m->port)
			continue;
		m->port = ports[i];
		m->nports = 0;
		m->rtcp_addr = 0;
		if (m->rtcp_set && ports[i] && ports[i] < UINT16_MAX)
			m->rtcp_port = (uint16_t)(ports[i] + 1);
		else
			m->rtcp_set = false;
	}
	return 0;
}

int sdp_origin_init(struct sdp_origin_state *st, const char *user,
		    uint64_t sess_id)
{
	size_t n;

	if (!user)
		user = "-";
	n = strlen(user);
	if (!sdp_is_token(user, n) || n >= sizeof(st->user))
		return EINVAL;
	memset(st, 0, sizeof(*st));
	memcpy(st->user, user, n + 1);
	st->id = sess_id & ((UINT64_C(1) << 62) - 1);
	st->version = st->id;
	return 0;
}

static int origin_stamp(const struct sdp_origin_state *st, struct sdp_session *s)
{
	char id[24], version[24];

	snprintf(id, sizeof(id), "%" PRIu64, st->id);
	snprintf(version, sizeof(version), "%" PRIu64, st->version);
	return sdp_origin_set(s, st->user, id, version, s->origin.addrtype,
			      s->origin.addr);
}

int sdp_origin_apply(struct sdp_origin_state *st, struct sdp_session *s)
{
	struct sbuf sb;
	const char *body;
	uint64_t h;
	int err;

	if (!st || !s)
		return EINVAL;
	sbuf_init(&sb);
	err = origin_stamp(st, s);
	if (err)
		goto out;
	err = sdp_encode(&sb, s);
	if (err)
		goto out;
	/* everything after "v=0" and the o= line */
	body = memchr(sb.p, '\n', sb.len);
	body = body ? memchr(body + 1, '\n', sb.len - (size_t)(body + 1 - sb.p)) : NULL;
	if (!body) {
		err = EINVAL;
		goto out;
	}
	body++;
	/* FNV: a change detector over our own output, not a table key */
	h = hash_fnv(body, sb.len - (size_t)(body - sb.p));
	if (st->sent && h != st->hash) {
		st->version++;
		err = origin_stamp(st, s);
		if (err)
			goto out;
	}
	st->hash = h;
	st->sent = true;
out:
	sbuf_free(&sb);
	return err;
}

enum sdp_dir sdp_dir_answer(enum sdp_dir offered)
{
	switch (offered) {
	case SDP_DIR_SENDONLY: return SDP_DIR_RECVONLY;
	case SDP_DIR_RECVONLY: return SDP_DIR_SENDONLY;
	case SDP_DIR_INACTIVE: return SDP_DIR_INACTIVE;
	default: return SDP_DIR_SENDRECV;
	}
}

enum sdp_dir sdp_media_dir(const struct sdp_session *s, unsigned idx)
{
	if (idx >= s->media_n)
		return s->dir != SDP_DIR_UNSET ? s->dir : SDP_DIR_SENDRECV;
	return effective_dir(s, &s->media[idx]);
}

int sdp_media_set_dir(struct sdp_session *s, unsigned idx, enum sdp_dir dir)
{
	if (idx >= s->media_n || dir > SDP_DIR_INACTIVE)
		return EINVAL;
	s->media[idx].dir = dir;
	return 0;
}

bool sdp_is_hold(const struct sdp_session *s, unsigned idx)
{
	enum sdp_dir dir;

	if (idx >= s->media_n)
		return false;
	dir = effective_dir(s, &s->media[idx]);
	return dir == SDP_DIR_SENDONLY || dir == SDP_DIR_INACTIVE ||
	       conn_is_null(media_conn(s, &s->media[idx]));
}

int sdp_audio_index(const struct sdp_session *s)
{
	for (unsigned i = 0; i < s->media_n; i++) {
		if (sdp_media_is_audio(&s->media[i]) && s->media[i].port)
			return (int)i;
	}
	return -1;
}

int sdp_remote_rtp(const struct sdp_session *s, unsigned idx,
		   struct sockaddr_storage *ss)
{
	const struct sdp_media *m;
	const struct sdp_conn *c;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	if (!s || !ss || idx >= s->media_n)
		return EINVAL;
	m = &s->media[idx];
	if (!m->port)
		return ENOENT;
	c = media_conn(s, m);
	if (!c)
		return EDESTADDRREQ;
	if (strcasecmp(c->nettype, "IN") != 0)
		return EAFNOSUPPORT;
	memset(ss, 0, sizeof(*ss));
	if (strcasecmp(c->addrtype, "IP4") == 0) {
		if (inet_pton(AF_INET, c->addr, &sin->sin_addr) != 1)
			return EINVAL;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(m->port);
		return 0;
	}
	if (strcasecmp(c->addrtype, "IP6") == 0) {
		if (inet_pton(AF_INET6, c->addr, &sin6->sin6_addr) != 1)
			return EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(m->port);
		return 0;
	}
	return EAFNOSUPPORT;
}

static uint32_t fmt_clock(const struct sdp_fmt *f)
{
	/* the static payload types KubeVox knows are all clocked at 8 kHz */
	return f->enc ? f->clock : 8000;
}

int sdp_first_codec(const struct sdp_session *s, unsigned idx,
		    struct sdp_codec_choice *c)
{
	const struct sdp_media *m;
	enum cfg_codec codec;
	int first = -1;

	if (!s || !c || idx >= s->media_n || !s->media[idx].rtp)
		return EINVAL;
	m = &s->media[idx];
	c->codec = CFG_CODEC_COUNT;
	c->pt = 0;
	c->clock = 0;
	c->te_pt = -1;
	for (unsigned i = 0; i < m->fmt_n && first < 0; i++) {
		if (sdp_fmt_codec(s, m, i) != CFG_CODEC_TELEPHONE_EVENT)
			first = (int)i;
	}
	if (first < 0)
		return ENOENT;
	codec = sdp_fmt_codec(s, m, (unsigned)first);
	c->codec = codec;
	c->pt = m->fmt[first].pt;
	c->clock = fmt_clock(&m->fmt[first]);
	for (unsigned i = 0; i < m->fmt_n; i++) {
		if (sdp_fmt_codec(s, m, i) != CFG_CODEC_TELEPHONE_EVENT)
			continue;
		if (c->te_pt < 0 || m->fmt[i].clock == c->clock)
			c->te_pt = m->fmt[i].pt;
		if (m->fmt[i].clock == c->clock)
			break;
	}
	return codec == CFG_CODEC_COUNT ? ENOTSUP : 0;
}

void sdp_drop_telephone_event(struct sdp_session *s)
{
	for (unsigned i = 0; i < s->media_n; i++) {
		struct sdp_media *m = &s->media[i];
		unsigned n = 0, others = 0;

		if (!sdp_media_is_audio(m) || !m->rtp)
			continue;
		for (unsigned j = 0; j < m->fmt_n; j++) {
			if (sdp_fmt_codec(s, m, j) != CFG_CODEC_TELEPHONE_EVENT)
				others++;
		}
		if (!others)
			continue;
		/* In place: fmt[j] is read before anything is written at j. */
		for (unsigned j = 0; j < m->fmt_n; j++) {
			if (sdp_fmt_codec(s, m, j) != CFG_CODEC_TELEPHONE_EVENT)
				m->fmt[n++] = m->fmt[j];
		}
		m->fmt_n = n;
	}
}
