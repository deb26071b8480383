/*
 * rand.c - CSPRNG bytes and fast unique identifiers (see rand.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "util/hash.h"
#include "util/log.h"
#include "util/rand.h"

struct gen {
	struct hash_key key;
	uint64_t ctr;
	bool seeded;
};

static _Thread_local struct gen gen;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* The child of a fork would repeat its parent's identifiers. */
static void reseed_in_child(void)
{
	gen.seeded = false;
}

static void atfork_register(void)
{
	pthread_atfork(NULL, NULL, reseed_in_child);
}

static bool urandom(void *p, size_t n)
{
	unsigned char *b = p;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	while (n) {
		ssize_t r = read(fd, b, n);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			close(fd);
			return false;
		}
		b += r;
		n -= (size_t)r;
	}
	close(fd);
	return true;
}

static void weak_fill(void *p, size_t n)
{
	static _Thread_local uint64_t ctr;
	struct timespec rt, mt;
	unsigned char *b = p;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mt);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = hash_mix64((uint64_t)rt.tv_nsec ^ ((uint64_t)rt.tv_sec << 30) ^
					hash_mix64((uint64_t)mt.tv_nsec ^ (uint64_t)getpid() << 40) ^
					hash_mix64((uint64_t)(uintptr_t)&ctr + ++ctr));
		size_t k = n - i < 8 ? n - i : 8;

		memcpy(b + i, &x, k);
	}
}

void rand_bytes(void *p, size_t n)
{
	static bool warned;
	unsigned char *b = p;
	size_t done = 0;

	while (done < n) {
		ssize_t r = getrandom(b + done, n - done, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		done += (size_t)r;
	}
	if (done == n || urandom(b + done, n - done))
		return;
	if (!warned) {
		warned = true;
		log_event(LOG_ERROR, "rand_weak", "reason=\"no getrandom or /dev/urandom\"");
	}
	weak_fill(b + done, n - done);
}

uint64_t rand_u64(void)
{
	if (!gen.seeded) {
		pthread_once(&atfork_once, atfork_register);
		rand_bytes(&gen.key, sizeof(gen.key));
		rand_bytes(&gen.ctr, sizeof(gen.ctr));
		gen.seeded = true;
	}
	gen.ctr++;
	return hash_sip(&gen.key, &gen.ctr, sizeof(gen.ctr));
}

void rand_hash_key(struct hash_key *key)
{
	rand_bytes(key->k, sizeof(key->k));
}

void rand_hex(char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	uint64_t x = 0;
	size_t i;

	if (!buf || !size)
		return;
	for (i = 0; i + 1 < size; i++) {
		if ((i & 15) == 0)
			x = rand_u64();
		buf[i] = hex[x & 0xf];
		x >>= 4;
	}
	buf[i] = '\0';
}
