/* SPDX-License-Identifier: MIT */
/*
 * Reading a snapshot's heap scan: SCAN (the reachability split of each
 * stack's live blocks), OWNERS (who holds them) and CHAIN (the path up to
 * a root).  They are staged like SITES and kept only when the snapshot
 * ends; a snapshot cut short takes its scan with it.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "read.h"
#include "xalloc.h"

/* The index of an optional record of the open snapshot's scan. */
static int
scan_index(struct lsr_parser *P, struct ls_cur *c, const char *outside)
{
	uint64_t index = ls_cur_uv(c);

	if (c->err || !P->snap_open || index != P->cur.index)
		return P->why = outside, -1;
	return 0;
}

/* Kind and owner of an OWNERS entry or a CHAIN step: an owner block's
 * stack must be known; other owners are addresses or thread serials. */
static int
owner_fields(struct lsr_parser *P, struct ls_cur *c, unsigned *kind,
    uint64_t *owner)
{
	uint64_t k = ls_cur_uv(c);

	*owner = ls_cur_uv(c);
	*kind = lsr_enum(k, LS_OWN_COUNT);
	if (!c->err && k == LS_OWN_BLOCK && *owner >= P->d->nstacks)
		return P->why = "owner of an unknown stack", -1;
	return 0;
}

int
lsr_rec_scan(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_scan *s = &P->scan;
	uint64_t complete, gen, count, k;
	const char *reason;
	size_t n;
	unsigned r;

	if (scan_index(P, c, "SCAN outside its snapshot") != 0)
		return -1;
	if (P->scan_open)
		return P->why = "second SCAN in a snapshot", -1;
	memset(s, 0, sizeof(*s));
	s->mono_ns = ls_cur_uv(c);
	complete = ls_cur_uv(c);
	reason = ls_cur_str(c, &n);
	s->threads_stopped = ls_cur_uv(c);
	s->threads_not_stopped = ls_cur_uv(c);
	gen = ls_cur_uv(c);
	count = ls_cur_uv(c);
	if (c->err)
		return P->why = "SCAN record cut short", -1;
	if (complete > 1)
		return P->why = "bad scan complete flag (not 0 or 1)", -1;
	if (gen > UINT32_MAX)
		return P->why = "scan generation out of range", -1;
	if (count > lsr_left(c) / 9)	/* nine fields an entry */
		return P->why = "scan count out of range", -1;
	s->split = lsr_xcalloc((size_t)count, sizeof(*s->split));
	for (k = 0; k < count; k++) {
		struct lsr_split *e = &s->split[k];
		uint64_t stack = ls_cur_uv(c);

		for (r = 0; r < LSR_R_COUNT; r++) {
			e->r[r].bytes = ls_cur_uv(c);
			e->r[r].blocks = ls_cur_uv(c);
		}
		if (c->err || stack >= P->d->nstacks) {
			free(s->split);
			s->split = NULL;
			return P->why = c->err ? "SCAN record cut short" :
			    "scan of an unknown stack", -1;
		}
		e->stack = (uint32_t)stack;
	}
	s->nsplit = s->cap_split = (size_t)count;
	s->snap = P->cur.index;
	s->complete = complete == 1;
	s->gen = (uint32_t)gen;
	s->reason = lsr_xstrndup(reason, n);
	P->scan_open = true;
	return 0;
}

int
lsr_rec_owners(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_scan *s = &P->scan;
	uint64_t count, k;

	/* Five fields an entry. */
	if (lsr_snap_head(P, c, 5, "OWNERS outside its snapshot",
	    "owner count out of range", &count) != 0)
		return -1;
	if (!P->scan_open)
		return P->why = "OWNERS before the snapshot's SCAN", -1;
	s->owners = lsr_xgrow(s->owners, &s->cap_owners,
	    s->nowners + (size_t)count, sizeof(*s->owners));
	for (k = 0; k < count; k++) {
		struct lsr_owner *o = &s->owners[s->nowners];
		uint64_t stack = ls_cur_uv(c);

		if (owner_fields(P, c, &o->kind, &o->owner) != 0)
			return -1;
		o->held.bytes = ls_cur_uv(c);
		o->held.blocks = ls_cur_uv(c);
		if (c->err)
			return P->why = "OWNERS record cut short", -1;
		if (stack >= P->d->nstacks)
			return P->why = "owners of an unknown stack", -1;
		o->stack = (uint32_t)stack;
		s->nowners++;
	}
	return 0;
}

/* One chain of a CHAIN record, added to the staged scan if whole. */
static int
one_chain(struct lsr_parser *P, struct ls_cur *c)
{
	struct lsr_scan *s = &P->scan;
	uint64_t stack = ls_cur_uv(c), n = ls_cur_uv(c), k;
	struct lsr_chain ch = { 0 };

	if (c->err)
		return P->why = "CHAIN record cut short", -1;
	if (stack >= P->d->nstacks)
		return P->why = "chain of an unknown stack", -1;
	if (n > lsr_left(c) / 3)	/* three fields a step */
		return P->why = "chain step count out of range", -1;
	ch.stack = (uint32_t)stack;
	ch.steps = lsr_xcalloc((size_t)n, sizeof(*ch.steps));
	for (k = 0; k < n; k++) {
		struct lsr_step *st = &ch.steps[k];

		if (owner_fields(P, c, &st->kind, &st->owner) != 0)
			goto out_free;
		st->nblocks = ls_cur_uv(c);
		if (c->err) {
			P->why = "CHAIN record cut short";
			goto out_free;
		}
		if (st->nblocks == 0) {
			P->why = "chain step of no blocks";
			goto out_free;
		}
	}
	ch.nsteps = (size_t)n;
	s->chains = lsr_xgrow(s->chains, &s->cap_chains, s->nchains + 1,
	    sizeof(*s->chains));
	s->chains[s->nchains++] = ch;
	return 0;

out_free:
	free(ch.steps);
	return -1;
}

int
lsr_rec_chain(struct lsr_parser *P, struct ls_cur *c)
{
	uint64_t count, k;

	/* Two fields a chain at least. */
	if (lsr_snap_head(P, c, 2, "CHAIN outside its snapshot",
	    "chain count out of range", &count) != 0)
		return -1;
	if (!P->scan_open)
		return P->why = "CHAIN before the snapshot's SCAN", -1;
	for (k = 0; k < count; k++)
		if (one_chain(P, c) != 0)
			return -1;
	return 0;
}

void
lsr_scan_commit(struct lsr_parser *P)
{
	struct lsr_dump *d = P->d;

	if (!P->scan_open)
		return;
	d->scans = lsr_xgrow(d->scans, &P->cap_scans, d->nscans + 1,
	    sizeof(*d->scans));
	d->scans[d->nscans++] = P->scan;
	memset(&P->scan, 0, sizeof(P->scan));
	P->scan_open = false;
}

void
lsr_scan_discard(struct lsr_parser *P)
{
	lsr_scan_fini(&P->scan);
	P->scan_open = false;
}

void
lsr_scan_fini(struct lsr_scan *s)
{
	size_t i;

	for (i = 0; i < s->nchains; i++)
		free(s->chains[i].steps);
	free(s->chains);
	free(s->owners);
	free(s->split);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}
