/*
 * outreg.c - outbound registrations (see outreg.h): one RFC 3261 §10.2
 * client per pjsip.conf type=registration, with Asterisk's options and
 * their meaning.
 *
 * Decisions worth knowing:
 *  - The refresh goes out REFRESH_MARGIN_S before the expiry the provider
 *    granted (the Contact's expires, else Expires, else what we asked
 *    for), or at half of it when that is shorter, as pjsip's regc does.
 *  - Which failures are retried follows Asterisk: 408 (and no answer),
 *    500, 502, 503, 504 and 6xx after retry_interval; 401/407 to our
 *    credentials only with auth_rejection_permanent=no; 403 after
 *    forbidden_retry_interval when set; anything else after
 *    fatal_retry_interval when set; never more than max_retries in a row.
 *    Otherwise the registration is rejected until a reload.
 *  - One Call-ID for the client's life and a CSeq that grows, so the
 *    provider sees refreshes of one binding (§10.2.4).
 *  - A client holds its lease before it sends anything; when the lease
 *    lapses (the state backend cannot renew it in time) it stops at once
 *    and leaves the binding to expire: another replica registers its
 *    own.  At exit it takes the lease once more and removes the binding
 *    only when nobody else has registered since.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/astconf.h"
#include "pbx/core.h"
#include "pbx/dns.h"
#include "pbx/outreg.h"
#include "pbx/uacauth.h"
#include "sip/resolve.h"
#include "sip/sa.h"
#include "util/log.h"
#include "util/rand.h"
#include "util/sbuf.h"
#include "util/vec.h"

#define REFRESH_MARGIN_S 10
#define LEASE_PREFIX     "reg:"

enum reg_state {
	OR_WAITING,        /* a REGISTER is planned (tmr) */
	OR_SENDING,        /* resolving, or a REGISTER in flight */
	OR_REGISTERED,     /* until the refresh (tmr) */
	OR_REJECTED,       /* stopped until a reload */
	OR_STANDBY,        /* without the lease */
	OR_STOPPED,        /* draining or exiting */
};

static const char *const state_names[] = {
	[OR_WAITING] = "unregistered",
	[OR_SENDING] = "registering",
	[OR_REGISTERED] = "registered",
	[OR_REJECTED] = "rejected",
	[OR_STANDBY] = "standby",
	[OR_STOPPED] = "stopped",
};

struct outreg;

/* A lease request on its way: the client may be gone when it answers. */
struct lease_op {
	struct outreg *o;
};

struct listener_ent {
	char *name;
	struct sip_listener *l;
};

struct outregs {
	struct pbx *pbx;
	VEC(struct outreg *) regs;          /* configuration order */
	VEC(struct outreg *) gone;          /* removals still in flight */
	VEC(struct listener_ent) listeners;
	bool cluster;                       /* leases are shared (Redis) */
	bool draining, stopping, stopped;
	void (*done)(void *arg);
	void *done_arg;
	struct tmr stop_tmr;
};

struct outreg {
	struct outregs *set;
	struct kv_config *cfg;              /* a reference: rc points into it */
	const struct cfg_registration *rc;
	char lease[STATE_LEASE_NAME_MAX];
	enum reg_state st;
	bool initial;                       /* the first REGISTER is still to come */
	bool bound;                         /* the provider has our binding */
	bool unreg;                         /* the request in flight removes it */
	bool removing;                      /* freed once the removal is over */
	bool stop_pending;                  /* outregs_stop() waits for it */

	struct sip_rquery *rq;
	struct sip_targets *targets;
	struct sip_peer dst;
	bool have_dst;
	struct sip_ctx *ctx;
	struct tmr tmr;

	struct tmr lease_tmr;
	struct lease_op *lop;
	bool lease_held;
	uint64_t lease_sent_ms;             /* loop time the request left */
	uint64_t lease_until_ms;
	char holder[64];

	char callid[48];
	char ftag[24];
	char line[17];
	uint32_t cseq;
	char contact[320];                  /* our Contact URI, without <> */
	uint32_t expiration;                /* asked for (Min-Expires raises it) */
	struct uac_auth auth;               /* challenges of this attempt */

	uint32_t retries;
	uint16_t last_code;
	uint64_t next_attempt, expires_at, failures;
};

static void attempt(void *arg);
static void answered_reset(struct outreg *o);
static void send_register(struct outreg *o, const struct sbuf *auth);
static void lease_tick(void *arg);
static void stop_check(struct outregs *set);

