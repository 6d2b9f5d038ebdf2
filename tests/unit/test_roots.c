/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of preload/roots.c: the global ranges hold the program's
 * globals and a dlopened library's, never leakspy's own (roots_stub.c
 * stands in for libleakspy.so); a thread blocked in read(2) is stopped,
 * and its saved registers, stack, TLS and descriptor hold what it put
 * there; a thread that blocks every signal is reported not stopped
 * within the wait; resume lets the stopped thread go on; a process that
 * ends with threads stopped (and one not) ends at once; a stop taken from
 * a thread that is not the main one stops the main thread.
 *
 * argv[1]: the path of roots_dl.so.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lst.h"
#include "roots.h"
#include "roots_stub.h"

int lst_failures;

#define REG_MAGIC	0x1badc0de5eed1234ul
#define KEY_MAGIC	0x2badc0de5eed5678ul
#define MAX_RANGES	4096

long g_data = 5;
long g_bss;
static _Thread_local long tl_var;

static struct lsp_root ranges[MAX_RANGES];
static unsigned nranges;

static void
collect(void *ctx, const struct lsp_root *r)
{
	(void)ctx;
	if (nranges < MAX_RANGES)
		ranges[nranges++] = *r;
}

static void
take_ranges(void)
{
	nranges = 0;
	lsp_roots_globals(collect, NULL);
	lsp_roots_threads(collect, NULL);
}

/* Whether address a lies in a range of kind (-1: any) of thread tid
 * (-1: any). */
static bool
in_range(int kind, pid_t tid, const void *a)
{
	unsigned i;

	for (i = 0; i < nranges; i++)
		if ((kind < 0 || ranges[i].kind == kind) &&
		    (tid < 0 || ranges[i].tid == tid) &&
		    (uintptr_t)a >= ranges[i].lo && (uintptr_t)a < ranges[i].hi)
			return true;
	return false;
}

static bool
has_kind(int kind, pid_t tid)
{
	unsigned i;

	for (i = 0; i < nranges; i++)
		if (ranges[i].kind == kind && ranges[i].tid == tid)
			return true;
	return false;
}

/* Whether word w is stored in a range of kind of thread tid. */
static bool
holds_word(int kind, pid_t tid, uintptr_t w)
{
	unsigned i;

	for (i = 0; i < nranges; i++) {
		const uintptr_t *p;

		if (ranges[i].kind != kind || ranges[i].tid != tid)
			continue;
		for (p = (const uintptr_t *)ranges[i].lo;
		    p < (const uintptr_t *)ranges[i].hi; p++)
			if (*p == w)
				return true;
	}
	return false;
}

/* Every word of every range can be read (a fault ends the test). */
static void
read_all(void)
{
	volatile uintptr_t sum = 0;
	unsigned i;

	for (i = 0; i < nranges; i++) {
		const uintptr_t *p;

		LST_TRUE(ranges[i].lo % 8 == 0 && ranges[i].hi % 8 == 0);
		for (p = (const uintptr_t *)ranges[i].lo;
		    p < (const uintptr_t *)ranges[i].hi; p++)
			sum += *p;
	}
}

static int64_t
ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* read(2) of one byte with REG_MAGIC in two callee-saved registers. */
static long
read_holding(int fd, void *buf)
{
	register long r12 __asm__("r12") = (long)REG_MAGIC;
	register long r13 __asm__("r13") = (long)REG_MAGIC;
	long ret;

	__asm__ volatile("syscall"
	    : "=a"(ret)
	    : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(1L),
	      "r"(r12), "r"(r13)
	    : "rcx", "r11", "memory");
	return ret;
}

/* Wait until thread tid sleeps in the kernel. */
static void
until_sleeping(pid_t tid)
{
	char path[64], buf[256], *p;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "r");

		if (f != NULL) {
			size_t n = fread(buf, 1, sizeof(buf) - 1, f);

			fclose(f);
			buf[n] = '\0';
			p = strrchr(buf, ')');
			if (p != NULL && p[1] == ' ' && p[2] == 'S')
				return;
		}
		usleep(1000);
	}
}

struct victim {
	int fd[2];
	bool block_all;
	pthread_key_t key;
	volatile pid_t tid;
	const void *volatile local, *volatile tls, *volatile own_tls;
	long got;
	volatile bool unblocked;
};

