/*
 * mwi.c - message waiting (RFC 3842): the counts of every configured
 * mailbox, unsolicited NOTIFYs to endpoints, SUBSCRIBE dialogs.
 *
 * The counts are kept per mailbox as last read from the spool; a change
 * is what differs from them (voicemail's mwi_mailbox_changed(), a poll, a
 * reload).  Subscriptions are in this process's memory only (mwi.h says
 * why that is enough in a cluster); a NOTIFY is never sent on a dialog
 * while the previous one waits for its answer (RFC 6665 §4.2.2): a change
 * meanwhile is sent once that answer came.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbx/authn.h"
#include "pbx/core.h"
#include "pbx/mwi.h"
#include "pbx/mwibox.h"
#include "pbx/reach.h"
#include "sip/dialog.h"
#include "sip/print.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/list.h"
#include "util/rand.h"
#include "util/sbuf.h"
#include "util/vec.h"

#define MWI_EVENT "message-summary"
#define MWI_CTYPE "application/simple-message-summary"
/* Subscription durations (s): RFC 3842 §6.2 suggests an hour; shorter
 * than a minute would be refreshes for nothing (423). */
#define MWI_EXPIRES_DEFAULT 3600
#define MWI_EXPIRES_MIN 60
#define MWI_EXPIRES_MAX 3600
/* From's user of unsolicited NOTIFYs: res_pjsip's default_from_user. */
#define MWI_FROM_USER "asterisk"

struct mbox {
	struct hnode hn;
	char *name;                  /* "MAILBOX@CONTEXT" */
	struct mwi_counts c;
};

/* Every mailbox the configuration names: by name, and in a row. */
struct mboxes {
	struct htab by_name;
	VEC(struct mbox *) all;
};

enum scope {
	SCOPE_ALL,                   /* every phone, through whoever holds it */
	SCOPE_OWN,                   /* phones whose flows this replica holds */
};

struct mwi {
	struct pbx *pbx;
	struct mboxes boxes;
	struct tmr poll;
	unsigned pollfreq;           /* 0: not polling */
	struct hash_key key;         /* of the Call-ID table */
	struct htab subs;            /* struct mwi_sub by Call-ID */
	struct list_node sub_list;
	struct list_node sends;      /* unsolicited NOTIFYs in flight */
	bool draining;
};

struct mwi_sub {
	struct hnode hn;
	struct list_node le;
	struct mwi *m;
	struct sip_dialog *dlg;
	char endpoint[80];
	char *mailboxes;             /* "A@B,C@D" */
	char account[200];           /* Message-Account */
	bool replaces;               /* its endpoint's unsolicited MWI stops */
	uint32_t min_expires;        /* its endpoint's sub_min_expiry */
	struct tmr tmr;              /* expiry */
	struct sip_ctx *ctx;         /* the NOTIFY waiting for its answer */
	bool dirty;                  /* something to tell once it is answered */
	bool ending;                 /* next NOTIFY says terminated */
	bool end_sent;
	const char *end_reason;      /* RFC 6665 reason, or NULL */
};

/* One unsolicited NOTIFY in flight. */
struct unsol {
	struct list_node le;
	struct mwi *m;
	struct sip_ctx *ctx;
	char endpoint[80];
	char contact[200];
};

/* An endpoint's contacts being looked up to send them its summary. */
struct unsol_lookup {
	struct mwi *m;
	char endpoint[80];
	char from_user[80];
	char from_domain[128];
	char account[96];            /* the user of Message-Account */
	struct mwi_counts c;
	enum scope scope;
};

/* ---- lists of mailboxes: "A@B,C@D" ---- */

static bool item_next(const char **pos, const char **item, size_t *len)
{
	const char *p = *pos, *comma;

	if (!p || !*p)
		return false;
	comma = strchr(p, ',');
	*item = p;
	*len = comma ? (size_t)(comma - p) : strlen(p);
	*pos = comma ? comma + 1 : NULL;
	return true;
}

static bool list_has(const char *list, const char *name, size_t len)
{
	const char *pos = list, *it;
	size_t l;

	while (item_next(&pos, &it, &l))
		if (l == len && !memcmp(it, name, len))
			return true;
	return false;
}

/* The MAILBOX part of a list's first item (Message-Account's user). */
static void first_box(const char *list, char *out, size_t size)
{
	size_t n = list ? strcspn(list, "@,") : 0;

	snprintf(out, size, "%.*s", (int)n, list ? list : "");
}

/* ---- the counts ---- */

static struct mbox *boxes_find(const struct mboxes *bs, const char *name, size_t len)
{
	uint64_t h = hash_fnv(name, len);

