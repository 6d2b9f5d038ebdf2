/* SPDX-License-Identifier: MIT */
/*
 * The roots of the conservative heap scan (the final snapshot's thread,
 * and the stopped threads' signal handler): the writable segments of
 * every loaded object but leakspy, and each thread's registers, stack,
 * static TLS and thread descriptor, the other threads stopped by a signal
 * for as long as the scan reads them.
 *
 * Sequence: lsp_roots_init() once (at boot: it calls dlsym); then
 * lsp_roots_collect(), lsp_roots_stop(), lsp_roots_globals() and
 * lsp_roots_threads() (each as often as needed), then lsp_roots_resume()
 * unless the process is about to end.  One stop at a time (the caller
 * serializes).
 *
 * Lock order (LeakSanitizer's: the loader's lock before the allocator's):
 * 1. lsp_roots_collect() takes the loader's lock (dl_iterate_phdr), then
 *    the thread registry's, each released before the next: the caller
 *    holds neither, nor leakspy's block tables' locks (a thread in dlopen
 *    holds the loader's lock and may wait in malloc for those).
 * 2. The caller then takes the block tables' locks, so that no thread is
 *    stopped halfway through an update of them.
 * 3. lsp_roots_stop() takes the signal views' lock (signals.c), whose
 *    holders call nothing but the real sigaction, and releases it before
 *    it returns.  From then until resume the caller takes no lock a host
 *    thread could hold (loader, malloc, stdio, the registry): the
 *    callbacks only read.
 *
 * The stop signal: the highest real-time signal the program leaves at
 * SIG_DFL when the first stop comes, borrowed from signals.c (below):
 * leakspy's handler stays installed, and the program's sigaction and
 * signal read the SIG_DFL it left; a signal of that number the stop did
 * not send (kill, raise, sigqueue) ends the process, as that SIG_DFL
 * would.  A program that sets that signal later (the first disposition
 * it sets goes to the kernel as it is, and it reads back SIG_DFL) takes
 * it back, and the next stop picks another.
 * A thread that blocks the stop signal (its SigBlk in /proc says so) is
 * sent glibc's SIGSETXID instead, which the C library never lets a
 * program block; for the stop, that signal's handler is the stop's, and
 * a SIGSETXID the stop did not send goes on to glibc's (roots_xid.c).
 * It cannot take it back while a stop waits for its threads (the views'
 * lock), so no signal the stop sent meets the program's disposition,
 * except one still queued for a thread that had it blocked (it did not
 * answer): that one comes when the thread unblocks it, and then gets
 * the program's disposition (SIG_DFL: the process dies of it).  A
 * stopped thread resumed may see EINTR from a call SA_RESTART does not
 * restart (epoll_wait, select): the stop is for the final snapshot, a
 * scan while the service runs reads a copy-on-write child instead.
 */
#ifndef LS_ROOTS_H
#define LS_ROOTS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum {
	LSP_ROOT_GLOBAL,	/* a writable PT_LOAD segment */
	LSP_ROOT_REGS,		/* a thread's general registers */
	LSP_ROOT_STACK,		/* its stack, from sp - red zone up */
	LSP_ROOT_TLS,		/* its static TLS block */
	LSP_ROOT_DESC,		/* its struct pthread (key values) */
};

/* A range [lo, hi) of 8-byte aligned words.  module: the object's path
 * ("" for the executable; at most 111 bytes) for LSP_ROOT_GLOBAL, else
 * NULL; tid: the thread for the other kinds. */
struct lsp_root {
	int kind;
	uintptr_t lo, hi;
	pid_t tid;
	const char *module;
};

typedef void (*lsp_root_fn)(void *ctx, const struct lsp_root *r);

/* Why a stop is incomplete (lsp_roots_incomplete()'s bits). */
#define LSP_ROOTS_NOT_STOPPED	0x1	/* a thread did not answer */
#define LSP_ROOTS_NO_TLS	0x2	/* TLS bounds unknown */
#define LSP_ROOTS_NO_STACK	0x4	/* a stack off its bounds, or an
					 * alternate signal stack's only */
#define LSP_ROOTS_TOO_MANY	0x8	/* more segments or threads */
#define LSP_ROOTS_NO_SIGNAL	0x10	/* no free real-time signal */

/* How long lsp_roots_stop() waits, in all, for the threads to answer. */
#define LSP_ROOTS_WAIT_MS	250

/*
 * Look up the C library's static TLS size and descriptor size (GLIBC_
 * PRIVATE; without them TLS roots are missing and stops say so).
 * own: an address inside the module whose segments are never roots
 * (NULL: the one this file is linked into, libleakspy.so).  Allocates
 * (dlsym); call once, before any stop.
 */
void lsp_roots_init(const void *own);

/*
 * Copy the global ranges (dl_iterate_phdr), and the threads to stop:
 * every task /proc/self/task lists, the registry's threads and the main
 * thread, the caller left out.  Returns 0 or -ENOMEM.  Takes the
 * loader's and the registry's locks (see the lock order).
 */
int lsp_roots_collect(void);

