/* SPDX-License-Identifier: MIT */
/*
 * unwind: allocations whose stacks cross code with and without frame
 * pointers, without unwind tables, frames sized at run time, a call that
 * is its function's last instruction, a signal handler on the thread's
 * stack and one on an alternate stack, and a second thread.  Every block
 * is kept, so each site's figures are exact:
 *   nofp_leaf via fp_top/nofp_mid x2    24 B  x3, and 24 B x1 in a thread
 *   notab_leaf via nofp_mid/fp_top x2   88 B  x3
 *   fp_alloca                           41 B  x3
 *   nofp_bigframe via fp_bigframe       58 B  x2
 *   nofp_jump_out via fp_ends_in_noreturn  72 B x1
 *   on_usr1 (handler)                  104 B  x1
 *   on_usr2 (handler, sigaltstack)     120 B  x1
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "unwind.h"

void *volatile unwind_keep[64];
static unsigned nkept;
jmp_buf unwind_env;

void
keep(void *p)
{
	if (nkept < 64)
		unwind_keep[nkept++] = p;
}

static void
on_usr1(int sig)
{
	(void)sig;
	keep(malloc(104));
}

static void
on_usr2(int sig)
{
	(void)sig;
	keep(malloc(120));
}

static void *
thread_main(void *arg)
{
	(void)arg;
	fp_top(2);
	return NULL;
}

int
main(void)
{
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t t;
	int i;

	for (i = 0; i < 3; i++) {
		fp_top(4);		/* ... fp_top(0), nofp_leaf */
		fp_top(5);		/* ... nofp_mid(0), notab_leaf */
	}
	fp_alloca(16);
	fp_alloca(1000);
	fp_alloca(5000);
	fp_bigframe(3);
	fp_bigframe(3);
	if (setjmp(unwind_env) == 0)
		fp_ends_in_noreturn();

	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	sigaltstack(&ss, NULL);
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);

	if (pthread_create(&t, NULL, thread_main, NULL) != 0 ||
	    pthread_join(t, NULL) != 0)
		return 1;
	printf("%u\n", nkept);
	return 0;
}
