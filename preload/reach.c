/* SPDX-License-Identifier: MIT */
/*
 * A snapshot's heap scan (DESIGN.md decision 7): which live blocks are
 * reachable from the roots, who holds them, and the chains up to a root,
 * written as SCAN, OWNERS and CHAIN inside the snapshot (src/dump.h).  At
 * the final snapshot the other threads are stopped (roots.c) and their
 * registers, stacks and TLS are roots; while the program runs, the scan
 * reads a copy-on-write clone of the process (scan_clone.c).  The marking
 * is scan.c's; this file gathers its input and writes its results.
 * Under the writer's lock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "lsp.h"
#include "reach.h"
#include "roots.h"
#include "scan.h"

#define OWNERS_PER_REC	4096
#define CHAINS_PER_REC	256
#define CHAIN_MAX	256		/* steps of a chain kept */
#define CHAIN_BUDGET	(32u << 20)	/* links walked for all chains */
#define MAX_THREADS	4096		/* serials known to a scan */

/* Thread ids and their registry serials, copied before the stop. */
static struct {
	pid_t tid[MAX_THREADS];
	uint64_t serial[MAX_THREADS];
	uintptr_t tp[MAX_THREADS];
	size_t n;
	uintptr_t ended[256];
	size_t nended;
} *serials;

/* 1 if the next malloc is glibc's (whose chunk headers scan.h knows), 0
 * if not, -1 before lsp_reach_serials looked. */
static int glibc_malloc = -1;

static void
look_at_malloc(void)
{
	Dl_info info;
	const char *base;

	if (glibc_malloc >= 0)
		return;
	glibc_malloc = 0;
	if (lsp_real.malloc == NULL || dladdr((void *)lsp_real.malloc,
	    &info) == 0 || info.dli_fname == NULL)
		return;
	base = strrchr(info.dli_fname, '/');
	base = base != NULL ? base + 1 : info.dli_fname;
	glibc_malloc = strncmp(base, "libc.so", 7) == 0;
}

void
lsp_reach_serials(void)
{
	look_at_malloc();
	if (serials == NULL)
		serials = ls_map(sizeof(*serials));
	if (serials != NULL)
		serials->n = lsp_threads_serials(serials->tid, serials->serial,
		    serials->tp, MAX_THREADS);
	if (serials != NULL)
		serials->nended = lsp_threads_ended(serials->ended, 256);
}

uint32_t
lsp_reach_serial_of(pid_t tid)
{
	size_t i;

	if (tid == getpid())
		return 0;
	for (i = 0; serials != NULL && i < serials->n && i < MAX_THREADS; i++)
		if (serials->tid[i] == tid &&
		    serials->serial[i] < LSP_SCAN_TAG_CACHE)
			return (uint32_t)serials->serial[i];
	return LSP_SCAN_TAG_MAX - 1;
}

static const unsigned scan_kind[] = {
	[LSP_ROOT_GLOBAL] = LSP_SCAN_GLOBAL,
	[LSP_ROOT_REGS] = LSP_SCAN_REGISTER,
	[LSP_ROOT_STACK] = LSP_SCAN_STACK,
	[LSP_ROOT_TLS] = LSP_SCAN_TLS,
	[LSP_ROOT_DESC] = LSP_SCAN_TLS,
};

size_t
lsp_reach_threads(const pid_t **tid, const uintptr_t **tp)
{
	if (serials == NULL)
		return 0;
	*tid = serials->tid;
	*tp = serials->tp;
	return serials->n;
}

/* Whether tp still is a thread's descriptor (glibc unmaps the stacks its
 * cache does not keep, and the address may be anything's since): its
 * first and third words point to itself (tcbhead_t's tcb and self). */
static bool
still_descriptor(uintptr_t tp)
{
	struct iovec src = { (void *)tp, 3 * sizeof(uintptr_t) };
	uintptr_t w[3];

	return lsp_scan_read_self(NULL, &src, 1, w) == (ssize_t)sizeof(w) &&
	    w[0] == tp && w[2] == tp;
}

