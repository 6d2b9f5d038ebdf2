/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's marking and classification engine: given the live
 * blocks and the root ranges, which blocks are reachable, reachable only
 * through interior pointers, indirectly or definitely lost, who first
 * reached each block (its owner on a shortest path from the roots), and
 * the totals per site with the sites and roots that hold them.  Runs in
 * the scan's child (a raw clone of the host) or at exit with the other
 * threads stopped: async-signal-safe, malloc-free, no locks; its memory
 * is mapped and unmapped by itself.
 *
 * Definitions (those of valgrind memcheck's leak checker):
 * - A start pointer is a word equal to a block's address; an interior
 *   pointer one inside it, [addr + 1, addr + size).  A zero-size block is
 *   matched by a pointer to its address only (as memcheck does).
 * - reachable: a chain of start pointers leads to it from a root.
 * - interior-only (memcheck's "possibly lost"): not reachable, but some
 *   chain from a root leads to it, and every such chain has at least
 *   one interior pointer (root -?-> A -> B: A and B both).
 * - lost: no chain from any root.  Among lost blocks, pointers of either
 *   kind count: a lost block pointed to by another lost block is
 *   indirectly lost, unless it is the representative of a lost cycle that
 *   nothing else points to; that representative (the cycle's lowest
 *   address, memcheck's clique leader) and every lost block that no lost
 *   block points to are definitely lost.  So a cycle of two lost blocks
 *   is one definitely lost block (the lower) and one indirectly lost.
 * - owner: the root or block whose word first reached the block, in
 *   breadth-first order: reachable blocks from the roots through start
 *   pointers (a shortest path of start pointers: back pointers and
 *   cycles never make a path longer); interior-only blocks from the
 *   roots and reachable blocks (those found while marking the reachable
 *   ones, in that order), then through each other; an indirectly lost
 *   block from the lost block that reached it from its clique leader.
 *   Definitely lost blocks have none.
 *
 * Marking keeps two breadth-first queues of block indexes, each sized
 * for every block (a block enters each at most once), so it never
 * allocates while it runs and needs no recursion.
 *
 * Memory: LSP_SCAN_BYTES_PER_BLOCK bytes per block of capacity, mapped by
 * lsp_scan_init (the radix sort's scratch is the marking arrays); while
 * it marks, lsp_scan_run adds a read buffer (LSP_SCAN_BUF) and a cache of
 * readable pages (LSP_SCAN_PCACHE words), 768 KiB, and the lookup's
 * index (scan_index.h): 32 to 64 bytes per 4 KiB granule that a block
 * overlaps, and 4 per block over more than 16 granules; then 64 bytes per site
 * id up to the largest seen, and the retained-by table: 32 bytes per
 * distinct (site, owner) pair, at most twice that while it grows.
 */
#ifndef LS_SCAN_H
#define LS_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Root kinds. */
#define LSP_SCAN_GLOBAL		0	/* a loaded object's writable data */
#define LSP_SCAN_STACK		1	/* a thread's stack from its sp up */
#define LSP_SCAN_TLS		2	/* static TLS, thread descriptor, keys */
#define LSP_SCAN_REGISTER	3	/* a stopped thread's saved registers */
#define LSP_SCAN_NKIND		4

/* Classes, in lsp_scan_site()'s array. */
#define LSP_REACH_REACHABLE	0
#define LSP_REACH_INTERIOR	1	/* memcheck's possibly lost */
#define LSP_REACH_INDIRECT	2
#define LSP_REACH_DEFINITE	3
#define LSP_REACH_NCLASS	4

/* A root range [start, end): its 8-byte-aligned words are scanned.  tag
 * says whose it is (module id, thread serial), below LSP_SCAN_TAG_MAX. */
struct lsp_scan_root {
	uintptr_t start;
	uintptr_t end;
	unsigned kind;			/* LSP_SCAN_*: roots.h's REGS is REGISTER,
					 * DESC is TLS */
	uint32_t tag;
};
#define LSP_SCAN_TAG_MAX	(1u << 29)

/*
 * Where the scan reads memory.  read copies the n ranges src[] in order
 * into dst, back to back, and returns how many bytes it copied before
 * the first byte it could not read (the sum of the lengths if all), or
 * -errno if it cannot read at all (EPERM, ENOSYS under seccomp).
 */
struct lsp_scan_reader {
	ssize_t (*read)(void *ctx, const struct iovec *src, unsigned n,
	    void *dst);
	void *ctx;
	/* The ranges are this process's own memory, whose mappings do not
	 * change while the scan runs (a clone's child, the world stopped):
	 * the scan then only probes a word of each page through read (a
	 * call for up to 64 pages, remembered in a cache) and reads the
	 * pages that answered directly, without copying. */
	bool direct;
};

/* The reader for this process's own memory: process_vm_readv on getpid(),
 * which returns a short count where memory is unreadable (PROT_NONE,
 * unmapped) instead of faulting.  ctx is unused.  Async-signal-safe. */
ssize_t lsp_scan_read_self(void *ctx, const struct iovec *src, unsigned n,
    void *dst);

/* An owner: a block's index (below LSP_SCAN_ROOT_BIT), a root's index in
 * the array given to lsp_scan_run (with LSP_SCAN_ROOT_BIT), or none. */
#define LSP_SCAN_ROOT_BIT	0x80000000u
#define LSP_SCAN_NONE		UINT32_MAX

/* A block's flags (lsp_scan_flags): some scanned word pointed at its
 * start, or inside it (from anywhere: a root, a reached or a lost block). */
#define LSP_SCAN_F_START	0x40
#define LSP_SCAN_F_INTERIOR	0x80

/* Retained by: the blocks of site site that were reached from the roots
 * (reachable or interior-only) whose owner is a block of owner site
 * (owner below LSP_SCAN_ROOT_BIT) or a root (LSP_SCAN_OWNER_ROOT). */
#define LSP_SCAN_OWNER_ROOT(kind, tag) \
	(LSP_SCAN_ROOT_BIT | (uint32_t)(kind) << 29 | (uint32_t)(tag))
#define LSP_SCAN_OWNER_IS_ROOT(o)	(((o) & LSP_SCAN_ROOT_BIT) != 0)
#define LSP_SCAN_OWNER_KIND(o)		(((o) >> 29) & 3)
#define LSP_SCAN_OWNER_TAG(o)		((o) & (LSP_SCAN_TAG_MAX - 1))

struct lsp_scan_owner {
	uint32_t site;
	uint32_t owner;
	uint64_t bytes;
	uint64_t blocks;
	uintptr_t via;		/* the word that reached one of them */
};

struct lsp_scan_totals {
	uint64_t bytes;
	uint64_t blocks;
};

struct lsp_scan_stats {
	uint64_t words;		/* words looked up */
	uint64_t read_bytes;	/* bytes read */
	uint64_t reads;		/* calls of the reader */
	uint64_t root_unreadable;	/* bytes of roots that could not be read */
	uint64_t block_unreadable;	/* bytes of blocks that could not be */
	uint64_t root_own;	/* bytes of roots that were the scan's own */
	uint64_t duplicates;	/* blocks given twice (dropped) */
	uint64_t refused;	/* blocks lsp_scan_add_cb could not add */
	uint64_t mapped;	/* bytes the scan mapped, at its peak */
};

#define LSP_SCAN_BYTES_PER_BLOCK	41
#define LSP_SCAN_BUF			(256u << 10)
#define LSP_SCAN_PCACHE			65536u

/*
 * A scan.  Invariant after lsp_scan_run: addr[] is sorted, without
 * duplicates, and addr, size, site, owner, via and state are indexed by
 * block.  Fields are the engine's; read results through the functions.
 */
struct lsp_scan_gran;

struct lsp_scan {
	size_t cap, n;
	uintptr_t *addr;
	uint64_t *size;
	uint32_t *site;
	uint32_t *owner;
	uintptr_t *via;
	uint8_t *state;
	uint32_t *q, *pq;		/* breadth-first queues */
	size_t nq, npq;
	size_t map_len;
	size_t mapped_now;
	uintptr_t lo, hi;		/* lowest address, highest end */
	char *buf;
	uintptr_t *pcache;		/* direct reads: pages known readable */
	const struct lsp_scan_root *roots;
	size_t nroots;
	struct lsp_scan_reader rd;
	bool glibc_chunks;		/* see lsp_scan_glibc */
	bool tiered;			/* see lsp_scan_tiered */
	uint64_t deadline_ns;		/* CLOCK_MONOTONIC; 0: none */
	uint64_t batches;
	int pass;
	uint32_t leader;
	int err;
	uint32_t nsites;
	struct lsp_scan_totals *per_site;	/* [nsites][LSP_REACH_NCLASS] */
	struct lsp_scan_owner *ret;
	size_t nret, ret_cap;
	uint32_t *start;		/* chains: each site's first block */
	struct lsp_scan_gran *gran;	/* scan_index.h; NULL: none */
	unsigned gran_bits;
	uint32_t *big;			/* blocks of many granules */
	size_t nbig;
	struct lsp_scan_stats st;
};

/* Map room for max_blocks blocks (LSP_SCAN_BYTES_PER_BLOCK each).
 * Returns 0, -EINVAL (max_blocks 0 or of 2^31 and more) or -ENOMEM.
 * Async-signal-safe. */
int lsp_scan_init(struct lsp_scan *s, size_t max_blocks);

/* The blocks come from glibc's malloc, whose chunk after a block begins 8
 * bytes before the block's end when its size is 1 to 8 past a multiple of
 * 16: the allocator's own pointers to that chunk (its top, its bins) are
 * then not interior pointers of the block.  Call before lsp_scan_run. */
static inline void
lsp_scan_glibc(struct lsp_scan *s)
{
	s->glibc_chunks = true;
}

/* Owners from globals first, then TLS, registers and stacks (each kind's
 * roots and all they reach before the next kind's): for a scan whose
 * stacks are read whole, dead frames included (while the threads run),
 * so that a stale word on a stack does not take a chain over.  Call
 * before lsp_scan_run. */
static inline void
lsp_scan_tiered(struct lsp_scan *s)
{
	s->tiered = true;
}

/* Give up marking ns nanoseconds from now: lsp_scan_run then returns
 * -ETIMEDOUT.  Call before lsp_scan_run.  Async-signal-safe. */
void lsp_scan_deadline(struct lsp_scan *s, uint64_t ns);

/* Unmap everything; s is empty afterwards (and may be inited again).
 * Async-signal-safe. */
void lsp_scan_fini(struct lsp_scan *s);

/* Add a live block of size bytes at addr, of site site (below 2^31).
 * Returns 0, -ENOSPC when full, -EINVAL for a bad site or a block that
 * wraps.  Async-signal-safe. */
int lsp_scan_add(struct lsp_scan *s, uintptr_t addr, uint64_t size,
    uint32_t site);

/* The same, in the shape of lsp_record_each_block's callback (ctx is
 * the scan); a block that cannot be added is counted in st.refused. */
void lsp_scan_add_cb(void *ctx, uintptr_t addr, uint64_t size,
    uint32_t site);

/*
 * Sort the blocks, mark from the roots (read through rd; the array stays
 * the caller's until lsp_scan_fini), classify every block and total per
 * site.  Returns 0; -EINVAL for a bad root (kind, tag, start > end);
 * -ENOMEM; -ETIMEDOUT past the deadline; or the reader's error.  Memory the reader cannot read is
 * skipped a page at a time and counted in st.  Run once per init.
 * Async-signal-safe.
 */
int lsp_scan_run(struct lsp_scan *s, const struct lsp_scan_root *roots,
    size_t nroots, const struct lsp_scan_reader *rd);

/* After lsp_scan_run: */

/* The index of the block holding p (at its start or inside), or
 * SIZE_MAX. */
size_t lsp_scan_find(const struct lsp_scan *s, uintptr_t p);

/* Block i's class (LSP_REACH_*), flags (LSP_SCAN_F_*), owner
 * (LSP_SCAN_*) and the address of the word through which its owner
 * reached it (0 if none). */
unsigned lsp_scan_class(const struct lsp_scan *s, size_t i);
unsigned lsp_scan_flags(const struct lsp_scan *s, size_t i);
uint32_t lsp_scan_owner_of(const struct lsp_scan *s, size_t i);
uintptr_t lsp_scan_via(const struct lsp_scan *s, size_t i);

/* Site site's totals, indexed by LSP_REACH_*, or NULL for a site that
 * has no block. */
const struct lsp_scan_totals *lsp_scan_site(const struct lsp_scan *s,
    uint32_t site);

/* Who holds site site's reached blocks: *n entries sorted by owner
 * (sites first, by id, then roots by kind and tag), or NULL. */
const struct lsp_scan_owner *lsp_scan_retained(const struct lsp_scan *s,
    uint32_t site, size_t *n);

/* The retained-by key of block i's owner (as in lsp_scan_owner.owner): the
 * owning block's site, or the root's kind and tag.  Block i must have an
 * owner. */
static inline uint32_t
lsp_scan_owner_key(const struct lsp_scan *s, size_t i)
{
	uint32_t o = s->owner[i];
	const struct lsp_scan_root *r;

	if (!LSP_SCAN_OWNER_IS_ROOT(o))
		return s->site[o];
	r = &s->roots[o & ~LSP_SCAN_ROOT_BIT];
	return LSP_SCAN_OWNER_ROOT(r->kind, r->tag);
}

/* A step of a chain: its owner (a site, or LSP_SCAN_OWNER_ROOT), how many
 * consecutive links between blocks of that site it stands for, and the
 * word through which its first block (or the root) held the step before. */
struct lsp_scan_step {
	uint32_t owner;
	uint64_t nblocks;
	uintptr_t via;
};

/* Prepare the chains (scan_chain.c): each reached block's depth, and for
 * each site the block its chain starts from: the deepest of those its
 * biggest owner holds, directly or through a run of its own blocks.  4
 * bytes per site id; the queues' room is reused.  Once, after lsp_scan_run.  0 or -ENOMEM. */
int lsp_scan_chains(struct lsp_scan *s);

/* Site site's chain into steps[max], innermost owner first, the root
 * last: returns its length, 0 if it has none, is longer than max, or the
 * budget (links walked, decremented) ran out. */
size_t lsp_scan_chain(const struct lsp_scan *s, uint32_t site,
    struct lsp_scan_step *steps, size_t max, uint64_t *budget);

/* For scan.c and scan_sum.c only: map or unmap len bytes, counted in
 * st.mapped; total per site and retained-by (scan_sum.c, from
 * lsp_scan_run once marking is done; 0 or -ENOMEM). */
void *lsp_scan_map(struct lsp_scan *s, size_t len);
void lsp_scan_unmap(struct lsp_scan *s, void *p, size_t len);
int lsp_scan_total(struct lsp_scan *s);

#endif /* LS_SCAN_H */
