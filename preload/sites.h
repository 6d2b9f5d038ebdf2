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
 * A site's counters.  There are LSP_NSLICE copies of every site's
 * counters, each copy in an array of its own indexed by site id
 * (lsp_site_slices), and a thread always uses the same slice: threads
 * allocating from one site do not write the same cache line.  The first
 * LSP_NSHARED slices are shared by the threads that found no slice of
 * their own, and updated with atomic additions; each of the others
 * belongs to one thread at a time, which updates it with a plain load
 * and store (a relaxed atomic store: no locked instruction), until
 * lsp_slice_release.  The writer adds the slices up (one alone may go
 * negative: blocks are freed by other threads than allocated them); a
 * snapshot taken while threads allocate is off by the calls in flight,
 * and exact once they are done.
 */
#define LSP_NSHARED 4
#define LSP_NSLICE 16
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
	uint16_t len;		/* of code */
	uint8_t code[];		/* the frames, delta-coded (lsp_frame_next) */
};

/* Room for the code of LS_MAX_FRAMES frames (10 bytes a frame at most)
 * and its padding. */
#define LSP_CODE_MAX	(LS_MAX_FRAMES * 10 + 8)

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
 * yet); a slice from LSP_NSHARED on is its own. */
extern __thread unsigned lsp_slice_plus1
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Choose this thread's slice: one of its own if one is free, else a
 * shared one.  Returns its number plus 1. */
unsigned lsp_slice_claim(void);

/* The thread ends (its cleanup handler): give back its own slice, if it
 * has one, to the next thread; what it still allocates or frees (its
 * thread-local destructors) goes to a shared slice. */
void lsp_slice_release(void);

/* A fork child: only the forking thread still owns a slice. */
void lsp_slices_postfork_child(void);

/*
 * Delta-code n frames f into out (LSP_CODE_MAX bytes): each the zigzag
 * LEB128 of its distance from the one before (the first from 0), as
 * lsp_frame_next reads them, then zeros up to the next multiple of 8
 * bytes.  Returns the length without them.  Hot path: a stack is coded
 * once, then hashed as words and compared as bytes.
 */