static uint64_t now_s(const struct outreg *o)
{
	return o->set->pbx->now();
}

static struct tmrq *tq(const struct outreg *o)
{
	return o->set->pbx->tmrq;
}

static const char *self_name(const struct outreg *o)
{
	return o->set->pbx->cfg->cluster.replica;
}

/* ---- life cycle of one client ---- */

static void halt(struct outreg *o)
{
	tmr_cancel(tq(o), &o->tmr);
	if (o->ctx) {
		sip_ctx_abandon(o->ctx);
		o->ctx = NULL;
	}
	if (o->rq) {
		sip_resolve_cancel(o->rq);
		o->rq = NULL;
	}
	o->next_attempt = 0;
}

static void forget_dst(struct outreg *o)
{
	sip_targets_free(o->targets);
	o->targets = NULL;
	o->have_dst = false;
}

static void reg_free(struct outreg *o)
{
	if (!o)
		return;
	halt(o);
	tmr_cancel(tq(o), &o->lease_tmr);
	if (o->lop)
		o->lop->o = NULL;
	forget_dst(o);
	config_unref(o->cfg);
	free(o);
}

static void plan(struct outreg *o, uint64_t delay_ms)
{
	o->st = OR_WAITING;
	o->next_attempt = now_s(o) + (delay_ms + 999) / 1000;
	tmr_start(tq(o), &o->tmr, delay_ms, attempt, o);
}

static struct outreg *reg_alloc(struct outregs *set, struct kv_config *cfg,
				const struct cfg_registration *rc)
{
	struct outreg *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->set = set;
	o->cfg = config_ref(cfg);
	o->rc = rc;
	snprintf(o->lease, sizeof(o->lease), LEASE_PREFIX "%s", rc->name);
	o->st = OR_STANDBY;
	o->initial = true;
	o->expiration = rc->expiration;
	tmr_init(&o->tmr);
	tmr_init(&o->lease_tmr);
	/* 128 random bits: unique across restarts and replicas. */
	rand_hex(o->callid, 33);
	strncat(o->callid, "@kubevox", sizeof(o->callid) - strlen(o->callid) - 1);
	rand_hex(o->ftag, 17);
	config_registration_line(cfg, rc, o->line);
	o->cseq = (uint32_t)(rand_u64() % 10000) + 1;
	return o;
}

/* ---- the lease ---- */

static void lease_gained(struct outreg *o)
{
	uint64_t delay = 0;

	log_event(LOG_INFO, "outreg_lease_taken", "registration=%s replica=%s",
		  o->rc->name, self_name(o));
	/* Asterisk spreads the first REGISTERs of a start; a take-over
	 * registers at once. */
	if (o->initial && o->rc->max_random_initial_delay)
		delay = rand_u64() % ((uint64_t)o->rc->max_random_initial_delay * 1000);
	o->initial = false;
	plan(o, delay);
}

static void lease_lost(struct outreg *o, const char *why)
{
	o->lease_held = false;
	if (o->st == OR_STOPPED || o->st == OR_STANDBY)
		return;
	halt(o);
	o->st = OR_STANDBY;
	log_event(LOG_WARN, "outreg_lease_lost", "registration=%s holder=%s reason=%s",
		  o->rc->name, o->holder[0] ? o->holder : "none", why);
}

static void lease_answer(int err, bool held, const char *holder, void *arg)
{
	struct lease_op *op = arg;
	struct outreg *o = op->o;

	free(op);
	if (!o)
		return;
	o->lop = NULL;
	if (err)
		return;    /* the lease lapses by the clock (lease_tick) */
	if (held) {
		snprintf(o->holder, sizeof(o->holder), "%s", self_name(o));
		o->lease_until_ms = o->lease_sent_ms + OUTREG_LEASE_MS;
		if (o->set->stopping) {
			o->lease_held = true;
			return;
		}
		if (!o->lease_held) {
			o->lease_held = true;
			if (o->st == OR_STANDBY)
				lease_gained(o);
		}
		return;
	}
	snprintf(o->holder, sizeof(o->holder), "%s", holder);
	o->initial = false;
	if (o->lease_held)
		lease_lost(o, "taken");
}

