/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the stop signal borrowed from the program (preload/
 * signals.c and roots.c in roots_stub.c's library, whose sigaction and
 * signal the test's calls bind to): after a stop every real-time signal
 * reads SIG_DFL through sigaction, while the kernel has leakspy's handler
 * on the highest; a handler the program sets there runs, it reads back
 * SIG_DFL as the old one, and the next stop takes the next signal and
 * stops every thread; SIG_IGN and SIG_DFL set on a lent signal read back
 * as on a signal leakspy never touched, and SIG_DFL ends the process
 * again; the lent signal sent by kill, raise or sigqueue ends the
 * process as SIG_DFL would; the snapshot signal, watched, is never lent;
 * a program taking the signal back while stops run never meets a
 * stop signal sent before (in a child, which would die of it).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lst.h"
#include "lsp.h"
#include "roots.h"
#include "roots_stub.h"

int lst_failures;

#ifndef SA_RESTORER
#define SA_RESTORER	0x04000000
#endif

/* The kernel's struct sigaction for rt_sigaction(2). */
struct kact {
	void *handler;
	unsigned long flags;
	void *restorer;
	unsigned long mask;
};

/* The handler the kernel has for sig, behind every interposer. */
static void *
kernel_handler(int sig)
{
	struct kact k;

	memset(&k, 0, sizeof(k));
	if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof(k.mask)) != 0)
		return (void *)-1;
	return k.handler;
}

/* A thread blocked in read(2) of a pipe until it gets a byte. */
struct victim {
	int fd[2];
	pthread_t th;
	volatile pid_t tid;
};

static void *
victim_main(void *arg)
{
	struct victim *v = arg;
	char c;

	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid),
	    __ATOMIC_RELEASE);
	while (read(v->fd[0], &c, 1) < 0 && errno == EINTR)
		continue;
	return NULL;
}

