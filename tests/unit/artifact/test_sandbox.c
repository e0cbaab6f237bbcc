/*
 * Unit tests for src/artifact/sandbox.c: a confined child's output comes back whole; network
 * sockets, program execution and new processes are refused inside it (while threads still
 * work); a crash, the CPU limit, the memory limit, the wall-clock deadline and the output
 * bound each end the child with the right account, and none of them can hold the parent
 * longer than its deadline. These tests must never pass on a stub.
 */
#include "../check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "artifact/sandbox.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/fileio.h"

static struct cst_sandbox_limits
limits(uint64_t cpu_s, uint64_t mem, uint64_t wall_ms, size_t out_max)
{
	struct cst_sandbox_limits l = { cpu_s, mem, wall_ms, out_max };

	return l;
}

static int
say_hello(void *arg, int fd)
{
	(void)arg;
	return cst_write_all(fd, "hello", 5) == 0 ? 7 : 1;
}

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return NULL;
}

/* Tries what an exploit would; writes one letter per attempt: Y refused, N allowed. */
static int
try_escapes(void *arg, int fd)
{
	const char *trunc_path = arg;
	struct open_how how = { .flags = O_RDONLY };
	char out[8];
	int s, v = 0;
	pthread_t t;

	s = socket(AF_INET, SOCK_STREAM, 0);
	out[0] = s < 0 && errno == EPERM ? 'Y' : 'N';
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	out[1] = s < 0 && errno == EPERM ? 'Y' : 'N';
	out[2] = execl("/bin/true", "true", (char *)NULL) < 0 && errno == EPERM ? 'Y' : 'N';
	out[3] = fork() < 0 ? 'Y' : 'N';
	out[4] = pthread_create(&t, NULL, thread_main, &v) == 0 && pthread_join(t, NULL) == 0 &&
	    v == 42 ? 'T' : 'F';	/* threads still work */
	out[5] = fopen("/tmp/cst-sandbox-should-not-exist", "w") == NULL ? 'Y' : 'N';
	/* openat2's flags are out of the filter's sight: it must be refused whatever they are */
	out[6] = syscall(SYS_openat2, AT_FDCWD, "/tmp", &how, sizeof(how)) < 0 &&
	    errno == ENOSYS ? 'Y' : 'N';
	s = open(trunc_path, O_RDONLY | O_TRUNC);
	out[7] = s < 0 && errno == EPERM ? 'Y' : 'N';
	return cst_write_all(fd, out, 8) == 0 ? 0 : 1;
}

static int
crash(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	raise(SIGSEGV);
	return 0;
}

static int
spin(void *arg, int fd)
{
	volatile unsigned long x = 0;

	(void)arg;
	(void)fd;
	for (;;)
		x++;
	return 0;
}

static int
hog_memory(void *arg, int fd)
{
	size_t n = 0;

	(void)arg;
	while (malloc(1 << 20) != NULL && n < 100000)	/* never freed: the child ends */
		n++;
	return cst_write_all(fd, n < 100000 ? "limited" : "unlimited", n < 100000 ? 7 : 9);
}

static int
sleep_long(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	sleep(30);
	return 0;
}

static int
flood(void *arg, int fd)
{
	static char block[65536];

	(void)arg;
	memset(block, 'x', sizeof(block));
	for (;;)
		if (cst_write_all(fd, block, sizeof(block)) != 0)
			return 1;
}

static void
test_output_and_status(void **state)
{
	struct cst_sandbox_limits l = limits(5, 1ULL << 30, 10000, 1024);
	struct cst_sandbox_result r;
	char d[128];

	(void)state;
	CHECK_INT("run", cst_sandbox_run(say_hello, NULL, &l, &r), 0);
	CHECK_INT("end", r.end, CST_SANDBOX_EXITED);
	CHECK_INT("status", r.code, 7);
	CHECK("output", r.out_len == 5 && strcmp(r.out, "hello") == 0);
	cst_sandbox_describe(&r, d, sizeof(d));
	CHECK("describe", strcmp(d, "exited with status 7") == 0);
	cst_free(r.out);
}

