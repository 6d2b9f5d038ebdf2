/* SPDX-License-Identifier: MIT */
/*
 * Signals leakspy handles, and the program's view of them (sigaction and
 * signal interposers, host threads; the handler, any host thread).
 *
 * Two kinds of signal are leakspy's to watch:
 * - LEAKSPY_SIGNAL, the snapshot signal: leakspy's handler stays
 *   installed; what the program sets is kept here and called after the
 *   snapshot is noted, with the program's flags and mask.
 * - SIGTERM, SIGINT and SIGHUP while the program leaves them at SIG_DFL:
 *   leakspy's handler takes the final snapshot, then the process dies of
 *   the same signal, so its exit status is what it would have been.  A
 *   handler or SIG_IGN the program sets goes to the kernel as it is, and
 *   from then on leakspy has no part in that signal, until the program
 *   sets SIG_DFL again.
 * Either way the program reads back what it set, SA_RESTORER and all, as
 * the C library's sigaction would give it.  A signal's fate never
 * changes: one that would end the program ends it (after the snapshot),
 * one it ignores is ignored.  The snapshot signal left at the default it
 * started with is the exception leakspy was asked for: it only takes a
 * snapshot.  If the program set SIG_DFL itself (or SA_RESETHAND did),
 * the signal ends it after the snapshot, as without leakspy.
 *
 * A third kind is lent: a signal the program leaves at SIG_DFL that
 * leakspy borrows (roots.c's stop signal).  Its handler is leakspy's in
 * the kernel while the program reads the SIG_DFL it left; the first
 * disposition the program sets goes to the kernel as it is and ends the
 * loan.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lsp.h"
#include "reach.h"
#include "roots.h"

/* The kernel's flag for a handler's return trampoline, which the C
 * library sets on every sigaction; not in its headers. */
#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif

static int (*real_sigaction)(int, const struct sigaction *,
    struct sigaction *);
static sighandler_t (*real_signal)(int, sighandler_t);

union handler {
	uintptr_t u;
	sighandler_t h;
	void (*a)(int, siginfo_t *, void *);
};

/* The program's view of one signal leakspy watches or borrows.  act is
 * written by the sigaction interposer; fn and flags are its handler and
 * flags for the signal handler, which reads them lock-free.  A borrowed
 * signal is never watched; its act is what the kernel reported when it
 * was lent, and fn and flags are unused. */
struct view {
	struct sigaction act;
	uintptr_t fn;		/* a union handler's u */
	int flags;
	bool set;		/* the program set act (it did not inherit it) */
	bool watched;
	bool released;		/* handed back for a sandbox */
	bool borrowed;		/* lent: the kernel has borrower */
	lsp_borrow_fn borrower;
};

/* Outside a sandbox, views[] changes under views_lock only (but for the
 * snapshot signal's SA_RESETHAND, in its handler).  views_lock: 0 free,
 * 1 held, 2 held with waiters (a futex word); taken with every signal
 * blocked, so no handler on the holder's thread can wait for it, and
 * never in a signal handler.  lock_mask: lsp_signals_lock()'s caller's
 * mask, written by the holder. */
static struct view views[_NSIG];
static int views_lock;
static sigset_t lock_mask;
static int snap_signo;			/* 0: none */
static void (*on_note)(void);
/* The C library's trampoline and its flag, as the kernel reports them
 * for a handler it set: what a program reads back for its own. */
static void *restorer;
static int restorer_flag;

static const int fate_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* How long a fatal signal waits for its snapshot before it ends the
 * process all the same. */
#define FATAL_WAIT_MS	3000

/*
 * A fatal signal under way: the first one's number (atomic; the writer
 * takes the final snapshot when it is set), set to 1 in fatal_done (a
 * futex word) once the snapshot is written, and whether the writer ends
 * the process then (the signal's thread could not wait).
 */
static int fatal_sig;
static int fatal_done;
static bool fatal_kill;

static bool
is_fate(int sig)
{
	return sig == SIGTERM || sig == SIGINT || sig == SIGHUP;
}

/* Whether SIG_DFL ends the process for sig (it is not ignored). */
static bool
default_ends(int sig)
{
	return sig != SIGCHLD && sig != SIGCONT && sig != SIGURG &&
	    sig != SIGWINCH;
}

