/* SPDX-License-Identifier: MIT */
/*
 * When the dump is written, and what a failed write-out leaves: the
 * writer thread (interval and signal snapshots, all signals blocked), the
 * final snapshot (library destructor, exec, abort, a fatal signal), the
 * sandbox and fork hooks, and the first records (lsp_boot()).  The signal
 * handler only posts a semaphore.  What the records hold is emit.c's; the
 * file itself, dumpfile.c's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "lsp.h"
#include "reach.h"

#define EXIT_WAIT_MS	1000
#define SCAN_POLL_NS	250000000u	/* the growth trigger, 4 times a second */
#define LSP_STRETCH	1000

/* Everything below is guarded by write_lock. */
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool header_done;	/* header and PROCESS are in the file */
	bool resync;		/* next snapshot writes every site */
	bool final_done;
	int fatal_signo;	/* the final snapshot is a fatal signal's */
	bool disabled;		/* no dump: creation failed */
	bool warned_write;
	uint32_t stacks_written;
	uint32_t snap_index;
	struct ls_buf buf;
	struct lsp_agemap ages;	/* as last written */
} ws;

/* Written at boot (and in a fork child), before any reader. */
static uint64_t start_mono_ns, start_real_ns;
pid_t lsp_writer_tid;

/* The wake-up of the writer thread; posted by the signal handler. */
static sem_t wake;
/* Posted by the writer thread once it has set itself up. */
static sem_t ready;
static int sig_pending;		/* atomic */
static bool thread_started;
static bool stopping;		/* detach: the writer thread ends (atomic) */

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
lsp_run_ns(void)
{
	return now_ns(CLOCK_MONOTONIC) - start_mono_ns;
}

