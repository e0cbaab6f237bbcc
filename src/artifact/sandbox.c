/*
 * The confined child process of the scanner (sandbox.h). The filter is installed before fn
 * runs, and if any step of the confinement fails the child exits with status 125 without
 * running fn, so an unconfined analysis never happens.
 */
#include "artifact/sandbox.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONFINE_FAILED 125

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

int
cst_sandbox_memory_limited(void)
{
	return !SANITIZED;
}

void
cst_sandbox_limits_default(struct cst_sandbox_limits *lim)
{
	lim->cpu_s = 60;
	lim->mem_bytes = 2ULL << 30;
	lim->wall_ms = 120000;
	lim->out_max = 64u << 20;
}

static int
set_limit(int what, uint64_t soft, uint64_t hard)
{
	struct rlimit rl = { (rlim_t)soft, (rlim_t)hard };

	return setrlimit(what, &rl);
}

/* open/openat flag patterns refused: write-only, read-write, create, truncate. */
static const struct {
	unsigned long mask, value;
} write_flags[] = {
	{ O_WRONLY | O_RDWR, O_WRONLY }, { O_RDWR, O_RDWR }, { O_CREAT, O_CREAT },
	{ O_TRUNC, O_TRUNC },
};

/* System calls the analysis never needs and an exploit would: refused with EPERM. */
static const int denied[] = {
	SCMP_SYS(socket), SCMP_SYS(socketpair), SCMP_SYS(connect), SCMP_SYS(bind),
	SCMP_SYS(listen), SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg), SCMP_SYS(execve), SCMP_SYS(execveat),
	SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(mount),
	SCMP_SYS(umount2), SCMP_SYS(chroot), SCMP_SYS(pivot_root), SCMP_SYS(kexec_load),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(bpf), SCMP_SYS(keyctl),
	SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(userfaultfd), SCMP_SYS(perf_event_open),
	SCMP_SYS(io_uring_setup), SCMP_SYS(creat), SCMP_SYS(truncate), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rmdir), SCMP_SYS(link), SCMP_SYS(linkat),
	SCMP_SYS(symlink), SCMP_SYS(symlinkat), SCMP_SYS(chmod), SCMP_SYS(fchmodat),
	SCMP_SYS(chown), SCMP_SYS(fchownat), SCMP_SYS(lchown), SCMP_SYS(mknod), SCMP_SYS(mknodat),
	SCMP_SYS(setxattr), SCMP_SYS(lsetxattr), SCMP_SYS(fsetxattr), SCMP_SYS(removexattr),
	SCMP_SYS(lremovexattr), SCMP_SYS(fremovexattr), SCMP_SYS(utimensat), SCMP_SYS(utimes),
	SCMP_SYS(utime), SCMP_SYS(futimesat), SCMP_SYS(open_by_handle_at),
};

/* Limits, no new privileges, the filter. 0, or -1 (the child must not go on). */
static int
confine(const struct cst_sandbox_limits *lim)
{
	scmp_filter_ctx ctx;
	size_t i;
	int ok;

	if (set_limit(RLIMIT_CPU, lim->cpu_s, lim->cpu_s + 1) != 0 ||
	    (!SANITIZED && set_limit(RLIMIT_AS, lim->mem_bytes, lim->mem_bytes) != 0) ||
	    set_limit(RLIMIT_FSIZE, 0, 0) != 0 || set_limit(RLIMIT_CORE, 0, 0) != 0 ||
	    set_limit(RLIMIT_NPROC, 0, 0) != 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return -1;
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL)
		return -1;
	ok = 1;
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]) && ok; i++)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0) == 0;
	/* clone is how threads start; a new process (no CLONE_THREAD) is refused. */
	ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)) == 0;
	ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) == 0;
	/*
	 * Files are opened for reading only: no writing, creating or truncating. openat2 passes
	 * its flags in a structure the filter cannot read, so it is refused as absent (callers
	 * fall back to openat).
	 */
	for (i = 0; i < sizeof(write_flags) / sizeof(write_flags[0]) && ok; i++)
		ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, write_flags[i].mask, write_flags[i].value)) == 0 &&
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, write_flags[i].mask, write_flags[i].value)) == 0;
	ok = ok && seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0) == 0;
	ok = ok && seccomp_load(ctx) == 0;
	seccomp_release(ctx);
	return ok ? 0 : -1;
}