	for (struct hnode *n = htab_bucket(&bs->by_name, h); n; n = n->next) {
		struct mbox *b = htab_entry(n, struct mbox, hn);

		if (n->hash == h && !strncmp(b->name, name, len) && !b->name[len])
			return b;
	}
	return NULL;
}

static void boxes_free(struct mboxes *bs)
{
	for (size_t i = 0; i < bs->all.n; i++) {
		free(bs->all.v[i]->name);
		free(bs->all.v[i]);
	}
	vec_free(&bs->all);
	htab_free(&bs->by_name);
}

static struct mbox *mbox_find(struct mwi *m, const char *name, size_t len)
{
	return boxes_find(&m->boxes, name, len);
}

static void counts_of(struct mwi *m, const char *name, size_t len, struct mwi_counts *c)
{
	struct mbox *b = mbox_find(m, name, len);

	if (b)
		mwibox_add(c, &b->c);
}

/* Every mailbox the configuration names, with the counts already known
 * of those it named before (a new one is read now). */
static void boxes_rebuild(struct mwi *m)
{
	const struct kv_config *cfg = m->pbx->cfg;
	struct mboxes nb = { 0 };
	const char *pos, *it;
	size_t len;

	if (htab_init(&nb.by_name, 64))
		return;
	for (size_t i = 0; i < cfg->endpoints_n + cfg->aors_n; i++) {
		pos = i < cfg->endpoints_n ? cfg->endpoints[i].mailboxes
					   : cfg->aors[i - cfg->endpoints_n].mailboxes;
		while (item_next(&pos, &it, &len)) {
			struct mbox *b, *old;

			if (boxes_find(&nb, it, len))
				continue;
			b = calloc(1, sizeof(*b));
			if (!b || !(b->name = strndup(it, len)) || vec_push(&nb.all, b)) {
				if (b)
					free(b->name);
				free(b);
				continue;
			}
			old = mbox_find(m, it, len);
			if (old)
				b->c = old->c;
			else
				mwibox_count(cfg->astspooldir, it, len, &b->c);
			htab_insert(&nb.by_name, &b->hn, hash_fnv(it, len));
		}
	}
	boxes_free(&m->boxes);
	m->boxes = nb;
}

/* ---- unsolicited NOTIFYs ---- */

static void unsol_free(struct unsol *u)
{
	list_unlink(&u->le);
	free(u);
}

static void unsol_response(int err, const struct sip_msg *resp, void *arg)
{
	struct unsol *u = arg;
	char q[220];

	if (resp && resp->scode < 200)
		return;
	if (err || !resp || resp->scode >= 300) {
		u->m->pbx->stats.mwi_notify_failed++;
		log_event(LOG_WARN, "mwi_notify_failed", "endpoint=%s contact=%s status=%u error=%d",
			  u->endpoint, log_q(q, sizeof(q), u->contact, strlen(u->contact)),
			  resp ? resp->scode : 0, err);
	}
	u->ctx = NULL;
	unsol_free(u);
}

static const char *reach_name(enum reach_how how)
{
	switch (how) {
	case REACH_PATH:
		return "path";
	case REACH_REPLICA:
		return "replica";
	case REACH_REPLICA_DEAD:
		return "replica_dead";
	case REACH_OWN_FLOW:
	default:
		return "flow";
	}
}

/* The out-of-dialog NOTIFY of res_pjsip_mwi's unsolicited MWI to one
 * contact: To is the contact, Subscription-State active, no expiry. */
