/* SPDX-License-Identifier: MIT */
/*
 * Internal interface of libleakspy.so: the real allocator, configuration,
 * the recursion guard, the tables and the writer.
 */
#ifndef LS_LSP_H
#define LS_LSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "compiler.h"
#include "dump.h"
#include "hash.h"
#include "leb128.h"

#define LS_MAX_FRAMES		256
#define LSP_PATH_MAX		4096

/* The next allocator, resolved with dlsym(RTLD_NEXT) by lsp_boot(). */
struct lsp_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	int (*dlclose)(void *);
	void (*_exit)(int) __attribute__((noreturn));
};

/* Written once by lsp_boot() before lsp_state becomes LSP_ACTIVE. */
extern struct lsp_real lsp_real __attribute__((visibility("hidden")));

enum {
	LSP_UNINIT,	/* nothing resolved yet */
	LSP_BOOTING,	/* lsp_boot() is running */
	LSP_ACTIVE,	/* tracking */
	LSP_PASSIVE,	/* forwarding only: disabled, setuid, or failed */
	LSP_DORMANT,	/* loaded by dlopen, not attached (attach.c) */
};

/* Written by lsp_boot() (release), read by interposers (acquire). */
extern int lsp_state;

/*
 * The recursion guard: non-zero while this thread runs leakspy code, so
 * allocations made from there (libunwind, dl_iterate_phdr, a signal
 * handler interrupting the shim) go straight to the real allocator.
 */
extern __thread int lsp_guard __attribute__((tls_model("initial-exec")));

/* What the hot path adds to lsp_guard while it records: an allocation seen
 * with the guard at least this high re-entered the shim from inside a
 * record (libunwind, or a signal handler) and is counted as untracked;
 * lower values are leakspy's own work. */
#define LSP_GUARD_RECORD 0x10000

/* Leakspy's own work on this thread begins or ends (nests). */
static inline void
lsp_guard_enter(void)
{
	lsp_guard++;
}

static inline void
lsp_guard_leave(void)
{
	lsp_guard--;
}

/* The recording path (an interposer's record, pthread_create's) begins
 * or ends: what it allocates meanwhile is re-entrant, not leakspy's. */
static inline void
lsp_guard_enter_record(void)
{
	lsp_guard += LSP_GUARD_RECORD;
}

static inline void
lsp_guard_leave_record(void)
{
	lsp_guard -= LSP_GUARD_RECORD;
}

/* Inside the recording path, leakspy's own allocations (not re-entrant
 * ones) come between these two. */
static inline void
lsp_guard_own_begin(void)
{
	lsp_guard -= LSP_GUARD_RECORD - 1;
}

static inline void
lsp_guard_own_end(void)
{
	lsp_guard += LSP_GUARD_RECORD - 1;
}

/* Settings from LEAKSPY_*; written by lsp_config_read() only. */
struct lsp_config {
	char path[LSP_PATH_MAX];	/* absolute dump path, expanded */
	char tmpl[LSP_PATH_MAX];	/* absolute template, for children */
	unsigned depth;
	unsigned interval_ms;		/* 0: no periodic snapshots */
	int signo;			/* 0: no snapshot signal */
	bool follow_exec;
	unsigned unwind;		/* LSP_UNWIND_* */
	uint64_t sample;		/* mean bytes between samples; 0: all */
	unsigned scan_ms;		/* heap scans while running; 0: none */
	unsigned scan_growth;		/* percent of growth that scans; 0 */
};
extern struct lsp_config lsp_cfg;

/* LEAKSPY_UNWIND: fast walk with libunwind behind it; libunwind only;
 * both, compared on every stack. */
#define LSP_UNWIND_FAST		0
#define LSP_UNWIND_LIBUNWIND	1
#define LSP_UNWIND_CHECK	2

/* The writer thread's id, once it runs (0 before): leakspy's own, never
 * stopped by the heap scan, its stack no root. */
extern pid_t lsp_writer_tid;

/* The pid this process's dump belongs to; set by lsp_boot() and in a fork
 * child.  A vfork child sees its parent's value and so does nothing. */
extern pid_t lsp_pid;

/* The executable's path, set by lsp_boot(); "" if unknown. */
extern char lsp_exe[];
/* The name the program was run as (a symbolic link's, not its target's),
 * set by lsp_boot(). */
#define LSP_NAME_MAX	256
extern char lsp_name[LSP_NAME_MAX];