/* Reads what the child writes until it closes the pipe, the bound or the deadline. */
static enum cst_sandbox_end
collect(int fd, const struct cst_sandbox_limits *lim, char **out, size_t *out_len)
{
	uint64_t deadline = cst_clock_mono_us() + lim->wall_ms * 1000;
	size_t cap = 0, len = 0;
	char *buf = NULL;

	for (;;) {
		uint64_t now = cst_clock_mono_us();
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;
		int r;

		if (now >= deadline)
			break;
		r = poll(&p, 1, (int)((deadline - now) / 1000 + 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;	/* the deadline is checked at the top */
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *nb;

			if (ncap > lim->out_max + 1)
				ncap = lim->out_max + 1;
			if (ncap <= len || (nb = cst_reallocarray(buf, ncap + 1, 1)) == NULL) {
				*out = buf;
				*out_len = len;
				return CST_SANDBOX_OUTPUT;
			}
			buf = nb;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*out = buf;
			*out_len = len;
			return CST_SANDBOX_EXITED;	/* end of output: how it ended comes next */
		}
		len += (size_t)n;
		if (len > lim->out_max) {
			*out = buf;
			*out_len = lim->out_max;
			return CST_SANDBOX_OUTPUT;
		}
	}
	*out = buf;
	*out_len = len;
	return CST_SANDBOX_TIMEOUT;
}

int
cst_sandbox_run(cst_sandbox_fn fn, void *arg, const struct cst_sandbox_limits *lim,
    struct cst_sandbox_result *res)
{
	enum cst_sandbox_end end;
	int p[2], status = 0;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	if (pipe2(p, O_CLOEXEC) != 0)
		return CST_EIO;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return CST_EIO;
	}
	if (pid == 0) {
		int sig;

		close(p[0]);
		/* The caller's handlers (a test harness's, a sanitizer's) must not catch a crash. */
		for (sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, SIG_DFL);	/* lint: allow (child process setup) */
		if (confine(lim) != 0)
			_exit(CONFINE_FAILED);
		_exit(fn(arg, p[1]) & 0xff);
	}
	close(p[1]);
	end = collect(p[0], lim, &res->out, &res->out_len);
	close(p[0]);
	if (end != CST_SANDBOX_EXITED)
		kill(pid, SIGKILL);
	else {
		/* The output ended; the child may still run (it closed its pipe): bounded wait. */
		uint64_t deadline = cst_clock_mono_us() + lim->wall_ms * 1000;

		while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
		    cst_clock_mono_us() < deadline)
			usleep(1000);
		if (w == pid)
			goto ended;
		kill(pid, SIGKILL);
		end = CST_SANDBOX_TIMEOUT;
	}
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
ended:
	if (res->out == NULL && (res->out = cst_malloc(1)) == NULL)
		return CST_ENOMEM;
	res->out[res->out_len] = '\0';
	res->end = end;
	if (end == CST_SANDBOX_EXITED) {
		if (WIFSIGNALED(status)) {
			res->end = CST_SANDBOX_SIGNALED;
			res->code = WTERMSIG(status);
		} else {
			res->code = WEXITSTATUS(status);
		}
	}
	return 0;
}

void
cst_sandbox_describe(const struct cst_sandbox_result *res, char *buf, size_t cap)
{
	switch (res->end) {
	case CST_SANDBOX_EXITED:
		if (res->code == CONFINE_FAILED)
			snprintf(buf, cap, "the analysis process could not be confined (nothing ran)");
		else
			snprintf(buf, cap, "exited with status %d", res->code);
		break;
	case CST_SANDBOX_SIGNALED:
		snprintf(buf, cap, "killed by signal %d (%s)%s", res->code, strsignal(res->code),
		    res->code == SIGXCPU || res->code == SIGKILL ? ": CPU or memory limit" : "");
		break;
	case CST_SANDBOX_TIMEOUT:
		snprintf(buf, cap, "killed at the wall-clock deadline");
		break;
	case CST_SANDBOX_OUTPUT:
		snprintf(buf, cap, "killed: it wrote more output than allowed");
		break;
	}
}
