/* SPDX-License-Identifier: MIT */
/*
 * The in-process aggregates (host threads, hot path; read by the writer):
 * a site table keyed by call stack with per-site counters, and an address
 * table of live blocks.
 *
 * Sites are found without a lock (chains in a fixed bucket array are only
 * ever prepended to, with release stores) and created under site_lock.
 * Blocks live in 256 independently locked open-addressing shards, so
 * threads only meet when their blocks hash to the same shard.  Nothing
 * here calls the allocator it observes: memory comes from mmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "hash.h"
#include "lsp.h"

#define LS_HASH_ARENA (&big_arena)
#include "ls_hash.h"

#define BTAB_BITS0	10	/* the site table's first size: 1,024 chains */
#define DIR_SHIFT	12			/* sites per directory chunk */
#define DIR_CHUNKS	4096			/* up to 16M sites */
#define NSHARD		256
#define SHARD_MIN	32	/* slots; small, so a small heap stays in cache */

/*
 * A site's counters, updated with relaxed atomics.  There are NSLICE
 * copies of every site's counters, each copy in an array of its own
 * indexed by site id (slice_chunks), and a thread always uses the same
 * slice: threads allocating from one site do not write the same cache
 * line.  The writer adds the slices up (one alone may go negative: blocks
 * are freed by other threads than allocated them); a snapshot taken while
 * threads allocate is off by the calls in flight, and exact once they
 * are done.
 */
