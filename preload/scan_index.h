/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's lookup of a word: which block holds it.  A binary
 * search over every block's address costs some twenty dependent loads,
 * the last ten or so cache misses once millions of blocks are live, and
 * the scan makes one for every word that falls in the heap's range.  The
 * index cuts that to one table probe and a search among the blocks that
 * begin in the word's 4 KiB granule:
 *
 * - a granule table, open addressing, with an entry for every granule
 *   that some block of at most LSP_SCAN_BIG_SPAN granules overlaps: the
 *   granule, the number of blocks that begin before it, and how many
 *   begin in it;
 * - the blocks that span more granules, in address order, searched
 *   when a granule has no entry.
 *
 * A lookup gives exactly what the binary search over all blocks gives
 * (the last block beginning at or below the word, if the word is in it;
 * scan.c's find), overlapping (stale) blocks included: where the index
 * cannot tell, it falls back to that search.  Without the index (its
 * memory could not be mapped) every lookup is that search.
 */
#ifndef LS_SCAN_INDEX_H
#define LS_SCAN_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "scan.h"

#define LSP_SCAN_GRAN_SHIFT	12
#define LSP_SCAN_BIG_SPAN	16	/* granules: more goes to the big list */

struct lsp_scan_gran {
	uint64_t key;		/* granule + 1; 0: empty */
	uint32_t first;		/* blocks that begin before the granule */
	uint32_t count;		/* blocks that begin in it */
};

/* Build s's index of its sorted blocks (after sort_blocks); without
 * memory for it, s has none.  Async-signal-safe. */
void lsp_scan_index(struct lsp_scan *s);

/* Unmap the index.  Async-signal-safe. */
void lsp_scan_index_free(struct lsp_scan *s);

/* The last block beginning at or below p, if p is in it, given that
 * every block below lo begins at or below p and none from hi on does. */
static inline size_t
lsp_scan_search(const struct lsp_scan *s, uintptr_t p, size_t lo, size_t hi)
{
	size_t i;
	uint64_t len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->addr[mid] <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SIZE_MAX;
	i = lo - 1;
	len = s->size[i] ? s->size[i] : 1;
	return p - s->addr[i] < len ? i : SIZE_MAX;
}

/* p's block among the big ones, if that is the one the search over all
 * blocks finds. */
size_t lsp_scan_find_big(const struct lsp_scan *s, uintptr_t p);

static inline size_t
lsp_scan_gran_slot(uint64_t g, unsigned bits)
{
	/* Mixed: neighbouring granules side by side would make one run of
	 * taken slots as long as the heap, which every absent granule
	 * hashed into it walks. */
	return (size_t)((g * UINT64_C(0x9e3779b97f4a7c15)) >> (64 - bits));
}

/* The index of the block holding p, p within [s->lo, s->hi). */
static inline size_t
lsp_scan_lookup(const struct lsp_scan *s, uintptr_t p)
{
	uint64_t g = p >> LSP_SCAN_GRAN_SHIFT;
	size_t h, mask;
	const struct lsp_scan_gran *e;

	if (s->gran == NULL)
		return lsp_scan_search(s, p, 0, s->n);
	mask = ((size_t)1 << s->gran_bits) - 1;
	for (h = lsp_scan_gran_slot(g, s->gran_bits);; h = (h + 1) & mask) {
		e = &s->gran[h];
		if (e->key == g + 1)
			return lsp_scan_search(s, p, e->first,
			    (size_t)e->first + e->count);
		if (e->key == 0)
			return lsp_scan_find_big(s, p);
	}
}

#endif
