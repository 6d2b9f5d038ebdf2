/* SPDX-License-Identifier: MIT */
/*
 * sigchain: a program with its own SIGUSR2 handlers, set with sigaction
 * (SA_SIGINFO) and then with signal(), then ignored.  It checks that it
 * reads back what it set, and prints how often each handler ran.
 * "sigchain mask" prints the signals it catches (SigCgt) and exits.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t n_info, n_plain;

static void
on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig == SIGUSR2 && si != NULL && si->si_signo == SIGUSR2)
		n_info++;
}

static void
on_plain(int sig)
{
	if (sig == SIGUSR2)
		n_plain++;
}

static void
print_caught(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "SigCgt:", 7) == 0)
			fputs(line, stdout);
	if (f != NULL)
		fclose(f);
}

static void
raise_and_wait(void)
{
	raise(SIGUSR2);
	usleep(300000);		/* time for a snapshot */
}

int
main(int argc, char **argv)
{
	struct sigaction sa, old;
	sighandler_t prev;

	if (argc == 2 && strcmp(argv[1], "mask") == 0) {
		print_caught();
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR2, &sa, &old) != 0)
		return 1;
	printf("before: %s\n", old.sa_handler == SIG_DFL ? "default" : "set");
	raise_and_wait();
	raise_and_wait();
	if (sigaction(SIGUSR2, NULL, &old) != 0)
		return 1;
	printf("read back: %s\n", old.sa_sigaction == on_info &&
	    (old.sa_flags & SA_SIGINFO) ? "on_info" : "other");
	prev = signal(SIGUSR2, on_plain);
	printf("signal() returned: %s\n",
	    prev == (sighandler_t)(void (*)(void))on_info ? "on_info" : "other");
	raise_and_wait();
	signal(SIGUSR2, SIG_IGN);
	raise_and_wait();
	printf("on_info %d, on_plain %d\n", (int)n_info, (int)n_plain);
	return 0;
}
