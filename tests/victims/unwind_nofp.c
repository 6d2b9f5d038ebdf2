/* SPDX-License-Identifier: MIT */
/* Built without frame pointers: CFA = rsp + N, rbp a general register. */
#include <setjmp.h>
#include <stdlib.h>

#include "unwind.h"

extern jmp_buf unwind_env;

__attribute__((noinline)) void
nofp_mid(int depth)
{
	if (depth > 0)
		fp_top(depth - 1);
	else
		notab_leaf();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
nofp_leaf(void)
{
	keep(malloc(24));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void
nofp_bigframe(int i)
{
	volatile char buf[9000];

	buf[i] = 2;
	keep(malloc(56 + (size_t)buf[i]));
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, noreturn)) void
nofp_jump_out(void)
{
	keep(malloc(72));
	longjmp(unwind_env, 1);
}
