/* SPDX-License-Identifier: MIT */
/*
 * The threads of a dump as of a snapshot: the state each one was in, and
 * which of them are thread leaks (leakspy-report(1), "Threads").
 */
#include "lsr.h"

const struct lsr_thread_ver *
lsr_thread_at(const struct lsr_thread *t, size_t snap)
{
	size_t i;

	for (i = t->nver; i > 0; i--)
		if (t->ver[i - 1].snap <= snap)
			return &t->ver[i - 1];
	return NULL;
}

bool
lsr_thread_at_exit(const struct lsr_report *r)
{
	const struct lsr_snapshot *s = lsr_report_snap(r);

	/* A process a signal ended had no chance to join its threads. */
	return s != NULL && r->snap == r->d->nsnaps - 1 && r->d->final &&
	    r->d->final_how != LS_FINAL_SIGNAL &&
	    s->reason != LS_SNAP_INTERVAL && s->reason != LS_SNAP_SIGNAL;
}

bool
lsr_thread_leaked(const struct lsr_report *r, const struct lsr_thread_ver *v)
{
	return v->state == LS_THREAD_EXITED_UNJOINED ||
	    (v->state == LS_THREAD_RUNNING && lsr_thread_at_exit(r));
}
