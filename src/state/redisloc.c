/*
 * redisloc.c - the Redis backend's location store: one hash per AOR
 * (redislua.h), a REGISTER as one compare-and-set, lookups, the sweeps
 * that expire contacts once in the cluster, and this replica's copy of
 * the AORs it wrote.
 *
 * A REGISTER is planned in C by the memory backend's planner (locplan.c)
 * against the AOR as this replica last saw it, and written by one script
 * that checks the version first: when another replica changed the AOR
 * since, the script answers with the hash as it is, and the request is
 * planned again (at most RS_TRIES times).  An AOR this replica never saw
 * is first assumed absent, so a new AOR costs one round trip too.
 * REGISTERs of one AOR on one replica go one at a time (a phone that
 * sends several at once, or ten phones of one AOR behind one NAT): each
 * plans from what the one before wrote, and only replicas race.
 *
 * The copy holds every AOR with a binding whose flow this replica holds:
 * it is what the next REGISTER plans from, what answers lookups of those
 * bindings while Redis is down, and what is written back when Redis comes
 * back without its data (a new epoch).  At start it is read back from
 * kv:rep:SELF, so a replica killed and restarted serves its phones again.
 * The copy learns of changes other replicas make only when this replica
 * reads or writes the AOR again: a binding of ours that another replica
 * removed (the phone unregistered or moved through it) stays in the copy
 * until it expires, and a write-back in that time restores it (until its
 * old expiry).
 *
 * Contacts expire by the sweep script, which every replica runs every
 * second: the replica whose sweep removed a contact reports its expiry.
 * A REGISTER that finds expired contacts drops them itself (its write
 * removes them) and reports them the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sip/sa.h"
#include "state/locplan.h"
#include "state/nctab.h"
#include "state/redis_int.h"
#include "state/redisrec.h"
#include "util/list.h"
#include "util/rand.h"
#include "util/vec.h"

#define RS_TRIES        5        /* plans of one REGISTER */
#define RS_SWEEP_MS     1000
#define RS_SWEEP_BATCH  100      /* AORs per sweep script */
#define RS_SWEEP_RUNS   50       /* sweep scripts per second at most */
#define RS_LOAD_BATCH   100      /* SSCAN COUNT at start */
#define RS_WB_INFLIGHT  64       /* write-back scripts in flight */
#define RS_HTAB_MIN     64

/* An AOR with a binding this replica holds, as this replica last saw it. */
struct rcopy {
	struct hnode node;
	struct redis_state *rs;
	struct tmr tmr;          /* its last own binding expires */
	struct rset set;
	size_t namelen;
	char name[];
};

/* Bindings decoded from a set: loc_contacts whose strings live in buf. */
struct rview {
	struct loc_contact *v;
	size_t *idx;             /* the record each came from */
	size_t n;
	char *buf;
};

/* ---- sets of records ---- */

static void rset_free(struct rset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].field);
	vec_free(s);
	s->version = 0;
}

/* Adds a record as it is (already checked). */
static int rset_put(struct rset *s, const char *field, size_t fieldlen, size_t urilen,
		    const char *rec, size_t reclen, uint64_t expires_at, bool own)
{
	struct rrecord *r;
	char *m;

	if (vec_grow(s))
		return ENOMEM;
	m = malloc(fieldlen + reclen + 2);
	if (!m)
		return ENOMEM;
	r = &s->v[s->n++];
	memcpy(m, field, fieldlen);
	m[fieldlen] = '\0';
	memcpy(m + fieldlen + 1, rec, reclen);
	m[fieldlen + 1 + reclen] = '\0';
	r->field = m;
	r->fieldlen = fieldlen;
	r->urilen = urilen;
	r->rec = m + fieldlen + 1;
	r->reclen = reclen;
	r->expires_at = expires_at;
	r->own = own;
	return 0;
}

static int rset_put_rec(struct rset *s, const struct rrecord *r)
{
	return rset_put(s, r->field, r->fieldlen, r->urilen, r->rec, r->reclen,
			r->expires_at, r->own);
}

/* Checks a record read from Redis and adds it: 0, EINVAL (it does not
 * decode: the caller logs it) or ENOMEM. */
static int rset_add(struct redis_state *rs, struct rset *s, const struct pl *field,
		    const struct pl *rec)
{
	char stackbuf[1024], *buf = stackbuf;
	const char *tab = pl_chr(field, '\t');
	struct loc_contact c;
	int err;

	if (!field->l || tab == field->p)
		return EINVAL;
	if (rec->l >= sizeof(stackbuf)) {
		buf = malloc(rec->l + 1);
		if (!buf)
			return ENOMEM;
	}
	err = rrec_decode(rec->p, rec->l, buf, &c);
	if (!err)
		err = rset_put(s, field->p, field->l,
			       tab ? (size_t)(tab - field->p) : field->l, rec->p, rec->l,
			       c.expires_at, !strcmp(c.src.replica, rs->self));
	if (buf != stackbuf)
		free(buf);
	return err;
}

static int rrecord_cmp(const void *a, const void *b)
{
	const struct rrecord *x = a, *y = b;
	size_t n = x->fieldlen < y->fieldlen ? x->fieldlen : y->fieldlen;
	int d = memcmp(x->field, y->field, n);

	if (d)
		return d;
	return x->fieldlen < y->fieldlen ? -1 : x->fieldlen > y->fieldlen;
}

static void rset_sort(struct rset *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof(*s->v), rrecord_cmp);
}

/*
 * An AOR's hash from HGETALL (an array of field, value, ...): records that
 * do not decode are logged and left out.  0, EPROTO (not a hash) or
 * ENOMEM.
 */
