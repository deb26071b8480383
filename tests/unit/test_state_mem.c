/*
 * test_state_mem.c - unit tests for the in-memory state backend
 * (src/state/mem.c): REGISTER semantics, expiry, nonce counts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "state/state.h"

#define MAXC 8

struct got {
	int calls;
	enum loc_result res;
	size_t n;
	char uri[MAXC][128];
	char callid[MAXC][64];
	uint32_t cseq[MAXC];
	uint64_t expires_at[MAXC];
	int q[MAXC];
	bool has_path[MAXC];
	char path[MAXC][64];
	bool has_ua[MAXC];
	char ua[MAXC][64];
	char endpoint[MAXC][32];
	bool has_instance[MAXC];
	char aor[64];
	struct loc_source src[MAXC];
};

struct fixture {
	uv_loop_t loop;
	struct tmrq q;
	struct state *st;
	uint64_t now;
	struct got got;
	int expired;
	char expired_aor[64];
	char expired_uri[128];
	bool stop_on_expire;
	int nonce_calls;
	bool nonce_ok;
};

static uint64_t fake_clock(void *arg)
{
	struct fixture *f = arg;

	return f->now;
}

static void expire_h(const struct loc_contact *c, void *arg)
{
	struct fixture *f = arg;

	f->expired++;
	snprintf(f->expired_aor, sizeof(f->expired_aor), "%s", c->aor);
	snprintf(f->expired_uri, sizeof(f->expired_uri), "%s", c->uri);
	if (f->stop_on_expire)
		uv_stop(&f->loop);
}

static struct fixture *fixture_new(bool real_clock)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(tmrq_init(&f->q, &f->loop), 0);
	f->now = 1700000000;
	if (real_clock)
		assert_int_equal(state_mem_alloc(&f->st, &f->q, NULL, NULL), 0);
	else
		assert_int_equal(state_mem_alloc(&f->st, &f->q, fake_clock, f), 0);
	state_set_expire_handler(f->st, expire_h, f);
	return f;
}

static int setup(void **state)
{
	*state = fixture_new(false);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	state_free(f->st);
	tmrq_close(&f->q);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f);
	return 0;
}

static void result_h(enum loc_result res, const struct loc_contact *v, size_t n, void *arg)
{
	struct got *g = arg;
	size_t i;

	g->calls++;
	g->res = res;
	g->n = n;
	g->aor[0] = '\0';
	assert_true(n <= MAXC);
	if (n)
		assert_non_null(v);
	for (i = 0; i < n; i++) {
		snprintf(g->aor, sizeof(g->aor), "%s", v[i].aor);
		snprintf(g->uri[i], sizeof(g->uri[i]), "%s", v[i].uri);
		assert_non_null(v[i].callid);
		snprintf(g->callid[i], sizeof(g->callid[i]), "%s", v[i].callid);
		g->cseq[i] = v[i].cseq;
		g->expires_at[i] = v[i].expires_at;
		g->q[i] = v[i].q;
		g->has_path[i] = v[i].path != NULL;
		snprintf(g->path[i], sizeof(g->path[i]), "%s", v[i].path ? v[i].path : "");
		g->has_ua[i] = v[i].user_agent != NULL;
		snprintf(g->ua[i], sizeof(g->ua[i]), "%s", v[i].user_agent ? v[i].user_agent : "");
		assert_non_null(v[i].endpoint);
		snprintf(g->endpoint[i], sizeof(g->endpoint[i]), "%s", v[i].endpoint);
		g->has_instance[i] = v[i].instance != NULL;
		g->src[i] = v[i].src;
	}
}

static struct loc_binding binding(const char *uri, uint32_t expires)
{
	struct loc_binding b;

	memset(&b, 0, sizeof(b));
	b.uri = pl_from_str(uri);
	b.expires = expires;
	b.q = -1;
	return b;
}

static struct loc_binding binding_inst(const char *uri, uint32_t expires, const char *inst)
{
	struct loc_binding b = binding(uri, expires);

	b.instance = pl_from_str(inst);
	return b;
}

struct req {
	const char *aor;
	const char *callid;
	uint32_t cseq;
	unsigned max;
	bool remove_existing;
	bool wildcard;
	const char *path;
	const char *ua;
	const char *nonce;       /* credentials' nonce count to check */
	uint32_t nc;
};

