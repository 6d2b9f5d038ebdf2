/* SPDX-License-Identifier: MIT */
/*
 * Leaves a thread behind: start_lingerer starts "lingerer" (its start
 * routine linger), which waits for ever, neither joined nor detached,
 * and main returns while it runs.  It holds no memory of its own.
 * Usage: thread [STATUS] (exits STATUS, default 0).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "fixture.h"

static void *
linger(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

NOINLINE static int
start_lingerer(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, linger, NULL) != 0)  /* site: thread */
		return -1;
	pthread_setname_np(t, "lingerer");
	return 0;
}

int
main(int argc, char **argv)
{
	if (start_lingerer() != 0)		/* site: main calls start_lingerer */
		return 99;
	usleep(100 * 1000);
	printf("thread: left running\n");
	return status_of(argc, argv);
}
