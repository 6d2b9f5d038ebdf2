/* SPDX-License-Identifier: MIT */
/*
 * Many distinct call sites, all active: usage "manysites SITES SECONDS".
 * Site i is the stack of a call chain chosen by the bits of i (two
 * functions a level, 14 levels: up to 16384 stacks).  Every 10 ms each
 * site frees its block and allocates a new one, so every site's figures
 * change between any two snapshots: the worst case for dump growth.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SITE_DEPTH 14

static void *blocks[1 << SITE_DEPTH];

static void leaf(size_t i);
#include "sites.h"

__attribute__((noinline)) static void
leaf(size_t i)
{
	free(blocks[i]);
	blocks[i] = malloc(16 + i % 200);
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 10000, i;
	double secs = argc > 2 ? atof(argv[2]) : 1;
	struct timespec t0, t, ten = { 0, 10 * 1000 * 1000 };

	if (n > 1u << SITE_DEPTH)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (i = 0; i < n; i++)
			site(i, i);
		nanosleep(&ten, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) +
	    (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	printf("%u sites\n", n);
	return 0;
}