/* 0 when asked (the answer may already have come), else why not. */
static int lease_ask(struct outreg *o)
{
	struct lease_op *op;
	int err;

	if (o->lop)
		return EBUSY;
	op = malloc(sizeof(*op));
	if (!op)
		return ENOMEM;
	op->o = o;
	o->lop = op;
	o->lease_sent_ms = uv_now(o->set->pbx->loop);
	err = state_lease_take(o->set->pbx->state, o->lease, OUTREG_LEASE_MS,
			       lease_answer, op);
	if (err) {
		o->lop = NULL;
		free(op);
	}
	return err;
}

static void lease_tick(void *arg)
{
	struct outreg *o = arg;
	uint64_t now = uv_now(o->set->pbx->loop);

	if (o->set->draining || o->set->stopping || o->removing)
		return;
	tmr_start(tq(o), &o->lease_tmr, OUTREG_LEASE_MS / 3, lease_tick, o);
	/* Stop before the lease can have lapsed in the backend. */
	if (o->lease_held && now >= o->lease_until_ms)
		lease_lost(o, "not_renewed");
	lease_ask(o);
}

/* ---- sending ---- */

static struct sip_listener *listener_of(const struct outregs *set, const char *name)
{
	for (size_t i = 0; name && i < set->listeners.n; i++) {
		if (!strcmp(set->listeners.v[i].name, name))
			return set->listeners.v[i].l;
	}
	return NULL;
}

/* The next target of the resolution as our destination; false when none
 * is left. */
static bool next_target(struct outreg *o)
{
	const struct sip_target *t;

	while (o->targets && (t = sip_targets_next(o->targets))) {
		enum sip_proto proto;

		if (t->proto == SIP_RPROTO_TLS)
			continue;
		proto = t->proto == SIP_RPROTO_TCP ? SIP_PROTO_TCP : SIP_PROTO_UDP;
		if (o->rc->transport &&
		    (o->rc->transport->proto == CFG_PROTO_TCP) != (proto == SIP_PROTO_TCP))
			continue;
		memset(&o->dst, 0, sizeof(o->dst));
		o->dst.addr = t->addr;
		o->dst.proto = proto;
		o->dst.lst = listener_of(o->set, o->rc->transport ? o->rc->transport->name : NULL);
		o->have_dst = true;
		o->contact[0] = '\0';
		return true;
	}
	o->have_dst = false;
	return false;
}

static void failed(struct outreg *o, uint16_t code, const char *why);

static void resolved(int err, struct sip_targets *t, void *arg)
{
	struct outreg *o = arg;
	char eq[32];

	o->rq = NULL;
	if (err) {
		log_event(LOG_WARN, "outreg_dns_failed", "registration=%s error=%s",
			  o->rc->name, log_q(eq, sizeof(eq), strerror(err), strlen(strerror(err))));
		failed(o, 503, "dns");
		return;
	}
	sip_targets_free(o->targets);
	o->targets = t;
	if (!next_target(o)) {
		failed(o, 503, "no_target");
		return;
	}
	send_register(o, NULL);
}

/* Locate server_uri's host (RFC 3263); the answer sends. */
static int locate(struct outreg *o)
{
	struct outregs *set = o->set;
	const char *uri = o->rc->server_uri;
	struct sip_uri u;
	struct sip_resolver *r;
	struct sip_rdest d;
	struct pl pl, tp;
	int err;

	pl_set_str(&pl, uri);
	if (sip_uri_decode(&u, &pl) || u.scheme != SIP_URI_SIP)
		return EINVAL;
	memset(&d, 0, sizeof(d));
	d.host = u.host;
	d.port = u.port;
	if (sip_param_get(&u.params, "transport", &tp)) {
		d.has_proto = true;
		if (pl_eqcase_str(&tp, "tcp"))
			d.proto = SIP_RPROTO_TCP;
		else if (pl_eqcase_str(&tp, "udp"))
			d.proto = SIP_RPROTO_UDP;
		else
			return EPROTONOSUPPORT;
	} else if (o->rc->transport) {
		d.has_proto = true;
		d.proto = o->rc->transport->proto == CFG_PROTO_TCP ? SIP_RPROTO_TCP
								     : SIP_RPROTO_UDP;
	}
	err = pbx_dns_resolver(set->pbx->dns, set->pbx->cfg, &r);
	if (err)
		return err;
	return sip_resolve(r, &d, resolved, o, &o->rq);
}

