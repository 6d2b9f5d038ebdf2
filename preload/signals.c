/* SPDX-License-Identifier: MIT */
/*
 * LEAKSPY_SIGNAL's handler, and the program's own handler for that signal
 * (sigaction and signal interposers).  The library's handler stays
 * installed; what the program sets is kept here and called after the
 * library has noted the signal, with the program's flags and mask, so
 * that the program sees its own disposition and its handler runs.  For
 * every other signal the interposers only forward.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "lsp.h"

static int (*real_sigaction)(int, const struct sigaction *,
    struct sigaction *);
static sighandler_t (*real_signal)(int, sighandler_t);

/* The program's view of lsp_cfg.signo; the handler reads it lock-free. */
static struct sigaction prog;
union handler {
	uintptr_t u;
	sighandler_t h;
	void (*a)(int, siginfo_t *, void *);
};
static uintptr_t prog_fn;	/* a union handler's u */
static int prog_flags;
static int installed_signo;

static void (*on_note)(void);

static void
on_signal(int signo, siginfo_t *si, void *uc)
{
	union handler fn, dfl = { .h = SIG_DFL };
	int saved = errno, flags;

	on_note();
	errno = saved;
	fn.u = __atomic_load_n(&prog_fn, __ATOMIC_ACQUIRE);
	flags = __atomic_load_n(&prog_flags, __ATOMIC_RELAXED);
	if (fn.h == SIG_DFL || fn.h == SIG_IGN)
		return;
	if (flags & SA_RESETHAND) {
		__atomic_store_n(&prog_fn, dfl.u, __ATOMIC_RELEASE);
		prog.sa_handler = SIG_DFL;
	}
	if (flags & SA_SIGINFO)
		fn.a(signo, si, uc);
	else
		fn.h(signo);
}

/* Install the library's handler with the program's mask and flags. */
static int
install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO | (prog.sa_flags & (SA_RESTART | SA_NODEFER |
	    SA_ONSTACK));
	if (prog.sa_handler == SIG_DFL || prog.sa_handler == SIG_IGN)
		sa.sa_flags |= SA_RESTART;
	sa.sa_mask = prog.sa_mask;
	return real_sigaction(installed_signo, &sa, NULL);
}

static void
resolve(void)
{
	if (real_sigaction == NULL)
		real_sigaction = lsp_need_sym("sigaction");
	if (real_signal == NULL)
		real_signal = lsp_need_sym("signal");
}

void
lsp_signal_install(int signo, void (*note)(void))
{
	union handler fn;

	resolve();
	on_note = note;
	if (real_sigaction(signo, NULL, &prog) != 0)
		return;
	fn.a = prog.sa_sigaction;
	__atomic_store_n(&prog_flags, prog.sa_flags, __ATOMIC_RELAXED);
	__atomic_store_n(&prog_fn, fn.u, __ATOMIC_RELEASE);
	installed_signo = signo;
	if (install() != 0)
		installed_signo = 0;
}

LS_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction was;

	resolve();
	if (installed_signo == 0 || sig != installed_signo)
		return real_sigaction(sig, act, old);
	was = prog;
	if (act != NULL) {
		union handler fn = { .a = act->sa_sigaction };

		prog = *act;
		__atomic_store_n(&prog_flags, act->sa_flags, __ATOMIC_RELAXED);
		__atomic_store_n(&prog_fn, fn.u, __ATOMIC_RELEASE);
		if (install() != 0)
			return -1;
	}
	if (old != NULL)
		*old = was;
	return 0;
}

LS_EXPORT sighandler_t
signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;

	resolve();
	if (installed_signo == 0 || sig != installed_signo)
		return real_signal(sig, handler);
	/* glibc's signal(): BSD semantics. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}
