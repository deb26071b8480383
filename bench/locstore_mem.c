/*
 * locstore_mem.c - memory per stored contact in the in-memory location store.
 *
 * Registers 100,000 AORs with one contact each through the state API
 * (realistic sizes: contact URI ~60 bytes, Call-ID ~40, User-Agent ~30, no
 * Path), then prints the resident-set growth and the malloc'ed bytes
 * (mallinfo2) per contact, including the AOR entry, hash table and timer
 * heap slots.  Built by `make build` (bench/CMakeLists.txt), optimised
 * and without sanitizers:
 *
 *   make build && build/bench/locstore_mem
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "state/state.h"

#define N 100000

static long rss_kib(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
			break;
		}
	}
	fclose(fp);
	return kib;
}

static void result_h(enum loc_result res, const struct loc_contact *v, size_t n, void *arg)
{
	int *failed = arg;

	if (res != LOC_OK || n != 1)
		(*failed)++;
}

int main(void)
{
	uv_loop_t loop;
	struct tmrq q;
	struct state *st = NULL;
	struct loc_register r;
	struct loc_binding b;
	struct sockaddr_in *sin = (struct sockaddr_in *)&r.src.addr;
	char aor[32], uri[96], callid[64], ua[40];
	struct mallinfo2 mi0, mi1;
	long rss0, rss1;
	int failed = 0;
	unsigned i;
	int err;

	if (uv_loop_init(&loop) != 0 || tmrq_init(&q, &loop) != 0) {
		fprintf(stderr, "locstore_mem: cannot set up the loop\n");
		return 1;
	}
	err = state_mem_alloc(&st, &q, NULL, NULL);
	if (err)
		goto out;

	memset(&r, 0, sizeof(r));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);
	r.src.proto = LOC_PROTO_UDP;
	r.max_contacts = 1;
	r.now = (uint64_t)time(NULL);
	r.bindings = &b;
	r.bindings_n = 1;
	r.cseq = 1;

	malloc_trim(0);
	mi0 = mallinfo2();
	rss0 = rss_kib();
	for (i = 0; i < N; i++) {
		snprintf(aor, sizeof(aor), "u%06u", i);
		snprintf(uri, sizeof(uri),
			 "sip:u%06u@203.0.%u.%u:%u;transport=udp;rinstance=ab12cd",
			 i, (i >> 8) & 255, i & 255, 40000 + i % 20000);
		snprintf(callid, sizeof(callid), "a84b4c76e66710-%08x@203.0.113.45", i);
		snprintf(ua, sizeof(ua), "Yealink SIP-T46S 66.86.0.%u", i % 100);
		sin->sin_addr.s_addr = htonl(0xcb000000u | i);
		memset(&b, 0, sizeof(b));
		b.uri = pl_from_str(uri);
		b.expires = 3600;
		b.q = -1;
		r.aor = pl_from_str(aor);
		r.callid = pl_from_str(callid);
		r.user_agent = pl_from_str(ua);
		r.endpoint = pl_from_str(aor);
		err = state_register(st, &r, result_h, &failed);
		if (err)
			goto out;
	}
	mi1 = mallinfo2();
	rss1 = rss_kib();

	printf("contacts=%zu failed=%d\n", state_contacts_count(st), failed);
	printf("rss_delta_kib=%ld rss_per_contact_bytes=%.0f\n",
	       rss1 - rss0, (double)(rss1 - rss0) * 1024.0 / N);
	printf("malloc_delta_bytes=%zu malloc_per_contact_bytes=%.0f\n",
	       mi1.uordblks - mi0.uordblks, (double)(mi1.uordblks - mi0.uordblks) / N);
	if (failed)
		err = 1;
out:
	if (err)
		fprintf(stderr, "locstore_mem: error %d\n", err);
	state_free(st);
	tmrq_close(&q);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return err ? 1 : 0;
}