/* Contact: sip:contact_user@<the address the provider sees us at>. */
static int contact_make(struct outreg *o)
{
	char ip[64];
	uint16_t port = 0;
	int err;

	err = sip_stack_local_addr(o->set->pbx->stack, &o->dst, ip, sizeof(ip), &port);
	if (err)
		return err;
	snprintf(o->contact, sizeof(o->contact), "sip:%s@%s%s%s:%u%s%s%s",
		 o->rc->contact_user, o->dst.addr.ss_family == AF_INET6 ? "[" : "", ip,
		 o->dst.addr.ss_family == AF_INET6 ? "]" : "", port,
		 o->dst.proto == SIP_PROTO_TCP ? ";transport=tcp" : "",
		 o->rc->line ? ";line=" : "", o->rc->line ? o->line : "");
	return 0;
}

static void response(int err, const struct sip_msg *resp, void *arg);

/* REGISTER (Expires: 0 when o->unreg), with credentials when given. */
static void send_register(struct outreg *o, const struct sbuf *auth)
{
	const struct kv_config *cfg = o->cfg;
	const struct cfg_registration *rc = o->rc;
	struct sbuf sb;
	char branch[48];
	int err;

	o->st = OR_SENDING;
	o->next_attempt = 0;
	if (!o->have_dst) {
		err = locate(o);
		if (err) {
			log_event(LOG_ERROR, "outreg_bad_server_uri", "registration=%s error=%d",
				  rc->name, err);
			failed(o, 503, "server_uri");
		}
		return;
	}
	if (!o->contact[0] && contact_make(o)) {
		failed(o, 503, "no_local_address");
		return;
	}
	sbuf_init(&sb);
	sip_stack_new_branch(o->set->pbx->stack, branch, sizeof(branch));
	sbuf_printf(&sb, "REGISTER %s SIP/2.0\r\n", rc->server_uri);
	err = sip_stack_print_via(o->set->pbx->stack, &sb, &o->dst, branch);
	if (!err) {
		sbuf_printf(&sb, "Max-Forwards: 70\r\nFrom: <%s>;tag=%s\r\nTo: <%s>\r\n"
			    "Call-ID: %s\r\nCSeq: %" PRIu32 " REGISTER\r\n"
			    "Contact: <%s>%s%s\r\nExpires: %" PRIu32 "\r\n"
			    "Allow: " PBX_ALLOW "\r\nUser-Agent: %s\r\n",
			    rc->client_uri, o->ftag, rc->client_uri, o->callid, ++o->cseq,
			    o->contact, rc->contact_header_params ? ";" : "",
			    rc->contact_header_params ? rc->contact_header_params : "",
			    o->unreg ? 0 : o->expiration, cfg->user_agent);
		if (auth)
			sbuf_append(&sb, auth->p, auth->len);
		sbuf_append_str(&sb, "Content-Length: 0\r\n\r\n");
		err = sbuf_err(&sb) ? ENOMEM : 0;
	}
	if (!err)
		err = sip_ctx_send(o->set->pbx->stack, &o->ctx, &o->dst, sb.p, sb.len,
				   response, o);
	sbuf_free(&sb);
	if (err) {
		o->ctx = NULL;
		log_event(LOG_WARN, "outreg_send_failed", "registration=%s error=%d",
			  rc->name, err);
		failed(o, 503, "send");
	}
}

static void attempt(void *arg)
{
	struct outreg *o = arg;

	answered_reset(o);
	o->unreg = false;
	send_register(o, NULL);
}

/* ---- answers ---- */

static bool temporal(const struct outreg *o, uint16_t code)
{
	return code == 408 || code == 500 || code == 502 || code == 503 || code == 504 ||
	       code >= 600 || ((code == 401 || code == 407) &&
			       !o->rc->auth_rejection_permanent);
}

static void removal_over(struct outreg *o);

