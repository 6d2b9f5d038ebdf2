/* SPDX-License-Identifier: MIT */
/*
 * The thread registry (pthread interposers, writer): every thread created
 * through pthread_create, with its creation stack, start routine, name and
 * fate (running, exited, joined, detached), so that leakspy-report can
 * name the threads nobody joined.  Each thread's allocations carry its
 * current name (the site key includes it).
 *
 * A thread's entry lives while the thread runs and until its last state
 * is written; then it is recycled, so short-lived threads cost nothing
 * lasting.  A thread joined, or detached and ended, before any snapshot
 * saw it is only counted (LS_CNT_THREADS).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "lsp.h"
#include "sites.h"

#define THREAD_FRAMES	48
#define HASH_BUCKETS	1024

struct thread {
	struct thread *hnext;		/* by handle */
	struct thread *next, *prev;	/* all entries */
	pthread_t handle;
	uint64_t serial;
	pid_t tid;			/* 0 until the thread starts */
	pid_t creator;
	uint16_t name;			/* read by the thread's hot path */
	bool hashed;
	bool exited, joined, detached;
	bool ending;			/* took the final snapshot: ends the
					 * process */
	bool creating;			/* pthread_create not done with it */
	bool dirty, pending, seen;	/* to write, being written, written */
	bool redirty;			/* changed while pending */
	uintptr_t start;
	uintptr_t tp;			/* its thread pointer, once it runs */
	uint64_t created_ns;
	uint32_t gen;
	unsigned nframes;
	uintptr_t frames[THREAD_FRAMES];
	void *(*fn)(void *);
	void *arg;
};

__thread const uint16_t *lsp_name_ref __attribute__((tls_model("initial-exec")));
__thread uint16_t lsp_unreg_name __attribute__((tls_model("initial-exec")));
static __thread struct thread *self __attribute__((tls_model("initial-exec")));

/* All under thr_lock. */
static pthread_mutex_t thr_lock = PTHREAD_MUTEX_INITIALIZER;

/* thr_lock is taken inside the guard, so that a signal handler that
 * interrupts its holder sees a thread inside leakspy (lsp_guard), which
 * may not wait for a snapshot that needs the lock. */
static void
thr_enter(void)
{
	lsp_guard_enter();
	pthread_mutex_lock(&thr_lock);
}

static void
thr_leave(void)
{
	pthread_mutex_unlock(&thr_lock);
	lsp_guard_leave();
}
static struct thread *all, *free_list;
/* The thread pointers of the threads that ended last: glibc may keep
 * their stacks and descriptors in its cache (the heap scan's roots). */
#define ENDED_MAX	256
static uintptr_t ended_tp[ENDED_MAX];
static unsigned ended_next;
static struct thread *buckets[HASH_BUCKETS];
static struct ls_arena thr_arena;
/* 0 names the main thread (THREADS, OWNERS). */
static uint64_t next_serial = 1;
static char names[LSP_MAX_NAMES][16];
static unsigned nnames;
static unsigned ndead;		/* entries detached and ended */

static bool registry_on;	/* lsp_threads_init() ran */

static struct {
	int (*create)(pthread_t *, const pthread_attr_t *,
	    void *(*)(void *), void *);
	int (*join)(pthread_t, void **);
	int (*tryjoin)(pthread_t, void **);
	int (*timedjoin)(pthread_t, void **, const struct timespec *);
	int (*clockjoin)(pthread_t, void **, clockid_t,
	    const struct timespec *);
	int (*detach)(pthread_t);
	int (*setname)(pthread_t, const char *);
	int (*prctl)(int, ...);
} real;

/* The next definitions; also from interposers called before lsp_boot(). */
static void
resolve(void)
{
	static bool done;

	if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
		return;
	real.create = lsp_next_sym("pthread_create");
	real.join = lsp_next_sym("pthread_join");
	real.tryjoin = lsp_next_sym("pthread_tryjoin_np");
	real.timedjoin = lsp_next_sym("pthread_timedjoin_np");
	real.clockjoin = lsp_next_sym("pthread_clockjoin_np");
	real.detach = lsp_next_sym("pthread_detach");
	real.setname = lsp_next_sym("pthread_setname_np");
	real.prctl = lsp_next_sym("prctl");
	__atomic_store_n(&done, true, __ATOMIC_RELEASE);
}