static void
test_confinement(void **state)
{
	struct cst_sandbox_limits l = limits(5, 1ULL << 30, 10000, 1024);
	struct cst_sandbox_result r;
	char trunc_path[] = "/tmp/cst-sandbox-trunc-XXXXXX";
	struct stat st;
	int fd;

	(void)state;
	unlink("/tmp/cst-sandbox-should-not-exist");
	fd = mkstemp(trunc_path);
	CHECK("temp file", fd >= 0 && cst_write_all(fd, "keep", 4) == 0);
	close(fd);
	CHECK_INT("run", cst_sandbox_run(try_escapes, trunc_path, &l, &r), 0);
	CHECK_INT("end", r.end, CST_SANDBOX_EXITED);
	CHECK_INT("status", r.code, 0);
	if (strcmp(r.out, "YYYYTYYY") != 0) {
		print_error("escapes: got %s, want YYYYTYYY (inet, unix, exec, fork, threads, file, "
		    "openat2, O_TRUNC)\n", r.out);
		fail();
	}
	CHECK("no file made", access("/tmp/cst-sandbox-should-not-exist", F_OK) != 0);
	CHECK("not truncated", stat(trunc_path, &st) == 0 && st.st_size == 4);
	unlink(trunc_path);
	cst_free(r.out);
}

static void
test_endings(void **state)
{
	static const struct {
		const char *name;
		cst_sandbox_fn fn;
		struct cst_sandbox_limits lim;
		enum cst_sandbox_end end;
		int code;		/* signal, status, or -1: any */
		const char *out;	/* expected output, or NULL */
	} cases[] = {
		{ "crash", crash, { 5, 1ULL << 30, 10000, 1024 }, CST_SANDBOX_SIGNALED, SIGSEGV, NULL },
		{ "cpu limit", spin, { 1, 1ULL << 30, 10000, 1024 }, CST_SANDBOX_SIGNALED, -1, NULL },
		{ "memory limit", hog_memory, { 5, 256ULL << 20, 10000, 1024 }, CST_SANDBOX_EXITED,
		  -1, "limited" },
		{ "wall clock", sleep_long, { 5, 1ULL << 30, 300, 1024 }, CST_SANDBOX_TIMEOUT, -1,
		  NULL },
		{ "output bound", flood, { 5, 1ULL << 30, 10000, 100000 }, CST_SANDBOX_OUTPUT, -1,
		  NULL },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N_ELEM(cases); i++) {
		struct cst_sandbox_result r;
		uint64_t t0 = cst_clock_mono_us();

		if (cases[i].fn == hog_memory && !cst_sandbox_memory_limited())
			continue;	/* sanitizer build: no address-space limit (sandbox.h) */
		CHECK_INT(cases[i].name, cst_sandbox_run(cases[i].fn, NULL, &cases[i].lim, &r), 0);
		CHECK_INT(cases[i].name, r.end, cases[i].end);
		if (cases[i].code >= 0)
			CHECK_INT(cases[i].name, r.code, cases[i].code);
		if (cases[i].out)
			CHECK(cases[i].name, strcmp(r.out, cases[i].out) == 0);
		if (cases[i].end == CST_SANDBOX_OUTPUT)
			CHECK_INT(cases[i].name, r.out_len, 100000);
		cst_free(r.out);
		/* Nothing holds the parent much past the child's wall-clock deadline (CPU
		 * seconds take longer than that on a loaded machine, so not bounded here). */
		CHECK(cases[i].name, cst_clock_mono_us() - t0 < cases[i].lim.wall_ms * 1000 + 2000000);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_output_and_status),
		cmocka_unit_test(test_confinement),
		cmocka_unit_test(test_endings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