static void failed(struct outreg *o, uint16_t code, const char *why)
{
	const struct cfg_registration *rc = o->rc;
	uint32_t interval = 0;

	o->ctx = NULL;
	forget_dst(o);
	if (o->unreg) {
		log_event(LOG_WARN, "outreg_unregister_failed", "registration=%s code=%u reason=%s",
			  rc->name, code, why);
		removal_over(o);
		return;
	}
	o->failures++;
	o->last_code = code;
	if (temporal(o, code) && rc->retry_interval) {
		if (o->retries < rc->max_retries)
			interval = rc->retry_interval;
	} else if (code == 403 && rc->forbidden_retry_interval) {
		if (o->retries < rc->max_retries)
			interval = rc->forbidden_retry_interval;
	} else if (rc->fatal_retry_interval && o->retries < rc->max_retries) {
		interval = rc->fatal_retry_interval;
	}
	if (!interval) {
		halt(o);
		o->st = OR_REJECTED;
		log_event(LOG_ERROR, "outreg_rejected", "registration=%s code=%u reason=%s "
			  "retries=%" PRIu32, rc->name, code, why, o->retries);
		return;
	}
	o->retries++;
	plan(o, (uint64_t)interval * 1000);
	log_event(LOG_WARN, "outreg_failed", "registration=%s code=%u reason=%s retry_in=%" PRIu32
		  " retries=%" PRIu32, rc->name, code, why, interval, o->retries);
}

/* The expiry the provider granted our Contact (§10.2.4): its expires
 * parameter in the 2xx, else the Expires header, else what we asked. */
static uint32_t granted(const struct outreg *o, const struct sip_msg *resp)
{
	struct sip_uri mine;
	struct pl pl, v;
	unsigned it = 0;
	uint32_t secs;
	const struct sip_hdr *h;

	pl_set_str(&pl, o->contact);
	if (!sip_uri_decode(&mine, &pl)) {
		while (sip_msg_hdr_next(resp, SIP_HDR_CONTACT, &it, &pl)) {
			struct sip_addr a;

			if (sip_addr_decode(&a, &pl) || !sip_uri_equal(&a.uri, &mine))
				continue;
			if (sip_param_get(&a.params, "expires", &v) && !sip_delta_seconds(&v, &secs))
				return secs;
			break;
		}
	}
	h = sip_msg_hdr(resp, SIP_HDR_EXPIRES);
	if (h && !sip_delta_seconds(&h->val, &secs))
		return secs;
	return o->expiration;
}

static void registered(struct outreg *o, const struct sip_msg *resp)
{
	uint32_t secs = granted(o, resp);
	uint64_t delay;

	o->ctx = NULL;
	if (!secs) {
		/* A 2xx that kept no binding of ours: as good as a failure. */
		o->bound = false;
		failed(o, resp->scode, "no_binding_granted");
		return;
	}
	o->bound = true;
	o->retries = 0;
	o->st = OR_REGISTERED;
	o->expires_at = now_s(o) + secs;
	delay = secs > 2 * REFRESH_MARGIN_S ? secs - REFRESH_MARGIN_S : (secs + 1) / 2;
	o->next_attempt = now_s(o) + delay;
	tmr_start(tq(o), &o->tmr, delay * 1000, attempt, o);
	log_event(LOG_INFO, "outreg_registered", "registration=%s expires=%" PRIu32
		  " refresh_in=%" PRIu64 " contact=%s", o->rc->name, secs, delay, o->contact);
}

static void answered_reset(struct outreg *o)
{
	memset(&o->auth, 0, sizeof(o->auth));
}

/* 401/407: answer the first challenge we can (RFC 8760 §2.4: the
 * topmost with an algorithm we speak) and send again with every
 * credential of this attempt; false when we cannot or should not (the
 * same kind of challenge again, not stale: our credentials were refused). */
static bool answer_challenge(struct outreg *o, const struct sip_msg *resp, const char **why)
{
	const struct cfg_auth *a = o->rc->outbound_auth;
	struct sbuf sb;
	int err;

	if (uac_auth_take(&o->auth, a, resp, why))
		return false;
	sbuf_init(&sb);
	err = uac_auth_print(&o->auth, a, "REGISTER", o->rc->server_uri, &sb);
	if (err) {
		sbuf_free(&sb);
		*why = err == ENOENT ? "no_credentials_for_realm" : "cannot_answer";
		return false;
	}
	o->ctx = NULL;
	send_register(o, &sb);
	sbuf_free(&sb);
	return true;
}