void
lsp_threads_init(void)
{
	char comm[16] = "";

	ls_arena_init(&thr_arena, 64 << 10);
	resolve();
	/* Name 0: the process's name as it starts. */
	if (real.prctl != NULL)
		(void)real.prctl(PR_GET_NAME, (unsigned long)comm, 0UL, 0UL,
		    0UL);
	memcpy(names[0], comm, sizeof(names[0]));
	names[0][15] = '\0';
	nnames = 1;
	registry_on = true;
}

/* thr_lock held.  The last slot takes every name past the table. */
static uint16_t
intern_name(const char *s)
{
	char n[16];
	unsigned i;

	strncpy(n, s, sizeof(n) - 1);
	n[15] = '\0';
	for (i = 0; i < nnames; i++)
		if (strcmp(names[i], n) == 0)
			return (uint16_t)i;
	if (nnames == LSP_MAX_NAMES)
		return LSP_MAX_NAMES - 1;
	memcpy(names[nnames], n, sizeof(n));
	if (nnames == LSP_MAX_NAMES - 1)
		strcpy(names[nnames], "(others)");
	return (uint16_t)nnames++;
}

void
lsp_thread_name(unsigned id, char out[16])
{
	thr_enter();
	memcpy(out, names[id < nnames ? id : 0], 16);
	thr_leave();
}

static unsigned
bucket_of(pthread_t h)
{
	return (unsigned)(((uint64_t)h * 0x9e3779b97f4a7c15ull) >> 54) %
	    HASH_BUCKETS;
}

/* thr_lock held: the entry of a live or unjoined thread handle h. */
static struct thread *
find(pthread_t h)
{
	struct thread *t;

	for (t = buckets[bucket_of(h)]; t != NULL; t = t->hnext)
		if (pthread_equal(t->handle, h))
			return t;
	return NULL;
}

