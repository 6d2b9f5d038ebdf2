/* SPDX-License-Identifier: MIT */
/*
 * The site table: one site per call stack (with its entry point, flags
 * and thread name), its frames delta-coded, with per-slice counters.
 * Sites are found lock-free by the interposers (host threads, hot path:
 * lsp_site_intern in sites.h) and created here under site_lock; the
 * writer thread reads them (lsp_site_get).  Nothing here calls the
 * allocator it observes: memory comes from mmap.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"
#include "lsp.h"
#include "sites.h"

/* Written under site_lock with the directory chunk, read lock-free. */
struct lsp_counters *lsp_site_slices[LSP_NSLICE][LSP_SITE_DIR_CHUNKS];

/* Written under site_lock; read lock-free with acquire loads. */
struct lsp_chains *lsp_site_chains;
struct lsp_site **lsp_site_dir[LSP_SITE_DIR_CHUNKS];
static uint32_t nsites;
static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ls_arena site_arena;	/* under site_lock */

__thread unsigned lsp_slice_plus1 __attribute__((tls_model("initial-exec")));
/* Threads that took a shared slice (atomic), and which slices of their
 * own are taken (a bit each, from LSP_NSHARED on; atomic). */
static unsigned shared_given;
static uint32_t own_taken;

_Static_assert(LSP_NSLICE <= 32, "own_taken has a bit a slice");

