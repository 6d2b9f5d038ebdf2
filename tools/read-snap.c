/* SPDX-License-Identifier: MIT */
/*
 * Reading the records of a snapshot: SNAPSHOT opens it, SITES and AGES
 * stage its entries (lsr_snap_head checks their head, and THREADS'),
 * SNAPSHOT_END adds them to the stacks' histories (and keeps the scan
 * read-scan.c staged).  A snapshot that does
 * not end is not used.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "read.h"
#include "xalloc.h"

/* Epochs stop at 65535 (leakspy-dump(5)); lsr_site_ages (site.c) relies
 * on it. */
#define MAX_EPOCH	0xffff

int
lsr_rec_snapshot(struct lsr_parser *P, struct ls_cur *c)
{
	const struct lsr_dump *d = P->d;
	const struct lsr_snapshot *prev = d->nsnaps ? &d->snaps[d->nsnaps - 1] :
	    NULL;
	struct lsr_snapshot *s = &P->cur;
	uint64_t index, reason, n, i, epoch = 0, complete = 0;

	if (P->snap_open)
		return P->why = "SNAPSHOT inside a snapshot", -1;
	memset(s, 0, sizeof(*s));
	P->nstaged = 0;
	index = ls_cur_uv(c);
	s->mono_ns = ls_cur_uv(c);
	s->real_ns = ls_cur_uv(c);
	reason = ls_cur_uv(c);
	n = ls_cur_uv(c);
	if (n > lsr_left(c))
		return P->why = "counter count out of range", -1;
	for (i = 0; i < n; i++) {
		uint64_t v = ls_cur_uv(c);

		if (i < LS_CNT_COUNT)
			s->counters[i] = v;
	}
	if (c->p < c->end) {	/* added later: older dumps lack them */
		epoch = ls_cur_uv(c);
		complete = ls_cur_uv(c);
	}
	if (c->err)
		return P->why = "SNAPSHOT record cut short", -1;
	if (index != d->nsnaps)
		return P->why = "snapshot numbers out of order", -1;
	if (prev != NULL && s->mono_ns < prev->mono_ns)
		return P->why = "snapshot times out of order", -1;
	if (epoch > MAX_EPOCH || (prev != NULL && epoch < prev->epoch))
		return P->why = "snapshot epoch out of range", -1;
	if (complete > 1)
		return P->why = "bad ages_complete flag (not 0 or 1)", -1;
	s->index = (uint32_t)index;
	s->reason = lsr_enum(reason, LS_SNAP_COUNT);
	s->epoch = (uint32_t)epoch;
	s->ages_complete = complete == 1;
	P->snap_open = true;
	return 0;
}

int
lsr_snap_head(struct lsr_parser *P, struct ls_cur *c, size_t min_bytes,
    const char *outside, const char *range, uint64_t *count)
{
	uint64_t index = ls_cur_uv(c);

	*count = ls_cur_uv(c);
	if (c->err || !P->snap_open || index != P->cur.index)
		return P->why = outside, -1;
	if (*count > lsr_left(c) / min_bytes)
		return P->why = range, -1;
	return 0;
}

int
lsr_rec_sites(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_snapshot *s = &P->cur;
	uint64_t count, k;

	/* Five fields an entry. */
	if (lsr_snap_head(P, c, 5, "SITES outside its snapshot",
	    "site count out of range", &count) != 0)
		return -1;
	P->changes = lsr_xgrow(P->changes, &P->cap_changes,
	    s->nchanges + (size_t)count, sizeof(*P->changes));
	for (k = 0; k < count; k++) {
		struct lsr_change *ch = &P->changes[s->nchanges];
		uint64_t stack = ls_cur_uv(c);

		ch->v.live_bytes = ls_cur_uv(c);
		ch->v.live_blocks = ls_cur_uv(c);
		ch->v.alloc_bytes = ls_cur_uv(c);
		ch->v.alloc_blocks = ls_cur_uv(c);
		if (c->err)
			return P->why = "SITES record cut short", -1;
		if (stack >= P->d->nstacks)
			return P->why = "site of an unknown stack", -1;
		ch->stack = (uint32_t)stack;
		s->nchanges++;
	}
	return 0;
}

