/* SPDX-License-Identifier: MIT */
/*
 * leakspy-report's model of a dump and the stages over it: read,
 * symbolize, group into sites and judge their trends, render.
 */
#ifndef LS_LSR_H
#define LS_LSR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "dump.h"

struct lsr_module {
	uint32_t id;
	uint32_t gen;
	uint32_t gone_gen;
	bool gone;
	uint64_t bias;
	char *path;
	uint8_t build_id[64];
	size_t build_id_len;
	unsigned nseg;
	uint64_t (*seg)[2];
	void *sym;		/* symbolize.c's state */
	int sym_state;		/* 0 untried, 1 ready, -1 unavailable */
};

struct lsr_vals {
	uint64_t live_bytes;
	uint64_t live_blocks;
	uint64_t alloc_bytes;
	uint64_t alloc_blocks;
};

/*
 * A stack and its history.  chg holds, for each snapshot in which its
 * figures changed, in order: uv snapshot number minus the previous one's,
 * then the zigzag-encoded differences of live bytes, live blocks,
 * allocated bytes and allocated blocks.  age holds its AGES entries: uv
 * snapshot difference, uv epoch, uv blocks, uv bytes.  Read them with
 * lsr_chg_next and lsr_age_next.
 */
struct lsr_stack {
	uint32_t gen;
	unsigned api;
	unsigned flags;
	uint32_t thread;	/* index into thread_names; 0: not named */
	unsigned nframes;
	uint64_t *ip;
	uint8_t *chg;
	size_t chg_len, chg_cap;
	uint8_t *age;
	size_t age_len, age_cap;
	struct lsr_vals last;	/* encoder state */
	uint32_t last_snap, last_age_snap;
};

/* A site whose figures changed in a snapshot. */
struct lsr_change {
	uint32_t stack;
	struct lsr_vals v;
};

/* Live blocks of a stack allocated in one epoch, as of a snapshot. */
struct lsr_age {
	uint32_t stack;
	uint32_t epoch;
	uint64_t blocks;
	uint64_t bytes;
};

struct lsr_snapshot {
	uint32_t index;
	uint64_t mono_ns;
	uint64_t real_ns;
	unsigned reason;
	uint64_t counters[LS_CNT_COUNT];
	size_t nchanges;	/* sites written in it */
	uint32_t epoch;		/* blocks allocated from here on carry it */
	bool ages_complete;	/* its AGES cover every live block */
	size_t nages;		/* (stack, epoch) pairs written in it */
};

/* A thread's state as of a snapshot (THREADS records). */
struct lsr_thread_ver {
	size_t snap;		/* index into snaps */
	unsigned state;		/* LS_THREAD_* */
	bool exited;
	uint32_t name;		/* index into thread_names */
};

/* A thread created through pthread_create. */
struct lsr_thread {
	uint64_t serial, tid, creator, start, created_ns;
	uint32_t gen;
	unsigned nframes;
	uint64_t *ip;		/* creation stack, caller of pthread_create
				 * first */
	size_t nver, cap_ver;
	struct lsr_thread_ver *ver;
};

/* A write-out that failed (LOST record). */
struct lsr_lost {
	uint64_t offset;	/* of the record in the file */
	unsigned reason;	/* LS_SNAP_* of the lost snapshot */
	bool last;		/* the process's last write-out */
	int errnum;		/* Linux errno of the failure */
};

/* A LEAKSPY_* setting the shim refused (SETTING record). */
struct lsr_setting {
	char *name;		/* "LEAKSPY_DEPTH" */
	char *given;		/* the value in the environment */
	char *used;		/* the value the process ran with instead */
	char *reason;		/* why: "want 1 to 248" */
};

/* Reachability classes of a SCAN record, in its order. */
enum {
	LSR_R_DEFINITE,		/* definitely lost */
	LSR_R_INDIRECT,		/* indirectly lost */
	LSR_R_INTERIOR,		/* reachable only through interior pointers */
	LSR_R_REACHABLE,
	LSR_R_COUNT
};

struct lsr_amount {
	uint64_t bytes;
	uint64_t blocks;
};

/* A stack's live blocks by reachability. */
struct lsr_split {
	uint32_t stack;
	struct lsr_amount r[LSR_R_COUNT];
};

