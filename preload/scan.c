/* SPDX-License-Identifier: MIT */
/*
 * The heap scan's marking and classification (definitions: scan.h): the
 * blocks radix-sorted by address for lookup (scan_index.h), three
 * breadth-first passes (reachable, interior-only, lost cliques); the
 * totals are scan_sum.c's.  Runs in the scan's child or at
 * exit with the other threads stopped: system calls and its own mappings
 * only, no allocator, no locks, no recursion.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "compiler.h"
#include "hash.h"
#include "scan.h"
#include "scan_index.h"

#define WORD		8u
#define PAGE		4096u	/* skip unit past unreadable memory */
#define BATCH		64u	/* blocks (or pages probed) per read */
#define PROBE_AHEAD	15u	/* pages probed past a block's last */

/* A block's state: one of these in the low 3 bits, LSP_SCAN_F_* above. */
#define ST_UNSEEN	0	/* not reached (yet) */
#define ST_REACH	1	/* reachable */
#define ST_CAND		2	/* pass 1: reached by an interior pointer */
#define ST_INTERIOR	3	/* interior-only */
#define ST_INDIRECT	4
#define ST_DEFINITE	5	/* definitely lost: a clique leader */
#define ST_MASK		7

_Static_assert(LSP_SCAN_BYTES_PER_BLOCK == 3 * 8 + 4 * 4 + 1,
    "bytes per block as mapped by lsp_scan_init");

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
lsp_scan_deadline(struct lsp_scan *s, uint64_t ns)
{
	s->deadline_ns = mono_ns() + ns;
}

static inline uintptr_t
align_up(uintptr_t a)
{
	return (a + WORD - 1) & ~(uintptr_t)(WORD - 1);
}

static inline uintptr_t
align_down(uintptr_t a)
{
	return a & ~(uintptr_t)(WORD - 1);
}

void *
lsp_scan_map(struct lsp_scan *s, size_t len)
{
	void *p = ls_map(len);

	if (p != NULL) {
		s->mapped_now += len;
		if (s->mapped_now > s->st.mapped)
			s->st.mapped = s->mapped_now;
	}
	return p;
}

void
lsp_scan_unmap(struct lsp_scan *s, void *p, size_t len)
{
	if (p == NULL)
		return;
	ls_unmap(p, len);
	s->mapped_now -= len;
}

ssize_t
lsp_scan_read_self(void *ctx, const struct iovec *src, unsigned n, void *dst)
{
	struct iovec local;
	size_t total = 0;
	unsigned i;
	int saved = errno;
	ssize_t r;

	(void)ctx;
	for (i = 0; i < n; i++)
		total += src[i].iov_len;
	local.iov_base = dst;
	local.iov_len = total;
	r = process_vm_readv(getpid(), &local, 1, src, n, 0);
	if (r < 0)	/* EFAULT: the first byte is unreadable */
		r = errno == EFAULT ? 0 : -errno;
	errno = saved;
	return r;
}

int
lsp_scan_init(struct lsp_scan *s, size_t max_blocks)
{
	char *p;

	*s = (struct lsp_scan){ 0 };
	if (max_blocks == 0 || max_blocks >= LSP_SCAN_ROOT_BIT)
		return -EINVAL;
	s->map_len = max_blocks * LSP_SCAN_BYTES_PER_BLOCK;
	p = lsp_scan_map(s, s->map_len);
	if (p == NULL)
		return -ENOMEM;
	/* 8-byte arrays first, then 4-byte ones: each stays aligned. */
	s->addr = (uintptr_t *)p;
	s->size = (uint64_t *)(s->addr + max_blocks);
	s->via = (uintptr_t *)(s->size + max_blocks);
	/* owner and q side by side, 8-aligned: the sort's scratch for
	 * sizes. */
	s->owner = (uint32_t *)(s->via + max_blocks);
	s->q = s->owner + max_blocks;
	s->pq = s->q + max_blocks;
	s->site = s->pq + max_blocks;
	s->state = (uint8_t *)(s->site + max_blocks);
	s->cap = max_blocks;
	return 0;
}

