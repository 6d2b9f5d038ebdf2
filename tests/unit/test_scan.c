/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the heap scan's engine (preload/scan.c) on heaps built in
 * this test's own memory: calloc'd or mapped buffers stand in for blocks,
 * static arrays and mappings for roots, and each test knows its graph, so
 * every class, owner and total is asserted exactly.  Also the live-block
 * table's iterator (blocks.c) that feeds the scan, with the rest of the
 * shim stubbed as in test_tables.c, and a scale run of 1M blocks whose
 * time and memory are printed, not asserted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "lsp.h"
#include "lst.h"
#include "shim_stub.h"
#include "scan.h"
#include "scan_ut.h"

int lst_failures;

/* This process's memory, copied or (direct) read in place: every test
 * on real memory runs both ways. */
static struct lsp_scan_reader self_reader = { lsp_scan_read_self, NULL,
    false };

/* --- every class in one heap --- */

static uintptr_t g_arr[4];		/* root 0: global, tag 1 */
static uintptr_t g_interior;		/* root 1: global, tag 2 */

enum {
	S_LOST, S_HEAD, S_NODE, S_INNER, S_INNER_CHILD, S_CYCLE, S_ARR,
	S_ARR_CHILD, S_STACK, S_P6,
};

static void
test_classes(void)
{
	struct lsp_scan s;
	struct lsp_scan_root roots[3];
	uintptr_t stk[2] = { 0, 0 };		/* root 2: stack, tag 5 */
	uintptr_t *lost = block(48), *head = block(32), *n[3], *inner,
	    *inner_child, *ca, *cb, *g[4], *d, *sb, *lo_c, *hi_c, *e, *f;
	unsigned i;

	for (i = 0; i < 3; i++)
		n[i] = block(24);
	e = block(8);
	f = block(24);
	inner = block(64);
	inner_child = block(40);
	ca = block(16);
	cb = block(16);
	for (i = 0; i < 4; i++)
		g[i] = block(100);
	d = block(56);
	sb = block(24);

	/* A lost list: head -> n0 -> n1 -> n2. */
	head[1] = (uintptr_t)n[0];
	n[0][0] = (uintptr_t)n[1];
	n[1][0] = (uintptr_t)n[2];
	n[2][2] = (uintptr_t)f + 8;	/* lost -?-> f: indirectly lost */
	/* Held 16 bytes in, and what that block points to. */
	g_interior = (uintptr_t)inner + 16;
	inner[3] = (uintptr_t)inner_child;
	/* A lost cycle of two. */
	ca[0] = (uintptr_t)cb;
	cb[1] = (uintptr_t)ca;
	/* A global array of pointers; one element's child. */
	for (i = 0; i < 4; i++)
		g_arr[i] = (uintptr_t)g[i];
	g[0][5] = (uintptr_t)d;
	d[0] = (uintptr_t)g[0];		/* back pointer */
	g[1][3] = (uintptr_t)e + 4;	/* root -> g1 -?-> e: interior-only */
	lost[2] = (uintptr_t)g[2];	/* lost blocks change nothing */
	stk[1] = (uintptr_t)sb;

	LST_EQ_U64(lsp_scan_init(&s, 64), 0);
	/* Added in no particular order: the scan sorts. */
	add(&s, d, 56, S_ARR_CHILD);
	add(&s, lost, 48, S_LOST);
	for (i = 0; i < 4; i++)
		add(&s, g[i], 100, S_ARR);
	add(&s, cb, 16, S_CYCLE);
	add(&s, head, 32, S_HEAD);
	for (i = 3; i-- > 0;)
		add(&s, n[i], 24, S_NODE);
	add(&s, inner, 64, S_INNER);
	add(&s, inner_child, 40, S_INNER_CHILD);
	add(&s, ca, 16, S_CYCLE);
	add(&s, sb, 24, S_STACK);
	add(&s, e, 8, S_P6);
	add(&s, f, 24, S_NODE);
	roots[0] = root(g_arr, sizeof(g_arr), LSP_SCAN_GLOBAL, 1);
	roots[1] = root(&g_interior, sizeof(g_interior), LSP_SCAN_GLOBAL, 2);
	roots[2] = root(stk, sizeof(stk), LSP_SCAN_STACK, 5);
	LST_EQ_U64(lsp_scan_run(&s, roots, 3, &self_reader), 0);
	LST_EQ_U64(s.n, 17);

	LST_EQ_U64(cls(&s, lost), LSP_REACH_DEFINITE);
	LST_EQ_U64(owner(&s, lost), LSP_SCAN_NONE);
	LST_EQ_U64(cls(&s, head), LSP_REACH_DEFINITE);
	for (i = 0; i < 3; i++)
		LST_EQ_U64(cls(&s, n[i]), LSP_REACH_INDIRECT);
	LST_EQ_U64(owner(&s, n[0]), (uintptr_t)head);
	LST_EQ_U64(owner(&s, n[2]), (uintptr_t)n[1]);
	LST_EQ_U64(lsp_scan_via(&s, idx(&s, n[0])), (uintptr_t)&head[1]);
	LST_EQ_U64(cls(&s, f), LSP_REACH_INDIRECT);
	LST_EQ_U64(owner(&s, f), (uintptr_t)n[2]);
	LST_EQ_U64(cls(&s, e), LSP_REACH_INTERIOR);
	LST_EQ_U64(owner(&s, e), (uintptr_t)g[1]);

	LST_EQ_U64(cls(&s, inner), LSP_REACH_INTERIOR);
	LST_EQ_U64(lsp_scan_flags(&s, idx(&s, inner)), LSP_SCAN_F_INTERIOR);
	LST_EQ_U64(owner(&s, inner), ROOT(1));
	LST_EQ_U64(lsp_scan_via(&s, idx(&s, inner)), (uintptr_t)&g_interior);
	/* memcheck: root -?-> A ---> B makes B possibly lost too. */
	LST_EQ_U64(cls(&s, inner_child), LSP_REACH_INTERIOR);
	LST_EQ_U64(lsp_scan_flags(&s, idx(&s, inner_child)),
	    LSP_SCAN_F_START);
	LST_EQ_U64(owner(&s, inner_child), (uintptr_t)inner);

	/* The cycle: its lower block leads (definitely lost), the other
	 * is indirectly lost, owned by it. */
	lo_c = ca < cb ? ca : cb;
	hi_c = ca < cb ? cb : ca;
	LST_EQ_U64(cls(&s, lo_c), LSP_REACH_DEFINITE);
	LST_EQ_U64(cls(&s, hi_c), LSP_REACH_INDIRECT);
	LST_EQ_U64(owner(&s, hi_c), (uintptr_t)lo_c);
	LST_EQ_U64(owner(&s, lo_c), LSP_SCAN_NONE);

	for (i = 0; i < 4; i++) {
		LST_EQ_U64(cls(&s, g[i]), LSP_REACH_REACHABLE);
		LST_EQ_U64(owner(&s, g[i]), ROOT(0));
		LST_EQ_U64(lsp_scan_via(&s, idx(&s, g[i])),
		    (uintptr_t)&g_arr[i]);
	}
	LST_EQ_U64(cls(&s, d), LSP_REACH_REACHABLE);
	LST_EQ_U64(owner(&s, d), (uintptr_t)g[0]);
	LST_EQ_U64(cls(&s, sb), LSP_REACH_REACHABLE);
	LST_EQ_U64(owner(&s, sb), ROOT(2));

	check_site(&s, S_LOST, (uint64_t[]){ 0, 0, 0, 48 },
	    (uint64_t[]){ 0, 0, 0, 1 });
	check_site(&s, S_HEAD, (uint64_t[]){ 0, 0, 0, 32 },
	    (uint64_t[]){ 0, 0, 0, 1 });
	check_site(&s, S_NODE, (uint64_t[]){ 0, 0, 96, 0 },
	    (uint64_t[]){ 0, 0, 4, 0 });
	check_site(&s, S_P6, (uint64_t[]){ 0, 8, 0, 0 },
	    (uint64_t[]){ 0, 1, 0, 0 });
	check_site(&s, S_INNER, (uint64_t[]){ 0, 64, 0, 0 },
	    (uint64_t[]){ 0, 1, 0, 0 });
	check_site(&s, S_INNER_CHILD, (uint64_t[]){ 0, 40, 0, 0 },
	    (uint64_t[]){ 0, 1, 0, 0 });
	check_site(&s, S_CYCLE, (uint64_t[]){ 0, 0, 16, 16 },
	    (uint64_t[]){ 0, 0, 1, 1 });
	check_site(&s, S_ARR, (uint64_t[]){ 400, 0, 0, 0 },
	    (uint64_t[]){ 4, 0, 0, 0 });
	check_site(&s, S_ARR_CHILD, (uint64_t[]){ 56, 0, 0, 0 },
	    (uint64_t[]){ 1, 0, 0, 0 });
	check_site(&s, S_STACK, (uint64_t[]){ 24, 0, 0, 0 },
	    (uint64_t[]){ 1, 0, 0, 0 });
	LST_TRUE(lsp_scan_site(&s, S_P6 + 1) == NULL);

	check_retained1(&s, S_ARR, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 1),
	    400, 4);
	check_retained1(&s, S_ARR_CHILD, S_ARR, 56, 1);
	check_retained1(&s, S_P6, S_ARR, 8, 1);
	check_retained1(&s, S_INNER, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 2),
	    64, 1);
	check_retained1(&s, S_INNER_CHILD, S_INNER, 40, 1);
	check_retained1(&s, S_STACK, LSP_SCAN_OWNER_ROOT(LSP_SCAN_STACK, 5),
	    24, 1);
	check_not_retained(&s, S_LOST);
	check_not_retained(&s, S_NODE);
	check_not_retained(&s, S_CYCLE);
	LST_EQ_U64(s.st.root_unreadable, 0);
	LST_EQ_U64(s.st.block_unreadable, 0);
	LST_EQ_U64(s.st.duplicates, 0);
	lsp_scan_fini(&s);

	free(lost);
	free(head);
	for (i = 0; i < 3; i++)
		free(n[i]);
	free(inner);
	free(inner_child);
	free(ca);
	free(cb);
	for (i = 0; i < 4; i++)
		free(g[i]);
	free(d);
	free(sb);
	free(e);
	free(f);
	memset(g_arr, 0, sizeof(g_arr));
	g_interior = 0;
}

