/* SPDX-License-Identifier: MIT */
/*
 * Stack capture for the interposers (host threads, hot path): libunwind's
 * unw_backtrace with per-thread caches.  Only return addresses are kept;
 * symbolization happens offline in leakspy-report.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#include <string.h>

#include "lsp.h"

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

unsigned
lsp_unwind(uintptr_t *f, bool *truncated)
{
	unsigned want = lsp_cfg.depth;
	unsigned cap = want + 8 < LS_MAX_FRAMES ? want + 8 : LS_MAX_FRAMES;
	int n = unw_backtrace((void **)f, (int)cap);
	unsigned skip = 0, out;

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
