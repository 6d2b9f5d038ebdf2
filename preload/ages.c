/* SPDX-License-Identifier: MIT */
/*
 * The age map: live blocks and bytes by (site, epoch), from a scan of the
 * address table, and the AGES records of what changed since the last
 * written snapshot.  Runs under the writer's lock (writer thread, exit
 * path); memory from mappings of its own.
 */
#include <string.h>

#include "arena.h"
#include "hash.h"
#include "lsp.h"

/* Stack groups in one AGES record. */
#define GROUPS_PER_REC	2048

/* An entry: key is (site << 16 | epoch) + 1; 0 marks an empty slot. */
struct age_entry {
	uint64_t key;
	uint64_t blocks;
	uint64_t bytes;
};

static uint64_t
age_key(uint32_t site, unsigned ep)
{
	return ((uint64_t)site << 16 | ep) + 1;
}

static struct age_entry *
am_slot(const struct lsp_agemap *m, uint64_t key)
{
	size_t i = (size_t)ls_hash_ptr((uintptr_t)(key << 4)) & m->mask;

	while (m->tab[i].key != 0 && m->tab[i].key != key)
		i = (i + 1) & m->mask;
	return &m->tab[i];
}

static const struct age_entry *
am_find(const struct lsp_agemap *m, uint64_t key)
{
	const struct age_entry *a;

	if (m->tab == NULL)
		return NULL;
	a = am_slot(m, key);
	return a->key == key ? a : NULL;
}

void
lsp_ages_free(struct lsp_agemap *m)
{
	if (m->tab != NULL)
		ls_unmap(m->tab, (m->mask + 1) * sizeof(*m->tab));
	memset(m, 0, sizeof(*m));
}

static bool
am_grow(struct lsp_agemap *m)
{
	struct lsp_agemap n = { 0 };
	size_t i;

	n.mask = m->tab ? m->mask * 2 + 1 : 1023;
	n.tab = ls_map((n.mask + 1) * sizeof(*n.tab));
	if (n.tab == NULL)
		return false;
	for (i = 0; m->tab != NULL && i <= m->mask; i++)
		if (m->tab[i].key != 0)
			*am_slot(&n, m->tab[i].key) = m->tab[i];
	n.count = m->count;
	n.covered = m->covered;
	lsp_ages_free(m);
	*m = n;
	return true;
}

/* Make room for n pairs before a scan, so that the map need not grow
 * (a rehash) while the scan holds a shard's lock. */
void
lsp_ages_reserve(struct lsp_agemap *m, size_t n)
{
	while (!m->failed && (n * 2 > m->mask + 1 || m->tab == NULL))
		if (!am_grow(m))
			m->failed = true;
}

/* lsp_record_scan's callback: count one block. */
void
lsp_ages_count(void *ctx, uint32_t site, unsigned ep, uint64_t bytes,
    uint64_t blocks)
{
	struct lsp_agemap *m = ctx;
	struct age_entry *a;

	if (site >= m->covered || m->failed)
		return;
	if ((m->count + 1) * 2 > m->mask + 1 || m->tab == NULL) {
		if (!am_grow(m)) {
			m->failed = true;
			return;
		}
	}
	a = am_slot(m, age_key(site, ep));
	if (a->key == 0) {
		a->key = age_key(site, ep);
		m->count++;
	}
	a->blocks += blocks;
	a->bytes += bytes;
}

/*
 * The keys of m, without the +1, sorted (LSD radix on the 40 bits they
 * use), in a mapping of *len bytes; NULL if memory ran out.
 */
static uint64_t *
am_sorted(const struct lsp_agemap *m, size_t *n, size_t *len)
{
	uint64_t *a, *t, *swap;
	size_t i, k = 0, cnt[256];
	unsigned pass;

	*n = 0;
	*len = (m->count ? m->count : 1) * sizeof(*a);
	a = ls_map(*len);
	t = ls_map(*len);
	if (a == NULL || t == NULL) {
		ls_unmap(a, *len);
		ls_unmap(t, *len);
		return NULL;
	}
	for (i = 0; m->tab != NULL && i <= m->mask; i++)
		if (m->tab[i].key != 0)
			a[k++] = m->tab[i].key - 1;
	for (pass = 0; pass < 5; pass++) {
		unsigned sh = pass * 8;
		size_t sum = 0, c;

		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < k; i++)
			cnt[(a[i] >> sh) & 0xff]++;
		for (c = 0; c < 256; c++) {
			size_t x = cnt[c];

			cnt[c] = sum;
			sum += x;
		}
		for (i = 0; i < k; i++)
			t[cnt[(a[i] >> sh) & 0xff]++] = a[i];
		swap = a;
		a = t;
		t = swap;
	}
	ls_unmap(t, *len);
	*n = k;
	return a;
}

