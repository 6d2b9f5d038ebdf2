/* SPDX-License-Identifier: MIT */
/*
 * forker: keeps three 1000-byte blocks in parent_keep, then forks.  The
 * child frees one of them, keeps 700 bytes in child_keep and exits; the
 * parent waits for it, then starts a vfork child and a posix_spawn child
 * that do nothing (they exit, and execute /bin/true), keeps 400 bytes in
 * after_fork and prints what its children returned.  "forker wait": the
 * fork child waits 0.4 s before it exits.
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static void *volatile kept[8];

static __attribute__((noinline)) void
parent_keep(void)
{
	int i;

	for (i = 0; i < 3; i++)
		kept[i] = malloc(1000);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void
child_keep(void)
{
	kept[3] = malloc(700);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void
after_fork(void)
{
	kept[4] = malloc(400);
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv0)
{
	char *argv[] = { "true", NULL };
	int st1 = -1, st2 = -1, st3 = -1;
	pid_t pid;

	(void)argv0;
	parent_keep();
	pid = fork();
	if (pid == 0) {
		free(kept[0]);
		child_keep();
		if (argc == 2)
			usleep(400000);
		exit(7);
	}
	waitpid(pid, &st1, 0);
	pid = vfork();
	if (pid == 0)
		_exit(8);
	waitpid(pid, &st2, 0);
	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
		waitpid(pid, &st3, 0);
	after_fork();
	printf("%d %d %d\n", WEXITSTATUS(st1), WEXITSTATUS(st2),
	    WEXITSTATUS(st3));
	return 0;
}