/* Set (under the writer's lock) just before the host installs a seccomp
 * filter: from then on leakspy makes no system call of its own, since the
 * filter may kill the process for any it does not list (sandbox.c). */
extern bool lsp_sandboxed;

static inline bool
lsp_in_sandbox(void)
{
	return __atomic_load_n(&lsp_sandboxed, __ATOMIC_ACQUIRE);
}

/* In a fork child: the first epoch of its own blocks (0: not a child). */
extern unsigned lsp_fork_epoch;

/* Coverage counters (LS_CNT_*), updated with relaxed atomics. */
extern unsigned long lsp_counters[LS_CNT_COUNT];

static inline void
lsp_count(unsigned which)
{
	__atomic_fetch_add(&lsp_counters[which], 1, __ATOMIC_RELAXED);
}

/* boot.c */

/* Resolve the real allocator, read the configuration and start tracking.
 * Safe to call from any interposer; runs once. */
void lsp_boot(void);

/* The next definition of name (dlsym RTLD_NEXT); aborts if none.  Only
 * for the allocator's functions, without which nothing can run. */
void *lsp_need_sym(const char *name);
/* The same, or NULL: the interposer then fails with ENOSYS. */
void *lsp_next_sym(const char *name);

/* Serve an allocation while lsp_boot() runs, from a static pool. */
void *lsp_boot_alloc(size_t n, size_t align);

/* The static bootstrap pool, and how many blocks were mapped beyond it
 * (written once each by lsp_boot_alloc). */
#define LSP_BOOT_POOL	(64u << 10)
extern char lsp_boot_pool[LSP_BOOT_POOL];
extern unsigned lsp_boot_nmaps;
bool lsp_is_boot_map(const void *p);

/* True if p came from lsp_boot_alloc().  Hot path. */
static inline bool
lsp_is_boot_ptr(const void *p)
{
	if ((uintptr_t)p - (uintptr_t)lsp_boot_pool < LSP_BOOT_POOL)
		return true;
	return LS_UNLIKELY(__atomic_load_n(&lsp_boot_nmaps,
	    __ATOMIC_RELAXED) != 0) && lsp_is_boot_map(p);
}
/* Usable size of a bootstrap block. */
size_t lsp_boot_size(const void *p);

/* The value of name in the environment, or NULL.  Boot only: leakspy is
 * passive in secure-execution mode, so this is secure_getenv's answer. */
char *lsp_env(const char *name);

/* Write "leakspy: msg: detail" to fd 2.  Async-signal-safe. */
void lsp_warn(const char *msg, const char *detail);

/* config.c */

/* Read every LEAKSPY_* setting into lsp_cfg (at boot, once); say on fd 2
 * what is refused and what is used instead, and keep it for the dump. */
void lsp_config_read(void);

/* Expand the output template again with the current pid (fork child). */
bool lsp_config_repath(void);

/* Append a SETTING record for each setting lsp_config_read() refused
 * (writer, under its lock, right after PROCESS). */
void lsp_config_emit(struct ls_buf *b);

/* unwind.c */

/* Set up stack capture; call from lsp_boot(). */
void lsp_unwind_init(void);

/*
 * Capture up to lsp_cfg.depth return addresses of the caller of the
 * interposer into f (room for LS_MAX_FRAMES), innermost first; sets
 * *truncated when the stack was deeper.  Hot path.
 */
unsigned lsp_unwind(uintptr_t *f, bool *truncated);

/* An address inside libunwind, to recognize its frames. */
const void *lsp_unwind_addr(void);

/* Drop cached unwind information (after dlclose). */
void lsp_unwind_flush(void);

/* cfi.c */

/*
 * Unwind rules, one per return address, as a u32: kind in bits
 * 0-1; rbp's save slot as CFA - 8k, k in bits 2-7 (0: rbp unchanged);
 * the CFA's offset from rsp or rbp in bits 8-31.
 */
#define LSP_RULE_SLOW		0u	/* not modelled: use libunwind */
#define LSP_RULE_RSP		1u	/* CFA = rsp + off */
#define LSP_RULE_RBP		2u	/* CFA = rbp + off (frame pointer) */
#define LSP_RULE_END		3u	/* outermost frame */
#define LSP_RULE_MAX_OFF	(1u << 24)
#define LSP_RULE_MAX_RBP	63

