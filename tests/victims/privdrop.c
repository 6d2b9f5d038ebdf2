/* SPDX-License-Identifier: MIT */
/*
 * A service that gives up root, as memcached -u and nginx's workers do:
 * usage "privdrop setuid|chroot DIR|fork" (run as root).
 * before_drop keeps 2 blocks of 1000 bytes; then the program gives up
 * its ids (setgroups, setgid, setuid to nobody), after chroot(DIR) and
 * chdir("/") with "chroot", in a fork child with "fork" (the parent waits
 * for it and keeps nothing more); then after_drop keeps one block of 500
 * bytes every 20 ms, 15 times.  Prints "ok" and exits 0.
 */
#define _GNU_SOURCE
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void *volatile kept[32];

__attribute__((noinline)) static void
before_drop(void)
{
	kept[0] = malloc(1000);
	kept[1] = malloc(1000);
}

__attribute__((noinline)) static void
after_drop(int i)
{
	kept[2 + i] = malloc(500);
}

static struct passwd *pw;

static int
drop(void)
{
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		return -1;
	return 0;
}

static void
run(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0; i < 15; i++) {
		after_drop(i);
		nanosleep(&ts, NULL);
	}
}

int
main(int argc, char **argv)
{
	pid_t pid;
	int status;

	if (argc < 2)
		return 2;
	pw = getpwnam("nobody");
	if (pw == NULL)
		return 1;
	before_drop();
	if (strcmp(argv[1], "fork") == 0) {
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			if (drop() != 0)
				_exit(1);
			run();
			exit(0);
		}
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			return 1;
	} else {
		if (strcmp(argv[1], "chroot") == 0 && (argc != 3 ||
		    chroot(argv[2]) != 0 || chdir("/") != 0))
			return 1;
		if (drop() != 0)
			return 1;
		run();
	}
	printf("ok\n");
	return 0;
}