/*
 * The vector of dynamic TLS blocks (DTV) of the thread whose descriptor
 * is at tp, as a root: the descriptor's second word points one 16-byte
 * entry into it, and the entry before holds its length.  The loader made
 * the main thread's before malloc existed, where no scan looks, and a
 * dlopen'd module's __thread variables live in the blocks it points to.
 */
static void
add_dtv(struct lsp_reach_roots *rr, uintptr_t tp, uint32_t tag)
{
	struct iovec src = { (void *)(tp + sizeof(uintptr_t)),
	    sizeof(uintptr_t) };
	uintptr_t dtv, len;

	if (lsp_scan_read_self(NULL, &src, 1, &dtv) != sizeof(dtv) ||
	    dtv < 4096 + 16 || (dtv & 7) != 0)
		return;
	src.iov_base = (void *)(dtv - 16);
	if (lsp_scan_read_self(NULL, &src, 1, &len) != sizeof(len) ||
	    len == 0 || len > 65536)
		return;
	lsp_reach_add_root(rr, LSP_SCAN_TLS, dtv - 16, dtv + 16 * (len + 1),
	    tag);
}

void
lsp_reach_cache(struct lsp_reach_roots *rr)
{
	size_t d = lsp_roots_desc_size(), i, j;

	for (i = 0; serials != NULL && d != 0 && i < serials->nended; i++) {
		uintptr_t tp = serials->ended[i];

		/* A stack the cache gave to a running thread is its. */
		for (j = 0; j < serials->n; j++)
			if (serials->tp[j] == tp)
				break;
		if (j == serials->n && tp != lsp_roots_main_tp() &&
		    still_descriptor(tp)) {
			lsp_reach_add_root(rr, LSP_SCAN_TLS, tp, tp + d,
			    LSP_SCAN_TAG_CACHE);
			add_dtv(rr, tp, LSP_SCAN_TAG_CACHE);
		}
	}
}

void
lsp_reach_add_root(struct lsp_reach_roots *rr, unsigned kind, uintptr_t lo,
    uintptr_t hi, uint32_t tag)
{
	if (rr->r == NULL || lo >= hi)
		return;
	if (rr->n == rr->cap) {
		size_t cap = rr->cap * 2;
		struct lsp_scan_root *nr = ls_map(cap * sizeof(*nr));

		if (nr == NULL) {
			rr->lost = true;
			return;
		}
		memcpy(nr, rr->r, rr->n * sizeof(*nr));
		ls_unmap(rr->r, rr->cap * sizeof(*nr));
		rr->r = nr;
		rr->cap = cap;
	}
	rr->r[rr->n++] = (struct lsp_scan_root){ lo, hi, kind, tag };
}

/* roots.c's callback (ctx: the roots): a global's tag is its range's index, a thread's
 * range is tagged with the thread's serial. */
void
lsp_reach_on_root(void *ctx, const struct lsp_root *r)
{
	struct lsp_reach_roots *rr = ctx;
	uint32_t tag;

	if (r->kind < 0 || r->kind > LSP_ROOT_DESC)
		return;
	tag = r->kind == LSP_ROOT_GLOBAL ? (uint32_t)rr->n : lsp_reach_serial_of(r->tid);
	lsp_reach_add_root(rr, scan_kind[r->kind], r->lo, r->hi, tag);
	if (r->kind == LSP_ROOT_DESC)
		add_dtv(rr, r->lo, tag);
}

int
lsp_reach_roots_init(struct lsp_reach_roots *rr)
{
	*rr = (struct lsp_reach_roots){ 0 };
	rr->cap = 1024;
	rr->r = ls_map(rr->cap * sizeof(*rr->r));
	return rr->r != NULL ? 0 : -ENOMEM;
}

