/* SPDX-License-Identifier: MIT */
/*
 * threadlife: threads that end every way, each allocating a known block
 * under its own name, kept to the end.
 *
 *   name       created by           ends                 fate
 *   joiner     spawn_joined         return               joined
 *   detacher   spawn_detached       return               pthread_detach
 *   attrdet    spawn_attr_detached  pthread_exit         detached by attr
 *   forgotten  spawn_unjoined       pthread_exit         never joined
 *   victim     spawn_cancelled      cancelled            joined
 *   lingerer   spawn_runner         still running        never joined
 *
 * Each thread X allocates (index+1) * 1000 bytes in X_main; main
 * allocates 700 bytes in main_alloc.  Between starting them and ending
 * them, main sleeps 0.5 s so that a periodic snapshot sees them running
 * (the detached ones wait for it).
 *
 * "threadlife burst N" instead creates and joins N threads, each of which
 * allocates and frees 16 bytes, and prints its VmRSS in kB.  "threadlife
 * churn N" creates N such threads, up to 200 alive at once: half of them
 * detached by attribute, a quarter cancelled then joined, a quarter
 * joined; then it waits for the detached ones to end and prints VmRSS.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *volatile kept[8];
static sem_t named, ready, go;	/* go: detached ones may end */
static volatile pid_t tids[8];

static void
keep(int i, size_t n)
{
	kept[i] = malloc(n);
	memset(kept[i], i, n);
}

static void
note_tid(int i)
{
	tids[i] = (pid_t)syscall(SYS_gettid);
}

static void *
joined_main(void *a)
{
	(void)a;
	pthread_setname_np(pthread_self(), "joiner");
	keep(0, 1000);
	return NULL;
}

static void *
detached_main(void *a)
{
	(void)a;
	sem_wait(&named);	/* the creator names this thread */
	note_tid(1);
	keep(1, 2000);
	sem_wait(&go);
	return NULL;
}

static void *
attr_main(void *a)
{
	(void)a;
	prctl(PR_SET_NAME, "attrdet", 0, 0, 0);
	note_tid(2);
	keep(2, 3000);
	sem_wait(&go);
	pthread_exit(NULL);
}

static void *
unjoined_main(void *a)
{
	(void)a;
	pthread_setname_np(pthread_self(), "forgotten");
	note_tid(3);
	keep(3, 4000);
	pthread_exit(NULL);
}

static void *
cancelled_main(void *a)
{
	(void)a;
	pthread_setname_np(pthread_self(), "victim");
	keep(4, 5000);
	sem_post(&ready);
	for (;;)
		pause();	/* a cancellation point */
	return NULL;
}

static void *
runner_main(void *a)
{
	(void)a;
	pthread_setname_np(pthread_self(), "lingerer");
	keep(5, 6000);
	sem_post(&ready);
	for (;;)
		pause();
	return NULL;
}

static __attribute__((noinline)) pthread_t
spawn_joined(void)
{
	pthread_t t;

	pthread_create(&t, NULL, joined_main, NULL);
	return t;
}

static __attribute__((noinline)) void
spawn_detached(void)
{
	pthread_t t;

	pthread_create(&t, NULL, detached_main, NULL);
	pthread_setname_np(t, "detacher");
	sem_post(&named);
	pthread_detach(t);
}

static __attribute__((noinline)) void
spawn_attr_detached(void)
{
	pthread_attr_t attr;
	pthread_t t;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &attr, attr_main, NULL);
	pthread_attr_destroy(&attr);
}

static __attribute__((noinline)) void
spawn_unjoined(void)
{
	pthread_t t;

	pthread_create(&t, NULL, unjoined_main, NULL);
}

static __attribute__((noinline)) pthread_t
spawn_cancelled(void)
{
	pthread_t t;

	pthread_create(&t, NULL, cancelled_main, NULL);
	return t;
}

static __attribute__((noinline)) void
spawn_runner(void)
{
	pthread_t t;

	pthread_create(&t, NULL, runner_main, NULL);
}

