/* SPDX-License-Identifier: MIT */
/*
 * Keeps known amounts from sites of different block sizes, amid churn,
 * for sampled mode (tests run it with LEAKSPY_SAMPLE=64k):
 *   small_blocks   100000 x 100 B   = 10,000,000 B (152 intervals)
 *   medium_blocks    1000 x 20000 B = 20,000,000 B (305 intervals)
 *   large_blocks       20 x 1 MiB   = 20,971,520 B (320 intervals)
 *   churn          a million blocks allocated and freed (0 kept)
 *
 * "sampling apis" (run with LEAKSPY_SAMPLE=2k): 4 threads keep 8 MiB
 * through each allocation entry point, from a function named after it
 * (keep_malloc, keep_calloc, ...; 4,096 intervals each), while each
 * thread allocates and frees 55,296 blocks through all of them
 * (churn_apis, 0 kept).
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define NO_TAIL() __asm__ volatile("" ::: "memory")

static void *volatile kept[200000];
static void *volatile tmp;
static int nkept;

NOINLINE static void
small_blocks(void)
{
	kept[nkept++] = malloc(100);
	NO_TAIL();
}

NOINLINE static void
medium_blocks(void)
{
	kept[nkept++] = malloc(20000);
	NO_TAIL();
}

NOINLINE static void
large_blocks(void)
{
	kept[nkept++] = malloc(1 << 20);
	NO_TAIL();
}

NOINLINE static void
churn(int i)
{
	tmp = malloc(16 + (size_t)(i % 3000));
	free(tmp);
	NO_TAIL();
}

/* The apis mode: per entry point, 8 MiB kept in blocks of BLK bytes. */
#define NTHREADS	4
#define BLK		1024
#define NBLK		(8 << 20) / BLK / NTHREADS

struct keep {
	void *b[9][NBLK];
	unsigned seed;
};

#define KEEP(name, expr)						\
NOINLINE static void *							\
name(void)								\
{									\
	void *p = (expr);						\
									\
	NO_TAIL();							\
	return p;							\
}

KEEP(keep_malloc, malloc(BLK))
KEEP(keep_calloc, calloc(4, BLK / 4))
KEEP(keep_realloc, realloc(malloc(BLK / 2), BLK))
KEEP(keep_reallocarray, reallocarray(NULL, 2, BLK / 2))
KEEP(keep_aligned_alloc, aligned_alloc(256, BLK))
KEEP(keep_memalign, memalign(128, BLK))
KEEP(keep_valloc, valloc(BLK))
KEEP(keep_pvalloc, pvalloc(BLK))

NOINLINE static void *
keep_posix_memalign(void)
{
	void *p;

	if (posix_memalign(&p, 64, BLK) != 0)
		p = NULL;
	NO_TAIL();
	return p;
}

/* Allocate and free one block through entry point k, of a size from the
 * seed. */
NOINLINE static void
churn_apis(unsigned k, unsigned *seed)
{
	size_t n;
	void *p = NULL, *q;

	*seed = *seed * 1103515245u + 12345u;
	n = 16 + (*seed >> 8) % 3000;
	switch (k % 9) {
	case 0: p = malloc(n); break;
	case 1: p = calloc(1, n); break;
	case 2:
		p = malloc(n);
		if ((q = realloc(p, 2 * n)) != NULL)
			p = q;
		break;
	case 3: p = reallocarray(NULL, 3, n); break;
	case 4: if (posix_memalign(&p, 32, n) != 0) p = NULL; break;
	case 5: p = aligned_alloc(64, (n + 63) & ~(size_t)63); break;
	case 6: p = memalign(64, n); break;
	case 7: p = valloc(n); break;
	case 8: p = realloc(malloc(n), 0); break;	/* frees */
	}
	free(p);
	NO_TAIL();
}

static void *
apis_thread(void *arg)
{
	struct keep *k = arg;
	void *(*const fn[9])(void) = { keep_malloc, keep_calloc, keep_realloc,
	    keep_reallocarray, keep_posix_memalign, keep_aligned_alloc,
	    keep_memalign, keep_valloc, keep_pvalloc };
	unsigned i, j;

	for (i = 0; i < NBLK; i++)
		for (j = 0; j < 9; j++) {
			k->b[j][i] = fn[j]();
			if (k->b[j][i] == NULL)
				return NULL;
			memset(k->b[j][i], 1, BLK);
			churn_apis(i * 9 + j, &k->seed);
			churn_apis(i * 9 + j + 4, &k->seed);
			churn_apis(i * 9 + j + 7, &k->seed);
		}
	return k;
}

static int
mode_apis(void)
{
	static struct keep keep[NTHREADS];
	pthread_t t[NTHREADS];
	int i, ok = 0;
	void *r;

	for (i = 0; i < NTHREADS; i++) {
		keep[i].seed = (unsigned)i + 1;
		if (pthread_create(&t[i], NULL, apis_thread, &keep[i]) != 0)
			return 1;
	}
	for (i = 0; i < NTHREADS; i++)
		if (pthread_join(t[i], &r) == 0 && r != NULL)
			ok++;
	printf("%d threads kept %d blocks each\n", ok, 9 * NBLK);
	return ok == NTHREADS ? 0 : 1;
}

int
main(int argc, char **argv)
{
	int i;

	if (argc > 1 && strcmp(argv[1], "apis") == 0)
		return mode_apis();

	for (i = 0; i < 1000000; i++) {
		churn(i);
		if (i % 10 == 0)
			small_blocks();
		if (i % 1000 == 0)
			medium_blocks();
		if (i % 50000 == 0)
			large_blocks();
	}
	printf("%d\n", nkept);
	return 0;
}
