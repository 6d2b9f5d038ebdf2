/* SPDX-License-Identifier: MIT */
/*
 * From stacks to call sites: strip the frames that belong to the
 * allocator (libc, the allocator leakspy forwarded to, operator new), so
 * that the first frame is the code that asked for memory, then merge the
 * stacks that become the same.
 */
#define _GNU_SOURCE
#include <err.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "lsr.h"

static struct ls_arena group_arena;
#define LS_HASH_ARENA (&group_arena)
#include "ls_hash.h"

struct gsite {
	const uint64_t *key;
	size_t keylen;
	size_t index;		/* into r->sites */
	UT_hash_handle hh;
};

const char *
lsr_api_name(unsigned api)
{
	static const char *const names[LS_API_COUNT] = {
		"malloc", "calloc", "realloc", "reallocarray",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc",
	};

	return api < LS_API_COUNT ? names[api] : "unknown";
}

const char *
lsr_reason_name(unsigned reason)
{
	static const char *const names[LS_SNAP_COUNT] = {
		"exit", "interval", "signal",
	};

	return reason < LS_SNAP_COUNT ? names[reason] : "unknown";
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
	return strdup(buf);
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

static int
by_live(const void *a, const void *b)
{
	const struct lsr_site *x = a, *y = b;

	if (x->v.live_bytes != y->v.live_bytes)
		return x->v.live_bytes < y->v.live_bytes ? 1 : -1;
	if (x->v.live_blocks != y->v.live_blocks)
		return x->v.live_blocks < y->v.live_blocks ? 1 : -1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

int
lsr_group(struct lsr_dump *d, size_t snap, struct lsr_report *r)
{
	struct lsr_vals *vals;
	struct gsite *table = NULL, *g, *tmp;
	size_t i, cap = 0;

	memset(r, 0, sizeof(*r));
	r->d = d;
	r->snap = snap;
	if (snap >= d->nsnaps)
		return 0;
	ls_arena_init(&group_arena, 1 << 20);
	vals = lsr_state_at(d, snap);
	for (i = 0; i < d->nstacks; i++) {
		const struct lsr_vals *v = &vals[i];
		const struct lsr_stack *s = &d->stacks[i];
		struct lsr_site *site;
		const char *via;
		unsigned skip;
		size_t keylen;

		r->totals.live_bytes += v->live_bytes;
		r->totals.live_blocks += v->live_blocks;
		r->totals.alloc_bytes += v->alloc_bytes;
		r->totals.alloc_blocks += v->alloc_blocks;
		if (v->live_blocks == 0 && v->live_bytes == 0)
			continue;
		skip = strip(d, s, &via);
		keylen = (s->nframes - skip) * sizeof(uint64_t);
		HASH_FIND(hh, table, s->ip + skip, keylen, g);
		if (g != NULL) {
			site = &r->sites[g->index];
			free((void *)via);
		} else {
			if (r->nsites == cap) {
				cap = cap ? cap * 2 : 64;
				r->sites = reallocarray(r->sites, cap,
				    sizeof(*r->sites));
				if (r->sites == NULL)
					err(3, "out of memory");
			}
			site = &r->sites[r->nsites];
			memset(site, 0, sizeof(*site));
			site->stack = (uint32_t)i;
			site->skip = skip;
			site->via = via ? via : strdup(lsr_api_name(s->api));
			g = ls_arena_zalloc(&group_arena, sizeof(*g));
			if (g == NULL || site->via == NULL)
				err(3, "out of memory");
			g->key = s->ip + skip;
			g->keylen = keylen;
			g->index = r->nsites++;
			HASH_ADD_KEYPTR(hh, table, g->key, g->keylen, g);
		}
		site->v.live_bytes += v->live_bytes;
		site->v.live_blocks += v->live_blocks;
		site->v.alloc_bytes += v->alloc_bytes;
		site->v.alloc_blocks += v->alloc_blocks;
		site->truncated |= (s->flags & LS_SF_TRUNCATED) != 0;
	}
	HASH_ITER(hh, table, g, tmp)
		HASH_DEL(table, g);
	ls_arena_fini(&group_arena);
	free(vals);
	if (r->nsites > 1)
		qsort(r->sites, r->nsites, sizeof(*r->sites), by_live);
	return 0;
}

void
lsr_report_fini(struct lsr_report *r)
{
	size_t i;

	for (i = 0; i < r->nsites; i++)
		free((void *)r->sites[i].via);
	free(r->sites);
	memset(r, 0, sizeof(*r));
}