/* An owner: kind LS_OWN_* (LS_OWN_COUNT: unknown) and, for LS_OWN_BLOCK,
 * a known stack id; else an address or a thread serial, unchecked. */
struct lsr_owner {
	uint32_t stack;		/* the owned stack */
	unsigned kind;
	uint64_t owner;
	struct lsr_amount held;
};

struct lsr_step {
	unsigned kind;
	uint64_t owner;
	uint64_t nblocks;	/* at least 1 */
};

struct lsr_chain {
	uint32_t stack;
	size_t nsteps;
	struct lsr_step *steps;	/* innermost owner first, the root last */
};

/* A heap scan (SCAN, OWNERS, CHAIN records) of a snapshot. */
struct lsr_scan {
	size_t snap;		/* index into snaps */
	uint64_t mono_ns;
	bool complete;
	char *reason;		/* why not complete; "" when complete */
	uint64_t threads_stopped, threads_not_stopped;
	uint32_t gen;		/* module generation */
	size_t nsplit, cap_split;
	struct lsr_split *split;
	size_t nowners, cap_owners;
	struct lsr_owner *owners;
	size_t nchains, cap_chains;
	struct lsr_chain *chains;
};

/*
 * Everything read from one dump file.  Whatever the file holds, counts
 * match their arrays, indexes are in range and enum values are known or
 * their _COUNT ("unknown"), so the stages after the reader need no
 * checks of their own.
 */
struct lsr_dump {
	const char *path;
	bool have_process;
	uint64_t pid, ppid, start_real_ns;
	char *exe;
	char *name;		/* as run (a symlink's name), else exe's base */
	size_t argc;
	char **argv;
	uint64_t pflags;
	char *interpose_note;
	size_t nalloc_addrs;
	uint64_t *alloc_addrs;
	uint64_t max_depth, interval_ms, sample_bytes;
	uint64_t inherited_epoch;	/* fork child: see leakspy-dump(5) */

	size_t nmodules;
	struct lsr_module *modules;
	size_t nstacks;
	struct lsr_stack *stacks;
	size_t nsnaps;
	struct lsr_snapshot *snaps;
	bool final;
	unsigned final_how;	/* LS_FINAL_*, or LS_FINAL_COUNT: unknown */
	int final_signo;	/* LS_FINAL_SIGNAL: the signal that ended it */
	size_t nlost;
	struct lsr_lost *lost;	/* in file order */

	size_t nnotes;
	char **notes;
	size_t nsettings;
	struct lsr_setting *settings;	/* refused, in file order */

	size_t nthread_names;	/* [0] is "" (no name recorded) */
	char **thread_names;
	size_t nthreads;
	struct lsr_thread *threads;	/* in order of first appearance */
	size_t nscans;
	struct lsr_scan *scans;	/* in snapshot order, at most one each */

	/* The first problem: the reader stopped there. */
	char *error;
	uint64_t error_offset;
	bool incomplete;	/* ends without a FINAL record */
};

/* read.c */

/*
 * Read path into d.  Returns 0 when the file could be read at all (d may
 * still carry an error and be incomplete), or -1 with a message on stderr
 * when it could not be opened.  Allocates.
 */
int lsr_read(const char *path, struct lsr_dump *d);

/* Say on stderr how far reading has come, every second, once a dump has
 * taken more than a second (leakspy-report sets it). */
extern bool lsr_progress;

/* Parse a dump already in memory into d, as lsr_read does (used by the
 * fuzzer and the unit tests).  Allocates. */
void lsr_parse(const uint8_t *data, size_t size, struct lsr_dump *d);

/* Release what lsr_read allocated. */
void lsr_dump_fini(struct lsr_dump *d);

/* history.c */

/* Figures of every stack at snapshot k: an array of d->nstacks, to
 * free.  Allocates. */
struct lsr_vals *lsr_state_at(const struct lsr_dump *d, size_t k);

/* Reading a stack's history, oldest first. */
struct lsr_chg_iter {
	struct ls_cur c;
	uint32_t snap;
	struct lsr_vals v;	/* the figures from snap on */
};

