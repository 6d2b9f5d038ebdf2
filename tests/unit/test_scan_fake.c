/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the heap scan's engine (preload/scan.c, scan_sum.c,
 * scan_chain.c) over made-up addresses, read from a buffer by a reader of
 * the test's own: zero-size and duplicate blocks, glibc's chunk headers,
 * chains and tiered owners, each graph known and asserted exactly; the
 * lookup's index against a search over every block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "lst.h"
#include "scan.h"
#include "scan_index.h"
#include "scan_ut.h"

int lst_failures;

/* --- a synthetic reader: made-up addresses over a buffer --- */

#define FAKE_BASE	((uintptr_t)0x100000)
#define FAKE_WORDS	64
static uintptr_t fake[FAKE_WORDS];
static int fake_error;

static ssize_t
fake_read(void *ctx, const struct iovec *src, unsigned n, void *dst)
{
	char *out = dst;
	size_t got = 0;
	unsigned i;

	(void)ctx;
	if (fake_error)
		return -fake_error;
	for (i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)src[i].iov_base;
		size_t len = src[i].iov_len, ok;

		if (a < FAKE_BASE || a >= FAKE_BASE + sizeof(fake))
			return (ssize_t)got;
		ok = FAKE_BASE + sizeof(fake) - a;
		ok = ok < len ? ok : len;
		memcpy(out + got, (char *)fake + (a - FAKE_BASE), ok);
		got += ok;
		if (ok < len)
			return (ssize_t)got;
	}
	return (ssize_t)got;
}

#define FAKE(w)		(FAKE_BASE + 8 * (w))

static void
test_synthetic(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	struct lsp_scan s;
	struct lsp_scan_root r = { FAKE(0), FAKE(2), LSP_SCAN_REGISTER, 3 };
	struct lsp_scan_root bad = { FAKE(2), FAKE(0), LSP_SCAN_GLOBAL, 0 };

	/* Registers: words 0-1; blocks: a zero-size one at word 8, one of
	 * 32 bytes at word 10 (given twice), one of 24 at word 16. */
	memset(fake, 0, sizeof(fake));
	fake[0] = FAKE(8);		/* start of the zero-size block */
	fake[1] = FAKE(10) + 31;	/* last byte of the 32-byte one */
	fake[10] = FAKE(8) + 1;		/* past the zero-size one: nothing */
	fake[11] = FAKE(16) + 24;	/* one past the end: nothing */
	fake[12] = FAKE(16) + 23;	/* the last byte of word 16's */

	LST_EQ_U64(lsp_scan_init(&s, 4), 0);
	add(&s, (void *)FAKE(16), 24, 2);
	add(&s, (void *)FAKE(10), 32, 1);
	add(&s, (void *)FAKE(8), 0, 0);
	add(&s, (void *)FAKE(10), 32, 1);
	LST_EQ_U64(lsp_scan_add(&s, FAKE(40), 8, 0), -ENOSPC);
	LST_EQ_U64(lsp_scan_run(&s, &bad, 1, &rd), -EINVAL);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &rd), 0);
	LST_EQ_U64(s.n, 3);
	LST_EQ_U64(s.st.duplicates, 1);
	LST_EQ_U64(lsp_scan_find(&s, FAKE(8) + 1), SIZE_MAX);
	LST_EQ_U64(lsp_scan_find(&s, FAKE(16) + 24), SIZE_MAX);
	LST_EQ_U64(cls(&s, (void *)FAKE(8)), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, (void *)FAKE(10)), LSP_REACH_INTERIOR);
	LST_EQ_U64(cls(&s, (void *)FAKE(16)), LSP_REACH_INTERIOR);
	LST_EQ_U64(owner(&s, (void *)FAKE(16)), FAKE(10));
	check_retained1(&s, 0, LSP_SCAN_OWNER_ROOT(LSP_SCAN_REGISTER, 3), 0,
	    1);
	check_retained1(&s, 2, 1, 24, 1);
	lsp_scan_fini(&s);

	/* A reader that cannot read at all fails the scan. */
	fake_error = EPERM;
	LST_EQ_U64(lsp_scan_init(&s, 4), 0);
	add(&s, (void *)FAKE(10), 32, 1);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &rd), -EPERM);
	lsp_scan_fini(&s);
	fake_error = 0;
	LST_EQ_U64(lsp_scan_init(&s, 0), -EINVAL);
}

