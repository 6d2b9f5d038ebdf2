/* SPDX-License-Identifier: MIT */
/* Loaded with dlopen and unloaded before exit: plugin_leak() keeps 2
 * blocks of 777 bytes, which outlive the library. */
#include <stdlib.h>

void plugin_leak(void **out);

__attribute__((noinline)) void
plugin_leak(void **out)
{
	out[0] = malloc(777);
	out[1] = malloc(777);
}
