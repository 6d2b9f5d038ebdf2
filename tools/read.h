/* SPDX-License-Identifier: MIT */
/*
 * The dump reader's internals, shared by read.c (the file, and the
 * records outside a snapshot), read-snap.c (the snapshot records),
 * read-threads.c (the thread records) and history.c (each stack's
 * history).
 */
#ifndef LS_READ_H
#define LS_READ_H

#include "lsr.h"

/* The most frames a stack or a thread's creation stack may have. */
#define LSR_MAX_FRAMES_READ	4096

/* The reader's state over one dump. */
struct lsr_parser {
	struct lsr_dump *d;
	size_t cap_modules, cap_stacks, cap_snaps, cap_notes, cap_lost;
	bool snap_open;
	size_t nrec;		/* records read, for the progress line */
	struct lsr_snapshot cur;
	/* The open snapshot's entries, added to the stacks' histories only
	 * when its end is read. */
	struct lsr_change *changes;
	struct lsr_age *ages;
	size_t nstaged;		/* entries in ages */
	size_t cap_changes, cap_ages;
	size_t cap_names, cap_threads;
	uint64_t final_how;	/* of the last FINAL record */
	uint64_t *tmap;		/* open addressing: serial + 1 -> index */
	size_t tmap_cap;
	const char *why;	/* set by a record parser that returns -1 */
	bool scan_open;		/* the open snapshot has a SCAN: scan */
	struct lsr_scan scan;
	size_t cap_scans;
};

/* Remaining payload bytes: an upper bound for any count that follows. */
static inline size_t
lsr_left(const struct ls_cur *c)
{
	return (size_t)(c->end - c->p);
}

/* An enum value from a dump: v if below count, else count ("unknown"). */
static inline unsigned
lsr_enum(uint64_t v, unsigned count)
{
	return v < count ? (unsigned)v : count;
}

/*
 * Record parsers: read the payload at c into P->d.  Return 0, or -1 with
 * P->why set; P->d then holds the entries before the one that failed,
 * each whole, and nothing of it.  Allocate.
 */
/* read-snap.c */
int lsr_rec_snapshot(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_sites(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_ages(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_snapshot_end(struct lsr_parser *P, struct ls_cur *c);
/*
 * The head of a record that belongs to the open snapshot (SITES, AGES,
 * THREADS): the snapshot's index, then a count of entries that take at
 * least min_bytes each.  Returns 0 with *count, or -1 with P->why set to
 * outside (no such snapshot is open) or to range (more entries than the
 * bytes left could hold).
 */
int lsr_snap_head(struct lsr_parser *P, struct ls_cur *c, size_t min_bytes,
    const char *outside, const char *range, uint64_t *count);
/* read-scan.c: SCAN, OWNERS and CHAIN stage the open snapshot's scan;
 * lsr_scan_commit adds it to P->d at the snapshot's end,
 * lsr_scan_discard forgets it. */
int lsr_rec_scan(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_owners(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_chain(struct lsr_parser *P, struct ls_cur *c);
void lsr_scan_commit(struct lsr_parser *P);
void lsr_scan_discard(struct lsr_parser *P);
/* Release what scan s holds. */
void lsr_scan_fini(struct lsr_scan *s);
/* read-threads.c */
int lsr_rec_threads(struct lsr_parser *P, struct ls_cur *c);
int lsr_rec_stack_threads(struct lsr_parser *P, struct ls_cur *c);

/* history.c: append to stack s's history the figures v (or the ages a)
 * of snapshot k, which is later than any before.  Allocates. */
void lsr_hist_change(struct lsr_stack *s, uint32_t k,
    const struct lsr_vals *v);
void lsr_hist_age(struct lsr_stack *s, uint32_t k, const struct lsr_age *a);

#endif /* LS_READ_H */
