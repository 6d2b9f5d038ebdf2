/* SPDX-License-Identifier: MIT */
/*
 * A malloc-heavy workload for benchmarks: each thread descends a call
 * chain of realistic depth, then allocates a mix of sizes (malloc,
 * calloc, realloc, aligned) into a ring, freeing what it replaces.
 * usage: malloc-heavy [calls-per-thread [threads [depth]]]
 * Prints the number of allocation and free calls made.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mix.h"

#define RING 4096

static long calls = 1000000;
static int depth = 12;

struct ctx {
	unsigned seed;
	void *ring[RING];
	long allocs, frees;
};

static unsigned
rnd(struct ctx *c)
{
	c->seed = c->seed * 1103515245u + 12345u;
	return c->seed >> 8;
}

__attribute__((noinline)) static void
work(struct ctx *c, long n, int site)
{
	long i;

	for (i = 0; i < n; i++)
		mix_one(c->ring, RING, rnd(c), (size_t)site, &c->allocs,
		    &c->frees);
}

__attribute__((noinline)) static void
descend(struct ctx *c, int level, long n)
{
	if (level > 0) {
		/* Several call sites per level, so there are many stacks. */
		long part = n / 4;

		descend(c, level - 1, part);
		descend(c, level - 1, n - part);
		__asm__ volatile("" ::: "memory");
		return;
	}
	work(c, n, (int)(c->seed % 7));
}

static void *
thread_main(void *arg)
{
	struct ctx *c = arg;
	int i;

	descend(c, depth, calls);
	for (i = 0; i < RING; i++)
		if (c->ring[i] != NULL) {
			free(c->ring[i]);
			c->frees++;
		}
	return NULL;
}

int
main(int argc, char **argv)
{
	int nthreads = 1, t;
	pthread_t th[64];
	struct ctx *ctx;
	long allocs = 0, frees = 0;

	if (argc > 1)
		calls = atol(argv[1]);
	if (argc > 2)
		nthreads = atoi(argv[2]);
	if (argc > 3)
		depth = atoi(argv[3]);
	if (nthreads < 1 || nthreads > 64 || calls < 1 || depth < 0 ||
	    depth > 40)
		return 2;
	ctx = calloc((size_t)nthreads, sizeof(*ctx));
	for (t = 0; t < nthreads; t++) {
		ctx[t].seed = (unsigned)t * 7919u + 1;
		pthread_create(&th[t], NULL, thread_main, &ctx[t]);
	}
	for (t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		allocs += ctx[t].allocs;
		frees += ctx[t].frees;
	}
	printf("%ld %ld\n", allocs, frees);
	free(ctx);
	return 0;
}
