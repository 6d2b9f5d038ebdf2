/* SPDX-License-Identifier: MIT */
/*
 * Peak RSS of a command, for the benchmarks: usage "peakrss FILE command
 * [args...]".  Runs the command as its child and writes to FILE the
 * child's ru_maxrss (KiB, the command and the descendants it waited for),
 * then exits as the child did.  PEAKRSS_PRELOAD, if set, becomes the
 * command's LD_PRELOAD, so that a preloaded tool sees the command only.
 *
 * Why not wait4() in the benchmark itself: a process's ru_maxrss keeps
 * the high-water mark of the memory it replaced at execve, so a program
 * started by a Python interpreter reports at least the interpreter's RSS
 * (about 14 MiB), whatever its own.  Started from this small program,
 * the floor is this program's RSS, about 1 MiB.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct rusage ru;
	int status;
	pid_t pid;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: peakrss FILE command [args...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("peakrss: fork");
		return 2;
	}
	if (pid == 0) {
		const char *pre = getenv("PEAKRSS_PRELOAD");

		if (pre != NULL) {
			setenv("LD_PRELOAD", pre, 1);
			unsetenv("PEAKRSS_PRELOAD");
		}
		execvp(argv[2], argv + 2);
		perror(argv[2]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("peakrss: wait4");
		return 2;
	}
	f = fopen(argv[1], "w");
	if (f == NULL || fprintf(f, "%ld\n", ru.ru_maxrss) < 0 ||
	    fclose(f) != 0) {
		perror(argv[1]);
		return 2;
	}
	if (WIFSIGNALED(status)) {
		signal(WTERMSIG(status), SIG_DFL);
		raise(WTERMSIG(status));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}
