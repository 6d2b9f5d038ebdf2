/* SPDX-License-Identifier: MIT */
/*
 * Remote calls for leakspy attach and detach (definitions: rcall.h).
 *
 * The thread is seized (PTRACE_SEIZE, which sends it no signal) and
 * stopped with PTRACE_INTERRUPT.  A call starts at the function with the
 * arguments in registers and a return address of 0 pushed below the red
 * zone: the return faults, and the SIGSEGV stop that ptrace reports
 * before any handler runs ends the call; it is never delivered.  The
 * thread's signal mask is full meanwhile (PTRACE_SETSIGMASK), so that no
 * handler of the program runs inside the call: signals that come stay
 * pending and are delivered once the mask is back; all but SIGSEGV,
 * which the kernel would reset to its default if the return's fault came
 * while it was blocked.  orig_rax is -1
 * during a call, so that the kernel restarts nothing; the registers put
 * back at the end let it restart a system call the stop interrupted, as
 * after a signal without a handler.  The one such call the kernel does
 * not restart, because it returns EINTR (epoll_wait, say), is started
 * again here, with its arguments as they were.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rcall.h"

#define RED_ZONE	128
#define SCRATCH		16384	/* bytes of arguments below the red zone */
#define STOP_MS		2000	/* for a stop to be reported */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
fail(struct rcall *rc, const char *fmt, const char *detail)
{
	snprintf(rc->why, sizeof(rc->why), fmt, detail);
	return -1;
}

/* The next stop or end of the thread, within ms; 0, or -1 (why). */
static int
wait_for(struct rcall *rc, int *status, unsigned ms)
{
	uint64_t end = now_ns() + (uint64_t)ms * 1000000u;
	struct timespec nap = { 0, 200000 };
	pid_t r;

	for (;;) {
		r = waitpid(rc->tid, status, __WALL | WNOHANG);
		if (r == rc->tid)
			break;
		if (r < 0 && errno != EINTR)
			return fail(rc, "waitpid: %s", strerror(errno));
		if (now_ns() > end)
			return fail(rc, "the thread did not stop within %s",
			    ms >= 1000 ? "the time allowed" : "a second");
		nanosleep(&nap, NULL);
	}
	if (WIFEXITED(*status) || WIFSIGNALED(*status)) {
		rc->seized = false;
		return fail(rc, "%s", "the process ended");
	}
	return 0;
}

static bool
event_stop(int status)
{
	return WIFSTOPPED(status) && status >> 16 == PTRACE_EVENT_STOP;
}

/* Wait for the stop PTRACE_INTERRUPT asked for (an event stop with
 * SIGTRAP); a signal that comes first is delivered as it would have
 * been.  A group stop: the process is stopped by job control. */
static int
wait_interrupt(struct rcall *rc)
{
	int status;

	for (;;) {
		if (wait_for(rc, &status, STOP_MS) != 0)
			return -1;
		if (event_stop(status) && WSTOPSIG(status) == SIGTRAP)
			return 0;
		if (event_stop(status))
			return fail(rc, "%s", "the process is stopped (job "
			    "control): continue it first");
		if (ptrace(PTRACE_CONT, rc->tid, 0, WSTOPSIG(status)) != 0)
			return fail(rc, "ptrace: %s", strerror(errno));
	}
}

/* A system call the stop made return EINTR: run it again once the
 * thread goes on, from its syscall instruction. */
static void
restart_eintr(struct rcall *rc)
{
	struct user_regs_struct *r = &rc->saved;
	unsigned char insn[2];

	if ((int64_t)r->orig_rax < 0 || (int64_t)r->rax != -EINTR ||
	    rc_read(rc, r->rip - 2, insn, 2) != 0 || insn[0] != 0x0f ||
	    insn[1] != 0x05)
		return;
	r->rax = r->orig_rax;
	r->rip -= 2;
}

int
rc_stop(struct rcall *rc, pid_t pid, pid_t tid,
    bool (*calm)(const struct user_regs_struct *, void *), void *arg,
    unsigned tries)
{
	char path[64];
	uint64_t all = ~(uint64_t)0 & ~(1ull << (SIGSEGV - 1));
	unsigned i;

	*rc = (struct rcall){ .pid = pid, .tid = tid, .mem = -1 };
	if (ptrace(PTRACE_SEIZE, tid, 0, 0) != 0)
		return fail(rc, "ptrace: %s", strerror(errno));
	rc->seized = true;
	for (i = 0;; i++) {
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) != 0)
			return fail(rc, "ptrace: %s", strerror(errno));
		if (wait_interrupt(rc) != 0) {
			(void)rc_release(rc);
			return -1;
		}
		rc->stopped_ns = now_ns();
		if (ptrace(PTRACE_GETREGS, tid, 0, &rc->saved) != 0)
			return fail(rc, "ptrace: %s", strerror(errno));
		if (calm(&rc->saved, arg))
			break;
		if (i + 1 >= tries) {
			(void)rc_release(rc);
			return fail(rc, "%s", "the thread was inside the C "
			    "library, the allocator or leakspy at every try");
		}
		if (ptrace(PTRACE_CONT, tid, 0, 0) != 0)
			return fail(rc, "ptrace: %s", strerror(errno));
		nanosleep(&(struct timespec){ 0, 1000000L + 300000L * i },
		    NULL);
	}
	if (ptrace(PTRACE_GETSIGMASK, tid, sizeof(rc->mask), &rc->mask) != 0 ||
	    ptrace(PTRACE_SETSIGMASK, tid, sizeof(all), &all) != 0) {
		(void)rc_release(rc);
		return fail(rc, "ptrace (signal mask): %s", strerror(errno));
	}
	rc->mask_taken = true;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	rc->mem = open(path, O_RDWR | O_CLOEXEC);
	if (rc->mem < 0) {
		(void)rc_release(rc);
		return fail(rc, "/proc/PID/mem: %s", strerror(errno));
	}
	restart_eintr(rc);
	return 0;
}

