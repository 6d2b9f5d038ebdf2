/* SPDX-License-Identifier: MIT */
/*
 * Runs for a while and keeps allocating: usage "sleeper [MS [raise]]"
 * (MS defaults to 1200).
 * Every 10 ms grow() keeps one more block of 1000 bytes; with "raise" it
 * sends itself SIGUSR2 after 50 ms (for LEAKSPY_SIGNAL).  It prints the
 * number of blocks it kept.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *volatile kept[100000];

__attribute__((noinline)) static void
grow(int i)
{
	kept[i] = malloc(1000);
}

int
main(int argc, char **argv)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	int ms = argc > 1 ? atoi(argv[1]) : 1200, i;
	int do_raise = argc > 2 && strcmp(argv[2], "raise") == 0;

	for (i = 0; i * 10 < ms && i < 100000; i++) {
		grow(i);
		if (do_raise && i == 5)
			raise(SIGUSR2);
		nanosleep(&ten, NULL);
	}
	printf("kept %d\n", i);
	fflush(stdout);
	return 0;
}
