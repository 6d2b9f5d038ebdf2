/* SPDX-License-Identifier: MIT */
/*
 * Leaks known amounts from one noinline function per allocation entry
 * point; the expected figures are in tests/shim/test_shim.py.  Results go
 * to a global sink so that no call becomes a tail call.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

void *volatile sink[64];
static int nsink;

static void
keep(void *p)
{
	sink[nsink++ % 64] = p;
}

NOINLINE static void
leak_malloc(void)
{
	int i;

	for (i = 0; i < 3; i++)
		keep(malloc(1000));
}

NOINLINE static void
leak_calloc(void)
{
	keep(calloc(10, 100));
	keep(calloc(10, 100));
}

NOINLINE static void
leak_realloc(void)
{
	char *p = NULL;
	size_t n;

	for (n = 10; n <= 50000; n *= 5)
		p = realloc(p, n);	/* 10 50 250 1250 6250 31250 */
	keep(p);
}

NOINLINE static void
leak_reallocarray(void)
{
	keep(reallocarray(NULL, 10, 30));
}

NOINLINE static void
leak_posix_memalign(void)
{
	void *p = NULL;

	if (posix_memalign(&p, 64, 4096) == 0)
		keep(p);
}

NOINLINE static void
leak_aligned_alloc(void)
{
	keep(aligned_alloc(256, 2048));
}

NOINLINE static void
leak_memalign(void)
{
	keep(memalign(128, 3000));
}

NOINLINE static void
leak_valloc(void)
{
	keep(valloc(5000));
}

NOINLINE static void
leak_pvalloc(void)
{
	keep(pvalloc(6000));
}

NOINLINE static void
leak_strdup(void)
{
	int i;

	for (i = 0; i < 4; i++)
		keep(strdup("hello world"));	/* 12 bytes */
}

NOINLINE static void
leak_asprintf(void)
{
	char *s = NULL;

	if (asprintf(&s, "value=%d", 123456) > 0)	/* 13 bytes */
		keep(s);
}

NOINLINE static void
churn(void)
{
	int i;

	for (i = 0; i < 1000; i++) {
		void *p = malloc((size_t)i + 1);

		free(p);
	}
}

int
main(void)
{
	leak_malloc();
	leak_calloc();
	leak_realloc();
	leak_reallocarray();
	leak_posix_memalign();
	leak_aligned_alloc();
	leak_memalign();
	leak_valloc();
	leak_pvalloc();
	leak_strdup();
	leak_asprintf();
	churn();
	printf("leaky: done\n");
	return 3;
}
