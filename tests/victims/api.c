/* SPDX-License-Identifier: MIT */
/*
 * Prints what the allocation functions return and leave in errno for the
 * corner cases glibc defines; the output must be the same with and
 * without leakspy.  Leaks: the block kept after a failed realloc
 * (keep_after_failed_realloc, 555 bytes) and realloc(NULL, 0)'s block
 * (zero_block, 0 bytes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define NOINLINE __attribute__((noinline))

/* Sizes the compiler cannot see, so it keeps the calls. */
static volatile size_t huge = SIZE_MAX / 2, quarter = SIZE_MAX / 4;

void *volatile sink[8];

NOINLINE static void
keep_after_failed_realloc(void)
{
	char *p = malloc(555);
	char *q;

	memset(p, 'x', 555);
	errno = 0;
	q = realloc(p, huge);
	printf("failed realloc: %s errno=%d intact=%d\n", q ? "ptr" : "NULL",
	    errno, p[554] == 'x');
	sink[0] = p;
}

NOINLINE static void
zero_block(void)
{
	sink[1] = realloc(NULL, 0);
	printf("realloc(NULL,0): %s\n", sink[1] ? "ptr" : "NULL");
}

int
main(void)
{
	void *p, *q;
	int r;

	errno = 0;
	p = malloc(0);
	printf("malloc(0): %s errno=%d\n", p ? "ptr" : "NULL", errno);
	free(p);

	errno = 0;
	p = malloc(huge);
	printf("malloc(huge): %s errno=%d\n", p ? "ptr" : "NULL", errno);

	errno = 0;
	p = calloc(quarter, 8);
	printf("calloc(overflow): %s errno=%d\n", p ? "ptr" : "NULL", errno);

	errno = 0;
	p = reallocarray(NULL, quarter, 8);
	printf("reallocarray(overflow): %s errno=%d\n", p ? "ptr" : "NULL",
	    errno);

	errno = 0;
	r = posix_memalign(&p, 3, 8);
	printf("posix_memalign(3): %d errno=%d\n", r, errno);
	r = posix_memalign(&p, 64, 100);
	printf("posix_memalign(64): %d aligned=%d usable>=100:%d\n", r,
	    ((uintptr_t)p & 63) == 0, malloc_usable_size(p) >= 100);
	free(p);

	errno = 0;
	p = aligned_alloc(3, 16);
	printf("aligned_alloc(3,16): %s errno=%d\n", p ? "ptr" : "NULL",
	    errno);
	free(p);

	p = malloc(100);
	errno = 0;
	q = realloc(p, 0);
	printf("realloc(p,0): %s errno=%d\n", q ? "ptr" : "NULL", errno);

	p = malloc(10);
	errno = 4242;
	free(p);
	printf("free keeps errno: %d\n", errno);

	p = malloc(1000);
	printf("usable(1000): %zu\n", malloc_usable_size(p));
	free(p);

	keep_after_failed_realloc();
	zero_block();
	return 0;
}
