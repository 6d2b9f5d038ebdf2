/* SPDX-License-Identifier: MIT */
/*
 * The live-block table and the record entry points: every recorded
 * block's site, size and epoch, in 256 independently locked
 * open-addressing shards, so that threads only meet when their blocks hash
 * to the same shard; sizes of 4 GiB and more in a table of their own.
 * The interposers (host threads, hot path) record and forget blocks here;
 * the writer thread starts epochs and scans the table (lsp_record_scan).
 * Nothing here calls the allocator it observes: memory comes from mmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "hash.h"
#include "lsp.h"
#include "sample.h"
#include "sites.h"

#define LS_HASH_ARENA (&big_arena)
#include "ls_hash.h"

#define NSHARD		256
#define SHARD_MIN	32	/* slots: few, so a small heap stays in cache */

/*
 * A live block in 16 bytes: its address in the low 48 bits of key and the
 * epoch it was allocated in (lsp_epoch_next, saturating) in the top 16;
 * key 0 marks an empty slot.  size UINT32_MAX means the real size is in
 * the big table.
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

/* The filter's counts are kept per shard (sample.h): a shard owns whole
 * bitmap words. */
_Static_assert((1u << (LSP_FILTER_BITS - 6)) % NSHARD == 0,
    "a shard must own whole bitmap words");

/* Each shard's table and count are guarded by its lock (shard_lock). */
struct shard {
	unsigned lock;		/* 0 free, 1 held */
	unsigned waiters;	/* threads asleep on lock (atomic) */
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

/*
 * A shard's lock is held for a table insert or removal, or for the copy
 * of one shard (the snapshot scan): a word, taken with one exchange and
 * given back with a plain store, without a call or a second locked
 * instruction on the hot path.  A waiter spins a while, then counts
 * itself a sleeper and sleeps in futex waits of 20 us, so that a waiter
 * of higher priority than the holder still lets it run; the holder wakes
 * a counted sleeper as it gives the lock back.  futex is what pthread's
 * mutexes use: every sandbox that lets the program have threads allows
 * it.
 */
#define SHARD_SPINS	256

static LS_NOINLINE void
shard_lock_wait(struct shard *sh)
{
	struct timespec ts = { 0, 20000 };
	int saved = errno;

	do {
		unsigned spins = 0;

		while (__atomic_load_n(&sh->lock, __ATOMIC_RELAXED) != 0) {
			if (spins++ < SHARD_SPINS) {
				__builtin_ia32_pause();
				continue;
			}
			__atomic_fetch_add(&sh->waiters, 1, __ATOMIC_SEQ_CST);
			(void)syscall(SYS_futex, &sh->lock, FUTEX_WAIT_PRIVATE, 1,
			    &ts, NULL, 0);
			__atomic_fetch_sub(&sh->waiters, 1, __ATOMIC_RELAXED);
		}
	} while (__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE) != 0);
	errno = saved;
}

/* Wake a thread asleep on the lock just given back. */
static LS_NOINLINE void
shard_wake(struct shard *sh)
{
	int saved = errno;

	(void)syscall(SYS_futex, &sh->lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
	    0);
	errno = saved;
}

static inline void
shard_lock(struct shard *sh)
{
	if (LS_UNLIKELY(__atomic_exchange_n(&sh->lock, 1, __ATOMIC_ACQUIRE)))
		shard_lock_wait(sh);
}

/* The release store, then a look for sleepers: one that went to sleep
 * just as the store was made may be missed, and then wakes at its
 * timeout. */
static inline void
shard_unlock(struct shard *sh)
{
	__atomic_store_n(&sh->lock, 0, __ATOMIC_RELEASE);
	if (LS_UNLIKELY(__atomic_load_n(&sh->waiters, __ATOMIC_RELAXED) != 0))
		shard_wake(sh);
}

static void
init_shard_locks(void)
{
	unsigned i;

	for (i = 0; i < NSHARD; i++) {
		__atomic_store_n(&shards[i].lock, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&shards[i].waiters, 0, __ATOMIC_RELAXED);
	}
}

int
lsp_record_init(void)
{
	int r = lsp_sites_init();

	first_tabs = ls_map(NSHARD * SHARD_MIN * sizeof(struct blk));
	if (r != 0 || first_tabs == NULL)
		return -ENOMEM;
	ls_arena_init(&big_arena, 64 << 10);
	ls_arena_init(&tab_arena, 64 << 10);
	init_shard_locks();
	return 0;
}