static inline size_t
lsp_frames_code(uint8_t *out, const uintptr_t *f, unsigned n)
{
	uintptr_t prev = 0;
	size_t len = 0;
	unsigned k;

	for (k = 0; k < n; k++) {
		uint64_t z = ls_zigzag((uint64_t)(f[k] - prev));

		prev = f[k];
		while (z >= 0x80) {
			out[len++] = (uint8_t)(z | 0x80);
			z >>= 7;
		}
		out[len++] = (uint8_t)z;
	}
	__builtin_memset(out + len, 0, 8);
	return len;
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

/* A stack looked up: its frames' code, its key and their hash. */
struct lsp_site_key {
	uint64_t hash;
	const uint8_t *code;
	size_t len;
	unsigned nframes, api, flags, thread;
};

static inline bool
lsp_site_matches(const struct lsp_site *s, const struct lsp_site_key *k)
{
	return s->hash == k->hash && s->len == k->len &&
	    s->nframes == k->nframes && s->api == k->api &&
	    s->flags == k->flags && s->thread == k->thread &&
	    __builtin_memcmp(s->code, k->code, k->len) == 0;
}

/* The site of key k in chains t, or NULL (it may still exist: see
 * struct lsp_chains).  Lock-free; hot path. */
static inline struct lsp_site *
lsp_site_find(const struct lsp_chains *t, const struct lsp_site_key *k)
{
	struct lsp_site *s = __atomic_load_n(&t->slot[k->hash &
	    ((1u << t->bits) - 1)], __ATOMIC_ACQUIRE);

	for (; s != NULL; s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
		if (lsp_site_matches(s, k))
			return s;
	return NULL;
}

/*
 * lsp_site_intern's slow path, under the site table's lock: the site of
 * key k, found again (another thread may have created it meanwhile, or a
 * reader on old chains missed it) or created and published.  NULL when
 * the table is full or out of memory.  Allocates (mmap).
 */
struct lsp_site *lsp_site_create(const struct lsp_site_key *k);

/* The site of key k, its code in code (room for k->nframes frames). */
static inline struct lsp_site *
lsp_site_intern_in(uint8_t *code, const uintptr_t *f,
    struct lsp_site_key *k)
{
	struct lsp_site *s;

	k->code = code;
	k->len = lsp_frames_code(code, f, k->nframes);
	k->hash = ls_hash_words(code, (k->len + 7) / 8, k->api |
	    k->flags << 8 | k->thread << 16 | (uint64_t)k->nframes << 32);
	s = lsp_site_find(__atomic_load_n(&lsp_site_chains, __ATOMIC_ACQUIRE),
	    k);
	return s != NULL ? s : lsp_site_create(k);
}

/* A stack deeper than LSP_SHALLOW frames: its code needs room, which a
 * stack near its end (lsp_unwind took no frames) does not have. */
#define LSP_SHALLOW	16
struct lsp_site *lsp_site_intern_deep(const uintptr_t *f,
    struct lsp_site_key *k);

/*
 * The site of n frames f (innermost first) from entry point api, with
 * flags LS_SF_* and thread name id thread, created if it is new.  NULL
 * when the table is full or out of memory.  Hot path.
 */
static inline struct lsp_site *
lsp_site_intern(const uintptr_t *f, unsigned n, unsigned api,
    unsigned flags, unsigned thread)
{
	struct lsp_site_key k = { 0, NULL, 0, n, api, flags, thread };
	uint8_t code[LSP_SHALLOW * 10 + 8];

	if (n > LSP_SHALLOW)
		return lsp_site_intern_deep(f, &k);
	return lsp_site_intern_in(code, f, &k);
}

/* The counters of site id in slice slice: they exist once the id was
 * handed out (dir_chunk_map maps them before a site can be found). */
static inline struct lsp_counters *
lsp_id_counters(uint32_t id, unsigned slice)
{
	return &lsp_site_slices[slice][id >> LSP_SITE_DIR_SHIFT][id &
	    ((1u << LSP_SITE_DIR_SHIFT) - 1)];
}

static inline struct lsp_counters *
lsp_site_counters(const struct lsp_site *s, unsigned slice)
{
	return lsp_id_counters(s->id, slice);
}

/* This thread's slice, chosen on first use. */
static inline unsigned
lsp_my_slice(void)
{
	unsigned k = lsp_slice_plus1;

	if (LS_UNLIKELY(k == 0))
		k = lsp_slice_claim();
	return k - 1;
}

/* *x += d (modulo 2^64) in slice k: a plain load and store in a slice
 * of the thread's own, an atomic addition in a shared one. */
static inline void
lsp_counter_add(uint64_t *x, uint64_t d, unsigned k)
{
	if (LS_LIKELY(k >= LSP_NSHARED))
		__atomic_store_n(x, __atomic_load_n(x, __ATOMIC_RELAXED) + d,
		    __ATOMIC_RELAXED);
	else
		__atomic_fetch_add(x, d, __ATOMIC_RELAXED);
}

/* Add to site id's live bytes and blocks (negative: freed).  Hot
 * path. */
static inline void
lsp_id_add(uint32_t id, int64_t bytes, int64_t blocks)
{
	unsigned k = lsp_my_slice();
	struct lsp_counters *c = lsp_id_counters(id, k);

	lsp_counter_add((uint64_t *)&c->live_bytes, (uint64_t)bytes, k);
	lsp_counter_add((uint64_t *)&c->live_blocks, (uint64_t)blocks, k);
}

/* Add to site s's live figures and its allocated totals at once: a new
 * block.  Hot path. */
static inline void
lsp_site_add_new(struct lsp_site *s, uint64_t bytes, uint64_t blocks)
{
	unsigned k = lsp_my_slice();
	struct lsp_counters *c = lsp_id_counters(s->id, k);

	lsp_counter_add((uint64_t *)&c->live_bytes, bytes, k);
	lsp_counter_add((uint64_t *)&c->live_blocks, blocks, k);
	lsp_counter_add(&c->alloc_bytes, bytes, k);
	lsp_counter_add(&c->alloc_blocks, blocks, k);
}

/* Add to site s's allocated totals (modulo 2^64).  Hot path. */
static inline void
lsp_site_alloc_add(struct lsp_site *s, uint64_t bytes, uint64_t blocks)
{
	unsigned k = lsp_my_slice();
	struct lsp_counters *c = lsp_id_counters(s->id, k);

	lsp_counter_add(&c->alloc_bytes, bytes, k);
	lsp_counter_add(&c->alloc_blocks, blocks, k);
}

/* Map the first chains; returns 0 or -ENOMEM.  Start-up only. */
int lsp_sites_init(void);

/* fork handling for the site table's lock: taken before the live-block
 * table's locks (lsp_record_lock_all). */
void lsp_sites_lock(void);
void lsp_sites_unlock(void);
void lsp_sites_reset_lock(void);

#endif /* LS_SITES_H */