/* --- breadth-first owners: shortest paths, back pointers ignored --- */

static uintptr_t g_bfs[2];

/*
 * g_bfs = { a, x }.  a -> a1 -> a2 -> p and x -> p: p is 2 from the roots
 * through x, 4 through a.  x -> x1 -> x2 -> q and a -> q: q is 2 through
 * a.  Children point back to parents (p -> x, q -> a, a2 -> a1).  A
 * depth-first marking taking a first gets p wrong, taking x first gets q
 * wrong; breadth-first gets both.
 */
static void
test_bfs(void)
{
	struct lsp_scan s;
	struct lsp_scan_root r;
	uintptr_t *a = block(32), *a1 = block(32), *a2 = block(32),
	    *x = block(32), *x1 = block(32), *x2 = block(32), *p = block(32),
	    *q = block(32);
	uintptr_t *all[] = { a, a1, a2, x, x1, x2, p, q };
	unsigned i;

	g_bfs[0] = (uintptr_t)a;
	g_bfs[1] = (uintptr_t)x;
	a[0] = (uintptr_t)a1;
	a[1] = (uintptr_t)q;
	a1[0] = (uintptr_t)a2;
	a2[0] = (uintptr_t)p;
	a2[1] = (uintptr_t)a1;
	x[0] = (uintptr_t)x1;
	x[1] = (uintptr_t)p;
	x1[0] = (uintptr_t)x2;
	x2[0] = (uintptr_t)q;
	p[2] = (uintptr_t)x;
	q[2] = (uintptr_t)a;

	LST_EQ_U64(lsp_scan_init(&s, 8), 0);
	for (i = 0; i < 8; i++)
		add(&s, all[i], 32, i);
	r = root(g_bfs, sizeof(g_bfs), LSP_SCAN_GLOBAL, 0);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &self_reader), 0);
	for (i = 0; i < 8; i++)
		LST_EQ_U64(cls(&s, all[i]), LSP_REACH_REACHABLE);
	LST_EQ_U64(owner(&s, a), ROOT(0));
	LST_EQ_U64(owner(&s, x), ROOT(0));
	LST_EQ_U64(owner(&s, a1), (uintptr_t)a);
	LST_EQ_U64(owner(&s, q), (uintptr_t)a);
	LST_EQ_U64(lsp_scan_via(&s, idx(&s, q)), (uintptr_t)&a[1]);
	LST_EQ_U64(owner(&s, p), (uintptr_t)x);
	LST_EQ_U64(lsp_scan_via(&s, idx(&s, p)), (uintptr_t)&x[1]);
	LST_EQ_U64(owner(&s, x1), (uintptr_t)x);
	LST_EQ_U64(owner(&s, a2), (uintptr_t)a1);
	LST_EQ_U64(owner(&s, x2), (uintptr_t)x1);
	/* Sites are the blocks' positions in all[]: q (7) is held by a (0),
	 * p (6) by x (3). */
	check_retained1(&s, 7, 0, 32, 1);
	check_retained1(&s, 6, 3, 32, 1);
	lsp_scan_fini(&s);
	for (i = 0; i < 8; i++)
		free(all[i]);
	memset(g_bfs, 0, sizeof(g_bfs));
}

