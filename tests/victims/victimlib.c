/* SPDX-License-Identifier: MIT */
/* A shared library the victim links: lib_leak() keeps n blocks of 333. */
#include <stdlib.h>

void *volatile lib_sink[64];
void lib_leak(int n);

__attribute__((noinline)) void
lib_leak(int n)
{
	int i;

	for (i = 0; i < n && i < 64; i++)
		lib_sink[i] = malloc(333);
}
