/* SPDX-License-Identifier: MIT */
/*
 * The floor of any preloaded interposer, for the benchmarks: an
 * LD_PRELOAD library whose allocation functions do nothing but jump to
 * the next allocator.  Whatever a preloaded tool costs beyond this, it
 * costs by its own work.  Allocations made while dlsym() resolves the
 * real functions come from a static buffer and are never freed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

static struct {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*memalign)(size_t, size_t);
} real;

static _Alignas(64) unsigned char pool[64 * 1024];
static size_t pool_used;
static int resolving;

static void *
pool_alloc(size_t n)
{
	size_t at = (pool_used + 63) & ~(size_t)63;

	if (n > sizeof(pool) - at)
		return NULL;
	pool_used = at + n;
	return pool + at;
}

static int
in_pool(const void *p)
{
	return (const unsigned char *)p >= pool &&
	    (const unsigned char *)p < pool + sizeof(pool);
}

static void
resolve(void)
{
	if (resolving)
		return;
	resolving = 1;
	real.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	real.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real.aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
	    "aligned_alloc");
	real.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(
	    RTLD_NEXT, "posix_memalign");
	real.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT,
	    "memalign");
	resolving = 0;
}

__attribute__((constructor)) static void
forward_init(void)
{
	resolve();
}

EXPORT void *
malloc(size_t n)
{
	if (__builtin_expect(real.malloc != NULL, 1))
		return real.malloc(n);
	resolve();
	return real.malloc != NULL ? real.malloc(n) : pool_alloc(n);
}

EXPORT void
free(void *p)
{
	if (__builtin_expect(!in_pool(p), 1) && real.free != NULL)
		real.free(p);
}

EXPORT void *
calloc(size_t k, size_t n)
{
	if (__builtin_expect(real.calloc != NULL, 1))
		return real.calloc(k, n);
	if (n != 0 && k > SIZE_MAX / n)
		return NULL;
	return pool_alloc(k * n);	/* static, so already zero */
}

EXPORT void *
realloc(void *p, size_t n)
{
	size_t room;
	void *q;

	if (__builtin_expect(!in_pool(p), 1) && real.realloc != NULL)
		return real.realloc(p, n);
	q = malloc(n);
	if (q != NULL && p != NULL) {
		/* A pool block's size is unknown: copy what the pool has. */
		room = (size_t)(pool + sizeof(pool) - (unsigned char *)p);
		memcpy(q, p, room < n ? room : n);
	}
	return q;
}

EXPORT void *
aligned_alloc(size_t a, size_t n)
{
	if (real.aligned_alloc == NULL)
		resolve();
	return real.aligned_alloc(a, n);
}

EXPORT int
posix_memalign(void **out, size_t a, size_t n)
{
	if (real.posix_memalign == NULL)
		resolve();
	return real.posix_memalign(out, a, n);
}

EXPORT void *
memalign(size_t a, size_t n)
{
	if (real.memalign == NULL)
		resolve();
	return real.memalign(a, n);
}
