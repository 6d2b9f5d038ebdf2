/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the shim's tables, in-process: the site table (sites.c)
 * and the live-block table with its record entry points (blocks.c), and
 * sampled mode's filter and weights (sample.c).  The rest of the shim is
 * stubbed below: lsp_unwind() returns the stack a test sets, so each
 * recorded block lands at a site the test chose.  Block addresses are
 * made up: the tables never touch the memory they describe.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "lsp.h"
#include "lst.h"
#define STUB_MODGEN	7
#include "shim_stub.h"
#include "sites.h"

int lst_failures;

/* --- helpers --- */

/* Frames of stack number k: depth 1 to 16, innermost first, with deltas
 * of every size the coding has (one byte, several, negative, 47 bits). */
static unsigned
make_frames(uintptr_t *f, unsigned k)
{
	unsigned n = 1 + k % 16, i;

	for (i = 0; i < n; i++) {
		switch ((k + i) % 4) {
		case 0: f[i] = 0x401000 + 16 * k + i; break;
		case 1: f[i] = 0x7f0000000000 + 977 * k + 5 * i; break;
		case 2: f[i] = 0x55aa00001234 - 3 * k - i; break;
		default: f[i] = (uintptr_t)k << 20 | i; break;
		}
	}
	return n;
}

static void
set_stack(unsigned k)
{
	stack_n = make_frames(stack, k);
	stack_truncated = false;
}

static uint32_t
site_of(unsigned k, unsigned api)
{
	uintptr_t f[LS_MAX_FRAMES];
	unsigned n = make_frames(f, k);
	struct lsp_site *s = lsp_site_intern(f, n, api, 0, 0);

	LST_TRUE(s != NULL);
	return s != NULL ? s->id : UINT32_MAX;
}

/* Do the frames of site id read back as those of stack k? */
static bool
frames_read_back(uint32_t id, unsigned k)
{
	uintptr_t f[LS_MAX_FRAMES], frame = 0;
	struct lsp_site_view v;
	const uint8_t *c;
	unsigned n = make_frames(f, k), i;

	if (!lsp_site_get(id, &v) || v.nframes != n)
		return false;
	for (i = 0, c = v.code; i < n; i++) {
		frame = lsp_frame_next(&c, frame);
		if (frame != f[i])
			return false;
	}
	return true;
}

/* A scan's totals, for the first SCAN_SITES sites. */
#define SCAN_SITES 64
struct tally {
	uint64_t bytes[SCAN_SITES];
	uint64_t blocks[SCAN_SITES];
	uint64_t epoch_blocks[4];	/* blocks of epochs 0..3 */
	uint64_t total_blocks;
	uint64_t others;		/* blocks of later sites or epochs */
};

static void
count(void *ctx, uint32_t site, unsigned ep, uint64_t bytes, uint64_t blocks)
{
	struct tally *t = ctx;

	t->total_blocks += blocks;
	if (site < SCAN_SITES) {
		t->bytes[site] += bytes;
		t->blocks[site] += blocks;
	} else {
		t->others += blocks;
	}
	if (ep < 4)
		t->epoch_blocks[ep] += blocks;
	else
		t->others += blocks;
}

static void
scan(struct tally *t)
{
	memset(t, 0, sizeof(*t));
	lsp_record_scan(count, t);
}

static int64_t
live_bytes(uint32_t id)
{
	struct lsp_site_view v;

	return lsp_site_get(id, &v) ? v.live_bytes : -1;
}

static int64_t
live_blocks(uint32_t id)
{
	struct lsp_site_view v;

	return lsp_site_get(id, &v) ? v.live_blocks : -1;
}

/* Block i of a run: 16-byte aligned, spread over every shard. */
static void *
addr(unsigned i)
{
	return (void *)(uintptr_t)(0x10000000 + 48 * (uintptr_t)i);
}

