/* SPDX-License-Identifier: MIT */
/*
 * Sampled mode: each thread's next sample point, drawn from an
 * exponential distribution (interposers, host threads), and the filter
 * that lets the free of a block never recorded skip the live-block table,
 * opened at start-up (lsp_boot).  What a sampled block stands for is
 * lsp_weigh() in sample.h.
 */
#include <math.h>
#include <string.h>

#include "lsp.h"
#include "sample.h"

/*
 * Filter over recorded blocks, for sampled mode: a free whose bit in
 * lsp_filter is set was never recorded and skips the address table.
 * Each slot counts the recorded blocks that fall in it, and its bit is
 * set while the count is zero.  The shard of a block is picked by its
 * slot's bitmap word (blocks.c, shard_of), so each count and each bitmap
 * word belongs to one shard and changes only under its lock, together
 * with the table: a block's bit is cleared before the lock that inserts
 * it is released, so whichever thread frees the block sees it clear.
 * The bitmap (4 KiB) stays in cache where counts would not.  A count
 * that reaches its maximum stays there (its bit stays clear), which is
 * how bootstrap blocks keep theirs.
 */
uint64_t lsp_filter[(1u << LSP_FILTER_BITS) / 64];
_Alignas(64) uint64_t lsp_filter_sum[(1u << LSP_FILTER_BITS) / 512];
uint16_t lsp_filter_count[1u << LSP_FILTER_BITS];
static unsigned filter_pinned;	/* slots of bootstrap blocks */

void
lsp_filter_pin(const void *p)
{
	unsigned i = lsp_filter_slot(p);

	lsp_filter_count[i] = UINT16_MAX;
	__atomic_add_fetch(&filter_pinned, 1, __ATOMIC_RELAXED);
	__atomic_and_fetch(&lsp_filter[i / 64], ~(1ull << (i % 64)),
	    __ATOMIC_RELAXED);
	__atomic_and_fetch(&lsp_filter_sum[i / 512], ~(1ull << (i / 8 % 64)),
	    __ATOMIC_RELAXED);
}

/* Bits are only cleared after the memsets, so that a bootstrap block
 * pinned meanwhile (by a signal handler) keeps its bits clear. */
void
lsp_filter_open(void)
{
	const unsigned char *byte = (const unsigned char *)lsp_filter;
	unsigned w, b;

	memset(lsp_filter, 0xff, sizeof(lsp_filter));
	memset(lsp_filter_sum, 0xff, sizeof(lsp_filter_sum));
	if (__atomic_load_n(&filter_pinned, __ATOMIC_RELAXED) == 0)
		return;
	for (w = 0; w < sizeof(lsp_filter) / sizeof(lsp_filter[0]); w++) {
		const uint16_t *count = &lsp_filter_count[w * 64];
		uint64_t bits = 0;

		for (b = 0; b < 64; b++)
			bits |= (uint64_t)(count[b] == 0) << b;
		__atomic_and_fetch(&lsp_filter[w], bits, __ATOMIC_RELAXED);
	}
	for (b = 0; b < sizeof(lsp_filter); b++)
		if (__atomic_load_n(&byte[b], __ATOMIC_RELAXED) != 0xff)
			__atomic_and_fetch(&lsp_filter_sum[b / 64],
			    ~(1ull << (b % 64)), __ATOMIC_RELAXED);
}

/* Per thread: bytes left to the next sample, and a generator state (0:
 * not started).  Only the owning thread touches them. */
__thread uint64_t lsp_sample_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t sample_rng __attribute__((tls_model("initial-exec")));
static uint64_t sample_threads;		/* atomic: seeds */

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Bytes to the next sample: exponential with mean lsp_cfg.sample, at
 * least 1. */
static uint64_t
sample_draw(void)
{
	double u;

	sample_rng ^= sample_rng << 13;
	sample_rng ^= sample_rng >> 7;
	sample_rng ^= sample_rng << 17;
	u = ((double)(sample_rng >> 11) + 0.5) / 9007199254740992.0;
	return (uint64_t)(-log(u) * (double)lsp_cfg.sample) + 1;
}

bool
lsp_sample_draw_next(void)
{
	if (LS_UNLIKELY(sample_rng == 0)) {
		/* A new thread: seeded in thread order, so that a run repeats
		 * its samples; its first point is drawn, not taken. */
		sample_rng = splitmix(__atomic_fetch_add(&sample_threads, 1,
		    __ATOMIC_RELAXED)) | 1;
		lsp_sample_left = sample_draw();
		return false;
	}
	lsp_sample_left = sample_draw();
	return true;
}