/*
 * A block's shard.  In sampled mode it is picked by the filter's bitmap
 * word of its slot (whose counts its lock guards): bits 10-17 of the
 * address.  In full mode the filter is not used, and the shard is picked
 * by the 64 MiB region the block is in (a hash of it choosing one group
 * of 16 shards) and the 1 KiB stretch within (16 shards of the group):
 * glibc gives each thread's arena heaps of their own, 64 MiB-aligned, so
 * threads allocating and freeing in their own arenas mostly take locks
 * of different groups, and do not pass the shards' cache lines between
 * cores on every call.
 */
#define REGION_SHIFT	26

static inline unsigned
shard_index(uintptr_t p)
{
	uint64_t r;

	if (lsp_cfg.sample != 0)
		return (lsp_filter_slot((const void *)p) / 64) % NSHARD;
	r = (uint64_t)(p >> REGION_SHIFT) * 0x9e3779b97f4a7c15ull;
	return (unsigned)((r >> 60) << 4 | ((p >> 10) & 15));
}

/* The address bits above those that pick the shard within its group:
 * what tells the stretches of one shard apart. */
static inline unsigned
stretch_shift(void)
{
	return lsp_cfg.sample != 0 ? 18 : 14;
}

/*
 * Where block p goes in its shard's table.  The blocks of one 1 KiB
 * stretch go side by side into 64 slots, and the stretches are spread
 * by a hash.  Blocks that are neighbours in memory, which a program
 * tends to allocate and free one after the other, are so neighbours in
 * the table too, in the same cache lines: with millions of live blocks,
 * most lookups then find their line in the cache instead of memory.
 */
static inline uint64_t
blk_hash(uintptr_t p)
{
	uint64_t h = (uint64_t)(p >> stretch_shift()) * 0x9e3779b97f4a7c15ull;

	/* The offset inside the stretch rotated by the stretch's hash:
	 * blocks aligned to 1 KiB or more, which all have offset 0, would
	 * otherwise share one home slot in 64. */
	return (h ^ h >> 29) << 6 | (((p >> 4) + (h >> 58)) & 63);
}

/* A block's shard, and *h, its hash, which places it in the shard's
 * table. */
static inline struct shard *
shard_of(uintptr_t p, uint64_t *h)
{
	*h = blk_hash(p);
	return &shards[shard_index(p)];
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
		j = blk_hash(blk_ptr(b)) & (cap - 1);
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
		size_t home = blk_hash(blk_ptr(&sh->tab[j])) & sh->mask;

		if (((j - home) & sh->mask) >= ((j - i) & sh->mask)) {
			sh->tab[i] = sh->tab[j];
			i = j;
		}
	}
	sh->tab[i].key = 0;
	sh->count--;
	return true;
}

void
lsp_record_clear(void)
{
	struct big *b, *tmp;
	unsigned i;

	for (i = 0; i < NSHARD; i++) {
		struct shard *sh = &shards[i];

		shard_lock(sh);
		if (sh->tab != NULL)
			memset(sh->tab, 0, (sh->mask + 1) * sizeof(*sh->tab));
		sh->count = 0;
		shard_unlock(sh);
	}
	pthread_mutex_lock(&big_lock);
	HASH_ITER(hh, bigs, b, tmp) {
		HASH_DEL(bigs, b);
		ls_arena_free(&big_arena, b);
	}
	pthread_mutex_unlock(&big_lock);
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

/* The size of big block p (SIZE_MAX if unknown: no block is that big);
 * remove drops it. */
static size_t
big_size(uintptr_t p, bool remove)
{
	struct big *b;
	size_t size = SIZE_MAX;

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
	size_t size;

	if (b->size != UINT32_MAX)
		return b->size;
	size = big_size(blk_ptr(b), true);
	return size != SIZE_MAX ? size : UINT32_MAX;
}

/* Enter block p of site s, allocated in epoch ep; on failure count it as
 * dropped. */
static void
add_block(uintptr_t p, struct lsp_site *s, size_t n, unsigned ep)
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
	shard_lock(sh);
	r = shard_insert(sh, h, p, s->id, sz, ep, &old);
	if (r == 0)
		lsp_filter_add(p, 1);
	shard_unlock(sh);
	if (r < 0) {
		lsp_count(LS_CNT_DROPPED);
		return;
	}
	if (r == 1) {
		/* p was freed where leakspy could not see it (inside
		 * leakspy, or by a path that bypassed free). */
		uint64_t ob, on;

		lsp_weigh(p, blk_size(&old), &ob, &on);
		lsp_count(LS_CNT_MISSED_FREES);
		lsp_id_add(old.site, -(int64_t)ob, -(int64_t)on);
	}
	if (sz == UINT32_MAX && big_put(p, n) != 0)
		lsp_count(LS_CNT_DROPPED);
	lsp_weigh(p, n, &wb, &wn);
	lsp_site_add_new(s, wb, wn);
}