static void unsol_send(struct mwi *m, const struct unsol_lookup *ul,
		       const struct loc_contact *ct)
{
	struct pbx *pbx = m->pbx;
	struct sip_peer dst;
	struct sbuf sb, body;
	struct unsol *u;
	enum reach_how how;
	char route[512], ip[64], host[140], branch[48], callid[48], tag[24], acct[260];
	char q[220];
	uint16_t port = 0;
	int err;

	how = reach_contact(pbx, ct, route, sizeof(route), &dst);
	if (sip_stack_local_addr(pbx->stack, &dst, ip, sizeof(ip), &port))
		return;
	u = calloc(1, sizeof(*u));
	if (!u)
		return;
	u->m = m;
	list_node_init(&u->le);
	snprintf(u->endpoint, sizeof(u->endpoint), "%s", ul->endpoint);
	snprintf(u->contact, sizeof(u->contact), "%s", ct->uri);
	if (ul->from_domain[0])
		snprintf(host, sizeof(host), "%s", ul->from_domain);
	else
		snprintf(host, sizeof(host), dst.addr.ss_family == AF_INET6 ? "[%s]" : "%s", ip);
	snprintf(acct, sizeof(acct), "sip:%s@%s", ul->account, host);
	rand_hex(callid, 33);
	rand_hex(tag, 17);
	sip_stack_new_branch(pbx->stack, branch, sizeof(branch));

	sbuf_init(&sb);
	sbuf_init(&body);
	mwibox_body(&body, &ul->c, acct);
	sbuf_printf(&sb, "NOTIFY %s SIP/2.0\r\n", ct->uri);
	err = sip_stack_print_via(pbx->stack, &sb, &dst, branch);
	sbuf_append_str(&sb, "Max-Forwards: 70\r\n");
	if (route[0])
		sbuf_printf(&sb, "Route: %s\r\n", route);
	sbuf_printf(&sb, "From: <sip:%s@%s>;tag=%s\r\nTo: <%s>\r\n"
		    "Call-ID: %s@kubevox\r\nCSeq: 1 NOTIFY\r\n",
		    ul->from_user, host, tag, ct->uri, callid);
	sbuf_printf(&sb, dst.addr.ss_family == AF_INET6 ? "Contact: <sip:%s@[%s]:%u%s>\r\n"
		    : "Contact: <sip:%s@%s:%u%s>\r\n", ul->from_user, ip, port,
		    dst.proto == SIP_PROTO_TCP ? ";transport=tcp" : "");
	sbuf_printf(&sb, "Event: " MWI_EVENT "\r\nSubscription-State: active\r\n"
		    "Allow-Events: " MWI_EVENT "\r\nUser-Agent: %s\r\n"
		    "Content-Type: " MWI_CTYPE "\r\nContent-Length: %zu\r\n\r\n",
		    sip_server_name, body.len);
	sbuf_append(&sb, body.p, body.len);
	if (!err && (sbuf_err(&sb) || sbuf_err(&body)))
		err = ENOMEM;
	if (!err)
		err = sip_ctx_send(pbx->stack, &u->ctx, &dst, sb.p, sb.len, unsol_response, u);
	sbuf_free(&sb);
	sbuf_free(&body);
	log_event(err ? LOG_WARN : LOG_INFO, "mwi_notify",
		  "endpoint=%s contact=%s new=%u old=%u urgent=%u via=%s error=%d",
		  ul->endpoint, log_q(q, sizeof(q), ct->uri, strlen(ct->uri)), ul->c.new_msgs,
		  ul->c.old_msgs, ul->c.urgent_new, reach_name(how), err);
	if (err) {
		pbx->stats.mwi_notify_failed++;
		free(u);
		return;
	}
	pbx->stats.mwi_notify_sent++;
	list_push_back(&m->sends, &u->le);
}

/* Does a subscription of endpoint ep that replaces unsolicited MWI cover
 * this mailbox? */
static bool replaced(struct mwi *m, const char *ep, const char *name, size_t len)
{
	struct list_node *it;

	list_foreach(it, &m->sub_list) {
		struct mwi_sub *s = list_entry(it, struct mwi_sub, le);

		if (s->replaces && !s->ending && !strcmp(s->endpoint, ep) &&
		    list_has(s->mailboxes, name, len))
			return true;
	}
	return false;
}

/* What endpoint ep is told unsolicited: its mailboxes summed (Asterisk's
 * aggregate_mwi), those a subscription replaced left out; false when
 * nothing is left to tell. */
static bool unsol_prepare(struct mwi *m, const struct cfg_endpoint *ep, enum scope scope,
			  struct unsol_lookup *ul)
{
	const char *pos = ep->mailboxes, *it;
	size_t len;
	bool any = false;

	memset(ul, 0, sizeof(*ul));
	ul->m = m;
	ul->scope = scope;
	while (item_next(&pos, &it, &len)) {
		if (replaced(m, ep->name, it, len))
			continue;
		counts_of(m, it, len, &ul->c);
		any = true;
	}
	snprintf(ul->endpoint, sizeof(ul->endpoint), "%s", ep->name);
	snprintf(ul->from_user, sizeof(ul->from_user), "%s",
		 ep->mwi_from_user ? ep->mwi_from_user : MWI_FROM_USER);
	snprintf(ul->from_domain, sizeof(ul->from_domain), "%s",
		 ep->from_domain ? ep->from_domain : "");
	first_box(ep->mailboxes, ul->account, sizeof(ul->account));
	return any;
}

static bool in_scope(struct mwi *m, enum scope scope, const struct loc_contact *ct)
{
	const char *self = m->pbx->cfg->cluster.replica;

	return scope == SCOPE_ALL || !ct->src.replica[0] || !strcmp(ct->src.replica, self);
}

static void unsol_found(enum loc_result res, const struct loc_contact *ct, size_t n,
			void *arg)
{
	struct unsol_lookup *ul = arg;

	for (size_t i = 0; res == LOC_OK && i < n; i++)
		if (in_scope(ul->m, ul->scope, &ct[i]))
			unsol_send(ul->m, ul, &ct[i]);
	free(ul);
}

