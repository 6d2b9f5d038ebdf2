/* SPDX-License-Identifier: MIT */
/*
 * The exported interposers (runs in the host's threads, on every
 * allocation call).  Each one calls the real function, then records unless
 * this thread is already inside leakspy.  errno is what the real function
 * left; free() keeps the caller's.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lsp.h"

static inline bool
active(void)
{
	return LS_LIKELY(__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) ==
	    LSP_ACTIVE);
}

/* Record p unless this thread is inside leakspy; errno survives. */
static inline void
record(void *p, size_t n, unsigned api)
{
	if (LS_LIKELY(!lsp_guard)) {
		int saved = errno;

		lsp_record_alloc(p, n, api);
		errno = saved;
	} else if (lsp_guard >= LSP_GUARD_RECORD) {
		lsp_count(LS_CNT_UNTRACKED);
	}
}

/* Record p unless sampling passes it over. */
static inline void
track(void *p, size_t n, unsigned api)
{
	if (lsp_cfg.sample != 0 && LS_LIKELY(!lsp_sample_due(n)))
		return;	/* not sampled: nothing more to do */
	record(p, n, api);
}

/*
 * Not active yet: boot, then report whether the caller may use lsp_real
 * (true) or must serve itself from the bootstrap pool (false: this thread
 * is inside lsp_boot()).
 */
static LS_NOINLINE LS_COLD bool
slow_ready(void)
{
	if (__atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) == LSP_UNINIT)
		lsp_boot();
	return __atomic_load_n(&lsp_state, __ATOMIC_ACQUIRE) != LSP_BOOTING;
}

static LS_NOINLINE void *
malloc_slow(size_t n)
{
	void *p;

	if (!active()) {
		if (!slow_ready())
			return lsp_boot_alloc(n, 16);
		if (!active())
			return lsp_real.malloc(n);
	}
	p = lsp_real.malloc(n);
	if (LS_LIKELY(p != NULL))
		track(p, n, LS_API_MALLOC);
	return p;
}

/*
 * The entry points start with sampled mode's fast path: an allocation
 * short of the next sample point, or the free of a block the filter says
 * was never recorded, goes straight to the allocator, without a frame of
 * leakspy's.  Everything else (full mode, start-up, a sample point, a
 * block that may be recorded) takes the path that checks it all.
 */
LS_EXPORT void *
malloc(size_t n)
{
	if (LS_LIKELY(lsp_sample_skip(n)))
		return lsp_real.malloc(n);
	return malloc_slow(n);
}

/* free() of a block that may be recorded, or before boot. */
static LS_NOINLINE void
free_slow(void *p)
{
	if (p == NULL)
		return;
	if (!active()) {
		if (!slow_ready() || lsp_is_boot_ptr(p))
			return;
		if (!active()) {
			lsp_real.free(p);
			return;
		}
	}
	if (LS_UNLIKELY(lsp_is_boot_ptr(p)))
		return;
	if (lsp_unrecorded_slot(p)) {
		lsp_real.free(p);
		return;
	}
	if (LS_LIKELY(!lsp_guard)) {
		int saved = errno;

		/* Forget the block before the real free: once freed, its
		 * address may be handed to another thread at once. */
		if (!lsp_record_free(p) && lsp_cfg.sample == 0)
			lsp_count(LS_CNT_UNKNOWN_FREES);
		errno = saved;
	}
	lsp_real.free(p);
}

LS_EXPORT void
free(void *p)
{
	if (LS_LIKELY(lsp_unrecorded(p))) {
		lsp_real.free(p);
		return;
	}
	free_slow(p);
}

static LS_NOINLINE void *
calloc_slow(size_t nmemb, size_t size)
{
	void *p;

	if (!active()) {
		if (!slow_ready()) {
			size_t n;

			if (__builtin_mul_overflow(nmemb, size, &n)) {
				errno = ENOMEM;
				return NULL;
			}
			return lsp_boot_alloc(n, 16);	/* pool is zeroed */
		}
		if (!active())
			return lsp_real.calloc(nmemb, size);
	}
	p = lsp_real.calloc(nmemb, size);
	if (LS_LIKELY(p != NULL))
		track(p, nmemb * size, LS_API_CALLOC);
	return p;
}

