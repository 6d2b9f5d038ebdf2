/* SPDX-License-Identifier: MIT */
/*
 * From a heap scan's stacks to the report's sites: each site's
 * reachability split and owners summed over its stacks (owner stacks
 * mapped to their sites), and its chain up to a root, with the links
 * between blocks of one site merged into one step.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "lsr.h"
#include "xalloc.h"

const char *
lsr_owner_kind_name(unsigned kind)
{
	static const char *const name[LS_OWN_COUNT] = {
		[LS_OWN_BLOCK] = "block", [LS_OWN_GLOBAL] = "global",
		[LS_OWN_STACK] = "stack", [LS_OWN_TLS] = "tls",
		[LS_OWN_REGISTER] = "register", [LS_OWN_CACHE] = "cache",
	};

	return kind < LS_OWN_COUNT ? name[kind] : "unknown";
}

const struct lsr_thread *
lsr_thread_by_serial(const struct lsr_dump *d, uint64_t serial)
{
	size_t i;

	for (i = 0; i < d->nthreads; i++)
		if (d->threads[i].serial == serial)
			return &d->threads[i];
	return NULL;
}

/* The owner (kind, owner) as a key of the report: an owner stack becomes
 * its site (site_of: each stack's site, or SIZE_MAX). */
static struct lsr_held
held_key(const size_t *site_of, unsigned kind, uint64_t owner)
{
	struct lsr_held h = { .kind = kind, .site = SIZE_MAX, .owner = owner };

	if (kind == LS_OWN_BLOCK) {
		h.site = site_of[owner];
		if (h.site != SIZE_MAX)
			h.owner = 0;
	}
	return h;
}

static bool
same_owner(const struct lsr_held *a, const struct lsr_held *b)
{
	return a->kind == b->kind && a->site == b->site && a->owner == b->owner;
}

/* Add h to rc's owners; merge_owners sums those of one owner. */
static void
add_owner(struct lsr_site_reach *rc, size_t *cap, const struct lsr_held *h)
{
	rc->owners = lsr_xgrow(rc->owners, cap, rc->nowners + 1,
	    sizeof(*rc->owners));
	rc->owners[rc->nowners++] = *h;
}

/* By kind, site and owner. */
static int
by_key(const void *a, const void *b)
{
	const struct lsr_held *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->site != y->site)
		return x->site < y->site ? -1 : 1;
	return x->owner < y->owner ? -1 : x->owner > y->owner;
}

/* Biggest first; ties by kind, site and owner, for a stable output. */
static int
by_held(const void *a, const void *b)
{
	const struct lsr_held *x = a, *y = b;

	if (x->held.bytes != y->held.bytes)
		return x->held.bytes < y->held.bytes ? 1 : -1;
	if (x->held.blocks != y->held.blocks)
		return x->held.blocks < y->held.blocks ? 1 : -1;
	return by_key(a, b);
}

/* One entry an owner in rc's owners, in key order (owners may be many:
 * a word each of a global array); lsr_scan_group sorts them by size
 * once the chains have looked them up. */
static void
merge_owners(struct lsr_site_reach *rc)
{
	size_t i, n = 0;

	if (rc->nowners < 2)
		return;
	qsort(rc->owners, rc->nowners, sizeof(*rc->owners), by_key);
	for (i = 0; i < rc->nowners; i++) {
		if (n > 0 && same_owner(&rc->owners[n - 1], &rc->owners[i])) {
			struct lsr_amount *a = &rc->owners[n - 1].held;

			a->bytes += rc->owners[i].held.bytes;
			a->blocks += rc->owners[i].held.blocks;
			continue;
		}
		rc->owners[n++] = rc->owners[i];
	}
	rc->nowners = n;
}

/* The globals seen: one key (the first root word's address) for each
 * symbol of a module, so that the words of one array are one owner. */
struct gkeys {
	struct gkey {
		const struct lsr_module *m;
		const char *sym;
		uint64_t addr;
	} *k;
	size_t n, cap;
};

static uint64_t
global_key(const struct lsr_report *r, struct gkeys *g, uint64_t addr)
{
	const struct lsr_module *m = lsr_module_of(r->d, addr, r->scan->gen);
	const char *sym = lsr_symbol_name(r->d, addr + 1, r->scan->gen);
	size_t i;

	if (m == NULL || sym == NULL)
		return addr;
	for (i = 0; i < g->n; i++)
		if (g->k[i].m == m && strcmp(g->k[i].sym, sym) == 0)
			return g->k[i].addr;
	g->k = lsr_xgrow(g->k, &g->cap, g->n + 1, sizeof(*g->k));
	g->k[g->n++] = (struct gkey){ m, sym, addr };
	return addr;
}

/* Sum the scan's split and owners into the sites' reach. */
static void
sum_sites(struct lsr_report *r, const size_t *site_of, size_t *caps)
{
	struct gkeys gk = { 0 };
	const struct lsr_scan *sc = r->scan;
	size_t i, k;
	unsigned c;

	for (i = 0; i < sc->nsplit; i++) {
		const struct lsr_split *e = &sc->split[i];

		if (site_of[e->stack] == SIZE_MAX)
			continue;
		for (c = 0; c < LSR_R_COUNT; c++) {
			struct lsr_amount *a =
			    &r->sites[site_of[e->stack]].reach->r[c];

			a->bytes += e->r[c].bytes;
			a->blocks += e->r[c].blocks;
		}
	}
	for (i = 0; i < sc->nowners; i++) {
		const struct lsr_owner *o = &sc->owners[i];
		struct lsr_held h;
		struct lsr_site_reach *rc;

		k = site_of[o->stack];
		if (k == SIZE_MAX)
			continue;
		rc = r->sites[k].reach;
		h = held_key(site_of, o->kind, o->owner);
		if (h.kind == LS_OWN_GLOBAL)
			h.owner = global_key(r, &gk, h.owner);
		h.held = o->held;
		if (h.kind == LS_OWN_BLOCK && h.site == k) {
			rc->self.bytes += h.held.bytes;
			rc->self.blocks += h.held.blocks;
		} else {
			add_owner(rc, &caps[k], &h);
		}
	}
	free(gk.k);
}