unsigned
lsp_slice_claim(void)
{
	uint32_t taken = __atomic_load_n(&own_taken, __ATOMIC_RELAXED);
	unsigned k;

	for (k = LSP_NSHARED; k < LSP_NSLICE; k++) {
		if (taken & (1u << k))
			continue;
		/* Acquire: what the slice's last owner wrote is seen. */
		if (__atomic_compare_exchange_n(&own_taken, &taken,
		    taken | 1u << k, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			return lsp_slice_plus1 = k + 1;
		k = LSP_NSHARED - 1;	/* taken changed: look again */
	}
	return lsp_slice_plus1 = __atomic_fetch_add(&shared_given, 1,
	    __ATOMIC_RELAXED) % LSP_NSHARED + 1;
}

void
lsp_slice_release(void)
{
	unsigned k = lsp_slice_plus1;

	if (k == 0) {
		/* No slice yet: what its destructors count goes to a
		 * shared one, not to one of its own that nobody gives
		 * back. */
		lsp_slice_plus1 = __atomic_fetch_add(&shared_given, 1,
		    __ATOMIC_RELAXED) % LSP_NSHARED + 1;
		return;
	}
	if (k - 1 < LSP_NSHARED)
		return;
	/* From now on this thread adds to a shared slice; release: the next
	 * owner sees what it wrote. */
	lsp_slice_plus1 = (k - 1) % LSP_NSHARED + 1;
	__atomic_fetch_and(&own_taken, ~(1u << (k - 1)), __ATOMIC_RELEASE);
}

int
lsp_sites_init(void)
{
	struct lsp_chains *t = ls_map(sizeof(*t) +
	    (sizeof(t->slot[0]) << LSP_SITE_CHAINS0));

	if (t == NULL)
		return -ENOMEM;
	t->bits = LSP_SITE_CHAINS0;
	lsp_site_chains = t;
	ls_arena_init(&site_arena, 1 << 20);
	return 0;
}

/* Double the chains, if they can be mapped.  Under site_lock. */
static void
chains_grow(void)
{
	struct lsp_chains *old = lsp_site_chains, *nt;
	size_t len = sizeof(*nt) + (sizeof(nt->slot[0]) << (old->bits + 1));
	uint32_t id, mask;

	nt = ls_map(len);
	if (nt == NULL)
		return;
	nt->bits = old->bits + 1;
	mask = (1u << nt->bits) - 1;
	for (id = 0; id < nsites; id++) {
		struct lsp_site *s = lsp_site_by_id(id);
		uint32_t j = (uint32_t)s->hash & mask;

		__atomic_store_n(&s->next, nt->slot[j], __ATOMIC_RELEASE);
		nt->slot[j] = s;
	}
	__atomic_store_n(&lsp_site_chains, nt, __ATOMIC_RELEASE);
	/* Not in a sandbox, whose filter may not allow madvise. */
	if (!lsp_in_sandbox())
		madvise(old, sizeof(*old) + (sizeof(old->slot[0]) << old->bits),
		    MADV_DONTNEED);
}

/* Map directory chunk c and each slice's counters for it (counters
 * first: a site is found only after its chunk).  Under site_lock. */
static bool
dir_chunk_map(uint32_t c)
{
	struct lsp_site **chunk = ls_map(sizeof(*chunk) << LSP_SITE_DIR_SHIFT);
	unsigned k;

	if (chunk == NULL)
		return false;
	for (k = 0; k < LSP_NSLICE; k++) {
		if (lsp_site_slices[k][c] != NULL)
			continue;
		lsp_site_slices[k][c] = ls_map(sizeof(struct lsp_counters) <<
		    LSP_SITE_DIR_SHIFT);
		if (lsp_site_slices[k][c] == NULL) {
			ls_unmap(chunk, sizeof(*chunk) << LSP_SITE_DIR_SHIFT);
			return false;
		}
	}
	__atomic_store_n(&lsp_site_dir[c], chunk, __ATOMIC_RELEASE);
	return true;
}

LS_NOINLINE struct lsp_site *
lsp_site_create(const struct lsp_site_key *k)
{
	struct lsp_chains *t;
	struct lsp_site *s, **bucket;
	uint64_t h = k->hash;
	uint32_t id;

	pthread_mutex_lock(&site_lock);
	/* Another thread may have created it meanwhile, or a reader on an
	 * old table missed it. */
	s = lsp_site_find(lsp_site_chains, k);
	if (s != NULL)
		goto out;
	id = nsites;
	if ((id >> LSP_SITE_DIR_SHIFT) >= LSP_SITE_DIR_CHUNKS)
		goto out;	/* s is NULL: too many sites */
	if (lsp_site_dir[id >> LSP_SITE_DIR_SHIFT] == NULL &&
	    !dir_chunk_map(id >> LSP_SITE_DIR_SHIFT))
		goto out;
	s = ls_arena_carve(&site_arena, sizeof(*s) + k->len);
	if (s == NULL)
		goto out;
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->id = id;
	s->gen = lsp_modgen();
	s->nframes = (uint16_t)k->nframes;
	s->api = (uint8_t)k->api;
	s->flags = (uint8_t)k->flags;
	s->thread = (uint16_t)k->thread;
	s->len = (uint16_t)k->len;
	memcpy(s->code, k->code, k->len);
	t = lsp_site_chains;
	bucket = &t->slot[h & ((1u << t->bits) - 1)];
	s->next = *bucket;
	__atomic_store_n(&lsp_site_dir[id >> LSP_SITE_DIR_SHIFT][id &
	    ((1u << LSP_SITE_DIR_SHIFT) - 1)], s, __ATOMIC_RELEASE);
	__atomic_store_n(bucket, s, __ATOMIC_RELEASE);
	__atomic_store_n(&nsites, id + 1, __ATOMIC_RELEASE);
	if (id + 1 > 1u << t->bits && t->bits < 31)
		chains_grow();
out:
	pthread_mutex_unlock(&site_lock);
	return s;
}

LS_NOINLINE struct lsp_site *
lsp_site_intern_deep(const uintptr_t *f, struct lsp_site_key *k)
{
	uint8_t code[LSP_CODE_MAX];

	return lsp_site_intern_in(code, f, k);
}

void
lsp_slices_postfork_child(void)
{
	unsigned k = lsp_slice_plus1;

	/* The other threads are gone, with the slices they owned. */
	__atomic_store_n(&own_taken, k > LSP_NSHARED ? 1u << (k - 1) : 0,
	    __ATOMIC_RELAXED);
}

void
lsp_sites_clear_counts(void)
{
	unsigned k, c;

	pthread_mutex_lock(&site_lock);
	for (k = 0; k < LSP_NSLICE; k++)
		for (c = 0; c < LSP_SITE_DIR_CHUNKS; c++)
			if (lsp_site_slices[k][c] != NULL)
				memset(lsp_site_slices[k][c], 0,
				    sizeof(struct lsp_counters) <<
				    LSP_SITE_DIR_SHIFT);
	pthread_mutex_unlock(&site_lock);
}

uint32_t
lsp_site_count(void)
{
	return __atomic_load_n(&nsites, __ATOMIC_ACQUIRE);
}

bool
lsp_site_get(uint32_t id, struct lsp_site_view *v)
{
	struct lsp_site *s = lsp_site_by_id(id);
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
	for (i = 0; i < LSP_NSLICE; i++) {
		const struct lsp_counters *c = lsp_site_counters(s, i);

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
lsp_sites_lock(void)
{
	pthread_mutex_lock(&site_lock);
}

void
lsp_sites_unlock(void)
{
	pthread_mutex_unlock(&site_lock);
}

void
lsp_sites_reset_lock(void)
{
	pthread_mutex_init(&site_lock, NULL);
}