static void response(int err, const struct sip_msg *resp, void *arg)
{
	struct outreg *o = arg;
	const char *why = "response";
	uint16_t code;

	if (!err && resp->scode < 200)
		return;
	o->ctx = NULL;
	if (err) {
		/* RFC 3263 §4.3: no answer, the next target. */
		if (next_target(o)) {
			send_register(o, NULL);
			return;
		}
		failed(o, 408, err == ETIMEDOUT ? "timeout" : "transport");
		return;
	}
	code = resp->scode;
	if (code >= 200 && code < 300) {
		if (o->unreg) {
			o->bound = false;
			log_event(LOG_INFO, "outreg_unregistered", "registration=%s contact=%s",
				  o->rc->name, o->contact);
			removal_over(o);
			return;
		}
		registered(o, resp);
		return;
	}
	if (code == 401 || code == 407) {
		if (answer_challenge(o, resp, &why))
			return;
	} else if (code == 423 && !o->unreg) {
		const struct sip_hdr *h = sip_msg_hdr(resp, SIP_HDR_MIN_EXPIRES);
		uint32_t min;

		/* RFC 3261 §10.2.8: again, asking for at least Min-Expires. */
		if (h && !sip_delta_seconds(&h->val, &min) && min > o->expiration) {
			o->expiration = min;
			send_register(o, NULL);
			return;
		}
		why = "bad_min_expires";
	} else if (code == 503 && next_target(o)) {
		send_register(o, NULL);
		return;
	}
	failed(o, code, why);
}

/* ---- removal ---- */

static bool removing_named(const struct outregs *set, const char *name)
{
	for (size_t i = 0; i < set->gone.n; i++) {
		if (!strcmp(set->gone.v[i]->rc->name, name))
			return true;
	}
	return false;
}

static void reg_start(struct outreg *o);

static void removal_over(struct outreg *o)
{
	struct outregs *set = o->set;

	o->unreg = false;
	o->ctx = NULL;
	if (o->removing) {
		char name[ASTCONF_MAX_NAME + 1];

		snprintf(name, sizeof(name), "%s", o->rc->name);
		for (size_t i = 0; i < set->gone.n; i++) {
			if (set->gone.v[i] == o) {
				set->gone.v[i] = set->gone.v[--set->gone.n];
				break;
			}
		}
		reg_free(o);
		/* Its successor (a changed section) waited for the removal:
		 * the same Contact registered before it would be removed. */
		for (size_t i = 0; i < set->regs.n; i++) {
			struct outreg *n = set->regs.v[i];

			if (!strcmp(n->rc->name, name) && n->st == OR_STANDBY &&
			    !tmr_running(&n->lease_tmr) && !n->lop && !set->draining &&
			    !set->stopping && !removing_named(set, name))
				reg_start(n);
		}
	} else {
		halt(o);
		o->st = OR_STOPPED;
		o->stop_pending = false;
	}
	stop_check(set);
}

/* Send REGISTER Expires: 0 for our Contact; removal_over() follows. */
static void unregister(struct outreg *o)
{
	halt(o);
	if (!o->bound || !o->have_dst || !o->contact[0]) {
		o->unreg = true;
		removal_over(o);
		return;
	}
	o->unreg = true;
	answered_reset(o);
	send_register(o, NULL);
}

/* A registration that leaves the configuration (or changed). */
static void reg_remove(struct outreg *o)
{
	struct outregs *set = o->set;

	o->removing = true;
	tmr_cancel(tq(o), &o->lease_tmr);
	if (vec_push(&set->gone, o)) {
		reg_free(o);
		return;
	}
	if (o->lease_held && o->st != OR_STOPPED)
		unregister(o);
	else
		removal_over(o);
}

/* ---- the set ---- */

static void reg_start(struct outreg *o)
{
	if (!removing_named(o->set, o->rc->name))
		lease_tick(o);
}

int outregs_alloc(struct outregs **op, struct pbx *pbx, const struct kv_config *cfg)
{
	struct outregs *set = calloc(1, sizeof(*set));

	if (!set)
		return ENOMEM;
	set->pbx = pbx;
	set->cluster = cfg->state.backend == CFG_STATE_REDIS;
	tmr_init(&set->stop_tmr);
	for (size_t i = 0; i < cfg->registrations_n; i++) {
		struct outreg *o = reg_alloc(set, (struct kv_config *)cfg, &cfg->registrations[i]);

		if (!o || vec_push(&set->regs, o)) {
			reg_free(o);
			outregs_free(set);
			return ENOMEM;
		}
	}
	*op = set;
	return 0;
}

/* Started once the listeners are known (pbx_alloc's end). */
void outregs_start(struct outregs *set)
{
	for (size_t i = 0; i < set->regs.n; i++)
		reg_start(set->regs.v[i]);
}