void
lsp_scan_fini(struct lsp_scan *s)
{
	lsp_scan_unmap(s, s->addr, s->map_len);
	lsp_scan_unmap(s, s->buf, LSP_SCAN_BUF);
	lsp_scan_unmap(s, s->per_site, (size_t)s->nsites * LSP_REACH_NCLASS *
	    sizeof(*s->per_site));
	lsp_scan_unmap(s, s->ret, s->ret_cap * sizeof(*s->ret));
	lsp_scan_unmap(s, s->start, (size_t)s->nsites * sizeof(*s->start));
	lsp_scan_index_free(s);
	*s = (struct lsp_scan){ 0 };
}

int
lsp_scan_add(struct lsp_scan *s, uintptr_t addr, uint64_t size,
    uint32_t site)
{
	if (s->n >= s->cap)
		return -ENOSPC;
	if (site >= LSP_SCAN_ROOT_BIT || addr + (size ? size : 1) <= addr)
		return -EINVAL;
	s->addr[s->n] = addr;
	s->size[s->n] = size;
	s->site[s->n] = site;
	s->n++;
	return 0;
}

void
lsp_scan_add_cb(void *ctx, uintptr_t addr, uint64_t size, uint32_t site)
{
	struct lsp_scan *s = ctx;

	if (lsp_scan_add(s, addr, size, site) != 0)
		s->st.refused++;
}

/* --- sorting and lookup --- */

#define RADIX_BITS	12
#define RADIX		(1u << RADIX_BITS)

/* One stable pass of the radix sort on the digit at shift, from a's
 * arrays to b's; cnt has RADIX counters.  False (nothing moved) if every
 * key has the same digit there. */
static bool
radix_pass(size_t n, unsigned shift, size_t *cnt, const uintptr_t *ka,
    const uint64_t *za, const uint32_t *ta, uintptr_t *kb, uint64_t *zb,
    uint32_t *tb)
{
	size_t i, sum = 0;

	for (i = 0; i < RADIX; i++)
		cnt[i] = 0;
	for (i = 0; i < n; i++)
		cnt[(ka[i] >> shift) & (RADIX - 1)]++;
	if (cnt[(ka[0] >> shift) & (RADIX - 1)] == n)
		return false;
	for (i = 0; i < RADIX; i++) {
		size_t c = cnt[i];

		cnt[i] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++) {
		size_t j = cnt[(ka[i] >> shift) & (RADIX - 1)]++;

		kb[j] = ka[i];
		zb[j] = za[i];
		tb[j] = ta[i];
	}
	return true;
}

/*
 * LSD radix sort by address (no allocation, no recursion, linear), its
 * scratch the arrays marking fills later: via for addresses, owner and q
 * together for sizes, pq for sites (20 bytes each way).  The counters
 * are in the read buffer.
 */
static void
radix_sort(struct lsp_scan *s)
{
	uintptr_t *ka = s->addr, *kb = s->via, *kt, bits = 0;
	uint64_t *za = s->size, *zb = (uint64_t *)(void *)s->owner, *zt;
	uint32_t *ta = s->site, *tb = s->pq, *tt;
	size_t i, n = s->n;
	unsigned shift;

	for (i = 0; i < n; i++)
		bits |= s->addr[i];
	for (shift = 0; shift < 64 && bits >> shift != 0;
	    shift += RADIX_BITS) {
		if (!radix_pass(n, shift, (size_t *)(void *)s->buf, ka, za, ta,
		    kb, zb, tb))
			continue;
		kt = ka, ka = kb, kb = kt;
		zt = za, za = zb, zb = zt;
		tt = ta, ta = tb, tb = tt;
	}
	if (ka != s->addr) {
		for (i = 0; i < n; i++) {
			s->addr[i] = ka[i];
			s->size[i] = za[i];
			s->site[i] = ta[i];
		}
	}
}

/* Sort, then drop repeated addresses (a stale entry) keeping the first,
 * find the range to look up and clear the scratch. */
static void
sort_blocks(struct lsp_scan *s)
{
	size_t i, j, n = s->n;

	if (n > 1)
		radix_sort(s);
	for (i = j = 0; i < n; i++) {
		if (j > 0 && s->addr[i] == s->addr[j - 1]) {
			s->st.duplicates++;
			continue;
		}
		s->addr[j] = s->addr[i];
		s->size[j] = s->size[i];
		s->site[j] = s->site[i];
		j++;
	}
	s->n = j;
	s->lo = j > 0 ? s->addr[0] : 0;	/* none: an empty range */
	s->hi = s->lo;
	for (i = 0; i < j; i++) {
		uintptr_t end = s->addr[i] + (s->size[i] ? s->size[i] : 1);

		if (end > s->hi)
			s->hi = end;
		s->owner[i] = LSP_SCAN_NONE;
		s->via[i] = 0;
	}
}

