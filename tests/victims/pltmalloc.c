/* SPDX-License-Identifier: MIT */
/*
 * Built without -pie and taking malloc's address, as Debian's python3
 * does: the executable's undefined malloc then has a PLT stub's address,
 * which the loader gives as "malloc" to everyone.  The calls still reach
 * the preloaded malloc.  Keeps 3 blocks of 100 bytes.
 */
#include <stdio.h>
#include <stdlib.h>

void *(*volatile alloc)(size_t);
void *volatile kept[3];

int
main(void)
{
	int i;

	alloc = malloc;	/* in code: an absolute address, the PLT stub's */
	for (i = 0; i < 3; i++)
		kept[i] = alloc(100);
	free(alloc(7));
	printf("%d\n", kept[2] != NULL);
	return 0;
}
