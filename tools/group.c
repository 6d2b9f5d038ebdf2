/* SPDX-License-Identifier: MIT */
/*
 * From stacks to call sites: strip the frames that belong to the
 * allocator (libc, the allocator leakspy forwarded to, operator new), so
 * that the first frame is the code that asked for memory, then merge the
 * stacks that become the same.
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

struct gsite {
	const uint64_t *key;
	size_t keylen;
	size_t index;		/* into r->sites */
	UT_hash_handle hh;
};

bool
lsr_thread_at_exit(const struct lsr_report *r)
{
	const struct lsr_snapshot *s = lsr_report_snap(r);

	/* A process a signal ended had no chance to join its threads. */
	return s != NULL && r->snap == r->d->nsnaps - 1 && r->d->final &&
	    r->d->final_how != LS_FINAL_SIGNAL &&
	    s->reason != LS_SNAP_INTERVAL && s->reason != LS_SNAP_SIGNAL;
}

bool
lsr_thread_leaked(const struct lsr_report *r, const struct lsr_thread_ver *v)
{
	return v->state == LS_THREAD_EXITED_UNJOINED ||
	    (v->state == LS_THREAD_RUNNING && lsr_thread_at_exit(r));
}

static bool
is_alloc_module(struct lsr_dump *d, const struct lsr_module *m)
{
	const char *base;
	size_t i;

	if (m == NULL)
		return false;
	base = strrchr(m->path, '/');
	base = base ? base + 1 : m->path;
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

/* The name to show for a stripped frame: "operator new[]", "strdup". */
static const char *
short_name(const char *sym)
{
	static char buf[256];
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
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, sym, n);
	buf[n] = '\0';
	return lsr_xstrdup(buf);
}

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

void
lsr_site_series(const struct lsr_report *r, const struct lsr_site *s,
    struct lsr_point *p)
{
	const struct lsr_dump *d = r->d;
	size_t k = r->snap, j, m;
	struct lsr_chg_iter it;