/* Block i in one shard: the same filter slot, so the same shard. */
static void *
addr_one_shard(unsigned i)
{
	return (void *)(uintptr_t)(0x200000000 + ((uintptr_t)i << 19));
}

/* --- sites --- */

static void
test_intern(void)
{
	uintptr_t f[LS_MAX_FRAMES];
	unsigned n = make_frames(f, 5);
	struct lsp_site *a, *b, *s;
	struct lsp_site_view v;

	a = lsp_site_intern(f, n, LS_API_MALLOC, 0, 0);
	b = lsp_site_intern(f, n, LS_API_MALLOC, 0, 0);
	LST_TRUE(a != NULL && a == b);
	if (a == NULL)
		return;
	LST_EQ_U64(a->id, 0);
	LST_EQ_U64(lsp_site_count(), 1);

	/* Anything in the key makes another site. */
	s = lsp_site_intern(f, n, LS_API_CALLOC, 0, 0);
	LST_TRUE(s != NULL && s != a && s->id == 1);
	s = lsp_site_intern(f, n, LS_API_MALLOC, LS_SF_TRUNCATED, 0);
	LST_TRUE(s != NULL && s->id == 2);
	s = lsp_site_intern(f, n, LS_API_MALLOC, 0, 3);
	LST_TRUE(s != NULL && s->id == 3);
	s = lsp_site_intern(f, n - 1, LS_API_MALLOC, 0, 0);
	LST_TRUE(s != NULL && s->id == 4);
	f[n - 1]++;
	s = lsp_site_intern(f, n, LS_API_MALLOC, 0, 0);
	LST_TRUE(s != NULL && s->id == 5);
	f[n - 1]--;
	LST_EQ_U64(lsp_site_count(), 6);
	LST_TRUE(lsp_site_intern(f, n, LS_API_MALLOC, 0, 0) == a);
	LST_EQ_U64(lsp_site_count(), 6);

	LST_TRUE(lsp_site_get(3, &v));
	LST_EQ_U64(v.api, LS_API_MALLOC);
	LST_EQ_U64(v.flags, 0);
	LST_EQ_U64(v.thread, 3);
	LST_EQ_U64(v.gen, 7);
	LST_EQ_U64(v.live_bytes, 0);
	LST_EQ_U64(v.alloc_blocks, 0);
	LST_TRUE(lsp_site_get(2, &v) && v.flags == LS_SF_TRUNCATED);
	LST_TRUE(lsp_site_get(1, &v) && v.api == LS_API_CALLOC);
	LST_TRUE(frames_read_back(0, 5));
	LST_TRUE(!lsp_site_get(6, &v));
	LST_TRUE(!lsp_site_get(1u << 20, &v));

	/* The stacks the later tests use: site k is stack k, k < 64. */
	for (n = 6; n < SCAN_SITES; n++) {
		s = lsp_site_intern(f, make_frames(f, n), LS_API_MALLOC, 0, 0);
		LST_TRUE(s != NULL && s->id == n);
	}
}

/* Past the first 1,024 chains and the first directory chunk (4,096
 * sites), every site is still found, and reads back its own frames. */
static void
test_grow(void)
{
	unsigned first = lsp_site_count(), k, lost = 0, wrong = 0;
	unsigned bits0 = lsp_site_chains->bits;

	for (k = first; k < 6000; k++)
		if (site_of(k, LS_API_MALLOC) != k)
			wrong++;
	LST_EQ_U64(wrong, 0);
	LST_EQ_U64(lsp_site_count(), 6000);
	LST_EQ_U64(bits0, LSP_SITE_CHAINS0);
	LST_TRUE(lsp_site_chains->bits > LSP_SITE_CHAINS0);
	for (k = 0; k < 6000; k++) {
		if (k >= 6 && site_of(k, LS_API_MALLOC) != k)
			lost++;
		if (k >= 6 && !frames_read_back(k, k))
			wrong++;
	}
	LST_EQ_U64(lost, 0);
	LST_EQ_U64(wrong, 0);
	LST_EQ_U64(lsp_site_count(), 6000);
}

