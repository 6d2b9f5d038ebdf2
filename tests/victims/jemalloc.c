/* SPDX-License-Identifier: MIT */
/*
 * Linked with jemalloc, which replaces malloc: leakspy must forward to
 * it, not to glibc.  Prints what jemalloc says about itself and about a
 * block, and leaks jem_leak(): 7 blocks of 1500 bytes.
 */
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *volatile kept[8];

__attribute__((noinline)) static void
jem_leak(void)
{
	int i;

	for (i = 0; i < 7; i++)
		kept[i] = malloc(1500);
}

int
main(void)
{
	const char *version = NULL;
	size_t len = sizeof(version);
	void *p = malloc(100);

	if (mallctl("version", &version, &len, NULL, 0) != 0)
		return 1;
	printf("jemalloc %s\n", version ? "present" : "absent");
	printf("usable(100): %zu, nallocx(100): %zu\n", malloc_usable_size(p),
	    nallocx(100, 0));
	free(p);
	p = realloc(NULL, 0);
	printf("realloc(NULL, 0): %s\n", p ? "ptr" : "NULL");
	free(p);
	jem_leak();
	return 0;
}