int
rc_write(struct rcall *rc, uint64_t at, const void *p, size_t n)
{
	if (pwrite(rc->mem, p, n, (off_t)at) != (ssize_t)n)
		return fail(rc, "cannot write the process's memory: %s",
		    strerror(errno));
	return 0;
}

int
rc_read(struct rcall *rc, uint64_t at, void *p, size_t n)
{
	if (rc->mem < 0 || pread(rc->mem, p, n, (off_t)at) != (ssize_t)n)
		return fail(rc, "cannot read the process's memory: %s",
		    strerror(errno));
	return 0;
}

uint64_t
rc_scratch(const struct rcall *rc, size_t len)
{
	/* len <= RC_SCRATCH_MAX: the call's stack begins below SCRATCH */
	return (rc->saved.rsp - RED_ZONE - len) & ~(uint64_t)15;
}

int
rc_call(struct rcall *rc, uint64_t fn, const uint64_t *a, unsigned n,
    uint64_t *ret, unsigned timeout_ms)
{
	struct user_regs_struct r = rc->saved;
	uint64_t zero = 0, sp;
	int status;

	if (n > 6)
		return fail(rc, "%s", "too many arguments");
	sp = ((rc->saved.rsp - RED_ZONE - SCRATCH) & ~(uint64_t)15) - 8;
	if (rc_write(rc, sp, &zero, sizeof(zero)) != 0)
		return -1;
	r.rip = fn;
	r.rsp = sp;
	r.rax = 0;
	r.orig_rax = (uint64_t)-1;
	r.rdi = n > 0 ? a[0] : 0;
	r.rsi = n > 1 ? a[1] : 0;
	r.rdx = n > 2 ? a[2] : 0;
	r.rcx = n > 3 ? a[3] : 0;
	r.r8 = n > 4 ? a[4] : 0;
	r.r9 = n > 5 ? a[5] : 0;
	if (ptrace(PTRACE_SETREGS, rc->tid, 0, &r) != 0 ||
	    ptrace(PTRACE_CONT, rc->tid, 0, 0) != 0)
		return fail(rc, "ptrace: %s", strerror(errno));
	for (;;) {
		if (wait_for(rc, &status, timeout_ms) != 0)
			return -1;
		if (event_stop(status)) {
			/* A group stop: the call goes on. */
		} else if (WSTOPSIG(status) == SIGSEGV) {
			if (ptrace(PTRACE_GETREGS, rc->tid, 0, &r) != 0)
				return fail(rc, "ptrace: %s", strerror(errno));
			if (r.rip != 0)
				return fail(rc, "%s", "the call faulted");
			*ret = r.rax;
			return 0;
		} else if (WSTOPSIG(status) == SIGSTOP ||
		    WSTOPSIG(status) == SIGTSTP ||
		    WSTOPSIG(status) == SIGTTIN ||
		    WSTOPSIG(status) == SIGTTOU) {
			/* Held back: the thread stops once it is let go. */
			rc->stop_sig = WSTOPSIG(status);
		} else if (WSTOPSIG(status) == SIGBUS ||
		    WSTOPSIG(status) == SIGILL ||
		    WSTOPSIG(status) == SIGFPE) {
			return fail(rc, "%s", "the call faulted");
		}
		if (ptrace(PTRACE_CONT, rc->tid, 0, 0) != 0)
			return fail(rc, "ptrace: %s", strerror(errno));
	}
}

int
rc_keep_errno(struct rcall *rc, uint64_t errno_location)
{
	uint64_t at;
	int v;

	if (rc_call(rc, errno_location, NULL, 0, &at, 1000) != 0 ||
	    rc_read(rc, at, &v, sizeof(v)) != 0)
		return -1;
	rc->errno_at = at;
	rc->errno_was = v;
	return 0;
}

uint64_t
rc_release(struct rcall *rc)
{
	int status;
	uint64_t pause = 0;

	if (!rc->seized)
		goto out;
	/* Running still (a call that did not return): stop it first. */
	if (ptrace(PTRACE_GETREGS, rc->tid, 0,
	    &(struct user_regs_struct){ 0 }) != 0 &&
	    (ptrace(PTRACE_INTERRUPT, rc->tid, 0, 0) != 0 ||
	    wait_for(rc, &status, STOP_MS) != 0))
		goto out;	/* our exit detaches it */
	if (rc->errno_at != 0)
		(void)rc_write(rc, rc->errno_at, &rc->errno_was,
		    sizeof(rc->errno_was));
	(void)ptrace(PTRACE_SETREGS, rc->tid, 0, &rc->saved);
	if (rc->mask_taken)
		(void)ptrace(PTRACE_SETSIGMASK, rc->tid, sizeof(rc->mask),
		    &rc->mask);
	(void)ptrace(PTRACE_DETACH, rc->tid, 0, rc->stop_sig);
	rc->seized = false;
	if (rc->stopped_ns != 0)
		pause = now_ns() - rc->stopped_ns;
out:
	if (rc->mem >= 0)
		close(rc->mem);
	rc->mem = -1;
	return pause;
}
