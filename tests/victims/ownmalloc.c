/* SPDX-License-Identifier: MIT */
/*
 * Defines malloc and friends itself (forwarding to glibc's __libc_*), so
 * a preloaded malloc never sees its calls.  leakspy must say so, not
 * report "no leaks".
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void *__libc_malloc(size_t);
void __libc_free(void *);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);

void *malloc(size_t n) { return __libc_malloc(n); }
void free(void *p) { __libc_free(p); }
void *calloc(size_t a, size_t b) { return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { return __libc_realloc(p, n); }

void *volatile kept;

int
main(void)
{
	kept = malloc(1234);
	printf("own malloc\n");
	return 0;
}
