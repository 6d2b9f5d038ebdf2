/* SPDX-License-Identifier: MIT */
/*
 * The roots of the heap scan (the final snapshot's thread; on_stop runs
 * as a signal handler on every other thread): the loaded objects'
 * writable segments, and the other threads stopped by a signal whose
 * handler publishes their registers and waits on a futex.  Memory comes
 * from ls_map only; nothing here calls malloc or stdio.
 *
 * x86-64 glibc layout (TLS variant II): the thread pointer (%fs:0) points
 * at the thread's struct pthread, whose size the C library exports for
 * libthread_db; the static TLS block lies just below it, and together
 * they are the static TLS size _dl_get_tls_static_info reports.  For
 * threads the C library created, both sit at the top of the thread's
 * stack mapping, so the stack is [sp - red zone, TLS block).  The main
 * thread's lie outside its stack (the loader allocated them), whose top
 * is __libc_stack_end.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include "arena.h"
#include "compiler.h"
#include "lsp.h"
#include "roots.h"

#define RED_ZONE	128
#define STACK_MAX	((uintptr_t)1 << 30)	/* a longer one is not ours */
#define MAX_SEGS	2048
#define MODNAME		112
#define MAX_THREADS	8192

/* threads.c (lsp.h): the registry's running threads; the unit test
 * stands in for it. */
size_t lsp_threads_tids(pid_t *out, size_t cap);
extern pid_t lsp_writer_tid;

extern void *__libc_stack_end;

enum { S_IDLE, S_SENT, S_STOPPED, S_NOT_STOPPED, S_GONE };

/* One thread of a stop.  state is the futex word the stopper waits on:
 * the stopper sets S_SENT, then either the handler moves it to
 * S_STOPPED (after filling regs, sp and tp) or the stopper, timed out,
 * to S_NOT_STOPPED; a compare-and-swap decides which. */
struct slot {
	pid_t tid;
	int state;
	int sig;		/* the one it is sent */
	uintptr_t sp, tp;
	uintptr_t alt_lo, alt_hi;	/* the alternate signal stack sp is on */
	greg_t regs[NGREG];
};

struct seg {
	uintptr_t lo, hi;
	char module[MODNAME];
};

/* Written by lsp_roots_init only. */
static void (*tls_info)(size_t *, size_t *);
static size_t desc_size;	/* sizeof(struct pthread); 0: unknown */
static uintptr_t main_tp;	/* the main thread's, if it booted leakspy */
static uintptr_t own_anchor;
/* leakspy's own static TLS, at the same offset from every thread's
 * thread pointer (written by the collect; size 0: none found). */
static intptr_t own_tls_off;
static size_t own_tls_size;

/* The stop's state, written by the stopper between stops.  slots and
 * nslots are read by handlers (atomics); an array is never unmapped, as
 * a handler of a signal still queued may read it at any time. */
static struct slot *slots;
static size_t nslots, slots_cap;
static struct seg *segs;
static size_t nsegs;
static unsigned incomplete;
static bool collected;		/* lsp_roots_collect ran, no stop since */
static int stop_sig;
/* Futex words: the stop's generation, and the last one released. */
static int stop_gen, released_gen;
/* The process that sent the last stop's signals (atomic; no getpid in
 * the handler, which may run in a sandbox). */
static pid_t stop_pid;

/* The caller's own registers, spilled by lsp_roots_threads. */
static struct {
	uintptr_t w[8];
} *self_regs;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uintptr_t
thread_pointer(void)
{
	uintptr_t tp;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	return tp;
}

static pid_t
own_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

void
lsp_roots_init(const void *own)
{
	const unsigned *dsz;

	own_anchor = own != NULL ? (uintptr_t)own : (uintptr_t)&own_anchor;
	tls_info = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT,
	    "_dl_get_tls_static_info");
	dsz = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	desc_size = dsz != NULL ? *dsz : 0;
	/* leakspy's syscall() resolves the next one on its first call: not
	 * in the handler. */
	(void)syscall(SYS_gettid);
	if (own_tid() == getpid())
		main_tp = thread_pointer();
}