static enum loc_result do_reg(struct fixture *f, const struct req *q,
			      const struct loc_binding *b, size_t n)
{
	struct loc_register r;
	struct sockaddr_in *sin = (struct sockaddr_in *)&r.src.addr;

	memset(&r, 0, sizeof(r));
	r.aor = pl_from_str(q->aor);
	r.wildcard = q->wildcard;
	r.bindings = b;
	r.bindings_n = n;
	r.callid = pl_from_str(q->callid);
	r.cseq = q->cseq;
	if (q->path)
		r.path = pl_from_str(q->path);
	if (q->ua)
		r.user_agent = pl_from_str(q->ua);
	r.endpoint = pl_from_str("ep-1001");
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5062);
	inet_pton(AF_INET, "192.0.2.10", &sin->sin_addr);
	r.src.proto = LOC_PROTO_TCP;
	r.src.conn_id = 77;
	snprintf(r.src.replica, sizeof(r.src.replica), "kv-0");
	r.max_contacts = q->max ? q->max : 5;
	r.remove_existing = q->remove_existing;
	r.now = f->now;
	if (q->nonce) {
		r.nonce = pl_from_str(q->nonce);
		r.nc = q->nc;
		r.nonce_expires = f->now + 300;
	}

	memset(&f->got, 0, sizeof(f->got));
	assert_int_equal(state_register(f->st, &r, result_h, &f->got), 0);
	assert_int_equal(f->got.calls, 1);
	return f->got.res;
}

static size_t do_lookup(struct fixture *f, const char *aor)
{
	struct pl pl = pl_from_str(aor);

	memset(&f->got, 0, sizeof(f->got));
	assert_int_equal(state_lookup(f->st, &pl, result_h, &f->got), 0);
	assert_int_equal(f->got.calls, 1);
	assert_int_equal(f->got.res, LOC_OK);
	return f->got.n;
}

static void test_add_refresh_remove(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "abc@host", .cseq = 1, .ua = "Phone/1.0" };
	struct loc_binding b = binding("sip:1001@192.0.2.10:5062", 60);
	const struct sockaddr_in *sin;

	b.q = 500;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.aor, "1001");
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");
	assert_string_equal(f->got.callid[0], "abc@host");
	assert_int_equal(f->got.cseq[0], 1);
	assert_int_equal(f->got.expires_at[0], f->now + 60);
	assert_int_equal(f->got.q[0], 500);
	assert_false(f->got.has_path[0]);
	assert_true(f->got.has_ua[0]);
	assert_string_equal(f->got.ua[0], "Phone/1.0");
	assert_string_equal(f->got.endpoint[0], "ep-1001");
	assert_false(f->got.has_instance[0]);
	sin = (const struct sockaddr_in *)&f->got.src[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 5062);
	assert_int_equal(f->got.src[0].proto, LOC_PROTO_TCP);
	assert_int_equal(f->got.src[0].conn_id, 77);
	assert_string_equal(f->got.src[0].replica, "kv-0");
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_true(state_healthy(f->st));
	assert_int_equal(tmrq_count(&f->q), 1);

	/* Refresh: same binding, higher CSeq, new expiry. */
	f->now += 30;
	q.cseq = 2;
	b = binding("sip:1001@192.0.2.10:5062", 120);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->got.cseq[0], 2);
	assert_int_equal(f->got.expires_at[0], f->now + 120);
	assert_int_equal(f->got.q[0], -1);
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_int_equal(tmrq_count(&f->q), 1);

	assert_int_equal(do_lookup(f, "1001"), 1);
	assert_int_equal(do_lookup(f, "1002"), 0);
	assert_int_equal(do_lookup(f, "100"), 0);
	assert_int_equal(do_lookup(f, "10011"), 0);

	/* Remove: expires 0. */
	q.cseq = 3;
	b = binding("sip:1001@192.0.2.10:5062", 0);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(state_contacts_count(f->st), 0);
	assert_int_equal(tmrq_count(&f->q), 0);
	assert_int_equal(do_lookup(f, "1001"), 0);
	assert_int_equal(f->expired, 0);

	/* Removing what is not there is fine; a query changes nothing. */
	q.cseq = 4;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(do_reg(f, &q, NULL, 0), LOC_OK);
	assert_int_equal(f->got.n, 0);
}