struct lsr_age_iter {
	struct ls_cur c;
	uint32_t snap;
	bool clear;		/* the stack's epochs are all zero from here */
	uint32_t epoch;
	uint64_t blocks;
	uint64_t bytes;
};

void lsr_chg_begin(const struct lsr_stack *s, struct lsr_chg_iter *it);
bool lsr_chg_next(struct lsr_chg_iter *it);
void lsr_age_begin(const struct lsr_stack *s, struct lsr_age_iter *it);
bool lsr_age_next(struct lsr_age_iter *it);

/* symbolize.c */

struct lsr_frame {
	uint64_t ip;
	const char *function;	/* NULL when unknown */
	const char *file;	/* NULL when unknown */
	unsigned line;
	const char *module;	/* path, NULL when no module covers ip */
	uint64_t offset;	/* ip relative to the module's bias */
	bool inlined;
};

/* The module that held ip for a stack taken at generation gen, or NULL. */
struct lsr_module *lsr_module_of(struct lsr_dump *d, uint64_t ip,
    uint32_t gen);

/*
 * Expand return address ip (of a stack at generation gen) into at most
 * max frames, innermost inline frame first.  Returns how many were filled
 * (at least 1).  Strings stay valid until lsr_symbolize_fini.
 */
unsigned lsr_symbolize(struct lsr_dump *d, uint64_t ip, uint32_t gen,
    struct lsr_frame *out, unsigned max);

/* The symbol name (demangled) at ip, or NULL; used to spot wrappers. */
const char *lsr_symbol_name(struct lsr_dump *d, uint64_t ip, uint32_t gen);

/* Release the symbolization state of d's modules and every string the
 * two functions above returned. */
void lsr_symbolize_fini(struct lsr_dump *d);

/* trend.c */

/* One snapshot of a site. */
struct lsr_point {
	double t;		/* seconds since the process started */
	uint64_t bytes;		/* live */
	uint64_t blocks;	/* live */
	uint64_t alloc_bytes;	/* allocated since the start */
	uint64_t alloc_blocks;
};

enum {
	LSR_V_UNKNOWN,		/* too few snapshots */
	LSR_V_GROWING,
	LSR_V_PLATEAU,
	LSR_V_SAWTOOTH,
	LSR_V_CHURN,
	LSR_V_STEADY,
	LSR_V_SHRINKING,
	LSR_V_COUNT
};

struct lsr_growth {
	unsigned verdict;
	double bytes_per_second;	/* slope of the floor */
	double steadiness;		/* 0 .. 1 */
	double released_at;		/* growing, then released: when; or -1 */
	double since;			/* start of the window, seconds */
	uint64_t peak_bytes;
	uint64_t peak_blocks;
	double peak_time;
	unsigned drops;			/* sawtooth: releases counted */
};

/* Judge the series p[0..n-1] (definitions in leakspy-report(1)). */
void lsr_trend(const struct lsr_point *p, size_t n, struct lsr_growth *g);
/* "growing", ...; "unknown" for LSR_V_UNKNOWN and any unknown value. */
const char *lsr_verdict_name(unsigned verdict);

/* group.c */

/*
 * An owner of a site's blocks, or a step of its chain up to a root:
 * blocks of another site (kind LS_OWN_BLOCK, site its index in
 * r->sites; SIZE_MAX when that site is not in the report, owner then
 * its stack), or a root (owner: the address or the thread serial).
 */
struct lsr_held {
	unsigned kind;		/* LS_OWN_*, LS_OWN_COUNT: unknown */
	size_t site;
	uint64_t owner;
	struct lsr_amount held;	/* of the site (a step: of the step before) */
	uint64_t collapsed;	/* a step: the links it stands for */
};

/* A site's figures from the report's scan (scan.c). */
struct lsr_site_reach {
	struct lsr_amount r[LSR_R_COUNT];
	struct lsr_amount self;	/* reachable blocks held by its own */
	size_t nowners;
	struct lsr_held *owners;	/* biggest first; not the site itself */
	size_t nchain;
	struct lsr_held *chain;	/* innermost first; a first step that is
				 * the site itself is a run of its blocks */
};

/* A call site as reported: stacks that are the same once the allocator's
 * own frames are stripped. */