static int rset_from_hash(struct redis_state *rs, struct rset *s, const struct pl *aor,
			  const redisReply *h)
{
	size_t i;
	int err;

	rset_free(s);
	if (h->type != REDIS_REPLY_ARRAY || h->elements % 2)
		return EPROTO;
	for (i = 0; i < h->elements; i += 2) {
		struct pl f, v;

		if (!rs_reply_str(h->element[i], &f) || !rs_reply_str(h->element[i + 1], &v)) {
			rset_free(s);
			return EPROTO;
		}
		if (pl_eq_str(&f, "#v")) {
			if (rrec_u64(&v, UINT64_MAX, &s->version)) {
				rset_free(s);
				return EPROTO;
			}
			continue;
		}
		err = rset_add(rs, s, &f, &v);
		if (err == EINVAL)
			rs_bad_record(rs, aor->p, aor->l, f.p, f.l);
		else if (err) {
			rset_free(s);
			return err;
		}
	}
	rset_sort(s);
	return 0;
}

/* The records of s that are live (expires_at > now) or, with expired, the
 * others; own_only: those of this replica only. */
static bool view_wants(const struct rrecord *r, uint64_t now, bool expired, bool own_only)
{
	if (own_only && !r->own)
		return false;
	return expired ? r->expires_at <= now : r->expires_at > now;
}

static void rview_free(struct rview *w)
{
	free(w->v);
	free(w->idx);
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

static int rview_make(struct rview *w, const struct rset *s, const char *aor,
		      uint64_t now, bool expired, bool own_only)
{
	size_t i, need = 1;
	char *p;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < s->n; i++)
		need += s->v[i].reclen + s->v[i].urilen + 2;
	w->v = calloc(s->n + 1, sizeof(*w->v));
	w->idx = calloc(s->n + 1, sizeof(*w->idx));
	w->buf = malloc(need);
	if (!w->v || !w->idx || !w->buf) {
		rview_free(w);
		return ENOMEM;
	}
	p = w->buf;
	for (i = 0; i < s->n; i++) {
		const struct rrecord *r = &s->v[i];
		struct loc_contact *c = &w->v[w->n];

		if (!view_wants(r, now, expired, own_only))
			continue;
		/* Checked when it entered the set: cannot fail. */
		if (rrec_decode(r->rec, r->reclen, p, c))
			continue;
		p += r->reclen + 1;
		memcpy(p, r->field, r->urilen);
		p[r->urilen] = '\0';
		c->uri = p;
		p += r->urilen + 1;
		c->aor = aor;
		w->idx[w->n++] = i;
	}
	return 0;
}

static bool rset_own_live(const struct rset *s, uint64_t now, uint64_t *last)
{
	bool any = false;
	size_t i;

	*last = 0;
	for (i = 0; i < s->n; i++) {
		if (!s->v[i].own || s->v[i].expires_at <= now)
			continue;
		any = true;
		if (s->v[i].expires_at > *last)
			*last = s->v[i].expires_at;
	}
	return any;
}

/* ---- the copy ---- */

static uint64_t copy_hash(const struct redis_state *rs, const char *name, size_t len)
{
	return hash_sip(&rs->key, name, len);
}

static struct rcopy *copy_find(const struct redis_state *rs, const char *name, size_t len)
{
	uint64_t hash = copy_hash(rs, name, len);
	struct hnode *e;

	for (e = htab_bucket(&rs->aors, hash); e; e = e->next) {
		struct rcopy *a = htab_entry(e, struct rcopy, node);

		if (e->hash == hash && a->namelen == len && !memcmp(a->name, name, len))
			return a;
	}
	return NULL;
}

static void copy_drop(struct rcopy *a)
{
	struct redis_state *rs = a->rs;

	htab_remove(&rs->aors, &a->node);
	tmr_cancel(rs->q, &a->tmr);
	rset_free(&a->set);
	free(a);
}

static void copy_arm(struct rcopy *a, uint64_t last, uint64_t now);

/* The last own binding should have expired: forget the AOR, unless it was
 * refreshed meanwhile. */
static void copy_expire_h(void *arg)
{
	struct rcopy *a = arg;
	uint64_t now = rs_now(a->rs), last;

	if (rset_own_live(&a->set, now, &last))
		copy_arm(a, last, now);
	else
		copy_drop(a);
}

static void copy_arm(struct rcopy *a, uint64_t last, uint64_t now)
{
	uint64_t secs = last > now ? last - now : 0;

	if (secs > UINT64_MAX / 1000 - 1)
		secs = UINT64_MAX / 1000 - 1;
	tmr_start(a->rs->q, &a->tmr, (secs + 1) * 1000, copy_expire_h, a);
}

/*
 * The AOR as it now is in Redis: kept (s is moved into the copy) when it
 * has a live binding of this replica, else forgotten.
 */
static void copy_put(struct redis_state *rs, const char *name, size_t len, struct rset *s)
{
	struct rcopy *a = copy_find(rs, name, len);
	uint64_t now = rs_now(rs), last;

	if (!rset_own_live(s, now, &last)) {
		if (a)
			copy_drop(a);
		return;
	}
	if (!a) {
		a = calloc(1, sizeof(*a) + len + 1);
		if (!a)
			return;
		a->rs = rs;
		tmr_init(&a->tmr);
		a->namelen = len;
		memcpy(a->name, name, len);
		a->node.hash = copy_hash(rs, name, len);
		htab_insert(&rs->aors, &a->node, a->node.hash);
	}
	rset_free(&a->set);
	a->set = *s;
	memset(s, 0, sizeof(*s));
	copy_arm(a, last, now);
}

/* ---- REGISTER ---- */

/* One REGISTER in flight: the request (copied), the AOR as planned
 * against, and what the write stores. */