void
lsp_reach_roots_free(struct lsp_reach_roots *rr)
{
	if (rr->r != NULL)
		ls_unmap(rr->r, rr->cap * sizeof(*rr->r));
	*rr = (struct lsp_reach_roots){ 0 };
}

void
lsp_reach_globals(struct lsp_reach_roots *rr)
{
	lsp_roots_globals(lsp_reach_on_root, rr);
}

static void
count_block(void *ctx, uintptr_t addr, uint64_t size, uint32_t site)
{
	(void)addr;
	(void)size;
	(void)site;
	(*(size_t *)ctx)++;
}

int
lsp_reach_fill(struct lsp_scan *s)
{
	size_t n = 0;
	int r;

	lsp_record_each_block(count_block, &n);
	r = lsp_scan_init(s, n > 0 ? n : 1);
	if (r != 0)
		return r;
	if (glibc_malloc == 1)
		lsp_scan_glibc(s);
	lsp_record_each_block(lsp_scan_add_cb, s);
	return 0;
}

/* --- the records --- */

/* An OWNERS entry's or a CHAIN step's kind and owner: a block owner's
 * stack, a global root's word address, a thread root's serial. */
static unsigned
own_kind(uint32_t owner, uintptr_t via, uint64_t *value)
{
	static const unsigned kind[LSP_SCAN_NKIND] = {
		[LSP_SCAN_GLOBAL] = LS_OWN_GLOBAL,
		[LSP_SCAN_STACK] = LS_OWN_STACK,
		[LSP_SCAN_TLS] = LS_OWN_TLS,
		[LSP_SCAN_REGISTER] = LS_OWN_REGISTER,
	};
	unsigned k;

	if (!LSP_SCAN_OWNER_IS_ROOT(owner)) {
		*value = owner;
		return LS_OWN_BLOCK;
	}
	k = kind[LSP_SCAN_OWNER_KIND(owner)];
	if (k == LS_OWN_TLS && LSP_SCAN_OWNER_TAG(owner) == LSP_SCAN_TAG_CACHE) {
		*value = 0;
		return LS_OWN_CACHE;
	}
	*value = k == LS_OWN_GLOBAL ? via : LSP_SCAN_OWNER_TAG(owner);
	return k;
}

/* A run of counted records (OWNERS, CHAIN) of at most max entries each:
 * one is begun at its first entry, ended (and spilled) at its last. */
struct run {
	size_t r;
	uint32_t n;
};

/* Set in the clone: its records may go into a later snapshot, whose
 * index the parent then writes over theirs (ls_recs_reindex). */
static bool pad_index;

void
lsp_reach_pad_index(void)
{
	pad_index = true;
}

static void
put_index(struct ls_buf *b, uint32_t index)
{
	if (pad_index)
		ls_buf_uv_padded(b, index);
	else
		ls_buf_uv(b, index);
}

static void
run_entry(struct ls_buf *b, struct run *run, unsigned type, uint32_t index)
{
	if (run->n != 0)
		return;
	if (!pad_index) {
		run->r = ls_rec_begin_counted(b, type, index);
		return;
	}
	run->r = ls_rec_begin(b, type);
	put_index(b, index);
	ls_buf_uv_padded(b, 0);		/* the count, as the counted ones */
}

static void
run_end(struct ls_buf *b, struct run *run)
{
	if (run->n != 0)
		ls_rec_end_counted(b, run->r, run->n);
	run->n = 0;
	lsp_dump_spill(b);
}

static void
run_entered(struct ls_buf *b, struct run *run, uint32_t max)
{
	if (++run->n == max)
		run_end(b, run);
}

/* A block held by a global root word: by site, then by the word. */
struct gword {
	uint32_t site;
	uintptr_t via;
	uint64_t bytes;
};

static bool
gword_less(const struct gword *x, const struct gword *y)
{
	return x->site != y->site ? x->site < y->site : x->via < y->via;
}