/* exiter: ends the process with exit() once the lingerer runs, while
 * main waits in pause(). */
static void *
exiter_main(void *a)
{
	(void)a;
	pthread_setname_np(pthread_self(), "exiter");
	sem_wait(&ready);
	printf("ok\n");
	exit(0);
}

static __attribute__((noinline)) void
spawn_exiter(void)
{
	pthread_t t;

	pthread_create(&t, NULL, exiter_main, NULL);
}

static __attribute__((noinline)) void
main_alloc(void)
{
	keep(6, 700);
	__asm__ volatile("" ::: "memory");	/* not a tail call */
}

/* Wait until thread i has started and its task is gone. */
static void
wait_gone(int i)
{
	char path[64];
	struct stat st;
	int n;

	for (n = 0; n < 5000 && tids[i] == 0; n++)
		usleep(1000);
	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tids[i]);
	for (n = 0; n < 5000 && stat(path, &st) == 0; n++)
		usleep(1000);
}

static void *
burst_main(void *a)
{
	void *volatile p = malloc(16);

	free(p);
	return a;
}

static int detached_done;

/* a: 0 joined, 1 cancelled, 2 detached. */
static void *
churn_main(void *a)
{
	void *volatile p = malloc(16);

	free(p);
	if (a == (void *)1)
		for (;;)
			pause();	/* until cancelled */
	if (a == (void *)2)
		__atomic_fetch_add(&detached_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static int
churn(int n)
{
	pthread_attr_t det;
	pthread_t alive[200];
	int i, k = 0, ndet = 0, tries;

	pthread_attr_init(&det);
	pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < n; i++) {
		pthread_t t;

		if (i % 2 == 0) {
			if (pthread_create(&t, &det, churn_main, (void *)2) != 0)
				return 1;
			ndet++;
			continue;
		}
		if (pthread_create(&alive[k++], NULL, churn_main,
		    i % 4 == 1 ? (void *)1 : NULL) != 0)
			return 1;
		if (k == 200 || i + 2 >= n) {
			while (k > 0) {
				pthread_t t2 = alive[--k];

				pthread_cancel(t2);	/* ended ones: no-op */
				if (pthread_join(t2, NULL) != 0)
					return 1;
			}
		}
	}
	for (tries = 0; tries < 10000 &&
	    __atomic_load_n(&detached_done, __ATOMIC_RELAXED) < ndet; tries++)
		usleep(1000);
	return 0;
}

static long
vm_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0)
			kb = atol(line + 6);
	if (f != NULL)
		fclose(f);
	return kb;
}

int
main(int argc, char **argv)
{
	pthread_t joined, cancelled;

	if (argc == 3 && strcmp(argv[1], "churn") == 0) {
		if (churn(atoi(argv[2])) != 0)
			return 1;
		usleep(100000);		/* the last detached ones finish */
		printf("%ld\n", vm_rss_kb());
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "burst") == 0) {
		int i, n = atoi(argv[2]);

		for (i = 0; i < n; i++) {
			pthread_t t;

			if (pthread_create(&t, NULL, burst_main, NULL) != 0 ||
			    pthread_join(t, NULL) != 0)
				return 1;
		}
		printf("%ld\n", vm_rss_kb());
		return 0;
	}
	sem_init(&named, 0, 0);
	sem_init(&ready, 0, 0);
	sem_init(&go, 0, 0);
	if (argc == 2 && strcmp(argv[1], "exiter") == 0) {
		spawn_runner();
		spawn_exiter();
		for (;;)
			pause();
	}
	main_alloc();
	joined = spawn_joined();
	spawn_detached();
	spawn_attr_detached();
	spawn_unjoined();
	cancelled = spawn_cancelled();
	spawn_runner();
	sem_wait(&ready);
	sem_wait(&ready);
	usleep(500000);

	sem_post(&go);
	sem_post(&go);
	pthread_join(joined, NULL);
	pthread_cancel(cancelled);
	pthread_join(cancelled, NULL);
	wait_gone(1);
	wait_gone(2);
	wait_gone(3);
	printf("ok\n");
	return 0;
}