/* --- blocks --- */

/* N blocks at sites 10..19 (block i at site 10 + i % 10, of i % 1000 + 1
 * bytes); take every third; the scan and the counters agree exactly. */
static void
test_blocks(void)
{
	enum { N = 30000 };
	uint64_t want_bytes[10] = { 0 }, want_blocks[10] = { 0 };
	uint64_t alloc_bytes[10] = { 0 };
	struct tally t;
	unsigned i, bad = 0;

	for (i = 0; i < N; i++) {
		set_stack(10 + i % 10);
		lsp_record_alloc(addr(i), i % 1000 + 1, LS_API_MALLOC);
		alloc_bytes[i % 10] += i % 1000 + 1;
	}
	for (i = 0; i < N; i += 3) {
		uint32_t site;
		size_t size;
		unsigned ep;

		if (!lsp_record_take(addr(i), &site, &size, &ep) ||
		    site != 10 + i % 10 || size != i % 1000 + 1 || ep != 0)
			bad++;
	}
	LST_EQ_U64(bad, 0);
	for (i = 0; i < N; i++) {
		if (i % 3 == 0)
			continue;
		want_bytes[i % 10] += i % 1000 + 1;
		want_blocks[i % 10]++;
	}
	scan(&t);
	for (i = 0; i < 10; i++) {
		struct lsp_site_view v;

		LST_EQ_U64(t.bytes[10 + i], want_bytes[i]);
		LST_EQ_U64(t.blocks[10 + i], want_blocks[i]);
		LST_TRUE(lsp_site_get(10 + i, &v));
		LST_EQ_U64(v.live_bytes, want_bytes[i]);
		LST_EQ_U64(v.live_blocks, want_blocks[i]);
		LST_EQ_U64(v.alloc_bytes, alloc_bytes[i]);
		LST_EQ_U64(v.alloc_blocks, N / 10);
	}
	LST_EQ_U64(t.total_blocks, N - (N + 2) / 3);
	LST_EQ_U64(t.epoch_blocks[0], t.total_blocks);

	/* A block taken is gone; one never recorded is unknown. */
	LST_TRUE(!lsp_record_free(addr(0)));
	LST_TRUE(!lsp_record_free(addr(N + 5)));
	LST_TRUE(!lsp_record_free((void *)(uintptr_t)0x7ff000000010));
	LST_TRUE(lsp_record_free(addr(1)));
	LST_TRUE(!lsp_record_free(addr(1)));
	for (i = 0; i < N; i++)
		if (i % 3 != 0 && i != 1 && !lsp_record_free(addr(i)))
			bad++;
	LST_EQ_U64(bad, 0);
	scan(&t);
	LST_EQ_U64(t.total_blocks, 0);
	for (i = 10; i < 20; i++) {
		LST_EQ_U64(live_bytes(i), 0);
		LST_EQ_U64(live_blocks(i), 0);
	}
}

/* One shard's table grows from its first 32 slots through the arena's
 * sizes to mapped ones, and shrinks by deletion with every block found. */
static void
test_one_shard(void)
{
	enum { N = 3000 };
	struct tally t;
	unsigned i, bad = 0;

	set_stack(20);
	for (i = 0; i < N; i++)
		lsp_record_alloc(addr_one_shard(i), 16, LS_API_MALLOC);
	scan(&t);
	LST_EQ_U64(t.blocks[20], N);
	LST_EQ_U64(t.bytes[20], 16 * N);
	/* Out of order, so that deletions shift probe chains. */
	for (i = 0; i < N; i += 2)
		if (!lsp_record_free(addr_one_shard(i)))
			bad++;
	for (i = 1; i < N; i += 2)
		if (!lsp_record_free(addr_one_shard(i)))
			bad++;
	LST_EQ_U64(bad, 0);
	LST_EQ_U64(live_blocks(20), 0);
}

