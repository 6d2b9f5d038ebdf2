/* SPDX-License-Identifier: MIT */
/*
 * Stack capture for the interposers (host threads, hot path): libunwind's
 * unw_backtrace with per-thread caches.  Only return addresses are kept;
 * symbolization happens offline in leakspy-report.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

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
	void *raw[LS_MAX_FRAMES];
	unsigned want = lsp_cfg.depth;
	int n = unw_backtrace(raw, (int)(want + 8 < LS_MAX_FRAMES ?
	    want + 8 : LS_MAX_FRAMES));
	unsigned i = 0, out = 0;

	/* Skip libunwind's and leakspy's own frames. */
	while (i < (unsigned)(n > 0 ? n : 0) &&
	    lsp_is_own_ip((uintptr_t)raw[i]))
		i++;
	for (; i < (unsigned)n && out < want; i++)
		f[out++] = (uintptr_t)raw[i];
	*truncated = i < (unsigned)n || (unsigned)n == want + 8;
	return out;
}
