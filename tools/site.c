/* SPDX-License-Identifier: MIT */
/*
 * A site's figures over the snapshots, from its stacks' histories: its
 * series, its live blocks by the epoch they were allocated in, their
 * ages, and its change between the two snapshots of --diff.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "lsr.h"
#include "xalloc.h"

/* Epochs stop at 65535 (leakspy-dump(5)); the reader checks it. */
#define NEPOCH		65536

/* Add stack st's figures at snapshots 0..k to p[0..k]. */
static void
add_stack_series(const struct lsr_stack *st, size_t k, struct lsr_point *p)
{
	struct lsr_chg_iter it;
	struct lsr_vals v = { 0 };
	size_t from = 0, j;

	/* Each figure holds from its snapshot to the next change. */
	lsr_chg_begin(st, &it);
	for (;;) {
		bool more = lsr_chg_next(&it) && it.snap <= k;
		size_t to = more ? it.snap : k + 1;

		for (j = from; j < to; j++) {
			p[j].bytes += v.live_bytes;
			p[j].blocks += v.live_blocks;
			p[j].alloc_bytes += v.alloc_bytes;
			p[j].alloc_blocks += v.alloc_blocks;
		}
		if (!more)
			break;
		v = it.v;
		from = it.snap;
	}
}

void
lsr_site_series(const struct lsr_report *r, const struct lsr_site *s,
    struct lsr_point *p)
{
	const struct lsr_dump *d = r->d;
	size_t j, m;

	for (j = 0; j <= r->snap; j++) {
		memset(&p[j], 0, sizeof(p[j]));
		p[j].t = (double)d->snaps[j].mono_ns / 1e9;
	}
	for (m = 0; m < s->nmembers; m++)
		add_stack_series(&d->stacks[s->members[m]], r->snap, p);
}

/*
 * Append to v[*n..] the live blocks of stack st at snapshot k, one entry
 * an epoch; *cap is v's capacity.  Returns v or its new place.
 */
static struct lsr_epoch_live *
stack_ages(const struct lsr_stack *st, size_t k, struct lsr_epoch_live *v,
    size_t *n, size_t *cap)
{
	/* slot[e]: 1 + where epoch e is in v for this stack; all zero
	 * between calls. */
	static uint32_t slot[NEPOCH];
	struct lsr_age_iter it;
	size_t first = *n, i;

	/* Later entries overwrite: an epoch's figure at snapshot k is its
	 * last entry up to k. */
	lsr_age_begin(st, &it);
	while (lsr_age_next(&it) && it.snap <= k) {
		uint32_t e = it.epoch % NEPOCH;

		if (it.clear) {
			for (i = first; i < *n; i++)
				v[i].blocks = v[i].bytes = 0;
			continue;
		}
		if (slot[e] == 0) {
			v = lsr_xgrow(v, cap, *n + 1, sizeof(*v));
			v[*n].epoch = it.epoch;
			slot[e] = (uint32_t)(++*n - first);
		}
		v[first + slot[e] - 1].blocks = it.blocks;
		v[first + slot[e] - 1].bytes = it.bytes;
	}
	for (i = first; i < *n; i++)
		slot[v[i].epoch % NEPOCH] = 0;
	return v;
}

static int
by_epoch(const void *a, const void *b)
{
	const struct lsr_epoch_live *x = a, *y = b;

	return x->epoch < y->epoch ? -1 : x->epoch > y->epoch;
}

/* Sort v[0..n-1] by epoch, merge equal epochs (of different stacks) and
 * drop empty ones.  Returns how many are left. */
static size_t
merge_epochs(struct lsr_epoch_live *v, size_t n)
{
	size_t i, w;

	if (n > 1)
		qsort(v, n, sizeof(*v), by_epoch);
	for (i = 0, w = 0; i < n; i++) {
		if (v[i].blocks == 0 && v[i].bytes == 0)
			continue;
		if (w > 0 && v[w - 1].epoch == v[i].epoch) {
			v[w - 1].blocks += v[i].blocks;
			v[w - 1].bytes += v[i].bytes;
		} else {
			v[w++] = v[i];
		}
	}
	return w;
}