/* A realloc that fails puts its block back: site, size and epoch, live
 * again, and the totals as if it had never been taken. */
static void
test_restore(void)
{
	struct lsp_site_view before, after;
	struct tally t;
	uint32_t site = 0;
	size_t size = 0;
	unsigned ep = 9;

	set_stack(21);
	lsp_record_alloc(addr(7), 100, LS_API_MALLOC);
	LST_TRUE(lsp_record_take(addr(7), &site, &size, &ep));
	LST_EQ_U64(site, 21);
	LST_EQ_U64(size, 100);
	LST_EQ_U64(ep, 0);
	LST_TRUE(lsp_site_get(site, &before));
	LST_EQ_U64(before.live_blocks, 0);
	lsp_record_restore(addr(7), site, size, ep);
	LST_TRUE(lsp_site_get(site, &after));
	LST_EQ_U64(after.live_bytes, 100);
	LST_EQ_U64(after.live_blocks, 1);
	LST_EQ_U64(after.alloc_bytes, before.alloc_bytes);
	LST_EQ_U64(after.alloc_blocks, before.alloc_blocks);
	scan(&t);
	LST_EQ_U64(t.total_blocks, 1);
	/* A site not (yet) published restores nothing. */
	lsp_record_restore(addr(8), lsp_site_count() + 100, 5, 0);
	LST_TRUE(!lsp_record_free(addr(8)));
	LST_TRUE(lsp_record_free(addr(7)));
}

/*
 * Blocks of 4 GiB and more keep their size in the big-block table, and so
 * does a block of exactly UINT32_MAX bytes, the slot's marker.
 */
static void
test_big(void)
{
	const size_t big = (size_t)5 << 30, four = (size_t)UINT32_MAX + 1;
	const size_t below = UINT32_MAX - 1;	/* the largest in a slot */
	const size_t marker = UINT32_MAX;
	uint32_t site;
	size_t size;
	unsigned ep;
	struct tally t;

	set_stack(22);
	lsp_record_alloc(addr(100), big, LS_API_MALLOC);
	lsp_record_alloc(addr(101), four, LS_API_MALLOC);
	lsp_record_alloc(addr(102), below, LS_API_MALLOC);
	lsp_record_alloc(addr(103), marker, LS_API_MALLOC);
	scan(&t);
	LST_EQ_U64(t.bytes[22], big + four + below + marker);
	LST_EQ_U64(t.blocks[22], 4);
	LST_EQ_U64(live_bytes(22), big + four + below + marker);
	LST_TRUE(lsp_record_take(addr(103), &site, &size, &ep));
	LST_EQ_U64(size, marker);

	LST_TRUE(lsp_record_take(addr(100), &site, &size, &ep));
	LST_EQ_U64(site, 22);
	LST_EQ_U64(size, big);
	LST_TRUE(!lsp_record_free(addr(100)));
	lsp_record_restore(addr(100), site, size, ep);
	scan(&t);
	LST_EQ_U64(t.bytes[22], big + four + below);
	LST_TRUE(lsp_record_take(addr(101), &site, &size, &ep));
	LST_EQ_U64(size, four);
	LST_TRUE(lsp_record_take(addr(102), &site, &size, &ep));
	LST_EQ_U64(size, below);

	/* A big block recorded again without its free: its old figures go,
	 * and the new block's size is the one that stays. */
	set_stack(23);
	lsp_record_alloc(addr(100), 64, LS_API_MALLOC);
	LST_EQ_U64(lsp_counters[LS_CNT_MISSED_FREES], 1);
	LST_EQ_U64(live_bytes(22), 0);
	LST_EQ_U64(live_blocks(22), 0);
	LST_EQ_U64(live_bytes(23), 64);
	LST_TRUE(lsp_record_take(addr(100), &site, &size, &ep));
	LST_EQ_U64(site, 23);
	LST_EQ_U64(size, 64);
	LST_EQ_U64(live_bytes(23), 0);
	scan(&t);
	LST_EQ_U64(t.total_blocks, 0);

	/* Past 48-bit addresses nothing is recorded; it is counted. */
	lsp_record_alloc((void *)(uintptr_t)(UINT64_C(1) << 48), 8,
	    LS_API_MALLOC);
	LST_EQ_U64(lsp_counters[LS_CNT_DROPPED], 1);
}