void outregs_free(struct outregs *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->regs.n; i++)
		reg_free(set->regs.v[i]);
	for (size_t i = 0; i < set->gone.n; i++)
		reg_free(set->gone.v[i]);
	vec_free(&set->regs);
	vec_free(&set->gone);
	for (size_t i = 0; i < set->listeners.n; i++)
		free(set->listeners.v[i].name);
	vec_free(&set->listeners);
	tmr_cancel(set->pbx->tmrq, &set->stop_tmr);
	free(set);
}

void outregs_set_listener(struct outregs *set, const char *name, struct sip_listener *l)
{
	struct listener_ent e = { strdup(name), l };

	if (!e.name || vec_push(&set->listeners, e))
		free(e.name);
}

static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Would this section register the same way as the running client? */
static bool reg_same(const struct cfg_registration *a, const struct cfg_registration *b)
{
	const struct cfg_auth *x = a->outbound_auth, *y = b->outbound_auth;

	if (!str_same(a->server_uri, b->server_uri) || !str_same(a->client_uri, b->client_uri) ||
	    !str_same(a->contact_user, b->contact_user) ||
	    !str_same(a->contact_header_params, b->contact_header_params) ||
	    a->expiration != b->expiration || a->retry_interval != b->retry_interval ||
	    a->forbidden_retry_interval != b->forbidden_retry_interval ||
	    a->fatal_retry_interval != b->fatal_retry_interval ||
	    a->max_retries != b->max_retries || a->line != b->line ||
	    a->auth_rejection_permanent != b->auth_rejection_permanent ||
	    !str_same(a->transport ? a->transport->name : NULL,
		      b->transport ? b->transport->name : NULL) ||
	    !str_same(a->endpoint ? a->endpoint->name : NULL,
		      b->endpoint ? b->endpoint->name : NULL) || !x != !y)
		return false;
	return !x || (str_same(x->username, y->username) && str_same(x->password, y->password) &&
		      str_same(x->realm, y->realm) && !strcmp(x->ha1_md5, y->ha1_md5) &&
		      !strcmp(x->ha1_sha256, y->ha1_sha256));
}

void outregs_reconfigure(struct outregs *set, const struct kv_config *cfg)
{
	VEC(struct outreg *) next = { NULL, 0, 0 };

	if (set->stopping)
		return;
	for (size_t i = 0; i < cfg->registrations_n; i++) {
		const struct cfg_registration *rc = &cfg->registrations[i];
		struct outreg *o = NULL;

		for (size_t j = 0; j < set->regs.n && !o; j++) {
			struct outreg *cur = set->regs.v[j];

			if (cur && !strcmp(cur->rc->name, rc->name) && reg_same(cur->rc, rc)) {
				o = cur;
				set->regs.v[j] = NULL;
			}
		}
		if (o) {
			/* The same: it goes on with the new configuration's copy. */
			struct kv_config *old = o->cfg;

			o->cfg = config_ref((struct kv_config *)cfg);
			o->rc = rc;
			config_unref(old);
		} else {
			o = reg_alloc(set, (struct kv_config *)cfg, rc);
			if (o)
				log_event(LOG_INFO, "outreg_configured", "registration=%s", rc->name);
		}
		if (!o || vec_push(&next, o)) {
			reg_free(o);
			log_event(LOG_ERROR, "outreg_not_applied", "registration=%s error=%d",
				  rc->name, ENOMEM);
			continue;
		}
	}
	/* The rest left the configuration or changed: removed first, so
	 * that a changed one registers anew after its removal went out. */
	for (size_t j = 0; j < set->regs.n; j++) {
		if (set->regs.v[j])
			reg_remove(set->regs.v[j]);
	}
	vec_free(&set->regs);
	set->regs.v = next.v;
	set->regs.n = next.n;
	set->regs.cap = next.cap;
	for (size_t i = 0; i < set->regs.n; i++) {
		struct outreg *o = set->regs.v[i];

		if (!tmr_running(&o->lease_tmr) && !o->lop && o->st == OR_STANDBY && !set->draining)
			reg_start(o);
	}
}

