/* SPDX-License-Identifier: MIT */
/*
 * A heap whose graph is known, for the scan at exit: usage "reach MODE",
 * MODE one of the cases below or "all" (every case in one process).  Each
 * case allocates from noinline functions of its own; the split expected
 * (valgrind memcheck's) is in tests/shim/test_reach.py:
 *   lost      lost_alloc: 1000 bytes whose only pointer is overwritten
 *   list      list_head (16 bytes) lost, holding list_node's 10 of 48
 *   interior  interior_alloc: 5 of 200, held 16 bytes into each only
 *   tls       tls_main_alloc (300) held by a _Thread_local of the main
 *             thread, tls_thread_alloc (400) by one of a thread blocked
 *             in pause() at exit
 *   register  reg_alloc (500) held only in %rsi of a thread blocked in
 *             read(2) on a pipe into it (x86-64; elsewhere exits 77)
 *   blocked   the same, and lost_alloc, with every signal blocked in
 *             every thread (as daemons that sigwait do)
 *   key       key_alloc (600) a pthread key's value in a blocked thread
 *   cycle     cycle_alloc: 2 of 64 pointing at each other, both lost
 *   array     array_alloc: 100 of 32 held by the global array held[]
 *   globals   globals_alloc: 48 bytes each, 1 held by small_held[0] and
 *             50 by big_held[], from one call site
 *   mixed     mixed_outer (64) held by the global mixed_root, holding
 *             mixed_inner (96) by a pointer 8 bytes into it only
 * Pointers the scan must not see are overwritten, and before it returns
 * main zeroes the stack below itself, where the cases' frames left copies
 * (memcheck's tests scribble the stack the same way); threads zero theirs
 * before they block (the one in read(2) its red zone only).  Where the
 * allocator leaves its own pointer into a block (glibc's top chunk starts
 * 8 bytes before the end of a block of 1000 or 200 bytes), fence_alloc's
 * small reachable block comes next.
 * Prints "reach MODE: ready" and returns 0 with the threads still blocked;
 * "reach MODE _exit|exec|abort" ends that way instead, "reach MODE fork"
 * forks a child that returns at once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scanvictim.h"

/* The compiler forgets what p is, and cannot make the call before it a
 * tail call. */
#define OPAQUE(p) __asm__ volatile("" : "+r"(p))

#define SCRUB (64 << 10)
#ifdef SYS_pause
#define PAUSE_NR SYS_pause
#else
#define PAUSE_NR SYS_ppoll	/* what pause() calls there */
#endif
#define MAXTHREAD 4

struct node {
	struct node *next;
	char payload[40];
};

struct head {
	struct node *first;
	size_t n;
};

struct pair {
	struct pair *other;
	char payload[56];
};

struct outer {
	char *inner;
	char payload[56];
};

void *volatile lost_slot;
void *volatile list_slot;
char *volatile inner[5];
void *volatile held[100];
struct outer *volatile mixed_root;
void *volatile fences[16];
static int nfence;
static _Thread_local void *volatile tls_main;
static _Thread_local void *volatile tls_thread;
static pthread_key_t key;
static int reg_pipe[2];

/* The threads that block, and the system call each blocks in. */
static sem_t started;
static pid_t tids[MAXTHREAD];
static long calls[MAXTHREAD];
static int nthread;

NOINLINE static void
fence_alloc(void)
{
	fences[nfence++ % 16] = malloc(16);
}

/* Zero the stack below the caller, where dead frames keep copies. */
NOINLINE static void
scrub_stack(void)
{
	char pad[SCRUB];

	memset(pad, 0, sizeof(pad));
	__asm__ volatile("" : : "r"(pad) : "memory");
}

NOINLINE static void
lost_alloc(void)
{
	lost_slot = malloc(1000);
}

NOINLINE static void
lost_case(void)
{
	lost_alloc();
	fence_alloc();
	lost_slot = NULL;
}

NOINLINE static struct node *
list_node(struct node *next)
{
	struct node *n = malloc(sizeof(*n));

	n->next = next;
	memset(n->payload, 0, sizeof(n->payload));
	return n;
}

NOINLINE static void
list_head(void)
{
	struct head *h = malloc(sizeof(*h));

	h->first = NULL;
	h->n = 0;
	list_slot = h;
}

