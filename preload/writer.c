/* SPDX-License-Identifier: MIT */
/*
 * Snapshots and the dump file.  Runs in the writer thread (interval and
 * signal snapshots, all signals blocked), in the library destructor (the
 * final snapshot) and in lsp_boot() (the first records).  The signal
 * handler only posts a semaphore.
 *
 * The dump is opened for each write-out and closed again, so that leakspy
 * never holds a descriptor the host could close and reuse.  A write-out
 * that fails is cut off again with ftruncate, so the file stays a sequence
 * of complete records.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "hash.h"
#include "lsp.h"

#define PREV_SHIFT	12
#define PREV_CHUNKS	4096
#define SITES_PER_REC	2048	/* records of some 25 KiB */
#define STACKS_PER_REC	256	/* some 30 KiB at depth 16 */
#define EXIT_WAIT_MS	1000
#define LSP_STRETCH	1000

/* Figures of a site as last written, to write only what changed. */
struct prev {
	int64_t live_bytes;
	int64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

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
	struct prev *prev[PREV_CHUNKS];
	struct lsp_agemap ages;	/* as last written */
} ws;

/* Written at boot (and in a fork child), before any reader. */
static uint64_t start_mono_ns, start_real_ns;

/* The wake-up of the writer thread; posted by the signal handler. */
static sem_t wake;
/* Posted by the writer thread once it has set itself up. */
static sem_t ready;
static int sig_pending;		/* atomic */
static bool thread_started;

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

static void
emit_process(struct ls_buf *b)
{
	char cmdline[4096];
	const char *note = "";
	char notebuf[LSP_PATH_MAX + 64];
	uint64_t flags = 0;
	ssize_t n;
	int fd, argc = 0, i;
	size_t r;
	Dl_info info, self;
	void *bound = dlsym(RTLD_DEFAULT, "malloc");

	n = 0;
	fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmdline, sizeof(cmdline));
		close(fd);
	}
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++)
		argc += cmdline[i] == '\0';

	/* The program's calls reach leakspy only if "malloc" resolves into
	 * this library (an executable that defines malloc wins). */
	if (bound == NULL || dladdr(bound, &info) == 0 ||
	    dladdr((void *)lsp_writer_start, &self) == 0 ||
	    info.dli_fbase != self.dli_fbase) {
		struct ls_fmt f;

		flags |= LS_PF_INTERPOSE_FAILED;
		ls_fmt_init(&f, notebuf, sizeof(notebuf));
		ls_fmt_str(&f, "interposition failed: malloc bound to ");
		ls_fmt_str(&f, bound && info.dli_fname && info.dli_fname[0] ?
		    info.dli_fname : "the executable");
		note = notebuf;
	}

	r = ls_rec_begin(b, LS_REC_PROCESS);
	ls_buf_uv(b, (uint64_t)getpid());
	ls_buf_uv(b, (uint64_t)getppid());
	ls_buf_uv(b, start_real_ns);
	ls_buf_str(b, lsp_exe, strlen(lsp_exe));
	ls_buf_uv(b, (uint64_t)argc);
	for (i = 0; i < n;) {
		size_t len = strnlen(cmdline + i, (size_t)(n - i));

		ls_buf_str(b, cmdline + i, len);
		i += (int)len + 1;
		if (--argc == 0)
			break;
	}
	ls_buf_uv(b, flags);
	ls_buf_str(b, note, strlen(note));
	/* Where allocation is implemented: the next allocator, libc (strdup,
	 * stdio) and the dynamic loader (thread and TLS set-up). */
	ls_buf_uv(b, 3);
	ls_buf_uv(b, (uintptr_t)lsp_real.malloc);
	ls_buf_uv(b, (uintptr_t)getpid);
	ls_buf_uv(b, getauxval(AT_BASE));
	ls_buf_uv(b, lsp_cfg.depth);
	ls_buf_uv(b, lsp_cfg.interval_ms);
	ls_buf_uv(b, lsp_cfg.sample);
	ls_buf_uv(b, lsp_fork_epoch);
	ls_buf_str(b, lsp_name, strlen(lsp_name));
	ls_rec_end(b, r);
}

/* Append STACKS records for sites from ws.stacks_written; returns the
 * number of sites whose stacks the buffer now covers. */
