/*
 * print.c - building SIP responses from a decoded request (RFC 3261 §8.2.6,
 * §16.7 for the Via copy) and the deterministic To-tag.
 */
#include <errno.h>
#include <string.h>

#include "sip/print.h"
#include "util/hash.h"

const char sip_server_name[] = "KubeVox";

struct reason {
	uint16_t code;
	const char *text;
};

/* RFC 3261 §21 and the IANA "Response Codes" registry; sorted by code. */
static const struct reason reasons[] = {
	{100, "Trying"},
	{180, "Ringing"},
	{181, "Call Is Being Forwarded"},
	{182, "Queued"},
	{183, "Session Progress"},
	{199, "Early Dialog Terminated"},
	{200, "OK"},
	{202, "Accepted"},
	{204, "No Notification"},
	{300, "Multiple Choices"},
	{301, "Moved Permanently"},
	{302, "Moved Temporarily"},
	{305, "Use Proxy"},
	{380, "Alternative Service"},
	{400, "Bad Request"},
	{401, "Unauthorized"},
	{402, "Payment Required"},
	{403, "Forbidden"},
	{404, "Not Found"},
	{405, "Method Not Allowed"},
	{406, "Not Acceptable"},
	{407, "Proxy Authentication Required"},
	{408, "Request Timeout"},
	{410, "Gone"},
	{412, "Conditional Request Failed"},
	{413, "Request Entity Too Large"},
	{414, "Request-URI Too Long"},
	{415, "Unsupported Media Type"},
	{416, "Unsupported URI Scheme"},
	{417, "Unknown Resource-Priority"},
	{420, "Bad Extension"},
	{421, "Extension Required"},
	{422, "Session Interval Too Small"},
	{423, "Interval Too Brief"},
	{424, "Bad Location Information"},
	{428, "Use Identity Header"},
	{429, "Provide Referrer Identity"},
	{430, "Flow Failed"},
	{433, "Anonymity Disallowed"},
	{436, "Bad Identity-Info"},
	{437, "Unsupported Certificate"},
	{438, "Invalid Identity Header"},
	{439, "First Hop Lacks Outbound Support"},
	{440, "Max-Breadth Exceeded"},
	{469, "Bad Info Package"},
	{470, "Consent Needed"},
	{480, "Temporarily Unavailable"},
	{481, "Call/Transaction Does Not Exist"},
	{482, "Loop Detected"},
	{483, "Too Many Hops"},
	{484, "Address Incomplete"},
	{485, "Ambiguous"},
	{486, "Busy Here"},
	{487, "Request Terminated"},
	{488, "Not Acceptable Here"},
	{489, "Bad Event"},
	{491, "Request Pending"},
	{493, "Undecipherable"},
	{494, "Security Agreement Required"},
	{500, "Server Internal Error"},
	{501, "Not Implemented"},
	{502, "Bad Gateway"},
	{503, "Service Unavailable"},
	{504, "Server Time-out"},
	{505, "Version Not Supported"},
	{513, "Message Too Large"},
	{555, "Push Notification Service Not Supported"},
	{580, "Precondition Failure"},
	{600, "Busy Everywhere"},
	{603, "Decline"},
	{604, "Does Not Exist Anywhere"},
	{606, "Not Acceptable"},
	{607, "Unwanted"},
	{608, "Rejected"},
};

