/* SPDX-License-Identifier: MIT */
/*
 * What the fixture's programs share: functions that stay functions of
 * their own (so that stacks name them), and a scrubbed stack before main
 * returns, so that the final scan finds no stale copy of a pointer that
 * was overwritten.
 */
#ifndef LS_FIXTURE_H
#define LS_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))

/* Zero the stack below the caller, where the frames of the functions it
 * called left copies of their pointers. */
NOINLINE static void __attribute__((unused))
scrub_stack(void)
{
	char pad[64 << 10];

	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

/* The exit status the test asks for: argv[1], default 0. */
static inline int
status_of(int argc, char **argv)
{
	return argc > 1 ? atoi(argv[1]) : 0;
}

#endif /* LS_FIXTURE_H */