/* glibc's chunk after a block of 1000 bytes begins at its byte 992: the
 * allocator's pointer there (its top) is no interior pointer when the
 * scan knows the blocks are glibc's; one byte off, it is. */
static void
test_glibc_chunks(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	struct lsp_scan s;
	struct lsp_scan_root r = { FAKE(0), FAKE(3), LSP_SCAN_GLOBAL, 0 };
	int glibc;

	for (glibc = 0; glibc < 2; glibc++) {
		memset(fake, 0, sizeof(fake));
		fake[0] = FAKE(8) + 992;	/* a: next chunk of 1000 */
		fake[1] = FAKE(140) + 16;	/* b: 24 bytes, chunk 32 */
		fake[2] = FAKE(150) + 40;	/* c: 40 bytes, 48 is past it */
		LST_EQ_U64(lsp_scan_init(&s, 4), 0);
		add(&s, (void *)FAKE(8), 1000, 0);
		add(&s, (void *)FAKE(140), 24, 1);
		add(&s, (void *)FAKE(150), 48, 2);
		if (glibc)
			lsp_scan_glibc(&s);
		LST_EQ_U64(lsp_scan_run(&s, &r, 1, &rd), 0);
		LST_EQ_U64(cls(&s, (void *)FAKE(8)), glibc ?
		    LSP_REACH_DEFINITE : LSP_REACH_INTERIOR);
		LST_EQ_U64(cls(&s, (void *)FAKE(140)), glibc ?
		    LSP_REACH_DEFINITE : LSP_REACH_INTERIOR);
		LST_EQ_U64(cls(&s, (void *)FAKE(150)), LSP_REACH_INTERIOR);
		lsp_scan_fini(&s);
	}
}

/* Chains: a site's deepest block held by its biggest owner, the links
 * up to the root, runs of one site collapsed. */
static void
test_chains(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	struct lsp_scan s;
	struct lsp_scan_root r = { FAKE(0), FAKE(1), LSP_SCAN_GLOBAL, 5 };
	struct lsp_scan_step st[8];
	uint64_t budget = 1000, none = 0;
	unsigned k;

	/* root -> src (site 0, word 4) -> reg 1 -> reg 2 -> reg 3 (site 1,
	 * words 8, 12, 16) each -> a cmd (site 2, words 20, 22, 24). */
	memset(fake, 0, sizeof(fake));
	fake[0] = FAKE(4);
	fake[4] = FAKE(8);
	for (k = 0; k < 3; k++) {
		fake[8 + 4 * k] = k < 2 ? FAKE(12 + 4 * k) : 0;
		fake[9 + 4 * k] = FAKE(20 + 2 * k);
	}
	LST_EQ_U64(lsp_scan_init(&s, 8), 0);
	add(&s, (void *)FAKE(4), 8, 0);
	for (k = 0; k < 3; k++) {
		add(&s, (void *)FAKE(8 + 4 * k), 16, 1);
		add(&s, (void *)FAKE(20 + 2 * k), 16, 2);
	}
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &rd), 0);
	LST_EQ_U64(lsp_scan_chains(&s), 0);
	/* cmd <- reg (a run of 3) <- src <- the root's word. */
	LST_EQ_U64(lsp_scan_chain(&s, 2, st, 8, &budget), 3);
	LST_EQ_U64(st[0].owner, 1);
	LST_EQ_U64(st[0].nblocks, 3);
	LST_EQ_U64(st[1].owner, 0);
	LST_EQ_U64(st[1].nblocks, 1);
	LST_EQ_U64(st[2].owner, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 5));
	LST_EQ_U64(st[2].via, FAKE(0));
	/* reg: its own blocks (a run of 2) <- src <- root. */
	LST_EQ_U64(lsp_scan_chain(&s, 1, st, 8, &budget), 3);
	LST_EQ_U64(st[0].owner, 1);
	LST_EQ_U64(st[0].nblocks, 2);
	LST_EQ_U64(st[1].owner, 0);
	/* Too long for the room, or for the budget: none. */
	LST_EQ_U64(lsp_scan_chain(&s, 2, st, 2, &budget), 0);
	LST_EQ_U64(lsp_scan_chain(&s, 2, st, 8, &none), 0);
	LST_EQ_U64(lsp_scan_chain(&s, 7, st, 8, &budget), 0);
	lsp_scan_fini(&s);

	/* Past its deadline, the marking gives up. */
	LST_EQ_U64(lsp_scan_init(&s, 8), 0);
	add(&s, (void *)FAKE(4), 8, 0);
	lsp_scan_deadline(&s, 0);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &rd), -ETIMEDOUT);
	lsp_scan_fini(&s);
}