static void test_multiple_contacts(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1,
			 .path = "<sip:edge.example.com;lr>" };
	struct loc_binding b[2] = {
		binding("sip:1001@192.0.2.10:5062", 60),
		binding("sip:1001@192.0.2.11:5062", 90),
	};
	struct loc_binding third = binding("sip:1001@[2001:db8::1]:5060", 30);

	assert_int_equal(do_reg(f, &q, b, 2), LOC_OK);
	assert_int_equal(f->got.n, 2);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");
	assert_string_equal(f->got.uri[1], "sip:1001@192.0.2.11:5062");
	assert_true(f->got.has_path[1]);
	assert_string_equal(f->got.path[1], "<sip:edge.example.com;lr>");
	assert_false(f->got.has_ua[0]);

	q.callid = "c2";
	q.path = NULL;
	assert_int_equal(do_reg(f, &q, &third, 1), LOC_OK);
	assert_int_equal(f->got.n, 3);
	assert_string_equal(f->got.uri[2], "sip:1001@[2001:db8::1]:5060");
	assert_false(f->got.has_path[2]);
	assert_int_equal(state_contacts_count(f->st), 3);

	/* Another AOR is independent. */
	q.aor = "1002";
	assert_int_equal(do_reg(f, &q, &third, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(do_lookup(f, "1001"), 3);
	assert_int_equal(state_contacts_count(f->st), 4);
	assert_int_equal(tmrq_count(&f->q), 4);
}

static void test_wildcard(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 5 };
	struct loc_binding b[2] = {
		binding("sip:1001@192.0.2.10:5062", 60),
		binding("sip:1001@192.0.2.11:5062", 60),
	};
	struct loc_binding other = binding("sip:1001@192.0.2.12:5062", 60);
	struct req w = { .aor = "1001", .callid = "c1", .cseq = 5, .wildcard = true };

	assert_int_equal(do_reg(f, &q, b, 2), LOC_OK);
	q.callid = "c2";
	q.cseq = 1;
	assert_int_equal(do_reg(f, &q, &other, 1), LOC_OK);
	assert_int_equal(f->got.n, 3);

	/* Same Call-ID as two bindings, CSeq not higher: nothing removed. */
	assert_int_equal(do_reg(f, &w, NULL, 0), LOC_OUT_OF_ORDER);
	assert_int_equal(f->got.n, 3);
	assert_int_equal(state_contacts_count(f->st), 3);
	w.cseq = 4;
	assert_int_equal(do_reg(f, &w, NULL, 0), LOC_OUT_OF_ORDER);
	assert_int_equal(state_contacts_count(f->st), 3);

	w.cseq = 6;
	assert_int_equal(do_reg(f, &w, NULL, 0), LOC_OK);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(state_contacts_count(f->st), 0);
	assert_int_equal(tmrq_count(&f->q), 0);
	assert_int_equal(do_lookup(f, "1001"), 0);

	/* Unknown AOR, other Call-ID: fine. */
	w.aor = "1009";
	w.callid = "zzz";
	assert_int_equal(do_reg(f, &w, NULL, 0), LOC_OK);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(f->expired, 0);
}

