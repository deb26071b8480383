/*
 * pbx.c - PBX core: construction, and the routing of new SIP requests.
 *
 * Every request first passes the checks that do not depend on its method
 * (banned source, Request-URI scheme, Require), then goes to its module.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "pbx/authn.h"
#include "pbx/call.h"
#include "pbx/core.h"
#include "pbx/dns.h"
#include "pbx/flowproxy.h"
#include "pbx/idhosts.h"
#include "pbx/moh.h"
#include "pbx/mwi.h"
#include "pbx/outreg.h"
#include "pbx/pbx.h"
#include "pbx/prompthold.h"
#include "pbx/registrar.h"
#include "pbx/vmevents.h"
#include "pbx/voicemail.h"
#include "sip/print.h"
#include "sip/sa.h"
#include "state/failtab.h"
#include "util/sbuf.h"

/* Option tags we implement (RFC 3261 §8.2.2.3). */
static const char *const supported_tags[] = {"path", NULL};

static uint64_t wall_now(void)
{
	return (uint64_t)time(NULL);
}

static bool tag_supported(const struct pl *tag)
{
	for (size_t i = 0; supported_tags[i]; i++) {
		if (pl_eqcase_str(tag, supported_tags[i]))
			return true;
	}
	return false;
}

/* 420 when Require names an extension we do not have; true if answered. */
static bool check_require(struct sip_stx *stx, const struct sip_msg *req)
{
	struct sbuf sb;
	struct pl tag;
	unsigned it = 0;
	bool bad = false;

	sbuf_init(&sb);
	while (sip_msg_hdr_next(req, SIP_HDR_REQUIRE, &it, &tag)) {
		if (tag_supported(&tag))
			continue;
		sbuf_append_str(&sb, bad ? ", " : "Unsupported: ");
		sbuf_append_pl(&sb, &tag);
		bad = true;
	}
	if (bad) {
		sbuf_append_str(&sb, "\r\n");
		sip_stx_reply(stx, 420, NULL, NULL, sbuf_cstr(&sb), NULL, NULL);
	}
	sbuf_free(&sb);
	return bad;
}

static void reply_allow(struct sip_stx *stx, uint16_t scode)
{
	static const char extra[] = "Allow: " PBX_ALLOW "\r\n"
				    "Allow-Events: " PBX_ALLOW_EVENTS "\r\n"
				    "Accept: application/sdp\r\nSupported: path\r\n";

	sip_stx_reply(stx, scode, NULL, NULL, extra, NULL, NULL);
}

/* A load balancer in front of the replicas (k8s/front: Kamailio's
 * dispatcher) probes them with OPTIONS: 503 while draining takes this
 * replica out of its list before the calls on it end, as readiness does
 * for a Service.  Our own liveness check counts 503 as an answer. */
static void reply_options(struct pbx *pbx, struct sip_stx *stx)
{
	static const char extra[] = "Allow: " PBX_ALLOW "\r\n"
				    "Accept: application/sdp\r\nSupported: path\r\n"
				    "Retry-After: 5\r\n";

	if (!pbx->draining) {
		reply_allow(stx, 200);
		return;
	}
	sip_stx_reply(stx, 503, NULL, NULL, extra, NULL, NULL);
}

static bool source_banned(struct pbx *pbx, const struct sip_msg *req,
			  const struct sip_peer *src)
{
	uint64_t now_ms = uv_now(pbx->loop);
	uint64_t suppressed = 0;
	char ip[INET6_ADDRSTRLEN] = "?", key[FAILTAB_KEY_MAX + 1];
	char kq[FAILTAB_KEY_MAX * 4 + 3];

	if (!authn_banned(pbx, req, src, key, sizeof(key)))
		return false;
	pbx->stats.banned_requests++;
	if (log_ratelimit_allow(&pbx->ban_log, now_ms, &suppressed)) {
		if (src->addr.ss_family == AF_INET6)
			uv_ip6_name((const struct sockaddr_in6 *)&src->addr, ip, sizeof(ip));
		else
			uv_ip4_name((const struct sockaddr_in *)&src->addr, ip, sizeof(ip));
		log_event(LOG_WARN, "banned_request", "src=%s key=%s suppressed=%llu",
			  ip, log_q(kq, sizeof(kq), key, strlen(key)),
			  (unsigned long long)suppressed);
	}
	return true;
}

