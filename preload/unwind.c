/* SPDX-License-Identifier: MIT */
/*
 * Stack capture for the interposers (host threads, hot path): libunwind's
 * unw_backtrace with per-thread caches.  Only return addresses are kept;
 * symbolization happens offline in leakspy-report.
 */
#define _GNU_SOURCE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <pthread.h>
#include <string.h>

#include "lsp.h"

#define LSP_STACK_RESERVE (16u << 10)

void
lsp_unwind_init(void)
{
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

const void *
lsp_unwind_addr(void)
{
	return (const void *)unw_backtrace;
}

void
lsp_unwind_flush(void)
{
	unw_flush_cache(unw_local_addr_space, 0, 0);
}

/* This thread's stack, found on its first allocation (0: not yet; lo ==
 * hi: unknown).  Only the owning thread touches them. */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));

static LS_NOINLINE LS_COLD void
find_stack(void)
{
	pthread_attr_t attr;
	void *addr;
	size_t size;

	/* pthread_getattr_np allocates (stdio on /proc/self/maps).  The
	 * caller holds the guard as the recording path; these are leakspy's
	 * own allocations, not re-entrant ones, so say so while they run. */
	lsp_guard -= LSP_GUARD_RECORD - 1;
	stack_lo = stack_hi = 1;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
			stack_lo = (uintptr_t)addr;
			stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
	}
	lsp_guard += LSP_GUARD_RECORD - 1;
}

/*
 * Unwinding needs several KiB of stack.  On a thread stack with less than
 * LSP_STACK_RESERVE left, skip it rather than overflow the host's stack.
 * A stack pointer outside the thread stack (a coroutine's stack, an
 * alternate signal stack) is let through: its size is not known.
 */
static inline bool
stack_too_low(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);

	if (LS_UNLIKELY(stack_lo == 0))
		find_stack();
	return sp >= stack_lo && sp < stack_hi &&
	    sp - stack_lo < LSP_STACK_RESERVE;
}

unsigned
lsp_unwind(uintptr_t *f, bool *truncated)
{
	unsigned want = lsp_cfg.depth;
	unsigned cap = want + 8 < LS_MAX_FRAMES ? want + 8 : LS_MAX_FRAMES;
	unsigned skip = 0, out;
	int n;

	if (LS_UNLIKELY(stack_too_low())) {
		*truncated = true;
		return 0;
	}
	n = unw_backtrace((void **)f, (int)cap);
	if (n <= 0) {
		*truncated = false;
		return 0;
	}
	/* Drop libunwind's and leakspy's own frames, in place. */
	while (skip < (unsigned)n && lsp_is_own_ip(f[skip]))
		skip++;
	out = (unsigned)n - skip;
	*truncated = out > want || (unsigned)n == cap;
	if (out > want)
		out = want;
	if (skip > 0)
		memmove(f, f + skip, out * sizeof(*f));
	return out;
}
