/* SPDX-License-Identifier: MIT */
/*
 * An mmap-backed arena: the only memory the shim's tables use, so that
 * nothing leakspy keeps ever goes through the allocator it observes.
 */
#ifndef LS_ARENA_H
#define LS_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define LS_ARENA_NCLASS 20	/* 16 B .. 8 MiB; larger blocks map directly */

/*
 * Invariant: every block ls_arena_alloc hands out is preceded by a
 * 16-byte header that holds its size class (or its mapped length for
 * direct mappings).  Free
 * blocks of a class are kept on a singly linked list through their first
 * word.  The arena is not thread-safe: its owner serializes access.
 */
struct ls_arena {
	char *cur;		/* bump pointer in the current chunk */
	char *end;
	void *freelist[LS_ARENA_NCLASS];
	char *chunks;		/* list of mapped chunks, for ls_arena_fini */
	size_t mapped;		/* bytes obtained from mmap, for reporting */
	size_t chunk_size;
};

/* Set up an empty arena whose chunks are chunk_size bytes (0: 1 MiB). */
void ls_arena_init(struct ls_arena *a, size_t chunk_size);

/*
 * Return n bytes aligned to 16, or NULL (errno untouched) when mmap
 * fails.  Allocates (mmap).
 */
void *ls_arena_alloc(struct ls_arena *a, size_t n);

/*
 * n bytes (at most 8 MiB) aligned to 8, without a header, or NULL (errno
 * untouched) when mmap fails: for what lives as long as the arena, since
 * such a block cannot be given back (only ls_arena_fini frees it).  It
 * costs its size rounded to 8, where ls_arena_alloc's costs its class
 * (a power of two) and a header.
 */
void *ls_arena_carve(struct ls_arena *a, size_t n);

/* Like ls_arena_alloc, zero-filled. */
void *ls_arena_zalloc(struct ls_arena *a, size_t n);

/* Give p back to the arena; NULL does nothing. */
void ls_arena_free(struct ls_arena *a, void *p);

/* Unmap every chunk; the arena is empty afterwards.  Directly mapped
 * blocks (over 8 MiB) that were not freed stay mapped. */
void ls_arena_fini(struct ls_arena *a);

/*
 * Map n bytes of anonymous memory without the allocator, or NULL.
 * The caller releases it with ls_unmap(p, n).
 */
void *ls_map(size_t n);
void ls_unmap(void *p, size_t n);

#endif /* LS_ARENA_H */
