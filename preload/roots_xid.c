/* SPDX-License-Identifier: MIT */
/*
 * The stop's second signal, for threads that block the borrowed one (a
 * program that blocks every signal before it creates its threads, and
 * leaves one to sigwait for them, is the usual daemon): glibc's SIGSETXID,
 * which no thread can block through the C library (sigprocmask,
 * pthread_sigmask and sigfillset leave it out).  For the length of a stop
 * its handler is the stop's, set with the raw system call (glibc's
 * sigaction refuses the signal); a SIGSETXID the stop did not send (a
 * setuid in another thread) goes on to glibc's handler.  Raw system
 * calls only: no malloc, no stdio.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "roots.h"

#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif

/* The kernel's struct sigaction on x86-64. */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

static struct ksigaction saved;	/* glibc's, while ours is installed */
static bool installed;

static long
ksigaction(int sig, const struct ksigaction *act, struct ksigaction *old)
{
	return syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

/* The hex number after "SigBlk:" in a status file. */
static bool
parse_sigblk(const char *buf, uint64_t *mask)
{
	const char *p = strstr(buf, "\nSigBlk:");
	uint64_t v = 0;
	unsigned n = 0;

	if (p == NULL)
		return false;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	for (; n < 16; p++, n++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' :
		    *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;

		if (d < 0)
			break;
		v = v << 4 | (uint64_t)d;
	}
	*mask = v;
	return n > 0;
}

bool
lsp_xid_blocks(pid_t tid, int sig, bool *known)
{
	static const char head[] = "/proc/self/task/";
	char path[64], digits[16], buf[4096];
	uint64_t mask;
	long fd, n = 0, r;
	unsigned k = 0, t = (unsigned)tid;

	*known = false;
	do
		digits[k++] = (char)('0' + t % 10);
	while ((t /= 10) != 0 && k < sizeof(digits));
	memcpy(path, head, sizeof(head) - 1);
	for (n = sizeof(head) - 1; k > 0; n++)
		path[n] = digits[--k];
	memcpy(path + n, "/status", 8);
	n = 0;
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	buf[0] = '\n';
	while (n < (long)sizeof(buf) - 2 && (r = syscall(SYS_read, fd,
	    buf + 1 + n, sizeof(buf) - 2 - (size_t)n)) > 0)
		n += r;
	syscall(SYS_close, fd);
	buf[1 + n] = '\0';
	if (!parse_sigblk(buf, &mask))
		return false;
	*known = true;
	return sig >= 1 && sig <= 64 && (mask >> (sig - 1) & 1);
}

bool
lsp_xid_install(void (*handler)(int, siginfo_t *, void *), int like)
{
	struct ksigaction act, model;

	if (installed)
		return true;
	/* The restorer of a signal glibc's sigaction set: the one it
	 * gives every handler. */
	if (ksigaction(like, NULL, &model) != 0 ||
	    !(model.flags & SA_RESTORER) ||
	    ksigaction(LSP_XID_SIG, NULL, &saved) != 0)
		return false;
	memset(&act, 0, sizeof(act));
	act.handler = (void *)handler;
	act.flags = SA_SIGINFO | SA_RESTART | SA_RESTORER;
	act.restorer = model.restorer;
	act.mask = ~(uint64_t)0;
	if (ksigaction(LSP_XID_SIG, &act, NULL) != 0)
		return false;
	installed = true;
	return true;
}

/* Whether glibc's own handler is a function (not SIG_DFL or SIG_IGN). */
static bool
saved_is_handler(void)
{
	return saved.handler != (void *)SIG_DFL &&
	    saved.handler != (void *)SIG_IGN;
}

void
lsp_xid_restore(void)
{
	/* A stop's signal still queued for a thread that has not taken it
	 * meets glibc's handler, which ignores what setuid did not send;
	 * SIG_DFL would end the process: the stop's handler, which ignores
	 * it, then stays. */
	if (!installed || !saved_is_handler())
		return;
	if (ksigaction(LSP_XID_SIG, &saved, NULL) == 0)
		installed = false;
}

void
lsp_xid_forward(int sig, siginfo_t *si, void *uc)
{
	if (!saved_is_handler())
		return;
	if (saved.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))saved.handler)(sig, si,
		    uc);
	else
		((void (*)(int))saved.handler)(sig);
}