void
lsp_record_alloc(void *p, size_t n, unsigned api)
{
	uintptr_t f[LS_MAX_FRAMES];
	bool truncated = false;
	unsigned nf;
	struct lsp_site *s;

	lsp_guard_enter_record();
	nf = lsp_unwind(f, &truncated);
	if (truncated)
		lsp_count(LS_CNT_TRUNCATED);
	s = lsp_site_intern(f, nf, api, truncated ? LS_SF_TRUNCATED : 0,
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
	bool found;

	lsp_guard_enter_record();
	shard_lock(sh);
	found = shard_remove(sh, h, (uintptr_t)p, &b);
	if (found)
		lsp_filter_add((uintptr_t)p, -1);
	shard_unlock(sh);
	if (found) {
		uint64_t wb, wn;

		*site = b.site;
		*size = blk_size(&b);
		*ep = (unsigned)(b.key >> PTR_BITS);
		lsp_weigh((uintptr_t)p, *size, &wb, &wn);
		/* A block in the table has a site published before it. */
		lsp_id_add(b.site, -(int64_t)wb, -(int64_t)wn);
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
	struct lsp_site *s = lsp_site_by_id(site);

	lsp_guard_enter_record();
	if (s != NULL) {
		uint64_t wb, wn;

		add_block((uintptr_t)p, s, size, ep);
		/* A failed realloc allocated nothing: undo the totals. */
		lsp_weigh((uintptr_t)p, size, &wb, &wn);
		lsp_site_alloc_add(s, -wb, -wn);	/* modulo 2^64 */
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
		if (size == SIZE_MAX)
			return;
	}
	lsp_weigh(blk_ptr(b), size, &wb, &wn);
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
		shard_lock(sh);
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
		shard_unlock(sh);
		for (k = 0; k < n; k++)
			scan_one(&copy[k], fn, ctx);
	}
}

/* The size of big block p for lsp_record_each_block: the table is read
 * without its lock, as no thread changes it meanwhile. */
static uint64_t
big_size_unlocked(uintptr_t p)
{
	struct big *b;

	HASH_FIND(hh, bigs, &p, sizeof(p), b);
	return b != NULL ? b->size : UINT64_MAX;
}

void
lsp_record_each_block(void (*fn)(void *ctx, uintptr_t addr, uint64_t size,
    uint32_t site), void *ctx)
{
	unsigned i;
	size_t j;

	for (i = 0; i < NSHARD; i++) {
		const struct shard *sh = &shards[i];

		for (j = 0; sh->tab != NULL && j <= sh->mask; j++) {
			const struct blk *b = &sh->tab[j];
			uint64_t size = b->size;

			if (b->key == 0)
				continue;
			if (b->size == UINT32_MAX &&
			    (size = big_size_unlocked(blk_ptr(b))) ==
			    UINT64_MAX)
				continue;
			fn(ctx, blk_ptr(b), size, b->site);
		}
	}
}

void
lsp_record_lock_all(void)
{
	unsigned i;

	lsp_sites_lock();
	for (i = 0; i < NSHARD; i++)
		shard_lock(&shards[i]);
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
		shard_unlock(&shards[i]);
	lsp_sites_unlock();
}

void
lsp_record_reset_locks(void)
{
	lsp_sites_reset_lock();
	pthread_mutex_init(&big_lock, NULL);
	pthread_mutex_init(&tab_lock, NULL);
	init_shard_locks();
}
