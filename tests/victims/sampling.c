/* SPDX-License-Identifier: MIT */
/*
 * Keeps known amounts from sites of different block sizes, amid churn,
 * for sampled mode (tests run it with LEAKSPY_SAMPLE=64k):
 *   small_blocks   100000 x 100 B   = 10,000,000 B (152 intervals)
 *   medium_blocks    1000 x 20000 B = 20,000,000 B (305 intervals)
 *   large_blocks       20 x 1 MiB   = 20,971,520 B (320 intervals)
 *   churn          a million blocks allocated and freed (0 kept)
 */
#include <stdio.h>
#include <stdlib.h>

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

int
main(void)
{
	int i;

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
