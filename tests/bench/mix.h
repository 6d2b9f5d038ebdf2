/* SPDX-License-Identifier: MIT */
/*
 * The allocation mix of the malloc-bound benchmarks (malloc-heavy.c,
 * varied.c): for a random word r, slot r % nring of a ring of blocks
 * gets one call.  One time in eight a block there is reallocated to
 * twice a new size; otherwise it is freed and replaced: by calloc one
 * time in eight, by aligned_alloc (64) one in eight, else by malloc of
 * the size plus extra.  Sizes are 16 bytes to 4 KiB, half of them under
 * 272 bytes.  The calls made are counted in *allocs and *frees.
 */
#ifndef LS_BENCH_MIX_H
#define LS_BENCH_MIX_H

#include <stdint.h>
#include <stdlib.h>

static inline void
mix_one(void **ring, unsigned nring, uint32_t r, size_t extra, long *allocs,
    long *frees)
{
	unsigned k = r % nring;
	size_t sz = 16 + (r >> 12) % (r & 1 ? 256 : 4096);
	void *p;

	if (ring[k] != NULL && (r & 7) == 0) {
		p = realloc(ring[k], sz * 2);
		if (p != NULL)
			ring[k] = p;
		(*allocs)++;
		return;
	}
	if (ring[k] != NULL)
		(*frees)++;
	free(ring[k]);
	switch ((r >> 3) % 8) {
	case 0:
		p = calloc(1, sz);
		break;
	case 1:
		p = aligned_alloc(64, (sz + 63) & ~(size_t)63);
		break;
	default:
		p = malloc(sz + extra);
	}
	ring[k] = p;
	(*allocs)++;
}

#endif /* LS_BENCH_MIX_H */