static void
gword_sift(struct gword *g, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		struct gword t;

		if (c >= n)
			return;
		if (c + 1 < n && gword_less(&g[c], &g[c + 1]))
			c++;
		if (!gword_less(&g[i], &g[c]))
			return;
		t = g[i];
		g[i] = g[c];
		g[c] = t;
		i = c;
	}
}

/* Heapsort: no allocation, no recursion (the clone, the exit). */
static void
gword_sort(struct gword *g, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		gword_sift(g, i, n);
	for (i = n; i-- > 1;) {
		struct gword t = g[0];

		g[0] = g[i];
		g[i] = t;
		gword_sift(g, 0, i);
	}
}

static bool
held_by_global(const struct lsp_scan *s, size_t i)
{
	uint32_t o = s->owner[i];
	unsigned c = lsp_scan_class(s, i);

	return (c == LSP_REACH_REACHABLE || c == LSP_REACH_INTERIOR) &&
	    o != LSP_SCAN_NONE && LSP_SCAN_OWNER_IS_ROOT(o) &&
	    s->roots[o & ~LSP_SCAN_ROOT_BIT].kind == LSP_SCAN_GLOBAL;
}

/*
 * OWNERS entries of the blocks that globals hold, one for each root word
 * rather than one for a whole writable segment, so that the report names
 * each global by its symbol (and merges the entries of one symbol); past
 * GWORD_MAX words for a site, one for each run of consecutive words (an
 * array of pointers), so that a huge table costs a few entries.  False if there was no room:
 * the segment's entries then stand.
 */
#define GWORD_MAX	4096
static bool
emit_global_owners(struct ls_buf *b, struct run *run, uint32_t index,
    const struct lsp_scan *s, uint32_t covered)
{
	struct gword *g;
	size_t i, n = 0, k, len, per_site;

	for (i = 0; i < s->n; i++)
		n += held_by_global(s, i) && s->site[i] < covered;
	if (n == 0)
		return true;
	len = n * sizeof(*g);
	if ((g = ls_map(len)) == NULL)
		return false;
	for (i = 0, k = 0; i < s->n && k < n; i++)
		if (held_by_global(s, i) && s->site[i] < covered)
			g[k++] = (struct gword){ s->site[i], s->via[i],
			    s->size[i] };
	gword_sort(g, n);
	for (i = 0, per_site = 0; i < n; i = k) {
		uint64_t bytes = g[i].bytes, blocks = 1;

		per_site = i > 0 && g[i - 1].site == g[i].site ? per_site + 1 :
		    0;
		/* Past GWORD_MAX words of one site, runs of them. */
		for (k = i + 1; k < n && per_site >= GWORD_MAX &&
		    g[k].site == g[i].site && g[k].via - g[k - 1].via <= 8;
		    k++) {
			bytes += g[k].bytes;
			blocks++;
		}
		run_entry(b, run, LS_REC_OWNERS, index);
		ls_buf_uv(b, g[i].site);
		ls_buf_uv(b, LS_OWN_GLOBAL);
		ls_buf_uv(b, g[i].via);
		ls_buf_uv(b, bytes);
		ls_buf_uv(b, blocks);
		run_entered(b, run, OWNERS_PER_REC);
	}
	ls_unmap(g, len);
	return true;
}

static void
emit_owners(struct ls_buf *b, uint32_t index,
    const struct lsp_scan *s, uint32_t covered)
{
	struct run run = { 0 };
	bool globals = emit_global_owners(b, &run, index, s, covered);
	size_t k;

	for (k = 0; k < s->nret; k++) {
		const struct lsp_scan_owner *o = &s->ret[k];
		uint64_t value;
		unsigned kind = own_kind(o->owner, o->via, &value);

		if (o->site >= covered ||
		    (kind == LS_OWN_BLOCK && value >= covered) ||
		    (kind == LS_OWN_GLOBAL && globals))
			continue;
		run_entry(b, &run, LS_REC_OWNERS, index);
		ls_buf_uv(b, o->site);
		ls_buf_uv(b, kind);
		ls_buf_uv(b, value);
		ls_buf_uv(b, o->bytes);
		ls_buf_uv(b, o->blocks);
		run_entered(b, &run, OWNERS_PER_REC);
	}
	run_end(b, &run);
}