static void notify_endpoint(struct mwi *m, const struct cfg_endpoint *ep, enum scope scope)
{
	struct unsol_lookup base;

	if (!unsol_prepare(m, ep, scope, &base))
		return;
	for (size_t i = 0; i < ep->aors_n; i++) {
		struct unsol_lookup *ul = malloc(sizeof(*ul));
		struct pl aor = pl_from_str(ep->aors[i]->name);

		if (!ul)
			continue;
		*ul = base;
		if (state_lookup(m->pbx->state, &aor, unsol_found, ul))
			free(ul);
	}
}

void mwi_registered(struct mwi *m, const struct cfg_endpoint *ep,
		    const struct loc_contact *contacts, size_t n, const struct pl *callid)
{
	struct unsol_lookup ul;

	if (!m || !ep || !ep->mailboxes || !unsol_prepare(m, ep, SCOPE_ALL, &ul))
		return;
	for (size_t i = 0; i < n; i++)
		if (pl_eq_str(callid, contacts[i].callid))
			unsol_send(m, &ul, &contacts[i]);
}

/* ---- subscriptions ---- */

static uint64_t callid_hash(const struct mwi *m, const char *p, size_t n)
{
	return hash_sip(&m->key, p, n);
}

static void sub_free(struct mwi_sub *s)
{
	struct mwi *m = s->m;

	htab_remove(&m->subs, &s->hn);
	list_unlink(&s->le);
	tmr_cancel(m->pbx->tmrq, &s->tmr);
	if (s->ctx)
		sip_ctx_abandon(s->ctx);
	sip_dialog_free(s->dlg);
	free(s->mailboxes);
	m->pbx->stats.mwi_subscriptions--;
	free(s);
}

static int sub_notify(struct mwi_sub *s);

static void sub_response(int err, const struct sip_msg *resp, void *arg)
{
	struct mwi_sub *s = arg;

	if (resp && resp->scode < 200)
		return;
	s->ctx = NULL;
	if (err || !resp || resp->scode >= 300) {
		s->m->pbx->stats.mwi_notify_failed++;
		/* RFC 6665 §4.2.2: the subscriber is gone or refuses. */
		log_event(s->end_sent ? LOG_INFO : LOG_WARN, "mwi_subscription_end",
			  "endpoint=%s callid=%s reason=notify_failed status=%u error=%d",
			  s->endpoint, s->dlg->callid, resp ? resp->scode : 0, err);
		sub_free(s);
		return;
	}
	if (s->end_sent) {
		sub_free(s);
		return;
	}
	if (s->dirty) {
		s->dirty = false;
		if (sub_notify(s) && s->ending)
			sub_free(s);
	}
}

/* The subscription's state to the subscriber, now or once the NOTIFY in
 * flight is answered; never frees s (an error with nothing in flight
 * leaves a subscription that is ending to the caller). */
static int sub_notify(struct mwi_sub *s)
{
	struct pbx *pbx = s->m->pbx;
	struct mwi_counts c = { 0 };
	const char *pos = s->mailboxes, *it;
	struct sbuf sb, body, extra;
	struct sip_peer dst;
	char branch[48];
	struct pl b;
	size_t len;
	int err;

	if (s->ctx) {
		s->dirty = true;
		return 0;
	}
	while (item_next(&pos, &it, &len))
		counts_of(s->m, it, len, &c);
	sbuf_init(&sb);
	sbuf_init(&body);
	sbuf_init(&extra);
	mwibox_body(&body, &c, s->account);
	sbuf_append_str(&extra, "Event: " MWI_EVENT "\r\n");
	if (s->ending)
		sbuf_printf(&extra, "Subscription-State: terminated%s%s\r\n",
			    s->end_reason ? ";reason=" : "", s->end_reason ? s->end_reason : "");
	else
		sbuf_printf(&extra, "Subscription-State: active;expires=%" PRIu64 "\r\n",
			    (tmr_remaining(pbx->tmrq, &s->tmr) + 999) / 1000);
	sbuf_printf(&extra, "Contact: <%s>\r\nAllow-Events: " MWI_EVENT "\r\n",
		    s->dlg->lcontact);
	sip_stack_new_branch(pbx->stack, branch, sizeof(branch));
	err = sbuf_err(&body) || sbuf_err(&extra) ? ENOMEM : 0;
	b.p = body.p;
	b.l = body.len;
	if (!err)
		err = sip_dialog_request(s->dlg, pbx->stack, "NOTIFY", 0, branch,
					 sbuf_cstr(&extra), MWI_CTYPE, &b, &sb, &dst);
	if (!err)
		err = sip_ctx_send(pbx->stack, &s->ctx, &dst, sb.p, sb.len, sub_response, s);
	sbuf_free(&sb);
	sbuf_free(&body);
	sbuf_free(&extra);
	log_event(err ? LOG_WARN : LOG_INFO, "mwi_notify",
		  "endpoint=%s callid=%s state=%s new=%u old=%u urgent=%u error=%d",
		  s->endpoint, s->dlg->callid, s->ending ? "terminated" : "active",
		  c.new_msgs, c.old_msgs, c.urgent_new, err);
	if (err) {
		s->ctx = NULL;
		pbx->stats.mwi_notify_failed++;
		return err;
	}
	pbx->stats.mwi_notify_sent++;
	s->end_sent = s->ending;
	return 0;
}