#define NSLICE 4
struct counters {
	int64_t live_bytes;
	int64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

/* Written under site_lock with the directory chunk, read lock-free. */
static struct counters *slice_chunks[NSLICE][DIR_CHUNKS];

/* A call site.  Immutable after publication. */
struct site {
	struct site *next;	/* bucket chain */
	uint64_t hash;
	uint32_t id;
	uint32_t gen;
	uint16_t nframes;
	uint8_t api;
	uint8_t flags;
	uint16_t thread;	/* name id of the allocating thread */
	uint8_t code[];		/* the frames, delta-coded (lsp_frame_next) */
};

/* Delta-code n frames into out (NULL: only count); returns the length. */
static size_t
frames_encode(uint8_t *out, const uintptr_t *f, unsigned n)
{
	uintptr_t prev = 0;
	size_t len = 0;
	unsigned k;

	for (k = 0; k < n; k++) {
		uint64_t z = ls_zigzag((uint64_t)(f[k] - prev));

		prev = f[k];
		len += out != NULL ? ls_uv_put(out + len, z) : ls_uv_len(z);
	}
	return len;
}

/*
 * Are the n frames coded in c those of f?  Each frame's code is compared
 * with the code f's frame would have (ls_uv_match): the frames need not
 * be decoded one after the other, and a distance under 64 (most frames)
 * is a one-byte compare.
 */
static inline bool
frames_equal(const uint8_t *c, const uintptr_t *f, unsigned n)
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

/*
 * The sites' hash table: 2^bits chains, written under site_lock, read
 * lock-free with acquire loads.  When there are as many sites as chains,
 * site_create doubles it: it links every site again into the chains of a
 * new table, then publishes that.  A reader still on the old table may
 * meet a site whose next already leads into a new chain, and so miss the
 * site it looks for; it then takes site_create's path, which looks again
 * under the lock.  No chain ever forms a cycle: a site linked again
 * points only to sites linked again before it, one not yet to its old
 * successor.  The old table's pages are given back but its mapping kept,
 * so that a late reader finds empty chains there (and takes the same
 * path); only the newest table is resident.
 */
struct btab {
	unsigned bits;
	struct site *slot[];
};
static struct btab *btab;

/* Written under site_lock; read lock-free with acquire loads. */
static struct site **dir[DIR_CHUNKS];
static uint32_t nsites;
static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ls_arena site_arena;	/* under site_lock */

/*
 * A live block in 16 bytes: its address in the low 48 bits of key and the
 * epoch it was allocated in (lsp_epoch, saturating) in the top 16; key 0
 * marks an empty slot.  size UINT32_MAX means the real size is in the big
 * table.
 */
struct blk {
	uint64_t key;
	uint32_t site;
	uint32_t size;
};

#define PTR_BITS	48
#define PTR_MASK	((UINT64_C(1) << PTR_BITS) - 1)
#define EPOCH_MAX	0xffffu

static inline uintptr_t
blk_ptr(const struct blk *b)
{
	return (uintptr_t)(b->key & PTR_MASK);
}

/* Written by the writer (lsp_epoch_next), read on every allocation. */
static uint32_t epoch;

/* --- sampling --- */

/*
 * Filter over recorded blocks, for sampled mode: a free whose bit in
 * lsp_filter is set was never recorded and skips the address table.
 * Each slot counts the recorded blocks that fall in it, and its bit is
 * set while the count is zero.  The shard of a block is picked by its
 * slot's bitmap word (shard_of), so each count and each bitmap word
 * belongs to one shard and changes only under its lock, together with the
 * table: a block's bit is cleared before the lock that inserts it is
 * released, so whichever thread frees the block sees it clear.  The
 * bitmap (4 KiB) stays in cache where counts would not.  A count that
 * reaches its maximum stays there (its bit stays clear), which is how
 * bootstrap blocks keep theirs.
 */
uint64_t lsp_filter[(1u << LSP_FILTER_BITS) / 64];
static uint16_t filter_count[1u << LSP_FILTER_BITS];
static unsigned filter_pinned;	/* slots of bootstrap blocks */

_Static_assert((1u << (LSP_FILTER_BITS - 6)) % NSHARD == 0,
    "a shard must own whole bitmap words");

void
lsp_filter_pin(const void *p)
{
	unsigned i = lsp_filter_slot(p);

	filter_count[i] = UINT16_MAX;
	__atomic_add_fetch(&filter_pinned, 1, __ATOMIC_RELAXED);
	__atomic_and_fetch(&lsp_filter[i / 64], ~(1ull << (i % 64)),
	    __ATOMIC_RELAXED);
}

/* Bits are only cleared after the memset, so that a bootstrap block
 * pinned meanwhile (by a signal handler) keeps its bit clear. */
void
lsp_filter_open(void)
{
	unsigned w, b;

	memset(lsp_filter, 0xff, sizeof(lsp_filter));
	if (__atomic_load_n(&filter_pinned, __ATOMIC_RELAXED) != 0)
		for (w = 0; w < sizeof(lsp_filter) / sizeof(lsp_filter[0]);
		    w++) {
			uint64_t bits = 0;

			for (b = 0; b < 64; b++)
				bits |= (uint64_t)(filter_count[w * 64 + b] ==
				    0) << b;
			__atomic_and_fetch(&lsp_filter[w], bits,
			    __ATOMIC_RELAXED);
		}
}

/* Shard lock held. */
static inline void
filter_add(uintptr_t p, int d)
{
	unsigned i = lsp_filter_slot((const void *)p);
	uint64_t *w = &lsp_filter[i / 64], bit = 1ull << (i % 64);

	if (lsp_cfg.sample == 0 || filter_count[i] == UINT16_MAX)
		return;
	filter_count[i] = (uint16_t)(filter_count[i] + d);
	if (filter_count[i] == 0)
		__atomic_store_n(w, *w | bit, __ATOMIC_RELAXED);
	else if (d > 0 && filter_count[i] == 1)
		__atomic_store_n(w, *w & ~bit, __ATOMIC_RELAXED);
}

/* Per thread: bytes left to the next sample, and a generator state (0:
 * not started).  Only the owning thread touches them. */
__thread uint64_t lsp_sample_left __attribute__((tls_model("initial-exec")));
static __thread uint64_t sample_rng __attribute__((tls_model("initial-exec")));
static uint64_t sample_threads;		/* atomic: seeds */

static uint64_t
splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Bytes to the next sample: exponential with mean lsp_cfg.sample, at
 * least 1. */
static uint64_t
sample_draw(void)
{
	double u;

	sample_rng ^= sample_rng << 13;
	sample_rng ^= sample_rng >> 7;
	sample_rng ^= sample_rng << 17;
	u = ((double)(sample_rng >> 11) + 0.5) / 9007199254740992.0;
	return (uint64_t)(-log(u) * (double)lsp_cfg.sample) + 1;
}

bool
lsp_sample_reached(void)
{
	if (LS_UNLIKELY(sample_rng == 0)) {
		/* A new thread: seeded in thread order, so that a run repeats
		 * its samples; its first point is drawn, not taken. */
		sample_rng = splitmix(__atomic_fetch_add(&sample_threads, 1,
		    __ATOMIC_RELAXED)) | 1;
		lsp_sample_left = sample_draw();
		return false;
	}
	lsp_sample_left = sample_draw();
	return true;
}

/*
 * What one recorded block of n bytes at p stands for.  In full mode, just
 * itself.  Sampled, a block of n bytes was recorded with probability
 * 1 - exp(-n/R), so it counts as 1 / that many blocks (the estimate of
 * tcmalloc and jemalloc); the fraction is rounded up or down by a hash of
 * p, so that its free takes back exactly what its allocation added.
 */
static inline void
weigh(uintptr_t p, size_t n, uint64_t *bytes, uint64_t *blocks)
{
	double w, whole;

	if (LS_LIKELY(lsp_cfg.sample == 0)) {
		*bytes = n;
		*blocks = 1;
		return;
	}
	w = -1.0 / expm1(-(double)(n ? n : 1) / (double)lsp_cfg.sample);
	whole = floor(w);
	*blocks = (uint64_t)whole + ((w - whole) * 4294967296.0 >
	    (double)(ls_hash_ptr(p) >> 32));
	*bytes = (uint64_t)((double)n * w + 0.5);
}

/* Each shard's table and count are guarded by its lock. */
struct shard {
	pthread_mutex_t lock;
	struct blk *tab;
	size_t mask;
	size_t count;
} __attribute__((aligned(LS_CACHELINE)));

static struct shard shards[NSHARD];

/* Every shard's first table, side by side: a mapping each would cost a
 * page each (1 MiB for 256 shards of 512 bytes). */
static struct blk *first_tabs;

/* The tables that outgrow it, while smaller than a page, come from one
 * arena for the same reason (a heap of 8,192 blocks grows most shards to
 * 1 or 2 KiB); larger ones are mapped, so that they can be given back.
 * tab_lock is taken under a shard's lock, never the other way. */
#define TAB_ARENA_MAX	2048	/* bytes */
static struct ls_arena tab_arena;
static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;

static struct blk *
tab_alloc(size_t slots)
{
	struct blk *t;

	if (slots * sizeof(*t) > TAB_ARENA_MAX)
		return ls_map(slots * sizeof(*t));
	pthread_mutex_lock(&tab_lock);
	t = ls_arena_zalloc(&tab_arena, slots * sizeof(*t));
	pthread_mutex_unlock(&tab_lock);
	return t;
}

static void
tab_free(struct blk *t, size_t slots)
{
	if (slots * sizeof(*t) > TAB_ARENA_MAX) {
		ls_unmap(t, slots * sizeof(*t));
		return;
	}
	pthread_mutex_lock(&tab_lock);
	ls_arena_free(&tab_arena, t);
	pthread_mutex_unlock(&tab_lock);
}

/* Blocks of 4 GiB and more; under big_lock. */
struct big {
	uintptr_t ptr;
	size_t size;
	UT_hash_handle hh;
};
static struct big *bigs;
static struct ls_arena big_arena;
static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

/* Shard locks are held briefly: spin a little before sleeping, which
 * spares a waiter the futex wake-up (the snapshot scan takes each). */
static void
init_shard_locks(void)
{
	pthread_mutexattr_t attr;
	unsigned i;

	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	for (i = 0; i < NSHARD; i++)
		pthread_mutex_init(&shards[i].lock, &attr);
	pthread_mutexattr_destroy(&attr);
}

int
lsp_record_init(void)
{
	btab = ls_map(sizeof(*btab) + (sizeof(btab->slot[0]) << BTAB_BITS0));
	if (btab != NULL)
		btab->bits = BTAB_BITS0;
	first_tabs = ls_map(NSHARD * SHARD_MIN * sizeof(struct blk));
	if (btab == NULL || first_tabs == NULL)
		return -ENOMEM;
	ls_arena_init(&site_arena, 1 << 20);
	ls_arena_init(&big_arena, 64 << 10);
	ls_arena_init(&tab_arena, 64 << 10);
	init_shard_locks();
	return 0;
}

static inline struct site *
site_by_id(uint32_t id)
{
	struct site **chunk = __atomic_load_n(&dir[id >> DIR_SHIFT],
	    __ATOMIC_ACQUIRE);

	return chunk ? __atomic_load_n(&chunk[id & ((1u << DIR_SHIFT) - 1)],
	    __ATOMIC_ACQUIRE) : NULL;
}

static inline bool
site_matches(const struct site *s, uint64_t h, const uintptr_t *f,
    unsigned n, unsigned api, unsigned flags, unsigned thread)
{
	return s->hash == h && s->nframes == n && s->api == api &&
	    s->flags == flags && s->thread == thread &&
	    frames_equal(s->code, f, n);
}

static inline struct site *
site_find(const struct btab *t, uint64_t h, const uintptr_t *f, unsigned n,
    unsigned api, unsigned flags, unsigned thread)
{
	struct site *s = __atomic_load_n(&t->slot[h & ((1u << t->bits) - 1)],
	    __ATOMIC_ACQUIRE);

	for (; s != NULL; s = __atomic_load_n(&s->next, __ATOMIC_ACQUIRE))
		if (site_matches(s, h, f, n, api, flags, thread))
			return s;
	return NULL;
}

/* Double the site table, if it can be mapped.  Under site_lock. */
static void
btab_grow(void)
{
	struct btab *old = btab, *nt;
	size_t len = sizeof(*nt) + (sizeof(nt->slot[0]) << (old->bits + 1));
	uint32_t id, mask;

	nt = ls_map(len);
	if (nt == NULL)
		return;
	nt->bits = old->bits + 1;
	mask = (1u << nt->bits) - 1;
	for (id = 0; id < nsites; id++) {
		struct site *s = site_by_id(id);
		uint32_t j = (uint32_t)s->hash & mask;

		__atomic_store_n(&s->next, nt->slot[j], __ATOMIC_RELEASE);
		nt->slot[j] = s;
	}
	__atomic_store_n(&btab, nt, __ATOMIC_RELEASE);
	/* Not in a sandbox, whose filter may not allow madvise. */
	if (!lsp_in_sandbox())
		madvise(old, sizeof(*old) + (sizeof(old->slot[0]) << old->bits),
		    MADV_DONTNEED);
}

static LS_NOINLINE struct site *
site_create(uint64_t h, const uintptr_t *f, unsigned n, unsigned api,
    unsigned flags, unsigned thread)
{
	struct site *s, **bucket;
	uint32_t id;

	pthread_mutex_lock(&site_lock);
	/* Another thread may have created it meanwhile, or a reader on an
	 * old table missed it. */
	s = site_find(btab, h, f, n, api, flags, thread);
	if (s != NULL)
		goto out;
	id = nsites;
	if ((id >> DIR_SHIFT) >= DIR_CHUNKS)
		goto out;	/* s is NULL: too many sites */
	if (dir[id >> DIR_SHIFT] == NULL) {
		struct site **chunk = ls_map(sizeof(*chunk) << DIR_SHIFT);
		unsigned k;

		if (chunk == NULL)
			goto out;
		/* Counters first: a site is found only after its chunk. */
		for (k = 0; k < NSLICE; k++) {
			if (slice_chunks[k][id >> DIR_SHIFT] != NULL)
				continue;
			slice_chunks[k][id >> DIR_SHIFT] = ls_map(
			    sizeof(struct counters) << DIR_SHIFT);
			if (slice_chunks[k][id >> DIR_SHIFT] == NULL) {
				ls_unmap(chunk, sizeof(*chunk) << DIR_SHIFT);
				goto out;
			}
		}
		__atomic_store_n(&dir[id >> DIR_SHIFT], chunk,
		    __ATOMIC_RELEASE);
	}
	s = ls_arena_carve(&site_arena, sizeof(*s) + frames_encode(NULL, f, n));
	if (s == NULL)
		goto out;
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->id = id;
	s->gen = lsp_modgen();
	s->nframes = (uint16_t)n;
	s->api = (uint8_t)api;
	s->flags = (uint8_t)flags;
	s->thread = (uint16_t)thread;
	frames_encode(s->code, f, n);
	bucket = &btab->slot[h & ((1u << btab->bits) - 1)];
	s->next = *bucket;
	__atomic_store_n(&dir[id >> DIR_SHIFT][id & ((1u << DIR_SHIFT) - 1)],
	    s, __ATOMIC_RELEASE);
	__atomic_store_n(bucket, s, __ATOMIC_RELEASE);
	__atomic_store_n(&nsites, id + 1, __ATOMIC_RELEASE);
	if (id + 1 > 1u << btab->bits && btab->bits < 31)
		btab_grow();
out:
	pthread_mutex_unlock(&site_lock);
	return s;
}

static inline struct site *
site_intern(const uintptr_t *f, unsigned n, unsigned api, unsigned flags,
    unsigned thread)
{
	uint64_t h = ls_hash_frames(f, n, api | flags << 8 | thread << 16);
	struct site *s = site_find(__atomic_load_n(&btab, __ATOMIC_ACQUIRE), h,
	    f, n, api, flags, thread);

	return s != NULL ? s : site_create(h, f, n, api, flags, thread);
}

/* This thread's slice of every site's counters (0: not chosen yet). */
static __thread unsigned slice_plus1 __attribute__((tls_model("initial-exec")));
static unsigned slices_given;	/* atomic */

static inline struct counters *
counters_of(const struct site *s, unsigned slice)
{
	return &slice_chunks[slice][s->id >> DIR_SHIFT][s->id &
	    ((1u << DIR_SHIFT) - 1)];
}

static inline struct counters *
my_counters(const struct site *s)
{
	if (LS_UNLIKELY(slice_plus1 == 0))
		slice_plus1 = __atomic_fetch_add(&slices_given, 1,
		    __ATOMIC_RELAXED) % NSLICE + 1;
	return counters_of(s, slice_plus1 - 1);
}

static inline void
site_add(struct site *s, int64_t bytes, int64_t blocks)
{
	struct counters *c = my_counters(s);

	__atomic_fetch_add(&c->live_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->live_blocks, blocks, __ATOMIC_RELAXED);
}

static inline void
site_alloc_add(struct site *s, uint64_t bytes, uint64_t blocks)
{
	struct counters *c = my_counters(s);

	__atomic_fetch_add(&c->alloc_bytes, bytes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->alloc_blocks, blocks, __ATOMIC_RELAXED);
}

/* --- the address table --- */

/* A block's shard is picked by the filter's bitmap word of its slot, and
 * *h, its hash, places it in the shard's table. */
static inline struct shard *
shard_of(uintptr_t p, uint64_t *h)
{
	*h = ls_hash_ptr(p);
	return &shards[(lsp_filter_slot((const void *)p) / 64) % NSHARD];
}

static int
shard_grow(struct shard *sh)
{
	size_t cap = sh->tab ? (sh->mask + 1) * 2 : SHARD_MIN;
	struct blk *first = &first_tabs[(size_t)(sh - shards) * SHARD_MIN];
	struct blk *nt = sh->tab ? tab_alloc(cap) : first;
	size_t i;

	if (nt == NULL)
		return -ENOMEM;
	for (i = 0; sh->tab && i <= sh->mask; i++) {
		struct blk *b = &sh->tab[i];
		size_t j;

		if (b->key == 0)
			continue;
		j = ls_hash_ptr(blk_ptr(b)) & (cap - 1);
		while (nt[j].key != 0)
			j = (j + 1) & (cap - 1);
		nt[j] = *b;
	}
	if (sh->tab && sh->tab != first)
		tab_free(sh->tab, sh->mask + 1);
	sh->tab = nt;
	sh->mask = cap - 1;
	return 0;
}

/*
 * Insert p, allocated in epoch ep.  Returns 0, 1 if p was already there
 * (its old entry is copied to *old and replaced), or -ENOMEM.  Caller
 * holds sh->lock.
 */
static int
shard_insert(struct shard *sh, uint64_t h, uintptr_t p, uint32_t site,
    uint32_t size, unsigned ep, struct blk *old)
{
	uint64_t key = (uint64_t)p | (uint64_t)ep << PTR_BITS;

	size_t i;

	if ((sh->count + 1) * 4 > (sh->mask + 1) * 3 || sh->tab == NULL) {
		if (shard_grow(sh) != 0 &&
		    (sh->tab == NULL || sh->count + 1 > sh->mask))
			return -ENOMEM;
	}
	for (i = h & sh->mask; sh->tab[i].key != 0; i = (i + 1) & sh->mask) {
		if (blk_ptr(&sh->tab[i]) == p) {
			*old = sh->tab[i];
			sh->tab[i].key = key;
			sh->tab[i].site = site;
			sh->tab[i].size = size;
			return 1;
		}
	}
	sh->tab[i].key = key;
	sh->tab[i].site = site;
	sh->tab[i].size = size;
	sh->count++;
	return 0;
}

/* Remove p into *out; false if absent.  Caller holds sh->lock. */
static bool
shard_remove(struct shard *sh, uint64_t h, uintptr_t p, struct blk *out)
{
	size_t i, j;

	if (sh->tab == NULL)
		return false;
	for (i = h & sh->mask; blk_ptr(&sh->tab[i]) != p;
	    i = (i + 1) & sh->mask)
		if (sh->tab[i].key == 0)
			return false;
	*out = sh->tab[i];
	/* Backward-shift deletion keeps every probe chain unbroken. */
	for (j = (i + 1) & sh->mask; sh->tab[j].key != 0;
	    j = (j + 1) & sh->mask) {
		size_t home = ls_hash_ptr(blk_ptr(&sh->tab[j])) & sh->mask;

		if (((j - home) & sh->mask) >= ((j - i) & sh->mask)) {
			sh->tab[i] = sh->tab[j];
			i = j;
		}
	}
	sh->tab[i].key = 0;
	sh->count--;
	return true;
}

static int
big_put(uintptr_t p, size_t size)
{
	struct big *b;
	int r = 0;

	pthread_mutex_lock(&big_lock);
	HASH_FIND(hh, bigs, &p, sizeof(p), b);
	if (b == NULL) {
		unsigned long oom = ls_hash_oom_count;

		b = ls_arena_alloc(&big_arena, sizeof(*b));
		if (b == NULL) {
			r = -ENOMEM;
			goto out;
		}
		b->ptr = p;
		HASH_ADD(hh, bigs, ptr, sizeof(b->ptr), b);
		if (ls_hash_oom_count != oom) {
			ls_arena_free(&big_arena, b);
			r = -ENOMEM;
			goto out;
		}
	}
	b->size = size;
out:
	pthread_mutex_unlock(&big_lock);
	return r;
}

/* The size of big block p (UINT32_MAX if unknown); remove drops it. */
static size_t
big_size(uintptr_t p, bool remove)
{
	struct big *b;
	size_t size = UINT32_MAX;

	pthread_mutex_lock(&big_lock);
	HASH_FIND(hh, bigs, &p, sizeof(p), b);
	if (b != NULL) {
		size = b->size;
		if (remove) {
			HASH_DEL(bigs, b);
			ls_arena_free(&big_arena, b);
		}
	}
	pthread_mutex_unlock(&big_lock);
	return size;
}

static inline size_t
blk_size(const struct blk *b)
{
	return b->size == UINT32_MAX ? big_size(blk_ptr(b), true) : b->size;
}

/* Enter block p of site s, allocated in epoch ep; on failure count it as
 * dropped. */
static void
add_block(uintptr_t p, struct site *s, size_t n, unsigned ep)
{
	uint32_t sz = n >= UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	struct blk old;
	uint64_t h, wb, wn;
	struct shard *sh;
	int r;

	if (LS_UNLIKELY((uint64_t)p > PTR_MASK)) {
		lsp_count(LS_CNT_DROPPED);	/* beyond 48-bit addresses */
		return;
	}
	sh = shard_of(p, &h);
	pthread_mutex_lock(&sh->lock);
	r = shard_insert(sh, h, p, s->id, sz, ep, &old);
	if (r == 0)
		filter_add(p, 1);
	pthread_mutex_unlock(&sh->lock);
	if (r < 0) {
		lsp_count(LS_CNT_DROPPED);
		return;
	}
	if (r == 1) {
		/* p was freed where leakspy could not see it (inside
		 * leakspy, or by a path that bypassed free). */
		struct site *os = site_by_id(old.site);
		uint64_t ob, on;

		weigh(p, blk_size(&old), &ob, &on);
		lsp_count(LS_CNT_MISSED_FREES);
		if (os != NULL)
			site_add(os, -(int64_t)ob, -(int64_t)on);
	}
	if (sz == UINT32_MAX && big_put(p, n) != 0)
		lsp_count(LS_CNT_DROPPED);
	weigh(p, n, &wb, &wn);
	site_add(s, (int64_t)wb, (int64_t)wn);
	site_alloc_add(s, wb, wn);
}

void
lsp_record_alloc(void *p, size_t n, unsigned api)
{
	uintptr_t f[LS_MAX_FRAMES];
	bool truncated = false;
	unsigned nf;
	struct site *s;

	lsp_guard_enter_record();
	nf = lsp_unwind(f, &truncated);
	if (truncated)
		lsp_count(LS_CNT_TRUNCATED);
	s = site_intern(f, nf, api, truncated ? LS_SF_TRUNCATED : 0,
	    lsp_thread_name_id());
	if (LS_LIKELY(s != NULL))
		add_block((uintptr_t)p, s, n, __atomic_load_n(&epoch,
		    __ATOMIC_RELAXED));
	else
		lsp_count(LS_CNT_DROPPED);
	lsp_guard_leave_record();
}

bool
lsp_record_take(void *p, uint32_t *site, size_t *size, unsigned *ep)
{
	struct blk b;
	uint64_t h;
	struct shard *sh = shard_of((uintptr_t)p, &h);
	struct site *s;
	bool found;

	lsp_guard_enter_record();
	pthread_mutex_lock(&sh->lock);
	found = shard_remove(sh, h, (uintptr_t)p, &b);
	if (found)
		filter_add((uintptr_t)p, -1);
	pthread_mutex_unlock(&sh->lock);
	if (found) {
		uint64_t wb, wn;

		*site = b.site;
		*size = blk_size(&b);
		*ep = (unsigned)(b.key >> PTR_BITS);
		weigh((uintptr_t)p, *size, &wb, &wn);
		if ((s = site_by_id(b.site)) != NULL)
			site_add(s, -(int64_t)wb, -(int64_t)wn);
	}
	lsp_guard_leave_record();
	return found;
}

bool
lsp_record_free(void *p)
{
	uint32_t site;
	size_t size;
	unsigned ep;

	return lsp_record_take(p, &site, &size, &ep);
}

void
lsp_record_restore(void *p, uint32_t site, size_t size, unsigned ep)
{
	struct site *s = site_by_id(site);

	lsp_guard_enter_record();
	if (s != NULL) {
		uint64_t wb, wn;

		add_block((uintptr_t)p, s, size, ep);
		/* A failed realloc allocated nothing: undo the totals. */
		weigh((uintptr_t)p, size, &wb, &wn);
		site_alloc_add(s, -wb, -wn);	/* modulo 2^64 */
	}
	lsp_guard_leave_record();
}

unsigned
lsp_epoch_next(void)
{
	unsigned e = __atomic_load_n(&epoch, __ATOMIC_RELAXED);

	if (e < EPOCH_MAX)
		e++;
	__atomic_store_n(&epoch, e, __ATOMIC_RELAXED);
	return e;
}

/* Count block b of a shard's table (or a copy of it) for
 * lsp_record_scan. */
static inline void
scan_one(const struct blk *b, void (*fn)(void *ctx, uint32_t site,
    unsigned ep, uint64_t bytes, uint64_t blocks), void *ctx)
{
	uint64_t wb, wn;
	size_t size;

	if (b->key == 0)
		return;
	size = b->size;
	if (b->size == UINT32_MAX) {
		/* 4 GiB or more: its size is in the big-block table, unless
		 * it was freed since the copy, which the scan then misses
		 * as a scan a moment later would. */
		size = big_size(blk_ptr(b), false);
		if (size == UINT32_MAX)
			return;
	}
	weigh(blk_ptr(b), size, &wb, &wn);
	fn(ctx, b->site, (unsigned)(b->key >> PTR_BITS), wb, wn);
}

void
lsp_record_scan(void (*fn)(void *ctx, uint32_t site, unsigned ep,
    uint64_t bytes, uint64_t blocks), void *ctx)
{
	/* The scan's copy of one shard (callers hold the writer's lock). */
	static struct blk *copy;
	static size_t copy_cap;
	unsigned i;
	size_t j, k, n;

	/* Downwards: a program that allocates upwards through its heap
	 * walks the shards upwards, and would otherwise follow the scan
	 * from shard to shard, waiting at each. */
	for (i = NSHARD; i-- > 0;) {
		struct shard *sh = &shards[i];
		size_t slots;

		/* One shard at a time, and only copied under its lock, whole
		 * with its empty slots (a memcpy, with no branch per slot):
		 * an allocating thread waits at most for the copy of one
		 * shard, not for the counting. */
		pthread_mutex_lock(&sh->lock);
		slots = sh->tab != NULL ? sh->mask + 1 : 0;
		if (slots > copy_cap) {
			struct blk *nc = ls_map(slots * sizeof(*nc));

			if (nc != NULL) {
				if (copy != NULL)
					ls_unmap(copy, copy_cap * sizeof(*copy));
				copy = nc;
				copy_cap = slots;
			}
		}
		if (slots <= copy_cap) {
			if (slots != 0)
				memcpy(copy, sh->tab, slots * sizeof(*copy));
			n = slots;
		} else {
			/* No room for a copy: count under the lock. */
			n = 0;
			for (j = 0; j < slots; j++)
				scan_one(&sh->tab[j], fn, ctx);
		}
		pthread_mutex_unlock(&sh->lock);
		for (k = 0; k < n; k++)
			scan_one(&copy[k], fn, ctx);
	}
}

uint32_t
lsp_site_count(void)
{
	return __atomic_load_n(&nsites, __ATOMIC_ACQUIRE);
}

bool
lsp_site_get(uint32_t id, struct lsp_site_view *v)
{
	struct site *s = site_by_id(id);
	unsigned i;

	if (s == NULL)
		return false;
	v->code = s->code;
	v->nframes = s->nframes;
	v->api = s->api;
	v->flags = s->flags;
	v->thread = s->thread;
	v->gen = s->gen;
	v->live_bytes = v->live_blocks = 0;
	v->alloc_bytes = v->alloc_blocks = 0;
	for (i = 0; i < NSLICE; i++) {
		const struct counters *c = counters_of(s, i);

		v->live_bytes += __atomic_load_n(&c->live_bytes,
		    __ATOMIC_RELAXED);
		v->live_blocks += __atomic_load_n(&c->live_blocks,
		    __ATOMIC_RELAXED);
		v->alloc_bytes += __atomic_load_n(&c->alloc_bytes,
		    __ATOMIC_RELAXED);
		v->alloc_blocks += __atomic_load_n(&c->alloc_blocks,
		    __ATOMIC_RELAXED);
	}
	return true;
}

void
lsp_record_lock_all(void)
{
	unsigned i;

	pthread_mutex_lock(&site_lock);
	for (i = 0; i < NSHARD; i++)
		pthread_mutex_lock(&shards[i].lock);
	pthread_mutex_lock(&tab_lock);	/* shard, then tab: as shard_grow */
	pthread_mutex_lock(&big_lock);	/* shard, then big: as the scan */
}

void
lsp_record_unlock_all(void)
{
	unsigned i;

	pthread_mutex_unlock(&big_lock);
	pthread_mutex_unlock(&tab_lock);
	for (i = NSHARD; i-- > 0;)
		pthread_mutex_unlock(&shards[i].lock);
	pthread_mutex_unlock(&site_lock);
}

void
lsp_record_reset_locks(void)
{
	pthread_mutex_init(&site_lock, NULL);
	pthread_mutex_init(&big_lock, NULL);
	pthread_mutex_init(&tab_lock, NULL);
	init_shard_locks();
}
