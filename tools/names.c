/* SPDX-License-Identifier: MIT */
/*
 * Words for what a dump holds as numbers: the enums of dump.h, signals,
 * errno values, and why a dump has no final snapshot.  Each takes any
 * value, known or not.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "lsr.h"

const char *
lsr_api_name(unsigned api)
{
	static const char *const names[LS_API_COUNT] = {
		"malloc", "calloc", "realloc", "reallocarray",
		"posix_memalign", "aligned_alloc", "memalign", "valloc",
		"pvalloc",
	};

	return api < LS_API_COUNT ? names[api] : "unknown";
}

const char *
lsr_reason_name(unsigned reason)
{
	static const char *const names[LS_SNAP_COUNT] = {
		"exit", "interval", "signal", "exec", "abort", "sandbox",
		"scan", "detach",
	};

	return reason < LS_SNAP_COUNT ? names[reason] : "unknown";
}

const char *
lsr_final_how_name(unsigned how)
{
	static const char *const names[LS_FINAL_COUNT] = {
		"exit", "exec", "abort", "signal", "detach",
	};

	return how < LS_FINAL_COUNT ? names[how] : "unknown";
}

const char *
lsr_thread_state_name(unsigned state)
{
	static const char *const names[LS_THREAD_COUNT] = {
		"running", "exited_unjoined", "joined", "detached",
		"ended_process",
	};

	return state < LS_THREAD_COUNT ? names[state] : "unknown";
}

const char *
lsr_signal_name(int signo)
{
	static char buf[32];
	const char *abbrev = signo > 0 && signo < SIGRTMIN ?
	    sigabbrev_np(signo) : NULL;
	int span = SIGRTMAX - SIGRTMIN;

	if (abbrev != NULL)
		snprintf(buf, sizeof(buf), "SIG%s", abbrev);
	else if (signo == SIGRTMIN)
		snprintf(buf, sizeof(buf), "SIGRTMIN");
	else if (signo == SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMAX");
	else if (signo > SIGRTMIN && signo - SIGRTMIN <= span / 2)
		snprintf(buf, sizeof(buf), "SIGRTMIN+%d", signo - SIGRTMIN);
	else if (signo > SIGRTMIN && signo < SIGRTMAX)
		snprintf(buf, sizeof(buf), "SIGRTMAX-%d", SIGRTMAX - signo);
	else
		snprintf(buf, sizeof(buf), "signal %d", signo);
	return buf;
}

const char *
lsr_errno_text(int errnum)
{
	static char buf[128];
	char tmp[128];
	const char *s;

	if (errnum == 0)
		return "no error number recorded";
	s = strerror_r(errnum, tmp, sizeof(tmp));
	snprintf(buf, sizeof(buf), "%s", s);
	/* "Too many open files" within a sentence; "EOF" stays. */
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

/* The last LOST record, if it is the process's last write-out. */
static const struct lsr_lost *
last_lost(const struct lsr_dump *d)
{
	if (d->nlost == 0 || !d->lost[d->nlost - 1].last)
		return NULL;
	return &d->lost[d->nlost - 1];
}

const char *
lsr_incomplete_why(const struct lsr_dump *d)
{
	static char buf[512];
	const struct lsr_snapshot *s = d->nsnaps ? &d->snaps[d->nsnaps - 1] :
	    NULL;
	const struct lsr_lost *l = last_lost(d);
	uint64_t fails = s ? s->counters[LS_CNT_WRITE_ERRORS] : 0;

	if (s != NULL && s->reason == LS_SNAP_SANDBOX)
		return "no snapshot after the process entered a seccomp "
		    "sandbox (leakspy writes nothing once a filter is on)";
	if (l != NULL) {
		snprintf(buf, sizeof(buf), "no final snapshot: the process "
		    "ended, but its last snapshot could not be written (%s); "
		    "leakspy's message about it is on the program's standard "
		    "error", lsr_errno_text(l->errnum));
		return buf;
	}
	if (d->nlost == 0 && fails > 0) {
		snprintf(buf, sizeof(buf), "no final snapshot: %" PRIu64
		    " write-out%s failed, so the last may have failed too "
		    "(leakspy said why on the program's standard error), or "
		    "the process is still running or was killed", fails,
		    fails == 1 ? "" : "s");
		return buf;
	}
	return "no final snapshot: the process is still running, was "
	    "killed, or could not write it";
}