static inline uint32_t
lsp_rule_make(uint32_t kind, uint32_t off, uint32_t k)
{
	return kind | k << 2 | off << 8;
}

static inline uint32_t lsp_rule_kind(uint32_t r) { return r & 3; }
static inline uint32_t lsp_rule_rbp(uint32_t r) { return (r >> 2) & 63; }
static inline uint32_t lsp_rule_off(uint32_t r) { return r >> 8; }

void lsp_cfi_init(void);
void lsp_cfi_flush(void);

/* The rules known, by return address (cfi.c says how they are kept),
 * each as the walk uses it: its kind, offset and rbp slot apart. */
struct lsp_rule_slot {
	uint64_t key;		/* the return address; 0: empty */
	uint32_t off;		/* lsp_rule_off */
	uint16_t k8;		/* 8 * lsp_rule_rbp */
	uint8_t kind;		/* lsp_rule_kind */
	uint8_t unused;
};

static inline uint32_t
lsp_slot_rule(const struct lsp_rule_slot *s)
{
	return lsp_rule_make(s->kind, s->off, s->k8 / 8u);
}

struct lsp_rule_table {
	unsigned bits;
	unsigned fill;		/* atomic */
	struct lsp_rule_slot slot[];
};

#define LSP_RULE_PROBES	16

extern struct lsp_rule_table *lsp_rules	/* acquire: the current table */
    __attribute__((visibility("hidden")));

/* ip's home slot: its low bits.  Return addresses are spread over the
 * code without a pattern in them, and the walk's lookups depend one on
 * the other, so the index costs one instruction, not a multiply. */
static inline unsigned
lsp_rule_slot_of(uintptr_t ip, unsigned bits)
{
	return (unsigned)ip & ((1u << bits) - 1);
}

/* lsp_rule_lookup's slow path: ip is not in table t (or there is none
 * yet): read its rule from the unwind tables, and keep it. */
uint32_t lsp_rule_miss(struct lsp_rule_table *t, uintptr_t ip);

/* The rule of ip in table t, probing from slot at + from (at: ip's
 * slot); read from the unwind tables and kept if it is not there. */
static inline uint32_t
lsp_rule_probe(struct lsp_rule_table *t, unsigned at, uintptr_t ip,
    unsigned from)
{
	unsigned i, mask = (1u << t->bits) - 1;

	for (i = from; i < LSP_RULE_PROBES; i++) {
		const struct lsp_rule_slot *s = &t->slot[(at + i) & mask];
		uint64_t key = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);

		if (key == ip)
			return lsp_slot_rule(s);
		if (key == 0)
			break;
	}
	return lsp_rule_miss(t, ip);
}

/* The rule for return address ip, read from the unwind tables on the
 * first lookup.  Lock-free; async-signal-safe. */
static inline uint32_t
lsp_rule_lookup(uintptr_t ip)
{
	struct lsp_rule_table *t = __atomic_load_n(&lsp_rules,
	    __ATOMIC_ACQUIRE);

	if (LS_UNLIKELY(t == NULL))
		return lsp_rule_miss(t, ip);
	return lsp_rule_probe(t, lsp_rule_slot_of(ip, t->bits), ip, 0);
}

/* blocks.c: the live-block table and the record entry points. */

/* Allocate the site and live-block tables; returns 0 or -ENOMEM. */
int lsp_record_init(void);

/* Record a new block p of n bytes from entry point api.  Hot path. */
void lsp_record_alloc(void *p, size_t n, unsigned api);

/* Forget block p; returns false if it was unknown.  Hot path. */
bool lsp_record_free(void *p);

/*
 * Remove block p and return its site, size and epoch, so that a failed
 * realloc can put it back with lsp_record_restore().  Hot path.
 */
bool lsp_record_take(void *p, uint32_t *site, size_t *size, unsigned *ep);
void lsp_record_restore(void *p, uint32_t site, size_t size, unsigned ep);

/*
 * Start a new epoch: blocks allocated from now on carry the returned
 * number (it stops at 65535).  Called by the writer as a snapshot begins.
 */
unsigned lsp_epoch_next(void);

/*
 * Call fn for every live block, shard by shard (each shard locked while
 * it is copied; fn is called after), with the bytes and blocks it stands
 * for (itself, or in sampled mode its estimate).  Callers hold the
 * writer's lock.  Lock order: shard, then big-block table (taken under
 * a shard's lock only when no copy of the shard could be mapped).
 */
