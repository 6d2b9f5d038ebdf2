/* SPDX-License-Identifier: MIT */
/*
 * The launcher runs the command as its child and waits for it, so that it
 * can name the dumps at the end, and stays out of the way meanwhile: the
 * signals other processes send it go on to the command, and it ends with
 * the command's exit status, or dies of the signal the command died of.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler.h"
#include "launch.h"

/*
 * The signals passed on, besides the real-time ones.  Left out: those the
 * kernel sends a process about itself (faults, limits, SIGPIPE, SIGCHLD)
 * and job control, which the terminal sends to the whole process group
 * (a launcher stopped on its own stops nothing else).
 */
static const int forwarded[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGABRT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM,
	SIGURG, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR,
};

/* Set by the first lsr_run_start() before it forks, read afterwards by
 * both sides: the caller's signal mask and SIGCHLD action, which each
 * child gets back, and the signals the launcher waits for. */
static sigset_t saved_mask;
static struct sigaction saved_chld;
static sigset_t waited;
static bool saved;

static bool
ignored(int sig)
{
	struct sigaction sa;

	return sigaction(sig, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
}

/* SIGCHLD and the forwarded signals that are not ignored: an ignored one
 * stays ignored, by the launcher as by the command. */
static void
build_waited(void)
{
	size_t i;
	int sig;

	sigemptyset(&waited);
	sigaddset(&waited, SIGCHLD);
	for (i = 0; i < LS_ARRAY_SIZE(forwarded); i++)
		if (!ignored(forwarded[i]))
			sigaddset(&waited, forwarded[i]);
	for (sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		if (!ignored(sig))
			sigaddset(&waited, sig);
}

void
lsr_run_child_signals(void)
{
	sigaction(SIGCHLD, &saved_chld, NULL);
	sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

static void __attribute__((noreturn))
child(char **argv, int wfd, pid_t parent)
{
	int e;

	/* Killed with the launcher, as the command itself would be: a
	 * launcher killed with SIGKILL leaves no command running behind. */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(126);
	lsr_run_child_signals();
	execvp(argv[0], argv);
	e = errno;
	if (write(wfd, &e, sizeof(e)) != (ssize_t)sizeof(e))
		_exit(126);
	_exit(e == ENOENT ? 127 : 126);
}

static void
reap(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			err(126, "waitpid");
}

pid_t
lsr_run_start(char **argv)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	pid_t parent = getpid(), pid;
	int fds[2], e = 0, status;
	ssize_t n;

	/* A second child (leakspy-report, after the command) gets the mask
	 * and SIGCHLD action of before the first, not the blocked ones. */
	if (!saved) {
		build_waited();
		if (sigprocmask(SIG_BLOCK, &waited, &saved_mask) != 0)
			err(126, "sigprocmask");
		/* An ignored SIGCHLD would have the kernel reap the child,
		 * and waitpid() find none. */
		sigaction(SIGCHLD, &dfl, &saved_chld);
		saved = true;
	}
	/* Closed on exec: the command gets no descriptor of leakspy's. */
	if (pipe2(fds, O_CLOEXEC) != 0)
		err(126, "pipe");
	pid = fork();
	if (pid < 0)
		err(126, "fork");
	if (pid == 0) {
		close(fds[0]);
		child(argv, fds[1], parent);
	}
	close(fds[1]);
	/* End of file once the child has executed the command; its errno
	 * if it could not. */
	do
		n = read(fds[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	if (n == (ssize_t)sizeof(e)) {
		reap(pid, &status);
		return -e;
	}
	/* A closed stderr must not kill the launcher with SIGPIPE before
	 * it has passed the command's status on. */
	sigaction(SIGPIPE, &ign, NULL);
	return pid;
}

/* The parent of pid, from /proc, or 0. */
static pid_t
parent_of(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd, ppid = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) state ppid ...", comm holding any character. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

/* Whether sender is the launcher or one of its descendants: a signal the
 * command sends its own process group, or its parent, goes no further. */
static bool
from_inside(pid_t sender)
{
	pid_t self = getpid();
	int depth;

	for (depth = 0; depth < 64 && sender > 1; depth++) {
		if (sender == self)
			return true;
		sender = parent_of(sender);
	}
	return false;
}

/*
 * Signals from the terminal (si_code SI_KERNEL: Ctrl-C, a hangup, a
 * resize) reach the command by the process group it shares with the
 * launcher; passing them on too would deliver them twice.  Signals from
 * a process (kill(2), sigqueue(3)) go on, sigqueue's value with them.
 */
static void
forward(pid_t pid, const siginfo_t *si)
{
	if (si->si_code > 0 || from_inside(si->si_pid))
		return;
	if (si->si_code == SI_QUEUE)
		sigqueue(pid, si->si_signo, si->si_value);
	else
		kill(pid, si->si_signo);
}

int
lsr_run_wait(pid_t pid)
{
	siginfo_t si;
	int st;
	pid_t r;

	for (;;) {
		if (sigwaitinfo(&waited, &si) < 0) {
			if (errno == EINTR)
				continue;
			err(126, "sigwaitinfo");
		}
		if (si.si_signo != SIGCHLD) {
			forward(pid, &si);
			continue;
		}
		/* SIGCHLD also comes when the child stops or goes on.  Any
		 * other child is an orphan given to a launcher that is
		 * process 1 (of a container): reaped, as init would. */
		while ((r = waitpid(-1, &st, WNOHANG)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				err(126, "waitpid");
			if (r == pid)
				return st;
		}
	}
}

void
lsr_run_exit(int status)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	struct rlimit none = { 0, 0 };
	sigset_t one;
	int sig;

	if (!WIFSIGNALED(status))
		exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
	sig = WTERMSIG(status);
	/* The command has written its core already, if it had one to write;
	 * the launcher's must not take its place. */
	setrlimit(RLIMIT_CORE, &none);
	fflush(NULL);
	sigaction(sig, &dfl, NULL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	raise(sig);
	sigprocmask(SIG_UNBLOCK, &one, NULL);
	/* Only if the signal's default action does not end a process, or
	 * the launcher is process 1, which no signal of its own ends. */
	exit(128 + sig);
}