/* --- retained by several owners, in order --- */

static uintptr_t g_ret[2];

static void
test_retained_order(void)
{
	struct lsp_scan s;
	struct lsp_scan_root r[2];
	uintptr_t stk[1], *b1 = block(16), *b2 = block(24), *b3 = block(40),
	    *h = block(16);
	const struct lsp_scan_owner *e;
	size_t n;

	stk[0] = (uintptr_t)b1;
	g_ret[0] = (uintptr_t)b2;
	g_ret[1] = (uintptr_t)h;
	h[1] = (uintptr_t)b3;
	LST_EQ_U64(lsp_scan_init(&s, 4), 0);
	add(&s, b1, 16, 9);
	add(&s, b2, 24, 9);
	add(&s, b3, 40, 9);
	add(&s, h, 16, 4);
	r[0] = root(stk, sizeof(stk), LSP_SCAN_STACK, 7);
	r[1] = root(g_ret, sizeof(g_ret), LSP_SCAN_GLOBAL, 3);
	LST_EQ_U64(lsp_scan_run(&s, r, 2, &self_reader), 0);
	e = lsp_scan_retained(&s, 9, &n);
	LST_EQ_U64(n, 3);
	if (e != NULL && n == 3) {
		LST_EQ_U64(e[0].owner, 4);
		LST_EQ_U64(e[0].bytes, 40);
		LST_EQ_U64(e[0].via, (uintptr_t)&h[1]);
		LST_EQ_U64(e[1].owner, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 3));
		LST_EQ_U64(e[1].bytes, 24);
		LST_EQ_U64(e[2].owner, LSP_SCAN_OWNER_ROOT(LSP_SCAN_STACK, 7));
		LST_EQ_U64(e[2].bytes, 16);
		LST_EQ_U64(e[2].blocks, 1);
		LST_EQ_U64(LSP_SCAN_OWNER_KIND(e[2].owner), LSP_SCAN_STACK);
		LST_EQ_U64(LSP_SCAN_OWNER_TAG(e[2].owner), 7);
	}
	check_retained1(&s, 4, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 3), 16,
	    1);
	lsp_scan_fini(&s);
	free(b1);
	free(b2);
	free(b3);
	free(h);
	memset(g_ret, 0, sizeof(g_ret));
}

