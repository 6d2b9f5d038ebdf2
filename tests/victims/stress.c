/* SPDX-License-Identifier: MIT */
/*
 * Hazards for the shim, one per mode (usage: stress MODE):
 *   signal  a 200 us interval timer whose handler mallocs and frees while
 *           main allocates, 200000 iterations (glibc tolerates it when
 *           the handler does not interrupt malloc itself: it uses a
 *           separate thread arena; the shim must not deadlock either)
 *   exit    8 threads allocate and free while main calls exit(0)
 *   fork    4 threads allocate while main forks 100 children that
 *           allocate and _exit; every child must finish
 *   fsize   sets RLIMIT_FSIZE to 64 bytes (less than any dump), then
 *           allocates and exits 0: the shim's writes must fail quietly
 *   readonly  makes every *.lsd file in its directory read-only (mode
 *           0400), keeps 1000 bytes (at_limit) and exits 0: run as a user
 *           other than root, its final snapshot cannot be written
 *   nofile  sets RLIMIT_NOFILE's soft limit to 3, so that no descriptor
 *           is left, keeps 1000 bytes (at_limit) and exits 0
 *   chroot DIR  chroots to DIR (root only), allocates and exits 0
 *   spawn   8 threads allocate while main runs /bin/true 500 times with
 *           posix_spawn and makes 500 vfork children that _exit
 *   seccomp prctl|syscall [rlimits|sshd|wait]
 *           keeps 4 blocks of 1000 bytes (before_sandbox), then enters a
 *           sandbox stricter than OpenSSH's pre-authentication child's:
 *           with "rlimits", first FSIZE, NOFILE and NPROC at 0; with
 *           "sshd", FSIZE and NPROC at 0 and NOFILE at 1, as OpenSSH's
 *           child sets them; then a seccomp filter, installed through
 *           prctl() or (for all threads) through syscall() as libseccomp
 *           does, which fails the fstats with EACCES, allows what this
 *           program needs and kills the whole process on anything else,
 *           open and openat included; then keeps 3 blocks of 2000 bytes
 *           (in_sandbox), sleeps 0.3 s and exits 0; with "wait", no
 *           rlimits, and it prints "ready" in the sandbox and sleeps 2 s
 *   sigwait a thread takes SIGUSR1 and SIGTERM with sigwaitinfo, as
 *           services do; every other thread blocks them.  Main sends
 *           itself SIGUSR1 2000 times, each once the last was taken,
 *           then SIGTERM; all must reach the waiting thread (a thread
 *           that left them unblocked would take one and die of it)
 * Prints "ok" when it completes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <glob.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void *volatile handler_block;
static long handler_calls;

static void
on_alarm(int signo)
{
	(void)signo;
	/* Handler allocations race with the interrupted code on purpose. */
	free(handler_block);
	handler_block = malloc(48);
	handler_calls++;
}

static int
mode_signal(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 200 }, { 0, 200 } };
	long i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 200000; i++) {
		sigset_t block, old;
		void *p;

		/* The program keeps its own malloc safe from the handler. */
		sigemptyset(&block);
		sigaddset(&block, SIGALRM);
		sigprocmask(SIG_BLOCK, &block, &old);
		p = malloc((size_t)(i % 200) + 1);
		free(p);
		sigprocmask(SIG_SETMASK, &old, NULL);
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return handler_calls >= 0 ? 0 : 1;
}

static void *
churn(void *arg)
{
	void *ring[64] = { 0 };
	unsigned i = 0;

	(void)arg;
	while (!stop) {
		free(ring[i % 64]);
		ring[i % 64] = malloc(16 + i % 1000);
		i++;
	}
	return NULL;
}

static int
mode_exit(void)
{
	pthread_t t;
	int i;

	for (i = 0; i < 8; i++)
		pthread_create(&t, NULL, churn, NULL);
	usleep(20000);
	printf("ok\n");
	fflush(stdout);
	exit(0);
}

static int
mode_fork(void)
{
	pthread_t t[4];
	int i, bad = 0;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (i = 0; i < 100; i++) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			void *p = malloc(100);

			free(p);
			p = malloc(200);
			_exit(p != NULL ? 0 : 1);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	stop = 1;
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return bad;
}

extern char **environ;

/* A vfork child that exits at once; true if it did, with status 3. */
static __attribute__((noinline)) int
vfork_exit3(void)
{
	int status;
	pid_t pid = vfork();

	if (pid == 0)
		_exit(3);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	    WIFEXITED(status) && WEXITSTATUS(status) == 3;
}

static int
mode_spawn(void)
{
	char *argv[] = { "true", NULL };
	pthread_t t[8];
	int i, bad = 0, status;
	pid_t pid;

	for (i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (i = 0; i < 500; i++) {
		if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv,
		    environ) != 0 || waitpid(pid, &status, 0) != pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
		bad += !vfork_exit3();
	}
	stop = 1;
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	return bad;
}

static unsigned usr1_taken;