LS_EXPORT void *
calloc(size_t nmemb, size_t size)
{
	size_t n;

	if (LS_LIKELY(!__builtin_mul_overflow(nmemb, size, &n) &&
	    lsp_sample_skip(n)))
		return lsp_real.calloc(nmemb, size);
	return calloc_slow(nmemb, size);
}

static void *
realloc_boot_block(void *p, size_t n)
{
	size_t old = lsp_boot_size(p);
	void *q;

	if (n == 0)
		return NULL;	/* as glibc: realloc(p, 0) frees p */
	q = malloc(n);
	if (q != NULL)
		memcpy(q, p, old < n ? old : n);
	return q;
}

static LS_NOINLINE void *
realloc_slow(void *p, size_t n, unsigned api)
{
	uint32_t site = 0;
	size_t old = 0;
	unsigned ep = 0;
	bool had;
	void *q;
	int saved;

	if (!active()) {
		if (!slow_ready()) {
			void *q2 = lsp_boot_alloc(n, 16);

			if (q2 != NULL && p != NULL)
				memcpy(q2, p, lsp_boot_size(p) < n ?
				    lsp_boot_size(p) : n);
			return q2;
		}
		if (!active())
			return lsp_is_boot_ptr(p) ? realloc_boot_block(p, n) :
			    lsp_real.realloc(p, n);
	}
	if (p == NULL) {
		q = lsp_real.realloc(NULL, n);
		if (q != NULL)
			track(q, n, api);
		return q;
	}
	if (LS_UNLIKELY(lsp_is_boot_ptr(p)))
		return realloc_boot_block(p, n);
	if (LS_UNLIKELY(lsp_guard))
		return lsp_real.realloc(p, n);

	saved = errno;
	/* Take the old block out first: once realloc moves it, its address
	 * may be reused by another thread. */
	had = !lsp_unrecorded(p) && !lsp_unrecorded_slot(p) &&
	    lsp_record_take(p, &site, &old, &ep);
	errno = saved;
	q = lsp_real.realloc(p, n);
	if (q == NULL) {
		/* n == 0: glibc freed p.  Otherwise realloc failed and p
		 * is still the caller's. */
		if (n != 0 && had) {
			saved = errno;
			lsp_record_restore(p, site, old, ep);
			errno = saved;
		}
		return NULL;
	}
	if (!had && lsp_cfg.sample == 0)
		lsp_count(LS_CNT_UNKNOWN_FREES);
	track(q, n, api);
	return q;
}

static inline void *
do_realloc(void *p, size_t n, unsigned api)
{
	if (LS_LIKELY(lsp_unrecorded(p) && lsp_sample_skip(n)))
		return lsp_real.realloc(p, n);
	return realloc_slow(p, n, api);
}

LS_EXPORT void *
realloc(void *p, size_t n)
{
	return do_realloc(p, n, LS_API_REALLOC);
}

