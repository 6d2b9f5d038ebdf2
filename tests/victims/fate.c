/* SPDX-License-Identifier: MIT */
/*
 * What a signal does to a program: usage "fate MODE SIGNO".  fate_alloc
 * keeps 3 blocks of 700 bytes; the program prints "ready" and then:
 *   default    leaves SIGNO as it found it, sleeps 1 s (printing
 *              "interrupted" if a signal cuts the sleep short, once),
 *              prints "done"
 *   explicit   the same after signal(SIGNO, SIG_DFL)
 *   ignore     the same after signal(SIGNO, SIG_IGN)
 *   handle     a handler (sigaction) that counts; sleeps until it ran
 *              once, prints "caught 1", exits 7
 *   resethand  a handler with SA_RESETHAND; prints "caught" after the
 *              first signal, then waits for the second
 *   busy       as default, while 2 threads malloc and free without end
 *   readback   prints the disposition of SIGNO as read back before and
 *              after it sets a handler, then SIG_DFL, and exits 0
 *   exec       keeps 1,000,000 more blocks of 16 bytes (so that the
 *              snapshot before an exec takes a while), then executes
 *              "sleep 2"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void *volatile kept[3];
void *volatile many[1000000];
static volatile sig_atomic_t caught;

__attribute__((noinline)) static void
fate_alloc(void)
{
	int i;

	for (i = 0; i < 3; i++)
		kept[i] = malloc(700);
}

static void
on_sig(int sig)
{
	(void)sig;
	caught++;
}

static void *
churn(void *arg)
{
	(void)arg;
	for (;;) {
		void *volatile p = malloc(64 + (size_t)(rand() % 512));

		free(p);
	}
	return NULL;
}

static void
show(const char *when, int sig)
{
	struct sigaction sa;

	sigaction(sig, NULL, &sa);
	printf("%s: handler %s flags %#x restorer %s mask-empty %d\n", when,
	    sa.sa_handler == SIG_DFL ? "default" : sa.sa_handler == SIG_IGN ?
	    "ignore" : sa.sa_handler == on_sig ? "on_sig" : "other",
	    (unsigned)sa.sa_flags, sa.sa_restorer != NULL ? "set" : "none",
	    sigisemptyset(&sa.sa_mask));
}

static int
readback(int sig)
{
	struct sigaction sa;

	show("before", sig);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sa.sa_flags = SA_RESTART | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGKILL);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaction(sig, &sa, NULL);
	show("handler", sig);
	signal(sig, SIG_DFL);
	show("default", sig);
	return 0;
}

/* Sleep 1 s, across interruptions (said once). */
static void
nap(void)
{
	struct timespec ts = { 1, 0 }, left;
	bool said = false;

	while (nanosleep(&ts, &left) != 0 && errno == EINTR) {
		if (!said)
			printf("interrupted\n");
		said = true;
		ts = left;
	}
	printf("done\n");
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	const char *mode;
	pthread_t t;
	int sig;

	if (argc != 3)
		return 2;
	mode = argv[1];
	sig = atoi(argv[2]);
	fate_alloc();
	if (strcmp(mode, "readback") == 0)
		return readback(sig);
	if (strcmp(mode, "explicit") == 0)
		signal(sig, SIG_DFL);
	else if (strcmp(mode, "ignore") == 0)
		signal(sig, SIG_IGN);
	else if (strcmp(mode, "handle") == 0 ||
	    strcmp(mode, "resethand") == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_sig;
		sa.sa_flags = mode[0] == 'r' ? SA_RESETHAND : 0;
		sigaction(sig, &sa, NULL);
	} else if (strcmp(mode, "busy") == 0) {
		pthread_create(&t, NULL, churn, NULL);
		pthread_create(&t, NULL, churn, NULL);
	} else if (strcmp(mode, "exec") == 0) {
		for (size_t i = 0; i < 1000000; i++)
			many[i] = malloc(16);
		printf("ready\n");
		fflush(stdout);
		execl("/bin/sleep", "sleep", "2", (char *)NULL);
		return 1;
	} else if (strcmp(mode, "default") != 0) {
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	if (strcmp(mode, "handle") == 0 || strcmp(mode, "resethand") == 0) {
		while (!caught)
			pause();
		printf("caught %d\n", (int)caught);
		fflush(stdout);
		if (mode[0] == 'h')
			return 7;
		for (;;)
			pause();
	}
	nap();
	return 0;
}
