/* SPDX-License-Identifier: MIT */
/*
 * Hashing: CRC-32 for dump records, a fast mix for stacks and pointers.
 */
#ifndef LS_HASH_H
#define LS_HASH_H

#include <stddef.h>
#include <stdint.h>

/*
 * CRC-32 (IEEE 802.3, reflected, as zlib's crc32()) of n bytes, continuing
 * from crc (0 to start).  Async-signal-safe.
 */
uint32_t ls_crc32(uint32_t crc, const void *buf, size_t n);

/* 64-bit hash of a frame array plus a tag.  Hot path. */
static inline uint64_t
ls_hash_frames(const uintptr_t *f, unsigned n, uint64_t tag)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (tag * 0xff51afd7ed558ccdull) ^ n;
	unsigned i;

	for (i = 0; i < n; i++) {
		h ^= (uint64_t)f[i];
		h *= 0xc4ceb9fe1a85ec53ull;
		h ^= h >> 29;
	}
	h ^= h >> 32;
	return h;
}

/* Hash of a block address; heap addresses are 16-byte aligned.  Hot path. */
static inline uint64_t
ls_hash_ptr(uintptr_t p)
{
	uint64_t h = (uint64_t)p >> 4;

	h *= 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 31);
}

#endif /* LS_HASH_H */