void lsp_record_scan(void (*fn)(void *ctx, uint32_t site, unsigned ep,
    uint64_t bytes, uint64_t blocks), void *ctx);

/*
 * Call fn for every live block with its address, its real size (never a
 * sampled estimate) and its site, reading the tables without their
 * locks: for the heap scan, which runs where no other thread can change
 * them (a raw clone's child, or at exit with the other threads
 * stopped).  A thread stopped inside an insert or a remove may leave one
 * entry of its shard missing or stale.  Async-signal-safe.
 */
void lsp_record_each_block(void (*fn)(void *ctx, uintptr_t addr,
    uint64_t size, uint32_t site), void *ctx);

/* fork handling for the tables' locks (the site table's, then the
 * live-block table's). */
void lsp_record_lock_all(void);
void lsp_record_unlock_all(void);
void lsp_record_reset_locks(void);

/* sample.c: sampled mode (lsp_weigh and the filter's counts: sample.h). */

/* Sampled mode: bytes this thread has left to its next sample point
 * (drawn from an exponential distribution with mean lsp_cfg.sample, so
 * at least 1); 0 until the first draw, and always in full mode. */
extern __thread uint64_t lsp_sample_left
    __attribute__((tls_model("initial-exec"), visibility("hidden")));

/*
 * This thread's allocation reached its sample point, or the thread has
 * none yet: draw the next one into lsp_sample_left.  True if the
 * allocation is to be recorded; false for a thread's first, whose point
 * is only drawn.
 */
bool lsp_sample_draw_next(void);

/*
 * The fast path of sampled mode: true if an allocation of n bytes falls
 * short of this thread's next sample point, which it then moves n bytes
 * closer.  False in full mode, before start-up and in a thread's first
 * allocation (lsp_sample_left is 0), so that the caller takes the path
 * that checks all that.  Hot path.
 */
static inline bool
lsp_sample_skip(size_t n)
{
	uint64_t left = lsp_sample_left;

	if (LS_LIKELY(n < left)) {
		lsp_sample_left = left - n;
		return true;
	}
	return false;
}

/* Sampled mode: should this allocation of n bytes be recorded? */
static inline bool
lsp_sample_due(size_t n)
{
	return !lsp_sample_skip(n) && lsp_sample_draw_next();
}

/*
 * Filter over recorded blocks, for sampled mode: a set bit for p means p
 * is certainly not a recorded block (nor a bootstrap one), so its free
 * needs nothing of leakspy.  All bits are clear (anything may be
 * recorded) until lsp_filter_open(), which sampled mode calls at the end
 * of start-up; in full mode they stay clear.  A block's slot is its
 * address in 16-byte units modulo 2^LSP_FILTER_BITS, without a hash, so
 * that frees of neighbouring blocks read the same bitmap word.
 */
#define LSP_FILTER_BITS 15
extern uint64_t lsp_filter[(1u << LSP_FILTER_BITS) / 64]
    __attribute__((visibility("hidden")));

static inline unsigned
lsp_filter_slot(const void *p)
{
	return (unsigned)((uintptr_t)p >> 4) & ((1u << LSP_FILTER_BITS) - 1);
}

/* Start-up only (nothing is recorded yet): set the bits of all slots but
 * bootstrap blocks'; keep bootstrap block p's clear for good. */
void lsp_filter_open(void);
void lsp_filter_pin(const void *p);

/* The filter's summary: bit j is set while all 8 bits of lsp_filter's
 * byte j are, so that the entry points read one of 8 cache lines, which
 * stay in the first-level cache, not one of the bitmap's 64. */
extern uint64_t lsp_filter_sum[(1u << LSP_FILTER_BITS) / 512]
    __attribute__((visibility("hidden")));

/* True if p is certainly not a recorded block, by the summary: the entry
 * points' test.  Hot path. */
static inline bool
lsp_unrecorded(const void *p)
{
	unsigned i = lsp_filter_slot(p);

	return (__atomic_load_n(&lsp_filter_sum[i / 512], __ATOMIC_RELAXED) >>
	    (i / 8 % 64)) & 1;
}

/* Where lsp_unrecorded(p) is false, the same by p's own bit: the slow
 * paths' test.  In full mode every block is recorded: false unread. */
