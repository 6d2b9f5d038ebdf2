/* SPDX-License-Identifier: MIT */
/*
 * manyips: 4096 calls to malloc(8) from 4096 distinct places in
 * many_calls, all kept: more return addresses than the fast walk's first
 * rule table holds, so that it grows while the stacks are checked.
 */
#include <stdio.h>
#include <stdlib.h>

static void *volatile kept[4096];
static unsigned n;

#define C1 kept[n] = malloc(8); n++;
#define C4 C1 C1 C1 C1
#define C16 C4 C4 C4 C4
#define C64 C16 C16 C16 C16
#define C256 C64 C64 C64 C64
#define C1024 C256 C256 C256 C256

static __attribute__((noinline)) void
many_calls(void)
{
	C1024 C1024 C1024 C1024
	__asm__ volatile("" ::: "memory");
}

int
main(void)
{
	many_calls();
	printf("%u\n", n);
	return 0;
}