/* Each block carries the epoch it was allocated in, through take and
 * restore; epochs stop at 65535. */
static void
test_epochs(void)
{
	uint32_t site;
	size_t size;
	unsigned ep, i;
	struct tally t;

	set_stack(24);
	lsp_record_alloc(addr(200), 1, LS_API_MALLOC);
	LST_EQ_U64(lsp_epoch_next(), 1);
	lsp_record_alloc(addr(201), 2, LS_API_MALLOC);
	lsp_record_alloc(addr(202), 2, LS_API_MALLOC);
	LST_EQ_U64(lsp_epoch_next(), 2);
	lsp_record_alloc(addr(203), 3, LS_API_MALLOC);
	scan(&t);
	LST_EQ_U64(t.epoch_blocks[0], 1);
	LST_EQ_U64(t.epoch_blocks[1], 2);
	LST_EQ_U64(t.epoch_blocks[2], 1);
	LST_TRUE(lsp_record_take(addr(201), &site, &size, &ep));
	LST_EQ_U64(ep, 1);
	LST_EQ_U64(lsp_epoch_next(), 3);
	lsp_record_restore(addr(201), site, size, ep);
	scan(&t);
	LST_EQ_U64(t.epoch_blocks[1], 2);
	LST_EQ_U64(t.epoch_blocks[3], 0);
	for (i = 200; i < 204; i++) {
		LST_TRUE(lsp_record_take(addr(i), &site, &size, &ep));
		LST_EQ_U64(ep, i == 200 ? 0 : i == 203 ? 2 : 1);
	}

	for (i = 0; i < 70000; i++)
		ep = lsp_epoch_next();
	LST_EQ_U64(ep, 65535);
	lsp_record_alloc(addr(204), 1, LS_API_MALLOC);
	LST_TRUE(lsp_record_take(addr(204), &site, &size, &ep));
	LST_EQ_U64(ep, 65535);
}

static void *
alloc_thread(void *arg)
{
	unsigned i;

	(void)arg;
	for (i = 0; i < 1000; i++)
		lsp_record_alloc(addr(1000 + i), 10, LS_API_MALLOC);
	return NULL;
}

static void *
free_thread(void *arg)
{
	unsigned i, *bad = arg;

	for (i = 0; i < 1000; i++)
		*bad += !lsp_record_free(addr(1000 + i));
	return NULL;
}

/* Threads count in slices of their own: one allocates, another frees,
 * and the sums of the slices are exact (each slice alone is not). */
static void
test_slices(void)
{
	struct lsp_site_view v;
	pthread_t t;
	unsigned bad = 0, k, nonzero = 0;

	set_stack(26);
	LST_EQ_U64(pthread_create(&t, NULL, alloc_thread, NULL), 0);
	pthread_join(t, NULL);
	LST_TRUE(lsp_site_get(26, &v));
	LST_EQ_U64(v.live_bytes, 10000);
	LST_EQ_U64(v.live_blocks, 1000);
	LST_EQ_U64(pthread_create(&t, NULL, free_thread, &bad), 0);
	pthread_join(t, NULL);
	LST_EQ_U64(bad, 0);
	LST_TRUE(lsp_site_get(26, &v));
	LST_EQ_U64(v.live_bytes, 0);
	LST_EQ_U64(v.live_blocks, 0);
	LST_EQ_U64(v.alloc_bytes, 10000);
	LST_EQ_U64(v.alloc_blocks, 1000);
	for (k = 0; k < LSP_NSLICE; k++) {
		const struct lsp_counters *c = lsp_site_counters(
		    lsp_site_by_id(26), k);

		nonzero += c->live_blocks != 0;
	}
	LST_EQ_U64(nonzero, 2);	/* +1000 in one slice, -1000 in another */
}

