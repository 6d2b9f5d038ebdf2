/* SPDX-License-Identifier: MIT */
/*
 * The launcher's stages apart from its options: running the command as a
 * child that it waits for (launch-run.c), naming the dumps the run wrote
 * (launch-dumps.c), and the leak gate of --check (launch-check.c).
 */
#ifndef LS_LAUNCH_H
#define LS_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "settings.h"

/*
 * Start argv[0] (searched in PATH) with arguments argv in a child whose
 * signal mask and dispositions are the caller's and that has no
 * descriptor the caller did not have.  From here on the caller keeps the
 * forwarded signals blocked for lsr_run_wait().  Returns the child's pid
 * once it has executed the command, or -errno of the failed execvp()
 * (the child is reaped then).  Exits 126 if it cannot fork.  May be
 * called again once that child has ended (lsr_run_wait()): the next
 * child gets the signal mask and dispositions of before the first.
 */
pid_t lsr_run_start(char **argv);

/*
 * Wait for the child to end, passing it the signals the caller receives
 * from other processes (those the terminal sends reach it by its process
 * group).  Returns the child's wait status.
 */
int lsr_run_wait(pid_t pid);

/* In a child of the launcher's own (after lsr_run_start()): the signal
 * mask and SIGCHLD action leakspy was started with. */
void lsr_run_child_signals(void);

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

/*
 * Find the dumps lsr_dumps_tell() would name (once; later calls return
 * the same): those created since lsr_dumps_before() whose process is pid
 * or one of its descendants, in the order the processes started.
 * Returns how many; lsr_dumps_path() gives each path, as the template
 * spells it.
 */
size_t lsr_dumps_find(struct lsr_scan *s, pid_t pid);
const char *lsr_dumps_path(const struct lsr_scan *s, size_t i);
/* leakspy-report next to this program (a build tree, or the installed
 * pair), else the one in PATH.  Allocates. */
char *lsr_report_path(void);

/* launch-watch.c: leakspy --watch */

/* Start showing the report of the command's dump (the first of
 * process pid's, as lsr_dumps_find() finds them), redrawn every seconds,
 * with LD_PRELOAD as it was before leakspy (preload, or NULL: unset).
 * Returns the watcher's pid. */
pid_t lsr_watch_start(struct lsr_scan *s, pid_t pid, const char *seconds,
    const char *preload);
/* The command has ended: let the watcher draw its last snapshot, then
 * end it. */
void lsr_watch_end(pid_t watcher, double seconds);

/* Forget what lsr_dumps_find() found: its next call looks again. */
void lsr_dumps_again(struct lsr_scan *s);

/* Only the warning of lsr_dumps_tell() about programs that a traced
 * process executed and that were not traced, if any (after
 * lsr_dumps_find()). */
void lsr_dumps_warn(const struct lsr_scan *s, bool follow);

/* Free s without a word. */
void lsr_dumps_free(struct lsr_scan *s);

/*
 * --check (launch-check.c): the gate's options, which leakspy(1)
 * describes; each is long only, with getopt_long() code
 * LSR_GOPT_CODE + its index.
 */
#define LSR_GOPT_CODE	256

struct lsr_gopt {
	const char *long_opt;
	const char *arg;	/* its argument's name; NULL: a flag */
	const char *help;	/* for --help; the argument in capitals */
};

extern const struct lsr_gopt lsr_gopts[];
extern const size_t lsr_ngopts;

/* Take gate option i (LSR_GOPT_CODE + i) with its argument (NULL for a
 * flag); exits LSR_EXIT_USAGE if it is refused.  Allocates. */
void lsr_gopt_take(size_t i, const char *arg);

/* Whether --check was given. */
bool lsr_gopt_check(void);

/*
 * Run cmd as the launcher does, then check the run's dumps with
 * leakspy-report --check and exit: the command's status if it failed,
 * else the check's (leakspy(1), EXIT STATUS).  Call after the options
 * are taken and LD_PRELOAD is set; old_preload is LD_PRELOAD as leakspy
 * found it (NULL if unset), which leakspy-report gets back.
 */
void lsr_check_command(char **cmd, const char *old_preload)
    __attribute__((noreturn));

/* leakspy.c: the value the shim will use for setting id (LS_SET_*): the
 * environment's, as the options set it or leakspy found it, else the
 * default.  A template points into the environment. */
struct ls_value lsr_value_in_env(unsigned id);

#endif /* LS_LAUNCH_H */
