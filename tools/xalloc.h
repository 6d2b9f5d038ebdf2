/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report's allocation helpers: each one exits with LSR_EXIT_NOMEM
 * when memory runs out, so that no caller checks for NULL itself.
 */
#ifndef LS_XALLOC_H
#define LS_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* The exit status when memory runs out: an error of leakspy-report's own,
 * not findings (1) nor a damaged dump (3) (leakspy-report(1), EXIT
 * STATUS). */
#define LSR_EXIT_NOMEM	4

/* Say "out of memory: Cannot allocate memory" on stderr and exit
 * LSR_EXIT_NOMEM.  For allocators that are not wrapped here, such as an
 * ls_arena. */
void lsr_nomem(void) __attribute__((noreturn));

/* calloc(n, size), where a size of 0 gets 1 byte.  Allocates. */
void *lsr_xcalloc(size_t n, size_t size);

/* reallocarray(p, n, size): p may be NULL, the new bytes are not zeroed.
 * Allocates. */
void *lsr_xrealloc(void *p, size_t n, size_t size);

/* Grow array p (*cap elements of size bytes) to hold need elements, the
 * new ones zeroed; *cap at least doubles each time, starting at 16.
 * Returns p or its new place.  Allocates. */
void *lsr_xgrow(void *p, size_t *cap, size_t need, size_t size);

/* A NUL-terminated copy of s[0..n-1] (s may hold NULs).  Allocates. */
char *lsr_xstrndup(const char *s, size_t n);

/* A copy of string s.  Allocates. */
char *lsr_xstrdup(const char *s);

/* vasprintf's string.  Allocates. */
char *lsr_xvasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

/* asprintf's string.  Allocates. */
char *lsr_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif /* LS_XALLOC_H */