static int
buf_grow(struct ls_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 128 << 10;
	void *np;

	while (cap - b->len < need)
		cap *= 2;
	if (b->p == NULL)
		np = ls_map(cap);
	else {
		np = mremap(b->p, b->cap, cap, MREMAP_MAYMOVE);
		if (np == MAP_FAILED)
			np = NULL;
	}
	if (np == NULL)
		return -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

static const char *
errno_name(int e)
{
	switch (e) {
	case EACCES: return "permission denied";
	case EMFILE: return "too many open files";
	case EEXIST: return "file exists";
	case ENOENT: return "no such directory";
	case ENOSPC: return "no space left on device";
	case EROFS: return "read-only file system";
	case EFBIG: return "file too large";
	case EDQUOT: return "disk quota exceeded";
	case ELOOP: return "path is a symbolic link";
	case ESTALE: return "the dump was replaced by another file";
	case ENOMEM: return "out of memory";
	default: return "I/O error";
	}
}

/* A dump's head: its first line, the PROCESS record (with this
 * process's, or fork child's, start) and the settings refused. */
static void
emit_head(struct ls_buf *b)
{
	ls_dump_header(b);
	lsp_emit_process(b, start_real_ns);
	lsp_config_emit(b);
}

/*
 * After a failed write-out: say so in the dump, where a record this small
 * still fits (a full device has the failed write-out's room again).
 */
static void
write_lost(unsigned reason, bool final, int err)
{
	struct ls_buf *b = &ws.buf;

	b->len = 0;
	b->err = 0;
	lsp_emit_lost(b, reason, final, err);
	(void)lsp_dump_end(b);
}

/* Write-out error r (-errno) of snapshot reason: count it, say so in the
 * dump if it has a header, and on fd 2 once. */
static void
write_failed(unsigned reason, bool final, int r)
{
	ws.resync = true;
	lsp_count(LS_CNT_WRITE_ERRORS);
	if (ws.header_done && r != -ESTALE)
		write_lost(reason, final, -r);
	if (!lsp_dump_created()) {
		ws.disabled = true;
		lsp_warn("cannot create the dump; not writing one",
		    errno_name(-r));
		lsp_warn("dump path", lsp_cfg.path);
	} else if (!ws.warned_write) {
		ws.warned_write = true;
		lsp_warn("cannot write a snapshot to the dump", errno_name(-r));
	}
	if (r == -ESTALE)
		ws.disabled = true;
}

/* Build and append one snapshot.  Caller holds write_lock and the guard. */
static void
write_out(unsigned reason, bool final, bool scan)
{
	unsigned how = ws.fatal_signo != 0 ? LS_FINAL_SIGNAL :
	    reason == LS_SNAP_DETACH ? LS_FINAL_DETACH :
	    reason == LS_SNAP_EXEC ? LS_FINAL_EXEC :
	    reason == LS_SNAP_ABORT ? LS_FINAL_ABORT : LS_FINAL_EXIT;

	struct ls_buf *b = &ws.buf;
	struct lsp_agemap ages = { 0 };
	struct lsp_ages_plan plan = { 0 };
	struct lsp_snapshot snap;
	uint32_t covered;
	unsigned ep;
	int r;

	if (ws.disabled || ws.final_done || lsp_cfg.path[0] == '\0' ||
	    lsp_in_sandbox())
		return;
	/* Blocks allocated from here on belong to the next snapshot. */
	ep = lsp_epoch_next();
	b->len = 0;
	b->err = 0;
	b->grow_fn = buf_grow;
	if (!ws.header_done)
		emit_head(b);
	lsp_modules_scan();
	lsp_modules_emit(b);
	covered = lsp_emit_stacks(b, ws.stacks_written);
	ages.covered = covered;
	lsp_ages_reserve(&ages, ws.ages.count + ws.ages.count / 4 + 1024);
	lsp_record_scan(lsp_ages_count, &ages);
	if (!ages.failed && !lsp_ages_plan(&plan, &ages, &ws.ages))
		ages.failed = true;
	snap = (struct lsp_snapshot){
		.index = ws.snap_index,
		.run_ns = lsp_run_ns(),
		.real_ns = now_ns(CLOCK_REALTIME),
		.reason = reason,
		.epoch = ep,
		.nsites = covered,
		.resync = ws.resync,
		.ages = &ages,
		.written = &ws.ages,
		.plan = &plan,
		.scan = final,
	};
	/* A clone still marking: dropped at the end (which scans on its
	 * own), else collected by this snapshot if it is done by then. */
	if (final)
		lsp_reach_clone_drop();
	else if (scan && !lsp_reach_clone_pending())
		lsp_reach_clone_start(snap.index, covered);
	snap.clone = !final && lsp_reach_clone_pending();
	lsp_emit_snapshot(b, &snap);
	lsp_ages_plan_free(&plan);
	if (final)
		lsp_emit_final(b, how, ws.fatal_signo);
	r = lsp_dump_end(b);
	lsp_modules_commit(r == 0);
	lsp_threads_commit(r == 0);
	if (r == 0) {
		ws.header_done = true;
		ws.stacks_written = covered;
		ws.resync = false;
		ws.snap_index++;
		/* What was written is the base of the next snapshot's ages;
		 * after an incomplete scan, every pair is written again. */
		lsp_ages_free(&ws.ages);
		if (ages.failed)
			lsp_ages_free(&ages);
		ws.ages = ages;
		return;
	}
	lsp_ages_free(&ages);
	write_failed(reason, final, r);
}

/* LEAKSPY_SIGNAL arrived (signal handler). */
static void
on_snapshot_signal(void)
{
	if (lsp_in_sandbox())
		return;
	__atomic_store_n(&sig_pending, 1, __ATOMIC_RELEASE);
	sem_post(&wake);
}

bool
lsp_writer_wake(void)
{
	if (!thread_started)
		return false;
	sem_post(&wake);
	return true;
}

/*
 * When the next interval snapshot is due: every interval until the run is
 * LSP_STRETCH intervals long, then every 1/LSP_STRETCH of the time run so
 * far, so that a long run keeps adding snapshots at a shrinking rate (at
 * the default 10 s: 1000 in the first 2.8 hours, about 5,100 in a week).
 */
static uint64_t
next_interval(uint64_t next, uint64_t interval)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	uint64_t stretched = (now - start_mono_ns) / LSP_STRETCH;

	if (stretched > interval)
		return now + stretched;
	while (next <= now)
		next += interval;
	return next;
}

static void write_last(unsigned reason, int sig);