void outregs_drain(struct outregs *set)
{
	if (set->draining || set->stopping)
		return;
	set->draining = true;
	/* One process alone: the provider keeps reaching it until it exits. */
	if (!set->cluster)
		return;
	for (size_t i = 0; i < set->regs.n; i++) {
		struct outreg *o = set->regs.v[i];

		tmr_cancel(tq(o), &o->lease_tmr);
		halt(o);
		o->st = OR_STOPPED;
		if (o->lease_held) {
			state_lease_release(set->pbx->state, o->lease);
			o->lease_held = false;
			o->holder[0] = '\0';
			log_event(LOG_INFO, "outreg_lease_released", "registration=%s reason=drain",
				  o->rc->name);
		}
	}
}

static void stop_done(struct outregs *set)
{
	if (set->stopped)
		return;
	set->stopped = true;
	tmr_cancel(set->pbx->tmrq, &set->stop_tmr);
	for (size_t i = 0; i < set->regs.n; i++) {
		struct outreg *o = set->regs.v[i];

		halt(o);
		o->st = OR_STOPPED;
		if (set->cluster && o->lease_held)
			state_lease_release(set->pbx->state, o->lease);
		o->lease_held = false;
	}
	if (set->done)
		set->done(set->done_arg);
}

static void stop_check(struct outregs *set)
{
	if (!set->stopping || set->stopped || set->gone.n)
		return;
	for (size_t i = 0; i < set->regs.n; i++) {
		if (set->regs.v[i]->stop_pending)
			return;
	}
	stop_done(set);
}

static void stop_timeout(void *arg)
{
	struct outregs *set = arg;

	log_event(LOG_WARN, "outreg_stop_timeout", "after_ms=%u", OUTREG_STOP_MS);
	stop_done(set);
}

/* In a cluster the lease comes first: nobody else registered since. */
static void stop_lease_answer(int err, bool held, const char *holder, void *arg)
{
	struct lease_op *op = arg;
	struct outreg *o = op->o;

	free(op);
	if (!o)
		return;
	o->lop = NULL;
	if (o->set->stopped)
		return;    /* too late: the process is on its way out */
	if (!err && held) {
		o->lease_held = true;
		unregister(o);
		return;
	}
	o->stop_pending = false;
	stop_check(o->set);
}

void outregs_stop(struct outregs *set, void (*done)(void *arg), void *arg)
{
	set->done = done;
	set->done_arg = arg;
	if (set->stopping)
		return;
	set->stopping = true;
	tmr_start(set->pbx->tmrq, &set->stop_tmr, OUTREG_STOP_MS, stop_timeout, set);
	for (size_t i = 0; i < set->regs.n; i++) {
		struct outreg *o = set->regs.v[i];

		tmr_cancel(tq(o), &o->lease_tmr);
		o->stop_pending = true;
		if (!o->bound) {
			halt(o);
			o->st = OR_STOPPED;
			o->stop_pending = false;
		} else if (o->lease_held) {
			unregister(o);
		} else {
			struct lease_op *op = malloc(sizeof(*op));

			halt(o);
			if (o->lop) {
				o->lop->o = NULL;
				o->lop = NULL;
			}
			if (op) {
				op->o = o;
				o->lop = op;
				o->lease_sent_ms = uv_now(set->pbx->loop);
				if (state_lease_take(set->pbx->state, o->lease, OUTREG_LEASE_MS,
						     stop_lease_answer, op)) {
					o->lop = NULL;
					free(op);
					o->stop_pending = false;
				}
			} else {
				o->stop_pending = false;
			}
		}
	}
	stop_check(set);
}

void outregs_snapshot(const struct outregs *set, struct pbx_snapshot *out)
{
	uint64_t now = set->pbx->now();

	out->registrations_n = out->registrations_total = 0;
	for (size_t i = 0; i < set->regs.n; i++) {
		const struct outreg *o = set->regs.v[i];
		struct pbx_registration *r;

		out->registrations_total++;
		if (out->registrations_n >= PBX_SNAPSHOT_REGISTRATIONS)
			continue;
		r = &out->registrations[out->registrations_n++];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", o->rc->name);
		r->registered = o->bound && o->expires_at > now && o->lease_held;
		r->status = r->registered && o->st != OR_STOPPED ? state_names[OR_REGISTERED]
							      : state_names[o->st];
		r->last_code = o->last_code;
		r->next_attempt = o->next_attempt;
		r->expires_at = r->registered ? o->expires_at : 0;
		r->failures = o->failures;
		snprintf(r->holder, sizeof(r->holder), "%s", o->lease_held ? self_name(o) : o->holder);
	}
}
