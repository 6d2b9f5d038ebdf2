/* SPDX-License-Identifier: MIT */
/*
 * The final snapshot comes after the program's atexit handlers and
 * destructors: what they free is not reported, what an atexit handler
 * allocates and keeps is.  freed_late_* are freed there (0 live);
 * kept_by_handler keeps 1 block of 808 bytes.
 */
#include <stdio.h>
#include <stdlib.h>

void *volatile by_atexit, *volatile by_dtor, *volatile kept;

__attribute__((noinline)) static void
freed_late_atexit(void)
{
	by_atexit = malloc(5000);
}

__attribute__((noinline)) static void
freed_late_dtor(void)
{
	by_dtor = malloc(6000);
}

__attribute__((noinline)) static void
kept_by_handler(void)
{
	kept = malloc(808);
}

static void
handler(void)
{
	free(by_atexit);
	kept_by_handler();
}

__attribute__((destructor)) static void
dtor(void)
{
	free(by_dtor);
}

int
main(void)
{
	freed_late_atexit();
	freed_late_dtor();
	atexit(handler);
	return 0;
}