/* --- unreadable memory in roots and blocks --- */

static void
test_unreadable(void)
{
	struct lsp_scan s;
	struct lsp_scan_root r[2];
	size_t pg = 4096;
	char *rt = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *big = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t *x = block(16), *y = block(16), *z = block(16),
	    *w = block(16), *u = block(16);

	if (rt == MAP_FAILED || big == MAP_FAILED) {
		LST_FAIL("mmap");
		return;
	}
	/* Root: [x | PROT_NONE | y | unmapped]; the block big:
	 * [-> z | PROT_NONE (holding -> u) | -> w]. */
	*(uintptr_t *)(rt + 8) = (uintptr_t)x;
	*(uintptr_t *)(rt + 2 * pg + 16) = (uintptr_t)y;
	*(uintptr_t *)(rt + 2 * pg + pg - 8) = (uintptr_t)big;
	*(uintptr_t *)(big) = (uintptr_t)z;
	*(uintptr_t *)(big + pg) = (uintptr_t)u;
	*(uintptr_t *)(big + 2 * pg + 8) = (uintptr_t)w;
	LST_EQ_U64(mprotect(rt + pg, pg, PROT_NONE), 0);
	LST_EQ_U64(mprotect(big + pg, pg, PROT_NONE), 0);

	/* The hole made after the scan's arrays are mapped, which might
	 * fill it otherwise (test_own_memory). */
	LST_EQ_U64(lsp_scan_init(&s, 8), 0);
	LST_EQ_U64(munmap(rt + 3 * pg, pg), 0);
	add(&s, x, 16, 0);
	add(&s, y, 16, 0);
	add(&s, z, 16, 1);
	add(&s, w, 16, 1);
	add(&s, u, 16, 2);
	add(&s, big, 3 * pg, 3);
	r[0] = root(rt, 4 * pg, LSP_SCAN_GLOBAL, 0);
	r[1] = root(rt + pg, 8, LSP_SCAN_TLS, 0);	/* all unreadable */
	LST_EQ_U64(lsp_scan_run(&s, r, 2, &self_reader), 0);
	LST_EQ_U64(cls(&s, x), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, y), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, big), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, z), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, w), LSP_REACH_REACHABLE);
	LST_EQ_U64(owner(&s, w), (uintptr_t)big);
	LST_EQ_U64(lsp_scan_via(&s, idx(&s, w)), (uintptr_t)(big + 2 * pg
	    + 8));
	LST_EQ_U64(cls(&s, u), LSP_REACH_DEFINITE);	/* never read */
	LST_EQ_U64(s.st.root_unreadable, 2 * pg + 8);
	LST_EQ_U64(s.st.block_unreadable, pg);
	lsp_scan_fini(&s);
	munmap(rt, 3 * pg);
	munmap(big, 3 * pg);
	free(x);
	free(y);
	free(z);
	free(w);
	free(u);
}