static void *
writer_main(void *arg)
{
	uint64_t interval = (uint64_t)lsp_cfg.interval_ms * 1000000u;
	uint64_t next = now_ns(CLOCK_MONOTONIC) + interval;
	/* Scans while running: their timer and the growth trigger are looked
	 * at this often, and a clone still marking. */
	bool growth = lsp_cfg.scan_ms != 0;

	(void)arg;
	lsp_guard_enter();	/* for good: the writer is all leakspy */
	__atomic_store_n(&lsp_writer_tid, (pid_t)syscall(SYS_gettid),
	    __ATOMIC_RELEASE);
	prctl(PR_SET_NAME, "leakspy-writer", 0, 0, 0);
	sem_post(&ready);
	for (;;) {
		unsigned reason;
		int r, sig;
		bool scan;
		uint64_t until = interval != 0 ? next : UINT64_MAX;

		/* Attached: objects loaded since are looked for as often. */
		if ((growth || lsp_attached || lsp_reach_clone_pending()) &&
		    now_ns(CLOCK_MONOTONIC) + SCAN_POLL_NS < until)
			until = now_ns(CLOCK_MONOTONIC) + SCAN_POLL_NS;
		if (until != UINT64_MAX) {
			struct timespec ts = {
				.tv_sec = (time_t)(until / 1000000000u),
				.tv_nsec = (long)(until % 1000000000u),
			};

			r = sem_clockwait(&wake, CLOCK_MONOTONIC, &ts);
		} else {
			r = sem_wait(&wake);
		}
		if (r != 0 && errno == EINTR)
			continue;
		if (__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
			sem_post(&ready);
			return NULL;
		}
		if (lsp_attached)
			lsp_got_refresh();
		/* In a sandbox: asleep until lsp_writer_unsandbox(). */
		while (lsp_in_sandbox())
			(void)sem_wait(&wake);
		if ((sig = lsp_signals_fatal()) != 0) {
			write_last(LS_SNAP_EXIT, sig);
			lsp_signals_fatal_done();
			continue;
		}
		scan = false;
		if (__atomic_exchange_n(&sig_pending, 0, __ATOMIC_ACQ_REL)) {
			reason = LS_SNAP_SIGNAL;
			scan = lsp_cfg.scan_ms != 0;
		} else if (r != 0 && interval != 0 &&
		    now_ns(CLOCK_MONOTONIC) >= next) {
			reason = LS_SNAP_INTERVAL;
		} else if (r != 0 && lsp_reach_clone_ready()) {
			reason = LS_SNAP_SCAN;	/* collects its records */
		} else if (r != 0 && !lsp_reach_clone_pending() &&
		    lsp_reach_due()) {
			reason = LS_SNAP_SCAN;
			scan = true;
		} else {
			continue;
		}
		if (!scan && reason != LS_SNAP_SCAN)
			scan = lsp_reach_due();
		pthread_mutex_lock(&write_lock);
		write_out(reason, false, scan);
		pthread_mutex_unlock(&write_lock);
		if (reason == LS_SNAP_INTERVAL)
			next = next_interval(next, interval);
	}
	return NULL;
}

static void
start_thread(void)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;

	/* The thread inherits a full mask: it takes none of the host's
	 * signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	sem_init(&ready, 0, 0);
	if (lsp_next_pthread_create(&t, &attr, writer_main, NULL) != 0) {
		lsp_warn("cannot start the writer thread; only the final "
		    "snapshot will be written", NULL);
	} else {
		/* Its start-up system calls (the C library's, and the
		 * name) are made now, not after the program has gone on,
		 * perhaps to install a seccomp filter for all threads. */
		while (sem_wait(&ready) != 0 && errno == EINTR)
			continue;
		thread_started = true;
	}
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Create the dump now: the name is taken, and a process killed before its
 * first snapshot still leaves its header. */
static void
create_header(void)
{
	pthread_mutex_lock(&write_lock);
	if (lsp_cfg.path[0] != '\0' && !ws.disabled) {
		struct ls_buf *b = &ws.buf;
		int r;

		b->grow_fn = buf_grow;
		b->len = 0;
		b->err = 0;
		emit_head(b);
		lsp_modules_emit(b);
		r = lsp_dump_end(b);
		lsp_modules_commit(r == 0);
		if (r == 0) {
			ws.header_done = true;
		} else {
			ws.disabled = true;
			lsp_warn("cannot create the dump; not writing one",
			    errno_name(-r));
			lsp_warn("dump path", lsp_cfg.path);
		}
	}
	pthread_mutex_unlock(&write_lock);
}

void
lsp_writer_start(void)
{
	start_mono_ns = now_ns(CLOCK_MONOTONIC);
	start_real_ns = now_ns(CLOCK_REALTIME);
	sem_init(&wake, 0, 0);
	create_header();
	if (ws.disabled)
		return;
	/* Attached, the thread also looks for objects loaded later. */
	if (lsp_cfg.interval_ms != 0 || lsp_cfg.signo != 0 || lsp_attached)
		start_thread();
	lsp_signals_init(lsp_cfg.signo, on_snapshot_signal);
}

void
lsp_writer_sandbox(void)
{
	lsp_guard_enter();
	lsp_reach_hurry();
	pthread_mutex_lock(&write_lock);
	/* No clone may be left to reap from inside the sandbox. */
	lsp_reach_clone_drop();
	write_out(LS_SNAP_SANDBOX, false, false);
	/* From here on no system call of leakspy's: the program's own
	 * dispositions go back to the kernel. */
	lsp_signals_release(true);
	__atomic_store_n(&lsp_sandboxed, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&write_lock);
	lsp_guard_leave();
}

void
lsp_writer_unsandbox(void)
{
	lsp_guard_enter();
	pthread_mutex_lock(&write_lock);
	__atomic_store_n(&lsp_sandboxed, false, __ATOMIC_RELEASE);
	lsp_signals_release(false);
	pthread_mutex_unlock(&write_lock);
	lsp_guard_leave();
	if (thread_started)
		sem_post(&wake);
}

/* The last snapshot, at exit or before an exec, or before a fatal signal
 * (sig) ends the process; bounded in time. */