struct rreg {
	struct hnode node;       /* rs->regs while in flight */
	struct list_node waiting; /* in flight: those of its AOR queued
				  * behind it; queued: the link */
	struct redis_state *rs;
	loc_result_h *cb;
	void *arg;
	struct loc_register r;
	struct rset snap;
	struct rset next;
	enum loc_result res;
	bool write;
	unsigned tries;
	uint64_t now;            /* the clock when it was planned */
	uint64_t fresh_until;    /* latest expiry of the request's bindings */
	char *mem;               /* the request's strings and bindings */
};

static size_t str_room(const struct pl *pl)
{
	return pl->l + 1;
}

/* A NUL-terminated copy of pl at *p: the slice keeps its length. */
static struct pl str_copy(char **p, const struct pl *pl)
{
	struct pl out = { *p, pl->l };

	if (pl->l)
		memcpy(*p, pl->p, pl->l);
	(*p)[pl->l] = '\0';
	*p += pl->l + 1;
	return out;
}

static int reg_copy(struct rreg *op, const struct loc_register *r)
{
	size_t need = str_room(&r->aor) + str_room(&r->callid) + str_room(&r->path) +
		      str_room(&r->user_agent) + str_room(&r->endpoint) +
		      str_room(&r->nonce), i;
	struct loc_binding *b;
	char *p;

	for (i = 0; i < r->bindings_n; i++)
		need += str_room(&r->bindings[i].uri) + str_room(&r->bindings[i].instance);
	op->mem = malloc(r->bindings_n * sizeof(*b) + need);
	if (!op->mem)
		return ENOMEM;
	b = (struct loc_binding *)(void *)op->mem;
	p = op->mem + r->bindings_n * sizeof(*b);
	op->r = *r;
	op->r.aor = str_copy(&p, &r->aor);
	op->r.callid = str_copy(&p, &r->callid);
	op->r.path = str_copy(&p, &r->path);
	op->r.user_agent = str_copy(&p, &r->user_agent);
	op->r.endpoint = str_copy(&p, &r->endpoint);
	op->r.nonce = str_copy(&p, &r->nonce);
	if (!pl_isset(&r->nonce))
		op->r.nonce = (struct pl)PL_INIT;
	for (i = 0; i < r->bindings_n; i++) {
		b[i] = r->bindings[i];
		b[i].uri = str_copy(&p, &r->bindings[i].uri);
		b[i].instance = str_copy(&p, &r->bindings[i].instance);
	}
	op->r.bindings = b;
	return 0;
}

static void reg_free(struct rreg *op)
{
	rset_free(&op->snap);
	rset_free(&op->next);
	free(op->mem);
	free(op);
}

static const char *opt_str(const struct pl *pl)
{
	return pl_isset(pl) ? pl->p : NULL;
}

/* The record of a new binding made from the request. */
static int reg_record(struct rreg *op, const struct loc_binding *b, struct rset *out)
{
	const struct loc_register *r = &op->r;
	struct loc_contact c;
	struct sbuf sb;
	struct pl field = b->uri, rec;
	int err;

	memset(&c, 0, sizeof(c));
	c.uri = b->uri.p;
	c.path = opt_str(&r->path);
	c.callid = r->callid.p;
	c.cseq = r->cseq;
	c.q = b->q;
	c.expires_at = r->now + b->expires;
	c.user_agent = opt_str(&r->user_agent);
	c.endpoint = r->endpoint.p;
	c.instance = opt_str(&b->instance);
	c.src = r->src;
	/* The flow is held by the replica that received the REGISTER. */
	memcpy(c.src.replica, op->rs->self, sizeof(c.src.replica));
	sbuf_init(&sb);
	rrec_encode(&sb, &c);
	rec.p = sbuf_cstr(&sb);
	rec.l = sb.len;
	err = sbuf_err(&sb) ? ENOMEM : rset_add(op->rs, out, &field, &rec);
	sbuf_free(&sb);
	return err;
}

/* Gives a field of its own to a URI string that is already there. */
static int next_fields_unique(struct rset *s)
{
	size_t i, j;

	for (i = 1; i < s->n; i++) {
		struct rrecord *r = &s->v[i];
		unsigned k = 2;

		for (j = 0; j < i; j++) {
			if (s->v[j].fieldlen != r->fieldlen ||
			    memcmp(s->v[j].field, r->field, r->fieldlen))
				continue;
			{
				char suffix[24];
				size_t sl = (size_t)snprintf(suffix, sizeof(suffix), "\t#%u", k++);
				char *m = malloc(r->urilen + sl + r->reclen + 2);

				if (!m)
					return ENOMEM;
				memcpy(m, r->field, r->urilen);
				memcpy(m + r->urilen, suffix, sl);
				m[r->urilen + sl] = '\0';
				memcpy(m + r->urilen + sl + 1, r->rec, r->reclen + 1);
				free(r->field);
				r->field = m;
				r->fieldlen = r->urilen + sl;
				r->rec = m + r->fieldlen + 1;
			}
			j = (size_t)-1;      /* check the new name from the start */
		}
	}
	return 0;
}

static bool rec_replica(const struct rrecord *r, struct pl *f)
{
	return !rrec_field(r->rec, r->reclen, RREC_F_REPLICA, f);
}

/* Does a record of s[0..n) name replica rep? */
static bool rep_in(const struct rset *s, size_t n, const struct pl *rep)
{
	struct pl f;
	size_t i;

	for (i = 0; i < n; i++) {
		if (rec_replica(&s->v[i], &f) && pl_eq(&f, rep))
			return true;
	}
	return false;
}

/* "+ REPLICA" for each replica of next, "- REPLICA" for each replica of
 * snap that next no longer has: kv:rep:REPLICA follows the bindings. */
static size_t rep_changes(struct rargs *a, const struct rset *snap, const struct rset *next)
{
	struct pl f;
	size_t i, m = 0;

	for (i = 0; i < next->n; i++) {
		if (!rec_replica(&next->v[i], &f) || rep_in(next, i, &f))
			continue;
		rargs_cstr(a, "+");
		rargs_str(a, f.p, f.l);
		m++;
	}
	for (i = 0; i < snap->n; i++) {
		if (!rec_replica(&snap->v[i], &f) || rep_in(snap, i, &f) ||
		    rep_in(next, next->n, &f))
			continue;
		rargs_cstr(a, "-");
		rargs_str(a, f.p, f.l);
		m++;
	}
	return m;
}