static inline bool
lsp_unrecorded_slot(const void *p)
{
	unsigned i = lsp_filter_slot(p);

	return lsp_cfg.sample != 0 && ((__atomic_load_n(&lsp_filter[i / 64],
	    __ATOMIC_RELAXED) >> (i % 64)) & 1);
}

/* sites.c: the site as the writer sees it (the table's inside: sites.h). */

/*
 * A site keeps its frames delta-coded: each frame's difference from the
 * one before (the first's from 0), zigzag-mapped, in LEB128 (src/leb128.h),
 * so that the frames within one object take 1 to 3 bytes where 8 would
 * be kept whole.
 */

/* The frame after prev, read from *c, which moves past it. */
static inline uintptr_t
lsp_frame_next(const uint8_t **c, uintptr_t prev)
{
	return prev + (uintptr_t)ls_unzigzag(ls_uv_get_own(c));
}

/* A site as the writer sees it. */
struct lsp_site_view {
	const uint8_t *code;		/* nframes frames: lsp_frame_next */
	unsigned nframes;
	unsigned api;
	unsigned flags;
	unsigned thread;		/* name id */
	unsigned gen;
	int64_t live_bytes;
	int64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

/* Number of sites published so far (ids 0 .. n-1 are readable). */
uint32_t lsp_site_count(void);

/* Read site id; false if not yet published. */
bool lsp_site_get(uint32_t id, struct lsp_site_view *v);

/* threads.c */

#define LSP_MAX_NAMES	1024	/* distinct thread names */

/* This thread's name id: its registry entry's (another thread may rename
 * it), or its own if it has no entry.  Hot path. */
extern __thread const uint16_t *lsp_name_ref
    __attribute__((tls_model("initial-exec")));
extern __thread uint16_t lsp_unreg_name
    __attribute__((tls_model("initial-exec")));

static inline unsigned
lsp_thread_name_id(void)
{
	const uint16_t *r = lsp_name_ref;

	return r ? __atomic_load_n(r, __ATOMIC_RELAXED) : lsp_unreg_name;
}

void lsp_threads_init(void);
/* The name with id id (NUL-terminated, at most 15 characters). */
void lsp_thread_name(unsigned id, char out[16]);
/* Append a THREADS record of the entries changed since the last one. */
void lsp_threads_emit(struct ls_buf *b, unsigned index);
/* After a write-out: written entries are done with (ok) or kept. */
void lsp_threads_commit(bool ok);
/* Put the ids of the registry's threads that started and have not ended
 * in out (at most cap); returns how many there are, which may exceed
 * cap.  Takes the registry's lock (roots.h: lock order). */
size_t lsp_threads_tids(pid_t *out, size_t cap);

/* The same with each thread's serial and thread pointer, at most cap of
 * them; returns how many.  Takes the registry's lock. */
size_t lsp_threads_serials(pid_t *tid, uint64_t *serial, uintptr_t *tp,
    size_t cap);

/* The thread pointers of up to cap of the last 256 threads that ended
 * (their stacks may be in glibc's cache); returns how many. */
size_t lsp_threads_ended(uintptr_t *tp, size_t cap);
void lsp_threads_lock(void);
void lsp_threads_unlock(void);
void lsp_threads_postfork_child(void);
void lsp_threads_ending(bool ending);
int lsp_next_pthread_create(pthread_t *th, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg);

/* signals.c */

/* Watch the snapshot signal signo (0: none; note runs in its handler)
 * and SIGTERM, SIGINT and SIGHUP (their final snapshot). */
void lsp_signals_init(int signo, void (*note)(void));
/* release: give the kernel the program's own dispositions (a seccomp
 * sandbox goes on); !release: take the watched signals back. */
void lsp_signals_release(bool release);
/* Writer thread: the fatal signal whose final snapshot is due, or 0;
 * then lsp_signals_fatal_done() once it is written (it may end the
 * process). */
int lsp_signals_fatal(void);
void lsp_signals_fatal_done(void);
/* Exit path: if a fatal signal came first, wait for its snapshot and die
 * of it. */
void lsp_signals_fatal_exit(void);
void lsp_signals_postfork_child(void);
/* End the process by sig's default action.  Async-signal-safe. */
void lsp_die_of(int sig) __attribute__((noreturn));

/* The borrowed signals' functions (lsp_signals_lock, _borrow, ...) are
 * declared in roots.h, which includes <signal.h>. */

/* modules.c */

/* Current module generation; stacks are stamped with it.  Hot path. */
unsigned lsp_modgen(void);

/* Re-read the list of loaded modules (dl_iterate_phdr). */
void lsp_modules_scan(void);

/* Append MODULE/MODULE_GONE records not yet written; marks them pending. */
void lsp_modules_emit(struct ls_buf *b);
/* After a write-out: pending marks become written (ok) or are dropped. */
void lsp_modules_commit(bool ok);

/* Forget what was written (a fork child starts a new dump). */
void lsp_modules_forget_written(void);

void lsp_modules_lock(void);
void lsp_modules_unlock(void);
void lsp_modules_reset_lock(void);

/* leakspy's and libunwind's executable ranges (start, size); written
 * once at boot. */
extern uintptr_t lsp_own[4][2] __attribute__((visibility("hidden")));
extern unsigned lsp_nown __attribute__((visibility("hidden")));

/* True if ip lies in leakspy's or libunwind's own code.  Hot path. */
static inline bool
lsp_is_own_ip(uintptr_t ip)
{
	unsigned i;

	for (i = 0; i < lsp_nown; i++)
		if (ip - lsp_own[i][0] < lsp_own[i][1])
			return true;
	return false;
}

/* Find the text ranges of leakspy and libunwind; call from lsp_boot(). */
void lsp_modules_init(void);

/* attach.c and got.c: attach.h */
#include "attach.h"

/* writer.c */

/* Create the dump and write its first records; start the writer thread
 * when an interval or signal is configured. */
void lsp_writer_start(void);

/* Take a snapshot now, from the calling thread (exit path). */
void lsp_writer_final(void);
/* leakspy_detach(): the last snapshot (FINAL detach), then the writer
 * thread ends and the program's signal dispositions go back. */
void lsp_writer_detach(void);
/* Nanoseconds since the process (or fork child) started, as snapshots
 * count them. */
uint64_t lsp_run_ns(void);
/* Before an exec: the last snapshot, marked so that a failed exec may go
 * on (lsp_writer_exec_failed). */
void lsp_writer_exec(void);
/* Before abort(): the last snapshot. */
void lsp_writer_abort(void);

void lsp_writer_exec_failed(void);

/* Wake the writer thread; false if there is none (no interval, no
 * snapshot signal).  Async-signal-safe. */
bool lsp_writer_wake(void);
/* The final snapshot of fatal signal sig, from the signal's own handler,
 * where there is no writer thread: only from a thread outside leakspy's
 * code (lsp_guard 0), which holds none of its locks. */
void lsp_writer_fatal_here(int sig);

/* Before a chroot or a change of ids (host thread): keep the dump's
 * descriptors (lsp_dump_keep) under the writer's lock. */
void lsp_writer_keep(void);

/* Before a seccomp filter goes on (host thread): the last snapshot, marked
 * "sandbox", then lsp_sandboxed; lsp_writer_unsandbox() if it did not. */
void lsp_writer_sandbox(void);
void lsp_writer_unsandbox(void);

/* fork handling: the writer's lock, and in the child its own dump and
 * writer thread. */
void lsp_writer_prefork(void);
void lsp_writer_postfork_parent(void);
void lsp_writer_postfork_child(void);

/* ages.c: live blocks and bytes by (site, epoch), under the writer's
 * lock. */
struct age_entry;
struct lsp_agemap {
	struct age_entry *tab;
	size_t mask;
	size_t count;
	uint32_t covered;	/* sites below this are counted */
	bool failed;		/* out of memory: incomplete */
};

/* The keys of this scan and of the last written one, sorted. */
struct lsp_ages_plan {
	uint64_t *ka, *kb;
	size_t na, nb, la, lb;
};

/* Make room for n pairs before a scan, so that the map need not grow
 * while the scan holds a shard's lock. */
void lsp_ages_reserve(struct lsp_agemap *m, size_t n);
/* lsp_record_scan's callback (ctx: the map): count one block. */
void lsp_ages_count(void *ctx, uint32_t site, unsigned ep, uint64_t bytes,
    uint64_t blocks);
void lsp_ages_free(struct lsp_agemap *m);
/* Sort the keys of cur and old; false if memory ran out. */
bool lsp_ages_plan(struct lsp_ages_plan *p, const struct lsp_agemap *cur,
    const struct lsp_agemap *old);
void lsp_ages_plan_free(struct lsp_ages_plan *p);
/*
 * Append AGES records of snapshot index for the stacks whose live blocks
 * by epoch changed from old to cur, each stack's group a delta or a
 * replacement, whichever is shorter.  Returns the number of groups.
 */
uint32_t lsp_ages_emit(struct ls_buf *b, const struct lsp_agemap *cur,
    const struct lsp_agemap *old, const struct lsp_ages_plan *p,
    uint32_t index);

/* emit.c: the records of a write-out, appended to b.  Under the writer's
 * lock. */

/* PROCESS: this process, its command line, whether interposition took,
 * where allocation is implemented and the settings; start_real_ns is
 * when it (or the fork child) started, by the wall clock. */
void lsp_emit_process(struct ls_buf *b, uint64_t start_real_ns);

/* STACKS and STACK_THREADS records of the sites from id from on; returns
 * the number of sites whose stacks b now covers. */
uint32_t lsp_emit_stacks(struct ls_buf *b, uint32_t from);

/* What one snapshot is made of. */
struct lsp_snapshot {
	uint32_t index;
	uint64_t run_ns;	/* lsp_run_ns() */
	uint64_t real_ns;	/* by the wall clock */
	unsigned reason;	/* LS_SNAP_* */
	unsigned epoch;		/* the epoch it began (lsp_epoch_next) */
	uint32_t nsites;	/* sites whose stacks are written */
	bool resync;		/* every site's figures, not only changes */
	const struct lsp_agemap *ages;		/* of this scan */
	const struct lsp_agemap *written;	/* as last written */
	const struct lsp_ages_plan *plan;
	bool scan;		/* the final snapshot's heap scan */
	bool clone;		/* a scan while running, in a clone */
};

/*
 * A snapshot's records: SNAPSHOT, SITES for the sites below s->nsites
 * whose figures changed since they were last written (each one's
 * figures are kept for the next), AGES, THREADS and SNAPSHOT_END.
 */
void lsp_emit_snapshot(struct ls_buf *b, const struct lsp_snapshot *s);

/* FINAL: how (LS_FINAL_*) the process ends, and for LS_FINAL_SIGNAL
 * signo. */
void lsp_emit_final(struct ls_buf *b, unsigned how, int signo);

/* LOST: the write-out of snapshot reason (final: the last) failed with
 * err. */
void lsp_emit_lost(struct ls_buf *b, unsigned reason, bool final, int err);

/* dumpfile.c: the dump file.  All but lsp_write_quiet() and
 * lsp_dump_keep() under the writer's lock. */

/* Write all of p to fd, retrying on EINTR and short writes, without
 * SIGXFSZ: past RLIMIT_FSIZE the write fails with EFBIG.  0 or -errno. */
int lsp_write_quiet(int fd, const void *p, size_t n);

/* A write-out hands its records over in pieces of this size. */
#define LSP_SPILL_AT	(64u << 10)

/* Append what b holds to the dump (creating it the first time) and empty
 * b; after a failure nothing more of this write-out is written. */
void lsp_dump_write(struct ls_buf *b);
/* At a record boundary: lsp_dump_write() if b holds LSP_SPILL_AT. */
void lsp_dump_spill(struct ls_buf *b);

/* Set in the heap scan's clone, whose records go to its parent, never to
 * the dump: lsp_dump_spill() then writes nothing. */
extern bool lsp_dump_spill_off;
/* Append the rest and end the write-out: 0, or -errno after the dump was
 * cut back to where the write-out began (removed if it made the file). */
int lsp_dump_end(struct ls_buf *b);
/* Whether the dump file exists (a write-out created it). */
bool lsp_dump_created(void);
/* Remove the dump file. */
void lsp_dump_remove(void);
/* Before the host chroots or gives up ids (host thread, writer's lock
 * held): keep a descriptor of the dump. */
void lsp_dump_keep(void);
/* In a fork child: its dump is not yet created. */
void lsp_dump_postfork_child(void);

/* fds.c */

/* fd moved to a high number (near 1024, or the soft descriptor limit if
 * lower), close-on-exec, away from the numbers the host's next open()s
 * take; fd itself if that fails. */
int lsp_fd_high(int fd);

/* sandbox.c: call before the host's call that installs a seccomp filter;
 * true if leakspy stopped for it, and then lsp_sandbox_after() with the
 * call's result (keeps errno). */
bool lsp_sandbox_enter(void);
void lsp_sandbox_after(bool entered, long r);

#endif /* LS_LSP_H */