/* Tiered owners: a block a stack word and a global both point to is
 * owned by the stack untiered (the stack's root comes first here), by
 * the global tiered; either way it is reachable. */
static void
test_tiered(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	struct lsp_scan s;
	struct lsp_scan_root r[2] = {
		{ FAKE(0), FAKE(1), LSP_SCAN_STACK, 1 },
		{ FAKE(1), FAKE(2), LSP_SCAN_GLOBAL, 2 },
	};
	int tiered;

	for (tiered = 0; tiered < 2; tiered++) {
		memset(fake, 0, sizeof(fake));
		fake[0] = FAKE(8);
		fake[1] = FAKE(8);
		fake[8] = FAKE(12);
		LST_EQ_U64(lsp_scan_init(&s, 4), 0);
		add(&s, (void *)FAKE(8), 16, 0);
		add(&s, (void *)FAKE(12), 16, 1);
		if (tiered)
			lsp_scan_tiered(&s);
		LST_EQ_U64(lsp_scan_run(&s, r, 2, &rd), 0);
		LST_EQ_U64(cls(&s, (void *)FAKE(8)), LSP_REACH_REACHABLE);
		LST_EQ_U64(cls(&s, (void *)FAKE(12)), LSP_REACH_REACHABLE);
		LST_EQ_U64(owner(&s, (void *)FAKE(8)), ROOT(tiered ? 1 : 0));
		LST_EQ_U64(owner(&s, (void *)FAKE(12)), FAKE(8));
		lsp_scan_fini(&s);
	}
}
/* A site's chain keeps to its biggest owner: a longer run of its blocks
 * hung from a smaller root does not take it over. */
static void
test_chain_biggest(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	struct lsp_scan s;
	struct lsp_scan_root r[2] = {
		{ FAKE(0), FAKE(1), LSP_SCAN_GLOBAL, 1 },
		{ FAKE(1), FAKE(2), LSP_SCAN_STACK, 2 },
	};
	struct lsp_scan_step st[8];
	uint64_t budget = 1000;

	/* global -> A (64 bytes) -> A2; stack -> B1 -> B2 -> B3, all of
	 * site 1. */
	memset(fake, 0, sizeof(fake));
	fake[0] = FAKE(4);
	fake[1] = FAKE(20);
	fake[4] = FAKE(16);
	fake[20] = FAKE(24);
	fake[24] = FAKE(28);
	LST_EQ_U64(lsp_scan_init(&s, 8), 0);
	add(&s, (void *)FAKE(4), 64, 1);
	add(&s, (void *)FAKE(16), 16, 1);
	add(&s, (void *)FAKE(20), 16, 1);
	add(&s, (void *)FAKE(24), 16, 1);
	add(&s, (void *)FAKE(28), 16, 1);
	LST_EQ_U64(lsp_scan_run(&s, r, 2, &rd), 0);
	LST_EQ_U64(lsp_scan_chains(&s), 0);
	LST_EQ_U64(lsp_scan_chain(&s, 1, st, 8, &budget), 2);
	LST_EQ_U64(st[0].owner, 1);
	LST_EQ_U64(st[0].nblocks, 1);
	LST_EQ_U64(st[1].owner, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 1));
	lsp_scan_fini(&s);
}