	for (j = 0; j <= k; j++) {
		memset(&p[j], 0, sizeof(p[j]));
		p[j].t = (double)d->snaps[j].mono_ns / 1e9;
	}
	for (m = 0; m < s->nmembers; m++) {
		struct lsr_vals v = { 0 };
		size_t from = 0;

		/* Each figure holds from its snapshot to the next change. */
		lsr_chg_begin(&d->stacks[s->members[m]], &it);
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
}

static int
by_epoch(const void *a, const void *b)
{
	const struct lsr_epoch_live *x = a, *y = b;

	return x->epoch < y->epoch ? -1 : x->epoch > y->epoch;
}

size_t
lsr_site_ages(const struct lsr_report *r, const struct lsr_site *s,
    size_t k, struct lsr_epoch_live **out)
{
	/* slot[e]: 1 + where epoch e is in v for the current stack. */
	static uint32_t slot[65536];
	const struct lsr_dump *d = r->d;
	struct lsr_epoch_live *v = NULL;
	struct lsr_age_iter it;
	size_t n = 0, cap = 0, m, i, w, first;

	for (m = 0; m < s->nmembers; m++) {
		/* Later entries overwrite: an epoch's figure at snapshot k is
		 * its last entry up to k. */
		first = n;
		lsr_age_begin(&d->stacks[s->members[m]], &it);
		while (lsr_age_next(&it) && it.snap <= k) {
			uint32_t e = it.epoch & 0xffff;

			if (it.clear) {
				for (i = first; i < n; i++)
					v[i].blocks = v[i].bytes = 0;
				continue;
			}
			if (slot[e] == 0) {
				v = lsr_xgrow(v, &cap, n + 1, sizeof(*v));
				v[n].epoch = it.epoch;
				slot[e] = (uint32_t)(++n - first);
			}
			v[first + slot[e] - 1].blocks = it.blocks;
			v[first + slot[e] - 1].bytes = it.bytes;
		}
		for (i = first; i < n; i++)
			slot[v[i].epoch & 0xffff] = 0;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), by_epoch);
	/* Merge equal epochs of different stacks; drop empty ones. */
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
	*out = v;
	return w;
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

void
lsr_site_age_profile(const struct lsr_report *r, struct lsr_site *s)
{
	const struct lsr_dump *d = r->d;
	struct lsr_epoch_live *v;
	size_t n = lsr_site_ages(r, s, r->snap, &v), i;
	double now = (double)d->snaps[r->snap].mono_ns / 1e9, from, to;
	uint64_t total = 0, acc = 0;
	bool median = false, p90 = false;

	s->has_age = n > 0 && d->snaps[r->snap].ages_complete;
	s->inherited_blocks = s->inherited_bytes = 0;
	for (i = 0; i < n; i++) {
		total += v[i].blocks;
		if (v[i].epoch < d->inherited_epoch) {
			s->inherited_blocks += v[i].blocks;
			s->inherited_bytes += v[i].bytes;
		}
	}
	/* Oldest first: ages fall as epochs rise. */
	for (i = 0; s->has_age && i < n; i++) {
		double age;

		epoch_time(d, v[i].epoch, &from, &to);
		age = now - (from + to) / 2;
		if (age < 0)
			age = 0;
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
	free(v);
}

/* Compare site s at r->snap with snapshot r->from. */
static void
site_diff(const struct lsr_report *r, struct lsr_site *s,
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

int
lsr_group(struct lsr_dump *d, size_t snap, size_t from, unsigned flags,
    struct lsr_report *r)
{
	struct gsite *table = NULL, *g, *tmp;
	struct lsr_point *series;
	size_t i, cap = 0, kept, *site_of;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->by_thread = (flags & LSR_BY_THREAD) != 0;
	r->snap = snap;
	r->from = from;
	if (snap >= d->nsnaps)
		return 0;
	r->ages_ok = from != SIZE_MAX && d->snaps[snap].ages_complete;
	site_of = lsr_xcalloc(d->nstacks + 1, sizeof(*site_of));
	ls_arena_init(&group_arena, 1 << 20);
	for (i = 0; i < d->nstacks; i++) {
		const struct lsr_stack *s = &d->stacks[i];
		struct lsr_site *site;
		const char *via;
		const uint64_t *key;
		unsigned skip;
		size_t keylen;

		site_of[i] = SIZE_MAX;
		if (!ever_live(d, (uint32_t)i, snap))
			continue;
		skip = strip(d, s, &via);
		keylen = (s->nframes - skip) * sizeof(uint64_t);
		key = s->ip + skip;
		if (r->by_thread) {
			/* The thread's name is part of the key. */
			uint64_t *k = ls_arena_alloc(&group_arena,
			    keylen + sizeof(uint64_t));

			if (k == NULL)
				lsr_nomem();
			memcpy(k, key, keylen);
			k[s->nframes - skip] = s->thread;
			key = k;
			keylen += sizeof(uint64_t);
		}
		HASH_FIND(hh, table, key, keylen, g);
		if (g != NULL) {
			site = &r->sites[g->index];
			free((void *)via);
		} else {
			r->sites = lsr_xgrow(r->sites, &cap, r->nsites + 1,
			    sizeof(*r->sites));
			site = &r->sites[r->nsites];
			memset(site, 0, sizeof(*site));
			site->stack = (uint32_t)i;
			site->skip = skip;
			site->via = via ? via : lsr_xstrdup(lsr_api_name(s->api));
			g = ls_arena_zalloc(&group_arena, sizeof(*g));
			if (g == NULL)
				lsr_nomem();
			if (r->by_thread)
				site->thread = d->thread_names &&
				    s->thread < d->nthread_names ?
				    d->thread_names[s->thread] : "";
			g->key = key;
			g->keylen = keylen;
			g->index = r->nsites++;
			HASH_ADD_KEYPTR(hh, table, g->key, g->keylen, g);
		}
		site->truncated |= (s->flags & LS_SF_TRUNCATED) != 0;
		site->nmembers++;
		site_of[i] = g->index;
	}
	HASH_ITER(hh, table, g, tmp)
		HASH_DEL(table, g);
	ls_arena_fini(&group_arena);

	/* The members of each site, in stack order. */
	for (i = 0; i < r->nsites; i++) {
		r->sites[i].members = lsr_xcalloc(r->sites[i].nmembers,
		    sizeof(uint32_t));
		r->sites[i].nmembers = 0;
	}
	for (i = 0; i < d->nstacks; i++)
		if (site_of[i] != SIZE_MAX) {
			struct lsr_site *site = &r->sites[site_of[i]];

			site->members[site->nmembers++] = (uint32_t)i;
		}
	free(site_of);

	/* Series, verdicts, and the figures at the snapshot. */
	series = lsr_xcalloc(snap + 1, sizeof(*series));
	for (i = 0, kept = 0; i < r->nsites; i++) {
		struct lsr_site *site = &r->sites[i];

		lsr_site_series(r, site, series);
		lsr_trend(series, snap + 1, &site->growth);
		site->v.live_bytes = series[snap].bytes;
		site->v.live_blocks = series[snap].blocks;
		site->v.alloc_bytes = series[snap].alloc_bytes;
		site->v.alloc_blocks = series[snap].alloc_blocks;
		r->totals.live_bytes += site->v.live_bytes;
		r->totals.live_blocks += site->v.live_blocks;
		if (d->inherited_epoch != 0 && site->v.live_blocks != 0) {
			lsr_site_age_profile(r, site);
			r->inherited_bytes += site->inherited_bytes;
			r->inherited_blocks += site->inherited_blocks;
		}
		if (from != SIZE_MAX) {
			site_diff(r, site, series);
			r->from_totals.live_bytes += series[from].bytes;
			r->from_totals.live_blocks += series[from].blocks;
			r->new_bytes += site->diff.new_bytes;
			r->new_blocks += site->diff.new_blocks;
		}
		/* Shown: what is live now, and growth even if released; in a
		 * diff, what changed. */
		if (from != SIZE_MAX ? site->diff.new_blocks == 0 &&
		    site->diff.live_bytes == 0 && site->diff.live_blocks == 0 :
		    site->v.live_blocks == 0 && site->v.live_bytes == 0 &&
		    site->growth.verdict != LSR_V_GROWING) {
			free(site->members);
			free((void *)site->via);
			continue;
		}
		if (site->v.live_blocks != 0 || site->v.live_bytes != 0)
			r->nlive++;
		if (site->growth.verdict == LSR_V_GROWING) {
			r->ngrowing++;
			r->growing_rate += site->growth.bytes_per_second;
		}
		r->sites[kept++] = *site;
	}
	r->nsites = kept;
	free(series);
	{
		/* Allocated totals over every stack, live or not. */
		struct lsr_vals *all = lsr_state_at(d, snap);

		for (i = 0; i < d->nstacks; i++) {
			r->totals.alloc_bytes += all[i].alloc_bytes;
			r->totals.alloc_blocks += all[i].alloc_blocks;
		}
		free(all);
		if (from != SIZE_MAX) {
			all = lsr_state_at(d, from);
			for (i = 0; i < d->nstacks; i++) {
				r->from_totals.alloc_bytes += all[i].alloc_bytes;
				r->from_totals.alloc_blocks +=
				    all[i].alloc_blocks;
			}
			free(all);
		}
	}
	if (r->nsites > 1)
		qsort(r->sites, r->nsites, sizeof(*r->sites),
		    from != SIZE_MAX ? by_new : by_interest);
	return 0;
}

void
lsr_report_fini(struct lsr_report *r)
{
	size_t i;

	for (i = 0; i < r->nsites; i++) {
		free((void *)r->sites[i].via);
		free(r->sites[i].members);
	}
	free(r->sites);
	memset(r, 0, sizeof(*r));
}