NOINLINE static void
list_case(void)
{
	struct head *h;
	int i;

	list_head();
	h = list_slot;
	for (i = 0; i < 10; i++) {
		h->first = list_node(h->first);
		h->n++;
	}
	list_slot = NULL;
}

NOINLINE static void
interior_alloc(void)
{
	int i;

	for (i = 0; i < 5; i++) {
		inner[i] = (char *)malloc(200) + 16;
		fence_alloc();
	}
}

NOINLINE static void
tls_main_alloc(void)
{
	tls_main = malloc(300);
}

NOINLINE static void
tls_thread_alloc(void)
{
	tls_thread = malloc(400);
}

NOINLINE static void
key_alloc(void)
{
	void *p = malloc(600);

	OPAQUE(p);
	pthread_setspecific(key, p);
}

NOINLINE static struct pair *
cycle_alloc(void)
{
	struct pair *p = malloc(sizeof(*p));

	OPAQUE(p);
	return p;
}

NOINLINE static void
cycle_case(void)
{
	struct pair *a = cycle_alloc(), *b = cycle_alloc();

	a->other = b;
	b->other = a;
}

void *small_held[2], *big_held[50];

NOINLINE static void *
globals_alloc(void)
{
	void *p = malloc(48);

	OPAQUE(p);
	return p;
}

static void
globals_case(void)
{
	int i;

	for (i = 0; i < 51; i++) {
		void *p = globals_alloc();

		if (i == 0)
			small_held[0] = p;
		else
			big_held[i - 1] = p;
	}
}

NOINLINE static void
array_alloc(void)
{
	int i;

	for (i = 0; i < 100; i++)
		held[i] = malloc(32);
}

NOINLINE static char *
mixed_inner(void)
{
	char *p = malloc(96);

	OPAQUE(p);
	return p;
}

NOINLINE static struct outer *
mixed_outer(void)
{
	struct outer *o = malloc(sizeof(*o));

	OPAQUE(o);
	return o;
}

NOINLINE static void
mixed_case(void)
{
	struct outer *o = mixed_outer();

	o->inner = mixed_inner() + 8;
	mixed_root = o;
}

/* Say which system call this thread is about to block in (for good: main
 * waits until it is there, and then it has nothing left on its stack). */
static void
started_blocking(long call)
{
	int i = __atomic_fetch_add(&nthread, 1, __ATOMIC_RELAXED);

	tids[i] = gettid();
	calls[i] = call;
	sem_post(&started);
}

/* What the threads that block in pause() allocate first. */
static void (*const pause_allocs[])(void) = { tls_thread_alloc, key_alloc };

static void *
pause_thread(void *arg)
{
	pause_allocs[(long)arg]();
	scrub_stack();
	started_blocking(PAUSE_NR);
	for (;;)
		pause();
	return NULL;
}

NOINLINE static char *
reg_alloc(void)
{
	char *p = malloc(500);

	OPAQUE(p);
	return p;
}

#ifdef __x86_64__
/*
 * read(2) into p, which then is only in %rsi: the red zone, where
 * malloc's frames left copies, is zeroed first, in the same asm, so that
 * none is left where the scan reads the thread's stack (from its sp less
 * the red zone, up).  Retried on EINTR (SA_RESTART restarts it without a
 * return).
 */
NOINLINE static void
block_in_read(int fd, char *p)
{
	long rc;

	do {
		__asm__ volatile("lea -128(%%rsp), %%r10\n\t"
				 "1: movq $0, (%%r10)\n\t"
				 "add $8, %%r10\n\t"
				 "cmp %%rsp, %%r10\n\t"
				 "jb 1b\n\t"
				 "mov $500, %%edx\n\t"
				 "syscall"
				 : "=a"(rc)
				 : "0"((long)SYS_read), "D"((long)fd), "S"(p)
				 : "rcx", "rdx", "r10", "r11", "cc", "memory");
	} while (rc == -EINTR);
}

/* Nothing between the block's allocation and the read but moves: the
 * pointer is never spilled to this frame. */
static void *
reg_thread(void *arg)
{
	int fd = reg_pipe[0];

	(void)arg;
	started_blocking(SYS_read);
	block_in_read(fd, reg_alloc());
	return NULL;
}
#endif