static void
start(struct victim *v)
{
	memset(v, 0, sizeof(*v));
	if (pipe(v->fd) != 0 ||
	    pthread_create(&v->th, NULL, victim_main, v) != 0)
		_exit(99);
	while (__atomic_load_n(&v->tid, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	usleep(2000);
}

static void
finish(struct victim *v)
{
	if (write(v->fd[1], "x", 1) != 1)
		_exit(99);
	pthread_join(v->th, NULL);
	close(v->fd[0]);
	close(v->fd[1]);
}

/* A stop of every thread, checked, then resumed. */
static void
stop_all(void)
{
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	LST_EQ_U64(lsp_roots_not_stopped(), 0);
	LST_EQ_U64(lsp_roots_incomplete(), 0);
	lsp_roots_resume();
}

/* What sigaction reads for sig is the default no one ever set. */
static void
reads_untouched(int sig)
{
	struct sigaction old;

	memset(&old, 0xa5, sizeof(old));
	LST_EQ_U64(sigaction(sig, NULL, &old), 0);
	LST_EQ_U64((uintptr_t)old.sa_handler, (uintptr_t)SIG_DFL);
	LST_EQ_U64(old.sa_flags, 0);
	LST_EQ_U64(sigisemptyset(&old.sa_mask), 1);
	LST_EQ_U64((uintptr_t)old.sa_restorer, 0);
}

/* Every field a program reads is the same for signals a and b, and
 * their masks differ in a and b only. */
static void
reads_alike(int a, int b)
{
	struct sigaction x, y;
	int s;

	memset(&x, 0xa5, sizeof(x));
	memset(&y, 0x5a, sizeof(y));
	LST_EQ_U64(sigaction(a, NULL, &x), 0);
	LST_EQ_U64(sigaction(b, NULL, &y), 0);
	LST_EQ_U64((uintptr_t)x.sa_handler, (uintptr_t)y.sa_handler);
	LST_EQ_U64(x.sa_flags, y.sa_flags);
	LST_EQ_U64((uintptr_t)x.sa_restorer, (uintptr_t)y.sa_restorer);
	for (s = 1; s < _NSIG; s++)
		if (s != a && s != b)
			LST_EQ_U64(sigismember(&x.sa_mask, s),
			    sigismember(&y.sa_mask, s));
	LST_EQ_U64(sigismember(&x.sa_mask, a), sigismember(&y.sa_mask, b));
}

static volatile sig_atomic_t prog_hits, prog_sig;

static void
on_prog(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	prog_hits++;
	prog_sig = sig;
}

static void
on_prog_plain(int sig)
{
	prog_hits += 10;
	prog_sig = sig;
}

static void
test_hidden(void)
{
	int sig;

	stop_all();
	/* The kernel has the stop's handler on the highest signal only:
	 * what follows reads through the interposer. */
	LST_TRUE(kernel_handler(SIGRTMAX) != NULL);
	LST_TRUE(kernel_handler(SIGRTMAX) != (void *)-1);
	for (sig = SIGRTMIN; sig < SIGRTMAX; sig++)
		LST_EQ_U64((uintptr_t)kernel_handler(sig), 0);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		reads_untouched(sig);
	/* A second stop keeps the signal it has. */
	stop_all();
	for (sig = SIGRTMIN; sig < SIGRTMAX; sig++)
		LST_EQ_U64((uintptr_t)kernel_handler(sig), 0);
	reads_untouched(SIGRTMAX);
}

/* The program's act: a handler, SA_RESTART, SIGUSR2 and sig masked. */
static void
prog_act(struct sigaction *sa, int sig, bool info)
{
	memset(sa, 0, sizeof(*sa));
	if (info)
		sa->sa_sigaction = on_prog;
	else
		sa->sa_handler = on_prog_plain;
	sa->sa_flags = SA_RESTART | (info ? SA_SIGINFO : 0);
	sigemptyset(&sa->sa_mask);
	sigaddset(&sa->sa_mask, SIGUSR2);
	sigaddset(&sa->sa_mask, sig);
}

static void
test_taken(void)
{
	const int lent = SIGRTMAX, next = SIGRTMAX - 1, ctl = SIGRTMIN;
	void *stop_fn = kernel_handler(lent);
	struct sigaction sa, old;

	/* sigaction on the lent signal: the old one is SIG_DFL. */
	prog_act(&sa, lent, true);
	memset(&old, 0xa5, sizeof(old));
	LST_EQ_U64(sigaction(lent, &sa, &old), 0);
	LST_EQ_U64((uintptr_t)old.sa_handler, (uintptr_t)SIG_DFL);
	LST_EQ_U64(old.sa_flags, 0);
	LST_EQ_U64(sigisemptyset(&old.sa_mask), 1);
	LST_EQ_U64((uintptr_t)old.sa_restorer, 0);
	LST_EQ_U64((uintptr_t)kernel_handler(lent), (uintptr_t)on_prog);
	prog_hits = 0;
	LST_EQ_U64(raise(lent), 0);
	LST_EQ_U64(prog_hits, 1);
	LST_EQ_U64(prog_sig, lent);
	prog_act(&sa, ctl, true);
	LST_EQ_U64(sigaction(ctl, &sa, NULL), 0);
	reads_alike(lent, ctl);
	LST_EQ_U64(old.sa_flags, 0);

	/* The next stop takes the next signal, and stops every thread. */
	stop_all();
	LST_EQ_U64((uintptr_t)kernel_handler(lent), (uintptr_t)on_prog);
	LST_EQ_U64((uintptr_t)kernel_handler(next), (uintptr_t)stop_fn);
	reads_untouched(next);

	/* signal() on it: the old one is SIG_DFL, the handler runs. */
	LST_EQ_U64((uintptr_t)signal(next, on_prog_plain), (uintptr_t)SIG_DFL);
	LST_EQ_U64((uintptr_t)kernel_handler(next), (uintptr_t)on_prog_plain);
	prog_hits = 0;
	LST_EQ_U64(raise(next), 0);
	LST_EQ_U64(prog_hits, 10);
	LST_EQ_U64(prog_sig, next);
	LST_EQ_U64((uintptr_t)signal(ctl + 1, on_prog_plain),
	    (uintptr_t)SIG_DFL);
	reads_alike(next, ctl + 1);

	stop_all();
	LST_EQ_U64((uintptr_t)kernel_handler(next - 1), (uintptr_t)stop_fn);
	LST_EQ_U64((uintptr_t)kernel_handler(next), (uintptr_t)on_prog_plain);
	reads_untouched(next - 1);
}

/* sig's default ends a child that raises it. */
static void
dies_of(int sig)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		raise(sig);
		_exit(0);
	}
	LST_EQ_U64(waitpid(pid, &status, 0), pid);
	LST_TRUE(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		LST_EQ_U64(WTERMSIG(status), sig);
}

static void
test_ign_dfl(void)
{
	const int lent = SIGRTMAX - 2, ctl = SIGRTMIN + 2;
	void *stop_fn = kernel_handler(lent);
	struct sigaction ign, dfl, old;
	int sig;

	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	ign.sa_flags = SA_RESTART;
	sigemptyset(&ign.sa_mask);
	sigaddset(&ign.sa_mask, SIGUSR2);
	memset(&old, 0xa5, sizeof(old));
	LST_EQ_U64(sigaction(lent, &ign, &old), 0);
	LST_EQ_U64((uintptr_t)old.sa_handler, (uintptr_t)SIG_DFL);
	LST_EQ_U64(old.sa_flags, 0);
	LST_EQ_U64(sigisemptyset(&old.sa_mask), 1);
	LST_EQ_U64(sigaction(ctl, &ign, NULL), 0);
	memset(&old, 0xa5, sizeof(old));
	LST_EQ_U64(sigaction(lent, NULL, &old), 0);
	LST_EQ_U64((uintptr_t)old.sa_handler, (uintptr_t)SIG_IGN);
	LST_EQ_U64(old.sa_flags & ~SA_RESTORER, SA_RESTART);
	LST_EQ_U64(sigismember(&old.sa_mask, SIGUSR2), 1);
	reads_alike(lent, ctl);
	LST_EQ_U64((uintptr_t)kernel_handler(lent), (uintptr_t)SIG_IGN);
	LST_EQ_U64(raise(lent), 0);	/* ignored: this process goes on */

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	LST_EQ_U64(sigaction(lent, &dfl, NULL), 0);
	LST_EQ_U64(sigaction(ctl, &dfl, NULL), 0);
	memset(&old, 0xa5, sizeof(old));
	LST_EQ_U64(sigaction(lent, NULL, &old), 0);
	LST_EQ_U64((uintptr_t)old.sa_handler, (uintptr_t)SIG_DFL);
	LST_EQ_U64(old.sa_flags & ~SA_RESTORER, 0);
	LST_EQ_U64(sigisemptyset(&old.sa_mask), 1);
	reads_alike(lent, ctl);
	LST_EQ_U64((uintptr_t)kernel_handler(lent), 0);
	dies_of(lent);

	/* Left at SIG_DFL, it is free again: the next stop borrows it, and
	 * the program reads what it set, restorer and all. */
	stop_all();
	LST_EQ_U64((uintptr_t)kernel_handler(lent), (uintptr_t)stop_fn);
	reads_alike(lent, ctl);
	for (sig = SIGRTMIN + 3; sig < lent; sig++)
		LST_EQ_U64((uintptr_t)kernel_handler(sig), 0);
}

/*
 * In a child, stops over and over while a thread takes each signal back
 * (SIG_DFL) as soon as the kernel shows it lent: a stop signal the stop
 * sent that met the program's SIG_DFL would end the child.  The child's
 * status: the number of failed checks (at most 100).
 */
#define RACE_VICTIMS	8
#define RACE_ROUNDS	60

static volatile bool race_over;
static volatile unsigned race_taken, race_bad_old;

static void *
taker_main(void *arg)
{
	struct sigaction dfl, old;
	int sig;

	(void)arg;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	while (!race_over)
		for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
			void *h = kernel_handler(sig);

			if (h == NULL || h == (void *)-1)
				continue;
			if (sigaction(sig, &dfl, &old) != 0 ||
			    old.sa_handler != SIG_DFL)
				race_bad_old++;
			race_taken++;
		}
	return NULL;
}