static void
unhash(struct thread *t)
{
	struct thread **pp;

	if (!t->hashed)
		return;
	for (pp = &buckets[bucket_of(t->handle)]; *pp; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	t->hashed = false;
}

/* thr_lock held.  Handles are reused once a thread is gone: an older
 * entry with this handle belongs to a finished thread. */
static void
hash_in(struct thread *t)
{
	struct thread *old = find(t->handle);

	if (old == t)
		return;
	if (old != NULL)
		unhash(old);
	t->hnext = buckets[bucket_of(t->handle)];
	buckets[bucket_of(t->handle)] = t;
	t->hashed = true;
}

static void
release(struct thread *t)
{
	if (t->detached && t->exited)
		ndead--;
	unhash(t);
	if (t->prev)
		t->prev->next = t->next;
	else
		all = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->next = free_list;
	free_list = t;
}

/* The calling thread's id; 0 in a sandbox, where leakspy makes no system
 * call (its dump has ended: the id would never be written). */
static pid_t
own_tid(void)
{
	return lsp_in_sandbox() ? 0 : gettid();
}

static bool
thread_gone(pid_t tid)
{
	return tid == 0 || (tgkill(lsp_pid, tid, 0) != 0 &&
	    errno == ESRCH);
}

/* thr_lock held: t changed and must be written again. */
static void
touch(struct thread *t)
{
	t->dirty = true;
	if (t->pending)
		t->redirty = true;
}

/* thr_lock held: an entry whose story is told (or never will be) goes. */
static void
maybe_release(struct thread *t)
{
	if (t->dirty || t->pending || t->creating)
		return;
	if (t->joined || (t->detached && t->exited && thread_gone(t->tid)))
		release(t);
}

/* thr_lock held: t changed.  One nobody saw that is now finished goes at
 * once. */
static void
changed(struct thread *t)
{
	if (!t->seen && !t->pending && !t->creating && (t->joined ||
	    (t->detached && t->exited && thread_gone(t->tid)))) {
		release(t);
		return;
	}
	touch(t);
}

static void
thread_ended(void *arg)
{
	struct thread *t = arg;

	thr_enter();
	t->exited = true;
	ndead += t->detached;
	ended_tp[ended_next++ % ENDED_MAX] = t->tp;
	touch(t);
	thr_leave();
	lsp_slice_release();
}

static void *
thread_main(void *arg)
{
	struct thread *t = arg;
	void *(*fn)(void *) = t->fn;
	/* Without leakspy the argument stays in the thread's descriptor, a
	 * root of the heap scan; the registry's copy is not one, so keep it
	 * on the thread's stack while the thread runs. */
	void *volatile fn_arg = t->arg;
	void *ret;

	self = t;
	lsp_name_ref = &t->name;
	thr_enter();
	t->tid = own_tid();
	t->handle = pthread_self();
	__asm__ volatile("mov %%fs:0, %0" : "=r"(t->tp));
	hash_in(t);
	touch(t);
	thr_leave();
	/* Return, pthread_exit and cancellation all run this handler. */
	pthread_cleanup_push(thread_ended, t);
	ret = fn(fn_arg);
	pthread_cleanup_pop(1);
	return ret;
}

/* thr_lock held: detached threads that ended, which no snapshot saw, go
 * once their task is gone; without periodic snapshots nothing else would
 * recycle them. */
static void
sweep(void)
{
	struct thread *t, *next;

	for (t = all; t != NULL && ndead > 0; t = next) {
		next = t->next;
		if (t->detached && t->exited && !t->seen && !t->pending &&
		    !t->creating && thread_gone(t->tid))
			release(t);
	}
}

static struct thread *
new_entry(void)
{
	struct thread *t;

	if (free_list == NULL && ndead > 0)
		sweep();
	t = free_list;

	if (t != NULL)
		free_list = t->next;
	else
		t = ls_arena_alloc(&thr_arena, sizeof(*t));
	if (t != NULL)
		memset(t, 0, sizeof(*t));
	return t;
}

LS_EXPORT int
pthread_create(pthread_t *th, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	uintptr_t f[LS_MAX_FRAMES];
	struct thread *t;
	bool truncated;
	unsigned n;
	int r, ds = PTHREAD_CREATE_JOINABLE, saved;

	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) != LSP_ACTIVE)
		lsp_boot();
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) != LSP_ACTIVE ||
	    lsp_guard || !registry_on || real.create == NULL)
		return lsp_next_pthread_create(th, attr, fn, arg);
	saved = errno;
	/* Taking a stack, as the recording path does. */
	lsp_guard_enter_record();
	n = lsp_unwind(f, &truncated);
	if (attr != NULL)
		(void)pthread_attr_getdetachstate(attr, &ds);
	thr_enter();
	t = new_entry();
	if (t != NULL) {
		t->serial = next_serial++;
		t->creator = own_tid();
		t->name = lsp_name_ref ? *lsp_name_ref : lsp_unreg_name;
		t->detached = ds == PTHREAD_CREATE_DETACHED;
		t->start = (uintptr_t)fn;
		t->created_ns = lsp_run_ns();
		t->gen = lsp_modgen();
		t->nframes = n < THREAD_FRAMES ? n : THREAD_FRAMES;
		memcpy(t->frames, f, t->nframes * sizeof(f[0]));
		t->fn = fn;
		t->arg = arg;
		t->creating = true;
		t->next = all;
		if (all)
			all->prev = t;
		all = t;
	}
	thr_leave();
	lsp_count(LS_CNT_THREADS);
	lsp_guard_leave_record();
	errno = saved;
	if (t == NULL)
		return real.create(th, attr, fn, arg);
	r = real.create(th, attr, thread_main, t);
	saved = errno;
	thr_enter();
	t->creating = false;
	if (r != 0) {
		release(t);
	} else {
		t->handle = *th;
		/* A detached thread that already ended needs no lookup, and
		 * its handle may already be another thread's. */
		if (!(t->exited && t->detached))
			hash_in(t);
		maybe_release(t);
	}
	thr_leave();
	errno = saved;
	return r;
}