struct lsr_site {
	struct lsr_vals v;	/* at the reported snapshot */
	uint32_t stack;		/* a representative stack */
	unsigned skip;		/* leading frames stripped */
	const char *via;	/* the allocation function called */
	const char *thread;	/* LSR_BY_THREAD: the thread's name */
	bool truncated;
	uint32_t *members;	/* its stacks */
	size_t nmembers;
	struct lsr_growth growth;
	bool has_age;		/* lsr_site_age_profile found ages */
	uint64_t inherited_blocks;	/* fork child: live blocks it */
	uint64_t inherited_bytes;	/* inherited from the parent */
	double age_median;	/* of its live blocks, seconds */
	double age_p90;
	double age_oldest;
	struct lsr_site_reach *reach;	/* NULL: the report has no scan */
	struct {
		uint64_t new_blocks;	/* allocated after A, live at B */
		uint64_t new_bytes;
		int64_t live_bytes;	/* B - A */
		int64_t live_blocks;
		uint64_t alloc_bytes;	/* allocated between A and B */
		uint64_t alloc_blocks;
	} diff;
};

struct lsr_report {
	struct lsr_dump *d;
	size_t snap;		/* index into d->snaps, or SIZE_MAX */
	bool by_thread;		/* sites split by thread name */
	bool keep_live;		/* --diff: also the sites unchanged */
	size_t from;		/* --diff: snapshot A (snap is B); or SIZE_MAX */
	struct lsr_vals from_totals;
	uint64_t new_blocks, new_bytes;	/* --diff totals */
	bool ages_ok;		/* ages for the diff are complete */
	struct lsr_vals totals;
	uint64_t inherited_blocks, inherited_bytes;	/* all sites */
	size_t nlive;		/* sites with live blocks at snap */
	size_t ngrowing;
	double growing_rate;	/* sum of the growing sites' rates */
	const struct lsr_scan *scan;	/* at or before snap, or NULL */
	size_t nsites;
	struct lsr_site *sites;	/* growing first (fastest first), then by
				 * live bytes; with --diff by new bytes,
				 * then by the change in live bytes */
};

/* The report's snapshot, or NULL if there is none. */
static inline const struct lsr_snapshot *
lsr_report_snap(const struct lsr_report *r)
{
	return r->snap < r->d->nsnaps ? &r->d->snaps[r->snap] : NULL;
}

/*
 * Group the stacks of d into the sites of report r at snapshot snap, with
 * verdicts over snapshots 0..snap.  With from != SIZE_MAX (from < snap),
 * compare with snapshot from: only sites that changed are kept, sorted by
 * what they allocated after from and still hold.  With snap >= d->nsnaps,
 * r has no sites.  Release r with lsr_report_fini.  Allocates.
 */
#define LSR_BY_THREAD	0x1	/* split sites by the allocating thread's
				 * name */
#define LSR_KEEP_LIVE	0x2	/* --diff: keep the sites live at B that
				 * did not change */
void lsr_group(struct lsr_dump *d, size_t snap, size_t from, unsigned flags,
    struct lsr_report *r);

/* Release what lsr_group allocated. */
void lsr_report_fini(struct lsr_report *r);

/* scan.c */

/*
 * The scan of the report: the last one at or before r->snap, in
 * r->scan; each site's reachability, owners and chain from it, in its
 * reach.  lsr_group calls it once the sites are in order; their reach
 * is released by lsr_report_fini.  Allocates.
 */
void lsr_scan_group(struct lsr_report *r);

/* "global", "stack", "tls", "register"; "unknown" for other kinds. */
const char *lsr_owner_kind_name(unsigned kind);

/* The thread with this serial, or NULL if no THREADS record has it. */
const struct lsr_thread *lsr_thread_by_serial(const struct lsr_dump *d,
    uint64_t serial);

/* site.c: a site's figures, from its stacks' histories; r->snap must be
 * a snapshot of r->d. */

/* A site's live blocks allocated in one epoch. */
struct lsr_epoch_live {
	uint32_t epoch;
	uint64_t blocks;
	uint64_t bytes;
};

/* Fill p[0..r->snap] with the series of site s.  Hot for big dumps. */
void lsr_site_series(const struct lsr_report *r, const struct lsr_site *s,
    struct lsr_point *p);