static void test_out_of_order(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 10 };
	struct loc_binding b = binding("sip:1001@192.0.2.10:5062", 60);
	struct loc_binding two[2] = {
		binding("sip:1001@192.0.2.99:5062", 60),   /* new */
		binding("sip:1001@192.0.2.10:5062", 0),    /* stale removal */
	};
	uint64_t first;

	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	first = f->got.expires_at[0];

	/* Same CSeq (e.g. a retransmission) and lower: rejected. */
	f->now += 10;
	b.expires = 3600;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OUT_OF_ORDER);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->got.expires_at[0], first);
	assert_int_equal(f->got.cseq[0], 10);
	q.cseq = 9;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OUT_OF_ORDER);
	assert_int_equal(f->got.expires_at[0], first);

	/* No partial apply: the new binding of a rejected request is not added. */
	assert_int_equal(do_reg(f, &q, two, 2), LOC_OUT_OF_ORDER);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_int_equal(tmrq_count(&f->q), 1);

	/* A different Call-ID (the UA rebooted) is accepted even with a lower CSeq. */
	q.callid = "c2";
	q.cseq = 1;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.callid[0], "c2");
	assert_int_equal(f->got.cseq[0], 1);
	assert_int_equal(f->got.expires_at[0], f->now + 3600);
}

static void test_max_contacts_no_remove(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1, .max = 2 };
	struct loc_binding b[2] = {
		binding("sip:1001@192.0.2.10:5062", 60),
		binding("sip:1001@192.0.2.11:5062", 60),
	};
	struct loc_binding c = binding("sip:1001@192.0.2.12:5062", 60);
	struct loc_binding swap[2] = {
		binding("sip:1001@192.0.2.10:5062", 0),
		binding("sip:1001@192.0.2.12:5062", 60),
	};

	assert_int_equal(do_reg(f, &q, b, 2), LOC_OK);
	q.cseq = 2;
	assert_int_equal(do_reg(f, &q, &c, 1), LOC_TOO_MANY);
	assert_int_equal(f->got.n, 2);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");
	assert_string_equal(f->got.uri[1], "sip:1001@192.0.2.11:5062");
	assert_int_equal(state_contacts_count(f->st), 2);

	/* Refreshing at the limit is fine. */
	q.cseq = 3;
	assert_int_equal(do_reg(f, &q, &b[1], 1), LOC_OK);
	assert_int_equal(f->got.n, 2);

	/* Removing one and adding one in the same request fits. */
	q.cseq = 4;
	assert_int_equal(do_reg(f, &q, swap, 2), LOC_OK);
	assert_int_equal(f->got.n, 2);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.11:5062");
	assert_string_equal(f->got.uri[1], "sip:1001@192.0.2.12:5062");
	assert_int_equal(tmrq_count(&f->q), 2);
}