/* The block whose [addr, addr + size) holds p (a zero-size block's is
 * [addr, addr + 1)), or SIZE_MAX.  Overlapping blocks (stale entries)
 * resolve to the last one starting at or below p. */
static inline size_t
find(const struct lsp_scan *s, uintptr_t p)
{
	if (p - s->lo >= s->hi - s->lo)
		return SIZE_MAX;
	return lsp_scan_lookup(s, p);
}

size_t
lsp_scan_find(const struct lsp_scan *s, uintptr_t p)
{
	return s->n > 0 ? find(s, p) : SIZE_MAX;
}

/* --- marking --- */

static inline void
own(struct lsp_scan *s, size_t i, uint32_t src, uintptr_t at)
{
	s->owner[i] = src;
	s->via[i] = at;
}

/* Where glibc's chunk after the block at a of size n begins: a chunk
 * holds n + 8 bytes rounded up to 16, at least 32, from a - 16. */
static inline uintptr_t
next_chunk(uintptr_t a, uint64_t n)
{
	uint64_t c = (n + 8 + 15) & ~(uint64_t)15;

	return a - 16 + (c < 32 ? 32 : c);
}

/* Word v, read at address at in src (a root or a block), in the current
 * pass: what it reaches changes state and joins a queue. */
static inline void
visit(struct lsp_scan *s, uintptr_t v, uintptr_t at, uint32_t src)
{
	size_t i = find(s, v);
	unsigned st, cls;
	bool start;

	if (i == SIZE_MAX)
		return;
	start = v == s->addr[i];
	if (!start && s->glibc_chunks && v == next_chunk(s->addr[i],
	    s->size[i]))
		return;
	st = s->state[i] | (start ? LSP_SCAN_F_START : LSP_SCAN_F_INTERIOR);
	cls = st & ST_MASK;
	switch (s->pass) {
	case 1:		/* from a root or a reachable block */
		if (cls == ST_REACH)
			break;
		if (start) {
			st = (st & ~ST_MASK) | ST_REACH;
			own(s, i, src, at);
			s->q[s->nq++] = (uint32_t)i;
		} else if (cls == ST_UNSEEN) {
			st |= ST_CAND;
			own(s, i, src, at);
			s->pq[s->npq++] = (uint32_t)i;
		}
		break;
	case 2:		/* from an interior-only block */
		if (cls == ST_UNSEEN) {
			st |= ST_INTERIOR;
			own(s, i, src, at);
			s->pq[s->npq++] = (uint32_t)i;
		}
		break;
	default:	/* from a lost block of s->leader's clique */
		if (i == s->leader)
			break;
		if (cls == ST_UNSEEN) {
			st |= ST_INDIRECT;
			own(s, i, src, at);
			s->q[s->nq++] = (uint32_t)i;
		} else if (cls == ST_DEFINITE) {
			/* An earlier leader joins this clique; what it
			 * reaches is in its own clique already. */
			st = (st & ~ST_MASK) | ST_INDIRECT;
			own(s, i, src, at);
		}
		break;
	}
	s->state[i] = (uint8_t)st;
}

static void
scan_words(struct lsp_scan *s, const uintptr_t *w, size_t nw, uintptr_t base,
    uint32_t src)
{
	uintptr_t lo = s->lo, span = s->hi - s->lo;
	size_t k;

	s->st.words += nw;
	for (k = 0; k < nw; k++)
		if (w[k] - lo < span)
			visit(s, w[k], base + k * WORD, src);
}

static inline ssize_t
rd_read(struct lsp_scan *s, const struct iovec *iov, unsigned k, void *dst)
{
	s->st.reads++;
	return s->rd.read(s->rd.ctx, iov, k, dst);
}

/* --- direct reads: pages probed through the reader, then read --- */

/* Page pg's slot in the cache: hashed, since breadth-first order visits
 * pages a fixed stride apart (lists allocated side by side). */
static inline size_t
page_slot(uintptr_t pg)
{
	return (size_t)(ls_hash_ptr(pg * PAGE) & (LSP_SCAN_PCACHE - 1));
}