static void sub_end(struct mwi_sub *s, const char *reason)
{
	s->ending = true;
	s->end_reason = reason;
	tmr_cancel(s->m->pbx->tmrq, &s->tmr);
	if (sub_notify(s))
		sub_free(s);
}

static void sub_expired(void *arg)
{
	struct mwi_sub *s = arg;

	log_event(LOG_INFO, "mwi_subscription_end", "endpoint=%s callid=%s reason=expired",
		  s->endpoint, s->dlg->callid);
	sub_end(s, "timeout");
}

/* ---- changes ---- */

static void changed(struct mwi *m, const struct mbox *b, enum scope scope)
{
	const struct kv_config *cfg = m->pbx->cfg;
	size_t len = strlen(b->name);
	struct list_node *it, *tmp;

	log_event(LOG_INFO, "mwi_changed", "mailbox=%s new=%u old=%u urgent=%u", b->name,
		  b->c.new_msgs, b->c.old_msgs, b->c.urgent_new);
	list_foreach_safe(it, tmp, &m->sub_list) {
		struct mwi_sub *s = list_entry(it, struct mwi_sub, le);

		if (!s->ending && list_has(s->mailboxes, b->name, len))
			sub_notify(s);
	}
	for (size_t i = 0; i < cfg->endpoints_n; i++)
		if (list_has(cfg->endpoints[i].mailboxes, b->name, len))
			notify_endpoint(m, &cfg->endpoints[i], scope);
}

static void recount(struct mwi *m, struct mbox *b, enum scope scope)
{
	struct mwi_counts c;

	if (mwibox_count(m->pbx->cfg->astspooldir, b->name, strlen(b->name), &c) ||
	    mwibox_equal(&c, &b->c))
		return;
	b->c = c;
	changed(m, b, scope);
}

/* Who a change this replica found is told to.  With pollmailboxes every
 * replica finds it too, and each tells the phones whose flows it holds
 * (each phone hears it once); without, this replica tells every phone,
 * through the replica holding its flow. */
static enum scope change_scope(const struct mwi *m)
{
	return m->pbx->cfg->vm.pollmailboxes ? SCOPE_OWN : SCOPE_ALL;
}

static void recount_all(struct mwi *m)
{
	for (size_t i = 0; i < m->boxes.all.n; i++)
		recount(m, m->boxes.all.v[i], change_scope(m));
}

static void poll_tick(void *arg);

static void poll_start(struct mwi *m)
{
	const struct kv_config *cfg = m->pbx->cfg;

	tmr_cancel(m->pbx->tmrq, &m->poll);
	m->pollfreq = cfg->vm.pollmailboxes ? cfg->vm.pollfreq : 0;
	if (m->pollfreq)
		tmr_start(m->pbx->tmrq, &m->poll, (uint64_t)m->pollfreq * 1000, poll_tick, m);
}

static void poll_tick(void *arg)
{
	struct mwi *m = arg;

	recount_all(m);
	poll_start(m);
}

void mwi_mailbox_changed(struct mwi *m, const char *mailbox)
{
	struct mbox *b;

	if (!m || !mailbox)
		return;
	b = mbox_find(m, mailbox, strlen(mailbox));
	if (!b)
		return;             /* no endpoint or aor watches it */
	recount(m, b, change_scope(m));
}

/* ---- SUBSCRIBE ---- */

/* A SUBSCRIBE's Event is message-summary, else 489 (RFC 6665 §4.2.1.1). */
static bool event_ok(struct sip_stx *stx, const struct sip_msg *req)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_EVENT);
	struct pl ev;

	if (h) {
		const char *semi;

		ev = h->val;
		semi = pl_chr(&ev, ';');
		if (semi)
			ev.l = (size_t)(semi - ev.p);
		pl_trim(&ev);
		if (pl_eq_str(&ev, MWI_EVENT))
			return true;
	}
	sip_stx_reply(stx, 489, NULL, NULL, "Allow-Events: " MWI_EVENT "\r\n", NULL, NULL);
	return false;
}