static void test_max_contacts_remove_existing(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1, .max = 2,
			 .remove_existing = true };
	struct loc_binding a = binding("sip:1001@192.0.2.10:5062", 100);
	struct loc_binding b = binding("sip:1001@192.0.2.11:5062", 50);
	struct loc_binding c = binding("sip:1001@192.0.2.12:5062", 10);
	struct loc_binding three[3] = {
		binding("sip:1001@192.0.2.20:5062", 60),
		binding("sip:1001@192.0.2.21:5062", 60),
		binding("sip:1001@192.0.2.22:5062", 60),
	};
	struct loc_binding d = binding("sip:1001@192.0.2.13:5062", 60);

	assert_int_equal(do_reg(f, &q, &a, 1), LOC_OK);
	q.callid = "c2";
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 2);

	/* b expires first: it goes, although a is older. */
	q.callid = "c3";
	assert_int_equal(do_reg(f, &q, &c, 1), LOC_OK);
	assert_int_equal(f->got.n, 2);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");
	assert_string_equal(f->got.uri[1], "sip:1001@192.0.2.12:5062");
	assert_int_equal(state_contacts_count(f->st), 2);
	assert_int_equal(tmrq_count(&f->q), 2);
	assert_int_equal(f->expired, 0);

	/* More new bindings than max_contacts: refused, nothing changes. */
	q.callid = "c4";
	assert_int_equal(do_reg(f, &q, three, 3), LOC_TOO_MANY);
	assert_int_equal(f->got.n, 2);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.10:5062");

	/* A lower max_contacts evicts several at once. */
	q.max = 1;
	q.callid = "c5";
	assert_int_equal(do_reg(f, &q, &d, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.13:5062");
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_int_equal(tmrq_count(&f->q), 1);
}

static void test_max_contacts_zero(void **state)
{
	struct fixture *f = *state;
	struct loc_binding a = binding("sip:1001@192.0.2.10:5062", 100);
	struct loc_register r;

	memset(&r, 0, sizeof(r));
	r.aor = pl_from_str("1001");
	r.bindings = &a;
	r.bindings_n = 1;
	r.callid = pl_from_str("x");
	r.max_contacts = 0;
	r.remove_existing = true;
	r.now = f->now;
	memset(&f->got, 0, sizeof(f->got));
	assert_int_equal(state_register(f->st, &r, result_h, &f->got), 0);
	assert_int_equal(f->got.res, LOC_TOO_MANY);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(state_contacts_count(f->st), 0);
}

static void test_expiry_fake_clock(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1, .max = 2 };
	struct loc_binding a = binding("sip:1001@192.0.2.10:5062", 60);
	struct loc_binding b = binding("sip:1001@192.0.2.11:5062", 120);
	struct loc_binding c = binding("sip:1001@192.0.2.12:5062", 60);

	assert_int_equal(do_reg(f, &q, &a, 1), LOC_OK);
	q.callid = "c2";
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);

	f->now += 59;
	assert_int_equal(do_lookup(f, "1001"), 2);
	assert_int_equal(f->expired, 0);

	/* The timer has not fired (no loop ran), the clock says expired. */
	f->now += 1;
	assert_int_equal(do_lookup(f, "1001"), 1);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.11:5062");
	assert_int_equal(f->expired, 1);
	assert_string_equal(f->expired_aor, "1001");
	assert_string_equal(f->expired_uri, "sip:1001@192.0.2.10:5062");
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_int_equal(tmrq_count(&f->q), 1);

	/* An expired binding does not count against max_contacts either. */
	f->now += 60;
	q.callid = "c3";
	assert_int_equal(do_reg(f, &q, &c, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.uri[0], "sip:1001@192.0.2.12:5062");
	assert_int_equal(f->expired, 2);
	assert_string_equal(f->expired_uri, "sip:1001@192.0.2.11:5062");
}

static void test_expiry_timer_path(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1 };
	struct loc_binding a = binding("sip:1001@192.0.2.10:5062", 60);
	struct loc_binding b = binding("sip:1001@192.0.2.11:5062", 120);
	uint64_t t0 = uv_now(&f->loop);

	assert_int_equal(do_reg(f, &q, &a, 1), LOC_OK);
	q.aor = "1002";
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);

	tmrq_run(&f->q, t0 + 59999);
	assert_int_equal(f->expired, 0);
	tmrq_run(&f->q, t0 + 60000);
	assert_int_equal(f->expired, 1);
	assert_string_equal(f->expired_aor, "1001");
	assert_int_equal(state_contacts_count(f->st), 1);

	/* A refresh restarts the timer. */
	q.cseq = 2;
	b.expires = 240;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	tmrq_run(&f->q, t0 + 120000);
	assert_int_equal(f->expired, 1);
	tmrq_run(&f->q, t0 + 240000);
	assert_int_equal(f->expired, 2);
	assert_string_equal(f->expired_aor, "1002");
	assert_int_equal(state_contacts_count(f->st), 0);
	assert_int_equal(do_lookup(f, "1002"), 0);
}

