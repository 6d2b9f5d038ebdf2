/* SPDX-License-Identifier: MIT */
/*
 * manystacks: "manystacks N [THREADS]" keeps one block at each of N
 * distinct stacks (at most 16,384, each some 17 frames deep), 16 + i % 64
 * bytes at stack i, in each of THREADS threads (default 1: the main
 * thread alone) that all start together, then sleeps 300 ms, so that
 * snapshots come while the blocks are all live, and exits without
 * freeing them.  Prints "kept N BYTES" (bytes of one thread).  Its first
 * snapshot brings some 2 MiB of stacks, more than leakspy's writer hands
 * to the dump at once; threads that meet the same new stacks at once
 * meet the site table while it grows.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SITE_DEPTH 14
#define MAX_THREADS 16

static void *volatile kept[MAX_THREADS][1 << SITE_DEPTH];
static unsigned n;
static pthread_barrier_t start;
static __thread unsigned me;

static void leaf(size_t i);
#include "../bench/sites.h"

__attribute__((noinline)) static void
leaf(size_t i)
{
	kept[me][i] = malloc(16 + i % 64);
	__asm__ volatile("" ::: "memory");
}

static void *
keep_all(void *arg)
{
	unsigned i;

	me = (unsigned)(size_t)arg;
	pthread_barrier_wait(&start);
	for (i = 0; i < n; i++)
		site(i, i);
	return NULL;
}

int
main(int argc, char **argv)
{
	unsigned nthreads = argc > 2 ? (unsigned)atoi(argv[2]) : 1, i, t;
	struct timespec pause = { 0, 300 * 1000 * 1000 };
	pthread_t th[MAX_THREADS];
	size_t total = 0;

	n = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
	if (n < 1 || n > 1u << SITE_DEPTH || nthreads < 1 ||
	    nthreads > MAX_THREADS)
		return 2;
	pthread_barrier_init(&start, NULL, nthreads);
	if (nthreads == 1) {
		keep_all(NULL);
	} else {
		for (t = 0; t < nthreads; t++)
			if (pthread_create(&th[t], NULL, keep_all,
			    (void *)(size_t)t) != 0)
				return 1;
		for (t = 0; t < nthreads; t++)
			pthread_join(th[t], NULL);
	}
	for (i = 0; i < n; i++)
		total += 16 + i % 64;
	nanosleep(&pause, NULL);
	printf("kept %u %zu\n", n, total);
	return 0;
}
