/* SPDX-License-Identifier: MIT */
/*
 * The dump format (version 1), its writer helpers and its record reader.
 * This comment and leakspy-dump(5) are the definition.
 *
 * A dump begins with the line "leakspy-dump 1\n" and continues with records:
 *
 *	u16 type | u16 flags (0) | u32 length | payload[length] | u32 crc
 *
 * Integers in the record header and the crc are little-endian; crc is the
 * CRC-32 (zlib's) of the 8 header bytes and the payload.  A record is
 * complete or it is not there: the reader stops at the first record that is
 * cut short or fails its crc.  Types with bit 15 set are optional: a reader
 * that does not know them skips them.  Any other unknown type is an error.
 *
 * Payload fields: "uv" is an unsigned LEB128 integer (at most 10 bytes),
 * "str" is uv length + bytes (no NUL).  Fields a reader does not expect at
 * the end of a payload are ignored, so later minor additions stay readable.
 *
 * PROCESS (1, first record)
 *	uv pid, uv ppid, uv start_realtime_ns, str exe, uv argc,
 *	str argv[argc], uv flags (LS_PF_*), str interposition_note,
 *	uv nalloc, uv alloc_addr[nalloc] (addresses inside the modules that
 *	implement allocation: leading frames there are not the caller's),
 *	uv max_depth, uv interval_ms, uv sample_bytes, uv inherited_epoch
 *	(a fork child: blocks of lower epochs were inherited from the parent;
 *	0: not a fork child), str name (the name the program was run as:
 *	the last component of the path given to execve, which for a
 *	symbolic link is the link's, not the resolved exe's)
 * MODULE (2): a module seen mapped
 *	uv id, uv gen, uv bias, str path, str build_id, uv nseg,
 *	(uv start, uv size)[nseg]		(absolute addresses, PT_LOAD)
 * MODULE_GONE (3): a module unmapped
 *	uv id, uv gen
 * STACKS (4): call stacks, each a distinct allocation site
 *	uv count, count x (uv id, uv gen, uv api (LS_API_*), uv flags
 *	(LS_SF_*), uv nframes, uv ip[nframes])	ip[0] is the innermost
 *	return address outside leakspy; ids are dense, from 0
 * SNAPSHOT (5): starts snapshot number index
 *	uv index, uv mono_ns (since the process started), uv realtime_ns,
 *	uv reason (LS_SNAP_*), uv ncount, uv count[ncount] (LS_CNT_*),
 *	uv epoch (blocks allocated from this snapshot on carry it), uv
 *	ages_complete (1: its AGES cover every live block)
 * SITES (6): per-site figures of the open snapshot, only for sites whose
 *	figures changed since the previous snapshot
 *	uv index, uv count, count x (uv stack_id, uv live_bytes,
 *	uv live_blocks, uv alloc_bytes, uv alloc_blocks)
 * AGES (9): live blocks by allocation epoch, for the stacks whose
 *	figures by epoch changed since the previous snapshot
 *	uv index, uv count, count x (uv stack_id, uv replace, uv n,
 *	n x (uv epoch delta, uv live_blocks, uv live_bytes))
 *	Epochs rise within a stack's group; the first delta is from 0.
 *	replace 0: the listed epochs take these figures (0 and 0: none
 *	left), others keep theirs; replace 1: the listed epochs are all the
 *	stack has.
 * SNAPSHOT_END (7): closes it; a snapshot without its end is discarded
 *	uv index, uv nsites (entries in its SITES records), uv nages
 *	(stack groups in its AGES records)
 * FINAL (8): the process finished writing (exit, exec); nothing follows,
 *	unless how is LS_FINAL_EXEC and the exec failed: the process then
 *	goes on with the next snapshot
 *	uv how (LS_FINAL_*), and for LS_FINAL_SIGNAL uv signo: the signal
 *	that then ended the process (its default action, as without leakspy)
 * NOTE (0x8001, optional): a message from the shim
 *	str text
 * THREADS (0x8002, optional): threads created through pthread_create
 *	whose state changed, inside the open snapshot
 *	uv index, uv count, count x (uv serial (unique in the process),
 *	uv tid, uv creator_tid, str name, uv state (LS_THREAD_*), uv exited
 *	(0/1), uv start_routine, uv created_ns (since the process
 *	started), uv gen, uv nframes, uv ip[nframes])	ip[0] is the caller
 *	of pthread_create.  A thread
 *	joined, or detached and ended, before any snapshot saw it is not
 *	listed (it is counted in LS_CNT_THREADS).
 * STACK_THREADS (0x8003, optional): the name of the thread that made the
 *	allocations of each stack in the STACKS record before it
 *	uv first_id, uv count, count x str thread_name
 * LOST (0x8004, optional): a write-out that failed, recorded afterwards
 *	where a record this small still fits (the failed write-out itself
 *	is cut off again); outside any snapshot
 *	uv reason (LS_SNAP_* of the lost snapshot), uv last (1: it was the
 *	process's last write-out, at exit, exec, abort or a fatal signal),
 *	uv errno (of the failure, Linux numbering)
 * SETTING (0x8005, optional): a LEAKSPY_* setting the shim refused, one
 *	record each, right after PROCESS
 *	str name ("LEAKSPY_DEPTH"), str given (the value in the
 *	environment, cut to 252 bytes and "..." if longer), str used (the
 *	value the process ran with instead, as the variable would give it),
 *	str reason ("want 1 to 248")
 * SCAN (0x8006, optional): a conservative scan of the live heap, inside
 *	the open snapshot (at most one; the scan OWNERS and CHAIN refer to)
 *	uv index, uv mono_ns (since the process started, when the scan was
 *	taken), uv complete (0/1), str reason (why it is incomplete; empty
 *	when complete), uv threads_stopped, uv threads_not_stopped, uv gen
 *	(the module generation at the scan: a global root's address belongs
 *	to the module that covered it then), uv count, count x (uv
 *	stack_id, uv def_bytes, uv def_blocks, uv ind_bytes, uv ind_blocks,
 *	uv int_bytes, uv int_blocks, uv reach_bytes, uv reach_blocks)
 *	the stack's live blocks definitely lost (no pointer to them),
 *	indirectly lost (only from lost blocks), reachable only through
 *	interior pointers, and reachable
 * OWNERS (0x8007, optional): who holds each stack's reachable blocks, the
 *	first owner on a shortest path from the roots; after SCAN
 *	uv index, uv count, count x (uv stack_id, uv kind (LS_OWN_*), uv
 *	owner, uv bytes, uv blocks); owner is for LS_OWN_BLOCK the owning
 *	blocks' stack_id, for LS_OWN_GLOBAL the address of the root word,
 *	for LS_OWN_CACHE 0,
 *	for the thread kinds the thread's serial (THREADS; 0: the main
 *	thread)
 * CHAIN (0x8008, optional): the path from a stack's blocks up to a root,
 *	innermost owner first, the root last; after SCAN
 *	uv index, uv count, count x (uv stack_id, uv nsteps, nsteps x (uv
 *	kind, uv owner (as in OWNERS), uv nblocks (the consecutive links
 *	between blocks of one stack this step collapses, at least 1)))
 *
 * A stack's gen is the module generation when it was recorded; a module
 * record's gen is the generation it was noticed at.  An ip belongs to the
 * module that covers it and was not yet gone at the stack's generation.
 */