/*
 * Stop the threads lsp_roots_collect() listed with a real-time signal
 * the program leaves at SIG_DFL; each handler saves its registers and
 * waits until lsp_roots_resume().  Returns once all answered, or after
 * LSP_ROOTS_WAIT_MS; a thread that did not (signal blocked, exited) is
 * not stopped and makes the stop incomplete.  Returns 0, -EINVAL without
 * a collect since the last stop, -EAGAIN without a free signal.  Holds
 * lsp_signals_lock() throughout, so the program cannot take the signal
 * back meanwhile; not async-signal-safe.
 */
int lsp_roots_stop(void);

/* Release the threads the last lsp_roots_stop() stopped.  The handler
 * stays installed, idle, for a signal still queued to a thread that did
 * not answer. */
void lsp_roots_resume(void);

/* roots_xid.c: the stop's second signal, glibc's SIGSETXID (SIGRTMIN - 1
 * in the kernel's numbering), for threads that block the first. */
#define LSP_XID_SIG	33

/* Whether thread tid blocks signal sig (its SigBlk in /proc); *known
 * false, and false returned, if that cannot be read. */
bool lsp_xid_blocks(pid_t tid, int sig, bool *known);
/* Make handler the disposition of LSP_XID_SIG, with the restorer glibc
 * gave signal like; false if it cannot be. */
bool lsp_xid_install(void (*handler)(int, siginfo_t *, void *), int like);
/* Give LSP_XID_SIG back to glibc's handler (none: keep the stop's). */
void lsp_xid_restore(void);
/* Pass a LSP_XID_SIG the stop did not send to glibc's handler. */
void lsp_xid_forward(int sig, siginfo_t *si, void *uc);

/* 0 if the last stop saw every root, else LSP_ROOTS_* bits. */
unsigned lsp_roots_incomplete(void);

/* The number of threads of the last stop that did not answer, and the
 * i-th one's id (0 past the end). */
unsigned lsp_roots_not_stopped(void);
pid_t lsp_roots_not_stopped_tid(unsigned i);

/* Call cb for each writable segment of the last collect, leakspy's own
 * excluded.  Takes no lock. */
void lsp_roots_globals(lsp_root_fn cb, void *ctx);

/* Call cb for each stopped thread's ranges and the caller's own (its
 * registers, spilled here; its stack from here up; its TLS).  Only
 * between lsp_roots_stop() and lsp_roots_resume().  Takes no lock. */
void lsp_roots_threads(lsp_root_fn cb, void *ctx);

/* For a scan while the threads run (scan_clone.c), no thread stopped:
 * thread tid's stack taken whole from stack_lo (the start of the mapping
 * that holds it) to its TLS (the main thread's: to __libc_stack_end), its
 * static TLS and descriptor from its thread pointer tp.  Takes no lock;
 * lsp_roots_running_incomplete() says (and clears) what was missing. */
void lsp_roots_running(lsp_root_fn cb, void *ctx, pid_t tid, uintptr_t tp,
    uintptr_t stack_lo);
unsigned lsp_roots_running_incomplete(void);

/* The number of threads the last stop stopped (until resumed). */
unsigned lsp_roots_stopped(void);

/* The stop signal picked last, or 0.  Async-signal-safe. */
int lsp_roots_signal(void);

/* sizeof(struct pthread) as the C library says, or 0. */
size_t lsp_roots_desc_size(void);

/* The main thread's thread pointer, if it started leakspy; else 0. */
uintptr_t lsp_roots_main_tp(void);

/* --- signals.c: borrowed signals --- */

/*
 * Borrowed signals (the stop signal): leakspy's handler in the
 * kernel, the SIG_DFL the program left in what it reads (sigaction,
 * signal), until the program sets a disposition of its own: that one
 * goes to the kernel, the program reads back the SIG_DFL it left, and
 * the loan ends.  A signal the borrower sent that is still queued then
 * meets the program's disposition.
 *
 * lsp_signals_lock() takes the lock of the program's views of signals,
 * which the sigaction and signal interposers take too, and blocks every
 * signal on the calling thread until lsp_signals_unlock(); held, no
 * program thread sets or reads a signal leakspy watches or may borrow.
 * Never in a signal handler, nor in a sandbox.
 */
void lsp_signals_lock(void);
void lsp_signals_unlock(void);
/*
 * Borrow real-time signal sig for handler fn (installed with SA_SIGINFO,
 * SA_RESTART and every signal blocked), if the program leaves it at
 * SIG_DFL and leakspy watches it for nothing else.  Returns 0 (also if
 * fn has it already), -EINVAL for a signal out of SIGRTMIN..SIGRTMAX,
 * -EBUSY if it is not free (or in a sandbox), or sigaction's -errno.
 * Under lsp_signals_lock().
 */
typedef void (*lsp_borrow_fn)(int sig, siginfo_t *si, void *uc);
int lsp_signals_borrow(int sig, lsp_borrow_fn fn);
/* Whether sig is still borrowed: the program has not set it, through
 * leakspy or behind its back.  Under lsp_signals_lock(). */
bool lsp_signals_borrowed(int sig);

#endif /* LS_ROOTS_H */
