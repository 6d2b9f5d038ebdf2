/* SPDX-License-Identifier: MIT */
/*
 * 8 threads allocate and free at once; thread i leaks (i + 1) * 10 blocks
 * of 64 bytes from thread_leak().  Total: 360 blocks, 23040 bytes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NOINLINE __attribute__((noinline))
#define NTHREAD 8
#define CHURN 20000

static void *volatile keep[NTHREAD][100];

NOINLINE static void
thread_leak(long t, int i)
{
	keep[t][i] = malloc(64);	/* not a tail call: the frame stays */
}

NOINLINE static void
churn(unsigned seed)
{
	void *ring[32] = { 0 };
	int i;

	for (i = 0; i < CHURN; i++) {
		unsigned k = (seed = seed * 1103515245u + 12345u) >> 27;

		free(ring[k]);
		ring[k] = malloc(16 + (seed >> 20) % 512);
	}
	for (i = 0; i < 32; i++)
		free(ring[i]);
}

static void *
worker(void *arg)
{
	long t = (long)arg;
	int i;

	for (i = 0; i < (t + 1) * 10; i++) {
		thread_leak(t, i);
		churn((unsigned)(t * 7919 + i));
	}
	return NULL;
}

int
main(void)
{
	pthread_t th[NTHREAD];
	long t;

	for (t = 0; t < NTHREAD; t++)
		if (pthread_create(&th[t], NULL, worker, (void *)t) != 0)
			return 1;
	for (t = 0; t < NTHREAD; t++)
		pthread_join(th[t], NULL);
	printf("threads: done\n");
	return 0;
}
