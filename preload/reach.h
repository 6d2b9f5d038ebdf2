/* SPDX-License-Identifier: MIT */
/*
 * A snapshot's heap scan (reach.c; the clone's, scan_clone.c): its roots,
 * its input from the block tables, and its SCAN, OWNERS and CHAIN records
 * (src/dump.h).  Under the writer's lock.
 */
#ifndef LS_REACH_H
#define LS_REACH_H

#include <stdbool.h>
#include <stdint.h>

#include "dump.h"
#include "scan.h"

/* A scan's roots, in a mapping that grows. */
struct lsp_reach_roots {
	struct lsp_scan_root *r;
	size_t n, cap;
	bool lost;		/* a root could not be kept (no memory) */
};

int lsp_reach_roots_init(struct lsp_reach_roots *rr);
void lsp_reach_roots_free(struct lsp_reach_roots *rr);

/* Add the range [lo, hi) of kind (LSP_SCAN_*) and tag. */
void lsp_reach_add_root(struct lsp_reach_roots *rr, unsigned kind,
    uintptr_t lo, uintptr_t hi, uint32_t tag);

/* roots.c's callback (lsp_root_fn), ctx the roots: a global's tag is its
 * range's index, a thread's range is tagged with the thread's serial. */
struct lsp_root;
void lsp_reach_on_root(void *ctx, const struct lsp_root *r);

/* The thread tag of glibc's cache of ended threads' stacks (the TLS
 * kind), and of a thread the registry never saw. */
#define LSP_SCAN_TAG_CACHE	(LSP_SCAN_TAG_MAX - 2)

/* Add the descriptors of the threads that ended (lsp_reach_serials' copy)
 * whose stacks glibc may have cached, tagged LSP_SCAN_TAG_CACHE: the
 * blocks of their TLS are kept for the next thread. */
void lsp_reach_cache(struct lsp_reach_roots *rr);

/* Add the writable segments of lsp_roots_collect()'s last collect, each
 * tagged with its index. */
void lsp_reach_globals(struct lsp_reach_roots *rr);

/* Copy the registry's thread ids and serials (takes the registry's lock:
 * before any thread is stopped or cloned away); the first time, see
 * whether the next malloc is glibc's (dladdr: the loader's lock). */
void lsp_reach_serials(void);

/* The serial that names thread tid in THREADS (0: the main thread; the
 * largest tag for a thread the registry never saw), from the last copy. */
uint32_t lsp_reach_serial_of(pid_t tid);

/* The registry's threads of that copy: their ids and thread pointers. */
size_t lsp_reach_threads(const pid_t **tid, const uintptr_t **tp);

/* Init s for the live blocks and add them (the caller holds the block
 * tables' locks, or is the clone).  0 or -errno. */
int lsp_reach_fill(struct lsp_scan *s);

/* In the clone: write each record's index in LS_UV_PADDED bytes. */
void lsp_reach_pad_index(void);

/* SCAN, OWNERS and CHAIN of snapshot index for the sites below covered
 * (those whose stacks are written); s NULL: a scan that could not be
 * done, why says why.  why "" means complete. */
void lsp_reach_emit_scan(struct ls_buf *b, uint32_t index, uint64_t mono_ns,
    const char *why, unsigned stopped, unsigned not_stopped,
    struct lsp_scan *s, uint32_t covered);

/* The final snapshot's scan: stop the other threads, scan, resume them,
 * and write the records.  Its marking gives up after LSP_REACH_FINAL_NS
 * (some 8 GiB of heap on a slow machine), so that the exit is never held
 * longer; a scan while running after LSP_REACH_CLONE_NS. */
#define LSP_REACH_FINAL_NS	(10ull * 1000000000u)
#define LSP_REACH_CLONE_NS	(120ull * 1000000000u)
void lsp_reach_final(struct ls_buf *b, uint32_t index, uint32_t covered);

/* scan_clone.c: whether a scan while running is due now (LEAKSPY_SCAN's
 * interval, or the live heap grown by LEAKSPY_SCAN_GROWTH percent since
 * the last, at most one a second and one per ten times the length it is
 * expected to have); and the scan itself: started (the raw clone taken) right
 * before the snapshot reads the sites' figures, so that both are of
 * nearly one moment, and finished (the clone waited for, its records
 * appended) before the snapshot ends, or in a later snapshot.  In sampled mode the start does
 * nothing and the finish says why there is no scan. */
bool lsp_reach_due(void);

/* Kill the clone of a scan under way, if any (the final snapshot must not
 * wait for it).  Async-signal-safe. */
void lsp_reach_cancel(void);

/* An exec failed: the program goes on, and so do scans. */
void lsp_reach_uncancel(void);

/* A fork, a sandbox or the exit waits for the writer's lock: a snapshot
 * waiting for its clone lets it go at once (the records go into a later
 * snapshot).  Async-signal-safe. */
void lsp_reach_hurry(void);
void lsp_reach_clone_start(uint32_t index, uint32_t covered);
void lsp_reach_clone_finish(struct ls_buf *b, uint32_t index,
    uint32_t covered);

/* A clone started and not yet finished; one that has ended (its records
 * are ready); a clone killed and forgotten (the final snapshot scans on
 * its own); the state of the parent's forgotten in a fork child. */
bool lsp_reach_clone_pending(void);
bool lsp_reach_clone_ready(void);
void lsp_reach_clone_drop(void);
void lsp_reach_postfork_child(void);

/* How long a snapshot waits for its clone to finish marking (at most half
 * the snapshot interval): longer, and the records go into a later
 * snapshot (reason scan) when they are ready, so that periodic snapshots
 * go on meanwhile. */
#define LSP_REACH_CLONE_WAIT_NS	(1000ull * 1000000u)

#endif /* LS_REACH_H */