unsigned
lsp_roots_stopped(void)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < nslots; i++)
		n += __atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) ==
		    S_STOPPED;
	return n;
}

int
lsp_roots_signal(void)
{
	return __atomic_load_n(&stop_sig, __ATOMIC_ACQUIRE);
}

size_t
lsp_roots_desc_size(void)
{
	return desc_size;
}

uintptr_t
lsp_roots_main_tp(void)
{
	return main_tp;
}

/* --- globals --- */

static bool
holds_own(const struct dl_phdr_info *info)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + p->p_vaddr;

		if (p->p_type == PT_LOAD && own_anchor >= lo &&
		    own_anchor < lo + p->p_memsz)
			return true;
	}
	return false;
}

/* leakspy's PT_TLS: where this thread's copy lies from its thread
 * pointer (static TLS: the same for every thread). */
static void
note_own_tls(const struct dl_phdr_info *info)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_TLS &&
		    info->dlpi_tls_data != NULL) {
			own_tls_off = (intptr_t)((uintptr_t)info->dlpi_tls_data -
			    thread_pointer());
			own_tls_size = info->dlpi_phdr[i].p_memsz;
		}
}

/* Under the loader's lock: copy, never call out. */
static int
add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	int i;

	(void)size;
	(void)arg;
	if (holds_own(info)) {
		note_own_tls(info);
		return 0;
	}
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		struct seg *s;

		if (p->p_type != PT_LOAD || !(p->p_flags & PF_W))
			continue;
		if (nsegs == MAX_SEGS) {
			incomplete |= LSP_ROOTS_TOO_MANY;
			return 1;
		}
		s = &segs[nsegs++];
		s->lo = (info->dlpi_addr + p->p_vaddr + 7) & ~(uintptr_t)7;
		s->hi = (info->dlpi_addr + p->p_vaddr + p->p_memsz) &
		    ~(uintptr_t)7;
		strncpy(s->module, info->dlpi_name ? info->dlpi_name : "",
		    MODNAME - 1);
		s->module[MODNAME - 1] = '\0';
	}
	return 0;
}

static int
collect_globals(void)
{
	if (segs == NULL && (segs = ls_map(MAX_SEGS * sizeof(*segs))) == NULL)
		return -ENOMEM;
	nsegs = 0;
	dl_iterate_phdr(add_object, NULL);
	return 0;
}

void
lsp_roots_globals(lsp_root_fn cb, void *ctx)
{
	size_t i;

	for (i = 0; i < nsegs; i++) {
		struct lsp_root r = { LSP_ROOT_GLOBAL, segs[i].lo, segs[i].hi,
		    0, segs[i].module };

		if (r.lo < r.hi)
			cb(ctx, &r);
	}
}

/* --- the stopped threads' side --- */

static struct slot *
find_slot(pid_t tid)
{
	struct slot *s = __atomic_load_n(&slots, __ATOMIC_ACQUIRE);
	size_t i, n = __atomic_load_n(&nslots, __ATOMIC_ACQUIRE);

	for (i = 0; s != NULL && i < n; i++)
		if (s[i].tid == tid)
			return &s[i];
	return NULL;
}

/* Whether si is a stop's own signal: queued by send_all, in this
 * process, with its cookie. */
static bool
sent_by_stop(const siginfo_t *si)
{
	return si->si_code == SI_QUEUE &&
	    si->si_pid == __atomic_load_n(&stop_pid, __ATOMIC_ACQUIRE) &&
	    si->si_value.sival_ptr == (void *)&stop_gen;
}

/*
 * The stop signal's handler, on a stopped thread, all signals blocked:
 * publish the registers, answer, wait until released.  A stop's signal
 * that comes when no stop waits for this thread (queued while it was
 * blocked) does nothing; any other (kill, raise, sigqueue) meets the
 * SIG_DFL the program left, and ends the process.  Async-signal-safe.
 */