/* --- the scan's own memory is never a root --- */

static void
test_own_memory(void)
{
	struct lsp_scan s;
	struct lsp_scan_root r[2];
	uintptr_t *x = block(16);

	LST_EQ_U64(lsp_scan_init(&s, 4), 0);
	add(&s, x, 16, 0);
	/* The arrays, which hold x's address, as a root; and all memory
	 * around them. */
	r[0] = root(s.addr, s.map_len, LSP_SCAN_GLOBAL, 0);
	r[1] = root((char *)s.addr - 8, s.map_len + 16, LSP_SCAN_GLOBAL, 1);
	LST_EQ_U64(lsp_scan_run(&s, r, 2, &self_reader), 0);
	LST_EQ_U64(cls(&s, x), LSP_REACH_DEFINITE);
	LST_EQ_U64(s.st.root_own, 2 * s.map_len);
	lsp_scan_fini(&s);
	free(x);
}

/* --- the live-block table's iterator --- */

struct seen {
	uintptr_t addr[8];
	uint64_t size[8];
	uint32_t site[8];
	unsigned n;
};

static void
collect(void *ctx, uintptr_t addr, uint64_t size, uint32_t site)
{
	struct seen *v = ctx;

	if (v->n < 8) {
		v->addr[v->n] = addr;
		v->size[v->n] = size;
		v->site[v->n] = site;
	}
	v->n++;
}