/*
 * Take views_lock, with every signal blocked (the mask before in *old).
 * A thread waits with its own mask, so that it answers a stop meanwhile.
 * Async-signal-safe; not in a sandbox (system calls).
 */
static void
lock_views(sigset_t *old)
{
	sigset_t all;
	int want = 1;

	sigfillset(&all);
	for (;;) {
		int c = 0;

		pthread_sigmask(SIG_BLOCK, &all, old);
		if (__atomic_compare_exchange_n(&views_lock, &c, want, false,
		    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return;
		pthread_sigmask(SIG_SETMASK, old, NULL);
		if (c == 1)
			__atomic_compare_exchange_n(&views_lock, &c, 2, false,
			    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
		syscall(SYS_futex, &views_lock, FUTEX_WAIT_PRIVATE, 2, NULL,
		    NULL, 0);
		/* Others may wait too: whoever takes it now wakes them. */
		want = 2;
	}
}

static void
unlock_views(const sigset_t *old)
{
	if (__atomic_exchange_n(&views_lock, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, &views_lock, FUTEX_WAKE_PRIVATE, 1, NULL,
		    NULL, 0);
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

static void
resolve(void)
{
	if (real_sigaction == NULL)
		real_sigaction = lsp_need_sym("sigaction");
	if (real_signal == NULL)
		real_signal = lsp_need_sym("signal");
}

/* End the process with sig's default action, now.  Async-signal-safe. */
void
lsp_die_of(int sig)
{
	struct sigaction dfl;
	sigset_t set;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	real_sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	/* Blocked elsewhere, or a process that outlived it: the kernel's
	 * default for the whole process. */
	kill(getpid(), sig);
	for (;;)
		pause();
}

/* Wait, bounded, until the fatal signal's snapshot is written.
 * Async-signal-safe. */
static void
wait_fatal_done(void)
{
	struct timespec now, left;
	int64_t end_ms, now_ms, wait_ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	end_ms = now.tv_sec * 1000 + now.tv_nsec / 1000000 + FATAL_WAIT_MS;
	while (__atomic_load_n(&fatal_done, __ATOMIC_ACQUIRE) == 0) {
		int stop = lsp_roots_signal();

		/* The final snapshot's heap scan stops this thread too: its
		 * stack is a root.  (The handler's mask blocks everything.) */
		if (stop != 0) {
			sigset_t one;

			sigemptyset(&one);
			sigaddset(&one, stop);
			pthread_sigmask(SIG_UNBLOCK, &one, NULL);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		now_ms = now.tv_sec * 1000 + now.tv_nsec / 1000000;
		if (now_ms >= end_ms)
			return;
		/* At most 5 ms at a time: a stop signal picked meanwhile is
		 * let in at the next look. */
		wait_ms = end_ms - now_ms < 5 ? end_ms - now_ms : 5;
		left.tv_sec = 0;
		left.tv_nsec = wait_ms * 1000000;
		syscall(SYS_futex, &fatal_done, FUTEX_WAIT_PRIVATE, 0, &left,
		    NULL, 0);
	}
}

/*
 * Signal sig is to end the process: have the writer take the final
 * snapshot, and wait for it, or (!wait) let the writer end the process
 * after it.  False if no snapshot can be taken (no writer thread, in a
 * sandbox, in a vfork child).  Async-signal-safe.
 */
static bool
fatal(int sig, bool wait)
{
	int expect = 0;

	if (lsp_in_sandbox() || getpid() != lsp_pid)
		return false;
	if (!__atomic_compare_exchange_n(&fatal_sig, &expect, sig, false,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		/* Another signal's snapshot is under way. */
		if (wait)
			wait_fatal_done();
		return true;
	}
	if (!wait)
		__atomic_store_n(&fatal_kill, true, __ATOMIC_RELEASE);
	/* A heap scan's clone still marking must not hold the snapshot. */
	lsp_reach_cancel();
	if (!lsp_writer_wake()) {
		/* No writer thread: this one writes, if it may. */
		if (wait)
			lsp_writer_fatal_here(sig);
		__atomic_store_n(&fatal_done, 1, __ATOMIC_RELEASE);
		return wait;
	}
	if (wait)
		wait_fatal_done();
	return true;
}

int
lsp_signals_fatal(void)
{
	if (__atomic_load_n(&fatal_done, __ATOMIC_ACQUIRE))
		return 0;
	return __atomic_load_n(&fatal_sig, __ATOMIC_ACQUIRE);
}

void
lsp_signals_fatal_done(void)
{
	__atomic_store_n(&fatal_done, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, &fatal_done, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL,
	    NULL, 0);
	if (__atomic_load_n(&fatal_kill, __ATOMIC_ACQUIRE))
		lsp_die_of(__atomic_load_n(&fatal_sig, __ATOMIC_ACQUIRE));
}

void
lsp_signals_fatal_exit(void)
{
	int sig = __atomic_load_n(&fatal_sig, __ATOMIC_ACQUIRE);

	if (sig == 0 || getpid() != lsp_pid)
		return;
	wait_fatal_done();
	lsp_die_of(sig);
}

void
lsp_signals_postfork_child(void)
{
	/* A thread of the parent that held it is not in the child. */
	views_lock = 0;
	fatal_sig = 0;
	fatal_done = 0;
	fatal_kill = false;
}

/*
 * leakspy's handler of every watched signal: the snapshot signal (the
 * snapshot is noted, then the program's handler runs) and SIGTERM, SIGINT
 * or SIGHUP left at SIG_DFL (the final snapshot, then death by it).
 */
static void
on_watched_signal(int sig, siginfo_t *si, void *uc)
{
	struct view *v = &views[sig];
	union handler fn, dfl = { .h = SIG_DFL };
	int saved = errno, flags;

	fn.u = __atomic_load_n(&v->fn, __ATOMIC_ACQUIRE);
	flags = __atomic_load_n(&v->flags, __ATOMIC_RELAXED);
	if (fn.h == SIG_DFL && default_ends(sig) &&
	    (sig != snap_signo || v->set)) {
		/* The process dies of it, after the final snapshot (which
		 * stands for the snapshot signal's own): this thread waits
		 * for it, unless it was interrupted inside leakspy, which
		 * may hold what the snapshot needs; the writer then ends the
		 * process. */
		if (lsp_guard == 0) {
			fatal(sig, true);
			lsp_die_of(sig);
		}
		if (!fatal(sig, false))
			lsp_die_of(sig);
		goto out;
	}
	if (sig == snap_signo && on_note != NULL)
		on_note();
	if (fn.h == SIG_DFL || fn.h == SIG_IGN)
		goto out;
	if (flags & SA_RESETHAND) {
		__atomic_store_n(&v->fn, dfl.u, __ATOMIC_RELEASE);
		v->act.sa_handler = SIG_DFL;
		v->act.sa_flags &= ~SA_SIGINFO;
		v->set = true;
	}
	errno = saved;
	if (flags & SA_SIGINFO)
		fn.a(sig, si, uc);
	else
		fn.h(sig);
	saved = errno;
out:
	errno = saved;
}

/* Install leakspy's handler for sig with the program's mask and flags. */
static int
install_ours(int sig)
{
	const struct view *v = &views[sig];
	struct sigaction sa, now;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_watched_signal;
	sa.sa_flags = SA_SIGINFO | (v->act.sa_flags & (SA_RESTART |
	    SA_NODEFER | SA_ONSTACK));
	if (v->act.sa_handler == SIG_DFL || v->act.sa_handler == SIG_IGN)
		sa.sa_flags |= SA_RESTART;
	sa.sa_mask = v->act.sa_mask;
	/* While the final snapshot is taken, nothing else interrupts. */
	if (is_fate(sig))
		sigfillset(&sa.sa_mask);
	if (real_sigaction(sig, &sa, NULL) != 0)
		return -1;
	if (restorer == NULL && real_sigaction(sig, NULL, &now) == 0) {
		restorer = (void *)now.sa_restorer;
		restorer_flag = now.sa_flags & SA_RESTORER;
	}
	return 0;
}

static bool
ours_installed(int sig)
{
	struct sigaction k;

	return real_sigaction(sig, NULL, &k) == 0 &&
	    (k.sa_flags & SA_SIGINFO) && k.sa_sigaction == on_watched_signal;
}

/* Put the kernel's disposition of watched signal sig in line with the
 * program's view: leakspy's handler, or the program's own. */
static int
apply(int sig)
{
	const struct view *v = &views[sig];

	/* An ignored signal stays ignored in the kernel, so it interrupts
	 * no system call: an ignored snapshot signal takes no snapshot. */
	if (v->act.sa_handler == SIG_DFL ||
	    (sig == snap_signo && v->act.sa_handler != SIG_IGN))
		return install_ours(sig);
	return real_sigaction(sig, &v->act, NULL);
}

static void
set_view(int sig, const struct sigaction *act, bool by_program)
{
	struct view *v = &views[sig];
	union handler fn = { .a = act->sa_sigaction };

	v->act = *act;
	if (by_program) {
		/* What the C library's sigaction stores, and so reads back. */
		v->act.sa_flags |= restorer_flag;
		if (restorer != NULL)
			v->act.sa_restorer = (void (*)(void))restorer;
		sigdelset(&v->act.sa_mask, SIGKILL);
		sigdelset(&v->act.sa_mask, SIGSTOP);
		v->set = true;
	}
	__atomic_store_n(&v->flags, act->sa_flags, __ATOMIC_RELAXED);
	__atomic_store_n(&v->fn, fn.u, __ATOMIC_RELEASE);
}

static void
watch(int sig)
{
	struct sigaction now;

	if (real_sigaction(sig, NULL, &now) != 0)
		return;
	set_view(sig, &now, false);
	views[sig].watched = true;
	/* A fate signal the program inherited ignored (nohup) or handled
	 * stays as it is. */
	if (is_fate(sig) && now.sa_handler != SIG_DFL)
		return;
	if (apply(sig) != 0)
		views[sig].watched = false;
}

void
lsp_signals_init(int signo, void (*note)(void))
{
	size_t i;

	resolve();
	/* The handler's syscall() is leakspy's own interposer, which finds
	 * the next one on its first call: dlsym, not for a handler. */
	(void)syscall(SYS_getpid);
	on_note = note;
	snap_signo = signo;
	if (signo != 0)
		watch(signo);
	for (i = 0; i < LS_ARRAY_SIZE(fate_signals); i++)
		watch(fate_signals[i]);
}

void
lsp_signals_release(bool release)
{
	int sig;

	for (sig = 1; sig < _NSIG; sig++) {
		struct view *v = &views[sig];

		if (!v->watched)
			continue;
		/* Only what is leakspy's handler now: a disposition the
		 * program set behind leakspy's back stays. */
		if (release && ours_installed(sig)) {
			real_sigaction(sig, &v->act, NULL);
			v->released = true;
		} else if (!release && v->released) {
			apply(sig);
			v->released = false;
		}
	}
}

/* --- borrowed signals --- */

static bool
is_rt(int sig)
{
	return sig >= SIGRTMIN && sig <= SIGRTMAX;
}

/*
 * Whether borrowed signal sig still has its borrower's handler in the
 * kernel.  One the program set behind leakspy's back (sigset, bsd_signal,
 * a raw rt_sigaction) is the program's again: the loan ends here.
 */
static bool
still_lent(int sig)
{
	struct view *v = &views[sig];
	struct sigaction k;

	if (!v->borrowed)
		return false;
	if (real_sigaction(sig, NULL, &k) == 0 && (k.sa_flags & SA_SIGINFO) &&
	    k.sa_sigaction == v->borrower)
		return true;
	v->borrowed = false;
	return false;
}

void
lsp_signals_lock(void)
{
	sigset_t old;

	resolve();
	lock_views(&old);
	lock_mask = old;
}

void
lsp_signals_unlock(void)
{
	sigset_t old = lock_mask;

	unlock_views(&old);
}

int
lsp_signals_borrow(int sig, lsp_borrow_fn fn)
{
	struct sigaction now, sa;
	struct view *v;

	resolve();
	if (!is_rt(sig))
		return -EINVAL;
	v = &views[sig];
	if (still_lent(sig))
		return v->borrower == fn ? 0 : -EBUSY;
	if (v->watched || lsp_in_sandbox())
		return -EBUSY;
	if (real_sigaction(sig, NULL, &now) != 0)
		return -errno;
	if (now.sa_handler != SIG_DFL || (now.sa_flags & SA_SIGINFO))
		return -EBUSY;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	if (real_sigaction(sig, &sa, NULL) != 0)
		return -errno;
	/* What the program reads from now on: the kernel's, as it was. */
	v->act = now;
	v->borrower = fn;
	v->borrowed = true;
	return 0;
}

bool
lsp_signals_borrowed(int sig)
{
	return is_rt(sig) && still_lent(sig);
}

/* --- the interposers --- */

/* Whether the program's calls on sig go through views_lock: a watched
 * signal, or one leakspy may borrow. */
static bool
guarded(int sig)
{
	return views[sig].watched || is_rt(sig);
}

/* The program sets or reads borrowed signal sig: it reads what it left,
 * and what it sets goes to the kernel and ends the loan. */
static int
set_lent(int sig, const struct sigaction *act, struct sigaction *was)
{
	struct view *v = &views[sig];

	if (!still_lent(sig))
		return real_sigaction(sig, act, was);
	if (act != NULL && real_sigaction(sig, act, NULL) != 0)
		return -1;
	*was = v->act;
	/* A stop signal still queued for a thread that had it blocked
	 * meets the program's disposition from now on (roots.h). */
	if (act != NULL)
		v->borrowed = false;
	return 0;
}

/* In a sandbox the program's dispositions are the kernel's: leakspy
 * keeps what it sets, to take the signal back if the filter did not go
 * on. */
static int
set_released(int sig, const struct sigaction *act, struct sigaction *was)
{
	int r = real_sigaction(sig, act, was);

	if (r == 0 && act != NULL) {
		set_view(sig, act, true);
		views[sig].released = true;
	}
	return r;
}

static int
set_watched(int sig, const struct sigaction *act, struct sigaction *was)
{
	struct view *v = &views[sig];

	/* A signal the program has in its own hands (a fate signal it
	 * handles or ignores, or one it set through a call leakspy does not
	 * see: sigset, a raw rt_sigaction) is the kernel's to report. */
	if (!ours_installed(sig)) {
		if (real_sigaction(sig, NULL, was) != 0)
			return -1;
	} else {
		*was = v->act;
	}
	if (act != NULL) {
		struct view keep = *v;

		set_view(sig, act, true);
		if (apply(sig) != 0) {
			int e = errno;

			*v = keep;
			apply(sig);
			errno = e;
			return -1;
		}
	}
	return 0;
}

LS_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction set, was;
	sigset_t mask;
	bool sandbox;
	int r, e;

	resolve();
	if (sig <= 0 || sig >= _NSIG || !guarded(sig) || getpid() != lsp_pid)
		return real_sigaction(sig, act, old);
	/* Read before the lock and written after it: a bad pointer faults
	 * with the program's own mask, as in the C library. */
	if (act != NULL) {
		set = *act;
		act = &set;
	}
	/* No stop in a sandbox, and no system call of leakspy's own. */
	sandbox = lsp_in_sandbox();
	if (!sandbox)
		lock_views(&mask);
	if (views[sig].borrowed)
		r = set_lent(sig, act, &was);
	else if (!views[sig].watched)
		r = real_sigaction(sig, act, &was);
	else if (sandbox)
		r = set_released(sig, act, &was);
	else
		r = set_watched(sig, act, &was);
	e = errno;
	if (!sandbox)
		unlock_views(&mask);
	if (r == 0 && old != NULL)
		*old = was;
	errno = e;
	return r;
}

/* signal() on a signal leakspy may borrow: the C library's own, with
 * the loan's end as in set_lent. */
static sighandler_t
signal_lent(int sig, sighandler_t handler)
{
	sighandler_t r;
	sigset_t mask;
	bool sandbox = lsp_in_sandbox();
	int e;

	if (!sandbox)
		lock_views(&mask);
	if (!still_lent(sig)) {
		r = real_signal(sig, handler);
	} else if ((r = real_signal(sig, handler)) != SIG_ERR) {
		r = views[sig].act.sa_handler;
		views[sig].borrowed = false;
	}
	e = errno;
	if (!sandbox)
		unlock_views(&mask);
	errno = e;
	return r;
}

LS_EXPORT sighandler_t
signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;

	resolve();
	if (sig <= 0 || sig >= _NSIG || !guarded(sig) || getpid() != lsp_pid)
		return real_signal(sig, handler);
	if (!views[sig].watched)
		return signal_lent(sig, handler);
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
