/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the heap scan's unit tests (test_scan.c, test_scan_fake.c):
 * blocks and roots built, a block's class and owner looked up, a site's
 * totals and retained-by checked.
 */
#ifndef LS_SCAN_UT_H
#define LS_SCAN_UT_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "lst.h"
#include "scan.h"

static inline void *
block(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (p == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(99);
	}
	return p;
}

static inline void
add(struct lsp_scan *s, const void *p, size_t n, uint32_t site)
{
	LST_EQ_U64(lsp_scan_add(s, (uintptr_t)p, n, site), 0);
}

static inline struct lsp_scan_root
root(const void *p, size_t len, unsigned kind, uint32_t tag)
{
	struct lsp_scan_root r = { (uintptr_t)p, (uintptr_t)p + len, kind,
	    tag };

	return r;
}

static inline size_t
idx(const struct lsp_scan *s, const void *p)
{
	size_t i = lsp_scan_find(s, (uintptr_t)p);

	LST_TRUE(i != SIZE_MAX);
	return i;
}

static inline unsigned
cls(const struct lsp_scan *s, const void *p)
{
	size_t i = idx(s, p);

	return i != SIZE_MAX ? lsp_scan_class(s, i) : 99;
}

/* The owner of block p: another block's address, or a root's index with
 * LSP_SCAN_ROOT_BIT, or LSP_SCAN_NONE. */
static inline uintptr_t
owner(const struct lsp_scan *s, const void *p)
{
	size_t i = idx(s, p);
	uint32_t o;

	if (i == SIZE_MAX)
		return 0;
	o = lsp_scan_owner_of(s, i);
	if (o == LSP_SCAN_NONE || LSP_SCAN_OWNER_IS_ROOT(o))
		return o;
	return s->addr[o];
}

#define ROOT(r)		((uintptr_t)(LSP_SCAN_ROOT_BIT | (r)))

static inline void
check_site(const struct lsp_scan *s, uint32_t site, const uint64_t bytes[4],
    const uint64_t blocks[4])
{
	const struct lsp_scan_totals *t = lsp_scan_site(s, site);
	unsigned c;

	LST_TRUE(t != NULL);
	for (c = 0; t != NULL && c < LSP_REACH_NCLASS; c++) {
		if (t[c].bytes != bytes[c] || t[c].blocks != blocks[c])
			LST_FAIL("site %u class %u: %" PRIu64 " bytes in %"
			    PRIu64 " blocks, expected %" PRIu64 " in %" PRIu64,
			    site, c, t[c].bytes, t[c].blocks, bytes[c],
			    blocks[c]);
	}
}

/* Site site is retained by exactly one owner. */
static inline void
check_retained1(const struct lsp_scan *s, uint32_t site, uint32_t owner_key,
    uint64_t bytes, uint64_t blocks)
{
	size_t n;
	const struct lsp_scan_owner *e = lsp_scan_retained(s, site, &n);

	LST_EQ_U64(n, 1);
	if (e == NULL || n != 1)
		return;
	LST_EQ_U64(e->site, site);
	LST_EQ_U64(e->owner, owner_key);
	LST_EQ_U64(e->bytes, bytes);
	LST_EQ_U64(e->blocks, blocks);
}

static inline void
check_not_retained(const struct lsp_scan *s, uint32_t site)
{
	size_t n;

	LST_TRUE(lsp_scan_retained(s, site, &n) == NULL);
	LST_EQ_U64(n, 0);
}

#endif /* LS_SCAN_UT_H */