/* For each site, the chain of its stack that holds the most reachable
 * bytes, among those that have one (or NULL): best[0..r->nsites-1]. */
static void
site_chains(const struct lsr_report *r, const size_t *site_of,
    const struct lsr_chain **best)
{
	const struct lsr_scan *sc = r->scan;
	uint64_t *reach = lsr_xcalloc(r->d->nstacks + 1, sizeof(*reach));
	uint64_t *best_bytes = lsr_xcalloc(r->nsites, sizeof(*best_bytes));
	size_t i, k;

	for (i = 0; i < sc->nsplit; i++)
		reach[sc->split[i].stack] +=
		    sc->split[i].r[LSR_R_REACHABLE].bytes;
	for (i = 0; i < sc->nchains; i++) {
		const struct lsr_chain *ch = &sc->chains[i];

		k = site_of[ch->stack];
		if (k == SIZE_MAX || ch->nsteps == 0)
			continue;
		if (best[k] == NULL || reach[ch->stack] > best_bytes[k]) {
			best[k] = ch;
			best_bytes[k] = reach[ch->stack];
		}
	}
	free(best_bytes);
	free(reach);
}

/* What step h (of the site or step before it, prev) holds of prev. */
static struct lsr_amount
step_amount(const struct lsr_report *r, const struct lsr_held *prev,
    const struct lsr_held *h)
{
	const struct lsr_site_reach *rc;
	const struct lsr_held *o;
	struct lsr_amount none = { 0, 0 };

	if (prev->kind != LS_OWN_BLOCK || prev->site == SIZE_MAX)
		return none;
	rc = r->sites[prev->site].reach;
	if (h->kind == LS_OWN_BLOCK && h->site == prev->site)
		return rc->self;
	/* The owners are still in key order (merge_owners). */
	if (rc->nowners == 0)
		return none;
	o = bsearch(h, rc->owners, rc->nowners, sizeof(*rc->owners), by_key);
	return o ? o->held : none;
}

/* Site k's chain ch: the steps of its chosen stack's chain mapped to sites,
 * consecutive steps of one site merged. */
static void
chain_steps(struct lsr_report *r, const size_t *site_of, size_t k,
    const struct lsr_chain *ch)
{
	struct lsr_site_reach *rc = r->sites[k].reach;
	struct lsr_held prev = { .kind = LS_OWN_BLOCK, .site = k };
	size_t i;

	if (ch == NULL)
		return;
	rc->chain = lsr_xcalloc(ch->nsteps, sizeof(*rc->chain));
	for (i = 0; i < ch->nsteps; i++) {
		struct lsr_held h = held_key(site_of, ch->steps[i].kind,
		    ch->steps[i].owner);

		h.collapsed = ch->steps[i].nblocks;
		if (rc->nchain > 0 && same_owner(&rc->chain[rc->nchain - 1],
		    &h)) {
			rc->chain[rc->nchain - 1].collapsed += h.collapsed;
			continue;
		}
		h.held = step_amount(r, rc->nchain ?
		    &rc->chain[rc->nchain - 1] : &prev, &h);
		rc->chain[rc->nchain++] = h;
	}
}

/* The last scan at or before r->snap, or NULL. */
static const struct lsr_scan *
pick_scan(const struct lsr_report *r)
{
	const struct lsr_dump *d = r->d;
	const struct lsr_scan *best = NULL;
	size_t i;

	for (i = 0; i < d->nscans; i++)
		if (d->scans[i].snap <= r->snap)
			best = &d->scans[i];
	return best;
}

void
lsr_scan_group(struct lsr_report *r)
{
	const struct lsr_chain **best;
	size_t *site_of, *caps, i, j;

	r->scan = pick_scan(r);
	/* A scan that could not be taken has no figures: no site's reach is
	 * known, none is "nothing lost". */
	if (r->scan == NULL || r->nsites == 0 || (!r->scan->complete &&
	    r->scan->nsplit == 0))
		return;
	site_of = lsr_xcalloc(r->d->nstacks + 1, sizeof(*site_of));
	caps = lsr_xcalloc(r->nsites, sizeof(*caps));
	for (i = 0; i < r->d->nstacks; i++)
		site_of[i] = SIZE_MAX;
	for (i = 0; i < r->nsites; i++) {
		r->sites[i].reach = lsr_xcalloc(1, sizeof(*r->sites[i].reach));
		for (j = 0; j < r->sites[i].nmembers; j++)
			site_of[r->sites[i].members[j]] = i;
	}
	sum_sites(r, site_of, caps);
	for (i = 0; i < r->nsites; i++)
		merge_owners(r->sites[i].reach);
	best = lsr_xcalloc(r->nsites, sizeof(*best));
	site_chains(r, site_of, best);
	for (i = 0; i < r->nsites; i++)
		chain_steps(r, site_of, i, best[i]);
	for (i = 0; i < r->nsites; i++) {
		struct lsr_site_reach *rc = r->sites[i].reach;

		if (rc->nowners > 1)
			qsort(rc->owners, rc->nowners, sizeof(*rc->owners),
			    by_held);
	}
	free(best);
	free(caps);
	free(site_of);
}