/* Accept, when present, must admit our body type (RFC 6665 §4.2.1: 406). */
static bool accept_ok(struct sip_stx *stx, const struct sip_msg *req)
{
	struct pl v;
	unsigned it = 0;
	bool any = false;

	while (sip_msg_hdr_next(req, SIP_HDR_ACCEPT, &it, &v)) {
		const char *semi = pl_chr(&v, ';');

		if (semi)
			v.l = (size_t)(semi - v.p);
		pl_trim(&v);
		any = true;
		if (pl_eqcase_str(&v, MWI_CTYPE) || pl_eqcase_str(&v, "application/*") ||
		    pl_eqcase_str(&v, "*/*"))
			return true;
	}
	if (any)
		sip_stx_reply(stx, 406, NULL, NULL, "Accept: " MWI_CTYPE "\r\n", NULL, NULL);
	return !any;
}

/* The duration asked: the Expires header, else the default; false when
 * answered (400 malformed). */
static bool expires_ok(struct sip_stx *stx, const struct sip_msg *req, uint32_t *out)
{
	const struct sip_hdr *h = sip_msg_hdr(req, SIP_HDR_EXPIRES);
	uint32_t e = MWI_EXPIRES_DEFAULT;

	if (h && sip_delta_seconds(&h->val, &e)) {
		sip_stx_reply(stx, 400, "Bad Request - invalid Expires", NULL, NULL, NULL, NULL);
		return false;
	}
	*out = e > MWI_EXPIRES_MAX ? MWI_EXPIRES_MAX : e;
	return true;
}

/* The endpoint's sub_min_expiry, as res_pjsip_pubsub applies it. */
static uint32_t min_expiry(const struct cfg_endpoint *ep)
{
	return ep && ep->sub_min_expiry ? ep->sub_min_expiry : MWI_EXPIRES_MIN;
}

/* 423 for a duration shorter than min (RFC 6665 §4.2.1.1); true if sent. */
static bool too_brief(struct sip_stx *stx, uint32_t e, uint32_t min)
{
	char extra[40];

	if (!e || e >= min)
		return false;
	snprintf(extra, sizeof(extra), "Min-Expires: %u\r\n", min);
	sip_stx_reply(stx, 423, NULL, NULL, extra, NULL, NULL);
	return true;
}

static void reply_expires(struct sip_stx *stx, uint32_t e, const char *totag,
			  const char *lcontact)
{
	char extra[400];

	snprintf(extra, sizeof(extra), "Expires: %u\r\nContact: <%s>\r\n"
		 "Allow-Events: " MWI_EVENT "\r\n", e, lcontact);
	sip_stx_reply(stx, 200, NULL, totag, extra, NULL, NULL);
}

struct sub_req {
	struct mwi *m;
	struct sip_stx *stx;
	struct kv_config *cfg;
	const struct cfg_endpoint *ep;
	struct sip_peer src;
	uint32_t expires;
	char resource[96];           /* Request-URI user, quoted for the log */
};

static void sub_log(const struct sub_req *r, uint16_t status, const char *why)
{
	log_event(status < 300 ? LOG_INFO : status == 401 ? LOG_DEBUG : LOG_WARN,
		  "mwi_subscribe", "endpoint=%s resource=%s status=%u reason=%s",
		  r->ep ? r->ep->name : "-", r->resource, status, why);
}

/* The mailboxes a SUBSCRIBE from ep to resource (an aor of ep; empty: the
 * endpoint, every aor of it) watches, as res_pjsip_mwi finds them; the
 * status to answer otherwise. */
static uint16_t sub_mailboxes(const struct cfg_endpoint *ep, const struct pl *resource,
			      struct sbuf *out, const char **why)
{
	for (size_t i = 0; i < ep->aors_n; i++) {
		const struct cfg_aor *a = ep->aors[i];
		const char *pos = a->mailboxes, *it;
		size_t len;

		if (resource->l && !pl_eq_str(resource, a->name))
			continue;
		while (item_next(&pos, &it, &len)) {
			if (list_has(out->len ? sbuf_cstr(out) : "", it, len))
				continue;
			if (list_has(ep->mailboxes, it, len) &&
			    !ep->mwi_subscribe_replaces_unsolicited) {
				/* Asterisk refuses it: the endpoint gets this
				 * mailbox unsolicited already. */
				*why = "unsolicited_mwi_configured";
				return 500;
			}
			if (out->len)
				sbuf_append_str(out, ",");
			sbuf_append(out, it, len);
		}
	}
	if (!out->len) {
		*why = "no_mailboxes";
		return 404;
	}
	return sbuf_err(out) ? 500 : 200;
}