static void reg_reply(int err, const redisReply *reply, void *arg);
static void reg_finish(struct rreg *op);

static int reg_send(struct rreg *op)
{
	struct redis_state *rs = op->rs;
	const struct rset *next = &op->next;
	struct sbuf key, nkey;
	struct rargs a;
	char ip[64];
	uint16_t port;
	uint64_t now = rs_now(rs);
	size_t i, m, midx;
	int err;

	sbuf_init(&key);
	sbuf_init(&nkey);
	rargs_init(&a);
	err = rs_key(&key, RKEY_AOR, op->r.aor.p, op->r.aor.l);
	if (!err && pl_isset(&op->r.nonce))
		err = rs_key(&nkey, RKEY_NC, op->r.nonce.p, op->r.nonce.l);
	else if (!err) {
		sbuf_append_str(&nkey, RKEY_NC);
		err = sbuf_err(&nkey) ? ENOMEM : 0;
	}
	if (err)
		goto out;
	rargs_str(&a, key.p, key.len);
	rargs_cstr(&a, RKEY_EXP);
	rargs_cstr(&a, RKEY_VER);
	rargs_cstr(&a, RKEY_EPOCH);
	rargs_cstr(&a, RKEY_CNT);
	rargs_str(&a, nkey.p, nkey.len);
	rargs_cstr(&a, rs->epoch);
	rargs_cstr(&a, rs->epoch_cand);
	rargs_u64(&a, op->snap.version);
	rargs_cstr(&a, op->write ? "1" : "0");
	rargs_str(&a, op->r.aor.p, op->r.aor.l);
	rargs_u64(&a, rs_now_ms(rs));
	/* The request's source holds registrations until its bindings
	 * expire (an office behind it is not banned whole). */
	sip_sa_ip_port((const struct sockaddr *)&op->r.src.addr, ip, sizeof(ip), &port);
	rargs_cstr(&a, op->write && op->fresh_until ? ip : "");
	rargs_u64(&a, op->fresh_until);
	rargs_u64(&a, op->write ? next->n : 0);
	midx = a.n;
	rargs_u64(&a, 0);
	rargs_u64(&a, pl_isset(&op->r.nonce) ? op->r.nc : 0);
	rargs_u64(&a, op->r.nonce_expires > now ? (op->r.nonce_expires - now) * 1000 : 1);
	if (op->write) {
		for (i = 0; i < next->n; i++) {
			rargs_str(&a, next->v[i].field, next->v[i].fieldlen);
			rargs_str(&a, next->v[i].rec, next->v[i].reclen);
			rargs_u64(&a, next->v[i].expires_at);
		}
		m = rep_changes(&a, &op->snap, next);
		if (!a.err)
			snprintf(a.num[midx], sizeof(a.num[midx]), "%zu", m);
	}
	err = rargs_eval(&a, rs, RLUA_WRITE, 6, reg_reply, op);
out:
	rargs_free(&a);
	sbuf_free(&key);
	sbuf_free(&nkey);
	return err;
}

/* Plans the request against op->snap and sends the compare-and-set. */
static int reg_attempt(struct rreg *op)
{
	struct redis_state *rs = op->rs;
	uint64_t now = rs_now(rs);
	struct locplan plan;
	struct rview live;
	size_t i, expired = 0;
	int err;

	op->now = now;
	for (i = 0; i < op->snap.n; i++)
		expired += op->snap.v[i].expires_at <= now;
	err = rview_make(&live, &op->snap, op->r.aor.p, now, false, false);
	if (err)
		return err;
	err = locplan_make(&plan, &op->r, live.v, live.n);
	if (err) {
		rview_free(&live);
		return err;
	}
	op->res = plan.res;
	op->write = plan.changed || expired;
	op->fresh_until = 0;
	rset_free(&op->next);
	if (plan.changed) {
		for (i = 0; i < plan.n && !err; i++) {
			const struct loc_binding *b;

			if (plan.v[i].cur >= 0) {
				err = rset_put_rec(&op->next, &op->snap.v[live.idx[plan.v[i].cur]]);
				continue;
			}
			b = &op->r.bindings[plan.v[i].req];
			err = reg_record(op, b, &op->next);
			if (op->r.now + b->expires > op->fresh_until)
				op->fresh_until = op->r.now + b->expires;
		}
	} else if (op->write) {
		for (i = 0; i < live.n && !err; i++)
			err = rset_put_rec(&op->next, &op->snap.v[live.idx[i]]);
	}
	locplan_free(&plan);
	rview_free(&live);
	if (!err) {
		rset_sort(&op->next);
		err = next_fields_unique(&op->next);
	}
	if (!err)
		rset_sort(&op->next);
	return err ? err : reg_send(op);
}

/* The AOR as this replica last saw it, or "absent" when it never did. */
static int reg_snap_from_copy(struct rreg *op)
{
	struct rcopy *a = copy_find(op->rs, op->r.aor.p, op->r.aor.l);
	size_t i;

	rset_free(&op->snap);
	if (!a)
		return 0;
	op->snap.version = a->set.version;
	for (i = 0; i < a->set.n; i++) {
		if (rset_put_rec(&op->snap, &a->set.v[i]))
			return ENOMEM;
	}
	return 0;
}

static void reg_notify_expired(struct rreg *op, uint64_t now)
{
	struct redis_state *rs = op->rs;
	struct rview w;
	size_t i;

	if (rview_make(&w, &op->snap, op->r.aor.p, now, true, false))
		return;
	rs->expired_removed += w.n;
	for (i = 0; rs->st.expireh && i < w.n; i++)
		rs->st.expireh(&w.v[i], rs->st.expire_arg);
	rview_free(&w);
}

