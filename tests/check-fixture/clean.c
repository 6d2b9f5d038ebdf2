/* SPDX-License-Identifier: MIT */
/*
 * Leaks nothing: allocates and frees in main and in a thread that main
 * joins.  Usage: clean [STATUS] (exits STATUS, default 0).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "fixture.h"

NOINLINE static void
churn(int n)
{
	char *p[64];
	int i;

	for (i = 0; i < 64; i++)
		p[i] = malloc((size_t)(n + i) * 8 + 1);
	for (i = 0; i < 64; i++)
		free(p[i]);
}

static void *
worker(void *arg)
{
	churn(*(int *)arg);
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t;
	int n = 3;

	if (pthread_create(&t, NULL, worker, &n) != 0 ||
	    pthread_join(t, NULL) != 0)
		return 99;
	churn(5);
	printf("clean: ok\n");
	return status_of(argc, argv);
}