static uintptr_t g_rec;

static void
test_each_block(void)
{
	struct seen v = { .n = 0 };
	struct lsp_scan s;
	struct lsp_scan_root r;
	uintptr_t *held = block(40), *lost = block(24);
	uintptr_t big = (uintptr_t)0x7e0000000000;
	unsigned i, found = 0;
	uint32_t site_held = UINT32_MAX;

	if (lsp_record_init() != 0) {
		LST_FAIL("lsp_record_init");
		return;
	}
	stack[0] = 0x401000;
	stack_n = 1;
	lsp_record_alloc(held, 40, LS_API_MALLOC);
	stack[0] = 0x402000;
	lsp_record_alloc(lost, 24, LS_API_MALLOC);
	lsp_record_alloc((void *)big, (size_t)5 << 30, LS_API_MALLOC);
	lsp_record_each_block(collect, &v);
	LST_EQ_U64(v.n, 3);
	for (i = 0; i < v.n && i < 8; i++) {
		if (v.addr[i] == (uintptr_t)held && v.size[i] == 40) {
			site_held = v.site[i];
			found++;
		}
		found += v.addr[i] == (uintptr_t)lost && v.size[i] == 24;
		found += v.addr[i] == big && v.size[i] == (uint64_t)5 << 30;
	}
	LST_EQ_U64(found, 3);
	LST_TRUE(lsp_record_free((void *)big));

	g_rec = (uintptr_t)held;
	LST_EQ_U64(lsp_scan_init(&s, 4), 0);
	lsp_record_each_block(lsp_scan_add_cb, &s);
	r = root(&g_rec, sizeof(g_rec), LSP_SCAN_GLOBAL, 0);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &self_reader), 0);
	LST_EQ_U64(s.n, 2);
	LST_EQ_U64(s.st.refused, 0);
	LST_EQ_U64(cls(&s, held), LSP_REACH_REACHABLE);
	LST_EQ_U64(cls(&s, lost), LSP_REACH_DEFINITE);
	check_retained1(&s, site_held, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL,
	    0), 40, 1);
	lsp_scan_fini(&s);
	LST_TRUE(lsp_record_free(held));
	LST_TRUE(lsp_record_free(lost));
	free(held);
	free(lost);
	g_rec = 0;
}

/* --- scale: 1M blocks --- */

#define SCALE_N		(1u << 20)
#define SCALE_LIST	1024u	/* blocks per list */
#define SCALE_BLOCK_MIN	32u	/* bytes; LSTEST_SCAN_BLOCK asks for more */
#define SCALE_SITES	2048u	/* block k's site: k % SCALE_SITES */

static uintptr_t *g_heads;

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * 1M blocks of 32 bytes (LSTEST_SCAN_BLOCK: more) in lists of 1024; the
 * even lists' heads are in a root array, the odd ones lost: half
 * reachable, and per lost list one definitely and 1023 indirectly lost.  Added in a scattered order, of
 * 2,048 sites.
 */