static void test_expiry_real_loop(void **state)
{
	struct fixture *f = fixture_new(true);
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1 };
	struct loc_binding a = binding("sip:1001@192.0.2.10:5062", 1);
	struct loc_binding b = binding("sip:1001@192.0.2.11:5062", 3600);

	f->now = (uint64_t)time(NULL);
	assert_int_equal(do_reg(f, &q, &a, 1), LOC_OK);
	q.aor = "1002";
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(state_contacts_count(f->st), 2);

	f->stop_on_expire = true;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(f->expired, 1);
	assert_string_equal(f->expired_aor, "1001");
	assert_string_equal(f->expired_uri, "sip:1001@192.0.2.10:5062");
	assert_int_equal(state_contacts_count(f->st), 1);
	assert_int_equal(do_lookup(f, "1002"), 1);
	*state = f;
	teardown(state);
}

static void test_uri_equality(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1, .max = 10 };
	struct loc_binding b;

	b = binding("sip:1001@1.2.3.4:5060", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);

	/* transport= present in only one URI: not equal (§19.1.4). */
	q.cseq++;
	b = binding("sip:1001@1.2.3.4:5060;transport=udp", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 2);

	/* Port absent vs explicit 5060: not equal. */
	q.cseq++;
	b = binding("sip:1001@1.2.3.4", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 3);

	/* Host case and an unknown parameter in one URI only: equal. */
	q.cseq++;
	b = binding("sip:1001@EXAMPLE.com:5060", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 4);
	q.cseq++;
	b = binding("sip:1001@example.COM:5060;ob", 90);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 4);
	/* Refreshed in place, with the URI as now written. */
	assert_string_equal(f->got.uri[3], "sip:1001@example.COM:5060;ob");
	assert_int_equal(f->got.expires_at[3], f->now + 90);

	/* User part is case-sensitive. */
	q.cseq++;
	b = binding("sip:alice@example.com:5060", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 5);
	q.cseq++;
	b = binding("sip:ALICE@example.com:5060", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 6);
	assert_int_equal(state_contacts_count(f->st), 6);
}

static void test_instance_matching(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1 };
	struct loc_binding b;

	b = binding_inst("sip:1001@192.0.2.10:5062", 60, "\"<urn:uuid:aaaa>\"");
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_true(f->got.has_instance[0]);

	/* Same device, new address: the binding moves. */
	q.cseq = 2;
	b = binding_inst("sip:1001@198.51.100.5:40000", 60, "\"<urn:uuid:AAAA>\"");
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.uri[0], "sip:1001@198.51.100.5:40000");

	/* Same address, another device: a second binding... */
	q.cseq = 3;
	b = binding_inst("sip:1001@192.0.2.10:5062", 60, "\"<urn:uuid:bbbb>\"");
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 2);

	/* ...and an instance-less binding with an equal URI refreshes it. */
	q.cseq = 4;
	b = binding("sip:1001@192.0.2.10:5062", 0);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_string_equal(f->got.uri[0], "sip:1001@198.51.100.5:40000");

	/* Out-of-order check applies to a binding found by instance too. */
	q.cseq = 2;
	b = binding_inst("sip:1001@203.0.113.1:5060", 60, "\"<urn:uuid:aaaa>\"");
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OUT_OF_ORDER);
	assert_string_equal(f->got.uri[0], "sip:1001@198.51.100.5:40000");
}

