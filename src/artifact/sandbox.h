/*
 * Runs an analysis of untrusted input in a child process, so that a parser bug cannot take the
 * caller with it. The child gets resource limits (CPU seconds, address space, no file
 * creation, few descriptors, no core dump), no new privileges, and a seccomp filter that
 * refuses network sockets, process execution, tracing and namespace changes with EPERM. It
 * writes its result to a pipe; the parent reads at most a bounded amount, kills the child at
 * a wall-clock deadline, and reports how it ended. Nothing the child does can make the parent
 * read past the bound or wait past the deadline.
 *
 * The child is a fork of the caller: call this from a single-threaded process (the scanner
 * CLI), or accept that only the calling thread exists in the child (it must not take locks
 * other threads may hold; the analysers take none).
 */
#ifndef CST_ARTIFACT_SANDBOX_H
#define CST_ARTIFACT_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

struct cst_sandbox_limits {
	uint64_t cpu_s;		/* RLIMIT_CPU (SIGXCPU, then SIGKILL one second later) */
	uint64_t mem_bytes;	/* RLIMIT_AS */
	uint64_t wall_ms;	/* the parent kills the child after this long */
	size_t out_max;		/* most bytes of output the parent accepts */
};

/* Defaults: 60 s CPU, 2 GiB address space, 120 s wall, 64 MiB of output. */
void cst_sandbox_limits_default(struct cst_sandbox_limits *lim);

enum cst_sandbox_end {
	CST_SANDBOX_EXITED,	/* exited normally: status in code */
	CST_SANDBOX_SIGNALED,	/* killed by a signal (crash, CPU limit): signal in code */
	CST_SANDBOX_TIMEOUT,	/* killed by the parent at the wall-clock deadline */
	CST_SANDBOX_OUTPUT,	/* wrote more than out_max bytes (killed) */
};

struct cst_sandbox_result {
	enum cst_sandbox_end end;
	int code;
	char *out;		/* what the child wrote (NUL-terminated); cst_free */
	size_t out_len;
};

/*
 * The work done in the child: writes its result to out_fd and returns the child's exit
 * status. It runs after the limits and the filter are in place.
 */
typedef int (*cst_sandbox_fn)(void *arg, int out_fd);

/*
 * Forks, confines and runs fn(arg, fd) in the child; collects its output and how it ended.
 * 0 with *res filled (whatever the child did); CST_EIO (fork, pipe or the filter could not be
 * set up: nothing ran). Never runs fn unconfined.
 */
int cst_sandbox_run(cst_sandbox_fn fn, void *arg, const struct cst_sandbox_limits *lim,
    struct cst_sandbox_result *res);

/*
 * Whether this build enforces mem_bytes. AddressSanitizer reserves terabytes of address space
 * for its shadow memory, so sanitizer builds (tests) run without the address-space limit; the
 * CPU, wall-clock and output bounds and the filter still apply.
 */
int cst_sandbox_memory_limited(void);

/* One line describing how the child ended ("exited with status 0", "killed by SIGSEGV"...). */
void cst_sandbox_describe(const struct cst_sandbox_result *res, char *buf, size_t cap);

#endif
