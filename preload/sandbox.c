/* SPDX-License-Identifier: MIT */
/*
 * Seccomp sandboxes (host threads).  A filter may kill the process for any
 * system call it does not list (OpenSSH's pre-authentication child kills
 * on anything outside a short list), and what it allows cannot be learnt
 * without making system calls.  So leakspy watches for a filter going
 * on, through prctl(PR_SET_SECCOMP) and through syscall(SYS_seccomp),
 * which is how libseccomp installs one: just before, the dump gets one
 * more snapshot, marked "sandbox"; from then on leakspy makes no system
 * call of its own, in any thread or fork child, and its dump ends there.
 * Allocations go on being tracked in memory, and the real allocator's own
 * calls (mmap, brk, futex) are the host's.  A filter installed before
 * this library starts (by a parent, before exec) is not seen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lsp.h"

bool lsp_sandboxed;

bool
lsp_sandbox_enter(void)
{
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) != LSP_ACTIVE ||
	    lsp_guard || lsp_in_sandbox())
		return false;
	lsp_writer_sandbox();
	return true;
}

void
lsp_sandbox_after(bool entered, long r)
{
	int saved = errno;

	/* The filter did not go on (no PR_SET_NO_NEW_PRIVS, say). */
	if (entered && r != 0)
		lsp_writer_unsandbox();
	errno = saved;
}

/*
 * syscall() takes up to six arguments after the number, and which ones a
 * caller passed cannot be known: all six are read and passed on, as the C
 * library's own syscall() reads all six registers.
 */
LS_EXPORT long
syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long (*fn)(long, ...) = __atomic_load_n(&real, __ATOMIC_ACQUIRE);
	long a[6], r;
	bool entered = false;
	va_list ap;
	int i;

	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (fn == NULL) {
		fn = (long (*)(long, ...))lsp_next_sym("syscall");
		if (fn == NULL) {
			errno = ENOSYS;
			return -1;
		}
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	if (nr == SYS_seccomp && (a[0] == SECCOMP_SET_MODE_STRICT ||
	    a[0] == SECCOMP_SET_MODE_FILTER))
		entered = lsp_sandbox_enter();
	r = fn(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	lsp_sandbox_after(entered, r);
	return r;
}