static void sub_authenticated(enum authn_result res, const char *why, void *arg)
{
	struct sub_req *r = arg;
	struct mwi *m = r->m;
	struct pbx *pbx = m->pbx;
	const struct sip_msg *req = sip_stx_request(r->stx);
	struct sbuf boxes;
	struct mwi_sub *s = NULL;
	/* Valid until the answer: read before any sip_stx_reply(). */
	char ip[64], lcontact[128], ltag[24], host[128], box[80];
	uint16_t port = 0, status;

	sbuf_init(&boxes);
	if (res != AUTHN_OK) {
		sub_log(r, res == AUTHN_REJECTED ? 400 : 401, why);
		goto out;
	}
	if (!r->ep) {
		sip_stx_reply(r->stx, 403, NULL, NULL, NULL, NULL, NULL);
		sub_log(r, 403, "no_endpoint");
		goto out;
	}
	if (too_brief(r->stx, r->expires, min_expiry(r->ep))) {
		sub_log(r, 423, "interval_too_brief");
		goto out;
	}
	why = "ok";
	status = sub_mailboxes(r->ep, &req->ruri.user, &boxes, &why);
	if (status != 200) {
		sip_stx_reply(r->stx, status, NULL, NULL, NULL, NULL, NULL);
		sub_log(r, status, why);
		goto out;
	}
	if (sip_stack_local_addr(pbx->stack, &r->src, ip, sizeof(ip), &port)) {
		sip_stx_reply(r->stx, 500, NULL, NULL, NULL, NULL, NULL);
		sub_log(r, 500, "no_local_address");
		goto out;
	}
	snprintf(lcontact, sizeof(lcontact), r->src.addr.ss_family == AF_INET6 ?
		 "sip:[%s]:%u%s" : "sip:%s:%u%s", ip, port,
		 r->src.proto == SIP_PROTO_TCP ? ";transport=tcp" : "");
	rand_hex(ltag, 17);
	s = calloc(1, sizeof(*s));
	if (!s || !(s->mailboxes = strdup(sbuf_cstr(&boxes)))) {
		sip_stx_reply(r->stx, 500, NULL, NULL, NULL, NULL, NULL);
		goto out;
	}
	if (sip_dialog_uas_alloc(&s->dlg, req, &r->src, ltag, lcontact)) {
		sip_stx_reply(r->stx, 400, "Bad Request - no Contact", NULL, NULL, NULL, NULL);
		sub_log(r, 400, "no_contact");
		goto out;
	}
	s->m = m;
	list_node_init(&s->le);
	tmr_init(&s->tmr);
	snprintf(s->endpoint, sizeof(s->endpoint), "%s", r->ep->name);
	s->replaces = r->ep->mwi_subscribe_replaces_unsolicited;
	s->min_expires = min_expiry(r->ep);
	first_box(s->mailboxes, box, sizeof(box));
	snprintf(host, sizeof(host), "%.*s", (int)(req->ruri.host.l < 100 ? req->ruri.host.l : 0),
		 req->ruri.host.p);
	snprintf(s->account, sizeof(s->account), req->ruri.host_ipv6 ? "sip:%s@[%s]" : "sip:%s@%s",
		 box, host);
	htab_insert(&m->subs, &s->hn, callid_hash(m, s->dlg->callid, strlen(s->dlg->callid)));
	list_push_back(&m->sub_list, &s->le);
	pbx->stats.mwi_subscriptions++;
	pbx->stats.mwi_subscribes++;
	reply_expires(r->stx, r->expires, ltag, lcontact);
	log_event(LOG_INFO, "mwi_subscribe", "endpoint=%s callid=%s mailboxes=%s expires=%u "
		  "status=200", s->endpoint, s->dlg->callid, s->mailboxes, r->expires);
	if (r->expires) {
		tmr_start(pbx->tmrq, &s->tmr, (uint64_t)r->expires * 1000, sub_expired, s);
		sub_notify(s);
	} else {
		/* A fetch (RFC 6665 §4.4.3): the state once, then over. */
		sub_end(s, "timeout");
	}
	s = NULL;
 out:
	if (s) {
		free(s->mailboxes);
		free(s);
	}
	sbuf_free(&boxes);
	config_unref(r->cfg);
	free(r);
}