/* Stage the n (epoch delta, blocks, bytes) entries of stack's group. */
static int
age_entries(struct lsr_parser *P, struct ls_cur *c, uint32_t stack,
    uint64_t n)
{
	uint64_t ep = 0, k;

	for (k = 0; k < n; k++) {
		struct lsr_age *a = &P->ages[P->nstaged];
		uint64_t delta = ls_cur_uv(c);

		a->stack = stack;
		a->blocks = ls_cur_uv(c);
		a->bytes = ls_cur_uv(c);
		if (c->err)
			return P->why = "AGES record cut short", -1;
		/* Checked before adding: a delta may be near 2^64. */
		if ((k > 0 && delta == 0) || delta > P->cur.epoch - ep)
			return P->why = "age epochs out of order", -1;
		ep += delta;
		a->epoch = (uint32_t)ep;
		P->nstaged++;
	}
	return 0;
}

int
lsr_rec_ages(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_snapshot *s = &P->cur;
	uint64_t count, g;

	/* Three fields a group at least. */
	if (lsr_snap_head(P, c, 3, "AGES outside its snapshot",
	    "age count out of range", &count) != 0)
		return -1;
	for (g = 0; g < count; g++) {
		uint64_t stack = ls_cur_uv(c), replace = ls_cur_uv(c);
		uint64_t n = ls_cur_uv(c);

		if (c->err)
			return P->why = "AGES record cut short", -1;
		if (stack >= P->d->nstacks || replace > 1 ||
		    n > lsr_left(c) / 3)
			return P->why = "age group out of range", -1;
		P->ages = lsr_xgrow(P->ages, &P->cap_ages,
		    P->nstaged + (size_t)n + 1, sizeof(*P->ages));
		if (replace) {
			/* "Clear" marker: epoch UINT32_MAX. */
			P->ages[P->nstaged].stack = (uint32_t)stack;
			P->ages[P->nstaged].epoch = UINT32_MAX;
			P->nstaged++;
		}
		if (age_entries(P, c, (uint32_t)stack, n) != 0)
			return -1;
		s->nages++;
	}
	return 0;
}

/* Add the open snapshot's entries to the stacks' histories. */
static void
commit_snapshot(struct lsr_parser *P)
{
	struct lsr_dump *d = P->d;
	uint32_t k = P->cur.index;
	size_t i;

	for (i = 0; i < P->cur.nchanges; i++)
		lsr_hist_change(&d->stacks[P->changes[i].stack], k,
		    &P->changes[i].v);
	for (i = 0; i < P->nstaged; i++)
		lsr_hist_age(&d->stacks[P->ages[i].stack], k, &P->ages[i]);
	P->nstaged = 0;
}

int
lsr_rec_snapshot_end(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_dump *d = P->d;
	uint64_t index = ls_cur_uv(c), n = ls_cur_uv(c);
	uint64_t nages = c->p < c->end ? ls_cur_uv(c) : 0;

	if (c->err || !P->snap_open || index != P->cur.index)
		return P->why = "SNAPSHOT_END without its snapshot", -1;
	if (n != P->cur.nchanges)
		return P->why = "snapshot has a wrong number of sites", -1;
	if (nages != P->cur.nages)
		return P->why = "snapshot has a wrong number of ages", -1;
	commit_snapshot(P);
	lsr_scan_commit(P);
	d->snaps = lsr_xgrow(d->snaps, &P->cap_snaps, d->nsnaps + 1,
	    sizeof(*d->snaps));
	d->snaps[d->nsnaps++] = P->cur;
	memset(&P->cur, 0, sizeof(P->cur));
	P->snap_open = false;
	return 0;
}