#ifndef LS_DUMP_H
#define LS_DUMP_H

#include <stddef.h>
#include <stdint.h>

#define LS_DUMP_MAGIC		"leakspy-dump "
#define LS_DUMP_VERSION		1
#define LS_DUMP_MAX_RECORD	(256u << 20)
#define LS_REC_HDR		8
#define LS_REC_TRAILER		4

enum {
	LS_REC_PROCESS = 1,
	LS_REC_MODULE = 2,
	LS_REC_MODULE_GONE = 3,
	LS_REC_STACKS = 4,
	LS_REC_SNAPSHOT = 5,
	LS_REC_SITES = 6,
	LS_REC_SNAPSHOT_END = 7,
	LS_REC_FINAL = 8,
	LS_REC_AGES = 9,
	LS_REC_OPTIONAL = 0x8000,
	LS_REC_NOTE = 0x8001,
	LS_REC_THREADS = 0x8002,
	LS_REC_STACK_THREADS = 0x8003,
	LS_REC_LOST = 0x8004,
	LS_REC_SETTING = 0x8005,
	LS_REC_SCAN = 0x8006,
	LS_REC_OWNERS = 0x8007,
	LS_REC_CHAIN = 0x8008,
};

/* OWNERS and CHAIN: what holds a pointer to a stack's blocks. */
enum {
	LS_OWN_BLOCK,		/* blocks of another (or the same) stack */
	LS_OWN_GLOBAL,		/* a word in a module's data or bss */
	LS_OWN_STACK,		/* a thread's stack */
	LS_OWN_TLS,		/* a thread's TLS or pthread-specific values */
	LS_OWN_REGISTER,	/* a stopped thread's registers */
	LS_OWN_CACHE,		/* the C library's cache of ended threads'
				 * stacks and descriptors (owner 0) */
	LS_OWN_COUNT
};

/* THREADS states */
enum {
	LS_THREAD_RUNNING,
	LS_THREAD_EXITED_UNJOINED,
	LS_THREAD_JOINED,
	LS_THREAD_DETACHED,
	LS_THREAD_ENDED_PROCESS,	/* running, neither joined nor detached,
					 * and the one that called exit (or
					 * exec, or took the fatal signal) */
	LS_THREAD_COUNT
};

/* PROCESS flags */
#define LS_PF_INTERPOSE_FAILED	0x1	/* malloc is not bound to the shim */
#define LS_PF_ATTACHED		0x2	/* tracking began at an attach (leakspy
					 * attach), at start_realtime_ns: blocks
					 * allocated before it are unknown */

/* Allocation entry points, recorded per stack. */
enum {
	LS_API_MALLOC,
	LS_API_CALLOC,
	LS_API_REALLOC,
	LS_API_REALLOCARRAY,
	LS_API_POSIX_MEMALIGN,
	LS_API_ALIGNED_ALLOC,
	LS_API_MEMALIGN,
	LS_API_VALLOC,
	LS_API_PVALLOC,
	LS_API_COUNT
};