/*
 * The live blocks of site s at snapshot k by epoch, in *out (sorted by
 * epoch, malloc'd, NULL when there are none); returns how many epochs.
 * Allocates.
 */
size_t lsr_site_ages(const struct lsr_report *r, const struct lsr_site *s,
    size_t k, struct lsr_epoch_live **out);

/* Fill s->has_age and its age figures (median, 90%, oldest) at r->snap,
 * and the blocks it inherited at fork; lsr_group calls it for a fork
 * child's sites, the renderers for the sites they show. */
void lsr_site_age_profile(const struct lsr_report *r, struct lsr_site *s);
/* The same from its live blocks v[0..n-1] at r->snap, as lsr_site_ages
 * gives them. */
void lsr_site_age_figures(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_epoch_live *v, size_t n);

/* Fill s->diff: site s at r->snap against snapshot r->from (not
 * SIZE_MAX), from its series (as lsr_site_series fills it). */
void lsr_site_diff(const struct lsr_report *r, struct lsr_site *s,
    const struct lsr_point *series);

/* The last component of path (after its last '/'). */
static inline const char *
lsr_base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* names.c: words for numbers in a dump, for any value (unknown ones are
 * "unknown"); the strings are static, some overwritten by the next call */

const char *lsr_api_name(unsigned api);
const char *lsr_reason_name(unsigned reason);
const char *lsr_final_how_name(unsigned how);
const char *lsr_thread_state_name(unsigned state);
/* "SIGTERM", "SIGRTMIN+3"; "signal 99" for no known signal. */
const char *lsr_signal_name(int signo);
/* "too many open files": strerror's text, made to fit in a sentence. */
const char *lsr_errno_text(int errnum);
/* Why an incomplete dump (no FINAL record) has no final snapshot. */
const char *lsr_incomplete_why(const struct lsr_dump *d);

/* out-text.c, out-json.c */

/* What a folded stack counts (--weight). */
enum {
	LSR_W_BYTES,		/* live bytes */
	LSR_W_BLOCKS,		/* live blocks */
	LSR_W_WINDOW,		/* --diff: bytes allocated after A, live at B */
};

struct lsr_out_opts {
	size_t top;		/* 0: all */
	unsigned weight;	/* LSR_W_* */
};

/* The length of the well-formed UTF-8 sequence at p (1 to 4), or 0 if
 * the byte at p does not start one (RFC 3629). */
size_t lsr_utf8_len(const unsigned char *p);
/* s as a JSON string ("null" for NULL): control characters escaped,
 * bytes outside well-formed UTF-8 replaced by U+FFFD. */
void lsr_json_str(FILE *f, const char *s);
/* The same with '<', '>' and '&' escaped too, for JSON inside an HTML
 * script element. */
void lsr_json_str_html(FILE *f, const char *s);
/* A number with three decimals, as text for "%s"; null if not finite.
 * The last eight stay valid. */
const char *lsr_json_num(double v);

/* Print report r to f, at most o->top sites (0: all), symbolizing their
 * stacks and filling their age figures. */
void lsr_out_text(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o);
/* Site k's chain up to a root, "a (1 KiB in 2) <- global g [prog]", on
 * one line without a newline; nothing if it has none. */
void lsr_text_chain(FILE *f, const struct lsr_report *r, size_t k);
/* The same as one JSON object, without a newline after its closing
 * brace. */
void lsr_out_json(FILE *f, struct lsr_report *r, const struct lsr_out_opts *o);

/* read-threads.c: the threads as of a snapshot */

/* Thread t's state at snapshot snap, or NULL if no snapshot up to snap
 * saw it. */
const struct lsr_thread_ver *lsr_thread_at(const struct lsr_thread *t,
    size_t snap);

/* Whether r shows the final snapshot, taken at exit or exec (not at a
 * signal, nor before one that ended the process). */
bool lsr_thread_at_exit(const struct lsr_report *r);
/* A thread leak: it ended and nobody joined it, or it was still running,
 * neither joined nor detached, when the process exited. */
bool lsr_thread_leaked(const struct lsr_report *r,
    const struct lsr_thread_ver *v);

#endif /* LS_LSR_H */
