/* SPDX-License-Identifier: MIT */
/*
 * Snapshot stall probe: usage "stall BLOCKS SECONDS".  Builds a heap of
 * BLOCKS live blocks over 10,000 call sites, then times free+malloc pairs
 * for SECONDS and prints the worst and the 99.99th percentile pair in
 * microseconds.  Each pair replaces the next block of a ring of 4,096,
 * so that the pairs reach blocks all over the address space (and all of
 * leakspy's shards), not one address again and again.  Run under leakspy
 * with a short interval, the worst pair is the stall a snapshot of that
 * heap adds to an allocating thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SITE_DEPTH 14
#define SITES 10000

static void **heap;

static void leaf(size_t i);
#include "sites.h"

__attribute__((noinline)) static void
leaf(size_t i)
{
	heap[i] = malloc(16 + i % 48);
	__asm__ volatile("" ::: "memory");
}

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 1000000, i, k = 0;
	double secs = argc > 2 ? atof(argv[2]) : 3, end, worst = 0;
	static float lat[20000000];
	static void *ring[4096];

	heap = calloc(n, sizeof(*heap));
	for (i = 0; i < n; i++)
		site((unsigned)(i % SITES), i);
	end = now_us() + secs * 1e6;
	while (k < sizeof(lat) / sizeof(lat[0])) {
		void **slot = &ring[k % 4096];
		double t0 = now_us(), d;

		free(*slot);
		*slot = malloc(16 + k % 112);
		d = now_us() - t0;
		lat[k++] = (float)d;
		if (d > worst)
			worst = d;
		if (t0 > end)
			break;
	}
	qsort(lat, k, sizeof(lat[0]), cmp);
	printf("worst %.0f p9999 %.1f pairs %zu\n", worst,
	    (double)lat[k - 1 - k / 10000], k);
	return 0;
}