static inline bool
page_known(const struct lsp_scan *s, uintptr_t pg)
{
	return s->pcache[page_slot(pg)] == pg + 1;
}

/* Probe pages pg to last (up to BATCH of them, a word each, in one call)
 * and remember those that answered; returns how many did from pg on. */
static size_t
probe_pages(struct lsp_scan *s, uintptr_t pg, uintptr_t last)
{
	struct iovec iov[BATCH];
	unsigned k, n;
	ssize_t r;

	for (k = 0; k < BATCH && pg + k <= last; k++) {
		iov[k].iov_base = (void *)((pg + k) * PAGE);
		iov[k].iov_len = WORD;
	}
	r = rd_read(s, iov, k, s->buf);
	if (r < 0) {
		s->err = (int)r;
		return 0;
	}
	n = (unsigned)((size_t)r / WORD);
	for (k = 0; k < n; k++)
		s->pcache[page_slot(pg + k)] = pg + k + 1;
	return n;
}

/* The last page to probe with pg, for [.., e) of src: a block's probe
 * looks PROBE_AHEAD pages on, within the blocks' range (the next
 * blocks scanned are often there), a root's stays within it. */
static inline uintptr_t
probe_end(const struct lsp_scan *s, uintptr_t pg, uintptr_t e, uint32_t src)
{
	uintptr_t last = (e - 1) / PAGE, ahead = pg + PROBE_AHEAD,
	    top = (s->hi - 1) / PAGE;

	if (LSP_SCAN_OWNER_IS_ROOT(src) || last >= ahead)
		return last;
	return ahead < top ? ahead : (top > last ? top : last);
}

/* Scan [a, e) (aligned) of src in place, page by page; an unreadable
 * page is skipped and added to *lost. */
static void
scan_direct(struct lsp_scan *s, uintptr_t a, uintptr_t e, uint32_t src,
    uint64_t *lost)
{
	while (a < e && s->err == 0) {
		uintptr_t pg = a / PAGE, stop = (pg + 1) * PAGE;

		if (!page_known(s, pg) &&
		    probe_pages(s, pg, probe_end(s, pg, e, src)) == 0) {
			stop = stop < e ? stop : e;
			if (s->err == 0)
				*lost += stop - a;
			a = stop;
			continue;
		}
		while (stop < e && page_known(s, stop / PAGE))
			stop += PAGE;
		stop = stop < e ? stop : e;
		s->st.read_bytes += stop - a;
		scan_words(s, (const uintptr_t *)a, (stop - a) / WORD, a, src);
		a = stop;
	}
}

/* Scan [start, end) of src through the buffer, a chunk at a time; what
 * cannot be read is skipped to the next page and added to *lost. */
static void
scan_range(struct lsp_scan *s, uintptr_t start, uintptr_t end, uint32_t src,
    uint64_t *lost)
{
	uintptr_t a = align_up(start), e = align_down(end);

	if (s->rd.direct) {
		scan_direct(s, a, e, src, lost);
		return;
	}
	while (a < e && s->err == 0) {
		size_t len = e - a < LSP_SCAN_BUF ? e - a : LSP_SCAN_BUF;
		struct iovec iov = { (void *)a, len };
		ssize_t r = rd_read(s, &iov, 1, s->buf);
		uintptr_t bad, next;

		if (r < 0) {
			s->err = (int)r;
			return;
		}
		if ((size_t)r > len)
			r = (ssize_t)len;
		s->st.read_bytes += (uint64_t)r;
		scan_words(s, (const uintptr_t *)s->buf, (size_t)r / WORD, a,
		    src);
		if ((size_t)r == len) {
			a += len;
			continue;
		}
		bad = a + (size_t)r;
		next = (bad & ~(uintptr_t)(PAGE - 1)) + PAGE;
		if (next > e || next < bad)
			next = e;
		*lost += next - bad;
		a = next;
	}
}

/* Block i's words: [align_up(addr), align_down(addr + size)). */
static inline size_t
block_words(const struct lsp_scan *s, size_t i, uintptr_t *a)
{
	uintptr_t e = align_down(s->addr[i] + s->size[i]);

	*a = align_up(s->addr[i]);
	return e > *a ? (e - *a) / WORD : 0;
}

/* Scan a batch of k blocks read with one call; from the first one that
 * could not be read whole, each is scanned on its own. */
