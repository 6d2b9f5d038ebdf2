/* SPDX-License-Identifier: MIT */
/*
 * Sampled mode's hot-path helpers for the live-block table (blocks.c):
 * the filter's per-slot counts and what a recorded block stands for.  The
 * interface the rest of the shim uses (lsp_sample_*, lsp_filter_*) is in
 * lsp.h.
 */
#ifndef LS_SAMPLE_H
#define LS_SAMPLE_H

#include <math.h>
#include <stdint.h>

#include "hash.h"
#include "lsp.h"

/*
 * How many recorded blocks fall in each slot of lsp_filter (sample.c).
 * Each count and its bitmap word belong to one shard of the live-block
 * table and change only under its lock; a count at UINT16_MAX is pinned
 * (a bootstrap block's, lsp_filter_pin) and stays there.
 */
extern uint16_t lsp_filter_count[1u << LSP_FILTER_BITS]
    __attribute__((visibility("hidden")));

/* Count d (+1 or -1) recorded blocks more at p's slot, setting its bit
 * when the count falls to zero and clearing it when it leaves zero.  The
 * lock of p's shard held; does nothing in full mode.  Hot path. */
static inline void
lsp_filter_add(uintptr_t p, int d)
{
	unsigned i = lsp_filter_slot((const void *)p);
	uint64_t *w = &lsp_filter[i / 64], bit = 1ull << (i % 64);

	if (lsp_cfg.sample == 0 || lsp_filter_count[i] == UINT16_MAX)
		return;
	lsp_filter_count[i] = (uint16_t)(lsp_filter_count[i] + d);
	if (lsp_filter_count[i] == 0) {
		__atomic_store_n(w, *w | bit, __ATOMIC_RELAXED);
		/* The summary's bit once the slot's whole byte is set. */
		if ((uint8_t)(*w >> (i % 64 / 8 * 8)) == 0xff)
			__atomic_or_fetch(&lsp_filter_sum[i / 512],
			    1ull << (i / 8 % 64), __ATOMIC_RELAXED);
	} else if (d > 0 && lsp_filter_count[i] == 1) {
		/* Summary first: a free reads it before the bitmap. */
		__atomic_and_fetch(&lsp_filter_sum[i / 512],
		    ~(1ull << (i / 8 % 64)), __ATOMIC_RELAXED);
		__atomic_store_n(w, *w & ~bit, __ATOMIC_RELAXED);
	}
}

/*
 * What one recorded block of n bytes at p stands for.  In full mode, just
 * itself.  Sampled, a block of n bytes was recorded with probability
 * 1 - exp(-n/R), so it counts as 1 / that many blocks (the estimate of
 * tcmalloc and jemalloc); the fraction is rounded up or down by a hash of
 * p, so that its free takes back exactly what its allocation added.
 * Hot path.
 */
static inline void
lsp_weigh(uintptr_t p, size_t n, uint64_t *bytes, uint64_t *blocks)
{
	double w, whole;

	if (LS_LIKELY(lsp_cfg.sample == 0)) {
		*bytes = n;
		*blocks = 1;
		return;
	}
	w = -1.0 / expm1(-(double)(n ? n : 1) / (double)lsp_cfg.sample);
	whole = floor(w);
	*blocks = (uint64_t)whole + ((w - whole) * 4294967296.0 >
	    (double)(ls_hash_ptr(p) >> 32));
	*bytes = (uint64_t)((double)n * w + 0.5);
}

#endif /* LS_SAMPLE_H */