static void reg_done(struct rreg *op, uint64_t version)
{
	struct redis_state *rs = op->rs;
	struct rset *final = op->write ? &op->next : &op->snap;
	uint64_t now = rs_now(rs);
	struct rview w;

	final->version = version;
	if (rview_make(&w, final, op->r.aor.p, now, false, false)) {
		op->cb(LOC_FAILED, NULL, 0, op->arg);
		return;
	}
	/* Those the plan left out as expired: its write removed them. */
	if (op->write)
		reg_notify_expired(op, op->now);
	copy_put(rs, op->r.aor.p, op->r.aor.l, final);
	op->cb(op->res, w.n ? w.v : NULL, w.n, op->arg);
	rview_free(&w);
}

static void reg_reply(int err, const redisReply *reply, void *arg)
{
	struct rreg *op = arg;
	struct redis_state *rs = op->rs;
	struct pl tag, val;
	uint64_t version;

	if (err)
		goto fail;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    !rs_reply_str(reply->element[0], &tag) || tag.l != 1)
		goto bad;
	switch (tag.p[0]) {
	case 'K':
		if (!rs_reply_str(reply->element[1], &val) ||
		    rrec_u64(&val, UINT64_MAX, &version))
			goto bad;
		reg_done(op, version);
		reg_finish(op);
		return;
	case 'R':
		op->cb(LOC_REPLAY, NULL, 0, op->arg);
		reg_finish(op);
		return;
	case 'C':
		if (rset_from_hash(rs, &op->snap, &op->r.aor, reply->element[1]))
			goto bad;
		rs->conflicts++;
		break;
	case 'E':
		if (!rs_reply_str(reply->element[1], &val))
			goto bad;
		rs_epoch_seen(rs, &val);
		if (reg_snap_from_copy(op))
			goto fail;
		break;
	default:
		goto bad;
	}
	if (rs->closing || ++op->tries >= RS_TRIES || reg_attempt(op))
		goto fail;
	return;
bad:
	rconn_bad_reply(rs->rc, "write: {K, version} | {C, hash} | {E, epoch} | {R, 0}");
fail:
	op->cb(LOC_FAILED, NULL, 0, op->arg);
	reg_finish(op);
}

static struct rreg *reg_inflight(const struct redis_state *rs, const struct pl *aor,
				 uint64_t hash)
{
	struct hnode *e;

	for (e = htab_bucket(&rs->regs, hash); e; e = e->next) {
		struct rreg *op = htab_entry(e, struct rreg, node);

		if (e->hash == hash && pl_eq(&op->r.aor, aor))
			return op;
	}
	return NULL;
}

static void reg_move_waiting(struct list_node *to, struct list_node *from)
{
	struct list_node *n;

	while ((n = list_pop_front(from)) != NULL)
		list_push_back(to, n);
}

/* op is done (its callback has run): the next REGISTER of its AOR, if any,
 * goes, planned from what op left in the copy. */
static void reg_finish(struct rreg *op)
{
	struct redis_state *rs = op->rs;
	uint64_t hash = op->node.hash;
	struct list_node queue, *n;

	list_init(&queue);
	htab_remove(&rs->regs, &op->node);
	reg_move_waiting(&queue, &op->waiting);
	reg_free(op);
	while ((n = list_pop_front(&queue)) != NULL) {
		struct rreg *next = list_entry(n, struct rreg, waiting);
		int err = ENOTCONN;

		list_init(&next->waiting);
		reg_move_waiting(&next->waiting, &queue);
		htab_insert(&rs->regs, &next->node, hash);
		if (!rs->closing && rs_up(rs)) {
			err = reg_snap_from_copy(next);
			if (!err)
				err = reg_attempt(next);
		}
		if (!err)
			return;
		htab_remove(&rs->regs, &next->node);
		next->cb(LOC_FAILED, NULL, 0, next->arg);
		reg_move_waiting(&queue, &next->waiting);
		reg_free(next);
	}
}

int rs_loc_register(struct redis_state *rs, const struct loc_register *r,
		    loc_result_h *cb, void *arg)
{
	struct rreg *op, *head;
	int err;

	if (!rs_up(rs))
		return ENOTCONN;
	/* Refused here already (nc 0, stale, replayed on this replica): no
	 * round trip; else Redis checks it again for the cluster. */
	if (pl_isset(&r->nonce) &&
	    !nctab_use(rs->nonces, &r->nonce, r->nc, r->nonce_expires, rs_now(rs))) {
		cb(LOC_REPLAY, NULL, 0, arg);
		return 0;
	}
	op = calloc(1, sizeof(*op));
	if (!op)
		return ENOMEM;
	op->rs = rs;
	op->cb = cb;
	op->arg = arg;
	list_init(&op->waiting);
	err = reg_copy(op, r);
	if (err) {
		reg_free(op);
		return err;
	}
	op->node.hash = copy_hash(rs, op->r.aor.p, op->r.aor.l);
	head = reg_inflight(rs, &op->r.aor, op->node.hash);
	if (head) {
		list_push_back(&head->waiting, &op->waiting);
		return 0;
	}
	htab_insert(&rs->regs, &op->node, op->node.hash);
	err = reg_snap_from_copy(op);
	if (!err)
		err = reg_attempt(op);
	if (err) {
		htab_remove(&rs->regs, &op->node);
		reg_free(op);
	}
	return err;
}

/* ---- lookups ---- */

/* A command about one AOR in flight: a lookup, the start-up read, a
 * write-back. */
struct raor {
	struct redis_state *rs;
	loc_result_h *cb;
	void *arg;
	size_t len;
	char aor[];
};

