/* SPDX-License-Identifier: MIT */
/*
 * Blocks of 4 GiB and more, whose sizes do not fit leakspy's 32-bit size
 * field.  Waits past two snapshot intervals (LEAKSPY_INTERVAL in the
 * test), keeps one from malloc and one from calloc, frees one, then waits
 * again, so that snapshots before and after them, periodic and final,
 * count them.  The pages are never touched.  Prints "ok", or what
 * failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define GIB ((size_t)1 << 30)

static void *kept[2];

/* Not tail calls: the allocating frame must be these functions. */
__attribute__((noinline)) static void
keep_big(void)
{
	kept[0] = malloc(4 * GIB + 4096);
	__asm__ volatile("" : : : "memory");
}

__attribute__((noinline)) static void
keep_big_calloc(void)
{
	kept[1] = calloc(1, 4 * GIB + 8192);
	__asm__ volatile("" : : : "memory");
}

__attribute__((noinline)) static void
churn_big(void)
{
	void *p = malloc(5 * GIB);

	__asm__ volatile("" : : "r"(p) : "memory");
	free(p);
}

int
main(void)
{
	struct timespec t = { 0, 300 * 1000 * 1000 };

	nanosleep(&t, NULL);
	keep_big();
	keep_big_calloc();
	churn_big();
	if (kept[0] == NULL || kept[1] == NULL) {
		puts("no memory for the big blocks");
		return 1;
	}
	nanosleep(&t, NULL);
	puts("ok");
	return 0;
}
