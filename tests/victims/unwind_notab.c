/* SPDX-License-Identifier: MIT */
/* Built without unwind tables (but with frame pointers, which is all
 * libunwind has to go on here). */
#include <stdlib.h>

#include "unwind.h"

__attribute__((noinline)) void
notab_leaf(void)
{
	keep(malloc(88));
	__asm__ volatile("" ::: "memory");
}