/* --- the lookup's index (scan_index.h) against a search over all --- */

static uint64_t rng = 88172645463325252ull;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

/* What scan.c's lookup gave before the index: the last block beginning
 * at or below p, if p is in it, by a search over all blocks (the
 * synthetic tests above pin its answers). */
static size_t
find_all(const struct lsp_scan *s, uintptr_t p)
{
	return lsp_scan_search(s, p, 0, s->n);
}

#define LOOKUP_BLOCKS	20000

/*
 * Blocks in three regions far apart (a heap, mmap's area, one past 4
 * GiB), small ones side by side and with gaps, zero-size ones, big ones
 * (over 16 granules) with small stale blocks inside and beside them, and
 * blocks overlapping their neighbours: every lookup near each block's
 * edges and at random in the range gives what the search over all blocks
 * gives.
 */
static void
test_lookup(void)
{
	static const struct lsp_scan_reader rd = { fake_read, NULL, false };
	static const uintptr_t region[3] = { 0x555555554000,
	    0x7f0000001000, 0x100000000 };
	struct lsp_scan s;
	size_t i, k, nbig = 0, hits = 0, misses = 0;
	uintptr_t at[3];

	memcpy(at, region, sizeof(at));
	LST_EQ_U64(lsp_scan_init(&s, LOOKUP_BLOCKS), 0);
	for (i = 0; i < LOOKUP_BLOCKS; i++) {
		unsigned r = (unsigned)rnd(3), kind = (unsigned)rnd(100);
		uint64_t size = 16 + 16 * rnd(12);

		if (kind < 3)
			size = 0;
		else if (kind < 5)
			size = 70000 + rnd(1u << 20);	/* big */
		else if (kind < 7)
			size = 60000 + rnd(8000);	/* near the limit */
		if (kind >= 7 && kind < 9 && i > 0) {
			/* stale: inside or across the block before */
			uintptr_t a = s.addr[s.n - 1], len = s.size[s.n - 1];

			add(&s, (void *)(a + (len ? rnd(len) : 0)),
			    16 + rnd(100000), (uint32_t)rnd(8));
			continue;
		}
		add(&s, (void *)at[r], size, (uint32_t)rnd(8));
		at[r] += size + 16 * rnd(kind < 95 ? 2 : 1000);
	}
	LST_EQ_U64(lsp_scan_run(&s, NULL, 0, &rd), 0);
	LST_EQ_U64(s.gran != NULL, 1);
	for (i = 0; i < s.n; i++) {
		uint64_t len = s.size[i] ? s.size[i] : 1;

		if ((s.addr[i] + len - 1) / 4096 - s.addr[i] / 4096 >= 16)
			nbig++;
	}
	LST_EQ_U64(s.nbig, nbig);
	LST_EQ_U64(nbig > 100, 1);
	for (i = 0; i < s.n; i++) {
		uintptr_t a = s.addr[i], len = s.size[i];
		uintptr_t probe[8] = { a, a - 1, a + 1, a + len - 1, a + len,
		    a + len / 2, (a | 4095) + 1, a & ~(uintptr_t)4095 };

		for (k = 0; k < 8; k++) {
			size_t want = find_all(&s, probe[k]);

			LST_EQ_U64(lsp_scan_find(&s, probe[k]), want);
			if (want == SIZE_MAX)
				misses++;
			else
				hits++;
		}
	}
	for (i = 0; i < 200000; i++) {
		uintptr_t p = region[rnd(3)] + rnd(LOOKUP_BLOCKS * 2000ull);

		LST_EQ_U64(lsp_scan_find(&s, p), find_all(&s, p));
	}
	LST_EQ_U64(hits > 50000 && misses > 20000, 1);
	lsp_scan_fini(&s);
}

int
main(void)
{
	test_synthetic();
	test_glibc_chunks();
	test_chains();
	test_tiered();
	test_chain_biggest();
	test_lookup();
	return LST_DONE();
}
