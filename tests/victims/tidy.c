/* SPDX-License-Identifier: MIT */
/*
 * Frees everything it allocates; only stdio's own buffer stays.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	char *p[100];
	int i;

	for (i = 0; i < 100; i++)
		p[i] = malloc((size_t)i * 3 + 1);
	for (i = 0; i < 100; i++)
		free(p[i]);
	p[0] = strdup("x");
	p[0] = realloc(p[0], 4000);
	free(p[0]);
	printf("tidy: %d\n", i);
	return 0;
}
