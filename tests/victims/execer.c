/* SPDX-License-Identifier: MIT */
/*
 * execer: keeps 1000 * (N + 1) bytes in image_N, then (N > 0) executes
 * itself with N - 1, through a different member of the exec family each
 * time; image 0 exits.  "execer fail" tries to execute a file that does
 * not exist, reports the errno, keeps 500 bytes in after_fail and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
static void *volatile kept;

static __attribute__((noinline)) void
image_n(int n)
{
	kept = malloc(1000 * (size_t)(n + 1));
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void
after_fail(void)
{
	kept = malloc(500);
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv)
{
	char next[16];
	int n;

	if (argc == 2 && strcmp(argv[1], "fail") == 0) {
		execl("/nonexistent/program", "program", (char *)NULL);
		printf("exec failed: %s\n", strerror(errno));
		after_fail();
		return 0;
	}
	n = argc == 2 ? atoi(argv[1]) : 0;
	image_n(n);
	printf("image %d\n", n);
	fflush(stdout);
	if (n == 0)
		return 0;
	snprintf(next, sizeof(next), "%d", n - 1);
	switch (n % 3) {
	case 0:
		execl("/proc/self/exe", argv[0], next, (char *)NULL);
		break;
	case 1:
		execv("/proc/self/exe", (char *[]){ argv[0], next, NULL });
		break;
	default:
		execve("/proc/self/exe", (char *[]){ argv[0], next, NULL },
		    environ);
		break;
	}
	return 1;
}
