/* SPDX-License-Identifier: MIT */
/*
 * sigcount: what reaches a command run by the launcher.  It prints
 * "ready" once its handlers are in place, records every SIGHUP, SIGINT,
 * SIGUSR1 and SIGRTMIN+1 it gets, and on SIGTERM prints one line per
 * signal received, in order, "NAME FROM [VALUE]" (FROM: kernel, parent,
 * self or other; VALUE for a sigqueue(3) one), the SIGTERM last, and
 * exits 0.  "sigcount group" first sends SIGUSR1 to its process group;
 * "sigcount spin" spins rather than waits, so that each signal is
 * handled at once and a second copy of one is not merged into the first.
 * It dies of SIGALRM after 5 seconds.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_SEEN	32

/* Written by the handler only, which runs with every handled signal
 * blocked; read by main after SIGTERM. */
static volatile sig_atomic_t nseen, done;
static struct {
	int signo;
	int code;
	pid_t pid;
	int value;
} seen[MAX_SEEN];

static void
on_signal(int signo, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (nseen < MAX_SEEN) {
		seen[nseen].signo = signo;
		seen[nseen].code = si->si_code;
		seen[nseen].pid = si->si_pid;
		seen[nseen].value = si->si_code == SI_QUEUE ?
		    si->si_value.sival_int : -1;
		nseen++;
	}
	if (signo == SIGTERM)
		done = 1;
}

static const char *
name(int signo)
{
	switch (signo) {
	case SIGHUP: return "HUP";
	case SIGINT: return "INT";
	case SIGUSR1: return "USR1";
	case SIGTERM: return "TERM";
	}
	return signo == SIGRTMIN + 1 ? "RTMIN+1" : "?";
}

static const char *
from(int i)
{
	if (seen[i].code == SI_KERNEL)
		return "kernel";
	if (seen[i].pid == getpid())
		return "self";
	if (seen[i].pid == getppid())
		return "parent";
	return "other";
}

int
main(int argc, char **argv)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGUSR1, SIGTERM, 0 };
	struct sigaction sa;
	sigset_t all, old;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_signal;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	for (i = 0; sigs[i] != 0; i++)
		sigaction(sigs[i], &sa, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	alarm(5);
	if (write(1, "ready\n", 6) != 6)
		return 1;
	if (argc == 2 && strcmp(argv[1], "group") == 0)
		kill(0, SIGUSR1);
	if (argc == 2 && strcmp(argv[1], "spin") == 0) {
		while (!done)
			continue;
	} else {
		sigfillset(&all);
		sigdelset(&all, SIGALRM);
		sigprocmask(SIG_BLOCK, &all, &old);
		while (!done)
			sigsuspend(&old);
	}
	for (i = 0; i < nseen; i++) {
		if (seen[i].value >= 0)
			printf("%s %s %d\n", name(seen[i].signo), from(i),
			    seen[i].value);
		else
			printf("%s %s\n", name(seen[i].signo), from(i));
	}
	return 0;
}
