/*
 * health.h - the two liveness checks behind /livez (private to src/ops/).
 *
 * The heartbeat is a timer on the main loop that stamps a monotonic time
 * every HEALTH_BEAT_MS; any thread can read how long ago the loop last
 * turned.  The SIP check is a real OPTIONS round trip to our own UDP
 * listener over a plain socket, run from the caller's thread (the HTTP
 * one), so it tests the whole path a phone uses: socket, parser,
 * transaction layer and PBX.
 */
#ifndef KV_OPS_HEALTH_H
#define KV_OPS_HEALTH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#define HEALTH_BEAT_MS 200

struct health;

/* On the loop's thread.  The timer does not keep the loop alive. */
int  health_alloc(struct health **hp, uv_loop_t *loop);
/* On the loop's thread; h is freed once the loop has closed the timer. */
void health_free(struct health *h);
/* From any thread: milliseconds since the loop last stamped the heartbeat. */
uint64_t health_loop_age(const struct health *h);

/*
 * From any thread: send an OPTIONS to sip (a wildcard address means the
 * loopback of its family) and wait up to deadline_ms for its final
 * response, resending every 500 ms (RFC 3261 timer E with T1) in case a
 * datagram was lost.  0 when the answer was 200; otherwise an errno value
 * (ETIMEDOUT, ECONNREFUSED, EPROTO for another final code...) with what
 * happened written to why.  *rtt_ms (may be NULL) gets the time taken.
 */
int health_sip_check(const struct sockaddr_storage *sip, unsigned deadline_ms,
		     char *why, size_t size, uint64_t *rtt_ms);

#endif
