/* SPDX-License-Identifier: MIT */
/*
 * Prints the descriptor its first open() gets and how many descriptors it
 * has open then: the same with and without leakspy.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int
main(void)
{
	void *volatile p = malloc(100);
	int fd = open("/dev/null", O_RDONLY), n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	printf("first open %d, open %d\n", fd, n - 1);
	free(p);
	return 0;
}
