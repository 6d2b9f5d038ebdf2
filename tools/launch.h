/* SPDX-License-Identifier: MIT */
/*
 * The launcher's stages apart from its options: running the command as a
 * child that it waits for (launch-run.c), and naming the dumps the run
 * wrote (launch-dumps.c).
 */
#ifndef LS_LAUNCH_H
#define LS_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * Start argv[0] (searched in PATH) with arguments argv in a child whose
 * signal mask and dispositions are the caller's and that has no
 * descriptor the caller did not have.  From here on the caller keeps the
 * forwarded signals blocked for lsr_run_wait().  Returns the child's pid
 * once it has executed the command, or -errno of the failed execvp()
 * (the child is reaped then).  Exits 126 if it cannot fork.
 */
pid_t lsr_run_start(char **argv);

/*
 * Wait for the child to end, passing it the signals the caller receives
 * from other processes (those the terminal sends reach it by its process
 * group).  Returns the child's wait status.
 */
int lsr_run_wait(pid_t pid);

/*
 * End the way the child did: exit with its code, or die of the signal
 * that killed it (its default action, without a core dump).
 */
void lsr_run_exit(int status) __attribute__((noreturn));

struct lsr_scan;

/*
 * Note the files matching the output template tmpl (LEAKSPY_OUTPUT's
 * syntax, relative to the working directory) that exist before the run,
 * so that only the run's own are named afterwards.  Allocates; exits on
 * running out of memory.
 */
struct lsr_scan *lsr_dumps_before(const char *tmpl);

/*
 * On stderr, name the dumps created since lsr_dumps_before() whose
 * process is pid or one of its descendants, say how to read them, and
 * whether a traced program executed another before its first snapshot
 * (follow: LEAKSPY_FOLLOW_EXEC was on).  Frees s.
 */
void lsr_dumps_tell(struct lsr_scan *s, pid_t pid, bool follow);

#endif /* LS_LAUNCH_H */