/* Stack flags */
#define LS_SF_TRUNCATED	0x1	/* deeper than the depth limit */

/* Snapshot reasons */
enum {
	LS_SNAP_EXIT,
	LS_SNAP_INTERVAL,
	LS_SNAP_SIGNAL,
	LS_SNAP_EXEC,		/* the process is about to execute a program */
	LS_SNAP_ABORT,		/* abort() or a failed assert() */
	LS_SNAP_SANDBOX,	/* a seccomp filter goes on: the dump's last */
	LS_SNAP_SCAN,		/* a heap scan while running (LEAKSPY_SCAN) */
	LS_SNAP_DETACH,		/* leakspy detach: the dump's last */
	LS_SNAP_COUNT
};

/* Coverage counters, cumulative since the process started. */
enum {
	LS_CNT_UNTRACKED,	/* allocations made inside leakspy or its
				 * libraries, or re-entrantly: not tracked */
	LS_CNT_DROPPED,		/* allocations not tracked: out of memory */
	LS_CNT_TRUNCATED,	/* allocations whose stack was cut at depth */
	LS_CNT_UNKNOWN_FREES,	/* frees of blocks leakspy never saw */
	LS_CNT_BOOTSTRAP,	/* allocations served before start-up ended */
	LS_CNT_MISSED_FREES,	/* blocks found freed without a free seen */
	LS_CNT_WRITE_ERRORS,	/* earlier write-outs that failed */
	LS_CNT_THREADS,		/* threads created through pthread_create */
	LS_CNT_COUNT
};

/* The counters before this one say what leakspy missed. */
#define LS_CNT_COVERAGE	LS_CNT_THREADS

enum {
	LS_FINAL_EXIT,		/* exit(), return from main, destructors */
	LS_FINAL_EXEC,		/* an exec: if it fails, records may follow */
	LS_FINAL_ABORT,		/* abort(), __assert_fail() */
	LS_FINAL_SIGNAL,	/* a signal whose default action ends the
				 * process: SIGTERM, say */
	LS_FINAL_DETACH,	/* leakspy detach: the process goes on */
	LS_FINAL_COUNT
};

/* The record header's and trailer's little-endian 32-bit fields. */
static inline uint32_t
ls_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
ls_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* --- writing --- */

/*
 * A growable byte buffer.  grow_fn makes room for at least need more bytes
 * and returns 0, or -ENOMEM; after a failure err is set and further output
 * is dropped.
 */
struct ls_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
	int err;
	int (*grow_fn)(struct ls_buf *b, size_t need);
};

void ls_buf_bytes(struct ls_buf *b, const void *p, size_t n);
void ls_buf_uv(struct ls_buf *b, uint64_t v);
void ls_buf_str(struct ls_buf *b, const void *s, size_t n);

/* Append the dump's first line. */
void ls_dump_header(struct ls_buf *b);

/* Open a record of the given type; returns its start for ls_rec_end. */
size_t ls_rec_begin(struct ls_buf *b, unsigned type);

/* Close the record opened at start: fill its length, append the crc. */
void ls_rec_end(struct ls_buf *b, size_t start);

/*
 * A record of entries counted only once written (SITES, AGES): opened with
 * uv index and room for uv count, which ls_rec_end_counted() fills in
 * (as a 5-byte LEB128, so the payload need not move) before closing it.
 */
size_t ls_rec_begin_counted(struct ls_buf *b, unsigned type, uint64_t index);

/* A uv in LS_UV_PADDED bytes whatever its value (below 2^35), so that it
 * can be rewritten in place. */
#define LS_UV_PADDED	5
void ls_buf_uv_padded(struct ls_buf *b, uint64_t v);

/* The records p[0..len) each begin with an index in LS_UV_PADDED bytes:
 * rewrite it to index, and their CRCs.  0, or -1 if a record is not
 * whole. */
int ls_recs_reindex(uint8_t *p, size_t len, uint64_t index);
void ls_rec_end_counted(struct ls_buf *b, size_t start, uint32_t count);

/* --- reading --- */

/* A cursor over a payload; a read past the end sets err and yields 0. */
struct ls_cur {
	const uint8_t *p;
	const uint8_t *end;
	int err;
};

uint64_t ls_cur_uv(struct ls_cur *c);
/* Returns a pointer into the payload and its length in *n, or NULL. */
const char *ls_cur_str(struct ls_cur *c, size_t *n);

struct ls_rec {
	unsigned type;
	size_t offset;		/* of the record header in the file */
	struct ls_cur body;
};

/*
 * Check the first line of data.  Returns the offset of the first record, or
 * 0 and sets *why.
 */
size_t ls_dump_check_header(const void *data, size_t size, const char **why);

/*
 * Read the record at *off.  Returns 1 and advances *off, 0 at the end of
 * data, or -1 with *why set and *off left at the bad record.
 */
int ls_dump_next(const void *data, size_t size, size_t *off,
    struct ls_rec *rec, const char **why);

#endif /* LS_DUMP_H */