static struct raor *raor_new(struct redis_state *rs, const char *aor, size_t len)
{
	struct raor *op = calloc(1, sizeof(*op) + len + 1);

	if (!op)
		return NULL;
	op->rs = rs;
	op->len = len;
	memcpy(op->aor, aor, len);
	return op;
}

/* HGETALL of the AOR's hash, answered to cb(op): 0 or as rconn_cmd(). */
static int hgetall(struct raor *op, rconn_reply_h *cb)
{
	struct sbuf key;
	const char *argv[2];
	size_t lens[2];
	int err;

	sbuf_init(&key);
	err = rs_key(&key, RKEY_AOR, op->aor, op->len);
	if (!err) {
		argv[0] = "HGETALL";
		lens[0] = 7;
		argv[1] = key.p;
		lens[1] = key.len;
		err = rconn_cmd(op->rs->rc, cb, op, 2, argv, lens);
	}
	sbuf_free(&key);
	return err;
}

static void answer(const struct rset *s, const char *aor, uint64_t now, bool own_only,
		   loc_result_h *cb, void *arg)
{
	struct rview w;

	if (rview_make(&w, s, aor, now, false, own_only)) {
		cb(LOC_FAILED, NULL, 0, arg);
		return;
	}
	cb(LOC_OK, w.n ? w.v : NULL, w.n, arg);
	rview_free(&w);
}

/* Redis does not answer: this replica's own bindings of the AOR, which it
 * can reach; for any other AOR we cannot know. */
static void lookup_local(struct redis_state *rs, const char *aor, size_t len,
			 loc_result_h *cb, void *arg)
{
	struct rcopy *a = copy_find(rs, aor, len);

	if (!a) {
		cb(LOC_FAILED, NULL, 0, arg);
		return;
	}
	answer(&a->set, a->name, rs_now(rs), true, cb, arg);
}

static void lookup_reply(int err, const redisReply *reply, void *arg)
{
	struct raor *op = arg;
	struct redis_state *rs = op->rs;
	struct pl aor = { op->aor, op->len };
	struct rset s = { 0 };
	struct rcopy *a;

	if (err || rset_from_hash(rs, &s, &aor, reply)) {
		if (!err)
			rconn_bad_reply(rs->rc, "HGETALL: field, value, ...");
		lookup_local(rs, op->aor, op->len, op->cb, op->arg);
		goto out;
	}
	answer(&s, op->aor, rs_now(rs), false, op->cb, op->arg);
	/* Fresher than the copy: the next REGISTER plans from it. */
	a = copy_find(rs, op->aor, op->len);
	if (a && s.version > a->set.version)
		copy_put(rs, op->aor, op->len, &s);
out:
	rset_free(&s);
	free(op);
}

int rs_loc_lookup(struct redis_state *rs, const struct pl *aor, loc_result_h *cb, void *arg)
{
	struct raor *op = raor_new(rs, aor->p, aor->l);

	if (!op)
		return ENOMEM;
	op->cb = cb;
	op->arg = arg;
	if (!rs_up(rs) || hgetall(op, lookup_reply)) {
		lookup_local(rs, op->aor, op->len, cb, arg);
		free(op);
	}
	return 0;
}

/* ---- sweeps ---- */

static void sweep_send(struct redis_state *rs);

static void sweep_reply(int err, const redisReply *reply, void *arg)
{
	struct redis_state *rs = arg;
	size_t i;
	bool more;

	rs->sweep_inflight = false;
	if (err || rs->closing)
		return;
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER || (reply->elements - 1) % 3) {
		rconn_bad_reply(rs->rc, "sweep: {more, AOR, URI, record...}");
		return;
	}
	more = reply->element[0]->integer != 0;
	for (i = 1; i + 2 < reply->elements; i += 3) {
		struct pl aor, field, rec;
		struct loc_contact c;
		char stackbuf[1024], *buf = stackbuf;
		const char *tab;
		char *aorz, *uriz;

		if (!rs_reply_str(reply->element[i], &aor) ||
		    !rs_reply_str(reply->element[i + 1], &field) ||
		    !rs_reply_str(reply->element[i + 2], &rec)) {
			rconn_bad_reply(rs->rc, "sweep: strings");
			return;
		}
		rs->expired_removed++;
		if (rec.l + aor.l + field.l + 3 > sizeof(stackbuf))
			buf = malloc(rec.l + aor.l + field.l + 3);
		if (!buf)
			continue;
		tab = pl_chr(&field, '\t');
		if (tab)
			field.l = (size_t)(tab - field.p);
		if (!rrec_decode(rec.p, rec.l, buf, &c)) {
			aorz = buf + rec.l + 1;
			memcpy(aorz, aor.p, aor.l);
			aorz[aor.l] = '\0';
			uriz = aorz + aor.l + 1;
			memcpy(uriz, field.p, field.l);
			uriz[field.l] = '\0';
			c.aor = aorz;
			c.uri = uriz;
			if (rs->st.expireh)
				rs->st.expireh(&c, rs->st.expire_arg);
		} else {
			rs_bad_record(rs, aor.p, aor.l, field.p, field.l);
		}
		if (buf != stackbuf)
			free(buf);
	}
	if (more && ++rs->sweep_runs < RS_SWEEP_RUNS)
		sweep_send(rs);
}

static void sweep_send(struct redis_state *rs)
{
	struct rargs a;
	int err;

	if (rs->sweep_inflight || !rs_up(rs))
		return;
	rargs_init(&a);
	rargs_cstr(&a, RKEY_EXP);
	rargs_cstr(&a, RKEY_VER);
	rargs_cstr(&a, RKEY_CNT);
	rargs_u64(&a, rs_now(rs));
	rargs_u64(&a, RS_SWEEP_BATCH);
	err = rargs_eval(&a, rs, RLUA_SWEEP, 3, sweep_reply, rs);
	rargs_free(&a);
	if (!err)
		rs->sweep_inflight = true;
}