static void test_duplicate_in_request(void **state)
{
	struct fixture *f = *state;
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1, .max = 1 };
	struct loc_binding b[2] = {
		binding("sip:1001@192.0.2.10:5062", 60),
		binding("sip:1001@192.0.2.10:5062", 90),
	};

	/* The last of equal Contacts wins, and they count once. */
	assert_int_equal(do_reg(f, &q, b, 2), LOC_OK);
	assert_int_equal(f->got.n, 1);
	assert_int_equal(f->got.expires_at[0], f->now + 90);
	assert_int_equal(tmrq_count(&f->q), 1);
}

static void test_bad_args(void **state)
{
	struct fixture *f = *state;
	struct loc_register r;
	struct loc_binding empty = binding("", 60);
	struct pl none = PL_INIT;
	static const struct state_ops other_ops = { .name = "other" };
	struct state other = { .ops = &other_ops };

	memset(&r, 0, sizeof(r));
	assert_int_equal(state_register(f->st, NULL, result_h, &f->got), EINVAL);
	assert_int_equal(state_register(f->st, &r, result_h, &f->got), EINVAL);
	r.aor = pl_from_str("1001");
	assert_int_equal(state_register(f->st, &r, NULL, NULL), EINVAL);
	r.bindings_n = 1;
	assert_int_equal(state_register(f->st, &r, result_h, &f->got), EINVAL);
	r.bindings = &empty;
	assert_int_equal(state_register(f->st, &r, result_h, &f->got), EINVAL);
	assert_int_equal(state_lookup(f->st, &none, result_h, &f->got), EINVAL);
	assert_int_equal(state_nonce_use(f->st, &none, 1, f->now + 10, NULL, NULL), EINVAL);
	assert_int_equal(f->got.calls, 0);
	assert_int_equal(state_mem_set_nonce_max(&other, 10), EINVAL);
	assert_int_equal(state_mem_set_nonce_max(f->st, 0), EINVAL);
	assert_int_equal(state_mem_alloc(NULL, &f->q, NULL, NULL), EINVAL);
}

static void nonce_h(bool ok, void *arg)
{
	struct fixture *f = arg;

	f->nonce_calls++;
	f->nonce_ok = ok;
}

static bool nonce(struct fixture *f, const char *n, uint32_t nc, uint64_t expires_at)
{
	struct pl pl = pl_from_str(n);
	int calls = f->nonce_calls;

	assert_int_equal(state_nonce_use(f->st, &pl, nc, expires_at, nonce_h, f), 0);
	assert_int_equal(f->nonce_calls, calls + 1);
	return f->nonce_ok;
}

static void test_nonce_replay(void **state)
{
	struct fixture *f = *state;
	uint64_t exp = f->now + 300;

	assert_true(nonce(f, "n1", 1, exp));
	assert_false(nonce(f, "n1", 1, exp));
	assert_true(nonce(f, "n1", 2, exp));
	assert_true(nonce(f, "n1", 5, exp));
	assert_false(nonce(f, "n1", 3, exp));
	assert_false(nonce(f, "n1", 5, exp));
	assert_true(nonce(f, "n1", 6, exp));
	/* Other nonces have their own count. */
	assert_true(nonce(f, "n2", 1, exp));
	assert_true(nonce(f, "n1x", 1, exp));
	assert_false(nonce(f, "n2", 1, exp));
	/* nc counts from 1; stale nonces are never accepted. */
	assert_false(nonce(f, "n3", 0, exp));
	assert_false(nonce(f, "n4", 1, f->now));
	assert_false(nonce(f, "n4", 1, f->now - 1));
	assert_true(nonce(f, "n4", 1, f->now + 1));
	/* No timer for nonces at all: expired entries are free space. */
	assert_int_equal(tmrq_count(&f->q), 0);
}

/* A REGISTER's nonce count, checked with its write: the same table as
 * state_nonce_use(), and nothing written when it is refused. */