LS_EXPORT void *
reallocarray(void *p, size_t nmemb, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(nmemb, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(p, n, LS_API_REALLOCARRAY);
}

static LS_NOINLINE int
posix_memalign_slow(void **memptr, size_t align, size_t n)
{
	int r;

	if (!active()) {
		if (!slow_ready()) {
			void *p;

			if (align % sizeof(void *) != 0 ||
			    (align & (align - 1)) != 0)
				return EINVAL;
			p = lsp_boot_alloc(n, align);
			if (p == NULL)
				return ENOMEM;
			*memptr = p;
			return 0;
		}
		if (!active())
			return lsp_real.posix_memalign(memptr, align, n);
	}
	r = lsp_real.posix_memalign(memptr, align, n);
	if (r == 0)
		track(*memptr, n, LS_API_POSIX_MEMALIGN);
	return r;
}

LS_EXPORT int
posix_memalign(void **memptr, size_t align, size_t n)
{
	if (LS_LIKELY(lsp_sample_skip(n)))
		return lsp_real.posix_memalign(memptr, align, n);
	return posix_memalign_slow(memptr, align, n);
}

/* The other aligned entry points share one shape: arguments args, n the
 * size, boot_align the bootstrap pool's alignment. */
#define ALIGNED_ENTRY(name, api, params, args, boot_align)		\
static LS_NOINLINE void *						\
name##_slow params							\
{									\
	void *p;							\
									\
	if (!active()) {						\
		if (!slow_ready())					\
			return lsp_boot_alloc(n, boot_align);		\
		if (!active())						\
			return lsp_real.name args;			\
	}								\
	p = lsp_real.name args;						\
	if (LS_LIKELY(p != NULL))					\
		track(p, n, api);					\
	return p;							\
}									\
									\
LS_EXPORT void *							\
name params								\
{									\
	if (LS_LIKELY(lsp_sample_skip(n)))				\
		return lsp_real.name args;				\
	return name##_slow args;					\
}

ALIGNED_ENTRY(aligned_alloc, LS_API_ALIGNED_ALLOC,
    (size_t align, size_t n), (align, n), align)
ALIGNED_ENTRY(memalign, LS_API_MEMALIGN, (size_t align, size_t n),
    (align, n), align)
ALIGNED_ENTRY(valloc, LS_API_VALLOC, (size_t n), (n), 4096)
ALIGNED_ENTRY(pvalloc, LS_API_PVALLOC, (size_t n), (n), 4096)

LS_EXPORT size_t
malloc_usable_size(void *p)
{
	if (p == NULL)
		return 0;
	if (lsp_is_boot_ptr(p))
		return lsp_boot_size(p);
	if (!active() && !slow_ready())
		return 0;
	return lsp_real.malloc_usable_size(p);
}

LS_EXPORT int
dlclose(void *handle)
{
	int r, saved;

	if (!active() || lsp_guard) {
		if (!slow_ready())
			return -1;
		return lsp_real.dlclose(handle);
	}
	/* Note the module before it goes, so that its stacks can still be
	 * symbolized, then note that it went. */
	saved = errno;
	lsp_guard_enter();
	lsp_modules_scan();
	lsp_guard_leave();
	errno = saved;
	r = lsp_real.dlclose(handle);
	saved = errno;
	lsp_guard_enter();
	lsp_modules_scan();
	lsp_unwind_flush();
	lsp_guard_leave();
	errno = saved;
	return r;
}

/*
 * _exit skips destructors, so the final snapshot is taken here (exit()
 * reaches glibc's _exit directly and never comes through this).  A vfork
 * child shares its parent's memory and must not write: its pid differs
 * from lsp_pid, which only a real fork updates.
 */
static void __attribute__((noreturn))
do_exit(int status)
{
	if (!active() && !slow_ready())
		syscall(SYS_exit_group, status);	/* inside lsp_boot() */
	if (active() && !lsp_guard && !lsp_in_sandbox() && getpid() == lsp_pid)
		lsp_writer_final();
	lsp_real._exit(status);
}

LS_EXPORT void
_exit(int status)
{
	do_exit(status);
}

LS_EXPORT void
_Exit(int status)
{
	do_exit(status);
}

/*
 * abort() and a failed assert(): the last snapshot, then on.  The C
 * library's own aborts (heap corruption found by malloc, say) call its
 * internal abort and are not seen; fatal signals neither: their dumps end
 * with the last periodic snapshot.
 */
static void
before_abort(void)
{
	int saved = errno;

	if (active() && !lsp_guard && !lsp_in_sandbox() && getpid() == lsp_pid)
		lsp_writer_abort();
	errno = saved;
}

LS_EXPORT void
abort(void)
{
	static void (*real_abort)(void);

	before_abort();
	if (real_abort == NULL)
		real_abort = lsp_need_sym("abort");
	real_abort();
	__builtin_unreachable();
}

LS_EXPORT void
__assert_fail(const char *expr, const char *file, unsigned line,
    const char *fn)
{
	static void (*real_fail)(const char *, const char *, unsigned,
	    const char *);

	before_abort();
	if (real_fail == NULL)
		real_fail = lsp_need_sym("__assert_fail");
	real_fail(expr, file, line, fn);
	__builtin_unreachable();
}