static void
race_child(void)
{
	struct victim v[RACE_VICTIMS];
	pthread_t taker;
	unsigned i;

	lst_failures = 0;
	for (i = 0; i < RACE_VICTIMS; i++)
		start(&v[i]);
	if (pthread_create(&taker, NULL, taker_main, NULL) != 0)
		_exit(99);
	for (i = 0; i < RACE_ROUNDS; i++) {
		stop_all();
		usleep(200);
	}
	race_over = true;
	pthread_join(taker, NULL);
	for (i = 0; i < RACE_VICTIMS; i++)
		finish(&v[i]);
	LST_TRUE(race_taken > 0);
	LST_EQ_U64(race_bad_old, 0);
	fprintf(stderr, "test_borrow: %u signals taken back in %d stops\n",
	    race_taken, RACE_ROUNDS);
	_exit(lst_failures > 100 ? 100 : lst_failures);
}

static void
test_race(void)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		race_child();
	LST_EQ_U64(waitpid(pid, &status, 0), pid);
	LST_TRUE(WIFEXITED(status));
	if (WIFSIGNALED(status))
		LST_FAIL("the child died of signal %d", WTERMSIG(status));
	else
		LST_EQ_U64(WEXITSTATUS(status), 0);
}

/* In a child: the snapshot signal on SIGRTMAX is watched, so the stop
 * borrows the one below; the program reads SIG_DFL on both. */