static void
test_scale(void)
{
	const char *env = getenv("LSTEST_SCAN_BLOCK");
	size_t bsize = env != NULL && strtoul(env, NULL, 0) >
	    SCALE_BLOCK_MIN ? strtoul(env, NULL, 0) / 8 * 8 : SCALE_BLOCK_MIN;
	size_t heap_len = (size_t)SCALE_N * bsize, nlists =
	    SCALE_N / SCALE_LIST, i;
	char *heap = mmap(NULL, heap_len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct lsp_scan s;
	struct lsp_scan_root r;
	uint64_t tot[LSP_REACH_NCLASS] = { 0 };
	double t0, t1, t2;
	uint32_t site;
	unsigned c;

	g_heads = calloc(nlists, sizeof(*g_heads));
	if (heap == MAP_FAILED || g_heads == NULL) {
		LST_FAIL("cannot map the heap");
		return;
	}
	for (i = 0; i < SCALE_N; i++) {
		uintptr_t *b = (uintptr_t *)(heap + i * bsize);

		if ((i + 1) % SCALE_LIST != 0)
			b[1] = (uintptr_t)(b + bsize / 8);
		b[2] = 0x5a5a5a5a;	/* not a pointer */
	}
	for (i = 0; i < nlists; i += 2)
		g_heads[i / 2] = (uintptr_t)(heap + i * SCALE_LIST *
		    bsize);

	t0 = now();
	LST_EQ_U64(lsp_scan_init(&s, SCALE_N), 0);
	for (i = 0; i < SCALE_N; i++) {
		size_t k = (i * 786433u) % SCALE_N;	/* odd: a permutation */

		add(&s, heap + k * bsize, bsize, (uint32_t)(k %
		    SCALE_SITES));
	}
	t1 = now();
	r = root(g_heads, nlists / 2 * sizeof(*g_heads), LSP_SCAN_GLOBAL, 0);
	LST_EQ_U64(lsp_scan_run(&s, &r, 1, &self_reader), 0);
	t2 = now();
	for (i = 1, c = 0; i < s.n; i++)
		c += s.addr[i - 1] >= s.addr[i];
	LST_EQ_U64(c, 0);		/* sorted, no repeats */
	LST_EQ_U64(s.n, SCALE_N);
	for (site = 0; site < SCALE_SITES; site++) {
		const struct lsp_scan_totals *t = lsp_scan_site(&s, site);

		for (c = 0; t != NULL && c < LSP_REACH_NCLASS; c++)
			tot[c] += t[c].blocks;
	}
	LST_EQ_U64(tot[LSP_REACH_REACHABLE], SCALE_N / 2);
	LST_EQ_U64(tot[LSP_REACH_INTERIOR], 0);
	LST_EQ_U64(tot[LSP_REACH_DEFINITE], nlists / 2);
	LST_EQ_U64(tot[LSP_REACH_INDIRECT], SCALE_N / 2 - nlists / 2);
	/* The reachable (even) lists hold sites 0 to 1023, each block held
	 * by the one before it in its list (the site before), the heads (all
	 * of site 0) by the root: 1,024 pairs, so the retained-by table
	 * grew. */
	check_retained1(&s, 5, 4, SCALE_N / SCALE_SITES * bsize,
	    SCALE_N / SCALE_SITES);
	check_retained1(&s, 0, LSP_SCAN_OWNER_ROOT(LSP_SCAN_GLOBAL, 0),
	    nlists / 2 * bsize, nlists / 2);
	LST_EQ_U64(s.nret, SCALE_SITES / 2);
	printf("scale (%s reads): %u blocks of %zu bytes: add %.3f s, scan %.3f s "
	    "(sort, mark, classify, totals); mapped %.1f MiB at peak "
	    "(%.1f bytes per block), %" PRIu64 " words in %" PRIu64
	    " reads\n",
	    self_reader.direct ? "direct" : "copied", SCALE_N,
	    bsize, t1 - t0, t2 - t1, (double)s.st.mapped / 1048576,
	    (double)s.st.mapped / SCALE_N, s.st.words, s.st.reads);
	lsp_scan_fini(&s);
	munmap(heap, heap_len);
	free(g_heads);
}

int
main(void)
{
	int direct;

	for (direct = 0; direct < 2; direct++) {
		self_reader.direct = direct;
		test_classes();
		test_bfs();
		test_retained_order();
		test_unreadable();
		test_own_memory();
		test_scale();
	}
	test_each_block();
	return LST_DONE();
}
