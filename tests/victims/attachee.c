/* SPDX-License-Identifier: MIT */
/*
 * A process for leakspy attach to stop, started without leakspy.  It
 * prints "ready" and then, by mode (argv[1]):
 *   read     blocks in read() on stdin; prints what it returned
 *   epoll    blocks in epoll_wait() on stdin, then reads; prints both
 *   sleep    sleeps 2 s in nanosleep(); prints what it returned and
 *            whether the whole 2 s passed
 *   pending  blocks SIGUSR1, raises it, ignores SIGUSR2, handles SIGSEGV
 *            and blocks in read() as read does; then prints whether
 *            SIGUSR1 is still pending, its mask and the dispositions
 *   threads  8 threads allocate 48-byte blocks (kept), 100 a millisecond
 *            each, each call through malloc's GOT entry read afresh, and
 *            count the calls that went to a malloc other than the one
 *            the entry held at start (leakspy's); on "p" from stdin they
 *            stop and it prints "paused"; on "r", that count and exits.
 *            Those are the blocks allocated while attached.
 * Each mode then allocates a block at attachee_after (kept) and exits 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define NTHREADS	8
#define PER_THREAD	(1 << 21)	/* at most */
#define BURST		100

typedef void *(*malloc_fn)(size_t);

static malloc_fn at_start;
static volatile int paused;
static long redirected[NTHREADS];
static void *kept[NTHREADS][64];

/* The executable's GOT entry for malloc, read now. */
static inline malloc_fn
got_malloc(void)
{
	malloc_fn f;

	__asm__ volatile("movq malloc@GOTPCREL(%%rip), %0" : "=r"(f));
	return f;
}

static __attribute__((noinline)) void *
attachee_block(malloc_fn f)
{
	return f(48);
}

static void *
worker(void *arg)
{
	long k = (long)arg, i;

	for (i = 0; i < PER_THREAD && !paused; i++) {
		malloc_fn f = got_malloc();
		void *p = attachee_block(f);

		if (f != at_start)
			redirected[k]++;
		kept[k][i % 64] = p;	/* the rest are left to leak */
		if (i % BURST == BURST - 1)
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return NULL;
}

static void
on_segv(int sig)
{
	(void)sig;
	_exit(9);
}

static __attribute__((noinline)) void
attachee_after(void)
{
	static void *p;

	p = malloc(4000);
	if (p == NULL)
		exit(1);
}

static int
threads(void)
{
	pthread_t t[NTHREADS];
	char cmd[16];
	long i, total = 0;

	for (i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	puts("ready");
	fflush(stdout);
	while (fgets(cmd, sizeof(cmd), stdin) != NULL) {
		if (cmd[0] == 'p') {
			paused = 1;
			for (i = 0; i < NTHREADS; i++)
				pthread_join(t[i], NULL);
			puts("paused");
			fflush(stdout);
		} else if (cmd[0] == 'r') {
			for (i = 0; i < NTHREADS; i++)
				total += redirected[i];
			printf("redirected %ld\n", total);
			return 0;
		}
	}
	return 1;
}

int
main(int argc, char **argv)
{
	char buf[64];
	ssize_t n;
	int e;

	at_start = got_malloc();
	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "threads") == 0)
		return threads();
	if (strcmp(argv[1], "pending") == 0) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigprocmask(SIG_BLOCK, &set, NULL);
		raise(SIGUSR1);
		signal(SIGUSR2, SIG_IGN);
		signal(SIGSEGV, on_segv);
	}
	puts("ready");
	fflush(stdout);
	if (strcmp(argv[1], "read") == 0 || strcmp(argv[1], "pending") == 0) {
		errno = 0;
		n = read(0, buf, sizeof(buf));
		e = errno;
		printf("read %zd errno %d\n", n, e);
		if (strcmp(argv[1], "pending") == 0) {
			sigset_t pend, mask;
			struct sigaction sa;

			sigpending(&pend);
			sigprocmask(SIG_BLOCK, NULL, &mask);
			sigaction(SIGUSR2, NULL, &sa);
			printf("SIGUSR1 pending %d, blocked %d; SIGUSR2 "
			    "ignored %d", sigismember(&pend, SIGUSR1),
			    sigismember(&mask, SIGUSR1),
			    sa.sa_handler == SIG_IGN);
			sigaction(SIGSEGV, NULL, &sa);
			printf("; SIGSEGV handled %d\n",
			    sa.sa_handler == on_segv);
		}
	} else if (strcmp(argv[1], "epoll") == 0) {
		struct epoll_event ev = { .events = EPOLLIN }, out;
		int ep = epoll_create1(0), r;

		epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
		errno = 0;
		r = epoll_wait(ep, &out, 1, -1);
		e = errno;
		n = read(0, buf, sizeof(buf));
		printf("epoll %d errno %d, read %zd\n", r, e, n);
	} else if (strcmp(argv[1], "sleep") == 0) {
		struct timespec a, b, d = { 2, 0 };
		int r;

		clock_gettime(CLOCK_MONOTONIC, &a);
		errno = 0;
		r = nanosleep(&d, NULL);
		e = errno;
		clock_gettime(CLOCK_MONOTONIC, &b);
		printf("nanosleep %d errno %d, the whole 2 s: %s\n", r, e,
		    (b.tv_sec - a.tv_sec) * 1000000000L + b.tv_nsec -
		    a.tv_nsec >= 2000000000L ? "yes" : "no");
	} else {
		return 2;
	}
	attachee_after();
	return 0;
}
