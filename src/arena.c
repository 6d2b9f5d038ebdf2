/* SPDX-License-Identifier: MIT */
/*
 * Size-class arena over anonymous mmap.  Used by the shim for every table
 * and by the tools for uthash tables (through ls_hash.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "arena.h"

unsigned long ls_hash_oom_count;

#define HDR 16
#define MIN_SHIFT 4
#define DIRECT_CLASS 0xffffu

struct hdr {
	size_t cls;	/* class index, or DIRECT_CLASS */
	size_t len;	/* mapped length for direct blocks */
};

void *
ls_map(size_t n)
{
	int saved = errno;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

void
ls_unmap(void *p, size_t n)
{
	int saved = errno;

	if (p != NULL)
		munmap(p, n);
	errno = saved;
}

void
ls_arena_init(struct ls_arena *a, size_t chunk_size)
{
	memset(a, 0, sizeof(*a));
	a->chunk_size = chunk_size ? chunk_size : (size_t)1 << 20;
}

static unsigned
class_of(size_t n)
{
	unsigned c = 0;
	size_t sz = (size_t)1 << MIN_SHIFT;

	while (sz < n) {
		sz <<= 1;
		c++;
	}
	return c;
}

static void *
alloc_direct(struct ls_arena *a, size_t n)
{
	size_t len = (n + HDR + 4095) & ~(size_t)4095;
	struct hdr *h;

	if (len < n)
		return NULL;
	h = ls_map(len);
	if (h == NULL)
		return NULL;
	a->mapped += len;
	h->cls = DIRECT_CLASS;
	h->len = len;
	return (char *)h + HDR;
}

/* Make room for need bytes at a->cur: a new chunk if the current one is
 * short (its tail is abandoned).  0, or -1 when mmap fails. */
static int
room(struct ls_arena *a, size_t need)
{
	size_t len;
	char *chunk;

	if (a->cur != NULL && (size_t)(a->end - a->cur) >= need)
		return 0;
	len = a->chunk_size > need + HDR ? a->chunk_size : need + HDR;
	chunk = ls_map(len);
	if (chunk == NULL)
		return -1;
	a->mapped += len;
	/* Chunks are linked through their first header so that
	 * ls_arena_fini can unmap them. */
	((struct hdr *)chunk)->cls = (size_t)a->chunks;
	((struct hdr *)chunk)->len = len;
	a->chunks = chunk;
	a->cur = chunk + HDR;
	a->end = chunk + len;
	return 0;
}

void *
ls_arena_carve(struct ls_arena *a, size_t n)
{
	size_t need = (n + 7) & ~(size_t)7;
	void *p;

	if (need < n || need > ((size_t)1 << (MIN_SHIFT +
	    LS_ARENA_NCLASS - 1)) || room(a, need) != 0)
		return NULL;
	p = a->cur;
	a->cur += need;
	return p;
}

void *
ls_arena_alloc(struct ls_arena *a, size_t n)
{
	unsigned c;
	size_t need;
	struct hdr *h;
	void *p;

	if (n > ((size_t)1 << (MIN_SHIFT + LS_ARENA_NCLASS - 1)))
		return alloc_direct(a, n);
	c = class_of(n);
	if ((p = a->freelist[c]) != NULL) {
		a->freelist[c] = *(void **)p;
		return p;
	}
	need = HDR + ((size_t)1 << (MIN_SHIFT + c));
	if (room(a, need) != 0)
		return NULL;
	h = (struct hdr *)a->cur;
	a->cur += need;
	h->cls = c;
	h->len = 0;
	return (char *)h + HDR;
}

void *
ls_arena_zalloc(struct ls_arena *a, size_t n)
{
	void *p = ls_arena_alloc(a, n);

	if (p != NULL)
		memset(p, 0, n);
	return p;
}

void
ls_arena_free(struct ls_arena *a, void *p)
{
	struct hdr *h;

	if (p == NULL)
		return;
	h = (struct hdr *)((char *)p - HDR);
	if (h->cls == DIRECT_CLASS) {
		a->mapped -= h->len;
		ls_unmap(h, h->len);
		return;
	}
	*(void **)p = a->freelist[h->cls];
	a->freelist[h->cls] = p;
}

void
ls_arena_fini(struct ls_arena *a)
{
	size_t chunk_size = a->chunk_size;
	char *c = a->chunks;

	while (c != NULL) {
		struct hdr *h = (struct hdr *)c;
		char *next = (char *)h->cls;

		ls_unmap(c, h->len);
		c = next;
	}
	ls_arena_init(a, chunk_size);
}