static uint32_t
emit_stacks(struct ls_buf *b)
{
	uint32_t n = lsp_site_count(), id = ws.stacks_written;

	while (id < n) {
		size_t r = ls_rec_begin(b, LS_REC_STACKS);
		uint32_t first = id, cnt = n - id;
		struct lsp_site_view v;
		unsigned i;

		if (cnt > STACKS_PER_REC)
			cnt = STACKS_PER_REC;
		/* A site is counted before its slot is filled; stop there. */
		for (i = 0; i < cnt; i++)
			if (!lsp_site_get(first + i, &v))
				break;
		cnt = i;
		ls_buf_uv(b, cnt);
		for (i = 0; i < cnt; i++) {
			const uint8_t *c;
			uintptr_t frame = 0;
			unsigned k;

			lsp_site_get(first + i, &v);
			ls_buf_uv(b, first + i);
			ls_buf_uv(b, v.gen);
			ls_buf_uv(b, v.api);
			ls_buf_uv(b, v.flags);
			ls_buf_uv(b, v.nframes);
			for (k = 0, c = v.code; k < v.nframes; k++) {
				frame = lsp_frame_next(&c, frame);
				ls_buf_uv(b, frame);
			}
		}
		ls_rec_end(b, r);
		lsp_dump_spill(b);
		if (cnt > 0) {
			r = ls_rec_begin(b, LS_REC_STACK_THREADS);
			ls_buf_uv(b, first);
			ls_buf_uv(b, cnt);
			for (i = 0; i < cnt; i++) {
				char name[16];

				lsp_site_get(first + i, &v);
				lsp_thread_name(v.thread, name);
				ls_buf_str(b, name, strlen(name));
			}
			ls_rec_end(b, r);
			lsp_dump_spill(b);
		}
		id = first + cnt;
		if (cnt == 0 || (id < n && cnt < STACKS_PER_REC))
			break;
	}
	return id;
}

static struct prev *
prev_of(uint32_t id)
{
	struct prev **chunk = &ws.prev[id >> PREV_SHIFT];

	if (*chunk == NULL)
		*chunk = ls_map(sizeof(struct prev) << PREV_SHIFT);
	return *chunk ? &(*chunk)[id & ((1u << PREV_SHIFT) - 1)] : NULL;
}

static uint64_t
clamp0(int64_t v)
{
	return v < 0 ? 0 : (uint64_t)v;
}

static void
emit_snapshot(struct ls_buf *b, uint32_t nsites, unsigned reason,
    unsigned ep, const struct lsp_agemap *ages, const struct lsp_ages_plan *plan)
{
	size_t r = 0;
	uint32_t id, written = 0, in_rec = 0, nages;
	unsigned i;

	r = ls_rec_begin(b, LS_REC_SNAPSHOT);
	ls_buf_uv(b, ws.snap_index);
	ls_buf_uv(b, lsp_run_ns());
	ls_buf_uv(b, now_ns(CLOCK_REALTIME));
	ls_buf_uv(b, reason);
	ls_buf_uv(b, LS_CNT_COUNT);
	for (i = 0; i < LS_CNT_COUNT; i++)
		ls_buf_uv(b, __atomic_load_n(&lsp_counters[i],
		    __ATOMIC_RELAXED));
	ls_buf_uv(b, ep);
	ls_buf_uv(b, ages->failed ? 0 : 1);
	ls_rec_end(b, r);

	for (id = 0; id < nsites; id++) {
		struct lsp_site_view v;
		struct prev *p = prev_of(id);
		struct prev now;

		if (!lsp_site_get(id, &v))
			continue;
		now.live_bytes = v.live_bytes;
		now.live_blocks = v.live_blocks;
		now.alloc_bytes = v.alloc_bytes;
		now.alloc_blocks = v.alloc_blocks;
		if (p != NULL && !ws.resync && memcmp(p, &now, sizeof(now)) == 0)
			continue;
		if (p != NULL)
			*p = now;
		if (in_rec == 0) {
			r = ls_rec_begin_counted(b, LS_REC_SITES,
			    ws.snap_index);
		}
		ls_buf_uv(b, id);
		ls_buf_uv(b, clamp0(now.live_bytes));
		ls_buf_uv(b, clamp0(now.live_blocks));
		ls_buf_uv(b, now.alloc_bytes);
		ls_buf_uv(b, now.alloc_blocks);
		written++;
		if (++in_rec == SITES_PER_REC) {
			ls_rec_end_counted(b, r, in_rec);
			in_rec = 0;
			lsp_dump_spill(b);
		}
	}
	if (in_rec != 0)
		ls_rec_end_counted(b, r, in_rec);
	nages = ages->failed ? 0 : lsp_ages_emit(b, ages, &ws.ages, plan,
	    ws.snap_index);
	lsp_threads_emit(b, ws.snap_index);
	r = ls_rec_begin(b, LS_REC_SNAPSHOT_END);
	ls_buf_uv(b, ws.snap_index);
	ls_buf_uv(b, written);
	ls_buf_uv(b, nages);
	ls_rec_end(b, r);
}