static void *
sig_waiter(void *arg)
{
	sigset_t *set = arg;
	siginfo_t si;

	for (;;) {
		if (sigwaitinfo(set, &si) < 0)
			continue;
		if (si.si_signo == SIGTERM)
			return NULL;
		__atomic_fetch_add(&usr1_taken, 1, __ATOMIC_RELEASE);
	}
}

static int
mode_sigwait(void)
{
	sigset_t set;
	pthread_t t;
	unsigned i;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_create(&t, NULL, sig_waiter, &set);
	for (i = 0; i < 2000; i++) {
		void *volatile p = malloc(100 + i);

		kill(getpid(), SIGUSR1);
		while (__atomic_load_n(&usr1_taken, __ATOMIC_ACQUIRE) == i)
			sched_yield();
		free(p);
	}
	kill(getpid(), SIGTERM);
	pthread_join(t, NULL);
	return usr1_taken == 2000 ? 0 : 1;
}

static void *volatile kept[8];

static __attribute__((noinline)) void
before_sandbox(void)
{
	int i;

	for (i = 0; i < 4; i++)
		kept[i] = malloc(1000);
}

static __attribute__((noinline)) void
in_sandbox(void)
{
	int i;

	for (i = 0; i < 3; i++)
		kept[4 + i] = malloc(2000);
}

static __attribute__((noinline)) void
at_limit(void)
{
	kept[7] = malloc(1000);
}

#define ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)
#define DENY(nr, e) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e))

static int
mode_seccomp(const char *how, const char *limits)
{
	static const struct rlimit zero = { 0, 0 }, one = { 1, 1 };
	bool wait = limits != NULL && strcmp(limits, "wait") == 0;
	bool rlimits = limits != NULL && !wait;
	bool sshd = rlimits && strcmp(limits, "sshd") == 0;
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		DENY(__NR_fstat, EACCES),
		DENY(__NR_newfstatat, EACCES),
		ALLOW(__NR_brk),
		ALLOW(__NR_mmap),
		ALLOW(__NR_munmap),
		ALLOW(__NR_mremap),
		ALLOW(__NR_madvise),
		ALLOW(__NR_futex),
		ALLOW(__NR_clock_gettime),
		ALLOW(__NR_clock_nanosleep),
		ALLOW(__NR_nanosleep),
		ALLOW(__NR_rt_sigprocmask),
		ALLOW(__NR_rt_sigreturn),
		ALLOW(__NR_restart_syscall),
		ALLOW(__NR_read),
		ALLOW(__NR_write),
		ALLOW(__NR_close),
		ALLOW(__NR_exit),
		ALLOW(__NR_exit_group),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	};
	struct sock_fprog prog = {
		.len = sizeof(insns) / sizeof(insns[0]),
		.filter = insns,
	};
	struct timespec ts = { 0, 300000000 };
	int r;

	before_sandbox();
	if (rlimits && (setrlimit(RLIMIT_FSIZE, &zero) != 0 ||
	    setrlimit(RLIMIT_NOFILE, sshd ? &one : &zero) != 0 ||
	    setrlimit(RLIMIT_NPROC, &zero) != 0))
		return 1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return 1;
	if (strcmp(how, "prctl") == 0)
		r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0);
	else
		r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog);
	if (r != 0)
		return 1;
	in_sandbox();
	if (wait) {
		(void)!write(1, "ready\n", 6);
		ts.tv_sec = 2;
		ts.tv_nsec = 0;
	}
	nanosleep(&ts, NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	int r;

	if (argc < 2)
		return 2;
	if (strcmp(argv[1], "signal") == 0)
		r = mode_signal();
	else if (strcmp(argv[1], "exit") == 0)
		r = mode_exit();
	else if (strcmp(argv[1], "fork") == 0)
		r = mode_fork();
	else if (strcmp(argv[1], "spawn") == 0)
		r = mode_spawn();
	else if (strcmp(argv[1], "sigwait") == 0)
		r = mode_sigwait();
	else if (strcmp(argv[1], "seccomp") == 0 && argc >= 3)
		r = mode_seccomp(argv[2], argc == 4 ? argv[3] : NULL);
	else if (strcmp(argv[1], "chroot") == 0 && argc == 3) {
		void *volatile p;

		r = chroot(argv[2]) != 0 || chdir("/") != 0;
		p = malloc(1000);
		(void)p;
	} else if (strcmp(argv[1], "readonly") == 0) {
		glob_t g;
		size_t i;

		r = 0;
		if (glob("*.lsd", 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc; i++)
				r |= chmod(g.gl_pathv[i], 0400);
			globfree(&g);
		}
		at_limit();
	} else if (strcmp(argv[1], "nofile") == 0) {
		struct rlimit rl;

		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = 3;
		r = setrlimit(RLIMIT_NOFILE, &rl);
		at_limit();
	} else if (strcmp(argv[1], "fsize") == 0) {
		struct rlimit rl;
		void *volatile p;

		getrlimit(RLIMIT_FSIZE, &rl);
		rl.rlim_cur = 64;
		r = setrlimit(RLIMIT_FSIZE, &rl);
		p = malloc(1000);
		(void)p;
	}
	else
		return 2;
	if (r == 0)
		printf("ok\n");
	return r;
}
