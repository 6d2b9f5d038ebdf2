/* SPDX-License-Identifier: MIT */
/*
 * manystacks: "manystacks N" keeps one block at each of N distinct
 * stacks (at most 16,384, each some 17 frames deep), 16 + i % 64 bytes
 * at stack i, then sleeps 300 ms, so that snapshots come while they are
 * all live, and exits without freeing them.  Prints "kept N BYTES".
 * Its first snapshot brings some 2 MiB of stacks: more than leakspy's
 * writer hands to the dump at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define SITE_DEPTH 14

static void *volatile kept[1 << SITE_DEPTH];

static void leaf(size_t i);
#include "../bench/sites.h"

__attribute__((noinline)) static void
leaf(size_t i)
{
	kept[i] = malloc(16 + i % 64);
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 0, i;
	struct timespec pause = { 0, 300 * 1000 * 1000 };
	size_t total = 0;

	if (n < 1 || n > 1u << SITE_DEPTH)
		return 2;
	for (i = 0; i < n; i++) {
		site(i, i);
		total += 16 + i % 64;
	}
	nanosleep(&pause, NULL);
	printf("kept %u %zu\n", n, total);
	return 0;
}
