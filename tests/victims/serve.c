/* SPDX-License-Identifier: MIT */
/*
 * A service with a big heap (tests/shim/test_scan_live.py): MB MiB in
 * 1 KiB blocks held by the global array cache[] (cache_fill), then it
 * prints "serve: N blocks" and answers each byte on stdin with one byte
 * on stdout (the byte plus one), without allocating, until 'q' or end of
 * file.  Usage: serve [MB] (default 256, at most 256).  Frees everything,
 * prints "serve: R requests" and returns 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK	1024
#define MAXBLK	(1024 * 1024)

void *volatile cache[MAXBLK];

__attribute__((noinline)) static void
cache_fill(size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *p = malloc(BLOCK);

		if (p == NULL)
			abort();
		memset(p, 'c', BLOCK);
		cache[i] = p;
	}
}

static int
serve(unsigned long *requests)
{
	char c;
	ssize_t n;

	for (;;) {
		n = read(0, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || c == 'q')
			return n < 0 ? 1 : 0;
		c++;
		while ((n = write(1, &c, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			return 1;
		(*requests)++;
	}
}

int
main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, n, i;
	unsigned long requests = 0;
	int rc;

	n = mb * 1024;
	if (n == 0 || n > MAXBLK)
		return 2;
	cache_fill(n);
	printf("serve: %zu blocks\n", n);
	fflush(stdout);
	rc = serve(&requests);
	for (i = 0; i < n; i++)
		free(cache[i]);
	printf("serve: %lu requests\n", requests);
	fflush(stdout);
	return rc;
}
