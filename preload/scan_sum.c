/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's results: each site's bytes and blocks per class, and
 * who retains its reached blocks, totalled from the marked blocks by
 * scan.c's lsp_scan_run in an open-addressing table of its own mapping,
 * then sorted.  Runs where the scan runs (a clone's child, or at exit
 * with the other threads stopped): no allocator, no locks.
 */
#include <errno.h>
#include <stdbool.h>

#include "hash.h"
#include "scan.h"

#define RET_MIN		1024u	/* retained-by slots at first */

static int
total_sites(struct lsp_scan *s)
{
	uint32_t max = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->site[i] > max)
			max = s->site[i];
	s->nsites = s->n > 0 ? max + 1 : 0;
	if (s->nsites == 0)
		return 0;
	s->per_site = lsp_scan_map(s, (size_t)s->nsites * LSP_REACH_NCLASS *
	    sizeof(*s->per_site));
	if (s->per_site == NULL) {
		s->nsites = 0;
		return -ENOMEM;
	}
	for (i = 0; i < s->n; i++) {
		struct lsp_scan_totals *t = &s->per_site[(size_t)s->site[i] *
		    LSP_REACH_NCLASS + lsp_scan_class(s, i)];

		t->bytes += s->size[i];
		t->blocks++;
	}
	return 0;
}

const struct lsp_scan_totals *
lsp_scan_site(const struct lsp_scan *s, uint32_t site)
{
	const struct lsp_scan_totals *t;
	unsigned c;

	if (site >= s->nsites)
		return NULL;
	t = &s->per_site[(size_t)site * LSP_REACH_NCLASS];
	for (c = 0; c < LSP_REACH_NCLASS; c++)
		if (t[c].blocks != 0)
			return t;
	return NULL;
}


static inline uint64_t
ret_key(const struct lsp_scan_owner *e)
{
	return (uint64_t)e->site << 32 | e->owner;
}

/* An empty table of cap slots (a power of two); empty slots have site
 * UINT32_MAX, which no site has. */
static struct lsp_scan_owner *
ret_table(struct lsp_scan *s, size_t cap)
{
	struct lsp_scan_owner *t = lsp_scan_map(s, cap * sizeof(*t));
	size_t i;

	for (i = 0; t != NULL && i < cap; i++)
		t[i].site = UINT32_MAX;
	return t;
}

static struct lsp_scan_owner *
ret_slot(struct lsp_scan_owner *t, size_t cap, uint64_t key)
{
	size_t j = ls_hash_ptr((uintptr_t)key) & (cap - 1);

	while (t[j].site != UINT32_MAX && ret_key(&t[j]) != key)
		j = (j + 1) & (cap - 1);
	return &t[j];
}

static int
ret_grow(struct lsp_scan *s)
{
	size_t cap = s->ret_cap * 2, i;
	struct lsp_scan_owner *t = ret_table(s, cap);

	if (t == NULL)
		return -ENOMEM;
	for (i = 0; i < s->ret_cap; i++)
		if (s->ret[i].site != UINT32_MAX)
			*ret_slot(t, cap, ret_key(&s->ret[i])) = s->ret[i];
	lsp_scan_unmap(s, s->ret, s->ret_cap * sizeof(*s->ret));
	s->ret = t;
	s->ret_cap = cap;
	return 0;
}

static void
sift_ret(struct lsp_scan_owner *t, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct lsp_scan_owner x;

		if (c >= n)
			return;
		if (c + 1 < n && ret_key(&t[c + 1]) > ret_key(&t[c]))
			c++;
		if (ret_key(&t[i]) >= ret_key(&t[c]))
			return;
		x = t[i];
		t[i] = t[c];
		t[c] = x;
		i = c;
	}
}

/* The table's entries to its front, sorted by (site, owner). */
static void
ret_finish(struct lsp_scan *s)
{
	struct lsp_scan_owner *t = s->ret, x;
	size_t i, n = 0;

	for (i = 0; i < s->ret_cap; i++)
		if (t[i].site != UINT32_MAX)
			t[n++] = t[i];
	for (i = n / 2; i-- > 0;)
		sift_ret(t, i, n);
	for (i = n; i-- > 1;) {
		x = t[0];
		t[0] = t[i];
		t[i] = x;
		sift_ret(t, 0, i);
	}
	s->nret = n;
}

/* Who holds the reached blocks, by (site, owner key). */
static int
total_retained(struct lsp_scan *s)
{
	size_t i;

	s->ret = ret_table(s, RET_MIN);
	if (s->ret == NULL)
		return -ENOMEM;
	s->ret_cap = RET_MIN;
	for (i = 0; i < s->n; i++) {
		unsigned c = lsp_scan_class(s, i);
		uint64_t key;
		struct lsp_scan_owner *e;

		if (c != LSP_REACH_REACHABLE && c != LSP_REACH_INTERIOR)
			continue;
		key = (uint64_t)s->site[i] << 32 | lsp_scan_owner_key(s, i);
		e = ret_slot(s->ret, s->ret_cap, key);
		if (e->site == UINT32_MAX) {
			if ((s->nret + 1) * 4 > s->ret_cap * 3) {
				if (ret_grow(s) != 0)
					return -ENOMEM;
				e = ret_slot(s->ret, s->ret_cap, key);
			}
			*e = (struct lsp_scan_owner){ .site = s->site[i],
			    .owner = (uint32_t)key, .via = s->via[i] };
			s->nret++;
		}
		e->bytes += s->size[i];
		e->blocks++;
	}
	ret_finish(s);
	return 0;
}

const struct lsp_scan_owner *
lsp_scan_retained(const struct lsp_scan *s, uint32_t site, size_t *n)
{
	size_t lo = 0, hi = s->nret, j;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->ret[mid].site < site)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (j = lo; j < s->nret && s->ret[j].site == site; j++)
		;
	*n = j - lo;
	return *n > 0 ? &s->ret[lo] : NULL;
}

int
lsp_scan_total(struct lsp_scan *s)
{
	int r = total_sites(s);

	return r == 0 ? total_retained(s) : r;
}