/*
 * After a failed write-out: say so in the dump, where a record this small
 * still fits (a full device has the failed write-out's room again).
 */
static void
write_lost(unsigned reason, bool final, int err)
{
	struct ls_buf *b = &ws.buf;
	size_t r;

	b->len = 0;
	b->err = 0;
	r = ls_rec_begin(b, LS_REC_LOST);
	ls_buf_uv(b, reason);
	ls_buf_uv(b, final);
	ls_buf_uv(b, (uint64_t)err);
	ls_rec_end(b, r);
	(void)lsp_dump_end(b);
}

/* Build and append one snapshot.  Caller holds write_lock and the guard. */
static void
write_out(unsigned reason, bool final)
{
	unsigned how = ws.fatal_signo != 0 ? LS_FINAL_SIGNAL :
	    reason == LS_SNAP_EXEC ? LS_FINAL_EXEC :
	    reason == LS_SNAP_ABORT ? LS_FINAL_ABORT : LS_FINAL_EXIT;

	struct ls_buf *b = &ws.buf;
	struct lsp_agemap ages = { 0 };
	struct lsp_ages_plan plan = { 0 };
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
	if (!ws.header_done) {
		ls_dump_header(b);
		emit_process(b);
	}
	lsp_modules_scan();
	lsp_modules_emit(b);
	covered = emit_stacks(b);
	ages.covered = covered;
	lsp_ages_reserve(&ages, ws.ages.count + ws.ages.count / 4 + 1024);
	lsp_record_scan(lsp_ages_count, &ages);
	if (!ages.failed && !lsp_ages_plan(&plan, &ages, &ws.ages))
		ages.failed = true;
	emit_snapshot(b, covered, reason, ep, &ages, &plan);
	lsp_ages_plan_free(&plan);
	if (final) {
		size_t rec = ls_rec_begin(b, LS_REC_FINAL);

		ls_buf_uv(b, how);
		if (how == LS_FINAL_SIGNAL)
			ls_buf_uv(b, (uint64_t)ws.fatal_signo);
		ls_rec_end(b, rec);
	}
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

	(void)arg;
	lsp_guard_enter();	/* for good: the writer is all leakspy */
	prctl(PR_SET_NAME, "leakspy-writer", 0, 0, 0);
	sem_post(&ready);
	for (;;) {
		unsigned reason;
		int r, sig;

		if (interval != 0) {
			struct timespec ts = {
				.tv_sec = (time_t)(next / 1000000000u),
				.tv_nsec = (long)(next % 1000000000u),
			};

			r = sem_clockwait(&wake, CLOCK_MONOTONIC, &ts);
		} else {
			r = sem_wait(&wake);
		}
		if (r != 0 && errno == EINTR)
			continue;
		/* In a sandbox: asleep until lsp_writer_unsandbox(). */
		while (lsp_in_sandbox())
			(void)sem_wait(&wake);
		if ((sig = lsp_signals_fatal()) != 0) {
			write_last(LS_SNAP_EXIT, sig);
			lsp_signals_fatal_done();
			continue;
		}
		if (__atomic_exchange_n(&sig_pending, 0, __ATOMIC_ACQ_REL))
			reason = LS_SNAP_SIGNAL;
		else if (r != 0)
			reason = LS_SNAP_INTERVAL;
		else
			continue;
		pthread_mutex_lock(&write_lock);
		write_out(reason, false);
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
		ls_dump_header(b);
		emit_process(b);
		lsp_config_emit(b);
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
	if (lsp_cfg.interval_ms != 0 || lsp_cfg.signo != 0)
		start_thread();
	lsp_signals_init(lsp_cfg.signo, on_snapshot_signal);
}

void
lsp_writer_sandbox(void)
{
	lsp_guard_enter();
	pthread_mutex_lock(&write_lock);
	write_out(LS_SNAP_SANDBOX, false);
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
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (EXIT_WAIT_MS % 1000) * 1000000L;
	ts.tv_sec += EXIT_WAIT_MS / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	/* Bounded: a writer stuck in a slow write must not hold exit. */
	if (pthread_mutex_clocklock(&write_lock, CLOCK_MONOTONIC, &ts) == 0) {
		ws.fatal_signo = sig;
		write_out(reason, true);
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
	pthread_mutex_unlock(&write_lock);
	lsp_guard_leave();
}

void
lsp_writer_prefork(void)
{
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
	lsp_modules_forget_written();
	ws.header_done = false;
	ws.resync = true;
	ws.stacks_written = 0;
	ws.snap_index = 0;
	ws.warned_write = false;
	ws.fatal_signo = 0;
	ws.final_done = false;
	lsp_ages_free(&ws.ages);
	thread_started = false;
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