void mwi_subscribe(struct mwi *m, struct sip_stx *stx, const struct sip_msg *req,
		   const struct sip_peer *src)
{
	struct sub_req *r;
	uint32_t e;

	if (!event_ok(stx, req) || !accept_ok(stx, req) || !expires_ok(stx, req, &e))
		return;
	if (m->draining) {
		sip_stx_reply(stx, 503, NULL, NULL, "Retry-After: 5\r\n", NULL, NULL);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		sip_stx_reply(stx, 500, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	r->m = m;
	r->stx = stx;
	r->cfg = config_ref(m->pbx->cfg);
	r->src = *src;
	r->expires = e;
	req = sip_stx_request(stx);
	log_q(r->resource, sizeof(r->resource), req->ruri.user.p, req->ruri.user.l);
	r->ep = authn_identify(m->pbx, r->cfg, req, src);
	authn_request(m->pbx, r->cfg, stx, r->ep, src, sub_authenticated, r);
}

static struct mwi_sub *sub_find(struct mwi *m, const struct sip_msg *req)
{
	uint64_t h = callid_hash(m, req->callid.p, req->callid.l);

	for (struct hnode *n = htab_bucket(&m->subs, h); n; n = n->next) {
		struct mwi_sub *s = htab_entry(n, struct mwi_sub, hn);

		if (n->hash == h && sip_dialog_match(s->dlg, req))
			return s;
	}
	return NULL;
}

bool mwi_in_dialog(struct mwi *m, struct sip_stx *stx, const struct sip_msg *req,
		   const struct sip_peer *src)
{
	struct mwi_sub *s = sub_find(m, req);
	uint32_t e;

	(void)src;
	if (!s)
		return false;
	if (!sip_msg_is_method(req, "SUBSCRIBE")) {
		sip_stx_reply(stx, 405, NULL, NULL, "Allow: SUBSCRIBE\r\n", NULL, NULL);
		return true;
	}
	if (!sip_dialog_accept_request(s->dlg, req)) {
		sip_stx_reply(stx, 500, "Server Internal Error - Out Of Order", NULL, NULL,
			      NULL, NULL);
		return true;
	}
	if (s->ending) {
		sip_stx_reply(stx, 481, NULL, NULL, NULL, NULL, NULL);
		return true;
	}
	if (!event_ok(stx, req) || !expires_ok(stx, req, &e) ||
	    too_brief(stx, e, s->min_expires))
		return true;
	m->pbx->stats.mwi_subscribes++;
	reply_expires(stx, e, NULL, s->dlg->lcontact);
	if (!e) {
		log_event(LOG_INFO, "mwi_unsubscribe", "endpoint=%s callid=%s", s->endpoint,
			  s->dlg->callid);
		sub_end(s, NULL);
		return true;
	}
	log_event(LOG_INFO, "mwi_subscribe", "endpoint=%s callid=%s mailboxes=%s expires=%u "
		  "status=200 refresh=yes", s->endpoint, s->dlg->callid, s->mailboxes, e);
	tmr_start(m->pbx->tmrq, &s->tmr, (uint64_t)e * 1000, sub_expired, s);
	sub_notify(s);
	return true;
}

/* ---- life cycle ---- */

void mwi_drain(struct mwi *m)
{
	struct list_node *it, *tmp;

	m->draining = true;
	list_foreach_safe(it, tmp, &m->sub_list) {
		struct mwi_sub *s = list_entry(it, struct mwi_sub, le);

		if (s->ending)
			continue;
		log_event(LOG_INFO, "mwi_subscription_end", "endpoint=%s callid=%s reason=drain",
			  s->endpoint, s->dlg->callid);
		sub_end(s, "deactivated");
	}
}

int mwi_alloc(struct mwi **mp, struct pbx *pbx)
{
	struct mwi *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return ENOMEM;
	m->pbx = pbx;
	tmr_init(&m->poll);
	list_init(&m->sub_list);
	list_init(&m->sends);
	rand_hash_key(&m->key);
	err = htab_init(&m->subs, 64);
	if (!err)
		err = htab_init(&m->boxes.by_name, 64);
	if (err) {
		htab_free(&m->subs);
		free(m);
		return err;
	}
	boxes_rebuild(m);
	poll_start(m);
	*mp = m;
	return 0;
}

void mwi_reconfigure(struct mwi *m)
{
	boxes_rebuild(m);
	recount_all(m);
	poll_start(m);
}

void mwi_free(struct mwi *m)
{
	struct list_node *n;

	if (!m)
		return;
	tmr_cancel(m->pbx->tmrq, &m->poll);
	while ((n = list_pop_front(&m->sub_list)))
		sub_free(list_entry(n, struct mwi_sub, le));
	while ((n = list_pop_front(&m->sends))) {
		struct unsol *u = list_entry(n, struct unsol, le);

		if (u->ctx)
			sip_ctx_abandon(u->ctx);
		free(u);
	}
	boxes_free(&m->boxes);
	htab_free(&m->subs);
	free(m);
}
