/* SPDX-License-Identifier: MIT */
/*
 * From stacks to call sites: strip the frames that belong to the
 * allocator (libc, the allocator leakspy forwarded to, operator new), so
 * that the first frame is the code that asked for memory, merge the
 * stacks that become the same, then judge each site, keep those worth
 * showing and sort them.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lsr.h"
#include "xalloc.h"

static struct ls_arena group_arena;
#define LS_HASH_ARENA (&group_arena)
#include "ls_hash.h"

/* A site by its key: the stack's frames once stripped (and with
 * LSR_BY_THREAD the thread's name). */
struct gsite {
	const uint64_t *key;
	size_t keylen;
	size_t index;		/* into r->sites */
	UT_hash_handle hh;
};

/* merge_stacks' state: the sites so far, by key, in group_arena. */
struct merge {
	struct lsr_report *r;
	struct gsite *table;
	size_t cap;		/* of r->sites */
};

static bool
is_alloc_module(struct lsr_dump *d, const struct lsr_module *m)
{
	const char *base;
	size_t i;

	if (m == NULL)
		return false;
	base = lsr_base_name(m->path);
	if (strncmp(base, "libleakspy.so", 13) == 0)
		return true;
	for (i = 0; i < d->nalloc_addrs; i++)
		if (lsr_module_of(d, d->alloc_addrs[i], 0) == m)
			return true;
	return false;
}

static bool
is_wrapper_symbol(const char *sym)
{
	return sym != NULL && (strncmp(sym, "operator new", 12) == 0 ||
	    strncmp(sym, "_Znw", 4) == 0 || strncmp(sym, "_Zna", 4) == 0);
}

/* The name to show for a stripped frame: "operator new[]", "strdup"
 * (malloc'd, at most 255 bytes). */
static const char *
short_name(const char *sym)
{
	const char *paren;
	size_t n;

	if (sym == NULL)
		return NULL;
	/* glibc's internal aliases: __strdup, _IO_puts, __libc_malloc. */
	for (;;) {
		if (strncmp(sym, "__", 2) == 0)
			sym += 2;
		else if (strncmp(sym, "_IO_", 4) == 0)
			sym += 4;
		else if (strncmp(sym, "libc_", 5) == 0)
			sym += 5;
		else
			break;
	}
	paren = strchr(sym, '(');
	n = paren ? (size_t)(paren - sym) : strlen(sym);
	return lsr_xstrndup(sym, n < 255 ? n : 255);
}

/* How many leading frames of s are the allocator's (the last frame
 * stays); *via: the name of the last of them (malloc'd), or NULL. */
static unsigned
strip(struct lsr_dump *d, const struct lsr_stack *s, const char **via)
{
	unsigned k = 0;
	const char *last = NULL;

	while (k + 1 < s->nframes) {
		struct lsr_module *m = lsr_module_of(d, s->ip[k], s->gen);
		const char *sym = lsr_symbol_name(d, s->ip[k], s->gen);

		if (!is_alloc_module(d, m) && !is_wrapper_symbol(sym))
			break;
		last = sym;
		k++;
	}
	*via = last ? short_name(last) : NULL;
	return k;
}

/* Was stack st live at some snapshot up to k? */
static bool
ever_live(const struct lsr_dump *d, uint32_t st, size_t k)
{
	struct lsr_chg_iter it;

	lsr_chg_begin(&d->stacks[st], &it);
	while (lsr_chg_next(&it) && it.snap <= k)
		if (it.v.live_blocks != 0 || it.v.live_bytes != 0)
			return true;
	return false;
}

/* The key of stack s once its first skip frames are stripped: the rest of
 * its frames, then with LSR_BY_THREAD the index of its thread's name (the
 * names are interned). */
static const uint64_t *
site_key(const struct lsr_report *r, const struct lsr_stack *s,
    unsigned skip, size_t *keylen)
{
	size_t n = s->nframes - skip;
	uint64_t *k;

	*keylen = n * sizeof(uint64_t);
	if (!r->by_thread)
		return s->ip + skip;
	k = ls_arena_alloc(&group_arena, *keylen + sizeof(uint64_t));
	if (k == NULL)
		lsr_nomem();
	memcpy(k, s->ip + skip, *keylen);
	k[n] = s->thread;
	*keylen += sizeof(uint64_t);
	return k;
}

/* A new site at the end of r->sites, represented by stack st; via is the
 * allocation function strip() found (NULL: the stack's own API). */
static void
site_add(struct merge *m, uint32_t st, unsigned skip, const char *via)
{
	struct lsr_report *r = m->r;
	const struct lsr_dump *d = r->d;
	const struct lsr_stack *s = &d->stacks[st];
	struct lsr_site *site;

	r->sites = lsr_xgrow(r->sites, &m->cap, r->nsites + 1,
	    sizeof(*r->sites));
	site = &r->sites[r->nsites++];
	memset(site, 0, sizeof(*site));
	site->stack = st;
	site->skip = skip;
	site->via = via ? via : lsr_xstrdup(lsr_api_name(s->api));
	if (r->by_thread)
		site->thread = d->thread_names && s->thread < d->nthread_names ?
		    d->thread_names[s->thread] : "";
}

