/*
 * media_bench.c - the relay side of the media benchmark: kubevox's RTP
 * engine with N relayed calls and nothing else.
 *
 * Creates the engine on 127.0.0.1 with WORKERS threads, allocates two
 * legs per call (the second near the first, as the call engine does),
 * connects them, writes the legs' RTP ports to MAPFILE ("portA portB",
 * one call a line) and relays until SIGINT or SIGTERM, when it prints
 * the engine's counters (logfmt) and exits.  No SDP address is set: each
 * leg latches on the first packet the load generator sends it, as with
 * phones behind NAT.  bench/media.sh drives it; `make build` builds it
 * (bench/CMakeLists.txt); by hand:
 *
 *   build/bench/media_bench -n 1000 -w 1 -r 10000-29999 -m /tmp/map
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <uv.h>

#include "media/rtp.h"

static struct rtp_engine *engine;
static uv_signal_t sigint, sigterm;

static void usage(void)
{
	fprintf(stderr, "usage: media_bench -n calls [-w workers] [-r start-end] -m mapfile\n");
	exit(2);
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct rtp_stats st;

	rtp_engine_stats(engine, &st);
	printf("relayed_packets=%llu relayed_bytes=%llu rx_packets=%llu drop_nopeer=%llu "
	       "drop_source=%llu drop_malformed=%llu drop_send=%llu legs=%u ports=%u workers=%u\n",
	       (unsigned long long)st.relayed_packets, (unsigned long long)st.relayed_bytes,
	       (unsigned long long)st.rx_packets, (unsigned long long)st.drop_nopeer,
	       (unsigned long long)st.drop_source, (unsigned long long)st.drop_malformed,
	       (unsigned long long)st.drop_send, st.legs_active, st.ports_in_use, st.workers);
	fflush(stdout);
	/* Legs go with the engine. */
	rtp_engine_free(engine);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigterm, NULL);
}

/* Two sockets per leg, two legs per call: more than the default 1024. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	unsigned calls = 0, workers = 1, start = 10000, end = 29999, i;
	const char *map = NULL;
	char tmp[4096];
	struct sockaddr_in bind;
	struct rtp_leg *a, *b;
	FILE *f;
	int c, err;

	while ((c = getopt(argc, argv, "n:w:r:m:")) != -1) {
		switch (c) {
		case 'n': calls = (unsigned)atoi(optarg); break;
		case 'w': workers = (unsigned)atoi(optarg); break;
		case 'r':
			if (sscanf(optarg, "%u-%u", &start, &end) != 2 || end > 65535)
				usage();
			break;
		case 'm': map = optarg; break;
		default: usage();
		}
	}
	if (!calls || !map)
		usage();
	raise_nofile();
	memset(&bind, 0, sizeof(bind));
	bind.sin_family = AF_INET;
	bind.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	err = rtp_engine_alloc(&engine, uv_default_loop(), (struct sockaddr *)&bind,
			       (uint16_t)start, (uint16_t)end, workers);
	if (err) {
		fprintf(stderr, "media_bench: engine: %s\n", strerror(err));
		return 2;
	}
	/* Written aside and renamed: the driver waits for the file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", map);
	f = fopen(tmp, "w");
	if (!f) {
		fprintf(stderr, "media_bench: %s: %s\n", tmp, strerror(errno));
		return 2;
	}
	for (i = 0; i < calls; i++) {
		err = rtp_leg_alloc(engine, &a, NULL, NULL);
		if (!err)
			err = rtp_leg_alloc_near(engine, &b, a, NULL, NULL);
		if (!err)
			err = rtp_leg_connect(a, b);
		if (err) {
			fprintf(stderr, "media_bench: call %u: %s\n", i, strerror(err));
			return 2;
		}
		fprintf(f, "%u %u\n", rtp_leg_port(a), rtp_leg_port(b));
	}
	if (fclose(f) || rename(tmp, map)) {
		fprintf(stderr, "media_bench: %s: %s\n", map, strerror(errno));
		return 2;
	}
	uv_signal_init(uv_default_loop(), &sigint);
	uv_signal_init(uv_default_loop(), &sigterm);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_run(uv_default_loop(), UV_RUN_DEFAULT);
	return 0;
}