static void sweep_tick(void *arg)
{
	struct redis_state *rs = arg;

	tmr_start(rs->q, &rs->sweep_tmr, RS_SWEEP_MS, sweep_tick, rs);
	rs->sweep_runs = 0;
	sweep_send(rs);
}

/* ---- reading this replica's bindings back at start ---- */

static void load_scan(struct redis_state *rs, const struct pl *cursor);

static void load_srem(struct redis_state *rs, const char *aor, size_t len);
static void load_done(struct redis_state *rs);

static void load_aor_reply(int err, const redisReply *reply, void *arg)
{
	struct raor *op = arg;
	struct redis_state *rs = op->rs;
	struct pl aor = { op->aor, op->len };
	struct rset s = { 0 };
	struct rcopy *a;
	uint64_t last;

	rs->load_pending--;
	if (err || rs->closing) {
		rs->load_failed = true;
		goto out;
	}
	if (rset_from_hash(rs, &s, &aor, reply)) {
		rconn_bad_reply(rs->rc, "HGETALL: field, value, ...");
		goto out;
	}
	if (!rset_own_live(&s, rs_now(rs), &last)) {
		/* Not ours any more: the set forgets it. */
		load_srem(rs, op->aor, op->len);
		goto out;
	}
	a = copy_find(rs, op->aor, op->len);
	if (!a || s.version > a->set.version) {
		copy_put(rs, op->aor, op->len, &s);
		rs->load_aors++;
	}
out:
	rset_free(&s);
	free(op);
	if (rs->load_scanned && !rs->load_pending)
		load_done(rs);
}

static void srem_reply(int err, const redisReply *reply, void *arg)
{
}

static void load_srem(struct redis_state *rs, const char *aor, size_t len)
{
	struct sbuf key;
	const char *argv[3];
	size_t lens[3];

	sbuf_init(&key);
	if (!rs_key(&key, RKEY_REP, rs->self, strlen(rs->self))) {
		argv[0] = "SREM";
		lens[0] = 4;
		argv[1] = key.p;
		lens[1] = key.len;
		argv[2] = aor;
		lens[2] = len;
		rconn_cmd(rs->rc, srem_reply, NULL, 3, argv, lens);
	}
	sbuf_free(&key);
}

static void load_get(struct redis_state *rs, const struct pl *aor)
{
	struct raor *op = raor_new(rs, aor->p, aor->l);

	if (!op || hgetall(op, load_aor_reply)) {
		rs->load_failed = true;
		free(op);
		return;
	}
	rs->load_pending++;
}

static void load_done(struct redis_state *rs)
{
	if (!rs->load_inflight)
		return;
	rs->load_inflight = false;
	if (rs->load_failed)
		return;
	rs->loaded = true;
	log_event(LOG_INFO, "state_redis_loaded", "replica=%s aors=%zu", rs->self,
		  rs->load_aors);
}

/* No more pages: done once the last HGETALL is answered. */
static void load_scan_end(struct redis_state *rs)
{
	rs->load_scanned = true;
	if (!rs->load_pending)
		load_done(rs);
}

static void load_scan_reply(int err, const redisReply *reply, void *arg)
{
	struct redis_state *rs = arg;
	const redisReply *members;
	struct pl cursor, aor;
	size_t i;

	if (err || rs->closing ||
	    reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    !rs_reply_str(reply->element[0], &cursor) ||
	    reply->element[1]->type != REDIS_REPLY_ARRAY) {
		if (!err)
			rconn_bad_reply(rs->rc, "SSCAN: {cursor, members}");
		rs->load_failed = true;
		load_scan_end(rs);
		return;
	}
	members = reply->element[1];
	for (i = 0; i < members->elements; i++) {
		if (rs_reply_str(members->element[i], &aor) && aor.l)
			load_get(rs, &aor);
	}
	/* The HGETALLs above are answered before the next page. */
	if (pl_eq_str(&cursor, "0"))
		load_scan_end(rs);
	else
		load_scan(rs, &cursor);
}

static void load_scan(struct redis_state *rs, const struct pl *cursor)
{
	struct sbuf key;
	struct rargs a;
	int err;

	sbuf_init(&key);
	rargs_init(&a);
	err = rs_key(&key, RKEY_REP, rs->self, strlen(rs->self));
	if (!err) {
		rargs_cstr(&a, "SSCAN");
		rargs_str(&a, key.p, key.len);
		rargs_str(&a, cursor->p, cursor->l);
		rargs_cstr(&a, "COUNT");
		rargs_u64(&a, RS_LOAD_BATCH);
		err = rargs_cmd(&a, rs, load_scan_reply, rs);
	}
	rargs_free(&a);
	sbuf_free(&key);
	if (err) {
		rs->load_failed = true;
		load_scan_end(rs);
	}
}

/* ---- write-back after a data loss ---- */

static void wb_pump(struct redis_state *rs);

static void wb_finish(struct redis_state *rs)
{
	struct rs_writeback *wb = &rs->wb;
	size_t i;

	for (i = 0; i < wb->n; i++)
		free(wb->names[i]);
	free(wb->names);
	wb->names = NULL;
	wb->active = false;
	log_event(wb->redo ? LOG_WARN : LOG_INFO, "state_redis_written_back",
		  "bindings=%llu aors=%zu complete=%s", (unsigned long long)wb->written,
		  wb->n, wb->redo ? "no" : "yes");
	wb->n = wb->next = 0;
}