/* Find site index by key from now on. */
static void
index_site(struct merge *m, const uint64_t *key, size_t keylen,
    size_t index)
{
	struct gsite *g = ls_arena_zalloc(&group_arena, sizeof(*g));
	unsigned long oom = ls_hash_oom_count;

	if (g == NULL)
		lsr_nomem();
	g->key = key;
	g->keylen = keylen;
	g->index = index;
	HASH_ADD_KEYPTR(hh, m->table, g->key, g->keylen, g);
	/* Left out of the table, the site would be split in two by its
	 * next stack. */
	if (ls_hash_oom_count != oom)
		lsr_nomem();
}

/* Merge stack st into the site of its key, adding the site if new.
 * Returns the site's index in r->sites. */
static size_t
merge_stack(struct merge *m, uint32_t st)
{
	const struct lsr_stack *s = &m->r->d->stacks[st];
	const char *via;
	unsigned skip = strip(m->r->d, s, &via);
	size_t keylen, index;
	const uint64_t *key = site_key(m->r, s, skip, &keylen);
	struct lsr_site *site;
	struct gsite *g;

	HASH_FIND(hh, m->table, key, keylen, g);
	if (g != NULL) {
		index = g->index;
		free((void *)via);
	} else {
		index = m->r->nsites;
		site_add(m, st, skip, via);
		index_site(m, key, keylen, index);
	}
	site = &m->r->sites[index];
	site->truncated |= (s->flags & LS_SF_TRUNCATED) != 0;
	site->nmembers++;
	return index;
}

/* Merge the stacks live at some snapshot up to r->snap into r->sites;
 * site_of[i] is stack i's site, or SIZE_MAX. */
static void
merge_stacks(struct lsr_report *r, size_t *site_of)
{
	struct merge m = { .r = r };
	struct gsite *g, *tmp;
	size_t i;

	ls_arena_init(&group_arena, 1 << 20);
	for (i = 0; i < r->d->nstacks; i++)
		site_of[i] = ever_live(r->d, (uint32_t)i, r->snap) ?
		    merge_stack(&m, (uint32_t)i) : SIZE_MAX;
	HASH_ITER(hh, m.table, g, tmp)
		HASH_DEL(m.table, g);
	ls_arena_fini(&group_arena);
}

/* The members of each site, in stack order. */
static void
fill_members(struct lsr_report *r, const size_t *site_of)
{
	size_t i;

	for (i = 0; i < r->nsites; i++) {
		r->sites[i].members = lsr_xcalloc(r->sites[i].nmembers,
		    sizeof(uint32_t));
		r->sites[i].nmembers = 0;
	}
	for (i = 0; i < r->d->nstacks; i++)
		if (site_of[i] != SIZE_MAX) {
			struct lsr_site *s = &r->sites[site_of[i]];

			s->members[s->nmembers++] = (uint32_t)i;
		}
}

/* Site s's verdict over its series, its figures at r->snap and, with
 * --diff, its change since r->from. */
static void
site_figures(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_point *series)
{
	const struct lsr_point *p = &series[r->snap];

	lsr_trend(series, r->snap + 1, &s->growth);
	s->v.live_bytes = p->bytes;
	s->v.live_blocks = p->blocks;
	s->v.alloc_bytes = p->alloc_bytes;
	s->v.alloc_blocks = p->alloc_blocks;
	if (r->d->inherited_epoch != 0 && s->v.live_blocks != 0)
		lsr_site_age_profile(r, s);
	if (r->from != SIZE_MAX)
		lsr_site_diff(r, s, series);
}

/* Add site s to the report's totals, which count every site, shown or
 * not. */
static void
add_to_totals(struct lsr_report *r, const struct lsr_site *s,
    const struct lsr_point *series)
{
	r->totals.live_bytes += s->v.live_bytes;
	r->totals.live_blocks += s->v.live_blocks;
	/* Zero unless site_figures found blocks from the parent. */
	r->inherited_bytes += s->inherited_bytes;
	r->inherited_blocks += s->inherited_blocks;
	if (r->from == SIZE_MAX)
		return;
	r->from_totals.live_bytes += series[r->from].bytes;
	r->from_totals.live_blocks += series[r->from].blocks;
	r->new_bytes += s->diff.new_bytes;
	r->new_blocks += s->diff.new_blocks;
}

/* Shown: what is live now, and growth even if released; in a diff, what
 * changed (and with LSR_KEEP_LIVE what is live at B). */