static void
on_stop(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	int saved = errno, gen, expect = S_SENT;
	struct slot *s;
	stack_t ss;

	if (!sent_by_stop(si)) {
		if (sig == LSP_XID_SIG) {
			lsp_xid_forward(sig, si, ucv);
			errno = saved;
			return;
		}
		lsp_die_of(sig);
	}
	s = find_slot(own_tid());
	if (s == NULL || __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) !=
	    S_SENT)
		goto out;
	memcpy(s->regs, uc->uc_mcontext.gregs, sizeof(s->regs));
	s->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	s->tp = thread_pointer();
	s->alt_lo = s->alt_hi = 0;
	/* This handler runs where the thread was: on its alternate signal
	 * stack if it was in a handler of its own there. */
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK)) {
		s->alt_lo = (uintptr_t)ss.ss_sp;
		s->alt_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
	}
	if (!__atomic_compare_exchange_n(&s->state, &expect, S_STOPPED,
	    false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		goto out;	/* the stopper gave up on this thread */
	/* The stop's generation, read after S_SENT: the stopper moved it on
	 * before it sent (a signal of an older stop may be the one that
	 * finds S_SENT). */
	gen = __atomic_load_n(&stop_gen, __ATOMIC_ACQUIRE);
	syscall(SYS_futex, &s->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	/* Until released; at exit, until exit_group ends this thread. */
	for (;;) {
		int r = __atomic_load_n(&released_gen, __ATOMIC_ACQUIRE);

		if (r - gen >= 0)
			break;
		syscall(SYS_futex, &released_gen, FUTEX_WAIT_PRIVATE, r, NULL,
		    NULL, 0);
	}
out:
	errno = saved;
}

/* --- the stopper's side --- */

/*
 * A real-time signal to stop by, borrowed from the program (signals.c):
 * the last one if it is still lent, else the highest the program leaves
 * at SIG_DFL (glibc's own lie below SIGRTMIN; programs tend to take the
 * low ones).  0 if none.  Under lsp_signals_lock().
 */
static int
pick_signal(void)
{
	int sig;

	if (stop_sig != 0 && lsp_signals_borrowed(stop_sig))
		return stop_sig;
	for (sig = SIGRTMAX; sig >= SIGRTMIN; sig--)
		if (lsp_signals_borrow(sig, on_stop) == 0)
			return stop_sig = sig;
	return stop_sig = 0;
}

static bool
have_slot(size_t k, pid_t t)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (slots[i].tid == t)
			return true;
	return false;
}

static size_t
add_slot(size_t k, pid_t t, pid_t me)
{
	/* leakspy's writer is never stopped: its stack is no root. */
	if (t <= 0 || t == me || have_slot(k, t) ||
	    t == __atomic_load_n(&lsp_writer_tid, __ATOMIC_ACQUIRE))
		return k;
	if (k == slots_cap / 2) {
		incomplete |= LSP_ROOTS_TOO_MANY;
		return k;
	}
	slots[k] = (struct slot){ .tid = t, .state = S_IDLE };
	return k + 1;
}

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static pid_t
parse_tid(const char *s)
{
	long v = 0;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 0x3fffffff)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return (pid_t)v;
}

/* Every task of the process as /proc/self/task lists it, with raw system
 * calls (no opendir: it allocates); false without /proc. */
static bool
add_tasks(size_t *k, pid_t me)
{
	char buf[4096];
	long fd, n;

	fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/task",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		long off = 0;

		while (off < n) {
			struct linux_dirent64 *d = (void *)(buf + off);

			*k = add_slot(*k, parse_tid(d->d_name), me);
			off += d->d_reclen;
		}
	}
	syscall(SYS_close, fd);
	return n == 0;
}

/* The threads to stop, in slots, the caller left out: the tasks /proc
 * lists (threads the registry never saw included: made before leakspy
 * started, or by a raw clone), the main thread and the registry's. */
