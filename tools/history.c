/* SPDX-License-Identifier: MIT */
/*
 * Each stack's history, kept compact: the figures of the snapshots in
 * which they changed, and its live blocks by epoch, as varint deltas
 * (the layout is at struct lsr_stack in lsr.h); written as the reader
 * goes, read back by iterators and lsr_state_at.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "leb128.h"
#include "read.h"
#include "xalloc.h"

static void
put_uv(uint8_t **buf, size_t *len, size_t *cap, uint64_t v)
{
	*buf = lsr_xgrow(*buf, cap, *len + LS_UV_MAX, 1);
	*len += ls_uv_put(*buf + *len, v);
}

static void
put_sv(uint8_t **buf, size_t *len, size_t *cap, uint64_t now, uint64_t was)
{
	put_uv(buf, len, cap, ls_zigzag(now - was));
}

static uint64_t
get_sv(struct ls_cur *c, uint64_t was)
{
	return was + ls_unzigzag(ls_cur_uv(c));
}

/* A cursor over history buf[0..len-1] (buf NULL: empty). */
static struct ls_cur
hist_cur(const uint8_t *buf, size_t len)
{
	struct ls_cur c = { .p = buf, .end = buf ? buf + len : NULL };

	return c;
}

/* Start the next entry at c: false at the end, else *snap moved on to
 * the entry's snapshot. */
static bool
hist_step(struct ls_cur *c, uint32_t *snap)
{
	if (c->p >= c->end)
		return false;
	*snap += (uint32_t)ls_cur_uv(c);
	return true;
}

void
lsr_chg_begin(const struct lsr_stack *s, struct lsr_chg_iter *it)
{
	memset(it, 0, sizeof(*it));
	it->c = hist_cur(s->chg, s->chg_len);
}

bool
lsr_chg_next(struct lsr_chg_iter *it)
{
	if (!hist_step(&it->c, &it->snap))
		return false;
	it->v.live_bytes = get_sv(&it->c, it->v.live_bytes);
	it->v.live_blocks = get_sv(&it->c, it->v.live_blocks);
	it->v.alloc_bytes = get_sv(&it->c, it->v.alloc_bytes);
	it->v.alloc_blocks = get_sv(&it->c, it->v.alloc_blocks);
	return true;
}

void
lsr_age_begin(const struct lsr_stack *s, struct lsr_age_iter *it)
{
	memset(it, 0, sizeof(*it));
	it->c = hist_cur(s->age, s->age_len);
}

bool
lsr_age_next(struct lsr_age_iter *it)
{
	uint64_t code;

	if (!hist_step(&it->c, &it->snap))
		return false;
	code = ls_cur_uv(&it->c);
	it->clear = code == 0;
	it->epoch = code ? (uint32_t)(code - 1) : 0;
	it->blocks = code ? ls_cur_uv(&it->c) : 0;
	it->bytes = code ? ls_cur_uv(&it->c) : 0;
	return true;
}

void
lsr_hist_change(struct lsr_stack *s, uint32_t k, const struct lsr_vals *v)
{
	put_uv(&s->chg, &s->chg_len, &s->chg_cap, k - s->last_snap);
	put_sv(&s->chg, &s->chg_len, &s->chg_cap, v->live_bytes,
	    s->last.live_bytes);
	put_sv(&s->chg, &s->chg_len, &s->chg_cap, v->live_blocks,
	    s->last.live_blocks);
	put_sv(&s->chg, &s->chg_len, &s->chg_cap, v->alloc_bytes,
	    s->last.alloc_bytes);
	put_sv(&s->chg, &s->chg_len, &s->chg_cap, v->alloc_blocks,
	    s->last.alloc_blocks);
	s->last = *v;
	s->last_snap = k;
}

void
lsr_hist_age(struct lsr_stack *s, uint32_t k, const struct lsr_age *a)
{
	/* Code 0 clears the stack's epochs; otherwise epoch + 1. */
	put_uv(&s->age, &s->age_len, &s->age_cap, k - s->last_age_snap);
	if (a->epoch == UINT32_MAX) {
		put_uv(&s->age, &s->age_len, &s->age_cap, 0);
	} else {
		put_uv(&s->age, &s->age_len, &s->age_cap,
		    (uint64_t)a->epoch + 1);
		put_uv(&s->age, &s->age_len, &s->age_cap, a->blocks);
		put_uv(&s->age, &s->age_len, &s->age_cap, a->bytes);
	}
	s->last_age_snap = k;
}

struct lsr_vals *
lsr_state_at(const struct lsr_dump *d, size_t k)
{
	struct lsr_vals *v = lsr_xcalloc(d->nstacks, sizeof(*v));
	struct lsr_chg_iter it;
	size_t i;

	for (i = 0; i < d->nstacks; i++) {
		lsr_chg_begin(&d->stacks[i], &it);
		while (lsr_chg_next(&it) && it.snap <= k)
			v[i] = it.v;
	}
	return v;
}
