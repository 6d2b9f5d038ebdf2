/* SPDX-License-Identifier: MIT */
/*
 * Distinct call sites for the benchmarks: site(i, DEPTH, i) reaches the
 * includer's leaf(i) through a chain of two functions a level, chosen by
 * the bits of i, so that up to 2^DEPTH values of i give as many stacks.
 * Define SITE_DEPTH and declare leaf() before including.
 */
#ifndef LS_SITES_H
#define LS_SITES_H

#include <stddef.h>

static void leaf(size_t i);
static void level_a(unsigned bits, int depth, size_t i);
static void level_b(unsigned bits, int depth, size_t i);

/* The two functions of a level: the same code, two return addresses. */
#define SITES_LEVEL(name)						\
__attribute__((noinline)) static void					\
name(unsigned bits, int depth, size_t i)				\
{									\
	if (depth == 0)							\
		leaf(i);						\
	else if (bits & 1)						\
		level_a(bits >> 1, depth - 1, i);			\
	else								\
		level_b(bits >> 1, depth - 1, i);			\
	__asm__ volatile("" ::: "memory");	/* no tail calls */	\
}

SITES_LEVEL(level_a)
SITES_LEVEL(level_b)

/* Allocate at site number bits (0 .. 2^SITE_DEPTH - 1) for item i. */
static void
site(unsigned bits, size_t i)
{
	level_a(bits, SITE_DEPTH, i);
}

#endif /* LS_SITES_H */
