/* SPDX-License-Identifier: MIT */
/*
 * The site table's layout and its hot-path lookups, inline for the
 * recording path (blocks.c); the table itself is sites.c.  The writer's
 * view of a site (lsp_site_count, lsp_site_get) is in lsp.h.
 */
#ifndef LS_SITES_H
#define LS_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "hash.h"
#include "leb128.h"

#define LSP_SITE_DIR_SHIFT	12	/* sites per directory chunk */
#define LSP_SITE_DIR_CHUNKS	4096	/* up to 16M sites */
#define LSP_SITE_CHAINS0	10	/* the first size: 1,024 chains */

/*
 * A site's counters, updated with relaxed atomics.  There are LSP_NSLICE
 * copies of every site's counters, each copy in an array of its own
 * indexed by site id (lsp_site_slices), and a thread always uses the same
 * slice: threads allocating from one site do not write the same cache
 * line.  The writer adds the slices up (one alone may go negative: blocks
 * are freed by other threads than allocated them); a snapshot taken while
 * threads allocate is off by the calls in flight, and exact once they
 * are done.
 */
#define LSP_NSLICE 4
struct lsp_counters {
	int64_t live_bytes;
	int64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

/* A call site.  Immutable after publication. */
struct lsp_site {
	struct lsp_site *next;	/* bucket chain */
	uint64_t hash;
	uint32_t id;
	uint32_t gen;
	uint16_t nframes;
	uint8_t api;
	uint8_t flags;
	uint16_t thread;	/* name id of the allocating thread */
	uint8_t code[];		/* the frames, delta-coded (lsp_frame_next) */
};

/*
 * The sites' hash table: 2^bits chains, written under the site table's
 * lock, read lock-free with acquire loads.  When there are as many sites
 * as chains, lsp_site_create doubles it: it links every site again into
 * the chains of a new table, then publishes that.  A reader still on the
 * old table may meet a site whose next already leads into a new chain,
 * and so miss the site it looks for; it then takes lsp_site_create's
 * path, which looks again under the lock.  No chain ever forms a cycle: a
 * site linked again points only to sites linked again before it, one not
 * yet to its old successor.  The old table's pages are given back but its
 * mapping kept, so that a late reader finds empty chains there (and takes
 * the same path); only the newest table is resident.
 */
struct lsp_chains {
	unsigned bits;
	struct lsp_site *slot[];
};

/* All written under the site table's lock (sites.c), read lock-free with
 * acquire loads: the current chains, the directory of sites by id, and
 * each slice's counters by id (a chunk of those before the directory's,
 * so that a site is found only after its counters). */
extern struct lsp_chains *lsp_site_chains
    __attribute__((visibility("hidden")));
extern struct lsp_site **lsp_site_dir[LSP_SITE_DIR_CHUNKS]
    __attribute__((visibility("hidden")));
extern struct lsp_counters *lsp_site_slices[LSP_NSLICE][LSP_SITE_DIR_CHUNKS]
    __attribute__((visibility("hidden")));

/* This thread's slice of every site's counters plus 1 (0: not chosen
 * yet), and how many slices were handed out (atomic). */
extern __thread unsigned lsp_slice_plus1
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
extern unsigned lsp_slices_given __attribute__((visibility("hidden")));

/*
 * Are the n frames coded in c those of f?  Each frame's code is compared
 * with the code f's frame would have (ls_uv_match): the frames need not
 * be decoded one after the other, and a distance under 64 (most frames)
 * is a one-byte compare.  Hot path.
 */
static inline bool
lsp_frames_equal(const uint8_t *c, const uintptr_t *f, unsigned n)
{
	uintptr_t prev = 0;
	unsigned k;

	for (k = 0; k < n; k++) {
		if (!ls_uv_match(&c, ls_zigzag((uint64_t)(f[k] - prev))))
			return false;
		prev = f[k];
	}
	return true;
}

/* Site id, or NULL if not yet published.  Lock-free; hot path. */
static inline struct lsp_site *
lsp_site_by_id(uint32_t id)
{
	struct lsp_site **chunk = __atomic_load_n(
	    &lsp_site_dir[id >> LSP_SITE_DIR_SHIFT], __ATOMIC_ACQUIRE);

	return chunk ? __atomic_load_n(&chunk[id &
	    ((1u << LSP_SITE_DIR_SHIFT) - 1)], __ATOMIC_ACQUIRE) : NULL;
}

static inline bool
lsp_site_matches(const struct lsp_site *s, uint64_t h, const uintptr_t *f,
    unsigned n, unsigned api, unsigned flags, unsigned thread)
{
	return s->hash == h && s->nframes == n && s->api == api &&
	    s->flags == flags && s->thread == thread &&
	    lsp_frames_equal(s->code, f, n);
}

/* The site with hash h and this key in chains t, or NULL (it may still
 * exist: see struct lsp_chains).  Lock-free; hot path. */
static inline struct lsp_site *
lsp_site_find(const struct lsp_chains *t, uint64_t h, const uintptr_t *f,
    unsigned n, unsigned api, unsigned flags, unsigned thread)
{
	struct lsp_site *s = __atomic_load_n(&t->slot[h & ((1u << t->bits) -
	    1)], __ATOMIC_ACQUIRE);

	for (; s != NULL; s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
		if (lsp_site_matches(s, h, f, n, api, flags, thread))
			return s;
	return NULL;
}

/*
 * lsp_site_intern's slow path, under the site table's lock: the site with
 * hash h and this key, found again (another thread may have created it
 * meanwhile, or a reader on old chains missed it) or created and
 * published.  NULL when the table is full or out of memory.  Allocates
 * (mmap).
 */
struct lsp_site *lsp_site_create(uint64_t h, const uintptr_t *f,
    unsigned n, unsigned api, unsigned flags, unsigned thread);

/*
 * The site of n frames f (innermost first) from entry point api, with
 * flags LS_SF_* and thread name id thread, created if it is new.  NULL
 * when the table is full or out of memory.  Hot path.
 */
static inline struct lsp_site *
lsp_site_intern(const uintptr_t *f, unsigned n, unsigned api,
    unsigned flags, unsigned thread)
{
	uint64_t h = ls_hash_frames(f, n, api | flags << 8 | thread << 16);
	struct lsp_site *s = lsp_site_find(__atomic_load_n(&lsp_site_chains,
	    __ATOMIC_ACQUIRE), h, f, n, api, flags, thread);

	return s != NULL ? s : lsp_site_create(h, f, n, api, flags, thread);
}

/* Site s's counters in slice slice. */
static inline struct lsp_counters *
lsp_site_counters(const struct lsp_site *s, unsigned slice)
{
	return &lsp_site_slices[slice][s->id >> LSP_SITE_DIR_SHIFT][s->id &
	    ((1u << LSP_SITE_DIR_SHIFT) - 1)];
}

/* Site s's counters in this thread's slice, chosen on first use. */
static inline struct lsp_counters *
lsp_site_my_counters(const struct lsp_site *s)
{
	if (LS_UNLIKELY(lsp_slice_plus1 == 0))
		lsp_slice_plus1 = __atomic_fetch_add(&lsp_slices_given, 1,
		    __ATOMIC_RELAXED) % LSP_NSLICE + 1;
	return lsp_site_counters(s, lsp_slice_plus1 - 1);
}

/* Add to site s's live bytes and blocks (negative: freed).  Hot path. */
static inline void
lsp_site_add(struct lsp_site *s, int64_t bytes, int64_t blocks)
{
	struct lsp_counters *c = lsp_site_my_counters(s);

	__atomic_fetch_add(&c->live_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->live_blocks, blocks, __ATOMIC_RELAXED);
}

/* Add to site s's allocated totals (modulo 2^64).  Hot path. */
static inline void
lsp_site_alloc_add(struct lsp_site *s, uint64_t bytes, uint64_t blocks)
{
	struct lsp_counters *c = lsp_site_my_counters(s);

	__atomic_fetch_add(&c->alloc_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->alloc_blocks, blocks, __ATOMIC_RELAXED);
}

/* Map the first chains; returns 0 or -ENOMEM.  Start-up only. */
int lsp_sites_init(void);

/* fork handling for the site table's lock: taken before the live-block
 * table's locks (lsp_record_lock_all). */
void lsp_sites_lock(void);
void lsp_sites_unlock(void);
void lsp_sites_reset_lock(void);

#endif /* LS_SITES_H */
