/* SPDX-License-Identifier: MIT */
/*
 * Heap scan probe: usage "scanheap BLOCKS SIZE exit|pause [SECONDS]".
 * Builds a heap of BLOCKS live blocks of SIZE bytes over 1,024 call
 * sites, each block filled and holding a pointer to the one before it;
 * a global array holds all but every sixteenth, which are lost.  Then:
 * - exit: prints its VmRSS and VmHWM, then "exit NS" (CLOCK_MONOTONIC)
 *   right before it returns from main, so that its parent can time what
 *   happens after (leakspy's final snapshot and its scan);
 * - pause: prints "ready PID", then times free+malloc pairs of small
 *   blocks (a ring of 4,096, as tests/bench/stall does) until SIGUSR1
 *   or SECONDS (default 120), and prints the pairs and each pair of 20 us
 *   or more as "START_NS LATENCY_NS", so that its parent can tell the
 *   pairs during a scan it triggered from the rest; then _exit()s
 *   (where leakspy takes its final snapshot, and scans again: a parent
 *   done with the figures may kill it first).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SITE_DEPTH 10
#define SITES 1024
#define SLOW_NS 20000		/* pairs listed from this long on */
#define MAX_SLOW 1000000

static void **heap;
static size_t block_size;
static volatile sig_atomic_t stop;

static void leaf(size_t i);
#include "sites.h"

__attribute__((noinline)) static void
leaf(size_t i)
{
	unsigned char *p = malloc(block_size);
	void *back = i > 0 && (i - 1) % 16 != 15 ? heap[i - 1] : NULL;

	if (p == NULL) {
		perror("scanheap: malloc");
		exit(1);
	}
	/* Data no word of which is a pointer, then the link back (never
	 * to a block that will be lost). */
	memset(p, (int)(0x11 + i % 64), block_size);
	if (block_size >= sizeof(back))
		memcpy(p, &back, sizeof(back));
	heap[i] = p;
	__asm__ volatile("" ::: "memory");
}

static long long
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* The kB figure of one /proc/self/status line, or -1. */
static long
status_kb(const char *key)
{
	char line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = atol(line + n + 1);
	fclose(f);
	return v;
}

static void
on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

static int
pause_probe(double secs)
{
	static long long slow[MAX_SLOW][2];
	static void *ring[4096];
	long long end, worst = 0;
	size_t k = 0, nslow = 0, i;

	signal(SIGUSR1, on_usr1);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = now_ns() + (long long)(secs * 1e9);
	while (!stop) {
		void **slot = &ring[k % 4096];
		long long t0 = now_ns(), d;

		free(*slot);
		*slot = malloc(16 + k % 112);
		d = now_ns() - t0;
		k++;
		if (d > worst)
			worst = d;
		if (d >= SLOW_NS && nslow < MAX_SLOW) {
			slow[nslow][0] = t0;
			slow[nslow++][1] = d;
		}
		if (t0 > end)
			break;
	}
	printf("pairs %zu worst %lld slow %zu\n", k, worst, nslow);
	for (i = 0; i < nslow; i++)
		printf("%lld %lld\n", slow[i][0], slow[i][1]);
	fflush(stdout);
	_exit(0);
}

int
main(int argc, char **argv)
{
	size_t n, i;
	const char *mode;

	if (argc < 4) {
		fprintf(stderr, "usage: scanheap BLOCKS SIZE exit|pause "
		    "[SECONDS]\n");
		return 2;
	}
	n = (size_t)atol(argv[1]);
	block_size = (size_t)atol(argv[2]);
	mode = argv[3];
	heap = calloc(n + 1, sizeof(*heap));
	if (heap == NULL)
		return 1;
	for (i = 0; i < n; i++)
		site((unsigned)(i % SITES), i);
	for (i = 15; i < n; i += 16)
		heap[i] = NULL;
	if (strcmp(mode, "pause") == 0)
		return pause_probe(argc > 4 ? atof(argv[4]) : 120);
	printf("vmrss %ld vmhwm %ld\n", status_kb("VmRSS"),
	    status_kb("VmHWM"));
	printf("exit %lld\n", now_ns());
	fflush(stdout);
	return 0;
}