static void
test_watched(void)
{
	struct victim v;
	int status = 0;
	pid_t pid = fork();
	void *snap_fn;

	if (pid == 0) {
		lst_failures = 0;
		lsp_signals_init(SIGRTMAX, NULL);
		snap_fn = kernel_handler(SIGRTMAX);
		LST_TRUE(snap_fn != NULL && snap_fn != (void *)-1);
		start(&v);
		stop_all();
		LST_EQ_U64((uintptr_t)kernel_handler(SIGRTMAX),
		    (uintptr_t)snap_fn);
		LST_TRUE(kernel_handler(SIGRTMAX - 1) != NULL);
		LST_TRUE(kernel_handler(SIGRTMAX - 1) != snap_fn);
		reads_untouched(SIGRTMAX - 1);
		reads_untouched(SIGRTMAX);
		finish(&v);
		_exit(lst_failures > 100 ? 100 : lst_failures);
	}
	LST_EQ_U64(waitpid(pid, &status, 0), pid);
	LST_TRUE(WIFEXITED(status));
	LST_EQ_U64(WEXITSTATUS(status), 0);
}

/* In a child: after a stop, the lent signal sent as kill (how 0),
 * raise (1) or sigqueue (2) by the program ends it, as its SIG_DFL
 * would; the stop's own do not. */
static void
test_fate(int how)
{
	union sigval val = { .sival_int = 7 };
	struct victim v;
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		lst_failures = 0;
		start(&v);
		stop_all();
		stop_all();
		if (lst_failures != 0)
			_exit(1);
		if (how == 0)
			kill(getpid(), SIGRTMAX);
		else if (how == 1)
			raise(SIGRTMAX);
		else
			sigqueue(getpid(), SIGRTMAX, val);
		usleep(100000);
		_exit(2);
	}
	LST_EQ_U64(waitpid(pid, &status, 0), pid);
	LST_TRUE(WIFSIGNALED(status));
	if (WIFSIGNALED(status))
		LST_EQ_U64(WTERMSIG(status), SIGRTMAX);
	else
		LST_FAIL("how %d: the child exited with %d", how,
		    WEXITSTATUS(status));
}

int
main(void)
{
	struct victim v;

	lsp_roots_init(NULL);
	test_race();
	test_watched();
	test_fate(0);
	test_fate(1);
	test_fate(2);
	start(&v);
	test_hidden();
	test_taken();
	test_ign_dfl();
	finish(&v);
	return LST_DONE();
}