const char *sip_reason(uint16_t scode)
{
	size_t lo = 0, hi = sizeof(reasons) / sizeof(reasons[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (reasons[mid].code == scode)
			return reasons[mid].text;
		if (reasons[mid].code < scode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "Unknown";
}

/* A caller-supplied header value must not smuggle in a line break. */
static bool one_line(const char *s)
{
	return !s || !strpbrk(s, "\r\n");
}

/* Every response prints a few numbers; snprintf() is most of its cost. */
static void append_u64(struct sbuf *sb, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sbuf_append(sb, buf + i, sizeof(buf) - i);
}

static void line(struct sbuf *sb, const char *name, const struct pl *val)
{
	sbuf_append_str(sb, name);
	sbuf_append_pl(sb, val);
	sbuf_append(sb, "\r\n", 2);
}

/*
 * Appends to sb.  The Via, From and To values are copied as received (a
 * folded value stays folded, which RFC 3261 allows); CSeq is reprinted in
 * its canonical form.  Headers absent from req (a malformed request being
 * answered with 400) are left out.  Returns 0, EINVAL or ENOMEM.
 */
int sip_print_response(struct sbuf *sb, const struct sip_msg *req,
		       uint16_t scode, const char *reason, const char *totag,
		       const char *extra, const char *ctype,
		       const struct pl *body)
{
	size_t blen = body && body->p ? body->l : 0;

	if (!sb || !req || !req->req || scode < 100 || scode > 699)
		return EINVAL;
	if (!reason)
		reason = sip_reason(scode);
	if (!one_line(reason) || !one_line(totag) || !one_line(ctype))
		return EINVAL;

	sbuf_append(sb, "SIP/2.0 ", 8);
	append_u64(sb, scode);
	sbuf_append(sb, " ", 1);
	sbuf_append_str(sb, reason);
	sbuf_append(sb, "\r\n", 2);
	for (unsigned i = 0; i < req->hdrc; i++) {
		if (req->hdrv[i].id == SIP_HDR_VIA)
			line(sb, "Via: ", &req->hdrv[i].val);
	}
	if (pl_isset(&req->from.whole))
		line(sb, "From: ", &req->from.whole);
	if (pl_isset(&req->to.whole)) {
		sbuf_append_str(sb, "To: ");
		sbuf_append_pl(sb, &req->to.whole);
		if (totag && *totag && scode > 100 && !pl_isset(&req->to.tag)) {
			sbuf_append_str(sb, ";tag=");
			sbuf_append_str(sb, totag);
		}
		sbuf_append(sb, "\r\n", 2);
	}
	if (pl_isset(&req->callid))
		line(sb, "Call-ID: ", &req->callid);
	if (pl_isset(&req->cseq.method)) {
		sbuf_append(sb, "CSeq: ", 6);
		append_u64(sb, req->cseq.num);
		sbuf_append(sb, " ", 1);
		line(sb, "", &req->cseq.method);
	}
	/* RFC 3261 §12.1.1: an answer that makes a dialog carries the
	 * request's Record-Route, so the caller's route set passes through
	 * the proxies that asked to stay (the front door, k8s/front); a
	 * SUBSCRIBE makes one too (RFC 6665 §4.1.2.1). */
	if (scode > 100 && scode < 300 && (pl_eq_str(&req->cseq.method, "INVITE") ||
					   pl_eq_str(&req->cseq.method, "SUBSCRIBE"))) {
		for (unsigned i = 0; i < req->hdrc; i++) {
			if (req->hdrv[i].id == SIP_HDR_RECORD_ROUTE)
				line(sb, "Record-Route: ", &req->hdrv[i].val);
		}
	}
	if (extra)
		sbuf_append_str(sb, extra);
	sbuf_append(sb, "Server: ", 8);
	sbuf_append_str(sb, sip_server_name);
	sbuf_append(sb, "\r\n", 2);
	if (blen && ctype) {
		sbuf_append(sb, "Content-Type: ", 14);
		sbuf_append_str(sb, ctype);
		sbuf_append(sb, "\r\n", 2);
	}
	sbuf_append(sb, "Content-Length: ", 16);
	append_u64(sb, blen);
	sbuf_append(sb, "\r\n\r\n", 4);
	if (blen)
		sbuf_append(sb, body->p, blen);
	return sbuf_err(sb) ? ENOMEM : 0;
}


void sip_totag(const struct hash_key *key, const struct sip_msg *req, char *buf,
	       size_t size)
{
	static const char hex[] = "0123456789abcdef";
	struct hash_sip_state st;
	uint64_t h;
	size_t i;

	if (!buf || !size)
		return;
	if (!req) {
		buf[0] = '\0';
		return;
	}
	hash_sip_init(&st, key);
	hash_sip_part(&st, req->callid.p, req->callid.l, false);
	hash_sip_part(&st, req->from.tag.p, req->from.tag.l, false);
	hash_sip_part(&st, req->via.branch.p, req->via.branch.l, false);
	/* RFC 2543 peers send no RFC 3261 branch: let the CSeq number tell
	 * their requests apart */
	if (req->via.branch.l < SIP_MAGIC_COOKIE_LEN ||
	    strncmp(req->via.branch.p, SIP_MAGIC_COOKIE, SIP_MAGIC_COOKIE_LEN) != 0) {
		unsigned char n[4] = {
			(unsigned char)(req->cseq.num >> 24),
			(unsigned char)(req->cseq.num >> 16),
			(unsigned char)(req->cseq.num >> 8),
			(unsigned char)req->cseq.num,
		};

		hash_sip_add(&st, n, sizeof(n));
	}
	h = hash_sip_final(&st);
	for (i = 0; i < 16 && i + 1 < size; i++)
		buf[i] = hex[(h >> (60 - 4 * i)) & 0xf];
	buf[i] = '\0';
}
