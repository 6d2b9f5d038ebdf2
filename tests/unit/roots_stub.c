/* SPDX-License-Identifier: MIT */
/*
 * test_roots's and test_borrow's stand-in for libleakspy.so:
 * preload/roots.c and preload/signals.c linked into a library of its
 * own, with the thread registry's one function the test fills by hand,
 * what signals.c needs of boot.c and the writer (no writer thread, no
 * sandbox), and an address of this library's data, which is never a
 * root.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "lsp.h"
#include "roots_stub.h"

#define UT_MAX	64

static pid_t ut_tids[UT_MAX];
static size_t ut_n;
static long ut_data = 1;
static __thread long ut_tls = 3;

void
ut_set_tids(const pid_t *t, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < UT_MAX; i++)
		ut_tids[i] = t[i];
	ut_n = i;
}

const void *
ut_own_data(void)
{
	return &ut_data;
}

const void *
ut_own_tls(void)
{
	return &ut_tls;
}

const void *
ut_own_bss(void)
{
	return &ut_n;
}

pid_t lsp_writer_tid;

/* scan_clone.c: no clone scans here. */
void lsp_reach_cancel(void);

void
lsp_reach_cancel(void)
{
}

size_t
lsp_threads_tids(pid_t *out, size_t cap)
{
	size_t i;

	for (i = 0; i < ut_n && i < cap; i++)
		out[i] = ut_tids[i];
	return ut_n;
}

/* --- boot.c's and the writer's, for signals.c --- */

pid_t lsp_pid;
bool lsp_sandboxed;
__thread int lsp_guard;

void *
lsp_need_sym(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		abort();
	return p;
}

bool
lsp_writer_wake(void)
{
	return false;
}

void
lsp_writer_fatal_here(int sig)
{
	(void)sig;
}

static void
postfork_child(void)
{
	lsp_pid = getpid();
	lsp_signals_postfork_child();
}

__attribute__((constructor)) static void
ut_boot(void)
{
	lsp_pid = getpid();
	pthread_atfork(NULL, NULL, postfork_child);
}