bool
lsp_ages_plan(struct lsp_ages_plan *p, const struct lsp_agemap *cur,
    const struct lsp_agemap *old)
{
	p->ka = am_sorted(cur, &p->na, &p->la);
	p->kb = am_sorted(old, &p->nb, &p->lb);
	if (p->ka != NULL && p->kb != NULL)
		return true;
	ls_unmap(p->ka, p->la);
	ls_unmap(p->kb, p->lb);
	memset(p, 0, sizeof(*p));
	return false;
}

void
lsp_ages_plan_free(struct lsp_ages_plan *p)
{
	ls_unmap(p->ka, p->la);
	ls_unmap(p->kb, p->lb);
	memset(p, 0, sizeof(*p));
}

/*
 * Append AGES records for the stacks whose live blocks by epoch changed
 * since the last written snapshot.  Each stack's group is either the
 * changed pairs (a delta) or all its pairs (a replacement), whichever is
 * shorter.  Returns the number of groups.
 */
uint32_t
lsp_ages_emit(struct ls_buf *b, const struct lsp_agemap *cur,
    const struct lsp_agemap *old, const struct lsp_ages_plan *p,
    uint32_t index)
{
	const uint64_t *ka = p->ka, *kb = p->kb;
	size_t na = p->na, nb = p->nb, i = 0, j = 0, r = 0;
	uint32_t in_rec = 0, groups = 0;

	while (i < na || j < nb) {
		uint64_t site = i < na && (j >= nb || ka[i] >> 16 <= kb[j] >> 16) ?
		    ka[i] >> 16 : kb[j] >> 16;
		size_t i2 = i, j2 = j, x, y, ndelta = 0;
		uint64_t prev_ep = 0;
		bool replace;

		while (i2 < na && ka[i2] >> 16 == site)
			i2++;
		while (j2 < nb && kb[j2] >> 16 == site)
			j2++;
		/* Count the pairs that differ from what was written. */
		for (x = i, y = j; x < i2 || y < j2;) {
			uint64_t kx = x < i2 ? ka[x] : UINT64_MAX;
			uint64_t ky = y < j2 ? kb[y] : UINT64_MAX;
			const struct age_entry *ca, *ob;

			if (kx < ky) {
				ndelta++;
				x++;
			} else if (ky < kx) {
				ndelta++;
				y++;
			} else {
				ca = am_find(cur, kx + 1);
				ob = am_find(old, ky + 1);
				ndelta += ca->blocks != ob->blocks ||
				    ca->bytes != ob->bytes;
				x++;
				y++;
			}
		}
		if (ndelta == 0)
			goto next;
		replace = i2 - i < ndelta;
		if (in_rec == 0) {
			r = ls_rec_begin_counted(b, LS_REC_AGES, index);
		}
		ls_buf_uv(b, site);
		ls_buf_uv(b, replace);
		ls_buf_uv(b, replace ? i2 - i : ndelta);
		/* The same merge again, writing: epochs rise, as deltas. */
		for (x = i, y = j; x < i2 || y < j2;) {
			uint64_t kx = x < i2 ? ka[x] : UINT64_MAX;
			uint64_t ky = y < j2 ? kb[y] : UINT64_MAX;
			const struct age_entry *ca = NULL, *ob = NULL;
			uint64_t key = kx < ky ? kx : ky;

			if (kx <= ky) {
				ca = am_find(cur, kx + 1);
				x++;
			}
			if (ky <= kx) {
				ob = am_find(old, ky + 1);
				y++;
			}
			if (replace ? ca == NULL : ca != NULL && ob != NULL &&
			    ca->blocks == ob->blocks && ca->bytes == ob->bytes)
				continue;
			ls_buf_uv(b, (key & 0xffff) - prev_ep);
			prev_ep = key & 0xffff;
			ls_buf_uv(b, ca ? ca->blocks : 0);
			ls_buf_uv(b, ca ? ca->bytes : 0);
		}
		groups++;
		if (++in_rec == GROUPS_PER_REC) {
			ls_rec_end_counted(b, r, in_rec);
			in_rec = 0;
			lsp_dump_spill(b);
		}
next:
		i = i2;
		j = j2;
	}
	if (in_rec != 0)
		ls_rec_end_counted(b, r, in_rec);
	return groups;
}

