/* SPDX-License-Identifier: MIT */
/*
 * A malloc-bound workload whose consecutive allocations come through
 * different call chains, as a real program's do: each call walks one of
 * 1,024 fixed random chains of 5 to 15 non-inlined frames (two families
 * of eight functions, a chain stays in its family), then allocates a mix
 * of sizes (malloc, calloc, realloc, aligned) into a ring, freeing what
 * it replaces.  About 4,000 distinct stacks in all, so the tables stay
 * small, but the stack of one call says nothing about the next.
 * usage: varied [calls-per-thread [threads]]
 * Prints the number of allocation and free calls made.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mix.h"

#define RING 4096
#define CHAINS 512		/* a family */
#define MAX_DEPTH 15

struct chain {
	unsigned depth;
	unsigned char fn[MAX_DEPTH];	/* a function of the family a level */
};

static struct chain chains[2][CHAINS];

struct ctx {
	uint32_t seed;
	const struct chain *ch;
	unsigned family;
	void *ring[RING];
	long allocs, frees;
	uintptr_t acc;
};

static uint32_t
rnd(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 8;
}

__attribute__((noinline)) static void
leaf(struct ctx *c)
{
	mix_one(c->ring, RING, rnd(&c->seed), 0, &c->allocs, &c->frees);
}

typedef void step_fn(struct ctx *c, unsigned level);
static step_fn *const *families[2];

/* Sixteen different functions (their constants keep the compiler from
 * folding them into one); the asm after the call keeps it a call. */
#define STEP(name, fam, k)						\
__attribute__((noinline)) static void					\
name(struct ctx *c, unsigned level)					\
{									\
	c->acc += k;							\
	if (level + 1 == c->ch->depth)					\
		leaf(c);						\
	else								\
		families[fam][c->ch->fn[level + 1]](c, level + 1);	\
	__asm__ volatile("" ::: "memory");				\
}
STEP(a0, 0, 3) STEP(a1, 0, 5) STEP(a2, 0, 7) STEP(a3, 0, 11)
STEP(a4, 0, 13) STEP(a5, 0, 17) STEP(a6, 0, 19) STEP(a7, 0, 23)
STEP(b0, 1, 29) STEP(b1, 1, 31) STEP(b2, 1, 37) STEP(b3, 1, 41)
STEP(b4, 1, 43) STEP(b5, 1, 47) STEP(b6, 1, 53) STEP(b7, 1, 59)

static step_fn *const fam_a[8] = { a0, a1, a2, a3, a4, a5, a6, a7 };
static step_fn *const fam_b[8] = { b0, b1, b2, b3, b4, b5, b6, b7 };
static step_fn *const *families[2] = { fam_a, fam_b };

static long calls = 1000000;

static void *
run(void *arg)
{
	struct ctx *c = arg;
	long i;

	for (i = 0; i < calls; i++) {
		uint32_t r = rnd(&c->seed);

		c->family = r & 1;
		c->ch = &chains[c->family][(r >> 1) % CHAINS];
		families[c->family][c->ch->fn[0]](c, 0);
	}
	for (i = 0; i < RING; i++) {
		if (c->ring[i] != NULL)
			c->frees++;
		free(c->ring[i]);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int nthreads = argc > 2 ? atoi(argv[2]) : 1, i;
	uint32_t seed = 42;
	pthread_t t[64];
	struct ctx *c;
	long allocs = 0, frees = 0;
	unsigned f, k, l;

	if (argc > 1)
		calls = atol(argv[1]);
	if (nthreads < 1 || nthreads > 64 || calls < 0)
		return 2;
	for (f = 0; f < 2; f++)
		for (k = 0; k < CHAINS; k++) {
			chains[f][k].depth = 5 + rnd(&seed) % (MAX_DEPTH - 4);
			for (l = 0; l < MAX_DEPTH; l++)
				chains[f][k].fn[l] = (unsigned char)(rnd(&seed) %
				    8);
		}
	c = calloc((size_t)nthreads, sizeof(*c));
	if (c == NULL)
		return 1;
	for (i = 0; i < nthreads; i++) {
		c[i].seed = 7u + (uint32_t)i * 7919u;
		if (pthread_create(&t[i], NULL, run, &c[i]) != 0)
			return 1;
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		allocs += c[i].allocs;
		frees += c[i].frees;
	}
	printf("%ld allocation calls, %ld frees\n", allocs, frees);
	free(c);
	return 0;
}
