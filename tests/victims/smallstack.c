/* SPDX-License-Identifier: MIT */
/*
 * Allocates from a thread whose 64 KiB stack is nearly used up: at each
 * depth of a recursion that eats the stack, deep_alloc() keeps one block
 * of 24 bytes.  Unwinding there must not overflow the stack; the
 * allocations are still counted.  Prints the number of blocks kept.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STACK (64 << 10)
#define FRAME 1024

void *volatile kept[64];
static int nkept;

__attribute__((noinline)) static void
deep_alloc(void)
{
	kept[nkept % 64] = malloc(24);
	nkept++;
}

__attribute__((noinline)) static void
recurse(int depth)
{
	volatile char pad[FRAME];

	memset((char *)pad, depth, sizeof(pad));
	if (depth > 0)
		recurse(depth - 1);
	deep_alloc();
	__asm__ volatile("" ::: "memory");
}

static void *
thread_main(void *arg)
{
	(void)arg;
	/* 54 KiB of frames: the deepest allocations have a few KiB left. */
	recurse(STACK / FRAME - 10);
	return NULL;
}

int
main(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK);
	if (pthread_create(&t, &attr, thread_main, NULL) != 0)
		return 1;
	pthread_join(t, NULL);
	printf("%d\n", nkept > 64 ? 64 : nkept);
	return 0;
}