static void
write_last(unsigned reason, int sig)
{
	struct timespec ts;

	if (lsp_in_sandbox())
		return;
	lsp_guard_enter();
	lsp_reach_cancel();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (EXIT_WAIT_MS % 1000) * 1000000L;
	ts.tv_sec += EXIT_WAIT_MS / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	/* Bounded: a writer stuck in a slow write must not hold exit. */
	if (pthread_mutex_clocklock(&write_lock, CLOCK_MONOTONIC, &ts) == 0) {
		ws.fatal_signo = sig;
		if (reason != LS_SNAP_DETACH)
			lsp_threads_ending(true);
		write_out(reason, true, false);
		ws.final_done = true;
		pthread_mutex_unlock(&write_lock);
	}
	lsp_guard_leave();
}

void
lsp_writer_final(void)
{
	/* A fatal signal came first: the process dies of it, as it would
	 * have without leakspy, once its snapshot is written. */
	lsp_signals_fatal_exit();
	write_last(LS_SNAP_EXIT, 0);
	/* One that came while this snapshot was written, too. */
	lsp_signals_fatal_exit();
}

void
lsp_writer_detach(void)
{
	write_last(LS_SNAP_DETACH, 0);
	if (thread_started) {
		__atomic_store_n(&stopping, true, __ATOMIC_RELEASE);
		sem_post(&wake);
		while (sem_wait(&ready) != 0 && errno == EINTR)
			continue;
		thread_started = false;
	}
	lsp_signals_release(true);
}

/* What the writer knew of its dump and thread forgotten: the next
 * write-out begins a new dump (a fork child's, a second attach's). */
static void
forget_dump(void)
{
	lsp_modules_forget_written();
	lsp_reach_postfork_child();
	__atomic_store_n(&lsp_writer_tid, 0, __ATOMIC_RELEASE);
	ws.header_done = false;
	ws.resync = true;
	ws.stacks_written = 0;
	ws.snap_index = 0;
	ws.warned_write = false;
	ws.fatal_signo = 0;
	ws.final_done = false;
	lsp_ages_free(&ws.ages);
	thread_started = false;
}

void
lsp_writer_restart(void)
{
	forget_dump();
	ws.disabled = false;
	__atomic_store_n(&stopping, false, __ATOMIC_RELEASE);
	lsp_dump_postfork_child();
	lsp_writer_start();
}

void
lsp_writer_fatal_here(int sig)
{
	write_last(LS_SNAP_EXIT, sig);
}

void
lsp_writer_exec(void)
{
	write_last(LS_SNAP_EXEC, 0);
	lsp_signals_fatal_exit();
}

void
lsp_writer_abort(void)
{
	write_last(LS_SNAP_ABORT, 0);
	lsp_signals_fatal_exit();
}

void
lsp_writer_keep(void)
{
	lsp_guard_enter();
	lsp_reach_hurry();
	pthread_mutex_lock(&write_lock);
	lsp_dump_keep();
	pthread_mutex_unlock(&write_lock);
	lsp_guard_leave();
}

void
lsp_writer_exec_failed(void)
{
	lsp_guard_enter();
	pthread_mutex_lock(&write_lock);
	ws.final_done = false;
	lsp_reach_uncancel();
	lsp_threads_ending(false);
	pthread_mutex_unlock(&write_lock);
	lsp_guard_leave();
}

void
lsp_writer_prefork(void)
{
	lsp_reach_hurry();
	pthread_mutex_lock(&write_lock);
}

void
lsp_writer_postfork_parent(void)
{
	pthread_mutex_unlock(&write_lock);
}

void
lsp_writer_postfork_child(void)
{
	char parent_path[LSP_PATH_MAX];

	pthread_mutex_init(&write_lock, NULL);
	memcpy(parent_path, lsp_cfg.path, sizeof(parent_path));
	forget_dump();
	sem_init(&wake, 0, 0);
	/* The parent's sandbox holds here too: no dump, no system call. */
	if (lsp_in_sandbox()) {
		ws.disabled = true;
		return;
	}
	lsp_dump_postfork_child();
	start_mono_ns = now_ns(CLOCK_MONOTONIC);
	start_real_ns = now_ns(CLOCK_REALTIME);
	/* A template without %p would name the parent's dump: the child
	 * then writes none. */
	if (!lsp_config_repath() || strcmp(parent_path, lsp_cfg.path) == 0)
		ws.disabled = true;
	/* The child's dump and writer start now, not lazily: a child that
	 * goes on to install a seccomp filter (sshd's privilege-separated
	 * one) must see no open or clone from leakspy after it.  The C
	 * library has reset its own locks before fork handlers run. */
	create_header();
	if (!ws.disabled && (lsp_cfg.interval_ms != 0 || lsp_cfg.signo != 0))
		start_thread();
	lsp_signals_postfork_child();
}
