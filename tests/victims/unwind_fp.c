/* SPDX-License-Identifier: MIT */
/* Built with frame pointers: CFA = rbp + 16 where these functions call. */
#include <alloca.h>
#include <stdlib.h>
#include <string.h>

#include "unwind.h"

__attribute__((noinline)) void
fp_top(int depth)
{
	if (depth > 0)
		nofp_mid(depth - 1);
	else
		nofp_leaf();
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

/* A frame of varying size: only rbp locates its CFA. */
__attribute__((noinline)) void
fp_alloca(size_t n)
{
	char *buf = alloca(n);

	memset(buf, 1, n);
	keep(malloc(40 + (size_t)buf[n - 1]));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
fp_bigframe(int i)
{
	volatile char buf[20000];

	buf[i] = 1;
	nofp_bigframe(buf[i] + i);
	__asm__ volatile("" ::: "memory");
}

/* The call to nofp_jump_out is this function's last instruction, so its
 * return address is the start of whatever follows. */
__attribute__((noinline)) void
fp_ends_in_noreturn(void)
{
	nofp_jump_out();
}