static int
fill_slots(void)
{
	pid_t me = own_tid(), pid = getpid();
	size_t n, i, k = 0;
	pid_t *tids;

	if (slots == NULL) {
		slots_cap = MAX_THREADS;
		slots = ls_map(slots_cap * sizeof(*slots));
		if (slots == NULL)
			return -ENOMEM;
	}
	__atomic_store_n(&nslots, 0, __ATOMIC_RELEASE);
	/* The registry's tids go in the slots' second half, read, then
	 * packed in the first. */
	tids = (pid_t *)&slots[slots_cap / 2];
	n = lsp_threads_tids(tids, slots_cap / 2);
	if (n > slots_cap / 2) {
		incomplete |= LSP_ROOTS_TOO_MANY;
		n = slots_cap / 2;
	}
	k = add_slot(k, pid, me);
	for (i = 0; i < n; i++)
		k = add_slot(k, tids[i], me);
	(void)add_tasks(&k, me);
	__atomic_store_n(&nslots, k, __ATOMIC_RELEASE);
	return 0;
}

/* Send every slot's thread its stop signal, marked as the stop's
 * (sent_by_stop): tgkill's would look like the program's raise. */
static void
send_all(void)
{
	pid_t pid = getpid();
	siginfo_t si;
	size_t i;

	memset(&si, 0, sizeof(si));
	si.si_code = SI_QUEUE;
	si.si_pid = pid;
	si.si_uid = getuid();
	si.si_value.sival_ptr = (void *)&stop_gen;
	__atomic_store_n(&stop_pid, pid, __ATOMIC_RELEASE);
	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		__atomic_store_n(&s->state, S_SENT, __ATOMIC_RELEASE);
		si.si_signo = s->sig;
		while (syscall(SYS_rt_tgsigqueueinfo, pid, s->tid, s->sig,
		    &si) != 0) {
			if (errno == EAGAIN)
				continue;	/* the queue is full: again */
			__atomic_store_n(&s->state, S_GONE, __ATOMIC_RELAXED);
			break;
		}
	}
}

/* Wait, until end_ms at most, for s to answer. */
static void
await(struct slot *s, int64_t end_ms)
{
	int expect = S_SENT;

	while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == S_SENT) {
		int64_t left = end_ms - now_ms();
		struct timespec ts;

		if (left <= 0)
			break;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = left % 1000 * 1000000;
		syscall(SYS_futex, &s->state, FUTEX_WAIT_PRIVATE, S_SENT, &ts,
		    NULL, 0);
	}
	if (__atomic_compare_exchange_n(&s->state, &expect, S_NOT_STOPPED,
	    false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		incomplete |= LSP_ROOTS_NOT_STOPPED;
}

int
lsp_roots_collect(void)
{
	int r;

	incomplete = 0;
	collected = false;
	if (tls_info == NULL || desc_size == 0)
		incomplete |= LSP_ROOTS_NO_TLS;
	if ((r = collect_globals()) != 0 || (r = fill_slots()) != 0) {
		incomplete |= LSP_ROOTS_NOT_STOPPED;
		return r;
	}
	collected = true;
	return 0;
}

/*
 * Which signal each slot's thread is sent: sig, or for a thread that
 * blocks it (its own mask, as /proc tells) and not SIGSETXID, SIGSETXID,
 * whose handler is then the stop's for the stop.  Returns whether it is.
 */
static bool
pick_signals(int sig)
{
	bool xid = false, known;
	size_t i;

	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		s->sig = sig;
		if (!lsp_xid_blocks(s->tid, sig, &known) || !known ||
		    lsp_xid_blocks(s->tid, LSP_XID_SIG, &known) || !known)
			continue;
		if (!xid && !lsp_xid_install(on_stop, sig))
			break;
		xid = true;
		s->sig = LSP_XID_SIG;
	}
	return xid;
}

