/* SPDX-License-Identifier: MIT */
/*
 * Allocation for leakspy-report: out of memory, it says so and exits with
 * LSR_EXIT_NOMEM (one place for the message and the status).
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void
lsr_nomem(void)
{
	/* An ls_arena that runs out leaves errno as mmap or earlier calls
	 * did: the message is the same whatever the allocator. */
	errno = ENOMEM;
	err(LSR_EXIT_NOMEM, "out of memory");
}

void *
lsr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		lsr_nomem();
	return p;
}

void *
lsr_xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (p == NULL)
		lsr_nomem();
	return p;
}

void *
lsr_xgrow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	p = lsr_xrealloc(p, n, size);
	memset((char *)p + *cap * size, 0, (n - *cap) * size);
	*cap = n;
	return p;
}

char *
lsr_xstrndup(const char *s, size_t n)
{
	char *p = lsr_xcalloc(1, n + 1);

	if (n)
		memcpy(p, s, n);
	return p;
}

char *
lsr_xstrdup(const char *s)
{
	return lsr_xstrndup(s, strlen(s));
}

char *
lsr_xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		lsr_nomem();
	return s;
}

char *
lsr_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = lsr_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