size_t
lsr_site_ages(const struct lsr_report *r, const struct lsr_site *s,
    size_t k, struct lsr_epoch_live **out)
{
	struct lsr_epoch_live *v = NULL;
	size_t n = 0, cap = 0, m;

	for (m = 0; m < s->nmembers; m++)
		v = stack_ages(&r->d->stacks[s->members[m]], k, v, &n, &cap);
	*out = v;
	return merge_epochs(v, n);
}

/* When blocks of epoch ep were allocated, as (from, to) in seconds. */
static void
epoch_time(const struct lsr_dump *d, uint32_t ep, double *from, double *to)
{
	size_t i;

	*from = 0;
	*to = d->nsnaps ? (double)d->snaps[0].mono_ns / 1e9 : 0;
	for (i = 0; i < d->nsnaps; i++) {
		if (d->snaps[i].epoch > ep)
			break;
		*from = (double)d->snaps[i].mono_ns / 1e9;
		*to = i + 1 < d->nsnaps ?
		    (double)d->snaps[i + 1].mono_ns / 1e9 : *from;
	}
}

/* The age at time now (seconds) of blocks of epoch ep: from the middle
 * of the span in which they were allocated. */
static double
epoch_age(const struct lsr_dump *d, uint32_t ep, double now)
{
	double from, to, age;

	epoch_time(d, ep, &from, &to);
	age = now - (from + to) / 2;
	return age < 0 ? 0 : age;
}

/* Site s's live blocks v[0..n-1] (by epoch) that its process inherited
 * from its parent at fork. */
static void
count_inherited(const struct lsr_dump *d, struct lsr_site *s,
    const struct lsr_epoch_live *v, size_t n)
{
	size_t i;

	s->inherited_blocks = s->inherited_bytes = 0;
	for (i = 0; i < n; i++)
		if (v[i].epoch < d->inherited_epoch) {
			s->inherited_blocks += v[i].blocks;
			s->inherited_bytes += v[i].bytes;
		}
}

/* The median, 90% and oldest ages of site s's live blocks v[0..n-1] (by
 * epoch) at r->snap. */
static void
age_figures(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_epoch_live *v, size_t n)
{
	const struct lsr_dump *d = r->d;
	double now = (double)d->snaps[r->snap].mono_ns / 1e9;
	uint64_t total = 0, acc = 0;
	bool median = false, p90 = false;
	size_t i;

	for (i = 0; i < n; i++)
		total += v[i].blocks;
	/* Oldest first: ages fall as epochs rise. */
	for (i = 0; i < n; i++) {
		double age = epoch_age(d, v[i].epoch, now);

		if (i == 0)
			s->age_oldest = age;
		acc += v[i].blocks;
		/* The age below which the youngest half (10%) lie. */
		if (!median && (total - acc) * 2 < total) {
			s->age_median = age;
			median = true;
		}
		if (!p90 && (total - acc) * 10 < total * 9) {
			s->age_p90 = age;
			p90 = true;
		}
	}
}

void
lsr_site_age_figures(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_epoch_live *v, size_t n)
{
	const struct lsr_dump *d = r->d;

	s->has_age = n > 0 && d->snaps[r->snap].ages_complete;
	count_inherited(d, s, v, n);
	if (s->has_age)
		age_figures(r, s, v, n);
}

void
lsr_site_age_profile(const struct lsr_report *r, struct lsr_site *s)
{
	struct lsr_epoch_live *v;
	size_t n = lsr_site_ages(r, s, r->snap, &v);

	lsr_site_age_figures(r, s, v, n);
	free(v);
}

void
lsr_site_diff(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_point *series)
{
	const struct lsr_point *a = &series[r->from], *b = &series[r->snap];
	uint32_t since = r->d->snaps[r->from].epoch;
	struct lsr_epoch_live *v;
	size_t n = lsr_site_ages(r, s, r->snap, &v), i;

	for (i = 0; i < n; i++)
		if (v[i].epoch >= since) {
			s->diff.new_blocks += v[i].blocks;
			s->diff.new_bytes += v[i].bytes;
		}
	free(v);
	/* Wrapping differences: any figures a dump holds are defined. */
	s->diff.live_bytes = (int64_t)(b->bytes - a->bytes);
	s->diff.live_blocks = (int64_t)(b->blocks - a->blocks);
	s->diff.alloc_bytes = b->alloc_bytes - a->alloc_bytes;
	s->diff.alloc_blocks = b->alloc_blocks - a->alloc_blocks;
}