static void
scan_batch(struct lsp_scan *s, const struct iovec *iov, const uint32_t *idx,
    unsigned k)
{
	ssize_t r = rd_read(s, iov, k, s->buf);
	size_t off = 0;
	unsigned j;

	if (r < 0) {
		s->err = (int)r;
		return;
	}
	for (j = 0; j < k; j++) {
		uintptr_t a = (uintptr_t)iov[j].iov_base;
		size_t len = iov[j].iov_len;

		if (off + len > (size_t)r)
			break;
		s->st.read_bytes += len;
		scan_words(s, (const uintptr_t *)(s->buf + off), len / WORD,
		    a, idx[j]);
		off += len;
	}
	for (; j < k; j++)
		scan_range(s, (uintptr_t)iov[j].iov_base,
		    (uintptr_t)iov[j].iov_base + iov[j].iov_len, idx[j],
		    &s->st.block_unreadable);
}

/* Scan the blocks of queue[0, *tail) in order, while scanning them adds
 * to it: breadth-first.  Blocks are read up to BATCH at a time, which
 * keeps the order (a batch's blocks are scanned in queue order, and what
 * they add goes behind them).  In pass 2 a candidate becomes
 * interior-only as it is scanned, unless it turned out reachable. */
static void
drain_from(struct lsp_scan *s, uint32_t *queue, size_t head, size_t *tail)
{
	struct iovec iov[BATCH];
	uint32_t idx[BATCH];

	while (head < *tail && s->err == 0) {
		size_t total = 0;
		unsigned k = 0;

		if (s->deadline_ns != 0 && (s->batches++ & 63) == 0 &&
		    mono_ns() > s->deadline_ns) {
			s->err = -ETIMEDOUT;
			break;
		}
		while (head < *tail && k < BATCH) {
			uint32_t i = queue[head];
			uintptr_t a;
			size_t len = block_words(s, i, &a) * WORD;

			if (s->pass == 2) {
				if ((s->state[i] & ST_MASK) == ST_REACH) {
					head++;
					continue;
				}
				s->state[i] = (uint8_t)((s->state[i] &
				    ~ST_MASK) | ST_INTERIOR);
			}
			if (len > LSP_SCAN_BUF - total && k > 0)
				break;
			head++;
			if (len == 0)
				continue;
			if (len > LSP_SCAN_BUF || s->rd.direct) {
				scan_range(s, a, a + len, i,
				    &s->st.block_unreadable);
				break;
			}
			iov[k].iov_base = (void *)a;
			iov[k].iov_len = len;
			idx[k++] = i;
			total += len;
		}
		if (k > 0)
			scan_batch(s, iov, idx, k);
	}
}

/* Root r less the scan's own memory, which is never a root: its arrays
 * hold every block's address, its buffer the words being scanned. */
static void
scan_root(struct lsp_scan *s, size_t r)
{
	uintptr_t ex[2][2] = {
		{ (uintptr_t)s->addr, (uintptr_t)s->addr + s->map_len },
		{ (uintptr_t)s->buf, (uintptr_t)s->buf + LSP_SCAN_BUF },
	};
	uintptr_t cur = s->roots[r].start, end = s->roots[r].end, t;
	uint32_t src = LSP_SCAN_ROOT_BIT | (uint32_t)r;
	unsigned k;

	if (ex[1][0] < ex[0][0]) {
		for (k = 0; k < 2; k++) {
			t = ex[0][k];
			ex[0][k] = ex[1][k];
			ex[1][k] = t;
		}
	}
	for (k = 0; k < 2; k++) {
		if (ex[k][1] <= cur || ex[k][0] >= end)
			continue;
		if (ex[k][0] > cur)
			scan_range(s, cur, ex[k][0], src,
			    &s->st.root_unreadable);
		s->st.root_own += (ex[k][1] < end ? ex[k][1] : end) -
		    (ex[k][0] > cur ? ex[k][0] : cur);
		cur = ex[k][1];
	}
	if (cur < end)
		scan_range(s, cur, end, src, &s->st.root_unreadable);
}

static void
drain(struct lsp_scan *s, uint32_t *queue, size_t *tail)
{
	drain_from(s, queue, 0, tail);
}

/* The roots, and what they reach through start pointers.  Tiered: the
 * roots of one kind, then the next, each drained before the next kind
 * starts, so that owners (and chains) go through the longest-lived roots
 * first: globals, TLS, registers, stacks.  Reachability is the same. */