static void merge_reply(int err, const redisReply *reply, void *arg)
{
	struct raor *op = arg;
	struct redis_state *rs = op->rs;
	struct pl aor = { op->aor, op->len };
	struct rset s = { 0 };

	rs->wb.inflight--;
	if (err) {
		rs->wb.redo = true;
	} else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		   reply->element[0]->type != REDIS_REPLY_INTEGER ||
		   reply->element[0]->integer < 0 ||
		   rset_from_hash(rs, &s, &aor, reply->element[1])) {
		rconn_bad_reply(rs->rc, "merge: {written, hash}");
		rs->wb.redo = true;
	} else {
		rs->written_back += (uint64_t)reply->element[0]->integer;
		rs->wb.written += (uint64_t)reply->element[0]->integer;
		copy_put(rs, op->aor, op->len, &s);
	}
	rset_free(&s);
	free(op);
	if (!rs->closing)
		wb_pump(rs);
}

static int merge_send(struct redis_state *rs, const struct rcopy *c)
{
	uint64_t now = rs_now(rs);
	struct raor *op = raor_new(rs, c->name, c->namelen);
	struct sbuf key;
	struct rargs a;
	size_t i, nidx, n = 0;
	int err;

	if (!op)
		return ENOMEM;
	sbuf_init(&key);
	rargs_init(&a);
	err = rs_key(&key, RKEY_AOR, c->name, c->namelen);
	if (err)
		goto out;
	rargs_str(&a, key.p, key.len);
	rargs_cstr(&a, RKEY_EXP);
	rargs_cstr(&a, RKEY_VER);
	rargs_cstr(&a, RKEY_CNT);
	rargs_u64(&a, now);
	rargs_u64(&a, rs_now_ms(rs));
	rargs_str(&a, c->name, c->namelen);
	rargs_cstr(&a, rs->self);
	rargs_cstr(&a, "");
	nidx = a.n;
	rargs_u64(&a, 0);
	for (i = 0; i < c->set.n; i++) {
		const struct rrecord *r = &c->set.v[i];

		if (!r->own || r->expires_at <= now)
			continue;
		rargs_str(&a, r->field, r->fieldlen);
		rargs_str(&a, r->rec, r->reclen);
		rargs_u64(&a, r->expires_at);
		n++;
	}
	if (!a.err)
		snprintf(a.num[nidx], sizeof(a.num[nidx]), "%zu", n);
	err = rargs_eval(&a, rs, RLUA_MERGE, 4, merge_reply, op);
out:
	rargs_free(&a);
	sbuf_free(&key);
	if (err)
		free(op);
	return err;
}

static void wb_pump(struct redis_state *rs)
{
	struct rs_writeback *wb = &rs->wb;

	while (wb->active && wb->inflight < RS_WB_INFLIGHT && wb->next < wb->n) {
		const char *name = wb->names[wb->next++];
		struct rcopy *c = copy_find(rs, name, strlen(name));

		if (!c)
			continue;
		if (merge_send(rs, c))
			wb->redo = true;
		else
			wb->inflight++;
	}
	if (wb->active && !wb->inflight && wb->next >= wb->n)
		wb_finish(rs);
}

static void wb_start(struct redis_state *rs)
{
	struct rs_writeback *wb = &rs->wb;
	size_t i, n = 0;

	if (wb->active)
		wb_finish(rs);
	wb->redo = false;
	wb->written = 0;
	wb->names = calloc(rs->aors.n + 1, sizeof(*wb->names));
	if (!wb->names) {
		wb->redo = true;
		return;
	}
	for (i = 0; i < rs->aors.nb; i++) {
		struct hnode *e;

		for (e = rs->aors.b[i]; e; e = e->next) {
			struct rcopy *c = htab_entry(e, struct rcopy, node);
			char *name = malloc(c->namelen + 1);

			if (!name) {
				wb->redo = true;
				continue;
			}
			memcpy(name, c->name, c->namelen);
			name[c->namelen] = '\0';
			wb->names[n++] = name;
		}
	}
	wb->n = n;
	wb->next = 0;
	wb->inflight = 0;
	wb->active = true;
	wb_pump(rs);
}

void rs_loc_data_lost(struct redis_state *rs)
{
	size_t i;

	/* Versions of the old data mean nothing now: assume every AOR
	 * absent (the compare-and-set tells when it is not). */
	for (i = 0; i < rs->aors.nb; i++) {
		struct hnode *e;

		for (e = rs->aors.b[i]; e; e = e->next)
			htab_entry(e, struct rcopy, node)->set.version = 0;
	}
	wb_start(rs);
}

void rs_loc_up(struct redis_state *rs)
{
	struct pl zero = PL("0");

	if (!rs->loaded && !rs->load_inflight && !rs->load_pending) {
		rs->load_inflight = true;
		rs->load_failed = false;
		rs->load_scanned = false;
		load_scan(rs, &zero);
	}
	if (rs->wb.redo && !rs->wb.active)
		wb_start(rs);
}

int rs_loc_init(struct redis_state *rs)
{
	int err = htab_init(&rs->aors, RS_HTAB_MIN);

	if (!err) {
		err = htab_init(&rs->regs, RS_HTAB_MIN);
		if (err)
			htab_free(&rs->aors);
	}
	if (err)
		return err;
	rand_hash_key(&rs->key);
	tmr_init(&rs->sweep_tmr);
	tmr_start(rs->q, &rs->sweep_tmr, RS_SWEEP_MS, sweep_tick, rs);
	return 0;
}

void rs_loc_free(struct redis_state *rs)
{
	struct hnode *e;

	tmr_cancel(rs->q, &rs->sweep_tmr);
	if (rs->wb.active) {
		rs->wb.redo = true;
		wb_finish(rs);
	}
	while ((e = htab_pop(&rs->aors)) != NULL) {
		struct rcopy *c = htab_entry(e, struct rcopy, node);

		tmr_cancel(rs->q, &c->tmr);
		rset_free(&c->set);
		free(c);
	}
	htab_free(&rs->aors);
	/* Every REGISTER has completed: rconn_free() failed those in flight,
	 * and each handed its queue on. */
	htab_free(&rs->regs);
}