static bool
site_shown(const struct lsr_report *r, const struct lsr_site *s)
{
	if (r->from != SIZE_MAX)
		return s->diff.new_blocks != 0 || s->diff.live_bytes != 0 ||
		    s->diff.live_blocks != 0 || (r->keep_live &&
		    s->v.live_blocks != 0);
	return s->v.live_blocks != 0 || s->v.live_bytes != 0 ||
	    s->growth.verdict == LSR_V_GROWING;
}

/* Count shown site s in the report's nlive, ngrowing and growing_rate. */
static void
count_shown(struct lsr_report *r, const struct lsr_site *s)
{
	if (s->v.live_blocks != 0 || s->v.live_bytes != 0)
		r->nlive++;
	if (s->growth.verdict == LSR_V_GROWING) {
		r->ngrowing++;
		r->growing_rate += s->growth.bytes_per_second;
	}
}

/* Judge every site and add it to the totals; keep in r->sites only the
 * ones shown, in the same order. */
static void
judge_sites(struct lsr_report *r)
{
	struct lsr_point *series = lsr_xcalloc(r->snap + 1, sizeof(*series));
	size_t i, kept = 0;

	for (i = 0; i < r->nsites; i++) {
		struct lsr_site *s = &r->sites[i];

		lsr_site_series(r, s, series);
		site_figures(r, s, series);
		add_to_totals(r, s, series);
		if (!site_shown(r, s)) {
			free(s->members);
			free((void *)s->via);
			continue;
		}
		count_shown(r, s);
		r->sites[kept++] = *s;
	}
	r->nsites = kept;
	free(series);
}

/* Add the allocated figures at snapshot k of every stack, live or not,
 * to t. */
static void
add_alloc_totals(const struct lsr_dump *d, size_t k, struct lsr_vals *t)
{
	struct lsr_vals *all = lsr_state_at(d, k);
	size_t i;

	for (i = 0; i < d->nstacks; i++) {
		t->alloc_bytes += all[i].alloc_bytes;
		t->alloc_blocks += all[i].alloc_blocks;
	}
	free(all);
}

/* Growing sites first, fastest first; then by live bytes. */
static int
by_interest(const void *a, const void *b)
{
	const struct lsr_site *x = a, *y = b;
	bool gx = x->growth.verdict == LSR_V_GROWING;
	bool gy = y->growth.verdict == LSR_V_GROWING;

	if (gx != gy)
		return gx ? -1 : 1;
	if (gx && x->growth.bytes_per_second != y->growth.bytes_per_second)
		return x->growth.bytes_per_second < y->growth.bytes_per_second ?
		    1 : -1;
	if (x->v.live_bytes != y->v.live_bytes)
		return x->v.live_bytes < y->v.live_bytes ? 1 : -1;
	if (x->v.live_blocks != y->v.live_blocks)
		return x->v.live_blocks < y->v.live_blocks ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* --diff order: what was allocated in the window and stays, then the
 * change in live bytes. */
static int
by_new(const void *a, const void *b)
{
	const struct lsr_site *x = a, *y = b;
	int64_t dx = x->diff.live_bytes, dy = y->diff.live_bytes;

	if (x->diff.new_bytes != y->diff.new_bytes)
		return x->diff.new_bytes < y->diff.new_bytes ? 1 : -1;
	if (dx != dy)
		return dx < dy ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

void
lsr_group(struct lsr_dump *d, size_t snap, size_t from, unsigned flags,
    struct lsr_report *r)
{
	size_t *site_of;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->by_thread = (flags & LSR_BY_THREAD) != 0;
	r->keep_live = (flags & LSR_KEEP_LIVE) != 0;
	r->snap = snap;
	r->from = from;
	if (snap >= d->nsnaps)
		return;
	r->ages_ok = from != SIZE_MAX && d->snaps[snap].ages_complete;
	site_of = lsr_xcalloc(d->nstacks + 1, sizeof(*site_of));
	merge_stacks(r, site_of);
	fill_members(r, site_of);
	free(site_of);
	judge_sites(r);
	add_alloc_totals(d, snap, &r->totals);
	if (from != SIZE_MAX)
		add_alloc_totals(d, from, &r->from_totals);
	if (r->nsites > 1)
		qsort(r->sites, r->nsites, sizeof(*r->sites),
		    from != SIZE_MAX ? by_new : by_interest);
	lsr_scan_group(r);
}

void
lsr_report_fini(struct lsr_report *r)
{
	size_t i;

	for (i = 0; i < r->nsites; i++) {
		free((void *)r->sites[i].via);
		free(r->sites[i].members);
		if (r->sites[i].reach != NULL) {
			free(r->sites[i].reach->owners);
			free(r->sites[i].reach->chain);
			free(r->sites[i].reach);
		}
	}
	free(r->sites);
	memset(r, 0, sizeof(*r));
}
