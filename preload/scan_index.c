/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's lookup index (scan_index.h): built once the blocks are
 * sorted, in two passes over them, with its own mappings.  Runs where the
 * scan runs: no allocator, no locks.
 */
#include <stdbool.h>

#include "scan_index.h"

#define MIN_BITS	10

/* Block i's granules, first to last (a zero-size block has one byte). */
static inline void
granules(const struct lsp_scan *s, size_t i, uint64_t *g0, uint64_t *g1)
{
	uint64_t len = s->size[i] ? s->size[i] : 1;

	*g0 = s->addr[i] >> LSP_SCAN_GRAN_SHIFT;
	*g1 = (s->addr[i] + len - 1) >> LSP_SCAN_GRAN_SHIFT;
}

static inline bool
is_big(uint64_t g0, uint64_t g1)
{
	return g1 - g0 >= LSP_SCAN_BIG_SPAN;
}

/* The first of granules g0 to g1 that no block before took, next being
 * one past the last they took (the blocks are sorted by address, so what
 * they took below next has no hole from g0 on); next moves past g1. */
static inline uint64_t
first_new(uint64_t g0, uint64_t g1, uint64_t *next)
{
	uint64_t g = g0 > *next ? g0 : *next;

	if (g1 + 1 > *next)
		*next = g1 + 1;
	return g;
}

static size_t
table_bytes(unsigned bits)
{
	return sizeof(struct lsp_scan_gran) << bits;
}

static void
put(struct lsp_scan *s, uint64_t g, uint32_t first, uint32_t count)
{
	size_t mask = ((size_t)1 << s->gran_bits) - 1,
	    h = lsp_scan_gran_slot(g, s->gran_bits);

	while (s->gran[h].key != 0)
		h = (h + 1) & mask;
	s->gran[h].key = g + 1;
	s->gran[h].first = first;
	s->gran[h].count = count;
}

/*
 * Each granule's entry, in increasing order of granules: the number of
 * blocks beginning before it and in it, found by two cursors that only
 * move forward.
 */
static void
fill(struct lsp_scan *s)
{
	size_t i, before = 0, upto = 0, nbig = 0;
	uint64_t next = 0, g0, g1, g;

	for (i = 0; i < s->n; i++) {
		granules(s, i, &g0, &g1);
		if (is_big(g0, g1)) {
			s->big[nbig++] = (uint32_t)i;
			continue;
		}
		for (g = first_new(g0, g1, &next); g <= g1; g++) {
			while (before < s->n &&
			    s->addr[before] >> LSP_SCAN_GRAN_SHIFT < g)
				before++;
			if (upto < before)
				upto = before;
			while (upto < s->n &&
			    s->addr[upto] >> LSP_SCAN_GRAN_SHIFT <= g)
				upto++;
			put(s, g, (uint32_t)before, (uint32_t)(upto - before));
		}
	}
}

void
lsp_scan_index(struct lsp_scan *s)
{
	size_t i, ngran = 0, nbig = 0;
	uint64_t next = 0, g0, g1, g;
	unsigned bits = MIN_BITS;

	/* Count the granules small blocks overlap (each once) and the big
	 * blocks, as fill will take them. */
	for (i = 0; i < s->n; i++) {
		granules(s, i, &g0, &g1);
		if (is_big(g0, g1)) {
			nbig++;
			continue;
		}
		g = first_new(g0, g1, &next);
		if (g <= g1)
			ngran += g1 - g + 1;
	}
	while (((size_t)1 << bits) < 2 * ngran)
		bits++;
	s->gran_bits = bits;
	s->gran = lsp_scan_map(s, table_bytes(bits));
	s->big = nbig > 0 ? lsp_scan_map(s, nbig * sizeof(*s->big)) : NULL;
	s->nbig = nbig;
	if (s->gran == NULL || (nbig > 0 && s->big == NULL)) {
		lsp_scan_index_free(s);
		return;
	}
	fill(s);
}

void
lsp_scan_index_free(struct lsp_scan *s)
{
	if (s->gran != NULL)
		lsp_scan_unmap(s, s->gran, table_bytes(s->gran_bits));
	if (s->big != NULL)
		lsp_scan_unmap(s, s->big, s->nbig * sizeof(*s->big));
	s->gran = NULL;
	s->big = NULL;
	s->nbig = 0;
}

size_t
lsp_scan_find_big(const struct lsp_scan *s, uintptr_t p)
{
	size_t lo = 0, hi = s->nbig, i;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->addr[s->big[mid]] <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SIZE_MAX;
	i = s->big[lo - 1];
	if (p - s->addr[i] >= s->size[i])
		return SIZE_MAX;
	/* A block beginning between it and p (stale, inside it) is the one
	 * the search over all blocks finds. */
	if (i + 1 < s->n && s->addr[i + 1] <= p)
		return lsp_scan_search(s, p, 0, s->n);
	return i;
}