static void
start(void *(*fn)(void *), void *arg)
{
	pthread_t t;

	if (pthread_create(&t, NULL, fn, arg) != 0) {
		fprintf(stderr, "reach: pthread_create failed\n");
		exit(1);
	}
	sem_wait(&started);
}

/* Whether thread tid is blocked in system call nr, by its syscall file. */
static int
blocked_in(pid_t tid, long nr)
{
	char path[64], buf[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10) == nr && buf[0] != 'r';
}

/* Wait (5 s at most) until every thread started is blocked for good. */
static int
wait_blocked(void)
{
	struct timespec ms = { 0, 1000000 };
	int i, tries;

	for (i = 0; i < nthread; i++) {
		for (tries = 0; tries < 5000; tries++) {
			int b = blocked_in(tids[i], calls[i]);

			if (b < 0)
				return -1;
			if (b)
				break;
			nanosleep(&ms, NULL);
		}
		if (tries == 5000)
			return -1;
	}
	return 0;
}

/* Threads made and joined one after the other: glibc keeps the last
 * one's stack in its cache, and with it the thread-local storage's
 * vector (its DTV), which the next thread would take over. */
static void *
joined_thread(void *arg)
{
	return arg;
}

NOINLINE static int
joined_case(void)
{
	int i;

	for (i = 0; i < 3; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, joined_thread, NULL) != 0 ||
		    pthread_join(t, NULL) != 0)
			return 1;
	}
	return 0;
}

static int
run_case(const char *mode, int all)
{
	int any = 0;

#define CASE(name) (all || (strcmp(mode, name) == 0 && (any = 1)))
	if (CASE("lost"))
		lost_case();
	if (CASE("list"))
		list_case();
	if (CASE("interior"))
		interior_alloc();
	if (CASE("tls")) {
		tls_main_alloc();
		start(pause_thread, (void *)0L);
	}
	if (!all && strcmp(mode, "blocked") == 0) {
#ifdef __x86_64__
		sigset_t set;

		any = 1;
		sigfillset(&set);
		if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
		    pipe(reg_pipe) != 0)
			return 1;
		start(reg_thread, NULL);
		lost_case();
#else
		return 77;
#endif
	}
	if (CASE("register")) {
#ifdef __x86_64__
		if (pipe(reg_pipe) != 0)
			return 1;
		start(reg_thread, NULL);
#else
		if (!all)
			return 77;
#endif
	}
	if (CASE("key")) {
		if (pthread_key_create(&key, NULL) != 0)
			return 1;
		start(pause_thread, (void *)1L);
	}
	if (CASE("cycle"))
		cycle_case();
	if (CASE("array"))
		array_alloc();
	if (CASE("globals"))
		globals_case();
	if (CASE("mixed"))
		mixed_case();
	if (CASE("joined") && joined_case() != 0)
		return 1;
#undef CASE
	return all || any ? 0 : 2;
}

int
main(int argc, char **argv)
{
	int rc;

	if (argc != 2 && argc != 3)
		return 2;
	sem_init(&started, 0, 0);
	rc = run_case(argv[1], strcmp(argv[1], "all") == 0);
	if (rc != 0)
		return rc;
	if (wait_blocked() != 0) {
		fprintf(stderr, "reach: a thread did not block\n");
		return 1;
	}
	printf("reach %s: ready\n", argv[1]);
	fflush(stdout);
	scrub_stack();
	/* How it ends: the final snapshot's scan comes with each. */
	if (argc == 3 && strcmp(argv[2], "_exit") == 0)
		_exit(0);
	if (argc == 3 && strcmp(argv[2], "exec") == 0)
		execl("/bin/true", "true", (char *)NULL);
	if (argc == 3 && strcmp(argv[2], "abort") == 0)
		abort();
	if (argc == 3 && strcmp(argv[2], "fork") == 0) {
		/* The child ends at once: its blocked threads are gone, their
		 * stacks in glibc's cache. */
		pid_t pid = fork();
		int st;

		if (pid == 0) {
			scrub_stack();
			return 0;
		}
		return pid > 0 && waitpid(pid, &st, 0) == pid &&
		    WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
	}
	return argc == 3 ? 2 : 0;
}
