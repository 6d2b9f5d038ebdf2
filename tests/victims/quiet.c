/* SPDX-License-Identifier: MIT */
/*
 * A program that would notice a child (tests/shim/test_scan_live.py): it
 * counts SIGCHLD and its pthread_atfork handlers' calls, and, having no
 * children, expects waitpid(-1, WNOHANG) to fail with ECHILD each time;
 * meanwhile its heap grows by 1 KiB blocks past 1 MiB (the scans'
 * growth trigger) for about MS milliseconds.  Usage: quiet [MS] (default
 * 2500).  Frees everything and prints what it saw; exits 0 when that was
 * nothing, 1 otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define PER_STEP	40	/* blocks each 10 ms: 4 MiB a second */
#define MAXSTEP		1000

static volatile sig_atomic_t sigchld;
static volatile int atfork;
static void *blocks[MAXSTEP * PER_STEP];

static void
on_chld(int sig)
{
	(void)sig;
	sigchld++;
}

static void
on_fork(void)
{
	__atomic_fetch_add(&atfork, 1, __ATOMIC_RELAXED);
}

__attribute__((noinline)) static void
grow(int step)
{
	int i;

	for (i = 0; i < PER_STEP; i++) {
		void *p = malloc(1024);

		if (p == NULL)
			abort();
		memset(p, 'q', 1024);
		blocks[step * PER_STEP + i] = p;
	}
}

int
main(int argc, char **argv)
{
	struct timespec ten = { 0, 10 * 1000 * 1000 };
	struct sigaction sa;
	int steps = (argc > 1 ? atoi(argv[1]) : 2500) / 10, i, echild = 0;
	int other = 0, status;

	if (steps < 1 || steps > MAXSTEP)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGCHLD, &sa, NULL) != 0 ||
	    pthread_atfork(on_fork, on_fork, on_fork) != 0)
		return 1;
	for (i = 0; i < steps; i++) {
		grow(i);
		if (waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD)
			echild++;
		else
			other++;
		nanosleep(&ten, NULL);
	}
	for (i = 0; i < steps * PER_STEP; i++)
		free(blocks[i]);
	printf("quiet: %d SIGCHLD, %d atfork calls, waitpid ECHILD %d of "
	    "%d\n", (int)sigchld, atfork, echild, steps);
	fflush(stdout);
	return sigchld == 0 && atfork == 0 && other == 0 ? 0 : 1;
}
