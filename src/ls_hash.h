/* SPDX-License-Identifier: MIT */
/*
 * The only way leakspy includes uthash: tables live in an ls_arena and
 * running out of memory is reported, never fatal (uthash's default is
 * exit(-1), which would end the host).
 *
 * Before including, define LS_HASH_ARENA to an expression of type
 * struct ls_arena *.  A HASH_ADD that runs out of memory leaves the
 * element out of the table and increments ls_hash_oom_count.
 */
#ifndef LS_LS_HASH_H
#define LS_LS_HASH_H

#include "arena.h"

#ifndef LS_HASH_ARENA
#error "define LS_HASH_ARENA before including ls_hash.h"
#endif

#define HASH_NONFATAL_OOM 1
#define uthash_malloc(sz) ls_arena_alloc(LS_HASH_ARENA, (sz))
#define uthash_free(ptr, sz) ls_arena_free(LS_HASH_ARENA, (ptr))
#define uthash_nonfatal_oom(elt) ls_hash_oom_count++

#include <uthash.h>

/* Incremented whenever uthash could not allocate; owned by the includer's
 * serialization (the same lock that guards the table). */
extern unsigned long ls_hash_oom_count;

#endif /* LS_LS_HASH_H */
