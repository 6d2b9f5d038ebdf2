/* SPDX-License-Identifier: MIT */
/*
 * Calls of functions inside another process, for leakspy attach and
 * detach (rcall.c): one of its threads is stopped with ptrace, made to
 * call a function on its own stack, and put back as it was: registers,
 * signal mask, errno, and a system call it was blocked in, restarted as
 * the kernel restarts one after a signal.  Every wait has a time limit;
 * the other threads run on.  x86-64 only.
 */
#ifndef LS_RCALL_H
#define LS_RCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct rcall {
	pid_t pid, tid;
	int mem;			/* /proc/PID/mem, or -1 */
	bool seized;
	struct user_regs_struct saved;	/* as the thread was */
	uint64_t mask;			/* its signal mask */
	bool mask_taken;
	int stop_sig;			/* a SIGSTOP held back meanwhile */
	uint64_t errno_at;		/* its errno, 0 until read */
	int errno_was;
	uint64_t stopped_ns;		/* when it stopped, for the pause */
	char why[200];			/* the last failure */
};

/*
 * Seize thread tid of process pid and stop it at a moment it may make
 * calls, which calm() says of its registers (arg is calm's), trying
 * again for up to tries times.  Returns 0, or -1 with why set; the
 * thread then runs on untouched.  A process stopped by job control is
 * refused: its other threads could not run.
 */
int rc_stop(struct rcall *rc, pid_t pid, pid_t tid,
    bool (*calm)(const struct user_regs_struct *, void *), void *arg,
    unsigned tries);

/* Call fn(a[0], ..., a[n-1]) (n <= 6) in the stopped thread, waiting at
 * most timeout_ms; its return value in *ret.  Returns 0 or -1 (why). */
int rc_call(struct rcall *rc, uint64_t fn, const uint64_t *a, unsigned n,
    uint64_t *ret, unsigned timeout_ms);

/* Scratch memory for the calls' arguments: below the thread's stack
 * pointer, past its red zone (len at most RC_SCRATCH_MAX). */
#define RC_SCRATCH_MAX	16000
uint64_t rc_scratch(const struct rcall *rc, size_t len);

int rc_write(struct rcall *rc, uint64_t at, const void *p, size_t n);
int rc_read(struct rcall *rc, uint64_t at, void *p, size_t n);

/* Note where errno is (errno_location: the address of the target's
 * __errno_location) and what it holds, to be put back by rc_release. */
int rc_keep_errno(struct rcall *rc, uint64_t errno_location);

/* Put the thread back as it was and let it go; returns the pause it had
 * (ns).  Safe to call after any failure. */
uint64_t rc_release(struct rcall *rc);

#endif