static void *
victim_main(void *arg)
{
	struct victim *v = arg;
	volatile long local = 1;
	char c;

	if (v->block_all) {
		/* Every signal, glibc's SIGSETXID too, which the C
		 * library's calls would leave out (and the stop would
		 * use): the raw system call. */
		uint64_t all = ~(uint64_t)0;

		syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, NULL,
		    sizeof(all));
	}
	tl_var = 7;
	pthread_setspecific(v->key, (void *)KEY_MAGIC);
	v->local = (const void *)&local;
	v->tls = &tl_var;
	v->own_tls = ut_own_tls();
	__atomic_store_n(&v->tid, (pid_t)syscall(SYS_gettid),
	    __ATOMIC_RELEASE);
	v->got = read_holding(v->fd[0], &c);
	if (v->block_all) {
		uint64_t all = ~(uint64_t)0;

		/* The stop signal still queued comes now, after the stop
		 * gave up on this thread: its handler must return. */
		syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &all, NULL,
		    sizeof(all));
		v->unblocked = true;
	}
	return NULL;
}

static void
start(struct victim *v, pthread_t *th, bool block_all, pthread_key_t key)
{
	memset(v, 0, sizeof(*v));
	if (pipe(v->fd) != 0)
		exit(99);
	v->block_all = block_all;
	v->key = key;
	if (pthread_create(th, NULL, victim_main, v) != 0)
		exit(99);
	while (__atomic_load_n(&v->tid, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	until_sleeping(v->tid);
}

static void
test_globals(const char *dl_path)
{
	void *h = dlopen(dl_path, RTLD_NOW);
	long *dl_data, *dl_bss;

	LST_TRUE(h != NULL);
	if (h == NULL)
		return;
	dl_data = dlsym(h, "roots_dl_data");
	dl_bss = dlsym(h, "roots_dl_bss");
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	take_ranges();
	read_all();
	LST_TRUE(in_range(LSP_ROOT_GLOBAL, -1, &g_data));
	LST_TRUE(in_range(LSP_ROOT_GLOBAL, -1, &g_bss));
	LST_TRUE(in_range(LSP_ROOT_GLOBAL, -1, dl_data));
	LST_TRUE(in_range(LSP_ROOT_GLOBAL, -1, &dl_bss[3]));
	/* The library standing in for leakspy is no root at all. */
	LST_TRUE(!in_range(-1, -1, ut_own_data()));
	LST_TRUE(!in_range(-1, -1, ut_own_bss()));
	LST_EQ_U64(lsp_roots_incomplete(), 0);
	lsp_roots_resume();
	dlclose(h);
}

static void
test_threads(void)
{
	struct victim a, b;
	pthread_t ta, tb;
	pthread_key_t key;
	volatile long main_local = 3;
	pid_t tids[1], me = (pid_t)syscall(SYS_gettid);
	struct timespec until;
	int64_t t0, dt;

	tl_var = 11;
	pthread_key_create(&key, NULL);
	start(&a, &ta, false, key);
	start(&b, &tb, true, key);
	/* The registry knows b only: a is found in /proc/self/task. */
	tids[0] = b.tid;
	ut_set_tids(tids, 1);

	t0 = ms();
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	dt = ms() - t0;
	/* b never answers: the stop waits its time, no longer. */
	LST_TRUE(dt >= LSP_ROOTS_WAIT_MS - 5 && dt < LSP_ROOTS_WAIT_MS + 1000);
	LST_EQ_U64(lsp_roots_incomplete(), LSP_ROOTS_NOT_STOPPED);
	LST_EQ_U64(lsp_roots_not_stopped(), 1);
	LST_EQ_U64(lsp_roots_not_stopped_tid(0), b.tid);
	take_ranges();
	read_all();

	LST_TRUE(holds_word(LSP_ROOT_REGS, a.tid, REG_MAGIC));
	LST_TRUE(in_range(LSP_ROOT_STACK, a.tid, a.local));
	LST_TRUE(in_range(LSP_ROOT_TLS, a.tid, a.tls));
	LST_TRUE(!in_range(LSP_ROOT_TLS, a.tid, &tl_var));
	LST_TRUE(holds_word(LSP_ROOT_DESC, a.tid, KEY_MAGIC));
	/* The stand-in for leakspy's TLS is no root, on any thread. */
	LST_TRUE(!in_range(-1, -1, a.own_tls));
	LST_TRUE(!in_range(-1, -1, ut_own_tls()));
	LST_TRUE(in_range(LSP_ROOT_TLS, a.tid, (const char *)a.own_tls - 8) ||
	    in_range(LSP_ROOT_TLS, a.tid, (const char *)a.own_tls + 8));
	LST_TRUE(!in_range(-1, b.tid, a.local) && !in_range(-1, b.tid, b.tls));

	/* The caller: its TLS, its stack, the registers it spilled. */
	LST_TRUE(in_range(LSP_ROOT_TLS, me, &tl_var));
	LST_TRUE(in_range(LSP_ROOT_STACK, me, (const void *)&main_local));
	LST_TRUE(has_kind(LSP_ROOT_REGS, me));
	LST_TRUE(has_kind(LSP_ROOT_DESC, me));

	/* Resumed, a goes on: its read gets its byte. */
	lsp_roots_resume();
	LST_EQ_U64(write(a.fd[1], "x", 1), 1);
	pthread_join(ta, NULL);
	LST_EQ_U64(a.got, 1);
	LST_EQ_U64(write(b.fd[1], "x", 1), 1);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 3;
	LST_EQ_U64(pthread_timedjoin_np(tb, NULL, &until), 0);
	LST_EQ_U64(b.got, 1);
	LST_TRUE(b.unblocked);

	/* A stop needs a collect of its own. */
	LST_EQ_U64(lsp_roots_stop(), (uint64_t)-EINVAL);
	ut_set_tids(NULL, 0);
}

/* A thread inside its own signal handler on an alternate stack. */
#define ALT_SIZE	(64 << 10)

static int alt_fd[2];
static char *alt_stack;
static const void *volatile alt_local;
static volatile pid_t alt_tid;

static void
on_usr1(int sig)
{
	volatile long local = 2;
	char c;

	(void)sig;
	alt_local = (const void *)&local;
	__atomic_store_n(&alt_tid, (pid_t)syscall(SYS_gettid),
	    __ATOMIC_RELEASE);
	read_holding(alt_fd[0], &c);
}

static void *
alt_main(void *arg)
{
	stack_t ss = { .ss_sp = alt_stack, .ss_size = ALT_SIZE };

	(void)arg;
	sigaltstack(&ss, NULL);
	raise(SIGUSR1);
	return NULL;
}

static void
test_altstack(void)
{
	struct sigaction sa;
	pthread_t th;
	unsigned i, n = 0;

	alt_stack = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (alt_stack == MAP_FAILED || pipe(alt_fd) != 0)
		exit(99);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&th, NULL, alt_main, NULL);
	while (__atomic_load_n(&alt_tid, __ATOMIC_ACQUIRE) == 0)
		usleep(100);
	until_sleeping(alt_tid);
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	LST_EQ_U64(lsp_roots_not_stopped(), 0);
	take_ranges();
	LST_EQ_U64(lsp_roots_incomplete(), LSP_ROOTS_NO_STACK);
	LST_TRUE(in_range(LSP_ROOT_STACK, alt_tid, alt_local));
	LST_TRUE(holds_word(LSP_ROOT_REGS, alt_tid, REG_MAGIC));
	/* Only the alternate stack, nothing past it. */
	for (i = 0; i < nranges; i++) {
		if (ranges[i].kind != LSP_ROOT_STACK || ranges[i].tid != alt_tid)
			continue;
		n++;
		LST_TRUE(ranges[i].lo >= (uintptr_t)alt_stack);
		LST_TRUE(ranges[i].hi <= (uintptr_t)alt_stack + ALT_SIZE);
	}
	LST_EQ_U64(n, 1);
	lsp_roots_resume();
	LST_EQ_U64(write(alt_fd[1], "x", 1), 1);
	pthread_join(th, NULL);
}

/* Many threads, all stopped in one wait; each has its own ranges. */
#define MANY	100

static void
test_many(void)
{
	static struct victim v[MANY];
	static pthread_t th[MANY];
	pthread_key_t key;
	int64_t t0, dt;
	unsigned i, stacks = 0;

	pthread_key_create(&key, NULL);
	for (i = 0; i < MANY; i++)
		start(&v[i], &th[i], false, key);
	ut_set_tids(NULL, 0);
	t0 = ms();
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	dt = ms() - t0;
	LST_EQ_U64(lsp_roots_incomplete(), 0);
	LST_EQ_U64(lsp_roots_not_stopped(), 0);
	take_ranges();
	for (i = 0; i < MANY; i++) {
		stacks += in_range(LSP_ROOT_STACK, v[i].tid, v[i].local);
		LST_TRUE(in_range(LSP_ROOT_TLS, v[i].tid, v[i].tls));
	}
	LST_EQ_U64(stacks, MANY);
	fprintf(stderr, "test_roots: %d threads stopped in %" PRId64 " ms\n",
	    MANY, dt);
	LST_TRUE(dt < LSP_ROOTS_WAIT_MS);
	lsp_roots_resume();
	for (i = 0; i < MANY; i++) {
		LST_EQ_U64(write(v[i].fd[1], "x", 1), 1);
		pthread_join(th[i], NULL);
		LST_EQ_U64(v[i].got, 1);
		close(v[i].fd[0]);
		close(v[i].fd[1]);
	}
}

/* In a child: a stop from a thread that is not the main one, then exit
 * with the main thread stopped and another that never answered.  The
 * child's status: 0, or the number of failed checks (at most 100). */
static struct victim blocked;
static volatile long main_child_local;
static const void *volatile main_tls;

static void *
stopper_main(void *arg)
{
	pid_t main_tid = getpid();

	(void)arg;
	while (main_child_local == 0)
		usleep(100);
	until_sleeping(main_tid);
	LST_EQ_U64(lsp_roots_collect(), 0);
	LST_EQ_U64(lsp_roots_stop(), 0);
	take_ranges();
	read_all();
	LST_TRUE(in_range(LSP_ROOT_STACK, main_tid,
	    (const void *)main_child_local));
	LST_TRUE(in_range(LSP_ROOT_TLS, main_tid, main_tls));
	LST_TRUE(!in_range(LSP_ROOT_STACK, main_tid, main_tls));
	LST_TRUE(holds_word(LSP_ROOT_REGS, main_tid, REG_MAGIC));
	LST_TRUE(holds_word(LSP_ROOT_DESC, main_tid, KEY_MAGIC));
	LST_EQ_U64(lsp_roots_not_stopped(), 1);
	/* The end, stopped threads and all. */
	exit(lst_failures > 100 ? 100 : lst_failures);
}

static void
child(void)
{
	volatile long local = 9;
	pthread_key_t key;
	pthread_t tb, ts;
	pid_t tids[1];
	int fd[2];
	char c;

	lst_failures = 0;	/* the parent's are the parent's to count */
	(void)local;
	pthread_key_create(&key, NULL);
	pthread_setspecific(key, (void *)KEY_MAGIC);
	tl_var = 13;
	main_tls = &tl_var;
	start(&blocked, &tb, true, key);
	tids[0] = blocked.tid;
	ut_set_tids(tids, 1);
	if (pipe(fd) != 0)
		_exit(99);
	if (pthread_create(&ts, NULL, stopper_main, NULL) != 0)
		_exit(99);
	/* main_child_local's address is on main's stack from here. */
	{
		volatile long here = 1;

		main_child_local = (long)&here;
		read_holding(fd[0], &c);
	}
	_exit(98);	/* the read never returns */
}

static void
test_exit_stopped(void)
{
	int64_t t0 = ms();
	int status = 0;
	pid_t pid = fork();

	if (pid == 0)
		child();
	while (waitpid(pid, &status, WNOHANG) == 0 && ms() - t0 < 5000)
		usleep(1000);
	if (ms() - t0 >= 5000) {
		LST_FAIL("the child did not end within 5 s");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return;
	}
	LST_TRUE(WIFEXITED(status));
	LST_EQ_U64(WEXITSTATUS(status), 0);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: test_roots roots_dl.so\n");
		return 99;
	}
	lsp_roots_init(NULL);
	test_globals(argv[1]);
	test_threads();
	test_many();
	test_altstack();
	test_exit_stopped();
	return LST_DONE();
}
