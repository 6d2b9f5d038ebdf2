/* SPDX-License-Identifier: MIT */
/*
 * Allocates before any constructor runs (.preinit_array) and from a
 * constructor: early_alloc keeps 1 block of 111 bytes, ctor_alloc 1 of
 * 222.  Calls signal() before its first malloc in main.  Prints whether
 * both were allocated, then LD_PRELOAD as main sees it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

void *volatile early, *volatile from_ctor;

__attribute__((noinline)) static void
early_alloc(void)
{
	early = malloc(111);
}

__attribute__((noinline)) static void
ctor_alloc(void)
{
	from_ctor = malloc(222);
}

static void
preinit(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	(void)envp;
	early_alloc();
}

__attribute__((section(".preinit_array"), used))
static void (*const preinit_fn)(int, char **, char **) = preinit;

__attribute__((constructor)) static void
ctor(void)
{
	ctor_alloc();
}

int
main(void)
{
	const char *v;

	signal(SIGUSR1, SIG_IGN);
	printf("%d\n", early != NULL && from_ctor != NULL);
	v = getenv("LD_PRELOAD");
	printf("LD_PRELOAD %s\n", v != NULL ? v : "unset");
	return 0;
}