int
lsp_next_pthread_create(pthread_t *th, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	resolve();
	return real.create != NULL ? real.create(th, attr, fn, arg) : ENOSYS;
}

/* A join of h returned r. */
static int
joined(int r, pthread_t h)
{
	struct thread *t;
	int saved = errno;

	if (r != 0 || !registry_on)
		return r;
	thr_enter();
	if ((t = find(h)) != NULL) {
		unhash(t);
		t->joined = true;
		t->exited = true;
		changed(t);
	}
	thr_leave();
	errno = saved;
	return r;
}

LS_EXPORT int
pthread_join(pthread_t th, void **ret)
{
	resolve();
	return real.join ? joined(real.join(th, ret), th) : ENOSYS;
}

LS_EXPORT int
pthread_tryjoin_np(pthread_t th, void **ret)
{
	resolve();
	return real.tryjoin ? joined(real.tryjoin(th, ret), th) : ENOSYS;
}

LS_EXPORT int
pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts)
{
	resolve();
	return real.timedjoin ? joined(real.timedjoin(th, ret, ts), th) :
	    ENOSYS;
}

LS_EXPORT int
pthread_clockjoin_np(pthread_t th, void **ret, clockid_t clk,
    const struct timespec *ts)
{
	resolve();
	return real.clockjoin ? joined(real.clockjoin(th, ret, clk, ts), th) :
	    ENOSYS;
}

LS_EXPORT int
pthread_detach(pthread_t th)
{
	struct thread *t;
	int r, saved;

	resolve();
	if (real.detach == NULL)
		return ENOSYS;
	r = real.detach(th);
	if (r != 0 || !registry_on)
		return r;
	saved = errno;
	thr_enter();
	if ((t = find(th)) != NULL && !t->detached) {
		t->detached = true;
		ndead += t->exited;
		changed(t);
	}
	thr_leave();
	errno = saved;
	return r;
}

/* Thread th was renamed: its entry takes the name, or, for this thread
 * without an entry, its own name id. */
static void
renamed(pthread_t th, const char *name)
{
	bool me = pthread_equal(th, pthread_self());
	struct thread *t;
	int saved = errno;

	thr_enter();
	t = me ? self : find(th);
	if (t != NULL) {
		__atomic_store_n(&t->name, intern_name(name),
		    __ATOMIC_RELAXED);
		touch(t);
	} else if (me) {
		lsp_unreg_name = intern_name(name);
	}
	thr_leave();
	errno = saved;
}

LS_EXPORT int
pthread_setname_np(pthread_t th, const char *name)
{
	int r;

	resolve();
	if (real.setname == NULL)
		return ENOSYS;
	r = real.setname(th, name);
	if (r == 0 && registry_on)
		renamed(th, name);
	return r;
}

