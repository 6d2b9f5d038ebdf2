/* SPDX-License-Identifier: MIT */
/* roots_stub.c: what test_roots sets and reads in the stand-in library. */
#ifndef LS_ROOTS_STUB_H
#define LS_ROOTS_STUB_H

#include <stddef.h>
#include <sys/types.h>

/* The thread ids lsp_threads_tids reports from now on (at most 64). */
void ut_set_tids(const pid_t *t, size_t n);
/* Addresses of the stand-in library's data and bss. */
const void *ut_own_data(void);
const void *ut_own_bss(void);
/* The calling thread's copy of the stand-in library's TLS. */
const void *ut_own_tls(void);
/* preload/lsp.h's, which roots.c calls. */
size_t lsp_threads_tids(pid_t *out, size_t cap);

#endif /* LS_ROOTS_STUB_H */