/* Many threads at once on one site: those that got a slice of their
 * own update it without atomics, the others share the shared slices
 * with them; no two live threads own one slice, the sums are exact, and
 * a slice given back goes to the next thread. */
enum { SL_THREADS = 20, SL_BLOCKS = 1000 };
static pthread_barrier_t sl_barrier;
static unsigned sl_slice[SL_THREADS];
static uint32_t sl_site;

static void *
slice_thread(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg, i;

	for (i = 0; i < SL_BLOCKS; i++)
		lsp_record_alloc(addr(20000 + t * SL_BLOCKS + i), 3,
		    LS_API_MALLOC);
	sl_slice[t] = lsp_slice_plus1 - 1;
	pthread_barrier_wait(&sl_barrier);	/* all alive at once */
	for (i = 0; i < SL_BLOCKS / 2; i++)
		lsp_record_free(addr(20000 + t * SL_BLOCKS + i));
	pthread_barrier_wait(&sl_barrier);
	lsp_slice_release();
	/* After its release a thread adds to a shared slice. */
	lsp_record_free(addr(20000 + t * SL_BLOCKS + SL_BLOCKS / 2));
	LST_TRUE(lsp_slice_plus1 - 1 < LSP_NSHARED);
	return NULL;
}

static void *
slice_probe(void *arg)
{
	(void)arg;
	lsp_record_alloc(addr(50000), 3, LS_API_MALLOC);
	sl_slice[0] = lsp_slice_plus1 - 1;
	lsp_slice_release();
	return NULL;
}

/* A thread that ends before its first record (its destructors record)
 * takes a shared slice: not one of its own that it would keep. */
static void *
slice_late(void *arg)
{
	(void)arg;
	lsp_slice_release();
	lsp_record_alloc(addr(50001), 3, LS_API_MALLOC);
	sl_slice[1] = lsp_slice_plus1 - 1;
	lsp_record_free(addr(50001));
	return NULL;
}

static void
test_slices_owned(void)
{
	pthread_t t[SL_THREADS];
	unsigned i, j, own = 0;
	struct lsp_site_view v;

	set_stack(27);
	pthread_barrier_init(&sl_barrier, NULL, SL_THREADS);
	for (i = 0; i < SL_THREADS; i++)
		LST_EQ_U64(pthread_create(&t[i], NULL, slice_thread,
		    (void *)(uintptr_t)i), 0);
	for (i = 0; i < SL_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&sl_barrier);
	for (i = 0; i < SL_THREADS; i++) {
		own += sl_slice[i] >= LSP_NSHARED;
		for (j = 0; j < i; j++)
			LST_TRUE(sl_slice[i] < LSP_NSHARED ||
			    sl_slice[i] != sl_slice[j]);
	}
	LST_TRUE(own >= 1 && own <= LSP_NSLICE - LSP_NSHARED);
	LST_TRUE(own < SL_THREADS);	/* some shared, too */
	sl_site = lsp_site_intern(stack, stack_n, LS_API_MALLOC, 0, 0)->id;
	LST_TRUE(lsp_site_get(sl_site, &v));
	LST_EQ_U64(v.live_blocks, SL_THREADS * (SL_BLOCKS / 2 - 1));
	LST_EQ_U64(v.live_bytes, 3 * SL_THREADS * (SL_BLOCKS / 2 - 1));
	LST_EQ_U64(v.alloc_blocks, SL_THREADS * SL_BLOCKS);
	/* Every owner gave its slice back: the next thread gets one. */
	LST_EQ_U64(pthread_create(&t[0], NULL, slice_probe, NULL), 0);
	pthread_join(t[0], NULL);
	LST_TRUE(sl_slice[0] >= LSP_NSHARED);
	LST_EQ_U64(pthread_create(&t[0], NULL, slice_late, NULL), 0);
	pthread_join(t[0], NULL);
	LST_TRUE(sl_slice[1] < LSP_NSHARED);
	LST_TRUE(lsp_site_get(sl_site, &v));
	LST_EQ_U64(v.alloc_blocks, SL_THREADS * SL_BLOCKS + 2);
}