static void
mark_roots(struct lsp_scan *s)
{
	static const unsigned tier[LSP_SCAN_NKIND] = {
		LSP_SCAN_GLOBAL, LSP_SCAN_TLS, LSP_SCAN_REGISTER, LSP_SCAN_STACK,
	};
	size_t r, head = 0;
	unsigned t;

	if (!s->tiered) {
		for (r = 0; r < s->nroots && s->err == 0; r++)
			scan_root(s, r);
		drain(s, s->q, &s->nq);
		return;
	}
	for (t = 0; t < LSP_SCAN_NKIND; t++) {
		for (r = 0; r < s->nroots && s->err == 0; r++)
			if (s->roots[r].kind == tier[t])
				scan_root(s, r);
		drain_from(s, s->q, head, &s->nq);
		head = s->nq;
	}
}

/* Lost blocks in address order: each one not yet in a clique leads one
 * (memcheck's cliques), and every lost block it reaches joins it. */
static void
mark_lost(struct lsp_scan *s)
{
	size_t i;

	s->pass = 3;
	for (i = 0; i < s->n && s->err == 0; i++) {
		if ((s->state[i] & ST_MASK) != ST_UNSEEN)
			continue;
		s->state[i] |= ST_DEFINITE;
		s->leader = (uint32_t)i;
		s->q[0] = (uint32_t)i;
		s->nq = 1;
		drain(s, s->q, &s->nq);
	}
}

/* --- results --- */

static const unsigned class_of_state[8] = {
	[ST_UNSEEN] = LSP_REACH_DEFINITE,
	[ST_REACH] = LSP_REACH_REACHABLE,
	[ST_CAND] = LSP_REACH_INTERIOR,
	[ST_INTERIOR] = LSP_REACH_INTERIOR,
	[ST_INDIRECT] = LSP_REACH_INDIRECT,
	[ST_DEFINITE] = LSP_REACH_DEFINITE,
	[6] = LSP_REACH_DEFINITE,
	[7] = LSP_REACH_DEFINITE,
};

unsigned
lsp_scan_class(const struct lsp_scan *s, size_t i)
{
	return class_of_state[s->state[i] & ST_MASK];
}

unsigned
lsp_scan_flags(const struct lsp_scan *s, size_t i)
{
	return s->state[i] & (LSP_SCAN_F_START | LSP_SCAN_F_INTERIOR);
}

uint32_t
lsp_scan_owner_of(const struct lsp_scan *s, size_t i)
{
	return s->owner[i];
}

uintptr_t
lsp_scan_via(const struct lsp_scan *s, size_t i)
{
	return s->via[i];
}

/* --- the run --- */

static int
check_roots(const struct lsp_scan_root *roots, size_t nroots)
{
	size_t r;

	if (nroots >= LSP_SCAN_ROOT_BIT)
		return -EINVAL;
	for (r = 0; r < nroots; r++)
		if (roots[r].kind >= LSP_SCAN_NKIND ||
		    roots[r].tag >= LSP_SCAN_TAG_MAX ||
		    roots[r].start > roots[r].end)
			return -EINVAL;
	return 0;
}

static int
mark(struct lsp_scan *s)
{
	s->pass = 1;
	mark_roots(s);
	s->pass = 2;
	drain(s, s->pq, &s->npq);
	mark_lost(s);
	return s->err;
}

int
lsp_scan_run(struct lsp_scan *s, const struct lsp_scan_root *roots,
    size_t nroots, const struct lsp_scan_reader *rd)
{
	int r = check_roots(roots, nroots);

	if (r != 0)
		return r;
	s->roots = roots;
	s->nroots = nroots;
	s->rd = *rd;
	s->buf = lsp_scan_map(s, LSP_SCAN_BUF);
	s->pcache = lsp_scan_map(s, LSP_SCAN_PCACHE * sizeof(*s->pcache));
	r = -ENOMEM;
	if (s->buf != NULL && s->pcache != NULL) {
		sort_blocks(s);
		lsp_scan_index(s);
		r = mark(s);
	}
	lsp_scan_unmap(s, s->buf, LSP_SCAN_BUF);
	lsp_scan_unmap(s, s->pcache, LSP_SCAN_PCACHE * sizeof(*s->pcache));
	s->buf = NULL;
	s->pcache = NULL;
	return r == 0 ? lsp_scan_total(s) : r;
}
