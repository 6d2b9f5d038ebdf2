/* SPDX-License-Identifier: MIT */
/*
 * leakspy --watch SECONDS -- command: while the command runs, its
 * dump's report on the terminal, redrawn as snapshots arrive, by
 * leakspy-report --watch.
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "launch.h"

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

pid_t
lsr_watch_start(struct lsr_scan *s, pid_t pid, const char *seconds,
    const char *preload)
{
	char *report = lsr_report_path();
	pid_t parent = getpid(), w;

	w = fork();
	if (w < 0)
		err(126, "--watch: fork");
	if (w > 0) {
		free(report);
		return w;
	}
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);	/* the launcher is gone already */
	lsr_run_child_signals();
	/* Ctrl-C is the command's; the launcher ends the view. */
	signal(SIGINT, SIG_IGN);
	if (preload != NULL)
		setenv("LD_PRELOAD", preload, 1);
	else
		unsetenv("LD_PRELOAD");
	/* Until the command's first dump is there (or the command has
	 * ended without one). */
	for (;;) {
		lsr_dumps_again(s);
		if (lsr_dumps_find(s, pid) > 0) {
			char *argv[] = { report, "--watch", (char *)seconds,
			    (char *)lsr_dumps_path(s, 0), NULL };

			execv(report, argv);
			execvp("leakspy-report", argv);
			warn("--watch: %s", report);
			_exit(126);
		}
		if (kill(pid, 0) != 0 && errno == ESRCH)
			_exit(0);
		nap(100);
	}
}

void
lsr_watch_end(pid_t watcher, double seconds)
{
	/* A moment to see the final snapshot on its own; then SIGTERM,
	 * on which it takes one last look and ends. */
	long left = seconds < 0.5 ? (long)ceil(seconds * 2000) + 100 : 1000;
	int status;
	pid_t r;

	while ((r = waitpid(watcher, &status, WNOHANG)) == 0 && left > 0) {
		nap(20);
		left -= 20;
	}
	if (r != 0)
		return;	/* ended, or already reaped with the command */
	kill(watcher, SIGTERM);
	while (waitpid(watcher, &status, 0) < 0 && errno == EINTR)
		;
}