static void test_register_nonce(void **state)
{
	struct fixture *f = *state;
	struct loc_binding b = binding("sip:1001@192.0.2.10:5062", 60);
	struct req q = { .aor = "1001", .callid = "c1", .cseq = 1,
			 .nonce = "n1", .nc = 1 };

	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	q.cseq = 2;
	b = binding("sip:1001@192.0.2.11:5062", 60);
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_REPLAY);
	assert_int_equal(f->got.n, 0);
	assert_int_equal(do_lookup(f, "1001"), 1);
	assert_false(nonce(f, "n1", 1, f->now + 300));
	q.nc = 3;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	assert_int_equal(do_lookup(f, "1001"), 2);
	q.nc = 0;
	q.cseq = 3;
	assert_int_equal(do_reg(f, &q, &b, 1), LOC_REPLAY);
}

static void test_nonce_expiry(void **state)
{
	struct fixture *f = *state;

	assert_true(nonce(f, "a", 1, f->now + 10));
	assert_true(nonce(f, "b", 1, f->now + 20));

	f->now += 10;
	/* "b" is still remembered; "a" is past its life whatever its count. */
	assert_false(nonce(f, "b", 1, f->now + 10));
	assert_false(nonce(f, "a", 2, f->now));

	f->now += 10;
	/* Forgotten with its expiry: a later nonce of that name starts over. */
	assert_true(nonce(f, "b", 1, f->now + 5));
}

static void test_nonce_bound(void **state)
{
	struct fixture *f = *state;

	/* Four entries fit in the smallest table; the fifth makes the one
	 * that expires soonest (n2) go. */
	assert_int_equal(state_mem_set_nonce_max(f->st, 4), 0);
	assert_true(nonce(f, "n1", 1, f->now + 30));
	assert_true(nonce(f, "n2", 1, f->now + 10));
	assert_true(nonce(f, "n3", 1, f->now + 20));
	assert_true(nonce(f, "n4", 1, f->now + 40));
	assert_true(nonce(f, "n5", 1, f->now + 50));
	assert_false(nonce(f, "n1", 1, f->now + 30));
	assert_false(nonce(f, "n3", 1, f->now + 20));
	assert_false(nonce(f, "n4", 1, f->now + 40));
	assert_false(nonce(f, "n5", 1, f->now + 50));
	assert_true(nonce(f, "n2", 1, f->now + 10));

	/* Overlong nonces are refused, not stored. */
	{
		char big[400];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_false(nonce(f, big, 1, f->now + 30));
	}
}

static void test_scale_100k(void **state)
{
	struct fixture *f = *state;
	struct req q = { .callid = "scale-call", .cseq = 1 };
	char aor[32], uri[96];
	struct loc_binding b;
	unsigned i;

	for (i = 0; i < 100000; i++) {
		snprintf(aor, sizeof(aor), "u%u", i);
		snprintf(uri, sizeof(uri), "sip:u%u@10.%u.%u.%u:5060", i,
			 (i >> 16) & 255, (i >> 8) & 255, i & 255);
		q.aor = aor;
		b = binding(uri, 3600 + i % 100);
		assert_int_equal(do_reg(f, &q, &b, 1), LOC_OK);
	}
	assert_int_equal(state_contacts_count(f->st), 100000);
	assert_int_equal(tmrq_count(&f->q), 100000);
	assert_int_equal(do_lookup(f, "u0"), 1);
	assert_int_equal(do_lookup(f, "u99999"), 1);
	assert_string_equal(f->got.uri[0], "sip:u99999@10.1.134.159:5060");
	assert_int_equal(do_lookup(f, "u100000"), 0);
	/* Free with everything pending: no leak, no timer left behind. */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_refresh_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiple_contacts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wildcard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_contacts_no_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_contacts_remove_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_contacts_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_fake_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_timer_path, setup, teardown),
		cmocka_unit_test(test_expiry_real_loop),
		cmocka_unit_test_setup_teardown(test_uri_equality, setup, teardown),
		cmocka_unit_test_setup_teardown(test_instance_matching, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_in_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonce_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_nonce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonce_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonce_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scale_100k, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
