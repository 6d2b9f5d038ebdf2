/* SPDX-License-Identifier: MIT */
/*
 * aborter MODE: keeps 900 bytes in before_death, waits 0.3 s (periodic
 * snapshots), then dies: "abort" calls abort(), "assert" fails an
 * assert(), "segv" writes through a null pointer.
 */
#undef NDEBUG
#include <assert.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *volatile kept;
static int *volatile nowhere;

static __attribute__((noinline)) void
before_death(void)
{
	kept = malloc(900);
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	before_death();
	usleep(300000);
	if (strcmp(argv[1], "abort") == 0)
		abort();
	if (strcmp(argv[1], "assert") == 0)
		assert(argc == 7);
	if (strcmp(argv[1], "segv") == 0) {
		signal(SIGSEGV, SIG_DFL);
		*nowhere = 1;
	}
	return 0;
}