/* --- sampled mode --- */

/* What the filter says of p: its summary, then its own bit. */
static bool
unrecorded(const void *p)
{
	return lsp_unrecorded(p) || lsp_unrecorded_slot(p);
}

/* The filter's bit is clear exactly while a block in its slot is
 * recorded; a sampled block's free takes back what its allocation
 * added; a thread's first draw takes no sample. */
static void
test_sampled(void)
{
	enum { N = 5000 };
	struct lsp_site_view v;
	struct tally t;
	unsigned i, clear = 0;

	lsp_cfg.sample = 4096;
	LST_TRUE(!unrecorded(addr(300)));	/* closed: all clear */
	lsp_filter_pin(addr_one_shard(1));
	lsp_filter_open();
	LST_TRUE(unrecorded(addr(300)));
	LST_TRUE(!unrecorded(addr_one_shard(1)));

	set_stack(25);
	for (i = 0; i < N; i++)
		lsp_record_alloc(addr(300 + 3 * i), 1 + i % 5000,
		    LS_API_MALLOC);
	for (i = 0; i < N; i++)
		clear += !unrecorded(addr(300 + 3 * i));
	LST_EQ_U64(clear, N);
	LST_TRUE(unrecorded(addr(301)));	/* a neighbour's slot */
	scan(&t);
	LST_TRUE(lsp_site_get(25, &v));
	LST_EQ_U64(t.bytes[25], v.live_bytes);
	LST_EQ_U64(t.blocks[25], v.live_blocks);
	LST_TRUE(t.blocks[25] > N);	/* small blocks stand for many */
	LST_TRUE(t.bytes[25] > (uint64_t)N * 2500);
	for (i = 0; i < N; i++)
		LST_TRUE(lsp_record_free(addr(300 + 3 * i)));
	for (i = 0, clear = 0; i < N; i++)
		clear += !unrecorded(addr(300 + 3 * i));
	LST_EQ_U64(clear, 0);
	LST_EQ_U64(live_bytes(25), 0);
	LST_EQ_U64(live_blocks(25), 0);
	LST_TRUE(!unrecorded(addr_one_shard(1)));	/* still pinned */
	/* The summary is back to all set but the pinned slot's byte. */
	LST_EQ_U64(lsp_filter_slot(addr_one_shard(1)), 0);
	LST_EQ_U64(lsp_filter_sum[0], ~1ull);
	for (i = 1, clear = 0; i < sizeof(lsp_filter_sum) / 8; i++)
		clear += lsp_filter_sum[i] != ~0ull;
	LST_EQ_U64(clear, 0);

	LST_EQ_U64(lsp_sample_left, 0);
	LST_TRUE(!lsp_sample_draw_next());
	LST_TRUE(lsp_sample_left >= 1);
	LST_TRUE(lsp_sample_draw_next());
	LST_TRUE(lsp_sample_left >= 1);
	lsp_cfg.sample = 0;
}

int
main(void)
{
	if (lsp_record_init() != 0) {
		fprintf(stderr, "cannot map the tables\n");
		return 99;
	}
	test_intern();
	test_grow();
	test_blocks();
	test_one_shard();
	test_restore();
	test_big();
	test_epochs();
	test_slices();
	test_slices_owned();
	test_sampled();
	LST_EQ_U64(lsp_guard, 0);
	return LST_DONE();
}
