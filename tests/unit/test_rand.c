/*
 * test_rand.c - util/rand.c: identifiers differ between processes started
 * alike, after fork, and between threads; the hex form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/rand.h"

#define IDS 4

/* "--print": what a freshly started process generates first. */
static int print_ids(void)
{
	for (int i = 0; i < IDS; i++) {
		char id[33];

		rand_hex(id, sizeof(id));
		printf("%s\n", id);
	}
	return 0;
}

static void run_self(char out[IDS][33])
{
	char cmd[64];
	FILE *fp;

	snprintf(cmd, sizeof(cmd), "/proc/%d/exe --print", (int)getpid());
	fp = popen(cmd, "r");
	assert_non_null(fp);
	for (int i = 0; i < IDS; i++) {
		char line[64];

		assert_non_null(fgets(line, sizeof(line), fp));
		line[strcspn(line, "\n")] = '\0';
		assert_int_equal(strlen(line), 32);
		memcpy(out[i], line, 33);
	}
	assert_int_equal(pclose(fp), 0);
}

static void test_two_processes(void **state)
{
	char a[IDS][33], b[IDS][33];

	(void)state;
	run_self(a);
	run_self(b);
	for (int i = 0; i < IDS; i++)
		for (int j = 0; j < IDS; j++)
			assert_string_not_equal(a[i], b[j]);
}

static void test_fork(void **state)
{
	uint64_t parent, child;
	int fds[2];
	pid_t pid;

	(void)state;
	(void)rand_u64();            /* the parent's generator is seeded */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t x = rand_u64();

		_exit(write(fds[1], &x, sizeof(x)) == sizeof(x) ? 0 : 1);
	}
	parent = rand_u64();
	assert_int_equal(read(fds[0], &child, sizeof(child)), sizeof(child));
	waitpid(pid, NULL, 0);
	close(fds[0]);
	close(fds[1]);
	assert_true(parent != child);
}

static void *thread_first(void *arg)
{
	*(uint64_t *)arg = rand_u64();
	return NULL;
}

static void test_threads(void **state)
{
	uint64_t x[4];
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, thread_first, &x[i]), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			assert_true(x[i] != x[j]);
}

static void test_hex_and_bytes(void **state)
{
	char small[5], id[33];
	unsigned char z[32] = {0}, b[32] = {0};

	(void)state;
	rand_hex(small, sizeof(small));
	assert_int_equal(strlen(small), 4);
	rand_hex(id, sizeof(id));
	assert_int_equal(strspn(id, "0123456789abcdef"), 32);
	rand_hex(id, 1);
	assert_string_equal(id, "");
	rand_bytes(b, sizeof(b));
	assert_memory_not_equal(b, z, sizeof(b));
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_processes),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_hex_and_bytes),
	};

	if (argc > 1 && !strcmp(argv[1], "--print"))
		return print_ids();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
