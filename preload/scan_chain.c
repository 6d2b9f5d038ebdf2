/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's chains (scan.h): for a site, the path from one of its
 * reached blocks up to a root along the owners, which lie on shortest
 * paths from the roots, with a run of links between blocks of one site
 * collapsed into one step.  The block a chain starts from is, among the
 * site's reached blocks held by its biggest owner (directly, or through
 * a run of its own blocks), the deepest: a list of registrations shows as
 * a run of as many blocks as the list has, not as its head.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "scan.h"

static bool
reached(const struct lsp_scan *s, size_t i)
{
	unsigned c = lsp_scan_class(s, i);

	return c == LSP_REACH_REACHABLE || c == LSP_REACH_INTERIOR;
}

/*
 * Each reached block's distance from the roots, in the queue array (free
 * once marking is done): owners form a tree whose root-owned blocks are
 * at depth 1.  Each block is walked up to the first block whose depth is
 * known, then its path is filled in: every block is filled once.
 */
static void
depths(struct lsp_scan *s)
{
	uint32_t *d = s->q;
	size_t i, j, k;

	for (i = 0; i < s->n; i++)
		d[i] = 0;
	for (i = 0; i < s->n; i++) {
		uint32_t base, o;

		if (d[i] != 0 || !reached(s, i))
			continue;
		/* Count the k blocks from i up to the first whose owner is a
		 * root or has its depth. */
		for (j = i, k = 1; ; k++) {
			o = s->owner[j];
			if (LSP_SCAN_OWNER_IS_ROOT(o) || o == LSP_SCAN_NONE) {
				base = 0;
				break;
			}
			if (d[o] != 0) {
				base = d[o];
				break;
			}
			j = o;
		}
		for (j = i; k > 0; k--) {
			d[j] = base + (uint32_t)k;
			j = s->owner[j];
		}
	}
}

/*
 * Each reached block's first owner that is not its own site's blocks (a
 * run of them walked up), in the interior queue's room (free once
 * marking is done): a block at the end of a list is held, in the end, by
 * whoever holds the list's head.  Each block is filled once.
 */
#define FK_UNKNOWN	(LSP_SCAN_NONE - 1)
static void
first_keys(struct lsp_scan *s)
{
	uint32_t *fk = s->pq, k;
	size_t i, j;

	for (i = 0; i < s->n; i++)
		fk[i] = FK_UNKNOWN;
	for (i = 0; i < s->n; i++) {
		if (fk[i] != FK_UNKNOWN || !reached(s, i))
			continue;
		/* Up the run of i's site to the first other owner. */
		for (j = i; ; j = s->owner[j]) {
			if (s->owner[j] == LSP_SCAN_NONE) {
				k = LSP_SCAN_NONE;
				break;
			}
			k = lsp_scan_owner_key(s, j);
			if (k != s->site[i])
				break;
			if (fk[s->owner[j]] != FK_UNKNOWN) {
				k = fk[s->owner[j]];
				break;
			}
		}
		for (j = i; fk[j] == FK_UNKNOWN; j = s->owner[j]) {
			fk[j] = k;
			if (s->owner[j] == LSP_SCAN_NONE ||
			    lsp_scan_owner_key(s, j) != s->site[i])
				break;
		}
	}
}

/* The biggest owner of site's reached blocks other than its own, or
 * LSP_SCAN_NONE. */
static uint32_t
biggest_owner(const struct lsp_scan *s, uint32_t site)
{
	const struct lsp_scan_owner *o;
	uint32_t best = LSP_SCAN_NONE;
	uint64_t bytes = 0;
	size_t n, k;

	o = lsp_scan_retained(s, site, &n);
	for (k = 0; k < n; k++)
		if (o[k].owner != site && (best == LSP_SCAN_NONE ||
		    o[k].bytes > bytes)) {
			best = o[k].owner;
			bytes = o[k].bytes;
		}
	return best;
}

int
lsp_scan_chains(struct lsp_scan *s)
{
	uint32_t site, *best;
	size_t i, len = (size_t)s->nsites * sizeof(uint32_t);

	if (s->nsites == 0)
		return 0;
	s->start = lsp_scan_map(s, len);
	best = lsp_scan_map(s, len);
	if (s->start == NULL || best == NULL) {
		lsp_scan_unmap(s, best, len);
		lsp_scan_unmap(s, s->start, len);
		s->start = NULL;
		return -ENOMEM;
	}
	depths(s);
	first_keys(s);
	for (site = 0; site < s->nsites; site++) {
		s->start[site] = LSP_SCAN_NONE;
		best[site] = lsp_scan_site(s, site) != NULL ?
		    biggest_owner(s, site) : LSP_SCAN_NONE;
	}
	for (i = 0; i < s->n; i++) {
		uint32_t k, cur;

		if (!reached(s, i))
			continue;
		site = s->site[i];
		/* Held in the end by the biggest owner, maybe through a run
		 * of its own site's blocks. */
		k = s->pq[i];
		if (k != best[site])
			continue;
		cur = s->start[site];
		if (cur == LSP_SCAN_NONE || s->q[i] > s->q[cur])
			s->start[site] = (uint32_t)i;
	}
	lsp_scan_unmap(s, best, len);
	return 0;
}

size_t
lsp_scan_chain(const struct lsp_scan *s, uint32_t site,
    struct lsp_scan_step *steps, size_t max, uint64_t *budget)
{
	size_t n = 0, j;

	if (s->start == NULL || site >= s->nsites ||
	    s->start[site] == LSP_SCAN_NONE || max == 0)
		return 0;
	for (j = s->start[site]; *budget > 0; (*budget)--) {
		uint32_t o = s->owner[j], k;

		if (o == LSP_SCAN_NONE)
			return 0;	/* not reached after all */
		k = lsp_scan_owner_key(s, j);
		if (n > 0 && !LSP_SCAN_OWNER_IS_ROOT(k) &&
		    steps[n - 1].owner == k) {
			steps[n - 1].nblocks++;
		} else {
			if (n == max)
				return 0;	/* too long to keep */
			steps[n++] = (struct lsp_scan_step){ .owner = k,
			    .nblocks = 1, .via = s->via[j] };
		}
		if (LSP_SCAN_OWNER_IS_ROOT(o))
			return n;
		j = o;
	}
	return 0;
}