static void
emit_chains(struct ls_buf *b, uint32_t index, struct lsp_scan *s,
    uint32_t covered)
{
	static struct lsp_scan_step *steps;
	uint64_t budget = CHAIN_BUDGET;
	struct run run = { 0 };
	uint32_t site;
	size_t n, k;

	if (steps == NULL)
		steps = ls_map(CHAIN_MAX * sizeof(*steps));
	if (steps == NULL || lsp_scan_chains(s) != 0)
		return;
	for (site = 0; site < s->nsites && site < covered; site++) {
		n = lsp_scan_chain(s, site, steps, CHAIN_MAX, &budget);
		for (k = 0; k < n; k++)
			if (!LSP_SCAN_OWNER_IS_ROOT(steps[k].owner) &&
			    steps[k].owner >= covered)
				n = 0;
		if (n == 0)
			continue;
		run_entry(b, &run, LS_REC_CHAIN, index);
		ls_buf_uv(b, site);
		ls_buf_uv(b, n);
		for (k = 0; k < n; k++) {
			uint64_t value;
			unsigned kind = own_kind(steps[k].owner, steps[k].via,
			    &value);

			ls_buf_uv(b, kind);
			ls_buf_uv(b, value);
			ls_buf_uv(b, steps[k].nblocks);
		}
		run_entered(b, &run, CHAINS_PER_REC);
	}
	run_end(b, &run);
}

void
lsp_reach_emit_scan(struct ls_buf *b, uint32_t index, uint64_t mono_ns,
    const char *why, unsigned stopped, unsigned not_stopped,
    struct lsp_scan *s, uint32_t covered)
{
	size_t r = ls_rec_begin(b, LS_REC_SCAN);
	uint32_t site, count = 0;
	char more[320];
	struct ls_fmt f;

	/* Attached late: a block allocated before is no root and not
	 * scanned, so what only it holds looks lost. */
	if (lsp_attached) {
		ls_fmt_init(&f, more, sizeof(more));
		ls_fmt_str(&f, why);
		ls_fmt_str(&f, why[0] != '\0' ? "; " : "");
		ls_fmt_str(&f, "blocks allocated before the attach are not "
		    "known");
		why = more;
	}
	for (site = 0; s != NULL && site < s->nsites && site < covered;
	    site++)
		count += lsp_scan_site(s, site) != NULL;
	put_index(b, index);
	ls_buf_uv(b, mono_ns);
	ls_buf_uv(b, why[0] == '\0');
	ls_buf_str(b, why, strlen(why));
	ls_buf_uv(b, stopped);
	ls_buf_uv(b, not_stopped);
	ls_buf_uv(b, lsp_modgen());
	ls_buf_uv(b, count);
	for (site = 0; s != NULL && site < s->nsites && site < covered;
	    site++) {
		const struct lsp_scan_totals *t = lsp_scan_site(s, site);

		if (t == NULL)
			continue;
		ls_buf_uv(b, site);
		ls_buf_uv(b, t[LSP_REACH_DEFINITE].bytes);
		ls_buf_uv(b, t[LSP_REACH_DEFINITE].blocks);
		ls_buf_uv(b, t[LSP_REACH_INDIRECT].bytes);
		ls_buf_uv(b, t[LSP_REACH_INDIRECT].blocks);
		ls_buf_uv(b, t[LSP_REACH_INTERIOR].bytes);
		ls_buf_uv(b, t[LSP_REACH_INTERIOR].blocks);
		ls_buf_uv(b, t[LSP_REACH_REACHABLE].bytes);
		ls_buf_uv(b, t[LSP_REACH_REACHABLE].blocks);
	}
	ls_rec_end(b, r);
	lsp_dump_spill(b);
	if (s == NULL)
		return;
	emit_owners(b, index, s, covered);
	emit_chains(b, index, s, covered);
}