int
lsp_roots_stop(void)
{
	int64_t end;
	size_t i;
	int sig;
	bool xid;

	if (!collected)
		return -EINVAL;
	collected = false;
	/* Until every thread answered or was given up on, the program
	 * cannot take the signal back: a signal sent would meet its
	 * disposition (SIG_DFL: death).  Its threads that wait for the
	 * lock meanwhile are stopped there. */
	lsp_signals_lock();
	if ((sig = pick_signal()) == 0) {
		lsp_signals_unlock();
		incomplete |= LSP_ROOTS_NO_SIGNAL | LSP_ROOTS_NOT_STOPPED;
		__atomic_store_n(&nslots, 0, __ATOMIC_RELEASE);
		return -EAGAIN;
	}
	__atomic_add_fetch(&stop_gen, 1, __ATOMIC_ACQ_REL);
	xid = pick_signals(sig);
	send_all();
	end = now_ms() + LSP_ROOTS_WAIT_MS;
	for (i = 0; i < nslots; i++)
		await(&slots[i], end);
	if (xid)
		lsp_xid_restore();
	lsp_signals_unlock();
	return 0;
}

void
lsp_roots_resume(void)
{
	size_t i;

	__atomic_store_n(&released_gen, __atomic_load_n(&stop_gen,
	    __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
	syscall(SYS_futex, &released_gen, FUTEX_WAKE_PRIVATE, 0x7fffffff,
	    NULL, NULL, 0);
	/* A late handler finds no S_SENT slot and returns at once; the
	 * threads that did not answer stay counted. */
	for (i = 0; i < nslots; i++)
		if (slots[i].state == S_STOPPED)
			__atomic_store_n(&slots[i].state, S_IDLE,
			    __ATOMIC_RELEASE);
}

unsigned
lsp_roots_incomplete(void)
{
	return incomplete;
}

unsigned
lsp_roots_not_stopped(void)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < nslots; i++)
		n += slots[i].state == S_NOT_STOPPED;
	return n;
}

pid_t
lsp_roots_not_stopped_tid(unsigned k)
{
	size_t i;

	for (i = 0; i < nslots; i++)
		if (slots[i].state == S_NOT_STOPPED && k-- == 0)
			return slots[i].tid;
	return 0;
}

/* --- one thread's ranges --- */

static void
emit(lsp_root_fn cb, void *ctx, int kind, pid_t tid, uintptr_t lo,
    uintptr_t hi)
{
	struct lsp_root r = { kind, (lo + 7) & ~(uintptr_t)7,
	    hi & ~(uintptr_t)7, tid, NULL };

	if (r.lo < r.hi)
		cb(ctx, &r);
}

/* The static TLS block [lo, hi) of thread tid with thread pointer hi,
 * leakspy's own part left out. */
static void
emit_tls(lsp_root_fn cb, void *ctx, pid_t tid, uintptr_t lo, uintptr_t hi)
{
	uintptr_t own = hi + (uintptr_t)own_tls_off;

	if (own_tls_size == 0 || own < lo || own >= hi) {
		emit(cb, ctx, LSP_ROOT_TLS, tid, lo, hi);
		return;
	}
	/* Rounded outwards: a word of leakspy's is never a root. */
	emit(cb, ctx, LSP_ROOT_TLS, tid, lo, own & ~(uintptr_t)7);
	emit(cb, ctx, LSP_ROOT_TLS, tid, (own + own_tls_size + 7) &
	    ~(uintptr_t)7, hi);
}

/* The stack, TLS and descriptor of thread tid (main: the process's first
 * thread) with stack pointer sp and thread pointer tp. */