/* The SIP stack's TU handler: every new request. */
static void pbx_request(struct sip_stack *stack, struct sip_stx *stx,
			const struct sip_msg *req, const struct sip_peer *src,
			void *arg)
{
	struct pbx *pbx = arg;
	struct sip_uri uri;

	/* ACK to a 2xx: it belongs to a call's dialog, if to anything. */
	if (!stx) {
		call_in_dialog(pbx->calls, NULL, req, src);
		return;
	}

	if (source_banned(pbx, req, src)) {
		sip_stx_reply(stx, 403, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	/* Within a dialog: only the call or subscription that owns it can
	 * answer. */
	if (pl_isset(&req->to.tag)) {
		if (!mwi_in_dialog(pbx->mwi, stx, req, src) &&
		    !call_in_dialog(pbx->calls, stx, req, src))
			sip_stx_reply(stx, 481, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	if (sip_msg_is_method(req, "CANCEL")) {
		call_cancel(pbx->calls, stx, req);
		return;
	}
	if (sip_uri_decode(&uri, &req->ruri_raw) || uri.scheme == SIP_URI_TEL) {
		sip_stx_reply(stx, 416, NULL, NULL, NULL, NULL, NULL);
		return;
	}
	if (check_require(stx, req))
		return;

	if (sip_msg_is_method(req, "INVITE")) {
		call_invite(pbx->calls, stx, req, src);
	} else if (sip_msg_is_method(req, "REGISTER")) {
		registrar_request(pbx, stx, req, src);
	} else if (sip_msg_is_method(req, "OPTIONS")) {
		reply_options(pbx, stx);
	} else if (sip_msg_is_method(req, "SUBSCRIBE")) {
		mwi_subscribe(pbx->mwi, stx, req, src);
	} else if (sip_msg_is_method(req, "PUBLISH")) {
		/* We take no event state from others (RFC 3903 §6: 489). */
		sip_stx_reply(stx, 489, NULL, NULL, "Allow-Events: " PBX_ALLOW_EVENTS "\r\n",
			      NULL, NULL);
	} else if (sip_msg_is_method(req, "BYE") ||
		   sip_msg_is_method(req, "NOTIFY") ||
		   sip_msg_is_method(req, "REFER") ||
		   sip_msg_is_method(req, "INFO") ||
		   sip_msg_is_method(req, "UPDATE")) {
		/* Outside of any dialog (no To tag): nothing to match. */
		sip_stx_reply(stx, 481, NULL, NULL, NULL, NULL, NULL);
	} else {
		pbx->stats.requests_by_method_other++;
		reply_allow(stx, 501);
	}
}

/* Voicemail stored, deleted or moved a message here: the phones whose
 * lamps show that mailbox are told (pollmailboxes finds changes made
 * elsewhere). */
static void vm_changed(void *arg, const char *context, const char *mailbox)
{
	struct pbx *pbx = arg;
	char box[512];
	int n = snprintf(box, sizeof(box), "%s@%s", mailbox, context);

	if (n > 0 && (size_t)n < sizeof(box))
		mwi_mailbox_changed(pbx->mwi, box);
}

static void contact_expired(const struct loc_contact *c, void *arg)
{
	struct pbx *pbx = arg;
	char uri[256];

	pbx->stats.contacts_expired++;
	log_event(LOG_INFO, "contact_expired", "aor=%s contact=%s", c->aor,
		  log_q(uri, sizeof(uri), c->uri, strlen(c->uri)));
}

/* Where other replicas send SIP for us when [cluster] advertise and
 * $KUBEVOX_ADVERTISE are unset and the UDP transport binds a wildcard
 * address: the address this host uses toward the outside (in a pod, the
 * pod's), with the transport's port.  No packet is sent. */
static void advertise_default(const struct kv_config *cfg, struct sockaddr_storage *out)
{
	const struct cfg_transport *t = NULL;
	struct sockaddr_storage probe, local;
	socklen_t len = sizeof(local);
	int fd;

	for (size_t i = 0; i < cfg->transports_n && !t; i++)
		if (cfg->transports[i].proto == CFG_PROTO_UDP)
			t = &cfg->transports[i];
	if (!t)
		return;
	memset(&probe, 0, sizeof(probe));
	if (t->bind.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&probe;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(9);
		inet_pton(AF_INET6, "2001:db8::1", &in6->sin6_addr);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&probe;

		in->sin_family = AF_INET;
		in->sin_port = htons(9);
		inet_pton(AF_INET, "192.0.2.1", &in->sin_addr);
	}
	fd = socket(probe.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (!connect(fd, (struct sockaddr *)&probe, probe.ss_family == AF_INET6 ?
		     sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) &&
	    !getsockname(fd, (struct sockaddr *)&local, &len)) {
		sip_sa_set_port(&local, sip_sa_port((const struct sockaddr *)&t->bind));
		*out = local;
	}
	close(fd);
}

/* The state backend of [state]: this process's memory, or the cluster's
 * Redis (connected in the background: until it answers, the replica is
 * not ready and REGISTER gets 503). */
static int state_start(struct pbx *pbx, const struct kv_config *cfg)
{
	const struct cfg_state *s = &cfg->state;
	struct state_redis_sentinel sentinels[CFG_SENTINELS_MAX];
	struct state_redis_config rc;
	char url[160];
	int err;

	if (s->backend != CFG_STATE_REDIS)
		return state_mem_alloc(&pbx->state, pbx->tmrq, NULL, NULL);
	memset(&rc, 0, sizeof(rc));
	rc.host = s->host;
	rc.port = s->port;
	rc.unix_path = s->unix_path;
	rc.db = s->db;
	rc.password = s->password;
	for (size_t i = 0; i < s->sentinels_n && i < CFG_SENTINELS_MAX; i++) {
		sentinels[i].host = s->sentinels[i].host;
		sentinels[i].port = s->sentinels[i].port;
	}
	rc.sentinels = s->sentinels_n ? sentinels : NULL;
	rc.sentinels_n = s->sentinels_n;
	rc.master = s->master;
	rc.replica = cfg->cluster.replica;
	rc.advertise = cfg->cluster.advertise;
	if (!rc.advertise.ss_family) {
		char a[64];

		advertise_default(cfg, &rc.advertise);
		log_event(rc.advertise.ss_family ? LOG_INFO : LOG_WARN, "cluster_advertise",
			  "advertise=%s source=%s", rc.advertise.ss_family ?
			  sip_sockaddr_str((struct sockaddr *)&rc.advertise, a, sizeof(a)) : "none",
			  rc.advertise.ss_family ? "default_route" : "none");
	}
	err = state_redis_alloc(&pbx->state, pbx->loop, pbx->tmrq, &rc, NULL, NULL);
	log_event(err ? LOG_ERROR : LOG_INFO, "state_backend",
		  "backend=redis url=%s replica=%s error=%d",
		  log_q(url, sizeof(url), s->url, strlen(s->url)), cfg->cluster.replica, err);
	return err;
}

/* The relay binds where SIP does (the first transport's address, which
 * may be a wildcard) on the rtp.conf port range. */
static int media_start(struct pbx *pbx, const struct kv_config *cfg)
{
	struct sockaddr_storage bind;
	int err;

	memset(&bind, 0, sizeof(bind));
	if (cfg->transports_n)
		bind = cfg->transports[0].bind;
	else
		bind.ss_family = AF_INET;
	err = rtp_engine_alloc(&pbx->rtp, pbx->loop, (struct sockaddr *)&bind,
			       cfg->rtpstart, cfg->rtpend, 1);
	if (err)
		log_event(LOG_ERROR, "rtp_engine_failed", "rtpstart=%u rtpend=%u error=%d",
			  cfg->rtpstart, cfg->rtpend, err);
	return err;
}

/* Keys every replica of the cluster derives alike from its secret: To
 * tags (a retransmission gets the same one anywhere) and flow tokens. */
static void cluster_keys(struct pbx *pbx, const struct kv_config *cfg)
{
	const char *secret = cfg->cluster.secret ? cfg->cluster.secret : "";
	struct hash_key k;

	hash_key_from(&k, secret, strlen(secret));
	sip_stack_set_tag_key(pbx->stack, &k);
	flowproxy_key(secret, &k);
	flowproxy_set_key(pbx->proxy, &k);
}

int pbx_alloc(struct pbx **pbxp, uv_loop_t *loop, struct tmrq *q,
	      struct kv_config *cfg)
{
	struct pbx *pbx;
	int err;

	pbx = calloc(1, sizeof(*pbx));
	if (!pbx)
		return ENOMEM;
	pbx->loop = loop;
	pbx->tmrq = q;
	pbx->now = wall_now;
	pbx->cfg = config_ref(cfg);
	log_ratelimit_init(&pbx->ban_log, 1.0, 5.0);
	nonce_key_init(&pbx->nonce_key, cfg->security.nonce_secret,
		       strlen(cfg->security.nonce_secret));

	err = state_start(pbx, cfg);
	if (err)
		goto out;
	state_set_expire_handler(pbx->state, contact_expired, pbx);

	err = sip_stack_alloc(&pbx->stack, loop, q, pbx_request, pbx);
	if (err)
		goto out;
	err = flowproxy_alloc(&pbx->proxy, pbx->stack, pbx->cfg->cluster.replica,
			      &(struct hash_key){{0, 0}});
	if (err)
		goto out;
	sip_stack_set_proxy_handler(pbx->stack, flowproxy_handle, pbx->proxy);
	cluster_keys(pbx, cfg);
	err = pbx_dns_alloc(&pbx->dns, loop, q);
	if (err)
		goto out;
	err = calls_alloc(&pbx->calls, pbx);
	if (err)
		goto out;
	pbx->prompts = prompt_cache_alloc(NULL, 0);
	if (!pbx->prompts) {
		err = ENOMEM;
		goto out;
	}
	err = media_start(pbx, cfg);
	if (err)
		goto out;
	pbx->holds = prompt_holds_alloc(pbx->rtp, pbx->prompts);
	if (!pbx->holds) {
		err = ENOMEM;
		goto out;
	}
	pbx->moh = moh_alloc(pbx->rtp, loop, &pbx->cfg);
	if (!pbx->moh) {
		err = ENOMEM;
		goto out;
	}
	err = vm_alloc(&pbx->vm, loop);
	if (err)
		goto out;
	err = outregs_alloc(&pbx->outregs, pbx, cfg);
	if (err)
		goto out;
	err = idhosts_alloc(&pbx->idhosts, pbx, cfg);
	if (err)
		goto out;
	err = mwi_alloc(&pbx->mwi, pbx);
	if (err)
		goto out;
	vm_set_changed_handler(pbx->vm, vm_changed, pbx);

	for (size_t i = 0; i < cfg->transports_n; i++) {
		const struct cfg_transport *t = &cfg->transports[i];
		enum sip_proto proto = t->proto == CFG_PROTO_TCP ? SIP_PROTO_TCP
								  : SIP_PROTO_UDP;
		char addr[INET6_ADDRSTRLEN + 8] = "?";

		struct sip_listener *lst = NULL;

		err = sip_transport_listen(sip_stack_transport(pbx->stack), proto,
					   (const struct sockaddr *)&t->bind, &lst);
		if (t->bind.ss_family == AF_INET6)
			uv_ip6_name((const struct sockaddr_in6 *)&t->bind, addr, sizeof(addr));
		else
			uv_ip4_name((const struct sockaddr_in *)&t->bind, addr, sizeof(addr));
		if (err) {
			const char *e = err < 0 ? uv_strerror(err) : strerror(err);
			char eq[96];

			log_event(LOG_ERROR, "listen_failed",
				  "transport=%s proto=%s addr=%s error=%s", t->name,
				  sip_proto_name(proto), addr, log_q(eq, sizeof(eq), e, strlen(e)));
			goto out;
		}
		outregs_set_listener(pbx->outregs, t->name, lst);
	}
	outregs_start(pbx->outregs);

 out:
	if (err)
		pbx_free(pbx);
	else
		*pbxp = pbx;
	return err;
}

static bool transports_equal(const struct kv_config *a, const struct kv_config *b)
{
	if (a->transports_n != b->transports_n)
		return false;
	for (size_t i = 0; i < a->transports_n; i++) {
		if (a->transports[i].proto != b->transports[i].proto ||
		    memcmp(&a->transports[i].bind, &b->transports[i].bind,
			   sizeof(a->transports[i].bind)))
			return false;
	}
	return true;
}

/* What a running replica cannot switch: its backend and its identity. */
static bool cluster_equal(const struct kv_config *a, const struct kv_config *b)
{
	const struct cfg_state *x = &a->state, *y = &b->state;

	return x->backend == y->backend && !strcmp(x->url ? x->url : "", y->url ? y->url : "") &&
	       !strcmp(x->password ? x->password : "", y->password ? y->password : "") &&
	       !strcmp(a->cluster.replica, b->cluster.replica) &&
	       !memcmp(&a->cluster.advertise, &b->cluster.advertise,
		       sizeof(a->cluster.advertise));
}

void pbx_reconfigure(struct pbx *pbx, struct kv_config *cfg)
{
	struct kv_config *old = pbx->cfg;
	const struct cfg_security *sec = &cfg->security;

	if (!transports_equal(old, cfg))
		log_event(LOG_WARN, "config_transports_changed",
			  "applied=no reason=restart_needed");
	if (!cluster_equal(old, cfg))
		log_event(LOG_WARN, "config_cluster_changed",
			  "applied=no reason=restart_needed what=\"[state] or replica or advertise\"");
	if (old->rtpstart != cfg->rtpstart || old->rtpend != cfg->rtpend) {
		if (rtp_engine_set_range(pbx->rtp, cfg->rtpstart, cfg->rtpend))
			log_event(LOG_WARN, "rtp_range_not_applied", "rtpstart=%u rtpend=%u",
				  cfg->rtpstart, cfg->rtpend);
	}
	authn_reconfigure(pbx, old, cfg);
	cluster_keys(pbx, cfg);
	/* A new secret makes outstanding nonces stale: phones re-authenticate. */
	nonce_key_init(&pbx->nonce_key, sec->nonce_secret, strlen(sec->nonce_secret));
	pbx->cfg = config_ref(cfg);
	config_unref(old);
	pbx_dns_reconfigure(pbx->dns, cfg);
	outregs_reconfigure(pbx->outregs, cfg);
	idhosts_reconfigure(pbx->idhosts, cfg);
	mwi_reconfigure(pbx->mwi);
}

void pbx_free(struct pbx *pbx)
{
	if (!pbx)
		return;
	/* Calls first: they hang up through the stack and the relay.  The
	 * state backend goes between their end and their free: the lookups it
	 * still owes them are answered (failed) to calls that are over. */
	if (pbx->calls)
		calls_end_all(pbx->calls);
	/* Before the stack and the backend its requests and leases use. */
	outregs_free(pbx->outregs);
	idhosts_free(pbx->idhosts);
	state_free(pbx->state);
	/* After the backend (its last lookups answered), before the stack
	 * (its NOTIFYs in flight abandoned). */
	mwi_free(pbx->mwi);
	calls_free(pbx->calls);
	/* After the three that ask it have cancelled their queries. */
	pbx_dns_free(pbx->dns);
	rtp_engine_free(pbx->rtp);
	/* After the relay: recordings it still held are stored now. */
	vm_free(pbx->vm);
	prompt_holds_free(pbx->holds);
	moh_free(pbx->moh);
	prompt_cache_free(pbx->prompts);
	sip_stack_free(pbx->stack);
	flowproxy_free(pbx->proxy);
	if (pbx->cfg)
		config_unref(pbx->cfg);
	free(pbx);
}

const struct kv_config *pbx_config(const struct pbx *pbx)
{
	return pbx->cfg;
}

bool pbx_state_healthy(const struct pbx *pbx)
{
	return state_healthy(pbx->state);
}

static void snapshot_replica(const struct state_replica *r, void *arg)
{
	struct pbx_snapshot *out = arg;

	if (out->replicas_n < PBX_SNAPSHOT_REPLICAS)
		out->replicas[out->replicas_n++] = *r;
	out->replicas_total++;
}

static int replica_cmp(const void *a, const void *b)
{
	return strncmp(((const struct state_replica *)a)->name,
		       ((const struct state_replica *)b)->name, STATE_REPLICA_MAX);
}

void pbx_snapshot_state(struct state *st, struct pbx_snapshot *out)
{
	out->contacts = state_contacts_count(st);
	out->state_healthy = state_healthy(st);
	state_stats(st, &out->state);
	out->replicas_n = out->replicas_total = 0;
	state_replicas_foreach(st, snapshot_replica, out);
	/* Sorted, so that /status lists them in the same order every time. */
	qsort(out->replicas, out->replicas_n, sizeof(out->replicas[0]), replica_cmp);
}

void pbx_snapshot(const struct pbx *pbx, struct pbx_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	out->stats = pbx->stats;
	pbx_snapshot_state(pbx->state, out);
	out->calls_active = calls_active(pbx->calls);
	out->calls = *calls_stats(pbx->calls);
	rtp_engine_stats(pbx->rtp, &out->rtp);
	out->sip = *sip_stack_stats(pbx->stack);
	out->tcp_connections = sip_transport_conn_count(sip_stack_transport(pbx->stack));
	out->now = pbx->now();
	outregs_snapshot(pbx->outregs, out);
	if (pbx->moh) {
		struct moh_stats ms;

		moh_get_stats(pbx->moh, &ms);
		out->moh_buffers = ms.classes;
		out->moh_bytes = ms.bytes;
		out->moh_plays = ms.plays;
		out->moh_loads = ms.loads;
	}
}

void pbx_calls_foreach(const struct pbx *pbx,
		       void (*fn)(const struct call_info *ci, void *arg), void *arg)
{
	calls_foreach(pbx->calls, fn, arg);
}

void pbx_set_draining(struct pbx *pbx, bool draining)
{
	pbx->draining = draining;
	calls_set_draining(pbx->calls, draining);
	if (draining) {
		outregs_drain(pbx->outregs);
		mwi_drain(pbx->mwi);
	}
}

void pbx_shutdown(struct pbx *pbx, void (*done)(void *arg), void *arg)
{
	outregs_stop(pbx->outregs, done, arg);
}

unsigned pbx_calls_active(const struct pbx *pbx)
{
	return calls_active(pbx->calls);
}

bool pbx_busy(const struct pbx *pbx)
{
	return calls_active(pbx->calls) || sip_stack_stats(pbx->stack)->ctx_active;
}

void pbx_end_calls(struct pbx *pbx)
{
	calls_end_all(pbx->calls);
}