/* --- the final snapshot's scan --- */

/* Why a stop was incomplete, in words. */
static void
stop_reason(struct ls_fmt *f, unsigned bits)
{
	static const struct {
		unsigned bit;
		const char *what;
	} why[] = {
		{ LSP_ROOTS_NOT_STOPPED, "a thread did not stop" },
		{ LSP_ROOTS_NO_TLS, "TLS bounds unknown" },
		{ LSP_ROOTS_NO_STACK, "a thread's stack bounds unknown" },
		{ LSP_ROOTS_TOO_MANY, "too many threads or modules" },
		{ LSP_ROOTS_NO_SIGNAL, "no free real-time signal to stop "
		    "the threads" },
	};
	size_t i;
	bool first = true;

	for (i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		if (!(bits & why[i].bit))
			continue;
		if (!first)
			ls_fmt_str(f, "; ");
		ls_fmt_str(f, why[i].what);
		first = false;
	}
}

static struct lsp_scan final_scan;

void
lsp_reach_final(struct ls_buf *b, uint32_t index, uint32_t covered)
{
	struct lsp_scan_reader rd = { lsp_scan_read_self, NULL, true };
	struct lsp_reach_roots rr;
	struct ls_fmt f;
	char why[256] = "";
	uint64_t t0;
	unsigned bits = 0, not_stopped = 0, stopped = 0;
	bool all_stopped;
	int r;

	ls_fmt_init(&f, why, sizeof(why));
	if (lsp_cfg.sample != 0) {
		lsp_reach_emit_scan(b, index, lsp_run_ns(), "sampled mode: "
		    "only some blocks are known", 0, 0, NULL, covered);
		return;
	}
	lsp_reach_serials();
	if (lsp_reach_roots_init(&rr) != 0 || lsp_roots_collect() != 0) {
		lsp_reach_roots_free(&rr);
		lsp_reach_emit_scan(b, index, lsp_run_ns(), "out of memory",
		    0, 0, NULL, covered);
		return;
	}
	/* No thread is stopped halfway through an update of the tables. */
	lsp_record_lock_all();
	t0 = lsp_run_ns();
	r = lsp_roots_stop();
	all_stopped = r == 0;
	if (r == 0 || r == -EAGAIN)
		r = lsp_reach_fill(&final_scan);
	lsp_record_unlock_all();
	if (r == 0) {
		lsp_reach_globals(&rr);
		lsp_roots_threads(lsp_reach_on_root, &rr);
		lsp_reach_cache(&rr);
		bits = lsp_roots_incomplete();
		not_stopped = lsp_roots_not_stopped();
		stopped = lsp_roots_stopped();
		/* A thread still running may unmap what is read: copies then,
		 * which fail where memory went, instead of faulting. */
		rd.direct = all_stopped && not_stopped == 0 && !(bits &
		    (LSP_ROOTS_NOT_STOPPED | LSP_ROOTS_TOO_MANY |
		    LSP_ROOTS_NO_SIGNAL));
		lsp_scan_deadline(&final_scan, LSP_REACH_FINAL_NS);
		r = rr.lost ? -ENOMEM : lsp_scan_run(&final_scan, rr.r, rr.n,
		    &rd);
	}
	lsp_roots_resume();
	if (r != 0) {
		ls_fmt_str(&f, r == -ENOMEM ? "out of memory" :
		    r == -ETIMEDOUT ? "stopped: it took longer than 10 s" :
		    "memory could not be read");
		lsp_reach_emit_scan(b, index, t0, why, 0, not_stopped, NULL,
		    covered);
	} else {
		stop_reason(&f, bits);
		lsp_reach_emit_scan(b, index, t0, why, stopped, not_stopped,
		    &final_scan, covered);
	}
	lsp_scan_fini(&final_scan);
	lsp_reach_roots_free(&rr);
}