static void
thread_ranges(lsp_root_fn cb, void *ctx, pid_t tid, bool main,
    uintptr_t sp, uintptr_t tp, uintptr_t alt_lo, uintptr_t alt_hi)
{
	size_t tls_size = 0, align = 0;
	uintptr_t tls_lo = 0, top;

	if (tls_info != NULL && desc_size != 0) {
		tls_info(&tls_size, &align);
		if (tls_size > desc_size) {
			tls_lo = tp + desc_size - tls_size;
			emit_tls(cb, ctx, tid, tls_lo, tp);
			emit(cb, ctx, LSP_ROOT_DESC, tid, tp, tp + desc_size);
		}
	}
	/* A thread's stack ends where its TLS begins; without TLS bounds,
	 * at its descriptor, whose size is then unknown. */
	if (main)
		top = (uintptr_t)__libc_stack_end;
	else
		top = tls_lo != 0 ? tls_lo : tp;
	if (alt_hi != 0 && sp >= alt_lo && sp < alt_hi) {
		/* Where the thread's own stack was left is in its handler's
		 * frame, unknown here: the alternate stack only. */
		sp = sp - alt_lo > RED_ZONE ? sp - RED_ZONE : alt_lo;
		emit(cb, ctx, LSP_ROOT_STACK, tid, sp, alt_hi);
		incomplete |= LSP_ROOTS_NO_STACK;
		return;
	}
	sp -= RED_ZONE;
	if (sp < top && top - sp < STACK_MAX)
		emit(cb, ctx, LSP_ROOT_STACK, tid, sp, top);
	else
		incomplete |= LSP_ROOTS_NO_STACK;
}

/* The caller's callee-saved registers and stack pointer, spilled where
 * no stack frame can hide them. */
static LS_NOINLINE uintptr_t
spill_self(uintptr_t *w)
{
	__asm__ volatile(
	    "mov %%rbx, 0(%0)\n\t"
	    "mov %%rbp, 8(%0)\n\t"
	    "mov %%r12, 16(%0)\n\t"
	    "mov %%r13, 24(%0)\n\t"
	    "mov %%r14, 32(%0)\n\t"
	    "mov %%r15, 40(%0)\n\t"
	    "mov %%rsp, 48(%0)\n\t"
	    : : "r"(w) : "memory");
	return w[6];
}

void
lsp_roots_threads(lsp_root_fn cb, void *ctx)
{
	/* The caller's stack from this frame up: the frames of cb below it
	 * are leakspy's, never roots. */
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0) + RED_ZONE;
	pid_t me = own_tid();
	stack_t ss;
	size_t i;

	/* leakspy's writer (a fatal signal's snapshot) is no root. */
	if (me == __atomic_load_n(&lsp_writer_tid, __ATOMIC_ACQUIRE))
		goto others;
	if (self_regs == NULL)
		self_regs = ls_map(sizeof(*self_regs));
	if (self_regs != NULL) {
		(void)spill_self(self_regs->w);
		emit(cb, ctx, LSP_ROOT_REGS, me, (uintptr_t)self_regs->w,
		    (uintptr_t)&self_regs->w[7]);
	}
	if (sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_ONSTACK))
		thread_ranges(cb, ctx, me, me == getpid(), sp,
		    thread_pointer(), (uintptr_t)ss.ss_sp,
		    (uintptr_t)ss.ss_sp + ss.ss_size);
	else
		thread_ranges(cb, ctx, me, me == getpid(), sp,
		    thread_pointer(), 0, 0);
others:
	for (i = 0; i < nslots; i++) {
		struct slot *s = &slots[i];

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != S_STOPPED)
			continue;
		emit(cb, ctx, LSP_ROOT_REGS, s->tid, (uintptr_t)s->regs,
		    (uintptr_t)(s->regs + NGREG));
		thread_ranges(cb, ctx, s->tid, s->tid == getpid(), s->sp,
		    s->tp, s->alt_lo, s->alt_hi);
	}
}

void
lsp_roots_running(lsp_root_fn cb, void *ctx, pid_t tid, uintptr_t tp,
    uintptr_t stack_lo)
{
	/* No stack pointer: the whole stack, from where it is mapped. */
	thread_ranges(cb, ctx, tid, tid == getpid(), stack_lo + RED_ZONE, tp,
	    0, 0);
}

unsigned
lsp_roots_running_incomplete(void)
{
	unsigned bits = incomplete;

	incomplete = 0;
	return bits;
}