LS_EXPORT int
prctl(int option, ...)
{
	unsigned long a[4];
	bool entered;
	va_list ap;
	int i, r;

	va_start(ap, option);
	for (i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	resolve();
	if (real.prctl == NULL) {
		errno = ENOSYS;
		return -1;
	}
	entered = option == PR_SET_SECCOMP && lsp_sandbox_enter();
	r = real.prctl(option, a[0], a[1], a[2], a[3]);
	lsp_sandbox_after(entered, r);
	if (r == 0 && option == PR_SET_NAME && registry_on && a[0] != 0) {
		char name[16];

		strncpy(name, (const char *)a[0], 15);
		name[15] = '\0';
		renamed(pthread_self(), name);
	}
	return r;
}

/* --- the writer's side --- */

static unsigned
state_of(const struct thread *t)
{
	if (t->joined)
		return LS_THREAD_JOINED;
	if (t->detached)
		return LS_THREAD_DETACHED;
	if (t->ending && !t->exited)
		return LS_THREAD_ENDED_PROCESS;
	return t->exited ? LS_THREAD_EXITED_UNJOINED : LS_THREAD_RUNNING;
}

void
lsp_threads_emit(struct ls_buf *b, unsigned index)
{
	struct thread *t;
	size_t r = 0;
	unsigned n = 0, k;

	thr_enter();
	for (t = all; t != NULL; t = t->next)
		n += t->dirty && t->tid != 0;
	if (n != 0) {
		r = ls_rec_begin(b, LS_REC_THREADS);
		ls_buf_uv(b, index);
		ls_buf_uv(b, n);
	}
	for (t = all; t != NULL; t = t->next) {
		if (!t->dirty || t->tid == 0)
			continue;
		ls_buf_uv(b, t->serial);
		ls_buf_uv(b, (uint64_t)t->tid);
		ls_buf_uv(b, (uint64_t)t->creator);
		ls_buf_str(b, names[t->name < nnames ? t->name : 0],
		    strlen(names[t->name < nnames ? t->name : 0]));
		ls_buf_uv(b, state_of(t));
		ls_buf_uv(b, t->exited);
		ls_buf_uv(b, t->start);
		ls_buf_uv(b, t->created_ns);
		ls_buf_uv(b, t->gen);
		ls_buf_uv(b, t->nframes);
		for (k = 0; k < t->nframes; k++)
			ls_buf_uv(b, t->frames[k]);
		t->pending = true;
		t->redirty = false;
	}
	if (n != 0)
		ls_rec_end(b, r);
	thr_leave();
}

void
lsp_threads_commit(bool ok)
{
	struct thread *t, *next;

	thr_enter();
	for (t = all; t != NULL; t = next) {
		next = t->next;
		if (t->pending && ok) {
			t->dirty = t->redirty;
			t->seen = true;
		}
		t->pending = t->redirty = false;
		maybe_release(t);
	}
	thr_leave();
}

size_t
lsp_threads_tids(pid_t *out, size_t cap)
{
	struct thread *t;
	size_t n = 0;

	thr_enter();
	for (t = all; t != NULL; t = t->next) {
		if (t->tid == 0 || t->exited)
			continue;
		if (n < cap)
			out[n] = t->tid;
		n++;
	}
	thr_leave();
	return n;
}

size_t
lsp_threads_serials(pid_t *tid, uint64_t *serial, uintptr_t *tp, size_t cap)
{
	struct thread *t;
	size_t n = 0;

	thr_enter();
	for (t = all; t != NULL && n < cap; t = t->next) {
		if (t->tid == 0 || t->exited)
			continue;
		tid[n] = t->tid;
		tp[n] = t->tp;
		serial[n++] = t->serial;
	}
	thr_leave();
	return n;
}

size_t
lsp_threads_ended(uintptr_t *tp, size_t cap)
{
	size_t n = 0, i;

	thr_enter();
	for (i = 0; i < ENDED_MAX && i < ended_next && n < cap; i++)
		if (ended_tp[i] != 0)
			tp[n++] = ended_tp[i];
	thr_leave();
	return n;
}

void
lsp_threads_lock(void)
{
	/* Around fork, inside the guard atfork_prepare holds. */
	pthread_mutex_lock(&thr_lock);
}

void
lsp_threads_unlock(void)
{
	pthread_mutex_unlock(&thr_lock);
}

/* The calling thread ends the process (exit, exec, a fatal signal): it
 * is no thread leak, whatever its state; or no longer (a failed exec). */
void
lsp_threads_ending(bool ending)
{
	struct thread *t = self;

	if (t == NULL)
		return;
	thr_enter();
	t->ending = ending;
	t->dirty = true;
	thr_leave();
}

/* Fork child: only the forking thread exists, and a new dump begins. */
void
lsp_threads_postfork_child(void)
{
	struct thread *t, *next;

	pthread_mutex_init(&thr_lock, NULL);
	for (t = all; t != NULL; t = next) {
		next = t->next;
		if (t == self) {
			t->tid = own_tid();
			t->creator = 0;
			t->seen = t->pending = t->redirty = false;
			t->dirty = true;
			continue;
		}
		/* glibc puts the stacks of the threads the fork left behind
		 * in the child's cache, their descriptors whole. */
		if (!t->exited && t->tp != 0)
			ended_tp[ended_next++ % ENDED_MAX] = t->tp;
		release(t);
	}
}
