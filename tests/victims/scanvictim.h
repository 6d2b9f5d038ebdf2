/* SPDX-License-Identifier: MIT */
/*
 * What the heap-scan victims (reach.c, cancel.c, events.c) share: a site
 * per function, and snapshot signals taken off the main thread.
 */
#ifndef LS_SCANVICTIM_H
#define LS_SCANVICTIM_H

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

/* Neither inlined, cloned (which renames the site) nor folded with a
 * function of the same code. */
#ifdef __clang__
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noipa))
#endif

static void *
catcher(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/*
 * From here on signals are taken by a thread of their own: one taken by
 * the main thread would leave its registers, stale pointers among them,
 * in a signal frame on its stack, which a scan while running reads whole.
 */
static __attribute__((unused)) int
catch_signals(void)
{
	sigset_t all;
	pthread_t t;

	if (pthread_create(&t, NULL, catcher, NULL) != 0)
		return -1;
	sigfillset(&all);
	return pthread_sigmask(SIG_BLOCK, &all, NULL) != 0 ? -1 : 0;
}

#endif /* LS_SCANVICTIM_H */
